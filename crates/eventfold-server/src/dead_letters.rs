//! Dead letters: copies of events that could not be delivered, kept in a stream of their own
//! (a consumer group's parked stream, a bus rule's dead-letter stream) with why, how many
//! attempts, and where the original is. [`unpark`] gives the original back for a replay.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use eventfold_store::{
    EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent, Revision, StoreError,
    StreamName, Timestamp,
};

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

/// Appends a copy of `event` to the dead-letter stream `stream`.
pub async fn park(
    store: &dyn EventStore,
    stream: &StreamName,
    event: &RecordedEvent,
    attempts: u32,
    reason: &str,
) -> Result<(), StoreError> {
    let copy = copy_of(event, attempts, reason);
    store
        .append(stream, ExpectedRevision::Any, vec![copy])
        .await
        .map(drop)
}

/// The copy of `event` a dead-letter stream keeps.
pub fn copy_of(event: &RecordedEvent, attempts: u32, reason: &str) -> NewEvent {
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
    NewEvent {
        id: Uuid::now_v7(),
        event_type: event.event_type.clone(),
        data: event.data.clone(),
        content_type: event.content_type.clone().into_owned(),
        metadata: Bytes::from(serde_json::to_vec(&parked).expect("parked metadata serialises")),
        occurred_at: None,
    }
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

/// A stored event of ours that does not parse: reported, never skipped.
pub fn corrupt(event: &RecordedEvent, reason: &str) -> StoreError {
    StoreError::Corrupted {
        file: format!("stream {}", event.stream),
        offset: event.revision.0,
        reason: reason.to_owned(),
    }
}
