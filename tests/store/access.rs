//! Token management and the audit trail.

use std::sync::Arc;

use homeward::domain::{
    Actor, AuditAction, AuditEntry, AuditTarget, EventId, NewAuditEntry, OrgId, PersonId, Role,
    TargetKind, TokenId, TokenSecret,
};
use homeward::store::{AuditFilter, NewToken, Store};

use crate::fixtures::{mins, org, t0};

async fn token(
    store: &dyn Store,
    org_id: OrgId,
    role: Role,
    label: &str,
) -> (TokenId, TokenSecret) {
    let secret = TokenSecret::generate();
    let token = NewToken {
        org_id,
        hash: secret.hash(),
        role,
        label: Some(label.into()),
    };
    (store.create_token(&token, t0()).await.unwrap(), secret)
}

pub async fn tokens_are_listed_per_organisation_and_a_revoked_one_is_refused_at_once(
    store: Arc<dyn Store>,
) {
    let (a, b) = (
        org(store.as_ref(), "A").await,
        org(store.as_ref(), "B").await,
    );
    let (admin, _) = token(store.as_ref(), a, Role::Admin, "office").await;
    let (staff, staff_secret) = token(store.as_ref(), a, Role::Staff, "laptop").await;
    let (theirs, _) = token(store.as_ref(), b, Role::Staff, "theirs").await;

    let listed = store.tokens(a).await.unwrap();
    let summary: Vec<_> = listed
        .iter()
        .map(|t| (t.id, t.role, t.label.as_deref(), t.created_at, t.revoked_at))
        .collect();
    assert_eq!(
        summary,
        [
            (admin, Role::Admin, Some("office"), t0(), None),
            (staff, Role::Staff, Some("laptop"), t0(), None),
        ]
    );
    assert_eq!(store.token(theirs).await.unwrap().unwrap().org_id, b);

    let later = t0() + mins(5);
    assert_eq!(store.revoke_token(b, staff, later).await.unwrap(), None);
    assert!(
        store
            .caller_for_token(&staff_secret.hash())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.revoke_token(a, staff, later).await.unwrap(),
        Some(true)
    );
    assert!(
        store
            .caller_for_token(&staff_secret.hash())
            .await
            .unwrap()
            .is_none()
    );
    let again = store.revoke_token(a, staff, later + mins(1)).await.unwrap();
    assert_eq!(again, Some(false));
    let revoked = store.token(staff).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(later),
        "the first revocation's time stays"
    );
    assert_eq!(
        store.revoke_token(a, TokenId::new(), later).await.unwrap(),
        None
    );
}

pub async fn a_tokens_last_use_only_moves_forward(store: Arc<dyn Store>) {
    let a = org(store.as_ref(), "A").await;
    let (id, _) = token(store.as_ref(), a, Role::Staff, "laptop").await;
    let last_used =
        |store: Arc<dyn Store>| async move { store.token(id).await.unwrap().unwrap().last_used_at };
    assert_eq!(last_used(store.clone()).await, None);
    store.note_token_used(id, t0() + mins(10)).await.unwrap();
    store.note_token_used(id, t0() + mins(5)).await.unwrap();
    assert_eq!(last_used(store.clone()).await, Some(t0() + mins(10)));
    store.note_token_used(id, t0() + mins(20)).await.unwrap();
    assert_eq!(last_used(store.clone()).await, Some(t0() + mins(20)));
}

fn entry(org_id: OrgId, actor: Actor, action: AuditAction, target: AuditTarget) -> NewAuditEntry {
    NewAuditEntry {
        org_id,
        actor,
        action,
        target,
        detail: None,
    }
}

pub async fn an_audit_entry_reads_back_as_it_was_recorded(store: Arc<dyn Store>) {
    let a = org(store.as_ref(), "A").await;
    let token = Actor::Token {
        token_id: TokenId::new(),
    };
    let person = PersonId::new();
    let mut recorded = Vec::new();
    for (i, actor) in [token, Actor::Cli, Actor::System].into_iter().enumerate() {
        let mut new = entry(a, actor, AuditAction::Deleted, AuditTarget::person(person));
        new.detail = (i == 1).then(|| "3 created".to_owned());
        let at = t0() + mins(i as i64);
        let stored = store.record_audit(&new, at).await.unwrap();
        assert_eq!(
            (
                stored.org_id,
                stored.at,
                stored.actor,
                &stored.target,
                &stored.detail
            ),
            (a, at, actor, &new.target, &new.detail)
        );
        recorded.push(stored);
    }
    let all = AuditFilter {
        limit: 10,
        ..AuditFilter::default()
    };
    assert_eq!(store.audit_entries(a, &all).await.unwrap(), recorded);
}

pub async fn audit_entries_are_one_organisations_filtered_and_paged_in_recorded_order(
    store: Arc<dyn Store>,
) {
    let (a, b) = (
        org(store.as_ref(), "A").await,
        org(store.as_ref(), "B").await,
    );
    let (alex, sam, event) = (PersonId::new(), PersonId::new(), EventId::new());
    let cli = Actor::Cli;
    let script = [
        (a, AuditAction::Created, AuditTarget::person(alex)),
        (b, AuditAction::Created, AuditTarget::person(sam)),
        (a, AuditAction::Created, AuditTarget::event(alex, event)),
        (a, AuditAction::Cancelled, AuditTarget::event(alex, event)),
        (a, AuditAction::Created, AuditTarget::person(sam)),
        (a, AuditAction::Deleted, AuditTarget::person(alex)),
    ];
    let mut mine: Vec<AuditEntry> = Vec::new();
    for (i, (org_id, action, target)) in script.into_iter().enumerate() {
        let stored = store
            .record_audit(&entry(org_id, cli, action, target), t0() + mins(i as i64))
            .await
            .unwrap();
        if org_id == a {
            mine.push(stored);
        }
    }
    let list = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            let filter = AuditFilter {
                limit: filter.limit.max(1),
                ..filter
            };
            store.audit_entries(a, &filter).await.unwrap()
        }
    };
    let base = AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    };
    assert_eq!(list(base.clone()).await, mine, "only A's, in order");
    let theirs = store.audit_entries(b, &base).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].target.id, sam.to_string());

    let about_alex = AuditFilter {
        person: Some(alex),
        ..base.clone()
    };
    assert_eq!(
        list(about_alex).await,
        [&mine[0], &mine[1], &mine[2], &mine[4]].map(Clone::clone)
    );
    let deleted = AuditFilter {
        action: Some(AuditAction::Deleted),
        ..base.clone()
    };
    assert_eq!(list(deleted).await, [mine[4].clone()]);
    let events = AuditFilter {
        target_kind: Some(TargetKind::Event),
        ..base.clone()
    };
    assert_eq!(list(events).await, mine[1..3].to_vec());
    let sam_only = AuditFilter {
        target_id: Some(sam.to_string()),
        ..base.clone()
    };
    assert_eq!(list(sam_only).await, [mine[3].clone()]);
    // Entry i was stamped t0 + i minutes; A's are 0, 2, 3, 4, 5.
    let window = AuditFilter {
        from: Some(t0() + mins(2)),
        to: Some(t0() + mins(4)),
        ..base.clone()
    };
    assert_eq!(list(window).await, mine[1..3].to_vec());

    let first = list(AuditFilter {
        limit: 2,
        ..base.clone()
    })
    .await;
    assert_eq!(first, mine[..2].to_vec());
    let rest = AuditFilter {
        after: Some(first[1].id),
        limit: 10,
        ..base.clone()
    };
    assert_eq!(list(rest).await, mine[2..].to_vec());
}
