//! `/admin/scavenge`: a scavenge on the server, followed until it ends.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use eventfold_store::{OnProgress, ScavengeProgress, StoreError};

use crate::Client;

/// How often a running scavenge is looked at.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// A scavenge's status as the server shows it.
#[derive(Deserialize)]
struct Status {
    state: String,
    #[serde(flatten)]
    progress: ScavengeProgress,
    error: Option<String>,
}

impl Client {
    /// Starts a scavenge on the server (`POST /admin/scavenge`) and follows it
    /// (`GET /admin/scavenge`), calling `progress` as it moves, until it ends.
    pub async fn scavenge_on_server(
        &self,
        mut progress: OnProgress,
    ) -> Result<ScavengeProgress, StoreError> {
        let mut status: Status = self
            .call(self.request(Method::POST, &["admin", "scavenge"]), None)
            .await?;
        let mut shown = None;
        loop {
            if shown.as_ref() != Some(&status.progress) {
                progress(&status.progress);
                shown = Some(status.progress.clone());
            }
            match status.state.as_str() {
                "running" => {}
                "done" => return Ok(status.progress),
                _ => {
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
