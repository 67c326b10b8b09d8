//! The API's routes together with their OpenAPI description, and the document served at
//! `/openapi.json`.
//!
//! Every route is registered through [`utoipa_axum::routes!`], which takes the handler's
//! `#[utoipa::path]` description with it: a route cannot be served without being described.
//! The schemas come from the types of [`eventfold_api`], the same ones the handlers read and
//! write. Errors every route can answer (a bad request, a time-out, a server that is closing)
//! are added here, once, by [`add_common_errors`].

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{Content, OpenApi, Ref, ResponseBuilder};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use eventfold_api::ErrorCode;

use crate::{admin, all, buses, groups, snapshots, streams, subscribe, AppState};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Eventfold",
        description = "An event store: append to streams with optimistic concurrency, read \
            streams and the global log `$all`, follow them live over SSE, run consumer groups \
            and event buses. Every error is a JSON `ErrorBody` whose `error` is a stable \
            `ErrorCode`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "streams", description = "Append, read, metadata, delete"),
        (name = "all", description = "The global log, $all"),
        (name = "subscriptions", description = "Live subscriptions over SSE"),
        (name = "snapshots", description = "Snapshots of folded state"),
        (name = "groups", description = "Consumer groups (persistent subscriptions)"),
        (name = "buses", description = "Event buses, rules, replays"),
        (name = "admin", description = "Health, metrics, scavenge"),
    ),
    components(schemas(
        eventfold_api::ErrorCode,
        eventfold_api::sse::Checkpoint,
        eventfold_store::Direction
    ))
)]
struct ApiDoc;

/// The request/response routes (a time limit applies to each).
pub(crate) fn requests() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(streams::read, streams::append, streams::delete))
        .routes(routes!(streams::get_metadata, streams::put_metadata))
        .routes(routes!(streams::revision))
        .routes(routes!(snapshots::get, snapshots::put, snapshots::delete))
        .routes(routes!(all::read))
        .routes(routes!(groups::routes::list))
        .routes(routes!(
            groups::routes::describe,
            groups::routes::put,
            groups::routes::delete
        ))
        .routes(routes!(groups::routes::fetch))
        .routes(routes!(groups::routes::ack))
        .routes(routes!(groups::routes::nack))
        .routes(routes!(groups::routes::parked))
        .routes(routes!(groups::routes::replay_parked))
        .routes(routes!(buses::routes::list))
        .routes(routes!(
            buses::routes::describe,
            buses::routes::put,
            buses::routes::delete
        ))
        .routes(routes!(buses::routes::put_events))
        .routes(routes!(buses::routes::rules))
        .routes(routes!(
            buses::routes::describe_rule,
            buses::routes::put_rule,
            buses::routes::delete_rule
        ))
        .routes(routes!(buses::routes::dead_letters))
        .routes(routes!(buses::routes::start_replay))
        .routes(routes!(buses::routes::replay))
        .routes(routes!(admin::start, admin::status))
        .routes(routes!(crate::health))
        .routes(routes!(crate::metrics))
}

/// The long-lived SSE routes.
pub(crate) fn subscriptions() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(subscribe::all))
        .routes(routes!(subscribe::stream))
        .routes(routes!(groups::routes::subscribe))
}

/// The whole document, as served.
pub fn document() -> OpenApi {
    let mut document = requests().merge(subscriptions()).into_openapi();
    add_openapi_route(&mut document);
    add_common_errors(&mut document);
    name_operations(&mut document);
    document
}

/// Operation ids are the handlers' names, which repeat across modules (`list`, `put`…):
/// each is prefixed with its tag, so every id is unique (`groups_list`, `buses_list`).
fn name_operations(document: &mut OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let tag = operation
                .tags
                .as_ref()
                .and_then(|tags| tags.first())
                .cloned()
                .unwrap_or_default();
            let name = operation.operation_id.take().unwrap_or_default();
            operation.operation_id = Some(match name.as_str() {
                "" => tag,
                _ if name.starts_with(&tag) => name,
                _ => format!("{tag}_{name}"),
            });
        }
    }
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        let mut document = serde_json::to_value(document()).expect("the document serialises");
        flatten_all_of(&mut document);
        exact_unsigned_ranges(&mut document);
        closed_enum_variants(&mut document);
        base64_data_unless_json(&mut document);
        sse_events(&mut document);
        no_null_parameters(&mut document);
        webhook_headers(&mut document);
        group_start_fits_source(&mut document);
        serde_json::to_string_pretty(&document).expect("the document serialises")
    });
    &JSON
}

/// utoipa describes `u64` as `int64` (and `u32` as `int32`) with a minimum of 0, which would
/// cut the upper half of their range: they get their exact maximum instead.
fn exact_unsigned_ranges(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let unsigned_max = match (object.get("format"), object.get("minimum")) {
                (Some(format), Some(minimum)) if minimum.as_f64().is_some_and(|m| m >= 0.0) => {
                    match format.as_str() {
                        Some("int64") => Some(u64::MAX),
                        Some("int32") => Some(u64::from(u32::MAX)),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(type_max) = unsigned_max {
                object.remove("format");
                let max = object
                    .get("maximum")
                    .and_then(Value::as_u64)
                    .map_or(type_max, |given| given.min(type_max));
                object.insert("maximum".into(), max.into());
            }
            object.values_mut().for_each(exact_unsigned_ranges);
        }
        Value::Array(items) => items.iter_mut().for_each(exact_unsigned_ranges),
        _ => {}
    }
}

/// serde reads an enum variant with data from an object of exactly one key (`{"bus": "b"}`);
/// utoipa describes the object without saying that no other key may be there.
fn closed_enum_variants(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(variants)) = object.get_mut("oneOf") {
                for variant in variants.iter_mut() {
                    let one_key = variant["type"] == "object"
                        && variant["properties"]
                            .as_object()
                            .is_some_and(|p| p.len() == 1)
                        && variant["required"].as_array().is_some_and(|r| r.len() == 1);
                    if one_key {
                        variant["additionalProperties"] = Value::Bool(false);
                    }
                }
            }
            object.values_mut().for_each(closed_enum_variants);
        }
        Value::Array(items) => items.iter_mut().for_each(closed_enum_variants),
        _ => {}
    }
}

/// A `text/event-stream` answer is described as its events (OpenAPI 3.2's convention, which
/// schemathesis checks): each an object with the message's name in `event`, its `id`, and
/// JSON text in `data` whose own schema depends on the name.
fn sse_events(document: &mut Value) {
    let event = |name: &str, data: &str, description: &str| {
        // The name tells the kinds apart: a default message (an event, or a delivery, with
        // its id) has no `event:` line, which SSE readers take as `message`.
        let required = match name {
            "message" => serde_json::json!(["id", "data"]),
            _ => serde_json::json!(["event", "data"]),
        };
        serde_json::json!({
            "type": "object",
            "description": description,
            "required": required,
            "properties": {
                "event": {"const": name},
                "id": {"type": "string"},
                "retry": {"type": "integer"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": format!("#/components/schemas/{data}")}
                }
            }
        })
    };
    let schemas = &mut document["components"]["schemas"];
    schemas["SubscriptionMessage"] = serde_json::json!({
        "description": "One message of a live subscription.",
        "oneOf": [
            event("message", "RecordedEvent", "An event; `id` is where to resume (`Last-Event-ID`)"),
            event("checkpoint", "Checkpoint", "Read up to a position without a matching event"),
            event("caught_up", "CaughtUp", "History is read; what follows is live"),
            event("failure", "ErrorBody", "The subscription ends with this error"),
        ]
    });
    schemas["PushMessage"] = serde_json::json!({
        "description": "One message of a consumer group's push stream.",
        "oneOf": [
            event("message", "Delivery", "A delivery; `id` is its `ack_id`"),
            event("failure", "ErrorBody", "The stream ends with this error"),
        ]
    });
}

/// The schema at `path` under the components, which a rewrite below expects to find (a
/// renamed type fails here, not quietly).
fn schema_mut<'a>(document: &'a mut Value, path: &str) -> &'a mut Value {
    document
        .pointer_mut(&format!("/components/schemas/{path}"))
        .unwrap_or_else(|| panic!("the document describes {path}"))
}

/// A query, header or path parameter is text: an absent `Option` is an absent parameter,
/// never JSON's `null`.
fn no_null_parameters(document: &mut Value) {
    for item in document["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            let parameters = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut);
            for parameter in parameters.into_iter().flatten() {
                let Some(types) = parameter.pointer_mut("/schema/type") else {
                    continue;
                };
                if let Some(list) = types.as_array() {
                    let kept: Vec<Value> = list.iter().filter(|t| *t != "null").cloned().collect();
                    *types = match kept.as_slice() {
                        [one] => one.clone(),
                        _ => Value::Array(kept),
                    };
                }
            }
        }
    }
}

/// A webhook's extra headers: valid names and values, none that Eventfold sets itself.
fn webhook_headers(document: &mut Value) {
    let headers = schema_mut(document, "Webhook/properties/headers");
    let description = headers["description"].clone();
    *headers = serde_json::json!({
        "type": "object",
        "description": description,
        "maxProperties": 16,
        "propertyNames": {
            "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
            "not": {"pattern": "^([Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Tt][Yy][Pp][Ee]|[Ee][Vv][Ee][Nn][Tt][Ff][Oo][Ll][Dd]-.*)$"}
        },
        "additionalProperties": {"type": "string", "maxLength": 4096, "pattern": "^[\t -~]*$"}
    });
}

/// A group on one stream starts at `start`, `end` or a revision and takes no filter; a group
/// on `$all` starts at `start`, `end`, a position or a time.
fn group_start_fits_source(document: &mut Value) {
    let request = schema_mut(document, "GroupRequest");
    request["if"] = serde_json::json!({
        "required": ["stream"],
        "properties": {"stream": {"type": "string"}}
    });
    request["then"] = serde_json::json!({
        "properties": {
            "filter": {"anyOf": [{"type": "null"}, {"type": "object", "maxProperties": 0}]},
            "start": {"not": {"type": "object", "anyOf": [
                {"required": ["position"]},
                {"required": ["time"]}
            ]}}
        }
    });
    request["else"] = serde_json::json!({
        "properties": {"start": {"not": {"type": "object", "required": ["revision"]}}}
    });
}

/// An event whose content type is not JSON carries its data as a base64 string (canonical:
/// the bits after the last whole byte are zero, as the decoder requires).
fn base64_data_unless_json(document: &mut Value) {
    let event = schema_mut(document, "EventBody");
    event["if"] = serde_json::json!({
        "required": ["content_type"],
        "properties": {"content_type": {"not": {"const": "application/json"}}}
    });
    event["then"] = serde_json::json!({
        "properties": {"data": {
            "type": "string",
            "contentEncoding": "base64",
            "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$"
        }}
    });
}

/// A type with `#[serde(flatten)]` is described as `allOf` its parts; a part that refuses
/// unknown fields (`additionalProperties: false`) would then refuse the other parts' fields
/// too, and no answer would match. This merges such an `allOf` into the one object the JSON
/// really is: the properties and required fields of every part.
fn flatten_all_of(document: &mut Value) {
    let schemas = document["components"]["schemas"].clone();
    merge_in(document, &schemas);
}

fn merge_in(value: &mut Value, schemas: &Value) {
    match value {
        Value::Object(object) => {
            if let Some(merged) = object.get("allOf").and_then(|parts| merged(parts, schemas)) {
                object.remove("allOf");
                for (key, item) in merged {
                    object.entry(key).or_insert(item);
                }
            }
            for item in object.values_mut() {
                merge_in(item, schemas);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| merge_in(item, schemas)),
        _ => {}
    }
}

/// The one object `parts` describe, when each is an object (inline or by reference).
fn merged(parts: &Value, schemas: &Value) -> Option<serde_json::Map<String, Value>> {
    let mut properties = serde_json::Map::new();
    let mut required: Vec<Value> = Vec::new();
    for part in parts.as_array()? {
        let mut part = match part["$ref"].as_str() {
            Some(reference) => {
                let name = reference.strip_prefix("#/components/schemas/")?;
                schemas[name].clone()
            }
            None => part.clone(),
        };
        // An optional flattened part (`Option<T>`): its fields may all be absent.
        let mut optional = false;
        if let Some(Value::Array(choices)) = part.get("oneOf").cloned() {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                choices.iter().partition(|choice| choice["type"] == "null");
            if let ([_], [other]) = (nulls.as_slice(), others.as_slice()) {
                let name = other["$ref"]
                    .as_str()?
                    .strip_prefix("#/components/schemas/")?;
                part = schemas[name].clone();
                optional = true;
            }
        }
        if let Some(nested) = part.get("allOf").cloned() {
            part = Value::Object(merged(&nested, schemas)?);
        }
        properties.extend(part.get("properties")?.as_object()?.clone());
        for name in part["required"].as_array().into_iter().flatten() {
            if !optional && !required.contains(name) {
                required.push(name.clone());
            }
        }
    }
    let mut object = serde_json::Map::new();
    object.insert("type".into(), "object".into());
    object.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        object.insert("required".into(), Value::Array(required));
    }
    Some(object)
}

/// `GET /openapi.json`.
pub async fn serve() -> Response {
    let content_type = [(axum::http::header::CONTENT_TYPE, "application/json")];
    (content_type, document_json()).into_response()
}

/// `/openapi.json` itself, which is served from the document and so cannot describe itself
/// through a handler.
fn add_openapi_route(document: &mut OpenApi) {
    let ok = ResponseBuilder::new()
        .description("This document")
        .content("application/json", Content::new(None::<Ref>))
        .build();
    let mut operation = Operation::new();
    operation.summary = Some("The OpenAPI document of this API".into());
    operation.operation_id = Some("openapi".into());
    operation.tags = Some(vec!["admin".into()]);
    operation
        .responses
        .responses
        .insert("200".into(), ok.into());
    let item = PathItem::new(utoipa::openapi::HttpMethod::Get, operation);
    document.paths.paths.insert("/openapi.json".into(), item);
}

/// The errors any route may answer, added to each operation that does not describe that
/// status itself.
fn add_common_errors(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let streaming = path.starts_with("/subscribe/") || path.ends_with("/subscribe");
        let operations = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, false),
        ];
        for (operation, may_have_body) in operations {
            let Some(operation) = operation.as_mut() else {
                continue;
            };
            let mut common = vec![(
                400,
                if path.contains("{stream}") {
                    vec![ErrorCode::InvalidRequest, ErrorCode::InvalidStreamName]
                } else {
                    vec![ErrorCode::InvalidRequest]
                },
            )];
            if may_have_body {
                common.push((413, vec![ErrorCode::TooLarge]));
            }
            if !streaming && path != "/openapi.json" {
                common.push((408, vec![ErrorCode::Timeout]));
            }
            common.push((
                500,
                vec![ErrorCode::Corrupted, ErrorCode::Io, ErrorCode::Backend],
            ));
            common.push((
                503,
                vec![
                    ErrorCode::Unavailable,
                    ErrorCode::Poisoned,
                    ErrorCode::Closed,
                    ErrorCode::Locked,
                    ErrorCode::TooManyConnections,
                ],
            ));
            for (status, codes) in common {
                let key = status.to_string();
                if operation.responses.responses.contains_key(&key) {
                    continue;
                }
                let described: Vec<String> = codes.iter().map(|code| format!("`{code}`")).collect();
                let response = ResponseBuilder::new()
                    .description(described.join(", "))
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    )
                    .build();
                operation.responses.responses.insert(key, response.into());
            }
        }
    }
}
