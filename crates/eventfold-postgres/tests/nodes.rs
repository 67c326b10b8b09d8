//! Several nodes over one database: global order without skips, appends through either node
//! seen by subscribers on both, snapshots shared, recovery from lost connections. Needs
//! `EVENTFOLD_TEST_POSTGRES` (CI sets it); without it these tests return at once.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;

use eventfold_postgres::{PostgresOptions, PostgresStore};
use eventfold_store::{
    AllFrom, Direction, EventFilter, EventStore, ExpectedRevision, NewEvent, ReadAll, Snapshot,
    SnapshotStore, StreamName, SubscriptionMessage,
};

const SCHEMA: &str = "eventfold_nodes";

async fn node() -> Option<PostgresStore> {
    let url = std::env::var("EVENTFOLD_TEST_POSTGRES").ok()?;
    let options = PostgresOptions {
        schema: Some(SCHEMA.into()),
        ..PostgresOptions::default()
    };
    Some(
        PostgresStore::connect(&url, options)
            .await
            .expect("PostgreSQL"),
    )
}

fn category() -> String {
    format!("c{}", uuid::Uuid::new_v4().simple())
}

fn filter(category: &str) -> EventFilter {
    EventFilter {
        category: Some(category.into()),
        ..EventFilter::default()
    }
}

/// Reads `count` events of a subscription, checking positions strictly increase.
async fn receive(
    store: PostgresStore,
    from: AllFrom,
    filter: EventFilter,
    count: usize,
) -> Vec<u64> {
    let mut subscription = store.subscribe_all(from, filter).await.unwrap();
    let mut positions: Vec<u64> = Vec::with_capacity(count);
    while positions.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), subscription.next())
            .await
            .expect("events keep arriving")
            .expect("the subscription goes on")
            .unwrap();
        if let SubscriptionMessage::Event(event) = message {
            if let Some(last) = positions.last() {
                assert!(
                    event.position.0 > *last,
                    "position {} after {last}",
                    event.position.0
                );
            }
            positions.push(event.position.0);
        }
    }
    positions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appenders_on_two_nodes_never_make_a_subscriber_skip() {
    let (Some(a), Some(b)) = (node().await, node().await) else {
        return;
    };
    let category = category();
    let start = AllFrom::Position(a.head_position().await.unwrap());
    let writers = 16usize;
    let appends = 25usize;
    let total = writers * appends * 2;
    // Subscribers on both nodes, filtered and not, started before the writers.
    let mut subscribers = Vec::new();
    for store in [&a, &b] {
        subscribers.push(tokio::spawn(receive(
            store.clone(),
            start,
            filter(&category),
            total,
        )));
    }

    let mut tasks = Vec::new();
    for writer in 0..writers {
        for store in [&a, &b] {
            let (store, category) = (store.clone(), category.clone());
            tasks.push(tokio::spawn(async move {
                let stream = StreamName::new(&format!("{category}-{writer}")).unwrap();
                for n in 0..appends {
                    let events = vec![NewEvent::json("Tick", &n), NewEvent::json("Tock", &n)];
                    store
                        .append(&stream, ExpectedRevision::Any, events)
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut seen = Vec::new();
    for subscriber in subscribers {
        let positions = subscriber.await.unwrap();
        let unique: HashSet<u64> = positions.iter().copied().collect();
        assert_eq!(unique.len(), total, "every event exactly once");
        seen.push(positions);
    }
    assert_eq!(
        seen[0], seen[1],
        "both nodes deliver the same events in the same order"
    );
    // Unfiltered, the log (others' events included) is strictly increasing and holds ours.
    let mut ours: HashSet<u64> = seen[0].iter().copied().collect();
    let mut everything = a
        .subscribe_all(start, EventFilter::default())
        .await
        .unwrap();
    let mut last = None;
    while !ours.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(30), everything.next())
            .await
            .expect("events keep arriving")
            .unwrap()
            .unwrap();
        if let SubscriptionMessage::Event(event) = message {
            assert!(last < Some(event.position.0), "order");
            last = Some(event.position.0);
            ours.remove(&event.position.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_through_one_node_wakes_a_subscriber_on_the_other() {
    let (Some(a), Some(b)) = (node().await, node().await) else {
        return;
    };
    let category = category();
    let mut on_b = b
        .subscribe_all(AllFrom::End, filter(&category))
        .await
        .unwrap();
    // Let the subscription reach the end of history.
    loop {
        let message = on_b.next().await.unwrap().unwrap();
        if message == SubscriptionMessage::CaughtUp {
            break;
        }
    }
    let stream = StreamName::new(&format!("{category}-1")).unwrap();
    let written = a
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![NewEvent::json("Hello", &1)],
        )
        .await
        .unwrap();
    // Woken by the notification, well before the one-second fallback poll.
    let received = tokio::time::timeout(Duration::from_millis(900), async {
        loop {
            if let SubscriptionMessage::Event(event) = on_b.next().await.unwrap().unwrap() {
                return event;
            }
        }
    })
    .await
    .expect("woken by NOTIFY");
    assert_eq!(received.position, written.first_position);
    assert_eq!(b.stream_revision(&stream).await.unwrap().unwrap().0, 0);
    assert!(b.head_position().await.unwrap() > written.last_position);
}

#[tokio::test]
async fn snapshots_are_shared_by_the_nodes() {
    let (Some(a), Some(b)) = (node().await, node().await) else {
        return;
    };
    let stream = StreamName::new(&format!("{}-1", category())).unwrap();
    assert_eq!(SnapshotStore::load(&b, &stream).await.unwrap(), None);
    let snapshot = Snapshot {
        stream: stream.clone(),
        revision: 9,
        last_event_id: uuid::Uuid::new_v4(),
        schema_version: 2,
        recorded_at: chrono::DateTime::from_timestamp_nanos(1_700_000_000_123_456_789),
        state: bytes::Bytes::from_static(br#"{"balance":60}"#),
    };
    a.save(snapshot.clone()).await.unwrap();
    assert_eq!(
        SnapshotStore::load(&b, &stream).await.unwrap(),
        Some(snapshot)
    );
    SnapshotStore::delete(&b, &stream).await.unwrap();
    assert_eq!(SnapshotStore::load(&a, &stream).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_gives_an_error_then_the_node_recovers() {
    let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
        return;
    };
    // This node's connections carry a name of their own, so only they are killed.
    let name = format!("eventfold_kill_{}", uuid::Uuid::new_v4().simple());
    let separator = if url.contains('?') { '&' } else { '?' };
    let options = PostgresOptions {
        schema: Some(SCHEMA.into()),
        ..PostgresOptions::default()
    };
    let named = format!("{url}{separator}application_name={name}");
    let store = PostgresStore::connect(&named, options).await.unwrap();
    let stream = StreamName::new(&format!("{}-1", category())).unwrap();
    store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![NewEvent::json("A", &1)],
        )
        .await
        .unwrap();
    let (killer, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let killed: i64 = killer
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed > 0, "some connection was killed");
    // Calls may fail while the pool notices; they fail with a clear error, and then work.
    let mut recovered = false;
    for attempt in 0..20 {
        let result = store
            .append(
                &stream,
                ExpectedRevision::Any,
                vec![NewEvent::json("B", &attempt)],
            )
            .await;
        match result {
            Ok(_) => {
                recovered = true;
                break;
            }
            Err(error) => {
                assert_eq!(error.code(), "backend", "{error}");
                assert!(error.to_string().contains("PostgreSQL"), "{error}");
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered, "the node recovers once connections are back");
    let events = store
        .read_stream(&stream, eventfold_store::ReadStream::default())
        .await
        .unwrap();
    assert_eq!(events[0].event_type, "A");
    assert!(
        events.len() >= 2,
        "nothing was half-applied and the retry landed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_page_read_in_two_halves_keeps_its_order() {
    let Some(store) = node().await else {
        return;
    };
    let stream = StreamName::new(&format!("{}-1", category())).unwrap();
    let events = (0..5000).map(|n| NewEvent::json("N", &n)).collect();
    let written = store
        .append(&stream, ExpectedRevision::NoStream, events)
        .await
        .unwrap();
    let (first, last) = (written.first_position, written.last_position);
    for direction in [Direction::Forward, Direction::Backward] {
        let from = match direction {
            Direction::Forward => first,
            Direction::Backward => last,
        };
        let page = store
            .read_all(ReadAll {
                from: AllFrom::Position(from),
                direction,
                limit: 5000,
                filter: EventFilter::default(),
                ..Default::default()
            })
            .await
            .unwrap();
        let positions: Vec<u64> = page.events.iter().map(|e| e.position.0).collect();
        let mut expected: Vec<u64> = (first.0..=last.0).collect();
        if direction == Direction::Backward {
            expected.reverse();
        }
        assert_eq!(positions, expected, "{direction:?}");
    }
}
