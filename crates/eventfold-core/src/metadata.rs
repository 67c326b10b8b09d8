//! Stream metadata: retention rules every read honours, plus the user's own JSON.

use serde::{Deserialize, Serialize};

/// Per-stream settings. Events hidden by these rules are never returned by any read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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

impl StreamMetadata {
    /// True when no rule hides anything.
    pub fn hides_nothing(&self) -> bool {
        self.max_age_secs.is_none() && self.max_count.is_none() && self.truncate_before.is_none()
    }
}
