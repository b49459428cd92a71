//! Words typed by staff at rest: sealed like every other personal field,
//! blanked when the person they are about is erased, and sealed once on
//! start-up where an older Homeward stored them in clear.

use homeward::domain::{MessageId, MessageState, NewAttention, OrgId, PersonId};
use homeward::store::{AttentionQuery, Reseal};
use homeward::vault::Field;

use crate::fixtures::{
    MOBILE_A, MOBILE_C, all_items, mins, mobile, new_person, nudge, org, person_with_release, plan,
    t0,
};
use crate::harness::Db;

/// A name and a number staff might type into any free-text field.
const NAME: &str = "Morag Ferguson";
const NUMBER: &str = "07911 654321";

fn typed(what: &str) -> String {
    format!("{what}: {NAME} rang from {NUMBER}")
}

fn assert_nowhere_in_clear(stored: &str, words: &[&str]) {
    for word in words {
        assert!(!stored.contains(word), "{word:?} is stored in clear");
    }
}

pub async fn words_typed_by_staff_are_sealed_at_rest_and_blanked_when_the_person_is_erased(db: Db) {
    let store = db.store.clone();
    let ours = org(store.as_ref(), "Ours").await;
    let (person, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let a = mobile(MOBILE_A);
    let (added, removed, again) = (typed("added"), typed("removed"), typed("again"));
    let (resolved, cancelled) = (typed("resolved"), typed("cancelled by staff"));
    store.suppress(&a, "staff:t1", &added, t0()).await.unwrap();
    let kept = store.suppression(&a).await.unwrap().expect("suppressed");
    assert_eq!(kept.reason, added, "the reason reads back");
    assert!(
        store
            .unsuppress(&a, "staff", &removed, Some("t1"), t0() + mins(1))
            .await
            .unwrap()
    );
    store
        .suppress(&a, "staff:t1", &again, t0() + mins(2))
        .await
        .unwrap();
    let item = NewAttention {
        org_id: ours,
        person_id: person.id,
        kind: "reply",
        detail: "sent a reply that needs a person to read it".into(),
        inbound_id: None,
        message_id: None,
    };
    store.raise_attention(&item, t0()).await.unwrap();
    let open = store
        .attention(ours, &AttentionQuery::open(100))
        .await
        .unwrap();
    let resolve = store.resolve_attention(ours, &open[0].id, "t1", &resolved, t0());
    assert_eq!(resolve.await.unwrap(), Some(true));
    let resolution = store.attention(ours, &all_items()).await.unwrap()[0]
        .resolution
        .clone();
    assert_eq!(resolution.as_deref(), Some(resolved.as_str()));
    let [id] = plan(store.as_ref(), &[nudge(&person, "n", t0())]).await[..] else {
        unreachable!()
    };
    store
        .cancel_message(ours, id, &cancelled, t0())
        .await
        .unwrap();
    let last = store.transitions(id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.to, last.reason.as_str()),
        (MessageState::Cancelled, cancelled.as_str())
    );

    let words = [NAME, NUMBER, "rang from"];
    assert_nowhere_in_clear(&db.everything_stored().await, &words);
    assert!(!store.key_usage().await.unwrap().contains_key("clear"));

    // The reasons go for a number the person had before, too.
    let changed = new_person("P-1", "Alex", MOBILE_C);
    let updated = store.update_person(ours, person.id, &changed, t0());
    assert!(updated.await.unwrap().is_some());
    store
        .erase_person(ours, person.id)
        .await
        .unwrap()
        .expect("erased");
    assert!(store.is_suppressed(&a).await.unwrap(), "the opt-out stays");
    let kept = store.suppression(&a).await.unwrap().expect("suppressed");
    assert_eq!(kept.reason, "", "but not the words given for it");
    let vault = db.vault();
    let log = db.column("suppression_log", "reason").await;
    assert_eq!(log.len(), 3, "every change stays on record");
    for reason in log {
        let opened = vault.open(Field::Note, &reason.expect("a reason"));
        assert_eq!(opened.unwrap(), "", "blanked in the log too");
    }
    assert_nowhere_in_clear(&db.everything_stored().await, &words);
}

pub async fn words_stored_in_clear_by_an_older_homeward_are_sealed_at_start_up(db: Db) {
    db.schema_before(20261205000009).await;
    let (org, person, message) = (OrgId::new(), PersonId::new(), MessageId::new());
    let words = format!("by letter from {NAME}");
    let at = "'2026-03-02T10:00:00Z'";
    db.execute(&[
        &format!("INSERT INTO organisations (id, name, created_at) VALUES ('{org}', 'Ours', {at})"),
        &format!(
            "INSERT INTO people (id, org_id, external_ref, first_name, mobile, language, created_at, updated_at) \
             VALUES ('{person}', '{org}', 'P-1', 'Alex', '{MOBILE_A}', 'en', {at}, {at})"
        ),
        &format!(
            "INSERT INTO messages (id, org_id, person_id, dedupe_key, template, language, body, mobile, state, \
             due_at, send_at, expires_at, priority, created_at, updated_at) \
             VALUES ('{message}', '{org}', '{person}', 'n', 'gp_registration', 'en', 'Hello', '{MOBILE_A}', \
             'cancelled', {at}, {at}, {at}, 2, {at}, {at})"
        ),
        &format!(
            "INSERT INTO message_transitions (message_id, from_state, to_state, reason, at) \
             VALUES ('{message}', 'pending', 'cancelled', 'cancelled by staff: {words}', {at})"
        ),
        &format!(
            "INSERT INTO attention (id, org_id, person_id, kind, detail, created_at, resolved_at, resolved_by, resolution) \
             VALUES ('a1', '{org}', '{person}', 'reply', 'a reply', {at}, {at}, 't1', '{words}')"
        ),
        &format!(
            "INSERT INTO suppressions (mobile_hash, source, reason, created_at) \
             VALUES ('h1', 'operator', '{words}', {at})"
        ),
        &format!(
            "INSERT INTO suppression_log (mobile_hash, action, source, reason, actor, at) \
             VALUES ('h1', 'added', 'operator', '{words}', NULL, {at})"
        ),
    ])
    .await;
    let store = db.another().await;
    for (table, column) in [
        ("suppressions", "reason"),
        ("suppression_log", "reason"),
        ("attention", "resolution"),
        ("message_transitions", "reason"),
        ("message_transitions", "note"),
    ] {
        let stored: String = db
            .column(table, column)
            .await
            .into_iter()
            .flatten()
            .collect();
        assert_nowhere_in_clear(&stored, &[NAME]);
    }
    assert_eq!(
        store.suppressions(None).await.unwrap()[0].reason,
        words,
        "it still reads"
    );
    let item = store.attention(org, &all_items()).await.unwrap().remove(0);
    assert_eq!(item.resolution, Some(words.clone()));
    let last = store.transitions(message).await.unwrap().pop().unwrap();
    assert_eq!(last.reason, format!("cancelled by staff: {words}"));
    let usage = store.key_usage().await.unwrap();
    assert!(!usage.contains_key("clear"), "{usage:?}");
    assert_eq!(
        store.reseal(Reseal::Clear).await.unwrap(),
        0,
        "once is enough"
    );
}
