//! The dispatcher's PostgreSQL-only parts (see `store::dispatch` for the
//! body both backends share): the pick of due rows with
//! `FOR NO KEY UPDATE SKIP LOCKED`, and a group of outcomes written, with
//! their state changes, as one statement over arrays.
//!
//! A claim is one short transaction: pick due rows, give them a lease,
//! record why, commit. Daemons claiming at the same moment skip each
//! other's locked rows rather than wait for them, so two never take the
//! same message; a daemon that dies leaves leases that run out, after which
//! its claims are due again.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgRow};

use super::PostgresStore;
use crate::domain::MessageId;
use crate::store::{SendRecord, StoreError};

/// The due rows, up to `limit`, with `columns` of each message, its
/// attempts and whether its number is marked invalid; locked, and skipped
/// when another daemon's claim holds them.
pub(super) async fn due_rows(
    conn: &mut PgConnection,
    columns: &str,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<PgRow>, StoreError> {
    // One branch per way of being due, each a walk of its index that
    // stops at `limit` (an OR across them would sort every due text),
    // locking what it finds. Rows found but not taken stay locked only
    // until this short transaction commits.
    let sql = format!(
        "WITH pending AS (SELECT id FROM messages WHERE state = 'pending' AND send_at <= $1 \
                          ORDER BY send_at, priority LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED), \
              retrying AS (SELECT id FROM messages WHERE state = 'retrying' AND send_at <= $1 \
                           ORDER BY send_at, priority LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED), \
              lapsed AS (SELECT id FROM messages WHERE state = 'claimed' AND lease_until < $1 \
                         ORDER BY send_at, priority LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED) \
         SELECT {columns}, m.attempts, p.mobile_invalid_since IS NOT NULL AS number_invalid \
         FROM messages m JOIN people p ON p.id = m.person_id \
         WHERE m.id IN (SELECT id FROM pending UNION ALL SELECT id FROM retrying \
                        UNION ALL SELECT id FROM lapsed) \
         ORDER BY m.send_at, m.priority LIMIT $2"
    );
    Ok(sqlx::query(&sql)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?)
}

/// Record a group of outcomes of `worker`'s claims, with their state
/// changes: the ids of those whose claim was still ours. One statement,
/// so one implicit transaction, all or nothing: without `BEGIN` and
/// `COMMIT` of its own it is one round trip to the server instead of
/// three, and the dispatcher's outcomes are written by one writer that
/// is busy most of a drain.
pub(super) async fn record_outcomes(
    store: &PostgresStore,
    worker: &str,
    outcomes: &[(MessageId, SendRecord)],
    now: DateTime<Utc>,
) -> Result<HashSet<String>, StoreError> {
    let columns: Vec<_> = outcomes.iter().map(|(_, r)| r.columns(now)).collect();
    let ids: Vec<String> = outcomes.iter().map(|(id, _)| id.to_string()).collect();
    let states: Vec<&str> = columns.iter().map(|c| c.state.as_str()).collect();
    let attempted: Vec<i32> = columns.iter().map(|c| c.attempted).collect();
    let send_at: Vec<_> = columns.iter().map(|c| c.send_at).collect();
    let sent_at: Vec<_> = columns.iter().map(|c| c.sent_at).collect();
    let provider: Vec<_> = columns.iter().map(|c| c.provider).collect();
    let provider_id: Vec<_> = columns.iter().map(|c| c.provider_id).collect();
    let reasons: Vec<&str> = columns.iter().map(|c| c.reason.as_str()).collect();
    // One statement: the outcomes that still hold their claim move, and
    // their history rows are written from what moved.
    let ours: Vec<String> = sqlx::query_scalar(
        "WITH o AS ( \
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::timestamptz[], \
                                $5::timestamptz[], $6::text[], $7::text[], $8::text[]) \
           AS o(message, state, attempted, send_at, sent_at, provider, provider_id, reason)), \
         moved AS ( \
           UPDATE messages m SET state = o.state, attempts = m.attempts + o.attempted, \
             send_at = COALESCE(o.send_at, m.send_at), sent_at = COALESCE(o.sent_at, m.sent_at), \
             provider = COALESCE(o.provider, m.provider), \
             provider_message_id = COALESCE(o.provider_id, m.provider_message_id), \
             lease_until = NULL, claimed_by = NULL, updated_at = $9 \
           FROM o WHERE m.id = o.message AND m.state = 'claimed' AND m.claimed_by = $10 \
           RETURNING m.id, o.state, o.reason) \
         INSERT INTO message_transitions (message_id, from_state, to_state, reason, at) \
         SELECT id, 'claimed', state, reason, $9 FROM moved RETURNING message_id",
    )
    .bind(&ids)
    .bind(&states)
    .bind(&attempted)
    .bind(&send_at)
    .bind(&sent_at)
    .bind(&provider)
    .bind(&provider_id)
    .bind(&reasons)
    .bind(now)
    .bind(worker)
    .fetch_all(&store.pool)
    .await?;
    Ok(ours.into_iter().collect())
}
