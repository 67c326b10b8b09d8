//! Replays of a bus's archive: the events put on the bus in a time range are put on it again,
//! marked with the replay's name (`"replay"` in what rules match and webhooks receive), so
//! rules deliver them again. The copies go to the bus's replays stream, `$bus:<bus>:replays`,
//! which the bus's rules follow besides the archive: the archive keeps each event once, so a
//! fold of it is never changed by a replay. A rule that sends a copy on to another bus puts it
//! in that bus's replays stream too (see [`super::rule`]), so no archive of a chain of buses
//! changes. A copy's id is derived from the original's and the replay's name: running the same
//! replay twice is recognised by the store as a retry.
//!
//! Servers before the replays stream put the copies into the archive. Those stay where they
//! are, marked (their envelope has `replay`): a replay never replays them, and a fold of an
//! archive written by such a server must skip them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use uuid::Uuid;

use eventfold_store::{
    AllFrom, Direction, EventFilter, EventStore, ExpectedRevision, NewEvent, ReadAll, StoreError,
    StreamName, Timestamp,
};

use eventfold_api::buses::{ReplayRequest, ReplayState, ReplayView};

use super::events::{Envelope, ReplayMark};
use crate::reserved::{Name, Reserved};
use crate::ApiError;

/// Events read per page and appended per batch.
const BATCH: usize = 100;
/// Bytes of events read per page (and so appended per batch).
const BATCH_BYTES: usize = 8 << 20;
/// The most replays remembered per server.
const REPLAYS_MAX: usize = 1_000;
/// The most replays running at once on a server.
const RUNNING_MAX: usize = 8;

/// A replay's progress.
pub struct Replay {
    state: Mutex<(ReplayState, Option<String>)>,
    replayed: AtomicU64,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The replays this node ran (kept in memory: a replay is safe to run again).
#[derive(Default)]
pub struct Replays {
    running: Mutex<BTreeMap<(String, String), Arc<Replay>>>,
}

impl Replays {
    /// Starts replaying `request` on `bus`.
    pub fn start(
        &self,
        store: Arc<dyn EventStore>,
        bus: &Name,
        request: ReplayRequest,
    ) -> Result<ReplayView, ApiError> {
        // Absent, `to` is now, or `from` when that is later (an empty range: nothing to replay).
        let to = request
            .to
            .unwrap_or_else(|| chrono::Utc::now().max(request.from));
        if to < request.from {
            return Err(ApiError::invalid("to: must not be before from"));
        }
        let key = (bus.to_string(), request.name.to_string());
        let mut running = self.running.lock();
        if let Some(replay) = running.get(&key) {
            if replay.state.lock().0 == ReplayState::Running {
                return Err(ApiError::conflict(format!(
                    "replay {} of bus {bus} is running",
                    request.name
                )));
            }
        }
        let busy = |replay: &Arc<Replay>| replay.state.lock().0 == ReplayState::Running;
        if running.values().filter(|replay| busy(replay)).count() >= RUNNING_MAX {
            return Err(ApiError::conflict(format!(
                "{RUNNING_MAX} replays are running on this node; wait for one to finish"
            )));
        }
        if running.len() >= REPLAYS_MAX {
            running.retain(|_, replay| busy(replay));
        }
        let replay = Arc::new(Replay {
            state: Mutex::new((ReplayState::Running, None)),
            replayed: AtomicU64::new(0),
            task: Mutex::new(None),
        });
        let progress = replay.clone();
        let (bus_name, name, from) = (bus.clone(), request.name.to_string(), request.from);
        let task = tokio::spawn(async move {
            let outcome = run(&*store, &bus_name, &name, from, to, &progress.replayed).await;
            *progress.state.lock() = match outcome {
                Ok(()) => (ReplayState::Completed, None),
                Err(error) => (ReplayState::Failed, Some(error.to_string())),
            };
        });
        *replay.task.lock() = Some(task);
        running.insert(key.clone(), replay.clone());
        Ok(view(&key, &replay))
    }

    /// A replay's progress.
    pub fn get(&self, bus: &str, name: &str) -> Option<ReplayView> {
        let key = (bus.to_owned(), name.to_owned());
        self.running
            .lock()
            .get(&key)
            .map(|replay| view(&key, replay))
    }

    /// The replays of `bus`.
    pub fn of_bus(&self, bus: &str) -> Vec<ReplayView> {
        let running = self.running.lock();
        running
            .iter()
            .filter(|((b, _), _)| b == bus)
            .map(|(key, replay)| view(key, replay))
            .collect()
    }

    /// Stops every running replay.
    pub async fn stop_all(&self) {
        self.stop_where(|_| true).await;
    }

    /// Stops the running replays of `bus` (it was deleted).
    pub async fn stop_bus(&self, bus: &str) {
        self.stop_where(|b| b == bus).await;
    }

    async fn stop_where(&self, of_bus: impl Fn(&str) -> bool) {
        let replays: Vec<Arc<Replay>> = self
            .running
            .lock()
            .iter()
            .filter(|((bus, _), _)| of_bus(bus))
            .map(|(_, replay)| replay.clone())
            .collect();
        for replay in replays {
            let task = replay.task.lock().take();
            if let Some(task) = task {
                task.abort();
                let _ = task.await;
                let mut state = replay.state.lock();
                if state.0 == ReplayState::Running {
                    state.0 = ReplayState::Stopped;
                }
            }
        }
    }
}

fn view((bus, name): &(String, String), replay: &Replay) -> ReplayView {
    let (state, error) = replay.state.lock().clone();
    ReplayView {
        bus: bus.clone(),
        name: name.clone(),
        state,
        replayed: replay.replayed.load(Ordering::Relaxed),
        error,
    }
}

/// Appends a batch of replayed copies. When part of it was appended by an earlier run of the
/// same replay (in batches cut differently), the store refuses the batch as a whole; then each
/// copy goes alone, and one the store says is already in this stream (its id names the copy,
/// see [`copy_id`]) is taken as written.
async fn append_replayed(
    store: &dyn EventStore,
    stream: &StreamName,
    batch: Vec<NewEvent>,
    replayed: &AtomicU64,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let count = batch.len() as u64;
    match store
        .append(stream, ExpectedRevision::Any, batch.clone())
        .await
    {
        Ok(_) => {}
        Err(StoreError::EventIdConflict { .. }) => {
            for copy in batch {
                match store
                    .append(stream, ExpectedRevision::Any, vec![copy])
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::EventIdConflict { stream: at, .. }) if at == *stream => {}
                    Err(error) => return Err(error),
                }
            }
        }
        Err(error) => return Err(error),
    }
    replayed.fetch_add(count, Ordering::Relaxed);
    Ok(())
}

/// Puts the bus's events recorded in `from..to` (not replays themselves, and none put after
/// the replay began) on the bus again, in its replays stream.
async fn run(
    store: &dyn EventStore,
    bus: &Name,
    name: &str,
    from: Timestamp,
    to: Timestamp,
    replayed: &AtomicU64,
) -> Result<(), StoreError> {
    // The archive's name is a prefix of no other stream (see `reserved`).
    let stream = Reserved::BusArchive(bus).stream();
    let copies = Reserved::BusReplays(bus).stream();
    age_copies_as_the_archive(store, bus).await?;
    let end = store.head_position().await?;
    let filter = EventFilter {
        stream_prefix: Some(stream.as_str().to_owned()),
        ..EventFilter::default()
    };
    let mut at = AllFrom::Time(from);
    loop {
        let page = store
            .read_all(ReadAll {
                from: at,
                direction: Direction::Forward,
                limit: BATCH,
                bytes_max: BATCH_BYTES,
                filter: filter.clone(),
            })
            .await?;
        let mut batch = Vec::with_capacity(page.events.len());
        let mut done = page.end_of_log;
        for event in &page.events {
            if event.position >= end || event.recorded_at >= to {
                done = true;
                break;
            }
            debug_assert_eq!(event.stream, stream);
            let mut envelope = Envelope::of(event)?;
            if envelope.replay.is_some() {
                continue; // a copy an earlier server put into the archive
            }
            envelope.replay = Some(ReplayMark {
                name: name.to_owned(),
                of: event.id,
                original_time: event.recorded_at,
            });
            batch.push(NewEvent {
                id: copy_id(event.id, &copies, name),
                event_type: event.event_type.clone(),
                data: event.data.clone(),
                content_type: event.content_type.clone().into_owned(),
                metadata: serde_json::to_vec(&envelope)
                    .expect("envelopes serialise")
                    .into(),
                occurred_at: event.occurred_at,
            });
        }
        append_replayed(store, &copies, batch, replayed).await?;
        if done {
            return Ok(());
        }
        at = AllFrom::Position(page.next);
    }
}

/// The id of replay `name`'s copy of event `original` in the replays stream `copies`. It names
/// the stream: copies that servers before the replays stream put into the archive had ids
/// derived from the original and the replay's name alone, and a replay of the same name run
/// again now must not collide with them.
fn copy_id(original: Uuid, copies: &StreamName, name: &str) -> Uuid {
    let id_name = format!("{copies}/{original}/replay/{name}");
    Uuid::new_v5(&Uuid::NAMESPACE_OID, id_name.as_bytes())
}

/// Gives the replays stream the archive's age limit (`archive_days`), in case the bus was last
/// saved by a server that had no replays stream.
pub(super) async fn age_copies_as_the_archive(
    store: &dyn EventStore,
    bus: &Name,
) -> Result<(), StoreError> {
    let max_age_secs = store
        .stream_metadata(&Reserved::BusArchive(bus).stream())
        .await?
        .max_age_secs;
    let copies = Reserved::BusReplays(bus).stream();
    let mut metadata = store.stream_metadata(&copies).await?;
    if metadata.max_age_secs != max_age_secs {
        metadata.max_age_secs = max_age_secs;
        store.set_stream_metadata(&copies, metadata).await?;
    }
    Ok(())
}
