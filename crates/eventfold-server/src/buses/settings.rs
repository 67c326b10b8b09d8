//! The checks of a rule that need more than its JSON: its pattern compiles, its targets are
//! reachable kinds, its webhooks are well-formed. The types are in [`eventfold_api::buses`].

use eventfold_api::buses::{
    RuleRequest, RuleSettings, Target, Webhook, TARGETS_MAX, WEBHOOK_HEADERS_MAX,
};
use eventfold_pattern::Pattern;

use super::cursors::Cursors;
use crate::ApiError;

/// Checks a rule and builds its settings with `start`, where the rule begins on each stream
/// of its bus.
pub fn check_rule(
    request: RuleRequest,
    start: Cursors,
) -> Result<(RuleSettings, Pattern), ApiError> {
    let pattern = Pattern::parse(&request.pattern)
        .map_err(|error| ApiError::invalid(format!("pattern: {error}")))?;
    if request.targets.is_empty() || request.targets.len() > TARGETS_MAX {
        return Err(ApiError::invalid(format!(
            "targets: 1 to {TARGETS_MAX} targets"
        )));
    }
    for (at, target) in request.targets.iter().enumerate() {
        let field = format!("targets[{at}]");
        match target {
            Target::Bus(_) | Target::Group(_) => {} // names checked when parsed
            Target::Stream(stream) if stream.as_str().starts_with('$') => {
                return Err(ApiError::invalid(format!(
                    "{field}: {stream} belongs to the server; target the bus itself with {{\"bus\": …}}"
                )))
            }
            Target::Stream(_) => {}
            Target::Webhook(webhook) => check_webhook(webhook, &field)?,
        }
    }
    if let Some(description) = &request.description {
        if description.len() > 1024 {
            return Err(ApiError::invalid("description: at most 1024 bytes"));
        }
    }
    let settings = RuleSettings {
        pattern: request.pattern,
        targets: request.targets,
        enabled: request.enabled.unwrap_or(true),
        description: request.description,
        start: start.archive,
        replays_start: start.replays,
    };
    Ok((settings, pattern))
}

/// Checks a webhook target: an `http://` URL, headers Eventfold does not set, bounded retries.
fn check_webhook(webhook: &Webhook, field: &str) -> Result<(), ApiError> {
    let url = reqwest::Url::parse(&webhook.url)
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
    if webhook.headers.len() > WEBHOOK_HEADERS_MAX {
        return Err(ApiError::invalid(format!(
            "{field}.headers: at most {WEBHOOK_HEADERS_MAX}"
        )));
    }
    for (name, value) in &webhook.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-type" || lower.starts_with("eventfold-") {
            return Err(ApiError::invalid(format!(
                "{field}.headers: `{name}` is set by Eventfold"
            )));
        }
        let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            // Visible ASCII, spaces and tabs: HTTP's obsolete non-ASCII bytes are refused.
            && value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            && value.len() <= 4096;
        if !valid {
            return Err(ApiError::invalid(format!(
                "{field}.headers: `{name}` is not a valid header"
            )));
        }
    }
    let checks = [
        ("max_attempts", u64::from(webhook.max_attempts), 1..=100),
        ("retry_backoff_ms", webhook.retry_backoff_ms, 1..=3_600_000),
        (
            "retry_backoff_max_ms",
            webhook.retry_backoff_max_ms,
            1..=86_400_000,
        ),
        ("timeout_ms", webhook.timeout_ms, 100..=60_000),
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for (json, fragment) in cases {
            let request: RuleRequest = serde_json::from_value(json.clone()).unwrap();
            let error = check_rule(request, Cursors::default()).unwrap_err();
            let message = error.message().to_owned();
            assert!(message.contains(fragment), "{json}: {message}");
        }
    }
}
