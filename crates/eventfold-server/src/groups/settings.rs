//! What a consumer group is: its source, where it starts, how it hands events out and how it
//! retries. The JSON of `PUT /groups/{group}`, checked, and the stored definition.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use eventfold_store::{EventFilter, StreamName, Timestamp};

use crate::ApiError;

/// The most groups one server keeps.
pub const GROUPS_MAX: usize = 1_000;

/// How events are handed to the group's consumers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Any consumer takes the next events; several events of one stream may be in flight.
    #[default]
    RoundRobin,
    /// One event of a stream in flight at a time, in order: a stream's next event goes out
    /// only when the previous one is acknowledged, skipped or parked.
    Pinned,
}

/// Where a new group starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StartAt {
    /// The first event.
    Start,
    /// After the last event at creation time (the default).
    End,
    /// This position of `$all` (groups on `$all`).
    Position(u64),
    /// This revision of the stream (groups on a stream).
    Revision(u64),
    /// The first event recorded at or after this time (groups on `$all`).
    Time(Timestamp),
}

/// The filter of a group on `$all`; the same fields as `GET /all`'s query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFilter {
    /// Only these event types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Only streams of this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Only streams whose name starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

impl GroupFilter {
    /// The store's filter.
    pub fn to_event_filter(&self) -> EventFilter {
        EventFilter {
            stream_prefix: self.prefix.clone(),
            category: self.category.clone(),
            event_types: self.types.clone(),
        }
    }
}

/// The body of `PUT /groups/{group}`. Every field has a default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// The stream to follow; `$all` when absent.
    pub stream: Option<String>,
    /// Which events of `$all` (not with `stream`).
    pub filter: Option<GroupFilter>,
    /// Where a new group starts; ignored when the group exists.
    pub start: Option<StartAt>,
    /// The hand-out strategy.
    pub strategy: Option<Strategy>,
    /// Deliveries before an event is parked.
    pub max_attempts: Option<u32>,
    /// How long a consumer has to ack or nack a delivery before it counts as failed.
    pub ack_timeout_ms: Option<u64>,
    /// The first retry's delay; each later retry doubles it.
    pub retry_backoff_ms: Option<u64>,
    /// The longest retry delay.
    pub retry_backoff_max_ms: Option<u64>,
    /// Events read ahead and not yet finished, at most.
    pub buffer_size: Option<usize>,
}

/// A group's settings as stored in `$groups` (the start resolved to a cursor at creation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSettings {
    /// The stream followed, or `None` for `$all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamName>,
    /// Which events of `$all`.
    #[serde(default)]
    pub filter: GroupFilter,
    /// The first cursor (a position on `$all`, a revision on a stream).
    pub start: u64,
    /// The hand-out strategy.
    pub strategy: Strategy,
    /// Deliveries before an event is parked.
    pub max_attempts: u32,
    /// Time to ack a delivery, in milliseconds.
    pub ack_timeout_ms: u64,
    /// The first retry's delay, in milliseconds.
    pub retry_backoff_ms: u64,
    /// The longest retry delay, in milliseconds.
    pub retry_backoff_max_ms: u64,
    /// Events read ahead and not yet finished, at most.
    pub buffer_size: usize,
}

/// Defaults and bounds of the settings.
const MAX_ATTEMPTS: (u32, std::ops::RangeInclusive<u32>) = (5, 1..=1_000);
const ACK_TIMEOUT_MS: (u64, std::ops::RangeInclusive<u64>) = (30_000, 100..=3_600_000);
const RETRY_BACKOFF_MS: (u64, std::ops::RangeInclusive<u64>) = (500, 1..=3_600_000);
const RETRY_BACKOFF_MAX_MS: (u64, std::ops::RangeInclusive<u64>) = (60_000, 1..=86_400_000);
const BUFFER_SIZE: (usize, std::ops::RangeInclusive<usize>) = (1_000, 1..=100_000);

fn bounded<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: Option<T>,
    (default, range): (T, std::ops::RangeInclusive<T>),
) -> Result<T, ApiError> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::invalid(format!(
            "{field}: {value} is outside {}..={}",
            range.start(),
            range.end()
        )))
    }
}

impl GroupRequest {
    /// Checks the request and builds settings; `start` is the resolved first cursor (ignored by
    /// callers that keep an existing group's).
    pub fn settings(&self, start: u64) -> Result<GroupSettings, ApiError> {
        let stream = self.stream.as_deref().map(StreamName::new).transpose()?;
        let filter = self.filter.clone().unwrap_or_default();
        if stream.is_some() && filter != GroupFilter::default() {
            return Err(ApiError::invalid(
                "filter: a group on one stream takes no filter",
            ));
        }
        filter.to_event_filter().validate()?;
        let retry_backoff_ms =
            bounded("retry_backoff_ms", self.retry_backoff_ms, RETRY_BACKOFF_MS)?;
        let retry_backoff_max_ms = bounded(
            "retry_backoff_max_ms",
            self.retry_backoff_max_ms,
            RETRY_BACKOFF_MAX_MS,
        )?;
        if retry_backoff_max_ms < retry_backoff_ms {
            return Err(ApiError::invalid(
                "retry_backoff_max_ms: must be at least retry_backoff_ms",
            ));
        }
        Ok(GroupSettings {
            stream,
            filter,
            start,
            strategy: self.strategy.unwrap_or_default(),
            max_attempts: bounded("max_attempts", self.max_attempts, MAX_ATTEMPTS)?,
            ack_timeout_ms: bounded("ack_timeout_ms", self.ack_timeout_ms, ACK_TIMEOUT_MS)?,
            retry_backoff_ms,
            retry_backoff_max_ms,
            buffer_size: bounded("buffer_size", self.buffer_size, BUFFER_SIZE)?,
        })
    }

    /// Checks that `start` fits the source (positions and times for `$all`, revisions for a
    /// stream).
    pub fn check_start(&self) -> Result<(), ApiError> {
        match (&self.stream, &self.start) {
            (Some(_), Some(StartAt::Position(_) | StartAt::Time(_))) => Err(ApiError::invalid(
                "start: a group on one stream starts at start, end or a revision",
            )),
            (None, Some(StartAt::Revision(_))) => Err(ApiError::invalid(
                "start: a group on $all starts at start, end, a position or a time",
            )),
            _ => Ok(()),
        }
    }
}

impl GroupSettings {
    /// How long a consumer has to answer a delivery.
    pub fn ack_timeout(&self) -> Duration {
        Duration::from_millis(self.ack_timeout_ms)
    }

    /// The delay before the retry that follows delivery number `attempt` (1-based):
    /// the back-off doubled per earlier attempt, at most the maximum.
    pub fn backoff(&self, attempt: u32) -> Duration {
        crate::backoff::backoff(self.retry_backoff_ms, self.retry_backoff_max_ms, attempt)
    }

    /// True when a change to `other` keeps the group's source (which never changes).
    pub fn same_source(&self, other: &GroupSettings) -> bool {
        self.stream == other.stream && self.filter == other.filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let request = GroupRequest {
            retry_backoff_ms: Some(100),
            retry_backoff_max_ms: Some(1_000),
            ..GroupRequest::default()
        };
        let settings = request.settings(0).unwrap();
        let delays: Vec<u64> = (1..=6)
            .map(|a| settings.backoff(a).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(settings.backoff(u32::MAX).as_millis(), 1_000);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let cases = [
            (r#"{"max_attempts": 0}"#, "max_attempts"),
            (r#"{"ack_timeout_ms": 5}"#, "ack_timeout_ms"),
            (r#"{"buffer_size": 1000000}"#, "buffer_size"),
            (
                r#"{"retry_backoff_ms": 500, "retry_backoff_max_ms": 100}"#,
                "retry_backoff_max_ms",
            ),
            (r#"{"stream": "a", "filter": {"types": ["x"]}}"#, "filter"),
            (r#"{"stream": ""}"#, "stream name"),
        ];
        for (json, field) in cases {
            let request: GroupRequest = serde_json::from_str(json).unwrap();
            let error = request.settings(0).unwrap_err();
            assert!(
                error.body()["message"].as_str().unwrap().contains(field),
                "{json}: {:?}",
                error.body()
            );
        }
        let request: GroupRequest =
            serde_json::from_str(r#"{"stream": "a", "start": {"position": 3}}"#).unwrap();
        assert!(request.check_start().is_err());
    }
}
