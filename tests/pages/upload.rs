//! Uploading a file: the check page shows what it will do and stores
//! nothing; Import stores it once; a different file, another user's upload
//! or Cancel imports nothing.

use axum::http::StatusCode;
use homeward::domain::Role;

use crate::check_page;
use crate::harness::{Browser, Page, Pages};

const GOOD_AND_BAD: &str = "external_ref,first_name,mobile,release_date\n\
    SPS-1,Alex,07400 123456,2026-12-09\n\
    SPS-2,Robin,not a number,2026-12-09\n\
    SPS-3,Sam,07400 123458,31/31/2026\n\
    SPS-4,Kim,07400 123459,2026-12-10\n";

async fn people(pages: &Pages, org: homeward::domain::OrgId) -> usize {
    let page = homeward::store::Page {
        after: None,
        limit: 100,
    };
    pages.store.people(org, page).await.unwrap().len()
}

async fn check(browser: &mut Browser<'_>, file: &str) -> Page {
    let form = browser.get("/upload").await;
    check_page(&form);
    browser
        .upload(&form.csrf(), "/upload", &[("kind", "releases")], file)
        .await
}

fn confirm_fields(check: &Page, action: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "upload_id",
            check.attrs("input[name=upload_id]", "value")[0].clone(),
        ),
        (
            "digest",
            check.attrs("input[name=digest]", "value")[0].clone(),
        ),
        ("action", action.to_owned()),
    ]
}

async fn confirm(
    browser: &mut Browser<'_>,
    check: &Page,
    fields: &[(&'static str, String)],
) -> Page {
    browser.submit_owned(check, "/upload/confirm", fields).await
}

#[tokio::test]
async fn the_check_page_shows_counts_refused_rows_and_texts_and_stores_nothing_until_import() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[]).await;
    let checked = check(&mut admin, GOOD_AND_BAD).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    check_page(&checked);
    assert_eq!(checked.text("h1"), "Check the releases file");
    let counts = checked.texts(".ds_summary-list__answer");
    assert_eq!(
        counts,
        ["2", "0", "0", "2"],
        "to add, to update, unchanged, refused"
    );
    let refused: Vec<String> = checked
        .texts("tbody tr")
        .iter()
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].starts_with("3 mobile"), "{refused:?}");
    assert!(refused[1].starts_with("4 release_date"), "{refused:?}");
    assert!(
        !checked.text("tbody").contains("not a number"),
        "a refused mobile is not echoed"
    );
    let samples = checked.texts("blockquote");
    assert!(
        !samples.is_empty()
            && samples
                .iter()
                .any(|s| s.contains("Alex") || s.contains("Kim")),
        "{samples:?}"
    );
    assert_eq!(people(&pages, org).await, 0, "nothing stored before Import");

    let fields = confirm_fields(&checked, "import");
    let done = confirm(&mut admin, &checked, &fields).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    check_page(&done);
    assert_eq!(done.text("h1"), "Import complete");
    assert_eq!(people(&pages, org).await, 2);
    let again = confirm(&mut admin, &checked, &fields).await;
    assert!(
        again
            .text(".ds_error-summary")
            .contains("no longer waiting"),
        "{}",
        again.text("main")
    );
    assert_eq!(
        people(&pages, org).await,
        2,
        "a second Import imports nothing"
    );

    let rechecked = check(&mut admin, GOOD_AND_BAD).await;
    let counts = rechecked.texts(".ds_summary-list__answer");
    assert_eq!(
        counts,
        ["0", "0", "2", "2"],
        "the same file again changes nothing"
    );
}

#[tokio::test]
async fn a_file_other_than_the_one_checked_and_a_cancelled_one_are_not_imported() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[]).await;
    let checked = check(&mut admin, GOOD_AND_BAD).await;
    let mut fields = confirm_fields(&checked, "import");
    fields[1].1 = "0".repeat(64);
    let refused = confirm(&mut admin, &checked, &fields).await;
    assert!(
        refused
            .text(".ds_error-summary")
            .contains("not the file that was checked")
    );
    assert_eq!(people(&pages, org).await, 0);

    let checked = check(&mut admin, GOOD_AND_BAD).await;
    let mut colleague = pages.member(org, "sam@example.org", Role::Staff).await;
    let theirs = colleague.get("/upload").await;
    let taken = confirm(&mut colleague, &theirs, &confirm_fields(&checked, "import")).await;
    assert!(
        taken
            .text(".ds_error-summary")
            .contains("no longer waiting"),
        "only the uploader may import it"
    );
    let cancelled = confirm(&mut admin, &checked, &confirm_fields(&checked, "cancel")).await;
    assert_eq!(cancelled.location(), "/upload");
    let after = confirm(&mut admin, &checked, &confirm_fields(&checked, "import")).await;
    assert!(
        after
            .text(".ds_error-summary")
            .contains("no longer waiting")
    );
    assert_eq!(people(&pages, org).await, 0);
}

#[tokio::test]
async fn an_unreadable_file_or_a_missing_choice_is_named_beside_its_field() {
    let pages = Pages::start().await;
    let (mut admin, _) = pages.admin_with(&[]).await;
    let form = admin.get("/upload").await;
    let token = form.csrf();
    let nothing = admin.upload(&token, "/upload", &[], "").await;
    check_page(&nothing);
    assert_eq!(
        nothing.attrs(".ds_error-summary a", "href"),
        ["#kind", "#file"]
    );
    let wrong = admin
        .upload(
            &token,
            "/upload",
            &[("kind", "releases")],
            "name;phone\nAlex;07400 123456\n",
        )
        .await;
    assert!(
        wrong.text("#file-error").contains("semicolon"),
        "{}",
        wrong.text("#file-error")
    );
    assert_eq!(
        wrong.attrs("input[name=kind][checked]", "value"),
        ["releases"],
        "the choice is kept"
    );
    let missing = admin
        .upload(
            &token,
            "/upload",
            &[("kind", "releases")],
            "external_ref,first_name\nSPS-1,Alex\n",
        )
        .await;
    assert!(
        missing.text("#file-error").contains("mobile"),
        "{}",
        missing.text("#file-error")
    );
    let forged = admin
        .upload("forged", "/upload", &[("kind", "releases")], GOOD_AND_BAD)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}
