//! The conformance suite through the client, against a live server on the embedded store.

use std::sync::Arc;

use eventfold_store::EventStore;

use eventfold_client::Client;
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::testing::TestStore;

/// A server on a fresh store, on an ephemeral port; it stops when the guard is dropped.
async fn fresh_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    let backend = eventfold_server::Backend::embedded(store, dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = eventfold_server::ServerConfig::default();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        eventfold_server::serve(listener, backend, &config, shutdown).await
    });
    let client = Client::new(&format!("http://{address}")).unwrap();
    TestStore {
        store: Arc::new(client),
        guard: Box::new((dir, stop)),
    }
}

eventfold_store::conformance_suite!(fresh_store);

#[tokio::test]
async fn snapshots_round_trip_through_the_server() {
    use eventfold_store::{Snapshot, SnapshotStore, StreamName};
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    let backend = eventfold_server::Backend::embedded(store, dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = eventfold_server::ServerConfig::default();
    tokio::spawn(async move {
        eventfold_server::serve(listener, backend, &config, std::future::pending()).await
    });
    let client = Client::new(&format!("http://{address}")).unwrap();
    let stream = StreamName::new("account-7").unwrap();
    assert_eq!(SnapshotStore::load(&client, &stream).await.unwrap(), None);
    let events = (0..20)
        .map(|n| eventfold_store::NewEvent::json("Credited", &n))
        .collect();
    let written = client
        .append(&stream, eventfold_store::ExpectedRevision::NoStream, events)
        .await
        .unwrap();
    let last = client
        .read_stream(
            &stream,
            eventfold_store::ReadStream {
                from: eventfold_store::StreamFrom::End,
                direction: eventfold_store::Direction::Backward,
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let snapshot = Snapshot {
        stream: stream.clone(),
        revision: written.last_revision.0,
        last_event_id: last[0].id,
        schema_version: 3,
        recorded_at: chrono::Utc::now(),
        state: bytes::Bytes::from_static(br#"{"balance":60}"#),
    };
    client.save(snapshot.clone()).await.unwrap();
    assert_eq!(
        SnapshotStore::load(&client, &stream).await.unwrap(),
        Some(snapshot.clone())
    );
    assert!(
        dir.path().join("snapshots").is_dir(),
        "kept in the data directory"
    );
    let not_json = Snapshot {
        state: bytes::Bytes::from_static(b"{oops"),
        ..snapshot.clone()
    };
    assert_eq!(
        client.save(not_json).await.unwrap_err().code(),
        "invalid_request"
    );
    // A snapshot must end at an event its stream has.
    for (revision, id) in [
        (20, last[0].id),
        (19, uuid::Uuid::new_v4()),
        (u64::MAX, last[0].id),
    ] {
        let forged = Snapshot {
            revision,
            last_event_id: id,
            ..snapshot.clone()
        };
        assert_eq!(client.save(forged).await.unwrap_err().code(), "conflict");
    }
    assert_eq!(
        SnapshotStore::load(&client, &stream).await.unwrap(),
        Some(snapshot.clone()),
        "refused snapshots change nothing"
    );
    SnapshotStore::delete(&client, &stream).await.unwrap();
    assert_eq!(SnapshotStore::load(&client, &stream).await.unwrap(), None);
}
