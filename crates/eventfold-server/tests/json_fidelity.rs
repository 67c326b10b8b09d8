//! What goes out is what came in: JSON the matcher's parser refuses is refused at the door
//! (streams and buses alike) and nothing is stored; what is stored reaches webhooks and target
//! streams byte for byte, big integers, `1.50` and escapes included.

mod common;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use serde_json::{json, Value};

use common::{client, eventually, get, put, start, Server};
use eventfold_server::ServerConfig;

/// A webhook endpoint that keeps the raw text of every body it receives, and answers 200.
#[derive(Clone, Default)]
struct Hook {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Hook {
    async fn serve() -> (Self, String) {
        let hook = Self::default();
        let state = hook.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    state.received.lock().push((headers, body));
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (hook, url)
    }
}

/// POSTs `body` as it is (JSON text `serde_json::Value` could not even hold).
async fn post_text(server: &Server, path: &str, body: String) -> (u16, Value) {
    let response = client()
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// GETs `path` as text.
async fn get_text(server: &Server, path: &str) -> (u16, String) {
    let response = client()
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// JSON that the store took before but the bus matcher's parser refuses, and what the refusal
/// names.
fn refused_json() -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("a lone surrogate", r#"{"x":"\ud800"}"#.to_owned(), "escape"),
        (
            "a lone trailing surrogate",
            r#"{"x":"\udc00"}"#.to_owned(),
            "surrogate",
        ),
        (
            "a number out of f64 range",
            r#"{"x":1e999999}"#.to_owned(),
            "out of range",
        ),
        (
            "nesting deeper than 100",
            format!("{}1{}", "[".repeat(101), "]".repeat(101)),
            "nested deeper than 100",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_the_matcher_refuses_is_refused_and_nothing_is_stored() {
    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/b", json!({})).await;
    for (what, bad, names) in refused_json() {
        let attempts = [
            (
                "stream data",
                "/streams/s",
                format!(r#"{{"events":[{{"type":"T","data":{{}}}},{{"type":"T","data":{bad}}}]}}"#),
                "`data`",
            ),
            (
                "stream metadata",
                "/streams/s",
                format!(r#"{{"events":[{{"type":"T","data":{{}},"metadata":{{"m":{bad}}}}}]}}"#),
                "`metadata`",
            ),
            (
                "bus data",
                "/buses/b/events",
                format!(
                    r#"{{"events":[{{"source":"s","type":"T","data":{{}}}},{{"source":"s","type":"T","data":{bad}}}]}}"#
                ),
                "`data`",
            ),
            (
                "bus metadata",
                "/buses/b/events",
                format!(
                    r#"{{"events":[{{"source":"s","type":"T","data":{{}},"metadata":{{"m":{bad}}}}}]}}"#
                ),
                "`metadata`",
            ),
        ];
        for (place, path, body, field) in attempts {
            let (status, error) = post_text(&server, path, body).await;
            assert_eq!(
                (status, error["error"].as_str()),
                (400, Some("invalid_event")),
                "{what} in {place}: {error}"
            );
            let message = error["message"].as_str().unwrap();
            assert!(
                message.contains(field)
                    && message.contains("is not valid JSON")
                    && message.contains(names),
                "{what} in {place}: {message}"
            );
        }
    }
    assert_eq!(get(&server, "/streams/s").await.0, 404, "nothing stored");
    let (_, bus) = get(&server, "/buses/b").await;
    assert_eq!(bus["events_put"], 0, "nothing put: {bus}");
    let (status, archive) = get(&server, "/streams/$bus:b:archive").await;
    assert!(
        status == 404 || archive["events"].as_array().unwrap().is_empty(),
        "{archive}"
    );
    // The deepest nesting allowed still goes in.
    let deepest = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let (status, written) = post_text(
        &server,
        "/streams/s",
        format!(r#"{{"events":[{{"type":"T","data":{deepest}}}]}}"#),
    )
    .await;
    assert_eq!(status, 201, "{written}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_json_reaches_webhooks_and_streams_byte_for_byte() {
    let data = r#"{"x":12345678901234567890123, "y": 1.50, "z":"\u00e9"}"#;
    let metadata = r#"{"trace": 98765432109876543210, "w": 2.0}"#;
    let server = start(ServerConfig::default()).await;
    put(&server, "/buses/b", json!({})).await;
    let (hook, url) = Hook::serve().await;
    let rule = json!({"pattern": {"source": ["app"]},
        "targets": [{"webhook": {"url": url}}, {"stream": "copies"}]});
    let (status, body) = put(&server, "/buses/b/rules/r", rule).await;
    assert_eq!(status, 201, "{body}");
    let (status, written) = post_text(
        &server,
        "/buses/b/events",
        format!(
            r#"{{"events":[{{"source":"app","type":"Big","data":{data},"metadata":{metadata}}}]}}"#
        ),
    )
    .await;
    assert_eq!(status, 201, "{written}");
    let id = written["ids"][0].as_str().unwrap().to_owned();

    let (headers, body) = eventually("the webhook was called", async || {
        hook.received.lock().first().cloned()
    })
    .await;
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        body.contains(&format!(r#""data":{data},"#)),
        "the data as put: {body}"
    );
    assert!(
        body.contains(&format!(r#""metadata":{metadata},"#)),
        "the metadata as put: {body}"
    );
    // The other fields, and the order of them all, are as before.
    let parsed: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = parsed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["bus", "data", "id", "metadata", "rule", "source", "time", "type"]
    );
    let start = format!(
        r#"{{"bus":"b","data":{data},"id":"{id}","metadata":{metadata},"rule":"r","source":"app","time":""#
    );
    assert!(body.starts_with(&start), "{body}");
    assert!(body.ends_with(r#"","type":"Big"}"#), "{body}");
    assert!(parsed["time"].as_str().unwrap().ends_with('Z'), "{body}");

    let copies = eventually("the stream target got its copy", async || {
        let (status, text) = get_text(&server, "/streams/copies").await;
        (status == 200).then_some(text)
    })
    .await;
    assert!(
        copies.contains(&format!(r#""data":{data},"#)),
        "the data as put: {copies}"
    );
    assert!(
        copies.contains(&format!(r#""metadata":{metadata},"#)),
        "the sender's metadata as put, inside the envelope: {copies}"
    );
    let (_, archive) = get_text(&server, "/streams/$bus:b:archive").await;
    assert!(archive.contains(&format!(r#""data":{data},"#)), "{archive}");
}
