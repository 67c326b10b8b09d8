//! Bus events: how an event put on a bus is stored in the bus's archive (`$bus:<name>:archive`), and the
//! JSON document rules match and webhooks receive.
//!
//! A stored bus event keeps its type and data; its metadata is an envelope:
//! `{"source": …, "metadata": <the sender's>, "replay": {…}, "via": [{"bus", "rule"}]}`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use eventfold_store::{NewEvent, RecordedEvent, Timestamp, CONTENT_TYPE_JSON};

use super::settings::{check_text, Policy};
use crate::ApiError;

/// How many rules an event may pass through (bus to bus) before it is taken for a loop.
pub const HOPS_MAX: usize = 8;

/// A replayed event's mark.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplayMark {
    /// The replay's name.
    pub name: String,
    /// The original event's id.
    pub of: Uuid,
    /// When the original was recorded.
    pub original_time: Timestamp,
}

/// One rule an event went through on its way to this bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    /// The bus it came from.
    pub bus: String,
    /// The rule that sent it.
    pub rule: String,
}

/// The metadata of a stored bus event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// Who sent the event.
    pub source: String,
    /// The sender's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Box<RawValue>>,
    /// Set on replayed events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayMark>,
    /// The rules that brought the event here from other buses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<Hop>,
}

impl Envelope {
    /// The envelope of a stored bus event; one that does not parse is corruption.
    pub fn of(event: &RecordedEvent) -> Result<Self, eventfold_store::StoreError> {
        serde_json::from_slice(&event.metadata).map_err(|error| {
            crate::dead_letters::corrupt(event, &format!("not a bus event envelope: {error}"))
        })
    }
}

/// One event of `POST /buses/{bus}/events`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutEvent {
    /// Its id (for idempotent retries); a new one when absent.
    pub id: Option<Uuid>,
    /// Who sends it.
    pub source: String,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its data (JSON).
    pub data: Box<RawValue>,
    /// The sender's metadata (JSON).
    pub metadata: Option<Box<RawValue>>,
}

/// The body of `POST /buses/{bus}/events`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutEvents {
    /// The events, stored atomically in this order.
    pub events: Vec<PutEvent>,
}

impl PutEvent {
    /// Checks the event against the bus's policy and builds what is stored.
    pub fn into_new_event(
        self,
        at: usize,
        bus: &str,
        policy: &Policy,
    ) -> Result<NewEvent, ApiError> {
        check_text(&format!("events[{at}].source"), &self.source)?;
        check_text(&format!("events[{at}].type"), &self.event_type)?;
        if !policy.allows_source(&self.source) {
            return Err(ApiError::forbidden_source(bus, &self.source));
        }
        if !policy.allows_type(&self.event_type) {
            return Err(ApiError::forbidden_event_type(bus, &self.event_type));
        }
        let envelope = Envelope {
            source: self.source,
            metadata: self.metadata,
            replay: None,
            via: Vec::new(),
        };
        Ok(NewEvent {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            event_type: self.event_type,
            data: Bytes::copy_from_slice(self.data.get().as_bytes()),
            content_type: CONTENT_TYPE_JSON.to_owned(),
            metadata: Bytes::from(serde_json::to_vec(&envelope).expect("envelopes serialise")),
            occurred_at: None,
        })
    }
}

/// What rules match: `{"source", "type", "data", "metadata"?, "replay"?}` (`replay` is the
/// replay's name).
pub fn match_document(event: &RecordedEvent, envelope: &Envelope) -> Value {
    let mut document = Map::new();
    document.insert("source".into(), Value::String(envelope.source.clone()));
    document.insert("type".into(), Value::String(event.event_type.clone()));
    let data = serde_json::from_slice(&event.data).unwrap_or(Value::Null);
    document.insert("data".into(), data);
    if let Some(metadata) = &envelope.metadata {
        let metadata = serde_json::from_str(metadata.get()).unwrap_or(Value::Null);
        document.insert("metadata".into(), metadata);
    }
    if let Some(replay) = &envelope.replay {
        document.insert("replay".into(), Value::String(replay.name.clone()));
    }
    Value::Object(document)
}

/// What a webhook receives: the match document plus `id`, `bus`, `rule` and `time`.
pub fn webhook_body(event: &RecordedEvent, document: &Value, bus: &str, rule: &str) -> Value {
    let mut body = document.as_object().cloned().unwrap_or_default();
    body.insert("id".into(), Value::String(event.id.to_string()));
    body.insert("bus".into(), Value::String(bus.to_owned()));
    body.insert("rule".into(), Value::String(rule.to_owned()));
    body.insert(
        "time".into(),
        serde_json::to_value(event.recorded_at).expect("times serialise"),
    );
    Value::Object(body)
}

/// The id of the copy a rule writes for `event` to its target number `target`: the same every
/// time, so a re-delivery after a restart is recognised by the store as a retry.
pub fn copy_id(event: &RecordedEvent, bus: &str, rule: &str, target: usize) -> Uuid {
    let name = format!("{}/{bus}/{rule}/{target}", event.id);
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

/// The copy of a bus event that a rule delivers to a bus or a stream: same type and data, the
/// envelope with one more hop.
pub fn forwarded(event: &RecordedEvent, envelope: &Envelope, hop: Hop, id: Uuid) -> NewEvent {
    let mut envelope = envelope.clone();
    envelope.via.push(hop);
    NewEvent {
        id,
        event_type: event.event_type.clone(),
        data: event.data.clone(),
        content_type: CONTENT_TYPE_JSON.to_owned(),
        metadata: Bytes::from(serde_json::to_vec(&envelope).expect("envelopes serialise")),
        occurred_at: event.occurred_at,
    }
}
