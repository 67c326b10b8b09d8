//! Recovery at open: each row of the table in `src/embedded/recovery.rs`, plus injected I/O
//! faults (a failed sync poisons the writer).

mod common;
use common::segments;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use eventfold_store::embedded::internals::{
    recover, remove_snapshot, DirectoryLock, DirectoryStorage, Files, Mode, SegmentFile, Storage,
    DURABLE_END_FILE, SNAPSHOT_FILE,
};
use eventfold_store::embedded::{EmbeddedStore, Options, LOG_DIR};
use eventfold_store::{
    AllFrom, EventStore, ExpectedRevision, NewEvent, Position, ReadAll, ReadStream, StoreError,
    StreamName,
};

fn stream(n: u64) -> StreamName {
    StreamName::new(&format!("account-{n}")).unwrap()
}

fn event(n: u64) -> NewEvent {
    NewEvent::json("Deposited", &serde_json::json!({ "amount": n }))
}

/// Closes `store` cleanly and opens the directory again.
async fn reopen(store: EmbeddedStore, dir: &Path, options: Options) -> EmbeddedStore {
    store.close().await;
    drop(store);
    EmbeddedStore::open(dir, options).unwrap()
}

fn small_segments() -> Options {
    Options {
        segment_bytes_max: 4096,
        ..Options::default()
    }
}

/// No preallocated space: a segment's length is exactly its data.
fn exact_files() -> Options {
    Options {
        preallocate_bytes: 0,
        ..Options::default()
    }
}

/// Writes 2 appends with preallocation on, and waits until zeroed space follows the data.
async fn write_preallocated_log(dir: &Path) {
    let store = EmbeddedStore::open(dir, Options::default()).unwrap();
    for n in 0..2 {
        let events = (0..3).map(|i| event(n * 10 + i)).collect();
        store
            .append(&stream(n), ExpectedRevision::Any, events)
            .await
            .unwrap();
    }
    let segment = segments(dir).pop().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&segment).unwrap().len() < 1 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "space is preallocated in the background"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    store.close().await;
}

/// Where the data of the last segment ends (its length may include preallocated zeros).
fn data_end(dir: &Path) -> u64 {
    let storage = DirectoryStorage::new(dir).unwrap();
    let (index, _) = recover(&storage, Mode::CheckOnly).unwrap();
    index.log_end().unwrap().end
}

/// Writes `appends` appends of 3 events each, then closes.
async fn write_log(
    dir: &Path,
    options: Options,
    appends: u64,
) -> Vec<eventfold_store::AppendResult> {
    let store = EmbeddedStore::open(dir, options).unwrap();
    let mut results = Vec::new();
    for n in 0..appends {
        let events = (0..3).map(|i| event(n * 10 + i)).collect();
        results.push(
            store
                .append(&stream(n % 3), ExpectedRevision::Any, events)
                .await
                .unwrap(),
        );
    }
    store.close().await;
    results
}

/// Like [`write_log`], but as if the last append's write reached the disk and the machine
/// stopped before it was acknowledged: the durable-end record is the one from before it.
async fn write_log_with_unacknowledged_last(dir: &Path, options: Options, appends: u64) {
    write_log(dir, options.clone(), appends - 1).await;
    let before = std::fs::read(dir.join(DURABLE_END_FILE)).unwrap();
    let store = EmbeddedStore::open(dir, options).unwrap();
    let events = (0..3).map(|i| event(appends * 10 + i)).collect();
    store
        .append(&stream(0), ExpectedRevision::Any, events)
        .await
        .unwrap();
    store.close().await;
    drop(store);
    std::fs::write(dir.join(DURABLE_END_FILE), before).unwrap();
}

async fn all_positions(store: &EmbeddedStore) -> Vec<u64> {
    let slice = store
        .read_all(ReadAll {
            limit: 10_000,
            ..ReadAll::default()
        })
        .await
        .unwrap();
    slice.events.iter().map(|e| e.position.0).collect()
}

fn open_error(dir: &Path, options: Options) -> StoreError {
    match EmbeddedStore::open(dir, options) {
        Err(error) => error,
        Ok(_) => panic!("the open should fail"),
    }
}

#[tokio::test]
async fn clean_log_reopens_with_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), small_segments(), 40).await;
    assert!(segments(dir.path()).len() > 3, "several segments");
    let store = EmbeddedStore::open(dir.path(), small_segments()).unwrap();
    assert_eq!(all_positions(&store).await, (0..120).collect::<Vec<_>>());
    let revisions: Vec<u64> = store
        .read_stream(&stream(1), ReadStream::default())
        .await
        .unwrap()
        .iter()
        .map(|e| e.revision.0)
        .collect();
    assert_eq!(revisions, (0..39).collect::<Vec<_>>());
    assert_eq!(store.recovery_report().torn_tail, None);
    // And it keeps writing at the right place.
    let next = store
        .append(&stream(1), ExpectedRevision::Exact(38), vec![event(1)])
        .await
        .unwrap();
    assert_eq!(next.first_position, Position(120));
}

#[tokio::test]
async fn a_partial_last_write_is_cut_at_every_possible_length() {
    let dir = tempfile::tempdir().unwrap();
    write_log_with_unacknowledged_last(dir.path(), exact_files(), 3).await;
    let segment = segments(dir.path()).pop().unwrap();
    let full = std::fs::read(&segment).unwrap();
    // The last append (3 events) occupies the end of the file; find its start by writing a
    // copy with 2 appends.
    let two = tempfile::tempdir().unwrap();
    write_log(two.path(), exact_files(), 2).await;
    let two_len = std::fs::metadata(segments(two.path()).pop().unwrap())
        .unwrap()
        .len() as usize;
    for cut in (two_len + 1..full.len()).step_by(7) {
        std::fs::write(&segment, &full[..cut]).unwrap();
        let store = EmbeddedStore::open(dir.path(), exact_files()).unwrap();
        assert_eq!(
            all_positions(&store).await,
            (0..6).collect::<Vec<_>>(),
            "cut at {cut}: the whole append is gone"
        );
        let tail = store
            .recovery_report()
            .torn_tail
            .as_ref()
            .expect("a torn tail");
        assert_eq!(tail.offset as usize, two_len);
        store.close().await;
        drop(store);
        assert_eq!(
            std::fs::metadata(&segment).unwrap().len() as usize,
            two_len,
            "the file was cut"
        );
    }
}

#[tokio::test]
async fn garbage_after_the_last_write_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), exact_files(), 2).await;
    let segment = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&segment).unwrap().len();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[0xab; 300]);
    std::fs::write(&segment, &bytes).unwrap();
    let store = EmbeddedStore::open(dir.path(), exact_files()).unwrap();
    assert_eq!(all_positions(&store).await.len(), 6);
    assert_eq!(
        store.recovery_report().torn_tail.as_ref().unwrap().offset,
        len
    );
}

#[tokio::test]
async fn preallocated_zeros_after_the_data_are_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    write_preallocated_log(dir.path()).await;
    let segment = segments(dir.path()).pop().unwrap();
    let end = data_end(dir.path());
    assert!(
        std::fs::metadata(&segment).unwrap().len() > end,
        "space was preallocated"
    );
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    assert_eq!(store.recovery_report().torn_tail, None);
    assert_eq!(all_positions(&store).await.len(), 6);
    // The writer goes on where the data ends, inside the zeroed space.
    store
        .append(&stream(1), ExpectedRevision::Any, vec![event(1)])
        .await
        .unwrap();
    store.close().await;
    drop(store);
    assert!(data_end(dir.path()) > end);
}

#[tokio::test]
async fn a_torn_write_into_preallocated_space_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    write_preallocated_log(dir.path()).await;
    let segment = segments(dir.path()).pop().unwrap();
    let end = data_end(dir.path());
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[end as usize..end as usize + 50].fill(0x5a); // half a frame, then zeros
    std::fs::write(&segment, &bytes).unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        store.recovery_report().torn_tail.as_ref().unwrap().offset,
        end
    );
    assert_eq!(all_positions(&store).await.len(), 6);
    let next = store
        .append(&stream(1), ExpectedRevision::Any, vec![event(1)])
        .await
        .unwrap();
    assert_eq!(next.first_position, Position(6));
}

#[tokio::test]
async fn damage_in_the_middle_stops_the_open_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), Options::default(), 5).await;
    let segment = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let damaged_at = 32 + 20; // inside the first frame's body
    bytes[damaged_at] ^= 0xff;
    std::fs::write(&segment, &bytes).unwrap();
    match open_error(dir.path(), Options::default()) {
        StoreError::Corrupted {
            file,
            offset,
            reason,
        } => {
            assert!(
                file.ends_with(segment.file_name().unwrap().to_str().unwrap()),
                "{file}"
            );
            assert_eq!(offset, 32, "the damaged frame starts after the header");
            assert!(reason.contains("middle"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    // Nothing was changed: the file is as damaged as before.
    assert_eq!(std::fs::read(&segment).unwrap(), bytes);
    let storage = DirectoryStorage::new(dir.path()).unwrap();
    // Below the durable-end record, checking only reports it as the problem too.
    let (_, checked) = recover(&storage, Mode::CheckOnly).unwrap();
    let problem = checked.problem().expect("damage");
    assert!(problem.to_string().contains("middle"), "{problem}");
    // Without the record (a store from before it), checking only (verify, read-only opens)
    // reports damage in the last segment rather than failing: beside a live writer it may be
    // a read racing a write.
    std::fs::remove_file(dir.path().join(DURABLE_END_FILE)).unwrap();
    let (_, checked) = recover(&storage, Mode::CheckOnly).unwrap();
    let tail = checked.torn_tail.expect("reported");
    assert_eq!(
        tail.damage_before_valid_frames.map(|(damage, _)| damage),
        Some(32)
    );
}

#[tokio::test]
async fn damage_in_an_earlier_segment_stops_the_open() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), small_segments(), 40).await;
    let first = segments(dir.path()).remove(0);
    let mut bytes = std::fs::read(&first).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01; // the very end of a sealed segment: not a torn tail
    std::fs::write(&first, &bytes).unwrap();
    assert_eq!(open_error(dir.path(), small_segments()).code(), "corrupted");
}

#[tokio::test]
async fn a_bad_segment_header_stops_the_open() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), Options::default(), 2).await;
    let segment = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[0] = b'X';
    std::fs::write(&segment, &bytes).unwrap();
    match open_error(dir.path(), Options::default()) {
        StoreError::Corrupted { offset, reason, .. } => {
            assert_eq!(offset, 0);
            assert!(reason.contains("magic"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
}

#[tokio::test]
async fn a_half_created_last_segment_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), Options::default(), 2).await;
    let orphan = dir
        .path()
        .join(LOG_DIR)
        .join(DirectoryStorage::segment_file_name(Position(6)));
    std::fs::write(&orphan, b"EVFO").unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    assert!(store.recovery_report().removed_segment.is_some());
    assert!(!orphan.exists());
    assert_eq!(all_positions(&store).await.len(), 6);
    store
        .append(&stream(9), ExpectedRevision::Any, vec![event(9)])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_second_process_cannot_open_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    assert_eq!(open_error(dir.path(), Options::default()).code(), "locked");
}

/// Storage whose files fail to sync (or write) on demand.
struct FaultyStorage {
    inner: DirectoryStorage,
    fail_sync: Arc<AtomicBool>,
}

struct FaultyFile {
    inner: Arc<dyn SegmentFile>,
    fail_sync: Arc<AtomicBool>,
}

impl Files for FaultyStorage {
    fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        self.inner.read_file(name)
    }
    fn replace_file(&self, name: &str, bytes: &[u8], sync: bool) -> io::Result<()> {
        if sync && self.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected fsync failure"));
        }
        self.inner.replace_file(name, bytes, sync)
    }
    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.inner.remove_file(name)
    }
    fn describe(&self, name: &str) -> String {
        self.inner.describe(name)
    }
}

impl Storage for FaultyStorage {
    fn open_record_file(&self, name: &str, len: u64) -> io::Result<Arc<dyn SegmentFile>> {
        let inner = self.inner.open_record_file(name, len)?;
        Ok(Arc::new(FaultyFile {
            inner,
            fail_sync: self.fail_sync.clone(),
        }))
    }
    fn lock(&self) -> io::Result<Option<DirectoryLock>> {
        self.inner.lock()
    }
    fn create_rewrite(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        self.inner.create_rewrite(first)
    }
    fn replace_segment(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        self.inner.replace_segment(first)
    }
    fn discard_rewrites(&self) -> io::Result<()> {
        self.inner.discard_rewrites()
    }
    fn list_segments(&self) -> io::Result<Vec<Position>> {
        self.inner.list_segments()
    }
    fn open_segment(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        let inner = self.inner.open_segment(first)?;
        Ok(Arc::new(FaultyFile {
            inner,
            fail_sync: self.fail_sync.clone(),
        }))
    }
    fn create_segment(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        let inner = self.inner.create_segment(first)?;
        Ok(Arc::new(FaultyFile {
            inner,
            fail_sync: self.fail_sync.clone(),
        }))
    }
    fn remove_segment(&self, first: Position) -> io::Result<()> {
        self.inner.remove_segment(first)
    }
}

impl SegmentFile for FaultyFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_all_at(bytes, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected fdatasync failure"));
        }
        self.inner.sync_data()
    }
    fn size_bytes(&self) -> io::Result<u64> {
        self.inner.size_bytes()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}

#[tokio::test]
async fn the_index_snapshot_and_the_durable_end_record_go_through_the_storage() {
    let dir = tempfile::tempdir().unwrap();
    let fail_sync = Arc::new(AtomicBool::new(false));
    let storage = Arc::new(FaultyStorage {
        inner: DirectoryStorage::new(dir.path()).unwrap(),
        fail_sync: fail_sync.clone(),
    });
    let options = snapshot_always();
    let store = EmbeddedStore::open_with_storage(storage.clone(), options.clone()).unwrap();
    store
        .append(&stream(1), ExpectedRevision::Any, vec![event(1)])
        .await
        .unwrap();
    // The snapshot at close fails to sync: it is not written, and the next open scans the log.
    fail_sync.store(true, Ordering::SeqCst);
    store.close().await;
    drop(store);
    assert!(!dir.path().join(SNAPSHOT_FILE).exists());
    fail_sync.store(false, Ordering::SeqCst);
    let store = EmbeddedStore::open_with_storage(storage.clone(), options.clone()).unwrap();
    assert_eq!(store.recovery_report().events_from_snapshot, 0);
    assert_eq!(all_positions(&store).await, vec![0]);
    store.close().await;
    drop(store);
    // Opening syncs the durable-end record through the storage: a failure stops the open.
    fail_sync.store(true, Ordering::SeqCst);
    let refused = EmbeddedStore::open_with_storage(storage, options).err();
    assert!(
        refused.is_some_and(|e| e.to_string().contains("injected")),
        "the open fails"
    );
}

#[tokio::test]
async fn a_failed_sync_poisons_the_writer_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let fail_sync = Arc::new(AtomicBool::new(false));
    let storage = Arc::new(FaultyStorage {
        inner: DirectoryStorage::new(dir.path()).unwrap(),
        fail_sync: fail_sync.clone(),
    });
    let store = EmbeddedStore::open_with_storage(storage, Options::default()).unwrap();
    store
        .append(&stream(1), ExpectedRevision::Any, vec![event(1)])
        .await
        .unwrap();
    fail_sync.store(true, Ordering::SeqCst);
    let failed = store
        .append(&stream(1), ExpectedRevision::Any, vec![event(2)])
        .await
        .unwrap_err();
    assert_eq!(failed.code(), "poisoned");
    assert!(
        failed.to_string().contains("injected fdatasync failure"),
        "{failed}"
    );
    // The disk is fine again, but the writer stays poisoned: the page cache proves nothing.
    fail_sync.store(false, Ordering::SeqCst);
    let later = store
        .append(&stream(1), ExpectedRevision::Any, vec![event(3)])
        .await
        .unwrap_err();
    assert_eq!(later.code(), "poisoned");
    // Reads still answer, and show only the acknowledged event.
    let events = store
        .read_stream(&stream(1), ReadStream::default())
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    store.close().await;
    drop(store);
    // The segment was cut back to its durable end: after reopening, exactly the acknowledged
    // event is there, and the store works.
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    let events = store
        .read_stream(&stream(1), ReadStream::default())
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "the never-durable write was cut");
    assert_eq!(events[0].data, event(1).data);
    store
        .append(&stream(1), ExpectedRevision::Any, vec![event(4)])
        .await
        .unwrap();
    let slice = store
        .read_all(ReadAll {
            from: AllFrom::Start,
            ..ReadAll::default()
        })
        .await
        .unwrap();
    assert!(slice
        .events
        .windows(2)
        .all(|w| w[0].position.0 + 1 == w[1].position.0));
}

#[tokio::test]
async fn writes_after_close_are_refused_and_subscriptions_end() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    let mut subscription = store
        .subscribe_all(AllFrom::Start, Default::default())
        .await
        .unwrap();
    store
        .append(&stream(1), ExpectedRevision::Any, vec![event(1)])
        .await
        .unwrap();
    store.close().await;
    assert_eq!(
        store
            .append(&stream(1), ExpectedRevision::Any, vec![event(2)])
            .await
            .unwrap_err()
            .code(),
        "closed"
    );
    let mut delivered = 0;
    while let Some(message) = subscription.next().await {
        if let eventfold_store::SubscriptionMessage::Event(_) = message.unwrap() {
            delivered += 1;
        }
    }
    assert_eq!(
        delivered, 1,
        "the subscription delivered the history, then ended cleanly"
    );
}

fn snapshot_always() -> Options {
    Options {
        snapshot_after_events: 0,
        segment_bytes_max: 4096,
        ..Options::default()
    }
}

async fn everything(store: &EmbeddedStore) -> Vec<eventfold_store::RecordedEvent> {
    store
        .read_all(ReadAll {
            limit: 10_000,
            ..ReadAll::default()
        })
        .await
        .unwrap()
        .events
}

#[tokio::test]
async fn the_index_snapshot_gives_the_same_answers_as_a_full_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), snapshot_always(), 20).await;
    let snapshot = dir.path().join(SNAPSHOT_FILE);
    assert!(snapshot.exists(), "a clean close saves the snapshot");
    // More writes after the snapshot, then a crash (no close): the snapshot is now a prefix.
    {
        let store = EmbeddedStore::open(dir.path(), snapshot_always()).unwrap();
        assert_eq!(store.recovery_report().events_from_snapshot, 60);
        for n in 0..10 {
            store
                .append(&stream(n), ExpectedRevision::Any, vec![event(n)])
                .await
                .unwrap();
        }
        let metadata = eventfold_store::StreamMetadata {
            max_count: Some(2),
            ..Default::default()
        };
        eventfold_store::EventStore::set_stream_metadata(&store, &stream(1), metadata)
            .await
            .unwrap();
    }
    let from_snapshot = EmbeddedStore::open(dir.path(), snapshot_always()).unwrap();
    assert_eq!(from_snapshot.recovery_report().events_from_snapshot, 60);
    let with_snapshot = everything(&from_snapshot).await;
    let stream_one = from_snapshot
        .read_stream(&stream(1), ReadStream::default())
        .await
        .unwrap();
    drop(from_snapshot);
    remove_snapshot(&DirectoryStorage::new(dir.path()).unwrap()).unwrap();
    let rebuilt = EmbeddedStore::open(dir.path(), snapshot_always()).unwrap();
    assert_eq!(rebuilt.recovery_report().events_from_snapshot, 0);
    assert_eq!(everything(&rebuilt).await, with_snapshot);
    assert_eq!(
        rebuilt
            .read_stream(&stream(1), ReadStream::default())
            .await
            .unwrap(),
        stream_one
    );
    assert_eq!(
        stream_one.len(),
        2,
        "metadata from after the snapshot is honoured"
    );
}

#[tokio::test]
async fn a_damaged_snapshot_is_ignored_and_the_index_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), snapshot_always(), 10).await;
    let snapshot = dir.path().join(SNAPSHOT_FILE);
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&snapshot, &bytes).unwrap();
    let store = EmbeddedStore::open(dir.path(), snapshot_always()).unwrap();
    let report = store.recovery_report();
    assert!(
        report
            .snapshot_unusable
            .as_deref()
            .unwrap()
            .contains("checksum"),
        "{report:?}"
    );
    assert_eq!(everything(&store).await.len(), 30);
}

#[tokio::test]
async fn a_snapshot_that_does_not_match_the_log_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), snapshot_always(), 10).await;
    let saved = std::fs::read(dir.path().join(SNAPSHOT_FILE)).unwrap();
    // Replace the log with a different one of the same shape, then put the old snapshot back.
    std::fs::remove_dir_all(dir.path().join(LOG_DIR)).unwrap();
    std::fs::remove_file(dir.path().join(DURABLE_END_FILE)).unwrap();
    remove_snapshot(&DirectoryStorage::new(dir.path()).unwrap()).unwrap();
    {
        let store = EmbeddedStore::open(dir.path(), exact_files()).unwrap();
        for n in 0..30 {
            store
                .append(&stream(n + 100), ExpectedRevision::Any, vec![event(n)])
                .await
                .unwrap();
        }
    }
    std::fs::write(dir.path().join(SNAPSHOT_FILE), saved).unwrap();
    let store = EmbeddedStore::open(dir.path(), exact_files()).unwrap();
    assert!(store.recovery_report().snapshot_unusable.is_some());
    let events = everything(&store).await;
    assert_eq!(events.len(), 30);
    assert_eq!(
        events[0].stream,
        stream(100),
        "the log, not the snapshot, is the truth"
    );
}

#[tokio::test]
async fn retries_are_recognised_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // A window of 4 ids: after reopening it holds the last whole append (3 events); the one
    // before is cut by the window's edge and left out.
    let options = Options {
        recent_ids_max: 4,
        ..Options::default()
    };
    let store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    let appends: Vec<Vec<NewEvent>> = (0..3)
        .map(|n| (0..3).map(|i| event(n * 10 + i)).collect())
        .collect();
    let mut results = Vec::new();
    for (n, batch) in appends.iter().enumerate() {
        let expected = if n == 0 {
            ExpectedRevision::NoStream
        } else {
            ExpectedRevision::Exact(n as u64 * 3 - 1)
        };
        results.push(
            store
                .append(&stream(1), expected, batch.clone())
                .await
                .unwrap(),
        );
    }
    let store = reopen(store, dir.path(), options).await;
    // In the window: recognised even with `any`.
    assert_eq!(
        store
            .append(&stream(1), ExpectedRevision::Any, appends[2].clone())
            .await
            .unwrap(),
        results[2]
    );
    // Beyond the window: recognised from the log when the retry names where it went.
    assert_eq!(
        store
            .append(&stream(1), ExpectedRevision::Exact(2), appends[1].clone())
            .await
            .unwrap(),
        results[1]
    );
    assert_eq!(
        store
            .append(&stream(1), ExpectedRevision::NoStream, appends[0].clone())
            .await
            .unwrap(),
        results[0]
    );
    assert_eq!(
        store
            .read_stream(&stream(1), ReadStream::default())
            .await
            .unwrap()
            .len(),
        9
    );
}

#[tokio::test]
async fn a_frame_hidden_in_event_data_does_not_turn_a_torn_write_into_damage() {
    use eventfold_store::embedded::internals::{encode_event, EventParts, Salt};
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), exact_files(), 1).await;
    let segment = segments(dir.path()).pop().unwrap();
    let before = std::fs::metadata(&segment).unwrap().len() as usize;
    // A client stores bytes that form a perfect frame, for every salt it could guess.
    let mut crafted = Vec::new();
    for guess in [0u32, 1, 0xffff_ffff] {
        let parts = EventParts {
            position: Position(99),
            revision: eventfold_store::Revision(0),
            recorded_at_nanos: 0,
            occurred_at_nanos: None,
            id: uuid::Uuid::nil(),
            stream: "fake-1",
            event_type: "Fake",
            content_type: "application/json",
            metadata: b"{}",
            data: b"{}",
        };
        encode_event(&mut crafted, Salt(guess), &parts, 1);
    }
    crafted.extend_from_slice(&[7u8; 64]);
    let acknowledged_end = std::fs::read(dir.path().join(DURABLE_END_FILE)).unwrap();
    {
        let store = EmbeddedStore::open(dir.path(), exact_files()).unwrap();
        let binary =
            NewEvent::new("Blob", crafted.clone()).with_content_type("application/octet-stream");
        store
            .append(&stream(1), ExpectedRevision::Any, vec![binary])
            .await
            .unwrap();
        store.close().await;
    }
    // A power loss tears that write right after the crafted bytes, before it was acknowledged.
    std::fs::write(dir.path().join(DURABLE_END_FILE), acknowledged_end).unwrap();
    let full = std::fs::read(&segment).unwrap();
    let cut = full.len() - 32;
    assert!(
        cut > before + crafted.len() - 64,
        "the cut is after the crafted frames"
    );
    std::fs::write(&segment, &full[..cut]).unwrap();
    let store = EmbeddedStore::open(dir.path(), exact_files()).expect("a torn write, not damage");
    assert_eq!(
        store.recovery_report().torn_tail.as_ref().unwrap().offset as usize,
        before
    );
    assert_eq!(all_positions(&store).await.len(), 3);
}

#[tokio::test]
async fn a_failed_sync_right_before_close_or_drop_still_cuts_the_tail() {
    for close_first in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let fail_sync = Arc::new(AtomicBool::new(false));
        let storage = Arc::new(FaultyStorage {
            inner: DirectoryStorage::new(dir.path()).unwrap(),
            fail_sync: fail_sync.clone(),
        });
        let store = EmbeddedStore::open_with_storage(storage, Options::default()).unwrap();
        store
            .append(&stream(1), ExpectedRevision::Any, vec![event(1)])
            .await
            .unwrap();
        fail_sync.store(true, Ordering::SeqCst);
        let failed = store
            .append(&stream(1), ExpectedRevision::Any, vec![event(2)])
            .await;
        assert_eq!(failed.unwrap_err().code(), "poisoned");
        fail_sync.store(false, Ordering::SeqCst);
        if close_first {
            store.close().await;
            drop(store);
        } else {
            // Dropping the last handle stops the writer; give its thread a moment to finish.
            drop(store);
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        let reopened = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
        let events = reopened
            .read_stream(&stream(1), ReadStream::default())
            .await
            .unwrap();
        assert_eq!(
            events.len(),
            1,
            "close first: {close_first}: the never-durable write was cut"
        );
    }
}

fn ids(n: std::ops::Range<u64>) -> Vec<NewEvent> {
    n.map(event).collect()
}

async fn count_events(store: &EmbeddedStore) -> usize {
    everything(store).await.len()
}

#[tokio::test]
async fn a_window_reloaded_at_an_append_boundary_keeps_that_append() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        recent_ids_max: 2,
        ..Options::default()
    };
    let store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    let appends: Vec<Vec<NewEvent>> = (0..3).map(|n| ids(n..n + 1)).collect();
    let mut results = Vec::new();
    for batch in &appends {
        results.push(
            store
                .append(&stream(1), ExpectedRevision::Any, batch.clone())
                .await
                .unwrap(),
        );
    }
    let store = reopen(store, dir.path(), options).await;
    assert_eq!(
        store
            .append(&stream(1), ExpectedRevision::Any, appends[1].clone())
            .await
            .unwrap(),
        results[1]
    );
    assert_eq!(count_events(&store).await, 3, "nothing written twice");
}

#[tokio::test]
async fn an_append_older_than_the_window_is_still_a_retry_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        recent_ids_max: 3,
        ..Options::default()
    };
    let store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    let first = ids(0..2);
    let original = store
        .append(&stream(1), ExpectedRevision::Any, first.clone())
        .await
        .unwrap();
    store
        .append(&stream(1), ExpectedRevision::Any, ids(2..4))
        .await
        .unwrap();
    // The window's edge cuts the first append: its ids are found in the log.
    let before = store
        .append(&stream(1), ExpectedRevision::Any, first.clone())
        .await
        .unwrap();
    assert_eq!(before, original);
    let part = store
        .append(&stream(1), ExpectedRevision::Any, first[..1].to_vec())
        .await
        .unwrap_err();
    assert_eq!(
        part.code(),
        "event_id_conflict",
        "part of an append is no retry"
    );
    let store = reopen(store, dir.path(), options).await;
    let after = store
        .append(&stream(1), ExpectedRevision::Any, first)
        .await
        .unwrap();
    assert_eq!(after, original, "the same answer as before the reopen");
    assert_eq!(count_events(&store).await, 4);
}

#[tokio::test]
async fn retries_named_by_revision_are_checked_in_the_log_whatever_the_window_holds() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        recent_ids_max: 3,
        ..Options::default()
    };
    let store = EmbeddedStore::open(dir.path(), options).unwrap();
    // The window drops the first id of [a, b] but still holds b.
    let pair = ids(0..2);
    let original = store
        .append(&stream(1), ExpectedRevision::NoStream, pair.clone())
        .await
        .unwrap();
    store
        .append(&stream(2), ExpectedRevision::Any, ids(10..12))
        .await
        .unwrap();
    assert_eq!(
        store
            .append(&stream(1), ExpectedRevision::NoStream, pair.clone())
            .await
            .unwrap(),
        original
    );
    // A prefix of an append is not a retry, even when the window no longer knows the ids.
    let triple = ids(20..23);
    store
        .append(&stream(3), ExpectedRevision::NoStream, triple.clone())
        .await
        .unwrap();
    store
        .append(&stream(2), ExpectedRevision::Any, ids(30..33))
        .await
        .unwrap();
    let prefix = store
        .append(&stream(3), ExpectedRevision::NoStream, triple[..2].to_vec())
        .await;
    assert_eq!(prefix.unwrap_err().code(), "wrong_expected_revision");
    // A no_stream retry from before a soft delete is still the original.
    let single = ids(40..41);
    let first = store
        .append(&stream(4), ExpectedRevision::NoStream, single.clone())
        .await
        .unwrap();
    store
        .append(&stream(2), ExpectedRevision::Any, ids(50..53))
        .await
        .unwrap();
    store
        .delete_stream(
            &stream(4),
            ExpectedRevision::Any,
            eventfold_store::DeleteMode::Soft,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .append(&stream(4), ExpectedRevision::NoStream, single)
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        store.head_position().await.unwrap(),
        Position(14),
        "nothing written twice"
    );
}

#[test]
fn options_beyond_what_the_engine_can_hold_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let limits = eventfold_store::Limits {
        stream_metadata_bytes_max: 8 << 20,
        ..Default::default()
    };
    let cases = [
        Options {
            recent_ids_max: 0,
            ..Options::default()
        },
        Options {
            segment_bytes_max: 8 << 30,
            ..Options::default()
        },
        Options {
            limits,
            ..Options::default()
        },
    ];
    for options in cases {
        let error = EmbeddedStore::open(dir.path(), options.clone())
            .err()
            .expect("refused");
        assert_eq!(error.code(), "invalid_request", "{options:?}");
    }
}

#[tokio::test]
async fn a_no_stream_retry_after_two_soft_deletes_and_a_reopen_is_the_original() {
    // Found by the model test: whether an append created its stream is recorded, not guessed.
    use eventfold_store::DeleteMode::Soft;
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    store
        .append(&stream(3), ExpectedRevision::NoStream, ids(0..1))
        .await
        .unwrap();
    store
        .delete_stream(&stream(3), ExpectedRevision::Any, Soft)
        .await
        .unwrap();
    let batch = ids(1..2);
    let original = store
        .append(&stream(3), ExpectedRevision::NoStream, batch.clone())
        .await
        .unwrap();
    store
        .delete_stream(&stream(3), ExpectedRevision::Any, Soft)
        .await
        .unwrap();
    let store = reopen(store, dir.path(), Options::default()).await;
    assert_eq!(
        store
            .append(&stream(3), ExpectedRevision::NoStream, batch.clone())
            .await
            .unwrap(),
        original
    );
    let exists = store
        .append(&stream(3), ExpectedRevision::StreamExists, batch)
        .await;
    assert_eq!(
        exists.unwrap_err().code(),
        "wrong_expected_revision",
        "it could not have expected `exists`"
    );
}

#[tokio::test]
async fn an_event_out_of_sequence_stops_the_open() {
    use eventfold_store::embedded::internals::{encode_event, EventParts, Salt};
    for (position, revision) in [(7, 1), (1, 5)] {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), exact_files(), 1).await;
        let segment = segments(dir.path()).pop().unwrap();
        let mut bytes = std::fs::read(&segment).unwrap();
        let salt = Salt(u32::from_le_bytes(bytes[12..16].try_into().unwrap()));
        // A valid frame (the right salt and checksums) naming the wrong place in the log.
        let parts = EventParts {
            position: Position(position + 2),
            revision: eventfold_store::Revision(revision),
            recorded_at_nanos: 0,
            occurred_at_nanos: None,
            id: uuid::Uuid::new_v4(),
            stream: "account-0",
            event_type: "Deposited",
            content_type: "application/json",
            metadata: b"{}",
            data: b"{}",
        };
        encode_event(&mut bytes, salt, &parts, 1);
        std::fs::write(&segment, &bytes).unwrap();
        match open_error(dir.path(), exact_files()) {
            StoreError::Corrupted { reason, .. } => {
                assert!(reason.contains("out of sequence"), "{reason}")
            }
            other => panic!("expected corruption, got {other}"),
        }
    }
}
