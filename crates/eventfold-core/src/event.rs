//! Events as a client writes them and as the store records them.

use bytes::Bytes;
use serde::Serialize;
use uuid::Uuid;

use crate::{Limits, Position, Revision, StoreError, StreamName, Timestamp};

/// The default content type of event data.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// A content type read from storage, without allocating for the common JSON case.
pub fn content_type_from(text: &str) -> std::borrow::Cow<'static, str> {
    if text == CONTENT_TYPE_JSON {
        std::borrow::Cow::Borrowed(CONTENT_TYPE_JSON)
    } else {
        std::borrow::Cow::Owned(text.to_owned())
    }
}

/// An event as a client writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// Chosen by the client so that a retried append is recognised; random by default.
    pub id: Uuid,
    /// The event type, such as `Deposited`.
    pub event_type: String,
    /// The payload. JSON unless `content_type` says otherwise.
    pub data: Bytes,
    /// The payload's media type (`application/json` by default).
    pub content_type: String,
    /// A JSON object as text (`{}` by default).
    pub metadata: Bytes,
    /// When the fact happened, as the client knows it (bitemporal questions).
    pub occurred_at: Option<Timestamp>,
}

impl NewEvent {
    /// A JSON event with a new id and empty metadata. `data` must be JSON text.
    ///
    /// The id is a UUID version 7: a millisecond timestamp then random bits, so ids made close
    /// in time sort close together, and a database index on them (PostgreSQL's) grows at its
    /// end instead of at random pages.
    pub fn new(event_type: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: event_type.into(),
            data: data.into(),
            content_type: CONTENT_TYPE_JSON.to_owned(),
            metadata: Bytes::from_static(b"{}"),
            occurred_at: None,
        }
    }

    /// A JSON event whose data is `value` serialised.
    pub fn json(event_type: impl Into<String>, value: &impl Serialize) -> Self {
        let data = serde_json::to_vec(value).expect("a serde value serialises to JSON");
        Self::new(event_type, data)
    }

    /// Sets the id (for idempotent retries).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    /// Sets the metadata (a JSON object).
    pub fn with_metadata(mut self, metadata: &serde_json::Value) -> Self {
        self.metadata = Bytes::from(serde_json::to_vec(metadata).expect("JSON serialises"));
        self
    }

    /// Sets a non-JSON payload and its content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Sets when the fact happened.
    pub fn with_occurred_at(mut self, occurred_at: Timestamp) -> Self {
        self.occurred_at = Some(occurred_at);
        self
    }

    /// The bytes this event counts against the size limits.
    pub fn size_bytes(&self) -> usize {
        self.data.len() + self.metadata.len() + self.event_type.len() + self.content_type.len()
    }

    /// Checks this event against `limits` and the shape rules; returns its size in bytes.
    pub fn validate(&self, limits: &Limits) -> Result<usize, StoreError> {
        let invalid = |field: &str, reason: String| StoreError::InvalidEvent {
            id: self.id,
            field: field.to_owned(),
            reason,
        };
        if self.event_type.is_empty() || self.event_type.len() > limits.event_type_bytes_max {
            return Err(invalid(
                "type",
                format!("must be 1..={} bytes", limits.event_type_bytes_max),
            ));
        }
        if self.event_type.chars().any(char::is_control) {
            return Err(invalid("type", "cannot contain control characters".into()));
        }
        if self.content_type.is_empty()
            || self.content_type.len() > limits.content_type_bytes_max
            || self.content_type.chars().any(char::is_control)
        {
            return Err(invalid(
                "content_type",
                format!(
                    "must be 1..={} bytes without control characters",
                    limits.content_type_bytes_max
                ),
            ));
        }
        let size = self.size_bytes();
        if size > limits.event_bytes_max {
            return Err(StoreError::EventTooLarge {
                id: self.id,
                size_bytes: size,
                limit_bytes: limits.event_bytes_max,
            });
        }
        if self.is_json() {
            if let Err(reason) = check_json_text(&self.data) {
                return Err(invalid("data", reason));
            }
        }
        if let Err(reason) = check_json_text(&self.metadata) {
            return Err(invalid("metadata", reason));
        }
        if self
            .metadata
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            != Some(&b'{')
        {
            return Err(invalid("metadata", "must be a JSON object".into()));
        }
        Ok(size)
    }

    /// True when the data is JSON.
    pub fn is_json(&self) -> bool {
        is_json_content_type(&self.content_type)
    }
}

/// Checks that `bytes` are one JSON value as UTF-8 text (serde_json alone skips the contents of
/// strings without checking their UTF-8). Every backend refuses to store JSON data or metadata
/// that fails this, and reads of `$all` and streams write it out as it is.
pub fn check_json_text(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|error| format!("is not UTF-8: {error}"))?;
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|error| format!("is not valid JSON: {error}"))?;
    Ok(text)
}

pub(crate) fn is_json_content_type(content_type: &str) -> bool {
    content_type == CONTENT_TYPE_JSON
}

/// An event as the store recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    /// The id the client gave (or the one generated for it).
    pub id: Uuid,
    /// The stream it belongs to.
    pub stream: StreamName,
    /// Its place in the stream.
    pub revision: Revision,
    /// Its place in the global log.
    pub position: Position,
    /// The event type.
    pub event_type: String,
    /// The payload. With the JSON content type, JSON text: the store promises it for the events
    /// it returns, and an event built by hand must keep it (its JSON form writes the text as
    /// it is).
    pub data: Bytes,
    /// The payload's media type (borrowed for the common `application/json`).
    pub content_type: std::borrow::Cow<'static, str>,
    /// A JSON object as text.
    pub metadata: Bytes,
    /// When the fact happened, as the client said.
    pub occurred_at: Option<Timestamp>,
    /// When the store committed it. Never decreases along the global log.
    pub recorded_at: Timestamp,
}

impl RecordedEvent {
    /// True when the data is JSON.
    pub fn is_json(&self) -> bool {
        is_json_content_type(&self.content_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(event: NewEvent) -> &'static str {
        event.validate(&Limits::default()).unwrap_err().code()
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(NewEvent::new("Deposited", "{\"amount\":1}")
            .validate(&Limits::default())
            .is_ok());
        assert_eq!(codes(NewEvent::new("", "{}")), "invalid_event");
        assert_eq!(codes(NewEvent::new("T", "not json")), "invalid_event");
        assert_eq!(
            codes(NewEvent::new("T", "{}").with_metadata(&serde_json::json!([1]))),
            "invalid_event"
        );
        let mut bad_metadata = NewEvent::new("T", "{}");
        bad_metadata.metadata = bytes::Bytes::from_static(b" {\"a\": ");
        assert_eq!(codes(bad_metadata.clone()), "invalid_event");
        bad_metadata.metadata = bytes::Bytes::from_static(b" \"{\" ");
        assert_eq!(codes(bad_metadata), "invalid_event");
        let mut not_utf8 = NewEvent::new("T", &b"{\"a\":\"\xff\"}"[..]);
        assert_eq!(codes(not_utf8.clone()), "invalid_event");
        not_utf8.data = Bytes::from_static(b"{}");
        not_utf8.metadata = Bytes::from_static(b"{\"a\":\"\xff\"}");
        assert_eq!(codes(not_utf8), "invalid_event");
        let big = format!("\"{}\"", "x".repeat(1 << 20));
        assert_eq!(codes(NewEvent::new("T", big)), "too_large");
        let binary =
            NewEvent::new("T", vec![0xff, 0x00]).with_content_type("application/octet-stream");
        assert!(binary.validate(&Limits::default()).is_ok());
    }
}
