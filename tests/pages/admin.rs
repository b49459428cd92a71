//! Admin pages: inviting, re-roling and disabling staff (their sessions end
//! at once), API tokens shown once and revoked, the audit trail filtered.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use homeward::domain::Role;
use tower::ServiceExt;

use crate::check_page;
use crate::harness::Pages;

/// What the API answers a request to list people with `token`.
async fn api_status(pages: &Pages, token: &str) -> StatusCode {
    let request = Request::get("/v1/people")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    pages
        .router
        .clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_admin_invites_someone_who_sets_a_password_from_the_link_shown_once() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    let form = admin.get("/admin/users/new").await;
    check_page(&form);
    let missing = admin
        .submit(&form, "/admin/users/new", &[("email", "not an address")])
        .await;
    assert_eq!(
        missing.attrs(".ds_error-summary a", "href"),
        ["#role-staff"]
    );
    let bad = admin
        .submit(
            &form,
            "/admin/users/new",
            &[("email", "not an address"), ("role", "staff")],
        )
        .await;
    assert_eq!(bad.attrs(".ds_error-summary a", "href"), ["#email"]);
    let done = admin
        .submit(
            &form,
            "/admin/users/new",
            &[("email", "sam@example.org"), ("role", "staff")],
        )
        .await;
    check_page(&done);
    let link = done.text("#invite-link");
    assert!(
        link.starts_with("http://homeward.test/set-password?token="),
        "{link}"
    );
    let users = admin.get("/admin/users").await;
    assert!(
        users.text("tbody").contains("sam@example.org") && users.text("tbody").contains("Invited")
    );

    let mut sam = pages.browser();
    let path = link.trim_start_matches("http://homeward.test");
    let set = sam.get(path).await;
    assert_eq!(set.status, StatusCode::OK);
    let fields = [
        ("new_password", crate::harness::PASSWORD),
        ("confirm_password", crate::harness::PASSWORD),
    ];
    let chosen = sam.submit(&set, path, &fields).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    sam.sign_in("sam@example.org", crate::harness::PASSWORD)
        .await;
    assert_eq!(
        sam.get("/").await.status,
        StatusCode::OK,
        "signed in with the new password"
    );
    assert_eq!(
        sam.get("/admin/users/new").await.status,
        StatusCode::FORBIDDEN,
        "staff are not admins"
    );
}

#[tokio::test]
async fn a_new_role_or_disabling_ends_the_accounts_sessions_at_once_and_is_audited() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    let org = pages.org_of("admin@example.org").await;
    let mut sam = pages.member(org, "sam@example.org", Role::Staff).await;
    let users = admin.get("/admin/users").await;
    let hrefs = users.attrs("tbody a", "href");
    let sam_page = hrefs.iter().find(|h| *h != &hrefs[0]).unwrap().clone();
    let own_page = hrefs[0].clone();
    let page = admin.get(&sam_page).await;
    check_page(&page);
    let role = admin
        .submit(&page, &format!("{sam_page}/role"), &[("role", "admin")])
        .await;
    assert_eq!(role.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sam.get("/").await.location(),
        "/sign-in",
        "signed out by the change of role"
    );
    sam.sign_in("sam@example.org", crate::harness::PASSWORD)
        .await;
    assert_eq!(
        sam.get("/admin/users").await.status,
        StatusCode::OK,
        "now an admin"
    );

    let page = admin.get(&sam_page).await;
    let off = admin
        .submit(&page, &format!("{sam_page}/disable"), &[])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sam.get("/").await.location(),
        "/sign-in",
        "signed out at once"
    );
    assert!(admin.get(&sam_page).await.text("main").contains("Disabled"));

    let own = admin.get(&own_page).await;
    assert!(
        own.texts("form[action$='/disable']").is_empty(),
        "no way to disable oneself"
    );
    let refused = admin
        .submit(&own, &format!("{own_page}/disable"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let audit = admin.get("/admin/audit?action=disabled").await;
    check_page(&audit);
    let rows = audit.texts("tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("admin@example.org") && rows[0].contains("user"),
        "{rows:?}"
    );
    let updated = admin.get("/admin/audit?action=updated&kind=user").await;
    assert!(
        updated.text("tbody").contains("role admin"),
        "{}",
        updated.text("main")
    );
    let bad = admin.get("/admin/audit?from=yesterday").await;
    assert_eq!(bad.attrs(".ds_error-summary a", "href"), ["#from"]);
}

#[tokio::test]
async fn a_token_is_shown_once_works_and_stops_working_when_revoked() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    let page = admin.get("/admin/tokens").await;
    check_page(&page);
    let unnamed = admin
        .submit(&page, "/admin/tokens", &[("role", "staff")])
        .await;
    assert_eq!(unnamed.attrs(".ds_error-summary a", "href"), ["#label"]);
    let made = admin
        .submit(
            &page,
            "/admin/tokens",
            &[("label", "Prison records system"), ("role", "staff")],
        )
        .await;
    check_page(&made);
    let secret = made.text("#token-secret");
    assert!(secret.len() >= 40, "{secret}");
    assert_eq!(api_status(&pages, &secret).await, StatusCode::OK);
    let again = admin.get("/admin/tokens").await;
    assert!(
        !again.body.contains(&secret),
        "the secret is shown only once"
    );
    assert!(again.text("tbody").contains("Prison records system"));

    let revoke = again.attrs("form[action$='/revoke']", "action")[0].clone();
    let revoked = admin.submit(&again, &revoke, &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(api_status(&pages, &secret).await, StatusCode::UNAUTHORIZED);
    assert!(
        admin
            .get("/admin/tokens")
            .await
            .text("tbody")
            .contains("Revoked")
    );
    let forged = admin.post_forged(&revoke, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn staff_cannot_reach_the_admin_pages_or_forms() {
    let pages = Pages::start().await;
    let mut admin = pages.admin().await;
    let org = pages.org_of("admin@example.org").await;
    let mut sam = pages.member(org, "sam@example.org", Role::Staff).await;
    for path in [
        "/admin/users",
        "/admin/users/new",
        "/admin/tokens",
        "/admin/audit",
    ] {
        assert_eq!(sam.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let page = sam.get("/").await;
    let posted = sam
        .submit(
            &page,
            "/admin/tokens",
            &[("label", "mine"), ("role", "admin")],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);
    let invite = sam
        .submit(
            &page,
            "/admin/users/new",
            &[("email", "eve@example.org"), ("role", "admin")],
        )
        .await;
    assert_eq!(invite.status, StatusCode::FORBIDDEN);
    let tokens = admin.get("/admin/tokens").await;
    assert!(tokens.texts("tbody tr").is_empty(), "no token was made");
    assert!(
        !admin
            .get("/admin/users")
            .await
            .text("tbody")
            .contains("eve@")
    );
}
