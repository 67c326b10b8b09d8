//! Reads: find locations in the index under a short read lock, then read the files without it,
//! so readers never hold up the writer.

use bytes::Bytes;
use parking_lot::RwLock;

use eventfold_core::{
    AllFrom, AllSlice, Direction, EventFilter, Position, ReadAll, ReadStream, RecordedEvent,
    StoreError, StreamFrom, StreamName,
};

use super::format::{self, check_frame, decode_record, NameCache, Record};
use super::index::{Index, Location};

/// The most bytes one file read covers; longer runs are split.
const READ_RUN_BYTES_MAX: u64 = 8 << 20;
/// The most candidate positions a filtered `$all` read examines before returning a page.
const SCAN_POSITIONS_MAX: usize = 65_536;

/// Consecutive positions stored back to back in one segment: one file read.
struct Run {
    location: Location,
    first: u64,
    last: u64,
}

/// Reads the events at `positions` (ascending), checking each frame's checksum.
pub fn fetch(index: &RwLock<Index>, positions: &[u64]) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut events = Vec::with_capacity(positions.len());
    fetch_into(index, positions, &mut events)?;
    Ok(events)
}

/// Like [`fetch`], appending to `events`.
fn fetch_into(
    index: &RwLock<Index>,
    positions: &[u64],
    events: &mut Vec<RecordedEvent>,
) -> Result<(), StoreError> {
    events.reserve(positions.len());
    let mut names = NameCache::default();
    visit_events(index, positions, |body| {
        match decode_record(body, &mut names)? {
            Record::Event { event, .. } => {
                events.push(event);
                Ok(())
            }
            Record::StreamState { .. } => Err("expected an event".into()),
        }
    })
}

/// Calls `visit` with the checked frame body of each event at `positions` (ascending), in
/// order. An error from `visit` is reported as corruption at that frame.
pub fn visit_events(
    index: &RwLock<Index>,
    positions: &[u64],
    mut visit: impl FnMut(Bytes) -> Result<(), String>,
) -> Result<(), StoreError> {
    debug_assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "ascending positions"
    );
    let runs = plan_runs(&index.read(), positions)?;
    for run in runs {
        read_run(&run, &mut visit)?;
    }
    Ok(())
}

fn plan_runs(index: &Index, positions: &[u64]) -> Result<Vec<Run>, StoreError> {
    let mut runs: Vec<Run> = Vec::new();
    let mut segment_range = 0..0;
    for &position in positions {
        if let Some(run) = runs.last_mut() {
            // Extends the current run: the next position, in the same segment, not too long.
            if run.last + 1 == position && segment_range.contains(&position) {
                let end = index.event_end(position);
                if end - run.location.offset <= READ_RUN_BYTES_MAX {
                    run.last = position;
                    run.location.end = end;
                    continue;
                }
            }
        }
        let location = index.location(position).ok_or_else(|| {
            StoreError::Backend(format!(
                "position {position} is indexed but has no location"
            ))
        })?;
        segment_range = index.segment_range(position);
        runs.push(Run {
            location,
            first: position,
            last: position,
        });
    }
    Ok(runs)
}

fn read_run(
    run: &Run,
    visit: &mut impl FnMut(Bytes) -> Result<(), String>,
) -> Result<(), StoreError> {
    let file = &run.location.file;
    let start = run.location.offset;
    let mut buffer = vec![0u8; (run.location.end - start) as usize];
    file.read_exact_at(&mut buffer, start)
        .map_err(|e| StoreError::io(format!("reading {} at {start}", file.name()), e))?;
    let bytes = Bytes::from(buffer);
    let corrupted = |at: usize, reason: String| StoreError::Corrupted {
        file: file.name().to_owned(),
        offset: start + at as u64,
        reason,
    };
    let mut at = 0;
    let mut wanted = run.first;
    while wanted <= run.last {
        let (body, frame_len) = check_frame(&bytes[at..], run.location.salt)
            .map_err(|error| corrupted(at, format!("{error:?} frame on read")))?;
        if let Some(position) = format::peek_event_position(body) {
            if position.0 != wanted {
                return Err(corrupted(
                    at,
                    format!("expected the event at position {wanted}"),
                ));
            }
            visit(bytes.slice_ref(body)).map_err(|reason| corrupted(at, reason))?;
            wanted += 1;
        }
        at += frame_len;
    }
    Ok(())
}

/// How many of `positions` (ascending or descending), taken from the start or, `from_end`,
/// from the end, fit in `bytes_left` bytes of frames (at least one when `at_least_one`: a page always holds
/// an event when there is one), and their bytes.
fn fitting(
    index: &Index,
    positions: &[u64],
    from_end: bool,
    bytes_left: u64,
    at_least_one: bool,
) -> (usize, u64) {
    // The common case, a run of one segment that fits whole, costs two lookups.
    if let (Some(&first), Some(&last)) = (positions.first(), positions.last()) {
        let (low, high) = (first.min(last), first.max(last));
        let consecutive = high - low + 1 == positions.len() as u64;
        if let Some(bytes) = consecutive.then(|| index.span_bytes(low, high)).flatten() {
            if bytes <= bytes_left {
                return (positions.len(), bytes);
            }
        }
    }
    let (mut count, mut used) = (0, 0u64);
    let mut take = |position: u64| {
        let bytes = index.event_bytes(position);
        if used + bytes > bytes_left && !(at_least_one && count == 0) {
            return false;
        }
        used += bytes;
        count += 1;
        true
    };
    if from_end {
        positions.iter().rev().all(|p| take(*p));
    } else {
        positions.iter().all(|p| take(*p));
    }
    (count, used)
}

/// The frame bytes of `events`.
fn kept_bytes(index: &RwLock<Index>, events: &[RecordedEvent]) -> u64 {
    if events.is_empty() {
        return 0;
    }
    let index = index.read();
    events.iter().map(|e| index.event_bytes(e.position.0)).sum()
}

/// Reads one stream, honouring its metadata and deletion.
pub fn read_stream(
    index: &RwLock<Index>,
    stream: &StreamName,
    request: ReadStream,
    now_secs: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    let mut cursor = None;
    let mut bytes_left = request.bytes_max as u64;
    loop {
        let (positions, max_age, exhausted, full, used) = {
            let index = index.read();
            let entry = index
                .streams
                .get(stream.as_str())
                .ok_or_else(|| StoreError::StreamNotFound(stream.clone()))?;
            if entry.state.tombstoned {
                return Err(StoreError::StreamDeleted(stream.clone()));
            }
            if !entry.exists() {
                return Err(StoreError::StreamNotFound(stream.clone()));
            }
            let first = entry.first_visible_revision();
            let last = entry.next_revision() - 1;
            let want = request.limit - events.len();
            let range = match (request.direction, cursor.unwrap_or(request.from)) {
                (Direction::Forward, StreamFrom::End) => None,
                (Direction::Forward, StreamFrom::Start) => Some(first..=last),
                (Direction::Forward, StreamFrom::Revision(r)) => Some(r.0.max(first)..=last),
                (Direction::Backward, StreamFrom::End) => Some(first..=last),
                (Direction::Backward, StreamFrom::Start) => Some(first..=first.min(last)),
                (Direction::Backward, StreamFrom::Revision(r)) => Some(first..=r.0.min(last)),
            };
            let Some(range) = range.filter(|r| !r.is_empty()) else {
                break;
            };
            let (low, high) = (*range.start() as usize, *range.end() as usize);
            let slice = match request.direction {
                Direction::Forward => &entry.positions[low..=high.min(low + want - 1)],
                Direction::Backward => {
                    &entry.positions[high.saturating_sub(want - 1).max(low)..=high]
                }
            };
            // What the budget leaves room for; at least one event while none is kept, so the
            // read always moves on (events hidden by max-age are dropped after the fetch and
            // do not count).
            let first_page = events.is_empty();
            let (slice, used) = match request.direction {
                Direction::Forward => {
                    let (fit, used) = fitting(&index, slice, false, bytes_left, first_page);
                    (&slice[..fit], used)
                }
                Direction::Backward => {
                    let (fit, used) = fitting(&index, slice, true, bytes_left, first_page);
                    (&slice[slice.len() - fit..], used)
                }
            };
            let exhausted = slice.len() == high - low + 1;
            let full = slice.len() < want.min(high - low + 1);
            (
                slice.to_vec(),
                entry.state.metadata.max_age_secs,
                exhausted,
                full,
                used,
            )
        };
        let mut page = fetch(index, &positions)?;
        if request.direction == Direction::Backward {
            page.reverse();
        }
        let next_cursor = page.last().map(|last| match request.direction {
            Direction::Forward => {
                StreamFrom::Revision(eventfold_core::Revision(last.revision.0 + 1))
            }
            Direction::Backward => {
                StreamFrom::Revision(eventfold_core::Revision(last.revision.0.saturating_sub(1)))
            }
        });
        let at_bottom = page.last().is_some_and(|last| last.revision.0 == 0);
        let kept_from = events.len();
        events.extend(page.into_iter().filter(|event| {
            !format::is_erased(event)
                && match max_age {
                    Some(age) => {
                        now_secs.saturating_sub(event.recorded_at.timestamp())
                            <= i64::try_from(age).unwrap_or(i64::MAX)
                    }
                    None => true,
                }
        }));
        let kept = if events.len() - kept_from == positions.len() {
            used
        } else {
            kept_bytes(index, &events[kept_from..])
        };
        bytes_left = bytes_left.saturating_sub(kept);
        let full = full && !events.is_empty();
        if exhausted || full || events.len() >= request.limit || at_bottom {
            break;
        }
        cursor = next_cursor;
    }
    Ok(events)
}

/// Reads a page of the global log, honouring every stream's metadata and deletion.
pub fn read_all(
    index: &RwLock<Index>,
    request: &ReadAll,
    now_secs: i64,
) -> Result<AllSlice, StoreError> {
    let start = resolve_start(index, request)?;
    let (candidates, next_if_exhausted, exhausted) = {
        let index = index.read();
        candidates(&index, &request.filter, start, request.direction)
    };
    let mut events: Vec<RecordedEvent> = Vec::with_capacity(request.limit.min(candidates.len()));
    let mut scanned = 0;
    let want = request.limit;
    let mut bytes_left = request.bytes_max as u64;
    while scanned < candidates.len() && events.len() < want {
        let chunk_len = (want - events.len())
            .clamp(64, 4096)
            .min(candidates.len() - scanned);
        let chunk = &candidates[scanned..scanned + chunk_len];
        // The chunk is cut where its frames would pass the byte budget: no more is read.
        let (chunk, full, used) = {
            let index = index.read();
            let (fit, used) = fitting(&index, chunk, false, bytes_left, events.is_empty());
            (&chunk[..fit], fit < chunk_len, used)
        };
        let chunk_len = chunk.len();
        let page_start = events.len();
        match request.direction {
            Direction::Forward => fetch_into(index, chunk, &mut events)?,
            Direction::Backward => {
                let mut ascending = chunk.to_vec();
                ascending.reverse();
                fetch_into(index, &ascending, &mut events)?;
                events[page_start..].reverse();
            }
        }
        keep_matching(index, &request.filter, &mut events, page_start, now_secs);
        // Only what the page keeps counts against its budget: filtered and hidden events are
        // dropped at once, so a page never ends empty because of them.
        let kept = if events.len() - page_start == chunk_len {
            used // all of the chunk (the common case: no lookups)
        } else {
            kept_bytes(index, &events[page_start..])
        };
        bytes_left = bytes_left.saturating_sub(kept);
        let full = full && !events.is_empty();
        if events.len() > want {
            // Stop right after the last event returned, so the next page starts there.
            let last = events[want - 1].position.0;
            scanned += chunk
                .iter()
                .position(|p| *p == last)
                .expect("fetched from chunk")
                + 1;
            events.truncate(want);
            break;
        }
        scanned += chunk_len;
        if full {
            break;
        }
    }
    let end_of_log = exhausted && scanned == candidates.len();
    let next = match (end_of_log, request.direction, scanned.checked_sub(1)) {
        (true, _, _) => next_if_exhausted,
        (false, Direction::Forward, Some(last)) => candidates[last] + 1,
        (false, Direction::Backward, Some(last)) => candidates[last] - 1,
        (false, _, None) => start,
    };
    Ok(AllSlice {
        events,
        next: Position(next),
        end_of_log,
    })
}

/// The first position a read starts from (inclusive), before filtering.
fn resolve_start(index: &RwLock<Index>, request: &ReadAll) -> Result<u64, StoreError> {
    let head = index.read().next_position;
    let start = match (request.from, request.direction) {
        (AllFrom::Start, _) => 0,
        (AllFrom::End, Direction::Forward) => head,
        (AllFrom::End, Direction::Backward) => head.saturating_sub(1),
        (AllFrom::Position(p), Direction::Forward) => p.0,
        (AllFrom::Position(p), Direction::Backward) => p.0.min(head.saturating_sub(1)),
        (AllFrom::Time(time), direction) => {
            let first_at_or_after = first_position_at_or_after(index, format::time_to_nanos(time))?;
            match direction {
                Direction::Forward => first_at_or_after,
                Direction::Backward if first_at_or_after == 0 => return Ok(u64::MAX),
                Direction::Backward => first_at_or_after - 1,
            }
        }
    };
    Ok(start)
}

/// The first position recorded at or after `nanos` (the head if none).
fn first_position_at_or_after(index: &RwLock<Index>, nanos: i64) -> Result<u64, StoreError> {
    let (mut position, head) = {
        let index = index.read();
        (index.time_search_start(nanos), index.next_position)
    };
    while position < head {
        let chunk: Vec<u64> = (position..head.min(position + 1024)).collect();
        for event in fetch(index, &chunk)? {
            if format::time_to_nanos(event.recorded_at) >= nanos {
                return Ok(event.position.0);
            }
        }
        position += chunk.len() as u64;
    }
    Ok(head)
}

/// The candidate positions from `start` in `direction` (at most [`SCAN_POSITIONS_MAX`]), where
/// to continue if they are all examined, and whether they reach the end of the log.
fn candidates(
    index: &Index,
    filter: &EventFilter,
    start: u64,
    direction: Direction,
) -> (Vec<u64>, u64, bool) {
    let head = index.next_position;
    let next_if_exhausted = match direction {
        Direction::Forward => head.max(start),
        Direction::Backward => 0,
    };
    if direction == Direction::Backward && (start == u64::MAX || head == 0) {
        return (Vec::new(), 0, true);
    }
    let lists: Vec<&[u64]> = if let Some(category) = &filter.category {
        vec![index
            .categories
            .get(category.as_str())
            .map_or(&[][..], Vec::as_slice)]
    } else if !filter.event_types.is_empty() {
        let mut types: Vec<&str> = filter.event_types.iter().map(String::as_str).collect();
        types.sort_unstable();
        types.dedup();
        types
            .iter()
            .filter_map(|t| index.types.get(*t).map(Vec::as_slice))
            .collect()
    } else {
        let positions: Vec<u64> = match direction {
            Direction::Forward => (start..head).take(SCAN_POSITIONS_MAX).collect(),
            Direction::Backward => (0..=start).rev().take(SCAN_POSITIONS_MAX).collect(),
        };
        let exhausted = positions.len() < SCAN_POSITIONS_MAX
            || positions.last().is_some_and(|p| *p + 1 == head || *p == 0);
        return (positions, next_if_exhausted, exhausted);
    };
    let mut merged: Vec<u64> = Vec::new();
    let mut exhausted = true;
    for list in lists {
        let part: &[u64] = match direction {
            Direction::Forward => &list[list.partition_point(|p| *p < start)..],
            Direction::Backward => &list[..list.partition_point(|p| *p <= start)],
        };
        if part.len() > SCAN_POSITIONS_MAX {
            exhausted = false;
        }
        match direction {
            Direction::Forward => merged.extend(part.iter().take(SCAN_POSITIONS_MAX)),
            Direction::Backward => merged.extend(part.iter().rev().take(SCAN_POSITIONS_MAX)),
        }
    }
    merged.sort_unstable();
    merged.dedup();
    if direction == Direction::Backward {
        merged.reverse();
    }
    if merged.len() > SCAN_POSITIONS_MAX {
        merged.truncate(SCAN_POSITIONS_MAX);
        exhausted = false;
    }
    (merged, next_if_exhausted, exhausted)
}

/// Drops events from `from` on that the filter rejects or their stream's metadata hides.
fn keep_matching(
    index: &RwLock<Index>,
    filter: &EventFilter,
    events: &mut Vec<RecordedEvent>,
    from: usize,
    now_secs: i64,
) {
    let index = index.read();
    let check_visibility = index.streams_hiding_events > 0;
    if filter.is_empty() && !check_visibility && index.erased_events == 0 {
        return;
    }
    let mut kept = from;
    for i in from..events.len() {
        let event = &events[i];
        let visible = !format::is_erased(event)
            && (!check_visibility
                || index
                    .streams
                    .get(event.stream.as_str())
                    .is_none_or(|entry| {
                        entry.is_visible(event.revision.0, event.recorded_at.timestamp(), now_secs)
                    }));
        if visible && filter.matches(event) {
            events.swap(kept, i);
            kept += 1;
        }
    }
    events.truncate(kept);
}
