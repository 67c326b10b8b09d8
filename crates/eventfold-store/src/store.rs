//! The contract of an event store, whatever its backend.

use async_trait::async_trait;

use crate::embedded::ScavengeProgress;

/// What a long job calls as it goes (a scavenge: after each segment).
pub type OnProgress = Box<dyn FnMut(&ScavengeProgress) + Send + 'static>;
use futures::stream::BoxStream;

use eventfold_core::{
    AllFrom, AllSlice, AppendResult, EventFilter, ExpectedRevision, NewEvent, Position, ReadAll,
    ReadStream, RecordedEvent, Revision, StoreError, StreamFrom, StreamMetadata, StreamName,
};

/// How a stream is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteMode {
    /// The events disappear from reads; the stream can be written again and revisions continue.
    Soft,
    /// A tombstone: the stream can never be read or written again.
    Hard,
}

/// What a subscription delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum SubscriptionMessage {
    /// The next event, in position (or revision) order.
    Event(RecordedEvent),
    /// Every event before this position has been considered; none matched the filter.
    /// Store it as the resume point to avoid rescanning.
    Checkpoint(Position),
    /// History has been delivered; what follows is live. Sent once.
    CaughtUp,
}

/// A live, ordered sequence of subscription messages. Memory stays bounded however slow the
/// consumer is: a subscription reads history from the store as it goes, it never queues.
pub type Subscription = BoxStream<'static, Result<SubscriptionMessage, StoreError>>;

/// An event store: an append-only log of streams with optimistic concurrency.
///
/// Every backend (embedded, PostgreSQL, HTTP client) implements this with the same semantics,
/// proven by the conformance suite in [`crate::testing`].
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` atomically if `expected` holds. Durable when it returns.
    ///
    /// Retrying with the same event ids and the same `expected` returns the original result and
    /// writes nothing.
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError>;

    /// Reads one stream. Fails with `StreamNotFound` or `StreamDeleted`.
    async fn read_stream(
        &self,
        stream: &StreamName,
        request: ReadStream,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads a page of the global log.
    async fn read_all(&self, request: ReadAll) -> Result<AllSlice, StoreError>;

    /// Follows the global log: history from `from`, then live events as they commit.
    async fn subscribe_all(
        &self,
        from: AllFrom,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError>;

    /// Follows one stream: history from `from`, then live events as they commit. The stream
    /// need not exist yet.
    async fn subscribe_stream(
        &self,
        stream: &StreamName,
        from: StreamFrom,
    ) -> Result<Subscription, StoreError>;

    /// The stream's current (last) revision, or `None` if it does not exist.
    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<Revision>, StoreError>;

    /// The stream's metadata (default when never set).
    async fn stream_metadata(&self, stream: &StreamName) -> Result<StreamMetadata, StoreError>;

    /// Replaces the stream's metadata. Every later read honours it.
    async fn set_stream_metadata(
        &self,
        stream: &StreamName,
        metadata: StreamMetadata,
    ) -> Result<(), StoreError>;

    /// Deletes the stream if `expected` holds.
    async fn delete_stream(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        mode: DeleteMode,
    ) -> Result<(), StoreError>;

    /// The position the next appended event will get (the number of positions used so far).
    async fn head_position(&self) -> Result<Position, StoreError>;

    /// Erases what deletes, truncation and expiry hide, beside live reads and writes (see
    /// [`crate::embedded::EmbeddedStore::scavenge`]); `progress` is called as it goes. Backends
    /// that keep no hidden bytes of their own to erase refuse with `invalid_request`.
    async fn scavenge(&self, progress: OnProgress) -> Result<ScavengeProgress, StoreError> {
        drop(progress);
        Err(StoreError::InvalidRequest(
            "this backend does not scavenge: scavenging is for the embedded store".into(),
        ))
    }
}
