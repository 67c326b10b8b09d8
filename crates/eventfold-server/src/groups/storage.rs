//! Where a group keeps its state: in the event store itself, so any node of a shared backend
//! (PostgreSQL) can take a group over and nothing lives only in one process.
//!
//! - `$groups`: `GroupSaved` / `GroupDeleted` events, the definitions of every group;
//! - `$group-<name>-checkpoint`: `Checkpoint {"cursor": n}`, every event before `n` is finished;
//! - `$group-<name>-parked`: the dead letters, copies of the events that exhausted their
//!   attempts or were parked by a consumer, with the original's coordinates in the metadata.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use eventfold_store::{
    Direction, EventStore, ExpectedRevision, NewEvent, Position, ReadStream, RecordedEvent,
    Revision, StoreError, StreamFrom, StreamName, Timestamp,
};

use super::settings::GroupSettings;

/// The stream of group definitions.
pub const GROUPS_STREAM: &str = "$groups";

/// An event of `$groups`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupChange {
    /// A group was created or its settings replaced.
    Saved {
        /// The group.
        name: String,
        /// Its settings.
        settings: GroupSettings,
    },
    /// A group was deleted.
    Deleted {
        /// The group.
        name: String,
    },
}

impl GroupChange {
    /// The event appended to `$groups`.
    pub fn to_event(&self) -> NewEvent {
        let event_type = match self {
            Self::Saved { .. } => "GroupSaved",
            Self::Deleted { .. } => "GroupDeleted",
        };
        NewEvent::json(event_type, self)
    }

    /// Reads a change back; a `$groups` event that does not parse is corruption, reported.
    pub fn from_event(event: &RecordedEvent) -> Result<Self, StoreError> {
        serde_json::from_slice(&event.data)
            .map_err(|error| corrupt(event, &format!("not a group definition: {error}")))
    }
}

/// The stream of a group's checkpoints.
pub fn checkpoint_stream(group: &str) -> StreamName {
    StreamName::new(&format!("$group-{group}-checkpoint")).expect("group names are checked")
}

/// The stream of a group's parked events (its dead letters).
pub fn parked_stream(group: &str) -> StreamName {
    StreamName::new(&format!("$group-{group}-parked")).expect("group names are checked")
}

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    cursor: u64,
}

/// The cursor to resume from: the last checkpoint, or the group's start.
pub async fn load_checkpoint(
    store: &dyn EventStore,
    group: &str,
    settings: &GroupSettings,
) -> Result<u64, StoreError> {
    let last = store
        .read_stream(
            &checkpoint_stream(group),
            ReadStream {
                from: StreamFrom::End,
                direction: Direction::Backward,
                limit: 1,
            },
        )
        .await;
    match last {
        Ok(events) => match events.first() {
            Some(event) => serde_json::from_slice::<Checkpoint>(&event.data)
                .map(|checkpoint| checkpoint.cursor)
                .map_err(|error| corrupt(event, &format!("not a checkpoint: {error}"))),
            None => Ok(settings.start),
        },
        Err(StoreError::StreamNotFound(_)) => Ok(settings.start),
        Err(error) => Err(error),
    }
}

/// Records that every event before `cursor` is finished.
pub async fn save_checkpoint(
    store: &dyn EventStore,
    group: &str,
    cursor: u64,
) -> Result<(), StoreError> {
    let event = NewEvent::json("Checkpoint", &Checkpoint { cursor });
    store
        .append(
            &checkpoint_stream(group),
            ExpectedRevision::Any,
            vec![event],
        )
        .await
        .map(drop)
}

/// Keeps only the last few checkpoints visible (set when a group is created).
pub async fn limit_checkpoints(store: &dyn EventStore, group: &str) -> Result<(), StoreError> {
    let stream = checkpoint_stream(group);
    let mut metadata = store.stream_metadata(&stream).await?;
    metadata.max_count = Some(4);
    store.set_stream_metadata(&stream, metadata).await
}

/// Where a parked event came from, and why it was parked.
#[derive(Debug, Serialize, Deserialize)]
pub struct ParkedOrigin {
    /// The original event's id.
    pub id: Uuid,
    /// Its stream.
    pub stream: StreamName,
    /// Its revision.
    pub revision: Revision,
    /// Its position.
    pub position: Position,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// When it happened, if the writer said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    /// Its metadata (JSON).
    pub metadata: Box<RawValue>,
}

/// The metadata of a parked copy.
#[derive(Debug, Serialize, Deserialize)]
pub struct ParkedMetadata {
    /// Why: `max_attempts`, or the consumer's reason.
    pub reason: String,
    /// How many deliveries were made.
    pub attempts: u32,
    /// The original event.
    pub original: ParkedOrigin,
}

/// Appends a copy of `event` to the group's parked stream.
pub async fn park(
    store: &dyn EventStore,
    group: &str,
    event: &RecordedEvent,
    attempts: u32,
    reason: &str,
) -> Result<(), StoreError> {
    let metadata = RawValue::from_string(String::from_utf8_lossy(&event.metadata).into_owned())
        .unwrap_or_else(|_| RawValue::from_string("{}".into()).expect("valid JSON"));
    let parked = ParkedMetadata {
        reason: reason.to_owned(),
        attempts,
        original: ParkedOrigin {
            id: event.id,
            stream: event.stream.clone(),
            revision: event.revision,
            position: event.position,
            recorded_at: event.recorded_at,
            occurred_at: event.occurred_at,
            metadata,
        },
    };
    // A fresh id: the same event may be parked again after a replay.
    let copy = NewEvent {
        id: Uuid::now_v7(),
        event_type: event.event_type.clone(),
        data: event.data.clone(),
        content_type: event.content_type.clone().into_owned(),
        metadata: Bytes::from(serde_json::to_vec(&parked).expect("parked metadata serialises")),
        occurred_at: None,
    };
    store
        .append(&parked_stream(group), ExpectedRevision::Any, vec![copy])
        .await
        .map(drop)
}

/// The original event of a parked copy, as it was delivered before.
pub fn unpark(copy: &RecordedEvent) -> Result<RecordedEvent, StoreError> {
    let parked: ParkedMetadata = serde_json::from_slice(&copy.metadata)
        .map_err(|error| corrupt(copy, &format!("not a parked event: {error}")))?;
    let origin = parked.original;
    Ok(RecordedEvent {
        id: origin.id,
        stream: origin.stream,
        revision: origin.revision,
        position: origin.position,
        event_type: copy.event_type.clone(),
        data: copy.data.clone(),
        content_type: copy.content_type.clone(),
        metadata: Bytes::copy_from_slice(origin.metadata.get().as_bytes()),
        occurred_at: origin.occurred_at,
        recorded_at: origin.recorded_at,
    })
}

/// Reads up to `limit` parked copies from revision `from`; none when the stream is empty.
pub async fn read_parked(
    store: &dyn EventStore,
    group: &str,
    from: StreamFrom,
    direction: Direction,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let request = ReadStream {
        from,
        direction,
        limit,
    };
    match store.read_stream(&parked_stream(group), request).await {
        Err(StoreError::StreamNotFound(_)) => Ok(Vec::new()),
        other => other,
    }
}

/// Hides the parked copies before `revision` (after they were replayed and finished).
pub async fn drop_parked_before(
    store: &dyn EventStore,
    group: &str,
    revision: u64,
) -> Result<(), StoreError> {
    let stream = parked_stream(group);
    let mut metadata = store.stream_metadata(&stream).await?;
    metadata.truncate_before = Some(metadata.truncate_before.unwrap_or(0).max(revision));
    store.set_stream_metadata(&stream, metadata).await
}

/// Soft-deletes a group's checkpoints and dead letters (the group is gone).
pub async fn forget(store: &dyn EventStore, group: &str) -> Result<(), StoreError> {
    for stream in [checkpoint_stream(group), parked_stream(group)] {
        match store
            .delete_stream(
                &stream,
                ExpectedRevision::Any,
                eventfold_store::DeleteMode::Soft,
            )
            .await
        {
            Ok(()) | Err(StoreError::StreamNotFound(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A stored event of ours that does not parse: reported, never skipped.
fn corrupt(event: &RecordedEvent, reason: &str) -> StoreError {
    StoreError::Corrupted {
        file: format!("stream {}", event.stream),
        offset: event.revision.0,
        reason: reason.to_owned(),
    }
}
