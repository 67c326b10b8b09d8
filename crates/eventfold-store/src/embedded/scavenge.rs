//! Scavenging: erasing what deletes, truncation and expiry only hide.
//!
//! Hard and soft deletes, `truncate_before`, `max_count` and `max_age` hide events from reads,
//! but their bytes stay in the segments. A scavenge rewrites each closed segment (every segment
//! but the one being written; [`super::EmbeddedStore::scavenge`] seals that one first when it
//! may hold hidden events) in which
//! some event is hidden: every frame is copied as it is, except that a hidden event becomes an
//! erased record (docs/FORMAT.md), which keeps its place in the log (position, revision, id,
//! stream, `recorded_at`) and nothing of its content. So positions, revisions and ids stay, and
//! every read answers exactly what it answered before (erased events are skipped as hidden
//! ones were, and stay hidden even if the stream's metadata is changed later).
//!
//! Each segment is rewritten on its own, crash-safe at every step: the new file is written
//! beside the old one under another name and synced, then renamed over it (atomic, directory
//! synced), and only then does the index point at it. A crash before the rename leaves the old
//! segment (the rewrite is discarded by the next scavenge); after it, the new one, complete and
//! durable. Readers that hold the old file keep reading it until they are done.

use std::sync::Arc;

use parking_lot::RwLock;

use eventfold_core::{Position, StoreError};

use super::format::{self, check_frame, Salt, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES};
use super::index::Index;
use super::io::{SegmentFile, Storage};
use super::snapshot;
pub use eventfold_core::ScavengeProgress;

/// One closed segment, as the index knows it when the scavenge starts.
struct Closed {
    first_position: Position,
    file: Arc<dyn SegmentFile>,
    salt: Salt,
    end: u64,
}

/// True when the segment being written may hold events hidden now (then the scavenge seals it
/// first, so they can be erased too). Expiry is not known without reading the events: a
/// stream with a `max_age` and events in that segment counts.
pub fn last_segment_hides_events(index: &Index) -> bool {
    let Some(last) = index.segments.last() else {
        return false;
    };
    let first = last.first_position.0;
    index.streams.values().any(|entry| {
        let Some(&newest) = entry.positions.last() else {
            return false;
        };
        if newest < first {
            return false;
        }
        // `truncate_before` may name a revision past the stream's end.
        let hidden_before = (entry.first_visible_revision() as usize).min(entry.positions.len());
        entry.state.tombstoned
            || entry.state.metadata.max_age_secs.is_some()
            || (hidden_before > 0 && entry.positions[hidden_before - 1] >= first)
    })
}

/// Scavenges every segment but the last of `index` (see the module documentation), calling
/// `progress` after each. Hidden means hidden at `now_secs`.
pub fn run(
    storage: &dyn Storage,
    index: &RwLock<Index>,
    now_secs: i64,
    progress: &mut dyn FnMut(&ScavengeProgress),
) -> Result<ScavengeProgress, StoreError> {
    storage
        .discard_rewrites()
        .map_err(|e| StoreError::io("removing rewrites a crash left", e))?;
    let closed: Vec<Closed> = {
        let index = index.read();
        let count = index.segments.len().saturating_sub(1);
        index.segments[..count]
            .iter()
            .map(|segment| Closed {
                first_position: segment.first_position,
                file: segment.file.clone(),
                salt: segment.salt,
                end: segment.end,
            })
            .collect()
    };
    let mut report = ScavengeProgress {
        segments_total: closed.len() as u64,
        ..ScavengeProgress::default()
    };
    progress(&report);
    let mut snapshot_removed = false;
    for segment in closed {
        let hidden = hidden_events(index, &segment, now_secs)?;
        // A segment sealed early keeps the zeros preallocated after its data: a rewrite drops
        // them.
        let len = segment
            .file
            .size_bytes()
            .map_err(|e| StoreError::io(segment.file.name(), e))?;
        if hidden.iter().any(|hide| *hide) || len > segment.end {
            if !snapshot_removed {
                // It describes the segments as they were; the next clean close writes another.
                snapshot::remove(storage)
                    .map_err(|e| StoreError::io("removing the index snapshot", e))?;
                snapshot_removed = true;
            }
            let erased = rewrite(storage, index, &segment, &hidden, len, &mut report)?;
            report.events_erased += erased;
            report.segments_rewritten += 1;
        }
        report.segments_done += 1;
        progress(&report);
    }
    Ok(report)
}

/// Reads the frames of `segment` from its header to its end, in chunks, calling `visit` with
/// each frame's bytes (header included) and its checked body.
fn each_frame(
    segment: &Closed,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    const CHUNK: u64 = 8 << 20;
    let file = &*segment.file;
    let mut offset = SEGMENT_HEADER_BYTES;
    let mut buffer = Vec::new();
    while offset < segment.end {
        // A chunk holds at least one whole frame (a frame is at most 4 MiB and a bit).
        let len = (segment.end - offset)
            .min(CHUNK + (format::FRAME_BODY_BYTES_MAX + FRAME_HEADER_BYTES) as u64);
        buffer.resize(len as usize, 0);
        file.read_exact_at(&mut buffer, offset)
            .map_err(|e| StoreError::io(format!("reading {} at {offset}", file.name()), e))?;
        let mut at = 0usize;
        while at < buffer.len() && (at as u64) < CHUNK {
            let (body, frame_len) = check_frame(&buffer[at..], segment.salt).map_err(|error| {
                StoreError::Corrupted {
                    file: file.name().to_owned(),
                    offset: offset + at as u64,
                    reason: format!("{error:?} frame while scavenging"),
                }
            })?;
            visit(&buffer[at..at + frame_len], body)?;
            at += frame_len;
        }
        offset += at as u64;
    }
    Ok(())
}

/// For each event of `segment`, in order: whether its stream hides it at `now_secs` (and it is
/// not erased already).
fn hidden_events(
    index: &RwLock<Index>,
    segment: &Closed,
    now_secs: i64,
) -> Result<Vec<bool>, StoreError> {
    let mut hidden = Vec::new();
    each_frame(segment, |_, body| {
        if format::peek_event_position(body).is_none() {
            return Ok(()); // a stream-state record
        }
        if format::body_is_erased(body) {
            hidden.push(false);
            return Ok(());
        }
        let identity =
            format::peek_event_identity(body).map_err(|reason| corrupted(segment, reason))?;
        let recorded_at_secs = format::recorded_at_nanos(body) / 1_000_000_000;
        let index = index.read();
        let visible = index
            .streams
            .get(identity.stream)
            .is_none_or(|entry| entry.is_visible(identity.revision, recorded_at_secs, now_secs));
        hidden.push(!visible);
        Ok(())
    })?;
    Ok(hidden)
}

fn corrupted(segment: &Closed, reason: String) -> StoreError {
    StoreError::Corrupted {
        file: segment.file.name().to_owned(),
        offset: 0,
        reason,
    }
}

/// Writes the rewrite of `segment`, with the events `hidden` says erased, puts it in place and
/// points the index at it. Returns how many events it erased.
fn rewrite(
    storage: &dyn Storage,
    index: &RwLock<Index>,
    segment: &Closed,
    hidden: &[bool],
    len: u64,
    report: &mut ScavengeProgress,
) -> Result<u64, StoreError> {
    const FLUSH_AT: usize = 8 << 20;
    let io = |what: &str| {
        let what = format!("{what} the rewrite of {}", segment.file.name());
        move |e| StoreError::io(what, e)
    };
    let out = storage
        .create_rewrite(segment.first_position)
        .map_err(io("creating"))?;
    let mut buffer = format::encode_segment_header(segment.first_position, segment.salt).to_vec();
    let mut written = 0u64;
    let mut offsets: Vec<u32> = Vec::with_capacity(hidden.len());
    let mut event = 0usize;
    let mut erased = 0u64;
    each_frame(segment, |frame, body| {
        if format::peek_event_position(body).is_some() {
            let offset = written + buffer.len() as u64;
            offsets.push(u32::try_from(offset).expect("segments stay below 4 GiB"));
            if hidden[event] {
                format::encode_erased(&mut buffer, segment.salt, body)
                    .map_err(|reason| corrupted(segment, reason))?;
                erased += 1;
            } else {
                buffer.extend_from_slice(frame);
            }
            event += 1;
        } else {
            buffer.extend_from_slice(frame);
        }
        if buffer.len() >= FLUSH_AT {
            out.write_all_at(&buffer, written).map_err(io("writing"))?;
            written += buffer.len() as u64;
            buffer.clear();
        }
        Ok(())
    })?;
    out.write_all_at(&buffer, written).map_err(io("writing"))?;
    let end = written + buffer.len() as u64;
    debug_assert_eq!(event, hidden.len());
    out.sync_data().map_err(io("syncing"))?;
    drop(out);
    let file = storage
        .replace_segment(segment.first_position)
        .map_err(io("putting in place"))?;
    let mut index = index.write();
    let Some(entry) = index
        .segments
        .iter_mut()
        .find(|entry| entry.first_position == segment.first_position)
    else {
        return Err(StoreError::Backend(format!(
            "segment {} left the index during the scavenge",
            segment.first_position
        )));
    };
    assert_eq!(
        entry.offsets.len(),
        offsets.len(),
        "a closed segment keeps its events"
    );
    entry.file = file;
    entry.offsets = offsets;
    entry.end = end;
    index.erased_events += erased;
    report.bytes_before += len;
    report.bytes_after += end;
    Ok(erased)
}
