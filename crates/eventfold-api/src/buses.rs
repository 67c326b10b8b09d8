//! Event buses: bus and rule settings (`PUT /buses/{bus}`, `PUT /buses/{bus}/rules/{rule}`),
//! puts, replays and what the API shows of them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use chrono::{DateTime, Utc};

use eventfold_core::{Position, StreamName};

use crate::{Invalid, Name};

/// The most buses one server keeps.
pub const BUSES_MAX: usize = 100;
/// The most rules one bus has.
pub const RULES_MAX: usize = 100;
/// The most targets one rule has.
pub const TARGETS_MAX: usize = 5;
/// The most entries in a policy list.
pub const POLICY_ENTRIES_MAX: usize = 100;
/// The longest source, event type or policy entry, in bytes.
pub const TEXT_BYTES_MAX: usize = 256;
/// The most headers a webhook sends.
pub const WEBHOOK_HEADERS_MAX: usize = 16;

/// Who may put which events on a bus. An absent list allows everything; an entry ending in
/// `*` allows every value that starts with what precedes the star.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Allowed sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 100, value_type = Option<Vec<PolicyEntry>>))]
    pub sources: Option<Vec<String>>,
    /// Allowed event types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 100, value_type = Option<Vec<PolicyEntry>>))]
    pub types: Option<Vec<String>>,
}

impl Policy {
    /// Checks the lists: at most 100 entries, each 1 to 256 bytes.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (field, list) in [("sources", &self.sources), ("types", &self.types)] {
            let Some(list) = list else { continue };
            if list.len() > POLICY_ENTRIES_MAX {
                return Err(Invalid(format!(
                    "policy.{field}: at most {POLICY_ENTRIES_MAX} entries"
                )));
            }
            for (at, entry) in list.iter().enumerate() {
                check_text(&format!("policy.{field}[{at}]"), entry)?;
            }
        }
        Ok(())
    }

    /// True when the policy allows `source`.
    pub fn allows_source(&self, source: &str) -> bool {
        allowed(self.sources.as_deref(), source)
    }

    /// True when the policy allows `event_type`.
    pub fn allows_type(&self, event_type: &str) -> bool {
        allowed(self.types.as_deref(), event_type)
    }
}

fn allowed(list: Option<&[String]>, value: &str) -> bool {
    list.is_none_or(|list| {
        list.iter().any(|entry| match entry.strip_suffix('*') {
            Some(prefix) => value.starts_with(prefix),
            None => entry == value,
        })
    })
}

/// The schema of a policy entry: an exact value, or a prefix followed by `*`.
#[cfg(feature = "openapi")]
struct PolicyEntry;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PolicyEntry {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        crate::text_schema(
            TEXT_BYTES_MAX,
            "An exact value, or a prefix followed by `*`: 1 to 256 bytes without control \
             characters",
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PolicyEntry {
    fn name() -> std::borrow::Cow<'static, str> {
        "PolicyEntry".into()
    }
}

/// Checks a source, type or policy entry: 1 to 256 bytes, no control characters.
pub fn check_text(field: &str, text: &str) -> Result<(), Invalid> {
    if text.is_empty() || text.len() > TEXT_BYTES_MAX || text.chars().any(char::is_control) {
        return Err(Invalid(format!(
            "{field}: 1 to {TEXT_BYTES_MAX} bytes without control characters"
        )));
    }
    Ok(())
}

/// A bus's settings (`PUT /buses/{bus}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusSettings {
    /// Who may put which events.
    #[serde(default)]
    pub policy: Policy,
    /// Keep archived events this many days (forever when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 36_500))]
    pub archive_days: Option<u64>,
}

impl BusSettings {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.policy.validate()?;
        if self
            .archive_days
            .is_some_and(|days| !(1..=36_500).contains(&days))
        {
            return Err(Invalid::new("archive_days: 1 to 36500"));
        }
        Ok(())
    }
}

/// Where a rule sends the events it matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// Another bus (its policy applies).
    Bus(Name),
    /// A stream.
    Stream(StreamName),
    /// The stream a consumer group follows (a group on `$all` is not a target: give it a
    /// prefix filter `$bus:<name>:archive` to read a bus's events).
    Group(Name),
    /// An HTTP endpoint.
    Webhook(Webhook),
}

impl Target {
    /// How the target is named in dead letters and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Bus(bus) => format!("bus {bus}"),
            Self::Stream(stream) => format!("stream {stream}"),
            Self::Group(group) => format!("group {group}"),
            Self::Webhook(webhook) => format!("webhook {}", webhook.url),
        }
    }
}

/// An HTTP endpoint that receives each event as a JSON `POST`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://host[:port]/path`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^http://[A-Za-z0-9.-]+(:[0-9]{1,4})?([/?#][^\\s]*)?$")
    )]
    pub url: String,
    /// Extra headers (an API key, say).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Attempts before the event goes to the rule's dead-letter stream.
    #[serde(default = "Webhook::default_max_attempts")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub max_attempts: u32,
    /// The first retry's delay; each later retry doubles it.
    #[serde(default = "Webhook::default_retry_backoff_ms")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3_600_000))]
    pub retry_backoff_ms: u64,
    /// The longest retry delay.
    #[serde(default = "Webhook::default_retry_backoff_max_ms")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86_400_000))]
    pub retry_backoff_max_ms: u64,
    /// How long one attempt may take.
    #[serde(default = "Webhook::default_timeout_ms")]
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 60_000))]
    pub timeout_ms: u64,
}

impl Webhook {
    /// The default.
    pub fn default_max_attempts() -> u32 {
        8
    }
    /// The default.
    pub fn default_retry_backoff_ms() -> u64 {
        500
    }
    /// The default.
    pub fn default_retry_backoff_max_ms() -> u64 {
        60_000
    }
    /// The default.
    pub fn default_timeout_ms() -> u64 {
        10_000
    }

    /// The delay after attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        crate::backoff(self.retry_backoff_ms, self.retry_backoff_max_ms, attempt)
    }
}

/// The body of `PUT /buses/{bus}/rules/{rule}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// The event pattern (EventBridge syntax) matched against
    /// `{"source", "type", "data", "metadata", "replay"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub pattern: serde_json::Value,
    /// Where matched events go, in this order.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 5))]
    pub targets: Vec<Target>,
    /// A disabled rule lets events go by without delivering them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// What the rule is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub description: Option<String>,
}

/// A rule as stored in `$buses`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    /// The event pattern.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub pattern: serde_json::Value,
    /// Where matched events go.
    pub targets: Vec<Target>,
    /// False lets events go by.
    pub enabled: bool,
    /// What the rule is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The first revision of the bus's archive the rule considers (its end at creation).
    pub start: u64,
    /// The first revision of the bus's replays stream the rule considers (its end at creation;
    /// 0 for rules made when replays were put into the archive).
    #[serde(default)]
    pub replays_start: u64,
}

/// A rule as listed: its name and settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    /// The rule's name.
    pub name: Name,
    /// Its settings.
    #[serde(flatten)]
    pub settings: RuleSettings,
}

/// `GET /buses/{bus}/rules`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleList {
    /// The bus's rules, by name.
    pub rules: Vec<RuleView>,
}

/// The answer to `PUT /buses/{bus}/rules/{rule}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleSaved {
    /// The bus.
    pub bus: Name,
    /// The rule's name.
    pub name: Name,
    /// The settings as stored.
    pub rule: RuleSettings,
}

/// A rule's progress on the node that runs it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleStatus {
    /// The next revision of the bus's archive the rule reads.
    pub next_revision: u64,
    /// The next revision of the bus's replays stream the rule reads.
    pub replays_next_revision: u64,
    /// Events of the bus the rule has not considered yet.
    pub lag_events: u64,
    /// Events that matched the pattern.
    pub matched: u64,
    /// Deliveries that succeeded.
    pub delivered: u64,
    /// Deliveries retried.
    pub retried: u64,
    /// Events sent to the rule's dead letters.
    pub dead_lettered: u64,
    /// Events not delivered because the archive had expired them.
    pub expired: u64,
}

/// `GET /buses/{bus}/rules/{rule}`: settings and progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleDescribed {
    /// The bus.
    pub bus: Name,
    /// The rule's name.
    pub name: Name,
    /// Its settings.
    #[serde(flatten)]
    pub settings: RuleSettings,
    /// Its progress.
    pub status: RuleStatus,
}

/// A bus as listed: its name and settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusView {
    /// The bus's name.
    pub name: Name,
    /// Its settings.
    #[serde(flatten)]
    pub settings: BusSettings,
}

/// `GET /buses`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusList {
    /// The buses, by name.
    pub buses: Vec<BusView>,
}

/// `GET /buses/{bus}`: settings, rules, replays and the sizes of its streams.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusDescribed {
    /// The bus's name.
    pub name: Name,
    /// Who may put which events.
    pub policy: Policy,
    /// Archived events are kept this many days (forever when null).
    pub archive_days: Option<u64>,
    /// The stream that holds every event put on the bus.
    pub archive_stream: StreamName,
    /// Events put on the bus so far.
    pub events_put: u64,
    /// The stream that holds the copies replays put back.
    pub replays_stream: StreamName,
    /// Copies put back by replays so far.
    pub events_replayed: u64,
    /// The bus's rules.
    pub rules: Vec<RuleView>,
    /// The replays this node ran.
    pub replays: Vec<ReplayView>,
}

/// One event of `POST /buses/{bus}/events`.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutEvent {
    /// Its id, for idempotent retries (a new one when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Who sends it (the bus's policy may restrict it).
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 256,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
        )
    )]
    pub source: String,
    /// Its type.
    #[serde(rename = "type")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 256,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
        )
    )]
    pub event_type: String,
    /// Its data (JSON).
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub data: Box<RawValue>,
    /// The sender's metadata (JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Box<RawValue>>,
}

impl PutEvent {
    /// An event of `event_type` from `source`.
    pub fn new(
        source: impl Into<String>,
        event_type: impl Into<String>,
        data: &serde_json::Value,
    ) -> Self {
        Self {
            id: None,
            source: source.into(),
            event_type: event_type.into(),
            data: serde_json::value::to_raw_value(data).expect("a JSON value serialises"),
            metadata: None,
        }
    }
}

/// The body of `POST /buses/{bus}/events`.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutEvents {
    /// The events (at least one), stored atomically in this order.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub events: Vec<PutEvent>,
}

/// What a put stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutResult {
    /// The events' ids, in order.
    pub ids: Vec<Uuid>,
    /// The first event's position in `$all`.
    pub first_position: Position,
    /// The last event's position.
    pub last_position: Position,
}

/// The body of `POST /buses/{bus}/replays`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The replay's name (marks the replayed events; running it again resumes it).
    pub name: Name,
    /// Replay events recorded at or after this time.
    pub from: DateTime<Utc>,
    /// … and before this time (now when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
}

/// Where a replay is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    /// Still putting events on the bus.
    Running,
    /// Every event of the range is back on the bus.
    Completed,
    /// Stopped by an error (see `error`); running it again resumes safely.
    Failed,
    /// Stopped by a shutdown; running it again resumes safely.
    Stopped,
}

/// A replay as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayView {
    /// The bus.
    pub bus: String,
    /// The replay's name.
    pub name: String,
    /// Where it is.
    pub state: ReplayState,
    /// Events put on the bus again so far.
    pub replayed: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_allow_exact_values_and_prefixes() {
        let policy = Policy {
            sources: Some(vec!["billing".into(), "shop.*".into()]),
            types: None,
        };
        assert!(policy.allows_source("billing"));
        assert!(policy.allows_source("shop.eu"));
        assert!(!policy.allows_source("billing2"));
        assert!(policy.allows_type("anything"));
    }

    #[test]
    fn names_in_targets_are_checked_as_they_are_read() {
        let bad_name = serde_json::json!({"pattern": {}, "targets": [{"bus": "a b"}]});
        let error = serde_json::from_value::<RuleRequest>(bad_name)
            .err()
            .unwrap();
        assert!(error.to_string().contains("`a b`"), "{error}");
    }
}
