//! Sending a person a one-off text: a typed message is checked like a
//! template before it can be scheduled, and is scheduled once.

use axum::http::StatusCode;
use homeward::domain::{MessageOrigin, OrgId};
use homeward::store::MessageFilter;

use crate::check_page;
use crate::harness::{Browser, MOBILE, Page, Pages};

/// The page's clock is Tuesday 8 December 2026, 9am.
const TOMORROW: &str = "2026-12-09";

async fn nudges(pages: &Pages, org: OrgId) -> Vec<homeward::domain::Message> {
    let filter = MessageFilter {
        person: None,
        state: None,
        from: None,
        to: None,
        limit: 100,
    };
    let all = pages.store.messages(org, &filter).await.unwrap();
    all.into_iter()
        .filter(|m| m.origin == MessageOrigin::Nudge)
        .collect()
}

async fn open(browser: &mut Browser<'_>) -> (String, Page) {
    let person = browser.get("/people").await.attrs("tbody a", "href")[0].clone();
    let path = format!("{person}/nudge");
    let form = browser.get(&path).await;
    (path, form)
}

fn fields<'a>(form: &'a Page, body: &'a str, action: &'a str) -> Vec<(&'static str, String)> {
    vec![
        (
            "form_key",
            form.attrs("input[name=form_key]", "value")[0].clone(),
        ),
        ("what", "write".into()),
        ("body", body.into()),
        ("date", TOMORROW.into()),
        ("time", "10:30".into()),
        ("action", action.into()),
    ]
}

#[tokio::test]
async fn a_typed_message_naming_prison_is_refused_and_a_clean_one_is_previewed_then_scheduled_once()
{
    let pages = Pages::start().await;
    let (mut staff, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let (path, form) = open(&mut staff).await;
    check_page(&form);
    assert_eq!(form.text("h1"), "Send a text to Alex");

    let bad = "Hi Alex, the prison sent your things to the office.";
    let refused = staff
        .submit_owned(&form, &path, &fields(&form, bad, "schedule"))
        .await;
    assert_eq!(refused.status, StatusCode::OK);
    check_page(&refused);
    assert!(
        refused.text("#body-error").contains("\"prison\""),
        "{}",
        refused.text("main")
    );
    assert_eq!(refused.text("textarea#body"), bad);
    assert!(
        refused.texts("button[value=schedule]").is_empty(),
        "no Schedule for a refused text"
    );
    assert!(nudges(&pages, org).await.is_empty());

    let good = "Hi Alex, your things are at the office on Main Street. Call 0800 22 44 88.";
    let preview = staff
        .submit_owned(&form, &path, &fields(&form, good, "preview"))
        .await;
    check_page(&preview);
    assert_eq!(preview.text("#preview-text"), good);
    let facts = preview.texts(".ds_summary-list__answer");
    assert_eq!(facts[..2], ["1 text", "GSM-7"], "{facts:?}");
    assert_eq!(
        preview.texts("button[value=schedule]"),
        ["Schedule this text"]
    );
    assert!(
        nudges(&pages, org).await.is_empty(),
        "a preview stores nothing"
    );

    let schedule = fields(&preview, good, "schedule");
    let done = staff.submit_owned(&preview, &path, &schedule).await;
    let again = staff.submit_owned(&preview, &path, &schedule).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        again.location(),
        done.location(),
        "a double click schedules one text"
    );
    let planned = nudges(&pages, org).await;
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].body.as_str(), good);
    assert_eq!(planned[0].send_at.to_rfc3339(), "2026-12-09T10:30:00+00:00");
    let text = staff.get(done.location()).await;
    assert!(
        text.text("main")
            .contains("Wednesday 9 December at 10:30am"),
        "{}",
        text.text("main")
    );
}

#[tokio::test]
async fn a_template_is_previewed_as_the_person_will_read_it() {
    let pages = Pages::start().await;
    let (mut staff, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let (path, form) = open(&mut staff).await;
    let options = form.attrs("select#template option", "value");
    assert!(options.contains(&"week_checkin".to_owned()), "{options:?}");
    assert!(
        !options.contains(&"help_reply".to_owned()),
        "Homeward's own answers are not offered"
    );
    let mut chosen = fields(&form, "", "preview");
    chosen[1].1 = "template".into();
    chosen.push(("template", "week_checkin".into()));
    let preview = staff.submit_owned(&form, &path, &chosen).await;
    assert!(
        preview.text("#preview-text").starts_with("Hi Alex,"),
        "{}",
        preview.text("main")
    );
    chosen[5].1 = "schedule".into();
    let done = staff.submit_owned(&preview, &path, &chosen).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        nudges(&pages, org).await[0].template.as_str(),
        "week_checkin"
    );
}

#[tokio::test]
async fn a_missing_or_past_time_and_a_missing_token_are_refused() {
    let pages = Pages::start().await;
    let (mut staff, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let (path, form) = open(&mut staff).await;
    let mut no_date = fields(&form, "Hi Alex, see you soon.", "schedule");
    no_date[3].1 = String::new();
    let page = staff.submit_owned(&form, &path, &no_date).await;
    assert_eq!(page.attrs(".ds_error-summary a", "href"), ["#date"]);
    assert!(page.text("#date-error").contains("Enter the date"));
    let mut past = fields(&form, "Hi Alex, see you soon.", "schedule");
    past[3].1 = "2026-12-01".into();
    let page = staff.submit_owned(&form, &path, &past).await;
    assert!(
        page.text("#date-error").contains("in the future"),
        "{}",
        page.text("main")
    );
    let forged = staff
        .post_forged(&path, &[("what", "write"), ("body", "Hi")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(nudges(&pages, org).await.is_empty());
}
