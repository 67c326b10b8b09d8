//! Bus fan-out is bounded (issue 14, item 4): a loop is detected once and dead-lettered once,
//! and however wide the graph of buses, one event put on a bus makes at most
//! `FANOUT_COPIES_MAX` copies through buses.

mod common;

use std::time::Duration;

use serde_json::{json, Value};

use common::{get, post, put, start, Server};
use eventfold_server::ServerConfig;

/// Waits until the server's head position stops moving (every rule has done what it will).
async fn settle(server: &Server) {
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let head = common::head_position(server).await;
        if head == last {
            return;
        }
        last = head;
    }
}

async fn count(server: &Server, stream: &str) -> usize {
    common::stream_events(server, stream).await.len()
}

async fn dead_letters(server: &Server, bus: &str, rule: &str) -> Vec<Value> {
    let (_, page) = get(server, &format!("/buses/{bus}/rules/{rule}/dead-letters")).await;
    page["events"].as_array().unwrap().clone()
}

async fn rule(server: &Server, bus: &str, name: &str, targets: Value) {
    let body = json!({"pattern": {}, "targets": targets});
    let (status, answer) = put(server, &format!("/buses/{bus}/rules/{name}"), body).await;
    assert_eq!(status, 201, "{answer}");
}

async fn bus(server: &Server, name: &str) {
    assert_eq!(
        put(server, &format!("/buses/{name}"), json!({})).await.0,
        201
    );
}

async fn put_one(server: &Server, bus: &str) {
    let events = json!({"events": [{"source": "s", "type": "T", "data": {}}]});
    assert_eq!(
        post(server, &format!("/buses/{bus}/events"), events)
            .await
            .0,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_is_dead_lettered_once() {
    let server = start(ServerConfig::default()).await;
    bus(&server, "loop").await;
    let targets = json!([{"bus": "loop"}, {"bus": "loop"}, {"stream": "seen"}, {"bus": "loop"}]);
    rule(&server, "loop", "again", targets).await;
    put_one(&server, "loop").await;
    settle(&server).await;
    assert_eq!(count(&server, "$bus:loop:archive").await, 1);
    assert_eq!(
        count(&server, "seen").await,
        1,
        "the other targets still get it"
    );
    let dead = dead_letters(&server, "loop", "again").await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let reason = dead[0]["metadata"]["reason"].as_str().unwrap();
    assert!(reason.contains("a loop (loop → loop)"), "{reason}");
    assert!(
        reason.contains("targets[0]") && reason.contains("targets[3]"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_through_two_buses_is_cut_where_it_closes() {
    let server = start(ServerConfig::default()).await;
    bus(&server, "a").await;
    bus(&server, "b").await;
    rule(&server, "a", "to-b", json!([{"bus": "b"}])).await;
    rule(&server, "b", "to-a", json!([{"bus": "a"}])).await;
    put_one(&server, "a").await;
    settle(&server).await;
    assert_eq!(count(&server, "$bus:a:archive").await, 1);
    assert_eq!(count(&server, "$bus:b:archive").await, 1);
    assert!(dead_letters(&server, "a", "to-b").await.is_empty());
    let dead = dead_letters(&server, "b", "to-a").await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0]["metadata"]["reason"].as_str().unwrap();
    assert!(reason.contains("a loop (a → b → a)"), "{reason}");
}

/// Five layers of five buses, each bus sending to every bus of the next layer: 3,905 copies
/// without a bound, at most 1,000 with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_graph_of_buses_makes_a_bounded_number_of_copies() {
    let server = start(ServerConfig::default()).await;
    let name = |layer: usize, n: usize| format!("l{layer}-{n}");
    bus(&server, "root").await;
    for layer in 1..=5 {
        for n in 0..5 {
            bus(&server, &name(layer, n)).await;
        }
    }
    let next_layer =
        |layer: usize| -> Value { (0..5).map(|n| json!({"bus": name(layer, n)})).collect() };
    rule(&server, "root", "fan", next_layer(1)).await;
    for layer in 1..5 {
        for n in 0..5 {
            rule(&server, &name(layer, n), "fan", next_layer(layer + 1)).await;
        }
    }
    put_one(&server, "root").await;
    settle(&server).await;
    let mut copies = 0;
    for layer in 1..=5 {
        for n in 0..5 {
            copies += count(&server, &format!("$bus:{}:archive", name(layer, n))).await;
        }
    }
    assert!(copies <= 1_000, "{copies} copies");
    assert!(
        copies >= 5 + 25 + 125,
        "the first layers are served: {copies}"
    );
    let mut spent = 0;
    for n in 0..5 {
        for letter in dead_letters(&server, &name(4, n), "fan").await {
            let reason = letter["metadata"]["reason"].as_str().unwrap().to_owned();
            assert!(reason.contains("fan-out budget is spent"), "{reason}");
            spent += 1;
        }
    }
    assert!(spent > 0, "the budget ran out before the last layer");
}

/// An event whose metadata nests as deep as allowed is still dead-lettered (its metadata goes
/// as text inside the dead letter, which would otherwise nest too deep), and later events are
/// delivered: a hostile sender cannot wedge a rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_metadata_cannot_wedge_a_rule() {
    let server = start(ServerConfig::default()).await;
    bus(&server, "deep").await;
    rule(
        &server,
        "deep",
        "loops",
        json!([{"bus": "deep"}, {"stream": "out"}]),
    )
    .await;
    let nested = format!("{}1{}", "[".repeat(98), "]".repeat(98));
    let body = format!(
        r#"{{"events": [{{"source": "s", "type": "T", "data": {{}}, "metadata": {{"m": {nested}}}}}]}}"#
    );
    let response = common::client()
        .post(format!("{}/buses/deep/events", server.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    put_one(&server, "deep").await;
    settle(&server).await;
    assert_eq!(count(&server, "out").await, 2, "both events delivered");
    let dead = dead_letters(&server, "deep", "loops").await;
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(dead[0]["metadata"]["original"]["metadata_as_text"], true);
}
