use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{MOBILE_A, MOBILE_A_E164, MOBILE_B, json_of, spawn_app, spawn_app_with};

fn alex(mobile: &str) -> Value {
    json!({ "external_ref": "SPS-1001", "first_name": "Alex", "mobile": mobile })
}

#[tokio::test]
async fn adding_a_person_stores_their_mobile_in_e164() {
    let app = spawn_app().await;
    let body = json_of(app.post_person(&alex(MOBILE_A)).await, 201).await;
    assert_eq!(body["outcome"], "created");
    assert_eq!(body["person"]["mobile"], MOBILE_A_E164);
    assert_eq!(body["person"]["language"], "en");
    let id = body["person"]["id"].as_str().unwrap();
    let mut fetched = json_of(app.get(&format!("/v1/people/{id}")).await, 200).await;
    assert_eq!(fetched["opted_out"], false);
    assert!(fetched["number_paused_since"].is_null());
    for key in ["opted_out", "opted_out_since", "number_paused_since"] {
        fetched.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(fetched, body["person"]);
}

#[tokio::test]
async fn sending_the_same_person_again_changes_nothing() {
    let app = spawn_app().await;
    let first = json_of(app.post_person(&alex(MOBILE_A)).await, 201).await;
    let second = json_of(app.post_person(&alex("+44 7400 123 456")).await, 200).await;
    assert_eq!(second["outcome"], "unchanged");
    assert_eq!(
        second["person"], first["person"],
        "same id, same updated_at"
    );
}

#[tokio::test]
async fn a_new_number_for_a_known_reference_updates_that_person() {
    let app = spawn_app().await;
    let first = json_of(app.post_person(&alex(MOBILE_A)).await, 201).await;
    let second = json_of(app.post_person(&alex(MOBILE_B)).await, 200).await;
    assert_eq!(second["outcome"], "updated");
    assert_eq!(second["person"]["id"], first["person"]["id"]);
    assert_eq!(second["person"]["mobile"], "+447911123456");
}

#[tokio::test]
async fn a_landline_is_refused_naming_the_field_and_the_reason() {
    let app = spawn_app().await;
    let body = json_of(app.post_person(&alex("0131 226 7777")).await, 422).await;
    assert_eq!(body["fields"][0]["field"], "mobile");
    assert_eq!(body["fields"][0]["value"], "0131 2****777", "masked");
    let reason = body["fields"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("landline"), "{reason}");
    assert_eq!(
        json_of(app.get("/v1/people").await, 200).await["people"],
        json!([])
    );
}

#[tokio::test]
async fn a_refused_person_is_not_echoed_in_the_error_body() {
    let app = spawn_app().await;
    let cases = [
        json!({ "external_ref": "SPS 4417", "first_name": "Siobh4n", "mobile": "07911 12345" }),
        json!({ "external_ref": "SPS-4417", "first_name": "Siobhan", "mobile": 7911123456_u64 }),
        json!({ "external_ref": "SPS-4417", "first_name": 7, "mobile": "07911 123456" }),
    ];
    for input in cases {
        let response = app.post_person(&input).await;
        assert_eq!(response.status(), 422);
        let text = response.text().await.unwrap();
        for personal in ["07911 12345", "7911123456", "SPS 4417", "Siobh4n"] {
            assert!(!text.contains(personal), "{personal} echoed in {text}");
        }
        assert!(
            text.contains("mobile") || text.contains("first_name"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_id_that_is_not_even_utf8_is_not_found_in_the_usual_error_shape() {
    let app = spawn_app().await;
    for path in [
        "/v1/people/%FF",
        "/v1/people/%FF/events",
        "/webhooks/%FF/status",
    ] {
        let response = app.get(path).await;
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/json", "{path}");
        assert_eq!(json_of(response, 404).await["error"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn letters_in_a_number_are_refused_rather_than_read_as_digits() {
    let app = spawn_app().await;
    let body = json_of(app.post_person(&alex("07400 l23456")).await, 422).await;
    let reason = body["fields"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("'l'"), "{reason}");
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let input = json!({ "external_ref": "has space", "first_name": "", "mobile": "12", "language": "xx-YYY" });
    let body = json_of(app.post_person(&input).await, 422).await;
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["external_ref", "first_name", "mobile", "language"]);
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = spawn_app().await;
    let req = app
        .request(Method::POST, "/v1/people", Some(&app.token))
        .await;
    let response = req
        .header("content-type", "application/json")
        .body("{\"external_ref\": ")
        .send()
        .await
        .unwrap();
    let body = json_of(response, 400).await;
    assert_eq!(body["error"], "bad_request");
}

#[tokio::test]
async fn unknown_missing_and_mistyped_fields_are_named() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "external_ref": "A", "first_name": "Al", "mobile": MOBILE_A, "nickname": "x" }),
            "nickname",
        ),
        (json!({ "external_ref": "A", "first_name": "Al" }), "mobile"),
        (
            json!({ "external_ref": "A", "first_name": "Al", "mobile": 7400123456_u64 }),
            "invalid type",
        ),
    ];
    for (input, expected) in cases {
        let body = json_of(app.post_person(&input).await, 422).await;
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported() {
    let app = spawn_app().await;
    let req = app
        .request(Method::POST, "/v1/people", Some(&app.token))
        .await;
    let response = req
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(response, 415).await["error"],
        "unsupported_media_type"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let app = spawn_app_with(&[("server.max_body_bytes", "1024")]).await;
    let mut input = alex(MOBILE_A);
    input["first_name"] = json!("a".repeat(4096));
    let body = json_of(app.post_person(&input).await, 413).await;
    assert_eq!(body["error"], "too_large");
}

#[tokio::test]
async fn a_refused_change_leaves_the_person_as_they_were() {
    let app = spawn_app().await;
    let id = app.add_person("SPS-1001", MOBILE_A).await;
    let patch = json!({ "first_name": "Sam", "mobile": "0800 22 44 88" });
    let response = app
        .send_json(Method::PATCH, &format!("/v1/people/{id}"), &patch)
        .await;
    assert_eq!(json_of(response, 422).await["fields"][0]["field"], "mobile");
    let person = json_of(app.get(&format!("/v1/people/{id}")).await, 200).await;
    assert_eq!(person["first_name"], "Alex");
    assert_eq!(person["mobile"], MOBILE_A_E164);
}

#[tokio::test]
async fn a_change_updates_only_the_fields_given() {
    let app = spawn_app().await;
    let id = app.add_person("SPS-1001", MOBILE_A).await;
    let patch = json!({ "first_name": "Siobhán", "language": "PL" });
    let person = json_of(
        app.send_json(Method::PATCH, &format!("/v1/people/{id}"), &patch)
            .await,
        200,
    )
    .await;
    assert_eq!(person["first_name"], "Siobhán");
    assert_eq!(person["language"], "pl");
    assert_eq!(person["mobile"], MOBILE_A_E164);
}

#[tokio::test]
async fn the_external_reference_cannot_be_changed_by_a_patch() {
    let app = spawn_app().await;
    let id = app.add_person("SPS-1001", MOBILE_A).await;
    let patch = json!({ "external_ref": "SPS-9" });
    let body = json_of(
        app.send_json(Method::PATCH, &format!("/v1/people/{id}"), &patch)
            .await,
        422,
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("external_ref"));
}

#[tokio::test]
async fn listing_pages_through_everyone_once() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.add_person(&format!("SPS-{i}"), MOBILE_A).await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/people?limit=2".to_owned();
    loop {
        let page = json_of(app.get(&path).await, 200).await;
        seen.extend(
            page["people"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["external_ref"].clone()),
        );
        match page["next_after"].as_str() {
            Some(after) => path = format!("/v1/people?limit=2&after={after}"),
            None => break,
        }
    }
    seen.sort_by_key(|v| v.to_string());
    assert_eq!(seen, ["SPS-0", "SPS-1", "SPS-2", "SPS-3", "SPS-4"]);
    assert_eq!(app.get("/v1/people?limit=0").await.status(), 400);
}

#[tokio::test]
async fn deleting_a_person_removes_them_and_their_events() {
    let app = spawn_app().await;
    let id = app.add_person("SPS-1001", MOBILE_A).await;
    let event = json!({ "event_ref": "lib", "kind": "liberation", "date": "2026-12-01" });
    assert_eq!(app.post_event(&id, &event).await.status(), 201);
    let response = app
        .request(
            Method::DELETE,
            &format!("/v1/people/{id}"),
            Some(&app.admin_token),
        )
        .await
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let erasure: serde_json::Value = response.json().await.unwrap();
    assert_eq!(erasure["erased"]["events"], 1, "{erasure}");
    assert_eq!(app.get(&format!("/v1/people/{id}")).await.status(), 404);
    assert_eq!(
        app.get(&format!("/v1/people/{id}/events")).await.status(),
        404
    );
    let again = json_of(app.post_person(&alex(MOBILE_A)).await, 201).await;
    assert_eq!(again["outcome"], "created");
}

#[tokio::test]
async fn an_id_that_cannot_exist_is_simply_not_found() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v1/people/not-a-uuid").await.status(), 404);
}
