//! Every page, for each role and for visitors who are not signed in.

use axum::http::StatusCode;
use homeward::clock::Clock;
use homeward::domain::{ExternalRef, FirstName, Language, NewPerson, OrgName, Role};

use crate::check_page;
use crate::harness::{MOBILE, Pages};

const PAGES: &[&str] = &["/", "/people", "/attention", "/opt-outs", "/account"];

#[tokio::test]
async fn a_visitor_who_is_not_signed_in_is_sent_to_sign_in_from_every_page() {
    let pages = Pages::start().await;
    let (_, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let person = pages
        .store
        .people(
            org,
            homeward::store::Page {
                after: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    let person = format!("/people/{}", person[0].id);
    let mut visitor = pages.browser();
    for path in PAGES
        .iter()
        .copied()
        .chain([person.as_str(), "/admin/users"])
    {
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/sign-in", "{path}");
    }
    let sign_in = visitor.get("/sign-in").await;
    check_page(&sign_in);
    assert_eq!(sign_in.text("h1"), "Sign in");
}

#[tokio::test]
async fn every_page_has_one_heading_a_matching_title_and_a_token_in_every_form() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let mut staff = pages.member(org, "sam@example.org", Role::Staff).await;
    let person = admin.get("/people").await.attrs("tbody a", "href")[0].clone();
    let text = admin
        .get(&person)
        .await
        .attrs("tbody a[href^='/texts/']", "href")[0]
        .clone();
    for path in PAGES
        .iter()
        .copied()
        .chain([person.as_str(), text.as_str()])
    {
        for browser in [&mut admin, &mut staff] {
            let page = browser.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            check_page(&page);
        }
    }
    check_page(&admin.get("/admin/users").await);
}

#[tokio::test]
async fn today_shows_who_is_released_and_the_texts_due() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    let empty = admin.get("/").await;
    assert!(
        empty
            .text("main")
            .contains("No one is due to be released today")
    );
    let org = pages.org_of("admin@example.org").await;
    pages
        .import(
            org,
            &[
                ("SPS-1", "Alex", MOBILE),
                ("SPS-2", "Robin", "07400 123457"),
            ],
        )
        .await;
    let today = admin.get("/").await;
    assert_eq!(today.text(".ds_page-header__label"), "Tuesday 8 December");
    let released = today.texts("table:first-of-type tbody th");
    assert_eq!(released, ["SPS-1", "SPS-2"]);
    assert!(
        today.text("main").contains("Waiting to send"),
        "{}",
        today.text("main")
    );
    assert!(
        today.text("main").contains("log"),
        "the log provider is listed"
    );
    // These tests send nothing (dispatch.enabled = false), and the page says so.
    assert!(
        today
            .text("main")
            .contains("Not sending: sending is switched off")
    );
}

#[tokio::test]
async fn a_person_is_found_by_reference_first_name_or_mobile_without_any_in_a_url() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[]).await;
    pages
        .import(
            org,
            &[
                ("SPS-1", "Alex", MOBILE),
                ("SPS-2", "Robin", "07400 123457"),
            ],
        )
        .await;
    let list = admin.get("/people").await;
    for query in [
        "SPS-2",
        "+44 7400 123457",
        "07400123457",
        "robin",
        " ROBIN ",
    ] {
        let found = admin.submit(&list, "/people", &[("query", query)]).await;
        assert_eq!(found.status, StatusCode::OK);
        assert_eq!(found.texts("tbody th"), ["SPS-2"], "{query}");
        assert!(
            found
                .attrs("a", "href")
                .iter()
                .all(|h| !h.contains("SPS") && !h.contains("7400"))
        );
        check_page(&found);
    }
    let none = admin.submit(&list, "/people", &[("query", "SPS-9")]).await;
    assert!(none.text("main").contains("No one has that prison number"));
    let blank = admin.submit(&list, "/people", &[("query", " ")]).await;
    assert_eq!(blank.attrs(".ds_error-summary a", "href"), ["#query"]);
    let forged = admin.post_forged("/people", &[("query", "SPS-2")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_common_first_name_finds_the_first_page_by_prison_number_and_says_more_match() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[]).await;
    let limit = homeward::store::SEARCH_LIMIT as usize;
    let sams = |numbers: std::ops::RangeInclusive<usize>| -> Vec<(String, String)> {
        numbers
            .rev()
            .map(|i| (format!("SPS-{i:03}"), format!("07400 {:06}", 200_000 + i)))
            .collect()
    };
    let import = async |people: Vec<(String, String)>| {
        let rows: Vec<(&str, &str, &str)> = people
            .iter()
            .map(|(r, m)| (r.as_str(), "Sam", m.as_str()))
            .collect();
        pages.import(org, &rows).await;
    };
    let search = async |admin: &mut crate::harness::Browser<'_>, query: &str| {
        let list = admin.get("/people").await;
        admin.submit(&list, "/people", &[("query", query)]).await
    };
    let more = format!("More than {limit} people have that name");

    import(sams(1..=limit)).await;
    let all = search(&mut admin, "sam").await;
    assert_eq!(all.texts("tbody th").len(), limit);
    assert!(
        !all.text("main").contains(&more),
        "exactly {limit} is all of them"
    );

    import(sams(0..=0)).await;
    let found = search(&mut admin, "sam").await;
    check_page(&found);
    let first: Vec<String> = (0..limit).map(|i| format!("SPS-{i:03}")).collect();
    assert_eq!(found.texts("tbody th"), first, "the first by prison number");
    assert!(found.text("main").contains(&more), "{}", found.text("main"));
    let one = search(&mut admin, &format!("SPS-{limit:03}")).await;
    assert_eq!(one.texts("tbody th"), [format!("SPS-{limit:03}")]);
    assert!(!one.text("main").contains(&more));
}

#[tokio::test]
async fn a_person_page_tells_their_story_and_a_text_page_its_history() {
    let pages = Pages::start().await;
    let (mut admin, _) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let person = admin.get("/people").await.attrs("tbody a", "href")[0].clone();
    let page = admin.get(&person).await;
    assert_eq!(page.text("h1"), "Alex (SPS-1)");
    assert!(page.text("main").contains("Release Tuesday 8 December"));
    let texts = page.texts("table tbody tr");
    assert!(texts.len() >= 2, "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("(upcoming)")), "{texts:?}");
    let text = page.attrs("tbody a[href^='/texts/']", "href")[0].clone();
    let text = admin.get(&text).await;
    assert!(!text.text(".hw-body").is_empty());
    assert!(text.text("main").contains("GSM-7") || text.text("main").contains("UCS-2"));
    assert!(
        text.text("table").contains("Waiting to send"),
        "{}",
        text.text("table")
    );
}

#[tokio::test]
async fn a_name_with_markup_is_shown_as_text_never_run() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[]).await;
    let person = NewPerson {
        external_ref: ExternalRef::parse("SPS-X").unwrap(),
        // Stored under older, looser rules: the page must still escape it.
        first_name: FirstName::from_stored("<script>alert(1)</script>".into()),
        mobile: homeward::domain::PhoneNumber::parse(MOBILE).unwrap(),
        language: Language::parse("en").unwrap(),
    };
    let (person, _) = pages
        .store
        .upsert_person(org, &person, pages.clock.now())
        .await
        .unwrap();
    let page = admin.get(&format!("/people/{}", person.id)).await;
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"));
    assert_eq!(page.text("h1"), "<script>alert(1)</script> (SPS-X)");
}

#[tokio::test]
async fn another_organisations_person_or_text_is_not_found_and_admin_pages_are_for_admins() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let person = admin.get("/people").await.attrs("tbody a", "href")[0].clone();
    let text = admin
        .get(&person)
        .await
        .attrs("tbody a[href^='/texts/']", "href")[0]
        .clone();
    let other = pages
        .store
        .create_org(&OrgName::parse("Elsewhere").unwrap(), pages.clock.now())
        .await
        .unwrap();
    let mut outsider = pages.member(other.id, "out@example.org", Role::Admin).await;
    for path in [
        person.as_str(),
        text.as_str(),
        "/people/not-an-id",
        "/texts/0190a0a0-0000-7000-8000-000000000000",
    ] {
        let page = outsider.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(page.text("h1"), "Page not found");
        assert!(!page.body.contains("SPS-1") && !page.body.contains("Alex"));
    }
    let mut staff = pages.member(org, "sam@example.org", Role::Staff).await;
    let refused = staff.get("/admin/users").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.text("h1"), "You cannot view this page");
    let users = admin.get("/admin/users").await;
    assert!(users.text("tbody").contains("sam@example.org"));
    assert!(!users.text("tbody").contains("out@example.org"));
}

#[tokio::test]
async fn redirects_carry_no_personal_data_and_unknown_pages_are_html() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    let list = admin.get("/people").await;
    let found = admin.submit(&list, "/people", &[("query", MOBILE)]).await;
    assert!(found.location().is_empty(), "a search answers in place");
    let missing = admin.get("/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.header("content-type").starts_with("text/html"));
    let api = admin.get("/v1/no-such-endpoint").await;
    assert!(api.header("content-type").starts_with("application/json"));
    let css = pages
        .browser()
        .get("/assets/sgds/css/design-system.min.css")
        .await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
}

#[tokio::test]
async fn a_person_page_says_when_their_number_opted_out() {
    let pages = Pages::start().await;
    let (mut admin, _) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let person = admin.get("/people").await.attrs("tbody a", "href")[0].clone();
    assert!(!admin.get(&person).await.text("main").contains("Opted out"));
    let number = homeward::domain::PhoneNumber::parse(MOBILE).unwrap();
    let now = pages.clock.now();
    pages
        .store
        .suppress(&number, "reply", "STOP", now)
        .await
        .unwrap();
    let page = admin.get(&person).await;
    assert!(
        page.text(".ds_inset-text").contains("Opted out"),
        "{}",
        page.text("main")
    );
    assert!(page.text(".ds_inset-text").contains("Tuesday 8 December"));
    let opt_outs = admin.get("/opt-outs").await;
    assert!(
        opt_outs.text("tbody").contains("Alex (SPS-1)")
            && opt_outs.text("tbody").contains("They texted STOP")
    );
}

#[tokio::test]
async fn the_templates_page_shows_every_template_rendered_with_its_costs_and_review_notes() {
    let pages = Pages::start().await;
    let mut staff = pages.admin().await;
    let page = staff.get("/templates").await;
    assert_eq!(page.status, StatusCode::OK);
    check_page(&page);
    let headings = page.texts("main h2");
    assert!(
        headings.contains(&"GP registration (English)".to_owned()),
        "{headings:?}"
    );
    assert!(
        headings.contains(&"Week checkin (Polish)".to_owned()),
        "{headings:?}"
    );
    assert!(
        !page.text("main").contains("{{"),
        "every template is rendered"
    );
    let polish = page.html();
    let section = scraper::Selector::parse("section[aria-labelledby='week_checkin-pl']").unwrap();
    let polish = polish
        .select(&section)
        .next()
        .expect("the Polish check-in")
        .text()
        .collect::<String>();
    assert!(polish.contains("awaiting review"), "{polish}");
    assert!(polish.contains("Reading ease"), "{polish}");
}
