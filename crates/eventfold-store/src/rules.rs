//! The rules every backend applies to a stream's head: what an expectation accepts, what a
//! delete does, which revisions reads may return, and when an append is a retry. Backends keep
//! heads and event ids their own way and decide with these functions, so they cannot drift
//! apart (the conformance suite checks the outcome).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use eventfold_core::{
    AppendResult, ExpectedRevision, Limits, NewEvent, Position, RecordedEvent, Revision,
    StoreError, StreamMetadata, StreamName,
};

use crate::DeleteMode;

/// A stream's state beyond its events: metadata and deletion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamState {
    /// The user's metadata.
    #[serde(default)]
    pub metadata: StreamMetadata,
    /// Soft delete: revisions below this are gone; the stream exists again once written.
    #[serde(default)]
    pub deleted_before: u64,
    /// Hard delete: nothing can be read or written any more.
    #[serde(default)]
    pub tombstoned: bool,
}

impl StreamState {
    /// True when this state hides some events from reads.
    pub fn hides_events(&self) -> bool {
        self.tombstoned || self.deleted_before > 0 || !self.metadata.hides_nothing()
    }
}

/// A stream's head: how many revisions were ever written, and its state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamHead {
    /// The next revision (the number of revisions ever written).
    pub next_revision: u64,
    /// Metadata and deletion; shared, so taking a head copies no metadata.
    pub state: Arc<StreamState>,
}

/// True when a stream with `next_revision` revisions ever written and `state` has events not
/// removed by a soft delete, and no tombstone.
pub fn stream_exists(next_revision: u64, state: &StreamState) -> bool {
    !state.tombstoned && next_revision > state.deleted_before
}

/// The first revision reads may return, by truncate-before, max-count and soft delete.
/// (Max-age is checked per event, against its `recorded_at`: [`within_max_age`].)
pub fn first_visible_revision(next_revision: u64, state: &StreamState) -> u64 {
    let metadata = &state.metadata;
    let by_count = metadata
        .max_count
        .map_or(0, |count| next_revision.saturating_sub(count));
    state
        .deleted_before
        .max(metadata.truncate_before.unwrap_or(0))
        .max(by_count)
}

impl StreamHead {
    /// True when the stream has events not removed by a soft delete, and no tombstone.
    pub fn exists(&self) -> bool {
        stream_exists(self.next_revision, &self.state)
    }

    /// The current revision as the concurrency check sees it (`None`: the stream does not
    /// exist).
    pub fn current_revision(&self) -> Option<u64> {
        self.exists().then(|| self.next_revision - 1)
    }

    /// Whether an append or delete with `expected` may go ahead.
    pub fn accepts(&self, expected: ExpectedRevision) -> bool {
        match expected {
            ExpectedRevision::Any => true,
            ExpectedRevision::NoStream => !self.exists(),
            ExpectedRevision::StreamExists => self.exists(),
            // After a soft delete, revisions continue: the last revision is still accepted.
            ExpectedRevision::Exact(n) => self.next_revision.checked_sub(1) == Some(n),
        }
    }

    /// The error for an expectation this head does not accept.
    pub fn wrong_expectation(&self, stream: &StreamName, expected: ExpectedRevision) -> StoreError {
        StoreError::WrongExpectedRevision {
            stream: stream.clone(),
            expected,
            actual: self.current_revision(),
        }
    }

    /// The first revision reads may return.
    pub fn first_visible_revision(&self) -> u64 {
        first_visible_revision(self.next_revision, &self.state)
    }
}

/// Refuses a read asking for more events than `limits` allow in one page.
pub fn check_read_limit(limits: &Limits, limit: usize) -> Result<(), StoreError> {
    let max = limits.read_events_max;
    if limit > max {
        return Err(StoreError::InvalidRequest(format!(
            "limit {limit} is above the maximum of {max} events per read"
        )));
    }
    Ok(())
}

/// About the bytes `event` holds in memory: its data, metadata, type and stream name, plus the
/// fixed fields. Backends without a stored frame size count a page's bytes with this.
pub fn event_bytes(event: &RecordedEvent) -> usize {
    const FIXED_BYTES: usize = 96;
    event.data.len()
        + event.metadata.len()
        + event.event_type.len()
        + event.stream.as_str().len()
        + FIXED_BYTES
}

/// Cuts `events` (in the order read) after the last one that fits `bytes_max` with those before
/// it, keeping at least one; true when it cut any.
pub fn cut_to_bytes(events: &mut Vec<RecordedEvent>, bytes_max: usize) -> bool {
    let mut used = 0usize;
    let fit = events
        .iter()
        .position(|event| {
            used += event_bytes(event);
            used > bytes_max
        })
        .map_or(events.len(), |over| over.max(1));
    let cut = fit < events.len();
    events.truncate(fit);
    cut
}

/// What `stream_revision` answers for a stream with this head (`None`: never written).
pub fn revision_answer(
    stream: &StreamName,
    head: Option<(u64, &StreamState)>,
) -> Result<Option<Revision>, StoreError> {
    match head {
        Some((_, state)) if state.tombstoned => Err(StoreError::StreamDeleted(stream.clone())),
        Some((next_revision, state)) => {
            Ok(stream_exists(next_revision, state).then(|| Revision(next_revision - 1)))
        }
        None => Ok(None),
    }
}

/// What `stream_metadata` answers for a stream in this state (`None`: never written).
pub fn metadata_answer(
    stream: &StreamName,
    state: Option<&StreamState>,
) -> Result<StreamMetadata, StoreError> {
    match state {
        Some(state) if state.tombstoned => Err(StoreError::StreamDeleted(stream.clone())),
        Some(state) => Ok(state.metadata.clone()),
        None => Ok(StreamMetadata::default()),
    }
}

/// Whether an event recorded at `recorded_at_secs` is still visible at `now_secs` under a
/// stream's max-age.
pub fn within_max_age(metadata: &StreamMetadata, recorded_at_secs: i64, now_secs: i64) -> bool {
    match metadata.max_age_secs {
        Some(max_age) => {
            now_secs.saturating_sub(recorded_at_secs) <= i64::try_from(max_age).unwrap_or(i64::MAX)
        }
        None => true,
    }
}

/// The state a delete leaves, or why it is refused.
pub fn delete_state(
    stream: &StreamName,
    head: &StreamHead,
    expected: ExpectedRevision,
    mode: DeleteMode,
) -> Result<StreamState, StoreError> {
    if head.state.tombstoned {
        return Err(StoreError::StreamDeleted(stream.clone()));
    }
    if !head.accepts(expected) {
        return Err(head.wrong_expectation(stream, expected));
    }
    match mode {
        DeleteMode::Soft if !head.exists() => Err(StoreError::StreamNotFound(stream.clone())),
        DeleteMode::Soft => Ok(StreamState {
            deleted_before: head.next_revision,
            ..(*head.state).clone()
        }),
        DeleteMode::Hard => Ok(StreamState {
            tombstoned: true,
            ..(*head.state).clone()
        }),
    }
}

/// Where an event id was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenAt {
    pub stream: StreamName,
    pub revision: u64,
    pub position: u64,
    /// The first revision of the append that wrote it.
    pub append_start: u64,
    /// How many events that append had.
    pub append_len: u32,
    /// True when the stream did not exist when that append was made (so `no_stream` could have
    /// been its expectation, and `exists` could not).
    pub created_stream: bool,
}

/// What an append is, as far as retries go.
pub enum Retry {
    /// It repeats an earlier append: here is that append's result.
    Original(AppendResult),
    /// It reuses ids already written elsewhere or otherwise.
    IdsTaken(StoreError),
    /// Its ids are new.
    New,
}

/// Whether the append that wrote `at` could have been made with `expected`.
fn expectation_fits(expected: ExpectedRevision, at: &WrittenAt) -> bool {
    match expected {
        ExpectedRevision::Any => true,
        ExpectedRevision::NoStream => at.created_stream,
        ExpectedRevision::StreamExists => !at.created_stream,
        ExpectedRevision::Exact(n) => n.checked_add(1) == Some(at.append_start),
    }
}

fn id_conflict(id: Uuid, at: &WrittenAt) -> StoreError {
    StoreError::EventIdConflict {
        id,
        stream: at.stream.clone(),
        revision: at.revision,
    }
}

/// Decides by where the ids were written (`written_at`) whether an append repeats a whole
/// earlier append — the same ids in the same order in the same stream, with an expectation that
/// append could have had — or reuses ids otherwise. `None` when its first id was never seen:
/// the caller may look further (a log beyond its window), then call [`taken_id`].
pub fn retry_by_ids(
    stream: &StreamName,
    expected: ExpectedRevision,
    events: &[NewEvent],
    written_at: impl Fn(&Uuid) -> Option<WrittenAt>,
) -> Option<Retry> {
    let first_id = events[0].id;
    let at = written_at(&first_id)?;
    let whole_append = at.stream == *stream
        && at.revision == at.append_start
        && at.append_len as usize == events.len()
        && events.iter().enumerate().all(|(i, event)| {
            written_at(&event.id).is_some_and(|other| {
                other.stream == *stream && other.revision == at.revision + i as u64
            })
        });
    if whole_append && expectation_fits(expected, &at) {
        let last = written_at(&events[events.len() - 1].id).expect("matched");
        return Some(Retry::Original(AppendResult {
            first_revision: Revision(at.revision),
            last_revision: Revision(last.revision),
            first_position: Position(at.position),
            last_position: Position(last.position),
        }));
    }
    Some(Retry::IdsTaken(id_conflict(first_id, &at)))
}

/// The conflict for the first of `events` whose id was written already, or [`Retry::New`].
pub fn taken_id(events: &[NewEvent], written_at: impl Fn(&Uuid) -> Option<WrittenAt>) -> Retry {
    match events
        .iter()
        .find_map(|event| Some((event, written_at(&event.id)?)))
    {
        Some((event, at)) => Retry::IdsTaken(id_conflict(event.id, &at)),
        None => Retry::New,
    }
}

/// Checks an append against the limits; returns its size in bytes.
pub fn validate_append(limits: &Limits, events: &[NewEvent]) -> Result<usize, StoreError> {
    if events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    if events.len() > limits.append_events_max {
        return Err(StoreError::AppendTooLarge {
            size: events.len(),
            limit: limits.append_events_max,
        });
    }
    let mut total = 0;
    for event in events {
        total += event.validate(limits)?;
    }
    if total > limits.append_bytes_max {
        return Err(StoreError::AppendTooLarge {
            size: total,
            limit: limits.append_bytes_max,
        });
    }
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    if let Some(duplicate) = events.iter().find(|event| !ids.insert(event.id)) {
        return Err(StoreError::InvalidEvent {
            id: duplicate.id,
            field: "id".into(),
            reason: "appears twice in one append".into(),
        });
    }
    Ok(total)
}
