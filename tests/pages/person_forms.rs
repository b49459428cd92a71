//! Changing a person from their page: details, a release moved or
//! cancelled, an appointment added, an outcome recorded; each page says
//! what changed in the person's texts.

use axum::http::StatusCode;
use homeward::domain::OrgName;

use crate::check_page;
use crate::harness::{Browser, MOBILE, Page, Pages};

async fn person_page(browser: &mut Browser<'_>) -> (String, Page) {
    let person = browser.get("/people").await.attrs("tbody a", "href")[0].clone();
    let page = browser.get(&person).await;
    (person, page)
}

/// Submit the form at `path` and follow the redirect to the person's page.
async fn change(browser: &mut Browser<'_>, path: &str, fields: &[(&str, &str)]) -> Page {
    let form = browser.get(path).await;
    assert_eq!(form.status, StatusCode::OK, "{path}");
    check_page(&form);
    let done = browser.submit(&form, path, fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let (_, query) = done.location().split_once('?').unwrap();
    let keys: Vec<&str> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        ["saved", "planned", "moved", "cancelled"],
        "only counts in the address"
    );
    browser.get(done.location()).await
}

#[tokio::test]
async fn moving_a_release_says_the_texts_moved_and_cancelling_it_says_they_were_cancelled() {
    let pages = Pages::start().await;
    let (mut staff, _) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let (_, page) = person_page(&mut staff).await;
    let release = page.attrs("tbody a[href*='/events/']", "href")[0].clone();
    let before = page.texts("tbody a[href^='/texts/']").len();
    assert!(before > 0, "today's release planned texts");

    let moved = change(
        &mut staff,
        &release,
        &[("date", "2026-12-10"), ("action", "save")],
    )
    .await;
    check_page(&moved);
    let said = moved.text(".ds_confirmation-message");
    assert!(
        said.contains("moved") && !said.contains("cancelled"),
        "{said}"
    );
    assert!(
        moved.text("main").contains("Thursday 10 December"),
        "the new date is shown"
    );

    let cancelled = change(&mut staff, &release, &[("action", "cancel")]).await;
    let said = cancelled.text(".ds_confirmation-message");
    assert!(said.contains("cancelled"), "{said}");
    assert!(cancelled.text("tbody").contains("Cancelled"));
}

#[tokio::test]
async fn an_appointment_added_plans_its_reminders_and_a_bad_time_is_named() {
    let pages = Pages::start().await;
    let (mut staff, _) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let (person, _) = person_page(&mut staff).await;
    let path = format!("{person}/appointments");
    let form = staff.get(&path).await;
    let refused = staff
        .submit(
            &form,
            &path,
            &[
                ("appointment_type", "gp"),
                ("date", "2026-12-11"),
                ("time", "25:99"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK);
    assert_eq!(refused.attrs(".ds_error-summary a", "href"), ["#time"]);
    assert_eq!(
        refused.attrs("#date", "value"),
        ["2026-12-11"],
        "values are kept"
    );
    let fields = [
        ("appointment_type", "gp"),
        ("date", "2026-12-11"),
        ("time", "14:30"),
        ("place", "Main Street Surgery"),
    ];
    let page = change(&mut staff, &path, &fields).await;
    let said = page.text(".ds_confirmation-message");
    assert!(said.contains("new text"), "{said}");
    assert!(page.text("tbody").contains("Appointment: Doctor (GP)"));
    assert!(page.text("tbody").contains("Main Street Surgery"));
}

#[tokio::test]
async fn details_and_outcomes_are_saved_and_bad_details_are_named_and_kept() {
    let pages = Pages::start().await;
    let (mut staff, _) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let (person, _) = person_page(&mut staff).await;
    let path = format!("{person}/details");
    let form = staff.get(&path).await;
    assert_eq!(form.attrs("#first_name", "value"), ["Alex"]);
    let bad = [
        ("first_name", "Alex"),
        ("mobile", "0141 496 0000"),
        ("language", "en"),
    ];
    let refused = staff.submit(&form, &path, &bad).await;
    assert_eq!(refused.attrs(".ds_error-summary a", "href"), ["#mobile"]);
    assert_eq!(refused.attrs("#mobile", "value"), ["0141 496 0000"]);
    let good = [
        ("first_name", "Alexandra"),
        ("mobile", "07400 123459"),
        ("language", "pl"),
    ];
    let page = change(&mut staff, &path, &good).await;
    assert_eq!(
        page.text(".ds_confirmation-message__title"),
        "Details saved"
    );
    assert!(page.text("h1").starts_with("Alexandra"));

    let page = change(
        &mut staff,
        &format!("{person}/outcome"),
        &[("goal", "gp_registered")],
    )
    .await;
    assert_eq!(
        page.text(".ds_confirmation-message__title"),
        "Outcome recorded"
    );
    assert!(page.text("main").contains("Registered with a GP"));
}

#[tokio::test]
async fn changes_need_the_token_and_stay_in_their_organisation() {
    let pages = Pages::start().await;
    let (mut staff, _) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let (person, _) = person_page(&mut staff).await;
    let path = format!("{person}/details");
    let forged = staff.post_forged(&path, &[("first_name", "Eve")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let name = OrgName::parse("Another team").unwrap();
    let now = homeward::clock::Clock::now(pages.clock.as_ref());
    let other = pages.store.create_org(&name, now).await.unwrap().id;
    let mut stranger = pages
        .member(other, "kim@example.org", homeward::domain::Role::Admin)
        .await;
    for path in [
        path.clone(),
        format!("{person}/outcome"),
        format!("{person}/appointments"),
        format!("{person}/nudge"),
        format!("{person}/stop-texts"),
        format!("{person}/allow-texts"),
    ] {
        assert_eq!(
            stranger.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let page = stranger.get("/people").await;
    let posted = stranger
        .submit(&page, &path, &[("first_name", "Eve")])
        .await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert!(staff.get(&person).await.text("h1").starts_with("Alex "));
}
