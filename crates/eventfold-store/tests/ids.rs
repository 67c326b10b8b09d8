//! An event id is never stored twice on the embedded engine: not after the recent window has
//! moved on, not after a restart, not after a rebuild of the index from the log.

use eventfold_store::embedded::internals::SNAPSHOT_FILE;
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{EventStore, ExpectedRevision, NewEvent, ReadStream, StreamName};

fn event(n: u64) -> NewEvent {
    NewEvent::json("Deposited", &serde_json::json!({ "n": n }))
}

async fn count(store: &EmbeddedStore, stream: &StreamName) -> usize {
    store
        .read_stream(stream, ReadStream::default())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_retry_after_270_000_other_events_writes_nothing_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        snapshot_after_events: 0,
        ..Options::default()
    };
    let store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    let first = StreamName::new("account-1").unwrap();
    let fixed = event(0).with_id(uuid::Uuid::from_u128(0x1234));
    let original = store
        .append(&first, ExpectedRevision::Any, vec![fixed.clone()])
        .await
        .unwrap();
    let other = StreamName::new("account-2").unwrap();
    for batch in 0..270 {
        let events = (0..1000).map(|i| event(batch * 1000 + i)).collect();
        store
            .append(&other, ExpectedRevision::Any, events)
            .await
            .unwrap();
    }
    let retried = store
        .append(&first, ExpectedRevision::Any, vec![fixed.clone()])
        .await
        .unwrap();
    assert_eq!(retried, original, "the original answer");
    assert_eq!(count(&store, &first).await, 1, "nothing stored twice");
    let elsewhere = store
        .append(&other, ExpectedRevision::Any, vec![fixed.clone()])
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), "event_id_conflict");

    // After a restart from the index snapshot, and after a rebuild from the log.
    store.close().await;
    drop(store);
    for rebuild in [false, true] {
        if rebuild {
            std::fs::remove_file(dir.path().join(SNAPSHOT_FILE)).unwrap();
        }
        let reopened = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
        assert_eq!(
            reopened.recovery_report().events_from_snapshot > 0,
            !rebuild
        );
        let retried = reopened
            .append(&first, ExpectedRevision::Any, vec![fixed.clone()])
            .await
            .unwrap();
        assert_eq!(retried, original, "rebuild {rebuild}");
        let elsewhere = reopened
            .append(&other, ExpectedRevision::Any, vec![fixed.clone()])
            .await
            .unwrap_err();
        assert_eq!(elsewhere.code(), "event_id_conflict", "rebuild {rebuild}");
        assert_eq!(count(&reopened, &first).await, 1);
        reopened.close().await;
    }
}
