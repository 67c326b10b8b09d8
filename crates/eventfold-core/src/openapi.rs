//! OpenAPI schemas of the core types whose JSON form is written by hand (feature `openapi`).
//! Each delegates to a mirror struct that only describes the shape.

use std::borrow::Cow;

use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::{ExpectedRevision, RecordedEvent, StreamName};

/// An event as the store recorded it.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the JSON only
struct RecordedEventShape {
    /// The stream it belongs to.
    stream: String,
    /// Its place in the stream (0-based).
    revision: u64,
    /// Its place in the global log, `$all`.
    position: u64,
    /// The event's id (unique in the store).
    id: uuid::Uuid,
    /// The event type.
    #[schema(rename = "type")]
    r#type: String,
    /// The payload's media type.
    content_type: String,
    /// JSON data as it was written; with another content type, the bytes in base64.
    data: serde_json::Value,
    /// The event's metadata (a JSON object).
    metadata: serde_json::Map<String, serde_json::Value>,
    /// When the fact happened, as the client said.
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the store committed it (never decreases along `$all`).
    recorded_at: chrono::DateTime<chrono::Utc>,
}

impl PartialSchema for RecordedEvent {
    fn schema() -> RefOr<Schema> {
        RecordedEventShape::schema()
    }
}

impl ToSchema for RecordedEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RecordedEvent")
    }
}

/// What the writer believes about the stream: `any` (no check), `no_stream`, `exists`, or the
/// exact revision of the stream's last event.
#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)] // describes the JSON only
#[serde(untagged)]
enum ExpectedRevisionShape {
    /// `any`, `no_stream` or `exists`.
    Named(#[schema(inline)] ExpectedRevisionName),
    /// The stream's last revision must be exactly this.
    Exact(u64),
}

#[derive(ToSchema, serde::Serialize)]
#[allow(dead_code)] // describes the JSON only
#[serde(rename_all = "snake_case")]
enum ExpectedRevisionName {
    Any,
    NoStream,
    Exists,
}

impl PartialSchema for ExpectedRevision {
    fn schema() -> RefOr<Schema> {
        ExpectedRevisionShape::schema()
    }
}

impl ToSchema for ExpectedRevision {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ExpectedRevision")
    }
}

impl PartialSchema for StreamName {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            // In bytes of UTF-8 (JSON Schema counts characters: exact for ASCII names).
            .max_length(Some(crate::STREAM_NAME_BYTES_MAX))
            .pattern(Some("^[^\\u0000-\\u001F\\u007F-\\u009F]+$"))
            .description(Some(
                "A stream name: 1 to 256 bytes of UTF-8 without control characters; its \
                 category is the part before the first `-`; names starting with `$` belong \
                 to the server",
            ))
            .into()
    }
}

impl ToSchema for StreamName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("StreamName")
    }
}

impl PartialSchema for crate::ErrorCode {
    fn schema() -> RefOr<Schema> {
        let mut description = String::from("A stable error code:");
        for code in crate::ErrorCode::ALL {
            description.push_str(&format!(
                "\n- `{code}` ({}): {}",
                code.status(),
                code.description()
            ));
        }
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(crate::ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some(description))
            .into()
    }
}

impl ToSchema for crate::ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}
