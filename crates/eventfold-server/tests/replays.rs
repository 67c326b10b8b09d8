//! Replays of a bus's archive over HTTP: the copies reach the bus's rules, marked, with ids of
//! their own, and never enter the archive, so a fold of it is the same before and after.

mod common;

use std::time::Duration;

use serde_json::{json, Value};

use common::hook::Hook;
use common::{eventually, get, post, put, start, start_in, stream_events, Server};
use eventfold_server::ServerConfig;

const ARCHIVE: &str = "$bus:archive:archive";
const REPLAYS: &str = "$bus:archive:replays";

async fn put_ticks(server: &Server, numbers: std::ops::Range<u64>) {
    let events: Vec<Value> = numbers
        .map(|n| json!({"source": "app", "type": "Tick", "data": {"n": n}}))
        .collect();
    let (status, body) = post(server, "/buses/archive/events", json!({ "events": events })).await;
    assert_eq!(status, 201, "{body}");
}

/// Runs replay `name` of everything put since `from` and waits for it; returns its view.
async fn replay(server: &Server, name: &str, from: &Value) -> Value {
    let body = json!({"name": name, "from": from});
    let (status, started) = post(server, "/buses/archive/replays", body).await;
    assert_eq!(status, 202, "{started}");
    let path = format!("/buses/archive/replays/{name}");
    let replay = eventually("replay finished", async || {
        let (_, replay) = get(server, &path).await;
        (replay["state"] != "running").then_some(replay)
    })
    .await;
    assert_eq!(replay["state"], "completed", "{replay}");
    replay
}

/// Waits until `hook` received `count` calls, then a moment more to see that no more come.
async fn received_exactly(hook: &Hook, count: usize) {
    eventually("webhook calls", async || {
        (hook.received.lock().len() >= count).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hook.received.lock().len(), count, "{:?}", hook.bodies());
}

fn field(events: &[Value], name: &str) -> Vec<Value> {
    events.iter().map(|event| event[name].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_reach_the_rules_and_leave_the_archive_as_it_was() {
    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/archive", json!({"archive_days": 30})).await;
    let before = json!(chrono::Utc::now());
    put_ticks(&server, 0..5).await;
    let archived = stream_events(&server, ARCHIVE).await;
    // Rules made afterwards see only new events: the replay brings the old ones to them.
    let (hook, url) = Hook::serve(&[]).await;
    let rule = json!({"pattern": {"type": ["Tick"]}, "targets": [{"webhook": {"url": url}}, {"stream": "ticks"}]});
    assert_eq!(put(&server, "/buses/archive/rules/r", rule).await.0, 201);
    let refuses =
        json!({"pattern": {"replay": [{"exists": false}]}, "targets": [{"stream": "live-only"}]});
    assert_eq!(
        put(&server, "/buses/archive/rules/live", refuses).await.0,
        201
    );

    let replayed_at = chrono::Utc::now();
    assert_eq!(replay(&server, "fix-1", &before).await["replayed"], 5);
    received_exactly(&hook, 5).await;
    let calls = hook.received.lock().clone();
    let bodies = hook.bodies();
    assert!(bodies.iter().all(|b| b["replay"] == "fix-1"), "{bodies:?}");
    assert_eq!(
        field(&bodies, "data"),
        field(&archived, "data"),
        "every event, in order"
    );
    // What a webhook gets of a replayed event: the copy's own id and time, not the original's.
    let copies = stream_events(&server, REPLAYS).await;
    assert_eq!(field(&bodies, "id"), field(&copies, "id"));
    for ((headers, body), original) in calls.iter().zip(&archived) {
        assert_ne!(body["id"], original["id"]);
        assert_eq!(headers["eventfold-event-id"].to_str().unwrap(), body["id"]);
        let time: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(body["time"].clone()).unwrap();
        assert!(
            time >= replayed_at,
            "{time} is the copy's, not the original's"
        );
    }
    for (copy, original) in copies.iter().zip(&archived) {
        assert_eq!(copy["metadata"]["replay"]["name"], "fix-1");
        assert_eq!(copy["metadata"]["replay"]["of"], original["id"]);
        assert_eq!(
            copy["metadata"]["replay"]["original_time"],
            original["recorded_at"]
        );
    }
    assert_eq!(
        stream_events(&server, ARCHIVE).await,
        archived,
        "the archive as it was"
    );
    assert_eq!(stream_events(&server, "ticks").await.len(), 5);
    assert!(stream_events(&server, "live-only").await.is_empty());
    let (_, replays_meta) = get(&server, &format!("/streams/{REPLAYS}/metadata")).await;
    assert_eq!(
        replays_meta["max_age_secs"],
        30 * 86_400,
        "copies age out as the archive"
    );
    let (_, bus) = get(&server, "/buses/archive").await;
    assert_eq!(
        (&bus["events_put"], &bus["events_replayed"]),
        (&json!(5), &json!(5))
    );

    // Run again, after more events: what it copied already is a retry, not a second delivery.
    put_ticks(&server, 5..7).await;
    received_exactly(&hook, 7).await;
    assert_eq!(
        replay(&server, "fix-1", &before).await["state"],
        "completed"
    );
    received_exactly(&hook, 9).await;
    let numbers: Vec<Value> = hook.bodies()[7..]
        .iter()
        .map(|b| b["data"]["n"].clone())
        .collect();
    assert_eq!(numbers, [json!(5), json!(6)], "only the new ones");
    assert_eq!(stream_events(&server, REPLAYS).await.len(), 7);
    assert_eq!(stream_events(&server, ARCHIVE).await.len(), 7);
    assert_eq!(stream_events(&server, "live-only").await.len(), 2);

    // A rule made now considers replays from now on; a restart delivers nothing again.
    let (late, late_url) = Hook::serve(&[]).await;
    let rule = json!({"pattern": {}, "targets": [{"webhook": {"url": late_url}}]});
    assert_eq!(put(&server, "/buses/archive/rules/late", rule).await.0, 201);
    let server = start_in(server.stop().await, ServerConfig::default()).await;
    received_exactly(&hook, 9).await;
    received_exactly(&late, 0).await;
    assert_eq!(replay(&server, "fix-2", &before).await["replayed"], 7);
    received_exactly(&late, 7).await;
    received_exactly(&hook, 16).await;
    let (_, rule) = get(&server, "/buses/archive/rules/late").await;
    assert_eq!(rule["status"]["lag_events"], 0, "{rule}");
    assert_eq!(rule["status"]["replays_next_revision"], 14, "{rule}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_replays_are_refused() {
    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/archive", json!({})).await;
    let before = chrono::Utc::now();
    for (body, code) in [
        (
            json!({"name": "x", "from": "2030-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"}),
            "invalid_request",
        ),
        (
            json!({"name": "bad name", "from": before}),
            "invalid_request",
        ),
        (json!({"from": before}), "invalid_request"),
    ] {
        let (status, error) = post(&server, "/buses/archive/replays", body).await;
        assert_eq!((status, error["error"].as_str()), (400, Some(code)));
    }
    assert_eq!(get(&server, "/buses/archive/replays/none").await.0, 404);
}
