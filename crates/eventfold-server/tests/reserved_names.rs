//! The server's own streams cannot be reached through user-chosen names (issue 14, item 1), and
//! streams of the earlier naming scheme are moved when the server opens.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use common::{eventually, get, post, put, start, start_in, stream_events, Server};
use eventfold_server::ServerConfig;
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{
    AllFrom, Direction, EventFilter, EventStore, ExpectedRevision, NewEvent, ReadAll, StreamName,
};

async fn numbers_in(server: &Server, stream: &str) -> Vec<u64> {
    let events = stream_events(server, stream).await;
    events
        .iter()
        .map(|e| e["data"]["n"].as_u64().unwrap())
        .collect()
}

async fn put_n(server: &Server, bus: &str, n: u64) {
    let events = json!({"events": [{"source": "s", "type": "T", "data": {"n": n}}]});
    let (status, body) = post(server, &format!("/buses/{bus}/events"), events).await;
    assert_eq!(status, 201, "{body}");
}

async fn bus_with_rule(server: &Server, bus: &str, rule: &str, out: &str) {
    assert_eq!(
        put(server, &format!("/buses/{bus}"), json!({})).await.0,
        201
    );
    let rule_body = json!({"pattern": {}, "targets": [{"stream": out}]});
    let path = format!("/buses/{bus}/rules/{rule}");
    assert_eq!(put(server, &path, rule_body).await.0, 201);
}

/// The issue's repro: a bus named after a rule's checkpoint stream gets a forged checkpoint;
/// after a restart the rule still delivers every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_cannot_forge_a_rules_checkpoint() {
    let server = start(ServerConfig::default()).await;
    bus_with_rule(&server, "o", "r", "out").await;
    put_n(&server, "o", 1).await;
    eventually("n=1 delivered", async || {
        (numbers_in(&server, "out").await == [1]).then_some(())
    })
    .await;
    assert_eq!(
        put(&server, "/buses/o-rule-r-checkpoint", json!({}))
            .await
            .0,
        201
    );
    let forged = json!({"events": [{"source": "x", "type": "Checkpoint",
                                     "data": {"incarnation": 1, "next": 100}}]});
    let path = "/buses/o-rule-r-checkpoint/events";
    assert_eq!(post(&server, path, forged).await.0, 201);
    // And fake dead letters through a bus named after the dead-letter stream.
    assert_eq!(put(&server, "/buses/o-rule-r-dead", json!({})).await.0, 201);
    put_n(&server, "o-rule-r-dead", 99).await;

    let dir = server.stop().await;
    let server = start_in(dir, ServerConfig::default()).await;
    for n in 2..=4 {
        put_n(&server, "o", n).await;
    }
    eventually("n=1..4 delivered", async || {
        (numbers_in(&server, "out").await == [1, 2, 3, 4]).then_some(())
    })
    .await;
    let (_, rule) = get(&server, "/buses/o/rules/r").await;
    assert_eq!(rule["status"]["next_revision"], 4, "{rule}");
    assert_eq!(rule["status"]["lag_events"], 0);
    let (_, dead) = get(&server, "/buses/o/rules/r/dead-letters").await;
    assert_eq!(dead["events"], json!([]), "no fake dead letters");
    let archive = stream_events(&server, "$bus:o-rule-r-checkpoint:archive").await;
    assert_eq!(
        archive.len(),
        1,
        "the forged event stays in its own bus's archive"
    );
    server.stop().await;
}

/// Two honest rules whose old names collided (bus `a` rule `b-rule-c`, bus `a-rule-b` rule
/// `c`) keep separate checkpoints and dead letters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_whose_old_names_collided_are_apart() {
    let server = start(ServerConfig::default()).await;
    bus_with_rule(&server, "a", "b-rule-c", "out-1").await;
    bus_with_rule(&server, "a-rule-b", "c", "out-2").await;
    put_n(&server, "a", 1).await;
    put_n(&server, "a-rule-b", 2).await;
    put_n(&server, "a-rule-b", 3).await;
    eventually("both delivered", async || {
        let done = numbers_in(&server, "out-1").await == [1]
            && numbers_in(&server, "out-2").await == [2, 3];
        done.then_some(())
    })
    .await;
    let dir = server.stop().await;
    let server = start_in(dir, ServerConfig::default()).await;
    // Each rule's checkpoints are in a stream of its own, and only its own.
    for (stream, next) in [
        ("$bus:a:rule:b-rule-c:checkpoint", 1),
        ("$bus:a-rule-b:rule:c:checkpoint", 2),
    ] {
        let checkpoints = stream_events(&server, stream).await;
        let last = checkpoints
            .last()
            .unwrap_or_else(|| panic!("{stream} is empty"));
        assert_eq!(last["data"]["next"], next, "{stream}");
        let incarnations: std::collections::BTreeSet<String> = checkpoints
            .iter()
            .map(|c| c["data"]["incarnation"].to_string())
            .collect();
        assert_eq!(incarnations.len(), 1, "{stream}: {incarnations:?}");
    }
    let restarted = async |path: &str, next: u64| {
        let (_, rule) = get(&server, path).await;
        (rule["status"]["next_revision"] == next).then_some(())
    };
    eventually("resumed", async || {
        restarted("/buses/a/rules/b-rule-c", 1).await?;
        restarted("/buses/a-rule-b/rules/c", 2).await
    })
    .await;
    server.stop().await;
}

/// A group reading one bus's archive by prefix gets that bus's events only, not those of a
/// bus whose name starts with the same letters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_prefix_filter_matches_one_bus() {
    let server = start(ServerConfig::default()).await;
    for bus in ["orders", "orders-eu"] {
        assert_eq!(
            put(&server, &format!("/buses/{bus}"), json!({})).await.0,
            201
        );
    }
    let group = json!({"filter": {"prefix": "$bus:orders:archive"}, "start": "start"});
    assert_eq!(put(&server, "/groups/audit", group).await.0, 201);
    put_n(&server, "orders-eu", 1).await;
    put_n(&server, "orders", 2).await;
    let fetch = json!({"max": 10, "wait_ms": 2000});
    let (status, fetched) = post(&server, "/groups/audit/fetch", fetch).await;
    assert_eq!(status, 200, "{fetched}");
    let streams: Vec<&str> = fetched["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["event"]["stream"].as_str().unwrap())
        .collect();
    assert_eq!(streams, ["$bus:orders:archive"]);
    server.stop().await;
}

/// The earlier scheme's name of a reserved stream.
fn old_name(new: &str) -> String {
    let parts: Vec<&str> = new.split(':').collect();
    match parts.as_slice() {
        ["$bus", bus, "archive"] => format!("$bus-{bus}"),
        ["$bus", bus, "rule", rule, kind] => format!("$bus-{bus}-rule-{rule}-{kind}"),
        ["$group", group, kind] => format!("$group-{group}-{kind}"),
        _ => new.to_owned(),
    }
}

/// Rewrites every stream of the store in `from` into `to` under the earlier scheme's names, as
/// a server of that scheme would have left it.
async fn rewrite_in_old_scheme(from: &std::path::Path, to: &std::path::Path) {
    let source = EmbeddedStore::open(from, Options::default()).unwrap();
    let target = EmbeddedStore::open(to, Options::default()).unwrap();
    let mut at = AllFrom::Start;
    loop {
        let page = source
            .read_all(ReadAll {
                from: at,
                direction: Direction::Forward,
                limit: 500,
                filter: EventFilter::default(),
                ..Default::default()
            })
            .await
            .unwrap();
        for event in &page.events {
            if event.stream.as_str() == "$migrations" {
                continue; // servers of the old scheme had none
            }
            let stream = StreamName::new(&old_name(event.stream.as_str())).unwrap();
            let copy = NewEvent {
                id: event.id,
                event_type: event.event_type.clone(),
                data: event.data.clone(),
                content_type: event.content_type.clone().into_owned(),
                metadata: event.metadata.clone(),
                occurred_at: event.occurred_at,
            };
            target
                .append(&stream, ExpectedRevision::Any, vec![copy])
                .await
                .unwrap();
        }
        if page.end_of_log {
            break;
        }
        at = AllFrom::Position(page.next);
    }
    source.close().await;
    target.close().await;
}

/// A store written under the earlier scheme, the colliding names included, opens with every
/// object's stream in its reserved name: nothing lost, nothing delivered twice, and a forged
/// checkpoint that shared a rule's stream stays a bus event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_of_the_old_scheme_are_moved_at_open() {
    let server = start(ServerConfig::default()).await;
    bus_with_rule(&server, "orders", "r", "out").await;
    let group = json!({"stream": "out", "start": "start", "max_attempts": 1});
    assert_eq!(put(&server, "/groups/g", group).await.0, 201);
    for n in 1..=3 {
        put_n(&server, "orders", n).await;
    }
    eventually("delivered", async || {
        (numbers_in(&server, "out").await == [1, 2, 3]).then_some(())
    })
    .await;
    let (_, fetched) = post(
        &server,
        "/groups/g/fetch",
        json!({"max": 1, "wait_ms": 2000}),
    )
    .await;
    let ack_id = fetched["messages"][0]["ack_id"].clone();
    let park = json!({"ack_ids": [ack_id], "action": "park", "reason": "test"});
    assert_eq!(post(&server, "/groups/g/nack", park).await.0, 200);
    eventually("parked", async || {
        let (_, parked) = get(&server, "/groups/g/parked").await;
        (parked["events"].as_array()?.len() == 1).then_some(())
    })
    .await;
    // The bus whose old archive was the rule's checkpoint stream, with a forged checkpoint.
    assert_eq!(
        put(&server, "/buses/orders-rule-r-checkpoint", json!({}))
            .await
            .0,
        201
    );
    let forged = json!({"events": [{"source": "x", "type": "Checkpoint",
                                     "data": {"incarnation": 1, "next": 100}}]});
    let path = "/buses/orders-rule-r-checkpoint/events";
    assert_eq!(post(&server, path, forged).await.0, 201);
    let new_dir = server.stop().await;

    let old_dir = Arc::new(tempfile::tempdir().unwrap());
    rewrite_in_old_scheme(new_dir.path(), old_dir.path()).await;
    let server = start_in(old_dir.clone(), ServerConfig::default()).await;
    assert_eq!(numbers_in(&server, "$bus:orders:archive").await, [1, 2, 3]);
    let forged_archive = stream_events(&server, "$bus:orders-rule-r-checkpoint:archive").await;
    assert_eq!(forged_archive.len(), 1);
    assert_eq!(forged_archive[0]["metadata"]["source"], "x");
    let checkpoints = stream_events(&server, "$bus:orders:rule:r:checkpoint").await;
    assert!(!checkpoints.is_empty());
    assert!(checkpoints
        .iter()
        .all(|c| c["metadata"].get("source").is_none()));
    let (_, parked) = get(&server, "/groups/g/parked").await;
    assert_eq!(parked["events"].as_array().unwrap().len(), 1, "{parked}");
    for old in [
        "$bus-orders",
        "$bus-orders-rule-r-checkpoint",
        "$group-g-parked",
    ] {
        assert_eq!(
            stream_events(&server, old).await,
            Vec::<Value>::new(),
            "{old}"
        );
    }
    // The rule resumes where it was: the next event is delivered once, nothing again.
    put_n(&server, "orders", 4).await;
    eventually("n=4 delivered", async || {
        (numbers_in(&server, "out").await == [1, 2, 3, 4]).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(numbers_in(&server, "out").await, [1, 2, 3, 4]);
    server.stop().await;

    // A second open has nothing to move.
    let server = start_in(old_dir, ServerConfig::default()).await;
    assert_eq!(
        numbers_in(&server, "$bus:orders:archive").await,
        [1, 2, 3, 4]
    );
    assert_eq!(
        stream_events(&server, "$bus:orders-rule-r-checkpoint:archive")
            .await
            .len(),
        1
    );
    server.stop().await;
}
