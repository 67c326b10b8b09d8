//! Running a projection: catch-up, live, rebuild, activation.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;

use eventfold_core::{AllFrom, Position, ReadAll, RecordedEvent, StoreError};
use eventfold_store::{EventStore, SubscriptionMessage};

use super::{Progress, Projection, ReadModel};
use crate::SdkError;

/// Events read per page, and applied per transaction, while catching up.
pub const PROJECTOR_BATCH_EVENTS: usize = 10_000;

/// Live events applied per transaction at most (a transaction takes what has arrived).
const LIVE_BATCH_EVENTS: usize = 1_000;

/// What a catch-up did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchUp {
    /// Events applied.
    pub applied: u64,
    /// Where the projection resumes now (the position after the last event considered).
    pub position: u64,
}

/// Runs one projection over one read model.
pub struct Projector<P, M> {
    store: Arc<dyn EventStore>,
    projection: P,
    model: M,
}

impl<P: Projection<M>, M: ReadModel> Projector<P, M> {
    /// A projector of `projection` from `store` into `model`; creates what the projection keeps
    /// if it is missing.
    pub fn new(store: Arc<dyn EventStore>, projection: P, model: M) -> Result<Self, SdkError> {
        let mut projector = Self {
            store,
            projection,
            model,
        };
        let projection = &projector.projection;
        projector.model.transaction(|tx| projection.setup(tx))?;
        Ok(projector)
    }

    /// The projection.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// The read model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The read model, to change it outside the projection (tests, administration).
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// Where this projection resumes: the position after the last event it took into account.
    pub fn checkpoint(&mut self) -> Result<Option<u64>, SdkError> {
        let (name, version) = (self.projection.name(), self.projection.version());
        self.model
            .transaction(|tx| M::checkpoint(tx, name, version))
    }

    /// Applies every event up to the head of the log as it is now, a page per transaction,
    /// reporting progress after each page.
    pub async fn catch_up(
        &mut self,
        mut progress: impl FnMut(Progress),
    ) -> Result<CatchUp, SdkError> {
        let target = self.store.head_position().await?.0;
        let mut position = self.checkpoint()?.unwrap_or(0);
        let mut applied = 0u64;
        let filter = self.projection.filter();
        while position < target {
            let page = self
                .store
                .read_all(ReadAll {
                    from: AllFrom::Position(Position(position)),
                    limit: PROJECTOR_BATCH_EVENTS,
                    filter: filter.clone(),
                    ..ReadAll::default()
                })
                .await?;
            let next = page.next.0.max(position);
            self.apply_batch(&page.events, next)?;
            applied += page.events.len() as u64;
            let moved = next > position;
            position = next;
            progress(Progress {
                position: position.min(target),
                target,
                applied,
            });
            if page.end_of_log || !moved {
                break;
            }
        }
        progress(Progress {
            position: target,
            target,
            applied,
        });
        Ok(CatchUp { applied, position })
    }

    /// Purges what the projection keeps and its checkpoint (in one transaction), then replays
    /// the log from the start, reporting progress.
    pub async fn rebuild(&mut self, progress: impl FnMut(Progress)) -> Result<CatchUp, SdkError> {
        let projection = &self.projection;
        self.model.transaction(|tx| {
            projection.purge(tx)?;
            M::started_over(tx);
            projection.setup(tx)?;
            M::set_checkpoint(tx, projection.name(), projection.version(), None)
        })?;
        self.catch_up(progress).await
    }

    /// Makes this projection's version the one readers see.
    pub fn activate(&mut self) -> Result<(), SdkError> {
        let projection = &self.projection;
        self.model.transaction(|tx| {
            projection.activate(tx)?;
            M::set_active_version(tx, projection.name(), projection.version())
        })
    }

    /// The version of this projection readers see, if one was activated.
    pub fn active_version(&mut self) -> Result<Option<u32>, SdkError> {
        let name = self.projection.name();
        self.model.transaction(|tx| M::active_version(tx, name))
    }

    /// Catches up, then applies events as they are appended, until `stop` completes.
    pub async fn run_until(&mut self, stop: impl Future<Output = ()>) -> Result<(), SdkError> {
        let caught_up = self.catch_up(|_| {}).await?;
        let mut subscription = self
            .store
            .subscribe_all(
                AllFrom::Position(Position(caught_up.position)),
                self.projection.filter(),
            )
            .await?
            .ready_chunks(LIVE_BATCH_EVENTS);
        tokio::pin!(stop);
        loop {
            let messages = tokio::select! {
                () = &mut stop => return Ok(()),
                messages = subscription.next() => messages,
            };
            let Some(messages) = messages else {
                return Err(SdkError::Store(StoreError::Closed));
            };
            let mut events = Vec::with_capacity(messages.len());
            let mut next = None;
            for message in messages {
                match message? {
                    SubscriptionMessage::Event(event) => {
                        next = Some(event.position.0 + 1);
                        events.push(event);
                    }
                    SubscriptionMessage::Checkpoint(position) => next = Some(position.0),
                    SubscriptionMessage::CaughtUp => {}
                }
            }
            if let Some(next) = next {
                self.apply_batch(&events, next)?;
            }
        }
    }

    /// Applies `events` and moves the checkpoint to `next`, in one transaction.
    fn apply_batch(&mut self, events: &[RecordedEvent], next: u64) -> Result<(), SdkError> {
        let projection = &self.projection;
        self.model.transaction(|tx| {
            for event in events {
                projection.apply(tx, event)?;
            }
            M::set_checkpoint(tx, projection.name(), projection.version(), Some(next))
        })
    }
}
