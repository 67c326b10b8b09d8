//! Consumer groups over HTTP: definitions, competing consumers, ack/nack, retries, parking,
//! replay of parked events, time-outs, pinned order, restarts, long polls, push and metrics.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use common::{delete, get, post, put, start, start_in, Server};
use eventfold_server::ServerConfig;

async fn append(server: &Server, stream: &str, types: &[&str]) {
    let events: Vec<Value> = types
        .iter()
        .map(|t| json!({"type": t, "data": {"n": 1}}))
        .collect();
    let (status, body) = post(
        server,
        &format!("/streams/{stream}"),
        json!({"events": events}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn fetch(server: &Server, group: &str, body: Value) -> Vec<Value> {
    let (status, fetched) = post(server, &format!("/groups/{group}/fetch"), body).await;
    assert_eq!(status, 200, "{fetched}");
    fetched["messages"].as_array().unwrap().clone()
}

fn ids(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["ack_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn settle(server: &Server, group: &str, verb: &str, body: Value) -> Value {
    let (status, settled) = post(server, &format!("/groups/{group}/{verb}"), body).await;
    assert_eq!(status, 200, "{settled}");
    settled
}

async fn describe(server: &Server, group: &str) -> Value {
    let (status, described) = get(server, &format!("/groups/{group}")).await;
    assert_eq!(status, 200, "{described}");
    described
}

/// Waits until the group's state satisfies `done`.
async fn until(server: &Server, group: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let described = describe(server, group).await;
        if done(&described["status"]) {
            return described;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "group {group} never got there: {}",
        describe(server, group).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_created_updated_listed_described_and_deleted() {
    let server = start(ServerConfig::default()).await;
    let body = json!({"filter": {"types": ["Paid"]}, "start": "start", "max_attempts": 3});
    let (status, created) = put(&server, "/groups/billing", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["max_attempts"], 3);
    assert_eq!(created["filter"]["types"], json!(["Paid"]));
    let (status, _) = put(&server, "/groups/billing", body).await;
    assert_eq!(
        status, 200,
        "saving the same settings again changes nothing"
    );
    let (status, updated) = put(
        &server,
        "/groups/billing",
        json!({"filter": {"types": ["Paid"]}, "max_attempts": 9}),
    )
    .await;
    assert_eq!((status, &updated["max_attempts"]), (200, &json!(9)));
    let (status, _) = put(&server, "/groups/orders", json!({"stream": "order-1"})).await;
    assert_eq!(status, 201);

    let (_, listed) = get(&server, "/groups").await;
    let names: Vec<&str> = listed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["billing", "orders"]);
    let described = describe(&server, "billing").await;
    assert_eq!(described["settings"]["max_attempts"], 9);
    assert_eq!(described["status"]["lag_events"], 0);

    // Bad input: one status, one code, a message naming the problem, nothing changed.
    let refused = [
        ("/groups/bad%20name", json!({}), "invalid_request"),
        ("/groups/g", json!({"max_attempts": 0}), "invalid_request"),
        ("/groups/g", json!({"colour": "red"}), "invalid_request"),
        (
            "/groups/g",
            json!({"stream": "s", "start": {"time": "2026-01-01T00:00:00Z"}}),
            "invalid_request",
        ),
        (
            "/groups/g",
            json!({"filter": {"types": ["a\u{1}"]}}),
            "invalid_request",
        ),
        (
            "/groups/g",
            json!({"strategy": "random"}),
            "invalid_request",
        ),
    ];
    // The source of an existing group never changes: a conflict with what it is.
    let (status, error) = put(&server, "/groups/billing", json!({"stream": "x"})).await;
    assert_eq!((status, error["error"].as_str()), (409, Some("conflict")));
    for (path, body, code) in refused {
        let (status, error) = put(&server, path, body.clone()).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (400, Some(code)),
            "{path} {body}: {error}"
        );
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (_, listed) = get(&server, "/groups").await;
    assert_eq!(listed["groups"].as_array().unwrap().len(), 2);
    for (path, body) in [
        ("/groups/nobody/fetch", json!({})),
        ("/groups/nobody/ack", json!({"ack_ids": []})),
    ] {
        let (status, error) = post(&server, path, body).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (404, Some("group_not_found"))
        );
    }
    let (status, error) = post(&server, "/groups/billing/fetch", json!({"max": 0})).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, error) = post(&server, "/groups/billing/ack", json!({"ack_ids": ["x"]})).await;
    assert_eq!(status, 400, "{error}");

    assert_eq!(delete(&server, "/groups/billing").await.0, 204);
    assert_eq!(get(&server, "/groups/billing").await.0, 404);
    assert_eq!(delete(&server, "/groups/billing").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_ack_nack_retry_park_and_replay_parked_events() {
    let server = start(ServerConfig::default()).await;
    let (status, _) = put(
        &server,
        "/groups/work",
        json!({"filter": {"category": "job"}, "start": "start", "max_attempts": 2,
               "retry_backoff_ms": 10, "retry_backoff_max_ms": 10}),
    )
    .await;
    assert_eq!(status, 201);
    append(&server, "job-1", &["A", "B", "C"]).await;
    append(&server, "other-1", &["X"]).await;
    append(&server, "job-2", &["D", "E"]).await;

    // Two competing consumers share the five job events.
    let first = fetch(
        &server,
        "work",
        json!({"consumer": "c1", "max": 2, "wait_ms": 2000}),
    )
    .await;
    let second = fetch(
        &server,
        "work",
        json!({"consumer": "c2", "max": 10, "wait_ms": 2000}),
    )
    .await;
    assert_eq!(first.len() + second.len(), 5);
    assert!(first.iter().chain(&second).all(|m| m["attempt"] == 1));
    assert!(first
        .iter()
        .chain(&second)
        .all(|m| m["event"]["stream"].as_str().unwrap().starts_with("job-")));
    let types = |messages: &[Value]| -> Vec<String> {
        messages
            .iter()
            .map(|m| m["event"]["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(types(&first), ["A", "B"]);
    let described = describe(&server, "work").await;
    assert_eq!(described["status"]["in_flight"], 5);
    assert_eq!(
        described["status"]["consumers"].as_array().unwrap().len(),
        2
    );

    // A acked; B retried (comes back as attempt 2); C parked by the consumer; D skipped.
    let all = [first.clone(), second.clone()].concat();
    let id_of = |t: &str| all.iter().find(|m| m["event"]["type"] == t).unwrap()["ack_id"].clone();
    let acked = settle(
        &server,
        "work",
        "ack",
        json!({"ack_ids": [id_of("A"), "999"]}),
    )
    .await;
    assert_eq!(acked, json!({"settled": 1, "unknown": ["999"]}));
    settle(&server, "work", "nack", json!({"ack_ids": [id_of("B")]})).await;
    settle(
        &server,
        "work",
        "nack",
        json!({"ack_ids": [id_of("C")], "action": "park", "reason": "bad data"}),
    )
    .await;
    settle(
        &server,
        "work",
        "nack",
        json!({"ack_ids": [id_of("D")], "action": "skip"}),
    )
    .await;
    let again = fetch(&server, "work", json!({"wait_ms": 2000})).await;
    assert_eq!(
        (types(&again), again[0]["attempt"].clone()),
        (vec!["B".to_owned()], json!(2))
    );
    // Its second failure exhausts max_attempts: parked too.
    settle(
        &server,
        "work",
        "nack",
        json!({"ack_ids": ids(&again), "reason": "still failing"}),
    )
    .await;
    settle(&server, "work", "ack", json!({"ack_ids": [id_of("E")]})).await;

    let (_, parked) = get(&server, "/groups/work/parked").await;
    let parked = parked["events"].as_array().unwrap().clone();
    let parked_types: Vec<&str> = parked.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(parked_types, ["C", "B"]);
    assert_eq!(parked[0]["metadata"]["reason"], "bad data");
    assert_eq!(parked[1]["metadata"]["attempts"], 2);
    assert!(parked[1]["metadata"]["reason"]
        .as_str()
        .unwrap()
        .contains("max_attempts"));
    assert_eq!(
        parked[0]["metadata"]["original"]["id"],
        all.iter().find(|m| m["event"]["type"] == "C").unwrap()["event"]["id"]
    );

    let status = until(&server, "work", |s| {
        s["lag_events"] == 0 && s["checkpoint"].as_u64() > Some(5)
    })
    .await;
    assert_eq!(status["status"]["counters"]["parked"], 2);
    assert_eq!(status["status"]["counters"]["skipped"], 1);

    // Replay: the parked events come back as they were, marked, and leave the parked stream.
    let (status, replay) = post(&server, "/groups/work/parked/replay", json!({})).await;
    assert_eq!((status, replay), (200, json!({"replaying": 2})));
    let replayed = fetch(&server, "work", json!({"max": 10, "wait_ms": 2000})).await;
    assert_eq!(types(&replayed), ["C", "B"]);
    assert!(replayed
        .iter()
        .all(|m| m["replayed"] == true && m["ack_id"].as_str().unwrap().starts_with('p')));
    let original_c = all.iter().find(|m| m["event"]["type"] == "C").unwrap();
    assert_eq!(replayed[0]["event"]["id"], original_c["event"]["id"]);
    assert_eq!(
        replayed[0]["event"]["position"],
        original_c["event"]["position"]
    );
    let (status, busy) = post(&server, "/groups/work/parked/replay", json!({})).await;
    assert_eq!((status, busy["error"].as_str()), (409, Some("conflict")));
    settle(&server, "work", "ack", json!({"ack_ids": ids(&replayed)})).await;
    until(&server, "work", |s| s["replaying"] == 0).await;
    for _ in 0..100 {
        let (_, parked) = get(&server, "/groups/work/parked").await;
        if parked["events"].as_array().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("replayed parked events were not dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_deliveries_time_out_and_come_back() {
    let server = start(ServerConfig::default()).await;
    put(
        &server,
        "/groups/slow",
        json!({"stream": "s-1", "start": "start", "ack_timeout_ms": 200, "retry_backoff_ms": 1}),
    )
    .await;
    append(&server, "s-1", &["A"]).await;
    let first = fetch(&server, "slow", json!({"wait_ms": 2000})).await;
    assert_eq!(first[0]["attempt"], 1);
    assert_eq!(
        first[0]["ack_id"], "0",
        "on a stream the ack id is the revision"
    );
    let second = fetch(&server, "slow", json!({"wait_ms": 3000})).await;
    assert_eq!(
        (second[0]["ack_id"].clone(), second[0]["attempt"].clone()),
        (json!("0"), json!(2))
    );
    let described = describe(&server, "slow").await;
    assert_eq!(described["status"]["counters"]["timed_out"], 1);
    // A late ack of the first delivery still counts: the consumer did the work.
    settle(&server, "slow", "ack", json!({"ack_ids": ["0"]})).await;
    until(&server, "slow", |s| s["lag_events"] == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_groups_keep_each_stream_in_order() {
    let server = start(ServerConfig::default()).await;
    put(&server, "/groups/ordered", json!({"filter": {"prefix": "cart-"}, "start": "start", "strategy": "pinned", "retry_backoff_ms": 1})).await;
    append(&server, "cart-1", &["A1", "A2", "A3"]).await;
    append(&server, "cart-2", &["B1", "B2"]).await;
    let mut seen: Vec<String> = Vec::new();
    let mut retried = false;
    while seen.len() < 5 {
        let batch = fetch(&server, "ordered", json!({"max": 10, "wait_ms": 2000})).await;
        let streams: Vec<&str> = batch
            .iter()
            .map(|m| m["event"]["stream"].as_str().unwrap())
            .collect();
        let distinct: BTreeSet<&str> = streams.iter().copied().collect();
        assert_eq!(
            streams.len(),
            distinct.len(),
            "one event per stream at a time: {streams:?}"
        );
        for message in &batch {
            if !retried && message["event"]["type"] == "A2" {
                retried = true; // a retry holds A3 back until A2 is done
                settle(
                    &server,
                    "ordered",
                    "nack",
                    json!({"ack_ids": [message["ack_id"]]}),
                )
                .await;
                continue;
            }
            seen.push(message["event"]["type"].as_str().unwrap().to_owned());
            settle(
                &server,
                "ordered",
                "ack",
                json!({"ack_ids": [message["ack_id"]]}),
            )
            .await;
        }
    }
    let of =
        |prefix: &str| -> Vec<&String> { seen.iter().filter(|t| t.starts_with(prefix)).collect() };
    assert_eq!(of("A"), ["A1", "A2", "A3"]);
    assert_eq!(of("B"), ["B1", "B2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_resumes_from_the_checkpoint() {
    let server = start(ServerConfig::default()).await;
    put(
        &server,
        "/groups/g",
        json!({"start": "start", "filter": {"category": "e"}}),
    )
    .await;
    for n in 0..20 {
        append(&server, &format!("e-{n}"), &["T"]).await;
    }
    let first = fetch(&server, "g", json!({"max": 10, "wait_ms": 2000})).await;
    settle(&server, "g", "ack", json!({"ack_ids": ids(&first)})).await;
    let unacked = fetch(&server, "g", json!({"max": 3, "wait_ms": 2000})).await;
    assert_eq!(unacked.len(), 3);
    let dir = server.stop().await;

    let server = start_in(dir, ServerConfig::default()).await;
    let mut rest = Vec::new();
    while rest.len() < 10 {
        let batch = fetch(&server, "g", json!({"max": 100, "wait_ms": 2000})).await;
        assert!(!batch.is_empty(), "delivery resumed");
        settle(&server, "g", "ack", json!({"ack_ids": ids(&batch)})).await;
        rest.extend(batch);
    }
    let streams: BTreeSet<String> = first
        .iter()
        .chain(&rest)
        .map(|m| m["event"]["stream"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(streams.len(), 20, "nothing lost");
    assert_eq!(
        rest.len(),
        10,
        "acked events are not delivered again after a clean stop"
    );
    assert!(rest.iter().all(|m| m["attempt"] == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_push_and_metrics() {
    let server = start(ServerConfig::default()).await;
    put(
        &server,
        "/groups/live",
        json!({"filter": {"category": "live"}}),
    )
    .await;
    let base = server.base.clone();
    let waiting = tokio::spawn(async move {
        let response = common::client()
            .post(format!("{base}/groups/live/fetch"))
            .json(&json!({"wait_ms": 10000}))
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    append(&server, "live-1", &["Woke"]).await;
    let woken = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(woken["messages"][0]["event"]["type"], "Woke");
    settle(
        &server,
        "live",
        "ack",
        json!({"ack_ids": [woken["messages"][0]["ack_id"]]}),
    )
    .await;

    // Push over SSE: deliveries arrive as `event` messages whose id is the ack id.
    let response = common::client()
        .get(format!(
            "{}/groups/live/subscribe?consumer=pusher&max_in_flight=2",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    append(&server, "live-2", &["P1", "P2", "P3"]).await;
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while text.matches("\"ack_id\"").count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("\"P1\"") && text.contains("\"P2\""), "{text}");
    assert!(
        !text.contains("\"P3\""),
        "max_in_flight holds the third back: {text}"
    );
    let described = describe(&server, "live").await;
    assert_eq!(described["status"]["in_flight"], 2);
    let ack_ids: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .map(str::to_owned)
        .collect();
    settle(&server, "live", "ack", json!({"ack_ids": ack_ids})).await;
    while !text.contains("\"P3\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(body);

    let metrics = common::metrics(&server).await;
    assert!(
        metrics.contains("eventfold_group_lag_events{group=\"live\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("eventfold_group_acked_total{group=\"live\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("eventfold_group_lag_seconds{group=\"live\"}"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_on_all_does_not_get_the_servers_own_streams() {
    let server = start(ServerConfig::default()).await;
    put(
        &server,
        "/groups/everything",
        json!({"start": "start", "retry_backoff_ms": 1}),
    )
    .await;
    append(&server, "order-1", &["Placed"]).await;
    let first = fetch(&server, "everything", json!({"wait_ms": 2000})).await;
    assert_eq!(first.len(), 1);
    settle(
        &server,
        "everything",
        "nack",
        json!({"ack_ids": ids(&first), "action": "park"}),
    )
    .await;
    // A nack of what is not out with a consumer is refused (unknown), as is an ack.
    let again = settle(
        &server,
        "everything",
        "nack",
        json!({"ack_ids": ids(&first)}),
    )
    .await;
    assert_eq!(again["unknown"], json!(ids(&first)));
    // Its own checkpoints and the parked copy are in $all, yet never delivered to it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (status, error) = post(
        &server,
        "/streams/$group:everything:parked",
        json!({"events": [{"type": "X", "data": {}}]}),
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (403, Some("reserved_stream"))
    );
    let nothing = fetch(&server, "everything", json!({"max": 100, "wait_ms": 500})).await;
    assert!(nothing.is_empty(), "{nothing:?}");
    let status = until(&server, "everything", |s| s["lag_events"] == 0).await;
    assert_eq!(status["status"]["counters"]["parked"], 1);
    // A prefix filter can ask for a server stream explicitly.
    put(
        &server,
        "/groups/parked-watch",
        json!({"start": "start", "filter": {"prefix": "$group:everything:parked"}}),
    )
    .await;
    let parked = fetch(&server, "parked-watch", json!({"wait_ms": 2000})).await;
    assert_eq!(parked[0]["event"]["type"], "Placed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_events_parked_at_once_are_all_kept() {
    let server = start(ServerConfig::default()).await;
    put(
        &server,
        "/groups/bulk",
        json!({"filter": {"category": "bulk"}, "start": "start"}),
    )
    .await;
    let types: Vec<&str> = vec!["T"; 700];
    append(&server, "bulk-1", &types).await;
    let mut delivered = Vec::new();
    while delivered.len() < 700 {
        delivered.extend(fetch(&server, "bulk", json!({"max": 1000, "wait_ms": 2000})).await);
    }
    let mut all_ids = ids(&delivered);
    all_ids.push(all_ids[0].clone()); // a duplicate id parks once
    let settled = settle(
        &server,
        "bulk",
        "nack",
        json!({"ack_ids": all_ids, "action": "park", "reason": "bulk"}),
    )
    .await;
    assert_eq!(settled["settled"], 701);
    let status = until(&server, "bulk", |s| s["lag_events"] == 0).await;
    assert_eq!(status["status"]["counters"]["parked"], 700);
    let (_, page) = get(&server, "/groups/bulk/parked?limit=1000").await;
    let parked = page["events"].as_array().unwrap();
    assert_eq!(parked.len(), 700, "one copy each, in two appends");
    let revisions: BTreeSet<u64> = parked
        .iter()
        .map(|e| e["metadata"]["original"]["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revisions.len(), 700);
}
