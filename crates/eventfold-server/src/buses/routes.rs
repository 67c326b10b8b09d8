//! The HTTP routes of event buses: `/buses…`.

use std::sync::atomic::Ordering;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use eventfold_store::{Direction, ExpectedRevision, Revision, StreamFrom};

use super::cursors::Cursors;
use eventfold_api::buses::{
    BusDescribed, BusList, BusSettings, BusView, PutEvents, PutResult, ReplayRequest, ReplayView,
    RuleDescribed, RuleList, RuleRequest, RuleSaved, RuleStatus,
};
use eventfold_api::groups::PageQuery;
use eventfold_api::streams::EventsPage;
use eventfold_api::ErrorBody;

use super::events::put_event;
use crate::json_body::JsonBody;
use crate::reserved::{Name, Reserved};
use crate::wire::{events_page, json_response};
use crate::{ApiError, AppState};

/// The most dead letters one page shows.
pub const DEAD_LETTER_PAGE_MAX: usize = 1_000;

fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// `GET /buses`.
#[utoipa::path(
    get,
    path = "/buses",
    tag = "buses",
    responses(
        (status = 200, description = "Every bus", body = BusList),
    )
)]
pub async fn list(State(state): State<AppState>) -> Response {
    let buses = state
        .buses
        .list()
        .into_iter()
        .map(|(name, settings)| BusView { name, settings })
        .collect();
    json_response(&BusList { buses })
}

/// `PUT /buses/{bus}`: creates (201) or updates (200).
#[utoipa::path(
    put,
    path = "/buses/{bus}",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name")),
    request_body = BusSettings,
    responses(
        (status = 200, description = "Updated", body = BusView),
        (status = 201, description = "Created", body = BusView),
        (status = 409, description = "`conflict`", body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    Path(bus): Path<String>,
    body: Result<JsonBody<BusSettings>, ApiError>,
) -> Result<Response, ApiError> {
    let bus = Name::parse("bus", &bus)?;
    let JsonBody(settings) = body?;
    let created = state.buses.save(&bus, settings).await?;
    let settings = state.buses.bus(&bus)?;
    let view = BusView {
        name: bus,
        settings,
    };
    Ok((created_or_ok(created), Json(view)).into_response())
}

/// `GET /buses/{bus}`: settings, rules, replays, and the sizes of the archive and the replays
/// stream.
#[utoipa::path(
    get,
    path = "/buses/{bus}",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name")),
    responses(
        (status = 200, description = "Settings, rules, replays", body = BusDescribed),
        (status = 404, description = "`bus_not_found`", body = ErrorBody),
    )
)]
pub async fn describe(
    State(state): State<AppState>,
    Path(bus): Path<String>,
) -> Result<Response, ApiError> {
    let bus = Name::parse("bus", &bus)?;
    let settings = state.buses.bus(&bus)?;
    let end = Cursors::end_of(&*state.store, &bus).await?;
    Ok(json_response(&BusDescribed {
        policy: settings.policy,
        archive_days: settings.archive_days,
        archive_stream: Reserved::BusArchive(&bus).stream(),
        events_put: end.archive,
        replays_stream: Reserved::BusReplays(&bus).stream(),
        events_replayed: end.replays,
        rules: state.buses.rules_of(&bus),
        replays: state.buses.replays.of_bus(&bus),
        name: bus,
    }))
}

/// `DELETE /buses/{bus}`.
#[utoipa::path(
    delete,
    path = "/buses/{bus}",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`bus_not_found`", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Path(bus): Path<String>,
) -> Result<StatusCode, ApiError> {
    let bus = Name::parse("bus", &bus)?;
    state.buses.delete(&bus).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /buses/{bus}/events`: stored durably in the bus's stream, then acknowledged (201).
#[utoipa::path(
    post,
    path = "/buses/{bus}/events",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name")),
    request_body = PutEvents,
    responses(
        (status = 201, description = "Stored, durably", body = PutResult),
        (status = 403, description = "`forbidden_source`, `forbidden_event_type`", body = ErrorBody),
        (status = 404, description = "`bus_not_found`", body = ErrorBody),
        (status = 409, description = "`event_id_conflict`", body = ErrorBody),
        (status = 413, description = "`too_large`", body = ErrorBody),
    )
)]
pub async fn put_events(
    State(state): State<AppState>,
    Path(bus): Path<String>,
    body: Result<JsonBody<PutEvents>, ApiError>,
) -> Result<Response, ApiError> {
    let bus = Name::parse("bus", &bus)?;
    let JsonBody(body) = body?;
    let settings = state.buses.bus(&bus)?;
    if body.events.is_empty() {
        return Err(ApiError::invalid("events: at least one event"));
    }
    let events = body
        .events
        .into_iter()
        .enumerate()
        .map(|(at, event)| put_event(event, at, &bus, &settings.policy))
        .collect::<Result<Vec<_>, _>>()?;
    let ids = events.iter().map(|e| e.id).collect();
    let written = state
        .store
        .append(
            &Reserved::BusArchive(&bus).stream(),
            ExpectedRevision::Any,
            events,
        )
        .await?;
    let body = PutResult {
        ids,
        first_position: written.first_position,
        last_position: written.last_position,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /buses/{bus}/rules`.
#[utoipa::path(
    get,
    path = "/buses/{bus}/rules",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name")),
    responses(
        (status = 200, description = "The bus's rules", body = RuleList),
        (status = 404, description = "`bus_not_found`", body = ErrorBody),
    )
)]
pub async fn rules(
    State(state): State<AppState>,
    Path(bus): Path<String>,
) -> Result<Response, ApiError> {
    let bus = Name::parse("bus", &bus)?;
    state.buses.bus(&bus)?;
    Ok(json_response(&RuleList {
        rules: state.buses.rules_of(&bus),
    }))
}

/// `PUT /buses/{bus}/rules/{rule}`: creates (201) or replaces (200).
#[utoipa::path(
    put,
    path = "/buses/{bus}/rules/{rule}",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name"), ("rule" = eventfold_api::Name, Path, description = "The rule's name")),
    request_body = RuleRequest,
    responses(
        (status = 200, description = "Replaced", body = RuleSaved),
        (status = 201, description = "Created", body = RuleSaved),
        (status = 404, description = "`bus_not_found`", body = ErrorBody),
        (status = 409, description = "`conflict`", body = ErrorBody),
    )
)]
pub async fn put_rule(
    State(state): State<AppState>,
    Path((bus, rule)): Path<(String, String)>,
    body: Result<JsonBody<RuleRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let (bus, rule) = (Name::parse("bus", &bus)?, Name::parse("rule", &rule)?);
    let JsonBody(request) = body?;
    let created = state.buses.save_rule(&bus, &rule, request).await?;
    let (settings, _) = state.buses.rule(&bus, &rule)?;
    let body = RuleSaved {
        bus,
        name: rule,
        rule: settings,
    };
    Ok((created_or_ok(created), Json(body)).into_response())
}

/// `GET /buses/{bus}/rules/{rule}`: settings and progress.
#[utoipa::path(
    get,
    path = "/buses/{bus}/rules/{rule}",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name"), ("rule" = eventfold_api::Name, Path, description = "The rule's name")),
    responses(
        (status = 200, description = "Settings and progress", body = RuleDescribed),
        (status = 404, description = "`bus_not_found`, `rule_not_found`", body = ErrorBody),
    )
)]
pub async fn describe_rule(
    State(state): State<AppState>,
    Path((bus, rule)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (bus, rule) = (Name::parse("bus", &bus)?, Name::parse("rule", &rule)?);
    let (settings, stats) = state.buses.rule(&bus, &rule)?;
    let end = Cursors::end_of(&*state.store, &bus).await?;
    let at = stats.at();
    let status = RuleStatus {
        next_revision: at.archive,
        replays_next_revision: at.replays,
        lag_events: stats.lag(end),
        matched: stats.matched.load(Ordering::Relaxed),
        delivered: stats.delivered.load(Ordering::Relaxed),
        retried: stats.retried.load(Ordering::Relaxed),
        dead_lettered: stats.dead_lettered.load(Ordering::Relaxed),
        expired: stats.expired.load(Ordering::Relaxed),
    };
    Ok(json_response(&RuleDescribed {
        bus,
        name: rule,
        settings,
        status,
    }))
}

/// `DELETE /buses/{bus}/rules/{rule}`.
#[utoipa::path(
    delete,
    path = "/buses/{bus}/rules/{rule}",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name"), ("rule" = eventfold_api::Name, Path, description = "The rule's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`bus_not_found`, `rule_not_found`", body = ErrorBody),
    )
)]
pub async fn delete_rule(
    State(state): State<AppState>,
    Path((bus, rule)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (bus, rule) = (Name::parse("bus", &bus)?, Name::parse("rule", &rule)?);
    state.buses.delete_rule(&bus, &rule).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /buses/{bus}/rules/{rule}/dead-letters`: what the rule could not deliver, and why.
#[utoipa::path(
    get,
    path = "/buses/{bus}/rules/{rule}/dead-letters",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name"), ("rule" = eventfold_api::Name, Path, description = "The rule's name"), PageQuery),
    responses(
        (status = 200, description = "What the rule could not deliver, oldest first", body = EventsPage),
        (status = 404, description = "`bus_not_found`, `rule_not_found`", body = ErrorBody),
    )
)]
pub async fn dead_letters(
    State(state): State<AppState>,
    Path((bus, rule)): Path<(String, String)>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (bus, rule) = (Name::parse("bus", &bus)?, Name::parse("rule", &rule)?);
    let Query(query) = query?;
    state.buses.rule(&bus, &rule)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=DEAD_LETTER_PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit: 1 to {DEAD_LETTER_PAGE_MAX}"
        )));
    }
    let from = query
        .from
        .map_or(StreamFrom::Start, |r| StreamFrom::Revision(Revision(r)));
    let request = eventfold_store::ReadStream {
        from,
        direction: Direction::Forward,
        limit,
        bytes_max: state.pages.budget(None)?,
    };
    let _reading = state.pages.admit().await?;
    let events = match state
        .store
        .read_stream(&Reserved::RuleDeadLetters(&bus, &rule).stream(), request)
        .await
    {
        Err(eventfold_store::StoreError::StreamNotFound(_)) => Vec::new(),
        other => other?,
    };
    Ok(events_page(&events))
}

/// `POST /buses/{bus}/replays`: starts a replay of the archive (202).
#[utoipa::path(
    post,
    path = "/buses/{bus}/replays",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name")),
    request_body = ReplayRequest,
    responses(
        (status = 202, description = "Started (or resumed)", body = ReplayView),
        (status = 404, description = "`bus_not_found`", body = ErrorBody),
        (status = 409, description = "`conflict`", body = ErrorBody),
    )
)]
pub async fn start_replay(
    State(state): State<AppState>,
    Path(bus): Path<String>,
    body: Result<JsonBody<ReplayRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let bus = Name::parse("bus", &bus)?;
    let JsonBody(request) = body?;
    state.buses.bus(&bus)?;
    let view = state
        .buses
        .replays
        .start(state.store.clone(), &bus, request)?;
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

/// `GET /buses/{bus}/replays/{replay}`.
#[utoipa::path(
    get,
    path = "/buses/{bus}/replays/{replay}",
    tag = "buses",
    params(("bus" = eventfold_api::Name, Path, description = "The bus's name"), ("replay" = eventfold_api::Name, Path, description = "The replay's name")),
    responses(
        (status = 200, description = "The replay's progress", body = ReplayView),
        (status = 404, description = "`bus_not_found`, `replay_not_found`", body = ErrorBody),
    )
)]
pub async fn replay(
    State(state): State<AppState>,
    Path((bus, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let bus = Name::parse("bus", &bus)?;
    state.buses.bus(&bus)?;
    let view = state
        .buses
        .replays
        .get(&bus, &name)
        .ok_or_else(|| ApiError::replay_not_found(&bus, &name))?;
    Ok(json_response(&view))
}
