//! A configuration kept as a log of changes in one stream of the event store (`$groups`,
//! `$buses`): a node appends a change right after the last change it applied (so two nodes
//! changing at once cannot both win), and every node follows the stream and applies each
//! change in order. A node therefore holds nothing another node needs.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use eventfold_store::{
    EventStore, ExpectedRevision, NewEvent, RecordedEvent, Revision, StoreError, StreamFrom,
    StreamName, SubscriptionMessage,
};

use crate::ApiError;

/// How long a change waits to be seen by this node's follower.
const APPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// What applies the changes of a configuration log.
#[async_trait::async_trait]
pub trait Apply: Send + Sync + 'static {
    /// One change of the log, in JSON.
    type Change: Serialize + DeserializeOwned + Send;
    /// Takes the whole history at start-up, folded by the implementation into the final
    /// definitions before any task starts (so no old version of anything runs, even briefly).
    async fn load(&self, history: Vec<Logged<Self::Change>>);
    /// Applies one later change (starting, restarting or stopping tasks).
    async fn apply(&self, change: Logged<Self::Change>);
}

/// A change with its revision in the log (the same on every node).
pub struct Logged<C> {
    pub revision: u64,
    pub change: C,
}

/// A configuration log being followed.
pub struct ConfigLog {
    store: Arc<dyn EventStore>,
    stream: StreamName,
    /// The number of changes applied (the next revision to apply).
    applied: watch::Sender<u64>,
    /// Serialises this node's changes (other nodes are caught by the expected revision).
    changing: tokio::sync::Mutex<()>,
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl ConfigLog {
    /// Applies the whole log to `target`, then keeps following it.
    pub async fn start<A: Apply>(
        store: Arc<dyn EventStore>,
        stream: StreamName,
        target: Arc<A>,
    ) -> Result<Arc<Self>, StoreError> {
        let log = Arc::new(Self {
            store,
            stream,
            applied: watch::channel(0).0,
            changing: tokio::sync::Mutex::new(()),
            follower: Mutex::new(None),
        });
        let (caught_up, loaded) = oneshot::channel();
        let follower = tokio::spawn(log.clone().follow(target, caught_up));
        *log.follower.lock() = Some(follower);
        loaded.await.map_err(|_| StoreError::Closed)??;
        Ok(log)
    }

    async fn follow<A: Apply>(
        self: Arc<Self>,
        target: Arc<A>,
        caught_up: oneshot::Sender<Result<(), StoreError>>,
    ) {
        let mut caught_up = Some(caught_up);
        let mut history = Vec::new();
        loop {
            let from = StreamFrom::Revision(Revision(*self.applied.borrow()));
            let mut changes = match self.store.subscribe_stream(&self.stream, from).await {
                Ok(changes) => changes,
                Err(error) => {
                    if let Some(tell) = caught_up.take() {
                        let _ = tell.send(Err(error));
                        return;
                    }
                    tracing::warn!(stream = %self.stream, %error, "cannot follow the configuration; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(message) = changes.next().await {
                match message {
                    Ok(SubscriptionMessage::Event(event)) => {
                        let change = match parse::<A::Change>(&event) {
                            Ok(change) => Logged {
                                revision: event.revision.0,
                                change,
                            },
                            Err(error) => {
                                // Refuse to guess: stop following, say so, keep what is applied.
                                tracing::error!(stream = %self.stream, %error, "stopped following the configuration");
                                if let Some(tell) = caught_up.take() {
                                    let _ = tell.send(Err(error));
                                }
                                return;
                            }
                        };
                        if caught_up.is_some() {
                            history.push(change);
                        } else {
                            target.apply(change).await;
                        }
                        self.applied.send_replace(event.revision.0 + 1);
                    }
                    Ok(SubscriptionMessage::CaughtUp) => {
                        if let Some(tell) = caught_up.take() {
                            target.load(std::mem::take(&mut history)).await;
                            let _ = tell.send(Ok(()));
                        }
                    }
                    Ok(SubscriptionMessage::Checkpoint(_)) => {}
                    Err(StoreError::Closed) => return,
                    Err(error) => {
                        tracing::warn!(stream = %self.stream, %error, "following the configuration failed; resuming");
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Takes this node's lock for a change: check the current state, then [`record`](Self::record).
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.changing.lock().await
    }

    /// Appends a change after the last one this node applied, then waits until it is applied
    /// here. Fails with `conflict` when another node changed the log in between.
    pub async fn record<C: Serialize>(&self, event_type: &str, change: &C) -> Result<(), ApiError> {
        let expected = match *self.applied.borrow() {
            0 => ExpectedRevision::NoStream,
            n => ExpectedRevision::Exact(n - 1),
        };
        let event = NewEvent::json(event_type, change);
        let written = self
            .store
            .append(&self.stream, expected, vec![event])
            .await
            .map_err(|error| match error {
                StoreError::WrongExpectedRevision { .. } => ApiError::conflict(
                    "the configuration changed on another node at the same time; try again",
                ),
                other => other.into(),
            })?;
        let mut applied = self.applied.subscribe();
        let target = written.last_revision.0 + 1;
        tokio::time::timeout(APPLY_TIMEOUT, applied.wait_for(|n| *n >= target))
            .await
            .map_err(|_| {
                ApiError::unavailable("the change was recorded but not yet applied; look again")
            })?
            .map_err(|_| ApiError::from(StoreError::Closed))?;
        Ok(())
    }

    /// Stops following.
    pub async fn stop(&self) {
        let follower = self.follower.lock().take();
        if let Some(follower) = follower {
            follower.abort();
            let _ = follower.await;
        }
    }
}

/// Soft-deletes the streams of a removed object (checkpoints, dead letters); absent is fine.
pub async fn forget_streams(
    store: &dyn EventStore,
    streams: &[StreamName],
) -> Result<(), StoreError> {
    for stream in streams {
        let deleted = store
            .delete_stream(
                stream,
                ExpectedRevision::Any,
                eventfold_store::DeleteMode::Soft,
            )
            .await;
        match deleted {
            Ok(()) | Err(StoreError::StreamNotFound(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A change of the log; one that does not parse is corruption, reported.
fn parse<C: DeserializeOwned>(event: &RecordedEvent) -> Result<C, StoreError> {
    serde_json::from_slice(&event.data).map_err(|error| StoreError::Corrupted {
        file: format!("stream {}", event.stream),
        offset: event.revision.0,
        reason: format!("not a configuration change: {error}"),
    })
}
