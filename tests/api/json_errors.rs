//! Every error is JSON in the API's `ErrorBody` shape, wherever it is made:
//! in a handler, in axum's own extractors and routing, or in the timeout.

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{HOOK_SECRET, spawn_app_with, spawn_app_with_hook};

/// The response is `status` with an `ErrorBody` of code `error`.
async fn assert_json_error(response: Response, status: u16, error: &str) {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    assert_eq!(content_type, "application/json", "{text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn an_oversized_webhook_body_gets_a_json_413() {
    let app = spawn_app_with_hook(
        "2026-12-01T10:00:00Z",
        "http://127.0.0.1:9/sms",
        &[("server.max_body_bytes", "1024")],
    )
    .await;
    let big = serde_json::json!({ "id": "x", "status": "delivered", "pad": "x".repeat(4096) });
    for kind in ["status", "inbound"] {
        let response = app.hook_webhook(kind, &big, HOOK_SECRET).await;
        assert_json_error(response, 413, "too_large").await;
    }
}

#[tokio::test]
async fn a_method_a_route_does_not_take_gets_a_json_405_with_its_allow_header() {
    let app = spawn_app_with(&[]).await;
    let client = reqwest::Client::new();
    for (method, path) in [
        (Method::DELETE, "/healthz"),
        (Method::PUT, "/webhooks/hook/status"),
        (Method::PUT, "/v1/people"),
    ] {
        let response = client
            .request(method, format!("{}{path}", app.address))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("allow"), "{path}");
        assert_json_error(response, 405, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn unknown_paths_and_unreadable_bodies_get_json_errors() {
    let app = spawn_app_with(&[]).await;
    let client = reqwest::Client::new();
    for path in ["/nowhere", "/webhooks", "/webhooks/hook/elsewhere", "/v1"] {
        let response = client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_json_error(response, 404, "not_found").await;
    }
    let response = client
        .post(format!("{}/webhooks/nobody/status", app.address))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_json_error(response, 404, "not_found").await;
}

#[tokio::test]
async fn a_request_ended_by_the_timeout_gets_a_json_408() {
    let app = spawn_app_with(&[("server.request_timeout_secs", "1")]).await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // A webhook promising a body it never finishes sending.
    let head = format!(
        "POST /webhooks/hook/status HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut answer))
        .await
        .expect("an answer before the test gives up")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_lowercase();
    assert!(answer.starts_with("http/1.1 408"), "{answer}");
    assert!(
        answer.contains("content-type: application/json"),
        "{answer}"
    );
    assert!(answer.contains(r#""error":"timeout""#), "{answer}");
}
