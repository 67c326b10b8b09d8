//! The accept loop: which connections the server takes, how long it keeps them, and how it
//! lets them go at shutdown.
//!
//! axum's own `serve` has no header timeout, no idle timeout, no connection cap, and waits for
//! every connection at shutdown, however slow (a client holding a half-sent request kept a
//! server from exiting for minutes). Here each connection is served by hyper directly:
//!
//! - **header timeout**: the head of each request must arrive in full within
//!   [`ConnectionLimits::header_timeout`], counted from the connection's start or from the end
//!   of its previous response. This closes slowloris connections and idle keep-alive ones.
//! - **idle timeout**: a connection on which no byte moves either way for
//!   [`ConnectionLimits::idle_timeout`] is closed, whatever it is doing (a subscriber that
//!   stopped reading, a body that stopped arriving). It is longer than the request timeout and
//!   the SSE keep-alive interval, so a live request never trips it.
//! - **connection cap**: past [`ConnectionLimits::connections_max`] open connections, a new one
//!   gets a `503` with the JSON error body and `Retry-After`, and is closed — so the process
//!   never runs into its file-descriptor limit serving nobody.
//! - **accept errors** (such as running out of descriptors) are logged and waited out with a
//!   back-off from 10 ms to 1 s, instead of spinning.
//! - **shutdown**: every connection is told to finish its request in flight and close; those
//!   still open after [`ConnectionLimits::shutdown_grace`] are dropped.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// How the server treats connections.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// How long a request's head may take to arrive (and an idle keep-alive connection may
    /// wait for its next request).
    pub header_timeout: Duration,
    /// How long a connection may go without a byte moving either way.
    pub idle_timeout: Duration,
    /// How many connections may be open at once.
    pub connections_max: usize,
    /// How long shutdown waits for open connections to finish.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            connections_max: 4_096,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// How many refused connections are told why at once; past that they are closed at once, so
/// a flood over the cap cannot hold descriptors either.
const REFUSING_MAX: usize = 64;

/// The shortest and longest waits after a failed `accept`.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// What a connection over the cap is told before it is closed.
fn refusal(connections_max: usize) -> Vec<u8> {
    let body = serde_json::to_string(&eventfold_api::ErrorBody {
        error: eventfold_api::ErrorCode::TooManyConnections,
        message: format!(
            "the server already has {connections_max} open connections, its limit; try again later"
        ),
        revision: None,
    })
    .expect("serialises");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` on `listener` until `stopping` turns true, then winds connections down.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.connections_max));
    let refusing = Arc::new(Semaphore::new(REFUSING_MAX));
    let mut connections = JoinSet::new();
    let mut backoff = ACCEPT_BACKOFF.0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        while connections.try_join_next().is_some() {} // forget finished ones
        let tcp = match accepted {
            Ok((tcp, _)) => {
                backoff = ACCEPT_BACKOFF.0;
                tcp
            }
            Err(error) if one_connections_trouble(&error) => {
                // One connection's trouble (reset before it was taken, say): go on at once.
                tracing::debug!(%error, "a connection failed before it was accepted");
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, wait_ms = backoff.as_millis() as u64, "accepting a connection failed; waiting");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopping.wait_for(|stop| *stop) => break,
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if let Ok(telling) = refusing.clone().try_acquire_owned() {
                let connections_max = limits.connections_max;
                connections.spawn(async move {
                    refuse(tcp, connections_max).await;
                    drop(telling);
                });
            }
            continue; // dropping the stream closes it
        };
        let (app, limits, stopping) = (app.clone(), limits.clone(), stopping.clone());
        connections.spawn(async move {
            serve_one(tcp, app, &limits, stopping).await;
            drop(permit);
        });
    }
    drop(listener);
    let grace = tokio::time::sleep(limits.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            joined = connections.join_next() => if joined.is_none() { return },
            _ = &mut grace => break,
        }
    }
    tracing::warn!(
        open = connections.len(),
        "connections still open after the shutdown grace period are dropped"
    );
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Whether a failed `accept` concerns that one connection only (it went away before it was
/// taken), not the process (out of descriptors or memory), which is waited out.
fn one_connections_trouble(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    )
}

/// How long, and how many bytes of a request head, a refused connection is given.
const REFUSAL_WAIT: Duration = Duration::from_secs(1);
const REFUSAL_HEAD_BYTES_MAX: usize = 8 * 1024;

/// Tells a connection over the cap why it is closed, after its request head (an HTTP client
/// takes an answer that comes before its request for a broken connection), never waiting long.
async fn refuse(mut tcp: TcpStream, connections_max: usize) {
    let _ = tokio::time::timeout(REFUSAL_WAIT, async {
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < REFUSAL_HEAD_BYTES_MAX {
            let read = tcp.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            head.extend_from_slice(&chunk[..read]);
        }
        tcp.write_all(&refusal(connections_max)).await?;
        tcp.shutdown().await
    })
    .await;
}

async fn serve_one(
    tcp: TcpStream,
    app: Router,
    limits: &ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    // Small responses and SSE messages go out at once, not held back by Nagle's algorithm.
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%error, "could not set TCP_NODELAY");
    }
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: tcp,
        activity: activity.clone(),
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let connection = builder
        .serve_connection(io, TowerToHyperService::new(app))
        .with_upgrades();
    tokio::pin!(connection);
    let mut shutting_down = false;
    loop {
        let idle_for = activity.idle_for();
        let check_idle = tokio::time::sleep(limits.idle_timeout.saturating_sub(idle_for));
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = check_idle => {
                if activity.idle_for() >= limits.idle_timeout {
                    tracing::debug!("closing a connection idle for {:?}", limits.idle_timeout);
                    return;
                }
            }
            _ = stopping.wait_for(|stop| *stop), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// When bytes last moved on a connection.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A stream that records when bytes move.
struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
