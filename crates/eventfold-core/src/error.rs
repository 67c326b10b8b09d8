//! The one error type every backend returns, each kind with a stable code.

use uuid::Uuid;

use crate::{ErrorCode, ExpectedRevision, StreamName};

/// Everything that can go wrong in an event store.
///
/// Each variant has a stable [`code`](StoreError::code) that the HTTP API returns as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream name breaks the naming rules.
    #[error("invalid stream name {name:?}: {reason}")]
    InvalidStreamName { name: String, reason: String },
    /// An append with no events.
    #[error("an append needs at least one event")]
    EmptyAppend,
    /// An event breaks a shape rule (the field is named).
    #[error("event {id}: `{field}` {reason}")]
    InvalidEvent {
        id: Uuid,
        field: String,
        reason: String,
    },
    /// One event is larger than the limit.
    #[error("event {id} is {size_bytes} bytes; the limit is {limit_bytes}")]
    EventTooLarge {
        id: Uuid,
        size_bytes: usize,
        limit_bytes: usize,
    },
    /// The append as a whole is larger than the limit.
    #[error("the append is {size} (bytes or events); the limit is {limit}")]
    AppendTooLarge { size: usize, limit: usize },
    /// A request argument is out of range (a limit of 0, a bad metadata document…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The optimistic-concurrency check failed.
    #[error("wrong expected revision on {stream}: expected {expected}, actual {}", actual.map_or("no stream".to_owned(), |r| r.to_string()))]
    WrongExpectedRevision {
        stream: StreamName,
        expected: ExpectedRevision,
        /// The stream's current revision, or `None` if it does not exist.
        actual: Option<u64>,
    },
    /// An event id of this append was already used for a different write.
    #[error("event id {id} was already written to {stream} at revision {revision}, in a different append")]
    EventIdConflict {
        id: Uuid,
        stream: StreamName,
        revision: u64,
    },
    /// The stream was hard-deleted (tombstoned): it can never be written or read again.
    #[error("stream {0} is deleted (tombstoned)")]
    StreamDeleted(StreamName),
    /// The stream does not exist (never written, or soft-deleted).
    #[error("stream {0} not found")]
    StreamNotFound(StreamName),
    /// Stored data failed a check. Nothing is skipped: the store refuses to go on.
    #[error("corrupted data in {file} at offset {offset}: {reason}")]
    Corrupted {
        file: String,
        offset: u64,
        reason: String,
    },
    /// A previous write or sync failed; the store accepts no more writes until it is reopened.
    #[error("the store stopped accepting writes after an I/O failure ({0}); reopen it to recover")]
    Poisoned(String),
    /// The store is closed or closing.
    #[error("the store is closed")]
    Closed,
    /// The store was opened read-only.
    #[error("the store was opened read-only; writes go through the process that owns it")]
    ReadOnly,
    /// Another process holds the data directory.
    #[error("data directory {0} is in use by another process")]
    Locked(String),
    /// An I/O error from the operating system.
    #[error("I/O error: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The backend is unreachable or failed in a way not listed above.
    #[error("backend error: {0}")]
    Backend(String),
    /// An error a remote store (the HTTP API) reported, with its stable code and message.
    #[error("{message}")]
    Remote { code: ErrorCode, message: String },
}

impl StoreError {
    /// The stable machine-readable code of this kind of error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidStreamName { .. } => ErrorCode::InvalidStreamName,
            Self::EmptyAppend => ErrorCode::EmptyAppend,
            Self::InvalidEvent { .. } => ErrorCode::InvalidEvent,
            Self::EventTooLarge { .. } | Self::AppendTooLarge { .. } => ErrorCode::TooLarge,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::WrongExpectedRevision { .. } => ErrorCode::WrongExpectedRevision,
            Self::EventIdConflict { .. } => ErrorCode::EventIdConflict,
            Self::StreamDeleted(_) => ErrorCode::StreamDeleted,
            Self::StreamNotFound(_) => ErrorCode::StreamNotFound,
            Self::Corrupted { .. } => ErrorCode::Corrupted,
            Self::Poisoned(_) => ErrorCode::Poisoned,
            Self::Closed => ErrorCode::Closed,
            Self::ReadOnly => ErrorCode::ReadOnly,
            Self::Locked(_) => ErrorCode::Locked,
            Self::Io { .. } => ErrorCode::Io,
            Self::Backend(_) => ErrorCode::Backend,
            Self::Remote { code, .. } => *code,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
