//! The JSON shapes of the API and their conversion to and from the store's vocabulary.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use eventfold_store::{
    AllFrom, Direction, EventFilter, ExpectedRevision, NewEvent, Position, Revision, StreamFrom,
    Timestamp, CONTENT_TYPE_JSON,
};

use crate::ApiError;

/// `POST /streams/{stream}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendBody {
    #[serde(default)]
    pub expected_revision: ExpectedRevision,
    pub events: Vec<EventBody>,
}

/// One event of an append. `data` is JSON, or a base64 string when `content_type` is not JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    pub id: Option<Uuid>,
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: Box<RawValue>,
    pub content_type: Option<String>,
    pub metadata: Option<Box<RawValue>>,
    pub occurred_at: Option<Timestamp>,
}

impl EventBody {
    /// The event to append; `at` is its place in the request, for error messages.
    pub fn into_new_event(self, at: usize) -> Result<NewEvent, ApiError> {
        let content_type = self
            .content_type
            .unwrap_or_else(|| CONTENT_TYPE_JSON.to_owned());
        let data = if content_type == CONTENT_TYPE_JSON {
            self.data.get().as_bytes().to_vec()
        } else {
            let text: String = serde_json::from_str(self.data.get()).map_err(|_| {
                ApiError::invalid(format!(
                    "events[{at}].data: with content_type {content_type:?} data must be a base64 string"
                ))
            })?;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|error| {
                    ApiError::invalid(format!("events[{at}].data is not valid base64: {error}"))
                })?
        };
        // Built in full: `NewEvent::new` would draw a random id the client's then replaces.
        let mut event = NewEvent {
            id: self.id.unwrap_or_else(Uuid::new_v4),
            event_type: self.event_type,
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

/// `GET /streams/{stream}` and `GET /subscribe/streams/{stream}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    pub from: Option<String>,
    pub direction: Option<Direction>,
    pub limit: Option<usize>,
    /// A smaller byte budget for the page than the server's.
    pub bytes_max: Option<usize>,
}

impl StreamQuery {
    /// Where to start: `start`, `end` or a revision; by default the start (forward) or end.
    pub fn from(&self) -> Result<StreamFrom, ApiError> {
        let backward = self.direction == Some(Direction::Backward);
        match self.from.as_deref() {
            None if backward => Ok(StreamFrom::End),
            None | Some("start") => Ok(StreamFrom::Start),
            Some("end") => Ok(StreamFrom::End),
            Some(number) => number
                .parse()
                .map(|r| StreamFrom::Revision(Revision(r)))
                .map_err(|_| {
                    ApiError::invalid(format!("from: `{number}` is not start, end or a revision"))
                }),
        }
    }
}

/// `DELETE /streams/{stream}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    #[serde(default)]
    pub hard: bool,
    #[serde(default)]
    pub expected_revision: Option<String>,
}

impl DeleteQuery {
    pub fn expected(&self) -> Result<ExpectedRevision, ApiError> {
        match &self.expected_revision {
            None => Ok(ExpectedRevision::Any),
            Some(text) => text
                .parse()
                .map_err(|reason| ApiError::invalid(format!("expected_revision: {reason}"))),
        }
    }
}

/// `GET /all` and `GET /subscribe/all`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllQuery {
    pub from: Option<String>,
    pub since: Option<Timestamp>,
    pub direction: Option<Direction>,
    pub limit: Option<usize>,
    /// A smaller byte budget for the page than the server's.
    pub bytes_max: Option<usize>,
    /// Event types, comma-separated.
    #[serde(rename = "type")]
    pub event_types: Option<String>,
    pub category: Option<String>,
    pub prefix: Option<String>,
}

impl AllQuery {
    /// Where to start: `start`, `end`, a position, or the time in `since`.
    pub fn from(&self) -> Result<AllFrom, ApiError> {
        let backward = self.direction == Some(Direction::Backward);
        match (self.from.as_deref(), self.since) {
            (Some(_), Some(_)) => Err(ApiError::invalid("from and since cannot both be given")),
            (None, Some(time)) => Ok(AllFrom::Time(time)),
            (None, None) if backward => Ok(AllFrom::End),
            (None | Some("start"), None) => Ok(AllFrom::Start),
            (Some("end"), None) => Ok(AllFrom::End),
            (Some(number), None) => number
                .parse()
                .map(|p| AllFrom::Position(Position(p)))
                .map_err(|_| {
                    ApiError::invalid(format!("from: `{number}` is not start, end or a position"))
                }),
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

/// `GET /streams/{stream}`: serialised straight from the events (no intermediate JSON tree).
#[derive(serde::Serialize)]
pub struct EventsPage<'a> {
    pub events: &'a [eventfold_store::RecordedEvent],
}

impl EventsPage<'_> {
    /// The page as a response, in a buffer sized for it.
    pub fn response(&self) -> axum::response::Response {
        json_response_sized(self, events_size_hint(self.events))
    }
}

/// `GET /all`.
#[derive(serde::Serialize)]
pub struct AllPage<'a> {
    pub events: &'a [eventfold_store::RecordedEvent],
    pub next: Option<Position>,
    pub end_of_log: bool,
}

impl AllPage<'_> {
    /// The page as a response, in a buffer sized for it.
    pub fn response(&self) -> axum::response::Response {
        json_response_sized(self, events_size_hint(self.events))
    }
}

/// About how many bytes a page of `events` takes as JSON.
fn events_size_hint(events: &[eventfold_store::RecordedEvent]) -> usize {
    64 + events
        .iter()
        .map(eventfold_store::RecordedEvent::json_size_hint)
        .sum::<usize>()
}

/// A JSON response serialised straight from `value`.
pub fn json_response(value: &impl serde::Serialize) -> axum::response::Response {
    json_response_sized(value, 128)
}

/// A JSON response serialised straight from `value` into a buffer of `capacity` bytes (a page
/// of events grows its buffer, copying it each time, when it is not sized up front).
fn json_response_sized(value: &impl serde::Serialize, capacity: usize) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value).expect("API values serialise");
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
