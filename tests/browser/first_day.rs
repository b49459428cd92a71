//! A worker's first day: set up, sign in, find a person, open a text, the
//! inbox, sign out; with and without JavaScript.

use fantoccini::Locator;

use crate::harness::{Browser, Daemon, Driver, JavaScript, PASSWORD, chromedriver};

#[tokio::test]
async fn a_worker_signs_in_finds_a_person_opens_a_text_and_signs_out() {
    journey(JavaScript::On).await;
}

#[tokio::test]
async fn the_same_journey_works_without_javascript() {
    journey(JavaScript::Off).await;
}

async fn journey(js: JavaScript) {
    let Some(driver) = chromedriver() else { return };
    let daemon = Daemon::start().await;
    let driver = Driver::start(&driver).await;
    let browser = Browser::open(&driver, js).await;
    let base = &daemon.base;

    // The first-run link creates the first admin, who lands on Today.
    browser.visit(&daemon.setup_link, "setup").await;
    browser.expect_heading("Set up Homeward", "setup").await;
    browser
        .fill(&[
            ("organisation", "Throughcare North"),
            ("email", "admin@example.org"),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
        ])
        .await;
    browser.press("Create account").await;
    browser.expect_heading("Today", "today").await;
    daemon
        .import_released_today(&["SPS-1001,Alex", "SPS-1002,Robin"])
        .await;

    // Signed out and in again, as a worker does each morning.
    browser.sign_out().await;
    browser.expect_heading("Sign in", "sign-in").await;
    browser
        .fill(&[("email", "admin@example.org"), ("password", PASSWORD)])
        .await;
    browser.press("Sign in").await;
    browser.expect_heading("Today", "today").await;
    assert!(
        browser.main_text().await.contains("SPS-1002"),
        "Today lists who is released"
    );

    // Find a person by their reference, open their page and a text.
    browser.visit(&format!("{base}/people"), "people").await;
    browser.fill(&[("query", "SPS-1002")]).await;
    browser.press("Search").await;
    browser.expect_heading("Search results", "search").await;
    browser.follow("SPS-1002").await;
    browser.expect_heading("Robin (SPS-1002)", "person").await;
    browser
        .click(Locator::Css("tbody a[href^='/texts/']"))
        .await;
    browser
        .expect_heading("Text to Robin (SPS-1002)", "text")
        .await;
    for (path, heading) in [
        ("/attention", "Needs attention"),
        ("/opt-outs", "Opt-outs"),
        ("/account", "Your account"),
        ("/admin/users", "Staff accounts"),
    ] {
        browser.visit(&format!("{base}{path}"), heading).await;
        browser
            .expect_heading(heading, &heading.to_lowercase().replace(' ', "-"))
            .await;
    }

    // A reply is waiting in the inbox: answer it, with a double click.
    daemon.raise_reply("SPS-1001", "who is this?").await;
    browser.visit(&format!("{base}/attention"), "inbox").await;
    let item = "Asked who is texting: Alex (SPS-1001)";
    browser.expect_heading("Needs attention", "inbox").await;
    browser.follow(item).await;
    browser.expect_heading(item, "inbox-item").await;
    let reply = "Hi Alex, it's Anna from the support team. I will call you at 2pm.";
    browser.fill(&[("body", reply)]).await;
    browser.double_click("//button[normalize-space()='Send reply']").await;
    browser.expect_heading(item, "reply-planned").await;
    assert!(browser.main_text().await.contains("Your reply is planned"));
    assert_eq!(daemon.staff_replies().await, [reply], "one reply, after a double click");

    // After signing out, the back button shows nothing of anyone.
    browser.visit(&format!("{base}/people"), "people").await;
    browser.follow("SPS-1001").await;
    browser.sign_out().await;
    browser.client.back().await.unwrap();
    let source = browser.client.source().await.unwrap();
    assert!(
        !source.contains("SPS-1001") && !source.contains("Alex"),
        "back after sign-out: {source}"
    );
    browser
        .expect_heading("Sign in", "back-after-sign-out")
        .await;
    browser.client.clone().close().await.unwrap();
}

