//! The HTTP API, driven over real HTTP against a server on the embedded store.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use eventfold_server::ServerConfig;

mod common;

use common::{client, get, head_position, post, put, start, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_read_metadata_and_delete_over_http() {
    let server = start(ServerConfig::default()).await;
    let append = json!({"expected_revision": "no_stream", "events": [
        {"type": "Deposited", "data": {"amount": 10}, "metadata": {"by": "teller"}},
        {"type": "Blob", "content_type": "application/octet-stream", "data": "AAEC/w=="},
    ]});
    let (status, written) = post(&server, "/streams/account-1", append.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(written["last_revision"], 1);

    let (status, conflict) = post(
        &server,
        "/streams/account-1",
        json!({
        "expected_revision": 7, "events": [{"type": "Deposited", "data": {}}]}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        (
            conflict["error"].as_str(),
            conflict["expected"].as_u64(),
            conflict["actual"].as_u64()
        ),
        (Some("wrong_expected_revision"), Some(7), Some(1))
    );

    let (status, read) = get(&server, "/streams/account-1").await;
    assert_eq!(status, 200);
    let events = read["events"].as_array().unwrap();
    assert_eq!(events[0]["data"]["amount"], 10);
    assert_eq!(events[0]["metadata"]["by"], "teller");
    assert_eq!(
        events[1]["data"], "AAEC/w==",
        "binary data travels base64-encoded"
    );
    let (_, backward) = get(&server, "/streams/account-1?direction=backward&limit=1").await;
    assert_eq!(backward["events"][0]["revision"], 1);

    post(
        &server,
        "/streams/order-1",
        json!({"events": [{"type": "Placed", "data": {}}]}),
    )
    .await;
    let (_, page) = get(&server, "/all?limit=2").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["next"], 2);
    let (_, rest) = get(&server, "/all?from=2").await;
    assert_eq!(rest["events"][0]["stream"], "order-1");
    assert_eq!(rest["end_of_log"], true);
    let (_, typed) = get(&server, "/all?type=Placed,Blob&category=account").await;
    assert_eq!(typed["events"].as_array().unwrap().len(), 1);
    let (_, since) = get(&server, "/all?since=2000-01-01T00:00:00Z").await;
    assert_eq!(since["events"].as_array().unwrap().len(), 3);
    // With both, the later start: after position 1 and at or after the time of event 2.
    let second_time = since["events"][2]["recorded_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, both) = get(&server, "/all?from=1&since=2000-01-01T00:00:00Z").await;
    assert_eq!(both["events"][0]["position"], 1, "{both}");
    let (_, both) = get(&server, &format!("/all?from=1&since={second_time}")).await;
    assert_eq!(both["events"][0]["position"], 2, "{both}");
    let (_, both) = get(&server, "/all?from=2&since=2999-01-01T00:00:00Z").await;
    assert_eq!(both["events"].as_array().unwrap().len(), 0, "{both}");

    let response = client()
        .put(format!("{}/streams/account-1/metadata", server.base))
        .json(&json!({"max_count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (_, limited) = get(&server, "/streams/account-1").await;
    assert_eq!(limited["events"].as_array().unwrap().len(), 1);

    let deleted = client()
        .delete(format!("{}/streams/account-1?hard=true", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let (status, gone) = post(
        &server,
        "/streams/account-1",
        json!({"events": [{"type": "X", "data": {}}]}),
    )
    .await;
    assert_eq!(
        (status, gone["error"].as_str()),
        (410, Some("stream_deleted"))
    );
    let (status, missing) = get(&server, "/streams/nobody-1").await;
    assert_eq!(
        (status, missing["error"].as_str()),
        (404, Some("stream_not_found"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_a_json_error_and_change_nothing() {
    let config = ServerConfig {
        body_bytes_max: 64 << 10,
        ..ServerConfig::default()
    };
    let server = start(config).await;
    post(
        &server,
        "/streams/account-1",
        json!({"events": [{"type": "Opened", "data": {}}]}),
    )
    .await;
    let _ = common::put(&server, "/groups/g", json!({})).await;
    let _ = common::put(&server, "/buses/b", json!({})).await;
    let before = head_position(&server).await;
    let event = json!({"type": "T", "data": {}});
    let bus_event = |source: &str| json!({"events": [{"source": source, "type": "T", "data": {}}]});
    let long_name = format!("/streams/{}", "a".repeat(300));
    let bodies: Vec<(&str, String)> = vec![
        ("/streams/account-1", "{not json".into()),
        ("/streams/account-1", "[]".into()),
        ("/streams/account-1", json!({"events": "x"}).to_string()),
        (
            "/streams/account-1",
            json!({"events": [{"data": {}}]}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [event], "colour": 1}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [], "expected_revision": "any"}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [event], "expected_revision": "maybe"}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [event], "expected_revision": -1}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [{"type": "", "data": {}}]}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [{"type": "T", "data": {}, "metadata": [1]}]}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [{"type": "T", "data": {}, "id": "nope"}]}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [{"type": "T", "data": {}, "occurred_at": "yesterday"}]}).to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [{"type": "B", "content_type": "image/png", "data": "%%%"}]})
                .to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [{"type": "B", "content_type": "image/png", "data": {"a": 1}}]})
                .to_string(),
        ),
        (
            "/streams/account-1",
            json!({"events": [{"type": "T", "data": "x".repeat(70_000)}]}).to_string(),
        ),
        (&long_name, json!({"events": [event]}).to_string()),
        (
            "/streams/bad%0Aname",
            json!({"events": [event]}).to_string(),
        ),
        ("/groups/g/fetch", "{not json".into()),
        ("/groups/g/fetch", json!({"max": "x"}).to_string()),
        ("/groups/g/fetch", json!({"wait_ms": 3_600_000}).to_string()),
        ("/groups/g/ack", json!({"ack_ids": [1]}).to_string()),
        (
            "/groups/g/nack",
            json!({"ack_ids": ["1"], "action": "explode"}).to_string(),
        ),
        ("/buses/b/events", bus_event("s\u{1}").to_string()),
        ("/buses/b/events", bus_event(&"s".repeat(300)).to_string()),
        (
            "/buses/b/events",
            json!({"events": [{"source": "s", "type": "T", "data": "x".repeat(70_000)}]})
                .to_string(),
        ),
        (
            "/buses/b/replays",
            json!({"name": "r", "from": "yesterday"}).to_string(),
        ),
        ("/buses/nobody/events", bus_event("s").to_string()),
        ("/streams/$groups", json!({"events": [event]}).to_string()),
        (
            "/streams/$bus:b:archive",
            json!({"events": [event]}).to_string(),
        ),
    ];
    for (path, body) in bodies {
        let response = client()
            .post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let error: Value = response.json().await.unwrap();
        assert!((400..500).contains(&status), "{status} for {body:.80}");
        assert!(
            error["error"].is_string() && error["message"].is_string(),
            "{error} for {body:.80}"
        );
    }
    let no_type = client()
        .post(format!("{}/streams/account-1", server.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(
        (400..500).contains(&no_type.status().as_u16()),
        "a body that is not declared JSON"
    );
    let queries = [
        "/streams/account-1?limit=abc",
        "/streams/account-1?from=middle",
        "/streams/account-1?direction=sideways",
        "/streams/account-1?limit=1000000",
        "/streams/account-1?colour=red",
        "/all?since=yesterday",
        "/all?from=1&since=2020-01-01T00:00:00Z&direction=backward",
        "/all?type=A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q,R,S,T,U,V,W,X,Y,Z,AA,BB,CC,DD,EE,FF,GG",
        "/subscribe/all?limit=3",
        "/nothing/here",
    ];
    for path in queries {
        let (status, error) = get(&server, path).await;
        assert!((400..500).contains(&status), "{status} for {path}");
        assert!(error["error"].is_string(), "{error} for {path}");
    }
    let resume = client()
        .get(format!("{}/subscribe/all", server.base))
        .header("last-event-id", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(resume.status().as_u16(), 400);
    let delete = client()
        .delete(format!(
            "{}/streams/account-1?expected_revision=maybe",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status().as_u16(), 400);
    let metadata = client()
        .put(format!("{}/streams/account-1/metadata", server.base))
        .json(&json!({"max_cont": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status().as_u16(), 400);
    assert_eq!(head_position(&server).await, before, "nothing was written");
    let (_, stream) = get(&server, "/streams/account-1").await;
    assert_eq!(stream["events"].as_array().unwrap().len(), 1);
}

/// A minimal SSE reader: `(event, id, data)` per message.
struct SseReader {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl SseReader {
    async fn open(server: &Server, path: &str, last_event_id: Option<&str>) -> Self {
        let mut request = client().get(format!("{}{path}", server.base));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    async fn next(&mut self) -> Option<(String, Option<String>, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::from("message"), None, String::new());
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event: ") {
                        event = value.into()
                    }
                    if let Some(value) = line.strip_prefix("id: ") {
                        id = Some(value.into())
                    }
                    if let Some(value) = line.strip_prefix("data: ") {
                        data.push_str(value)
                    }
                }
                if block.lines().all(|line| line.starts_with(':')) {
                    continue; // keep-alive comment
                }
                return Some((event, id, data));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("in time")?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    }

    async fn next_event(&mut self) -> Value {
        loop {
            let (event, _, data) = self.next().await.expect("an event");
            if event == "message" {
                return serde_json::from_str(&data).unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_deliver_history_then_live_and_resume_after_the_last_event_id() {
    let server = start(ServerConfig::default()).await;
    for n in 0..3 {
        post(
            &server,
            "/streams/account-1",
            json!({"events": [{"type": "Deposited", "data": {"n": n}}]}),
        )
        .await;
        post(
            &server,
            "/streams/order-1",
            json!({"events": [{"type": "Placed", "data": {"n": n}}]}),
        )
        .await;
    }
    let mut all = SseReader::open(&server, "/subscribe/all?category=account", None).await;
    for n in 0..3 {
        assert_eq!(all.next_event().await["data"]["n"], n);
    }
    loop {
        if all.next().await.unwrap().0 == "caught_up" {
            break;
        }
    }
    post(
        &server,
        "/streams/account-2",
        json!({"events": [{"type": "Deposited", "data": {"n": 3}}]}),
    )
    .await;
    let live = all.next_event().await;
    assert_eq!(
        (live["stream"].as_str(), live["data"]["n"].as_u64()),
        (Some("account-2"), Some(3))
    );
    // Resuming after the second account event (position 2) gives the third one first.
    let mut resumed = SseReader::open(&server, "/subscribe/all?category=account", Some("2")).await;
    assert_eq!(resumed.next_event().await["data"]["n"], 2);
    // One stream, by revision.
    let mut one = SseReader::open(&server, "/subscribe/streams/account-1?from=1", None).await;
    let (event, id, _) = one.next().await.unwrap();
    assert_eq!((event.as_str(), id.as_deref()), ("message", Some("1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_subscriptions_cleanly_and_the_subscriber_limit_holds() {
    let config = ServerConfig {
        subscribers_max: 1,
        ..ServerConfig::default()
    };
    let mut server = start(config).await;
    let mut first = SseReader::open(&server, "/subscribe/all", None).await;
    assert_eq!(first.next().await.unwrap().0, "caught_up");
    let (status, refused) = get(&server, "/subscribe/all").await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (503, Some("too_many_subscribers"))
    );
    server.stop.take().unwrap().send(()).unwrap();
    assert!(first.next().await.is_none(), "the stream ends cleanly");
    let result = tokio::time::timeout(Duration::from_secs(10), &mut server.done).await;
    result.expect("the server stops").unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_appends_and_subscribers_in_prometheus_format() {
    let server = start(ServerConfig::default()).await;
    for n in 0..3 {
        post(
            &server,
            "/streams/account-1",
            json!({"events": [{"type": "T", "data": {"n": n}}, {"type": "T", "data": {}}]}),
        )
        .await;
    }
    post(
        &server,
        "/streams/account-1",
        json!({"expected_revision": 0, "events": [{"type": "T", "data": {}}]}),
    )
    .await;
    let mut subscription = SseReader::open(&server, "/subscribe/all?from=end", None).await;
    assert_eq!(subscription.next().await.unwrap().0, "caught_up");
    let response = client()
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value("eventfold_appends_total"), 3.0);
    assert_eq!(value("eventfold_append_errors_total"), 1.0);
    assert_eq!(value("eventfold_events_appended_total"), 6.0);
    assert_eq!(value("eventfold_append_seconds_count"), 3.0);
    assert_eq!(value("eventfold_head_position"), 6.0);
    assert_eq!(value("eventfold_subscribers"), 1.0);
    assert_eq!(value("eventfold_subscriber_lag_events"), 0.0);
    assert!(text.contains("eventfold_append_seconds_bucket{le=\"+Inf\"} 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_pages_say_where_the_next_starts_and_whether_the_stream_ends() {
    let server = start(ServerConfig::default()).await;
    let events: Vec<Value> = (0..5)
        .map(|n| json!({"type": "T", "data": {"n": n}}))
        .collect();
    assert_eq!(
        post(&server, "/streams/pages-1", json!({"events": events}))
            .await
            .0,
        201
    );
    let page = |query: &'static str| {
        let server = &server;
        async move {
            let (status, page) = get(server, &format!("/streams/pages-1?{query}")).await;
            assert_eq!(status, 200, "{query}: {page}");
            let revisions: Vec<u64> = page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["revision"].as_u64().unwrap())
                .collect();
            (
                revisions,
                page["next"].clone(),
                page["end_of_stream"].clone(),
            )
        }
    };
    let cases = [
        ("limit=2", (vec![0, 1], json!(2), json!(false))),
        ("from=2&limit=3", (vec![2, 3, 4], json!(5), json!(true))),
        ("from=4", (vec![4], json!(5), json!(true))),
        ("from=9", (vec![], json!(9), json!(true))),
        (
            "direction=backward&limit=2",
            (vec![4, 3], json!(2), json!(false)),
        ),
        (
            "direction=backward&from=2&limit=2",
            (vec![2, 1], json!(0), json!(false)),
        ),
        (
            "direction=backward&from=1&limit=5",
            (vec![1, 0], Value::Null, json!(true)),
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(page(query).await, expected, "{query}");
    }
    // Hidden events end a backward read where the visible ones do.
    let truncate = json!({"truncate_before": 2});
    let response = client()
        .put(format!("{}/streams/pages-1/metadata", server.base))
        .json(&truncate)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let expected = (vec![3, 2], Value::Null, json!(true));
    assert_eq!(page("direction=backward&from=3&limit=2").await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_append_the_server_makes_not_only_posts_to_streams() {
    let server = start(ServerConfig::default()).await;
    let (status, _) = put(&server, "/buses/orders", json!({})).await;
    assert_eq!(status, 201);
    let rule = json!({"pattern": {}, "targets": [{"stream": "copies-1"}]});
    assert_eq!(put(&server, "/buses/orders/rules/copy", rule).await.0, 201);
    let event = json!({"events": [{"source": "shop", "type": "Placed", "data": {}}]});
    for _ in 0..3 {
        assert_eq!(
            post(&server, "/buses/orders/events", event.clone()).await.0,
            201
        );
    }
    // The rule copies the three events to copies-1 (appends the server makes itself).
    common::eventually("the copies", async || {
        let (_, page) = get(&server, "/streams/copies-1").await;
        (page["events"].as_array().map_or(0, Vec::len) == 3).then_some(())
    })
    .await;
    // Bus and rule definitions, the three puts, the three copies, the rule's checkpoint:
    // everything in the log was counted (read until no write is in flight between the two).
    common::eventually("the count to match the log", async || {
        let text = common::metrics(&server).await;
        let value = |name: &str| -> Option<f64> {
            let line = text.lines().find(|l| l.starts_with(&format!("{name} ")))?;
            line.rsplit(' ').next()?.parse().ok()
        };
        let head = value("eventfold_head_position")?;
        let appended = value("eventfold_events_appended_total")?;
        (head >= 8.0 && appended == head).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scavenge_runs_in_the_background_and_reports_what_it_erased() {
    let server = start(ServerConfig::default()).await;
    let (status, none) = get(&server, "/admin/scavenge").await;
    assert_eq!(
        (status, none["error"].as_str()),
        (404, Some("scavenge_not_found"))
    );
    for n in 0..3 {
        let (status, _) = post(
            &server,
            "/streams/person-1",
            json!({"events": [{"type": "Registered", "data": {"n": n}}]}),
        )
        .await;
        assert!(status == 200 || status == 201, "{status}");
    }
    let deleted = client()
        .delete(format!("{}/streams/person-1?hard=true", server.base))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let (status, started) = post(&server, "/admin/scavenge", json!(null)).await;
    assert_eq!(status, 202, "{started}");
    assert!(["running", "done"].contains(&started["state"].as_str().unwrap()));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let done = loop {
        let (status, now) = get(&server, "/admin/scavenge").await;
        assert_eq!(status, 200);
        if now["state"] != "running" {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "it ends");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["events_erased"], 3, "{done}");
    assert!(done["bytes_reclaimed"].as_u64().unwrap() > 0, "{done}");
    assert!(done["finished_at"].is_string());
    let (_, head) = get(&server, "/health").await;
    assert_eq!(head["head_position"], 3, "positions stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_frees_its_subscription() {
    let config = ServerConfig {
        subscribers_max: 1,
        ..ServerConfig::default()
    };
    let server = start(config).await;
    let mut first = SseReader::open(&server, "/subscribe/all", None).await;
    assert_eq!(first.next().await.unwrap().0, "caught_up");
    drop(first); // the client disconnects mid-stream
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = client()
            .get(format!("{}/subscribe/all", server.base))
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the slot is freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And the server is fine.
    assert_eq!(get(&server, "/health").await.0, 200);
}

#[tokio::test]
async fn snapshots_are_kept_returned_and_forgotten() {
    let server = start(ServerConfig::default()).await;
    let url = format!("{}/snapshots/account-9", server.base);
    let (status, missing) = get(&server, "/snapshots/account-9").await;
    assert_eq!(
        (status, missing["error"].as_str()),
        (404, Some("snapshot_not_found"))
    );
    let events: Vec<Value> = (0..10)
        .map(|n| json!({"type": "Credited", "data": n}))
        .collect();
    let (status, _) = post(&server, "/streams/account-9", json!({ "events": events })).await;
    assert_eq!(status, 201);
    let (_, page) = get(
        &server,
        "/streams/account-9?from=end&direction=backward&limit=1",
    )
    .await;
    let last_id = page["events"][0]["id"].clone();
    let snapshot = json!({
        "revision": 9,
        "last_event_id": last_id,
        "schema_version": 1,
        "recorded_at": "2026-11-23T10:00:00.000000001Z",
        "state": {"balance": 60, "open": true}
    });
    let put = client().put(&url).json(&snapshot).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 204);
    let (status, body) = get(&server, "/snapshots/account-9").await;
    assert_eq!(status, 200);
    assert_eq!(body, snapshot);

    let bad: Vec<Value> = vec![
        json!({"revision": 9}),
        json!({"revision": -1, "last_event_id": last_id, "schema_version": 1, "recorded_at": "2026-11-23T10:00:00Z", "state": 1}),
        json!({"revision": 9, "last_event_id": last_id, "schema_version": 1, "recorded_at": "noon", "state": 1}),
        json!({"revision": 9, "last_event_id": last_id, "schema_version": 1, "recorded_at": "2026-11-23T10:00:00Z", "state": 1, "x": 2}),
    ];
    for body in bad {
        let response = client().put(&url).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request", "{body}");
    }
    // Well-formed, but not an event of the stream: a conflict with its history.
    let strangers = [
        json!({"revision": 10, "last_event_id": last_id, "schema_version": 1, "recorded_at": "2026-11-23T10:00:00Z", "state": 1}),
        json!({"revision": 9, "last_event_id": uuid::Uuid::new_v4(), "schema_version": 1, "recorded_at": "2026-11-23T10:00:00Z", "state": 1}),
    ];
    for body in strangers {
        let response = client().put(&url).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 409, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "conflict", "{body}");
    }
    let (_, unchanged) = get(&server, "/snapshots/account-9").await;
    assert_eq!(unchanged, snapshot, "bad requests change nothing");
    let bad_name = client()
        .put(format!("{}/snapshots/bad%0Aname", server.base))
        .json(&snapshot)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_name.status().as_u16(), 400);

    for _ in 0..2 {
        let deleted = client().delete(&url).send().await.unwrap();
        assert_eq!(deleted.status().as_u16(), 204);
    }
    let (status, _) = get(&server, "/snapshots/account-9").await;
    assert_eq!(status, 404);
}
