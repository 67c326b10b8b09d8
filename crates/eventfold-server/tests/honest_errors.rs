//! Strict bodies and honest errors (issue 14, item 7): only objects are bodies, every error has
//! the JSON body, limits are named, 503 says when to retry, a deleted stream is refused before
//! streaming, and plain subscriptions and group push streams have caps of their own.

mod common;

use serde_json::json;

use common::{client, delete, get, post, put, start, Server};
use eventfold_server::ServerConfig;

async fn raw_put(server: &Server, path: &str, body: &str) -> (u16, serde_json::Value) {
    let response = client()
        .put(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let server = start(ServerConfig::default()).await;
    post(
        &server,
        "/streams/s",
        json!({"events": [{"type": "T", "data": {}}]}),
    )
    .await;
    for body in ["[1]", "[1, 2, null]", "1", "\"max_age_secs\"", "null"] {
        let (status, error) = raw_put(&server, "/streams/s/metadata", body).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"], "invalid_request");
        assert!(error["message"].as_str().unwrap().contains("JSON object"));
    }
    let (_, metadata) = get(&server, "/streams/s/metadata").await;
    assert_eq!(metadata.get("max_age_secs"), None, "{metadata}");
    // Every other body too.
    let (status, _) = raw_put(&server, "/buses/b", "[null, null]").await;
    assert_eq!(status, 400);
    assert_eq!(get(&server, "/buses/b").await.0, 404);
    // And every object inside a body: an event or a policy given as an array.
    let (status, error) = raw_put(&server, "/buses/b", r#"{"policy": [["s"]]}"#).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("JSON object"),
        "{error}"
    );
    assert_eq!(get(&server, "/buses/b").await.0, 404);
    let response = client()
        .post(format!("{}/streams/array-1", server.base))
        .header("content-type", "application/json")
        .body(r#"{"events": [[null, "T", {"n": 1}]]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        get(&server, "/streams/array-1").await.0,
        404,
        "nothing appended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_gets_the_json_error_body() {
    let server = start(ServerConfig::default()).await;
    let response = client()
        .patch(format!("{}/streams/s", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    assert!(body["message"].as_str().unwrap().contains("method"));
    assert_eq!(delete(&server, "/health").await.0, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_limits_are_named_separate_and_say_when_to_retry() {
    let config = ServerConfig {
        subscribers_max: 2,
        group_subscribers_max: 1,
        ..ServerConfig::default()
    };
    let server = start(config).await;
    assert_eq!(put(&server, "/groups/g", json!({})).await.0, 201);
    let open = |path: &'static str| {
        let url = format!("{}{path}", server.base);
        async move { client().get(url).send().await.unwrap() }
    };
    let first = open("/subscribe/all").await;
    let second = open("/subscribe/all").await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let refused = open("/subscribe/all").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_subscribers");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("2 open subscriptions, its limit"),
        "{body}"
    );
    // Group push streams have their own cap, untouched by the plain subscriptions.
    let push = open("/groups/g/subscribe").await;
    assert_eq!(push.status(), 200);
    let refused = open("/groups/g/subscribe").await;
    assert_eq!(refused.status(), 503);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("1 open group push streams"),
        "{body}"
    );
    drop((first, second, push));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_to_a_deleted_stream_is_refused_before_it_starts() {
    let server = start(ServerConfig::default()).await;
    post(
        &server,
        "/streams/gone-1",
        json!({"events": [{"type": "T", "data": {}}]}),
    )
    .await;
    assert_eq!(delete(&server, "/streams/gone-1?hard=true").await.0, 204);
    let (status, error) = get(&server, "/subscribe/streams/gone-1").await;
    assert_eq!(status, 410, "{error}");
    assert_eq!(error["error"], "stream_deleted");
    // A stream that does not exist yet can still be followed.
    let response = client()
        .get(format!("{}/subscribe/streams/later-1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
