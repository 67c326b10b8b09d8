//! The conformance suite through the client, against a live server on the embedded store.

use std::sync::Arc;

use eventfold_client::Client;
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::testing::TestStore;

/// A server on a fresh store, on an ephemeral port; it stops when the guard is dropped.
async fn fresh_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = eventfold_server::ServerConfig::default();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        eventfold_server::serve(listener, Arc::new(store), &config, shutdown).await
    });
    let client = Client::new(&format!("http://{address}")).unwrap();
    TestStore {
        store: Arc::new(client),
        guard: Box::new((dir, stop)),
    }
}

eventfold_store::conformance_suite!(fresh_store);
