//! Reading a subscription's Server-Sent Events.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;

use eventfold_api::{sse, ErrorBody};
use eventfold_store::{RecordedEvent, StoreError, Subscription, SubscriptionMessage};

/// The longest SSE message accepted, in bytes (an event is at most a few MiB of JSON).
const MESSAGE_BYTES_MAX: usize = 64 << 20;

struct Reader {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    buffer: Vec<u8>,
    done: bool,
}

/// The subscription carried by an SSE response. It ends when the server ends it (shutdown) or
/// after an `error` message, which becomes its last item.
pub fn subscription(response: reqwest::Response) -> Subscription {
    let reader = Reader {
        body: response.bytes_stream().boxed(),
        buffer: Vec::new(),
        done: false,
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
                if let Some(message) = parse(&block) {
                    return Some(message);
                }
                continue;
            }
            if self.buffer.len() > MESSAGE_BYTES_MAX {
                return Some(Err(StoreError::Backend(
                    "a subscription message is too long".into(),
                )));
            }
            match self.body.next().await? {
                Ok(chunk) => self.buffer.extend_from_slice(&chunk),
                Err(error) => {
                    return Some(Err(StoreError::Backend(format!(
                        "subscription lost: {error}"
                    ))))
                }
            }
        }
    }
}

/// The end of the first message in `buffer` (after its blank line), if it is complete.
fn find_blank_line(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(2)
        .position(|pair| pair == b"\n\n")
        .map(|at| at + 2)
}

/// One SSE message as a subscription message; `None` for comments and unknown kinds.
fn parse(block: &[u8]) -> Option<Result<SubscriptionMessage, StoreError>> {
    let text = String::from_utf8_lossy(block);
    let mut kind = "message";
    let mut data = String::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("event:") {
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
    Some(match kind {
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
            Err(error) => bad(error),
        }),
        _ => return None,
    })
}
