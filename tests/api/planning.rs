//! Planning through the real app: a settable clock, a real SQLite file, and
//! the messages API to see what was planned.

use std::collections::HashSet;

use homeward::domain::{Message, MessageState, PhoneNumber};
use homeward::planner::PlanReport;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{MOBILE_A, TestApp, at, json_of, spawn_app_at};

async fn app_on(now: &str) -> TestApp {
    spawn_app_at(at(now), &[]).await
}

async fn liberate(app: &TestApp, person: &str, date: &str) -> Value {
    let event = json!({ "event_ref": "liberation", "kind": "liberation", "date": date });
    json_of(app.post_event(person, &event).await, 201).await["event"].clone()
}

fn summary(messages: &[Value]) -> Vec<(String, String, String)> {
    messages
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_owned();
            (s("template"), s("send_at"), s("state"))
        })
        .collect()
}

fn with_state<'a>(messages: &'a [Value], state: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["state"] == state).collect()
}

#[tokio::test]
async fn a_liberation_plans_the_default_texts_at_local_times() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    let messages = app.messages_of(&person).await;
    assert_eq!(
        summary(&messages),
        [
            (
                "gp_registration".into(),
                "2026-12-01T10:00:00Z".into(),
                "pending".into()
            ),
            (
                "nhs_inform".into(),
                "2026-12-03T11:00:00Z".into(),
                "pending".into()
            ),
            (
                "week_checkin".into(),
                "2026-12-08T11:00:00Z".into(),
                "pending".into()
            ),
        ]
    );
    let body = messages[0]["body"].as_str().unwrap();
    assert!(body.contains("Alex"), "{body}");
    assert!(!body.to_lowercase().contains("prison"), "{body}");
    assert_eq!(messages[0]["rule_id"], "liberation_gp_registration");
}

#[tokio::test]
async fn planning_again_adds_nothing() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    let before = app.messages_of(&person).await;
    let report = app.sweep().await;
    assert_eq!(
        (report.created, report.updated, report.cancelled),
        (0, 0, 0)
    );
    app.sweep().await;
    assert_eq!(app.messages_of(&person).await, before);
}

#[tokio::test]
async fn a_moved_release_date_cancels_the_old_texts_and_plans_new_ones() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    let moved = json!({ "event_ref": "liberation", "kind": "liberation", "date": "2026-12-04", "status": "confirmed" });
    json_of(app.post_event(&person, &moved).await, 200).await;
    let messages = app.messages_of(&person).await;
    assert_eq!(with_state(&messages, "cancelled").len(), 3);
    let pending = with_state(&messages, "pending");
    assert_eq!(pending.len(), 3);
    assert_eq!(pending[0]["send_at"], "2026-12-04T10:00:00Z");
    let old = with_state(&messages, "cancelled")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = json_of(app.get(&format!("/v1/messages/{old}")).await, 200).await;
    let history = detail["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["from"], "pending");
    assert_eq!(history[1]["to"], "cancelled");
    assert!(
        history[1]["reason"].as_str().unwrap().contains("moved"),
        "{history:?}"
    );
}

#[tokio::test]
async fn a_cancelled_liberation_cancels_every_waiting_text() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let event = liberate(&app, &person, "2026-12-01").await;
    let path = format!(
        "/v1/people/{person}/events/{}",
        event["id"].as_str().unwrap()
    );
    json_of(
        app.send_json(Method::PATCH, &path, &json!({ "status": "cancelled" }))
            .await,
        200,
    )
    .await;
    let messages = app.messages_of(&person).await;
    assert_eq!(with_state(&messages, "cancelled").len(), 3, "{messages:?}");
}

#[tokio::test]
async fn an_appointment_gets_a_reminder_the_evening_before_and_two_hours_before() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let appointment = json!({ "event_ref": "gp-1", "kind": "appointment", "starts_at": "2026-12-03T14:30:00Z", "appointment_type": "gp", "place": "Govan Health Centre" });
    json_of(app.post_event(&person, &appointment).await, 201).await;
    let messages = app.messages_of(&person).await;
    assert_eq!(
        summary(&messages),
        [
            (
                "appointment_day_before".into(),
                "2026-12-02T18:00:00Z".into(),
                "pending".into()
            ),
            (
                "appointment_two_hours".into(),
                "2026-12-03T12:30:00Z".into(),
                "pending".into()
            ),
        ]
    );
    let body = messages[0]["body"].as_str().unwrap();
    assert!(
        body.contains("2:30pm") && body.contains("Govan Health Centre"),
        "{body}"
    );
}

#[tokio::test]
async fn an_import_late_on_the_day_sends_now_if_still_useful_and_expires_otherwise() {
    let app = app_on("2026-12-01T13:00:00Z").await;
    let early = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &early, "2026-12-01").await;
    let gp = &app.messages_of(&early).await[0];
    assert_eq!(
        (gp["state"].as_str(), gp["send_at"].as_str()),
        (Some("pending"), Some("2026-12-01T13:00:00Z"))
    );

    app.clock.set(at("2026-12-01T19:00:00Z"));
    let late = app.add_person("SPS-2", "07400 123457").await;
    liberate(&app, &late, "2026-12-01").await;
    let gp = &app.messages_of(&late).await[0];
    assert_eq!(gp["template"], "gp_registration");
    assert_eq!(gp["state"], "expired");
    let detail = json_of(
        app.get(&format!("/v1/messages/{}", gp["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert!(
        detail["history"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("expiry"),
        "{detail}"
    );
}

#[tokio::test]
async fn texts_due_outside_sending_hours_wait_or_expire() {
    let app = spawn_app_at(
        at("2026-11-20T12:00:00Z"),
        &[("planner.send_window_start", "\"11:00\"")],
    )
    .await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    let messages = app.messages_of(&person).await;
    assert_eq!(
        messages[0]["send_at"], "2026-12-01T11:00:00Z",
        "10:00 waits for the 11:00 opening"
    );
    assert_eq!(messages[0]["due_at"], "2026-12-01T10:00:00Z");

    let early = json!({ "event_ref": "gp-1", "kind": "appointment", "starts_at": "2026-12-03T09:30:00Z", "appointment_type": "gp" });
    json_of(app.post_event(&person, &early).await, 201).await;
    let messages = app.messages_of(&person).await;
    let two_hours = messages
        .iter()
        .find(|m| m["template"] == "appointment_two_hours")
        .unwrap();
    assert_eq!(
        two_hours["state"], "expired",
        "07:30 cannot wait past its 08:30 expiry"
    );
}

#[tokio::test]
async fn the_daily_cap_counts_texts_from_every_organisation() {
    let app = spawn_app_at(at("2026-11-20T12:00:00Z"), &[("planner.daily_cap", "1")]).await;
    let mine = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &mine, "2026-12-01").await;
    let other = app.new_org_token("Health Board").await;
    let body = json!({ "external_ref": "HB-7", "first_name": "Alex", "mobile": MOBILE_A });
    let req = app.request(Method::POST, "/v1/people", Some(&other)).await;
    let theirs = json_of(req.json(&body).send().await.unwrap(), 201).await;
    let theirs = theirs["person"]["id"].as_str().unwrap().to_owned();
    let nudge =
        json!({ "template": "week_checkin", "send_at": "2026-12-01T12:00:00Z", "priority": 9 });
    let req = app
        .request(
            Method::POST,
            &format!("/v1/people/{theirs}/nudges"),
            Some(&other),
        )
        .await;
    let nudge = json_of(req.json(&nudge).send().await.unwrap(), 201).await;
    assert_eq!(
        nudge["send_at"], "2026-12-02T09:00:00Z",
        "the day is full: the less important text moves"
    );
    let gp = &app.messages_of(&mine).await[0];
    assert_eq!(gp["send_at"], "2026-12-01T10:00:00Z");
}

#[tokio::test]
async fn the_clocks_changing_neither_moves_nor_doubles_a_text() {
    let app = app_on("2026-01-10T12:00:00Z").await;
    let cases = [
        ("2026-03-28", "2026-03-28T10:00:00Z"),
        ("2026-03-29", "2026-03-29T09:00:00Z"),
        ("2026-10-24", "2026-10-24T09:00:00Z"),
        ("2026-10-25", "2026-10-25T10:00:00Z"),
    ];
    for (i, (date, expected)) in cases.iter().enumerate() {
        let person = app
            .add_person(&format!("SPS-{i}"), &format!("07400 12345{i}"))
            .await;
        liberate(&app, &person, date).await;
        let messages = app.messages_of(&person).await;
        let gp: Vec<_> = messages
            .iter()
            .filter(|m| m["template"] == "gp_registration")
            .collect();
        assert_eq!(gp.len(), 1, "{date}");
        assert_eq!(gp[0]["send_at"], *expected, "10:00 local on {date}");
    }
}

#[tokio::test]
async fn a_rule_added_later_applies_to_events_already_stored_and_a_disabled_one_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = std::fs::read_to_string("config/campaigns.toml").unwrap();
    let gp_rule = "[[rule]]\nid = \"liberation_gp_registration\"\nevent = \"liberation\"\noffset_days = 0\n\
                   send_at = \"10:00\"\ntemplate = \"gp_registration\"\nexpires_after_hours = 8\n";
    assert!(defaults.contains(
        "id = \"liberation_gp_registration\"\nevent = \"liberation\"\noffset_days = 0\n"
    ));
    let rules = dir.path().join("campaigns.toml");
    std::fs::write(&rules, gp_rule).unwrap();
    let rules_setting = format!("{:?}", rules.display().to_string());
    let app = spawn_app_at(
        at("2026-11-20T12:00:00Z"),
        &[("planner.campaigns_file", &rules_setting)],
    )
    .await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    assert_eq!(app.messages_of(&person).await.len(), 1);

    std::fs::write(&rules, &defaults).unwrap();
    let report = app.sweep().await;
    assert_eq!(report.created, 2);
    assert_eq!(
        with_state(&app.messages_of(&person).await, "pending").len(),
        3
    );

    let disabled = defaults.replacen(
        "goal = \"gp_registered\"\n",
        "goal = \"gp_registered\"\nenabled = false\n",
        1,
    );
    assert_ne!(disabled, defaults);
    std::fs::write(&rules, disabled).unwrap();
    assert_eq!(app.sweep().await.cancelled, 1);
    let messages = app.messages_of(&person).await;
    let cancelled = with_state(&messages, "cancelled");
    let detail = json_of(
        app.get(&format!(
            "/v1/messages/{}",
            cancelled[0]["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    assert!(
        detail["history"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_goal_reached_stops_the_nudges_that_served_it() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    let path = format!("/v1/people/{person}/outcomes");
    let body = json_of(
        app.send_json(Method::POST, &path, &json!({ "goal": "gp_registered" }))
            .await,
        200,
    )
    .await;
    assert_eq!(body["cancelled"], 1);
    let messages = app.messages_of(&person).await;
    let gp = messages
        .iter()
        .find(|m| m["template"] == "gp_registration")
        .unwrap();
    assert_eq!(gp["state"], "cancelled");
    assert_eq!(
        with_state(&messages, "pending").len(),
        2,
        "other texts carry on"
    );
    app.sweep().await;
    assert_eq!(
        with_state(&app.messages_of(&person).await, "pending").len(),
        2,
        "and it stays cancelled"
    );
}

#[tokio::test]
async fn a_nudge_is_checked_like_a_planned_text() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let path = format!("/v1/people/{person}/nudges");
    let cases = [
        (
            json!({ "template": "week_checkin", "send_at": "2026-11-19T12:00:00Z" }),
            "in the past",
        ),
        (
            json!({ "template": "week_checkin", "send_at": "2027-06-01T12:00:00Z" }),
            "days ahead",
        ),
        (
            json!({ "template": "no_such_text", "send_at": "2026-11-21T12:00:00Z" }),
            "no template",
        ),
        (
            json!({ "template": "week_checkin", "send_at": "2026-11-21T12:00:00" }),
            "time zone",
        ),
    ];
    for (input, expected) in cases {
        let body = app
            .send_json(Method::POST, &path, &input)
            .await
            .text()
            .await
            .unwrap();
        assert!(body.contains(expected), "{expected}: {body}");
    }
    let nudge = json_of(
        app.send_json(
            Method::POST,
            &path,
            &json!({ "template": "week_checkin", "send_at": "2026-11-21T12:00:00Z" }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(nudge["state"], "pending");
    assert_eq!(nudge["source"], "nudge");
    assert_eq!(app.messages_of(&person).await.len(), 1);
}

#[tokio::test]
async fn staff_cancel_a_waiting_text_once_and_only_their_own() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    let id = app.messages_of(&person).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.new_org_token("Other").await;
    let req = app
        .request(
            Method::POST,
            &format!("/v1/messages/{id}/cancel"),
            Some(&other),
        )
        .await;
    assert_eq!(req.send().await.unwrap().status(), 404);
    assert_eq!(
        app.request(Method::GET, &format!("/v1/messages/{id}"), Some(&other))
            .await
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let path = format!("/v1/messages/{id}/cancel");
    let cancelled = json_of(
        app.send_json(Method::POST, &path, &json!({ "reason": "moved away" }))
            .await,
        200,
    )
    .await;
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(
        app.send_json(Method::POST, &path, &json!({}))
            .await
            .status(),
        409
    );
    let detail = json_of(app.get(&format!("/v1/messages/{id}")).await, 200).await;
    assert_eq!(
        detail["history"][1]["reason"],
        "cancelled by staff: moved away"
    );
}

#[tokio::test]
async fn messages_are_filtered_by_state_and_time() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    liberate(&app, &person, "2026-12-01").await;
    let window = json_of(
        app.get("/v1/messages?from=2026-12-02T00:00:00Z&to=2026-12-05T00:00:00Z")
            .await,
        200,
    )
    .await;
    assert_eq!(window["messages"].as_array().unwrap().len(), 1);
    assert_eq!(window["messages"][0]["template"], "nhs_inform");
    let none = json_of(app.get("/v1/messages?state=sent").await, 200).await;
    assert_eq!(none["messages"], json!([]));
    assert_eq!(app.get("/v1/messages?state=lost").await.status(), 400);
}

#[tokio::test]
async fn a_text_that_would_reveal_too_much_is_suppressed_with_the_reason() {
    let app = app_on("2026-11-20T12:00:00Z").await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let appointment = json!({ "event_ref": "cpo-1", "kind": "appointment", "starts_at": "2026-12-03T14:30:00Z",
                              "appointment_type": "other", "place": "Glasgow Sheriff Court" });
    json_of(app.post_event(&person, &appointment).await, 201).await;
    let messages = app.messages_of(&person).await;
    assert!(
        messages.iter().all(|m| m["state"] == "suppressed"),
        "{messages:?}"
    );
    let history = app.history(messages[0]["id"].as_str().unwrap()).await;
    assert!(
        history[0]["reason"].as_str().unwrap().contains("\"court\""),
        "{history:?}"
    );
}

/// 1,500 people released on 1 December, of whom the first and the last, a
/// page of planning apart, share a number: that number.
async fn import_sharing_a_number_a_page_apart(app: &TestApp) -> PhoneNumber {
    let mut csv =
        String::from("external_ref,first_name,mobile,release_date,establishment,language\n");
    for i in 0..1_500u32 {
        let mobile = if i == 1_499 { 100_000 } else { 100_000 + i };
        csv.push_str(&format!(
            "SPS-{i},Alex,07400 {mobile},2026-12-01,HMP Barlinnie,en\n"
        ));
    }
    let summary = json_of(app.import("releases", csv).await, 200).await;
    assert_eq!(summary["created"], 1_500);
    PhoneNumber::parse("07400 100000").unwrap()
}

/// The texts a daily cap counts to `mobile`, in sending order.
async fn texts_to(app: &TestApp, mobile: &PhoneNumber) -> Vec<Message> {
    let since = at("2026-11-01T00:00:00Z");
    let mut texts = app
        .store
        .messages_to_numbers(std::slice::from_ref(mobile), since)
        .await
        .unwrap();
    texts.sort_by_key(|m| (m.send_at, m.id));
    texts
}

/// Planning walks events a thousand at a time and writes one page while it
/// drafts the next; a page's texts are still fitted with the texts the page
/// before planned to the same number.
#[tokio::test]
async fn a_number_shared_across_planning_pages_still_gets_one_text_a_day() {
    let app = spawn_app_at(at("2026-11-20T12:00:00Z"), &[("planner.daily_cap", "1")]).await;
    let shared = import_sharing_a_number_a_page_apart(&app).await;
    let planned = texts_to(&app, &shared).await;
    let days: Vec<_> = planned
        .iter()
        .filter(|m| m.state == MessageState::Pending)
        .map(|m| m.send_at.date_naive())
        .collect();
    let different: HashSet<_> = days.iter().collect();
    assert!(days.len() > 3, "both people have texts waiting: {days:?}");
    assert_eq!(
        different.len(),
        days.len(),
        "two texts on one day: {days:?}"
    );

    let report = app.sweep().await;
    assert_eq!(
        report,
        PlanReport::default(),
        "planning again changes nothing"
    );
    assert_eq!(texts_to(&app, &shared).await, planned);
}

/// A walk drafts each page while the page before is written; when that
/// write changes texts the draft had read (a number shared a page apart),
/// the page is drafted again from what was written.
#[tokio::test]
async fn a_text_the_page_before_expired_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    // Worth sending until 23:00 the day after it is due.
    let rule = |id: &str, template: &str, priority: u8| {
        format!(
            "[[rule]]\nid = \"{id}\"\nevent = \"liberation\"\noffset_days = 2\nsend_at = \"11:00\"\n\
             template = \"{template}\"\nexpires_after_hours = 36\npriority = {priority}\n"
        )
    };
    let first = rule("liberation_nhs_inform", "nhs_inform", 3);
    let rules = dir.path().join("campaigns.toml");
    std::fs::write(&rules, &first).unwrap();
    let rules_setting = format!("{:?}", rules.display().to_string());
    let settings = [
        ("planner.campaigns_file", rules_setting.as_str()),
        ("planner.daily_cap", "1"),
    ];
    let app = spawn_app_at(at("2026-11-20T12:00:00Z"), &settings).await;
    let shared = import_sharing_a_number_a_page_apart(&app).await;
    let texts = async || {
        let texts = texts_to(&app, &shared).await;
        let day = |m: &Message| m.send_at.date_naive().to_string();
        texts
            .iter()
            .map(|m| (m.template.to_string(), m.state, day(m)))
            .collect::<Vec<_>>()
    };
    let waiting =
        |template: &str, day: &str| (template.to_owned(), MessageState::Pending, day.to_owned());
    let before = [
        waiting("nhs_inform", "2026-12-03"),
        waiting("nhs_inform", "2026-12-04"),
    ];
    assert_eq!(texts().await, before, "one text a day to the shared number");

    // A more important text on the same day for everyone. The first page's plan
    // expires the last person's stored text (no day left before 23:00 the
    // day after), while the second page, which holds that text, is drafted.
    let second = rule("liberation_gp_registration", "gp_registration", 1);
    std::fs::write(&rules, format!("{first}\n{second}")).unwrap();
    let report = app.sweep().await;
    let after = [
        waiting("gp_registration", "2026-12-03"),
        waiting("gp_registration", "2026-12-04"),
    ];
    assert_eq!(texts().await, after, "the important texts go, one a day");
    let expected = PlanReport {
        created: 1_500,
        expired: 2,
        ..PlanReport::default()
    };
    assert_eq!(report, expected, "each expired text counted once");
    assert_eq!(
        app.sweep().await,
        PlanReport::default(),
        "planning again changes nothing"
    );
}
