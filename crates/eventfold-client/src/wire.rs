//! Errors as the server reports them, turned back into the store's errors.

use eventfold_api::{ErrorBody, ErrorCode};
use eventfold_store::{StoreError, StreamName};

/// The store error an error body reports; `stream` is the stream the request was about.
pub fn into_error(body: ErrorBody, stream: Option<&StreamName>) -> StoreError {
    match (body.error, stream) {
        (ErrorCode::WrongExpectedRevision, Some(stream)) => {
            let revision = body.revision;
            StoreError::WrongExpectedRevision {
                stream: stream.clone(),
                expected: revision.map(|r| r.expected).unwrap_or_default(),
                actual: revision.and_then(|r| r.actual),
            }
        }
        (ErrorCode::StreamDeleted, Some(stream)) => StoreError::StreamDeleted(stream.clone()),
        (ErrorCode::StreamNotFound, Some(stream)) => StoreError::StreamNotFound(stream.clone()),
        (ErrorCode::InvalidRequest, _) => StoreError::InvalidRequest(body.message),
        (ErrorCode::Closed, _) => StoreError::Closed,
        (code, _) => StoreError::Remote {
            code,
            message: body.message,
        },
    }
}

/// The error in a failed response. A body with a code this client does not know (from a newer
/// server) keeps the code and message in a backend error.
pub async fn error_of(response: reqwest::Response, stream: Option<&StreamName>) -> StoreError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if let Ok(body) = serde_json::from_str::<ErrorBody>(&text) {
        return into_error(body, stream);
    }
    unknown_error(&text).unwrap_or_else(|| {
        StoreError::Backend(format!(
            "the server answered {status} without an error body"
        ))
    })
}

/// An error body whose code this client does not know: its code and message, as a backend
/// error.
pub fn unknown_error(text: &str) -> Option<StoreError> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let code = value["error"].as_str()?;
    let message = value["message"].as_str().unwrap_or_default();
    Some(StoreError::Backend(format!("{code}: {message}")))
}
