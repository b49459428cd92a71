//! A throughcare worker's day, in the browser, with and without JavaScript:
//! upload a release list with two bad rows, check it, import it; move a
//! release date and see the texts move; write a text with "prison" in it
//! (refused, the word named) and then a clean one; a STOP arrives through
//! Twilio's signed webhook and the person shows opted out; a "who is
//! this?" arrives, is in the inbox, and the reply reaches the (fake)
//! provider once, even after a double click.

use std::time::Duration;

use base64::Engine;
use chrono::Days;
use fantoccini::Locator;
use hmac::{Hmac, Mac};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Browser, Daemon, Driver, JavaScript, PASSWORD, chromedriver};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "browser-test-twilio-token";
const ALEX: &str = "+447400123451";
const ROBIN: &str = "+447400123452";
const REPLY: &str = "Hi Robin, it's Anna from the support team. I will call you at 2pm.";

#[tokio::test]
async fn a_throughcare_workers_day() {
    workers_day(JavaScript::On).await;
}

#[tokio::test]
async fn a_throughcare_workers_day_without_javascript() {
    workers_day(JavaScript::Off).await;
}

async fn workers_day(js: JavaScript) {
    let Some(driver) = chromedriver() else { return };
    let twilio = fake_twilio().await;
    let daemon = Daemon::start_with(&settings(&twilio.uri())).await;
    let driver = Driver::start(&driver).await;
    let browser = Browser::open(&driver, js).await;
    let base = daemon.base.clone();
    set_up(&browser, &daemon).await;
    upload(&browser, &base).await;

    // The person's page shows the planned texts; moving the release moves them.
    browser.visit(&format!("{base}/people"), "people").await;
    browser.follow("SPS-2001").await;
    browser.expect_heading("Alex (SPS-2001)", "person").await;
    assert!(browser.main_text().await.contains("Waiting to send"));
    browser.follow("Release").await;
    browser
        .expect_heading("Move or cancel the release", "release")
        .await;
    browser.fill(&[("date", &day(2))]).await;
    browser.press("Save the new date").await;
    browser
        .expect_heading("Alex (SPS-2001)", "release-moved")
        .await;
    let said = browser.wait_for(".ds_confirmation-message").await;
    assert!(
        said.contains("moved") && !said.contains("cancelled"),
        "{said}"
    );

    nudge(&browser).await;

    // Alex texts STOP: the page says so, and the waiting texts will not go.
    assert_eq!(text_in(&daemon, ALEX, "SM-stop", "STOP").await, 200);
    browser.visit(&format!("{base}/people"), "people").await;
    browser.follow("SPS-2001").await;
    browser.expect_heading("Alex (SPS-2001)", "opted-out").await;
    let page = browser.main_text().await;
    assert!(
        page.contains("Opted out") && page.contains("Stopped: opted out"),
        "{page}"
    );
    let confirmation = "//tr[td[contains(., 'Optout confirmation')]]";
    let row = browser
        .client
        .find(Locator::XPath(confirmation))
        .await
        .unwrap();
    let row = row.text().await.unwrap();
    assert!(
        !row.contains("Stopped"),
        "the STOP confirmation still goes: {row}"
    );

    // Robin asks who this is; the worker answers from the inbox.
    assert_eq!(text_in(&daemon, ROBIN, "SM-who", "who is this?").await, 200);
    browser.visit(&format!("{base}/attention"), "inbox").await;
    browser.expect_heading("Needs attention", "inbox").await;
    let item = "Asked who is texting: Robin (SPS-2002)";
    browser.follow(item).await;
    browser.expect_heading(item, "inbox-item").await;
    let talk = browser.main_text().await;
    assert!(
        talk.contains("who is this?") && talk.contains("Homeward answered"),
        "{talk}"
    );
    browser.fill(&[("body", REPLY)]).await;
    browser
        .double_click("//button[normalize-space()='Send reply']")
        .await;
    browser.wait_for(".ds_confirmation-message").await;
    browser.expect_heading(item, "reply-planned").await;
    assert_eq!(
        sent_to_provider(&twilio, REPLY).await,
        1,
        "the reply goes once"
    );
    browser.client.clone().close().await.unwrap();
}

/// The first admin sets up Homeward and is signed in.
async fn set_up(browser: &Browser, daemon: &Daemon) {
    browser.visit(&daemon.setup_link, "setup").await;
    browser
        .fill(&[
            ("organisation", "Throughcare North"),
            ("email", "worker@example.org"),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
        ])
        .await;
    browser.press("Create account").await;
    browser.expect_heading("Today", "today").await;
}

/// A release list with two bad rows: checked, then imported.
async fn upload(browser: &Browser, base: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("releases.csv");
    let csv = format!(
        "external_ref,first_name,mobile,release_date\n\
         SPS-2001,Alex,07400 123451,{tomorrow}\n\
         SPS-2002,Robin,07400 123452,{tomorrow}\n\
         SPS-2003,Sam,not a number,{tomorrow}\n\
         SPS-2004,Kim,07400 123454,31/31/2026\n",
        tomorrow = day(1)
    );
    std::fs::write(&file, csv).unwrap();
    browser.visit(&format!("{base}/upload"), "upload").await;
    browser.expect_heading("Upload a file", "upload").await;
    browser.choose("kind-releases").await;
    browser.attach("file", &file).await;
    browser.press("Check the file").await;
    browser
        .expect_heading("Check the releases file", "upload-check")
        .await;
    let check = browser.main_text().await;
    assert!(check.contains("Rows that cannot be imported"), "{check}");
    assert!(
        check.contains("mobile") && check.contains("release_date"),
        "{check}"
    );
    assert!(
        check.contains("Hi Alex") || check.contains("Hi Robin"),
        "a sample text: {check}"
    );
    browser.press("Import").await;
    browser
        .expect_heading("Import complete", "upload-done")
        .await;
}

/// A text with "prison" in it is refused, naming the word; a clean one is
/// previewed and scheduled.
async fn nudge(browser: &Browser) {
    browser.follow("Send Alex a text").await;
    browser.expect_heading("Send a text to Alex", "nudge").await;
    let when = [("date", day(1)), ("time", "12:00".to_owned())];
    let bad = "Hi Alex, the prison sent your things to the office.";
    browser
        .fill(&[("body", bad), ("date", &when[0].1), ("time", &when[1].1)])
        .await;
    browser.press("Preview").await;
    let error = browser.wait_for("#body-error").await;
    assert!(error.contains("\"prison\""), "{error}");
    browser
        .expect_heading("Send a text to Alex", "nudge-refused")
        .await;
    let good = "Hi Alex, your things are at the office on Main Street.";
    browser.fill(&[("body", good)]).await;
    browser.press("Preview").await;
    browser.wait_for_text("#preview-text", good).await;
    browser
        .expect_heading("Send a text to Alex", "nudge-preview")
        .await;
    browser.press("Schedule this text").await;
    browser
        .expect_heading("Text to Alex (SPS-2001)", "nudge-scheduled")
        .await;
}

/// `n` days from today in London, as staff type it.
fn day(n: u64) -> String {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    let day = today.checked_add_days(Days::new(n)).unwrap();
    day.format("%-d/%-m/%Y").to_string()
}

fn settings(twilio: &str) -> Vec<(&'static str, String)> {
    vec![
        ("dispatch.enabled", "true".into()),
        ("dispatch.providers", "[\"twilio\"]".into()),
        ("providers.twilio.kind", "\"twilio\"".into()),
        ("providers.twilio.base_url", format!("{twilio:?}")),
        ("providers.twilio.account_sid", format!("{ACCOUNT_SID:?}")),
        ("providers.twilio.auth_token", format!("{AUTH_TOKEN:?}")),
        ("providers.twilio.from", "\"+447400000001\"".into()),
        // Any hour the tests run at is within sending hours.
        ("planner.send_window_start", "\"00:00\"".into()),
        ("planner.send_window_end", "\"23:59\"".into()),
    ]
}

/// Twilio's Messages resource on loopback, accepting every text.
async fn fake_twilio() -> MockServer {
    let server = MockServer::start().await;
    let created = serde_json::json!({
        "account_sid": ACCOUNT_SID, "sid": "SM0123456789abcdef0123456789abcdef",
        "status": "accepted", "error_code": null, "error_message": null,
    });
    Mock::given(method("POST"))
        .and(path(format!(
            "/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(created))
        .mount(&server)
        .await;
    server
}

/// Texts with this body the provider was asked to send, once the
/// dispatcher has had time to send what is due.
async fn sent_to_provider(twilio: &MockServer, body: &str) -> usize {
    let count = || async {
        let requests = twilio.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| {
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&r.body).unwrap_or_default();
                form.iter().any(|(k, v)| k == "Body" && v == body)
            })
            .count()
    };
    for _ in 0..100 {
        if count().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A second copy would follow the first within a dispatch round or two.
    tokio::time::sleep(Duration::from_secs(3)).await;
    count().await
}

/// A text from `from` arriving through Twilio's webhook, signed as Twilio
/// signs it (HMAC-SHA1 of the URL and the sorted parameters).
async fn text_in(daemon: &Daemon, from: &str, sid: &str, body: &str) -> u16 {
    let url = format!("{}/webhooks/twilio/inbound", daemon.base);
    let params = [
        ("Body", body),
        ("From", from),
        ("MessageSid", sid),
        ("To", "+447400000001"),
    ];
    let signed: String = params.iter().map(|(k, v)| format!("{k}{v}")).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(AUTH_TOKEN.as_bytes()).unwrap();
    mac.update(format!("{url}{signed}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(serde_urlencoded::to_string(params).unwrap())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
