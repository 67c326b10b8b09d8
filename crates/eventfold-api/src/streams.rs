//! Streams and `$all`: appends, reads, pages, revisions, deletes, snapshots, health.

use std::borrow::Cow;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use eventfold_core::{
    AllFrom, Direction, EventFilter, ExpectedRevision, NewEvent, Position, RecordedEvent, Revision,
    StoreError, StreamFrom, CONTENT_TYPE_JSON,
};

use crate::Invalid;

/// The body of `POST /streams/{stream}`: events appended atomically, in order.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppendRequest<'a> {
    /// The optimistic-concurrency check (`any` when absent).
    #[serde(default)]
    pub expected_revision: ExpectedRevision,
    /// The events (at least one).
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub events: Vec<EventBody<'a>>,
}

/// One event of an append. `data` is JSON, or a base64 string when `content_type` is not JSON.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventBody<'a> {
    /// The event's id: a retry with the same ids is recognised and answered as the first
    /// write was (a new one is drawn when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The event type.
    #[serde(rename = "type")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            value_type = String,
            min_length = 1,
            max_length = 256,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
        )
    )]
    pub event_type: Cow<'a, str>,
    /// The payload: JSON, or base64 text with another content type.
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub data: Cow<'a, RawValue>,
    /// The payload's media type (`application/json` when absent): 1 to 128 bytes without
    /// control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            value_type = Option<String>,
            min_length = 1,
            max_length = 128,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
        )
    )]
    pub content_type: Option<Cow<'a, str>>,
    /// A JSON object kept with the event (`{}` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Cow<'a, RawValue>>,
    /// When the fact happened, as the writer says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
}

impl<'a> EventBody<'a> {
    /// The wire form of `event`, borrowing its bytes. Data or metadata that claims to be JSON
    /// but is not is refused here, naming the field, as the store would.
    pub fn of(event: &'a NewEvent) -> Result<Self, StoreError> {
        let json = |field: &str, bytes: &'a [u8]| {
            serde_json::from_slice::<&'a RawValue>(bytes)
                .map(Cow::Borrowed)
                .map_err(|_| StoreError::InvalidEvent {
                    id: event.id,
                    field: field.to_owned(),
                    reason: "is not valid JSON".into(),
                })
        };
        let data = if event.is_json() {
            json("data", &event.data)?
        } else {
            let text = base64::engine::general_purpose::STANDARD.encode(&event.data);
            let quoted = serde_json::to_string(&text).expect("a string serialises");
            Cow::Owned(RawValue::from_string(quoted).expect("a JSON string"))
        };
        Ok(Self {
            id: Some(event.id),
            event_type: Cow::Borrowed(&event.event_type),
            data,
            content_type: Some(Cow::Borrowed(&event.content_type)),
            metadata: Some(json("metadata", &event.metadata)?),
            occurred_at: event.occurred_at,
        })
    }

    /// The event to append; `at` is its place in the request, for error messages.
    pub fn into_new_event(self, at: usize) -> Result<NewEvent, Invalid> {
        let content_type = self
            .content_type
            .map_or_else(|| CONTENT_TYPE_JSON.to_owned(), Cow::into_owned);
        let data = if content_type == CONTENT_TYPE_JSON {
            self.data.get().as_bytes().to_vec()
        } else {
            let text: String = serde_json::from_str(self.data.get()).map_err(|_| {
                Invalid(format!(
                    "events[{at}].data: with content_type {content_type:?} data must be a base64 string"
                ))
            })?;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|error| {
                    Invalid(format!("events[{at}].data is not valid base64: {error}"))
                })?
        };
        // Built in full: `NewEvent::new` would draw a random id the client's then replaces.
        let mut event = NewEvent {
            id: self.id.unwrap_or_else(Uuid::new_v4),
            event_type: self.event_type.into_owned(),
            data: data.into(),
            content_type,
            metadata: bytes::Bytes::from_static(b"{}"),
            occurred_at: None,
        };
        if let Some(metadata) = self.metadata {
            event.metadata = bytes::Bytes::copy_from_slice(metadata.get().as_bytes());
        }
        if let Some(occurred_at) = self.occurred_at {
            event = event.with_occurred_at(occurred_at);
        }
        Ok(event)
    }
}

/// The query of `GET /streams/{stream}` and `GET /subscribe/streams/{stream}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// `start`, `end` or a revision (default: start, or end when reading backward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^(start|end|[0-9]{1,19})$"))]
    pub from: Option<String>,
    /// `forward` (default) or `backward`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// At most this many events (default 1000; the server's limit is 10000 unless configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(maximum = 10_000))]
    pub limit: Option<usize>,
    /// A smaller byte budget for the page than the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub bytes_max: Option<usize>,
}

impl StreamQuery {
    /// Where to start: `start`, `end` or a revision; by default the start (forward) or end.
    pub fn from(&self) -> Result<StreamFrom, Invalid> {
        let backward = self.direction == Some(Direction::Backward);
        match self.from.as_deref() {
            None if backward => Ok(StreamFrom::End),
            None | Some("start") => Ok(StreamFrom::Start),
            Some("end") => Ok(StreamFrom::End),
            Some(number) => number
                .parse()
                .map(|r| StreamFrom::Revision(Revision(r)))
                .map_err(|_| Invalid(format!("from: `{number}` is not start, end or a revision"))),
        }
    }

    /// The query for a read from `from`.
    pub fn at(from: StreamFrom) -> Option<String> {
        Some(match from {
            StreamFrom::Start => "start".into(),
            StreamFrom::End => "end".into(),
            StreamFrom::Revision(revision) => revision.0.to_string(),
        })
    }
}

/// The query of `DELETE /streams/{stream}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// A hard delete (tombstone): the stream can never be written or read again.
    #[serde(default)]
    pub hard: bool,
    /// `any` (default), `no_stream`, `exists` or a revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(pattern = "^(any|no_stream|exists|[0-9]{1,19})$")
    )]
    pub expected_revision: Option<String>,
}

impl DeleteQuery {
    /// The optimistic-concurrency check.
    pub fn expected(&self) -> Result<ExpectedRevision, Invalid> {
        match &self.expected_revision {
            None => Ok(ExpectedRevision::Any),
            Some(text) => text
                .parse()
                .map_err(|reason| Invalid(format!("expected_revision: {reason}"))),
        }
    }
}

/// The query of `GET /all` and `GET /subscribe/all`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AllQuery {
    /// `start`, `end` or a position (default: start, or end when reading backward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^(start|end|[0-9]{1,19})$"))]
    pub from: Option<String>,
    /// Start at the first event recorded at or after this time; with `from` too, at the
    /// later of the two (forward only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// `forward` (default) or `backward`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// At most this many events (default 1000; the server's limit is 10000 unless configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(maximum = 10_000))]
    pub limit: Option<usize>,
    /// A smaller byte budget for the page than the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub bytes_max: Option<usize>,
    /// Only these event types, comma-separated.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(rename = "type"))]
    #[cfg_attr(
        feature = "openapi",
        param(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")
    )]
    pub event_types: Option<String>,
    /// Only streams of this category (the part of the name before the first `-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")
    )]
    pub category: Option<String>,
    /// Only streams whose name starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")
    )]
    pub prefix: Option<String>,
}

impl AllQuery {
    /// Where to start: `start`, `end`, a position, or the time in `since`. With both `from`
    /// and `since`, the start depends on the log (see the server's `all::start`): here it is
    /// refused.
    pub fn from(&self) -> Result<AllFrom, Invalid> {
        let backward = self.direction == Some(Direction::Backward);
        match (self.from.as_deref(), self.since) {
            (Some(_), Some(_)) => Err(Invalid::new(
                "from and since cannot both be given when reading backward",
            )),
            (None, Some(time)) => Ok(AllFrom::Time(time)),
            (None, None) if backward => Ok(AllFrom::End),
            (None | Some("start"), None) => Ok(AllFrom::Start),
            (Some("end"), None) => Ok(AllFrom::End),
            (Some(number), None) => number
                .parse()
                .map(|p| AllFrom::Position(Position(p)))
                .map_err(|_| Invalid(format!("from: `{number}` is not start, end or a position"))),
        }
    }

    /// The query that starts at `from` with `filter`.
    pub fn of(from: AllFrom, filter: &EventFilter) -> Self {
        let (from, since) = match from {
            AllFrom::Start => (Some("start".into()), None),
            AllFrom::End => (Some("end".into()), None),
            AllFrom::Position(position) => (Some(position.0.to_string()), None),
            AllFrom::Time(time) => (None, Some(time)),
        };
        Self {
            from,
            since,
            event_types: (!filter.event_types.is_empty()).then(|| filter.event_types.join(",")),
            category: filter.category.clone(),
            prefix: filter.stream_prefix.clone(),
            ..Self::default()
        }
    }

    /// The filter.
    pub fn filter(&self) -> EventFilter {
        let event_types = self.event_types.as_deref().map_or_else(Vec::new, |types| {
            types
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        });
        EventFilter {
            stream_prefix: self.prefix.clone(),
            category: self.category.clone(),
            event_types,
        }
    }
}

/// The query of `GET /subscribe/all`: where to start and which events.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SubscribeAllQuery {
    /// `start` (default), `end` or a position; `Last-Event-ID` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^(start|end|[0-9]{1,19})$"))]
    pub from: Option<String>,
    /// Start at the first event recorded at or after this time; with `from` too, at the
    /// later of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Only these event types, comma-separated.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(rename = "type"))]
    #[cfg_attr(
        feature = "openapi",
        param(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")
    )]
    pub event_types: Option<String>,
    /// Only streams of this category (the part of the name before the first `-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")
    )]
    pub category: Option<String>,
    /// Only streams whose name starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(max_length = 256, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")
    )]
    pub prefix: Option<String>,
}

impl SubscribeAllQuery {
    /// The query that starts at `from` with `filter`.
    pub fn of(from: AllFrom, filter: &EventFilter) -> Self {
        let all = AllQuery::of(from, filter);
        Self {
            from: all.from,
            since: all.since,
            event_types: all.event_types,
            category: all.category,
            prefix: all.prefix,
        }
    }

    /// The same start and filter as a read's query.
    pub fn as_read(&self) -> AllQuery {
        AllQuery {
            from: self.from.clone(),
            since: self.since,
            event_types: self.event_types.clone(),
            category: self.category.clone(),
            prefix: self.prefix.clone(),
            ..AllQuery::default()
        }
    }
}

/// The query of `GET /subscribe/streams/{stream}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SubscribeStreamQuery {
    /// `start` (default), `end` or a revision; `Last-Event-ID` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(pattern = "^(start|end|[0-9]{1,19})$"))]
    pub from: Option<String>,
}

impl SubscribeStreamQuery {
    /// Where to start.
    pub fn from(&self) -> Result<StreamFrom, Invalid> {
        StreamQuery {
            from: self.from.clone(),
            ..StreamQuery::default()
        }
        .from()
    }
}

/// A page of a stream's events (`GET /streams/{stream}`, parked events, dead letters).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage<'a> {
    /// The events, in the order read.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<RecordedEvent>))]
    pub events: Cow<'a, [RecordedEvent]>,
}

/// A page of one stream (`GET /streams/{stream}`), with where the next one starts.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamPage<'a> {
    /// The events, in the order read.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<RecordedEvent>))]
    pub events: Cow<'a, [RecordedEvent]>,
    /// The revision the next page starts at (`from`), in the same direction; null when a
    /// backward read has nothing further.
    pub next: Option<Revision>,
    /// True when the page reached the end of the stream in its direction (the last event,
    /// forward; the first visible one, backward). Forward, more may be written later.
    pub end_of_stream: bool,
}

/// A page of `$all` (`GET /all`).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllPage<'a> {
    /// The events, in the order read.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<RecordedEvent>))]
    pub events: Cow<'a, [RecordedEvent]>,
    /// Where the next page starts (`from`), or null when there is nothing further yet.
    pub next: Option<Position>,
    /// True when the page reached the end of the log (more may be written later).
    pub end_of_log: bool,
}

/// `GET /streams/{stream}/revision`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionAnswer {
    /// The revision of the stream's last event, or null when it does not exist.
    pub revision: Option<Revision>,
}

/// `GET /health`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The position the next event will get.
    pub head_position: Position,
}

/// A snapshot on the wire (`GET` and `PUT /snapshots/{stream}`): the state is JSON, carried
/// as is.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SnapshotBody {
    /// The revision of the last event folded into the state.
    pub revision: u64,
    /// That event's id (a snapshot of a stream that was deleted and written again is refused).
    pub last_event_id: Uuid,
    /// The version of the state's shape, as the writer counts.
    pub schema_version: u32,
    /// When the snapshot was taken.
    pub recorded_at: DateTime<Utc>,
    /// The folded state.
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub state: Box<RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_go_to_the_wire_and_back_unchanged() {
        let json = NewEvent::json("Deposited", &serde_json::json!({"amount": 5}));
        let bytes = NewEvent::new("Blob", vec![0, 159, 146, 150])
            .with_content_type("application/octet-stream");
        for event in [json, bytes] {
            let body = EventBody::of(&event).unwrap();
            let text = serde_json::to_string(&body).unwrap();
            let back: EventBody = serde_json::from_str(&text).unwrap();
            let again = back.into_new_event(0).unwrap();
            assert_eq!(again.id, event.id);
            assert_eq!(again.data, event.data);
            assert_eq!(again.content_type, event.content_type);
        }
        let mut broken = NewEvent::json("X", &serde_json::json!(1));
        broken.metadata = bytes::Bytes::from_static(b"{oops");
        assert!(EventBody::of(&broken)
            .unwrap_err()
            .to_string()
            .contains("metadata"));
    }

    #[test]
    fn all_queries_round_trip_their_start_and_filter() {
        let filter = EventFilter {
            stream_prefix: Some("acc".into()),
            category: None,
            event_types: vec!["A".into(), "B".into()],
        };
        let query = AllQuery::of(AllFrom::Position(Position(7)), &filter);
        assert_eq!(query.from().unwrap(), AllFrom::Position(Position(7)));
        assert_eq!(query.filter(), filter);
        let both = AllQuery {
            from: Some("1".into()),
            since: Some(chrono::Utc::now()),
            ..AllQuery::default()
        };
        assert!(both.from().is_err());
    }
}
