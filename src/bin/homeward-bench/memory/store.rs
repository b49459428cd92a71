//! Filling an SQLite store with copies of planned people, events and texts.
//!
//! Copy `n` of a row gets the id `<n as 8 hex>-<table>-7000-8000-<rowid as
//! 12 hex>`: a well-formed UUID, unique per table, copy and original row. A
//! copied person keeps the original's sealed number (the texts go to a
//! loopback fake) under a look-up hash of their own, so caps and gaps count
//! each copy apart; a copied text gets its copied event's id inside its
//! planning key, exactly as the planner writes it.
//! The secondary indexes are dropped for the copy and built again after,
//! which SQLite does far faster than keeping them up to date row by row.

use std::str::FromStr;

use anyhow::ensure;
use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection};

use crate::fixture::Fixture;

pub struct Counts {
    pub pending: u64,
    pub people: u64,
    pub events: u64,
    pub database_mb: f64,
}

/// Copy the fixture's planned people until `pending` texts wait, then make
/// `due_now` of them due at once.
pub async fn fill(fixture: &Fixture, pending: u32, due_now: u32) -> anyhow::Result<Counts> {
    let options = SqliteConnectOptions::from_str(&fixture.database.url)?
        .foreign_keys(false)
        .synchronous(SqliteSynchronous::Off);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    sqlx::query("PRAGMA cache_size = -262144")
        .execute(&mut conn)
        .await?;
    let seed: i64 = count(&mut conn, "messages WHERE state = 'pending'").await? as i64;
    ensure!(
        seed > 0 && i64::from(pending) > seed,
        "--pending must be more than the {seed} texts planned for the seed people"
    );
    let wanted = i64::from(pending);
    let copies = ((wanted - seed) + seed - 1) / seed;
    let mut tx = conn.begin().await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('people', 'events', 'messages')",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX \"{name}\""))
            .execute(&mut *tx)
            .await?;
    }
    for step in copy_sql() {
        let sql = step.replace("?copies", "?").replace("?limit", "?");
        let mut query = sqlx::query(&sql);
        if step.contains("?copies") {
            query = query.bind(copies);
        }
        if step.contains("?limit") {
            query = query.bind(wanted - seed);
        }
        query.execute(&mut *tx).await?;
    }
    for (_, sql) in &indexes {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    // One text per person, so the minimum gap between texts to a number
    // does not hold most of them back.
    sqlx::query(
        "UPDATE messages SET send_at = ? WHERE id IN \
         (SELECT id FROM messages WHERE state = 'pending' AND rule_id = 'liberation_gp_registration' \
          ORDER BY id LIMIT ?)",
    )
    .bind(Utc::now())
    .bind(i64::from(due_now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    let counts = Counts {
        pending: count(&mut conn, "messages WHERE state = 'pending'").await?,
        people: count(&mut conn, "people").await?,
        events: count(&mut conn, "events").await?,
        database_mb: database_mb(&mut conn).await?,
    };
    conn.close().await?;
    Ok(counts)
}

async fn count(conn: &mut SqliteConnection, from: &str) -> anyhow::Result<u64> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {from}"))
        .fetch_one(conn)
        .await?;
    Ok(n as u64)
}

async fn database_mb(conn: &mut SqliteConnection) -> anyhow::Result<f64> {
    let row = sqlx::query(
        "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()",
    )
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("bytes")? as f64 / (1024.0 * 1024.0))
}

/// The copying, step by step; `?copies` is how many copies of each seed
/// person to make and `?limit` how many texts to add.
fn copy_sql() -> [&'static str; 9] {
    [
        "CREATE TEMP TABLE copies (n INTEGER PRIMARY KEY)",
        "WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?copies) \
         INSERT INTO copies SELECT n FROM c",
        "CREATE TEMP TABLE person_map AS \
         SELECT p.id AS old, c.n AS n, printf('%08x-0001-7000-8000-%012x', c.n, p.rowid) AS new, \
                p.mobile_hash || '-' || c.n AS mobile_hash \
         FROM people p, copies c",
        "CREATE TEMP TABLE event_map AS \
         SELECT e.id AS old, e.person_id AS person, c.n AS n, \
                printf('%08x-0002-7000-8000-%012x', c.n, e.rowid) AS new \
         FROM events e, copies c",
        "INSERT INTO people (id, org_id, external_ref, first_name, mobile, mobile_hash, language, created_at, updated_at) \
         SELECT m.new, p.org_id, p.external_ref || '-' || m.n, p.first_name, p.mobile, m.mobile_hash, p.language, \
                p.created_at, p.updated_at \
         FROM person_map m JOIN people p ON p.id = m.old ORDER BY m.n, p.rowid",
        "CREATE INDEX temp.person_map_by_old ON person_map (old, n)",
        "INSERT INTO events (id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
                             establishment, place, appointment_type, created_at, updated_at) \
         SELECT em.new, e.org_id, pm.new, e.event_ref, e.kind, e.status, e.local_date, e.starts_at, \
                e.establishment, e.place, e.appointment_type, e.created_at, e.updated_at \
         FROM event_map em JOIN events e ON e.id = em.old \
         JOIN person_map pm ON pm.old = em.person AND pm.n = em.n ORDER BY em.n, e.rowid",
        "CREATE INDEX temp.event_map_by_old ON event_map (old, n)",
        "INSERT INTO messages (id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, \
                               body, mobile, mobile_hash, state, due_at, send_at, expires_at, earliest, priority, goal, \
                               created_at, updated_at) \
         SELECT printf('%08x-0003-7000-8000-%012x', em.n, m.rowid), m.org_id, pm.new, em.new, m.rule_id, \
                replace(m.dedupe_key, m.event_id, em.new), m.template, m.language, m.body, m.mobile, pm.mobile_hash, \
                m.state, m.due_at, m.send_at, m.expires_at, m.earliest, m.priority, m.goal, \
                m.created_at, m.updated_at \
         FROM messages m JOIN event_map em ON em.old = m.event_id \
         JOIN person_map pm ON pm.old = m.person_id AND pm.n = em.n \
         WHERE m.state = 'pending' ORDER BY em.n, m.rowid LIMIT ?limit",
    ]
}
