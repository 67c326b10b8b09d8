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

use eventfold_store::{NewEvent, RecordedEvent, StreamName, Timestamp, CONTENT_TYPE_JSON};

use crate::ApiError;
use eventfold_api::buses::{check_text, Policy, PutEvent};

/// How many rules an event may pass through (bus to bus) before it is taken for a loop.
pub const HOPS_MAX: usize = 8;

/// How many copies one event put on a bus may have through bus targets, all generations
/// together. Each bus target of a bus gets an equal share of an event's budget, less the copy
/// itself, so breadth is bounded as the hop limit bounds depth.
pub const FANOUT_COPIES_MAX: u32 = 1_000;

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
    /// How many more copies through bus targets this event and its copies may make
    /// ([`FANOUT_COPIES_MAX`] for an event put on a bus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout: Option<u32>,
}

impl Envelope {
    /// The copies through bus targets this event may still make.
    pub fn fanout_left(&self) -> u32 {
        self.fanout.unwrap_or(FANOUT_COPIES_MAX)
    }

    /// Whether `bus` is one the event already went through: sending it there is a loop.
    pub fn came_through(&self, bus: &str) -> bool {
        self.via.iter().any(|hop| hop.bus == bus)
    }

    /// The envelope of a stored bus event; one that does not parse is corruption.
    pub fn of(event: &RecordedEvent) -> Result<Self, eventfold_store::StoreError> {
        serde_json::from_slice(&event.metadata).map_err(|error| {
            crate::dead_letters::corrupt(event, &format!("not a bus event envelope: {error}"))
        })
    }
}

/// Checks an event put on `bus` against its policy and builds what is stored.
pub fn put_event(
    event: PutEvent,
    at: usize,
    bus: &str,
    policy: &Policy,
) -> Result<NewEvent, ApiError> {
    check_text(&format!("events[{at}].source"), &event.source)?;
    check_text(&format!("events[{at}].type"), &event.event_type)?;
    if !policy.allows_source(&event.source) {
        return Err(ApiError::forbidden_source(bus, &event.source));
    }
    if !policy.allows_type(&event.event_type) {
        return Err(ApiError::forbidden_event_type(bus, &event.event_type));
    }
    let envelope = Envelope {
        source: event.source,
        metadata: event.metadata,
        replay: None,
        via: Vec::new(),
        fanout: None,
    };
    Ok(NewEvent {
        id: event.id.unwrap_or_else(Uuid::now_v7),
        event_type: event.event_type,
        data: Bytes::copy_from_slice(event.data.get().as_bytes()),
        content_type: CONTENT_TYPE_JSON.to_owned(),
        metadata: Bytes::from(serde_json::to_vec(&envelope).expect("envelopes serialise")),
        occurred_at: None,
    })
}

/// What rules match: `{"source", "type", "data", "metadata"?, "replay"?}` (`replay` is the
/// replay's name).
///
/// Stored JSON always parses here (the store refuses what [`eventfold_store::check_json_text`]
/// refuses, and that is exactly what this parser refuses), so data or metadata that does not is
/// corruption: reported, never matched as something else.
pub fn match_document(
    event: &RecordedEvent,
    envelope: &Envelope,
) -> Result<Value, eventfold_store::StoreError> {
    let mut document = Map::new();
    document.insert("source".into(), Value::String(envelope.source.clone()));
    document.insert("type".into(), Value::String(event.event_type.clone()));
    let data = serde_json::from_slice(&event.data).map_err(|error| {
        crate::dead_letters::corrupt(event, &format!("bus event data is not JSON: {error}"))
    })?;
    document.insert("data".into(), data);
    if let Some(metadata) = &envelope.metadata {
        let metadata = serde_json::from_str(metadata.get()).map_err(|error| {
            crate::dead_letters::corrupt(event, &format!("bus event metadata is not JSON: {error}"))
        })?;
        document.insert("metadata".into(), metadata);
    }
    if let Some(replay) = &envelope.replay {
        document.insert("replay".into(), Value::String(replay.name.clone()));
    }
    Ok(Value::Object(document))
}

/// What a webhook receives: `{"bus", "data", "id", "metadata"?, "replay"?, "rule", "source",
/// "time", "type"}`, the match document's fields plus `id`, `bus`, `rule` and `time`, in that
/// (alphabetical) order. `data` and `metadata` are the stored JSON text, byte for byte (big
/// integers, `1.50`, escapes and spacing kept), not the matcher's reading of it.
#[derive(Serialize)]
struct WebhookBody<'a> {
    bus: &'a str,
    data: &'a RawValue,
    id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replay: Option<&'a str>,
    rule: &'a str,
    source: &'a str,
    time: Timestamp,
    #[serde(rename = "type")]
    event_type: &'a str,
}

/// The JSON body of a webhook call for `event` (see [`WebhookBody`]); stored data that is not
/// JSON text is corruption.
pub fn webhook_body(
    event: &RecordedEvent,
    envelope: &Envelope,
    bus: &str,
    rule: &str,
) -> Result<Bytes, eventfold_store::StoreError> {
    // Borrowed, not copied: the text between the surrounding whitespace, as it is.
    let data = std::str::from_utf8(&event.data)
        .map_err(|error| error.to_string())
        .and_then(|text| serde_json::from_str::<&RawValue>(text).map_err(|e| e.to_string()))
        .map_err(|error| {
            crate::dead_letters::corrupt(event, &format!("bus event data is not JSON: {error}"))
        })?;
    let body = WebhookBody {
        bus,
        data,
        id: event.id,
        metadata: envelope.metadata.as_deref(),
        replay: envelope.replay.as_ref().map(|replay| replay.name.as_str()),
        rule,
        source: &envelope.source,
        time: event.recorded_at,
        event_type: &event.event_type,
    };
    Ok(Bytes::from(
        serde_json::to_vec(&body).expect("webhook bodies serialise"),
    ))
}

/// The id of the copy a rule writes for `event` to its target number `target`: the same every
/// time, so a re-delivery after a restart is recognised by the store as a retry.
pub fn copy_id(event: &RecordedEvent, bus: &str, rule: &str, target: usize) -> Uuid {
    let name = format!("{}/{bus}/{rule}/{target}", event.id);
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

/// The id of the copy a rule writes of a replayed `event` (a replay's copy, or a copy of one) to
/// its target number `target`, a bus whose replays stream is `copies`. It names that stream:
/// servers that put these copies into the target bus's archive gave them [`copy_id`], and an id
/// is the store's for ever, so a redelivery now must not reuse it. (A replay's own copies in the
/// same stream, `{copies}/{original}/replay/{name}`, have one part fewer: no name collides.)
pub fn replayed_copy_id(
    event: &RecordedEvent,
    copies: &StreamName,
    bus: &str,
    rule: &str,
    target: usize,
) -> Uuid {
    let name = format!("{copies}/{}/{bus}/{rule}/{target}", event.id);
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

/// The copy of a bus event that a rule delivers to a bus or a stream: same type and data, the
/// envelope (its replay mark included) with one more hop and what is left of the fan-out
/// budget.
pub fn forwarded(
    event: &RecordedEvent,
    envelope: &Envelope,
    hop: Hop,
    id: Uuid,
    fanout: u32,
) -> NewEvent {
    let mut envelope = envelope.clone();
    envelope.via.push(hop);
    envelope.fanout = Some(fanout);
    NewEvent {
        id,
        event_type: event.event_type.clone(),
        data: event.data.clone(),
        content_type: CONTENT_TYPE_JSON.to_owned(),
        metadata: Bytes::from(serde_json::to_vec(&envelope).expect("envelopes serialise")),
        occurred_at: event.occurred_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfold_store::{Position, Revision, StoreError};

    fn recorded(data: &str, envelope: &Envelope) -> RecordedEvent {
        RecordedEvent {
            id: Uuid::now_v7(),
            stream: StreamName::new("$bus:b:archive").unwrap(),
            revision: Revision(3),
            position: Position(7),
            event_type: "Placed".into(),
            data: Bytes::copy_from_slice(data.as_bytes()),
            content_type: CONTENT_TYPE_JSON.into(),
            metadata: Bytes::from(serde_json::to_vec(envelope).unwrap()),
            occurred_at: None,
            recorded_at: chrono::Utc::now(),
        }
    }

    fn envelope(metadata: Option<&str>, replay: bool) -> Envelope {
        Envelope {
            source: "shop \"eu\"".into(),
            metadata: metadata.map(|text| RawValue::from_string(text.into()).unwrap()),
            replay: replay.then(|| ReplayMark {
                name: "fix-1".into(),
                of: Uuid::now_v7(),
                original_time: chrono::Utc::now(),
            }),
            via: vec![Hop {
                bus: "a".into(),
                rule: "r".into(),
            }],
            fanout: None,
        }
    }

    /// The webhook body as it was built before, through `Value`.
    fn body_through_value(
        event: &RecordedEvent,
        envelope: &Envelope,
        bus: &str,
        rule: &str,
    ) -> Vec<u8> {
        let mut body = match_document(event, envelope)
            .unwrap()
            .as_object()
            .cloned()
            .unwrap();
        body.insert("id".into(), Value::String(event.id.to_string()));
        body.insert("bus".into(), Value::String(bus.to_owned()));
        body.insert("rule".into(), Value::String(rule.to_owned()));
        body.insert(
            "time".into(),
            serde_json::to_value(event.recorded_at).unwrap(),
        );
        serde_json::to_vec(&Value::Object(body)).unwrap()
    }

    #[test]
    fn webhook_bodies_keep_their_shape_and_the_stored_text() {
        // Data in the form `Value` writes it (sorted keys, no spaces): the body is unchanged.
        for (metadata, replay) in [
            (None, false),
            (Some(r#"{"trace":"t1"}"#), false),
            (None, true),
            (Some(r#"{"a":[1,2.5,null]}"#), true),
        ] {
            let envelope = envelope(metadata, replay);
            let event = recorded(r#"{"a":[true,null,"é\n"],"b":-1}"#, &envelope);
            let body = webhook_body(&event, &envelope, "b", "r").unwrap();
            assert_eq!(
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&body_through_value(&event, &envelope, "b", "r")),
            );
        }
        // Anything else: the stored text, where `Value` would have rewritten it.
        let data = r#"{"x":12345678901234567890123, "y": 1.50, "z":"\u00e9"}"#;
        let metadata = r#"{ "big": -98765432109876543210 }"#;
        let envelope = envelope(Some(metadata), false);
        let event = recorded(&format!(" {data}\n"), &envelope);
        let body =
            String::from_utf8(webhook_body(&event, &envelope, "b", "r").unwrap().to_vec()).unwrap();
        assert!(body.contains(&format!(r#""data":{data},"#)), "{body}");
        assert!(
            body.contains(&format!(r#""metadata":{metadata},"#)),
            "{body}"
        );
    }

    #[test]
    fn stored_json_that_does_not_parse_is_corruption_not_null() {
        let envelope = envelope(None, false);
        for data in [r#"{"x":"\ud800"}"#, r#"{"x":1e999999}"#, "{", "\"\\x\""] {
            let event = recorded(data, &envelope);
            let error = match_document(&event, &envelope).unwrap_err();
            assert!(
                matches!(&error, StoreError::Corrupted { reason, .. } if reason.contains("data is not JSON")),
                "{data}: {error}"
            );
        }
        let event = recorded("{", &envelope);
        assert!(matches!(
            webhook_body(&event, &envelope, "b", "r"),
            Err(StoreError::Corrupted { .. })
        ));
        let bad_metadata = Envelope {
            metadata: Some(RawValue::from_string(r#"{"m":1e999999}"#.into()).unwrap()),
            ..envelope
        };
        let event = recorded("{}", &bad_metadata);
        let error = match_document(&event, &bad_metadata).unwrap_err();
        assert!(
            error.to_string().contains("metadata is not JSON"),
            "{error}"
        );
    }
}
