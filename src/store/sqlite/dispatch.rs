//! The dispatcher's SQLite-only parts (see `store::dispatch` for the body
//! both backends share): the pick of due rows as index walks, and a group
//! of outcomes written as one `UPDATE … FROM (VALUES …)` per chunk.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use super::messages::{Change, record_all};
use crate::domain::{MessageId, MessageState};
use crate::store::{SendRecord, StoreError};

/// The due rows, up to `limit`, with `columns` of each message, its
/// attempts and whether its number is marked invalid. `BEGIN IMMEDIATE`
/// already keeps other writers out until the claim commits.
pub(super) async fn due_rows(
    conn: &mut SqliteConnection,
    columns: &str,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<SqliteRow>, StoreError> {
    // One branch per way of being due, each a walk of its index that
    // stops at `limit`: an OR across them would sort every due text.
    let sql = format!(
        "SELECT {columns}, m.attempts, p.mobile_invalid_since IS NOT NULL AS number_invalid \
         FROM messages m JOIN people p ON p.id = m.person_id \
         WHERE m.id IN ( \
           SELECT id FROM (SELECT id FROM messages WHERE state = 'pending' AND send_at <= ?1 \
                           ORDER BY send_at, priority LIMIT ?2) \
           UNION ALL \
           SELECT id FROM (SELECT id FROM messages WHERE state = 'retrying' AND send_at <= ?1 \
                           ORDER BY send_at, priority LIMIT ?2) \
           UNION ALL \
           SELECT id FROM (SELECT id FROM messages WHERE state = 'claimed' AND lease_until < ?1 \
                           ORDER BY send_at, priority LIMIT ?2)) \
         ORDER BY m.send_at, m.priority LIMIT ?2"
    );
    Ok(sqlx::query(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
}

/// Record a group of outcomes of `worker`'s claims, with their state
/// changes, in one write transaction: the ids of those whose claim was
/// still ours.
pub(super) async fn record_outcomes(
    store: &SqliteStore,
    worker: &str,
    outcomes: &[(MessageId, SendRecord)],
    now: DateTime<Utc>,
) -> Result<HashSet<String>, StoreError> {
    let mut tx = store.write().await?;
    let ours = write_outcomes(&mut tx, worker, outcomes, now).await?;
    tx.commit().await?;
    Ok(ours)
}

/// [`record_outcomes`]'s statements, in the caller's transaction.
async fn write_outcomes(
    conn: &mut SqliteConnection,
    worker: &str,
    outcomes: &[(MessageId, SendRecord)],
    now: DateTime<Utc>,
) -> Result<HashSet<String>, StoreError> {
    let mut ours = HashSet::new();
    // Only a retry moves the send time, and SQLite rewrites the entry of
    // every index holding a column the statement sets, changed or not: the
    // others (nearly every outcome: sent) leave the send time's indexes be.
    let (retries, others): (Vec<_>, Vec<_>) = outcomes
        .iter()
        .partition(|(_, record)| matches!(record, SendRecord::Retry { .. }));
    // 8 binds a row keeps each statement well under SQLite's limit.
    for (group, moves_send_at) in [(others, false), (retries, true)] {
        for chunk in group.chunks(500) {
            ours.extend(record_chunk(conn, worker, chunk, moves_send_at, now).await?);
        }
    }
    let reasons: Vec<_> = outcomes
        .iter()
        .filter(|(id, _)| ours.contains(&id.to_string()))
        .map(|(id, record)| (*id, record.columns(now)))
        .collect();
    let changes: Vec<Change<'_>> = reasons
        .iter()
        .map(|(id, c)| (*id, Some(MessageState::Claimed), c.state, c.reason.as_str()))
        .collect();
    record_all(conn, &changes, now).await?;
    Ok(ours)
}

/// Record one chunk of outcomes; the ids of those whose claim was still ours.
async fn record_chunk(
    conn: &mut SqliteConnection,
    worker: &str,
    chunk: &[&(MessageId, SendRecord)],
    moves_send_at: bool,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "WITH o(message, state, attempted, send_at, sent_at, provider, provider_id) AS (",
    );
    q.push_values(chunk, |mut row, &(id, record)| {
        let c = record.columns(now);
        row.push_bind(id.to_string())
            .push_bind(c.state.as_str())
            .push_bind(c.attempted)
            .push_bind(c.send_at)
            .push_bind(c.sent_at)
            .push_bind(c.provider.map(str::to_owned))
            .push_bind(c.provider_id.map(str::to_owned));
    });
    q.push(") UPDATE messages SET state = o.state, attempts = messages.attempts + o.attempted, ");
    if moves_send_at {
        q.push("send_at = o.send_at, ");
    }
    q.push(
        "sent_at = COALESCE(o.sent_at, messages.sent_at), \
         provider = COALESCE(o.provider, messages.provider), \
         provider_message_id = COALESCE(o.provider_id, messages.provider_message_id), \
         lease_until = NULL, claimed_by = NULL, updated_at = ",
    );
    q.push_bind(now)
        .push(" FROM o WHERE messages.id = o.message AND messages.state = 'claimed' AND messages.claimed_by = ")
        .push_bind(worker)
        .push(" RETURNING id");
    Ok(q.build_query_scalar().fetch_all(&mut *conn).await?)
}
