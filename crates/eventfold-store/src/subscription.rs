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

/// Bytes of events a subscription reads per page: what a subscriber that stopped reading holds.
pub const SUBSCRIPTION_PAGE_BYTES: usize = 1 << 20;

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
            bytes_max: SUBSCRIPTION_PAGE_BYTES,
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
            bytes_max: SUBSCRIPTION_PAGE_BYTES,
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
        // `End` was resolved above; `Start` waits for the stream's first event.
        let cursor = match from {
            StreamFrom::Revision(revision) => revision,
            StreamFrom::Start | StreamFrom::End => Revision(0),
        };
        self.wait_for_commit_to(&stream, cursor).await;
        Ok(())
    }
}

impl Follow<(StreamName, StreamFrom)> {
    /// Waits for a commit after which `stream` may have an event at `cursor`. The head moves
    /// with every commit to any stream; the stream's revision (an index lookup, not a read)
    /// tells whether this one grew, so a follower of a quiet stream does not read on every
    /// commit elsewhere. Any answer but "no event at the cursor yet" (an error included, which
    /// the read then reports) ends the wait.
    async fn wait_for_commit_to(&mut self, stream: &StreamName, cursor: Revision) {
        loop {
            self.wait_for_any_commit().await;
            if self.done {
                return;
            }
            match self.store.stream_revision(stream).await {
                Ok(None) => {}
                Ok(Some(last)) if last < cursor => {}
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use eventfold_core::{
        AllSlice, AppendResult, ExpectedRevision, NewEvent, RecordedEvent, StreamMetadata,
    };

    use super::*;
    use crate::embedded::{EmbeddedStore, Options};
    use crate::testing::cases::next_event;
    use crate::DeleteMode;

    /// The embedded store, counting the stream reads made through it.
    struct CountingReads {
        store: EmbeddedStore,
        stream_reads: AtomicUsize,
    }

    #[async_trait]
    impl EventStore for CountingReads {
        async fn append(
            &self,
            stream: &StreamName,
            expected: ExpectedRevision,
            events: Vec<NewEvent>,
        ) -> Result<AppendResult, StoreError> {
            self.store.append(stream, expected, events).await
        }
        async fn read_stream(
            &self,
            stream: &StreamName,
            request: ReadStream,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            self.stream_reads.fetch_add(1, Ordering::SeqCst);
            self.store.read_stream(stream, request).await
        }
        async fn read_all(&self, request: ReadAll) -> Result<AllSlice, StoreError> {
            self.store.read_all(request).await
        }
        async fn subscribe_all(
            &self,
            from: AllFrom,
            filter: EventFilter,
        ) -> Result<Subscription, StoreError> {
            self.store.subscribe_all(from, filter).await
        }
        async fn subscribe_stream(
            &self,
            stream: &StreamName,
            from: StreamFrom,
        ) -> Result<Subscription, StoreError> {
            self.store.subscribe_stream(stream, from).await
        }
        async fn stream_revision(
            &self,
            stream: &StreamName,
        ) -> Result<Option<Revision>, StoreError> {
            self.store.stream_revision(stream).await
        }
        async fn stream_metadata(&self, stream: &StreamName) -> Result<StreamMetadata, StoreError> {
            self.store.stream_metadata(stream).await
        }
        async fn set_stream_metadata(
            &self,
            stream: &StreamName,
            metadata: StreamMetadata,
        ) -> Result<(), StoreError> {
            self.store.set_stream_metadata(stream, metadata).await
        }
        async fn delete_stream(
            &self,
            stream: &StreamName,
            expected: ExpectedRevision,
            mode: DeleteMode,
        ) -> Result<(), StoreError> {
            self.store.delete_stream(stream, expected, mode).await
        }
        async fn head_position(&self) -> Result<Position, StoreError> {
            self.store.head_position().await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_follower_reads_only_when_its_stream_grows() {
        let dir = tempfile::tempdir().unwrap();
        let counting = Arc::new(CountingReads {
            store: EmbeddedStore::open(dir.path(), Options::default()).unwrap(),
            stream_reads: AtomicUsize::new(0),
        });
        let (head, heads) = watch::channel(Position(0));
        let followed = StreamName::new("quiet-1").unwrap();
        let other = StreamName::new("busy-1").unwrap();
        let mut subscription = subscribe_stream_by_polling(
            counting.clone(),
            heads,
            followed.clone(),
            StreamFrom::Start,
        );
        let append = |stream: &StreamName, n: u64| {
            let counting = counting.clone();
            let stream = stream.clone();
            async move {
                let event = NewEvent::new("Counted", format!("{{\"n\":{n}}}"));
                let written = counting
                    .append(&stream, ExpectedRevision::Any, vec![event])
                    .await
                    .unwrap();
                written.last_position
            }
        };
        let first = append(&followed, 0).await;
        head.send_replace(Position(first.0 + 1));
        assert_eq!(next_event(&mut subscription).await.revision, Revision(0));
        // The follower waits in a task of its own; a hundred commits elsewhere wake it (each
        // given time to be noticed), and it reads nothing for them.
        let reads_before = counting.stream_reads.load(Ordering::SeqCst);
        let follower = tokio::spawn(async move { next_event(&mut subscription).await });
        for n in 0..100 {
            let last = append(&other, n).await;
            head.send_replace(Position(last.0 + 1));
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let second = append(&followed, 1).await;
        head.send_replace(Position(second.0 + 1));
        let event = follower.await.unwrap();
        assert_eq!((event.stream, event.revision), (followed, Revision(1)));
        let reads = counting.stream_reads.load(Ordering::SeqCst) - reads_before;
        // Two reads find it caught up (one before the `CaughtUp` message, one after), one
        // finds its own event; without the revision check each commit elsewhere reads too.
        assert!(
            reads <= 3,
            "{reads} stream reads for 100 unrelated commits and one of its own"
        );
    }
}
