//! Eventfold's vocabulary: the names every other crate speaks.
//!
//! Stream names, revisions, global positions, expected revisions, events as a client writes them
//! ([`NewEvent`]) and as the store records them ([`RecordedEvent`]), read requests, stream
//! metadata, size limits and the typed error every backend returns. No I/O and no async runtime.

mod error;
mod error_code;
mod event;
mod event_json;
mod limits;
mod metadata;
#[cfg(feature = "openapi")]
mod openapi;
mod position;
mod read;
mod scavenge;
mod stream_name;

pub use error::StoreError;
pub use error_code::{ErrorCode, UnknownErrorCode};
pub use event::{
    check_json_syntax, check_json_text, content_type_from, NewEvent, RecordedEvent,
    CONTENT_TYPE_JSON, JSON_DEPTH_MAX,
};
pub use limits::Limits;
pub use metadata::StreamMetadata;
pub use position::{exact_integer, AppendResult, ExpectedRevision, Position, Revision};
pub use read::{
    AllFrom, AllSlice, Direction, EventFilter, ReadAll, ReadStream, StreamFrom,
    READ_PAGE_BYTES_DEFAULT, READ_PAGE_BYTES_MIN,
};
pub use scavenge::ScavengeProgress;
pub use stream_name::{StreamName, STREAM_NAME_BYTES_MAX};

/// A point in time as the store records it (UTC).
pub type Timestamp = chrono::DateTime<chrono::Utc>;
