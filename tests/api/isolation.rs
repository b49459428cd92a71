//! Organisation isolation over every `/v1` endpoint (invariant 7): another
//! organisation's admin token, which no role check stops, gets 404 for every
//! id of ours, by every method, and its listings show nothing of ours. A
//! 403 would say the thing exists; data would be a leak.

use homeward::clock::Clock as _;
use homeward::domain::{NewAttention, Role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{MOBILE_A, TestApp, at, json_of, spawn_app_at};

/// Everything org A has: a person with an event, a text, an opt-out, an
/// attention item, a token and audit entries.
struct Ours {
    person: String,
    event: String,
    message: String,
    attention: String,
    token: String,
}

async fn ours(app: &TestApp) -> Ours {
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let event = json!({ "event_ref": "lib", "kind": "liberation", "date": "2026-12-01" });
    let event = json_of(app.post_event(&person, &event).await, 201).await;
    let messages = app.messages_of(&person).await;
    let attention = NewAttention {
        org_id: app.org_id,
        person_id: person.parse().unwrap(),
        kind: "reply",
        detail: "needs a person".into(),
        inbound_id: None,
        message_id: None,
    };
    app.store
        .raise_attention(&attention, app.clock.now())
        .await
        .unwrap();
    let items = json_of(app.get("/v1/attention").await, 200).await;
    let tokens = json_of(app.get_as(&app.admin_token, "/v1/tokens").await, 200).await;
    Ours {
        event: event["event"]["id"].as_str().unwrap().to_owned(),
        message: messages[0]["id"].as_str().unwrap().to_owned(),
        attention: items["items"][0]["id"].as_str().unwrap().to_owned(),
        token: tokens["tokens"][0]["id"].as_str().unwrap().to_owned(),
        person,
    }
}

/// Every endpoint that names one of our things, with a body it accepts.
fn endpoints(ours: &Ours, their_person: &str) -> Vec<(Method, String, Option<Value>)> {
    let Ours {
        person: p,
        event: e,
        message: m,
        attention: a,
        token: t,
    } = ours;
    let liberation = json!({ "event_ref": "lib2", "kind": "liberation", "date": "2026-12-03" });
    let nudge = json!({ "template": "week_checkin", "send_at": "2026-11-21T12:00:00Z" });
    let reason = json!({ "reason": "test" });
    vec![
        (Method::GET, format!("/v1/people/{p}"), None),
        (
            Method::PATCH,
            format!("/v1/people/{p}"),
            Some(json!({ "first_name": "Mallory" })),
        ),
        (Method::DELETE, format!("/v1/people/{p}"), None),
        (Method::GET, format!("/v1/people/{p}/events"), None),
        (
            Method::POST,
            format!("/v1/people/{p}/events"),
            Some(liberation),
        ),
        (Method::GET, format!("/v1/people/{p}/events/{e}"), None),
        (
            Method::PATCH,
            format!("/v1/people/{p}/events/{e}"),
            Some(json!({ "status": "cancelled" })),
        ),
        (
            Method::GET,
            format!("/v1/people/{their_person}/events/{e}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/people/{their_person}/events/{e}"),
            Some(json!({ "status": "cancelled" })),
        ),
        (
            Method::POST,
            format!("/v1/people/{p}/outcomes"),
            Some(json!({ "goal": "gp_registered" })),
        ),
        (Method::POST, format!("/v1/people/{p}/nudges"), Some(nudge)),
        (Method::GET, format!("/v1/people/{p}/inbound"), None),
        (Method::GET, format!("/v1/people/{p}/export"), None),
        (Method::GET, format!("/v1/messages/{m}"), None),
        (
            Method::POST,
            format!("/v1/messages/{m}/cancel"),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/v1/optouts".into(),
            Some(json!({ "person_id": p, "reason": "test" })),
        ),
        (Method::DELETE, format!("/v1/optouts/{p}"), Some(reason)),
        (
            Method::POST,
            format!("/v1/attention/{a}/resolve"),
            Some(json!({})),
        ),
        (Method::POST, format!("/v1/tokens/{t}/revoke"), None),
    ]
}

#[tokio::test]
async fn another_organisation_gets_not_found_for_everything_of_ours() {
    let app = spawn_app_at(at("2026-11-20T12:00:00Z"), &[]).await;
    let ours = ours(&app).await;
    // Opted out, so that removing the opt-out would have something to remove.
    let optout = json!({ "person_id": ours.person, "reason": "asked" });
    json_of(
        app.send_json(Method::POST, "/v1/optouts", &optout).await,
        201,
    )
    .await;
    let their_org = app.new_org("Other Team").await;
    let theirs = app.new_token(their_org, Role::Admin).await;
    let their_person = {
        let body =
            json!({ "external_ref": "SPS-9", "first_name": "Sam", "mobile": "07911 123456" });
        let created = app
            .send_json_as(&theirs, Method::POST, "/v1/people", &body)
            .await;
        json_of(created, 201).await["person"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    for (method, path, body) in endpoints(&ours, &their_person) {
        let response = match &body {
            Some(body) => app.send_json_as(&theirs, method.clone(), &path, body).await,
            None => app
                .request(method.clone(), &path, Some(&theirs))
                .await
                .send()
                .await
                .unwrap(),
        };
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 404, "{method} {path}: {text}");
        for ours in ["Alex", "SPS-1", "+447400123456"] {
            assert!(
                !text.contains(ours),
                "{method} {path} leaked {ours}: {text}"
            );
        }
    }

    for listing in [
        "/v1/people",
        "/v1/messages?limit=1000",
        &format!("/v1/messages?person={}", ours.person),
        "/v1/optouts",
        "/v1/attention?all=true",
        "/v1/tokens",
        "/v1/audit?limit=1000",
    ] {
        let text = app.get_as(&theirs, listing).await.text().await.unwrap();
        for id in [
            &ours.person,
            &ours.event,
            &ours.message,
            &ours.attention,
            &ours.token,
        ] {
            assert!(
                !text.contains(id.as_str()),
                "{listing} shows our {id}: {text}"
            );
        }
        assert!(!text.contains("Alex"), "{listing}: {text}");
    }
    let csv =
        "external_ref,first_name,mobile,release_date\nSPS-1,Mallory,07911 123456,2026-12-02\n";
    let import = app
        .request(Method::POST, "/v1/imports/releases", Some(&theirs))
        .await;
    let import = import
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(import, 200).await["created"], 1, "their own SPS-1");

    nothing_of_ours_changed(&app, &ours).await;
}

async fn nothing_of_ours_changed(app: &TestApp, ours: &Ours) {
    let person = json_of(app.get(&format!("/v1/people/{}", ours.person)).await, 200).await;
    assert_eq!(person["first_name"], "Alex");
    assert_eq!(person["opted_out"], true);
    let events = json_of(
        app.get(&format!("/v1/people/{}/events", ours.person)).await,
        200,
    )
    .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    assert_eq!(events["events"][0]["status"], "expected");
    let messages = app.messages_of(&ours.person).await;
    assert!(
        messages.iter().all(|m| m["state"] != "cancelled"),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| m["origin"] != "nudge"),
        "{messages:?}"
    );
    let open = json_of(app.get("/v1/attention").await, 200).await;
    assert_eq!(open["items"][0]["id"], ours.attention.as_str());
    let tokens = json_of(app.get_as(&app.admin_token, "/v1/tokens").await, 200).await;
    assert!(tokens["tokens"][0]["revoked_at"].is_null());
    let trail = json_of(app.get_as(&app.admin_token, "/v1/audit").await, 200).await;
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "created", "created"], "ours alone");
}
