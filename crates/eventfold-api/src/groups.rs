//! Consumer groups: their settings (`PUT /groups/{group}`), their state, and the messages of
//! fetch, ack, nack and push.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use eventfold_core::{EventFilter, RecordedEvent, StreamName};

use crate::{Invalid, Name};

/// The most groups one server keeps.
pub const GROUPS_MAX: usize = 1_000;

/// How events are handed to the group's consumers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    Time(DateTime<Utc>),
}

/// The filter of a group on `$all`; the same fields as `GET /all`'s query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// The stream to follow; `$all` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<StreamName>))]
    pub stream: Option<String>,
    /// Which events of `$all` (not with `stream`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<GroupFilter>,
    /// Where a new group starts; ignored when the group exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<StartAt>,
    /// The hand-out strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Deliveries before an event is parked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_attempts: Option<u32>,
    /// How long a consumer has to ack or nack a delivery before it counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 3_600_000))]
    pub ack_timeout_ms: Option<u64>,
    /// The first retry's delay; each later retry doubles it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3_600_000))]
    pub retry_backoff_ms: Option<u64>,
    /// The longest retry delay (a first delay above it is cut to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86_400_000))]
    pub retry_backoff_max_ms: Option<u64>,
    /// Events read ahead and not yet finished, at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub buffer_size: Option<usize>,
}

/// A group's settings as stored in `$groups` (the start resolved to a cursor at creation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
) -> Result<T, Invalid> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Invalid(format!(
            "{field}: {value} is outside {}..={}",
            range.start(),
            range.end()
        )))
    }
}

impl GroupRequest {
    /// Checks the request and builds settings; `start` is the resolved first cursor (ignored by
    /// callers that keep an existing group's).
    pub fn settings(&self, start: u64) -> Result<GroupSettings, Invalid> {
        let stream = self
            .stream
            .as_deref()
            .map(StreamName::new)
            .transpose()
            .map_err(|error| Invalid(format!("stream: {error}")))?;
        let filter = self.filter.clone().unwrap_or_default();
        if stream.is_some() && filter != GroupFilter::default() {
            return Err(Invalid::new(
                "filter: a group on one stream takes no filter",
            ));
        }
        filter
            .to_event_filter()
            .validate()
            .map_err(|error| Invalid(format!("filter: {error}")))?;
        let retry_backoff_ms =
            bounded("retry_backoff_ms", self.retry_backoff_ms, RETRY_BACKOFF_MS)?;
        let retry_backoff_max_ms = bounded(
            "retry_backoff_max_ms",
            self.retry_backoff_max_ms,
            RETRY_BACKOFF_MAX_MS,
        )?;
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
    pub fn check_start(&self) -> Result<(), Invalid> {
        match (&self.stream, &self.start) {
            (Some(_), Some(StartAt::Position(_) | StartAt::Time(_))) => Err(Invalid::new(
                "start: a group on one stream starts at start, end or a revision",
            )),
            (None, Some(StartAt::Revision(_))) => Err(Invalid::new(
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
        crate::backoff(self.retry_backoff_ms, self.retry_backoff_max_ms, attempt)
    }

    /// True when a change to `other` keeps the group's source (which never changes).
    pub fn same_source(&self, other: &GroupSettings) -> bool {
        self.stream == other.stream && self.filter == other.filter
    }
}

/// What a consumer acks or nacks: `17` is the source event with cursor 17 (its position on
/// `$all`, its revision on a stream); `p3` is the parked event at revision 3, being replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AckId {
    /// An event of the source.
    Source(u64),
    /// A parked event being replayed.
    Parked(u64),
}

impl std::fmt::Display for AckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Source(cursor) => write!(f, "{cursor}"),
            Self::Parked(revision) => write!(f, "p{revision}"),
        }
    }
}

impl std::str::FromStr for AckId {
    type Err = Invalid;
    fn from_str(text: &str) -> Result<Self, Invalid> {
        let parsed = match text.strip_prefix('p') {
            Some(revision) => revision.parse().map(Self::Parked),
            None => text.parse().map(Self::Source),
        };
        parsed.map_err(|_| {
            Invalid(format!(
                "`{text}` is not an ack id (a number, or p and a number)"
            ))
        })
    }
}

impl Serialize for AckId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AckId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AckId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^p?[0-9]{1,19}$"))
            .description(Some(
                "What to ack or nack: a number (the event's cursor in the source), or p and a \
                 number (a parked event being replayed)",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AckId {
    fn name() -> std::borrow::Cow<'static, str> {
        "AckId".into()
    }
}

/// One event handed to a consumer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// What to ack or nack.
    pub ack_id: AckId,
    /// 1 for the first delivery, then one more per retry.
    pub attempt: u32,
    /// True when the event comes back from the parked (dead-letter) stream.
    pub replayed: bool,
    /// The event.
    #[cfg_attr(feature = "openapi", schema(value_type = RecordedEvent))]
    pub event: Arc<RecordedEvent>,
}

/// What a consumer does with an event it cannot process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NackAction {
    /// Deliver again after the back-off (parked once attempts are exhausted).
    #[default]
    Retry,
    /// Move to the parked stream now.
    Park,
    /// Drop it: counts as finished.
    Skip,
}

/// The answer to an ack or a nack.
#[derive(Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settled {
    /// How many ids were settled.
    pub settled: usize,
    /// Ids that are not out for delivery (already settled, never delivered, or unknown).
    pub unknown: Vec<String>,
}

/// Counters since the group's task started.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counters {
    /// Deliveries made (retries included).
    pub delivered: u64,
    /// Events acknowledged.
    pub acked: u64,
    /// Retries scheduled (nacks and time-outs).
    pub retried: u64,
    /// Deliveries that timed out.
    pub timed_out: u64,
    /// Events skipped by a consumer.
    pub skipped: u64,
    /// Events parked.
    pub parked: u64,
}

/// One consumer seen recently.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumerStatus {
    /// Its name.
    pub name: String,
    /// Events it holds without an answer.
    pub in_flight: usize,
    /// Seconds since its last fetch.
    pub idle_seconds: f64,
}

/// A group's state, as `GET /groups/{group}` shows it.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupStatus {
    /// Every event before this cursor is finished.
    pub checkpoint: u64,
    /// The checkpoint last saved.
    pub saved_checkpoint: u64,
    /// The next cursor the group will read.
    pub read_cursor: u64,
    /// True once the group has read all history and follows live events.
    pub caught_up: bool,
    /// True while the source is readable (false after an error, until it is re-opened).
    pub source_open: bool,
    /// Events read and not yet finished.
    pub buffered: usize,
    /// Events out with a consumer.
    pub in_flight: usize,
    /// Events waiting for their retry.
    pub retrying: usize,
    /// Parked events being replayed and not yet finished.
    pub replaying: usize,
    /// Events not yet finished: buffered ones plus those not yet read (on `$all`, while the
    /// group catches up, positions not yet read count whatever the filter).
    pub lag_events: u64,
    /// Age of the oldest unfinished event, in seconds.
    pub lag_seconds: f64,
    /// Totals since this node started the group.
    pub counters: Counters,
    /// Consumers seen in the last five minutes.
    pub consumers: Vec<ConsumerStatus>,
}

/// A group as listed: its name and settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupView {
    /// The group's name.
    pub name: Name,
    /// Its settings.
    #[serde(flatten)]
    pub settings: GroupSettings,
}

/// `GET /groups`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupList {
    /// The groups, by name.
    pub groups: Vec<GroupView>,
}

/// `GET /groups/{group}`: settings and live state.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupDescribed {
    /// The group's name.
    pub name: Name,
    /// Its settings.
    pub settings: GroupSettings,
    /// Its state on the node that runs it.
    pub status: GroupStatus,
}

/// The longest consumer name, in bytes.
pub const CONSUMER_NAME_BYTES_MAX: usize = 128;

/// The body of `POST /groups/{group}/fetch`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FetchRequest {
    /// Who fetches (shown in the group's state); `anonymous` when absent. 1 to 128 bytes
    /// without control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 128,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
        )
    )]
    pub consumer: Option<String>,
    /// At most this many events (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max: Option<usize>,
    /// Wait up to this long for at least one event (default 0: answer at once; at most
    /// 20000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 20_000))]
    pub wait_ms: Option<u64>,
}

/// Checks a consumer's name (`anonymous` when absent): 1 to 128 bytes, no control characters.
pub fn consumer_name(name: Option<String>) -> Result<Arc<str>, Invalid> {
    let name = name.unwrap_or_else(|| "anonymous".into());
    if name.is_empty() || name.len() > CONSUMER_NAME_BYTES_MAX || name.chars().any(char::is_control)
    {
        return Err(Invalid(format!(
            "consumer: 1 to {CONSUMER_NAME_BYTES_MAX} bytes without control characters"
        )));
    }
    Ok(name.into())
}

/// The answer to a fetch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fetched {
    /// The deliveries, oldest first (empty when the wait ran out).
    pub messages: Vec<Delivery>,
}

/// The body of `POST /groups/{group}/ack`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// The deliveries' `ack_id`s (at most 10000).
    #[cfg_attr(
        feature = "openapi",
        schema(max_items = 10_000, value_type = Vec<AckId>)
    )]
    pub ack_ids: Vec<String>,
}

/// The body of `POST /groups/{group}/nack`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NackRequest {
    /// The deliveries' `ack_id`s (at most 10000).
    #[cfg_attr(
        feature = "openapi",
        schema(max_items = 10_000, value_type = Vec<AckId>)
    )]
    pub ack_ids: Vec<String>,
    /// Retry (default), park or skip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<NackAction>,
    /// Why, kept with a parked event (at most 1024 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub reason: Option<String>,
}

/// The query of `GET /groups/{group}/parked` and of a rule's dead letters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The first revision (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// At most this many events (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<usize>,
}

/// The query of `GET /groups/{group}/subscribe` (push over SSE).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct PushQuery {
    /// Who subscribes; `anonymous` when absent. 1 to 128 bytes without control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(
            min_length = 1,
            max_length = 128,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
        )
    )]
    pub consumer: Option<String>,
    /// Deliveries held without an answer, at most (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub max_in_flight: Option<usize>,
}

/// The answer to `POST /groups/{group}/parked/replay`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replaying {
    /// How many parked events go out again.
    pub replaying: u64,
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
        // A first delay above the longest is cut to it.
        let capped = GroupRequest {
            retry_backoff_ms: Some(5_000),
            retry_backoff_max_ms: Some(1_000),
            ..GroupRequest::default()
        };
        assert_eq!(capped.settings(0).unwrap().backoff(1).as_millis(), 1_000);
        assert_eq!(settings.backoff(u32::MAX).as_millis(), 1_000);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let cases = [
            (r#"{"max_attempts": 0}"#, "max_attempts"),
            (r#"{"ack_timeout_ms": 5}"#, "ack_timeout_ms"),
            (r#"{"buffer_size": 1000000}"#, "buffer_size"),
            (r#"{"stream": "a", "filter": {"types": ["x"]}}"#, "filter"),
            (r#"{"stream": ""}"#, "stream name"),
        ];
        for (json, field) in cases {
            let request: GroupRequest = serde_json::from_str(json).unwrap();
            let error = request.settings(0).unwrap_err();
            assert!(error.0.contains(field), "{json}: {error:?}");
        }
        let request: GroupRequest =
            serde_json::from_str(r#"{"stream": "a", "start": {"position": 3}}"#).unwrap();
        assert!(request.check_start().is_err());
    }
}
