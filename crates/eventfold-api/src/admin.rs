//! Operating the server: scavenges.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use eventfold_core::ScavengeProgress;

/// Where a scavenge job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScavengeState {
    /// Still going.
    Running,
    /// Finished.
    Done,
    /// Stopped by an error (see `error`); nothing visible was lost, and running it again is
    /// safe.
    Failed,
}

/// What `POST` and `GET /admin/scavenge` show of the last scavenge.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScavengeStatus {
    /// Where it is.
    pub state: ScavengeState,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Segments examined, rewritten, events erased and bytes.
    #[serde(flatten)]
    pub progress: ScavengeProgress,
    /// The disk space given back so far.
    pub bytes_reclaimed: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
