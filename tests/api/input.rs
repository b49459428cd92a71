//! Input checking end to end: what staff and files send is read the way a
//! person meant it, and refused, naming the field, where it cannot be texted.

use reqwest::Method;
use serde_json::{Value, json};

use homeward::domain::PhoneNumber;

use crate::helpers::{
    HOOK_SECRET, MOBILE_A, TestApp, at, json_of, spawn_app, spawn_app_at, spawn_app_with,
    spawn_app_with_hook,
};

fn person(first_name: &str, mobile: &str) -> Value {
    json!({ "external_ref": "SPS-1001", "first_name": first_name, "mobile": mobile })
}

/// The first field error of a 422 answer: its field and reason.
async fn refusal(response: reqwest::Response) -> (String, String) {
    let body = json_of(response, 422).await;
    let field = &body["fields"][0];
    let text = |k: &str| field[k].as_str().unwrap_or_default().to_owned();
    (text("field"), text("reason"))
}

#[tokio::test]
async fn a_mobile_written_in_arabic_indic_digits_is_stored_in_e164() {
    let app = spawn_app().await;
    // 07911 123459 in Arabic-Indic and Extended Arabic-Indic digits, with
    // the direction marks copying from a right-to-left text brings along.
    for (i, typed) in [
        "\u{200F}٠٧٩١١ ١٢٣٤٥٩\u{200F}",
        "۰۷۹۱۱ ۱۲۳۴۵۹",
        "०७९११ १२३४५९",
    ]
    .into_iter()
    .enumerate()
    {
        let body =
            json!({ "external_ref": format!("SPS-{i}"), "first_name": "Amal", "mobile": typed });
        let created = json_of(app.post_person(&body).await, 201).await;
        assert_eq!(created["person"]["mobile"], "+447911123459", "{typed}");
    }
}

#[tokio::test]
async fn a_number_from_another_country_is_refused_naming_the_country() {
    let app = spawn_app().await;
    let cases = [
        ("+1 201 555 0123", "the United States (US)"),
        ("+33 6 12 34 56 78", "France (FR)"),
    ];
    for (typed, country) in cases {
        let (field, reason) = refusal(app.post_person(&person("Alex", typed)).await).await;
        assert_eq!(field, "mobile");
        assert!(reason.contains(country), "{reason}");
        assert!(reason.contains("GB, GG, JE, IM"), "{reason}");
        assert!(reason.contains("ingest.allowed_regions"), "{reason}");
    }
    // A Jersey mobile is a UK number in all but name.
    let body = json_of(app.post_person(&person("Alex", "07797 123456")).await, 201).await;
    assert_eq!(body["person"]["mobile"], "+447797123456");
}

#[tokio::test]
async fn allowed_countries_and_numbers_that_may_be_landlines_follow_the_configuration() {
    let app = spawn_app_with(&[("ingest.allowed_regions", "[\"GB\", \"US\"]")]).await;
    let (_, reason) = refusal(app.post_person(&person("Alex", "+1 201 555 0123")).await).await;
    assert!(reason.contains("may be a landline"), "{reason}");
    let app = spawn_app_with(&[
        ("ingest.allowed_regions", "[\"GB\", \"US\"]"),
        ("ingest.accept_fixed_line_or_mobile", "true"),
    ])
    .await;
    let body = json_of(
        app.post_person(&person("Alex", "+1 201 555 0123")).await,
        201,
    )
    .await;
    assert_eq!(body["person"]["mobile"], "+12015550123");
}

#[tokio::test]
async fn a_stop_from_a_number_outside_the_allowed_countries_still_counts() {
    let app = spawn_app_with_hook("2026-11-20T12:00:00Z", "http://127.0.0.1:9/sms", &[]).await;
    let inbound =
        json!({ "id": "in-1", "from": "+33612345678", "to": "+447400000001", "text": "STOP" });
    let response = app.hook_webhook("inbound", &inbound, HOOK_SECRET).await;
    assert!(response.status().is_success(), "{}", response.status());
    let french = PhoneNumber::parse("+33 6 12 34 56 78").unwrap();
    let suppression = app.store.suppression(&french).await.unwrap();
    assert!(suppression.is_some(), "the STOP was recorded");
}

#[tokio::test]
async fn a_name_with_a_decomposed_accent_is_accepted_and_stored_composed() {
    let app = spawn_app().await;
    let body = json_of(app.post_person(&person("Sea\u{301}n", MOBILE_A)).await, 201).await;
    assert_eq!(body["person"]["first_name"], "Seán");
    let again = json_of(app.post_person(&person("Seán", MOBILE_A)).await, 200).await;
    assert_eq!(again["outcome"], "unchanged");
}

async fn appointment_with_place(app: &TestApp, person: &str, place: &str) -> reqwest::Response {
    let event = json!({
        "event_ref": "gp-1", "kind": "appointment", "appointment_type": "gp",
        "starts_at": "2026-12-03T14:30:00Z", "place": place,
    });
    app.post_event(person, &event).await
}

#[tokio::test]
async fn a_place_that_a_text_cannot_carry_is_refused_and_nothing_is_planned() {
    let app = spawn_app_at(at("2026-11-20T12:00:00Z"), &[]).await;
    let id = app.add_person("SPS-1", MOBILE_A).await;
    let cases = [
        ("Govan \u{202E}ertneC htlaeH", "direction character"),
        ("Govan Health Centre 🏥", "emoji or symbol"),
        ("=HYPERLINK(\"http://x.example\",\"Govan\")", "formula"),
        ("Govan\u{200B}Health", "U+200B"),
    ];
    for (place, problem) in cases {
        let response = appointment_with_place(&app, &id, place).await;
        let text = response.text().await.unwrap();
        assert!(text.contains("\"field\":\"place\""), "{text}");
        assert!(text.contains(problem), "{problem}: {text}");
        assert!(!text.contains("Govan"), "the place is not echoed: {text}");
    }
    assert_eq!(app.messages_of(&id).await, Vec::<Value>::new());
    let fine = appointment_with_place(&app, &id, "Govan Health Centre, Room 2").await;
    json_of(fine, 201).await;
    assert_eq!(app.messages_of(&id).await.len(), 2);
}

#[tokio::test]
async fn a_nudge_variable_is_checked_like_a_place() {
    let app = spawn_app_at(at("2026-11-20T12:00:00Z"), &[]).await;
    let id = app.add_person("SPS-1", MOBILE_A).await;
    let nudge = json!({
        "template": "appointment_cancelled", "send_at": "2026-11-21T12:00:00Z",
        "variables": { "service": "=HYPERLINK(\"x\")", "appointment_day": "Monday 😀" },
    });
    let path = format!("/v1/people/{id}/nudges");
    let body = json_of(app.send_json(Method::POST, &path, &nudge).await, 422).await;
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["variables.appointment_day", "variables.service"]);
    assert!(!body.to_string().contains("HYPERLINK"), "{body}");
    assert_eq!(app.messages_of(&id).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_nudge_with_a_template_homeward_sends_itself_is_refused() {
    let app = spawn_app_at(at("2026-11-20T12:00:00Z"), &[]).await;
    let id = app.add_person("SPS-1", MOBILE_A).await;
    let path = format!("/v1/people/{id}/nudges");
    for template in ["help_reply", "optout_confirmation", "optin_confirmation"] {
        let nudge = json!({ "template": template, "send_at": "2026-11-21T12:00:00Z" });
        let body = json_of(app.send_json(Method::POST, &path, &nudge).await, 422).await;
        let field = &body["fields"][0];
        assert_eq!(field["field"], "template");
        assert_eq!(field["value"], template);
        let reason = field["reason"].as_str().unwrap();
        assert!(
            reason.contains("week_checkin"),
            "lists nudgeable ones: {reason}"
        );
        assert!(!reason.contains("help_reply"), "{reason}");
    }
    assert_eq!(app.messages_of(&id).await, Vec::<Value>::new());
}

#[tokio::test]
async fn an_unknown_goal_is_refused_listing_the_known_ones() {
    let app = spawn_app_with(&[("planner.extra_goals", "[\"housed\"]")]).await;
    let id = app.add_person("SPS-1", MOBILE_A).await;
    let path = format!("/v1/people/{id}/outcomes");
    let response = app
        .send_json(Method::POST, &path, &json!({ "goal": "escaped" }))
        .await;
    let (field, reason) = refusal(response).await;
    assert_eq!(field, "goal");
    assert!(reason.contains("gp_registered, housed"), "{reason}");
    for goal in ["gp_registered", "housed"] {
        let response = app
            .send_json(Method::POST, &path, &json!({ "goal": goal }))
            .await;
        json_of(response, 200).await;
    }
}

#[tokio::test]
async fn a_file_of_numbers_kept_as_text_by_a_spreadsheet_imports() {
    let app = spawn_app().await;
    let csv = concat!(
        "external_ref,first_name,mobile,release_date\n",
        "SPS-1,Ann,'07911 123459,2026-12-01\n",
        "SPS-2,Bea,=\"07911123458\",2026-12-01\n",
        "SPS-3,Cat,\"=\"\"07911123457\"\"\",2026-12-01\n",
        "SPS-4,Dee,\u{FEFF}07911\u{00AD}123456,2026-12-01\n",
    );
    let summary = json_of(app.import("releases", csv).await, 200).await;
    assert_eq!(summary["created"], 4, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    let people = json_of(app.get("/v1/people").await, 200).await;
    let mut mobiles: Vec<&str> = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["mobile"].as_str().unwrap())
        .collect();
    mobiles.sort_unstable();
    assert_eq!(
        mobiles,
        [
            "+447911123456",
            "+447911123457",
            "+447911123458",
            "+447911123459"
        ]
    );
}
