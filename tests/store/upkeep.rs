//! The planner's statistics: made for tables that have none, so a large
//! organisation's reads are planned knowing how few rows one person has.
//! (Which changed tables each backend analyses again is its own rule:
//! SQLite's `PRAGMA optimize`, a tenth changed on PostgreSQL.)

use crate::fixtures::{MOBILE_A, org, person_with_release};
use crate::harness::{Backend, Db};

/// The tables the database holds statistics for.
async fn analysed(db: &Db) -> Vec<String> {
    let (table, column) = match db.backend {
        Backend::Sqlite => ("sqlite_stat1", "tbl"),
        Backend::Postgres => (
            "pg_stat_user_tables WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL",
            "relname::text",
        ),
    };
    db.column(table, column)
        .await
        .into_iter()
        .flatten()
        .collect()
}

pub async fn statistics_are_made_for_tables_never_analysed_and_refreshing_again_is_harmless(
    db: Db,
) {
    let store = db.store.clone();
    let ours = org(store.as_ref(), "Ours").await;
    person_with_release(store.as_ref(), ours, "P-1", MOBILE_A).await;
    store
        .refresh_statistics()
        .await
        .expect("statistics refreshed");
    let tables = analysed(&db).await;
    for table in ["people", "events"] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} analysed: {tables:?}"
        );
    }
    store
        .refresh_statistics()
        .await
        .expect("nothing to do is no error");
}
