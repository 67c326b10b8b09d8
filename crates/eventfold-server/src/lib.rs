//! Eventfold's HTTP API over any [`EventStore`]: append, read a stream, read `$all`, stream
//! metadata, deletes, and live subscriptions as Server-Sent Events. It knows the trait only,
//! never which backend is behind it.
//!
//! Every error is one HTTP status and one stable code, as JSON: `{"error": code, "message": …}`
//! (see [`ApiError`]).

mod admin;
mod all;
mod buses;
mod checkpoints;
mod config_log;
mod conventions;
pub use conventions::{Cors, REQUEST_ID};
mod connections;
mod dead_letters;
mod error;
mod groups;
mod json_body;
mod metered;
mod metrics;
mod migrate_names;
mod objects_only;
mod openapi;
mod pages;
mod reserved;
mod snapshots;
mod streams;
mod subscribe;
mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use eventfold_api::streams::Health;
use eventfold_store::{EventStore, SnapshotStore};

pub use connections::ConnectionLimits;
pub use error::ApiError;

/// The address `eventfold serve` listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7117";

/// Limits and settings of the HTTP layer (the store has its own limits on events).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest request body, in bytes.
    pub body_bytes_max: usize,
    /// How long a request (other than a subscription) may take.
    pub request_timeout: Duration,
    /// How many subscriptions (`/subscribe/…`) may be open at once.
    pub subscribers_max: usize,
    /// How many consumer-group push streams (`/groups/{group}/subscribe`) may be open at once.
    pub group_subscribers_max: usize,
    /// Timeouts and the cap on connections.
    pub connections: ConnectionLimits,
    /// The most bytes of events one page of `/streams/{stream}` or `/all` holds (at least
    /// 2 MiB).
    pub page_bytes_max: usize,
    /// How many pages are read at once; more readers wait their turn.
    pub pages_in_flight_max: usize,
    /// The most bytes of events a consumer group holds read ahead (besides `buffer_size`).
    pub group_buffer_bytes_max: usize,
    /// Which origins browsers may call the API from (off by default).
    pub cors: Cors,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            // A 16 MiB append, plus JSON and base64 overhead.
            body_bytes_max: 32 << 20,
            request_timeout: Duration::from_secs(30),
            subscribers_max: 1024,
            group_subscribers_max: 1024,
            connections: ConnectionLimits::default(),
            page_bytes_max: eventfold_store::READ_PAGE_BYTES_DEFAULT,
            pages_in_flight_max: 16,
            group_buffer_bytes_max: 16 << 20,
            cors: Cors::Off,
        }
    }
}

/// What the server serves: the event store, and the snapshot store of SDK clients.
#[derive(Clone)]
pub struct Backend {
    /// The event store.
    pub store: Arc<dyn EventStore>,
    /// Where `/snapshots/{stream}` keeps snapshots.
    pub snapshots: Arc<dyn SnapshotStore>,
}

impl Backend {
    /// The embedded store opened on `data`, with snapshots in `<data>/snapshots`.
    pub fn embedded(
        store: eventfold_store::embedded::EmbeddedStore,
        data: &std::path::Path,
    ) -> Result<Self, eventfold_store::StoreError> {
        Ok(Self {
            store: Arc::new(store),
            snapshots: Arc::new(eventfold_store::DirectorySnapshotStore::open(
                data.join("snapshots"),
            )?),
        })
    }
}

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    store: Arc<dyn EventStore>,
    snapshots: Arc<dyn SnapshotStore>,
    subscriptions: SubscriberCap,
    group_pushes: SubscriberCap,
    pages: pages::Pages,
    shutting_down: watch::Receiver<bool>,
    metrics: Arc<metrics::Metrics>,
    groups: Arc<groups::Groups>,
    buses: Arc<buses::Buses>,
    scavenges: Arc<admin::Scavenges>,
}

/// The API's routes. Subscriptions end when `shutting_down` turns true.
fn router(
    backend: Backend,
    metrics: Arc<metrics::Metrics>,
    services: &Services,
    config: &ServerConfig,
    shutting_down: watch::Receiver<bool>,
) -> Router {
    let state = AppState {
        groups: services.groups.clone(),
        buses: services.buses.clone(),
        store: backend.store,
        snapshots: backend.snapshots,
        subscriptions: SubscriberCap::new("subscriptions", config.subscribers_max),
        group_pushes: SubscriberCap::new("group push streams", config.group_subscribers_max),
        pages: pages::Pages::new(config.page_bytes_max, config.pages_in_flight_max),
        shutting_down,
        metrics,
        scavenges: Arc::default(),
    };
    let timeout = config.request_timeout;
    let (requests, _) = openapi::requests()
        .route("/openapi.json", get(openapi::serve))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            within(timeout, request, next)
        }))
        .split_for_parts();
    let (subscriptions, _) = openapi::subscriptions().split_for_parts();
    let subscriptions = conventions::event_stream_headers(subscriptions);
    let router = requests
        .merge(subscriptions)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.body_bytes_max))
        .with_state(state);
    conventions::apply(router, &config.cors)
}

/// Serves the API on `listener` until `shutdown` completes; then subscriptions end cleanly,
/// requests in flight finish (appends in flight are acknowledged) and consumer groups save
/// their checkpoints before this returns.
pub async fn serve(
    listener: TcpListener,
    backend: Backend,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Every append the server makes, on any path, is counted where it happens.
    let metrics = Arc::new(metrics::Metrics::default());
    let backend = Backend {
        store: Arc::new(metered::Metered::new(backend.store, metrics.clone())),
        snapshots: backend.snapshots,
    };
    let services = Services::start(backend.store.clone(), config).await?;
    let (tell, shutting_down) = watch::channel(false);
    let app = router(backend, metrics, &services, config, shutting_down.clone());
    tokio::spawn(async move {
        shutdown.await;
        let _ = tell.send(true);
    });
    connections::serve(listener, app, &config.connections, shutting_down).await;
    services.shutdown().await;
    Ok(())
}

/// The server's background services: consumer groups and buses.
struct Services {
    groups: Arc<groups::Groups>,
    buses: Arc<buses::Buses>,
}

impl Services {
    async fn start(store: Arc<dyn EventStore>, config: &ServerConfig) -> std::io::Result<Self> {
        let failed = |what: &str, error: eventfold_store::StoreError| {
            std::io::Error::other(format!("starting {what}: {error}"))
        };
        migrate_names::migrate(&*store)
            .await
            .map_err(|error| failed("moving streams to the reserved names", error))?;
        let groups = groups::Groups::start(store.clone(), config.group_buffer_bytes_max)
            .await
            .map_err(|error| failed("consumer groups", error))?;
        match buses::Buses::start(store, groups.clone()).await {
            Ok(buses) => Ok(Self { groups, buses }),
            Err(error) => {
                groups.shutdown().await;
                Err(failed("event buses", error))
            }
        }
    }

    /// Stops rules first (they may deliver to groups' streams), then groups.
    async fn shutdown(&self) {
        self.buses.shutdown().await;
        self.groups.shutdown().await;
    }
}

async fn within(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(timeout).into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "admin",
    responses(
        (status = 200, description = "The server is up", body = Health),
    )
)]
pub(crate) async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let head_position = state.store.head_position().await?;
    Ok(Json(Health {
        status: "ok".into(),
        head_position,
    }))
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "admin",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
    )
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let head = state.store.head_position().await?.0;
    let open = state.subscriptions.open();
    let mut body = state.metrics.render(head, open);
    let mut groups = Vec::new();
    for group in state.groups.list() {
        if let Ok(status) = group
            .ask(|reply| groups::actor::Command::Status { reply })
            .await
        {
            groups.push((group.name.to_string(), status));
        }
    }
    metrics::render_groups(&mut body, &groups);
    let mut rules = Vec::new();
    for ((bus, rule), stats) in state.buses.stats() {
        let Ok(end) = buses::cursors::Cursors::end_of(&*state.store, &bus).await else {
            continue;
        };
        rules.push((bus.to_string(), rule.to_string(), end, stats));
    }
    metrics::render_rules(&mut body, &rules);
    let content_type = [(
        axum::http::header::CONTENT_TYPE,
        "text/plain; version=0.0.4",
    )];
    Ok((content_type, body).into_response())
}

/// The OpenAPI document of the API, generated from the routes and the types of
/// `eventfold-api` (the same JSON `GET /openapi.json` serves).
pub fn openapi_json() -> &'static str {
    openapi::document_json()
}

async fn not_found() -> ApiError {
    ApiError::not_found_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// A limit on open long-lived responses of one kind.
#[derive(Clone)]
struct SubscriberCap {
    kind: &'static str,
    permits: Arc<Semaphore>,
    max: usize,
}

impl SubscriberCap {
    fn new(kind: &'static str, max: usize) -> Self {
        Self {
            kind,
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// A permit held while the response is open; a 503 naming the limit when none is free.
    fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::too_many_subscribers(self.kind, self.max))
    }

    fn open(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}
