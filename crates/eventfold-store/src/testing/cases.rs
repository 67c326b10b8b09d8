//! The cases of the conformance suite. Each takes a fresh (or shared) store and panics on a
//! broken rule.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use uuid::Uuid;

use crate::{
    AllFrom, DeleteMode, Direction, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadAll, ReadStream, RecordedEvent, Revision, StoreError, StreamFrom, StreamMetadata,
    StreamName, Subscription, SubscriptionMessage,
};

/// How long a case waits for a subscription to deliver before failing.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A category no other case uses.
fn fresh_category() -> String {
    format!("c{}", Uuid::new_v4().simple())
}

fn stream(category: &str, n: u64) -> StreamName {
    StreamName::new(&format!("{category}-{n}")).expect("valid name")
}

fn event(n: u64) -> NewEvent {
    NewEvent::json("Deposited", &serde_json::json!({ "amount": n }))
}

fn events(range: std::ops::Range<u64>) -> Vec<NewEvent> {
    range.map(event).collect()
}

fn amount(event: &RecordedEvent) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(&event.data).expect("JSON data");
    value["amount"].as_u64().expect("an amount")
}

async fn read_forward(store: &dyn EventStore, s: &StreamName) -> Vec<RecordedEvent> {
    let request = ReadStream {
        from: StreamFrom::Start,
        direction: Direction::Forward,
        limit: 10_000,
        ..Default::default()
    };
    store.read_stream(s, request).await.expect("read")
}

fn category_filter(category: &str) -> EventFilter {
    EventFilter {
        category: Some(category.to_owned()),
        ..EventFilter::default()
    }
}

/// Every event of a category in `$all`, forward, following `next` cursors.
async fn read_category(store: &dyn EventStore, category: &str) -> Vec<RecordedEvent> {
    read_filtered(store, category_filter(category)).await
}

/// Every event `filter` lets through, forward, following `next` cursors.
async fn read_filtered(store: &dyn EventStore, filter: EventFilter) -> Vec<RecordedEvent> {
    let pages = ReadAll {
        limit: 100,
        filter,
        ..ReadAll::default()
    };
    read_pages(store, pages, |_| {}).await
}

/// Every event of `$all` forward from the start, in pages like `pages` (its `from` is
/// ignored), following `next` cursors; `check` sees each page.
async fn read_pages(
    store: &dyn EventStore,
    pages: ReadAll,
    mut check: impl FnMut(&[RecordedEvent]),
) -> Vec<RecordedEvent> {
    let mut found = Vec::new();
    let mut from = AllFrom::Start;
    loop {
        let request = ReadAll {
            from,
            ..pages.clone()
        };
        let slice = store.read_all(request).await.expect("read all");
        check(&slice.events);
        found.extend(slice.events);
        if slice.end_of_log {
            return found;
        }
        from = AllFrom::Position(slice.next);
    }
}

/// The next event a subscription delivers (other messages skipped), failing the test if none
/// comes in time.
pub async fn next_event(subscription: &mut Subscription) -> RecordedEvent {
    loop {
        let message = tokio::time::timeout(DELIVERY_TIMEOUT, subscription.next())
            .await
            .expect("delivered in time")
            .expect("subscription still open")
            .expect("no error");
        if let SubscriptionMessage::Event(event) = message {
            return event;
        }
    }
}

fn assert_code(result: Result<impl std::fmt::Debug, StoreError>, code: &str) {
    match result {
        Err(error) => assert_eq!(error.code(), code, "unexpected error: {error}"),
        Ok(value) => panic!("expected error {code}, got {value:?}"),
    }
}

pub async fn append_and_read_both_directions(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    let result = store
        .append(&s, ExpectedRevision::NoStream, events(0..3))
        .await
        .unwrap();
    assert_eq!(
        (result.first_revision, result.last_revision),
        (Revision(0), Revision(2))
    );
    assert!(result.first_position < result.last_position);
    let more = store
        .append(&s, ExpectedRevision::Exact(2), events(3..5))
        .await
        .unwrap();
    assert_eq!(more.first_revision, Revision(3));
    assert!(more.first_position > result.last_position);

    let forward = read_forward(store, &s).await;
    assert_eq!(
        forward.iter().map(amount).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        forward.iter().map(|e| e.revision.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert!(forward.windows(2).all(|w| w[0].position < w[1].position));

    let backward = store
        .read_stream(
            &s,
            ReadStream {
                from: StreamFrom::End,
                direction: Direction::Backward,
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        backward.iter().map(|e| e.revision.0).collect::<Vec<_>>(),
        vec![4, 3]
    );
    let middle = store
        .read_stream(
            &s,
            ReadStream {
                from: StreamFrom::Revision(Revision(1)),
                direction: Direction::Forward,
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        middle.iter().map(|e| e.revision.0).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let down = store
        .read_stream(
            &s,
            ReadStream {
                from: StreamFrom::Revision(Revision(1)),
                direction: Direction::Backward,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        down.iter().map(|e| e.revision.0).collect::<Vec<_>>(),
        vec![1, 0]
    );
    let beyond = store
        .read_stream(
            &s,
            ReadStream {
                from: StreamFrom::Revision(Revision(99)),
                direction: Direction::Forward,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(beyond.is_empty());
}

pub async fn expected_revision_rules(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    assert_code(
        store
            .append(&s, ExpectedRevision::StreamExists, events(0..1))
            .await,
        "wrong_expected_revision",
    );
    assert_code(
        store
            .append(&s, ExpectedRevision::Exact(0), events(0..1))
            .await,
        "wrong_expected_revision",
    );
    store
        .append(&s, ExpectedRevision::NoStream, events(0..1))
        .await
        .unwrap();
    assert_code(
        store
            .append(&s, ExpectedRevision::NoStream, events(1..2))
            .await,
        "wrong_expected_revision",
    );
    store
        .append(&s, ExpectedRevision::StreamExists, events(1..2))
        .await
        .unwrap();
    store
        .append(&s, ExpectedRevision::Exact(1), events(2..3))
        .await
        .unwrap();
    assert_code(
        store
            .append(&s, ExpectedRevision::Exact(1), events(3..4))
            .await,
        "wrong_expected_revision",
    );
    assert_code(
        store
            .append(&s, ExpectedRevision::Exact(5), events(3..4))
            .await,
        "wrong_expected_revision",
    );
    store
        .append(&s, ExpectedRevision::Any, events(3..4))
        .await
        .unwrap();
    assert_eq!(
        read_forward(store, &s).await.len(),
        4,
        "failed appends wrote nothing"
    );
}

pub async fn wrong_expected_revision_reports_the_actual_revision(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    match store
        .append(&s, ExpectedRevision::Exact(3), events(0..1))
        .await
    {
        Err(StoreError::WrongExpectedRevision {
            expected, actual, ..
        }) => {
            assert_eq!((expected, actual), (ExpectedRevision::Exact(3), None));
        }
        other => panic!("expected a wrong expected revision, got {other:?}"),
    }
    store
        .append(&s, ExpectedRevision::Any, events(0..2))
        .await
        .unwrap();
    match store
        .append(&s, ExpectedRevision::NoStream, events(2..3))
        .await
    {
        Err(StoreError::WrongExpectedRevision { actual, .. }) => assert_eq!(actual, Some(1)),
        other => panic!("expected a wrong expected revision, got {other:?}"),
    }
}

pub async fn concurrent_appends_exactly_one_wins_per_revision(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    store
        .append(&s, ExpectedRevision::NoStream, events(0..1))
        .await
        .unwrap();
    let store: Arc<&dyn EventStore> = Arc::new(store);
    let rounds = 20u64;
    let writers = 8u64;
    for round in 0..rounds {
        let attempts = (0..writers).map(|writer| {
            let s = s.clone();
            let store = store.clone();
            async move {
                store
                    .append(
                        &s,
                        ExpectedRevision::Exact(round),
                        events(writer..writer + 1),
                    )
                    .await
            }
        });
        let results = futures::future::join_all(attempts).await;
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: exactly one append wins");
        for result in results.iter().filter(|r| r.is_err()) {
            assert!(matches!(
                result,
                Err(StoreError::WrongExpectedRevision { .. })
            ));
        }
    }
    let all = read_forward(*store, &s).await;
    assert_eq!(all.len() as u64, rounds + 1);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, e)| e.revision.0 == i as u64),
        "gapless"
    );
}

pub async fn concurrent_appends_to_many_streams_keep_order(store: &dyn EventStore) {
    let category = fresh_category();
    let tasks = (0..16u64).map(|writer| {
        let s = stream(&category, writer % 4);
        async move {
            for n in 0..10 {
                store
                    .append(
                        &s,
                        ExpectedRevision::Any,
                        events(writer * 100 + n..writer * 100 + n + 1),
                    )
                    .await
                    .unwrap();
            }
        }
    });
    futures::future::join_all(tasks).await;
    let all = read_category(store, &category).await;
    assert_eq!(all.len(), 160);
    assert!(
        all.windows(2).all(|w| w[0].position < w[1].position),
        "positions strictly increase"
    );
    for n in 0..4 {
        let revisions: Vec<u64> = all
            .iter()
            .filter(|e| e.stream == stream(&category, n))
            .map(|e| e.revision.0)
            .collect();
        assert_eq!(
            revisions,
            (0..40).collect::<Vec<_>>(),
            "stream {n} is gapless and in order in $all"
        );
    }
}

pub async fn idempotent_retry_with_exact_revision(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    store
        .append(&s, ExpectedRevision::NoStream, events(0..1))
        .await
        .unwrap();
    let batch = events(1..4);
    let first = store
        .append(&s, ExpectedRevision::Exact(0), batch.clone())
        .await
        .unwrap();
    let again = store
        .append(&s, ExpectedRevision::Exact(0), batch.clone())
        .await
        .unwrap();
    assert_eq!(first, again, "the retry returns the original result");
    store
        .append(&s, ExpectedRevision::Exact(3), events(4..5))
        .await
        .unwrap();
    let late = store
        .append(&s, ExpectedRevision::Exact(0), batch)
        .await
        .unwrap();
    assert_eq!(first, late, "even after later writes");
    assert_eq!(
        read_forward(store, &s).await.len(),
        5,
        "nothing written twice"
    );
}

pub async fn idempotent_retry_with_no_stream(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    let batch = events(0..2);
    let first = store
        .append(&s, ExpectedRevision::NoStream, batch.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .append(&s, ExpectedRevision::NoStream, batch)
            .await
            .unwrap(),
        first
    );
    assert_eq!(read_forward(store, &s).await.len(), 2);
    assert_code(
        store
            .append(&s, ExpectedRevision::NoStream, events(5..6))
            .await,
        "wrong_expected_revision",
    );
}

pub async fn idempotent_retry_with_any(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    let batch = events(0..3);
    let first = store
        .append(&s, ExpectedRevision::Any, batch.clone())
        .await
        .unwrap();
    store
        .append(&s, ExpectedRevision::Any, events(3..4))
        .await
        .unwrap();
    assert_eq!(
        store
            .append(&s, ExpectedRevision::Any, batch.clone())
            .await
            .unwrap(),
        first
    );
    assert_eq!(read_forward(store, &s).await.len(), 4);
    // The same ids in a different arrangement are not a retry.
    let mut shuffled = batch;
    shuffled.swap(0, 1);
    assert_code(
        store.append(&s, ExpectedRevision::Any, shuffled).await,
        "event_id_conflict",
    );
    assert_eq!(read_forward(store, &s).await.len(), 4, "nothing written");
}

pub async fn only_a_whole_earlier_append_is_a_retry(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    let first = events(0..1);
    store
        .append(&s, ExpectedRevision::Any, first.clone())
        .await
        .unwrap();
    let triple = events(1..4);
    let original = store
        .append(&s, ExpectedRevision::Exact(0), triple.clone())
        .await
        .unwrap();
    // A superset, a prefix, a suffix, or a new event mixed with a written one: ids are taken.
    let superset: Vec<NewEvent> = first.iter().cloned().chain(events(9..10)).collect();
    assert_code(
        store.append(&s, ExpectedRevision::Any, superset).await,
        "event_id_conflict",
    );
    assert_code(
        store
            .append(&s, ExpectedRevision::Any, triple[..2].to_vec())
            .await,
        "event_id_conflict",
    );
    assert_code(
        store
            .append(&s, ExpectedRevision::Any, triple[1..].to_vec())
            .await,
        "event_id_conflict",
    );
    let mixed = vec![event(20), triple[2].clone()];
    assert_code(
        store.append(&s, ExpectedRevision::Any, mixed).await,
        "event_id_conflict",
    );
    // The whole append again: with its own expectation, or with `any`, it is a retry.
    assert_eq!(
        store
            .append(&s, ExpectedRevision::Exact(0), triple.clone())
            .await
            .unwrap(),
        original
    );
    assert_eq!(
        store
            .append(&s, ExpectedRevision::Any, triple.clone())
            .await
            .unwrap(),
        original
    );
    // With an expectation the original could not have had, it is a wrong expectation.
    assert_code(
        store
            .append(&s, ExpectedRevision::Exact(2), triple.clone())
            .await,
        "wrong_expected_revision",
    );
    assert_code(
        store.append(&s, ExpectedRevision::NoStream, triple).await,
        "wrong_expected_revision",
    );
    assert_eq!(
        read_forward(store, &s).await.len(),
        4,
        "nothing was written twice"
    );
}

pub async fn reused_event_id_in_another_stream_is_refused(store: &dyn EventStore) {
    let category = fresh_category();
    let batch = events(0..1);
    store
        .append(&stream(&category, 1), ExpectedRevision::Any, batch.clone())
        .await
        .unwrap();
    assert_code(
        store
            .append(&stream(&category, 2), ExpectedRevision::Any, batch)
            .await,
        "event_id_conflict",
    );
    assert_code(
        store
            .read_stream(&stream(&category, 2), ReadStream::default())
            .await,
        "stream_not_found",
    );
}

pub async fn read_all_pages_forward_and_backward(store: &dyn EventStore) {
    let category = fresh_category();
    for n in 0..5 {
        store
            .append(
                &stream(&category, n),
                ExpectedRevision::Any,
                events(n * 10..n * 10 + 10),
            )
            .await
            .unwrap();
    }
    let forward = read_category(store, &category).await;
    assert_eq!(forward.len(), 50);
    let mut backward = Vec::new();
    let mut from = AllFrom::End;
    loop {
        let request = ReadAll {
            from,
            direction: Direction::Backward,
            limit: 7,
            filter: category_filter(&category),
            ..Default::default()
        };
        let slice = store.read_all(request).await.unwrap();
        assert!(slice.events.len() <= 7);
        backward.extend(slice.events);
        if slice.end_of_log {
            break;
        }
        from = AllFrom::Position(slice.next);
    }
    backward.reverse();
    assert_eq!(forward, backward);
    // Unfiltered pages of the whole log chain without gaps or overlaps.
    let first = forward[0].position;
    let page = store
        .read_all(ReadAll {
            from: AllFrom::Position(first),
            limit: 3,
            ..ReadAll::default()
        })
        .await
        .unwrap();
    assert_eq!(page.events.len(), 3);
    assert_eq!(page.events[0].position, first);
    assert_eq!(page.next, Position(page.events[2].position.0 + 1));
}

pub async fn read_all_filters_by_category_type_and_prefix(store: &dyn EventStore) {
    let category = fresh_category();
    let other = fresh_category();
    let typed = |t: &str| NewEvent::new(t, "{}");
    store
        .append(
            &stream(&category, 1),
            ExpectedRevision::Any,
            vec![typed("Opened"), typed("Deposited")],
        )
        .await
        .unwrap();
    store
        .append(
            &stream(&other, 1),
            ExpectedRevision::Any,
            vec![typed("Opened")],
        )
        .await
        .unwrap();
    store
        .append(
            &stream(&category, 22),
            ExpectedRevision::Any,
            vec![typed("Closed")],
        )
        .await
        .unwrap();

    let of_category = read_category(store, &category).await;
    assert_eq!(
        of_category
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["Opened", "Deposited", "Closed"]
    );

    let filter = EventFilter {
        category: Some(category.clone()),
        event_types: vec!["Opened".into(), "Closed".into()],
        ..EventFilter::default()
    };
    let slice = store
        .read_all(ReadAll {
            filter,
            ..ReadAll::default()
        })
        .await
        .unwrap();
    assert_eq!(
        slice
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["Opened", "Closed"]
    );

    let filter = EventFilter {
        stream_prefix: Some(format!("{category}-2")),
        ..EventFilter::default()
    };
    let mut from = AllFrom::Start;
    let mut by_prefix = Vec::new();
    loop {
        let slice = store
            .read_all(ReadAll {
                from,
                filter: filter.clone(),
                ..ReadAll::default()
            })
            .await
            .unwrap();
        by_prefix.extend(slice.events);
        if slice.end_of_log {
            break;
        }
        from = AllFrom::Position(slice.next);
    }
    assert_eq!(by_prefix.len(), 1);
    assert_eq!(by_prefix[0].event_type, "Closed");

    let filter = EventFilter {
        event_types: vec![format!("Never{category}")],
        ..EventFilter::default()
    };
    let slice = store
        .read_all(ReadAll {
            filter,
            ..ReadAll::default()
        })
        .await
        .unwrap();
    assert!(slice.events.is_empty() && slice.end_of_log);
}

pub async fn read_all_from_a_time(store: &dyn EventStore) {
    let category = fresh_category();
    store
        .append(&stream(&category, 1), ExpectedRevision::Any, events(0..2))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .append(&stream(&category, 1), ExpectedRevision::Any, events(2..4))
        .await
        .unwrap();
    let request = ReadAll {
        from: AllFrom::Time(between),
        filter: category_filter(&category),
        ..ReadAll::default()
    };
    let after = store.read_all(request).await.unwrap();
    assert_eq!(
        after.events.iter().map(amount).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(after.events.iter().all(|e| e.recorded_at >= between));
    let request = ReadAll {
        from: AllFrom::Time(between),
        direction: Direction::Backward,
        filter: category_filter(&category),
        ..ReadAll::default()
    };
    let before = store.read_all(request).await.unwrap();
    assert_eq!(
        before.events.iter().map(amount).collect::<Vec<_>>(),
        vec![1, 0]
    );
}

pub async fn read_all_from_the_end(store: &dyn EventStore) {
    let category = fresh_category();
    let written = store
        .append(&stream(&category, 1), ExpectedRevision::Any, events(0..3))
        .await
        .unwrap();
    let written_head = Position(written.last_position.0 + 1);
    let slice = store
        .read_all(ReadAll {
            from: AllFrom::End,
            ..ReadAll::default()
        })
        .await
        .unwrap();
    assert!(slice.events.is_empty() && slice.end_of_log);
    // Other writers may share the backend: the end is somewhere between the two heads.
    assert!(slice.next >= written_head && slice.next <= store.head_position().await.unwrap());
    let last = store
        .read_all(ReadAll {
            from: AllFrom::End,
            direction: Direction::Backward,
            limit: 1,
            filter: category_filter(&category),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(last.events.iter().map(amount).collect::<Vec<_>>(), vec![2]);
}

pub async fn subscribe_all_hands_over_from_history_to_live(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    store
        .append(&s, ExpectedRevision::Any, events(0..700))
        .await
        .unwrap();
    let mut subscription = store
        .subscribe_all(AllFrom::Start, category_filter(&category))
        .await
        .unwrap();
    // Take part of history, then write live events while the rest of history is delivered.
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.push(amount(&next_event(&mut subscription).await));
    }
    for n in 700..760 {
        store
            .append(&s, ExpectedRevision::Any, events(n..n + 1))
            .await
            .unwrap();
    }
    while seen.len() < 760 {
        seen.push(amount(&next_event(&mut subscription).await));
    }
    store
        .append(&s, ExpectedRevision::Any, events(760..761))
        .await
        .unwrap();
    seen.push(amount(&next_event(&mut subscription).await));
    assert_eq!(
        seen,
        (0..761).collect::<Vec<_>>(),
        "every event once, in order"
    );
}

pub async fn subscribe_all_with_filter_sends_checkpoints(store: &dyn EventStore) {
    let category = fresh_category();
    let mut subscription = store
        .subscribe_all(AllFrom::End, category_filter(&category))
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(DELIVERY_TIMEOUT, subscription.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if message == SubscriptionMessage::CaughtUp {
            break;
        }
    }
    let noise = stream(&fresh_category(), 1);
    let written = store
        .append(&noise, ExpectedRevision::Any, events(0..3))
        .await
        .unwrap();
    let checkpoint = loop {
        let message = tokio::time::timeout(DELIVERY_TIMEOUT, subscription.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match message {
            SubscriptionMessage::Checkpoint(position) if position > written.last_position => {
                break position
            }
            SubscriptionMessage::Event(event) => panic!("filtered-out event delivered: {event:?}"),
            _ => {}
        }
    };
    assert!(checkpoint > written.last_position);
}

pub async fn subscribe_stream_before_it_exists(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    let mut subscription = store.subscribe_stream(&s, StreamFrom::Start).await.unwrap();
    store
        .append(
            &stream(&category, 2),
            ExpectedRevision::Any,
            events(100..101),
        )
        .await
        .unwrap();
    store
        .append(&s, ExpectedRevision::Any, events(0..2))
        .await
        .unwrap();
    assert_eq!(amount(&next_event(&mut subscription).await), 0);
    assert_eq!(amount(&next_event(&mut subscription).await), 1);
    store
        .append(&s, ExpectedRevision::Any, events(2..3))
        .await
        .unwrap();
    let third = next_event(&mut subscription).await;
    assert_eq!((third.revision, amount(&third)), (Revision(2), 2));
}

pub async fn subscribe_from_the_end_sees_only_new_events(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    store
        .append(&s, ExpectedRevision::Any, events(0..5))
        .await
        .unwrap();
    let mut all = store
        .subscribe_all(AllFrom::End, category_filter(&category))
        .await
        .unwrap();
    let mut one = store.subscribe_stream(&s, StreamFrom::End).await.unwrap();
    // Make sure both have resolved "the end" before writing.
    for subscription in [&mut all, &mut one] {
        loop {
            let message = tokio::time::timeout(DELIVERY_TIMEOUT, subscription.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if message == SubscriptionMessage::CaughtUp {
                break;
            }
        }
    }
    store
        .append(&s, ExpectedRevision::Any, events(5..6))
        .await
        .unwrap();
    assert_eq!(amount(&next_event(&mut all).await), 5);
    assert_eq!(amount(&next_event(&mut one).await), 5);
}

pub async fn metadata_max_count_and_truncate_before(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    store
        .append(&s, ExpectedRevision::Any, events(0..10))
        .await
        .unwrap();
    let metadata = StreamMetadata {
        max_count: Some(3),
        ..StreamMetadata::default()
    };
    store.set_stream_metadata(&s, metadata).await.unwrap();
    let visible: Vec<u64> = read_forward(store, &s)
        .await
        .iter()
        .map(|e| e.revision.0)
        .collect();
    assert_eq!(visible, vec![7, 8, 9]);
    assert_eq!(
        read_category(store, &category).await.len(),
        3,
        "$all honours max_count"
    );

    let metadata = StreamMetadata {
        truncate_before: Some(5),
        ..StreamMetadata::default()
    };
    store.set_stream_metadata(&s, metadata).await.unwrap();
    let visible: Vec<u64> = read_forward(store, &s)
        .await
        .iter()
        .map(|e| e.revision.0)
        .collect();
    assert_eq!(visible, (5..10).collect::<Vec<_>>());
    assert_eq!(
        read_category(store, &category).await.len(),
        5,
        "$all honours truncate_before"
    );
    let backward = store
        .read_stream(
            &s,
            ReadStream {
                from: StreamFrom::End,
                direction: Direction::Backward,
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(backward.len(), 5);
    // Revisions continue.
    let next = store
        .append(&s, ExpectedRevision::Exact(9), events(10..11))
        .await
        .unwrap();
    assert_eq!(next.first_revision, Revision(10));
}

pub async fn metadata_max_age(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    store
        .append(&s, ExpectedRevision::Any, events(0..3))
        .await
        .unwrap();
    let metadata = StreamMetadata {
        max_age_secs: Some(1),
        ..StreamMetadata::default()
    };
    store.set_stream_metadata(&s, metadata).await.unwrap();
    assert_eq!(
        read_forward(store, &s).await.len(),
        3,
        "young events are visible"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    store
        .append(&s, ExpectedRevision::Any, events(3..4))
        .await
        .unwrap();
    let visible: Vec<u64> = read_forward(store, &s).await.iter().map(amount).collect();
    assert_eq!(visible, vec![3], "old events are hidden");
    assert_eq!(
        read_category(store, &category).await.len(),
        1,
        "$all honours max_age"
    );
}

pub async fn metadata_round_trips(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    assert_eq!(
        store.stream_metadata(&s).await.unwrap(),
        StreamMetadata::default()
    );
    let metadata = StreamMetadata {
        max_count: Some(100),
        custom: Some(serde_json::json!({"owner": "payments", "tags": [1, 2]})),
        ..StreamMetadata::default()
    };
    store
        .set_stream_metadata(&s, metadata.clone())
        .await
        .unwrap();
    assert_eq!(store.stream_metadata(&s).await.unwrap(), metadata);
    assert_code(
        store.read_stream(&s, ReadStream::default()).await,
        "stream_not_found",
    );
}

pub async fn oversized_or_too_deep_metadata_is_refused(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    store
        .append(&s, ExpectedRevision::Any, events(0..1))
        .await
        .unwrap();
    let text = format!("{}1{}", "[".repeat(126), "]".repeat(126));
    let deep = StreamMetadata {
        custom: Some(serde_json::from_str(&text).unwrap()),
        ..StreamMetadata::default()
    };
    assert_code(store.set_stream_metadata(&s, deep).await, "invalid_request");
    let big = StreamMetadata {
        custom: Some("x".repeat(1 << 20).into()),
        ..StreamMetadata::default()
    };
    assert_code(store.set_stream_metadata(&s, big).await, "too_large");
    assert_eq!(
        store.stream_metadata(&s).await.unwrap(),
        StreamMetadata::default(),
        "nothing changed"
    );
}

pub async fn soft_delete_then_write_again(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    store
        .append(&s, ExpectedRevision::Any, events(0..3))
        .await
        .unwrap();
    assert_code(
        store
            .delete_stream(&s, ExpectedRevision::Exact(0), DeleteMode::Soft)
            .await,
        "wrong_expected_revision",
    );
    store
        .delete_stream(&s, ExpectedRevision::Exact(2), DeleteMode::Soft)
        .await
        .unwrap();
    assert_code(
        store.read_stream(&s, ReadStream::default()).await,
        "stream_not_found",
    );
    assert_eq!(store.stream_revision(&s).await.unwrap(), None);
    assert!(
        read_category(store, &category).await.is_empty(),
        "$all hides deleted events"
    );
    assert_code(
        store
            .delete_stream(&s, ExpectedRevision::Any, DeleteMode::Soft)
            .await,
        "stream_not_found",
    );

    let again = store
        .append(&s, ExpectedRevision::NoStream, events(3..4))
        .await
        .unwrap();
    assert_eq!(again.first_revision, Revision(3), "revisions continue");
    let visible: Vec<u64> = read_forward(store, &s)
        .await
        .iter()
        .map(|e| e.revision.0)
        .collect();
    assert_eq!(visible, vec![3]);
    assert_eq!(store.stream_revision(&s).await.unwrap(), Some(Revision(3)));
}

pub async fn hard_delete_is_final(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    store
        .append(&s, ExpectedRevision::Any, events(0..2))
        .await
        .unwrap();
    store
        .delete_stream(&s, ExpectedRevision::Any, DeleteMode::Hard)
        .await
        .unwrap();
    assert_code(
        store.append(&s, ExpectedRevision::Any, events(2..3)).await,
        "stream_deleted",
    );
    assert_code(
        store
            .append(&s, ExpectedRevision::NoStream, events(2..3))
            .await,
        "stream_deleted",
    );
    assert_code(
        store.read_stream(&s, ReadStream::default()).await,
        "stream_deleted",
    );
    assert_code(
        store
            .delete_stream(&s, ExpectedRevision::Any, DeleteMode::Soft)
            .await,
        "stream_deleted",
    );
    assert_code(
        store
            .set_stream_metadata(&s, StreamMetadata::default())
            .await,
        "stream_deleted",
    );
    assert!(
        read_category(store, &category).await.is_empty(),
        "$all hides tombstoned events"
    );
}

pub async fn stream_revision_reports_the_head(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    assert_eq!(store.stream_revision(&s).await.unwrap(), None);
    store
        .append(&s, ExpectedRevision::Any, events(0..4))
        .await
        .unwrap();
    assert_eq!(store.stream_revision(&s).await.unwrap(), Some(Revision(3)));
    let head = store.head_position().await.unwrap();
    let last = store
        .read_stream(
            &s,
            ReadStream {
                from: StreamFrom::End,
                direction: Direction::Backward,
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(last[0].position < head);
}

pub async fn missing_stream_is_not_found(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    assert_code(
        store.read_stream(&s, ReadStream::default()).await,
        "stream_not_found",
    );
}

pub async fn bad_appends_are_refused_and_change_nothing(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    assert_code(
        store.append(&s, ExpectedRevision::Any, vec![]).await,
        "empty_append",
    );
    assert_code(
        store
            .append(
                &s,
                ExpectedRevision::Any,
                vec![NewEvent::new("T", "{not json")],
            )
            .await,
        "invalid_event",
    );
    assert_code(
        store
            .append(&s, ExpectedRevision::Any, vec![NewEvent::new("", "{}")])
            .await,
        "invalid_event",
    );
    let huge = format!("\"{}\"", "x".repeat(1 << 20));
    assert_code(
        store
            .append(&s, ExpectedRevision::Any, vec![NewEvent::new("T", huge)])
            .await,
        "too_large",
    );
    let big = format!("\"{}\"", "x".repeat(900 << 10));
    let too_many_bytes: Vec<NewEvent> = (0..19).map(|_| NewEvent::new("T", big.clone())).collect();
    assert_code(
        store
            .append(&s, ExpectedRevision::Any, too_many_bytes)
            .await,
        "too_large",
    );
    let twice = NewEvent::new("T", "{}");
    assert_code(
        store
            .append(&s, ExpectedRevision::Any, vec![twice.clone(), twice])
            .await,
        "invalid_event",
    );
    assert_code(
        store
            .read_stream(
                &s,
                ReadStream {
                    limit: 1_000_000,
                    ..ReadStream::default()
                },
            )
            .await,
        "invalid_request",
    );
    assert!(
        read_category(store, &category).await.is_empty(),
        "nothing was written"
    );
    assert_code(
        store.read_stream(&s, ReadStream::default()).await,
        "stream_not_found",
    );
}

pub async fn extreme_numbers_are_ordinary_inputs(store: &dyn EventStore) {
    let category = fresh_category();
    let s = stream(&category, 1);
    store
        .append(&s, ExpectedRevision::NoStream, events(0..1))
        .await
        .unwrap();
    let max = ExpectedRevision::Exact(u64::MAX);
    assert_code(
        store.append(&s, max, events(0..1)).await,
        "wrong_expected_revision",
    );
    let almost = ExpectedRevision::Exact(u64::MAX - 1);
    assert_code(
        store.append(&s, almost, events(0..2)).await,
        "wrong_expected_revision",
    );
    assert_eq!(
        read_category(store, &category).await.len(),
        1,
        "nothing was written"
    );
    let forever = StreamMetadata {
        max_age_secs: Some(u64::MAX),
        max_count: Some(u64::MAX),
        truncate_before: Some(0),
        ..StreamMetadata::default()
    };
    store.set_stream_metadata(&s, forever).await.unwrap();
    assert_eq!(
        read_forward(store, &s).await.len(),
        1,
        "huge limits hide nothing"
    );
    let far = ReadAll {
        from: AllFrom::Position(Position(u64::MAX)),
        ..ReadAll::default()
    };
    assert!(store.read_all(far).await.unwrap().events.is_empty());
    let far_back = ReadAll {
        from: AllFrom::Position(Position(u64::MAX)),
        direction: Direction::Backward,
        limit: 1,
        ..ReadAll::default()
    };
    assert_eq!(store.read_all(far_back).await.unwrap().events.len(), 1);
    let far_stream = ReadStream {
        from: StreamFrom::Revision(Revision(u64::MAX)),
        direction: Direction::Backward,
        limit: 5,
        ..Default::default()
    };
    assert_eq!(store.read_stream(&s, far_stream).await.unwrap().len(), 1);
    let ancient = chrono::DateTime::from_timestamp(-62_000_000_000, 0).unwrap();
    let from_ancient = ReadAll {
        from: AllFrom::Time(ancient),
        limit: 1,
        ..ReadAll::default()
    };
    assert_eq!(store.read_all(from_ancient).await.unwrap().events.len(), 1);
}

pub async fn oversized_filters_are_refused(store: &dyn EventStore) {
    let many = EventFilter {
        event_types: (0..33).map(|n| format!("T{n}")).collect(),
        ..EventFilter::default()
    };
    assert_code(
        store
            .read_all(ReadAll {
                filter: many.clone(),
                ..ReadAll::default()
            })
            .await,
        "invalid_request",
    );
    assert_code(
        store.subscribe_all(AllFrom::Start, many).await.map(|_| ()),
        "invalid_request",
    );
    let long = EventFilter {
        stream_prefix: Some("x".repeat(257)),
        ..EventFilter::default()
    };
    assert_code(
        store
            .read_all(ReadAll {
                filter: long,
                ..ReadAll::default()
            })
            .await,
        "invalid_request",
    );
    for control in [
        EventFilter {
            category: Some("acc\0ount".into()),
            ..EventFilter::default()
        },
        EventFilter {
            event_types: vec!["Deposited\n".into()],
            ..EventFilter::default()
        },
    ] {
        assert_code(
            store
                .read_all(ReadAll {
                    filter: control,
                    ..ReadAll::default()
                })
                .await,
            "invalid_request",
        );
    }
    // Repeating a type is fine and returns each event once.
    let category = fresh_category();
    store
        .append(&stream(&category, 1), ExpectedRevision::Any, events(0..2))
        .await
        .unwrap();
    let twice = EventFilter {
        category: None,
        stream_prefix: Some(format!("{category}-")),
        event_types: vec!["Deposited".into(), "Deposited".into()],
    };
    assert_eq!(
        read_filtered(store, twice).await.len(),
        2,
        "each event once"
    );
}

pub async fn event_fields_round_trip(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    let occurred = chrono::DateTime::parse_from_rfc3339("2020-02-29T12:34:56.789Z")
        .unwrap()
        .to_utc();
    let id = Uuid::new_v4();
    let binary = NewEvent::new("Blob", vec![0u8, 159, 146, 150, 255])
        .with_content_type("application/octet-stream")
        .with_id(id)
        .with_metadata(&serde_json::json!({"correlation": "abc", "n": 1}))
        .with_occurred_at(occurred);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    store
        .append(&s, ExpectedRevision::Any, vec![binary.clone()])
        .await
        .unwrap();
    let read = &read_forward(store, &s).await[0];
    assert_eq!(read.id, id);
    assert_eq!(read.event_type, "Blob");
    assert_eq!(read.content_type, "application/octet-stream");
    assert_eq!(read.data, binary.data);
    let metadata: serde_json::Value = serde_json::from_slice(&read.metadata).unwrap();
    assert_eq!(metadata, serde_json::json!({"correlation": "abc", "n": 1}));
    assert_eq!(read.occurred_at, Some(occurred));
    assert!(read.recorded_at >= before);
    assert_eq!(read.stream, s);
    let ids: HashSet<Uuid> = [read.id].into_iter().collect();
    assert!(ids.contains(&id));
}

/// A page holds at most `bytes_max` bytes of events (at least one event), and paging on from
/// where a short page ended reads every event exactly once, in both directions, on one stream
/// and on `$all`.
pub async fn pages_end_at_their_byte_budget(store: &dyn EventStore) {
    const EVENT_BYTES: usize = 100_000;
    let category = fresh_category();
    let s = stream(&category, 1);
    let big: Vec<NewEvent> = (0..10u64)
        .map(|n| {
            let data = serde_json::json!({ "amount": n, "pad": "x".repeat(EVENT_BYTES) });
            NewEvent::json("Deposited", &data)
        })
        .collect();
    store
        .append(&s, ExpectedRevision::NoStream, big)
        .await
        .unwrap();
    let budget = 3 * EVENT_BYTES + EVENT_BYTES / 2;
    for direction in [Direction::Forward, Direction::Backward] {
        let mut from = match direction {
            Direction::Forward => StreamFrom::Start,
            Direction::Backward => StreamFrom::End,
        };
        let mut amounts = Vec::new();
        let mut pages = 0;
        loop {
            let request = ReadStream {
                from,
                direction,
                limit: 100,
                bytes_max: budget,
            };
            let page = store.read_stream(&s, request).await.unwrap();
            let Some(last) = page.last() else { break };
            assert!(
                (2..=3).contains(&page.len()) || amounts.len() + page.len() == 10,
                "{} events in a page of {budget} bytes",
                page.len()
            );
            amounts.extend(page.iter().map(amount));
            from = match direction {
                Direction::Forward => StreamFrom::Revision(Revision(last.revision.0 + 1)),
                Direction::Backward if last.revision.0 == 0 => break,
                Direction::Backward => StreamFrom::Revision(Revision(last.revision.0 - 1)),
            };
            pages += 1;
            assert!(pages <= 10, "paging goes on");
        }
        let mut expected: Vec<u64> = (0..10).collect();
        if direction == Direction::Backward {
            expected.reverse();
        }
        assert_eq!(amounts, expected, "{direction:?}");
    }
    // A budget smaller than one event still gives one event.
    let tiny = ReadStream {
        bytes_max: 1,
        ..ReadStream::default()
    };
    assert_eq!(store.read_stream(&s, tiny).await.unwrap().len(), 1);
    // `$all`: short pages, `next` right after the last event, nothing skipped.
    let pages = ReadAll {
        limit: 100,
        bytes_max: budget,
        filter: category_filter(&category),
        ..ReadAll::default()
    };
    let read = read_pages(store, pages, |page| {
        assert!(page.len() <= 3, "{} events", page.len());
    })
    .await;
    let amounts: Vec<u64> = read.iter().map(amount).collect();
    assert_eq!(amounts, (0..10).collect::<Vec<u64>>());
}

/// Events hidden by `max_age` do not count against a page's byte budget: a read past a hidden
/// prefix larger than the budget still returns the visible events (it never ends empty).
pub async fn hidden_events_do_not_use_the_byte_budget(store: &dyn EventStore) {
    let s = stream(&fresh_category(), 1);
    let big: Vec<NewEvent> = (0..10u64)
        .map(|n| {
            NewEvent::json(
                "Old",
                &serde_json::json!({ "amount": n, "pad": "x".repeat(100_000) }),
            )
        })
        .collect();
    store
        .append(&s, ExpectedRevision::NoStream, big)
        .await
        .unwrap();
    let metadata = StreamMetadata {
        max_age_secs: Some(1),
        ..StreamMetadata::default()
    };
    store.set_stream_metadata(&s, metadata).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    store
        .append(&s, ExpectedRevision::Any, events(100..102))
        .await
        .unwrap();
    let request = ReadStream {
        limit: 100,
        bytes_max: 250_000,
        ..ReadStream::default()
    };
    let page = store.read_stream(&s, request).await.unwrap();
    assert_eq!(page.iter().map(amount).collect::<Vec<_>>(), [100, 101]);
    let pages = ReadAll {
        limit: 100,
        bytes_max: 250_000,
        filter: EventFilter {
            stream_prefix: Some(s.as_str().to_owned()),
            ..EventFilter::default()
        },
        ..ReadAll::default()
    };
    let amounts: Vec<u64> = read_pages(store, pages, |_| {})
        .await
        .iter()
        .map(amount)
        .collect();
    assert_eq!(amounts, [100, 101]);
}
