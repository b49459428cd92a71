//! The dispatcher's side: claims with leases, outcomes, delivery reports.

use std::collections::HashSet;
use std::sync::Arc;

use homeward::domain::{MessageId, MessageOrigin, MessageState};
use homeward::store::{DeliveryMatch, SendRecord, Store, Unmatched};

use crate::fixtures::{
    MOBILE_A, MOBILE_B, MOBILE_C, mins, mobile, nudge, org, person_with_release, plan, state_of, t0,
};
use crate::harness::Db;

fn sent(provider_id: &str) -> SendRecord {
    SendRecord::Sent {
        provider: "hook".into(),
        provider_id: provider_id.into(),
    }
}

pub async fn due_messages_are_claimed_with_a_lease_and_the_claim_recorded(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let ids = plan(
        store.as_ref(),
        &[
            nudge(&person, "now", t0()),
            nudge(&person, "earlier", t0() - mins(10)),
            nudge(&person, "later", t0() + mins(10)),
        ],
    )
    .await;
    assert_eq!(store.due_count(t0()).await.unwrap(), 2);
    let claims = store
        .claim_due(t0(), t0() + mins(1), 10, "w1")
        .await
        .unwrap();
    let claimed: Vec<MessageId> = claims.iter().map(|c| c.message.id).collect();
    assert_eq!(claimed, [ids[1], ids[0]], "oldest due first");
    for claim in &claims {
        assert_eq!((claim.attempts, claim.number_invalid), (0, false));
        // The message as it stood when claimed.
        assert_eq!(claim.message.state, MessageState::Pending);
        assert_eq!(
            state_of(&store, org_id, claim.message.id).await,
            MessageState::Claimed
        );
        let history = store.transitions(claim.message.id).await.unwrap();
        let last = history.last().unwrap();
        assert_eq!(
            (last.from, last.to),
            (Some(MessageState::Pending), MessageState::Claimed)
        );
        assert_eq!(
            (last.reason.as_str(), last.at),
            ("due: claimed for sending", t0())
        );
    }
    assert_eq!(store.due_count(t0()).await.unwrap(), 0);
    let again = store
        .claim_due(t0(), t0() + mins(1), 10, "w2")
        .await
        .unwrap();
    assert!(again.is_empty(), "a leased claim is nobody else's");
    for id in claimed {
        assert!(store.record_send(id, "w1", &sent("p"), t0()).await.unwrap());
    }
    let later = t0() + mins(10);
    let one = store
        .claim_due(later, later + mins(1), 1, "w2")
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].message.id, ids[2]);
}

pub async fn two_daemons_claiming_at_once_never_share_a_message(db: Db) {
    let first = db.store.clone();
    let second = db.another().await;
    let org_id = org(first.as_ref(), "Team").await;
    let (person, _) = person_with_release(first.as_ref(), org_id, "P-1", MOBILE_A).await;
    let messages: Vec<_> = (0..300)
        .map(|n| nudge(&person, &format!("n{n}"), t0() - mins(n % 7)))
        .collect();
    let planned: HashSet<MessageId> = plan(first.as_ref(), &messages).await.into_iter().collect();
    let drain = |store: Arc<dyn Store>, worker: &'static str| {
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claims = store
                    .claim_due(t0(), t0() + mins(1), 7, worker)
                    .await
                    .unwrap();
                if claims.is_empty() {
                    return mine;
                }
                for claim in claims {
                    let id = claim.message.id;
                    let outcome = sent(&id.to_string());
                    let recorded = store.record_send(id, worker, &outcome, t0()).await;
                    assert!(recorded.unwrap(), "a claim is its worker's to record");
                    mine.push(id);
                }
            }
        })
    };
    let (a, b) = (drain(first.clone(), "daemon-a"), drain(second, "daemon-b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let a: HashSet<MessageId> = a.into_iter().collect();
    let b: HashSet<MessageId> = b.into_iter().collect();
    assert!(
        a.is_disjoint(&b),
        "{} messages claimed by both",
        a.intersection(&b).count()
    );
    assert_eq!(&a | &b, planned, "every message claimed by one of them");
    for id in planned.iter().take(20) {
        let history = first.transitions(*id).await.unwrap();
        let claims = history
            .iter()
            .filter(|t| t.to == MessageState::Claimed)
            .count();
        assert_eq!(claims, 1);
    }
}

pub async fn an_expired_lease_is_claimable_again_and_the_stale_worker_cannot_record(
    store: Arc<dyn Store>,
) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let [id] = plan(store.as_ref(), &[nudge(&person, "n", t0())]).await[..] else {
        unreachable!()
    };
    let lease_until = t0() + mins(1);
    assert_eq!(
        store
            .claim_due(t0(), lease_until, 10, "old")
            .await
            .unwrap()
            .len(),
        1
    );
    let at_the_end = store.claim_due(lease_until, lease_until + mins(1), 10, "new");
    assert!(
        at_the_end.await.unwrap().is_empty(),
        "a lease lasts until its end"
    );
    let after = lease_until + mins(1);
    let taken = store
        .claim_due(after, after + mins(1), 10, "new")
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].message.state, MessageState::Claimed);
    let history = store.transitions(id).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.from, last.to),
        (Some(MessageState::Claimed), MessageState::Claimed)
    );
    assert!(last.reason.contains("lease ran out"), "{}", last.reason);
    assert!(
        !store
            .record_send(id, "old", &sent("late"), after)
            .await
            .unwrap()
    );
    store.release(id, "old", after).await.unwrap();
    assert_eq!(state_of(&store, org_id, id).await, MessageState::Claimed);
    assert!(
        store
            .record_send(id, "new", &sent("p-1"), after)
            .await
            .unwrap()
    );
    assert_eq!(state_of(&store, org_id, id).await, MessageState::Sent);
    assert!(
        !store
            .record_send(id, "new", &sent("p-1"), after)
            .await
            .unwrap()
    );
}

pub async fn each_send_outcome_moves_the_claim_to_its_state(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let keys = ["sent", "retry", "wait", "failed", "suppressed", "expired"];
    let mut messages: Vec<_> = keys.iter().map(|k| nudge(&person, k, t0())).collect();
    messages.push(nudge(&person, "not claimed", t0() + mins(30)));
    let ids = plan(store.as_ref(), &messages).await;
    assert_eq!(
        store
            .claim_due(t0(), t0() + mins(1), 10, "w")
            .await
            .unwrap()
            .len(),
        6
    );
    let retry_at = t0() + mins(5);
    let reason = |r: &str| r.to_owned();
    let outcomes = [
        sent("p-1"),
        SendRecord::Retry {
            at: retry_at,
            reason: reason("busy"),
            count_attempt: true,
        },
        SendRecord::Retry {
            at: retry_at,
            reason: reason("quiet hours"),
            count_attempt: false,
        },
        SendRecord::Failed {
            reason: reason("no such number"),
        },
        SendRecord::Suppressed {
            reason: reason("opted out"),
        },
        SendRecord::Expired {
            reason: reason("too late"),
        },
    ];
    let now = t0() + mins(1) / 2;
    let mut group: Vec<_> = ids.iter().copied().zip(outcomes).collect();
    group.push((ids[6], sent("never claimed")));
    let ours = store.record_sends("w", &group, now).await.unwrap();
    assert_eq!(ours, [true, true, true, true, true, true, false]);
    assert_eq!(
        state_of(&store, org_id, ids[6]).await,
        MessageState::Pending,
        "an outcome without its claim changes nothing"
    );
    use MessageState::*;
    let expected = [Sent, Retrying, Pending, Failed, Suppressed, Expired];
    let reasons = [
        "accepted by hook as p-1",
        "busy",
        "quiet hours",
        "no such number",
        "opted out",
        "too late",
    ];
    for ((id, state), why) in ids.iter().zip(expected).zip(reasons) {
        let stored = store.message(org_id, *id).await.unwrap().unwrap();
        assert_eq!((stored.state, stored.updated_at), (state, now));
        let moved = matches!(state, Retrying | Pending);
        let send_at = if moved { retry_at } else { t0() };
        assert_eq!(
            stored.send_at, send_at,
            "{state:?} moves the send time only for a retry"
        );
        let last = store.transitions(*id).await.unwrap().pop().unwrap();
        assert_eq!(
            (last.from, last.to, last.reason.as_str()),
            (Some(Claimed), state, why)
        );
    }
    assert_eq!(store.due_count(retry_at).await.unwrap(), 2);
    let retried = store
        .claim_due(retry_at, retry_at + mins(1), 10, "w")
        .await
        .unwrap();
    let mut attempts: Vec<(MessageId, u32)> =
        retried.iter().map(|c| (c.message.id, c.attempts)).collect();
    attempts.sort();
    assert_eq!(
        attempts,
        [(ids[1], 1), (ids[2], 0)],
        "only a counted retry is an attempt"
    );
    assert!(retried.iter().all(|c| c.message.send_at == retry_at));
}

pub async fn releasing_puts_only_our_own_claim_back(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let [id] = plan(store.as_ref(), &[nudge(&person, "n", t0())]).await[..] else {
        unreachable!()
    };
    store
        .claim_due(t0(), t0() + mins(1), 10, "w1")
        .await
        .unwrap();
    store.release(id, "w2", t0()).await.unwrap();
    assert_eq!(state_of(&store, org_id, id).await, MessageState::Claimed);
    store.release(id, "w1", t0()).await.unwrap();
    assert_eq!(state_of(&store, org_id, id).await, MessageState::Pending);
    let last = store.transitions(id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.from, last.to),
        (Some(MessageState::Claimed), MessageState::Pending)
    );
    assert_eq!(last.reason, "released unsent at shutdown");
    let again = store
        .claim_due(t0(), t0() + mins(1), 10, "w2")
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "a released message is due again at once");
    assert_eq!(again[0].attempts, 0);
}

pub async fn a_delivery_report_applies_once_and_late_reports_change_nothing(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let messages = [
        nudge(&person, "delivered", t0()),
        nudge(&person, "failed", t0()),
        nudge(&person, "by-ref", t0()),
        nudge(&person, "unsent", t0() + mins(30)),
    ];
    let ids = plan(store.as_ref(), &messages).await;
    store
        .claim_due(t0(), t0() + mins(1), 10, "w")
        .await
        .unwrap();
    for (id, provider_id) in ids.iter().zip(["p-1", "p-2", "p-3"]) {
        store
            .record_send(*id, "w", &sent(provider_id), t0())
            .await
            .unwrap();
    }
    let report = |provider_id: &'static str, reference, result: Result<(), String>| {
        let store = store.clone();
        async move {
            let now = t0() + mins(2);
            let found = store.record_delivery("hook", provider_id, reference, result, now);
            found.await.unwrap()
        }
    };
    let applied = |id: MessageId, state| {
        move |found: DeliveryMatch| match found {
            DeliveryMatch::Applied(m) => m.id == id && m.state == state,
            _ => false,
        }
    };
    assert!(applied(ids[0], MessageState::Delivered)(
        report("p-1", None, Ok(())).await
    ));
    assert_eq!(
        report("p-1", None, Ok(())).await,
        DeliveryMatch::NotApplicable(MessageState::Delivered),
        "a replay finds it but moves nothing"
    );
    assert_eq!(
        report("p-1", None, Err("late".into())).await,
        DeliveryMatch::NotApplicable(MessageState::Delivered),
        "a failure after delivery is out of order"
    );
    assert_eq!(
        state_of(&store, org_id, ids[0]).await,
        MessageState::Delivered
    );
    let history = store.transitions(ids[0]).await.unwrap();
    assert_eq!(history.len(), 4, "planned, claimed, sent, delivered: once");
    assert_eq!(history[3].reason, "hook reports it delivered");
    assert!(applied(ids[1], MessageState::Failed)(
        report("p-2", None, Err("absent".into())).await
    ));
    assert_eq!(
        report("p-2", None, Ok(())).await,
        DeliveryMatch::NotApplicable(MessageState::Failed)
    );
    assert_eq!(state_of(&store, org_id, ids[1]).await, MessageState::Failed);
    let last = store.transitions(ids[1]).await.unwrap().pop().unwrap();
    assert_eq!(last.reason, "hook reports it undelivered: absent");
    assert!(applied(ids[2], MessageState::Delivered)(
        report("unknown", Some(ids[2]), Ok(())).await
    ));
    assert_eq!(
        report("unknown", Some(ids[3]), Ok(())).await,
        DeliveryMatch::Unmatched(Unmatched::NotSentByProvider),
        "a message never sent is no provider's to report on"
    );
    assert_eq!(
        state_of(&store, org_id, ids[3]).await,
        MessageState::Pending
    );
    assert_eq!(
        report("unknown", None, Ok(())).await,
        DeliveryMatch::Unmatched(Unmatched::UnknownMessage)
    );
    assert_eq!(
        report("unknown", Some(MessageId::new()), Ok(())).await,
        DeliveryMatch::Unmatched(Unmatched::UnknownMessage)
    );
}

pub async fn a_delivery_report_reaches_only_what_its_own_provider_sent(store: Arc<dyn Store>) {
    let ours = org(store.as_ref(), "Team").await;
    let theirs = org(store.as_ref(), "Other team").await;
    let (alex, _) = person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    let (sam, _) = person_with_release(store.as_ref(), theirs, "P-2", MOBILE_B).await;
    let ids = plan(
        store.as_ref(),
        &[
            nudge(&alex, "by-hook", t0()),
            nudge(&sam, "by-twilio", t0()),
            nudge(&sam, "waiting", t0() + mins(30)),
        ],
    )
    .await;
    let [by_hook, by_twilio, waiting] = ids[..] else {
        unreachable!()
    };
    store
        .claim_due(t0(), t0() + mins(1), 10, "w")
        .await
        .unwrap();
    let twilio = SendRecord::Sent {
        provider: "twilio".into(),
        provider_id: "SM1".into(),
    };
    store
        .record_send(by_hook, "w", &sent("p-1"), t0())
        .await
        .unwrap();
    store
        .record_send(by_twilio, "w", &twilio, t0())
        .await
        .unwrap();
    let report = |provider: &'static str, provider_id: &'static str, reference| {
        let store = store.clone();
        async move {
            let failed = Err("forged".to_owned());
            let found = store.record_delivery(provider, provider_id, reference, failed, t0());
            found.await.unwrap()
        }
    };
    let not_ours = DeliveryMatch::Unmatched(Unmatched::NotSentByProvider);
    let unknown = DeliveryMatch::Unmatched(Unmatched::UnknownMessage);
    assert_eq!(
        report("hook", "SM1", None).await,
        unknown,
        "another provider's id"
    );
    assert_eq!(report("hook", "x", Some(by_twilio)).await, not_ours);
    assert_eq!(report("hook", "x", Some(waiting)).await, not_ours);
    assert_eq!(report("twilio", "p-1", None).await, unknown);
    assert_eq!(report("twilio", "x", Some(by_hook)).await, not_ours);
    assert_eq!(
        state_of(&store, theirs, by_twilio).await,
        MessageState::Sent
    );
    assert_eq!(
        state_of(&store, theirs, waiting).await,
        MessageState::Pending
    );
    assert_eq!(state_of(&store, ours, by_hook).await, MessageState::Sent);

    let own_id_first = report("hook", "p-1", Some(by_twilio)).await;
    assert!(
        matches!(&own_id_first, DeliveryMatch::Applied(m) if m.id == by_hook),
        "its own id wins over a reference: {own_id_first:?}"
    );
    assert_eq!(
        state_of(&store, theirs, by_twilio).await,
        MessageState::Sent
    );
    let by_reference = report("twilio", "SM-unknown", Some(by_twilio)).await;
    assert!(matches!(by_reference, DeliveryMatch::Applied(m) if m.id == by_twilio));
}

pub async fn sends_to_a_number_include_claims_and_exclude_the_message_itself(
    store: Arc<dyn Store>,
) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let mut reply = nudge(&person, "reply", t0() - mins(3));
    reply.origin = MessageOrigin::Reply {
        inbound_id: "in-1".into(),
    };
    let messages = [
        reply,
        nudge(&person, "sent", t0() - mins(2)),
        nudge(&person, "failed", t0() - mins(1)),
        nudge(&person, "claimed", t0()),
        nudge(&person, "pending", t0() + mins(30)),
    ];
    let ids = plan(store.as_ref(), &messages).await;
    store
        .claim_due(t0(), t0() + mins(1), 10, "w")
        .await
        .unwrap();
    let sent_at = t0() + mins(1) / 4;
    store
        .record_send(ids[0], "w", &sent("r-1"), sent_at)
        .await
        .unwrap();
    store
        .record_send(ids[1], "w", &sent("s-1"), sent_at)
        .await
        .unwrap();
    let failed = SendRecord::Failed {
        reason: "no".into(),
    };
    store
        .record_send(ids[2], "w", &failed, sent_at)
        .await
        .unwrap();
    let number = mobile(MOBILE_A);
    let since = t0() - mins(60);
    let mut seen = store.sends_to_number(&number, since, ids[3]).await.unwrap();
    seen.sort();
    assert_eq!(
        seen,
        [t0() - mins(1), sent_at],
        "the failed try, then the sent text"
    );
    let seen = store.sends_to_number(&number, since, ids[1]).await.unwrap();
    assert_eq!(seen.len(), 2, "the claimed text counts at its send time");
    assert!(seen.contains(&t0()));
    let recent = store.sends_to_number(&number, t0(), ids[3]).await.unwrap();
    assert_eq!(recent, [sent_at]);

    let (other, _) = person_with_release(store.as_ref(), org_id, "P-2", MOBILE_B).await;
    let theirs = plan(store.as_ref(), &[nudge(&other, "to b", t0())]).await;
    store
        .claim_due(t0(), t0() + mins(1), 10, "w")
        .await
        .unwrap();
    store
        .record_send(theirs[0], "w", &sent("b-1"), sent_at)
        .await
        .unwrap();
    let numbers = [number.clone(), mobile(MOBILE_B), mobile(MOBILE_C)];
    let seen = store
        .sends_to_numbers(&numbers, since, &[ids[1], ids[3]])
        .await
        .unwrap();
    assert_eq!(
        seen.len(),
        2,
        "a number with no texts is left out: {seen:?}"
    );
    assert_eq!(
        seen[&number],
        [t0() - mins(1)],
        "only the failed try is left"
    );
    assert_eq!(seen[&mobile(MOBILE_B)], [sent_at]);
}

pub async fn a_text_claimed_after_its_send_time_counts_from_its_claim(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    let messages = [
        nudge(&person, "late", t0() - mins(180)),
        nudge(&person, "next", t0() - mins(120)),
    ];
    let ids = plan(store.as_ref(), &messages).await;
    let claimed = store
        .claim_due(t0(), t0() + mins(1), 10, "w")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let seen = store
        .sends_to_number(&mobile(MOBILE_A), t0() - mins(60), ids[1])
        .await
        .unwrap();
    assert_eq!(
        seen,
        [t0()],
        "claimed three hours late, it goes now: the gap runs from now"
    );
}

pub async fn a_number_marked_invalid_is_seen_at_claim_time_and_keeps_its_first_date(
    store: Arc<dyn Store>,
) {
    let org_id = org(store.as_ref(), "Team").await;
    let (person, _) = person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    plan(store.as_ref(), &[nudge(&person, "n", t0())]).await;
    store
        .mark_number_invalid(person.id, t0() - mins(5))
        .await
        .unwrap();
    store.mark_number_invalid(person.id, t0()).await.unwrap();
    let since = store.number_paused_since(person.id).await.unwrap();
    assert_eq!(since, Some(t0() - mins(5)));
    let claims = store
        .claim_due(t0(), t0() + mins(1), 10, "w")
        .await
        .unwrap();
    assert!(claims[0].number_invalid);
}
