//! The staff pages' reads walk an index in the order they page, on the
//! real schema: no full scan of every organisation's rows, no sort of them.
//! (PostgreSQL chooses by its own statistics; these are SQLite's choices,
//! made with and without statistics.)

use chrono::{TimeZone, Utc};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Row};

use super::MIGRATOR;
use super::dialect;
use crate::domain::{MessageState, OrgId, PersonId};
use crate::store::MessageFilter;
use crate::store::people::{people_page_sql, person_events_sql};

async fn schema() -> SqliteConnection {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    MIGRATOR.run(&mut conn).await.unwrap();
    conn
}

/// The plan's steps, one line each.
async fn plan_of(conn: &mut SqliteConnection, sql: &str, binds: usize) -> String {
    let mut q = sqlx::query(sql);
    for _ in 0..binds {
        q = q.bind("x");
    }
    let rows = q.fetch_all(&mut *conn).await.unwrap();
    let steps: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
    steps.join("\n")
}

async fn messages_plan(conn: &mut SqliteConnection, filter: &MessageFilter) -> String {
    let mut q = super::messages::list_query("EXPLAIN QUERY PLAN ", OrgId::new(), filter);
    let rows = q.build().fetch_all(&mut *conn).await.unwrap();
    let steps: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
    steps.join("\n")
}

fn filter() -> MessageFilter {
    MessageFilter {
        person: None,
        state: None,
        from: None,
        to: None,
        limit: 100,
    }
}

/// Every read, planned on an empty schema and again after `ANALYZE` has
/// stored statistics as `PRAGMA optimize` would.
async fn with_and_without_statistics(check: impl AsyncFn(&mut SqliteConnection)) {
    let mut conn = schema().await;
    check(&mut conn).await;
    sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
    check(&mut conn).await;
}

#[tokio::test]
async fn an_organisations_texts_are_read_in_order_from_its_own_index() {
    with_and_without_statistics(async |conn: &mut SqliteConnection| {
        let all = messages_plan(conn, &filter()).await;
        assert!(all.contains("messages_by_org"), "{all}");
        assert!(!all.contains("TEMP B-TREE"), "a sort of every text: {all}");

        let waiting = MessageFilter {
            state: Some(MessageState::Pending),
            from: Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()),
            ..filter()
        };
        let waiting = messages_plan(conn, &waiting).await;
        assert!(waiting.contains("messages_by_org_state"), "{waiting}");
        assert!(!waiting.contains("TEMP B-TREE"), "{waiting}");

        let one = MessageFilter {
            person: Some(PersonId::new()),
            ..filter()
        };
        let one = messages_plan(conn, &one).await;
        assert!(one.contains("messages_by_person"), "{one}");
    })
    .await;
}

#[tokio::test]
async fn a_persons_events_come_from_their_own_index_and_people_page_in_order() {
    with_and_without_statistics(async |conn: &mut SqliteConnection| {
        let org = dialect::unindexed("org_id");
        let events = person_events_sql(&org, &dialect::day_start("local_date"));
        let events = plan_of(conn, &format!("EXPLAIN QUERY PLAN {events}"), 2).await;
        assert!(events.contains("(person_id=?)"), "{events}");
        assert!(!events.contains("events_by_org"), "{events}");

        let people = plan_of(
            conn,
            &format!("EXPLAIN QUERY PLAN {}", people_page_sql()),
            3,
        )
        .await;
        assert!(people.contains("people_by_org"), "{people}");
        assert!(
            !people.contains("TEMP B-TREE"),
            "a sort of every person: {people}"
        );
    })
    .await;
}
