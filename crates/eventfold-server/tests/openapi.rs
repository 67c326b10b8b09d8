//! The OpenAPI document is generated from the routes and the API's types: it describes every
//! route the router serves (and only those), lists every error code, and holds together (every
//! reference resolves, every operation id is unique).

use std::collections::BTreeSet;

use serde_json::Value;

use eventfold_api::ErrorCode;
use eventfold_server::ServerConfig;

mod common;

use common::{client, get, start};

/// Every route of the API with its methods; a route added to the router without being added
/// here fails [`the_document_describes_every_route_the_router_serves`].
const ROUTES: &[(&str, &[&str])] = &[
    ("/streams/{stream}", &["post", "get", "delete"]),
    ("/streams/{stream}/metadata", &["get", "put"]),
    ("/streams/{stream}/revision", &["get"]),
    ("/snapshots/{stream}", &["get", "put", "delete"]),
    ("/all", &["get"]),
    ("/subscribe/all", &["get"]),
    ("/subscribe/streams/{stream}", &["get"]),
    ("/health", &["get"]),
    ("/metrics", &["get"]),
    ("/openapi.json", &["get"]),
    ("/groups", &["get"]),
    ("/groups/{group}", &["get", "put", "delete"]),
    ("/groups/{group}/fetch", &["post"]),
    ("/groups/{group}/ack", &["post"]),
    ("/groups/{group}/nack", &["post"]),
    ("/groups/{group}/parked", &["get"]),
    ("/groups/{group}/parked/replay", &["post"]),
    ("/groups/{group}/subscribe", &["get"]),
    ("/buses", &["get"]),
    ("/buses/{bus}", &["get", "put", "delete"]),
    ("/buses/{bus}/events", &["post"]),
    ("/buses/{bus}/rules", &["get"]),
    ("/buses/{bus}/rules/{rule}", &["get", "put", "delete"]),
    ("/buses/{bus}/rules/{rule}/dead-letters", &["get"]),
    ("/buses/{bus}/replays", &["post"]),
    ("/buses/{bus}/replays/{replay}", &["get"]),
    ("/admin/scavenge", &["post", "get"]),
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_every_route_the_router_serves() {
    let server = start(ServerConfig::default()).await;
    let (status, document) = get(&server, "/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let described: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|method| item[**method].is_object())
                .map(|method| (path.clone(), method.to_string()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .iter()
                .map(|method| (path.to_string(), method.to_string()))
        })
        .collect();
    assert_eq!(described, expected);
    // And the router serves each one: the fallbacks answer `not_found` and
    // `method_not_allowed` only for routes it does not have.
    let http = client();
    for (path, method) in &expected {
        if path.contains("subscribe") {
            continue; // long-lived; served as the other routes are (tests/http.rs)
        }
        let concrete = path
            .replace("{stream}", "openapi-1")
            .replace("{group}", "g")
            .replace("{bus}", "b")
            .replace("{rule}", "r")
            .replace("{replay}", "p");
        let url = format!("{}{concrete}", server.base);
        let request = match method.as_str() {
            "get" => http.get(&url),
            "put" => http.put(&url).json(&serde_json::json!({})),
            "post" => http.post(&url).json(&serde_json::json!({})),
            "delete" => http.delete(&url),
            other => panic!("{other}"),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            !matches!(
                body["error"].as_str(),
                Some("not_found" | "method_not_allowed")
            ),
            "{method} {path} is served: {status} {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_code_is_listed_and_every_reference_resolves() {
    let server = start(ServerConfig::default()).await;
    let (_, document) = get(&server, "/openapi.json").await;
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap())
        .collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    assert_eq!(listed, all);
    // The server's errors use those codes, with the statuses of the table.
    let (status, error) = get(&server, "/streams/nobody-1").await;
    let code: ErrorCode = error["error"].as_str().unwrap().parse().unwrap();
    assert_eq!((status, code), (code.status(), ErrorCode::StreamNotFound));

    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(references.len() > 50, "{}", references.len());
    let unresolved: BTreeSet<&str> = references
        .into_iter()
        .filter(|reference| {
            reference
                .strip_prefix("#/components/schemas/")
                .is_none_or(|name| !schemas.contains_key(name))
        })
        .collect();
    assert!(unresolved.is_empty(), "unresolved: {unresolved:?}");

    let mut ids = BTreeSet::new();
    for item in document["paths"].as_object().unwrap().values() {
        for method in METHODS {
            if let Some(id) = item[*method]["operationId"].as_str() {
                assert!(ids.insert(id.to_owned()), "operation id {id} is unique");
            }
        }
    }
    assert!(ids.contains("streams_append") && ids.contains("groups_list"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_describes_its_errors_with_the_error_body() {
    let server = start(ServerConfig::default()).await;
    let (_, document) = get(&server, "/openapi.json").await;
    let put_events = &document["paths"]["/buses/{bus}/events"]["post"]["responses"];
    assert!(
        put_events["409"]["description"]
            .as_str()
            .unwrap()
            .contains("event_id_conflict"),
        "{put_events}"
    );
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(responses) = item[*method]["responses"].as_object() else {
                continue;
            };
            for status in ["400", "500", "503"] {
                let body = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    body, "#/components/schemas/ErrorBody",
                    "{method} {path} describes {status}"
                );
            }
        }
    }
    // The webhook target is typed, not a free-form object.
    let target = &document["components"]["schemas"]["Target"];
    assert!(target["oneOf"].as_array().unwrap().len() == 4, "{target}");
}

fn collect_references<'a>(value: &'a Value, into: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(reference)) => into.push(reference),
                    _ => collect_references(item, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, into)),
        _ => {}
    }
}
