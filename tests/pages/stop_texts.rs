//! Stopping texts to a number (any staff member) and allowing them again
//! (admins only), each with a reason and an audit entry.

use axum::http::StatusCode;
use homeward::domain::{AuditAction, Role, TargetKind};
use homeward::store::AuditFilter;

use crate::check_page;
use crate::harness::{MOBILE, Pages};

#[tokio::test]
async fn staff_stop_texts_with_a_reason_and_only_an_admin_allows_them_again() {
    let pages = Pages::start().await;
    let (mut admin, org) = pages.admin_with(&[("SPS-1", "Alex", MOBILE)]).await;
    let mut staff = pages.member(org, "sam@example.org", Role::Staff).await;
    let person = staff.get("/people").await.attrs("tbody a", "href")[0].clone();
    let stop = format!("{person}/stop-texts");
    assert!(
        staff
            .get(&person)
            .await
            .attrs("main a", "href")
            .contains(&stop)
    );

    let form = staff.get(&stop).await;
    check_page(&form);
    assert_eq!(form.text("h1"), "Stop all texts to Alex");
    let empty = staff.submit(&form, &stop, &[("reason", "  ")]).await;
    assert_eq!(empty.status, StatusCode::OK);
    check_page(&empty);
    assert_eq!(empty.attrs(".ds_error-summary a", "href"), ["#reason"]);
    assert!(empty.text("#reason-error").contains("Enter a reason"));
    let forged = staff.post_forged(&stop, &[("reason", "asked")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!staff.get(&person).await.text("main").contains("Opted out"));

    let reason = [("reason", "Asked on the phone for no more texts")];
    let done = staff.submit(&form, &stop, &reason).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), person);
    let page = staff.get(&person).await;
    assert!(page.text(".ds_inset-text").contains("Opted out"));
    let allow = format!("{person}/allow-texts");
    assert!(
        !page.attrs("main a", "href").contains(&allow),
        "not offered to staff"
    );
    assert_eq!(staff.get(&allow).await.status, StatusCode::FORBIDDEN);
    let posted = staff.submit(&form, &allow, &[("reason", "asked")]).await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);

    assert!(
        admin
            .get(&person)
            .await
            .attrs("main a", "href")
            .contains(&allow)
    );
    let form = admin.get(&allow).await;
    check_page(&form);
    let again = [(
        "reason",
        "Asked in person on 8 December to have texts again",
    )];
    let done = admin.submit(&form, &allow, &again).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(!admin.get(&person).await.text("main").contains("Opted out"));

    let filter = AuditFilter {
        target_kind: Some(TargetKind::OptOut),
        limit: 10,
        ..AuditFilter::default()
    };
    let audit = pages.store.audit_entries(org, &filter).await.unwrap();
    let actions: Vec<AuditAction> = audit.iter().map(|e| e.action).collect();
    assert_eq!(actions, [AuditAction::Created, AuditAction::Deleted]);
}
