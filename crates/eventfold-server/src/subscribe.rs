//! `GET /subscribe/…`: live subscriptions as Server-Sent Events.
//!
//! Each event is an SSE `event` message whose `id` is its position (`$all`) or revision (one
//! stream), so a client that reconnects with `Last-Event-ID` resumes right after it. While the
//! filter skips events, `checkpoint` messages carry the position reached (their `id` is the
//! position before it); `caught_up` marks the end of history. A slow client holds no buffer
//! here: the subscription reads from the store as the client takes messages.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio::sync::{watch, OwnedSemaphorePermit};

use eventfold_store::{
    AllFrom, Position, RecordedEvent, Revision, StoreError, StreamFrom, StreamName, Subscription,
    SubscriptionMessage,
};

use crate::{ApiError, AppState};
use eventfold_api::sse;
use eventfold_api::streams::{SubscribeAllQuery, SubscribeStreamQuery};
use eventfold_api::ErrorBody;

/// How often an idle subscription sends a comment, so proxies keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

type Events = Sse<
    axum::response::sse::KeepAliveStream<
        std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>,
    >,
>;

#[utoipa::path(
    get,
    path = "/subscribe/all",
    tag = "subscriptions",
    params(SubscribeAllQuery, ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this position")),
    responses(
        (status = 200, description = "Events of $all as they are written (SSE: default messages are events; checkpoint, caught_up and failure messages)", body = sse::SubscriptionMessage, content_type = "text/event-stream"),
        (status = 503, description = "`too_many_subscribers`", body = ErrorBody),
    )
)]
pub async fn all(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<SubscribeAllQuery>, QueryRejection>,
) -> Result<Events, ApiError> {
    let Query(query) = query?;
    let query = query.as_read();
    let resume = last_event_id(&headers)?;
    let permit = state.subscriptions.admit()?;
    let from = match resume {
        Some(id) => {
            // `from` is checked (`since` was by its type), though `Last-Event-ID` decides.
            let asked = eventfold_api::streams::AllQuery {
                since: None,
                ..query.clone()
            };
            asked.from()?;
            AllFrom::Position(Position(id.saturating_add(1)))
        }
        None => crate::all::start(&*state.store, &query).await?,
    };
    let start = match from {
        AllFrom::Position(position) => position.0,
        AllFrom::End => state.store.head_position().await?.0,
        AllFrom::Start | AllFrom::Time(_) => 0,
    };
    let subscription = state.store.subscribe_all(from, query.filter()).await?;
    let progress = Some(state.metrics.subscriber(start));
    let shutting_down = state.shutting_down.clone();
    Ok(events(
        subscription,
        permit,
        progress,
        shutting_down,
        |event| event.position.0,
    ))
}

#[utoipa::path(
    get,
    path = "/subscribe/streams/{stream}",
    tag = "subscriptions",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name"), SubscribeStreamQuery, ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this revision")),
    responses(
        (status = 200, description = "The stream's events as they are written (SSE)", body = sse::SubscriptionMessage, content_type = "text/event-stream"),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
        (status = 503, description = "`too_many_subscribers`", body = ErrorBody),
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    headers: HeaderMap,
    query: Result<Query<SubscribeStreamQuery>, QueryRejection>,
) -> Result<Events, ApiError> {
    let stream = StreamName::new(&stream)?;
    let Query(query) = query?;
    let asked = query.from()?;
    let from = match last_event_id(&headers)? {
        Some(id) => StreamFrom::Revision(Revision(id.saturating_add(1))),
        None => asked,
    };
    refuse_deleted(&state, &stream).await?;
    let permit = state.subscriptions.admit()?;
    let subscription = state.store.subscribe_stream(&stream, from).await?;
    let shutting_down = state.shutting_down.clone();
    Ok(events(subscription, permit, None, shutting_down, |event| {
        event.revision.0
    }))
}

/// A deleted stream is refused before streaming starts (410): a browser's `EventSource`
/// would otherwise reconnect to it for ever. A stream that does not exist yet may be followed.
async fn refuse_deleted(state: &AppState, stream: &StreamName) -> Result<(), ApiError> {
    let probe = eventfold_store::ReadStream {
        from: StreamFrom::End,
        direction: eventfold_store::Direction::Backward,
        limit: 1,
        ..Default::default()
    };
    match state.store.read_stream(stream, probe).await {
        Ok(_) | Err(StoreError::StreamNotFound(_)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    text.parse().map(Some).map_err(|_| {
        ApiError::invalid(format!(
            "Last-Event-ID: `{text}` is not a position or revision"
        ))
    })
}

/// The subscription as SSE messages. It ends after an error (sent as an `error` message) or
/// when the server shuts down; the permit is released when the client goes away. `progress`
/// (for `$all`) holds the next position to deliver, for the lag metric.
fn events(
    subscription: Subscription,
    permit: OwnedSemaphorePermit,
    progress: Option<Arc<AtomicU64>>,
    mut shutting_down: watch::Receiver<bool>,
    id_of: fn(&RecordedEvent) -> u64,
) -> Events {
    let stop = async move {
        let _ = shutting_down.wait_for(|stopping| *stopping).await;
    };
    let mut failed = false;
    let stream = subscription
        .take_until(stop)
        .take_while(move |item| {
            let go = !failed;
            failed |= item.is_err();
            std::future::ready(go)
        })
        .map(move |item| {
            let _held = &permit;
            if let Some(progress) = &progress {
                match &item {
                    Ok(SubscriptionMessage::Event(event)) => {
                        progress.store(event.position.0 + 1, Ordering::Relaxed)
                    }
                    Ok(SubscriptionMessage::Checkpoint(position)) => {
                        progress.store(position.0, Ordering::Relaxed)
                    }
                    _ => {}
                }
            }
            Ok(message(item, id_of))
        });
    Sse::new(stream.boxed()).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// The name of the message a subscription ends with when it fails (the error as JSON).
pub use eventfold_api::sse::FAILURE;

fn message(
    item: Result<SubscriptionMessage, StoreError>,
    id_of: fn(&RecordedEvent) -> u64,
) -> Event {
    match item {
        // Events use SSE's default message type, so a browser's `EventSource.onmessage` fires.
        Ok(SubscriptionMessage::Event(event)) => Event::default()
            .id(id_of(&event).to_string())
            .data(serde_json::to_string(&event).expect("an event serialises")),
        Ok(SubscriptionMessage::Checkpoint(position)) => {
            let checkpoint = Event::default()
                .event(sse::CHECKPOINT)
                .data(serde_json::to_string(&sse::Checkpoint { position }).expect("serialises"));
            match position.0.checked_sub(1) {
                Some(seen) => checkpoint.id(seen.to_string()),
                None => checkpoint,
            }
        }
        Ok(SubscriptionMessage::CaughtUp) => Event::default().event(sse::CAUGHT_UP).data("{}"),
        // Not `error`: that name is EventSource's own (a lost connection).
        Err(error) => Event::default()
            .event(FAILURE)
            .data(serde_json::to_string(ApiError::from(error).body()).expect("serialises")),
    }
}
