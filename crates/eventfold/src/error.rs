//! The SDK's errors.

use eventfold_core::{StoreError, StreamName};

/// Something the SDK could not do, apart from a decider's own domain errors.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The event store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be turned back into the domain's event type.
    #[error("cannot decode event {stream}@{revision} ({event_type}): {reason}")]
    Decode {
        stream: StreamName,
        revision: u64,
        event_type: String,
        reason: String,
    },
    /// A domain event or a state could not be encoded as JSON.
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
    /// The event asked for does not exist.
    #[error("no event at {stream}@{revision}")]
    EventNotFound { stream: StreamName, revision: u64 },
    /// A read model failed.
    #[error("read model: {0}")]
    ReadModel(String),
    /// A gateway could not answer.
    #[error("gateway {gateway}: {reason}")]
    Gateway { gateway: String, reason: String },
}

impl SdkError {
    pub(crate) fn read_model(error: impl std::fmt::Display) -> Self {
        Self::ReadModel(error.to_string())
    }
}
