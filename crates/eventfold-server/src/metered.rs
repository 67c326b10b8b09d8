//! The store as the server uses it: every append counted where it happens, whoever makes it
//! (`POST /streams`, bus puts, rule copies, group checkpoints, parked events), so
//! `/metrics` agrees with the log.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use eventfold_store::{
    AllFrom, AllSlice, AppendResult, DeleteMode, EventFilter, EventStore, ExpectedRevision,
    NewEvent, OnProgress, Position, ReadAll, ReadStream, RecordedEvent, Revision, ScavengeProgress,
    StoreError, StreamFrom, StreamMetadata, StreamName, Subscription,
};

use crate::metrics::Metrics;

/// `inner`, with its appends counted in `metrics`.
pub struct Metered {
    inner: Arc<dyn EventStore>,
    metrics: Arc<Metrics>,
}

impl Metered {
    /// Counts the appends made through the result.
    pub fn new(inner: Arc<dyn EventStore>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl EventStore for Metered {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let count = events.len() as u64;
        let bytes = events.iter().map(|event| event.size_bytes() as u64).sum();
        let started = Instant::now();
        let result = self.inner.append(stream, expected, events).await;
        self.metrics
            .append(count, bytes, started.elapsed(), result.is_ok());
        result
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        request: ReadStream,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_stream(stream, request).await
    }

    async fn read_all(&self, request: ReadAll) -> Result<AllSlice, StoreError> {
        self.inner.read_all(request).await
    }

    async fn subscribe_all(
        &self,
        from: AllFrom,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        self.inner.subscribe_all(from, filter).await
    }

    async fn subscribe_stream(
        &self,
        stream: &StreamName,
        from: StreamFrom,
    ) -> Result<Subscription, StoreError> {
        self.inner.subscribe_stream(stream, from).await
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<Revision>, StoreError> {
        self.inner.stream_revision(stream).await
    }

    async fn stream_metadata(&self, stream: &StreamName) -> Result<StreamMetadata, StoreError> {
        self.inner.stream_metadata(stream).await
    }

    async fn set_stream_metadata(
        &self,
        stream: &StreamName,
        metadata: StreamMetadata,
    ) -> Result<(), StoreError> {
        self.inner.set_stream_metadata(stream, metadata).await
    }

    async fn delete_stream(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        mode: DeleteMode,
    ) -> Result<(), StoreError> {
        self.inner.delete_stream(stream, expected, mode).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.inner.head_position().await
    }

    async fn scavenge(&self, progress: OnProgress) -> Result<ScavengeProgress, StoreError> {
        self.inner.scavenge(progress).await
    }
}
