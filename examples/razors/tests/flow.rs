//! Seed 003's flows, driven over HTTP as a user would: three service processes over one
//! Eventfold server, including a service that is down for a while and catches up.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// A razors service process; killed when dropped.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn start(service: &str, server: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_razors"))
            .args([service, "--server", server, "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in stderr.lines() {});
        Self { child, url }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn server() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        eventfold_store::embedded::EmbeddedStore::open(dir.path(), Default::default()).unwrap();
    let backend = eventfold_server::Backend::embedded(store, dir.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let config = eventfold_server::ServerConfig::default();
        eventfold_server::serve(listener, backend, &config, std::future::pending()).await
    });
    (url, dir)
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(url: String) -> (u16, Value) {
    call(reqwest::Method::GET, url, None).await
}

async fn post(url: String, body: Value) -> (u16, Value) {
    call(reqwest::Method::POST, url, Some(body)).await
}

/// Waits until `url` answers 200 with `field` equal to `value`.
async fn until(url: String, field: &str, value: Value) -> Value {
    for _ in 0..400 {
        let (status, body) = get(url.clone()).await;
        if status == 200 && body[field] == value {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{url} never had {field} = {value}: {:?}",
        get(url.clone()).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_flow_through_stock_and_payments_and_survive_an_outage() {
    let (eventfold, _dir) = server().await;
    let subscription = Process::start("subscription", &eventfold);
    let payments = Process::start("payments", &eventfold);
    let mut stock = Process::start("stock", &eventfold);

    // Create a subscription: Stock allocates 12 razors, Payments creates a direct debit.
    let (status, ann) = post(
        format!("{}/subscriptions", subscription.url),
        json!({"customer": "ann"}),
    )
    .await;
    assert_eq!(status, 201, "{ann}");
    let ann = ann["id"].as_str().unwrap().to_owned();
    let allocated = until(
        format!("{}/stock/{ann}", stock.url),
        "status",
        json!("allocated"),
    )
    .await;
    assert_eq!(allocated["razors"], 12);
    until(
        format!("{}/payments/{ann}", payments.url),
        "status",
        json!("active"),
    )
    .await;

    // Cancel the payment: Stock deallocates, Subscription cancels.
    let (status, cancelled) =
        post(format!("{}/payments/{ann}/cancel", payments.url), json!({})).await;
    assert_eq!((status, &cancelled["status"]), (200, &json!("cancelled")));
    let (status, again) = post(format!("{}/payments/{ann}/cancel", payments.url), json!({})).await;
    assert_eq!((status, &again["error"]), (409, &json!("conflict")));
    until(
        format!("{}/stock/{ann}", stock.url),
        "status",
        json!("deallocated"),
    )
    .await;
    until(
        format!("{}/subscriptions/{ann}", subscription.url),
        "status",
        json!("cancelled"),
    )
    .await;

    // Stock goes down; a subscription made meanwhile waits in its inbox, nothing is lost.
    drop(stock);
    let (_, bob) = post(
        format!("{}/subscriptions", subscription.url),
        json!({"customer": "bob"}),
    )
    .await;
    let bob = bob["id"].as_str().unwrap().to_owned();
    until(
        format!("{}/payments/{bob}", payments.url),
        "status",
        json!("active"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stock = Process::start("stock", &eventfold);
    until(
        format!("{}/stock/{bob}", stock.url),
        "status",
        json!("allocated"),
    )
    .await;
    let (_, warehouse) = get(format!("{}/stock", stock.url)).await;
    assert_eq!(
        (
            warehouse["available"].clone(),
            warehouse["subscriptions"].clone()
        ),
        (json!(10_000 - 12), json!(1)),
        "state rebuilt from the bus: ann's razors back, bob's allocated once"
    );

    // Bad input: clear errors.
    let (status, error) = post(format!("{}/subscriptions", subscription.url), json!({})).await;
    assert_eq!((status, &error["error"]), (400, &json!("invalid_request")));
    let (status, _) = get(format!("{}/subscriptions/not-an-id", subscription.url)).await;
    assert_eq!(status, 400);
    let unknown = uuid::Uuid::now_v7();
    let (status, _) = get(format!("{}/payments/{unknown}", payments.url)).await;
    assert_eq!(status, 404);

    // Each bus takes events from its own service only.
    let forged = json!({"events": [{"source": "razors.payments", "type": "SubscriptionCreated", "data": {}}]});
    let (status, error) = post(format!("{eventfold}/buses/subscription/events"), forged).await;
    assert_eq!((status, &error["error"]), (403, &json!("forbidden_source")));
}
