//! The server's memory is bounded in bytes (issue 14, item 2): with events of 1 MB, parallel
//! readers of large pages, subscribers that never read and consumer groups with huge buffers,
//! the server process's peak RSS stays under a bound derived from its configured limits.
//!
//! Not timed: it asserts a bound on memory (Linux only: it reads `/proc/<pid>/status`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

mod served;
use served::Served;

const MIB: u64 = 1 << 20;
/// Limits given to the server, and the bound they imply.
const PAGE_BYTES_MAX: u64 = 4 * MIB;
const PAGES_IN_FLIGHT_MAX: u64 = 4;
const GROUP_BUFFER_BYTES_MAX: u64 = 4 * MIB;
/// A subscription's page (the store's `SUBSCRIPTION_PAGE_BYTES`) plus what the connection
/// buffers before the socket.
const SUBSCRIBER_BYTES: u64 = 3 * MIB;
const EVENT_BYTES: usize = 1_000_000;

const READERS: usize = 6;
const STALLED_SUBSCRIBERS: usize = 6;
const GROUPS: usize = 6;

/// The worst case the docs give (docs/ARCHITECTURE.md, "Memory"), for these limits: the
/// process's own baseline, each page three times (the store's, its JSON, the response buffer),
/// each stalled subscriber, each group's read-ahead plus one page and one event, and the
/// appends of the load phase.
fn bound_bytes() -> u64 {
    let baseline = 128 * MIB;
    let pages = PAGES_IN_FLIGHT_MAX * PAGE_BYTES_MAX * 3;
    let subscribers = STALLED_SUBSCRIBERS as u64 * SUBSCRIBER_BYTES;
    let groups = GROUPS as u64 * (GROUP_BUFFER_BYTES_MAX + 2 * MIB);
    let appends = 4 * 8 * MIB;
    baseline + pages + subscribers + groups + appends
}

/// A server with the limits above; its address (`host:port`).
fn start(data: &std::path::Path) -> (Served, String) {
    let page = PAGE_BYTES_MAX.to_string();
    let pages = PAGES_IN_FLIGHT_MAX.to_string();
    let group = GROUP_BUFFER_BYTES_MAX.to_string();
    let server = Served::start_with(&[
        "--data",
        data.to_str().unwrap(),
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--page-bytes-max",
        &page,
        "--pages-in-flight-max",
        &pages,
        "--group-buffer-bytes-max",
        &group,
    ]);
    let address = server.url.trim_start_matches("http://").to_owned();
    (server, address)
}

/// One HTTP/1.1 request on its own connection; the status and the body.
fn request(address: &str, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    let mut tcp = TcpStream::connect(address).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).unwrap();
    tcp.write_all(body.as_bytes()).unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).unwrap();
    let status = std::str::from_utf8(&answer[9..12])
        .unwrap()
        .parse()
        .unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    (status, answer[split..].to_vec())
}

fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn peak_memory_stays_under_the_bound_of_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = start(dir.path());

    // 96 events of 1 MB, in appends of 8.
    let pad = "x".repeat(EVENT_BYTES);
    for append in 0..12 {
        let events: Vec<String> = (0..8)
            .map(|n| format!(r#"{{"type": "Big", "data": {{"n": {n}, "pad": "{pad}"}}}}"#))
            .collect();
        let body = format!(r#"{{"events": [{}]}}"#, events.join(","));
        let (status, answer) = request(&address, "POST", &format!("/streams/big-{append}"), &body);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    }

    // Groups that would buffer everything if only their event count held them back.
    for group in 0..GROUPS {
        let body = r#"{"start": "start", "buffer_size": 100000}"#;
        let (status, _) = request(&address, "PUT", &format!("/groups/g{group}"), body);
        assert_eq!(status, 201);
    }
    // Subscribers that connect and never read a byte.
    let stalled: Vec<TcpStream> = (0..STALLED_SUBSCRIBERS)
        .map(|_| {
            let mut tcp = TcpStream::connect(&address).unwrap();
            tcp.write_all(b"GET /subscribe/all HTTP/1.1\r\nhost: x\r\n\r\n")
                .unwrap();
            tcp
        })
        .collect();
    // Readers asking for far more than a page holds, in parallel, a few times each.
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let address = address.clone();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let (status, body) = request(&address, "GET", "/all?limit=600", "");
                    assert_eq!(status, 200);
                    assert!(
                        body.len() as u64 <= 2 * PAGE_BYTES_MAX,
                        "a page of {}",
                        body.len()
                    );
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
    std::thread::sleep(Duration::from_secs(1)); // groups read ahead, subscribers fill
    let peak = peak_rss_bytes(server.child.id());
    let bound = bound_bytes();
    eprintln!("peak RSS {} MiB, bound {} MiB", peak / MIB, bound / MIB);
    assert!(
        peak < bound,
        "peak RSS {} MiB is over the bound of {} MiB",
        peak / MIB,
        bound / MIB
    );
    // And the server still answers.
    assert_eq!(request(&address, "GET", "/health", "").0, 200);
    drop(stalled);
}
