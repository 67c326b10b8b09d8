//! Eventfold's HTTP API vocabulary: every request, response, SSE message and error body of
//! the API, as Rust types. The server and the Rust client both speak through these types, so
//! the two cannot drift apart; with the `openapi` feature each type also describes itself,
//! and the server's `/openapi.json` is generated from them.
//!
//! Checks that need no server state (bounds, names, policies) live with the types and answer
//! with [`Invalid`]; the server turns that into a 400 `invalid_request`.

pub mod admin;
pub mod buses;
mod error;
pub mod groups;
mod names;
pub mod sse;
pub mod streams;

pub use error::{ErrorBody, Invalid, RevisionConflict};
pub use eventfold_core::{ErrorCode, UnknownErrorCode};
pub use names::{Name, NAME_BYTES_MAX};

/// The delay after attempt number `attempt` (1-based) of a retry schedule: `base_ms`
/// doubled per earlier attempt, at most `max_ms`. Consumer groups and webhook targets share it.
pub fn backoff(base_ms: u64, max_ms: u64, attempt: u32) -> std::time::Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    std::time::Duration::from_millis(base_ms.saturating_mul(1u64 << doublings).min(max_ms))
}

/// The schema of a text of 1 to `bytes_max` bytes without control characters.
#[cfg(feature = "openapi")]
fn text_schema(
    bytes_max: usize,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(bytes_max))
        .pattern(Some("^[^\\u0000-\\u001F\\u007F-\\u009F]+$"))
        .description(Some(description))
        .into()
}
