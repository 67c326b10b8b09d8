//! `/snapshots/{stream}`: the snapshot store, for SDK clients working through the server.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;

use eventfold_store::{ReadStream, Revision, Snapshot, StoreError, StreamFrom};

use eventfold_api::streams::SnapshotBody;
use eventfold_api::ErrorBody;

use crate::error::ApiError;
use crate::json_body::JsonBody;
use crate::streams::stream_name;
use crate::AppState;

/// `GET /snapshots/{stream}`: the latest usable snapshot; 404 `snapshot_not_found` otherwise.
#[utoipa::path(
    get,
    path = "/snapshots/{stream}",
    tag = "snapshots",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name")),
    responses(
        (status = 200, description = "The latest usable snapshot", body = SnapshotBody),
        (status = 404, description = "`snapshot_not_found`", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(stream): Path<String>,
) -> Result<Json<SnapshotBody>, ApiError> {
    let stream = stream_name(&stream)?;
    let snapshot = state
        .snapshots
        .load(&stream)
        .await?
        .ok_or_else(|| ApiError::snapshot_not_found(&stream))?;
    let text = String::from_utf8(snapshot.state.to_vec())
        .map_err(|_| StoreError::Backend("a stored snapshot is not UTF-8 JSON".into()))?;
    let raw = serde_json::value::RawValue::from_string(text)
        .map_err(|_| StoreError::Backend("a stored snapshot is not JSON".into()))?;
    Ok(Json(SnapshotBody {
        revision: snapshot.revision,
        last_event_id: snapshot.last_event_id,
        schema_version: snapshot.schema_version,
        recorded_at: snapshot.recorded_at,
        state: raw,
    }))
}

/// `PUT /snapshots/{stream}`: keeps a snapshot as the stream's latest.
#[utoipa::path(
    put,
    path = "/snapshots/{stream}",
    tag = "snapshots",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name")),
    request_body = SnapshotBody,
    responses(
        (status = 204, description = "Saved"),
        (status = 409, description = "`conflict`: the stream has no such event (or does not exist)", body = ErrorBody),
        (status = 410, description = "`stream_deleted`", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    body: Result<JsonBody<SnapshotBody>, ApiError>,
) -> Result<StatusCode, ApiError> {
    let stream = stream_name(&stream)?;
    let JsonBody(body) = body?;
    // A snapshot must fold a stream as it is: its last event must be there.
    let request = ReadStream {
        from: StreamFrom::Revision(Revision(body.revision)),
        limit: 1,
        ..ReadStream::default()
    };
    let last = match state.store.read_stream(&stream, request).await {
        Ok(events) => events.into_iter().next(),
        Err(StoreError::StreamNotFound(_)) => None,
        Err(error) => return Err(error.into()),
    };
    if !last
        .is_some_and(|event| event.revision.0 == body.revision && event.id == body.last_event_id)
    {
        return Err(ApiError::conflict(format!(
            "{stream} has no event {} at revision {}: a snapshot must end at an event of its stream",
            body.last_event_id, body.revision
        )));
    }
    let snapshot = Snapshot {
        stream,
        revision: body.revision,
        last_event_id: body.last_event_id,
        schema_version: body.schema_version,
        recorded_at: body.recorded_at,
        state: Bytes::copy_from_slice(body.state.get().as_bytes()),
    };
    state.snapshots.save(snapshot).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /snapshots/{stream}`: forgets the stream's snapshot (204 whether or not there was
/// one).
#[utoipa::path(
    delete,
    path = "/snapshots/{stream}",
    tag = "snapshots",
    params(("stream" = eventfold_store::StreamName, Path, description = "The stream's name")),
    responses(
        (status = 204, description = "Deleted (or there was none)"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Path(stream): Path<String>,
) -> Result<StatusCode, ApiError> {
    let stream = stream_name(&stream)?;
    state.snapshots.delete(&stream).await?;
    Ok(StatusCode::NO_CONTENT)
}
