//! Pattern matching cannot starve the server (issue 14, item 3): the pattern size limit holds
//! over HTTP, and the costliest pattern accepted, matched against the largest event accepted,
//! leaves `/health` answering at once.

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{get, post, put, start};
use eventfold_server::ServerConfig;

/// A wildcard with the most stars allowed, which scans the whole value before it fails on a
/// string of `a`s ending in `c`.
fn costly_wildcard() -> Value {
    let stars = "*ab".repeat(31);
    json!({"wildcard": format!("{stars}*c")})
}

/// As many costly wildcards as fit the 64 KiB pattern limit.
fn costliest_pattern() -> Value {
    let one = costly_wildcard().to_string().len() + 1;
    let count = (60 * 1024) / one;
    json!({"data": {"s": vec![costly_wildcard(); count]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pattern_limit_holds_over_http() {
    let server = start(ServerConfig::default()).await;
    assert_eq!(put(&server, "/buses/b", json!({})).await.0, 201);
    // 170 KB of pattern, in strings each under the string limit.
    let strings: Vec<String> = (0..170)
        .map(|n| format!("{n:04}{}", "y".repeat(1_000)))
        .collect();
    let body = json!({"pattern": {"data": {"s": strings}}, "targets": [{"stream": "out"}]});
    let (status, error) = put(&server, "/buses/b/rules/big", body).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("limit is 65536"),
        "{error}"
    );
    assert_eq!(get(&server, "/buses/b/rules/big").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_costliest_match_leaves_the_server_answering() {
    let server = start(ServerConfig::default()).await;
    assert_eq!(put(&server, "/buses/b", json!({})).await.0, 201);
    let rule = json!({"pattern": costliest_pattern(), "targets": [{"stream": "out"}]});
    for n in 0..7 {
        let (status, body) = put(&server, &format!("/buses/b/rules/r{n}"), rule.clone()).await;
        assert_eq!(status, 201, "{body}");
    }
    // The largest event: 1 MiB with its envelope; a near miss for every wildcard.
    let near_miss = format!("{}c", "a".repeat(1_000_000));
    let event = json!({"events": [{"source": "s", "type": "T", "data": {"s": near_miss}}]});
    let (status, body) = post(&server, "/buses/b/events", event).await;
    assert_eq!(status, 201, "{body}");
    let mut slowest = Duration::ZERO;
    let mut polls = 0;
    loop {
        let asked = Instant::now();
        assert_eq!(get(&server, "/health").await.0, 200);
        slowest = slowest.max(asked.elapsed());
        polls += 1;
        let (_, rule) = get(&server, "/buses/b/rules/r6").await;
        if rule["status"]["next_revision"] == 1 {
            break;
        }
        assert!(polls < 2_000, "the rules never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        polls > 1,
        "the rules were still matching while /health was asked"
    );
    // Matching takes seconds here; a match on the runtime's threads would hold /health that
    // long. 500 ms leaves room for a loaded two-core CI machine (100 ms flaked there once).
    assert!(
        slowest < Duration::from_millis(500),
        "/health took {slowest:?}"
    );
}
