//! The one place where errors become HTTP responses: one status and one stable code per kind.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use eventfold_store::StoreError;

/// An error as the API returns it: `{"error": code, "message": …}` plus details for some kinds.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: serde_json::Map::new(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A request that is malformed or out of range, naming what is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// A request that took longer than allowed.
    pub fn timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request took longer than {} s", limit.as_secs_f64()),
        )
    }

    /// No route has this path.
    pub fn not_found_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route (see README: HTTP API)",
        )
    }

    /// The stream has no snapshot.
    pub fn snapshot_not_found(stream: &eventfold_store::StreamName) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "snapshot_not_found",
            format!("no snapshot of {stream}"),
        )
    }

    /// No consumer group has this name.
    pub fn group_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "group_not_found",
            format!("no consumer group called {name}"),
        )
    }

    /// No bus has this name.
    pub fn bus_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "bus_not_found",
            format!("no event bus called {name}"),
        )
    }

    /// The bus has no rule of this name.
    pub fn rule_not_found(bus: &str, rule: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "rule_not_found",
            format!("event bus {bus} has no rule called {rule}"),
        )
    }

    /// The bus has no replay of this name (on this node).
    pub fn replay_not_found(bus: &str, replay: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "replay_not_found",
            format!("event bus {bus} has no replay called {replay} on this node"),
        )
    }

    /// The stream belongs to the server (its name starts with `$`).
    pub fn reserved_stream(stream: &eventfold_store::StreamName) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "reserved_stream",
            format!("stream {stream} belongs to the server (names starting with `$` are read-only here)"),
        )
    }

    /// The bus's policy refuses this source.
    pub fn forbidden_source(bus: &str, source: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden_source",
            format!("the policy of event bus {bus} does not allow source {source:?}"),
        )
    }

    /// The bus's policy refuses this event type.
    pub fn forbidden_event_type(bus: &str, event_type: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden_event_type",
            format!("the policy of event bus {bus} does not allow event type {event_type:?}"),
        )
    }

    /// A scavenge is running already (one at a time).
    pub fn scavenge_running(started_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "scavenge_running",
            format!(
                "a scavenge is running already (started at {started_at}); see GET /admin/scavenge"
            ),
        )
    }

    /// No scavenge has run since the server started.
    pub fn scavenge_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "scavenge_not_found",
            "no scavenge has run since the server started (POST /admin/scavenge starts one)",
        )
    }

    /// Someone else changed the same thing at the same time.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// The server cannot do it now; the client may try again.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// Too many open subscriptions of one kind ("subscriptions", "group push streams").
    pub fn too_many_subscribers(kind: &str, limit: usize) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_subscribers",
            format!("the server already has {limit} open {kind}, its limit; try again later"),
        )
    }

    /// The route exists, but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take this method (see README: HTTP API)",
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The body as JSON (also sent as an SSE `error` event).
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.code.into());
        body.insert("message".into(), self.message.clone().into());
        body.extend(self.details.clone());
        body.into()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let status = match &error {
            StoreError::InvalidStreamName { .. }
            | StoreError::EmptyAppend
            | StoreError::InvalidEvent { .. }
            | StoreError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            StoreError::EventTooLarge { .. } | StoreError::AppendTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            StoreError::WrongExpectedRevision { .. } | StoreError::EventIdConflict { .. } => {
                StatusCode::CONFLICT
            }
            StoreError::StreamDeleted(_) => StatusCode::GONE,
            StoreError::StreamNotFound(_) => StatusCode::NOT_FOUND,
            StoreError::ReadOnly => StatusCode::METHOD_NOT_ALLOWED,
            StoreError::Poisoned(_) | StoreError::Closed | StoreError::Locked(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(%error, "request failed");
        }
        let mut api = Self::new(status, error.code(), error.to_string());
        if let StoreError::WrongExpectedRevision {
            expected, actual, ..
        } = &error
        {
            api.details
                .insert("expected".into(), serde_json::json!(expected));
            api.details
                .insert("actual".into(), serde_json::json!(actual));
        }
        api
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                rejection.body_text(),
            ),
            _ => Self::invalid(rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::invalid(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::invalid(rejection.body_text())
    }
}

/// What a 503 answer tells clients to wait before trying again, in seconds.
const RETRY_AFTER_SECS: &str = "1";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}
