//! Reading a subscription's Server-Sent Events, and opening it again where it stopped when
//! the connection is lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt;

use eventfold_api::{sse, ErrorBody};
use eventfold_store::{RecordedEvent, StoreError, StreamName, Subscription, SubscriptionMessage};

/// The longest SSE message accepted, in bytes (an event is at most a few MiB of JSON).
const MESSAGE_BYTES_MAX: usize = 64 << 20;

/// Opens the subscription again after the message with this id (`Last-Event-ID`), or from
/// its start when no message had an id yet.
pub type Reopen = Arc<
    dyn Fn(Option<u64>) -> BoxFuture<'static, Result<reqwest::Response, StoreError>> + Send + Sync,
>;

/// The first wait before opening a lost subscription again, and the longest.
const REOPEN_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// A subscription that brings nothing for this long is lost: the server sends a keep-alive
/// comment every 15 s, so only a dead connection (a half-open TCP one, say) is this quiet.
const SILENCE_MAX: Duration = Duration::from_secs(45);

struct Reader {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    buffer: Vec<u8>,
    done: bool,
    /// The id of the last message that had one: where a reopened subscription resumes.
    last_id: Option<u64>,
    /// `caught_up` was passed on already (a reopened subscription sends it again).
    caught_up: bool,
    /// How to open the subscription again, and for how long to keep trying.
    reopen: Option<(Reopen, Duration)>,
    /// While reopening: until when to keep trying. Cleared by the first message that comes
    /// after a reopen, so a server that accepts and drops connections cannot keep the
    /// subscription trying for ever.
    reopen_deadline: Option<Instant>,
    /// The stream subscribed to, for the errors of a refused reopen.
    stream: Option<StreamName>,
}

/// The subscription carried by an SSE response. It ends when the server ends it (shutdown) or
/// after a `failure` message, which becomes its last item. When the connection is lost and
/// `reopen` is given, it is opened again after the last message it delivered (no gap, no
/// duplicate), trying for up to the given time; only then does the loss become its last item.
pub fn subscription(
    response: reqwest::Response,
    reopen: Option<(Reopen, Duration)>,
    stream: Option<StreamName>,
) -> Subscription {
    let reader = Reader {
        body: response.bytes_stream().boxed(),
        buffer: Vec::new(),
        done: false,
        last_id: None,
        caught_up: false,
        reopen,
        reopen_deadline: None,
        stream,
    };
    futures::stream::unfold(reader, |mut reader| async move {
        if reader.done {
            return None;
        }
        let item = reader.next_message().await?;
        if item.is_err() {
            reader.done = true;
        }
        Some((item, reader))
    })
    .boxed()
}

impl Reader {
    /// The next subscription message, skipping keep-alive comments.
    async fn next_message(&mut self) -> Option<Result<SubscriptionMessage, StoreError>> {
        loop {
            if let Some(end) = find_blank_line(&self.buffer) {
                let block: Vec<u8> = self.buffer.drain(..end).collect();
                let Some((id, message)) = parse(&block) else {
                    continue;
                };
                if matches!(message, Ok(SubscriptionMessage::CaughtUp)) {
                    if self.caught_up {
                        continue;
                    }
                    self.caught_up = true;
                }
                if id.is_some() {
                    self.last_id = id;
                }
                self.reopen_deadline = None;
                return Some(message);
            }
            if self.buffer.len() > MESSAGE_BYTES_MAX {
                return Some(Err(StoreError::Backend(
                    "a subscription message is too long".into(),
                )));
            }
            let lost = match tokio::time::timeout(SILENCE_MAX, self.body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    self.buffer.extend_from_slice(&chunk);
                    continue;
                }
                Ok(Some(Err(error))) => format!("subscription lost: {error}"),
                // The server ended it: a shutdown or a restart. Without resuming that is the
                // end; with it, the subscription is opened again (on the restarted server).
                Ok(None) if self.reopen.is_none() => return None,
                Ok(None) => "subscription ended by the server and not reopened".to_owned(),
                Err(_) => format!(
                    "subscription lost: nothing came for {} s",
                    SILENCE_MAX.as_secs()
                ),
            };
            if let Err(error) = self.reopen(StoreError::Backend(lost)).await {
                return Some(Err(error));
            }
        }
    }

    /// Opens the subscription again after the last message with an id; `lost` is what is
    /// reported when that does not work in time (or is not allowed).
    async fn reopen(&mut self, lost: StoreError) -> Result<(), StoreError> {
        let Some((reopen, patience)) = self.reopen.clone() else {
            return Err(lost);
        };
        let deadline = *self
            .reopen_deadline
            .get_or_insert_with(|| Instant::now() + patience);
        let mut wait = REOPEN_BACKOFF.0;
        loop {
            tokio::time::sleep(wait).await;
            let left = deadline.saturating_duration_since(Instant::now());
            let retry_after = match tokio::time::timeout(left, reopen(self.last_id)).await {
                Ok(Ok(response)) if response.status().is_success() => {
                    self.body = response.bytes_stream().boxed();
                    // A message cut in the middle comes again whole after the last id.
                    self.buffer.clear();
                    return Ok(());
                }
                // "Try again" (503 with Retry-After, 408, 429): within the patience.
                Ok(Ok(response)) if retryable(response.status()) => retry_after(&response),
                // Any other answer is final (the stream was deleted, say).
                Ok(Ok(response)) => {
                    return Err(crate::wire::error_of(response, self.stream.as_ref()).await)
                }
                Ok(Err(_)) | Err(_) => None,
            };
            if Instant::now() + wait >= deadline {
                return Err(lost);
            }
            wait = retry_after.unwrap_or(wait * 2).min(REOPEN_BACKOFF.1);
        }
    }
}

/// Whether an answer to a reopen says to try again later.
fn retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// The `Retry-After` of an answer, in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// The end of the first message in `buffer` (after its blank line), if it is complete.
fn find_blank_line(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(2)
        .position(|pair| pair == b"\n\n")
        .map(|at| at + 2)
}

/// One SSE message as its id and a subscription message; `None` for comments and unknown
/// kinds.
type Parsed = (Option<u64>, Result<SubscriptionMessage, StoreError>);

fn parse(block: &[u8]) -> Option<Parsed> {
    let text = String::from_utf8_lossy(block);
    let mut kind = "message";
    let mut id = None;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("id:") {
            id = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("event:") {
            kind = value.trim_start();
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    let bad = |error: serde_json::Error| {
        StoreError::Backend(format!("unexpected subscription message: {error}"))
    };
    let message = match kind {
        // `message` (the default type) since events use it; `event` from older servers.
        "message" | "event" => serde_json::from_str::<RecordedEvent>(&data)
            .map(SubscriptionMessage::Event)
            .map_err(bad),
        sse::CHECKPOINT => serde_json::from_str::<sse::Checkpoint>(&data)
            .map(|checkpoint| SubscriptionMessage::Checkpoint(checkpoint.position))
            .map_err(bad),
        sse::CAUGHT_UP => Ok(SubscriptionMessage::CaughtUp),
        // `error` from older servers.
        sse::FAILURE | "error" => Err(match serde_json::from_str::<ErrorBody>(&data) {
            Ok(body) => crate::wire::into_error(body, None),
            // A code this client does not know (from a newer server) keeps its text.
            Err(error) => crate::wire::unknown_error(&data).unwrap_or_else(|| bad(error)),
        }),
        _ => return None,
    };
    Some((id, message))
}
