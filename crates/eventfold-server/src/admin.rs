//! `POST /admin/scavenge` starts a scavenge (erasing what deletes, truncation and expiry hide;
//! the embedded store only), `GET /admin/scavenge` shows how far the last one got. One runs at a
//! time; it goes on in the background, beside every other request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use parking_lot::Mutex;

use eventfold_api::admin::{ScavengeState, ScavengeStatus};
use eventfold_api::ErrorBody;
use eventfold_store::{EventStore, ScavengeProgress};

use crate::error::ApiError;
use crate::AppState;

/// The server's scavenge: the last one started, if any.
#[derive(Default)]
pub struct Scavenges {
    last: Mutex<Option<Arc<Mutex<ScavengeStatus>>>>,
}

impl Scavenges {
    /// Starts a scavenge of `store` unless one is running; returns its status once it has
    /// started (a backend that does not scavenge refuses here, not in the background).
    pub async fn start(&self, store: Arc<dyn EventStore>) -> Result<ScavengeStatus, ApiError> {
        let job = {
            let mut last = self.last.lock();
            if let Some(running) = last
                .as_ref()
                .filter(|job| job.lock().state == ScavengeState::Running)
            {
                let started_at = running.lock().started_at;
                return Err(ApiError::scavenge_running(started_at));
            }
            let job = Arc::new(Mutex::new(ScavengeStatus {
                state: ScavengeState::Running,
                started_at: Utc::now(),
                finished_at: None,
                progress: ScavengeProgress::default(),
                bytes_reclaimed: 0,
                error: None,
            }));
            *last = Some(job.clone());
            job
        };
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let (refused_tx, refused) = tokio::sync::oneshot::channel();
        let reporting = job.clone();
        let running = job.clone();
        let began = Arc::new(AtomicBool::new(false));
        let beginning = began.clone();
        tokio::spawn(async move {
            let mut started_tx = Some(started_tx);
            let scavenge = tokio::spawn(async move {
                store
                    .scavenge(Box::new(move |progress: &ScavengeProgress| {
                        if let Some(started) = started_tx.take() {
                            beginning.store(true, Ordering::SeqCst);
                            let _ = started.send(());
                        }
                        let mut status = reporting.lock();
                        status.progress = progress.clone();
                        status.bytes_reclaimed = progress.bytes_reclaimed();
                    }))
                    .await
            });
            // A panic inside ends the job as failed, never leaves it running.
            let outcome = scavenge.await.unwrap_or_else(|panic| {
                Err(eventfold_store::StoreError::Backend(format!(
                    "the scavenge stopped: {panic}"
                )))
            });
            let job = running;
            let outcome = match outcome {
                Err(error) if !began.load(Ordering::SeqCst) => {
                    // Refused before it began: the caller gets the error, no job remains
                    // (and should the caller have stopped waiting, the job shows it failed).
                    {
                        let mut status = job.lock();
                        status.state = ScavengeState::Failed;
                        status.error = Some(error.to_string());
                        status.finished_at = Some(Utc::now());
                    }
                    let _ = refused_tx.send(error);
                    return;
                }
                other => other,
            };
            let mut status = job.lock();
            status.finished_at = Some(Utc::now());
            match outcome {
                Ok(report) => {
                    tracing::info!(
                        events_erased = report.events_erased,
                        bytes_reclaimed = report.bytes_reclaimed(),
                        "scavenge done"
                    );
                    status.bytes_reclaimed = report.bytes_reclaimed();
                    status.progress = report;
                    status.state = ScavengeState::Done;
                }
                Err(error) => {
                    tracing::error!(%error, "scavenge failed");
                    status.error = Some(error.to_string());
                    status.state = ScavengeState::Failed;
                }
            }
        });
        tokio::select! {
            _ = started => {}
            refused = refused => {
                if let Ok(error) = refused {
                    let mut last = self.last.lock();
                    if last.as_ref().is_some_and(|last| Arc::ptr_eq(last, &job)) {
                        *last = None;
                    }
                    return Err(error.into());
                }
            }
        }
        let status = job.lock().clone();
        Ok(status)
    }

    /// The last scavenge's status.
    pub fn status(&self) -> Option<ScavengeStatus> {
        self.last.lock().as_ref().map(|job| job.lock().clone())
    }
}

/// `POST /admin/scavenge`.
#[utoipa::path(
    post,
    path = "/admin/scavenge",
    tag = "admin",
    responses(
        (status = 202, description = "Started", body = ScavengeStatus),
        (status = 405, description = "`read_only`", body = ErrorBody),
        (status = 409, description = "`scavenge_running`", body = ErrorBody),
    )
)]
pub async fn start(State(state): State<AppState>) -> Result<Response, ApiError> {
    let status = state.scavenges.start(state.store.clone()).await?;
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}

/// `GET /admin/scavenge`.
#[utoipa::path(
    get,
    path = "/admin/scavenge",
    tag = "admin",
    responses(
        (status = 200, description = "The last scavenge", body = ScavengeStatus),
        (status = 404, description = "`scavenge_not_found`", body = ErrorBody),
    )
)]
pub async fn status(State(state): State<AppState>) -> Result<Json<ScavengeStatus>, ApiError> {
    state
        .scavenges
        .status()
        .map(Json)
        .ok_or_else(ApiError::scavenge_not_found)
}
