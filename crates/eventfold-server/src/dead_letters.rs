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
    /// Its metadata (JSON), or, with `metadata_as_text`, a JSON string of its text.
    pub metadata: Box<RawValue>,
    /// Set when the metadata could not be carried as JSON inside this document (nested too
    /// deep for it, or stored by an earlier version under looser rules).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub metadata_as_text: bool,
    /// Its content type, when the copy's differs: JSON data the store no longer accepts as JSON
    /// is kept as `application/octet-stream`, byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
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

/// The copy of `event` a dead-letter stream keeps. It is always one the store accepts, so a
/// dead letter can never wedge the task that writes it: metadata that would nest too deep
/// inside the parked document travels as text, and data the store would not take as JSON
/// travels as `application/octet-stream`, byte for byte (both restored by [`unpark`]).
pub fn copy_of(event: &RecordedEvent, attempts: u32, reason: &str) -> NewEvent {
    let text = String::from_utf8_lossy(&event.metadata).into_owned();
    let as_json = RawValue::from_string(text.clone()).ok();
    let mut parked = ParkedMetadata {
        reason: reason.to_owned(),
        attempts,
        original: ParkedOrigin {
            id: event.id,
            stream: event.stream.clone(),
            revision: event.revision,
            position: event.position,
            recorded_at: event.recorded_at,
            occurred_at: event.occurred_at,
            metadata: as_json.unwrap_or_else(|| text_value(&text)),
            metadata_as_text: false,
            content_type: None,
        },
    };
    let mut metadata = serde_json::to_vec(&parked).expect("parked metadata serialises");
    if eventfold_store::check_json_text(&metadata).is_err() {
        parked.original.metadata = text_value(&text);
        parked.original.metadata_as_text = true;
        metadata = serde_json::to_vec(&parked).expect("parked metadata serialises");
    }
    let mut content_type = event.content_type.clone().into_owned();
    if event.is_json() && eventfold_store::check_json_text(&event.data).is_err() {
        parked.original.content_type = Some(content_type);
        content_type = "application/octet-stream".to_owned();
        metadata = serde_json::to_vec(&parked).expect("parked metadata serialises");
    }
    // A fresh id: the same event may be parked again after a replay.
    NewEvent {
        id: Uuid::now_v7(),
        event_type: event.event_type.clone(),
        data: event.data.clone(),
        content_type,
        metadata: Bytes::from(metadata),
        occurred_at: None,
    }
}

/// `text` as a JSON string value.
fn text_value(text: &str) -> Box<RawValue> {
    RawValue::from_string(serde_json::to_string(text).expect("strings serialise"))
        .expect("a JSON string")
}

/// The original event of a parked copy, as it was delivered before.
pub fn unpark(copy: &RecordedEvent) -> Result<RecordedEvent, StoreError> {
    let parked: ParkedMetadata = serde_json::from_slice(&copy.metadata)
        .map_err(|error| corrupt(copy, &format!("not a parked event: {error}")))?;
    let origin = parked.original;
    let metadata = if origin.metadata_as_text {
        let text: String = serde_json::from_str(origin.metadata.get())
            .map_err(|error| corrupt(copy, &format!("parked metadata text: {error}")))?;
        Bytes::from(text)
    } else {
        Bytes::copy_from_slice(origin.metadata.get().as_bytes())
    };
    let content_type = match origin.content_type {
        Some(original) => eventfold_store::content_type_from(&original),
        None => copy.content_type.clone(),
    };
    Ok(RecordedEvent {
        id: origin.id,
        stream: origin.stream,
        revision: origin.revision,
        position: origin.position,
        event_type: copy.event_type.clone(),
        data: copy.data.clone(),
        content_type,
        metadata,
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
