//! The HTTP routes of consumer groups: `/groups…`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::Stream;
use tokio::time::Instant;

use eventfold_store::{ReadStream, Revision, StreamFrom};

use eventfold_api::groups::{
    consumer_name, AckId, AckRequest, Delivery, FetchRequest, Fetched, GroupDescribed, GroupList,
    GroupRequest, GroupView, NackRequest, PageQuery, PushQuery, Replaying, Settled,
};
use eventfold_api::sse::PushMessage;
use eventfold_api::streams::EventsPage;
use eventfold_api::ErrorBody;

use super::actor::Command;
use super::{storage, GroupHandle};
use crate::json_body::JsonBody;
use crate::reserved::Name;
use crate::wire::{events_page, json_response};
use crate::{ApiError, AppState};

/// The most events one fetch returns.
pub const FETCH_MAX: usize = 1_000;
/// The longest a fetch waits for events.
pub const FETCH_WAIT_MAX_MS: u64 = 20_000;
/// The most parked events one page shows.
pub const PARKED_PAGE_MAX: usize = 1_000;
/// The most ids one ack or nack settles.
pub const SETTLE_IDS_MAX: usize = 10_000;
/// The longest nack reason, in bytes.
pub const REASON_BYTES_MAX: usize = 1_024;
/// The most events a push subscriber holds without answering, unless it says otherwise.
const PUSH_IN_FLIGHT_DEFAULT: usize = 100;
/// How often an idle push subscriber checks that its client is still there (acks, nacks and
/// new events wake it at once).
const PUSH_RECHECK: Duration = Duration::from_secs(1);

/// `GET /groups`.
#[utoipa::path(
    get,
    path = "/groups",
    tag = "groups",
    responses(
        (status = 200, description = "Every group", body = GroupList),
    )
)]
pub async fn list(State(state): State<AppState>) -> Response {
    let groups = state
        .groups
        .list()
        .into_iter()
        .map(|group| GroupView {
            name: group.name,
            settings: group.settings,
        })
        .collect();
    json_response(&GroupList { groups })
}

/// `PUT /groups/{group}`: creates (201) or updates (200).
#[utoipa::path(
    put,
    path = "/groups/{group}",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name")),
    request_body = GroupRequest,
    responses(
        (status = 200, description = "Updated", body = GroupView),
        (status = 201, description = "Created", body = GroupView),
        (status = 409, description = "`conflict`", body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<JsonBody<GroupRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let name = Name::parse("group", &name)?;
    let JsonBody(request) = body?;
    let created = state.groups.save(&name, &request).await?;
    let group = state.groups.get(&name)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let view = GroupView {
        name: group.name,
        settings: group.settings,
    };
    Ok((status, Json(view)).into_response())
}

/// `GET /groups/{group}`: settings and state, lag included.
#[utoipa::path(
    get,
    path = "/groups/{group}",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name")),
    responses(
        (status = 200, description = "Settings and state", body = GroupDescribed),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
    )
)]
pub async fn describe(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = Name::parse("group", &name)?;
    let group = state.groups.get(&name)?;
    let status = group.ask(|reply| Command::Status { reply }).await?;
    Ok(json_response(&GroupDescribed {
        name: group.name.clone(),
        settings: group.settings.clone(),
        status,
    }))
}

/// `DELETE /groups/{group}`.
#[utoipa::path(
    delete,
    path = "/groups/{group}",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let name = Name::parse("group", &name)?;
    state.groups.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /groups/{group}/fetch`: a batch of events to process (long-polls with `wait_ms`).
#[utoipa::path(
    post,
    path = "/groups/{group}/fetch",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name")),
    request_body = FetchRequest,
    responses(
        (status = 200, description = "Deliveries (empty when the wait ran out)", body = Fetched),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
    )
)]
pub async fn fetch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<JsonBody<FetchRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let name = Name::parse("group", &name)?;
    let JsonBody(request) = body?;
    let group = state.groups.get(&name)?;
    let consumer = consumer_name(request.consumer)?;
    let max = request.max.unwrap_or(100);
    if !(1..=FETCH_MAX).contains(&max) {
        return Err(ApiError::invalid(format!("max: 1 to {FETCH_MAX}")));
    }
    let wait = request.wait_ms.unwrap_or(0);
    if wait > FETCH_WAIT_MAX_MS {
        return Err(ApiError::invalid(format!(
            "wait_ms: at most {FETCH_WAIT_MAX_MS}"
        )));
    }
    let deadline = Instant::now() + Duration::from_millis(wait);
    let messages = fetch_until(&group, consumer, max, usize::MAX, deadline).await?;
    Ok(json_response(&Fetched { messages }))
}

/// Fetches, waiting for ready events until `deadline` when there are none.
async fn fetch_until(
    group: &GroupHandle,
    consumer: Arc<str>,
    max: usize,
    in_flight_max: usize,
    deadline: Instant,
) -> Result<Vec<Delivery>, ApiError> {
    let mut ready = group.ready.clone();
    loop {
        ready.borrow_and_update();
        let consumer = consumer.clone();
        let deliveries = group
            .ask(|reply| Command::Fetch {
                consumer,
                max,
                in_flight_max,
                reply,
            })
            .await?;
        if !deliveries.is_empty() {
            return Ok(deliveries);
        }
        match tokio::time::timeout_at(deadline, ready.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(ApiError::group_not_found(&group.name)),
            Err(_) => return Ok(deliveries),
        }
    }
}

fn ack_ids(ids: &[String]) -> Result<Vec<AckId>, ApiError> {
    if ids.len() > SETTLE_IDS_MAX {
        return Err(ApiError::invalid(format!(
            "ack_ids: at most {SETTLE_IDS_MAX} per request"
        )));
    }
    ids.iter()
        .enumerate()
        .map(|(at, id)| {
            id.parse()
                .map_err(|reason| ApiError::invalid(format!("ack_ids[{at}]: {reason}")))
        })
        .collect()
}

/// `POST /groups/{group}/ack`.
#[utoipa::path(
    post,
    path = "/groups/{group}/ack",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name")),
    request_body = AckRequest,
    responses(
        (status = 200, description = "Settled", body = Settled),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
    )
)]
pub async fn ack(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<JsonBody<AckRequest>, ApiError>,
) -> Result<Json<Settled>, ApiError> {
    let name = Name::parse("group", &name)?;
    let JsonBody(request) = body?;
    let group = state.groups.get(&name)?;
    let ids = ack_ids(&request.ack_ids)?;
    Ok(Json(group.ask(|reply| Command::Ack { ids, reply }).await?))
}

/// `POST /groups/{group}/nack`.
#[utoipa::path(
    post,
    path = "/groups/{group}/nack",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name")),
    request_body = NackRequest,
    responses(
        (status = 200, description = "Settled", body = Settled),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
    )
)]
pub async fn nack(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<JsonBody<NackRequest>, ApiError>,
) -> Result<Json<Settled>, ApiError> {
    let name = Name::parse("group", &name)?;
    let JsonBody(request) = body?;
    let group = state.groups.get(&name)?;
    let ids = ack_ids(&request.ack_ids)?;
    let reason = request.reason.unwrap_or_else(|| "nacked".into());
    if reason.len() > REASON_BYTES_MAX {
        return Err(ApiError::invalid(format!(
            "reason: at most {REASON_BYTES_MAX} bytes"
        )));
    }
    let action = request.action.unwrap_or_default();
    let settled = group
        .ask(|reply| Command::Nack {
            ids,
            action,
            reason,
            reply,
        })
        .await?;
    Ok(Json(settled))
}

/// `GET /groups/{group}/parked`: the dead letters, oldest first, with why and where from.
#[utoipa::path(
    get,
    path = "/groups/{group}/parked",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name"), PageQuery),
    responses(
        (status = 200, description = "Parked events, oldest first", body = EventsPage),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
    )
)]
pub async fn parked(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let name = Name::parse("group", &name)?;
    let Query(query) = query?;
    let group = state.groups.get(&name)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=PARKED_PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid(format!("limit: 1 to {PARKED_PAGE_MAX}")));
    }
    let from = query
        .from
        .map_or(StreamFrom::Start, |r| StreamFrom::Revision(Revision(r)));
    let page = ReadStream {
        from,
        limit,
        bytes_max: state.pages.budget(None)?,
        ..ReadStream::default()
    };
    let _reading = state.pages.admit().await?;
    let events = storage::read_parked(&*state.store, &group.name, page).await?;
    Ok(events_page(&events))
}

/// `POST /groups/{group}/parked/replay`: delivers the parked events again.
#[utoipa::path(
    post,
    path = "/groups/{group}/parked/replay",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name")),
    responses(
        (status = 200, description = "Parked events going out again", body = Replaying),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
    )
)]
pub async fn replay_parked(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = Name::parse("group", &name)?;
    let group = state.groups.get(&name)?;
    let replaying = group.ask(|reply| Command::ReplayParked { reply }).await??;
    Ok(json_response(&Replaying {
        replaying: replaying as u64,
    }))
}

/// `GET /groups/{group}/subscribe`: push over SSE. Each message is a delivery (`id` is its
/// `ack_id`); the consumer answers with ack/nack, and holds at most `max_in_flight` at once.
#[utoipa::path(
    get,
    path = "/groups/{group}/subscribe",
    tag = "groups",
    params(("group" = eventfold_api::Name, Path, description = "The consumer group's name"), PushQuery),
    responses(
        (status = 200, description = "Deliveries pushed as they are ready (SSE: each message is a delivery, its id the ack_id)", body = PushMessage, content_type = "text/event-stream"),
        (status = 404, description = "`group_not_found`", body = ErrorBody),
        (status = 503, description = "`too_many_subscribers`", body = ErrorBody),
    )
)]
pub async fn subscribe(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<PushQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let name = Name::parse("group", &name)?;
    let Query(query) = query?;
    let group = state.groups.get(&name)?;
    let consumer = consumer_name(query.consumer)?;
    let in_flight_max = query.max_in_flight.unwrap_or(PUSH_IN_FLIGHT_DEFAULT);
    if !(1..=FETCH_MAX).contains(&in_flight_max) {
        return Err(ApiError::invalid(format!(
            "max_in_flight: 1 to {FETCH_MAX}"
        )));
    }
    let permit = state.group_pushes.admit()?;
    let mut shutting_down = state.shutting_down.clone();
    let events = async_stream(move |send| async move {
        let _permit = permit;
        loop {
            if send.is_closed() {
                return; // the client went away; its deliveries time out
            }
            let deadline = Instant::now() + PUSH_RECHECK;
            let fetched = tokio::select! {
                fetched = fetch_until(&group, consumer.clone(), in_flight_max, in_flight_max, deadline) => fetched,
                _ = shutting_down.wait_for(|stopping| *stopping) => return,
            };
            match fetched {
                Ok(deliveries) => {
                    for delivery in deliveries {
                        let data = serde_json::to_string(&delivery).expect("serialises");
                        let event = Event::default().id(delivery.ack_id.to_string()).data(data);
                        if send.send(event).await.is_err() {
                            return; // the client went away; its deliveries time out
                        }
                    }
                }
                Err(error) => {
                    let event = Event::default()
                        .event(crate::subscribe::FAILURE)
                        .data(serde_json::to_string(error.body()).expect("serialises"));
                    let _ = send.send(event).await;
                    return;
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A stream fed by `produce` through a small channel (the producer waits when the client is
/// slow, so nothing piles up).
fn async_stream<F, Fut>(produce: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (send, receive) = tokio::sync::mpsc::channel(16);
    tokio::spawn(produce(send));
    futures::stream::unfold(receive, |mut receive| async move {
        receive.recv().await.map(|event| (Ok(event), receive))
    })
}
