//! When a group's checkpoint is worth saving: only when the group got further with events it
//! delivers, or with events of users its filter skips on purpose — never because the server's
//! own streams (`$…`) grew.
//!
//! Every checkpoint is an event on `$all`. If passing the server's own events counted, each
//! save would move every group on `$all` past it, and each of them would save in turn, and so
//! on for ever: 50 idle groups wrote 500 events per 10 s. So the cursor a group saves may
//! include the server's events it passed (a restart need not read them again), but passing
//! them is never the reason to save.
//!
//! A filtered group is told only "nothing matched before position n" for a stretch of `$all`;
//! whether that stretch held events of users (skipped on purpose) or only the server's own is
//! found out by reading it, one small page at a time, when nothing else moved the group.

use std::ops::Range;

use eventfold_store::{
    AllFrom, Direction, EventFilter, EventStore, Position, ReadAll, StoreError, StreamName,
};

use crate::reserved;

/// Events of a skipped stretch read at a time.
const PROBE_EVENTS: usize = 64;
/// Bytes of events of a skipped stretch read at a time.
const PROBE_BYTES: usize = 256 << 10;

/// What a group did since its checkpoint was last saved.
#[derive(Debug)]
pub struct Progress {
    /// One past the last cursor whose passing counts: an event a consumer finished (acked,
    /// skipped, parked), or an event of a user the filter skipped. Checkpoints of groups and
    /// rules never count, even when delivered: a group following them would write for ever.
    counted: u64,
    /// One past the last cursor a consumer finished, whatever its stream (so a clean stop
    /// never leaves a finished event to be delivered again).
    finished: u64,
    /// Positions the filter skipped that have not been looked at yet (a span over them).
    skipped: Option<Range<u64>>,
}

impl Progress {
    /// Nothing done since the checkpoint `saved`.
    pub fn new(saved: u64) -> Self {
        Self {
            counted: saved,
            finished: saved,
            skipped: None,
        }
    }

    /// A consumer finished the event at `cursor`, of `stream`.
    pub fn finished(&mut self, cursor: u64, stream: &StreamName) {
        self.finished = self.finished.max(cursor + 1);
        if !reserved::holds_checkpoints(stream) {
            self.counted = self.counted.max(cursor + 1);
        }
    }

    /// The filter matched nothing in `positions`.
    pub fn skipped(&mut self, positions: Range<u64>) {
        if positions.is_empty() {
            return;
        }
        self.skipped = Some(match self.skipped.take() {
            Some(earlier) => earlier.start.min(positions.start)..earlier.end.max(positions.end),
            None => positions,
        });
    }

    /// Whether to save `watermark` over `saved`: the group got further, for a reason that
    /// counts (at a stop, any finished delivery counts).
    pub fn worth_saving(&self, saved: u64, watermark: u64, stopping: bool) -> bool {
        let reason = if stopping {
            self.counted.max(self.finished)
        } else {
            self.counted
        };
        watermark > saved && reason > saved
    }

    /// When nothing else counts yet, reads a page of the skipped positions before `watermark`
    /// (past `saved`) and counts the first event of a user among them.
    pub async fn look_at_skipped(
        &mut self,
        store: &dyn EventStore,
        saved: u64,
        watermark: u64,
    ) -> Result<(), StoreError> {
        let Some(skipped) = self.skipped.clone() else {
            return Ok(());
        };
        let (from, to) = (skipped.start.max(saved), skipped.end.min(watermark));
        if self.counted > saved || from >= to {
            return Ok(());
        }
        let page = store
            .read_all(ReadAll {
                from: AllFrom::Position(Position(from)),
                direction: Direction::Forward,
                limit: PROBE_EVENTS,
                bytes_max: PROBE_BYTES,
                filter: EventFilter::default(),
            })
            .await?;
        let users = page
            .events
            .iter()
            .take_while(|event| event.position.0 < to)
            .find(|event| !event.stream.as_str().starts_with('$'));
        if let Some(event) = users {
            self.counted = self.counted.max(event.position.0 + 1);
        }
        let looked_at = page.next.0.min(to);
        self.skipped = (looked_at < skipped.end).then_some(looked_at..skipped.end);
        Ok(())
    }

    /// The checkpoint `saved` was written: skipped positions before it need no look.
    pub fn saved(&mut self, saved: u64) {
        self.skipped = self
            .skipped
            .take()
            .map(|skipped| skipped.start.max(saved)..skipped.end)
            .filter(|skipped| !skipped.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfold_store::embedded::{EmbeddedStore, Options};
    use eventfold_store::{ExpectedRevision, NewEvent};

    fn stream(name: &str) -> StreamName {
        StreamName::new(name).unwrap()
    }

    #[test]
    fn checkpoints_count_only_at_a_stop() {
        let mut progress = Progress::new(10);
        assert!(!progress.worth_saving(10, 20, true), "nothing done");
        progress.finished(12, &stream("$group:other:checkpoint"));
        assert!(!progress.worth_saving(10, 20, false));
        assert!(progress.worth_saving(10, 20, true));
        progress.finished(13, &stream("$bus:b:archive"));
        assert!(progress.worth_saving(10, 20, false));
        assert!(!progress.worth_saving(20, 20, false), "nothing to write");
    }

    /// A skipped stretch of the server's own events is no reason to save; one with an event
    /// of a user is, once looked at.
    #[tokio::test]
    async fn skipped_stretches_count_when_they_hold_events_of_users() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
        let append = |name: &'static str| {
            let store = store.clone();
            async move {
                let event = NewEvent::json("E", &serde_json::json!({}));
                let written = store
                    .append(&stream(name), ExpectedRevision::Any, vec![event])
                    .await
                    .unwrap();
                written.first_position.0
            }
        };
        for _ in 0..100 {
            append("$group:g:checkpoint").await;
        }
        let user = append("order-1").await;
        let mut progress = Progress::new(0);
        progress.skipped(0..user + 1);
        progress.look_at_skipped(&store, 0, user + 1).await.unwrap();
        assert!(
            !progress.worth_saving(0, user + 1, false),
            "a page of $ only"
        );
        progress.look_at_skipped(&store, 0, user + 1).await.unwrap();
        assert!(progress.worth_saving(0, user + 1, false), "then the user's");
        progress.saved(user + 1);
        assert!(progress.skipped.is_none());
        // Nothing at or past the watermark (an unfinished event) counts.
        let saved = user + 1;
        for _ in 0..3 {
            append("$bus:b:rule:r:checkpoint").await;
        }
        let unfinished = append("order-2").await;
        progress.skipped(saved..unfinished + 1);
        progress
            .look_at_skipped(&store, saved, unfinished)
            .await
            .unwrap();
        assert!(!progress.worth_saving(saved, unfinished, false));
    }
}
