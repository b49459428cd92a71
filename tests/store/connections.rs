//! How a store copes when the database misbehaves under it: a statement
//! stuck behind another session's lock, and every session dropped at once
//! (a PostgreSQL restart, as a client sees it). SQLite has neither sessions
//! to lose nor a statement timeout, so these contracts are PostgreSQL's.

use std::time::{Duration, Instant};

use homeward::domain::OrgName;
use homeward::store::{PostgresStore, StoreError};
use sqlx::Connection;

use crate::fixtures::{MOBILE_A, org, person_with_release, t0};
use crate::harness::{Backend, Db};

pub async fn a_statement_stuck_behind_a_lock_gives_up_at_the_statement_timeout(db: Db) {
    if db.backend == Backend::Sqlite {
        return;
    }
    let store = db
        .another_with(&[("database.statement_timeout_ms", "300")])
        .await;
    let mut blocker = db.session().await;
    let mut tx = blocker.begin().await.unwrap();
    sqlx::query("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let started = Instant::now();
    let stuck = store.due_count(t0()).await;
    let timed_out = matches!(
        &stuck,
        Err(StoreError::Database(sqlx::Error::Database(e))) if e.code().as_deref() == Some("57014")
    );
    assert!(timed_out, "cancelled by statement_timeout: {stuck:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    tx.rollback().await.unwrap();
    assert_eq!(
        store.due_count(t0()).await.unwrap(),
        0,
        "the store carries on"
    );
}

pub async fn the_store_carries_on_after_postgresql_drops_its_sessions(db: Db) {
    if db.backend == Backend::Sqlite {
        return;
    }
    let store = db.store.clone();
    let org_id = org(store.as_ref(), "Team").await;
    person_with_release(store.as_ref(), org_id, "P-1", MOBILE_A).await;
    db.end_other_sessions().await;
    // Every pooled connection is dead, and has been idle for longer than
    // the pool's check (a restart takes longer than that); each is found
    // so when next handed out, and replaced, without a restart or an
    // error reaching the caller.
    tokio::time::sleep(PostgresStore::CHECK_AFTER_IDLE + Duration::from_millis(100)).await;
    for n in 0..8 {
        let name = OrgName::parse(&format!("Team {n}")).unwrap();
        store
            .create_org(&name, t0())
            .await
            .expect("a fresh connection");
    }
    assert_eq!(store.orgs().await.unwrap().len(), 9);
}
