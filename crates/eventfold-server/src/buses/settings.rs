//! What a bus and a rule are: the JSON of `PUT /buses/{bus}` and `PUT /buses/{bus}/rules/{rule}`,
//! checked, and as stored in `$buses`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use eventfold_pattern::Pattern;
use eventfold_store::StreamName;

use super::cursors::Cursors;
use crate::reserved::Name;
use crate::ApiError;

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
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Allowed sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
    /// Allowed event types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
}

impl Policy {
    fn validate(&self) -> Result<(), ApiError> {
        for (field, list) in [("sources", &self.sources), ("types", &self.types)] {
            let Some(list) = list else { continue };
            if list.len() > POLICY_ENTRIES_MAX {
                return Err(ApiError::invalid(format!(
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

/// Checks a source, type or policy entry: 1 to 256 bytes, no control characters.
pub fn check_text(field: &str, text: &str) -> Result<(), ApiError> {
    if text.is_empty() || text.len() > TEXT_BYTES_MAX || text.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field}: 1 to {TEXT_BYTES_MAX} bytes without control characters"
        )));
    }
    Ok(())
}

/// A bus's settings (`PUT /buses/{bus}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSettings {
    /// Who may put which events.
    #[serde(default)]
    pub policy: Policy,
    /// Keep archived events this many days (forever when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_days: Option<u64>,
}

impl BusSettings {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ApiError> {
        self.policy.validate()?;
        if self
            .archive_days
            .is_some_and(|days| !(1..=36_500).contains(&days))
        {
            return Err(ApiError::invalid("archive_days: 1 to 36500"));
        }
        Ok(())
    }
}

/// Where a rule sends the events it matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://host[:port]/path`.
    pub url: String,
    /// Extra headers (an API key, say).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Attempts before the event goes to the rule's dead-letter stream.
    #[serde(default = "Webhook::default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry's delay; each later retry doubles it.
    #[serde(default = "Webhook::default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// The longest retry delay.
    #[serde(default = "Webhook::default_retry_backoff_max_ms")]
    pub retry_backoff_max_ms: u64,
    /// How long one attempt may take.
    #[serde(default = "Webhook::default_timeout_ms")]
    pub timeout_ms: u64,
}

impl Webhook {
    fn default_max_attempts() -> u32 {
        8
    }
    fn default_retry_backoff_ms() -> u64 {
        500
    }
    fn default_retry_backoff_max_ms() -> u64 {
        60_000
    }
    fn default_timeout_ms() -> u64 {
        10_000
    }

    fn validate(&self, field: &str) -> Result<(), ApiError> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|error| ApiError::invalid(format!("{field}.url: {error}")))?;
        match url.scheme() {
            "http" => {}
            "https" => {
                return Err(ApiError::invalid(format!(
                    "{field}.url: https endpoints need TLS, which this build does not include; \
                     put a TLS-terminating proxy on localhost in front of the endpoint"
                )))
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "{field}.url: scheme {other} is not http"
                )))
            }
        }
        if self.headers.len() > WEBHOOK_HEADERS_MAX {
            return Err(ApiError::invalid(format!(
                "{field}.headers: at most {WEBHOOK_HEADERS_MAX}"
            )));
        }
        for (name, value) in &self.headers {
            let lower = name.to_ascii_lowercase();
            if lower == "content-type" || lower.starts_with("eventfold-") {
                return Err(ApiError::invalid(format!(
                    "{field}.headers: `{name}` is set by Eventfold"
                )));
            }
            let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && reqwest::header::HeaderValue::from_str(value).is_ok()
                && value.len() <= 4096;
            if !valid {
                return Err(ApiError::invalid(format!(
                    "{field}.headers: `{name}` is not a valid header"
                )));
            }
        }
        let checks = [
            ("max_attempts", u64::from(self.max_attempts), 1..=100),
            ("retry_backoff_ms", self.retry_backoff_ms, 1..=3_600_000),
            (
                "retry_backoff_max_ms",
                self.retry_backoff_max_ms,
                1..=86_400_000,
            ),
            ("timeout_ms", self.timeout_ms, 100..=60_000),
        ];
        for (name, value, range) in checks {
            if !range.contains(&value) {
                return Err(ApiError::invalid(format!(
                    "{field}.{name}: {value} is outside {}..={}",
                    range.start(),
                    range.end()
                )));
            }
        }
        if self.retry_backoff_max_ms < self.retry_backoff_ms {
            return Err(ApiError::invalid(format!(
                "{field}.retry_backoff_max_ms: must be at least retry_backoff_ms"
            )));
        }
        Ok(())
    }

    /// The delay after attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        crate::backoff::backoff(self.retry_backoff_ms, self.retry_backoff_max_ms, attempt)
    }
}

/// The body of `PUT /buses/{bus}/rules/{rule}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// The event pattern (EventBridge syntax) matched against
    /// `{"source", "type", "data", "metadata", "replay"}`.
    pub pattern: serde_json::Value,
    /// Where matched events go, in this order.
    pub targets: Vec<Target>,
    /// A disabled rule lets events go by without delivering them.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// What the rule is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// A rule as stored in `$buses`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    /// The event pattern.
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

impl RuleRequest {
    /// Checks the request and builds the settings with `start`, where the rule begins on each
    /// stream of its bus.
    pub fn settings(self, start: Cursors) -> Result<(RuleSettings, Pattern), ApiError> {
        let pattern = Pattern::parse(&self.pattern)
            .map_err(|error| ApiError::invalid(format!("pattern: {error}")))?;
        if self.targets.is_empty() || self.targets.len() > TARGETS_MAX {
            return Err(ApiError::invalid(format!(
                "targets: 1 to {TARGETS_MAX} targets"
            )));
        }
        for (at, target) in self.targets.iter().enumerate() {
            let field = format!("targets[{at}]");
            match target {
                Target::Bus(_) | Target::Group(_) => {} // names checked when parsed
                Target::Stream(stream) if stream.as_str().starts_with('$') => {
                    return Err(ApiError::invalid(format!(
                        "{field}: {stream} belongs to the server; target the bus itself with {{\"bus\": …}}"
                    )))
                }
                Target::Stream(_) => {}
                Target::Webhook(webhook) => webhook.validate(&field)?,
            }
        }
        if let Some(description) = &self.description {
            if description.len() > 1024 {
                return Err(ApiError::invalid("description: at most 1024 bytes"));
            }
        }
        let settings = RuleSettings {
            pattern: self.pattern,
            targets: self.targets,
            enabled: self.enabled.unwrap_or(true),
            description: self.description,
            start: start.archive,
            replays_start: start.replays,
        };
        Ok((settings, pattern))
    }
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
    fn bad_rules_name_the_problem() {
        let cases = [
            (
                serde_json::json!({"pattern": {"type": "x"}, "targets": [{"stream": "s"}]}),
                "pattern",
            ),
            (serde_json::json!({"pattern": {}, "targets": []}), "targets"),
            (
                serde_json::json!({"pattern": {}, "targets": [{"webhook": {"url": "ftp://x"}}]}),
                "targets[0].url",
            ),
            (
                serde_json::json!({"pattern": {}, "targets": [{"webhook": {"url": "https://x"}}]}),
                "TLS",
            ),
            (
                serde_json::json!({"pattern": {}, "targets": [{"webhook": {"url": "http://x", "max_attempts": 0}}]}),
                "max_attempts",
            ),
        ];
        // A bad bus or group name does not even parse: names are checked as they are read.
        let bad_name = serde_json::json!({"pattern": {}, "targets": [{"bus": "a b"}]});
        let error = serde_json::from_value::<RuleRequest>(bad_name)
            .err()
            .unwrap();
        assert!(error.to_string().contains("`a b`"), "{error}");
        for (json, fragment) in cases {
            let request: RuleRequest = serde_json::from_value(json.clone()).unwrap();
            let error = request.settings(Cursors::default()).unwrap_err();
            let message = error.body()["message"].as_str().unwrap().to_owned();
            assert!(message.contains(fragment), "{json}: {message}");
        }
    }
}
