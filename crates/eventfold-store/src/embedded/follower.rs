//! Following a writer from another process: a read-only store looks at the log every few
//! milliseconds and indexes the complete writes that appeared, then wakes its subscriptions.
//! Nothing is shared with the writer but the files; the writer's lock is not taken.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use tokio::sync::watch;

use eventfold_core::{Position, StoreError};

use super::index::Index;
use super::io::Storage;
use super::recovery::{self, Look};

/// How often the log is looked at.
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(20);

/// The follower thread; it stops when told to or when its store is dropped.
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Starts following the log of `storage` into `index`, publishing the head on `head`.
    pub fn start(
        storage: Arc<dyn Storage>,
        index: Arc<RwLock<Index>>,
        head: watch::Sender<Position>,
    ) -> Result<Self, StoreError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("eventfold-follow".into())
            .spawn(move || follow(&*storage, &index, &head, &stopped))
            .map_err(|e| StoreError::io("starting the follower thread", e))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops following and waits for the thread. Subscriptions end.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        // Do not wait here (this may run on an async worker); the thread sees the flag soon.
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// How long damage followed by valid frames may stay at one offset before it counts as damage
/// rather than a read that raced a write.
const SUSPECT_FOR_MAX: Duration = Duration::from_secs(5);

fn follow(
    storage: &dyn Storage,
    index: &RwLock<Index>,
    head: &watch::Sender<Position>,
    stop: &AtomicBool,
) {
    let mut suspect: Option<(u64, Instant)> = None;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(FOLLOW_INTERVAL);
        let step = {
            let mut index = index.write();
            recovery::follow_step(storage, &mut index).map(|look| (look, index.next_position))
        };
        let (look, next) = match step {
            Ok(step) => step,
            Err(error) => {
                // Dropping the head sender ends the subscriptions; reads keep what is indexed.
                tracing::error!(%error, "stopped following the log");
                return;
            }
        };
        match look {
            Look::Suspect { file, offset } => {
                let since = match suspect {
                    Some((at, since)) if at == offset => since,
                    _ => Instant::now(),
                };
                if since.elapsed() > SUSPECT_FOR_MAX {
                    let error = StoreError::Corrupted {
                        file,
                        offset,
                        reason: "invalid bytes followed by valid frames, unchanged for 5 s".into(),
                    };
                    tracing::error!(%error, "stopped following the log");
                    return;
                }
                suspect = Some((offset, since));
            }
            Look::Progress | Look::Nothing => suspect = None,
        }
        head.send_if_modified(|current| {
            let moved = current.0 != next;
            current.0 = next;
            moved
        });
    }
}
