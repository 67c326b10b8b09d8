//! Zero-filled space ahead of the writer.
//!
//! An fdatasync after a write that grows the file must also commit the file-size change to the
//! filesystem journal; after a write into space that is already allocated and zeroed, it only
//! flushes the data. On this project's reference disk that is ~145 µs instead of ~265 µs per
//! sync (BENCHMARKS.md). So a background thread keeps the current segment zero-filled some
//! megabytes ahead of the writer. Correctness never depends on it: a write past the zeroed
//! space simply grows the file, and recovery reads zeros after the last frame as "no more data".
//!
//! It fills only while writes are small (single events, small batches); with large writes the
//! zeros would only compete with the data for the disk.
//!
//! The two threads share one rule: the filler only zeroes ranges at or beyond everything the
//! writer has reserved, and the writer waits if it would write into a range being zeroed.
//!
//! The filler writes and syncs through its **own** file descriptor. Linux reports a writeback
//! error once per open file description; with a shared descriptor the filler's fdatasync could
//! consume an error about the writer's pages, and the sync thread's next fdatasync would then
//! succeed and acknowledge data that never reached the disk.

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use eventfold_core::Position;

use super::io::{SegmentFile, Storage};

/// Bytes zeroed per step.
const FILL_STEP_BYTES: u64 = 1 << 20;
/// Zeros written per call.
const ZERO_CHUNK_BYTES: usize = 1 << 20;
/// Zero-filling pays while writes are small: a sync then saves ~120 µs of journal commit, worth
/// more than the ~120 µs of disk bandwidth the zeros of a 40 KiB write cost. With larger writes
/// (batches) the zeros only compete with the data for the disk (BENCHMARKS.md, w3), so the
/// filler rests while the average write is above this.
const FILL_WHILE_WRITES_BELOW_BYTES: u64 = 40 << 10;

struct Frontier {
    /// The segment being written (its first position).
    segment: Position,
    /// Everything below this is reserved by the writer.
    writer_end: u64,
    /// Everything from `writer_end` to this is zeroed.
    zeroed_end: u64,
    /// A range being zeroed now.
    filling: Option<(u64, u64)>,
    /// Recent bytes per write, averaged (each new write weighs 1/8).
    write_bytes_average: u64,
    stop: bool,
}

struct Shared {
    storage: Arc<dyn Storage>,
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
    /// Keeps the segment `segment` zeroed up to `ahead_bytes` beyond the writer, never past
    /// `limit_bytes` (the segment size). `data_end` is where the writer starts; `file_len` the
    /// file's length. With `ahead_bytes` 0 no thread is started.
    pub fn start(
        storage: Arc<dyn Storage>,
        segment: Position,
        data_end: u64,
        file_len: u64,
        ahead_bytes: u64,
        limit_bytes: u64,
    ) -> std::io::Result<Self> {
        let frontier = Frontier {
            segment,
            writer_end: data_end,
            zeroed_end: file_len.max(data_end),
            filling: None,
            write_bytes_average: 0,
            stop: false,
        };
        let shared = Arc::new(Shared {
            storage,
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

    /// Reserves `[start, end)` of `segment` for the writer, waiting if it is being zeroed.
    pub fn reserve(&self, segment: Position, start: u64, end: u64) {
        let mut frontier = self.shared.frontier.lock();
        // A fill in progress may be in the previous segment; wait for it either way (rare).
        while frontier
            .filling
            .is_some_and(|(fill_start, _)| fill_start < end)
        {
            self.shared.changed.wait(&mut frontier);
        }
        if frontier.segment != segment {
            // A new segment: nothing in it is zeroed yet.
            frontier.segment = segment;
            frontier.zeroed_end = start;
            frontier.writer_end = start;
        }
        frontier.writer_end = frontier.writer_end.max(end);
        frontier.zeroed_end = frontier.zeroed_end.max(frontier.writer_end);
        let written = end.saturating_sub(start);
        frontier.write_bytes_average = (frontier.write_bytes_average * 7 + written) / 8;
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
    let mut own: Option<(Position, Arc<dyn SegmentFile>)> = None;
    loop {
        let (segment, start, end) = {
            let mut frontier = shared.frontier.lock();
            loop {
                if frontier.stop {
                    return;
                }
                let wanted = (frontier.writer_end + shared.ahead_bytes).min(shared.limit_bytes);
                let small_writes = frontier.write_bytes_average < FILL_WHILE_WRITES_BELOW_BYTES;
                if frontier.zeroed_end < wanted && small_writes {
                    break;
                }
                shared.changed.wait(&mut frontier);
            }
            let start = frontier.zeroed_end.max(frontier.writer_end);
            let end = (start + FILL_STEP_BYTES).min(shared.limit_bytes);
            frontier.filling = Some((start, end));
            (frontier.segment, start, end)
        };
        let result = match &own {
            Some((open, file)) if *open == segment => Ok(file.clone()),
            _ => shared.storage.open_segment(segment),
        }
        .and_then(|file| {
            own = Some((segment, file.clone()));
            zero_range(&*file, &zeros, start, end)
        });
        let mut frontier = shared.frontier.lock();
        frontier.filling = None;
        match result {
            Ok(()) if frontier.segment == segment => frontier.zeroed_end = end,
            Ok(()) => {}
            Err(error) => {
                // Not fatal: writes simply grow the file, and the sync thread's own descriptor
                // still reports any writeback error. Stop trying.
                tracing::warn!(%error, %segment, "could not preallocate segment space");
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
