//! A server on the embedded store in a temporary directory, and small JSON-over-HTTP helpers.
#![allow(dead_code)] // each test file uses its own share of the helpers

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
    let backend = backend(dir.path());
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

fn backend(dir: &Path) -> eventfold_server::Backend {
    let store = EmbeddedStore::open(dir, Options::default()).unwrap();
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
