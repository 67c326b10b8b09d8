//! A subscription through the client survives lost connections: it is opened again after the
//! last event it delivered (`Last-Event-ID`), with no gap and no duplicate; and the builder's
//! settings reach the requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use eventfold_client::Client;
use eventfold_store::embedded::{EmbeddedStore, Options};
use eventfold_store::{
    AllFrom, EventFilter, EventStore, ExpectedRevision, NewEvent, StreamFrom, StreamName,
    SubscriptionMessage,
};

/// A server on a fresh store; the directory and the stop signal live as long as the guard.
async fn server() -> (SocketAddr, impl Drop) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    let backend = eventfold_server::Backend::embedded(store, dir.path()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = eventfold_server::ServerConfig::default();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        eventfold_server::serve(listener, backend, &config, shutdown).await
    });
    struct Guard(
        Option<tokio::sync::oneshot::Sender<()>>,
        #[allow(dead_code)] tempfile::TempDir,
    );
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(stop) = self.0.take() {
                let _ = stop.send(());
            }
        }
    }
    (address, Guard(Some(stop), dir))
}

/// A TCP proxy to `target` that cuts every open connection each time `cut` ticks.
async fn cutting_proxy(target: SocketAddr, cut: watch::Receiver<u64>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let mut cut = cut.clone();
            cut.borrow_and_update();
            tokio::spawn(async move {
                let mut outbound = TcpStream::connect(target).await.unwrap();
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    // Closed in the middle of the response, as a proxy that restarts would.
                    _ = cut.changed() => {
                        let _ = inbound.shutdown().await;
                    }
                }
            });
        }
    });
    address
}

async fn append(store: &dyn EventStore, stream: &StreamName, from: u64, count: u64) {
    let events = (from..from + count)
        .map(|n| NewEvent::json("Counted", &serde_json::json!({ "n": n })))
        .collect();
    store
        .append(stream, ExpectedRevision::Any, events)
        .await
        .unwrap();
}

/// The `n` of each event until `count` have come, skipping other messages.
async fn numbers(subscription: &mut eventfold_store::Subscription, count: usize) -> Vec<u64> {
    let mut seen = Vec::new();
    while seen.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .expect("in time")
            .expect("the subscription goes on")
            .expect("no error");
        if let SubscriptionMessage::Event(event) = message {
            let data: serde_json::Value = serde_json::from_slice(&event.data).unwrap();
            seen.push(data["n"].as_u64().unwrap());
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_resume_after_lost_connections_without_gaps_or_duplicates() {
    let (address, _server) = server().await;
    let (cut, cuts) = watch::channel(0u64);
    let proxy = cutting_proxy(address, cuts).await;
    let direct = Client::new(&format!("http://{address}")).unwrap();
    let client = Client::new(&format!("http://{proxy}")).unwrap();
    let stream = StreamName::new("counter-1").unwrap();
    append(&direct, &stream, 0, 5).await;

    let mut all = client
        .subscribe_all(AllFrom::Start, EventFilter::default())
        .await
        .unwrap();
    let mut one = client
        .subscribe_stream(&stream, StreamFrom::Start)
        .await
        .unwrap();
    let mut seen_all = numbers(&mut all, 5).await;
    let mut seen_one = numbers(&mut one, 5).await;
    for round in 1..=3u64 {
        cut.send(round).unwrap();
        append(&direct, &stream, round * 5, 5).await;
        seen_all.extend(numbers(&mut all, 5).await);
        seen_one.extend(numbers(&mut one, 5).await);
    }
    let expected: Vec<u64> = (0..20).collect();
    assert_eq!(seen_all, expected, "$all: in order, once each");
    assert_eq!(seen_one, expected, "the stream: in order, once each");
    // Caught up once, not once per connection.
    append(&direct, &stream, 20, 1).await;
    assert_eq!(numbers(&mut all, 1).await, [20]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_resuming_a_lost_connection_ends_the_subscription_with_the_loss() {
    let (address, _server) = server().await;
    let (cut, cuts) = watch::channel(0u64);
    let proxy = cutting_proxy(address, cuts).await;
    let client = Client::builder(&format!("http://{proxy}"))
        .resume_subscriptions_for(Duration::ZERO)
        .build()
        .unwrap();
    let stream = StreamName::new("counter-2").unwrap();
    append(&client, &stream, 0, 1).await;
    let mut subscription = client
        .subscribe_stream(&stream, StreamFrom::Start)
        .await
        .unwrap();
    assert_eq!(numbers(&mut subscription, 1).await, [0]);
    cut.send(1).unwrap();
    let ending = loop {
        match tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .expect("in time")
        {
            Some(Ok(_)) => continue,
            other => break other,
        }
    };
    let error = ending.expect("the loss is reported").unwrap_err();
    assert!(error.to_string().contains("subscription lost"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_sends_its_headers_and_bounds_calls_in_time() {
    // A server that records the first request and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (seen, mut request) = tokio::sync::mpsc::channel::<String>(1);
    let seen = Arc::new(seen);
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let read = tokio::io::AsyncReadExt::read(&mut socket, &mut buffer)
            .await
            .unwrap();
        seen.send(String::from_utf8_lossy(&buffer[..read]).into_owned())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(socket);
    });
    let client = Client::builder(&format!("http://{address}"))
        .timeout(Duration::from_millis(300))
        .header("x-tenant", "blue")
        .unwrap()
        .bearer_token("k_secret")
        .unwrap()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let failed = client.head_position().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{failed}");
    let head = request.recv().await.unwrap().to_ascii_lowercase();
    assert!(head.contains("x-tenant: blue"), "{head}");
    assert!(head.contains("authorization: bearer k_secret"), "{head}");

    for bad in ["ftp://x", "https://127.0.0.1:1"] {
        assert_eq!(Client::new(bad).unwrap_err().code(), "invalid_request");
    }
    assert!(Client::builder("http://x").header("bad name", "v").is_err());
}
