//! The JSON the client sends and receives, and errors as the server reports them.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use eventfold_store::{
    ExpectedRevision, NewEvent, Position, RecordedEvent, Revision, StoreError, StreamName,
    Timestamp,
};

/// `POST /streams/{stream}`.
#[derive(Serialize)]
pub struct AppendBody<'a> {
    expected_revision: ExpectedRevision,
    events: Vec<EventBody<'a>>,
}

#[derive(Serialize)]
struct EventBody<'a> {
    id: uuid::Uuid,
    #[serde(rename = "type")]
    event_type: &'a str,
    content_type: &'a str,
    data: Data<'a>,
    metadata: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    occurred_at: Option<Timestamp>,
}

/// JSON data byte for byte, or other data as base64.
#[derive(Serialize)]
#[serde(untagged)]
enum Data<'a> {
    Json(&'a RawValue),
    Base64(String),
}

/// The body of an append; data that claims to be JSON but is not is refused here, as the
/// store would.
pub fn append_body(
    expected: ExpectedRevision,
    events: &[NewEvent],
) -> Result<AppendBody<'_>, StoreError> {
    use base64::Engine as _;
    let invalid = |event: &NewEvent, field: &str| StoreError::InvalidEvent {
        id: event.id,
        field: field.to_owned(),
        reason: "is not valid JSON".into(),
    };
    let events = events
        .iter()
        .map(|event| {
            let data = if event.is_json() {
                Data::Json(serde_json::from_slice(&event.data).map_err(|_| invalid(event, "data"))?)
            } else {
                Data::Base64(base64::engine::general_purpose::STANDARD.encode(&event.data))
            };
            Ok(EventBody {
                id: event.id,
                event_type: &event.event_type,
                content_type: &event.content_type,
                data,
                metadata: serde_json::from_slice(&event.metadata)
                    .map_err(|_| invalid(event, "metadata"))?,
                occurred_at: event.occurred_at,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(AppendBody {
        expected_revision: expected,
        events,
    })
}

/// `GET /streams/{stream}`.
#[derive(Deserialize)]
pub struct EventsPage {
    pub events: Vec<RecordedEvent>,
}

/// `GET /all`.
#[derive(Deserialize)]
pub struct AllPage {
    pub events: Vec<RecordedEvent>,
    pub next: Option<Position>,
    pub end_of_log: bool,
}

/// `GET /streams/{stream}/revision`.
#[derive(Deserialize)]
pub struct RevisionAnswer {
    pub revision: Option<Revision>,
}

/// `GET /health`.
#[derive(Deserialize)]
pub struct Health {
    pub head_position: Position,
}

/// An error body: `{"error": code, "message": …}`, with details for some codes.
#[derive(Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    #[serde(default)]
    pub expected: Option<ExpectedRevision>,
    #[serde(default)]
    pub actual: Option<u64>,
}

impl ErrorBody {
    /// The store error this body reports; `stream` is the stream the request was about.
    pub fn into_error(self, stream: Option<&StreamName>) -> StoreError {
        match (self.error.as_str(), stream) {
            ("wrong_expected_revision", Some(stream)) => StoreError::WrongExpectedRevision {
                stream: stream.clone(),
                expected: self.expected.unwrap_or_default(),
                actual: self.actual,
            },
            ("stream_deleted", Some(stream)) => StoreError::StreamDeleted(stream.clone()),
            ("stream_not_found", Some(stream)) => StoreError::StreamNotFound(stream.clone()),
            ("invalid_request", _) => StoreError::InvalidRequest(self.message),
            ("closed", _) => StoreError::Closed,
            (code, _) => match StoreError::known_code(code) {
                Some(code) => StoreError::Remote {
                    code,
                    message: self.message,
                },
                None => StoreError::Backend(format!("{code}: {}", self.message)),
            },
        }
    }
}

/// The error in a failed response.
pub async fn error_of(response: reqwest::Response, stream: Option<&StreamName>) -> StoreError {
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => body.into_error(stream),
        Err(_) => StoreError::Backend(format!(
            "the server answered {status} without an error body"
        )),
    }
}
