//! A read-only store follows a writer it shares nothing with but the files.

use std::time::Duration;

use futures::StreamExt;

use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{
    AllFrom, EventStore, ExpectedRevision, NewEvent, ReadAll, ReadStream, StreamName,
    SubscriptionMessage,
};

fn stream(n: u64) -> StreamName {
    StreamName::new(&format!("account-{n}")).unwrap()
}

fn event(n: u64) -> NewEvent {
    NewEvent::json(
        "Deposited",
        &serde_json::json!({ "n": n, "pad": "x".repeat(200) }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_follows_a_writer_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        segment_bytes_max: 16 << 10,
        ..Options::default()
    };
    let writer = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    writer
        .append(&stream(0), ExpectedRevision::Any, vec![event(0)])
        .await
        .unwrap();
    let reader = EmbeddedStore::open_read_only(dir.path(), options).unwrap();
    assert_eq!(reader.head_position().await.unwrap().0, 1);
    let mut subscription = reader
        .subscribe_all(AllFrom::Start, Default::default())
        .await
        .unwrap();
    for n in 1..300 {
        writer
            .append(&stream(n % 7), ExpectedRevision::Any, vec![event(n)])
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 300 {
        let message = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await;
        match message.expect("delivered in time").unwrap().unwrap() {
            SubscriptionMessage::Event(event) => seen.push(event.position.0),
            _ => continue,
        }
    }
    assert_eq!(
        seen,
        (0..300).collect::<Vec<_>>(),
        "every event once, in order, across segments"
    );
    let from_reader = reader
        .read_stream(&stream(3), ReadStream::default())
        .await
        .unwrap();
    let from_writer = writer
        .read_stream(&stream(3), ReadStream::default())
        .await
        .unwrap();
    assert_eq!(from_reader, from_writer);
    assert_eq!(
        reader
            .append(&stream(1), ExpectedRevision::Any, vec![event(1)])
            .await
            .unwrap_err()
            .code(),
        "read_only"
    );
    reader.close().await;
    assert!(
        subscription.next().await.is_none_or(|m| m.is_ok()),
        "the subscription ends cleanly"
    );
    writer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_opened_on_an_empty_log_sees_the_first_segment_appear() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("log")).unwrap();
    let reader = EmbeddedStore::open_read_only(dir.path(), Options::default()).unwrap();
    assert_eq!(reader.head_position().await.unwrap().0, 0);
    let writer = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    writer
        .append(&stream(1), ExpectedRevision::Any, vec![event(1), event(2)])
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let all = reader.read_all(ReadAll::default()).await.unwrap();
        if all.events.len() == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reader catches up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn a_missing_directory_is_an_error_not_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let error = EmbeddedStore::open_read_only(&missing, Options::default())
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("not an Eventfold data directory"),
        "{error}"
    );
    assert!(!missing.exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_keeps_up_with_a_busy_writer_without_false_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        segment_bytes_max: 4 << 20,
        ..Options::default()
    };
    let writer = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    writer
        .append(&stream(0), ExpectedRevision::Any, vec![event(0)])
        .await
        .unwrap();
    let reader = EmbeddedStore::open_read_only(dir.path(), options).unwrap();
    let mut subscription = reader
        .subscribe_all(AllFrom::Start, Default::default())
        .await
        .unwrap();
    // Big, fast writes: reads of the zero-filled space race the writer's pwrites all the time.
    let big = |n: u64| {
        NewEvent::json(
            "Deposited",
            &serde_json::json!({ "n": n, "pad": "y".repeat(8000) }),
        )
    };
    let tasks: Vec<_> = (0..4u64)
        .map(|task| {
            let writer = writer.clone();
            tokio::spawn(async move {
                for n in 0..60u64 {
                    let batch = (0..10).map(|i| big(task * 1000 + n * 10 + i)).collect();
                    writer
                        .append(&stream(task), ExpectedRevision::Any, batch)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let head = writer.head_position().await.unwrap().0;
    let mut seen = 0u64;
    while seen < head {
        let message = tokio::time::timeout(Duration::from_secs(20), subscription.next()).await;
        match message
            .expect("the reader keeps following")
            .expect("not ended")
            .unwrap()
        {
            SubscriptionMessage::Event(event) => {
                assert_eq!(event.position.0, seen, "in order, none missed");
                seen += 1;
            }
            _ => continue,
        }
    }
    assert_eq!(reader.head_position().await.unwrap().0, head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_sees_a_state_change_written_just_before_a_segment_roll() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        segment_bytes_max: 8 << 10,
        ..Options::default()
    };
    let writer = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
    let reader = EmbeddedStore::open_read_only(dir.path(), options).unwrap();
    for round in 0..20u64 {
        for n in 0..12 {
            writer
                .append(
                    &stream(1),
                    ExpectedRevision::Any,
                    vec![event(round * 100 + n)],
                )
                .await
                .unwrap();
        }
        let metadata = eventfold_store::StreamMetadata {
            max_count: Some(round + 1),
            ..Default::default()
        };
        eventfold_store::EventStore::set_stream_metadata(&writer, &stream(1), metadata)
            .await
            .unwrap();
    }
    writer
        .append(&stream(2), ExpectedRevision::Any, vec![event(9)])
        .await
        .unwrap();
    let head = writer.head_position().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while reader.head_position().await.unwrap() < head {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader catches up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let visible = reader
        .read_stream(&stream(1), ReadStream::default())
        .await
        .unwrap();
    assert_eq!(
        visible.len(),
        20,
        "the last max_count (20) applies on the reader too"
    );
    assert_eq!(
        eventfold_store::EventStore::stream_metadata(&reader, &stream(1))
            .await
            .unwrap()
            .max_count,
        Some(20)
    );
}
