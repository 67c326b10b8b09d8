//! `GET /all`: a page of the global log, with a cursor for the next one.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;

use eventfold_store::{AllFrom, Direction, EventStore, ReadAll};

use crate::streams::READ_LIMIT_DEFAULT;
use eventfold_api::streams::{AllPage, AllQuery};

use crate::wire::all_page;
use crate::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/all",
    tag = "all",
    params(AllQuery),
    responses(
        (status = 200, description = "A page of $all, with where the next one starts", body = AllPage),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    query: Result<Query<AllQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let direction = query.direction.unwrap_or(Direction::Forward);
    let _reading = state.pages.admit().await?;
    let request = ReadAll {
        from: start(&*state.store, &query).await?,
        direction,
        limit: query.limit.unwrap_or(READ_LIMIT_DEFAULT),
        bytes_max: state.pages.budget(query.bytes_max)?,
        filter: query.filter(),
    };
    let slice = state.store.read_all(request).await?;
    // Forward, `next` is where to continue (also to poll for new events); backward, there is
    // nothing before the start.
    let next = match (direction, slice.end_of_log) {
        (Direction::Backward, true) => None,
        _ => Some(slice.next),
    };
    Ok(all_page(&slice.events, next, slice.end_of_log))
}

/// Where a read or a subscription of `$all` starts: `from`, or the first event recorded at or
/// after `since`, or, with both, the later of the two (the events at or after `from` that were
/// recorded at or after `since`: times never decrease along `$all`).
pub async fn start(store: &dyn EventStore, query: &AllQuery) -> Result<AllFrom, ApiError> {
    let (Some(_), Some(since)) = (&query.from, query.since) else {
        return Ok(query.from()?);
    };
    if query.direction == Some(Direction::Backward) {
        return Ok(query.from()?); // refused: a backward read has one start
    }
    let position = AllQuery {
        since: None,
        ..query.clone()
    }
    .from()?;
    let first_since = store
        .read_all(ReadAll {
            from: AllFrom::Time(since),
            limit: 1,
            ..ReadAll::default()
        })
        .await?;
    let since_position = first_since
        .events
        .first()
        .map_or(first_since.next, |event| event.position);
    Ok(match position {
        AllFrom::Position(position) => AllFrom::Position(position.max(since_position)),
        AllFrom::Start => AllFrom::Position(since_position),
        AllFrom::End | AllFrom::Time(_) => position,
    })
}
