//! Limits that keep one client from hurting the others: a request budget
//! per token, a largest body, a longest request, and a longest request head.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{MOBILE_A, json_of, spawn_app_with};

#[tokio::test]
async fn a_token_over_its_request_budget_is_told_when_to_come_back() {
    let limits = [
        ("server.api_rate_per_second", "1"),
        ("server.api_burst", "3"),
    ];
    let app = spawn_app_with(&limits).await;
    for _ in 0..3 {
        json_of(app.get("/v1/people").await, 200).await;
    }
    let refused = app.get("/v1/people").await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let body = json_of(refused, 429).await;
    assert_eq!(body["error"], "rate_limited");

    let admin = app.get_as(&app.admin_token, "/v1/people").await;
    assert_eq!(admin.status(), 200, "another token has its own budget");
    app.clock.advance(chrono::Duration::seconds(1));
    json_of(app.get("/v1/people").await, 200).await;
    assert_eq!(app.get("/v1/people").await.status(), 429);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_on_every_endpoint_that_reads_one() {
    let app = spawn_app_with(&[("server.max_body_bytes", "1024")]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let big = json!({ "reason": "x".repeat(2000) });
    let message = homeward::domain::MessageId::new();
    for path in [
        format!("/v1/messages/{message}/cancel"),
        format!("/v1/people/{person}/nudges"),
        "/v1/optouts".to_owned(),
    ] {
        let response = app.send_json(Method::POST, &path, &big).await;
        let body = json_of(response, 413).await;
        assert_eq!(body["error"], "too_large", "{path}");
    }
    let shown = json_of(app.get(&format!("/v1/people/{person}")).await, 200).await;
    assert_eq!(shown["opted_out"], false);
}

#[tokio::test]
async fn a_request_that_stalls_is_ended_at_the_timeout() {
    let app = spawn_app_with(&[("server.request_timeout_secs", "1")]).await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // Promise a body and send only part of it, as a slow or hostile client would.
    let head = format!(
        "POST /v1/people HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"external_ref\":",
        app.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut answer))
        .await
        .expect("an answer before the test gives up")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_connection_that_drips_its_request_head_is_closed_at_the_header_timeout() {
    let app = spawn_app_with(&[("server.header_read_timeout_secs", "1")]).await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // The request line and one header, then nothing: the head never ends.
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut answer))
        .await
        .expect("the server ends the connection before the test gives up");
    let waited = started.elapsed();
    match read {
        Ok(n) => {
            let answer = String::from_utf8_lossy(&answer[..n]);
            assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(5)).contains(&waited),
        "closed after {waited:?}"
    );
    let health = reqwest::get(format!("{}/healthz", app.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "other clients are still served");
}
