//! Loss at the end of the log is never passed off as a torn tail: each finding of issue 15's
//! first part, with the durable-end record and with the index snapshot as the evidence.

mod common;
use common::segments;

use std::path::{Path, PathBuf};

use eventfold_store::embedded::internals::{
    recover, DirectoryStorage, Mode, DURABLE_END_FILE, SNAPSHOT_FILE,
};
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{EventStore, ExpectedRevision, NewEvent, StoreError, StreamName};

/// Two segments or more, and a snapshot at every clean close.
fn options() -> Options {
    Options {
        segment_bytes_max: 64 << 10,
        preallocate_bytes: 0,
        snapshot_after_events: 0,
        ..Options::default()
    }
}

/// `appends` writes of 10 events each, closed cleanly; returns the head position.
async fn write(dir: &Path, options: Options, appends: u64) -> u64 {
    let store = EmbeddedStore::open(dir, options).unwrap();
    let stream = StreamName::new("account-1").unwrap();
    for n in 0..appends {
        let events = (0..10)
            .map(|i| NewEvent::json("Deposited", &serde_json::json!({ "n": n * 10 + i })))
            .collect();
        store
            .append(&stream, ExpectedRevision::Any, events)
            .await
            .unwrap();
    }
    let head = store.head_position().await.unwrap().0;
    store.close().await;
    head
}

/// The open fails naming the loss, changes nothing, and so does a check.
fn assert_loss(dir: &Path, options: Options, missing: &str) {
    let before = files(dir);
    let error = match EmbeddedStore::open(dir, options) {
        Err(error) => error,
        Ok(_) => panic!("the open must refuse a log that lost acknowledged writes"),
    };
    let StoreError::Corrupted { reason, .. } = &error else {
        panic!("expected corruption, got {error}");
    };
    assert!(
        reason.contains("acknowledged") && reason.contains(missing),
        "{reason}"
    );
    assert!(
        reason.contains("eventfold repair --accept-loss"),
        "{reason}"
    );
    assert_eq!(files(dir), before, "a refused open changes nothing");
    let storage = DirectoryStorage::new(dir).unwrap();
    let (_, checked) = recover(&storage, Mode::CheckOnly).unwrap();
    assert!(checked.problem().is_some(), "verify reports it");
    let (_, plan) = recover(&storage, Mode::PlanDamagedTail).unwrap();
    assert!(plan.loss.is_some(), "repair describes it");
}

/// Every file of the data directory with its bytes (the lock aside).
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    for path in segments(dir)
        .into_iter()
        .chain([dir.join(SNAPSHOT_FILE), dir.join(DURABLE_END_FILE)])
    {
        if let Ok(bytes) = std::fs::read(&path) {
            all.push((path, bytes));
        }
    }
    all
}

/// The offsets where writes end in the last segment. Every write here is 10 events, and a
/// segment starts with a whole write, so every 10th frame ends one.
fn write_ends(dir: &Path) -> Vec<u64> {
    let storage = DirectoryStorage::new(dir).unwrap();
    let (index, _) = recover(&storage, Mode::CheckOnly).unwrap();
    let end = index.log_end().unwrap().end;
    // Each append here is the same size, so the write ends are evenly spaced back from the end.
    let bytes = std::fs::read(segments(dir).pop().unwrap()).unwrap();
    let frame_len =
        |at: usize| 12 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as u64;
    let mut ends = Vec::new();
    let mut at = 32u64;
    while at < end {
        at += frame_len(at as usize);
        ends.push(at);
    }
    assert_eq!(ends.len() % 10, 0, "whole writes only");
    ends.into_iter().skip(9).step_by(10).collect()
}

#[tokio::test]
async fn a_removed_last_segment_is_loss() {
    for with_record in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), options(), 100).await;
        assert!(segments(dir.path()).len() >= 2);
        std::fs::remove_file(segments(dir.path()).pop().unwrap()).unwrap();
        if !with_record {
            // A store from before the record: the index snapshot's end is the evidence.
            std::fs::remove_file(dir.path().join(DURABLE_END_FILE)).unwrap();
        }
        assert_loss(dir.path(), options(), "are gone");
    }
}

#[tokio::test]
async fn a_last_segment_cut_to_nothing_is_loss() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), options(), 100).await;
    let last = segments(dir.path()).pop().unwrap();
    std::fs::File::options()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(0)
        .unwrap();
    assert_loss(dir.path(), options(), "are gone");
}

#[tokio::test]
async fn a_single_segment_cut_to_nothing_is_loss() {
    let dir = tempfile::tempdir().unwrap();
    let big = Options {
        segment_bytes_max: 256 << 20,
        ..options()
    };
    write(dir.path(), big.clone(), 20).await;
    let only = segments(dir.path()).pop().unwrap();
    std::fs::write(&only, b"").unwrap();
    assert_loss(dir.path(), big, "200 acknowledged events");
}

#[tokio::test]
async fn a_cut_at_a_write_boundary_is_loss() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), options(), 100).await;
    let last = segments(dir.path()).pop().unwrap();
    let ends = write_ends(dir.path());
    // Cut the last two writes away exactly where the write before them ends.
    let cut = ends[ends.len() - 3];
    let bytes = std::fs::read(&last).unwrap();
    std::fs::write(&last, &bytes[..cut as usize]).unwrap();
    assert_loss(dir.path(), options(), "20 acknowledged events");
}

#[tokio::test]
async fn a_flipped_bit_in_the_last_frame_is_loss_not_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), options(), 100).await;
    let last = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    let at = bytes.len() - 5;
    bytes[at] ^= 0x10;
    std::fs::write(&last, &bytes).unwrap();
    assert_loss(dir.path(), options(), "10 acknowledged events");
    let error = EmbeddedStore::open(dir.path(), options()).err().unwrap();
    assert!(error.to_string().contains("found there"), "{error}");
}

#[tokio::test]
async fn zeroed_last_frames_without_a_snapshot_are_loss() {
    let dir = tempfile::tempdir().unwrap();
    let no_snapshot = Options {
        snapshot_after_events: u64::MAX,
        ..options()
    };
    write(dir.path(), no_snapshot.clone(), 100).await;
    assert!(!dir.path().join(SNAPSHOT_FILE).exists());
    let last = segments(dir.path()).pop().unwrap();
    let ends = write_ends(dir.path());
    let mut bytes = std::fs::read(&last).unwrap();
    let from = ends[ends.len() - 5] as usize;
    bytes[from..].fill(0);
    std::fs::write(&last, &bytes).unwrap();
    assert_loss(dir.path(), no_snapshot, "40 acknowledged events");
}

#[tokio::test]
async fn a_lost_segment_just_rolled_is_loss() {
    // The record moves to a new segment once its header is durable, before anything is in it.
    let dir = tempfile::tempdir().unwrap();
    let options = options();
    write(dir.path(), options.clone(), 100).await;
    let store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    let stream = StreamName::new("account-2").unwrap();
    let before = segments(dir.path()).len();
    while segments(dir.path()).len() == before {
        store
            .append(
                &stream,
                ExpectedRevision::Any,
                vec![NewEvent::json(
                    "Big",
                    &serde_json::json!({"pad": "x".repeat(4000)}),
                )],
            )
            .await
            .unwrap();
    }
    store.close().await;
    drop(store);
    std::fs::remove_file(segments(dir.path()).pop().unwrap()).unwrap();
    assert_loss(dir.path(), options, "are gone");
}

#[tokio::test]
async fn accepting_the_loss_opens_the_log_and_moves_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let head = write(dir.path(), options(), 100).await;
    std::fs::remove_file(segments(dir.path()).pop().unwrap()).unwrap();
    let storage = DirectoryStorage::new(dir.path()).unwrap();
    let (index, report) = recover(&storage, Mode::AcceptLoss).unwrap();
    let loss = report.loss.expect("the loss is reported");
    let end = index.log_end().unwrap();
    assert_eq!(loss.events(), head - end.next_position);
    // What `eventfold repair --accept-loss` does next (tested end to end in the CLI tests).
    eventfold_store::embedded::internals::remove_snapshot(&storage).unwrap();
    drop(eventfold_store::embedded::internals::Recorder::open(&storage, end).unwrap());
    let store = EmbeddedStore::open(dir.path(), options()).unwrap();
    assert_eq!(store.head_position().await.unwrap().0, end.next_position);
}

#[tokio::test]
async fn a_damaged_or_cut_durable_end_record_stops_the_open_until_rebuilt() {
    for cut in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), options(), 10).await;
        let record = dir.path().join(DURABLE_END_FILE);
        if cut {
            std::fs::write(&record, b"").unwrap();
        } else {
            let mut bytes = std::fs::read(&record).unwrap();
            bytes[20] ^= 1;
            bytes[4096 + 20] ^= 1;
            std::fs::write(&record, &bytes).unwrap();
        }
        let error = EmbeddedStore::open(dir.path(), options())
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("durable.end")
                && error.to_string().contains("--accept-loss"),
            "{error}"
        );
        let storage = DirectoryStorage::new(dir.path()).unwrap();
        let (_, checked) = recover(&storage, Mode::CheckOnly).unwrap();
        assert!(checked.problem().is_some(), "verify reports it");
        // What `eventfold repair --accept-loss` does: the record is rebuilt from the log.
        let (index, _) = recover(&storage, Mode::AcceptLoss).unwrap();
        drop(
            eventfold_store::embedded::internals::Recorder::open(
                &storage,
                index.log_end().unwrap(),
            )
            .unwrap(),
        );
        let store = EmbeddedStore::open(dir.path(), options()).unwrap();
        assert_eq!(store.head_position().await.unwrap().0, 100, "cut {cut}");
    }
}
