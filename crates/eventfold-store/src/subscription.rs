//! Subscriptions built from reads: catch up page by page, then wait for the head to move and
//! read again. History and live events come from the same loop over positions, so there is no
//! hand-over at which an event could be missed or repeated, and a slow consumer costs one page
//! of memory: it simply reads older data.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::watch;

use eventfold_core::{
    AllFrom, Direction, EventFilter, Position, ReadAll, ReadStream, Revision, StoreError,
    StreamFrom, StreamName,
};

use crate::{EventStore, Subscription, SubscriptionMessage};

/// Events a subscription reads per page.
pub const SUBSCRIPTION_PAGE_EVENTS: usize = 512;

/// Reads the next page of a subscription into `ready` (or waits for the head to move).
trait NextPage {
    fn next_page(&mut self) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

struct Follow<C> {
    store: Arc<dyn EventStore>,
    head: watch::Receiver<Position>,
    cursor: C,
    ready: VecDeque<SubscriptionMessage>,
    caught_up: bool,
    done: bool,
}

/// A subscription to `$all` for any store whose head position is published on `head`.
pub fn subscribe_all_by_polling(
    store: Arc<dyn EventStore>,
    head: watch::Receiver<Position>,
    from: AllFrom,
    filter: EventFilter,
) -> Subscription {
    let start = Follow {
        store,
        head,
        cursor: (from, filter),
        ready: VecDeque::new(),
        caught_up: false,
        done: false,
    };
    deliver(start)
}

/// Turns a follower into a subscription: hand out what is ready, read more when empty.
fn deliver<C: Send + 'static>(start: Follow<C>) -> Subscription
where
    Follow<C>: NextPage,
{
    futures::stream::unfold(start, |mut follow| async move {
        loop {
            if let Some(message) = follow.ready.pop_front() {
                return Some((Ok(message), follow));
            }
            if follow.done {
                return None;
            }
            if let Err(error) = follow.next_page().await {
                follow.done = true;
                return Some((Err(error), follow));
            }
        }
    })
    .boxed()
}

impl NextPage for Follow<(AllFrom, EventFilter)> {
    async fn next_page(&mut self) -> Result<(), StoreError> {
        // Mark the head seen *before* reading, so a commit during the read still wakes us.
        let head = *self.head.borrow_and_update();
        let (from, filter) = &self.cursor;
        let request = ReadAll {
            from: *from,
            direction: Direction::Forward,
            limit: SUBSCRIPTION_PAGE_EVENTS,
            filter: filter.clone(),
        };
        let slice = self.store.read_all(request).await?;
        let was_at = match from {
            AllFrom::Position(position) => Some(*position),
            _ => None,
        };
        let found_events = !slice.events.is_empty();
        self.ready
            .extend(slice.events.into_iter().map(SubscriptionMessage::Event));
        if !found_events && was_at.is_some_and(|at| slice.next > at) {
            self.ready
                .push_back(SubscriptionMessage::Checkpoint(slice.next));
        }
        self.cursor.0 = AllFrom::Position(slice.next);
        if slice.end_of_log {
            if !self.caught_up {
                self.caught_up = true;
                self.ready.push_back(SubscriptionMessage::CaughtUp);
            }
            if self.ready.is_empty() && slice.next >= head {
                self.wait_for_head_beyond(slice.next).await;
            }
        }
        Ok(())
    }
}

impl<C> Follow<C> {
    /// Waits until an event at `position` exists; ends the subscription if the store closes.
    async fn wait_for_head_beyond(&mut self, position: Position) {
        if self.head.wait_for(|head| *head > position).await.is_err() {
            self.done = true;
        }
    }

    async fn wait_for_any_commit(&mut self) {
        if self.head.changed().await.is_err() {
            self.done = true;
        }
    }
}

/// A subscription to one stream for any store whose head position is published on `head`.
pub fn subscribe_stream_by_polling(
    store: Arc<dyn EventStore>,
    head: watch::Receiver<Position>,
    stream: StreamName,
    from: StreamFrom,
) -> Subscription {
    let start = Follow {
        store,
        head,
        cursor: (stream, from),
        ready: VecDeque::new(),
        caught_up: false,
        done: false,
    };
    deliver(start)
}

impl NextPage for Follow<(StreamName, StreamFrom)> {
    async fn next_page(&mut self) -> Result<(), StoreError> {
        self.head.borrow_and_update();
        let (stream, from) = self.cursor.clone();
        if from == StreamFrom::End {
            // Resolve "the end" once, so events appended from now on are all delivered.
            let next = self
                .store
                .stream_revision(&stream)
                .await?
                .map_or(0, |r| r.0 + 1);
            self.cursor.1 = StreamFrom::Revision(Revision(next));
            return Ok(());
        }
        let request = ReadStream {
            from,
            direction: Direction::Forward,
            limit: SUBSCRIPTION_PAGE_EVENTS,
        };
        let events = match self.store.read_stream(&stream, request).await {
            Ok(events) => events,
            Err(StoreError::StreamNotFound(_)) => Vec::new(),
            Err(error) => return Err(error),
        };
        if let Some(last) = events.last() {
            self.cursor.1 = StreamFrom::Revision(Revision(last.revision.0 + 1));
            self.ready
                .extend(events.into_iter().map(SubscriptionMessage::Event));
            return Ok(());
        }
        if !self.caught_up {
            self.caught_up = true;
            self.ready.push_back(SubscriptionMessage::CaughtUp);
            return Ok(());
        }
        self.wait_for_any_commit().await;
        Ok(())
    }
}
