//! Consumer groups and buses on PostgreSQL, through two server nodes: definitions made on one
//! node reach the other, checkpoints live in the database (a new node resumes from them), and
//! rules running on both nodes still write each copy once. Needs `EVENTFOLD_TEST_POSTGRES`.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use eventfold_postgres::{PostgresOptions, PostgresStore};

struct Node {
    base: String,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn node(url: &str, schema: &str) -> Node {
    let options = PostgresOptions {
        schema: Some(schema.into()),
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect(url, options)
        .await
        .expect("PostgreSQL");
    let backend = eventfold_server::Backend {
        store: std::sync::Arc::new(store.clone()),
        snapshots: std::sync::Arc::new(store),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        let config = eventfold_server::ServerConfig::default();
        let shutdown = async move {
            let _ = stopped.await;
        };
        eventfold_server::serve(listener, backend, &config, shutdown).await
    });
    Node { base, stop, done }
}

impl Node {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap().unwrap();
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_buses_keep_their_state_in_postgresql_across_nodes() {
    let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
        return;
    };
    use reqwest::Method;
    let schema = format!("eventfold_groups_{}", uuid::Uuid::new_v4().simple());
    let a = node(&url, &schema).await;
    let b = node(&url, &schema).await;

    // A group made on node A reaches node B.
    let (status, created) = a
        .call(
            Method::PUT,
            "/groups/work",
            Some(json!({"filter": {"category": "job"}, "start": "start"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    eventually("node B knows the group", async || {
        b.call(Method::GET, "/groups/work", None).await.0 == 200
    })
    .await;

    // Events appended through B, consumed and acked through A.
    for n in 0..30 {
        let body = json!({"events": [{"type": "Job", "data": {"n": n}}]});
        let (status, _) = b
            .call(Method::POST, &format!("/streams/job-{}", n % 3), Some(body))
            .await;
        assert_eq!(status, 201);
    }
    let mut acked = 0;
    while acked < 30 {
        let (_, fetched) = a
            .call(
                Method::POST,
                "/groups/work/fetch",
                Some(json!({"max": 100, "wait_ms": 2000})),
            )
            .await;
        let ids: Vec<Value> = fetched["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["ack_id"].clone())
            .collect();
        assert!(!ids.is_empty(), "delivery goes on");
        let (_, settled) = a
            .call(
                Method::POST,
                "/groups/work/ack",
                Some(json!({"ack_ids": ids})),
            )
            .await;
        acked += settled["settled"].as_u64().unwrap();
    }
    a.stop().await; // saves the checkpoint in PostgreSQL

    // A new node resumes from the checkpoint in the database: nothing is delivered again.
    let c = node(&url, &schema).await;
    let (_, fetched) = c
        .call(
            Method::POST,
            "/groups/work/fetch",
            Some(json!({"max": 100, "wait_ms": 1000})),
        )
        .await;
    assert_eq!(
        fetched["messages"],
        json!([]),
        "acked events stay acked on another node"
    );
    let (_, described) = c.call(Method::GET, "/groups/work", None).await;
    assert_eq!(described["status"]["lag_events"], 0, "{described}");

    // A rule runs on both nodes; its copies are written once (derived ids are idempotent).
    c.call(Method::PUT, "/buses/orders", Some(json!({}))).await;
    let rule = json!({"pattern": {"type": ["Placed"]}, "targets": [{"stream": "copies"}]});
    let (status, _) = c
        .call(Method::PUT, "/buses/orders/rules/copy", Some(rule))
        .await;
    assert_eq!(status, 201);
    eventually("node B knows the rule", async || {
        b.call(Method::GET, "/buses/orders/rules/copy", None)
            .await
            .0
            == 200
    })
    .await;
    let events: Vec<Value> = (0..20)
        .map(|n| json!({"source": "shop", "type": "Placed", "data": {"n": n}}))
        .collect();
    let (status, _) = b
        .call(
            Method::POST,
            "/buses/orders/events",
            Some(json!({"events": events})),
        )
        .await;
    assert_eq!(status, 201);
    eventually("both nodes' rules caught up", async || {
        let (_, on_b) = b.call(Method::GET, "/buses/orders/rules/copy", None).await;
        let (_, on_c) = c.call(Method::GET, "/buses/orders/rules/copy", None).await;
        on_b["status"]["lag_events"] == 0 && on_c["status"]["lag_events"] == 0
    })
    .await;
    let (_, copies) = c.call(Method::GET, "/streams/copies?limit=100", None).await;
    let numbers: Vec<u64> = copies["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (0..20).collect::<Vec<_>>(),
        "each copy once, in order"
    );

    b.stop().await;
    c.stop().await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
