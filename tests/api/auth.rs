use homeward::domain::Role;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{MOBILE_A, json_of, spawn_app};

#[tokio::test]
async fn requests_without_a_token_are_refused() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/v1/people", None)
        .await
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body = json_of(response, 401).await;
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn an_unknown_token_is_refused() {
    let app = spawn_app().await;
    let req = app
        .request(Method::GET, "/v1/people", Some("hw_not-a-real-token"))
        .await;
    assert_eq!(req.send().await.unwrap().status(), 401);
    let req = app
        .request(Method::GET, "/v1/people", None)
        .await
        .header("authorization", "Basic abc");
    assert_eq!(req.send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn one_organisation_never_sees_or_changes_anothers_people() {
    let app = spawn_app().await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let other_org = app.new_org("Other Team").await;
    // An admin, so that no route refuses it for its role before its org.
    let other = app.new_token(other_org, Role::Admin).await;
    let as_other = |method: Method, path: String| {
        let app = &app;
        let other = other.clone();
        async move { app.request(method, &path, Some(&other)).await }
    };

    let listed = json_of(
        as_other(Method::GET, "/v1/people".into())
            .await
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["people"], json!([]));
    for (method, path) in [
        (Method::GET, format!("/v1/people/{person}")),
        (Method::DELETE, format!("/v1/people/{person}")),
        (Method::GET, format!("/v1/people/{person}/events")),
    ] {
        let response = as_other(method.clone(), path.clone())
            .await
            .send()
            .await
            .unwrap();
        let body = json_of(response, 404).await;
        assert!(
            !body.to_string().contains("SPS-1"),
            "{method} {path} leaked: {body}"
        );
    }
    let patch = as_other(Method::PATCH, format!("/v1/people/{person}")).await;
    let response = patch
        .json(&json!({ "first_name": "Mallory" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let event = json!({ "event_ref": "lib", "kind": "liberation", "date": "2026-12-01" });
    let post = as_other(Method::POST, format!("/v1/people/{person}/events")).await;
    assert_eq!(post.json(&event).send().await.unwrap().status(), 404);

    let mine = json_of(app.get(&format!("/v1/people/{person}")).await, 200).await;
    assert_eq!(
        mine["first_name"], "Alex",
        "the owner's record is untouched"
    );
    assert_eq!(
        json_of(app.get(&format!("/v1/people/{person}/events")).await, 200).await["events"],
        json!([])
    );
}

#[tokio::test]
async fn the_same_external_ref_in_two_organisations_is_two_people() {
    let app = spawn_app().await;
    let mine = app.add_person("SPS-1", MOBILE_A).await;
    let other = app.new_org_token("Other Team").await;
    let body = json!({ "external_ref": "SPS-1", "first_name": "Sam", "mobile": MOBILE_A });
    let req = app.request(Method::POST, "/v1/people", Some(&other)).await;
    let theirs = json_of(req.json(&body).send().await.unwrap(), 201).await;
    assert_ne!(theirs["person"]["id"], mine.as_str());
    let again = json_of(app.get(&format!("/v1/people/{mine}")).await, 200).await;
    assert_eq!(again["first_name"], "Alex");
}
