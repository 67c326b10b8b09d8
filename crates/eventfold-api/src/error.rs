//! Error bodies: what every failed request answers, and what a check of a request says.

use serde::{Deserialize, Serialize};

use eventfold_core::{ErrorCode, ExpectedRevision};

/// The body of every error answer, and of an SSE `failure` message:
/// `{"error": code, "message": …}`, plus the revisions for `wrong_expected_revision`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The stable code: match on this, never on the message.
    pub error: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// With `wrong_expected_revision`: what was expected and what the stream is at.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionConflict>,
}

/// The details of a failed optimistic-concurrency check.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionConflict {
    /// The expected revision the request named.
    pub expected: ExpectedRevision,
    /// The stream's last revision, or null when it does not exist.
    pub actual: Option<u64>,
}

/// A request that breaks a rule of the API; the message names the field and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    /// A check that failed, with what is wrong.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_details_appear_only_when_given() {
        let plain = ErrorBody {
            error: ErrorCode::StreamNotFound,
            message: "stream a not found".into(),
            revision: None,
        };
        let json = serde_json::to_value(&plain).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "stream_not_found", "message": "stream a not found"})
        );
        assert_eq!(serde_json::from_value::<ErrorBody>(json).unwrap(), plain);
        let conflict: ErrorBody = serde_json::from_str(
            r#"{"error": "wrong_expected_revision", "message": "m", "expected": 3, "actual": null}"#,
        )
        .unwrap();
        assert_eq!(
            conflict.revision,
            Some(RevisionConflict {
                expected: ExpectedRevision::Exact(3),
                actual: None
            })
        );
    }
}
