//! Staff accounts, one-time links, sessions and failed sign-ins; and
//! finding people by first name.

use std::sync::Arc;

use chrono::Duration;
use homeward::domain::{Email, LinkPurpose, OrgName, Role, Secret, User, UserId};
use homeward::store::{Store, StoreError};

use crate::fixtures::{MOBILE_A, MOBILE_B, new_person, org, t0};

fn user(org: homeward::domain::OrgId, email: &str, role: Role) -> User {
    User {
        id: UserId::new(),
        org_id: org,
        email: Email::parse(email).unwrap(),
        role,
        password_hash: None,
        created_at: t0(),
        disabled_at: None,
    }
}

pub async fn an_account_is_found_by_email_within_its_organisation_and_emails_are_unique(
    store: Arc<dyn Store>,
) {
    let (ours, theirs) = (
        org(store.as_ref(), "Ours").await,
        org(store.as_ref(), "Theirs").await,
    );
    assert!(!store.any_users().await.unwrap());
    let sam = user(ours, "sam@example.org", Role::Staff);
    store.create_user(&sam).await.unwrap();
    assert!(store.any_users().await.unwrap());
    let found = store
        .user_by_email(&Email::parse(" SAM@example.org").unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(sam.clone()));
    let again = store
        .create_user(&user(theirs, "sam@example.org", Role::Admin))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.user(ours, sam.id).await.unwrap(), Some(sam.clone()));
    assert_eq!(store.user(theirs, sam.id).await.unwrap(), None);
    assert_eq!(store.users(theirs).await.unwrap(), []);
    assert_eq!(
        store.disable_user(theirs, sam.id, t0()).await.unwrap(),
        None
    );
}

pub async fn a_password_link_works_once_and_never_after_it_expires(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let sam = user(ours, "sam@example.org", Role::Staff);
    store.create_user(&sam).await.unwrap();
    let (link, stale) = (Secret::generate(), Secret::generate());
    let purpose = LinkPurpose::SetPassword(sam.id);
    let day = Duration::hours(24);
    store
        .create_link(&link.hash(), purpose, t0(), t0() + day)
        .await
        .unwrap();
    store
        .create_link(&stale.hash(), purpose, t0(), t0() + day)
        .await
        .unwrap();
    assert_eq!(store.link(&link.hash(), t0()).await.unwrap(), Some(purpose));
    let set = store
        .set_password_with_link(&link.hash(), "$argon2id$x", t0())
        .await
        .unwrap();
    assert_eq!(set.unwrap().password_hash.as_deref(), Some("$argon2id$x"));
    let again = store
        .set_password_with_link(&link.hash(), "$argon2id$y", t0())
        .await
        .unwrap();
    assert_eq!(again, None, "used once");
    let late = t0() + day + Duration::seconds(1);
    assert_eq!(store.link(&stale.hash(), late).await.unwrap(), None);
    let expired = store
        .set_password_with_link(&stale.hash(), "$argon2id$z", late)
        .await
        .unwrap();
    assert_eq!(expired, None, "expired");
    let stored = store.user(ours, sam.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("$argon2id$x"));
}

pub async fn setup_makes_the_first_admin_once_and_a_new_setup_link_replaces_the_old(
    store: Arc<dyn Store>,
) {
    let (old, new) = (Secret::generate(), Secret::generate());
    let later = t0() + Duration::hours(24);
    store
        .create_link(&old.hash(), LinkPurpose::Setup, t0(), later)
        .await
        .unwrap();
    store
        .create_link(&new.hash(), LinkPurpose::Setup, t0(), later)
        .await
        .unwrap();
    assert_eq!(
        store.link(&old.hash(), t0()).await.unwrap(),
        None,
        "replaced"
    );
    let name = OrgName::parse("Throughcare North").unwrap();
    let admin = user(
        homeward::domain::OrgId::new(),
        "admin@example.org",
        Role::Admin,
    );
    let (made, first) = store
        .complete_setup(&new.hash(), &name, &admin, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.name, name);
    assert_eq!(first.org_id, made.id);
    assert_eq!(store.users(made.id).await.unwrap(), [first]);
    let third = Secret::generate();
    store
        .create_link(&third.hash(), LinkPurpose::Setup, t0(), later)
        .await
        .unwrap();
    let other = user(made.id, "other@example.org", Role::Admin);
    let again = store
        .complete_setup(&third.hash(), &name, &other, t0())
        .await
        .unwrap();
    assert!(again.is_none(), "setup is for an empty database only");
}

pub async fn a_session_ends_at_sign_out_everywhere_and_when_its_user_is_disabled(
    store: Arc<dyn Store>,
) {
    let ours = org(store.as_ref(), "Ours").await;
    let sam = user(ours, "sam@example.org", Role::Staff);
    store.create_user(&sam).await.unwrap();
    let (laptop, phone, tablet) = (Secret::generate(), Secret::generate(), Secret::generate());
    for session in [&laptop, &phone, &tablet] {
        store
            .create_session(&session.hash(), sam.id, "csrf", t0())
            .await
            .unwrap();
    }
    let live = store.session(&laptop.hash()).await.unwrap().unwrap();
    assert_eq!(
        (live.user.id, live.csrf_token.as_str(), live.last_seen_at),
        (sam.id, "csrf", t0())
    );
    store
        .touch_session(&laptop.hash(), t0() + Duration::minutes(5))
        .await
        .unwrap();
    store
        .touch_session(&laptop.hash(), t0() + Duration::minutes(1))
        .await
        .unwrap();
    let touched = store.session(&laptop.hash()).await.unwrap().unwrap();
    assert_eq!(
        touched.last_seen_at,
        t0() + Duration::minutes(5),
        "never moves back"
    );
    store.end_session(&laptop.hash(), t0()).await.unwrap();
    assert!(store.session(&laptop.hash()).await.unwrap().is_none());
    assert_eq!(store.end_sessions_of(sam.id, t0()).await.unwrap(), 2);
    assert!(store.session(&phone.hash()).await.unwrap().is_none());
    let fresh = Secret::generate();
    store
        .create_session(&fresh.hash(), sam.id, "csrf", t0())
        .await
        .unwrap();
    assert_eq!(
        store.disable_user(ours, sam.id, t0()).await.unwrap(),
        Some(true)
    );
    assert!(
        store.session(&fresh.hash()).await.unwrap().is_none(),
        "disabled: signed out"
    );
    assert_eq!(
        store.disable_user(ours, sam.id, t0()).await.unwrap(),
        Some(false)
    );
}

pub async fn failed_sign_ins_are_counted_per_key_and_forgotten(store: Arc<dyn Store>) {
    let forget = t0() - Duration::minutes(15);
    for minute in 0..3 {
        let now = t0() + Duration::minutes(minute);
        store
            .note_sign_in_failure(&["email", "address"], now, forget)
            .await
            .unwrap();
    }
    assert_eq!(store.sign_in_failures("email", t0()).await.unwrap(), 3);
    assert_eq!(
        store
            .sign_in_failures("email", t0() + Duration::minutes(2))
            .await
            .unwrap(),
        1
    );
    store.clear_sign_in_failures("email").await.unwrap();
    assert_eq!(store.sign_in_failures("email", t0()).await.unwrap(), 0);
    assert_eq!(store.sign_in_failures("address", t0()).await.unwrap(), 3);
    let much_later = t0() + Duration::hours(1);
    store
        .note_sign_in_failure(&["other"], much_later, much_later - Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(
        store.sign_in_failures("address", t0()).await.unwrap(),
        0,
        "old ones forgotten"
    );
}

pub async fn people_are_found_by_first_name_whatever_its_case_and_accents(store: Arc<dyn Store>) {
    use homeward::domain::FirstName;
    let (ours, theirs) = (
        org(store.as_ref(), "Ours").await,
        org(store.as_ref(), "Theirs").await,
    );
    let (sean, _) = store
        .upsert_person(ours, &new_person("P-1", "Seán", MOBILE_A), t0())
        .await
        .unwrap();
    store
        .upsert_person(ours, &new_person("P-2", "Sean Paul", MOBILE_B), t0())
        .await
        .unwrap();
    store
        .upsert_person(theirs, &new_person("P-1", "Sean", MOBILE_A), t0())
        .await
        .unwrap();
    let found = store
        .people_named(ours, &FirstName::parse("SEAN").unwrap())
        .await
        .unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [sean.id]);
    assert_eq!(
        store.index_names(10).await.unwrap(),
        0,
        "every name is indexed as it is written"
    );
}

pub async fn names_stored_before_they_were_indexed_are_found_after_start_up(
    db: crate::harness::Db,
) {
    use homeward::domain::FirstName;
    let ours = org(db.store.as_ref(), "Ours").await;
    db.store
        .upsert_person(ours, &new_person("P-1", "Alex", MOBILE_A), t0())
        .await
        .unwrap();
    db.execute(&["UPDATE people SET name_hash = NULL"]).await;
    let alex = FirstName::parse("alex").unwrap();
    assert_eq!(db.store.people_named(ours, &alex).await.unwrap(), []);
    let restarted = db.another().await;
    assert_eq!(restarted.people_named(ours, &alex).await.unwrap().len(), 1);
}

pub async fn a_new_role_is_kept_and_ends_the_accounts_sessions(store: Arc<dyn Store>) {
    let (ours, theirs) = (
        org(store.as_ref(), "Ours").await,
        org(store.as_ref(), "Theirs").await,
    );
    let sam = user(ours, "sam@example.org", Role::Staff);
    store.create_user(&sam).await.unwrap();
    let session = Secret::generate();
    store
        .create_session(&session.hash(), sam.id, "csrf", t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .set_user_role(theirs, sam.id, Role::Admin, t0())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .set_user_role(ours, sam.id, Role::Staff, t0())
            .await
            .unwrap(),
        Some(false)
    );
    assert!(
        store.session(&session.hash()).await.unwrap().is_some(),
        "no change, no sign-out"
    );
    assert_eq!(
        store
            .set_user_role(ours, sam.id, Role::Admin, t0())
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        store.user(ours, sam.id).await.unwrap().unwrap().role,
        Role::Admin
    );
    assert!(
        store.session(&session.hash()).await.unwrap().is_none(),
        "signed out"
    );
}
