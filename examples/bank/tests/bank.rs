//! The bank driven over HTTP, as a user would.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use bank::{Backend, Bank, BankConfig};

struct Running {
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start_bank(backend: Backend, dir: tempfile::TempDir) -> Running {
    let config = BankConfig {
        backend,
        read_model: dir.path().join("balances.db"),
    };
    let bank = Arc::new(Bank::start(&config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, bank::router(bank)).await });
    Running {
        base,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn embedded_bank() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    start_bank(Backend::Embedded(data), dir).await
}

impl Running {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn open(&self) -> String {
        let (status, body) = self.call(reqwest::Method::POST, "/account", None).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            (body["balance"].as_u64(), body["version"].as_u64()),
            (Some(0), Some(1))
        );
        body["id"].as_str().unwrap().to_owned()
    }

    async fn credit(&self, id: &str, amount: u64) -> (u16, Value) {
        let path = format!("/account/{id}/credit");
        self.call(
            reqwest::Method::POST,
            &path,
            Some(json!({ "amount": amount })),
        )
        .await
    }

    async fn withdraw(&self, id: &str, amount: u64) -> (u16, Value) {
        let path = format!("/account/{id}/withdraw");
        self.call(
            reqwest::Method::POST,
            &path,
            Some(json!({ "amount": amount })),
        )
        .await
    }

    async fn account(&self, id: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, &format!("/account/{id}"), None)
            .await
    }

    /// The read model, once it reflects every account's `version`.
    async fn balances_when_caught_up(&self, versions: usize) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (status, view) = self.call(reqwest::Method::GET, "/accounts", None).await;
            assert_eq!(status, 200, "{view}");
            let total: i64 = view["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["version"].as_i64().unwrap())
                .sum();
            if total as usize == versions {
                return view;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the read model lags: {view}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Seed 001's worked example: a snapshot with balance 60, then −10, −10, +10 → 50.
async fn worked_example(bank: &Running) {
    let id = bank.open().await;
    // Version 1 is the creation; nine credits bring it to version 10 and balance 60, where a
    // snapshot is taken (every 10 events).
    for amount in [5, 5, 5, 5, 5, 5, 10, 10, 10] {
        let (status, body) = bank.credit(&id, amount).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, at_snapshot) = bank.account(&id).await;
    assert_eq!(at_snapshot["balance"], 60);
    assert_eq!(at_snapshot["version"], 10);
    assert_eq!(at_snapshot["snapshot_version"], 10);
    assert_eq!(bank.withdraw(&id, 10).await.1["balance"], 50);
    assert_eq!(bank.withdraw(&id, 10).await.1["balance"], 40);
    assert_eq!(bank.credit(&id, 10).await.1["balance"], 50);
    let (status, after) = bank.account(&id).await;
    assert_eq!(status, 200);
    assert_eq!(after["balance"], 50);
    assert_eq!(after["version"], 13);
    assert_eq!(
        after["snapshot_version"], 10,
        "loaded from the snapshot plus three events"
    );
}

#[tokio::test]
async fn the_seed_worked_example_on_the_embedded_store() {
    worked_example(&embedded_bank().await).await;
}

#[tokio::test]
async fn the_seed_worked_example_through_an_eventfold_server() {
    let server_dir = tempfile::tempdir().unwrap();
    let store =
        eventfold_store::embedded::EmbeddedStore::open(server_dir.path(), Default::default())
            .unwrap();
    let backend = eventfold_server::Backend::embedded(store, server_dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = eventfold_server::ServerConfig::default();
    tokio::spawn(async move {
        eventfold_server::serve(listener, backend, &config, std::future::pending()).await
    });
    let bank = start_bank(Backend::Server(url), tempfile::tempdir().unwrap()).await;
    worked_example(&bank).await;
    assert!(
        has_files(&server_dir.path().join("snapshots")),
        "the snapshots live on the server"
    );
    let view = bank.balances_when_caught_up(13).await;
    assert_eq!(view["accounts"][0]["balance"], 50);
}

fn has_files(dir: &Path) -> bool {
    walk(dir).next().is_some()
}

fn walk(dir: &Path) -> impl Iterator<Item = std::path::PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path).collect::<Vec<_>>()
            } else {
                vec![path]
            }
        })
}

#[tokio::test]
async fn a_withdrawal_beyond_the_balance_is_refused_and_changes_nothing() {
    let bank = embedded_bank().await;
    let id = bank.open().await;
    bank.credit(&id, 30).await;
    let (status, error) = bank.withdraw(&id, 31).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("insufficient_balance"))
    );
    assert!(error["message"].as_str().unwrap().contains("30"));
    let (_, account) = bank.account(&id).await;
    assert_eq!(
        (account["balance"].as_u64(), account["version"].as_u64()),
        (Some(30), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_withdrawals_retry_and_never_overdraw() {
    let bank = Arc::new(embedded_bank().await);
    let id = bank.open().await;
    bank.credit(&id, 100).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (bank, id) = (bank.clone(), id.clone());
        tasks.push(tokio::spawn(async move { bank.withdraw(&id, 30).await }));
    }
    let mut accepted = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => accepted += 1,
            400 => assert_eq!(body["error"], "insufficient_balance"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(accepted, 3, "exactly three withdrawals of 30 fit in 100");
    let (_, account) = bank.account(&id).await;
    assert_eq!(account["balance"], 10);
    assert_eq!(account["version"], 5);
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let bank = embedded_bank().await;
    let id = bank.open().await;
    let missing = uuid::Uuid::new_v4();
    let (status, body) = bank.account(&missing.to_string()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("account_not_found"))
    );
    let (status, body) = bank.credit(&missing.to_string(), 5).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("account_not_found"))
    );
    let (status, body) = bank.account("not-a-uuid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_account_id"))
    );
    let (status, body) = bank.credit(&id, 0).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_amount"))
    );
    let path = format!("/account/{id}/credit");
    for bad in [
        json!({}),
        json!({"amount": -5}),
        json!({"amount": "5"}),
        json!({"amount": 1, "x": 1}),
        json!([1]),
    ] {
        let (status, body) = bank
            .call(reqwest::Method::POST, &path, Some(bad.clone()))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    let huge = json!({ "amount": 1, "pad": "x".repeat(10_000) });
    let (status, body) = bank.call(reqwest::Method::POST, &path, Some(huge)).await;
    assert_eq!(status, 413, "{body}");
    let (status, body) = bank.call(reqwest::Method::GET, "/nowhere", None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (_, account) = bank.account(&id).await;
    assert_eq!(
        (account["balance"].as_u64(), account["version"].as_u64()),
        (Some(0), Some(1))
    );
}

#[tokio::test]
async fn the_balances_read_model_is_purged_and_rebuilt_to_the_same_result() {
    let bank = embedded_bank().await;
    let mut versions = 0;
    for n in 1..=4u64 {
        let id = bank.open().await;
        bank.credit(&id, 100 * n).await;
        bank.withdraw(&id, n).await;
        versions += 3;
    }
    let before = bank.balances_when_caught_up(versions).await;
    assert_eq!(before["accounts"].as_array().unwrap().len(), 4);
    let (status, rebuilt) = bank
        .call(reqwest::Method::POST, "/admin/rebuild", None)
        .await;
    assert_eq!(status, 200, "{rebuilt}");
    assert_eq!(rebuilt["applied"], versions);
    let after = bank.balances_when_caught_up(versions).await;
    assert_eq!(before["accounts"], after["accounts"]);
    // Live again after the rebuild.
    let id = bank.open().await;
    bank.credit(&id, 7).await;
    let live = bank.balances_when_caught_up(versions + 2).await;
    assert!(live["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row["balance"] == 7));
}
