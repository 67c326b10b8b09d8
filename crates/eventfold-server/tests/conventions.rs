//! HTTP conventions: a request id on every response, compression of pages (never of SSE), and
//! CORS only when configured.

mod common;

use eventfold_server::{Cors, ServerConfig};
use serde_json::json;

use common::{client, post, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id_the_client_may_choose() {
    let server = start(ServerConfig::default()).await;
    for path in ["/health", "/streams/nobody-1", "/no/such/route"] {
        let response = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{path}: {id}");
    }
    let response = client()
        .get(format!("{}/health", server.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_compressed_as_the_client_accepts_and_streams_never_are() {
    let server = start(ServerConfig::default()).await;
    let events: Vec<_> = (0..50)
        .map(|n| json!({"type": "Deposited", "data": {"amount": n, "note": "x".repeat(100)}}))
        .collect();
    let (status, _) = post(&server, "/streams/account-1", json!({ "events": events })).await;
    assert!(status == 200 || status == 201);
    for encoding in ["gzip", "br", "zstd"] {
        let response = client()
            .get(format!("{}/all?limit=50", server.base))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], encoding);
        let compressed = response.bytes().await.unwrap();
        let plain = client()
            .get(format!("{}/all?limit=50", server.base))
            .send()
            .await
            .unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
        assert!(
            compressed.len() * 2 < plain.bytes().await.unwrap().len(),
            "{encoding}"
        );
    }
    let stream = client()
        .get(format!("{}/subscribe/all", server.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers().get("content-encoding").is_none(),
        "SSE is sent as it comes"
    );
}

async fn preflight(base: &str, origin: &str) -> reqwest::Response {
    client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/streams/account-1"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_unless_origins_are_configured() {
    let off = start(ServerConfig::default()).await;
    let answer = preflight(&off.base, "https://console.example.com").await;
    assert!(answer
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let config = ServerConfig {
        cors: Cors::parse(&["https://console.example.com".into()]).unwrap(),
        ..ServerConfig::default()
    };
    let on = start(config).await;
    let allowed = preflight(&on.base, "https://console.example.com").await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://console.example.com"
    );
    assert!(allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let other = preflight(&on.base, "https://evil.example.net").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let simple = client()
        .get(format!("{}/health", on.base))
        .header("origin", "https://console.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://console.example.com"
    );
    assert!(simple.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));

    assert!(Cors::parse(&["console.example.com".into()]).is_err());
    assert!(Cors::parse(&["https://a.example/path".into()]).is_err());
    assert_eq!(Cors::parse(&["*".into()]).unwrap(), Cors::AnyOrigin);
    assert_eq!(Cors::parse(&[]).unwrap(), Cors::Off);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_what_a_browser_event_source_expects() {
    let server = start(ServerConfig::default()).await;
    let (status, _) = post(
        &server,
        "/streams/account-1",
        json!({"events": [{"type": "Deposited", "data": {"n": 1}}]}),
    )
    .await;
    assert!(status == 200 || status == 201);
    let response = client()
        .get(format!("{}/subscribe/streams/account-1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut body = Box::pin(response.bytes_stream());
    let mut text = String::new();
    read_until(&mut body, &mut text, "caught_up").await;
    let first = text.split("\n\n").next().unwrap();
    assert!(
        first.contains("\"Deposited\"") && !first.contains("event:"),
        "an event is a default message, so onmessage fires: {first}"
    );
    assert!(text.contains("event: caught_up"), "{text}");
    // A hard delete ends the subscription with `failure`, not EventSource's own `error`.
    let deleted = client()
        .delete(format!("{}/streams/account-1?hard=true", server.base))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    read_until(&mut body, &mut text, "event: failure").await;
    assert!(!text.contains("event: error"), "{text}");
}

/// Reads the stream into `text` until it holds `wanted`.
async fn read_until(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    text: &mut String,
    wanted: &str,
) {
    use futures::StreamExt;
    while !text.contains(wanted) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), body.next())
            .await
            .expect("in time")
            .expect("the stream goes on")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}
