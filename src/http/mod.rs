//! The HTTP edge: routing, authentication, error rendering and request
//! telemetry. Handlers parse input into domain values and call the use
//! cases; they hold no business rules of their own.

mod api;
mod auth;
pub mod error;
mod health;
mod json_errors;
mod openapi;
mod pages;
mod rate_limit;
mod serve;

pub use pages::SESSION_COOKIE;
pub use serve::serve;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::config::ServerSettings;
use crate::dispatch::Dispatcher;
use crate::ingest::Ingest;
use crate::optout::Replies;
use crate::store::Store;
pub use auth::{Admin, TokenUse};
use error::ApiError;
pub use rate_limit::ApiRateLimit;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub ingest: Ingest,
    pub dispatcher: Dispatcher,
    pub replies: Replies,
    pub privacy: crate::privacy::Privacy,
    pub metrics: PrometheusHandle,
    /// `server.public_base_url`, for rebuilding signed webhook URLs.
    pub public_base_url: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// Where every change made through the API is recorded.
    pub audit: AuditLog,
    /// Each token's request budget.
    pub api_limit: Arc<ApiRateLimit>,
    pub token_use: Arc<TokenUse>,
    /// Staff accounts and sessions, for the pages.
    pub accounts: crate::accounts::Accounts,
    /// What the pages read.
    pub casework: crate::casework::Casework,
    /// What staff change, from the pages and the API alike.
    pub actions: crate::actions::Actions,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState, server: &ServerSettings) -> Router {
    routes(server)
        .merge(pages::router(server))
        .layer(DefaultBodyLimit::max(server.max_body_bytes))
        .route_layer(middleware::from_fn(undecodable_path))
        .route_layer(middleware::from_fn(record_metrics))
        .fallback(not_found)
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, server.request_timeout()))
        // Outside the timeout, so that its answer is JSON too.
        .layer(middleware::map_response(json_errors::as_json))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path holds only ids; the query string is never logged.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path(), org = tracing::field::Empty)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Every route, before state and middleware: exactly what `/openapi.json`
/// must describe (the `openapi` integration test compares the two).
pub fn routes(server: &ServerSettings) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::serve))
        .nest("/v1", api::router(server))
        .nest("/webhooks", webhooks::router())
}

/// An unknown address is a JSON 404, as for the API, unless a browser
/// asked for a page (`Accept: text/html`) somewhere outside the API and the
/// webhooks: then it gets the pages' own.
async fn not_found(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    let path = uri.path();
    let machine = [
        "/v1",
        "/webhooks",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ];
    let wants_page = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page && !machine.iter().any(|prefix| path.starts_with(prefix)) {
        pages::not_found().await
    } else {
        ApiError::NotFound("endpoint").into_response()
    }
}

/// A path whose percent-escapes are not UTF-8 (`/v1/people/%FF`) names
/// nothing Homeward has: answer 404 in the usual JSON shape, as for any id
/// that cannot exist, rather than let the path extractor answer 400 in
/// plain text.
async fn undecodable_path(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .is_err()
    {
        return ApiError::NotFound("resource").into_response();
    }
    next.run(req).await
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
