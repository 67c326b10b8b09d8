//! The derived, in-memory index: where each position lives, each stream's positions, the
//! positions of each event type and category, and each stream's state. Everything here is
//! rebuilt from the log at open; nothing here is the truth.

use std::collections::HashMap;
use std::sync::Arc;

use eventfold_core::{Position, StreamName};

use super::format::Salt;
use super::io::SegmentFile;
use crate::rules;

/// One in this many positions has its `recorded_at` kept in memory, to find a time quickly.
pub(crate) const TIME_MARK_EVERY: u64 = 4096;

/// A segment and where each of its events starts.
pub(crate) struct SegmentIndex {
    /// The position of the segment's first event.
    pub(crate) first_position: Position,
    /// The file.
    pub(crate) file: Arc<dyn SegmentFile>,
    /// Offset of each event (position `first_position + i`) in the file.
    pub(crate) offsets: Vec<u32>,
    /// Length of the file's durable, complete content.
    pub(crate) end: u64,
    /// The segment's checksum seed.
    pub(crate) salt: Salt,
}

/// A stream's state beyond its events (stored in the log as JSON).
pub use crate::rules::StreamState;

/// What the index knows of one stream.
#[derive(Default)]
pub(crate) struct StreamEntry {
    /// The global position of each revision (`positions[r]` is revision `r`).
    pub(crate) positions: Vec<u64>,
    /// Metadata and deletion; shared, so the writer's view of a head costs no copy.
    pub(crate) state: Arc<StreamState>,
}

impl StreamEntry {
    /// The number of revisions ever written (the next revision).
    pub(crate) fn next_revision(&self) -> u64 {
        self.positions.len() as u64
    }

    /// True when the stream has events not removed by a soft delete, and no tombstone.
    pub(crate) fn exists(&self) -> bool {
        rules::stream_exists(self.next_revision(), &self.state)
    }

    /// The first revision reads may return, by truncate-before, max-count and soft delete.
    pub(crate) fn first_visible_revision(&self) -> u64 {
        rules::first_visible_revision(self.next_revision(), &self.state)
    }

    /// True when an event of this stream at `revision`, recorded at `recorded_at_secs`, is
    /// visible at `now_secs`.
    pub(crate) fn is_visible(&self, revision: u64, recorded_at_secs: i64, now_secs: i64) -> bool {
        !self.state.tombstoned
            && revision >= self.first_visible_revision()
            && rules::within_max_age(&self.state.metadata, recorded_at_secs, now_secs)
    }
}

/// The whole derived index.
#[derive(Default)]
pub struct Index {
    /// Segments in position order.
    pub(crate) segments: Vec<SegmentIndex>,
    /// Streams by name.
    pub(crate) streams: HashMap<StreamName, StreamEntry>,
    /// Positions by event type.
    pub(crate) types: HashMap<Box<str>, Vec<u64>>,
    /// Positions by stream category.
    pub(crate) categories: HashMap<Box<str>, Vec<u64>>,
    /// `recorded_at` (Unix nanoseconds) of every [`TIME_MARK_EVERY`]th position.
    pub(crate) time_marks: Vec<i64>,
    /// The next position to assign (the number of events in the log).
    pub(crate) next_position: u64,
    /// `recorded_at` of the last event (Unix nanoseconds); the next is never earlier.
    pub(crate) last_recorded_at_nanos: i64,
    /// How many streams have a state that hides events (0 lets `$all` reads skip the check).
    pub(crate) streams_hiding_events: usize,
    /// Events erased by a scavenge (their records stay, empty; reads skip them).
    pub(crate) erased_events: u64,
    /// Every event id, when this index is for a writer (taken by the writer while it runs).
    pub(crate) ids: Option<super::ids::IdTable>,
}

/// Where an event is, for a read.
#[derive(Clone)]
pub(crate) struct Location {
    pub(crate) file: Arc<dyn SegmentFile>,
    pub(crate) offset: u64,
    /// The end of the range to read: the next event's offset in the same segment, or the
    /// segment's end. The event's frame lies at the start of `[offset, end)`.
    pub(crate) end: u64,
    /// The segment's checksum seed.
    pub(crate) salt: Salt,
}

impl Index {
    /// Records a new segment (empty so far).
    pub(crate) fn add_segment(
        &mut self,
        first_position: Position,
        file: Arc<dyn SegmentFile>,
        end: u64,
        salt: Salt,
    ) {
        assert_eq!(
            first_position.0, self.next_position,
            "segments are contiguous"
        );
        self.segments.push(SegmentIndex {
            first_position,
            file,
            offsets: Vec::new(),
            end,
            salt,
        });
    }

    /// Records the events of one append to `stream`, from `first_revision` on, written at
    /// `offsets` of the last segment; `type_runs` gives their types in order, as runs (a type
    /// and how many events in a row have it). One lookup per stream and per run, not three
    /// per event: the sync thread applies this before it answers.
    pub(crate) fn add_append<'a>(
        &mut self,
        stream: &StreamName,
        first_revision: u64,
        offsets: &[u64],
        type_runs: impl IntoIterator<Item = (&'a str, usize)>,
        recorded_at_nanos: i64,
    ) {
        let first = self.next_position;
        let positions = first..first + offsets.len() as u64;
        let segment = self
            .segments
            .last_mut()
            .expect("a segment exists before events");
        segment.offsets.extend(
            offsets
                .iter()
                .map(|&offset| u32::try_from(offset).expect("segments stay below 4 GiB")),
        );
        let entry = match self.streams.get_mut(stream.as_str()) {
            Some(entry) => entry,
            None => self.streams.entry(stream.clone()).or_default(),
        };
        assert_eq!(
            entry.next_revision(),
            first_revision,
            "revisions are gapless"
        );
        entry.positions.extend(positions.clone());
        let mut run_start = first;
        for (event_type, count) in type_runs {
            // Erased events (no type) are in no type's list.
            if event_type.is_empty() {
                self.erased_events += count as u64;
            } else {
                extend(
                    &mut self.types,
                    event_type,
                    run_start..run_start + count as u64,
                );
            }
            run_start += count as u64;
        }
        assert_eq!(run_start, positions.end, "a type for every event");
        extend(&mut self.categories, stream.category(), positions.clone());
        let marks = positions.filter(|position| position.is_multiple_of(TIME_MARK_EVERY));
        self.time_marks.extend(marks.map(|_| recorded_at_nanos));
        self.last_recorded_at_nanos = self.last_recorded_at_nanos.max(recorded_at_nanos);
        self.next_position += offsets.len() as u64;
    }

    /// Where the indexed log ends (`None` before its first segment).
    pub fn log_end(&self) -> Option<super::durable_end::LogEnd> {
        self.segments
            .last()
            .map(|segment| super::durable_end::LogEnd {
                segment: segment.first_position,
                end: segment.end,
                next_position: self.next_position,
            })
    }

    /// Marks the end of durable, complete content in the last segment.
    pub(crate) fn set_segment_end(&mut self, end: u64) {
        self.segments.last_mut().expect("a segment exists").end = end;
    }

    /// Replaces a stream's state.
    pub(crate) fn set_stream_state(&mut self, stream: &StreamName, state: Arc<StreamState>) {
        let entry = match self.streams.get_mut(stream.as_str()) {
            Some(entry) => entry,
            None => self.streams.entry(stream.clone()).or_default(),
        };
        let was_hiding = entry.state.hides_events();
        let now_hiding = state.hides_events();
        entry.state = state;
        match (was_hiding, now_hiding) {
            (false, true) => self.streams_hiding_events += 1,
            (true, false) => self.streams_hiding_events -= 1,
            _ => {}
        }
    }

    /// Where the event at `position` is, or `None` beyond the end.
    pub(crate) fn location(&self, position: u64) -> Option<Location> {
        let segment = &self.segments[self.segment_of(position)?];
        let i = (position - segment.first_position.0) as usize;
        let offset = u64::from(*segment.offsets.get(i)?);
        let end = segment
            .offsets
            .get(i + 1)
            .map_or(segment.end, |next| u64::from(*next));
        Some(Location {
            file: segment.file.clone(),
            offset,
            end,
            salt: segment.salt,
        })
    }

    /// Where the frame of the event at `position` ends at the latest (the next event's offset,
    /// or the segment's end). `position` must be indexed.
    pub(crate) fn event_end(&self, position: u64) -> u64 {
        let segment = &self.segments[self.segment_of(position).expect("an indexed position")];
        let i = (position - segment.first_position.0) as usize;
        segment
            .offsets
            .get(i + 1)
            .map_or(segment.end, |next| u64::from(*next))
    }

    /// The bytes the frame of the event at `position` takes in its segment (an upper bound of
    /// what reading it holds in memory).
    pub(crate) fn event_bytes(&self, position: u64) -> u64 {
        let Some(segment) = self.segment_of(position).map(|i| &self.segments[i]) else {
            return 0;
        };
        let i = (position - segment.first_position.0) as usize;
        let Some(offset) = segment.offsets.get(i) else {
            return 0;
        };
        let end = segment
            .offsets
            .get(i + 1)
            .map_or(segment.end, |next| u64::from(*next));
        end - u64::from(*offset)
    }

    /// The bytes the frames of the consecutive positions `first..=last` take, when one segment
    /// holds them all (two lookups, however many positions).
    pub(crate) fn span_bytes(&self, first: u64, last: u64) -> Option<u64> {
        let segment = &self.segments[self.segment_of(first)?];
        let i = (first - segment.first_position.0) as usize;
        let j = (last.checked_sub(segment.first_position.0)?) as usize;
        let start = u64::from(*segment.offsets.get(i)?);
        segment.offsets.get(j)?;
        let end = segment
            .offsets
            .get(j + 1)
            .map_or(segment.end, |next| u64::from(*next));
        Some(end - start)
    }

    /// The positions held by the segment that holds `position` (empty if none).
    pub(crate) fn segment_range(&self, position: u64) -> std::ops::Range<u64> {
        match self.segment_of(position) {
            Some(i) => {
                let segment = &self.segments[i];
                let first = segment.first_position.0;
                first..first + segment.offsets.len() as u64
            }
            None => 0..0,
        }
    }

    fn segment_of(&self, position: u64) -> Option<usize> {
        self.segments
            .partition_point(|s| s.first_position.0 <= position)
            .checked_sub(1)
    }

    /// The first position whose block of [`TIME_MARK_EVERY`] events may hold the first event
    /// recorded at or after `nanos`.
    pub(crate) fn time_search_start(&self, nanos: i64) -> u64 {
        let marks_before = self.time_marks.partition_point(|mark| *mark < nanos);
        marks_before.saturating_sub(1) as u64 * TIME_MARK_EVERY
    }
}

fn extend(map: &mut HashMap<Box<str>, Vec<u64>>, key: &str, positions: std::ops::Range<u64>) {
    match map.get_mut(key) {
        Some(list) => list.extend(positions),
        None => {
            map.insert(key.into(), positions.collect());
        }
    }
}
