//! Seed 003's flows, driven over HTTP as a user would: three service processes over one
//! Eventfold server, including a service that is down for a while and catches up, and replays
//! of every bus that change no service's state.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use eventfold_store::{EventStore, ExpectedRevision, NewEvent, StreamName};

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
    server_holding(Vec::new()).await
}

/// A server whose store already holds `events` (stream, event), as an older server left them.
async fn server_holding(events: Vec<(&str, NewEvent)>) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        eventfold_store::embedded::EmbeddedStore::open(dir.path(), Default::default()).unwrap();
    for (stream, event) in events {
        let stream = StreamName::new(stream).unwrap();
        store
            .append(&stream, ExpectedRevision::Any, vec![event])
            .await
            .unwrap();
    }
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
    until_body(url, |body| body[field] == value).await
}

/// Waits until `url` answers 200 with a body `done` accepts.
async fn until_body(url: String, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let (status, body) = get(url.clone()).await;
        if status == 200 && done(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{url} never got there: {:?}", get(url.clone()).await);
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

/// What the three services show of the warehouse and of each subscription in `ids`.
async fn states(services: &[Process; 3], ids: &[&str]) -> Value {
    let [subscription, stock, payments] = services;
    let mut state = json!({"warehouse": get(format!("{}/stock", stock.url)).await.1});
    for id in ids {
        state[*id] = json!({
            "subscription": get(format!("{}/subscriptions/{id}", subscription.url)).await.1,
            "stock": get(format!("{}/stock/{id}", stock.url)).await.1,
            "payment": get(format!("{}/payments/{id}", payments.url)).await.1,
        });
    }
    state
}

fn start_services(eventfold: &str) -> [Process; 3] {
    ["subscription", "stock", "payments"].map(|service| Process::start(service, eventfold))
}

/// Waits until every rule of `bus` considered every event and replayed copy.
async fn rules_caught_up(eventfold: &str, bus: &str) {
    let (_, described) = get(format!("{eventfold}/buses/{bus}")).await;
    for rule in described["rules"].as_array().unwrap() {
        let url = format!(
            "{eventfold}/buses/{bus}/rules/{}",
            rule["name"].as_str().unwrap()
        );
        until_body(url, |rule| rule["status"]["lag_events"] == 0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_every_bus_then_restarting_every_service_changes_no_state() {
    let (eventfold, _dir) = server().await;
    let services = start_services(&eventfold);
    let [subscription, stock, payments] = &services;
    let mut ids = Vec::new();
    for customer in ["ann", "bob"] {
        let (status, created) = post(
            format!("{}/subscriptions", subscription.url),
            json!({"customer": customer}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let (ann, bob) = (ids[0].as_str(), ids[1].as_str());
    until(
        format!("{}/payments/{ann}", payments.url),
        "status",
        json!("active"),
    )
    .await;
    post(format!("{}/payments/{ann}/cancel", payments.url), json!({})).await;
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
    until(
        format!("{}/stock/{bob}", stock.url),
        "status",
        json!("allocated"),
    )
    .await;
    until(
        format!("{}/payments/{bob}", payments.url),
        "status",
        json!("active"),
    )
    .await;
    let before = states(&services, &[ann, bob]).await;
    assert_eq!(before["warehouse"]["available"], 10_000 - 12);

    // Every bus replays everything it ever had: the rules deliver each event again, marked.
    let inbox = |service: &str| format!("{eventfold}/streams/razors-{service}-inbox?limit=1000");
    let inbox_size = async |service: &str| {
        get(inbox(service)).await.1["events"]
            .as_array()
            .unwrap()
            .len()
    };
    let stock_inbox = inbox_size("stock").await;
    for bus in ["subscription", "stock", "payments"] {
        let body = json!({"name": "again", "from": "2000-01-01T00:00:00Z"});
        let (status, started) = post(format!("{eventfold}/buses/{bus}/replays"), body).await;
        assert_eq!(status, 202, "{started}");
        until(
            format!("{eventfold}/buses/{bus}/replays/again"),
            "state",
            json!("completed"),
        )
        .await;
    }
    for bus in ["subscription", "payments"] {
        rules_caught_up(&eventfold, bus).await;
    }
    assert_eq!(
        inbox_size("stock").await,
        2 * stock_inbox,
        "every event reached Stock again"
    );
    for service in ["subscription", "stock", "payments"] {
        let group = format!("{eventfold}/groups/razors-{service}");
        until_body(group, |group| group["status"]["lag_events"] == 0).await;
    }
    assert_eq!(
        states(&services, &[ann, bob]).await,
        before,
        "handled as redeliveries"
    );

    // Every service rebuilds its state from its bus: the same as before the replays.
    drop(services);
    let services = start_services(&eventfold);
    assert_eq!(
        states(&services, &[ann, bob]).await,
        before,
        "rebuilt after the replays"
    );
}

/// A Stock archive written by a server that put replayed copies into the archive: Stock's
/// state counts the allocation once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_copy_left_in_the_archive_by_an_older_server_is_not_history() {
    let subscription = uuid::Uuid::now_v7();
    let data = json!({"subscription_id": subscription, "razors": 12});
    let original =
        NewEvent::json("StockAllocated", &data).with_metadata(&json!({"source": "razors.stock"}));
    let replay = json!({"name": "old", "of": original.id, "original_time": "2026-11-23T00:00:00Z"});
    let copy = NewEvent::json("StockAllocated", &data)
        .with_metadata(&json!({"source": "razors.stock", "replay": replay}));
    let archive = "$bus:stock:archive";
    let (eventfold, _dir) = server_holding(vec![(archive, original), (archive, copy)]).await;
    let stock = Process::start("stock", &eventfold);
    let (_, warehouse) = get(format!("{}/stock", stock.url)).await;
    assert_eq!(
        (&warehouse["available"], &warehouse["subscriptions"]),
        (&json!(10_000 - 12), &json!(1)),
        "{warehouse}"
    );
}
