//! Planning's side: the outbox, its transitions, goals and listings.

use std::sync::Arc;

use chrono::NaiveTime;
use homeward::domain::{EventId, MessageBody, MessageId, MessageOrigin, MessageState, Transition};
use homeward::store::{MessageFilter, MessageUpdate, PlanChanges, Store};

use crate::fixtures::{
    MOBILE_A, MOBILE_B, liberation, mins, mobile, new_person, nudge, org, person_with_release,
    plan, rule_message, state_of, t0,
};

fn all(limit: u32) -> MessageFilter {
    MessageFilter {
        limit,
        ..Default::default()
    }
}

pub async fn a_planned_message_is_stored_with_its_first_transition(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, event) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let mut planned = rule_message(&person, &event, "rel/gp/1", t0() + mins(30));
    planned.earliest = NaiveTime::from_hms_opt(8, 30, 0);
    planned.goal = Some("gp_registered".into());
    let [id] = plan(store.as_ref(), &[planned.clone()]).await[..] else {
        unreachable!()
    };
    let stored = store.message(org_id, id).await.unwrap().expect("stored");
    assert_eq!(stored.state, MessageState::Pending);
    assert_eq!(stored.origin, planned.origin);
    assert_eq!(
        (&stored.dedupe_key, &stored.body),
        (&planned.dedupe_key, &planned.body)
    );
    assert_eq!(
        (&stored.mobile, &stored.template),
        (&planned.mobile, &planned.template)
    );
    assert_eq!(
        (stored.due_at, stored.send_at),
        (planned.due_at, planned.send_at)
    );
    assert_eq!(stored.expires_at, planned.expires_at);
    assert_eq!(
        (stored.earliest, stored.priority),
        (planned.earliest, planned.priority)
    );
    assert_eq!((&stored.goal, stored.created_at), (&planned.goal, t0()));
    let history = store.transitions(id).await.unwrap();
    let first = Transition {
        from: None,
        to: MessageState::Pending,
        reason: "planned".into(),
        at: t0(),
    };
    assert_eq!(history, [first]);
    let by_event = store.rule_messages_for_events(&[event.id]).await.unwrap();
    assert_eq!(by_event, [stored]);
    assert!(
        store
            .rule_messages_for_events(&[])
            .await
            .unwrap()
            .is_empty()
    );
    let nobody = store.rule_messages_for_events(&[EventId::new()]).await;
    assert!(nobody.unwrap().is_empty());
    assert!(
        store
            .transitions(MessageId::new())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn messages_are_listed_by_filter_within_one_organisation(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let (alex, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), ours, "P-2", MOBILE_B).await;
    let (kim, _) = person_with_release(store.as_ref(), theirs, "P-1", MOBILE_A).await;
    let ids = plan(
        store.as_ref(),
        &[
            nudge(&alex, "a30", t0() + mins(30)),
            nudge(&alex, "a10", t0() + mins(10)),
            nudge(&sam, "s15", t0() + mins(15)),
            nudge(&alex, "a20", t0() + mins(20)),
            nudge(&kim, "k5", t0() + mins(5)),
        ],
    )
    .await;
    let keys = |filter: MessageFilter| {
        let store = store.clone();
        async move {
            let listed = store.messages(ours, &filter).await.unwrap();
            listed.into_iter().map(|m| m.dedupe_key).collect::<Vec<_>>()
        }
    };
    assert_eq!(keys(all(10)).await, ["a10", "s15", "a20", "a30"]);
    let alex_only = MessageFilter {
        person: Some(alex.id),
        ..all(10)
    };
    assert_eq!(keys(alex_only).await, ["a10", "a20", "a30"]);
    let window = MessageFilter {
        from: Some(t0() + mins(15)),
        to: Some(t0() + mins(30)),
        ..all(10)
    };
    assert_eq!(keys(window).await, ["s15", "a20"]);
    assert_eq!(keys(all(2)).await, ["a10", "s15"]);
    store
        .cancel_message(ours, ids[0], "staff", t0())
        .await
        .unwrap();
    let cancelled = MessageFilter {
        state: Some(MessageState::Cancelled),
        ..all(10)
    };
    assert_eq!(keys(cancelled).await, ["a30"]);
    // Every state at once, merged in send order.
    store
        .cancel_message(ours, ids[1], "staff", t0())
        .await
        .unwrap();
    assert_eq!(keys(all(10)).await, ["a10", "s15", "a20", "a30"]);
    assert_eq!(keys(all(3)).await, ["a10", "s15", "a20"]);
    let later = MessageFilter {
        from: Some(t0() + mins(20)),
        ..all(10)
    };
    assert_eq!(keys(later).await, ["a20", "a30"]);
    let earlier = MessageFilter {
        to: Some(t0() + mins(30)),
        ..all(10)
    };
    assert_eq!(keys(earlier).await, ["a10", "s15", "a20"]);
    assert!(store.message(ours, ids[4]).await.unwrap().is_none());
    assert!(store.message(theirs, ids[4]).await.unwrap().is_some());
}

pub async fn a_dedupe_key_allows_one_live_message_and_a_second_plan_of_it_steps_aside(
    store: Arc<dyn Store>,
) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, event) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let first = rule_message(&person, &event, "rel/gp", t0());
    plan(store.as_ref(), std::slice::from_ref(&first)).await;
    let bystander = rule_message(&person, &event, "rel/inform", t0());
    let duplicate = rule_message(&person, &event, "rel/gp", t0());
    let changes = PlanChanges {
        create: vec![
            (bystander.clone(), MessageState::Pending, "planned".into()),
            (duplicate.clone(), MessageState::Pending, "planned".into()),
        ],
        ..Default::default()
    };
    // Another daemon planned the same key first: the rest of the plan applies.
    store.apply_plan(&changes, t0()).await.unwrap();
    assert!(store.message(org_id, bystander.id).await.unwrap().is_some());
    assert!(
        store.message(org_id, duplicate.id).await.unwrap().is_none(),
        "one live message per key"
    );
    assert!(store.transitions(duplicate.id).await.unwrap().is_empty());
    let cancel = PlanChanges {
        cancel: vec![(first.id, "the date moved".into())],
        ..Default::default()
    };
    store.apply_plan(&cancel, t0()).await.unwrap();
    let replan = rule_message(&person, &event, "rel/gp", t0() + mins(60));
    plan(store.as_ref(), std::slice::from_ref(&replan)).await;
    assert_eq!(
        state_of(&store, org_id, replan.id).await,
        MessageState::Pending
    );
    assert!(
        store
            .apply_plan(&PlanChanges::default(), t0())
            .await
            .is_ok()
    );
}

pub async fn planning_moves_and_updates_only_waiting_messages(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let due_now = nudge(&person, "claimed", t0() - mins(5));
    let later = |key| nudge(&person, key, t0() + mins(60));
    let ids = plan(
        store.as_ref(),
        &[due_now, later("cancel"), later("expire"), later("update")],
    )
    .await;
    let [claimed, to_cancel, to_expire, to_update] = ids[..] else {
        unreachable!()
    };
    let claims = store
        .claim_due(t0(), t0() + mins(1), 10, "w1")
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
    let update = |id| MessageUpdate {
        id,
        body: MessageBody::new("Changed text".into()),
        language: person.language.clone(),
        mobile: mobile(MOBILE_B),
        due_at: t0() + mins(90),
        send_at: t0() + mins(95),
        expires_at: t0() + mins(900),
    };
    let changes = PlanChanges {
        cancel: vec![(claimed, "x".into()), (to_cancel, "event cancelled".into())],
        expire: vec![(claimed, "x".into()), (to_expire, "too late".into())],
        update: vec![update(claimed), update(to_update)],
        ..Default::default()
    };
    store.apply_plan(&changes, t0() + mins(2)).await.unwrap();
    let claimed_now = store.message(org_id, claimed).await.unwrap().unwrap();
    assert_eq!(claimed_now.state, MessageState::Claimed);
    assert_eq!(
        claimed_now.body.as_str(),
        "Hello Alex",
        "a claim is not planning's"
    );
    assert_eq!(store.transitions(claimed).await.unwrap().len(), 2);
    assert_eq!(
        state_of(&store, org_id, to_cancel).await,
        MessageState::Cancelled
    );
    assert_eq!(
        state_of(&store, org_id, to_expire).await,
        MessageState::Expired
    );
    let expired = store.transitions(to_expire).await.unwrap();
    let last = expired.last().unwrap();
    assert_eq!(
        (last.from, last.to),
        (Some(MessageState::Pending), MessageState::Expired)
    );
    assert_eq!(
        (last.reason.as_str(), last.at),
        ("too late", t0() + mins(2))
    );
    let updated = store.message(org_id, to_update).await.unwrap().unwrap();
    assert_eq!(
        (updated.state, updated.body.as_str()),
        (MessageState::Pending, "Changed text")
    );
    assert_eq!(
        (updated.send_at, updated.mobile.clone()),
        (t0() + mins(95), mobile(MOBILE_B))
    );
    assert_eq!(updated.updated_at, t0() + mins(2));
    assert_eq!(store.transitions(to_update).await.unwrap().len(), 1);
    let again = PlanChanges {
        cancel: vec![(to_cancel, "again".into())],
        ..Default::default()
    };
    store.apply_plan(&again, t0() + mins(3)).await.unwrap();
    assert_eq!(store.transitions(to_cancel).await.unwrap().len(), 2);
}

pub async fn cancelling_a_message_records_it_once_and_only_for_its_organisation(
    store: Arc<dyn Store>,
) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let (person, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let [id] = plan(store.as_ref(), &[nudge(&person, "n", t0())]).await[..] else {
        unreachable!()
    };
    assert!(
        store
            .cancel_message(theirs, id, "x", t0())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(state_of(&store, ours, id).await, MessageState::Pending);
    let cancelled = store.cancel_message(ours, id, "staff", t0()).await.unwrap();
    assert_eq!(cancelled.map(|m| m.state), Some(MessageState::Cancelled));
    let again = store.cancel_message(ours, id, "staff", t0()).await.unwrap();
    assert_eq!(again.map(|m| m.state), Some(MessageState::Cancelled));
    let history = store.transitions(id).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (last.from, last.reason.as_str()),
        (Some(MessageState::Pending), "staff")
    );
    let unknown = store
        .cancel_message(ours, MessageId::new(), "x", t0())
        .await;
    assert!(unknown.unwrap().is_none());
}

pub async fn an_outcome_is_recorded_once_and_read_back_as_a_goal(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (alex, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), org_id, "P-2", MOBILE_B).await;
    assert!(
        store
            .record_outcome(org_id, alex.id, "gp_registered", t0())
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_outcome(org_id, alex.id, "gp_registered", t0())
            .await
            .unwrap()
    );
    assert!(
        store
            .record_outcome(org_id, alex.id, "dentist", t0())
            .await
            .unwrap()
    );
    let mut goals = store.goals_reached(&[alex.id, sam.id]).await.unwrap();
    goals.sort();
    let expected = [
        (alex.id, "dentist".to_owned()),
        (alex.id, "gp_registered".to_owned()),
    ];
    assert_eq!(goals, expected);
    assert!(store.goals_reached(&[sam.id]).await.unwrap().is_empty());
    assert!(store.goals_reached(&[]).await.unwrap().is_empty());
}

pub async fn messages_to_numbers_counts_live_texts_from_every_organisation(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let (alex, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let (kim, _) = person_with_release(store.as_ref(), theirs, "K-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), ours, "P-2", MOBILE_B).await;
    let reply = {
        let mut m = nudge(&alex, "reply", t0() + mins(1));
        m.origin = MessageOrigin::Reply {
            inbound_id: "in-1".into(),
        };
        m
    };
    let ids = plan(
        store.as_ref(),
        &[
            nudge(&alex, "claimed", t0() - mins(1)),
            nudge(&kim, "pending", t0() + mins(120)),
            nudge(&alex, "cancelled", t0() + mins(60)),
            nudge(&alex, "last-week", t0() - chrono::Duration::days(7)),
            nudge(&sam, "other-number", t0() + mins(30)),
            reply,
        ],
    )
    .await;
    store
        .cancel_message(ours, ids[2], "staff", t0())
        .await
        .unwrap();
    let since = t0() - chrono::Duration::days(1);
    // Both due texts are claimed: a claimed text still counts.
    let claims = store
        .claim_due(t0(), t0() + mins(1), 2, "w1")
        .await
        .unwrap();
    assert_eq!(claims.len(), 2);
    let found = store
        .messages_to_numbers(&[mobile(MOBILE_A)], since)
        .await
        .unwrap();
    let mut keys: Vec<_> = found.iter().map(|m| m.dedupe_key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["claimed", "pending"]);
    assert!(
        store
            .messages_to_numbers(&[], since)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn events_with_people_walks_every_organisation_in_id_order(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let mut expected = Vec::new();
    for (org_id, reference) in [(ours, "P-1"), (theirs, "K-1"), (ours, "P-2")] {
        let (person, event) =
            person_with_release(store.as_ref(), org_id, reference, MOBILE_A).await;
        expected.push((person, event));
    }
    expected.sort_by_key(|(_, e)| e.id);
    let everything = store
        .events_with_people(None, None, None, 10)
        .await
        .unwrap();
    assert_eq!(everything, expected);
    let ours_only = store
        .events_with_people(Some(ours), None, None, 10)
        .await
        .unwrap();
    assert_eq!(ours_only.len(), 2);
    assert!(
        ours_only
            .iter()
            .all(|(p, e)| p.org_id == ours && e.org_id == ours)
    );
    let mut walked = Vec::new();
    let mut after = None;
    while let Some((person, event)) = store
        .events_with_people(None, None, after, 1)
        .await
        .unwrap()
        .pop()
    {
        after = Some(event.id);
        walked.push((person, event));
    }
    assert_eq!(walked, expected);

    // Since a moment: only where the person or the event changed then.
    let later = t0() + mins(60);
    let (moved, _) = store
        .upsert_event(
            ours,
            expected[0].0.id,
            &liberation("release", "2026-03-09"),
            later,
        )
        .await
        .unwrap();
    let (renamed, _) = store
        .upsert_person(theirs, &new_person("K-1", "Sam", MOBILE_A), later)
        .await
        .unwrap();
    let changed = store
        .events_with_people(None, Some(later), None, 10)
        .await
        .unwrap();
    let mut ids: Vec<EventId> = changed.iter().map(|(_, e)| e.id).collect();
    ids.sort();
    let theirs_event = expected
        .iter()
        .find(|(p, _)| p.id == renamed.id)
        .unwrap()
        .1
        .id;
    let mut want = vec![moved.id, theirs_event];
    want.sort();
    assert_eq!(ids, want, "the moved event and the renamed person's event");
    assert!(
        store
            .events_with_people(None, Some(later + mins(1)), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_live_message_is_found_by_its_key_within_its_organisation(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Ours").await;
    let person = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A)
        .await
        .0;
    let first = nudge(&person, "reply/once", t0());
    plan(store.as_ref(), std::slice::from_ref(&first)).await;
    let found = store
        .message_by_key(person.org_id, "reply/once")
        .await
        .unwrap();
    assert_eq!(found.map(|m| m.id), Some(first.id));
    let other = org(store.as_ref(), "Other").await;
    assert_eq!(
        store.message_by_key(other, "reply/once").await.unwrap(),
        None
    );
    let again = nudge(&person, "reply/once", t0());
    plan(store.as_ref(), std::slice::from_ref(&again)).await;
    let kept = store
        .message_by_key(person.org_id, "reply/once")
        .await
        .unwrap();
    assert_eq!(
        kept.map(|m| m.id),
        Some(first.id),
        "the first with a key is kept"
    );
}
