//! The outbox's SQLite-only parts (see `store::messages` for what both
//! backends share, expanded here by `message_helpers!`): inserts of many
//! rows as one multi-row `VALUES`, and the daily-cap look-up.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::dialect;
use crate::domain::{Message, MessageId, MessageState, NewMessage};
use crate::store::StoreError;
pub(super) use crate::store::messages::MESSAGE_COLUMNS;
use crate::store::messages::{COUNTED, origin_columns};
use crate::vault::{Field, Vault};

crate::store::messages::message_helpers!(Sqlite);

/// Messages to these numbers (by hash) that a daily cap counts, at or
/// after `since`.
pub(super) async fn messages_to_hashes(
    pool: &SqlitePool,
    vault: &Vault,
    hashes: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<Message>, StoreError> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(dialect::LIST_CHUNK) {
        // Without stats SQLite judges a long IN list dearer than the
        // state range, and would walk every live message per chunk.
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages INDEXED BY messages_by_mobile_hash WHERE reply_to IS NULL \
             AND state IN {COUNTED} AND send_at >= "
        ));
        q.push_bind(since).push(" AND mobile_hash IN (");
        dialect::push_list(&mut q, chunk.to_vec());
        out.extend(fetch_messages(q, pool, vault).await?);
    }
    Ok(out)
}

/// Insert new messages, each with its first state change, a few hundred
/// rows per statement: one statement per row would cost a round trip to
/// the connection's thread each, which is most of planning's time.
pub(super) async fn insert_messages(
    conn: &mut SqliteConnection,
    vault: &Vault,
    created: &[(NewMessage, MessageState, String)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // 21 values a row, well inside SQLite's limit of 32766 per statement.
    let mut inserted = HashSet::new();
    for chunk in created.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, body, \
             mobile, mobile_hash, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to) ",
        );
        q.push_values(chunk, |mut row, (m, state, _)| {
            let (rule_id, event_id, reply_to) = origin_columns(&m.origin);
            row.push_bind(m.id.to_string())
                .push_bind(m.org_id.to_string())
                .push_bind(m.person_id.to_string())
                .push_bind(event_id)
                .push_bind(rule_id)
                .push_bind(m.dedupe_key.as_str())
                .push_bind(m.template.as_str())
                .push_bind(m.language.as_str())
                .push_bind(vault.seal(Field::Body, m.body.as_str()))
                .push_bind(vault.seal(Field::Mobile, m.mobile.as_e164()))
                .push_bind(vault.index(&m.mobile).as_str().to_owned())
                .push_bind(state.as_str())
                .push_bind(m.due_at)
                .push_bind(m.send_at)
                .push_bind(m.expires_at)
                .push_bind(m.earliest.map(|t| t.format("%H:%M").to_string()))
                .push_bind(m.priority)
                .push_bind(m.goal.as_deref())
                .push_bind(now)
                .push_bind(now)
                .push_bind(reply_to);
        });
        // Another daemon may have planned the same key a moment earlier: it
        // is planned either way, so this one steps aside.
        q.push(" ON CONFLICT DO NOTHING RETURNING id");
        for row in q.build().fetch_all(&mut *conn).await? {
            inserted.insert(row.try_get::<String, _>("id")?);
        }
    }
    let firsts: Vec<_> = created
        .iter()
        .filter(|(m, _, _)| inserted.contains(&m.id.to_string()))
        .map(|(m, state, reason)| (m.id, None, *state, reason.as_str()))
        .collect();
    record_all(conn, &firsts, now).await
}

/// One state change, as [`record`] takes it.
pub(super) type Change<'a> = (MessageId, Option<MessageState>, MessageState, &'a str);

/// Record many state changes at `at`, in order, a few hundred per statement.
pub(super) async fn record_all(
    conn: &mut SqliteConnection,
    changes: &[Change<'_>],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in changes.chunks(1000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO message_transitions (message_id, from_state, to_state, reason, at) ",
        );
        q.push_values(chunk, |mut row, (id, from, to, reason)| {
            row.push_bind(id.to_string())
                .push_bind(from.map(MessageState::as_str))
                .push_bind(to.as_str())
                .push_bind(*reason)
                .push_bind(at);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The shared `transition` body, on SQLite (PostgreSQL runs the same
    //! text, instantiated for its own driver).
    use chrono::Utc;
    use sqlx::Connection;
    use sqlx::sqlite::SqliteConnection;

    use super::transition;
    use crate::domain::MessageState::{Cancelled, Claimed, Pending, Sent};
    use crate::store::StoreError;

    async fn two_messages() -> SqliteConnection {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query(
            "CREATE TABLE messages (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT); \
             INSERT INTO messages (id, state) VALUES ('waiting', 'pending'), ('gone', 'sent')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn
    }

    async fn state(conn: &mut SqliteConnection, id: &str) -> String {
        sqlx::query_scalar("SELECT state FROM messages WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_change_applies_once_and_a_second_from_the_old_state_is_a_lost_race() {
        let mut conn = two_messages().await;
        transition(
            &mut conn,
            &["waiting"],
            (Pending, Claimed),
            Utc::now(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(state(&mut conn, "waiting").await, "claimed");
        let again = transition(
            &mut conn,
            &["waiting"],
            (Pending, Claimed),
            Utc::now(),
            |_| {},
        );
        match again.await {
            Err(StoreError::LostRace { lost: 1, of: 1, .. }) => {}
            other => panic!("expected a lost race, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_illegal_change_is_refused_and_the_row_is_untouched() {
        let mut conn = two_messages().await;
        let back = transition(&mut conn, &["gone"], (Sent, Pending), Utc::now(), |_| {});
        assert!(matches!(back.await, Err(StoreError::IllegalTransition(_))));
        assert_eq!(state(&mut conn, "gone").await, "sent");
    }

    #[tokio::test]
    async fn a_batch_with_one_row_moved_by_another_writer_changes_nothing() {
        let mut conn = two_messages().await;
        let mut tx = conn.begin().await.unwrap();
        let both = ["waiting", "gone"];
        let batch = transition(&mut tx, &both, (Pending, Cancelled), Utc::now(), |_| {});
        match batch.await {
            Err(StoreError::LostRace { lost: 1, of: 2, .. }) => {}
            other => panic!("expected one lost of two, got {other:?}"),
        }
        drop(tx);
        assert_eq!(state(&mut conn, "waiting").await, "pending");
    }
}
