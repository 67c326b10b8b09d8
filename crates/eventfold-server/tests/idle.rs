//! An idle server is quiet: a checkpoint moves only with events a group or rule delivers or
//! skips on purpose, never with the server's own writes — which would otherwise move `$all`,
//! and with it every group's cursor, and so write the next checkpoint, for ever (issue 15).

mod common;

use std::time::Duration;

use serde_json::{json, Value};

use common::{get, head_position, post, put, start, start_in, Server};
use eventfold_server::ServerConfig;

const GROUPS: usize = 50;
const BUSES: usize = 2;
const RULES_PER_BUS: usize = 10;

/// Group `n`'s definition: every kind of source, matching much, little or nothing.
fn group(n: usize) -> Value {
    match n % 6 {
        0 => json!({}),
        1 => json!({"filter": {"types": ["Placed"]}}),
        2 => json!({"filter": {"category": "order"}}),
        3 => json!({"filter": {"prefix": "$bus:bus-0:archive"}}),
        4 => json!({"filter": {"types": ["NeverWritten"]}}),
        _ => json!({"stream": "order-1"}),
    }
}

/// Defines 50 groups and 20 rules, puts traffic through all of them (a replay included), and
/// acknowledges every delivery; returns how many deliveries were acknowledged.
async fn busy(server: &Server) -> usize {
    for n in 0..GROUPS {
        let (status, body) = put(server, &format!("/groups/g{n}"), group(n)).await;
        assert_eq!(status, 201, "{body}");
    }
    for bus in 0..BUSES {
        assert_eq!(
            put(server, &format!("/buses/bus-{bus}"), json!({})).await.0,
            201
        );
        for rule in 0..RULES_PER_BUS {
            let definition = json!({
                "pattern": {"type": [if rule % 2 == 0 { "Tick" } else { "Tock" }]},
                "targets": [{"stream": format!("copies-{bus}-{rule}")}],
            });
            let path = format!("/buses/bus-{bus}/rules/r{rule}");
            assert_eq!(put(server, &path, definition).await.0, 201);
        }
    }
    for n in 0..30 {
        let stream = format!("order-{}", n % 5);
        let event_type = if n % 2 == 0 { "Placed" } else { "Paid" };
        let body = json!({"events": [{"type": event_type, "data": {"n": n}}]});
        let (status, _) = post(server, &format!("/streams/{stream}"), body).await;
        assert_eq!(status, 201);
        let body = json!({"events": [{"type": "Joined", "data": {"n": n}}]});
        post(server, &format!("/streams/customer-{n}"), body).await;
    }
    for bus in 0..BUSES {
        let events: Vec<Value> = (0..20)
            .map(|n| json!({"source": "app", "type": if n % 2 == 0 { "Tick" } else { "Tock" }, "data": {"n": n}}))
            .collect();
        let (status, _) = post(
            server,
            &format!("/buses/bus-{bus}/events"),
            json!({ "events": events }),
        )
        .await;
        assert_eq!(status, 201);
    }
    // The first bus's rules get everything twice: put, then replayed.
    let replay = json!({"name": "again", "from": "2000-01-01T00:00:00Z"});
    let (status, body) = post(server, "/buses/bus-0/replays", replay).await;
    assert_eq!(status, 202, "{body}");
    common::eventually("the replay completed", async || {
        let (_, replay) = get(server, "/buses/bus-0/replays/again").await;
        (replay["state"] == "completed").then_some(())
    })
    .await;
    for bus in 0..BUSES {
        let delivered = if bus == 0 { 20 } else { 10 };
        for rule in 0..RULES_PER_BUS {
            let path = format!("/buses/bus-{bus}/rules/r{rule}");
            common::eventually("every rule delivered", async || {
                let (_, rule) = get(server, &path).await;
                let status = &rule["status"];
                (status["delivered"] == delivered && status["lag_events"] == 0).then_some(())
            })
            .await;
        }
    }
    let drains = (0..GROUPS).map(|n| drain(server, format!("g{n}")));
    let acked = futures::future::join_all(drains).await;
    acked.iter().map(Vec::len).sum()
}

/// Fetches and acknowledges until a long poll comes back empty; returns the ids of the events
/// acknowledged.
async fn drain(server: &Server, group: String) -> Vec<Value> {
    let mut acked = Vec::new();
    loop {
        let body = json!({"max": 1000, "wait_ms": 1000});
        let (status, fetched) = post(server, &format!("/groups/{group}/fetch"), body).await;
        assert_eq!(status, 200, "{fetched}");
        let messages = fetched["messages"].as_array().unwrap();
        if messages.is_empty() {
            return acked;
        }
        let ids: Vec<Value> = messages.iter().map(|m| m["ack_id"].clone()).collect();
        let (status, _) = post(
            server,
            &format!("/groups/{group}/ack"),
            json!({ "ack_ids": ids }),
        )
        .await;
        assert_eq!(status, 200);
        acked.extend(messages.iter().map(|m| m["event"]["id"].clone()));
    }
}

/// After a moment for the last checkpoints of real work, the head stays where it is for
/// `quiet`.
async fn assert_quiet(server: &Server, quiet: Duration) {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = head_position(server).await;
    tokio::time::sleep(quiet).await;
    let after = head_position(server).await;
    assert_eq!(
        after - before,
        0,
        "an idle server wrote {} events in {quiet:?}",
        after - before
    );
}

/// A group whose filter matched none of the traffic still saved a checkpoint past it: it
/// skipped events of users on purpose, so a restart need not read them again.
async fn assert_skips_saved(server: &Server) {
    let (_, last) = get(server, "/streams/customer-29").await;
    let last = last["events"][0]["position"].as_u64().unwrap();
    let (_, matched_nothing) = get(server, "/groups/g4").await;
    let saved = matched_nothing["status"]["saved_checkpoint"]
        .as_u64()
        .unwrap();
    assert!(saved > last, "saved {saved}, the traffic ended at {last}");
}

/// No group delivers anything again (everything was acknowledged before the restart).
async fn assert_nothing_redelivered(server: &Server) {
    let redelivered = (0..GROUPS).map(|n| drain(server, format!("g{n}")));
    let redelivered: Vec<usize> = futures::future::join_all(redelivered)
        .await
        .iter()
        .map(Vec::len)
        .collect();
    assert!(
        redelivered.iter().all(|n| *n == 0),
        "delivered again after a restart: {redelivered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_writes_nothing_after_traffic_and_resumes_exactly() {
    let server = start(ServerConfig::default()).await;
    let acked = busy(&server).await;
    assert!(acked > 100, "{acked} deliveries");
    assert_quiet(&server, Duration::from_secs(10)).await;
    assert_skips_saved(&server).await;
    let server = start_in(server.stop().await, ServerConfig::default()).await;
    assert_nothing_redelivered(&server).await;
    assert_quiet(&server, Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_postgresql_node_writes_nothing_after_traffic_and_resumes_exactly() {
    let Some(database) = common::Postgres::from_env() else {
        return;
    };
    let server = database.start(ServerConfig::default()).await;
    let acked = busy(&server).await;
    assert!(acked > 100, "{acked} deliveries");
    assert_quiet(&server, Duration::from_secs(10)).await;
    assert_skips_saved(&server).await;
    server.stop().await;
    let server = database.start(ServerConfig::default()).await;
    assert_nothing_redelivered(&server).await;
    assert_quiet(&server, Duration::from_secs(3)).await;
    server.stop().await;
    database.drop_schema().await;
}

/// The report of issue 15: one group, no traffic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_new_group_on_an_idle_server_writes_nothing() {
    let server = start(ServerConfig::default()).await;
    assert_eq!(put(&server, "/groups/ga", json!({})).await.0, 201);
    assert_quiet(&server, Duration::from_secs(5)).await;
}

/// A group that follows the server's checkpoint streams, with a consumer acknowledging all the
/// while, does not feed itself: a checkpoint it delivers is no reason for it to save one. A
/// clean stop still saves, so nothing it acknowledged comes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_following_checkpoints_does_not_feed_itself() {
    let server = start(ServerConfig::default()).await;
    let watch = json!({"filter": {"prefix": "$group:"}});
    assert_eq!(put(&server, "/groups/watch", watch).await.0, 201);
    assert_eq!(put(&server, "/groups/work", json!({})).await.0, 201);
    let body = json!({"events": [{"type": "Job", "data": {}}]});
    assert_eq!(post(&server, "/streams/job-1", body).await.0, 201);
    assert_eq!(drain(&server, "work".into()).await.len(), 1);
    let consuming = async {
        let mut acked = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(8);
        while tokio::time::Instant::now() < until {
            acked.extend(drain(&server, "watch".into()).await);
        }
        acked
    };
    let ((), acked) = tokio::join!(assert_quiet(&server, Duration::from_secs(5)), consuming);
    assert!(!acked.is_empty(), "the group delivered work's checkpoint");
    let server = start_in(server.stop().await, ServerConfig::default()).await;
    let again = drain(&server, "watch".into()).await;
    assert!(
        again.iter().all(|id| !acked.contains(id)),
        "acked before the stop: {acked:?}, delivered after: {again:?}"
    );
}
