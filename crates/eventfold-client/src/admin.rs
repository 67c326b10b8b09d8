//! `/admin/scavenge`: a scavenge on the server, followed until it ends.

use std::time::Duration;

use reqwest::Method;

use eventfold_api::admin::{ScavengeState, ScavengeStatus};
use eventfold_store::{OnProgress, ScavengeProgress, StoreError};

use crate::Client;

/// How often a running scavenge is looked at.
const POLL_EVERY: Duration = Duration::from_millis(200);

impl Client {
    /// Starts a scavenge on the server (`POST /admin/scavenge`) and follows it
    /// (`GET /admin/scavenge`), calling `progress` as it moves, until it ends.
    pub async fn scavenge_on_server(
        &self,
        mut progress: OnProgress,
    ) -> Result<ScavengeProgress, StoreError> {
        let mut status: ScavengeStatus = self
            .call(self.request(Method::POST, &["admin", "scavenge"]), None)
            .await?;
        let mut shown = None;
        loop {
            if shown.as_ref() != Some(&status.progress) {
                progress(&status.progress);
                shown = Some(status.progress.clone());
            }
            match status.state {
                ScavengeState::Running => {}
                ScavengeState::Done => return Ok(status.progress),
                ScavengeState::Failed => {
                    return Err(StoreError::Backend(format!(
                        "the scavenge failed: {}",
                        status.error.unwrap_or_default()
                    )))
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
            status = self
                .call(self.request(Method::GET, &["admin", "scavenge"]), None)
                .await?;
        }
    }
}
