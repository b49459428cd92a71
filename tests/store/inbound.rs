//! Replies, the suppression list and the attention list.

use std::collections::HashSet;
use std::sync::Arc;

use homeward::domain::PhoneNumber;
use homeward::domain::{
    Inbound, MessageId, MessageOrigin, MessageState, NewAttention, NewMessage, Person,
};
use homeward::store::{AttentionQuery, PlanChanges, SendRecord, Store};

use crate::harness::Db;

use crate::fixtures::{
    MOBILE_A, MOBILE_B, MOBILE_C, all_items, mins, mobile, new_person, nudge, org,
    person_with_release, plan, rule_message, state_of, t0,
};

fn inbound(id: &str, provider_message_id: &str, minutes: i64) -> Inbound {
    Inbound {
        id: id.into(),
        provider: "hook".into(),
        provider_message_id: provider_message_id.into(),
        from: MOBILE_A.into(),
        body: "STOP".into(),
        intent: "opt_out".into(),
        received_at: t0() + mins(minutes),
    }
}

fn reply_to(person: &Person, key: &str) -> NewMessage {
    let mut m = nudge(person, key, t0());
    m.origin = MessageOrigin::Reply {
        inbound_id: "in-1".into(),
    };
    m
}

pub async fn suppression_is_idempotent_audited_and_scoped_by_organisation(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    person_with_release(store.as_ref(), theirs, "K-1", MOBILE_B).await;
    let (a, b, c) = (mobile(MOBILE_A), mobile(MOBILE_B), mobile(MOBILE_C));
    store.suppress(&a, "reply", "STOP", t0()).await.unwrap();
    store
        .suppress(&a, "staff", "asked again", t0() + mins(1))
        .await
        .unwrap();
    let kept = store.suppression(&a).await.unwrap().expect("suppressed");
    assert_eq!(
        (kept.source.as_str(), kept.reason.as_str()),
        ("reply", "STOP")
    );
    assert_eq!(kept.since, t0(), "the first stays");
    assert!(
        !kept.mobile_hash.as_str().contains(&MOBILE_A[1..]),
        "only a keyed hash of the number is kept"
    );
    assert!(store.is_suppressed(&a).await.unwrap());
    assert!(!store.is_suppressed(&b).await.unwrap());
    store
        .suppress(&b, "twilio", "21610", t0() + mins(2))
        .await
        .unwrap();
    let among = store
        .suppressed_among(&[a.clone(), c.clone()])
        .await
        .unwrap();
    assert_eq!(among, HashSet::from([a.clone()]));
    assert!(store.suppressed_among(&[]).await.unwrap().is_empty());
    let hash_a = store_hash(store.as_ref(), &a).await;
    let hash_b = store_hash(store.as_ref(), &b).await;
    let hashes = |list: Vec<homeward::domain::Suppression>| {
        list.into_iter().map(|s| s.mobile_hash).collect::<Vec<_>>()
    };
    assert_eq!(
        hashes(store.suppressions(None).await.unwrap()),
        [hash_a.clone(), hash_b.clone()]
    );
    let ours_list = store.suppressions(Some(ours)).await.unwrap();
    assert_eq!(hashes(ours_list.clone()), [hash_a]);
    let our_people = store.people_by_mobile(&a).await.unwrap();
    assert_eq!(ours_list[0].people, [our_people[0].id], "names our person");
    assert_eq!(
        hashes(store.suppressions(Some(theirs)).await.unwrap()),
        [hash_b]
    );
    let a = mobile(MOBILE_A);
    let removed = store.unsuppress(&a, "reply", "START", None, t0() + mins(3));
    assert!(removed.await.unwrap());
    let again = store.unsuppress(&a, "staff", "undo", Some("staff-1"), t0() + mins(4));
    assert!(!again.await.unwrap());
    assert!(store.suppression(&a).await.unwrap().is_none());
    assert!(!store.is_suppressed(&a).await.unwrap());
}

/// The dispatcher's last look-up before each provider call must see a
/// STOP the moment it is committed, by this daemon or another process
/// (a second daemon, `homeward optout add`), however long the list asked.
pub async fn a_suppression_is_seen_by_the_next_look_up_whoever_recorded_it(db: Db) {
    let daemon = db.store.clone();
    let other = db.another().await;
    let (a, b) = (mobile(MOBILE_A), mobile(MOBILE_B));
    // Many numbers at once, more than one SQL list of values holds.
    let mut asked: Vec<PhoneNumber> = (0..1200)
        .map(|n| mobile(&format!("+4474009{n:05}")))
        .collect();
    asked.extend([a.clone(), b.clone()]);
    assert!(daemon.suppressed_among(&asked).await.unwrap().is_empty());
    other.suppress(&a, "reply", "STOP", t0()).await.unwrap();
    let seen = daemon.suppressed_among(&asked).await.unwrap();
    assert_eq!(seen, HashSet::from([a.clone()]), "another process's STOP");
    daemon
        .suppress(&asked[700], "staff", "asked", t0())
        .await
        .unwrap();
    let seen = daemon.suppressed_among(&asked).await.unwrap();
    assert_eq!(seen, HashSet::from([a.clone(), asked[700].clone()]));
    let started = other.unsuppress(&a, "reply", "START", None, t0() + mins(1));
    assert!(started.await.unwrap());
    assert!(
        !daemon.is_suppressed(&a).await.unwrap(),
        "START is seen too"
    );
    assert!(daemon.is_suppressed(&asked[700]).await.unwrap());
}

pub async fn an_inbound_text_is_stored_once_and_shown_to_each_matched_person(
    store: Arc<dyn Store>,
) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let (alex, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let (kim, _) = person_with_release(store.as_ref(), theirs, "K-1", MOBILE_A).await;
    let first = inbound("in-1", "pm-1", 0);
    let both = [alex.clone(), kim.clone()];
    assert!(store.record_inbound(&first, &both).await.unwrap());
    let replay = inbound("in-1-again", "pm-1", 1);
    assert!(
        !store.record_inbound(&replay, &both).await.unwrap(),
        "a replay"
    );
    let second = inbound("in-2", "pm-2", 5);
    assert!(
        store
            .record_inbound(&second, std::slice::from_ref(&alex))
            .await
            .unwrap()
    );
    let orphan = inbound("in-3", "pm-3", 6);
    assert!(store.record_inbound(&orphan, &[]).await.unwrap());
    let alex_sees = store.inbound_for_person(ours, alex.id).await.unwrap();
    assert_eq!(alex_sees, [first.clone(), second]);
    assert_eq!(
        store.inbound_for_person(theirs, kim.id).await.unwrap(),
        [first]
    );
    assert!(
        store
            .inbound_for_person(theirs, alex.id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn several_peoples_replies_and_details_come_in_one_read_each(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let (alex, alex_release) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), ours, "P-2", MOBILE_B).await;
    let (kim, _) = person_with_release(store.as_ref(), theirs, "K-1", MOBILE_C).await;
    let from = |id: &str, number: &str, minutes| Inbound {
        from: number.into(),
        ..inbound(id, id, minutes)
    };
    let (late, early, other) = (
        from("a-late", MOBILE_A, 9),
        from("s-early", MOBILE_B, 1),
        from("k", MOBILE_C, 0),
    );
    store
        .record_inbound(&late, std::slice::from_ref(&alex))
        .await
        .unwrap();
    store
        .record_inbound(&early, std::slice::from_ref(&sam))
        .await
        .unwrap();
    store
        .record_inbound(&other, std::slice::from_ref(&kim))
        .await
        .unwrap();

    let asked = [alex.id, sam.id, kim.id];
    let said = store.inbound_for_people(ours, &asked).await.unwrap();
    assert_eq!(
        said,
        [(sam.id, early), (alex.id, late)],
        "oldest first, whose each is, none of another organisation's"
    );
    let answer = |person: &Person, key: &str, minutes| NewMessage {
        send_at: t0() + mins(minutes),
        ..reply_to(person, key)
    };
    let staff_key = |n: u32| format!("{}{n}", MessageOrigin::STAFF_REPLY_KEY);
    let planned = [
        answer(&alex, "a", 5),
        answer(&sam, "s", 1),
        answer(&kim, "k", 0),
        nudge(&alex, "a reminder for later", t0() + mins(2)),
        NewMessage {
            origin: MessageOrigin::StaffReply,
            ..nudge(&sam, &staff_key(1), t0() + mins(7))
        },
        // A rule's text whose key happens to look like a staff reply's.
        rule_message(&alex, &alex_release, &staff_key(2), t0() + mins(3)),
        nudge(&sam, "went out", t0() - mins(30)),
        nudge(&sam, "failed", t0() - mins(20)),
        nudge(&alex, "too late", t0() - mins(10)),
    ];
    let [
        to_alex,
        to_sam,
        _,
        _,
        staff_to_sam,
        _,
        went,
        failed,
        too_late,
    ] = plan(store.as_ref(), &planned).await[..]
    else {
        unreachable!()
    };
    let claimed = store
        .claim_due(t0(), t0() + mins(5), 10, "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4, "the three past texts and Kim's answer");
    let sent = SendRecord::Sent {
        provider: "hook".into(),
        provider_id: "p-1".into(),
    };
    let gave_up = SendRecord::Failed {
        reason: "invalid".into(),
    };
    let expired = SendRecord::Expired {
        reason: "too late".into(),
    };
    let outcomes = [(went, sent), (failed, gave_up), (too_late, expired)];
    store.record_sends("w", &outcomes, t0()).await.unwrap();

    let texts = store.conversation_texts(ours, &asked, 10).await.unwrap();
    let ids: Vec<_> = texts.iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        [went, failed, to_sam, to_alex, staff_to_sam],
        "texts gone and answers waiting to go, in send order, only our people's; \
         not a reminder or a rule's text waiting, nor a text that never went"
    );
    assert_eq!(texts[0].body.as_str(), "Hello Alex", "read back unsealed");
    let latest = store.conversation_texts(ours, &asked, 1).await.unwrap();
    let ids: Vec<_> = latest.iter().map(|m| m.id).collect();
    assert_eq!(ids, [to_alex, staff_to_sam], "each person's latest only");
    let mut found: Vec<_> = store.people_by_ids(ours, &asked).await.unwrap();
    found.sort_by_key(|p| p.external_ref.as_str().to_owned());
    assert_eq!(found, [alex, sam], "only our people, read back whole");
    assert!(store.people_by_ids(ours, &[]).await.unwrap().is_empty());
}

pub async fn people_with_a_number_are_found_most_recently_updated_first(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let upsert = |org_id, reference: &'static str, name: &'static str, minutes| {
        let store = store.clone();
        async move {
            let person = new_person(reference, name, MOBILE_A);
            let at = t0() + mins(minutes);
            store.upsert_person(org_id, &person, at).await.unwrap().0
        }
    };
    let alex = upsert(ours, "P-1", "Alex", 0).await;
    let kim = upsert(theirs, "K-1", "Kim", 1).await;
    let (sam, _) = person_with_release(store.as_ref(), ours, "P-2", MOBILE_B).await;
    let ids = |people: Vec<Person>| people.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let found = store.people_by_mobile(&mobile(MOBILE_A)).await.unwrap();
    assert_eq!(ids(found), [kim.id, alex.id]);
    upsert(ours, "P-1", "Alexandra", 2).await;
    let found = store.people_by_mobile(&mobile(MOBILE_A)).await.unwrap();
    assert_eq!(ids(found), [alex.id, kim.id]);
    let found = store.people_by_mobile(&mobile(MOBILE_B)).await.unwrap();
    assert_eq!(ids(found), [sam.id]);
    assert!(
        store
            .people_by_mobile(&mobile(MOBILE_C))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn opting_back_in_revives_only_suppressed_texts_still_worth_sending(
    store: Arc<dyn Store>,
) {
    let org_id = org(store.as_ref(), "Team").await;
    let (alex, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), org_id, "P-2", MOBILE_B).await;
    let suppressed = [
        nudge(&alex, "worth-it", t0() + mins(60)),
        nudge(&alex, "stale", t0() - chrono::Duration::days(3)),
        reply_to(&alex, "old-reply"),
        nudge(&sam, "other-number", t0() + mins(60)),
    ];
    let changes = PlanChanges {
        create: suppressed
            .iter()
            .map(|m| (m.clone(), MessageState::Suppressed, "opted out".into()))
            .collect(),
        ..Default::default()
    };
    store.apply_plan(&changes, t0()).await.unwrap();
    let [waiting] = plan(store.as_ref(), &[nudge(&alex, "pending", t0())]).await[..] else {
        unreachable!()
    };
    let now = t0() + mins(5);
    assert_eq!(
        store
            .revive_suppressed(&mobile(MOBILE_A), now)
            .await
            .unwrap(),
        1
    );
    let states: Vec<MessageState> = {
        let mut out = Vec::new();
        for m in &suppressed {
            out.push(state_of(&store, org_id, m.id).await);
        }
        out
    };
    use MessageState::{Pending, Suppressed};
    assert_eq!(states, [Pending, Suppressed, Suppressed, Suppressed]);
    let last = store
        .transitions(suppressed[0].id)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (last.from, last.to, last.at),
        (Some(Suppressed), Pending, now)
    );
    assert_eq!(last.reason, "the person opted back in (START)");
    assert_eq!(store.transitions(waiting).await.unwrap().len(), 1);
    assert_eq!(
        store
            .revive_suppressed(&mobile(MOBILE_A), now)
            .await
            .unwrap(),
        0
    );
}

pub async fn an_attention_item_is_raised_once_while_open_and_resolved_once(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let (alex, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let item = |inbound_id: Option<&str>, message_id: Option<MessageId>| NewAttention {
        org_id: ours,
        person_id: alex.id,
        kind: "wrong_number",
        detail: "says it is the wrong number".into(),
        inbound_id: inbound_id.map(Into::into),
        message_id,
    };
    let open_items = async || {
        store
            .attention(ours, &AttentionQuery::open(100))
            .await
            .unwrap()
    };
    let message = MessageId::new();
    for _ in 0..2 {
        store
            .raise_attention(&item(Some("in-1"), None), t0())
            .await
            .unwrap();
        store
            .raise_attention(&item(None, Some(message)), t0())
            .await
            .unwrap();
        store
            .raise_attention(&item(None, None), t0() + mins(1))
            .await
            .unwrap();
    }
    let open = open_items().await;
    assert_eq!(open.len(), 3, "one open item per cause");
    assert!(
        store
            .attention(theirs, &all_items())
            .await
            .unwrap()
            .is_empty()
    );
    let first = &open[0];
    assert_eq!(
        (first.person_id, first.kind.as_str()),
        (alex.id, "wrong_number")
    );
    assert_eq!((first.resolved_at, first.created_at), (None, t0()));
    assert_eq!(
        open.iter()
            .filter(|i| i.message_id == Some(message))
            .count(),
        1
    );
    let id = open[0].id.clone();
    let resolve = |org_id| store.resolve_attention(org_id, &id, "staff-1", "fixed", t0() + mins(9));
    assert_eq!(
        resolve(theirs).await.unwrap(),
        None,
        "not theirs to resolve"
    );
    assert_eq!(resolve(ours).await.unwrap(), Some(true));
    assert_eq!(resolve(ours).await.unwrap(), Some(false));
    let unknown = store
        .resolve_attention(ours, "no-such-item", "s", "n", t0())
        .await;
    assert_eq!(unknown.unwrap(), None);
    assert_eq!(open_items().await.len(), 2);
    let everything = store.attention(ours, &all_items()).await.unwrap();
    let alexs = store
        .attention(ours, &AttentionQuery::of_person(alex.id))
        .await
        .unwrap();
    assert_eq!(alexs.len(), everything.len(), "every item is Alex's");
    let (sam, _) = person_with_release(store.as_ref(), ours, "P-2", MOBILE_B).await;
    let sams = store
        .attention(ours, &AttentionQuery::of_person(sam.id))
        .await
        .unwrap();
    assert!(sams.is_empty(), "one person's list holds only theirs");
    let resolved = everything
        .iter()
        .find(|i| i.id == id)
        .expect("still listed");
    assert_eq!(resolved.resolved_at, Some(t0() + mins(9)));
    assert_eq!(resolved.resolution.as_deref(), Some("fixed"));
    let raised_again = item(open[0].inbound_id.as_deref(), open[0].message_id);
    store
        .raise_attention(&raised_again, t0() + mins(10))
        .await
        .unwrap();
    assert_eq!(open_items().await.len(), 3, "a resolved item can recur");
}

pub async fn the_attention_list_is_read_a_page_at_a_time(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let (alex, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), theirs, "P-2", MOBILE_B).await;
    let raise = |org_id, person_id, cause: usize| NewAttention {
        org_id,
        person_id,
        kind: "reply",
        detail: format!("reply {cause}"),
        inbound_id: Some(format!("in-{cause}")),
        message_id: None,
    };
    // Raised out of order, two at one instant (the second and third, so a
    // page of two ends between them): pages follow when each was raised,
    // then the id, whatever order they came in.
    for (cause, minute) in [(0, 5), (1, 1), (2, 1), (3, 3), (4, 0), (5, 4)] {
        let at = t0() + mins(minute);
        store
            .raise_attention(&raise(ours, alex.id, cause), at)
            .await
            .unwrap();
        store
            .raise_attention(&raise(theirs, sam.id, cause), at)
            .await
            .unwrap();
    }
    let details = |items: &[homeward::domain::AttentionItem]| -> Vec<String> {
        items.iter().map(|i| i.detail.clone()).collect()
    };
    let everything = store.attention(ours, &all_items()).await.unwrap();
    assert_eq!(everything.len(), 6, "only our items");
    let by_time: Vec<_> = everything
        .iter()
        .map(|i| (i.created_at, i.id.clone()))
        .collect();
    assert!(by_time.is_sorted(), "oldest first, ties by id: {by_time:?}");
    let oldest = |after: Option<String>| AttentionQuery {
        after,
        ..AttentionQuery::open(2)
    };
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.attention(ours, &oldest(after.clone())).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        pages.extend(page);
    }
    assert_eq!(
        details(&pages),
        details(&everything),
        "pages join up, none twice"
    );
    let newest = AttentionQuery {
        newest_first: true,
        after: Some(everything[3].id.clone()),
        ..AttentionQuery::open(10)
    };
    let older = store.attention(ours, &newest).await.unwrap();
    let expected: Vec<String> = details(&everything[..3]).into_iter().rev().collect();
    assert_eq!(details(&older), expected, "newest first, after an item");

    store
        .resolve_attention(ours, &everything[1].id, "staff-1", "done", t0())
        .await
        .unwrap();
    let open = store
        .attention(ours, &AttentionQuery::open(10))
        .await
        .unwrap();
    assert_eq!(open.len(), 5);
    assert!(
        open.iter().all(|i| i.id != everything[1].id),
        "resolved left out"
    );
    assert_eq!(store.open_attention_count(ours).await.unwrap(), 5);
    assert_eq!(store.open_attention_count(theirs).await.unwrap(), 6);

    let one = store.attention_item(ours, &everything[1].id).await.unwrap();
    assert_eq!(one.and_then(|i| i.resolution), Some("done".to_owned()));
    let theirs_item = store
        .attention(theirs, &all_items())
        .await
        .unwrap()
        .remove(0);
    assert!(
        store
            .attention_item(ours, &theirs_item.id)
            .await
            .unwrap()
            .is_none()
    );
    let after_theirs = oldest(Some(theirs_item.id));
    assert!(
        store
            .attention(ours, &after_theirs)
            .await
            .unwrap()
            .is_empty(),
        "another organisation's item is no place to start from"
    );
}

pub async fn a_queued_reply_is_seen_by_replied_since(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (alex, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let [reply] = plan(store.as_ref(), &[reply_to(&alex, "reply")]).await[..] else {
        unreachable!()
    };
    plan(store.as_ref(), &[nudge(&alex, "not-a-reply", t0())]).await;
    let (a, b) = (mobile(MOBILE_A), mobile(MOBILE_B));
    let hour_ago = t0() - mins(60);
    assert!(
        store
            .replied_since(&a, "gp_registration", hour_ago)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replied_since(&a, "gp_registration", t0() + mins(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .replied_since(&a, "help_reply", hour_ago)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replied_since(&b, "gp_registration", hour_ago)
            .await
            .unwrap()
    );
    store
        .cancel_message(org_id, reply, "staff", t0())
        .await
        .unwrap();
    assert!(
        !store
            .replied_since(&a, "gp_registration", hour_ago)
            .await
            .unwrap()
    );
}

pub async fn people_whose_texts_go_undelivered_are_found_silent(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (alex, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), org_id, "P-2", MOBILE_B).await;
    let (kim, _) = person_with_release(store.as_ref(), org_id, "P-3", MOBILE_C).await;
    let ids = plan(
        store.as_ref(),
        &[
            nudge(&alex, "a", t0()),
            nudge(&sam, "s", t0()),
            nudge(&kim, "k", t0() + mins(60)),
        ],
    )
    .await;
    store
        .claim_due(t0(), t0() + mins(1), 10, "w")
        .await
        .unwrap();
    for id in &ids[..2] {
        let sent = SendRecord::Sent {
            provider: "hook".into(),
            provider_id: id.to_string(),
        };
        store.record_send(*id, "w", &sent, t0()).await.unwrap();
    }
    store
        .record_delivery("hook", &ids[1].to_string(), None, Ok(()), t0())
        .await
        .unwrap();
    let later = t0() + mins(60);
    store
        .claim_due(later, later + mins(1), 10, "w")
        .await
        .unwrap();
    let sent = SendRecord::Sent {
        provider: "hook".into(),
        provider_id: "k".into(),
    };
    store.record_send(ids[2], "w", &sent, later).await.unwrap();
    let silent = store.silent_people(t0() + mins(30)).await.unwrap();
    assert_eq!(silent, [(org_id, alex.id)]);
}

async fn store_hash(
    store: &dyn Store,
    mobile: &homeward::domain::PhoneNumber,
) -> homeward::domain::MobileHash {
    store
        .suppression(mobile)
        .await
        .unwrap()
        .expect("suppressed")
        .mobile_hash
}
