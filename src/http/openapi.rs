//! The API description served at `GET /openapi.json`: OpenAPI 3.1 generated
//! from the handlers' `#[utoipa::path]` annotations and the types they take
//! and return, so it follows the code. The `openapi` integration test holds
//! it to the router: a route missing from either side fails it.
//!
//! What many operations share is added here rather than repeated on each
//! handler: the bearer scheme, 401 and 429 on `/v1`, 500 wherever the store or a
//! provider is involved, and the 400/413/415/422 that [`ApiJson`] answers
//! for any JSON body.
//!
//! [`ApiJson`]: super::error::ApiJson

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use super::{api, health, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Homeward",
        description = "SMS reminders for people leaving prison. Every `/v1` request needs `Authorization: Bearer <token>` and sees only its own organisation's data. Errors are JSON (`ErrorBody`); they name the field at fault but never echo a personal value."
    ),
    paths(health::healthz, health::readyz, health::metrics, serve),
    nest(
        (path = "/v1", api = api::Description),
        (path = "/webhooks", api = webhooks::Description),
    ),
    components(schemas(ErrorBody)),
    modifiers(&Shared)
)]
struct Description;

/// The description as JSON, built once.
static JSON: LazyLock<String> = LazyLock::new(|| {
    Description::openapi()
        .to_json()
        .expect("the API description serialises")
});

/// This API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "This description", body = Object))
)]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], JSON.as_str())
}

const BEARER: &str = "bearer";

/// Adds what operations share (see the module header).
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API token from `homeward token create`"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (_, operation) in operations(item) {
                add_shared_responses(path, operation);
            }
        }
        unique_operation_ids(&mut openapi.paths);
    }
}

fn add_shared_responses(path: &str, operation: &mut Operation) {
    if path.starts_with("/v1/") {
        let bearer = SecurityRequirement::new(BEARER, Vec::<String>::new());
        operation.security = Some(vec![bearer]);
        error(operation, 401, "No valid API token was sent");
        error(
            operation,
            429,
            "This token sent more than `server.api_rate_per_second` requests a second (beyond `server.api_burst`); wait `Retry-After` seconds",
        );
    }
    if path.starts_with("/v1/") || path.starts_with("/webhooks/") {
        error(
            operation,
            500,
            "Something failed on our side; it was logged",
        );
    }
    let takes_json = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    if takes_json && !path.starts_with("/webhooks/") {
        error(operation, 400, "The body is not valid JSON");
        error(
            operation,
            413,
            "The body is larger than `server.max_body_bytes`",
        );
        error(operation, 415, "The body is not sent as application/json");
        error(
            operation,
            422,
            "The body has an unknown, missing or mistyped field",
        );
    }
}

/// Document an error response, unless the handler already describes it.
fn error(operation: &mut Operation, status: u16, description: &str) {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build();
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert(response.into());
}

/// A handler serving several methods (the webhooks take GET and POST)
/// carries one operation id; OpenAPI wants each to be unique.
fn unique_operation_ids(paths: &mut utoipa::openapi::path::Paths) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in paths.paths.values_mut() {
        for (_, operation) in operations(item) {
            if let Some(id) = &operation.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for item in paths.paths.values_mut() {
        for (method, operation) in operations(item) {
            if let Some(id) = &mut operation.operation_id {
                if seen[id.as_str()] > 1 {
                    *id = format!("{id}_{method}");
                }
            }
        }
    }
}

/// Every operation of a path, with its method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|o| (method, o)))
}
