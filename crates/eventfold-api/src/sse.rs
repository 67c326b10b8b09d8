//! The messages of the live subscriptions (`GET /subscribe/all`, `GET /subscribe/streams/{stream}`)
//! and of a group's push stream (`GET /groups/{group}/subscribe`), all `text/event-stream`.
//!
//! - An event is a default message (no `event:` line, so a browser's `EventSource.onmessage`
//!   fires) whose `id:` is where to resume from (`Last-Event-ID`) and whose data is a
//!   [`RecordedEvent`](eventfold_core::RecordedEvent); on a group's push stream the data is a
//!   [`Delivery`](crate::groups::Delivery) and the id its `ack_id`.
//! - [`CHECKPOINT`]: the subscription read up to a position without a matching event
//!   ([`Checkpoint`]).
//! - [`CAUGHT_UP`]: history is read; what follows is live (`{}`).
//! - [`FAILURE`]: the subscription ends with this error ([`ErrorBody`](crate::ErrorBody)).
//!   Not `error`, which is EventSource's own name for a lost connection.

use serde::{Deserialize, Serialize};

use eventfold_core::Position;

/// The message name of a checkpoint.
pub const CHECKPOINT: &str = "checkpoint";
/// The message name that marks the end of history.
pub const CAUGHT_UP: &str = "caught_up";
/// The message name a subscription ends with when it fails.
pub const FAILURE: &str = "failure";

/// The data of a [`CHECKPOINT`] message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Every event before this position was read (those that match were sent).
    pub position: Position,
}

/// The data of one message of a live subscription, by message name: a default message holds
/// an event, the others their own shapes. (For the OpenAPI document, which describes each
/// message as an SSE event whose `data` has this shape; clients read the message name first.)
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema, Serialize)]
#[serde(untagged)]
#[allow(dead_code)] // describes the JSON only
pub enum SubscriptionMessage {
    /// A default message: an event.
    Event(eventfold_core::RecordedEvent),
    /// [`CHECKPOINT`].
    Checkpoint(Checkpoint),
    /// [`CAUGHT_UP`].
    CaughtUp(CaughtUp),
    /// [`FAILURE`].
    Failure(crate::ErrorBody),
}

/// The data of one message of a group's push stream.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema, Serialize)]
#[serde(untagged)]
#[allow(dead_code)] // describes the JSON only
pub enum PushMessage {
    /// A default message: a delivery.
    Delivery(crate::groups::Delivery),
    /// [`FAILURE`].
    Failure(crate::ErrorBody),
}

/// The data of a [`CAUGHT_UP`] message: an empty object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaughtUp {}
