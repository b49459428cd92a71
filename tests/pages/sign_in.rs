//! First run, choosing a password, signing in and out, sessions.

use axum::http::StatusCode;
use homeward::domain::{AuditAction, Role};
use homeward::store::AuditFilter;

use crate::check_page;
use crate::harness::{ORIGIN, PASSWORD, Pages};

#[tokio::test]
async fn the_first_run_link_creates_the_first_admin_who_lands_on_today() {
    let pages = Pages::start().await;
    let token = pages
        .setup_token
        .clone()
        .expect("an empty database gets a setup link");
    assert!(
        pages.welcome.contains(&format!("/setup?token={token}")),
        "{}",
        pages.welcome
    );
    let mut admin = pages.admin().await;
    let today = admin.get("/").await;
    assert_eq!(today.status, StatusCode::OK);
    assert_eq!(today.text("h1"), "Today");
    check_page(&today);
    // The link worked once.
    let again = pages.browser().get(&format!("/setup?token={token}")).await;
    assert_eq!(again.text("h1"), "This link has expired");
    assert!(again.texts("form").is_empty());
}

#[tokio::test]
async fn a_setup_form_without_its_token_or_from_another_site_changes_nothing() {
    let pages = Pages::start().await;
    let path = format!("/setup?token={}", pages.setup_token.as_ref().unwrap());
    let mut browser = pages.browser();
    let form = browser.get(&path).await;
    check_page(&form);
    let fields = [
        ("organisation", "Team"),
        ("email", "a@example.org"),
        ("new_password", PASSWORD),
        ("confirm_password", PASSWORD),
    ];
    let mut no_token = fields.to_vec();
    no_token.push(("csrf_token", "forged"));
    let forged = browser.post(&path, &no_token, Some(ORIGIN)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut with_token = fields.to_vec();
    let token = form.csrf();
    with_token.push(("csrf_token", &token));
    let elsewhere = browser
        .post(&path, &with_token, Some("https://evil.example"))
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    let no_origin = browser.post(&path, &with_token, None).await;
    assert_eq!(no_origin.status, StatusCode::FORBIDDEN);
    assert!(
        !pages.store.any_users().await.unwrap(),
        "nothing was created"
    );
}

#[tokio::test]
async fn a_weak_password_is_named_beside_its_field_and_in_the_summary() {
    let pages = Pages::start().await;
    let path = format!("/setup?token={}", pages.setup_token.as_ref().unwrap());
    let mut browser = pages.browser();
    let form = browser.get(&path).await;
    let fields = [
        ("organisation", "Throughcare North"),
        ("email", "admin@example.org"),
        ("new_password", "password1234"),
        ("confirm_password", "password1234"),
    ];
    let page = browser.submit(&form, &path, &fields).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text("title").starts_with("Error: "));
    let summary = page.attrs(".ds_error-summary a", "href");
    assert_eq!(summary, ["#new_password"]);
    assert!(page.text("#new_password-error").contains("too common"));
    // What was typed is kept, except the password.
    assert_eq!(page.attrs("#email", "value"), ["admin@example.org"]);
    assert_eq!(page.attrs("#organisation", "value"), ["Throughcare North"]);
    assert!(page.attrs("#new_password", "value").is_empty());
    check_page(&page);
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let pages = Pages::start().await;
    pages.admin().await;
    let mut browser = pages.browser();
    let wrong = browser
        .sign_in("admin@example.org", "not the password at all")
        .await;
    let unknown = browser
        .sign_in("nobody@example.org", "not the password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert_eq!(
        wrong.text(".ds_error-summary"),
        unknown.text(".ds_error-summary")
    );
    assert!(
        wrong
            .text(".ds_error-summary")
            .contains("Enter a correct email address and password")
    );
    assert!(!browser.cookies.contains_key("homeward_session"));
    check_page(&wrong);
}

#[tokio::test]
async fn sign_in_attempts_are_throttled_per_account_even_with_the_right_password() {
    let pages = Pages::start().await;
    pages.admin().await;
    let mut browser = pages.browser();
    for _ in 0..5 {
        browser
            .sign_in("admin@example.org", "a wrong guess here")
            .await;
    }
    let page = browser.sign_in("admin@example.org", PASSWORD).await;
    assert!(
        page.text(".ds_error-summary").contains("Too many attempts"),
        "{}",
        page.body
    );
    assert!(!browser.cookies.contains_key("homeward_session"));
    pages.clock.advance(chrono::Duration::minutes(16));
    let page = browser.sign_in("admin@example.org", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/");
}

#[tokio::test]
async fn signing_out_ends_the_session_and_the_old_cookie_signs_no_one_in() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    let stolen = admin.cookies.clone();
    let today = admin.get("/").await;
    let out = admin.submit(&today, "/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/sign-in");
    let mut replay = pages.browser();
    replay.cookies = stolen;
    let page = replay.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/sign-in");
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user() {
    let pages = Pages::start().await;
    let mut laptop = pages.admin().await;
    let mut phone = pages.browser();
    assert_eq!(
        phone.sign_in("admin@example.org", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let account = laptop.get("/account").await;
    check_page(&account);
    laptop
        .submit(&account, "/sign-out", &[("everywhere", "yes")])
        .await;
    assert_eq!(phone.get("/").await.location(), "/sign-in");
}

#[tokio::test]
async fn a_session_ends_after_30_idle_minutes_and_after_12_hours() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    pages.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(admin.get("/").await.status, StatusCode::OK);
    pages.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(admin.get("/").await.location(), "/sign-in");

    let mut busy = pages.browser();
    busy.sign_in("admin@example.org", PASSWORD).await;
    for _ in 0..27 {
        pages.clock.advance(chrono::Duration::minutes(25));
        assert_eq!(busy.get("/").await.status, StatusCode::OK);
    }
    pages.clock.advance(chrono::Duration::minutes(25));
    assert_eq!(
        busy.get("/").await.status,
        StatusCode::OK,
        "11 h 40 min after sign-in"
    );
    pages.clock.advance(chrono::Duration::minutes(25));
    assert_eq!(busy.get("/").await.location(), "/sign-in", "past 12 hours");
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_at_once() {
    let pages = Pages::start().await;
    let (_, org) = pages.admin_with(&[]).await;
    let mut staff = pages.member(org, "sam@example.org", Role::Staff).await;
    assert_eq!(staff.get("/").await.status, StatusCode::OK);
    let sam = pages
        .store
        .users(org)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == Role::Staff)
        .unwrap();
    let by = homeward::domain::Actor::Cli;
    assert_eq!(
        pages.accounts.disable(org, sam.id, by).await.unwrap(),
        Some(true)
    );
    assert_eq!(staff.get("/").await.location(), "/sign-in");
    let filter = AuditFilter {
        action: Some(AuditAction::Disabled),
        limit: 10,
        ..AuditFilter::default()
    };
    let disabled = pages.store.audit_entries(org, &filter).await.unwrap();
    assert_eq!(disabled.len(), 1, "disabling is on the audit trail");
    assert_eq!(disabled[0].target.id, sam.id.to_string());
    let again = staff.sign_in("sam@example.org", PASSWORD).await;
    assert!(
        again
            .text(".ds_error-summary")
            .contains("Enter a correct email address and password")
    );
}

#[tokio::test]
async fn a_set_password_link_works_once() {
    let pages = Pages::start().await;
    let (_, org) = pages.admin_with(&[]).await;
    let (_, link) = pages
        .accounts
        .invite(
            org,
            "kim@example.org",
            Role::Staff,
            homeward::domain::Actor::Cli,
        )
        .await
        .unwrap();
    let path = format!("/set-password?token={}", link.expose());
    let mut browser = pages.browser();
    let form = browser.get(&path).await;
    check_page(&form);
    let mismatch = [
        ("new_password", PASSWORD),
        ("confirm_password", "tractor purple"),
    ];
    let page = browser.submit(&form, &path, &mismatch).await;
    assert_eq!(
        page.attrs(".ds_error-summary a", "href"),
        ["#confirm_password"]
    );
    let fields = [("new_password", PASSWORD), ("confirm_password", PASSWORD)];
    let done = browser.submit(&form, &path, &fields).await;
    assert_eq!(done.location(), "/sign-in");
    let reused = browser.get(&path).await;
    assert_eq!(reused.text("h1"), "This link has expired");
    assert_eq!(
        browser
            .sign_in("kim@example.org", PASSWORD)
            .await
            .location(),
        "/"
    );
}

#[tokio::test]
async fn sign_ins_and_outs_are_on_the_audit_trail_without_the_email_or_password() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    pages
        .browser()
        .sign_in("admin@example.org", "a wrong guess here")
        .await;
    let today = admin.get("/").await;
    admin.submit(&today, "/sign-out", &[]).await;
    let org = pages.org_of("admin@example.org").await;
    let filter = AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    };
    let entries = pages.store.audit_entries(org, &filter).await.unwrap();
    let actions: Vec<AuditAction> = entries.iter().map(|e| e.action).collect();
    assert!(actions.contains(&AuditAction::Created));
    assert!(actions.contains(&AuditAction::SignInFailed));
    assert!(actions.contains(&AuditAction::SignedOut));
    for entry in &entries {
        assert_eq!(entry.actor.kind(), "user");
        let text = format!("{entry:?}");
        assert!(
            !text.contains("admin@example.org") && !text.contains(PASSWORD),
            "{text}"
        );
    }
}

#[tokio::test]
async fn behind_https_cookies_are_secure_and_forms_must_come_from_the_public_address() {
    let public = ("server.public_base_url", "\"https://sms.example.org\"");
    let pages = Pages::start_with(&[public]).await;
    let path = format!("/setup?token={}", pages.setup_token.as_ref().unwrap());
    let mut browser = pages.browser();
    let form = browser.get(&path).await;
    assert!(
        form.header("set-cookie").contains("; Secure"),
        "{}",
        form.header("set-cookie")
    );
    let token = form.csrf();
    let fields = [
        ("csrf_token", token.as_str()),
        ("organisation", "Team"),
        ("email", "a@example.org"),
        ("new_password", PASSWORD),
        ("confirm_password", PASSWORD),
    ];
    // The Host the request reached is not the site's public address.
    let from_host = browser.post(&path, &fields, Some(ORIGIN)).await;
    assert_eq!(from_host.status, StatusCode::FORBIDDEN);
    assert!(!pages.store.any_users().await.unwrap());
    let done = browser
        .post(&path, &fields, Some("https://sms.example.org"))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let session = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("homeward_session="))
        .expect("a session cookie");
    assert!(
        session.contains("; HttpOnly")
            && session.contains("; SameSite=Lax")
            && session.contains("; Secure"),
        "{session}"
    );
}
