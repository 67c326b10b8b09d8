//! `GET /all`: a page of the global log, with a cursor for the next one.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;

use eventfold_store::{Direction, ReadAll};

use crate::streams::READ_LIMIT_DEFAULT;
use eventfold_api::streams::AllQuery;

use crate::wire::all_page;
use crate::{ApiError, AppState};

pub async fn read(
    State(state): State<AppState>,
    query: Result<Query<AllQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let direction = query.direction.unwrap_or(Direction::Forward);
    let request = ReadAll {
        from: query.from()?,
        direction,
        limit: query.limit.unwrap_or(READ_LIMIT_DEFAULT),
        bytes_max: state.pages.budget(query.bytes_max)?,
        filter: query.filter(),
    };
    let _reading = state.pages.admit().await?;
    let slice = state.store.read_all(request).await?;
    // Forward, `next` is where to continue (also to poll for new events); backward, there is
    // nothing before the start.
    let next = match (direction, slice.end_of_log) {
        (Direction::Backward, true) => None,
        _ => Some(slice.next),
    };
    Ok(all_page(&slice.events, next, slice.end_of_log))
}
