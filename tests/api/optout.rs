//! STOP, START, HELP and other replies, end to end through the real HTTP
//! server, the inbound webhook and the dispatcher.

use homeward::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    HOOK_SECRET, MOBILE_A, MOBILE_A_E164, TestApp, json_of, spawn_app_with_fake_provider,
    spawn_app_with_hook,
};

const NOW: &str = "2026-12-01T10:00:00Z";

async fn app() -> (TestApp, MockServer) {
    spawn_app_with_fake_provider(NOW).await
}

async fn released_today(app: &TestApp) -> String {
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let event = json!({ "event_ref": "liberation", "kind": "liberation", "date": "2026-12-01" });
    json_of(app.post_event(&person, &event).await, 201).await;
    person
}

async fn sent_texts(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["body"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn person_json(app: &TestApp, person: &str) -> Value {
    json_of(app.get(&format!("/v1/people/{person}")).await, 200).await
}

#[tokio::test]
async fn stop_reply_suppresses_every_pending_reminder_and_is_confirmed_once() {
    let (app, server) = app().await;
    let person = released_today(&app).await;
    assert_eq!(app.text_in("in-1", "Stop.").await.status(), 200);
    assert_eq!(person_json(&app, &person).await["opted_out"], true);

    let round = app.dispatch_all_pending().await;
    assert_eq!(
        (round.sent, round.suppressed),
        (1, 1),
        "the confirmation goes; the GP text does not"
    );
    let texts = sent_texts(&server).await;
    assert_eq!(texts.len(), 1);
    assert!(
        texts[0].to_lowercase().contains("start"),
        "the confirmation says how to resume: {}",
        texts[0]
    );

    app.text_in("in-2", "STOP").await;
    app.dispatch_all_pending().await;
    assert_eq!(
        sent_texts(&server).await.len(),
        1,
        "no second confirmation the same day"
    );

    app.clock.advance(chrono::Duration::days(2));
    app.dispatch_all_pending().await;
    assert_eq!(
        sent_texts(&server).await.len(),
        1,
        "later reminders stay suppressed"
    );
}

#[tokio::test]
async fn start_resubscribes_and_later_texts_go_again() {
    let (app, server) = app().await;
    let person = released_today(&app).await;
    app.text_in("in-1", "STOP").await;
    app.dispatch_all_pending().await;
    app.text_in("in-2", "start").await;
    assert_eq!(person_json(&app, &person).await["opted_out"], false);
    app.dispatch_all_pending().await;
    app.clock
        .advance(chrono::Duration::days(2) + chrono::Duration::hours(1));
    app.dispatch_all_pending().await;
    let texts = sent_texts(&server).await;
    // The GP text stopped by the opt-out was still worth sending that day.
    assert_eq!(
        texts.len(),
        4,
        "STOP and START confirmations, the GP text, the day-2 text: {texts:?}"
    );
    assert!(
        texts[2].contains("doctor (GP)") && texts[3].contains("NHS inform"),
        "{texts:?}"
    );
}

#[tokio::test]
async fn only_an_opt_in_word_resubscribes() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    app.text_in("in-1", "STOP").await;
    for (i, text) in ["ok", "thanks", "START please", "\u{0405}TART"]
        .iter()
        .enumerate()
    {
        app.text_in(&format!("in-x{i}"), text).await;
    }
    assert_eq!(person_json(&app, &person).await["opted_out"], true);
}

#[tokio::test]
async fn a_stop_hidden_by_invisible_characters_still_opts_out() {
    for (i, text) in ["\u{2060}STOP", "STO\u{AD}P", "\u{FEFF}stop\u{200B}"]
        .iter()
        .enumerate()
    {
        let (app, _server) = app().await;
        let person = released_today(&app).await;
        assert_eq!(app.text_in(&format!("in-{i}"), text).await.status(), 200);
        assert_eq!(
            person_json(&app, &person).await["opted_out"],
            true,
            "{text:?}"
        );
    }
}

#[tokio::test]
async fn a_stop_word_with_punctuation_in_a_longer_reply_goes_to_staff_as_stop_like() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    for (i, text) in [
        "Stop. Cheers",
        "STOP!thanks",
        "S\u{336}T\u{336}O\u{336}P\u{336}",
    ]
    .iter()
    .enumerate()
    {
        app.text_in(&format!("in-{i}"), text).await;
    }
    let log = json_of(app.get(&format!("/v1/people/{person}/inbound")).await, 200).await;
    let intents: Vec<&Value> = log["inbound"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["intent"])
        .collect();
    assert_eq!(intents, [&json!("stop_like"); 3], "{log}");
    let items = json_of(app.get("/v1/attention").await, 200).await["items"].clone();
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] == "stop_like"),
        "{items}"
    );
}

#[tokio::test]
async fn start_with_punctuation_leaves_the_number_opted_out_and_asks_staff() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    app.text_in("in-1", "STOP").await;
    for (i, text) in ["Start!!", "yes..", "UNSTOP.", "\u{FF39}\u{FF25}\u{FF33}"]
        .iter()
        .enumerate()
    {
        assert_eq!(app.text_in(&format!("in-x{i}"), text).await.status(), 200);
        assert_eq!(
            person_json(&app, &person).await["opted_out"],
            true,
            "{text:?} must not re-subscribe"
        );
    }
    let items = json_of(app.get("/v1/attention").await, 200).await["items"].clone();
    let start_like = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "start_like")
        .count();
    assert_eq!(start_like, 4, "{items}");

    app.text_in("in-2", "start").await;
    assert_eq!(person_json(&app, &person).await["opted_out"], false);
}

#[tokio::test]
async fn asking_who_is_texting_gets_the_help_reply_and_tells_staff() {
    let (app, server) = app().await;
    let person = released_today(&app).await;
    app.dispatch_all_pending().await;
    let before = sent_texts(&server).await.len();
    assert_eq!(app.text_in("in-1", "who's this?").await.status(), 200);
    app.dispatch_all_pending().await;
    let texts = sent_texts(&server).await;
    assert_eq!(texts.len(), before + 1, "{texts:?}");
    assert!(texts[before].contains("0800 22 44 88"), "{texts:?}");
    let items = json_of(app.get("/v1/attention").await, 200).await["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["kind"], "who_is_this");
    assert_eq!(items[0]["person_id"], person.as_str());
    assert_eq!(person_json(&app, &person).await["opted_out"], false);
}

#[tokio::test]
async fn help_gets_a_helpful_answer() {
    let (app, server) = app().await;
    released_today(&app).await;
    app.text_in("in-1", "HELP").await;
    app.dispatch_all_pending().await;
    let texts = sent_texts(&server).await;
    assert!(
        texts.iter().any(|t| t.contains("0800 22 44 88")),
        "{texts:?}"
    );
}

#[tokio::test]
async fn a_replayed_webhook_is_processed_once() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    app.text_in("in-1", "who is this?").await;
    app.text_in("in-1", "who is this?").await;
    let log = json_of(app.get(&format!("/v1/people/{person}/inbound")).await, 200).await;
    assert_eq!(log["inbound"].as_array().unwrap().len(), 1);
    assert_eq!(log["inbound"][0]["intent"], "who_is_this");
    let attention = json_of(app.get("/v1/attention").await, 200).await;
    assert_eq!(attention["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_forged_webhook_is_refused_and_changes_nothing() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    let inbound = json!({ "id": "in-1", "from": MOBILE_A_E164, "to": "x", "text": "STOP" });
    assert_eq!(
        app.hook_webhook("inbound", &inbound, "not-the-secret")
            .await
            .status(),
        403
    );
    let unsigned = app
        .request(Method::POST, "/webhooks/hook/inbound", None)
        .await
        .json(&inbound)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(person_json(&app, &person).await["opted_out"], false);
    assert_eq!(
        app.request(Method::POST, "/webhooks/nobody/inbound", None)
            .await
            .json(&inbound)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn wrong_number_pauses_the_person_and_asks_staff_to_look() {
    let (app, server) = app().await;
    let person = released_today(&app).await;
    app.text_in("in-1", "sorry, wrong number").await;
    assert!(person_json(&app, &person).await["number_paused_since"].is_string());
    app.dispatch_all_pending().await;
    assert_eq!(
        sent_texts(&server).await.len(),
        0,
        "no text goes to a paused number"
    );
    let items = json_of(app.get("/v1/attention").await, 200).await["items"].clone();
    assert_eq!(items[0]["kind"], "wrong_number");
    let id = items[0]["id"].as_str().unwrap();
    let path = format!("/v1/attention/{id}/resolve");
    json_of(
        app.send_json(
            Method::POST,
            &path,
            &json!({ "note": "called, new number taken" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        app.send_json(Method::POST, &path, &json!({}))
            .await
            .status(),
        409
    );
    assert_eq!(
        json_of(app.get("/v1/attention").await, 200).await["items"],
        json!([])
    );
}

#[tokio::test]
async fn stop_like_text_goes_to_staff_without_opting_out() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    app.text_in("in-1", "please stop texting me").await;
    assert_eq!(person_json(&app, &person).await["opted_out"], false);
    let items = json_of(app.get("/v1/attention").await, 200).await["items"].clone();
    assert_eq!(items[0]["kind"], "stop_like");
}

#[tokio::test]
async fn an_opt_out_survives_a_reimport() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    app.text_in("in-1", "STOP").await;
    let csv = "external_ref,first_name,mobile,release_date\nSPS-1,Alex,07400 123456,2026-12-01\n";
    json_of(app.import("releases", csv).await, 200).await;
    let moved = "external_ref,first_name,mobile,release_date\nSPS-1,Alex,07400 123456,2026-12-05\n";
    json_of(app.import("releases", moved).await, 200).await;
    assert_eq!(person_json(&app, &person).await["opted_out"], true);
    let messages = app.messages_of(&person).await;
    let planned_after: Vec<_> = messages
        .iter()
        .filter(|m| m["due_at"].as_str().unwrap() >= "2026-12-05" && m["state"] != "cancelled")
        .collect();
    assert!(
        planned_after.iter().all(|m| m["state"] == "suppressed"),
        "{planned_after:?}"
    );
}

#[tokio::test]
async fn staff_see_and_manage_only_their_own_peoples_opt_outs() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    let body = json!({ "person_id": person, "reason": "asked at the front desk" });
    json_of(app.send_json(Method::POST, "/v1/optouts", &body).await, 201).await;
    let listed = json_of(app.get("/v1/optouts").await, 200).await;
    assert_eq!(listed["optouts"][0]["people"], json!([person]));
    assert!(
        !listed.to_string().contains(&MOBILE_A_E164[3..]),
        "only the keyed hash of a number is kept: {listed}"
    );

    let other_org = app.new_org("Other").await;
    let other = app.new_token(other_org, Role::Admin).await;
    let theirs = json_of(
        app.request(Method::GET, "/v1/optouts", Some(&other))
            .await
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(theirs["optouts"], json!([]));
    let req = app
        .request(
            Method::DELETE,
            &format!("/v1/optouts/{person}"),
            Some(&other),
        )
        .await;
    assert_eq!(
        req.json(&json!({ "reason": "x" }))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let path = format!("/v1/optouts/{person}");
    let reason = json!({ "reason": "confirmed by phone" });
    let as_staff = app.send_json(Method::DELETE, &path, &reason).await;
    assert_eq!(
        as_staff.status(),
        403,
        "only an admin may remove an opt-out"
    );
    let admin = &app.admin_token;
    assert_eq!(
        app.send_json_as(admin, Method::DELETE, &path, &json!({ "reason": " " }))
            .await
            .status(),
        422
    );
    json_of(
        app.send_json_as(admin, Method::DELETE, &path, &reason)
            .await,
        200,
    )
    .await;
    assert_eq!(person_json(&app, &person).await["opted_out"], false);
}

#[tokio::test]
async fn a_stop_that_arrives_while_a_text_waits_on_the_rate_limit_stops_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let slow = [
        ("providers.hook.rate_per_second", "1"),
        ("providers.hook.burst", "1"),
    ];
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &slow).await;
    for (i, mobile) in ["07400 123400", MOBILE_A].iter().enumerate() {
        let person = app.add_person(&format!("SPS-{i}"), mobile).await;
        let event =
            json!({ "event_ref": "liberation", "kind": "liberation", "date": "2026-12-01" });
        json_of(app.post_event(&person, &event).await, 201).await;
    }
    let dispatcher = app.dispatcher.clone();
    let sending =
        tokio::spawn(async move { dispatcher.run_once(&Default::default()).await.unwrap() });
    while server.received_requests().await.unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    // One text is out; the other now waits about a second for the limiter.
    let first: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let waiting_for = if first["to"] == MOBILE_A_E164 {
        "+447400123400"
    } else {
        MOBILE_A_E164
    };
    let inbound = json!({ "id": "in-1", "from": waiting_for, "to": "x", "text": "STOP" });
    assert_eq!(
        app.hook_webhook("inbound", &inbound, HOOK_SECRET)
            .await
            .status(),
        200
    );
    let round = sending.await.unwrap();
    assert_eq!((round.sent, round.suppressed), (1, 1));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn people_whose_texts_stop_arriving_are_put_on_the_attention_list() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    app.dispatch_all_pending().await;
    let planner =
        homeward::startup::build_planner(&app.settings, app.store.clone(), app.clock.clone())
            .unwrap();
    let replies = homeward::optout::Replies::new(
        app.store.clone(),
        app.clock.clone(),
        planner,
        &app.settings.optout,
    );
    assert_eq!(
        replies.flag_silent(14).await.unwrap(),
        0,
        "too soon to tell"
    );
    app.clock.advance(chrono::Duration::days(15));
    assert_eq!(replies.flag_silent(14).await.unwrap(), 1);
    replies.flag_silent(14).await.unwrap();
    let items = json_of(app.get("/v1/attention").await, 200).await["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "raised once: {items}");
    assert_eq!(items[0]["kind"], "no_delivery");
    assert_eq!(items[0]["person_id"], person.as_str());
}

#[tokio::test]
async fn the_attention_list_comes_a_page_at_a_time_and_says_what_is_wrong_with_a_bad_page() {
    let (app, _server) = app().await;
    released_today(&app).await;
    for i in 0..5 {
        let reply = format!("who is this? ({i})");
        assert_eq!(app.text_in(&format!("in-{i}"), &reply).await.status(), 200);
    }
    let everything = json_of(app.get("/v1/attention").await, 200).await;
    let all_ids: Vec<Value> = everything["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(all_ids.len(), 5, "{everything}");
    assert_eq!(everything["next_after"], Value::Null, "one page holds them");
    let exactly = json_of(app.get("/v1/attention?limit=5").await, 200).await;
    assert_eq!(
        exactly["next_after"],
        Value::Null,
        "no page after a full last one"
    );

    let mut paged = Vec::new();
    let mut path = "/v1/attention?limit=2".to_owned();
    loop {
        let page = json_of(app.get(&path).await, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        paged.extend(items.iter().map(|i| i["id"].clone()));
        match page["next_after"].as_str() {
            Some(after) => path = format!("/v1/attention?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(
        paged, all_ids,
        "the pages join up in the same order, none twice"
    );

    for (query, named) in [
        ("limit=0", "limit 0"),
        ("limit=501", "limit 501"),
        ("after=no-such-item", "no-such-item"),
    ] {
        let answer = app.get(&format!("/v1/attention?{query}")).await;
        let body = json_of(answer, 400).await;
        assert!(body.to_string().contains(named), "{query}: {body}");
    }
}
