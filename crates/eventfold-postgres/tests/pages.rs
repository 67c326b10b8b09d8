//! `$all` pages over long stretches of hidden events, forward and backward, with and without a
//! filter: every visible event exactly once, in order, and the end of the log reached. Needs
//! `EVENTFOLD_TEST_POSTGRES` (CI sets it); without it the test returns at once.

use eventfold_postgres::{PostgresOptions, PostgresStore};
use eventfold_store::{
    AllFrom, Direction, EventFilter, EventStore, ExpectedRevision, NewEvent, ReadAll,
    StreamMetadata, StreamName,
};
use tokio_postgres::NoTls;

const SCHEMA: &str = "eventfold_hidden_pages";

/// Every page of `$all` with `limit`, as (stream, revision), in the order read.
async fn every_page(
    store: &PostgresStore,
    direction: Direction,
    filter: EventFilter,
) -> Vec<(String, u64)> {
    let mut seen = Vec::new();
    let mut from = match direction {
        Direction::Forward => AllFrom::Start,
        Direction::Backward => AllFrom::End,
    };
    for _ in 0..1000 {
        let page = store
            .read_all(ReadAll {
                from,
                direction,
                limit: 3,
                filter: filter.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(
            page.events
                .iter()
                .map(|e| (e.stream.as_str().to_owned(), e.revision.0)),
        );
        if page.end_of_log {
            return seen;
        }
        from = AllFrom::Position(page.next);
    }
    panic!("no end of the log after 1,000 pages");
}

#[tokio::test]
async fn pages_over_hidden_stretches_return_every_visible_event_once() {
    let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        .await
        .unwrap();
    let options = PostgresOptions {
        schema: Some(SCHEMA.into()),
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect(&url, options).await.unwrap();
    let shown = StreamName::new("shown-1").unwrap();
    let hidden = StreamName::new("hidden-1").unwrap();
    let append = |stream: &StreamName, event_type: &str| {
        let (store, stream) = (&store, stream.clone());
        let event = NewEvent::new(event_type, "{}");
        async move {
            store
                .append(&stream, ExpectedRevision::Any, vec![event])
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        append(&shown, "Shown").await;
    }
    for _ in 0..300 {
        append(&hidden, "Hidden").await;
    }
    for _ in 0..5 {
        append(&shown, "Shown").await;
    }
    let truncated = StreamMetadata {
        truncate_before: Some(290),
        ..StreamMetadata::default()
    };
    store.set_stream_metadata(&hidden, truncated).await.unwrap();

    let mut visible: Vec<(String, u64)> = (0..5).map(|r| ("shown-1".into(), r)).collect();
    visible.extend((290..300).map(|r| ("hidden-1".into(), r)));
    visible.extend((5..10).map(|r| ("shown-1".into(), r)));
    let forward = every_page(&store, Direction::Forward, EventFilter::default()).await;
    assert_eq!(forward, visible);
    let mut backward = every_page(&store, Direction::Backward, EventFilter::default()).await;
    backward.reverse();
    assert_eq!(backward, visible);

    let hidden_type = EventFilter {
        event_types: vec!["Hidden".into()],
        ..EventFilter::default()
    };
    let only_hidden: Vec<_> = (290..300).map(|r| ("hidden-1".to_owned(), r)).collect();
    assert_eq!(
        every_page(&store, Direction::Forward, hidden_type.clone()).await,
        only_hidden
    );
    let mut backward = every_page(&store, Direction::Backward, hidden_type).await;
    backward.reverse();
    assert_eq!(backward, only_hidden);
}
