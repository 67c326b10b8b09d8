//! A server on the embedded store in a temporary directory, and small JSON-over-HTTP helpers.
#![allow(dead_code)] // each test file uses its own share of the helpers

pub mod hook;

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;

use eventfold_server::ServerConfig;
use eventfold_store::embedded::{EmbeddedStore, Options};

pub struct Server {
    pub base: String,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
    pub dir: Arc<tempfile::TempDir>,
}

impl Server {
    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> Arc<tempfile::TempDir> {
        self.stop.take().unwrap().send(()).unwrap();
        (&mut self.done).await.unwrap().unwrap();
        self.dir.clone()
    }
}

/// A server on a fresh directory.
pub async fn start(config: ServerConfig) -> Server {
    start_in(Arc::new(tempfile::tempdir().unwrap()), config).await
}

/// A server on `dir` (which may hold an earlier server's data).
pub async fn start_in(dir: Arc<tempfile::TempDir>, config: ServerConfig) -> Server {
    serve(backend(dir.path()).await, dir, config).await
}

/// Serves `backend` (`dir` is the directory the caller gets back from [`Server::stop`]).
async fn serve(
    backend: eventfold_server::Backend,
    dir: Arc<tempfile::TempDir>,
    config: ServerConfig,
) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        eventfold_server::serve(listener, backend, &config, shutdown).await
    });
    Server {
        base,
        stop: Some(stop),
        done,
        dir,
    }
}

/// A schema of its own in the PostgreSQL database named by `EVENTFOLD_TEST_POSTGRES`.
pub struct Postgres {
    url: String,
    schema: String,
}

impl Postgres {
    /// A fresh schema; `None` when `EVENTFOLD_TEST_POSTGRES` is unset (the test then returns).
    pub fn from_env() -> Option<Self> {
        let url = std::env::var("EVENTFOLD_TEST_POSTGRES").ok()?;
        let schema = format!("eventfold_server_{}", uuid::Uuid::new_v4().simple());
        Some(Self { url, schema })
    }

    /// A server node on the schema (which may hold an earlier node's data).
    pub async fn start(&self, config: ServerConfig) -> Server {
        let options = eventfold_postgres::PostgresOptions {
            schema: Some(self.schema.clone()),
            ..Default::default()
        };
        let store = eventfold_postgres::PostgresStore::connect(&self.url, options)
            .await
            .expect("PostgreSQL at EVENTFOLD_TEST_POSTGRES");
        let backend = eventfold_server::Backend {
            store: Arc::new(store.clone()),
            snapshots: Arc::new(store),
        };
        serve(backend, Arc::new(tempfile::tempdir().unwrap()), config).await
    }

    /// Drops the schema.
    pub async fn drop_schema(self) {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

/// The embedded store on `dir`. A server that just stopped may still be letting go of it (its
/// last connection tasks end a moment after `serve` returns): a locked store is tried again for
/// a few seconds.
async fn backend(dir: &Path) -> eventfold_server::Backend {
    let mut tries = 0;
    let store = loop {
        match EmbeddedStore::open(dir, Options::default()) {
            Err(eventfold_store::StoreError::Locked(_)) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            opened => break opened.unwrap(),
        }
    };
    eventfold_server::Backend::embedded(store, dir).unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let request = client().post(format!("{}{path}", server.base)).json(&body);
    answer(request.send().await.unwrap()).await
}

pub async fn put(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let request = client().put(format!("{}{path}", server.base)).json(&body);
    answer(request.send().await.unwrap()).await
}

pub async fn get(server: &Server, path: &str) -> (u16, Value) {
    let request = client().get(format!("{}{path}", server.base));
    answer(request.send().await.unwrap()).await
}

pub async fn delete(server: &Server, path: &str) -> (u16, Value) {
    let request = client().delete(format!("{}{path}", server.base));
    answer(request.send().await.unwrap()).await
}

pub async fn head_position(server: &Server) -> u64 {
    get(server, "/health").await.1["head_position"]
        .as_u64()
        .unwrap()
}

/// The `/metrics` text.
pub async fn metrics(server: &Server) -> String {
    let request = client().get(format!("{}/metrics", server.base));
    request.send().await.unwrap().text().await.unwrap()
}

/// Polls `check` every 25 ms until it gives a value (10 s at most, then fails naming `what`).
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..400 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

/// The events of `stream` (up to 1,000); none when it does not exist or was deleted.
pub async fn stream_events(server: &Server, stream: &str) -> Vec<Value> {
    let (status, read) = get(server, &format!("/streams/{stream}?limit=1000")).await;
    if status == 404 || status == 410 {
        return Vec::new();
    }
    assert_eq!(status, 200, "{read}");
    read["events"].as_array().unwrap().clone()
}
