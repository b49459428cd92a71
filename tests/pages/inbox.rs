//! The two-way inbox: each item with its conversation, replying (checked
//! like a template, sent once however often the form is posted), resolving.

use axum::http::StatusCode;
use homeward::clock::Clock;
use homeward::domain::{
    AuditAction, Inbound, MessageOrigin, NewAttention, OrgId, Person, PhoneNumber, Role,
};
use homeward::store::{AuditFilter, MessageFilter};

use crate::check_page;
use crate::harness::{Browser, MOBILE, Page, Pages};

const CLEAN: &str = "Hi Alex, it's Anna from the support team. I will call you at 2pm.";

/// A person texted `body` and it needs staff: the item's address.
async fn raise_reply(pages: &Pages, admin: &mut Browser<'_>, org: OrgId, body: &str) -> String {
    let person = only_person(pages, org).await;
    person_asked(pages, org, &person, body).await;
    let inbox = admin.get("/attention").await;
    inbox.attrs("main h2 a", "href")[0].clone()
}

/// `person` texted `body`, a question only staff can answer.
async fn person_asked(pages: &Pages, org: OrgId, person: &Person, body: &str) {
    let now = pages.clock.now();
    let inbound = Inbound {
        id: uuid::Uuid::now_v7().to_string(),
        provider: "log".into(),
        provider_message_id: uuid::Uuid::now_v7().to_string(),
        from: person.mobile.as_e164().to_owned(),
        body: body.into(),
        intent: "who_is_this".into(),
        received_at: now,
    };
    let store = &pages.store;
    store
        .record_inbound(&inbound, std::slice::from_ref(person))
        .await
        .unwrap();
    let item = NewAttention {
        org_id: org,
        person_id: person.id,
        kind: "who_is_this",
        detail: "They asked who is texting".into(),
        inbound_id: Some(inbound.id.clone()),
        message_id: None,
    };
    store.raise_attention(&item, now).await.unwrap();
}

async fn only_person(pages: &Pages, org: OrgId) -> Person {
    let page = homeward::store::Page {
        after: None,
        limit: 1,
    };
    pages.store.people(org, page).await.unwrap().remove(0)
}

/// The staff replies planned for the organisation's only person.
async fn replies(pages: &Pages, org: OrgId) -> Vec<homeward::domain::Message> {
    let person = only_person(pages, org).await;
    let filter = MessageFilter {
        person: Some(person.id),
        state: None,
        from: None,
        to: None,
        limit: 100,
    };
    let all = pages.store.messages(org, &filter).await.unwrap();
    all.into_iter()
        .filter(|m| m.origin == MessageOrigin::StaffReply)
        .collect()
}

fn send<'a>(form: &'a Page, body: &'a str) -> Vec<(&'static str, String)> {
    vec![
        (
            "form_key",
            form.attrs("input[name=form_key]", "value")[0].clone(),
        ),
        ("body", body.to_owned()),
    ]
}

async fn post_reply(
    browser: &mut Browser<'_>,
    form: &Page,
    item: &str,
    fields: &[(&'static str, String)],
) -> Page {
    browser
        .submit_owned(form, &format!("{item}/reply"), fields)
        .await
}

#[tokio::test]
async fn a_reply_is_in_the_inbox_with_its_conversation_and_an_answer_reaches_the_person_once() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let item = raise_reply(&pages, &mut admin, org, "who is this?").await;
    let inbox = admin.get("/attention").await;
    check_page(&inbox);
    assert_eq!(
        inbox.texts("main h2"),
        ["Asked who is texting: Alex (SPS-1)"]
    );
    let said = inbox.texts(".hw-conversation__text");
    assert_eq!(
        said.last().map(String::as_str),
        Some("who is this?"),
        "{said:?}"
    );

    let form = admin.get(&item).await;
    check_page(&form);
    assert!(form.text("main").contains("who is this?"));
    let fields = send(&form, CLEAN);
    let first = post_reply(&mut admin, &form, &item, &fields).await;
    let again = post_reply(&mut admin, &form, &item, &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(
        again.location(),
        first.location(),
        "a double click plans one text"
    );
    let planned = replies(&pages, org).await;
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].body.as_str(), CLEAN);
    assert!(first.location().ends_with(&planned[0].id.to_string()));

    let done = admin.get(first.location()).await;
    check_page(&done);
    assert_eq!(
        done.text(".ds_confirmation-message__title"),
        "Your reply is planned"
    );
    assert!(done.text("main").contains("It is being sent now."));
    let lines = done.texts(".hw-conversation__who");
    assert!(
        lines.last().unwrap().starts_with("Staff replied"),
        "{lines:?}"
    );
    let filter = AuditFilter {
        action: Some(AuditAction::Created),
        limit: 100,
        ..AuditFilter::default()
    };
    let audit = pages.store.audit_entries(org, &filter).await.unwrap();
    let notes: Vec<_> = audit.iter().filter_map(|e| e.detail.clone()).collect();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.starts_with("staff reply"))
            .count(),
        1,
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_reply_naming_prison_is_refused_with_the_word_named_and_the_text_kept() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let item = raise_reply(&pages, &mut admin, org, "who is this?").await;
    let form = admin.get(&item).await;
    let typed = "Your prison officer asked me to text. Quote SPS-1.";
    let refused = post_reply(&mut admin, &form, &item, &send(&form, typed)).await;
    assert_eq!(refused.status, StatusCode::OK);
    check_page(&refused);
    assert!(refused.text("title").starts_with("Error: "));
    let summary = refused.texts(".ds_error-summary a");
    assert!(
        summary.iter().any(|e| e.contains("\"prison\"")),
        "{summary:?}"
    );
    assert!(
        summary.iter().any(|e| e.contains("\"SPS-1\"")),
        "{summary:?}"
    );
    assert_eq!(refused.attrs(".ds_error-summary a", "href")[0], "#body");
    assert!(refused.text("#body-error").contains("\"prison\""));
    assert_eq!(
        refused.text("textarea#body"),
        typed,
        "what was typed is kept"
    );
    assert!(replies(&pages, org).await.is_empty(), "nothing was planned");
}

#[tokio::test]
async fn a_reply_longer_than_one_text_is_sent_only_once_confirmed() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let item = raise_reply(&pages, &mut admin, org, "can you help me?").await;
    let form = admin.get(&item).await;
    let long = "Yes, we can help. Come to the office on Main Street any day this week. ".repeat(3);
    let asked = post_reply(&mut admin, &form, &item, &send(&form, &long)).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked.text("#body-error").contains("2 segments"),
        "{}",
        asked.text("main")
    );
    assert_eq!(asked.attrs("input#confirm", "name"), ["confirm"]);
    assert!(replies(&pages, org).await.is_empty());
    let mut confirmed = send(&asked, &long);
    confirmed.push(("confirm", "yes".into()));
    let sent = post_reply(&mut admin, &asked, &item, &confirmed).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(replies(&pages, org).await.len(), 1);
}

#[tokio::test]
async fn a_reply_needs_the_forms_token_and_stays_in_its_organisation() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let item = raise_reply(&pages, &mut admin, org, "who is this?").await;
    let form = admin.get(&item).await;
    let key = form.attrs("input[name=form_key]", "value")[0].clone();
    let fields = [
        ("csrf_token", "forged"),
        ("form_key", key.as_str()),
        ("body", CLEAN),
    ];
    let forged = admin
        .post(
            &format!("{item}/reply"),
            &fields,
            Some(crate::harness::ORIGIN),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let elsewhere = admin
        .submit(
            &form,
            &format!("{item}/reply"),
            &[("form_key", &key), ("body", CLEAN)],
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::SEE_OTHER,
        "the same form, sent properly, works"
    );
    assert_eq!(replies(&pages, org).await.len(), 1);

    let other_org = homeward::domain::OrgName::parse("Another team").unwrap();
    let other = pages
        .store
        .create_org(&other_org, pages.clock.now())
        .await
        .unwrap()
        .id;
    let mut stranger = pages.member(other, "kim@example.org", Role::Admin).await;
    assert_eq!(stranger.get(&item).await.status, StatusCode::NOT_FOUND);
    let page = stranger.get("/attention").await;
    let fields = [("form_key", "k"), ("body", CLEAN)];
    let posted = stranger
        .submit(&page, &format!("{item}/reply"), &fields)
        .await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert!(
        page.texts("main h2").is_empty(),
        "another team's inbox is empty"
    );
    assert_eq!(replies(&pages, org).await.len(), 1);
}

#[tokio::test]
async fn no_reply_can_go_to_a_number_that_opted_out() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let item = raise_reply(&pages, &mut admin, org, "who is this?").await;
    let form = admin.get(&item).await;
    let number = PhoneNumber::parse(MOBILE).unwrap();
    let now = pages.clock.now();
    pages
        .store
        .suppress(&number, "reply", "STOP", now)
        .await
        .unwrap();
    let page = admin.get(&item).await;
    assert!(page.text(".ds_inset-text").contains("No reply can be sent"));
    assert!(page.texts("textarea#body").is_empty(), "no reply box");
    let refused = post_reply(&mut admin, &form, &item, &send(&form, CLEAN)).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.text(".ds_error-summary").contains("opted out"));
    assert!(replies(&pages, org).await.is_empty());
}

#[tokio::test]
async fn resolving_an_item_keeps_the_note_and_takes_it_out_of_the_inbox() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let item = raise_reply(&pages, &mut admin, org, "wrong person mate").await;
    let mut staff = pages.member(org, "sam@example.org", Role::Staff).await;
    let form = staff.get(&item).await;
    let note = [("note", "Phoned Alex: number is right")];
    let path = format!("{item}/resolve");
    let forged = staff.post_forged(&path, &[("note", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        !admin.get("/attention").await.texts("main h2").is_empty(),
        "still open"
    );
    let done = staff.submit(&form, &format!("{item}/resolve"), &note).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let twice = staff.submit(&form, &format!("{item}/resolve"), &note).await;
    assert_eq!(
        twice.status,
        StatusCode::SEE_OTHER,
        "a second click is harmless"
    );
    let page = staff.get(&item).await;
    assert!(page.text("main").contains("Phoned Alex: number is right"));
    assert!(
        page.texts("textarea#note").is_empty(),
        "no resolve form once resolved"
    );
    assert!(admin.get("/attention").await.texts("main h2").is_empty());
    let filter = AuditFilter {
        action: Some(AuditAction::Resolved),
        limit: 100,
        ..AuditFilter::default()
    };
    assert_eq!(
        pages.store.audit_entries(org, &filter).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_long_inbox_comes_a_page_at_a_time_newest_first_and_today_counts_it_all() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let person = only_person(&pages, org).await;
    let items = homeward::casework::INBOX_PAGE as usize + 3;
    for n in 0..items {
        let item = NewAttention {
            org_id: org,
            person_id: person.id,
            kind: "who_is_this",
            detail: format!("Question number {n}."),
            inbound_id: Some(format!("in-{n}")),
            message_id: None,
        };
        let at = pages.clock.now() - chrono::Duration::minutes(n as i64);
        pages.store.raise_attention(&item, at).await.unwrap();
    }
    let today = admin.get("/").await;
    assert!(
        today.text("main").contains(&items.to_string()),
        "today counts every open item: {}",
        today.text("main")
    );

    let first = admin.get("/attention").await;
    check_page(&first);
    let shown = first.texts(".hw-inbox-item p");
    assert_eq!(shown.len(), items - 3, "one page's worth");
    assert!(
        shown[0].contains("Question number 0."),
        "newest first: {shown:?}"
    );
    let older = first.attrs("nav[aria-label='Older items'] a[rel=next]", "href");
    assert_eq!(older.len(), 1, "a link to the older items");
    let last_shown = first.attrs(".hw-inbox-item h2 a", "href").pop().unwrap();
    assert_eq!(
        older[0],
        last_shown.replace("/attention/", "/attention?after="),
        "the address names the last item shown, nothing personal"
    );

    let second = admin.get(&older[0]).await;
    check_page(&second);
    let rest = second.texts(".hw-inbox-item p");
    assert_eq!(rest.len(), 3, "{rest:?}");
    assert!(rest[2].contains(&format!("Question number {}.", items - 1)));
    assert!(
        !rest.iter().any(|r| shown.contains(r)),
        "no item on both pages"
    );
    assert!(
        second
            .attrs("nav[aria-label='Older items'] a", "href")
            .is_empty()
    );
    assert_eq!(second.attrs("main a[href='/attention']", "href").len(), 1);
}

#[tokio::test]
async fn each_inbox_item_shows_its_own_persons_conversation() {
    let pages = Pages::start().await;
    let people = [
        ("SPS-1", "Alex", "07400 123456"),
        ("SPS-2", "Sam", "07400 123457"),
    ];
    let (mut admin, org) = pages.admin_with(&people).await;
    let page = homeward::store::Page {
        after: None,
        limit: 10,
    };
    let everyone = pages.store.people(org, page).await.unwrap();
    for person in &everyone {
        let said = format!("this is {} asking", person.first_name.as_str());
        person_asked(&pages, org, person, &said).await;
    }
    let inbox = admin.get("/attention").await;
    let html = inbox.html();
    let items = scraper::Selector::parse(".hw-inbox-item").unwrap();
    let mut seen = Vec::new();
    for item in html.select(&items) {
        let text: String = item.text().collect();
        let (who, other) = if text.contains("Alex (SPS-1)") {
            ("Alex", "Sam")
        } else {
            ("Sam", "Alex")
        };
        assert!(text.contains(&format!("this is {who} asking")), "{text}");
        assert!(!text.contains(&format!("this is {other} asking")), "{text}");
        seen.push(who);
    }
    seen.sort();
    assert_eq!(seen, ["Alex", "Sam"], "one item each");
}
