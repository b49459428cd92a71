//! The outbox in PostgreSQL: planning's reads and its one-transaction writes.
//!
//! Planning may run in several daemons at once (each runs the re-plan
//! sweep). A waiting message is locked before it is moved, so a claim and a
//! cancel never both win: whichever locks the row first decides, and the
//! other sees the result.

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Timelike, Utc};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};

use super::PostgresStore;
use super::people::{EVENT_COLUMNS, event_from_row, person_with_prefix};
use super::rows::{checked, optional, parsed, small};
use crate::domain::{
    Event, EventId, Language, Message, MessageBody, MessageId, MessageOrigin, MessageState,
    NewMessage, OrgId, Person, PersonId, PhoneNumber, TemplateName, Transition,
};
use crate::store::{MessageFilter, MessageStore, MessageUpdate, PlanChanges, StoreError};

pub(super) const MESSAGE_COLUMNS: &str = "id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, \
     body, mobile, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to";
const WAITING: &str = "('pending', 'retrying')";

#[async_trait]
impl MessageStore for PostgresStore {
    async fn rule_messages_for_events(
        &self,
        events: &[EventId],
    ) -> Result<Vec<Message>, StoreError> {
        let ids: Vec<String> = events.iter().map(ToString::to_string).collect();
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE event_id = ANY($1)");
        let rows = sqlx::query(&sql).bind(&ids).fetch_all(&self.pool).await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn goals_reached(
        &self,
        people: &[PersonId],
    ) -> Result<Vec<(PersonId, String)>, StoreError> {
        let ids: Vec<String> = people.iter().map(ToString::to_string).collect();
        let rows = sqlx::query("SELECT person_id, goal FROM outcomes WHERE person_id = ANY($1)")
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((parsed(row, "person_id")?, row.try_get("goal")?)))
            .collect()
    }

    async fn messages_to_numbers(
        &self,
        mobiles: &[PhoneNumber],
        since: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        let mobiles: Vec<&str> = mobiles.iter().map(PhoneNumber::as_e164).collect();
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE reply_to IS NULL \
             AND state IN ('pending', 'retrying', 'claimed', 'sent', 'delivered') \
             AND send_at >= $1 AND mobile = ANY($2)"
        );
        let rows = sqlx::query(&sql)
            .bind(since)
            .bind(&mobiles)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn apply_plan(
        &self,
        changes: &PlanChanges,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for (message, state, reason) in &changes.create {
            insert_message(&mut tx, message, *state, reason, now).await?;
        }
        for (id, reason) in &changes.cancel {
            move_waiting(&mut tx, *id, MessageState::Cancelled, reason, now).await?;
        }
        for (id, reason) in &changes.expire {
            move_waiting(&mut tx, *id, MessageState::Expired, reason, now).await?;
        }
        for update in &changes.update {
            update_waiting(&mut tx, update, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn events_with_people(
        &self,
        org: Option<OrgId>,
        after: Option<EventId>,
        limit: u32,
    ) -> Result<Vec<(Person, Event)>, StoreError> {
        let event_columns: String = EVENT_COLUMNS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {event_columns}, p.id AS p_id, p.org_id AS p_org_id, p.external_ref AS p_external_ref, \
             p.first_name AS p_first_name, p.mobile AS p_mobile, p.language AS p_language, \
             p.created_at AS p_created_at, p.updated_at AS p_updated_at \
             FROM events e JOIN people p ON p.id = e.person_id \
             WHERE ($1::text IS NULL OR e.org_id = $1) AND e.id > $2 ORDER BY e.id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(org.map(|o| o.to_string()))
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((person_with_prefix(row, "p_")?, event_from_row(row)?)))
            .collect()
    }

    async fn messages(
        &self,
        org: OrgId,
        filter: &MessageFilter,
    ) -> Result<Vec<Message>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = "
        ));
        q.push_bind(org.to_string());
        if let Some(person) = filter.person {
            q.push(" AND person_id = ").push_bind(person.to_string());
        }
        if let Some(state) = filter.state {
            q.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(from) = filter.from {
            q.push(" AND send_at >= ").push_bind(from);
        }
        if let Some(to) = filter.to {
            q.push(" AND send_at < ").push_bind(to);
        }
        q.push(" ORDER BY send_at, id LIMIT ")
            .push_bind(i64::from(filter.limit));
        fetch_messages(q, &self.pool).await
    }

    async fn message(&self, org: OrgId, id: MessageId) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn transitions(&self, id: MessageId) -> Result<Vec<Transition>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_state, to_state, reason, at FROM message_transitions \
             WHERE message_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Transition {
                    from: optional(row, "from_state", str::parse::<MessageState>)?,
                    to: parsed(row, "to_state")?,
                    reason: row.try_get("reason")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }

    async fn cancel_message(
        &self,
        org: OrgId,
        id: MessageId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let mut tx = self.write().await?;
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM messages WHERE org_id = $1 AND id = $2")
                .bind(org.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Ok(None);
        }
        move_waiting(&mut tx, id, MessageState::Cancelled, reason, now).await?;
        tx.commit().await?;
        self.message(org, id).await
    }

    async fn record_outcome(
        &self,
        org: OrgId,
        person: PersonId,
        goal: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO outcomes (org_id, person_id, goal, recorded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(org.to_string())
        .bind(person.to_string())
        .bind(goal)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn fetch_messages(
    mut q: QueryBuilder<'_, Postgres>,
    pool: &PgPool,
) -> Result<Vec<Message>, StoreError> {
    q.build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(message_from_row)
        .collect()
}

async fn insert_message(
    conn: &mut PgConnection,
    m: &NewMessage,
    state: MessageState,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (rule_id, event_id, reply_to) = match &m.origin {
        MessageOrigin::Rule { rule_id, event_id } => {
            (Some(rule_id.as_str()), Some(event_id.to_string()), None)
        }
        MessageOrigin::Nudge => (None, None, None),
        MessageOrigin::Reply { inbound_id } => (None, None, Some(inbound_id.as_str())),
    };
    let inserted = sqlx::query(
        "INSERT INTO messages (id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, body, \
         mobile, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19) \
         ON CONFLICT DO NOTHING",
    )
    .bind(m.id.to_string())
    .bind(m.org_id.to_string())
    .bind(m.person_id.to_string())
    .bind(event_id)
    .bind(rule_id)
    .bind(&m.dedupe_key)
    .bind(m.template.as_str())
    .bind(m.language.as_str())
    .bind(m.body.as_str())
    .bind(m.mobile.as_e164())
    .bind(state.as_str())
    .bind(m.due_at)
    .bind(m.send_at)
    .bind(m.expires_at)
    .bind(m.earliest.map(to_minute))
    .bind(i16::from(m.priority))
    .bind(m.goal.as_deref())
    .bind(now)
    .bind(reply_to)
    .execute(&mut *conn)
    .await?;
    // Another daemon may have planned the same key a moment earlier: it is
    // planned either way, so this one steps aside.
    if inserted.rows_affected() == 0 {
        return Ok(());
    }
    record(conn, m.id, None, state, reason, now).await
}

/// SQLite keeps a rule's earliest time as "HH:MM"; so does this store.
fn to_minute(t: NaiveTime) -> NaiveTime {
    NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).unwrap_or(t)
}

/// Move a waiting message to `to`; a message no longer waiting (claimed,
/// sent, already cancelled) is left alone, since it is no longer planning's.
async fn move_waiting(
    conn: &mut PgConnection,
    id: MessageId,
    to: MessageState,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // The lock makes the state read here the one the update changes: a
    // dispatcher claiming the row meanwhile is waited for, then seen.
    let from: Option<String> = sqlx::query_scalar(&format!(
        "SELECT state FROM messages WHERE id = $1 AND state IN {WAITING} FOR NO KEY UPDATE"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(from) = from else { return Ok(()) };
    sqlx::query("UPDATE messages SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(to.as_str())
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let from = from
        .parse::<MessageState>()
        .map_err(|e| StoreError::Corrupt(format!("state: {e}")))?;
    record(conn, id, Some(from), to, reason, now).await
}

async fn update_waiting(
    conn: &mut PgConnection,
    u: &MessageUpdate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "UPDATE messages SET body = $1, language = $2, mobile = $3, due_at = $4, send_at = $5, \
         expires_at = $6, updated_at = $7 WHERE id = $8 AND state IN {WAITING}"
    ))
    .bind(u.body.as_str())
    .bind(u.language.as_str())
    .bind(u.mobile.as_e164())
    .bind(u.due_at)
    .bind(u.send_at)
    .bind(u.expires_at)
    .bind(now)
    .bind(u.id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Record one change of state.
pub(super) async fn record(
    conn: &mut PgConnection,
    id: MessageId,
    from: Option<MessageState>,
    to: MessageState,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO message_transitions (message_id, from_state, to_state, reason, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(from.map(MessageState::as_str))
    .bind(to.as_str())
    .bind(reason)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Record the same change for many messages in one statement, in order.
pub(super) async fn record_many(
    conn: &mut PgConnection,
    moves: &[(MessageId, MessageState, &str)],
    to: MessageState,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let ids: Vec<String> = moves.iter().map(|(id, _, _)| id.to_string()).collect();
    let from: Vec<&str> = moves.iter().map(|(_, from, _)| from.as_str()).collect();
    let reasons: Vec<&str> = moves.iter().map(|(_, _, reason)| *reason).collect();
    sqlx::query(
        "INSERT INTO message_transitions (message_id, from_state, to_state, reason, at) \
         SELECT t.id, t.from_state, $4, t.reason, $5 \
         FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(id, from_state, reason, n) \
         ORDER BY t.n",
    )
    .bind(&ids)
    .bind(&from)
    .bind(&reasons)
    .bind(to.as_str())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) fn message_from_row(row: &PgRow) -> Result<Message, StoreError> {
    let rule_id: Option<String> = row.try_get("rule_id")?;
    let event_id: Option<EventId> = optional(row, "event_id", str::parse::<EventId>)?;
    let reply_to: Option<String> = row.try_get("reply_to")?;
    let origin = match (rule_id, event_id, reply_to) {
        (Some(rule_id), Some(event_id), _) => MessageOrigin::Rule { rule_id, event_id },
        (_, _, Some(inbound_id)) => MessageOrigin::Reply { inbound_id },
        _ => MessageOrigin::Nudge,
    };
    Ok(Message {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        person_id: parsed(row, "person_id")?,
        origin,
        dedupe_key: row.try_get("dedupe_key")?,
        template: checked(row, "template", TemplateName::parse)?,
        language: checked(row, "language", Language::parse)?,
        body: MessageBody::new(row.try_get("body")?),
        mobile: PhoneNumber::from_trusted_e164(row.try_get("mobile")?),
        state: parsed(row, "state")?,
        due_at: row.try_get("due_at")?,
        send_at: row.try_get("send_at")?,
        expires_at: row.try_get("expires_at")?,
        earliest: row.try_get("earliest")?,
        priority: small(row, "priority")?,
        goal: row.try_get("goal")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
