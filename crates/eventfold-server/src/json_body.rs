//! The JSON request-body extractor every route uses.
//!
//! axum's `Json` parses through `serde_path_to_error`, which tracks the path of every value it
//! visits so that an error can name the field. That bookkeeping was the largest single cost of
//! a 100-event append. Here the body is parsed without it first; only a body that fails is
//! parsed again through `Json`, which produces the same rejection (and the same message, with
//! the path) as before. A valid body is parsed once, an invalid one twice.
//!
//! Every body of this API is a JSON object. serde reads a struct from an array too, by
//! position (`[1]` would set a struct's first field), so anything but an object is refused
//! before it is parsed, and nested structs are read through [`ObjectsOnly`], which refuses
//! arrays where objects are documented.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::objects_only::ObjectsOnly;
use crate::ApiError;

/// A request body parsed as JSON into `T`, rejected exactly as axum's `Json<T>` rejects it;
/// a body that is not a JSON object is refused.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parse(request, state).await?))
    }
}

async fn parse<T: DeserializeOwned, S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<T, ApiError> {
    if !plainly_json(&request) {
        // Any other content type (with parameters, a `+json` suffix, or none) gets axum's
        // own check and parse.
        let Json(value) = Json::<Box<RawValue>>::from_request(request, state).await?;
        return parse_object(value.get().as_bytes());
    }
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(JsonRejection::from)?;
    parse_object(&bytes)
}

/// Parses `bytes` as an object into `T`: fast, and again through `Json` for the message when
/// that fails.
fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|&b| b != b'{') {
        return Err(ApiError::invalid(
            "the request body must be a JSON object (`{…}`)",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = T::deserialize(ObjectsOnly(&mut deserializer))
        .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(error) => match Json::<T>::from_bytes(bytes) {
            // Only a struct read by position from an array makes it through axum's parse.
            Ok(_) => Err(ApiError::invalid(format!(
                "every documented object must be a JSON object, not an array: {error}"
            ))),
            Err(rejection) => Err(rejection.into()),
        },
    }
}

/// Whether the request says `content-type: application/json` and nothing more.
fn plainly_json(request: &Request) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        items: Vec<Item>,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        n: u32,
    }

    async fn both(content_type: Option<&str>, body: &'static str) -> (String, String) {
        let request = |body: &'static str| {
            let mut builder = Request::builder().method("POST").uri("/");
            if let Some(content_type) = content_type {
                builder = builder.header(CONTENT_TYPE, content_type);
            }
            builder.body(Body::from(body)).unwrap()
        };
        let ours = match JsonBody::<Shape>::from_request(request(body), &()).await {
            Ok(JsonBody(value)) => format!("ok {value:?}"),
            Err(error) => format!("{} {}", error.code(), error.message()),
        };
        let axums = match Json::<Shape>::from_request(request(body), &()).await {
            Ok(Json(value)) => format!("ok {value:?}"),
            Err(rejection) => {
                let error = ApiError::from(rejection);
                format!("{} {}", error.code(), error.message())
            }
        };
        (ours, axums)
    }

    #[tokio::test]
    async fn answers_as_axums_json_does() {
        let cases = [
            (
                Some("application/json"),
                r#"{"items": [{"n": 1}, {"n": 2}]}"#,
            ),
            (Some("Application/JSON"), r#"{"items": []}"#),
            (Some("application/json; charset=utf-8"), r#"{"items": []}"#),
            (Some("application/problem+json"), r#"{"items": []}"#),
            (Some("text/plain"), r#"{"items": []}"#),
            (None, r#"{"items": []}"#),
            (
                Some("application/json"),
                r#"{"items": [{"n": 1}, {"m": 2}]}"#,
            ),
            (Some("application/json"), r#"{"items": [{"n": "one"}]}"#),
            (Some("application/json"), r#"{"items": [{"n": 1}"#),
            (Some("application/json"), r#"{"items": []} trailing"#),
            (Some("application/json"), ""),
        ];
        for (content_type, body) in cases {
            let (ours, axums) = both(content_type, body).await;
            assert_eq!(ours, axums, "content type {content_type:?}, body {body:?}");
        }
        let (unknown_field, _) = both(Some("application/json"), r#"{"items": [{"m": 2}]}"#).await;
        assert!(
            unknown_field.contains("items[0]") && unknown_field.contains("unknown field `m`"),
            "the path is named: {unknown_field}"
        );
    }

    /// serde would read a struct from an array by position: only objects are bodies.
    #[tokio::test]
    async fn only_objects_are_bodies() {
        for body in ["[[{\"n\": 1}]]", " [1]", "1", "\"items\"", "null"] {
            for content_type in [
                Some("application/json"),
                Some("application/json; charset=utf-8"),
            ] {
                let (ours, _) = both(content_type, body).await;
                assert!(ours.contains("must be a JSON object"), "{body}: {ours}");
            }
        }
        let (ours, _) = both(Some("application/json"), " \n{\"items\": []}").await;
        assert!(ours.starts_with("ok"), "{ours}");
    }

    #[test]
    fn an_append_as_the_client_sends_it_takes_the_fast_path() {
        let body = br#"{"expected_revision":"no_stream","events":[{"id":"0191f0c4-8c4e-7b4f-9d2a-1b2c3d4e5f60","type":"Deposited","content_type":"application/json","data":{"amount":1},"metadata":{}}]}"#;
        let parsed = serde_json::from_slice::<eventfold_api::streams::AppendRequest>(body);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
    }
}
