//! The one place where errors become HTTP responses: one status and one stable code per kind.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use eventfold_api::{ErrorBody, ErrorCode, Invalid, RevisionConflict};
use eventfold_store::StoreError;

/// An error as the API returns it: an [`ErrorBody`] with the status its code has in
/// [`ErrorCode`]'s table.
#[derive(Debug)]
pub struct ApiError {
    body: ErrorBody,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            body: ErrorBody {
                error: code,
                message: message.into(),
                revision: None,
            },
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.body.error.status()).expect("the table holds valid statuses")
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// A request that is malformed or out of range, naming what is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// A request that took longer than allowed.
    pub fn timeout(limit: std::time::Duration) -> Self {
        Self::new(
            ErrorCode::Timeout,
            format!("the request took longer than {} s", limit.as_secs_f64()),
        )
    }

    /// No route has this path.
    pub fn not_found_route() -> Self {
        Self::new(ErrorCode::NotFound, "no such route (see README: HTTP API)")
    }

    /// The stream has no snapshot.
    pub fn snapshot_not_found(stream: &eventfold_store::StreamName) -> Self {
        Self::new(
            ErrorCode::SnapshotNotFound,
            format!("no snapshot of {stream}"),
        )
    }

    /// No consumer group has this name.
    pub fn group_not_found(name: &str) -> Self {
        Self::new(
            ErrorCode::GroupNotFound,
            format!("no consumer group called {name}"),
        )
    }

    /// No bus has this name.
    pub fn bus_not_found(name: &str) -> Self {
        Self::new(
            ErrorCode::BusNotFound,
            format!("no event bus called {name}"),
        )
    }

    /// The bus has no rule of this name.
    pub fn rule_not_found(bus: &str, rule: &str) -> Self {
        Self::new(
            ErrorCode::RuleNotFound,
            format!("event bus {bus} has no rule called {rule}"),
        )
    }

    /// The bus has no replay of this name (on this node).
    pub fn replay_not_found(bus: &str, replay: &str) -> Self {
        Self::new(
            ErrorCode::ReplayNotFound,
            format!("event bus {bus} has no replay called {replay} on this node"),
        )
    }

    /// The stream belongs to the server (its name starts with `$`).
    pub fn reserved_stream(stream: &eventfold_store::StreamName) -> Self {
        Self::new(ErrorCode::ReservedStream,
            format!("stream {stream} belongs to the server (names starting with `$` are read-only here)"),
        )
    }

    /// The bus's policy refuses this source.
    pub fn forbidden_source(bus: &str, source: &str) -> Self {
        Self::new(
            ErrorCode::ForbiddenSource,
            format!("the policy of event bus {bus} does not allow source {source:?}"),
        )
    }

    /// The bus's policy refuses this event type.
    pub fn forbidden_event_type(bus: &str, event_type: &str) -> Self {
        Self::new(
            ErrorCode::ForbiddenEventType,
            format!("the policy of event bus {bus} does not allow event type {event_type:?}"),
        )
    }

    /// A scavenge is running already (one at a time).
    pub fn scavenge_running(started_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self::new(
            ErrorCode::ScavengeRunning,
            format!(
                "a scavenge is running already (started at {started_at}); see GET /admin/scavenge"
            ),
        )
    }

    /// No scavenge has run since the server started.
    pub fn scavenge_not_found() -> Self {
        Self::new(
            ErrorCode::ScavengeNotFound,
            "no scavenge has run since the server started (POST /admin/scavenge starts one)",
        )
    }

    /// Someone else changed the same thing at the same time.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// The server cannot do it now; the client may try again.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    /// Too many open subscriptions of one kind ("subscriptions", "group push streams").
    pub fn too_many_subscribers(kind: &str, limit: usize) -> Self {
        Self::new(
            ErrorCode::TooManySubscribers,
            format!("the server already has {limit} open {kind}, its limit; try again later"),
        )
    }

    /// The route exists, but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            ErrorCode::MethodNotAllowed,
            "this route does not take this method (see README: HTTP API)",
        )
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.body.error
    }

    /// The body (also the data of an SSE `failure` message).
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self::invalid(invalid.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let mut api = Self::new(error.code(), error.to_string());
        if api.status().is_server_error() {
            tracing::error!(%error, "request failed");
        }
        if let StoreError::WrongExpectedRevision {
            expected, actual, ..
        } = error
        {
            api.body.revision = Some(RevisionConflict { expected, actual });
        }
        api
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(ErrorCode::TooLarge, rejection.body_text()),
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
        let status = self.status();
        let mut response = (status, Json(self.body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}
