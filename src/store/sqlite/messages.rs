//! The outbox in SQLite: planning's reads and its one-transaction writes.

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::rows::{checked, optional, parsed, unsealed, unsealed_mobile};
use super::{EVENT_COLUMNS, SqliteStore, event_from_row};
use crate::domain::{
    Event, EventId, Language, Message, MessageBody, MessageId, MessageOrigin, MessageState, OrgId,
    Person, PersonId, PhoneNumber, TemplateName, Transition,
};
use crate::store::{
    MessageFilter, MessageStore, MessageUpdate, PlanChanges, SEALED_REASON, StoreError,
    transition_reason,
};
use crate::vault::{Field, Vault};

pub(super) const MESSAGE_COLUMNS: &str = "id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, \
     body, mobile, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to";
const WAITING: &str = "('pending', 'retrying')";

#[async_trait]
impl MessageStore for SqliteStore {
    async fn rule_messages_for_events(
        &self,
        events: &[EventId],
    ) -> Result<Vec<Message>, StoreError> {
        let mut out = Vec::new();
        for chunk in events.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE event_id IN ("
            ));
            push_list(&mut q, chunk.iter().map(ToString::to_string));
            out.extend(fetch_messages(q, &self.pool, &self.vault).await?);
        }
        Ok(out)
    }

    async fn goals_reached(
        &self,
        people: &[PersonId],
    ) -> Result<Vec<(PersonId, String)>, StoreError> {
        let mut out = Vec::new();
        for chunk in people.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT person_id, goal FROM outcomes WHERE person_id IN (",
            );
            push_list(&mut q, chunk.iter().map(ToString::to_string));
            for row in q.build().fetch_all(&self.pool).await? {
                out.push((parsed(&row, "person_id")?, row.try_get("goal")?));
            }
        }
        Ok(out)
    }

    async fn messages_to_numbers(
        &self,
        mobiles: &[PhoneNumber],
        since: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        let mut out = Vec::new();
        for chunk in mobiles.chunks(500) {
            // Without stats SQLite judges a long IN list dearer than the
            // state range, and would walk every live message per chunk.
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages INDEXED BY messages_by_mobile_hash WHERE reply_to IS NULL \
                 AND state IN ('pending', 'retrying', 'claimed', 'sent', 'delivered') AND send_at >= "
            ));
            q.push_bind(since).push(" AND mobile_hash IN (");
            let hashes = chunk
                .iter()
                .map(|m| self.vault.index(m).as_str().to_owned());
            push_list(&mut q, hashes);
            out.extend(fetch_messages(q, &self.pool, &self.vault).await?);
        }
        Ok(out)
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
        insert_messages(&mut tx, &self.vault, &changes.create, now).await?;
        for (id, reason) in &changes.cancel {
            move_waiting(&mut tx, *id, MessageState::Cancelled, (reason, None), now).await?;
        }
        // Updates before expiries: a text planning re-rendered and fitting
        // then expired keeps its new text.
        for update in &changes.update {
            update_waiting(&mut tx, &self.vault, update, now).await?;
        }
        for (id, reason) in &changes.expire {
            move_waiting(&mut tx, *id, MessageState::Expired, (reason, None), now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn events_with_people(
        &self,
        org: Option<OrgId>,
        changed_since: Option<DateTime<Utc>>,
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
             WHERE (?1 IS NULL OR e.org_id = ?1) \
               AND (?2 IS NULL OR e.updated_at >= ?2 OR p.updated_at >= ?2) \
               AND e.id > ?3 ORDER BY e.id LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(org.map(|o| o.to_string()))
            .bind(changed_since)
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((joined_person(row, &self.vault)?, event_from_row(row)?)))
            .collect()
    }

    async fn messages(
        &self,
        org: OrgId,
        filter: &MessageFilter,
    ) -> Result<Vec<Message>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
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
            .push_bind(filter.limit);
        fetch_messages(q, &self.pool, &self.vault).await
    }

    async fn message(&self, org: OrgId, id: MessageId) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = ? AND id = ?");
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| message_from_row(&row, &self.vault))
            .transpose()
    }

    async fn transitions(&self, id: MessageId) -> Result<Vec<Transition>, StoreError> {
        let rows = sqlx::query("SELECT from_state, to_state, reason, note, at FROM message_transitions WHERE message_id = ? ORDER BY id")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Transition {
                    from: optional(row, "from_state", str::parse::<MessageState>)?,
                    to: parsed(row, "to_state")?,
                    reason: transition_reason(row, &self.vault)?,
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
            sqlx::query_scalar("SELECT id FROM messages WHERE org_id = ? AND id = ?")
                .bind(org.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Ok(None);
        }
        // The reason may be staff's own words: sealed apart from the clear one.
        let note = self.vault.seal(Field::Note, reason);
        let recorded = (SEALED_REASON, Some(note.as_str()));
        move_waiting(&mut tx, id, MessageState::Cancelled, recorded, now).await?;
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
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "INSERT INTO outcomes (org_id, person_id, goal, recorded_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(org.to_string())
        .bind(person.to_string())
        .bind(goal)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}

fn push_list(q: &mut QueryBuilder<'_, Sqlite>, values: impl Iterator<Item = String>) {
    let mut list = q.separated(", ");
    let mut any = false;
    for value in values {
        list.push_bind(value);
        any = true;
    }
    if !any {
        // `IN ()` is a syntax error; NULL matches nothing.
        list.push("NULL");
    }
    list.push_unseparated(")");
}

async fn fetch_messages(
    mut q: QueryBuilder<'_, Sqlite>,
    pool: &sqlx::SqlitePool,
    vault: &Vault,
) -> Result<Vec<Message>, StoreError> {
    q.build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| message_from_row(row, vault))
        .collect()
}

/// Insert new messages, each with its first state change, a few hundred
/// rows per statement: one statement per row would cost a round trip to
/// the connection's thread each, which is most of planning's time.
async fn insert_messages(
    conn: &mut SqliteConnection,
    vault: &Vault,
    created: &[(crate::domain::NewMessage, MessageState, String)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // 21 values a row, well inside SQLite's limit of 32766 per statement.
    let mut inserted = std::collections::HashSet::new();
    for chunk in created.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, body, \
             mobile, mobile_hash, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to) ",
        );
        q.push_values(chunk, |mut row, (m, state, _)| {
            let (rule_id, event_id, reply_to) = match &m.origin {
                MessageOrigin::Rule { rule_id, event_id } => {
                    (Some(rule_id.as_str()), Some(event_id.to_string()), None)
                }
                MessageOrigin::Nudge => (None, None, None),
                MessageOrigin::Reply { inbound_id } => (None, None, Some(inbound_id.as_str())),
            };
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

/// Move a waiting message to `to`; a message no longer waiting (claimed,
/// sent, already cancelled) is left alone, since it is no longer planning's.
async fn move_waiting(
    conn: &mut SqliteConnection,
    id: MessageId,
    to: MessageState,
    (reason, note): (&str, Option<&str>),
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let from: Option<String> = sqlx::query_scalar(&format!(
        "SELECT state FROM messages WHERE id = ? AND state IN {WAITING}"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(from) = from else { return Ok(()) };
    sqlx::query("UPDATE messages SET state = ?, updated_at = ? WHERE id = ?")
        .bind(to.as_str())
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let from = from
        .parse::<MessageState>()
        .map_err(|e| StoreError::Corrupt(format!("state: {e}")))?;
    record_noted(conn, id, Some(from), to, (reason, note), now).await
}

async fn update_waiting(
    conn: &mut SqliteConnection,
    vault: &Vault,
    u: &MessageUpdate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "UPDATE messages SET body = ?, language = ?, mobile = ?, mobile_hash = ?, due_at = ?, send_at = ?, expires_at = ?, updated_at = ? \
         WHERE id = ? AND state IN {WAITING}"
    ))
    .bind(vault.seal(Field::Body, u.body.as_str()))
    .bind(u.language.as_str())
    .bind(vault.seal(Field::Mobile, u.mobile.as_e164()))
    .bind(vault.index(&u.mobile).as_str())
    .bind(u.due_at)
    .bind(u.send_at)
    .bind(u.expires_at)
    .bind(now)
    .bind(u.id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn record(
    conn: &mut SqliteConnection,
    id: MessageId,
    from: Option<MessageState>,
    to: MessageState,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    record_noted(conn, id, from, to, (reason, None), at).await
}

/// [`record`] with a sealed note beside the clear reason.
async fn record_noted(
    conn: &mut SqliteConnection,
    id: MessageId,
    from: Option<MessageState>,
    to: MessageState,
    (reason, note): (&str, Option<&str>),
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO message_transitions (message_id, from_state, to_state, reason, note, at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(id.to_string())
        .bind(from.map(MessageState::as_str))
        .bind(to.as_str())
        .bind(reason)
        .bind(note)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
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

pub(super) fn message_from_row(row: &SqliteRow, vault: &Vault) -> Result<Message, StoreError> {
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
        body: MessageBody::new(unsealed(row, "body", vault, Field::Body)?),
        mobile: unsealed_mobile(row, "mobile", vault)?,
        state: parsed(row, "state")?,
        due_at: row.try_get("due_at")?,
        send_at: row.try_get("send_at")?,
        expires_at: row.try_get("expires_at")?,
        earliest: optional(row, "earliest", |t| NaiveTime::parse_from_str(t, "%H:%M"))?,
        priority: row.try_get("priority")?,
        goal: row.try_get("goal")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The person half of an events ⋈ people row, whose columns carry a `p_` prefix.
fn joined_person(row: &SqliteRow, vault: &Vault) -> Result<Person, StoreError> {
    let first_name = unsealed(row, "p_first_name", vault, Field::FirstName)?;
    Ok(Person {
        id: parsed(row, "p_id")?,
        org_id: parsed(row, "p_org_id")?,
        external_ref: checked(row, "p_external_ref", crate::domain::ExternalRef::parse)?,
        first_name: crate::domain::FirstName::from_stored(first_name),
        mobile: unsealed_mobile(row, "p_mobile", vault)?,
        language: checked(row, "p_language", Language::parse)?,
        created_at: row.try_get("p_created_at")?,
        updated_at: row.try_get("p_updated_at")?,
    })
}
