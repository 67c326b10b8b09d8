//! HTTP conventions every route follows: an `x-request-id` on every response (the client's own,
//! or a new UUID) that is also in the access log line of the request, compressed responses
//! (gzip, br or zstd, as the client accepts; never SSE streams), and CORS when origins are
//! configured. All of it is tower-http's.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Request, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

/// The header that carries a request's id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Which origins browsers may call the API from (`--cors-origin`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers: browsers refuse cross-origin calls (the default).
    #[default]
    Off,
    /// Any origin (`--cors-origin '*'`).
    AnyOrigin,
    /// These origins exactly (`https://console.example.com`).
    Origins(Vec<HeaderValue>),
}

impl Cors {
    /// From the `--cors-origin` values: none is off, `*` is any origin.
    pub fn parse(origins: &[String]) -> Result<Self, String> {
        if origins.is_empty() {
            return Ok(Self::Off);
        }
        if origins.iter().any(|origin| origin == "*") {
            return Ok(Self::AnyOrigin);
        }
        origins
            .iter()
            .map(|origin| {
                let valid = ["http://", "https://"].iter().any(|scheme| {
                    origin
                        .strip_prefix(scheme)
                        .is_some_and(|host| !host.is_empty() && !host.contains('/'))
                });
                valid
                    .then(|| HeaderValue::from_str(origin).ok())
                    .flatten()
                    .ok_or_else(|| {
                        format!(
                            "--cors-origin {origin:?} is not an origin (scheme://host[:port], no path), nor *"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self::Origins)
    }
}

/// Wraps `router` in the conventions.
pub fn apply(router: Router, cors: &Cors) -> Router {
    let cors_layer = match cors {
        Cors::Off => None,
        Cors::AnyOrigin => Some(base_cors().allow_origin(Any)),
        Cors::Origins(origins) => {
            Some(base_cors().allow_origin(AllowOrigin::list(origins.iter().cloned())))
        }
    };
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|id| id.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %id,
                    )
                })
                .on_request(())
                .on_response(|response: &Response<_>, latency: Duration, _: &Span| {
                    tracing::info!(
                        status = response.status().as_u16(),
                        micros = latency.as_micros() as u64,
                        "answered"
                    );
                })
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .option_layer(cors_layer)
        .layer(CompressionLayer::new());
    router.layer(layers)
}

/// What SSE responses also say: no cache may keep them (`Cache-Control: no-cache`), and no
/// proxy may buffer them (nginx's `X-Accel-Buffering: no`), so each message reaches the browser
/// as it is sent.
pub fn event_stream_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        ))
}

fn base_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_methods(tower_http::cors::AllowMethods::mirror_request())
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .expose_headers([REQUEST_ID, HeaderName::from_static("retry-after")])
        .max_age(Duration::from_secs(600))
}
