//! Token roles, listing and revocation, over the API and the command line.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{MOBILE_A, TestApp, json_of, spawn_app};

/// The listed token with `role` (the test app has one of each).
async fn token_id(app: &TestApp, role: &str) -> String {
    let listed = json_of(app.get_as(&app.admin_token, "/v1/tokens").await, 200).await;
    let tokens = listed["tokens"].as_array().unwrap();
    let token = tokens.iter().find(|t| t["role"] == role).unwrap();
    token["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn staff_tokens_are_refused_what_only_admins_may_do_and_nothing_changes() {
    let app = spawn_app().await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let optout = json!({ "person_id": person, "reason": "asked at the desk" });
    json_of(
        app.send_json(Method::POST, "/v1/optouts", &optout).await,
        201,
    )
    .await;
    let staff = token_id(&app, "staff").await;
    let reason = json!({ "reason": "confirmed by phone" });
    let admin_only = [
        (Method::GET, "/v1/audit".to_owned(), None),
        (Method::GET, "/v1/tokens".to_owned(), None),
        (Method::POST, format!("/v1/tokens/{staff}/revoke"), None),
        (
            Method::DELETE,
            format!("/v1/optouts/{person}"),
            Some(&reason),
        ),
        (Method::DELETE, format!("/v1/people/{person}"), None),
    ];
    for (method, path, body) in &admin_only {
        let mut req = app.request(method.clone(), path, Some(&app.token)).await;
        if let Some(body) = body {
            req = req.json(body);
        }
        let refused = json_of(req.send().await.unwrap(), 403).await;
        assert_eq!(refused["error"], "forbidden", "{method} {path}");
        assert!(
            refused["message"].as_str().unwrap().contains("admin"),
            "{refused}"
        );
    }
    let shown = json_of(app.get(&format!("/v1/people/{person}")).await, 200).await;
    assert_eq!(shown["opted_out"], true, "the opt-out stays");
    assert_eq!(shown["first_name"], "Alex", "the person stays");

    for (method, path, body) in admin_only {
        let mut req = app
            .request(method.clone(), &path, Some(&app.admin_token))
            .await;
        if let Some(body) = body {
            req = req.json(body);
        }
        let status = req.send().await.unwrap().status();
        assert!(status.is_success(), "{method} {path} as admin: {status}");
    }
}

#[tokio::test]
async fn an_admin_lists_the_organisations_tokens_without_their_secrets() {
    let app = spawn_app().await;
    let other = app.new_org_token("Other Team").await;
    json_of(app.get("/v1/people").await, 200).await;
    let listed = json_of(app.get_as(&app.admin_token, "/v1/tokens").await, 200).await;
    let tokens = listed["tokens"].as_array().unwrap();
    let roles: Vec<&Value> = tokens.iter().map(|t| &t["role"]).collect();
    assert_eq!(roles, [&json!("staff"), &json!("admin")], "only this org's");
    let text = listed.to_string();
    for secret in [&app.token, &app.admin_token, &other] {
        let hash = homeward::domain::TokenHash::of(secret);
        assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
        assert!(!text.contains(hash.as_str()), "a hash leaked: {text}");
    }
    for token in tokens {
        assert!(token["created_at"].is_string(), "{token}");
        assert!(token["last_used_at"].is_string(), "both were used: {token}");
        assert!(token["revoked_at"].is_null(), "{token}");
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_from_its_next_request() {
    let app = spawn_app().await;
    let staff = token_id(&app, "staff").await;
    json_of(app.get("/v1/people").await, 200).await;
    let path = format!("/v1/tokens/{staff}/revoke");
    let revoked = app
        .request(Method::POST, &path, Some(&app.admin_token))
        .await;
    let revoked = json_of(revoked.send().await.unwrap(), 200).await;
    assert_eq!(revoked, json!({ "id": staff, "revoked": true }));
    let refused = json_of(app.get("/v1/people").await, 401).await;
    assert_eq!(refused["error"], "unauthorized");

    let again = app
        .request(Method::POST, &path, Some(&app.admin_token))
        .await;
    json_of(again.send().await.unwrap(), 200).await;
    let listed = json_of(app.get_as(&app.admin_token, "/v1/tokens").await, 200).await;
    let token = &listed["tokens"][0];
    assert_eq!(
        (&token["id"], token["revoked_at"].is_string()),
        (&json!(staff), true)
    );
    let audit = json_of(
        app.get_as(&app.admin_token, "/v1/audit?action=revoked")
            .await,
        200,
    )
    .await;
    assert_eq!(
        audit["entries"].as_array().unwrap().len(),
        1,
        "revoked once"
    );

    let unknown = format!("/v1/tokens/{}/revoke", uuid_like());
    let unknown = app
        .request(Method::POST, &unknown, Some(&app.admin_token))
        .await;
    assert_eq!(unknown.send().await.unwrap().status(), 404);
}

fn uuid_like() -> String {
    homeward::domain::TokenId::new().to_string()
}

#[tokio::test]
async fn the_command_line_lists_and_revokes_tokens_and_is_audited_as_cli() {
    let app = spawn_app().await;
    let staff = token_id(&app, "staff").await;
    let homeward = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_homeward"))
            .args(args)
            .env("HOMEWARD__DATABASE__URL", &app.settings.database.url)
            .env("HOMEWARD__LOG__LEVEL", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "homeward {args:?}: {stderr}");
        stdout
    };
    let listed = homeward(&["token", "list", "--org", "Test Team"]);
    assert!(listed.contains(&staff), "{listed}");
    assert!(!listed.contains(&app.token), "{listed}");
    homeward(&["token", "revoke", &staff]);
    assert_eq!(app.get("/v1/people").await.status(), 401);
    let listed = homeward(&["token", "list", "--org", "Test Team"]);
    let line = listed.lines().find(|l| l.starts_with(&staff)).unwrap();
    assert_eq!(
        line.split('\t').nth(4).unwrap().len(),
        16,
        "a revoked time: {line}"
    );

    let audit = json_of(app.get_as(&app.admin_token, "/v1/audit").await, 200).await;
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor"], "cli");
    assert!(entry["token_id"].is_null());
    assert_eq!(entry["action"], "revoked");
    assert_eq!(entry["target"]["id"], staff);
}
