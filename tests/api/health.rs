use crate::helpers::{json_of, spawn_app};

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = spawn_app().await;
    let body = json_of(app.get("/healthz").await, 200).await;
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_once_the_database_is_migrated() {
    let app = spawn_app().await;
    let body = json_of(app.get("/readyz").await, 200).await;
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total") && l.contains("route=\"/healthz\""))
        .unwrap_or_else(|| panic!("no counter for /healthz in:\n{text}"));
    assert!(line.contains("status=\"200\""), "{line}");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/v1/people").await;
    let id = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id header");
    assert_eq!(id.to_str().unwrap().len(), 36, "a UUID");
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let app = spawn_app().await;
    let body = json_of(app.get("/v1/nothing-here").await, 404).await;
    assert_eq!(body["error"], "not_found");
}
