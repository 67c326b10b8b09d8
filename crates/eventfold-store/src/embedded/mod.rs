//! The embedded storage engine: the default backend, zero set-up.
//!
//! Append-only segment files with a checksum per frame ([`format`]), one writer thread doing
//! group commit ([`writer`]), an in-memory index rebuilt from the log at open ([`index`],
//! [`recovery`]), and reads that go straight to the files ([`reader`]). See
//! docs/ARCHITECTURE.md and docs/FORMAT.md.

mod durable_end;
mod field_reader;
mod follower;
mod format;
mod group;
mod handoff;
mod ids;
mod index;
mod io;
mod preallocator;
mod reader;
mod recovery;
mod scavenge;
mod snapshot;
mod syncer;
mod writer;

/// Engine internals for the CLI's maintenance commands (`verify`, `repair`), the PostgreSQL
/// backend's time encoding and the tests. Not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use super::durable_end::{read as read_durable_end, LogEnd, Recorder, DURABLE_END_FILE};
    pub use super::format::{
        encode_event, nanos_to_time, time_to_nanos, EventParts, Salt, SEGMENT_HEADER_BYTES,
    };
    pub use super::index::Index;
    pub use super::io::{
        DirectoryFiles, DirectoryLock, DirectoryStorage, Files, SegmentFile, Storage, LOCK_FILE,
    };
    pub use super::lock_storage;
    pub use super::recovery::{recover, Evidence, Loss, Mode, RecoveryReport, TornTail};
    pub use super::snapshot::{remove as remove_snapshot, SNAPSHOT_FILE};
}

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot, watch};

use eventfold_core::{
    AllFrom, AllSlice, AppendResult, EventFilter, ExpectedRevision, Limits, NewEvent, Position,
    ReadAll, ReadStream, RecordedEvent, Revision, StoreError, StreamFrom, StreamMetadata,
    StreamName,
};

use crate::rules;
use crate::{subscription, DeleteMode, EventStore, OnProgress, Subscription};
use durable_end::{LogEnd, Recorder};
use index::Index;
pub use io::LOG_DIR;
use io::{DirectoryLock, DirectoryStorage, Storage};
use recovery::Mode as RecoveryMode;
pub use recovery::{RecoveryReport, TornTail};
pub use scavenge::ScavengeProgress;
use writer::{Command, Writer};

/// How the embedded engine is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Size limits on appends.
    pub limits: Limits,
    /// A segment is closed and a new one started once it reaches this size.
    pub segment_bytes_max: u64,
    /// How far ahead of the writer the current segment is kept zero-filled, in bytes, so that
    /// syncs need not commit a file-size change (0 disables it; see docs/ARCHITECTURE.md).
    pub preallocate_bytes: u64,
    /// A clean close saves the index snapshot once this many events are not covered by the
    /// last one (0: at every close that wrote anything).
    pub snapshot_after_events: u64,
    /// Appends waiting for the writer; more make callers wait (back-pressure).
    pub queue_commands_max: usize,
    /// How many recent events are kept whole in memory (ids and appends), so retries of
    /// recent appends are answered without reading the log. Every id of the log is known
    /// either way: retries are recognised, and ids kept unique, for ever.
    pub recent_ids_max: usize,
}

impl Options {
    /// Checks the settings against what the format and the engine can hold.
    pub fn validate(&self) -> Result<(), StoreError> {
        let invalid = |what: &str| Err(StoreError::InvalidRequest(format!("option {what}")));
        let limits = &self.limits;
        if !(1 << 10..=1 << 30).contains(&self.segment_bytes_max) {
            return invalid("segment_bytes_max must be between 1 KiB and 1 GiB");
        }
        if limits.event_bytes_max == 0 || limits.event_bytes_max > EVENT_BYTES_LIMIT {
            return invalid("limits.event_bytes_max must be between 1 byte and 4 MiB - 64 KiB");
        }
        if limits.append_bytes_max < limits.event_bytes_max || limits.append_bytes_max > 32 << 20 {
            // A follower must see a whole write in one look (recovery's largest window).
            return invalid("limits.append_bytes_max must be between event_bytes_max and 32 MiB");
        }
        if !(1..=100_000).contains(&limits.append_events_max) || limits.read_events_max == 0 {
            return invalid(
                "limits.append_events_max must be 1..=100000, read_events_max at least 1",
            );
        }
        if limits.stream_metadata_bytes_max > 1 << 20 {
            return invalid("limits.stream_metadata_bytes_max must be at most 1 MiB");
        }
        if limits.event_type_bytes_max > 4096 || limits.content_type_bytes_max > 4096 {
            return invalid("limits on type and content type names must be at most 4096 bytes");
        }
        if self.recent_ids_max == 0 || self.queue_commands_max == 0 {
            return invalid("recent_ids_max and queue_commands_max must be at least 1");
        }
        Ok(())
    }
}

/// The largest event the format can frame, leaving room for the record's own fields.
const EVENT_BYTES_LIMIT: usize = format::FRAME_BODY_BYTES_MAX - (64 << 10);

impl Default for Options {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            segment_bytes_max: 256 << 20,
            preallocate_bytes: 16 << 20,
            snapshot_after_events: 100_000,
            queue_commands_max: 16_384,
            recent_ids_max: 262_144,
        }
    }
}

/// The embedded event store. Cheap to clone; all clones share one store.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Arc<dyn Storage>,
    limits: Limits,
    index: Arc<RwLock<Index>>,
    head_position: watch::Receiver<Position>,
    /// `None` when opened read-only.
    commands: Option<mpsc::Sender<Command>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// `Some` when opened read-only.
    follower: Mutex<Option<follower::Follower>>,
    recovery: RecoveryReport,
    snapshot_after_events: u64,
    /// Set while a scavenge runs (one at a time).
    scavenging: std::sync::atomic::AtomicBool,
    /// Set once a scavenge rewrote a segment: the index snapshot is gone, so the next clean
    /// close writes one whatever it covers.
    snapshot_stale: std::sync::atomic::AtomicBool,
    /// The directory lock, held by a writing store only.
    _lock: Option<DirectoryLock>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`, recovering from a crash if needed.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        let storage: Arc<dyn Storage> = Arc::new(
            DirectoryStorage::new(dir)
                .map_err(|e| StoreError::io(format!("creating {}/{LOG_DIR}", dir.display()), e))?,
        );
        Self::open_with_storage(storage, options)
    }

    /// Opens the store on any [`Storage`] (tests inject faults this way).
    pub fn open_with_storage(
        storage: Arc<dyn Storage>,
        options: Options,
    ) -> Result<Self, StoreError> {
        options.validate()?;
        let lock = lock_storage(&*storage)?;
        let (mut index, report) = recovery::open_log(&*storage, RecoveryMode::Repair)?;
        if let Some(tail) = &report.torn_tail {
            tracing::warn!(file = %tail.file, offset = tail.offset, bytes = tail.bytes, reason = %tail.reason,
                "cut a torn tail left by a crash (it was never acknowledged)");
        }
        if index.segments.is_empty() {
            let first = Position(index.next_position);
            let file = storage
                .create_segment(first)
                .map_err(|e| StoreError::io("creating the first segment", e))?;
            let salt = format::Salt::random();
            writer::write_segment_header(&*file, first, salt)?;
            index.add_segment(first, file, format::SEGMENT_HEADER_BYTES, salt);
        }
        let last = index.segments.last().expect("a segment exists");
        // What recovery found may still be only in the page cache (after a SIGKILL): make it
        // durable before anything is served or acknowledged on top of it.
        last.file
            .sync_data()
            .map_err(|e| StoreError::io(format!("syncing {}", last.file.name()), e))?;
        let file_end = last.end;
        let recorder = Arc::new(Mutex::new(Recorder::open(
            &*storage,
            LogEnd {
                segment: last.first_position,
                end: last.end,
                next_position: index.next_position,
            },
        )?));
        let file_len = last
            .file
            .size_bytes()
            .map_err(|e| StoreError::io(last.file.name(), e))?;
        let preallocator = preallocator::Preallocator::start(
            storage.clone(),
            last.first_position,
            file_end,
            file_len,
            options.preallocate_bytes,
            options.segment_bytes_max,
        )
        .map_err(|e| StoreError::io("starting the preallocation thread", e))?;
        let (head_tx, head_rx) = watch::channel(Position(index.next_position));
        let index = Arc::new(RwLock::new(index));
        let ids = ids::Ids::load(&index, options.recent_ids_max)?;
        let pipeline = syncer::Pipeline::start(index.clone(), head_tx, recorder.clone())?;
        let writer = Writer::new(
            storage.clone(),
            index.clone(),
            pipeline,
            preallocator,
            options.segment_bytes_max,
            ids,
            recorder,
        );
        let (commands_tx, commands_rx) = mpsc::channel(options.queue_commands_max);
        let writer_thread = std::thread::Builder::new()
            .name("eventfold-writer".into())
            .spawn(move || writer.run(commands_rx))
            .map_err(|e| StoreError::io("starting the writer thread", e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                storage,
                limits: options.limits,
                index,
                head_position: head_rx,
                commands: Some(commands_tx),
                writer_thread: Mutex::new(Some(writer_thread)),
                follower: Mutex::new(None),
                recovery: report,
                snapshot_after_events: options.snapshot_after_events,
                scavenging: Default::default(),
                snapshot_stale: Default::default(),
                _lock: Some(lock),
            }),
        })
    }

    /// Opens the store in `dir` for reading only. It takes no lock, so it works beside a
    /// writing process (such as `eventfold serve`): it follows what that process commits,
    /// looking at the log every few milliseconds, and its subscriptions deliver those events
    /// live. It changes no file: a torn tail is left for the writer's next open to cut. Writes
    /// fail with `read_only`.
    pub fn open_read_only(dir: impl AsRef<Path>, options: Options) -> Result<Self, StoreError> {
        options.validate()?;
        let dir = dir.as_ref().to_owned();
        let log = dir.join(LOG_DIR);
        if !log.is_dir() {
            return Err(StoreError::InvalidRequest(format!(
                "{} is not an Eventfold data directory (no {LOG_DIR}/ inside)",
                dir.display()
            )));
        }
        let storage: Arc<dyn Storage> = Arc::new(
            DirectoryStorage::new(&dir)
                .map_err(|e| StoreError::io(log.display().to_string(), e))?,
        );
        // Damage in the last segment, or a log ending below its evidence, may be a look
        // racing a live writer (its write, or a scavenge's rename); with no writer running, or
        // if it stays, it is the truth.
        let mut looks = 0;
        let (index, report) = loop {
            let (index, report) = recovery::open_log(&*storage, RecoveryMode::CheckOnly)?;
            let Some(problem) = report.problem() else {
                break (index, report);
            };
            looks += 1;
            if looks >= LOOKS_BESIDE_A_WRITER || lock_storage(&*storage).is_ok() {
                return Err(problem);
            }
            if report.loss.is_none() {
                break (index, report); // damage the follower looks at again as it goes
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let (head_tx, head_rx) = watch::channel(Position(index.next_position));
        let index = Arc::new(RwLock::new(index));
        let follower = follower::Follower::start(storage.clone(), index.clone(), head_tx)?;
        Ok(Self {
            inner: Arc::new(Inner {
                storage,
                limits: options.limits,
                index,
                head_position: head_rx,
                commands: None,
                writer_thread: Mutex::new(None),
                follower: Mutex::new(Some(follower)),
                recovery: report,
                snapshot_after_events: options.snapshot_after_events,
                scavenging: Default::default(),
                snapshot_stale: Default::default(),
                _lock: None,
            }),
        })
    }

    /// What recovery found when the store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// Finishes every command sent before, then stops the writer: later writes fail with
    /// `Closed` and subscriptions end. Reads keep working.
    pub async fn close(&self) {
        let follower = self.inner.follower.lock().take();
        if let Some(mut follower) = follower {
            let _ = tokio::task::spawn_blocking(move || follower.stop()).await;
            return;
        }
        let (reply, done) = oneshot::channel();
        let Some(commands) = &self.inner.commands else {
            return;
        };
        if commands.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = done.await;
        }
        let thread = self.inner.writer_thread.lock().take();
        let Some(thread) = thread else { return };
        let inner = self.inner.clone();
        let saved = tokio::task::spawn_blocking(move || {
            let _ = thread.join();
            // Everything written is now durable and indexed: save the index if the next open
            // would otherwise scan much of the log.
            let index = inner.index.read();
            let uncovered = index.next_position - inner.recovery.events_from_snapshot;
            let stale = inner
                .snapshot_stale
                .load(std::sync::atomic::Ordering::SeqCst);
            if !stale && (uncovered == 0 || uncovered < inner.snapshot_after_events) {
                return Ok(());
            }
            snapshot::write(&*inner.storage, &index)
        })
        .await;
        if let Ok(Err(error)) = saved {
            tracing::warn!(%error, "could not save the index snapshot; the next open scans the log");
        }
    }

    /// Erases what deletes, truncation and expiry hide, beside live reads and writes: seals
    /// the segment being written if it may hold hidden events, then rewrites every closed segment that holds a hidden event,
    /// one at a time, with the hidden events erased (see docs/FORMAT.md, "Scavenging").
    /// Positions, revisions and ids stay; reads answer as before. `progress` is called after
    /// each segment. One scavenge runs at a time; a second is refused.
    pub async fn scavenge(
        &self,
        mut progress: impl FnMut(&ScavengeProgress) + Send + 'static,
    ) -> Result<ScavengeProgress, StoreError> {
        use std::sync::atomic::Ordering;
        if self.inner.commands.is_none() {
            return Err(StoreError::ReadOnly);
        }
        let inner = self.inner.clone();
        if inner
            .scavenging
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(StoreError::InvalidRequest(
                "a scavenge is running already".into(),
            ));
        }
        struct Running(Arc<Inner>);
        impl Drop for Running {
            fn drop(&mut self) {
                self.0.scavenging.store(false, Ordering::SeqCst);
            }
        }
        let running = Running(inner.clone());
        // Hidden events in the segment being written can be erased only once it is closed.
        if scavenge::last_segment_hides_events(&inner.index.read()) {
            self.send(|reply| Command::Seal { reply }).await?;
        }
        let now = chrono::Utc::now().timestamp();
        let outcome = tokio::task::spawn_blocking(move || {
            let _running = running;
            scavenge::run(&*inner.storage, &inner.index, now, &mut progress)
        })
        .await;
        // The index snapshot may be gone: the next clean close writes one.
        self.inner.snapshot_stale.store(true, Ordering::SeqCst);
        outcome.map_err(|e| StoreError::Backend(format!("the scavenge task failed: {e}")))?
    }

    async fn send<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let commands = self.inner.commands.as_ref().ok_or(StoreError::ReadOnly)?;
        commands
            .send(make(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs a file read off the async scheduler: on a multi-threaded runtime in place (the
    /// worker's other tasks move to another thread; no hand-off to a pool thread, which halves
    /// a small read's latency), on a current-thread runtime on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        read: impl FnOnce(&RwLock<Index>, i64) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let index = self.inner.index.clone();
        let now = chrono::Utc::now().timestamp();
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            return tokio::task::block_in_place(move || read(&index, now));
        }
        tokio::task::spawn_blocking(move || read(&index, now))
            .await
            .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
    }

    fn check_read_limit(&self, limit: usize) -> Result<(), StoreError> {
        rules::check_read_limit(&self.inner.limits, limit)
    }
}

/// How many times a read-only open looks at a log that seems to end below its evidence while a
/// writer runs, 200 ms apart, before it believes it.
const LOOKS_BESIDE_A_WRITER: usize = 10;

/// Takes the writer lock of the data directory (the `LOCK` file), held until dropped; `Locked`
/// when another process holds it. Stores take it when opened to write; tools that check or cut
/// files take it so no store opens meanwhile.
pub fn lock_storage(storage: &dyn Storage) -> Result<DirectoryLock, StoreError> {
    match storage.lock() {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(StoreError::Locked(storage.describe(""))),
        Err(e) => Err(StoreError::io(
            format!("locking {}", storage.describe(io::LOCK_FILE)),
            e,
        )),
    }
}

pub use crate::rules::validate_append;

#[async_trait]
impl EventStore for EmbeddedStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let size_bytes = validate_append(&self.inner.limits, &events)?;
        let stream = stream.clone();
        self.send(|reply| Command::Append {
            stream,
            expected,
            events,
            size_bytes,
            reply,
        })
        .await
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        request: ReadStream,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.check_read_limit(request.limit)?;
        let stream = stream.clone();
        self.blocking(move |index, now| reader::read_stream(index, &stream, request, now))
            .await
    }

    async fn read_all(&self, request: ReadAll) -> Result<AllSlice, StoreError> {
        self.check_read_limit(request.limit)?;
        request.filter.validate()?;
        self.blocking(move |index, now| reader::read_all(index, &request, now))
            .await
    }

    async fn subscribe_all(
        &self,
        from: AllFrom,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        filter.validate()?;
        let store: Arc<dyn EventStore> = Arc::new(self.clone());
        Ok(subscription::subscribe_all_by_polling(
            store,
            self.inner.head_position.clone(),
            from,
            filter,
        ))
    }

    async fn subscribe_stream(
        &self,
        stream: &StreamName,
        from: StreamFrom,
    ) -> Result<Subscription, StoreError> {
        let store: Arc<dyn EventStore> = Arc::new(self.clone());
        Ok(subscription::subscribe_stream_by_polling(
            store,
            self.inner.head_position.clone(),
            stream.clone(),
            from,
        ))
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<Revision>, StoreError> {
        let index = self.inner.index.read();
        let entry = index.streams.get(stream.as_str());
        rules::revision_answer(stream, entry.map(|e| (e.next_revision(), &*e.state)))
    }

    async fn stream_metadata(&self, stream: &StreamName) -> Result<StreamMetadata, StoreError> {
        let index = self.inner.index.read();
        let entry = index.streams.get(stream.as_str());
        rules::metadata_answer(stream, entry.map(|e| &*e.state))
    }

    async fn set_stream_metadata(
        &self,
        stream: &StreamName,
        metadata: StreamMetadata,
    ) -> Result<(), StoreError> {
        metadata.validate(&self.inner.limits)?;
        let stream = stream.clone();
        self.send(|reply| Command::SetMetadata {
            stream,
            metadata,
            reply,
        })
        .await
    }

    async fn delete_stream(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        mode: DeleteMode,
    ) -> Result<(), StoreError> {
        let stream = stream.clone();
        self.send(|reply| Command::Delete {
            stream,
            expected,
            mode,
            reply,
        })
        .await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        Ok(*self.inner.head_position.borrow())
    }

    async fn scavenge(&self, mut progress: OnProgress) -> Result<ScavengeProgress, StoreError> {
        EmbeddedStore::scavenge(self, move |at: &ScavengeProgress| progress(at)).await
    }
}
