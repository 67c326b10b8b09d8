//! `/streams/{stream}`: append, read, metadata, delete.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use eventfold_store::{
    DeleteMode, Direction, ReadStream, Revision, StreamFrom, StreamMetadata, StreamName,
};

use crate::json_body::JsonBody;
use eventfold_api::streams::{AppendRequest, DeleteQuery, RevisionAnswer, StreamPage, StreamQuery};
use eventfold_api::ErrorBody;
use eventfold_store::AppendResult;

use crate::wire::stream_page;
use crate::{ApiError, AppState};

/// Events per read when the request names no limit.
pub const READ_LIMIT_DEFAULT: usize = 1000;

pub(crate) fn stream_name(name: &str) -> Result<StreamName, ApiError> {
    Ok(StreamName::new(name)?)
}

/// The revision the stream's next event will get: its number of events so far, 0 when it
/// does not exist.
pub(crate) async fn next_revision(
    store: &dyn eventfold_store::EventStore,
    stream: &StreamName,
) -> Result<u64, eventfold_store::StoreError> {
    Ok(store.stream_revision(stream).await?.map_or(0, |r| r.0 + 1))
}

/// A stream the API may change: names starting with `$` belong to the server (consumer groups,
/// buses, their checkpoints and dead letters) and are read-only from outside.
fn writable_stream_name(name: &str) -> Result<StreamName, ApiError> {
    let stream = stream_name(name)?;
    if name.starts_with('$') {
        return Err(ApiError::reserved_stream(&stream));
    }
    Ok(stream)
}

#[utoipa::path(
    post,
    path = "/streams/{stream}",
    tag = "streams",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name")),
    request_body = AppendRequest,
    responses(
        (status = 201, description = "Appended, durably", body = AppendResult),
        (status = 403, description = "`reserved_stream`", body = ErrorBody),
        (status = 409, description = "`wrong_expected_revision`, `event_id_conflict`", body = ErrorBody),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
    )
)]
pub async fn append(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    body: Result<JsonBody<AppendRequest<'static>>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    let stream = writable_stream_name(&stream)?;
    let JsonBody(body) = body?;
    let events = body
        .events
        .into_iter()
        .enumerate()
        .map(|(at, event)| event.into_new_event(at))
        .collect::<Result<Vec<_>, _>>()?;
    let result = state
        .store
        .append(&stream, body.expected_revision, events)
        .await?;
    Ok((StatusCode::CREATED, Json(result)))
}

#[utoipa::path(
    get,
    path = "/streams/{stream}",
    tag = "streams",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name"), StreamQuery),
    responses(
        (status = 200, description = "A page of the stream's events, with where the next starts", body = StreamPage),
        (status = 404, description = "`stream_not_found`", body = ErrorBody),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let stream = stream_name(&stream)?;
    let Query(query) = query?;
    let request = ReadStream {
        from: query.from()?,
        direction: query.direction.unwrap_or(Direction::Forward),
        limit: query.limit.unwrap_or(READ_LIMIT_DEFAULT),
        bytes_max: state.pages.budget(query.bytes_max)?,
    };
    let _reading = state.pages.admit().await?;
    let (from, direction) = (request.from, request.direction);
    let events = state.store.read_stream(&stream, request).await?;
    let (next, end_of_stream) = match (direction, events.last()) {
        (Direction::Forward, last) => {
            // Forward the next page starts after the last event (or where this one asked),
            // and the stream ends where its current revision does.
            let current = state.store.stream_revision(&stream).await?;
            let after_current = current.map_or(0, |revision| revision.0 + 1);
            let next = match (last, from) {
                (Some(last), _) => last.revision.0 + 1,
                (None, StreamFrom::Revision(asked)) => asked.0.max(after_current),
                (None, _) => after_current,
            };
            (Some(Revision(next)), next >= after_current)
        }
        (Direction::Backward, None) => (None, true),
        (Direction::Backward, Some(last)) => match last.revision.0.checked_sub(1) {
            None => (None, true),
            // Whether anything visible comes before: one more event, read the same way.
            Some(before) => {
                let probe = ReadStream {
                    from: StreamFrom::Revision(Revision(before)),
                    limit: 1,
                    ..request
                };
                let more = !state.store.read_stream(&stream, probe).await?.is_empty();
                (more.then_some(Revision(before)), !more)
            }
        },
    };
    Ok(stream_page(&events, next, end_of_stream))
}

/// `GET /streams/{stream}/revision`: the current revision, or null when the stream does not exist.
#[utoipa::path(
    get,
    path = "/streams/{stream}/revision",
    tag = "streams",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name")),
    responses(
        (status = 200, description = "The revision of the stream's last event", body = RevisionAnswer),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
    )
)]
pub async fn revision(
    State(state): State<AppState>,
    Path(stream): Path<String>,
) -> Result<Json<RevisionAnswer>, ApiError> {
    let stream = stream_name(&stream)?;
    let revision = state.store.stream_revision(&stream).await?;
    Ok(Json(RevisionAnswer { revision }))
}

#[utoipa::path(
    get,
    path = "/streams/{stream}/metadata",
    tag = "streams",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name")),
    responses(
        (status = 200, description = "The stream's metadata", body = StreamMetadata),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
    )
)]
pub async fn get_metadata(
    State(state): State<AppState>,
    Path(stream): Path<String>,
) -> Result<Json<StreamMetadata>, ApiError> {
    let stream = stream_name(&stream)?;
    Ok(Json(state.store.stream_metadata(&stream).await?))
}

#[utoipa::path(
    put,
    path = "/streams/{stream}/metadata",
    tag = "streams",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name")),
    request_body = StreamMetadata,
    responses(
        (status = 200, description = "The stream's metadata as stored", body = StreamMetadata),
        (status = 403, description = "`reserved_stream`", body = ErrorBody),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
    )
)]
pub async fn put_metadata(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    body: Result<JsonBody<StreamMetadata>, ApiError>,
) -> Result<Json<StreamMetadata>, ApiError> {
    let stream = writable_stream_name(&stream)?;
    let JsonBody(metadata) = body?;
    state.store.set_stream_metadata(&stream, metadata).await?;
    Ok(Json(state.store.stream_metadata(&stream).await?))
}

#[utoipa::path(
    delete,
    path = "/streams/{stream}",
    tag = "streams",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`reserved_stream`", body = ErrorBody),
        (status = 404, description = "`stream_not_found`", body = ErrorBody),
        (status = 409, description = "`wrong_expected_revision`", body = ErrorBody),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    query: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let stream = writable_stream_name(&stream)?;
    let Query(query) = query?;
    let mode = if query.hard {
        DeleteMode::Hard
    } else {
        DeleteMode::Soft
    };
    state
        .store
        .delete_stream(&stream, query.expected()?, mode)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
