//! The staff pages' reads walk an index in the order they page, on the
//! real schema: no full scan of every organisation's rows, no sort of them.
//! (PostgreSQL chooses by its own statistics; these are SQLite's choices,
//! made with none and with those of a large database.)

use chrono::{TimeZone, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Connection, Row};

use super::MIGRATOR;
use super::dialect;
use crate::domain::{MessageState, OrgId, PersonId};
use crate::store::casework::people_named_sql;
use crate::store::dispatch::delivery_match_sql;
use crate::store::inbound::attention_query;
use crate::store::people::{people_page_sql, person_events_sql};
use crate::store::{AttentionQuery, MessageFilter};

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
    steps(q.fetch_all(&mut *conn).await.unwrap())
}

async fn messages_plan(conn: &mut SqliteConnection, filter: &MessageFilter) -> String {
    let mut q = super::messages::list_query("EXPLAIN QUERY PLAN ", OrgId::new(), filter);
    steps(q.build().fetch_all(&mut *conn).await.unwrap())
}

/// `EXPLAIN QUERY PLAN`'s rows as lines.
fn steps(rows: Vec<SqliteRow>) -> String {
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

/// Every read, planned on an empty schema and again with statistics of a
/// large database.
async fn with_and_without_statistics(check: impl AsyncFn(&mut SqliteConnection)) {
    let mut conn = schema().await;
    check(&mut conn).await;
    with_statistics(&mut conn).await;
    check(&mut conn).await;
}

/// Statistics as `ANALYZE` would leave them for two organisations of
/// 200,000 people with five texts each and 4,000 attention items: written directly, since `ANALYZE`
/// of empty tables records nothing.
async fn with_statistics(conn: &mut SqliteConnection) {
    // Creates sqlite_stat1.
    sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    for (table, rows) in [
        ("people", 400_000),
        ("events", 400_000),
        ("messages", 2_000_000),
        ("attention", 8_000),
    ] {
        let indexes: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_list($1)")
            .bind(table)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        for index in indexes {
            let columns: Vec<Option<String>> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
            // Rows per distinct prefix: no more than its most selective column's.
            let mut per_prefix = rows;
            let mut stat = rows.to_string();
            for column in columns {
                per_prefix = per_prefix.min(rows_per_value(table, column.as_deref(), rows));
                stat.push_str(&format!(" {per_prefix}"));
            }
            sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ($1, $2, $3)")
                .bind(table)
                .bind(&index)
                .bind(stat)
                .execute(&mut *conn)
                .await
                .unwrap();
        }
    }
    // Makes the planner read them.
    sqlx::query("ANALYZE sqlite_schema")
        .execute(&mut *conn)
        .await
        .unwrap();
    let written: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_stat1")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(written > 10, "statistics for every index: {written}");
}

/// How many rows share one value of a column at that scale.
fn rows_per_value(table: &str, column: Option<&str>, rows: u64) -> u64 {
    match (table, column) {
        (_, Some("org_id")) => rows / 2,
        (_, Some("state" | "kind")) => rows / 4,
        ("messages", Some("person_id")) => 5,
        // One provider sends everything.
        ("messages", Some("provider")) => rows,
        ("attention", Some("person_id")) => 2,
        // A common first name, in an organisation of 200,000.
        (_, Some("name_hash")) => 4_000,
        _ => 1,
    }
}

#[tokio::test]
async fn an_organisations_texts_are_read_in_order_from_its_own_index() {
    with_and_without_statistics(async |conn: &mut SqliteConnection| {
        // Every state: each state's first page from its own stretch of the
        // index, in order; only those few hundred ids are sorted.
        let all = messages_plan(conn, &filter()).await;
        let stretches = all
            .matches("USING COVERING INDEX messages_by_org_state")
            .count();
        assert_eq!(stretches, MessageState::ALL.len(), "{all}");
        assert!(
            !all.contains("SCAN messages"),
            "a walk of every text: {all}"
        );
        // The merge of the first pages, and the page's rows read by id.
        let sorts = all.matches("TEMP B-TREE").count();
        assert_eq!(sorts, 2, "a sort within a state: {all}");

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

#[tokio::test]
async fn a_first_name_search_reads_the_first_people_of_the_name_in_reference_order() {
    with_and_without_statistics(async |conn: &mut SqliteConnection| {
        let named = format!("EXPLAIN QUERY PLAN {}", people_named_sql());
        let named = plan_of(conn, &named, 2).await;
        assert!(named.contains("people_by_name"), "{named}");
        assert!(
            !named.contains("TEMP B-TREE"),
            "a sort of everyone with the name: {named}"
        );
    })
    .await;
}

async fn attention_plan(conn: &mut SqliteConnection, query: &AttentionQuery) -> String {
    let org = dialect::unindexed("org_id");
    let mut q = attention_query("EXPLAIN QUERY PLAN ", OrgId::new(), query, &org);
    steps(q.build().fetch_all(&mut *conn).await.unwrap())
}

#[tokio::test]
async fn attention_pages_are_read_in_order_from_an_index() {
    with_and_without_statistics(async |conn: &mut SqliteConnection| {
        let later_page = |open_only, newest_first| AttentionQuery {
            open_only,
            newest_first,
            after: Some("an item".to_owned()),
            ..AttentionQuery::open(100)
        };
        for (open_only, index) in [(true, "attention_open_by_org"), (false, "attention_by_org")] {
            for newest_first in [false, true] {
                let plan = attention_plan(conn, &later_page(open_only, newest_first)).await;
                // The page starts at the cursor in the index, not at its start.
                let beyond = if newest_first { "<" } else { ">" };
                let from_cursor = format!("INDEX {index} (org_id=? AND created_at{beyond}?)");
                assert!(plan.contains(&from_cursor), "{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "a sort of the list: {plan}");
            }
        }
        let person = AttentionQuery::of_person(PersonId::new());
        let plan = attention_plan(conn, &person).await;
        assert!(plan.contains("attention_by_person"), "{plan}");
    })
    .await;
}

#[tokio::test]
async fn a_delivery_report_finds_its_text_by_id_not_by_walking_the_providers_texts() {
    with_and_without_statistics(async |conn: &mut SqliteConnection| {
        let sql = format!(
            "EXPLAIN QUERY PLAN {}",
            delivery_match_sql(dialect::lock_for_update())
        );
        let plan = plan_of(conn, &sql, 3).await;
        assert!(
            plan.contains("messages_by_provider_id (provider=? AND provider_message_id=?)"),
            "the provider's id for the text: {plan}"
        );
        assert!(
            plan.contains("(id=?)"),
            "or our reference, by the primary key: {plan}"
        );
        assert!(
            !plan.contains("(provider=?)") && !plan.contains("SCAN messages"),
            "a walk of every text the provider sent: {plan}"
        );
    })
    .await;
}
