//! JSON answers, serialised straight from the API's types (no intermediate JSON tree).

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};

use eventfold_api::streams::{AllPage, EventsPage, StreamPage};
use eventfold_store::{Position, RecordedEvent, Revision};

/// A page of a stream's events, in a buffer sized for it.
pub fn events_page(events: &[RecordedEvent]) -> Response {
    let page = EventsPage {
        events: Cow::Borrowed(events),
    };
    json_response_sized(&page, events_size_hint(events))
}

/// A page of one stream, in a buffer sized for it.
pub fn stream_page(
    events: &[RecordedEvent],
    next: Option<Revision>,
    end_of_stream: bool,
) -> Response {
    let page = StreamPage {
        events: Cow::Borrowed(events),
        next,
        end_of_stream,
    };
    json_response_sized(&page, events_size_hint(events))
}

/// A page of `$all`, in a buffer sized for it.
pub fn all_page(events: &[RecordedEvent], next: Option<Position>, end_of_log: bool) -> Response {
    let page = AllPage {
        events: Cow::Borrowed(events),
        next,
        end_of_log,
    };
    json_response_sized(&page, events_size_hint(events))
}

/// About how many bytes a page of `events` takes as JSON.
fn events_size_hint(events: &[RecordedEvent]) -> usize {
    64 + events
        .iter()
        .map(RecordedEvent::json_size_hint)
        .sum::<usize>()
}

/// A JSON response serialised straight from `value`.
pub fn json_response(value: &impl serde::Serialize) -> Response {
    json_response_sized(value, 128)
}

/// A JSON response serialised straight from `value` into a buffer of `capacity` bytes (a page
/// of events grows its buffer, copying it each time, when it is not sized up front).
fn json_response_sized(value: &impl serde::Serialize, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value).expect("API values serialise");
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
