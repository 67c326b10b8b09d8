//! Event buses over HTTP: policies, rules with every kind of target, webhook retries and dead
//! letters, order, and bad input (replays: `replays.rs`).

mod common;

use serde_json::{json, Value};

use common::hook::Hook;
use common::{delete, eventually, get, post, put, start, stream_events, Server};
use eventfold_server::ServerConfig;

async fn put_events(server: &Server, bus: &str, events: Value) -> (u16, Value) {
    post(
        server,
        &format!("/buses/{bus}/events"),
        json!({ "events": events }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_refuse_sources_and_types_and_nothing_is_stored() {
    let server = start(ServerConfig::default()).await;
    let (status, bus) = put(
        &server,
        "/buses/orders",
        json!({"policy": {"sources": ["shop", "billing.*"], "types": ["Order*"]}}),
    )
    .await;
    assert_eq!(status, 201, "{bus}");
    let same = json!({"policy": bus["policy"]});
    assert_eq!(put(&server, "/buses/orders", same).await.0, 200);
    let (status, written) = put_events(
        &server,
        "orders",
        json!([{"source": "shop", "type": "OrderPlaced", "data": {"total": 5}},
               {"source": "billing.eu", "type": "OrderPaid", "data": {}, "metadata": {"trace": "t1"}}]),
    )
    .await;
    assert_eq!(status, 201, "{written}");
    assert_eq!(written["ids"].as_array().unwrap().len(), 2);

    let refused = [
        (
            json!([{"source": "evil", "type": "OrderPlaced", "data": {}}]),
            403,
            "forbidden_source",
        ),
        (
            json!([{"source": "shop", "type": "Refund", "data": {}}]),
            403,
            "forbidden_event_type",
        ),
        (
            json!([{"source": "shop", "type": "OrderPlaced", "data": {}},
                {"source": "evil", "type": "OrderPlaced", "data": {}}]),
            403,
            "forbidden_source",
        ),
        (
            json!([{"type": "OrderPlaced", "data": {}}]),
            400,
            "invalid_request",
        ),
        (
            json!([{"source": "", "type": "OrderPlaced", "data": {}}]),
            400,
            "invalid_request",
        ),
        (
            json!([{"source": "shop", "type": "OrderPlaced", "data": {}, "colour": 1}]),
            400,
            "invalid_request",
        ),
        (json!([]), 400, "invalid_request"),
    ];
    for (events, status, code) in refused {
        let (got, error) = put_events(&server, "orders", events.clone()).await;
        assert_eq!(
            (got, error["error"].as_str()),
            (status, Some(code)),
            "{events}: {error}"
        );
    }
    let (status, error) = put_events(
        &server,
        "nowhere",
        json!([{"source": "s", "type": "t", "data": {}}]),
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (404, Some("bus_not_found"))
    );
    let (_, described) = get(&server, "/buses/orders").await;
    assert_eq!(described["events_put"], 2, "refused puts stored nothing");
    let archive = stream_events(&server, "$bus:orders:archive").await;
    assert_eq!(archive[1]["metadata"]["source"], "billing.eu");
    assert_eq!(archive[1]["metadata"]["metadata"]["trace"], "t1");

    for (path, body) in [
        ("/buses/a%20b", json!({})),
        ("/buses/x", json!({"policy": {"sources": [""]}})),
        ("/buses/x", json!({"archive_days": 0})),
        ("/buses/x", json!({"owner": "me"})),
    ] {
        let (status, error) = put(&server, path, body.clone()).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (400, Some("invalid_request")),
            "{path} {body}"
        );
    }
    let (_, listed) = get(&server, "/buses").await;
    assert_eq!(listed["buses"].as_array().unwrap().len(), 1);
    assert_eq!(delete(&server, "/buses/orders").await.0, 204);
    assert_eq!(get(&server, "/buses/orders").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_deliver_matches_to_streams_buses_and_groups_in_order() {
    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/shop", json!({})).await;
    put(
        &server,
        "/buses/audit",
        json!({"policy": {"sources": ["shop"]}}),
    )
    .await;
    put(
        &server,
        "/groups/inbox",
        json!({"stream": "inbox", "start": "start"}),
    )
    .await;
    let rule = json!({
        "pattern": {"type": ["OrderPlaced"], "data": {"total": [{"numeric": [">", 100]}]}},
        "targets": [{"stream": "big-orders"}, {"bus": "audit"}, {"group": "inbox"}],
        "description": "big orders",
    });
    let (status, created) = put(&server, "/buses/shop/rules/big", rule).await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = put(
        &server,
        "/buses/audit/rules/log",
        json!({"pattern": {}, "targets": [{"stream": "audit-log"}]}),
    )
    .await;
    assert_eq!(status, 201);

    let events: Vec<Value> = (0..20)
        .map(|n| json!({"source": "shop", "type": "OrderPlaced", "data": {"n": n, "total": if n % 2 == 0 { 500 } else { 50 }}}))
        .chain([json!({"source": "shop", "type": "OrderCancelled", "data": {"total": 900}})])
        .collect();
    let (status, _) = put_events(&server, "shop", json!(events)).await;
    assert_eq!(status, 201);

    let big = eventually("big orders delivered", async || {
        let events = stream_events(&server, "big-orders").await;
        (events.len() == 10).then_some(events)
    })
    .await;
    let numbers: Vec<u64> = big
        .iter()
        .map(|e| e["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
        "in the order they were put"
    );
    assert_eq!(big[0]["metadata"]["source"], "shop");
    assert_eq!(
        big[0]["metadata"]["via"],
        json!([{"bus": "shop", "rule": "big"}])
    );
    let audit = eventually("bus to bus to stream", async || {
        let events = stream_events(&server, "audit-log").await;
        (events.len() == 10).then_some(events)
    })
    .await;
    assert_eq!(audit[9]["metadata"]["via"].as_array().unwrap().len(), 2);
    let fetched = eventually("group target", async || {
        let (_, fetched) = post(
            &server,
            "/groups/inbox/fetch",
            json!({"max": 100, "wait_ms": 100}),
        )
        .await;
        let messages = fetched["messages"].as_array().unwrap().clone();
        (!messages.is_empty()).then_some(messages)
    })
    .await;
    assert_eq!(fetched[0]["event"]["data"]["n"], 0);

    let (_, described) = get(&server, "/buses/shop/rules/big").await;
    assert_eq!(described["status"]["matched"], 10);
    assert_eq!(described["status"]["delivered"], 30);
    assert_eq!(described["status"]["lag_events"], 0);
    assert_eq!(described["description"], "big orders");
    let metrics = common::metrics(&server).await;
    assert!(
        metrics.contains("eventfold_rule_matched_total{bus=\"shop\",rule=\"big\"} 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains("eventfold_rule_lag_events{bus=\"shop\",rule=\"big\"} 0"),
        "{metrics}"
    );

    // Bad rules: the pattern's problem is named; nothing is created.
    let (status, error) = put(&server, "/buses/shop/rules/bad", json!({"pattern": {"data": {"total": [{"numeric": [">", "x"]}]}}, "targets": [{"stream": "s"}]})).await;
    assert_eq!(status, 400);
    assert!(
        error["message"].as_str().unwrap().contains("data.total"),
        "{error}"
    );
    let (status, error) = put(
        &server,
        "/buses/shop/rules/bad",
        json!({"pattern": {}, "targets": [{"stream": "$bus:shop:archive"}]}),
    )
    .await;
    assert_eq!(
        status, 400,
        "a rule cannot write the server's streams (a loop back into its bus): {error}"
    );
    let (status, error) = put(
        &server,
        "/buses/none/rules/r",
        json!({"pattern": {}, "targets": [{"stream": "s"}]}),
    )
    .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (404, Some("bus_not_found"))
    );
    assert_eq!(get(&server, "/buses/shop/rules/bad").await.0, 404);
    let (_, rules) = get(&server, "/buses/shop/rules").await;
    assert_eq!(rules["rules"].as_array().unwrap().len(), 1);
    assert_eq!(delete(&server, "/buses/shop/rules/big").await.0, 204);
    assert_eq!(get(&server, "/buses/shop/rules/big").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_retried_with_backoff_and_dead_lettered() {
    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/hooks", json!({})).await;
    let (flaky, flaky_url) = Hook::serve(&[500, 503]).await;
    let (refusing, refusing_url) = Hook::serve(&[400]).await;
    let (down, down_url) = Hook::serve(&[500, 500, 500, 500]).await;
    for (name, url, attempts) in [
        ("flaky", &flaky_url, 5),
        ("refusing", &refusing_url, 5),
        ("down", &down_url, 2),
    ] {
        let rule = json!({"pattern": {"source": ["app"]}, "targets": [{"webhook": {
            "url": url, "headers": {"x-api-key": "k1"}, "max_attempts": attempts, "retry_backoff_ms": 10, "retry_backoff_max_ms": 20}}]});
        let (status, body) = put(&server, &format!("/buses/hooks/rules/{name}"), rule).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, written) = put_events(
        &server,
        "hooks",
        json!([{"source": "app", "type": "Ping", "data": {"k": 1}}]),
    )
    .await;
    let id = written["ids"][0].as_str().unwrap().to_owned();

    eventually("the flaky hook got it on the third attempt", async || {
        (flaky.received.lock().len() == 3).then_some(())
    })
    .await;
    let received = flaky.received.lock().clone();
    for (attempt, (headers, body)) in received.iter().enumerate() {
        assert_eq!(
            headers["eventfold-event-id"],
            id.as_str(),
            "every attempt carries the same id"
        );
        assert_eq!(
            headers["eventfold-attempt"],
            (attempt + 1).to_string().as_str()
        );
        assert_eq!(headers["x-api-key"], "k1");
        assert_eq!(
            (&body["type"], &body["source"], &body["data"]["k"]),
            (&json!("Ping"), &json!("app"), &json!(1))
        );
        assert_eq!(
            (&body["bus"], &body["rule"], &body["id"]),
            (&json!("hooks"), &json!("flaky"), &json!(id))
        );
    }
    for (name, reason, attempts) in [("refusing", "400", 1), ("down", "after 2 attempts", 2)] {
        let dead = eventually("dead-lettered", async || {
            let (_, page) = get(&server, &format!("/buses/hooks/rules/{name}/dead-letters")).await;
            let events = page["events"].as_array().unwrap().clone();
            (!events.is_empty()).then_some(events)
        })
        .await;
        assert!(
            dead[0]["metadata"]["reason"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{}",
            dead[0]
        );
        assert_eq!(dead[0]["metadata"]["attempts"], attempts);
        assert_eq!(dead[0]["metadata"]["original"]["id"], json!(id));
        assert_eq!(dead[0]["data"]["k"], 1);
    }
    assert_eq!(refusing.received.lock().len(), 1, "a 400 is not retried");
    assert_eq!(down.received.lock().len(), 2);
    let (_, described) = get(&server, "/buses/hooks/rules/down").await;
    assert_eq!(described["status"]["dead_lettered"], 1);
    assert_eq!(described["status"]["retried"], 1);
}
