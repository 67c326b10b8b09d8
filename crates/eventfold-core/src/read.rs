//! Read requests: where to start, which way to go, how many, and which events.

use serde::{Deserialize, Serialize};

use crate::{Position, RecordedEvent, Revision, Timestamp};

/// Which way a read goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// Where a read of one stream starts (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFrom {
    /// The first event (forward) or the last (backward).
    Start,
    /// The last event (backward) or after it (forward: nothing yet; subscriptions wait there).
    End,
    /// This revision, inclusive.
    Revision(Revision),
}

/// Where a read of the global log starts (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllFrom {
    /// The first event.
    Start,
    /// After the last event (forward) or the last event (backward).
    End,
    /// This position, inclusive.
    Position(Position),
    /// The first event recorded at or after this time (forward), or the last before it (backward).
    Time(Timestamp),
}

/// Which events of the global log a read or subscription wants. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only streams whose name starts with this.
    pub stream_prefix: Option<String>,
    /// Only streams of this category.
    pub category: Option<String>,
    /// Only these event types.
    pub event_types: Vec<String>,
}

/// The most event types one filter may name.
pub const FILTER_EVENT_TYPES_MAX: usize = 32;
/// The longest prefix, category or event type in a filter, in bytes.
pub const FILTER_TEXT_BYTES_MAX: usize = 256;

impl EventFilter {
    /// Checks the filter: at most [`FILTER_EVENT_TYPES_MAX`] types, each part at most
    /// [`FILTER_TEXT_BYTES_MAX`] bytes and free of control characters (which no stream name or
    /// event type has).
    pub fn validate(&self) -> Result<(), crate::StoreError> {
        if self.event_types.len() > FILTER_EVENT_TYPES_MAX {
            return Err(crate::StoreError::InvalidRequest(format!(
                "a filter names at most {FILTER_EVENT_TYPES_MAX} event types, this one {}",
                self.event_types.len()
            )));
        }
        let texts = self
            .event_types
            .iter()
            .chain(&self.stream_prefix)
            .chain(&self.category);
        if let Some(long) = texts
            .into_iter()
            .find(|text| text.len() > FILTER_TEXT_BYTES_MAX)
        {
            return Err(crate::StoreError::InvalidRequest(format!(
                "filter value {:?}… is longer than {FILTER_TEXT_BYTES_MAX} bytes",
                long.chars().take(32).collect::<String>()
            )));
        }
        let texts = self
            .event_types
            .iter()
            .chain(&self.stream_prefix)
            .chain(&self.category);
        if let Some(bad) = texts
            .into_iter()
            .find(|text| text.chars().any(char::is_control))
        {
            return Err(crate::StoreError::InvalidRequest(format!(
                "filter value {:?} contains a control character",
                bad.chars().take(32).collect::<String>()
            )));
        }
        Ok(())
    }

    /// True when the filter lets every event through.
    pub fn is_empty(&self) -> bool {
        self.stream_prefix.is_none() && self.category.is_none() && self.event_types.is_empty()
    }

    /// True when `event` passes the filter.
    pub fn matches(&self, event: &RecordedEvent) -> bool {
        self.matches_parts(event.stream.as_str(), &event.event_type)
    }

    /// True when an event of `stream` with `event_type` passes the filter.
    pub fn matches_parts(&self, stream: &str, event_type: &str) -> bool {
        if let Some(prefix) = &self.stream_prefix {
            if !stream.starts_with(prefix.as_str()) {
                return false;
            }
        }
        if let Some(category) = &self.category {
            if crate::stream_name::category_of(stream) != category {
                return false;
            }
        }
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type)
    }
}

/// The default byte budget of one page of a read: [`ReadStream::bytes_max`],
/// [`ReadAll::bytes_max`].
pub const READ_PAGE_BYTES_DEFAULT: usize = 16 << 20;

/// The smallest byte budget a server gives a page of a read it answers (so a page holds at
/// least a couple of the largest events).
pub const READ_PAGE_BYTES_MIN: usize = 2 << 20;

/// A read of one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadStream {
    /// Where to start.
    pub from: StreamFrom,
    /// Which way to go.
    pub direction: Direction,
    /// The most events to return.
    pub limit: usize,
    /// The most bytes of events (data, metadata and their stored framing) to return: a page
    /// ends before the event that would pass it, so a page may hold fewer than `limit` events
    /// before the end; it always holds at least one event when one is there. Memory for a read
    /// is bounded by this, not by `limit` times the largest event.
    pub bytes_max: usize,
}

impl Default for ReadStream {
    fn default() -> Self {
        Self {
            from: StreamFrom::Start,
            direction: Direction::Forward,
            limit: 1000,
            bytes_max: READ_PAGE_BYTES_DEFAULT,
        }
    }
}

/// A read of the global log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadAll {
    /// Where to start.
    pub from: AllFrom,
    /// Which way to go.
    pub direction: Direction,
    /// The most events to return.
    pub limit: usize,
    /// The most bytes of events to return (see [`ReadStream::bytes_max`]); `next` then
    /// continues right after the last event returned.
    pub bytes_max: usize,
    /// Which events to return.
    pub filter: EventFilter,
}

impl Default for ReadAll {
    fn default() -> Self {
        Self {
            from: AllFrom::Start,
            direction: Direction::Forward,
            limit: 1000,
            bytes_max: READ_PAGE_BYTES_DEFAULT,
            filter: EventFilter::default(),
        }
    }
}

/// One page of the global log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllSlice {
    /// The events, in the direction read.
    pub events: Vec<RecordedEvent>,
    /// Where the next page starts (inclusive). It moves past events the filter skipped, so a
    /// filtered reader never rescans them. Forward at the end of the log, it is the head: the
    /// position the next event appended will get.
    pub next: Position,
    /// True when the read reached the end of the log in its direction (for now, forward).
    pub end_of_log: bool,
}
