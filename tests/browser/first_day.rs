//! A worker's first day: set up, sign in, find a person, open a text, look
//! round every section, sign out; with and without JavaScript.

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
    // Every form a person's page leads to.
    let person = browser.client.current_url().await.unwrap().to_string();
    let mut forms = Vec::new();
    for (link, heading) in [
        ("Change details", "Change details"),
        ("Add an appointment", "Add an appointment"),
        ("Record an outcome", "Record an outcome"),
        ("Stop all texts to Robin", "Stop all texts to Robin"),
    ] {
        let xpath = format!("//main//a[starts-with(normalize-space(), '{link}')]");
        let found = browser.client.find(Locator::XPath(&xpath)).await.unwrap();
        forms.push((found.attr("href").await.unwrap().unwrap(), heading));
    }
    for (href, heading) in forms {
        browser.visit(&format!("{base}{href}"), heading).await;
        browser
            .expect_heading(heading, &heading.to_lowercase().replace(' ', "-"))
            .await;
    }
    browser.visit(&person, "person").await;
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
        ("/upload", "Upload a file"),
        ("/templates", "Templates"),
        ("/admin/users", "Staff accounts"),
        ("/admin/users/new", "Invite someone"),
        ("/admin/tokens", "API tokens"),
        ("/admin/audit", "Audit trail"),
    ] {
        browser.visit(&format!("{base}{path}"), heading).await;
        browser
            .expect_heading(heading, &heading.to_lowercase().replace(' ', "-"))
            .await;
    }

    // After signing out, the back button shows nothing of anyone.
    browser.visit(&format!("{base}/people"), "people").await;
    browser.follow("SPS-1001").await;
    browser.expect_heading("Alex (SPS-1001)", "person").await;
    browser.sign_out().await;
    // Going back before the sign-out has landed would cancel it.
    browser.expect_heading("Sign in", "signed-out").await;
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
