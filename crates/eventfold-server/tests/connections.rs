//! Connections that do not play nice (issue 14, item 5): slowloris clients are cut off by the
//! header timeout, silent ones by the idle timeout, connections over the cap get a clear 503,
//! well-behaved clients are served meanwhile, and shutdown does not wait for ever.

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{get, start, Server};
use eventfold_server::{ConnectionLimits, ServerConfig};

fn config(limits: ConnectionLimits) -> ServerConfig {
    ServerConfig {
        connections: limits,
        ..ServerConfig::default()
    }
}

/// A connection that sends half a request head and then nothing.
async fn slowloris(server: &Server) -> TcpStream {
    let address = server.base.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(address).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    tcp
}

/// Whether the server closed `tcp` within `within` (reads until end of stream).
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut sink = Vec::new();
    tokio::time::timeout(within, tcp.read_to_end(&mut sink))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_good_clients_are_served_meanwhile() {
    let server = start(config(ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }))
    .await;
    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.push(slowloris(&server).await);
    }
    let asked = Instant::now();
    assert_eq!(get(&server, "/health").await.0, 200);
    assert!(asked.elapsed() < Duration::from_secs(1), "served at once");
    for tcp in &mut slow {
        assert!(
            closed_within(tcp, Duration::from_secs(5)).await,
            "a slow head is cut off"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_where_nothing_moves_is_closed() {
    let server = start(config(ConnectionLimits {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }))
    .await;
    let mut silent = slowloris(&server).await;
    let opened = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "not before the idle timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_a_clear_refusal() {
    let server = start(config(ConnectionLimits {
        connections_max: 10,
        header_timeout: Duration::from_secs(2),
        ..ConnectionLimits::default()
    }))
    .await;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(slowloris(&server).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let response = reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "too_many_connections");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("10 open connections"));
    // Once the slow ones are cut off, everyone is served again.
    for tcp in &mut held {
        assert!(closed_within(tcp, Duration::from_secs(5)).await);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(&server, "/health").await.0 != 200 {
        assert!(Instant::now() < deadline, "served after the slow ones left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_half_sent_request() {
    let mut server = start(config(ConnectionLimits {
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        shutdown_grace: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }))
    .await;
    let _held = slowloris(&server).await;
    // And a body that never finishes.
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut body = TcpStream::connect(&address).await.unwrap();
    body.write_all(b"POST /streams/s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"events\"")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    server.stop.take().unwrap().send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(10), &mut server.done).await;
    stopped.expect("the server stops").unwrap().unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopping.elapsed()
    );
}
