//! Replays of a bus's archive over HTTP: the copies reach the bus's rules, marked, with ids of
//! their own, and never enter the archive, nor (forwarded by rules) any other bus's archive, so
//! a fold of any archive is the same before and after.

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

/// Runs replay `name` of everything put on bus `archive` since `from` and waits for it.
async fn replay(server: &Server, name: &str, from: &Value) -> Value {
    replay_bus(server, "archive", name, from).await
}

/// Runs replay `name` of everything put on `bus` since `from` and waits for it; returns its
/// view.
async fn replay_bus(server: &Server, bus: &str, name: &str, from: &Value) -> Value {
    let body = json!({"name": name, "from": from});
    let (status, started) = post(server, &format!("/buses/{bus}/replays"), body).await;
    assert_eq!(status, 202, "{started}");
    let path = format!("/buses/{bus}/replays/{name}");
    let replay = eventually("replay finished", async || {
        let (_, replay) = get(server, &path).await;
        (replay["state"] != "running").then_some(replay)
    })
    .await;
    assert_eq!(replay["state"], "completed", "{replay}");
    replay
}

/// The archives of buses `src`, `dst` and `far`.
async fn archives(server: &Server) -> Vec<Vec<Value>> {
    let mut archives = Vec::new();
    for bus in ["src", "dst", "far"] {
        archives.push(stream_events(server, &format!("$bus:{bus}:archive")).await);
    }
    archives
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

/// A replay of a bus whose rule forwards to other buses (issue 15, item 4): the forwarded copies
/// reach the next buses' rules (and theirs, down a chain) through those buses' replays
/// streams, never their archives, so a fold of any archive sees each event once. The next
/// bus's policy still applies, a loop is still cut, running the replay again is a retry, and a
/// restart delivers nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_replay_reaches_the_next_buses_rules_and_stays_out_of_their_archives() {
    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/src", json!({})).await;
    put(
        &server,
        "/buses/dst",
        json!({"policy": {"types": ["Tick"]}}),
    )
    .await;
    put(&server, "/buses/far", json!({})).await;
    let (dst_hook, dst_url) = Hook::serve(&[]).await;
    let (far_hook, far_url) = Hook::serve(&[]).await;
    for (bus, rule, targets) in [
        ("src", "fwd", json!([{"bus": "dst"}])),
        (
            "dst",
            "fwd",
            json!([{"bus": "far"}, {"webhook": {"url": dst_url}}, {"stream": "dst-seen"}]),
        ),
        (
            "far",
            "see",
            json!([{"webhook": {"url": far_url}}, {"bus": "src"}]),
        ),
    ] {
        let body = json!({"pattern": {}, "targets": targets});
        let (status, answer) = put(&server, &format!("/buses/{bus}/rules/{rule}"), body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let before = json!(chrono::Utc::now());
    let events = json!({"events": [
        {"source": "app", "type": "Tick", "data": {"n": 0}},
        {"source": "app", "type": "Tock", "data": {"n": 1}},
        {"source": "app", "type": "Tick", "data": {"n": 2}},
    ]});
    let (status, body) = post(&server, "/buses/src/events", events).await;
    assert_eq!(status, 201, "{body}");
    received_exactly(&dst_hook, 2).await;
    received_exactly(&far_hook, 2).await;
    let folded = archives(&server).await;
    assert_eq!(
        folded.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 2, 2],
        "dst's policy refuses Tock"
    );

    assert_eq!(
        replay_bus(&server, "src", "fix-1", &before).await["replayed"],
        3
    );
    received_exactly(&dst_hook, 4).await;
    received_exactly(&far_hook, 4).await;
    let after = archives(&server).await;
    assert_eq!(
        after.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 2, 2],
        "a replay of src adds nothing to any archive"
    );
    assert_eq!(after, folded, "no archive changed");
    let bodies = dst_hook.bodies();
    assert_eq!(
        field(&bodies[2..], "replay"),
        [json!("fix-1"), json!("fix-1")]
    );
    assert_eq!(field(&bodies[2..], "data"), field(&folded[1], "data"));
    assert_eq!(
        field(&far_hook.bodies()[2..], "replay"),
        [json!("fix-1"), json!("fix-1")]
    );
    // Down the chain, each bus's copies are in its replays stream, marked, with their path.
    let dst_copies = stream_events(&server, "$bus:dst:replays").await;
    let far_copies = stream_events(&server, "$bus:far:replays").await;
    assert_eq!((dst_copies.len(), far_copies.len()), (2, 2));
    let via = |copies: &[Value]| -> Vec<Value> {
        copies
            .iter()
            .map(|copy| {
                assert_eq!(copy["metadata"]["replay"]["name"], "fix-1", "{copy}");
                copy["metadata"]["via"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|hop| hop["bus"].clone())
                    .collect()
            })
            .collect()
    };
    assert_eq!(via(&dst_copies), [json!(["src"]), json!(["src"])]);
    assert_eq!(
        via(&far_copies),
        [json!(["src", "dst"]), json!(["src", "dst"])]
    );
    assert_eq!(field(&bodies[2..], "id"), field(&dst_copies, "id"));
    // A stream target gets the copies as any event: its reader tells them by `replay`.
    let seen = stream_events(&server, "dst-seen").await;
    assert_eq!(seen.len(), 4);
    assert!(seen[2..]
        .iter()
        .all(|e| e["metadata"]["replay"]["name"] == "fix-1"));
    // Every id is new: no copy reuses the id of an event of any archive or of another copy.
    let mut ids: Vec<Value> = folded.iter().flatten().map(|e| e["id"].clone()).collect();
    for stream in [
        "$bus:src:replays",
        "$bus:dst:replays",
        "$bus:far:replays",
        "dst-seen",
    ] {
        ids.extend(field(&stream_events(&server, stream).await, "id"));
    }
    let count = ids.len();
    ids.sort_by_key(Value::to_string);
    ids.dedup();
    assert_eq!(ids.len(), count, "ids are unique");
    // dst's policy and the loop far → src still cut, for the copies as for the originals.
    let reasons = async |bus: &str, rule: &str| -> Vec<String> {
        let (_, page) = get(&server, &format!("/buses/{bus}/rules/{rule}/dead-letters")).await;
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|letter| letter["metadata"]["reason"].as_str().unwrap().to_owned())
            .collect()
    };
    let refused = reasons("src", "fwd").await;
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused.iter().all(|r| r.contains("refuses type \"Tock\"")),
        "{refused:?}"
    );
    let looped = reasons("far", "see").await;
    assert_eq!(looped.len(), 4, "{looped:?}");
    assert!(
        looped
            .iter()
            .all(|r| r.contains("a loop (src → dst → far → src)")),
        "{looped:?}"
    );

    // The same replay again is a retry; a restart delivers nothing again.
    replay_bus(&server, "src", "fix-1", &before).await;
    received_exactly(&dst_hook, 4).await;
    let server = start_in(server.stop().await, ServerConfig::default()).await;
    received_exactly(&dst_hook, 4).await;
    received_exactly(&far_hook, 4).await;
    assert_eq!(archives(&server).await, folded);
    assert_eq!(stream_events(&server, "$bus:dst:replays").await, dst_copies);
    assert_eq!(stream_events(&server, "dst-seen").await.len(), 4);
    for (bus, rule) in [("src", "fwd"), ("dst", "fwd"), ("far", "see")] {
        let (_, described) = get(&server, &format!("/buses/{bus}/rules/{rule}")).await;
        assert_eq!(described["status"]["lag_events"], 0, "{described}");
    }
    let (_, dst) = get(&server, "/buses/dst").await;
    assert_eq!(
        (&dst["events_put"], &dst["events_replayed"]),
        (&json!(2), &json!(2))
    );
}

/// A replay's copy that a server before the replays stream put into an archive is a replay
/// still when a rule forwards it: it goes to the next bus's replays stream, not its archive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_servers_copy_in_an_archive_is_forwarded_as_a_replay() {
    use eventfold_store::embedded::{EmbeddedStore, Options};
    use eventfold_store::{EventStore, ExpectedRevision, NewEvent, StreamName};

    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/src", json!({})).await;
    put(&server, "/buses/dst", json!({})).await;
    let (hook, url) = Hook::serve(&[]).await;
    for (bus, targets) in [
        ("src", json!([{"bus": "dst"}])),
        ("dst", json!([{"webhook": {"url": url}}])),
    ] {
        let body = json!({"pattern": {}, "targets": targets});
        assert_eq!(
            put(&server, &format!("/buses/{bus}/rules/r"), body).await.0,
            201
        );
    }
    let dir = server.stop().await;
    // What such a server left in the archive: an event, and a replay's copy of it.
    let store = loop {
        match EmbeddedStore::open(dir.path(), Options::default()) {
            Err(eventfold_store::StoreError::Locked(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            opened => break opened.unwrap(),
        }
    };
    let original = uuid::Uuid::now_v7();
    let event = |id: uuid::Uuid, metadata: Value| NewEvent {
        id,
        metadata: serde_json::to_vec(&metadata).unwrap().into(),
        ..NewEvent::new("Tick", r#"{"n": 0}"#)
    };
    let events = vec![
        event(original, json!({"source": "app"})),
        event(
            uuid::Uuid::now_v7(),
            json!({"source": "app", "replay": {"name": "old", "of": original, "original_time": chrono::Utc::now()}}),
        ),
    ];
    let archive = StreamName::new("$bus:src:archive").unwrap();
    store
        .append(&archive, ExpectedRevision::Any, events)
        .await
        .unwrap();
    store.close().await;
    drop(store);

    let server = start_in(dir, ServerConfig::default()).await;
    received_exactly(&hook, 2).await;
    assert_eq!(
        field(&hook.bodies(), "replay"),
        [Value::Null, json!("old")],
        "{:?}",
        hook.bodies()
    );
    let archived = stream_events(&server, "$bus:dst:archive").await;
    assert_eq!(archived.len(), 1, "{archived:?}");
    assert!(archived[0]["metadata"]["replay"].is_null());
    let copies = stream_events(&server, "$bus:dst:replays").await;
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(copies[0]["metadata"]["replay"]["name"], "old");
}
