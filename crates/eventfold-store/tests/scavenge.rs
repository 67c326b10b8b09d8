//! Scavenging erases what deletes, truncation and expiry hide: the bytes leave every file, every
//! read answers as before, and a crash at any step loses nothing still visible.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use eventfold_store::embedded::internals::{
    DirectoryLock, DirectoryStorage, Files, SegmentFile, Storage,
};
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{
    DeleteMode, Direction, EventStore, ExpectedRevision, NewEvent, Position, ReadAll, ReadStream,
    RecordedEvent, StreamFrom, StreamMetadata, StreamName,
};

const SECRET: &str = "SECRET-4f1c9a7e";

fn options() -> Options {
    Options {
        segment_bytes_max: 16 << 10,
        preallocate_bytes: 0,
        ..Options::default()
    }
}

fn name(text: &str) -> StreamName {
    StreamName::new(text).unwrap()
}

fn event(stream: &str, n: u64) -> NewEvent {
    NewEvent::json(
        "Noted",
        &serde_json::json!({ "stream": stream, "n": n, "pad": "p".repeat(200) }),
    )
}

/// Streams in every hiding state, the secret in a hard-deleted one, spread over segments.
async fn populate(store: &EmbeddedStore) -> uuid::Uuid {
    let secret = NewEvent::json("Secret", &serde_json::json!({ "ssn": SECRET }))
        .with_metadata(&serde_json::json!({ "note": SECRET }));
    let secret_id = secret.id;
    store
        .append(&name("person-1"), ExpectedRevision::NoStream, vec![secret])
        .await
        .unwrap();
    for n in 0..30 {
        for stream in ["kept-1", "soft-1", "truncated-1", "capped-1", "person-1"] {
            store
                .append(&name(stream), ExpectedRevision::Any, vec![event(stream, n)])
                .await
                .unwrap();
        }
    }
    store
        .delete_stream(&name("person-1"), ExpectedRevision::Any, DeleteMode::Hard)
        .await
        .unwrap();
    store
        .delete_stream(&name("soft-1"), ExpectedRevision::Any, DeleteMode::Soft)
        .await
        .unwrap();
    store
        .append(
            &name("soft-1"),
            ExpectedRevision::Any,
            vec![event("soft-1", 99)],
        )
        .await
        .unwrap();
    let truncate = StreamMetadata {
        truncate_before: Some(20),
        ..StreamMetadata::default()
    };
    store
        .set_stream_metadata(&name("truncated-1"), truncate)
        .await
        .unwrap();
    let cap = StreamMetadata {
        max_count: Some(5),
        ..StreamMetadata::default()
    };
    store
        .set_stream_metadata(&name("capped-1"), cap)
        .await
        .unwrap();
    secret_id
}

/// Everything a reader can see: `$all` both ways, each stream both ways (or its error).
async fn everything(store: &EmbeddedStore) -> Vec<String> {
    let mut seen = Vec::new();
    for direction in [Direction::Forward, Direction::Backward] {
        let request = ReadAll {
            limit: 10_000,
            direction,
            from: match direction {
                Direction::Forward => eventfold_store::AllFrom::Start,
                Direction::Backward => eventfold_store::AllFrom::End,
            },
            ..ReadAll::default()
        };
        let slice = store.read_all(request).await.unwrap();
        seen.extend(slice.events.iter().map(describe));
        for stream in ["kept-1", "soft-1", "truncated-1", "capped-1", "person-1"] {
            let read = ReadStream {
                direction,
                from: match direction {
                    Direction::Forward => StreamFrom::Start,
                    Direction::Backward => StreamFrom::End,
                },
                ..ReadStream::default()
            };
            match store.read_stream(&name(stream), read).await {
                Ok(events) => seen.extend(events.iter().map(describe)),
                Err(error) => seen.push(format!("{stream}: {}", error.code())),
            }
        }
    }
    seen
}

fn describe(event: &RecordedEvent) -> String {
    format!(
        "{} {}@{} {} {} {:?} {}",
        event.position,
        event.stream,
        event.revision,
        event.id,
        event.event_type,
        event.data,
        event.recorded_at
    )
}

fn files_contain(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|window| window == needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn a_scavenge_erases_hidden_bytes_and_reads_answer_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), options()).unwrap();
    let secret_id = populate(&store).await;
    let before = everything(&store).await;
    assert!(!files_contain(dir.path(), SECRET.as_bytes()).is_empty());
    let mut seen = Vec::new();
    let progress = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = progress.clone();
    let report = store
        .scavenge(move |p| log.lock().push(p.segments_done))
        .await
        .unwrap();
    seen.extend(progress.lock().iter().copied());
    assert!(report.segments_rewritten > 0, "{report:?}");
    // person-1: 31 events; soft-1: 30; truncated-1: 20; capped-1: 25.
    assert_eq!(report.events_erased, 31 + 30 + 20 + 25, "{report:?}");
    assert!(report.bytes_reclaimed() > 20_000, "{report:?}");
    assert_eq!(seen.first(), Some(&0));
    assert_eq!(
        seen.last(),
        Some(&report.segments_total),
        "progress to the end"
    );
    assert_eq!(everything(&store).await, before, "reads answer as before");
    assert_eq!(
        files_contain(dir.path(), SECRET.as_bytes()),
        Vec::<String>::new(),
        "the deleted payload is in no file"
    );
    // Positions go on; erased events stay hidden when metadata would show them again.
    let next = store
        .append(
            &name("kept-1"),
            ExpectedRevision::Any,
            vec![event("kept-1", 100)],
        )
        .await
        .unwrap();
    assert_eq!(next.first_position, Position(30 * 5 + 1 + 1));
    store
        .set_stream_metadata(&name("truncated-1"), StreamMetadata::default())
        .await
        .unwrap();
    let shown = store
        .read_stream(&name("truncated-1"), ReadStream::default())
        .await
        .unwrap();
    assert_eq!(shown.first().unwrap().revision.0, 20, "erased for good");
    // Ids stay unique: an erased event's id is still taken.
    let reused = store
        .append(
            &name("kept-1"),
            ExpectedRevision::Any,
            vec![event("kept-1", 1).with_id(secret_id)],
        )
        .await
        .unwrap_err();
    assert_eq!(reused.code(), "event_id_conflict");
    let after = everything(&store).await;
    store.close().await;
    drop(store);
    for _ in 0..2 {
        let reopened = EmbeddedStore::open(dir.path(), options()).unwrap();
        assert_eq!(
            everything(&reopened).await,
            after,
            "the same after a reopen"
        );
        let again = reopened.scavenge(|_| {}).await.unwrap();
        assert_eq!(again.events_erased, 0, "nothing left to erase");
        reopened.close().await;
    }
}

#[tokio::test]
async fn expired_events_are_erased_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), options()).unwrap();
    for n in 0..40 {
        store
            .append(
                &name("expiring-1"),
                ExpectedRevision::Any,
                vec![event("x", n)],
            )
            .await
            .unwrap();
    }
    let expire = StreamMetadata {
        max_age_secs: Some(1),
        ..StreamMetadata::default()
    };
    store
        .set_stream_metadata(&name("expiring-1"), expire)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let report = store.scavenge(|_| {}).await.unwrap();
    assert_eq!(report.events_erased, 40);
    let events = store
        .read_stream(&name("expiring-1"), ReadStream::default())
        .await
        .unwrap();
    assert!(events.is_empty());
}

/// A storage that fails the `fail_at`-th step of a scavenge's rewrites (counted from 1): the
/// files are then as a SIGKILL at that step leaves them (nothing is lost from the page cache).
struct CrashingStorage {
    inner: DirectoryStorage,
    steps: Arc<AtomicUsize>,
    fail_at: usize,
}

impl CrashingStorage {
    fn step(&self) -> io::Result<()> {
        if self.steps.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(io::Error::other("crash"));
        }
        Ok(())
    }
}

struct CrashingFile {
    inner: Arc<dyn SegmentFile>,
    storage: Arc<CrashingStorage>,
}

impl SegmentFile for CrashingFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.storage.step()?;
        self.inner.write_all_at(bytes, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.storage.step()?;
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

/// Wraps a storage shared by the store and its rewrite files.
struct Shared(Arc<CrashingStorage>);

impl Files for Shared {
    fn read_file(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        self.0.inner.read_file(name)
    }
    fn replace_file(&self, name: &str, bytes: &[u8], sync: bool) -> io::Result<()> {
        self.0.inner.replace_file(name, bytes, sync)
    }
    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.0.step()?;
        self.0.inner.remove_file(name)
    }
    fn describe(&self, name: &str) -> String {
        self.0.inner.describe(name)
    }
}

impl Storage for Shared {
    fn list_segments(&self) -> io::Result<Vec<Position>> {
        self.0.inner.list_segments()
    }
    fn open_segment(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        self.0.inner.open_segment(first)
    }
    fn create_segment(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        self.0.inner.create_segment(first)
    }
    fn remove_segment(&self, first: Position) -> io::Result<()> {
        self.0.inner.remove_segment(first)
    }
    fn create_rewrite(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        self.0.step()?;
        let inner = self.0.inner.create_rewrite(first)?;
        Ok(Arc::new(CrashingFile {
            inner,
            storage: self.0.clone(),
        }))
    }
    fn replace_segment(&self, first: Position) -> io::Result<Arc<dyn SegmentFile>> {
        self.0.step()?;
        let file = self.0.inner.replace_segment(first)?;
        // The rename is done and durable; the crash comes before the index sees it.
        self.0.step()?;
        Ok(file)
    }
    fn discard_rewrites(&self) -> io::Result<()> {
        self.0.inner.discard_rewrites()
    }
    fn open_record_file(&self, name: &str, len: u64) -> io::Result<Arc<dyn SegmentFile>> {
        self.0.inner.open_record_file(name, len)
    }
    fn lock(&self) -> io::Result<Option<DirectoryLock>> {
        self.0.inner.lock()
    }
}

#[tokio::test]
async fn a_crash_at_any_step_of_a_scavenge_loses_nothing_still_visible() {
    // Count the steps of one whole scavenge first.
    let steps_of_a_scavenge = {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(CrashingStorage {
            inner: DirectoryStorage::new(dir.path()).unwrap(),
            steps: Arc::new(AtomicUsize::new(0)),
            fail_at: 0,
        });
        let store =
            EmbeddedStore::open_with_storage(Arc::new(Shared(storage.clone())), options()).unwrap();
        populate(&store).await;
        store.scavenge(|_| {}).await.unwrap();
        storage.steps.load(Ordering::SeqCst)
    };
    assert!(steps_of_a_scavenge > 6, "{steps_of_a_scavenge} steps");
    for fail_at in 1..=steps_of_a_scavenge {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(CrashingStorage {
            inner: DirectoryStorage::new(dir.path()).unwrap(),
            steps: Arc::new(AtomicUsize::new(0)),
            fail_at: usize::MAX,
        });
        let store =
            EmbeddedStore::open_with_storage(Arc::new(Shared(storage.clone())), options()).unwrap();
        populate(&store).await;
        let before = everything(&store).await;
        drop(store);
        let storage = Arc::new(CrashingStorage {
            inner: DirectoryStorage::new(dir.path()).unwrap(),
            steps: Arc::new(AtomicUsize::new(0)),
            fail_at,
        });
        let store = EmbeddedStore::open_with_storage(Arc::new(Shared(storage)), options()).unwrap();
        let crashed = store.scavenge(|_| {}).await;
        assert!(crashed.is_err(), "step {fail_at} fails");
        assert_eq!(
            everything(&store).await,
            before,
            "step {fail_at}: still serving"
        );
        // The process dies here: the files are what it left.
        drop(store);
        let reopened = EmbeddedStore::open(dir.path(), options()).unwrap();
        assert_eq!(
            everything(&reopened).await,
            before,
            "step {fail_at}: after the crash"
        );
        reopened.scavenge(|_| {}).await.unwrap();
        assert_eq!(
            everything(&reopened).await,
            before,
            "step {fail_at}: finished"
        );
        assert!(files_contain(dir.path(), SECRET.as_bytes()).is_empty());
    }
}

#[tokio::test]
async fn a_truncation_past_the_end_and_a_read_only_store_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), options()).unwrap();
    for n in 0..10 {
        store
            .append(
                &name("short-1"),
                ExpectedRevision::Any,
                vec![event("short-1", n)],
            )
            .await
            .unwrap();
    }
    let beyond = StreamMetadata {
        truncate_before: Some(1_000_000),
        ..StreamMetadata::default()
    };
    store
        .set_stream_metadata(&name("short-1"), beyond)
        .await
        .unwrap();
    let report = store.scavenge(|_| {}).await.unwrap();
    assert_eq!(report.events_erased, 10);
    // A read-only store beside the writer changes no file.
    let reader = EmbeddedStore::open_read_only(dir.path(), options()).unwrap();
    let refused = reader.scavenge(|_| {}).await.unwrap_err();
    assert_eq!(refused.code(), "read_only");
}
