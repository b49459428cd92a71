//! Organisations, tokens, people, events and imports.

use std::sync::Arc;

use chrono::Duration;
use homeward::domain::{
    Credential, EventDetail, ExternalRef, LiberationStatus, OrgName, PersonId, Role, TokenHash,
    TokenSecret, UpsertOutcome,
};
use homeward::store::{ImportOutcome, ImportRecord, NewToken, Page, Store, StoreError};

use crate::fixtures::{
    MOBILE_A, MOBILE_B, appointment, at, liberation, mobile, new_person, org, t0,
};

pub async fn organisations_are_unique_by_name_and_listed_in_byte_order(store: Arc<dyn Store>) {
    for name in ["Gamma Team", "beta team", "Alpha Team"] {
        org(store.as_ref(), name).await;
    }
    let again = store
        .create_org(&OrgName::parse("Alpha Team").unwrap(), t0())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let names: Vec<String> = store
        .orgs()
        .await
        .unwrap()
        .iter()
        .map(|o| o.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["Alpha Team", "Gamma Team", "beta team"]);
    let found = store
        .org_by_name(&OrgName::parse("beta team").unwrap())
        .await
        .unwrap()
        .expect("found by name");
    assert_eq!(found.created_at, t0());
    let missing = store.org_by_name(&OrgName::parse("Delta").unwrap()).await;
    assert!(missing.unwrap().is_none());
}

pub async fn a_token_identifies_its_organisation_and_role(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let secret = TokenSecret::generate();
    let token = NewToken {
        org_id,
        hash: secret.hash(),
        role: Role::Admin,
        label: Some("laptop".into()),
    };
    let id = store.create_token(&token, t0()).await.unwrap();
    let caller = store.caller_for_token(&secret.hash()).await.unwrap();
    let caller = caller.expect("the token is known");
    assert_eq!(
        (caller.org_id, caller.via, caller.role),
        (org_id, Credential::Token(id), Role::Admin)
    );
    let unknown = TokenHash::of("not a token we issued");
    assert!(store.caller_for_token(&unknown).await.unwrap().is_none());
}

pub async fn upserting_a_person_reports_created_then_unchanged_then_updated(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let alex = new_person("P-1", "Alex", MOBILE_A);
    let (created, outcome) = store.upsert_person(org_id, &alex, t0()).await.unwrap();
    assert_eq!(outcome, UpsertOutcome::Created);
    let later = t0() + Duration::hours(1);
    let (same, outcome) = store.upsert_person(org_id, &alex, later).await.unwrap();
    assert_eq!(outcome, UpsertOutcome::Unchanged);
    assert_eq!(same, created, "an unchanged upsert writes nothing");
    let renamed = new_person("P-1", "Alexandra", MOBILE_A);
    let (updated, outcome) = store.upsert_person(org_id, &renamed, later).await.unwrap();
    assert_eq!(outcome, UpsertOutcome::Updated);
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.first_name.as_str(), "Alexandra");
    assert_eq!((updated.created_at, updated.updated_at), (t0(), later));
    assert_eq!(
        store.person(org_id, created.id).await.unwrap(),
        Some(updated)
    );
}

pub async fn what_an_upsert_returns_equals_what_is_read_back(store: Arc<dyn Store>) {
    // A clock reading with nanoseconds: PostgreSQL keeps microseconds, and
    // a store must hand back what a later read will return.
    let now = at("2026-03-02T10:00:00.123456789Z");
    let team = store
        .create_org(&OrgName::parse("Team").unwrap(), now)
        .await
        .unwrap();
    let read = store.org_by_name(&team.name).await.unwrap();
    assert_eq!(read.as_ref(), Some(&team));
    let alex = new_person("P-1", "Alex", MOBILE_A);
    let (person, _) = store.upsert_person(team.id, &alex, now).await.unwrap();
    let read = store.person(team.id, person.id).await.unwrap();
    assert_eq!(read.as_ref(), Some(&person));
    let visit = appointment("gp-1", now + Duration::days(3));
    let (event, _) = store
        .upsert_event(team.id, person.id, &visit, now)
        .await
        .unwrap();
    let read = store.event(team.id, person.id, event.id).await.unwrap();
    assert_eq!(read, Some(event));
    let (_, outcome) = store
        .upsert_event(team.id, person.id, &visit, now)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        UpsertOutcome::Unchanged,
        "the same appointment again"
    );
}

pub async fn one_organisation_cannot_reach_another_organisations_people_or_events(
    store: Arc<dyn Store>,
) {
    let ours = org(store.as_ref(), "Ours").await;
    let theirs = org(store.as_ref(), "Theirs").await;
    let alex = new_person("P-1", "Alex", MOBILE_A);
    let (person, _) = store.upsert_person(ours, &alex, t0()).await.unwrap();
    let (event, _) = store
        .upsert_event(ours, person.id, &liberation("rel", "2026-03-05"), t0())
        .await
        .unwrap();
    assert!(store.person(theirs, person.id).await.unwrap().is_none());
    let page = Page {
        after: None,
        limit: 10,
    };
    assert!(store.people(theirs, page).await.unwrap().is_empty());
    let renamed = new_person("P-1", "Sam", MOBILE_B);
    let changed = store.update_person(theirs, person.id, &renamed, t0()).await;
    assert!(changed.unwrap().is_none());
    assert!(store.events(theirs, person.id).await.unwrap().is_empty());
    assert!(
        store
            .event(theirs, person.id, event.id)
            .await
            .unwrap()
            .is_none()
    );
    let moved = store
        .update_event(theirs, person.id, event.id, &event.detail, t0())
        .await;
    assert!(moved.unwrap().is_none());
    assert!(
        store
            .erase_person(theirs, person.id)
            .await
            .unwrap()
            .is_none()
    );
    // The same external reference is a different person in another organisation.
    let (other, outcome) = store.upsert_person(theirs, &alex, t0()).await.unwrap();
    assert_eq!(outcome, UpsertOutcome::Created);
    assert_ne!(other.id, person.id);
    assert_eq!(store.person(ours, person.id).await.unwrap(), Some(person));
}

pub async fn people_are_listed_a_page_at_a_time_in_id_order(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let person = new_person(&format!("P-{n}"), "Alex", MOBILE_A);
        ids.push(
            store
                .upsert_person(org_id, &person, t0())
                .await
                .unwrap()
                .0
                .id,
        );
    }
    ids.sort();
    let mut seen: Vec<PersonId> = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .people(org_id, Page { after, limit: 2 })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|p| p.id);
        seen.extend(page.iter().map(|p| p.id));
    }
    assert_eq!(seen, ids);
}

pub async fn a_paused_number_stays_paused_until_the_number_changes(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let alex = new_person("P-1", "Alex", MOBILE_A);
    let (person, _) = store.upsert_person(org_id, &alex, t0()).await.unwrap();
    assert_eq!(store.number_paused_since(person.id).await.unwrap(), None);
    store.mark_number_invalid(person.id, t0()).await.unwrap();
    let renamed = new_person("P-1", "Alexandra", MOBILE_A);
    store
        .update_person(org_id, person.id, &renamed, t0())
        .await
        .unwrap();
    store.upsert_person(org_id, &alex, t0()).await.unwrap();
    let paused = store.number_paused_since(person.id).await.unwrap();
    assert_eq!(paused, Some(t0()), "a new name is not a new number");
    let moved = new_person("P-1", "Alex", MOBILE_B);
    let updated = store
        .update_person(org_id, person.id, &moved, t0())
        .await
        .unwrap();
    assert_eq!(updated.unwrap().mobile, mobile(MOBILE_B));
    assert_eq!(store.number_paused_since(person.id).await.unwrap(), None);
    store.mark_number_invalid(person.id, t0()).await.unwrap();
    store.upsert_person(org_id, &alex, t0()).await.unwrap();
    let paused = store.number_paused_since(person.id).await.unwrap();
    assert_eq!(paused, None, "an import with a new number un-pauses it too");
}

pub async fn deleting_a_person_deletes_their_events(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let alex = new_person("P-1", "Alex", MOBILE_A);
    let (person, _) = store.upsert_person(org_id, &alex, t0()).await.unwrap();
    store
        .upsert_event(org_id, person.id, &liberation("rel", "2026-03-05"), t0())
        .await
        .unwrap();
    let erased = store.erase_person(org_id, person.id).await.unwrap();
    assert_eq!(erased.map(|e| e.events), Some(1));
    assert!(store.person(org_id, person.id).await.unwrap().is_none());
    assert!(store.events(org_id, person.id).await.unwrap().is_empty());
    assert!(
        store
            .erase_person(org_id, person.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn upserting_an_event_reports_created_then_unchanged_then_updated(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let alex = new_person("P-1", "Alex", MOBILE_A);
    let (person, _) = store.upsert_person(org_id, &alex, t0()).await.unwrap();
    let release = liberation("rel", "2026-03-05");
    let (created, outcome) = store
        .upsert_event(org_id, person.id, &release, t0())
        .await
        .unwrap();
    assert_eq!(outcome, UpsertOutcome::Created);
    let later = t0() + Duration::hours(2);
    let (same, outcome) = store
        .upsert_event(org_id, person.id, &release, later)
        .await
        .unwrap();
    assert_eq!((outcome, &same), (UpsertOutcome::Unchanged, &created));
    let moved = liberation("rel", "2026-03-06");
    let (updated, outcome) = store
        .upsert_event(org_id, person.id, &moved, later)
        .await
        .unwrap();
    assert_eq!(outcome, UpsertOutcome::Updated);
    assert_eq!(
        (updated.id, updated.created_at, updated.updated_at),
        (created.id, t0(), later)
    );
    let read = store.event(org_id, person.id, created.id).await.unwrap();
    assert_eq!(read, Some(updated));
}

pub async fn events_are_listed_in_date_order_and_updated_in_place(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let alex = new_person("P-1", "Alex", MOBILE_A);
    let (person, _) = store.upsert_person(org_id, &alex, t0()).await.unwrap();
    let events = [
        appointment("gp-late", at("2026-03-09T11:00:00Z")),
        liberation("rel", "2026-03-05"),
        appointment("gp-early", at("2026-03-04T09:30:00Z")),
    ];
    for event in &events {
        store
            .upsert_event(org_id, person.id, event, t0())
            .await
            .unwrap();
    }
    let listed = store.events(org_id, person.id).await.unwrap();
    let refs: Vec<&str> = listed.iter().map(|e| e.event_ref.as_str()).collect();
    assert_eq!(refs, ["gp-early", "rel", "gp-late"]);
    let release = &listed[1];
    let cancelled = EventDetail::Liberation {
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
        establishment: None,
        status: LiberationStatus::Cancelled,
    };
    let later = t0() + Duration::minutes(5);
    let updated = store
        .update_event(org_id, person.id, release.id, &cancelled, later)
        .await
        .unwrap()
        .expect("the event exists");
    assert_eq!((updated.id, &updated.detail), (release.id, &cancelled));
    assert_eq!((updated.created_at, updated.updated_at), (t0(), later));
    let read = store.event(org_id, person.id, release.id).await.unwrap();
    assert_eq!(read, Some(updated));
}

pub async fn an_import_reports_each_row_and_knows_people_created_earlier_in_the_batch(
    store: Arc<dyn Store>,
) {
    let org_id = org(store.as_ref(), "Team").await;
    let release = |external_ref: &str, date: &str| ImportRecord::Release {
        person: new_person(external_ref, "Alex", MOBILE_A),
        liberation: liberation("rel", date),
    };
    let visit = |external_ref: &str, event_ref: &str| ImportRecord::Appointment {
        person: ExternalRef::parse(external_ref).unwrap(),
        appointment: appointment(event_ref, at("2026-03-09T11:00:00Z")),
    };
    let first = [
        release("P-1", "2026-03-05"),
        visit("P-1", "gp"),
        visit("P-404", "gp"),
        release("P-2", "2026-03-06"),
    ];
    let outcomes = store.import(org_id, &first, t0()).await.unwrap();
    use ImportOutcome::{Done, UnknownPerson};
    use UpsertOutcome::{Created, Unchanged, Updated};
    assert_eq!(
        outcomes,
        [Done(Created), Done(Created), UnknownPerson, Done(Created)]
    );
    let again = store.import(org_id, &first, t0()).await.unwrap();
    assert_eq!(
        again,
        [
            Done(Unchanged),
            Done(Unchanged),
            UnknownPerson,
            Done(Unchanged)
        ]
    );
    let changed = [release("P-1", "2026-03-07"), visit("P-2", "gp")];
    let outcomes = store.import(org_id, &changed, t0()).await.unwrap();
    assert_eq!(outcomes, [Done(Updated), Done(Created)]);
    let people = store
        .people(
            org_id,
            Page {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(people.len(), 2);
    for person in &people {
        assert_eq!(store.events(org_id, person.id).await.unwrap().len(), 2);
    }
}

pub async fn an_import_that_fails_leaves_nothing_behind(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    // The second row repeats the first's event with another date: the
    // batch's events are read before it starts, so this row inserts the
    // same (person, event) again and the unique key refuses it.
    let rows = [
        ImportRecord::Release {
            person: new_person("P-9", "Sam", MOBILE_B),
            liberation: liberation("rel", "2026-03-01"),
        },
        ImportRecord::Release {
            person: new_person("P-1", "Alex", MOBILE_A),
            liberation: liberation("rel", "2026-03-05"),
        },
        ImportRecord::Release {
            person: new_person("P-1", "Alex", MOBILE_A),
            liberation: liberation("rel", "2026-03-06"),
        },
    ];
    assert!(store.import(org_id, &rows, t0()).await.is_err());
    let people = store
        .people(
            org_id,
            Page {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(people.is_empty(), "no row of a failed import is kept");
}

pub async fn concurrent_upserts_of_one_new_person_create_it_once(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let alex = new_person("P-1", "Alex", MOBILE_A);
                store.upsert_person(org_id, &alex, t0()).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        let (person, outcome) = task.await.unwrap().expect("no upsert fails");
        outcomes.push((person.id, outcome));
    }
    let created = outcomes
        .iter()
        .filter(|(_, o)| *o == UpsertOutcome::Created);
    assert_eq!(created.count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|(id, _)| *id == outcomes[0].0));
}

pub async fn checking_an_import_reports_what_it_would_do_and_writes_nothing(store: Arc<dyn Store>) {
    let org_id = org(store.as_ref(), "Team").await;
    let release = |external_ref: &str, date: &str| ImportRecord::Release {
        person: new_person(external_ref, "Alex", MOBILE_A),
        liberation: liberation("rel", date),
    };
    store
        .import(org_id, &[release("P-1", "2026-03-05")], t0())
        .await
        .unwrap();
    let rows = [
        release("P-1", "2026-03-05"),
        release("P-1", "2026-03-07"),
        release("P-2", "2026-03-06"),
    ];
    use ImportOutcome::Done;
    use UpsertOutcome::{Created, Unchanged, Updated};
    let checked = store.check_import(org_id, &rows, t0()).await.unwrap();
    assert_eq!(checked, [Done(Unchanged), Done(Updated), Done(Created)]);
    let page = homeward::store::Page {
        after: None,
        limit: 10,
    };
    assert_eq!(
        store.people(org_id, page).await.unwrap().len(),
        1,
        "nothing written"
    );
    let other = org(store.as_ref(), "Other").await;
    let elsewhere = store.check_import(other, &rows[..1], t0()).await.unwrap();
    assert_eq!(
        elsewhere,
        [Done(Created)],
        "another organisation's people are not seen"
    );
}
