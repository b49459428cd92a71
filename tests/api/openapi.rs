//! `/openapi.json` against the router it describes: every route described,
//! nothing described that is not routed, and a well-formed OpenAPI 3
//! document.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, json_of, spawn_app};

/// (method, path) pairs, e.g. ("post", "/v1/people").
type Operations = BTreeSet<(String, String)>;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn served_description(app: &TestApp) -> Value {
    let response = app
        .request(Method::GET, "/openapi.json", None)
        .await
        .send()
        .await
        .unwrap();
    json_of(response, 200).await
}

fn described(description: &Value) -> Operations {
    let paths = description["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_string(), path.clone()))
        })
        .collect()
}

/// The routes in the real router, read from its `Debug` form: axum keeps
/// each route's path beside an id (`RouteId(3): "/v1/people"`) and each
/// id's method router, whose unset methods print as `None`. Nested routers
/// are flattened into their parent, so the paths are the full ones.
fn routed(router_debug: &str) -> Operations {
    // The fallback router prints the same way; only the path router counts.
    let main = router_debug
        .split(", fallback_router:")
        .next()
        .expect("a path router");
    let (routes, paths) = main
        .split_once("node: Node { paths: {")
        .expect("axum's Router Debug shows the paths of its routes");
    let paths = entries(paths);
    entries(routes)
        .into_iter()
        .flat_map(|(id, endpoint)| {
            assert!(
                endpoint.starts_with("MethodRouter("),
                "route {id} is a service, not handlers: {endpoint}"
            );
            let path = paths
                .iter()
                .find(|(i, _)| *i == id)
                .and_then(|(_, p)| p.split('"').nth(1))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no path for route {id}"));
            methods(&endpoint)
                .into_iter()
                .map(move |m| (m, path.clone()))
        })
        .collect()
}

/// `RouteId(N): value` pairs, each value running to the next `RouteId(`.
fn entries(text: &str) -> Vec<(u32, String)> {
    text.split("RouteId(")
        .skip(1)
        .filter_map(|chunk| {
            let (id, rest) = chunk.split_once("): ")?;
            Some((id.parse().ok()?, rest.to_owned()))
        })
        .collect()
}

fn methods(endpoint: &str) -> Vec<String> {
    METHODS
        .iter()
        .filter(|m| {
            let field = format!(" {m}: ");
            let at = endpoint
                .find(&field)
                .unwrap_or_else(|| panic!("no {m} field in {endpoint}"));
            !endpoint[at + field.len()..].starts_with("None")
        })
        .map(|m| m.to_string())
        .collect()
}

#[tokio::test]
async fn every_route_is_described_and_every_described_operation_is_routed() {
    let app = spawn_app().await;
    let router = homeward::http::routes(&app.settings.server);
    let routed = routed(&format!("{router:?}"));
    assert!(
        routed.contains(&("post".into(), "/v1/people".into())),
        "the router's Debug form was not understood: {routed:?}"
    );
    let described = described(&served_description(&app).await);
    let undescribed: Vec<_> = routed.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        undescribed.is_empty() && unrouted.is_empty(),
        "routed but not described: {undescribed:?}\ndescribed but not routed: {unrouted:?}"
    );
}

#[tokio::test]
async fn the_served_description_is_openapi_3_with_bearer_security_on_v1() {
    let app = spawn_app().await;
    let doc = served_description(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    let mut ids = BTreeSet::new();
    for (method, path) in described(&doc) {
        let operation = &doc["paths"][&path][&method];
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no id"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        let responses = operation["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{method} {path}: no responses");
        let secured = operation["security"] == serde_json::json!([{ "bearer": [] }]);
        assert_eq!(
            secured,
            path.starts_with("/v1/"),
            "{method} {path}: security"
        );
        if path.starts_with("/v1/") {
            assert!(responses.contains_key("401"), "{method} {path}: no 401");
        }
    }
    assert_refs_resolve(&doc, &doc);
}

/// Every `$ref` names a schema in `components`.
fn assert_refs_resolve(doc: &Value, node: &Value) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                let name = target
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unexpected $ref {target}"));
                assert!(
                    doc["components"]["schemas"].get(name).is_some(),
                    "dangling $ref {target}"
                );
            }
            map.values().for_each(|v| assert_refs_resolve(doc, v));
        }
        Value::Array(items) => items.iter().for_each(|v| assert_refs_resolve(doc, v)),
        _ => {}
    }
}

#[tokio::test]
async fn the_description_names_the_error_shape_the_api_really_sends() {
    let app = spawn_app().await;
    let doc = served_description(&app).await;
    let error = &doc["components"]["schemas"]["ErrorBody"];
    let mut required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["error", "message"]);
    let body = json_of(app.get("/v1/people/not-an-id").await, 404).await;
    for key in body.as_object().unwrap().keys() {
        assert!(
            error["properties"].get(key).is_some(),
            "{key} is not described"
        );
    }
}
