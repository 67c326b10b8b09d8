//! Stream metadata: retention rules every read honours, plus the user's own JSON.

use serde::{Deserialize, Serialize};

/// Per-stream settings. Events hidden by these rules are never returned by any read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StreamMetadata {
    /// Events older than this many seconds (by `recorded_at`) are hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_secs: Option<u64>,
    /// Only the newest this-many events are visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    /// Events with a revision below this are hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_before: Option<u64>,
    /// The user's own JSON value, stored and returned as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
}

/// The deepest nesting of arrays and objects allowed in `custom`.
pub const CUSTOM_DEPTH_MAX: usize = 64;

impl StreamMetadata {
    /// Checks the document against `limits`: its size as JSON and the nesting depth of
    /// `custom` (stored documents must always parse again, whatever the parser's limits).
    pub fn validate(&self, limits: &crate::Limits) -> Result<(), crate::StoreError> {
        let size = serde_json::to_vec(self).map_or(usize::MAX, |json| json.len());
        if size > limits.stream_metadata_bytes_max {
            return Err(crate::StoreError::AppendTooLarge {
                size,
                limit: limits.stream_metadata_bytes_max,
            });
        }
        if let Some(custom) = &self.custom {
            if depth(custom) > CUSTOM_DEPTH_MAX {
                return Err(crate::StoreError::InvalidRequest(format!(
                    "stream metadata `custom` nests deeper than {CUSTOM_DEPTH_MAX} levels"
                )));
            }
        }
        Ok(())
    }

    /// True when no rule hides anything.
    pub fn hides_nothing(&self) -> bool {
        self.max_age_secs.is_none() && self.max_count.is_none() && self.truncate_before.is_none()
    }
}

/// The nesting depth of a JSON value (a scalar is 0), computed without recursion.
fn depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0)];
    while let Some((value, level)) = pending.pop() {
        deepest = deepest.max(level);
        match value {
            serde_json::Value::Array(items) => pending.extend(items.iter().map(|v| (v, level + 1))),
            serde_json::Value::Object(map) => pending.extend(map.values().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> serde_json::Value {
        let text = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn custom_depth_is_limited() {
        let limits = crate::Limits::default();
        let ok = StreamMetadata {
            custom: Some(nested(CUSTOM_DEPTH_MAX)),
            ..Default::default()
        };
        assert!(ok.validate(&limits).is_ok());
        let deep = StreamMetadata {
            custom: Some(nested(CUSTOM_DEPTH_MAX + 1)),
            ..Default::default()
        };
        assert_eq!(
            deep.validate(&limits).unwrap_err().code(),
            "invalid_request"
        );
        let big = StreamMetadata {
            custom: Some("x".repeat(70_000).into()),
            ..Default::default()
        };
        assert_eq!(big.validate(&limits).unwrap_err().code(), "too_large");
    }
}
