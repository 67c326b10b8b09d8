//! Seed 003's razor-subscription company: three services — Subscription, Stock, Payments —
//! each a process with its own event bus and state, linked only by events:
//!
//! - a new subscription (`SubscriptionCreated`) reaches Stock, which allocates 12 razors
//!   (`StockAllocated`), and Payments, which creates a direct debit (`DirectDebitCreated`);
//! - a cancelled debit (`PaymentCancelled`) reaches Stock, which gives the razors back
//!   (`StockDeallocated`), and Subscription, which cancels the subscription
//!   (`SubscriptionCancelled`).
//!
//! See [`platform`] for how a service uses Eventfold, and the README for how to run it.

pub mod payments;
pub mod platform;
pub mod stock;
pub mod subscription;

use std::future::Future;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use tokio::net::TcpListener;

pub use platform::{Incoming, Platform, Service};

/// What a service does with an event from its inbox.
pub trait Handler: Send + Sync + 'static {
    /// Handles one event; called again with the same event after a failure or a crash, so
    /// it must be idempotent.
    fn handle(&self, incoming: Incoming) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Runs `service` against the Eventfold server at `url`, serving its HTTP API on `listener`
/// until `shutdown` completes.
pub async fn run(
    service: Service,
    url: &str,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let platform = Platform::connect(url, service).await?;
    match service {
        Service::Subscription => {
            let app = Arc::new(subscription::Subscriptions::start(platform.clone()).await?);
            serve(
                platform,
                app.clone(),
                subscription::router(app),
                listener,
                shutdown,
            )
            .await
        }
        Service::Stock => {
            let app = Arc::new(stock::Stock::start(platform.clone()).await?);
            serve(
                platform,
                app.clone(),
                stock::router(app),
                listener,
                shutdown,
            )
            .await
        }
        Service::Payments => {
            let app = Arc::new(payments::Payments::start(platform.clone()).await?);
            serve(
                platform,
                app.clone(),
                payments::router(app),
                listener,
                shutdown,
            )
            .await
        }
    }
}

async fn serve<H: Handler>(
    platform: Platform,
    handler: Arc<H>,
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let consumer = tokio::spawn(async move {
        platform
            .consume(|incoming| handler.handle(incoming), stopped)
            .await
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    let _ = stop.send(true);
    consumer.await?;
    Ok(())
}

/// An HTTP error: one status, one stable code, a message.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl HttpError {
    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<anyhow::Error> for HttpError {
    fn from(error: anyhow::Error) -> Self {
        tracing::error!("{error:#}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{error:#}"),
        )
    }
}

impl From<axum::extract::rejection::JsonRejection> for HttpError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        Self::invalid(rejection.body_text())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

/// Parses a subscription id from a path.
pub fn subscription_id(text: &str) -> Result<uuid::Uuid, HttpError> {
    text.parse()
        .map_err(|_| HttpError::invalid(format!("`{text}` is not a subscription id (a UUID)")))
}
