//! The audit trail: every change made through the API is recorded with who
//! made it and when, and only the organisation's admins can read it.

use homeward::clock::Clock as _;
use homeward::domain::{NewAttention, OrgId, PersonId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{MOBILE_A, MOBILE_A_E164, TestApp, at, json_of, spawn_app_at};

const NOW: &str = "2026-11-20T12:00:00Z";

async fn app() -> TestApp {
    spawn_app_at(at(NOW), &[]).await
}

/// The ids of the test app's staff and admin tokens.
async fn token_ids(app: &TestApp) -> (String, String) {
    let listed = json_of(app.get_as(&app.admin_token, "/v1/tokens").await, 200).await;
    let id = |role: &str| {
        let tokens = listed["tokens"].as_array().unwrap();
        let token = tokens.iter().find(|t| t["role"] == role).unwrap();
        token["id"].as_str().unwrap().to_owned()
    };
    (id("staff"), id("admin"))
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let path = format!("/v1/audit{query}");
    let body = json_of(app.get_as(&app.admin_token, &path).await, 200).await;
    body["entries"].as_array().unwrap().clone()
}

/// (actor token, action, target kind, target id) of each entry.
fn summary(entries: &[Value]) -> Vec<(String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    entries
        .iter()
        .map(|e| {
            let target = &e["target"];
            (
                text(&e["token_id"]),
                text(&e["action"]),
                text(&target["kind"]),
                text(&target["id"]),
            )
        })
        .collect()
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!((200..300).contains(&status), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn raise_attention(app: &TestApp, org: OrgId, person: &str) -> String {
    let item = NewAttention {
        org_id: org,
        person_id: person.parse::<PersonId>().unwrap(),
        kind: "reply",
        detail: "a reply that needs a person".into(),
        inbound_id: None,
        message_id: None,
    };
    app.store
        .raise_attention(&item, app.clock.now())
        .await
        .unwrap();
    let items = json_of(app.get("/v1/attention").await, 200).await;
    items["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_change_is_recorded_with_its_token_and_time_and_nothing_personal() {
    let app = app().await;
    let (staff, admin) = token_ids(&app).await;
    let alex = json!({ "external_ref": "SPS-1", "first_name": "Alexandria", "mobile": MOBILE_A });
    let person = ok(app.post_person(&alex).await).await["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(app.post_person(&alex).await).await; // unchanged: not a change
    let path = |rest: &str| format!("/v1/people/{person}{rest}");
    ok(app
        .send_json(Method::PATCH, &path(""), &json!({ "first_name": "Alexa" }))
        .await)
    .await;
    let event = json!({ "event_ref": "lib", "kind": "liberation", "date": "2026-12-01" });
    let event = ok(app.post_event(&person, &event).await).await["event"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = json!({ "status": "cancelled" });
    ok(app
        .send_json(Method::PATCH, &path(&format!("/events/{event}")), &cancel)
        .await)
    .await;
    let csv = "external_ref,first_name,mobile,release_date\nSPS-2,Sam,07911 123456,2026-12-02\n";
    ok(app.import("releases", csv).await).await;
    let nudge = json!({ "template": "week_checkin", "send_at": "2026-11-21T12:00:00Z" });
    let nudge = ok(app.send_json(Method::POST, &path("/nudges"), &nudge).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let goal = json!({ "goal": "gp_registered" });
    ok(app.send_json(Method::POST, &path("/outcomes"), &goal).await).await;
    let cancel = format!("/v1/messages/{nudge}/cancel");
    ok(app.send_json(Method::POST, &cancel, &json!({})).await).await;
    let optout = json!({ "person_id": person, "reason": "asked" });
    ok(app.send_json(Method::POST, "/v1/optouts", &optout).await).await;
    let item = raise_attention(&app, app.org_id, &person).await;
    let resolve = format!("/v1/attention/{item}/resolve");
    ok(app
        .send_json(Method::POST, &resolve, &json!({ "note": "called" }))
        .await)
    .await;
    let admin_token = app.admin_token.clone();
    let remove = format!("/v1/optouts/{person}");
    let reason = json!({ "reason": "confirmed" });
    ok(app
        .send_json_as(&admin_token, Method::DELETE, &remove, &reason)
        .await)
    .await;
    let revoke = format!("/v1/tokens/{staff}/revoke");
    ok(app
        .send_json_as(&admin_token, Method::POST, &revoke, &json!({}))
        .await)
    .await;
    let delete = app
        .request(Method::DELETE, &path(""), Some(&admin_token))
        .await;
    assert_eq!(delete.send().await.unwrap().status(), 200);

    let entries = audit(&app, "").await;
    let s = |token: &str, action: &str, kind: &str, id: &str| {
        (
            token.to_owned(),
            action.to_owned(),
            kind.to_owned(),
            id.to_owned(),
        )
    };
    assert_eq!(
        summary(&entries),
        [
            s(&staff, "created", "person", &person),
            s(&staff, "updated", "person", &person),
            s(&staff, "created", "event", &event),
            s(&staff, "cancelled", "event", &event),
            s(&staff, "imported", "import", "releases"),
            s(&staff, "created", "message", &nudge),
            s(&staff, "created", "outcome", "gp_registered"),
            s(&staff, "cancelled", "message", &nudge),
            s(&staff, "created", "optout", &person),
            s(&staff, "resolved", "attention", &item),
            s(&admin, "deleted", "optout", &person),
            s(&admin, "revoked", "token", &staff),
            s(&admin, "deleted", "person", &person),
        ]
    );
    assert_eq!(
        entries[4]["detail"],
        "1 created, 0 updated, 0 unchanged, 0 rejected"
    );
    for entry in &entries {
        assert_eq!(entry["actor"], "token");
        assert_eq!(
            at(entry["at"].as_str().unwrap()),
            at(NOW),
            "the app's clock"
        );
    }
    let text = serde_json::to_string(&entries).unwrap();
    for personal in [
        "Alexandria",
        "Alexa",
        "Sam",
        MOBILE_A,
        MOBILE_A_E164,
        "asked",
        "called",
    ] {
        assert!(
            !text.contains(personal),
            "{personal:?} is in the trail: {text}"
        );
    }

    let about_person = audit(&app, &format!("?person={person}")).await;
    assert_eq!(
        about_person.len(),
        10,
        "everything but the import, attention and token"
    );
}

#[tokio::test]
async fn the_trail_is_filtered_by_time_action_and_target_and_paged() {
    let app = app().await;
    let first = app.add_person("SPS-1", MOBILE_A).await;
    app.clock.advance(chrono::Duration::hours(1));
    let second = app.add_person("SPS-2", "07911 123456").await;
    let path = format!("/v1/people/{first}");
    let delete = app
        .request(Method::DELETE, &path, Some(&app.admin_token))
        .await;
    assert_eq!(delete.send().await.unwrap().status(), 200);

    let (first, second) = (first.as_str(), second.as_str());
    let ids = |entries: Vec<Value>| -> Vec<String> {
        entries
            .iter()
            .map(|e| e["target"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(audit(&app, "?action=created").await), [first, second]);
    assert_eq!(ids(audit(&app, "?action=deleted").await), [first]);
    let later = "?from=2026-11-20T12:30:00Z";
    assert_eq!(ids(audit(&app, later).await), [second, first]);
    let earlier = "?to=2026-11-20T12:30:00Z";
    assert_eq!(ids(audit(&app, earlier).await), [first]);
    let target = format!("?target_kind=person&target_id={first}");
    assert_eq!(ids(audit(&app, &target).await), [first, first]);

    let page = json_of(app.get_as(&app.admin_token, "/v1/audit?limit=2").await, 200).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    let next = page["next_after"].as_str().unwrap();
    let rest = audit(&app, &format!("?after={next}")).await;
    assert_eq!(ids(rest), [first]);

    for bad in [
        "?action=read",
        "?from=yesterday",
        "?limit=0",
        "?after=x",
        "?colour=red",
    ] {
        let response = app
            .get_as(&app.admin_token, &format!("/v1/audit{bad}"))
            .await;
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn an_organisation_never_sees_another_organisations_trail() {
    let app = app().await;
    app.add_person("SPS-1", MOBILE_A).await;
    let other = app.new_org("Other Team").await;
    let theirs = app.new_token(other, homeward::domain::Role::Admin).await;
    let body = json_of(app.get_as(&theirs, "/v1/audit").await, 200).await;
    assert_eq!(body["entries"], json!([]));
    assert_eq!(audit(&app, "").await.len(), 1);
}
