//! Leads: on PostgreSQL, one daemon at a time holds a named lead, and
//! another takes it over when the holder stops or dies. SQLite serves one
//! daemon, which always leads.

use std::time::Duration;

use homeward::store::Store;

use crate::harness::{Backend, Db};

pub async fn one_daemon_leads_at_a_time_and_another_takes_over_when_it_stops(db: Db) {
    let first = db.store.clone();
    let second = db.another().await;
    assert!(first.try_lead("twilio").await.unwrap());
    assert!(
        first.try_lead("twilio").await.unwrap(),
        "a leader keeps its lead"
    );
    if db.backend == Backend::Sqlite {
        assert!(
            second.try_lead("twilio").await.unwrap(),
            "SQLite: every store leads"
        );
        return;
    }
    assert!(!second.try_lead("twilio").await.unwrap());
    assert!(
        second.try_lead("vonage").await.unwrap(),
        "leads are per name"
    );
    first.release_lead("twilio").await.unwrap();
    assert!(
        second.try_lead("twilio").await.unwrap(),
        "a released lead is free"
    );
    assert!(!first.try_lead("twilio").await.unwrap());
    // The leader's daemon dies: its sessions close with it.
    drop(second);
    assert!(
        eventually_leads(first.as_ref(), "twilio").await,
        "the lead passes on"
    );
    // Each lead has its own session, closed one after another.
    assert!(eventually_leads(first.as_ref(), "vonage").await);
}

pub async fn a_lead_lost_with_its_session_passes_to_the_next_daemon_to_ask(db: Db) {
    if db.backend == Backend::Sqlite {
        return;
    }
    let first = db.store.clone();
    let second = db.another().await;
    assert!(first.try_lead("dispatch").await.unwrap());
    assert!(!second.try_lead("dispatch").await.unwrap());
    // PostgreSQL restarts (or an operator ends the sessions): every lock
    // goes with its session, and both daemons reconnect to ask again.
    db.end_other_sessions().await;
    assert!(eventually_leads(second.as_ref(), "dispatch").await);
    assert!(
        !first.try_lead("dispatch").await.unwrap(),
        "the old leader sees it lost"
    );
    second.release_lead("dispatch").await.unwrap();
    assert!(first.try_lead("dispatch").await.unwrap());
}

/// Ask for the lead until PostgreSQL has noticed the old holder is gone.
async fn eventually_leads(store: &dyn Store, name: &str) -> bool {
    for _ in 0..100 {
        if store.try_lead(name).await.unwrap() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
