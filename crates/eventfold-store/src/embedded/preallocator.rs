//! Zero-filled space ahead of the writer.
//!
//! An fdatasync after a write that grows the file must also commit the file-size change to the
//! filesystem journal; after a write into space that is already allocated and zeroed, it only
//! flushes the data. On this project's reference disk that is ~145 µs instead of ~265 µs per
//! sync (BENCHMARKS.md). So a background thread keeps the current segment zero-filled some
//! megabytes ahead of the writer. Correctness never depends on it: a write past the zeroed
//! space simply grows the file, and recovery reads zeros after the last frame as "no more data".
//!
//! The two threads share one rule: the filler only zeroes ranges at or beyond everything the
//! writer has reserved, and the writer waits if it would write into a range being zeroed.

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::io::SegmentFile;

/// Bytes zeroed per step.
const FILL_STEP_BYTES: u64 = 1 << 20;
/// Zeros written per call.
const ZERO_CHUNK_BYTES: usize = 1 << 20;

struct Frontier {
    file: Arc<dyn SegmentFile>,
    /// Everything below this is reserved by the writer.
    writer_end: u64,
    /// Everything from `writer_end` to this is zeroed.
    zeroed_end: u64,
    /// A range being zeroed now.
    filling: Option<(u64, u64)>,
    stop: bool,
}

struct Shared {
    frontier: Mutex<Frontier>,
    changed: Condvar,
    ahead_bytes: u64,
    limit_bytes: u64,
}

/// The writer's handle on the filler thread.
pub struct Preallocator {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Preallocator {
    /// Keeps `file` zeroed up to `ahead_bytes` beyond the writer, never past `limit_bytes`
    /// (the segment size). `data_end` is where the writer starts; `file_len` the file's length.
    /// With `ahead_bytes` 0 no thread is started.
    pub fn start(
        file: Arc<dyn SegmentFile>,
        data_end: u64,
        file_len: u64,
        ahead_bytes: u64,
        limit_bytes: u64,
    ) -> std::io::Result<Self> {
        let frontier = Frontier {
            file,
            writer_end: data_end,
            zeroed_end: file_len.max(data_end),
            filling: None,
            stop: false,
        };
        let shared = Arc::new(Shared {
            frontier: Mutex::new(frontier),
            changed: Condvar::new(),
            ahead_bytes,
            limit_bytes,
        });
        let thread = if ahead_bytes == 0 {
            None
        } else {
            let filler = shared.clone();
            Some(
                std::thread::Builder::new()
                    .name("eventfold-prealloc".into())
                    .spawn(move || fill(&filler))?,
            )
        };
        Ok(Self { shared, thread })
    }

    /// Reserves `[start, end)` of `file` for the writer, waiting if it is being zeroed.
    pub fn reserve(&self, file: &Arc<dyn SegmentFile>, start: u64, end: u64) {
        let mut frontier = self.shared.frontier.lock();
        if !Arc::ptr_eq(&frontier.file, file) {
            // A new segment: nothing in it is zeroed yet.
            frontier.file = file.clone();
            frontier.zeroed_end = start;
            frontier.writer_end = start;
        }
        while frontier
            .filling
            .is_some_and(|(fill_start, _)| fill_start < end)
            && Arc::ptr_eq(&frontier.file, file)
        {
            self.shared.changed.wait(&mut frontier);
        }
        frontier.writer_end = frontier.writer_end.max(end);
        frontier.zeroed_end = frontier.zeroed_end.max(frontier.writer_end);
        if frontier.zeroed_end - frontier.writer_end < self.shared.ahead_bytes / 2 {
            self.shared.changed.notify_all();
        }
    }
}

impl Drop for Preallocator {
    fn drop(&mut self) {
        self.shared.frontier.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn fill(shared: &Shared) {
    let zeros = vec![0u8; ZERO_CHUNK_BYTES];
    loop {
        let (file, start, end) = {
            let mut frontier = shared.frontier.lock();
            loop {
                if frontier.stop {
                    return;
                }
                let wanted = (frontier.writer_end + shared.ahead_bytes).min(shared.limit_bytes);
                if frontier.zeroed_end < wanted {
                    break;
                }
                shared.changed.wait(&mut frontier);
            }
            let start = frontier.zeroed_end.max(frontier.writer_end);
            let end = (start + FILL_STEP_BYTES).min(shared.limit_bytes);
            frontier.filling = Some((start, end));
            (frontier.file.clone(), start, end)
        };
        let result = zero_range(&*file, &zeros, start, end);
        let mut frontier = shared.frontier.lock();
        frontier.filling = None;
        match result {
            Ok(()) if Arc::ptr_eq(&frontier.file, &file) => frontier.zeroed_end = end,
            Ok(()) => {}
            Err(error) => {
                // Not fatal: writes simply grow the file. Stop trying.
                tracing::warn!(%error, file = file.name(), "could not preallocate segment space");
                frontier.stop = true;
            }
        }
        shared.changed.notify_all();
    }
}

fn zero_range(file: &dyn SegmentFile, zeros: &[u8], start: u64, end: u64) -> std::io::Result<()> {
    let mut at = start;
    while at < end {
        let len = ((end - at) as usize).min(zeros.len());
        file.write_all_at(&zeros[..len], at)?;
        at += len as u64;
    }
    file.sync_data()
}
