//! The outbox in PostgreSQL: planning's reads and its one-transaction writes.
//!
//! Planning may run in several daemons at once (each runs the re-plan
//! sweep). A waiting message is locked before it is moved, so a claim and a
//! cancel never both win: whichever locks the row first decides, and the
//! other sees the result.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Timelike, Utc};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};

use super::PostgresStore;
use super::people::{EVENT_COLUMNS, event_from_row, person_with_prefix};
use super::rows::{checked, optional, parsed, small, unsealed, unsealed_mobile};
use crate::domain::{
    Event, EventId, Language, Message, MessageBody, MessageId, MessageOrigin, MessageState,
    NewMessage, OrgId, Person, PersonId, PhoneNumber, TemplateName, Transition,
};
use crate::store::{
    MessageFilter, MessageStore, MessageUpdate, PlanChanges, SEALED_REASON, StoreError,
    transition_reason,
};
use crate::vault::{Field, Vault};

pub(super) const MESSAGE_COLUMNS: &str = "id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, \
     body, mobile, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to";
const WAITING: &str = "('pending', 'retrying')";
/// New messages written per statement: one array per column, so no limit
/// on bound values applies, only the size of one request.
const INSERT_CHUNK: usize = 5000;

#[async_trait]
impl MessageStore for PostgresStore {
    async fn rule_messages_for_events(
        &self,
        events: &[EventId],
    ) -> Result<Vec<Message>, StoreError> {
        let ids: Vec<String> = events.iter().map(ToString::to_string).collect();
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE event_id IN (SELECT unnest($1::text[]))"
        );
        let rows = sqlx::query(&sql).bind(&ids).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| message_from_row(row, &self.vault))
            .collect()
    }

    async fn goals_reached(
        &self,
        people: &[PersonId],
    ) -> Result<Vec<(PersonId, String)>, StoreError> {
        let ids: Vec<String> = people.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(
            "SELECT person_id, goal FROM outcomes WHERE person_id IN (SELECT unnest($1::text[]))",
        )
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
        let hashes: Vec<String> = mobiles
            .iter()
            .map(|m| self.vault.index(m).as_str().to_owned())
            .collect();
        // Number by number through the number's index, the other tests
        // outside an `OFFSET 0` fence: without statistics PostgreSQL joins
        // the state index in, reading every live text once per number.
        let sql = format!(
            "SELECT m.* FROM (SELECT DISTINCT unnest($2::text[]) AS wanted) n \
             CROSS JOIN LATERAL (SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE mobile_hash = n.wanted AND send_at >= $1 OFFSET 0) m \
             WHERE m.reply_to IS NULL \
             AND m.state IN ('pending', 'retrying', 'claimed', 'sent', 'delivered')"
        );
        let rows = sqlx::query(&sql)
            .bind(since)
            .bind(&hashes)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| message_from_row(row, &self.vault))
            .collect()
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
        for chunk in changes.create.chunks(INSERT_CHUNK) {
            insert_messages(&mut tx, &self.vault, chunk, now).await?;
        }
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
             WHERE ($1::text IS NULL OR e.org_id = $1) \
               AND ($4::timestamptz IS NULL OR e.updated_at >= $4 OR p.updated_at >= $4) \
               AND e.id > $2 ORDER BY e.id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(org.map(|o| o.to_string()))
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .bind(changed_since)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let person = person_with_prefix(row, "p_", &self.vault)?;
                Ok((person, event_from_row(row)?))
            })
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
        fetch_messages(q, &self.pool, &self.vault).await
    }

    async fn message(&self, org: OrgId, id: MessageId) -> Result<Option<Message>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| message_from_row(&row, &self.vault))
            .transpose()
    }

    async fn transitions(&self, id: MessageId) -> Result<Vec<Transition>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_state, to_state, reason, note, at FROM message_transitions \
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
            sqlx::query_scalar("SELECT id FROM messages WHERE org_id = $1 AND id = $2")
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
    vault: &Vault,
) -> Result<Vec<Message>, StoreError> {
    q.build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| message_from_row(row, vault))
        .collect()
}

/// New messages, each with its first state change, in two statements over
/// arrays: a statement per row costs a round trip to the server each, which
/// was nearly all of planning's time.
async fn insert_messages(
    conn: &mut PgConnection,
    vault: &Vault,
    created: &[(NewMessage, MessageState, String)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let c = NewColumns::of(created, vault);
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO messages (id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, body, \
         mobile, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to, \
         mobile_hash) \
         SELECT t.id, t.org_id, t.person_id, t.event_id, t.rule_id, t.dedupe_key, t.template, t.language, t.body, \
         t.mobile, t.state, t.due_at, t.send_at, t.expires_at, t.earliest, t.priority, t.goal, $18, $18, t.reply_to, \
         t.mobile_hash \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
         $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[], \
         $14::timestamptz[], $15::time[], $16::smallint[], $17::text[], $19::text[], $20::text[]) WITH ORDINALITY \
         AS t(id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, body, mobile, state, \
         due_at, send_at, expires_at, earliest, priority, goal, reply_to, mobile_hash, n) \
         ORDER BY t.n \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&c.id)
    .bind(&c.org_id)
    .bind(&c.person_id)
    .bind(&c.event_id)
    .bind(&c.rule_id)
    .bind(&c.dedupe_key)
    .bind(&c.template)
    .bind(&c.language)
    .bind(&c.body)
    .bind(&c.mobile)
    .bind(&c.state)
    .bind(&c.due_at)
    .bind(&c.send_at)
    .bind(&c.expires_at)
    .bind(&c.earliest)
    .bind(&c.priority)
    .bind(&c.goal)
    .bind(now)
    .bind(&c.reply_to)
    .bind(&c.mobile_hash)
    .fetch_all(&mut *conn)
    .await?;
    // Another daemon may have planned the same key a moment earlier: it is
    // planned either way, so this one steps aside and records nothing.
    let inserted: HashSet<String> = inserted.into_iter().collect();
    let firsts: Vec<_> = created
        .iter()
        .zip(&c.id)
        .filter(|(_, id)| inserted.contains(*id))
        .map(|((_, state, reason), id)| (id.as_str(), state.as_str(), reason.as_str()))
        .collect();
    record_firsts(conn, &firsts, now).await
}

/// New messages spread over one array per column, in order.
struct NewColumns<'a> {
    id: Vec<String>,
    org_id: Vec<String>,
    person_id: Vec<String>,
    event_id: Vec<Option<String>>,
    rule_id: Vec<Option<&'a str>>,
    dedupe_key: Vec<&'a str>,
    template: Vec<&'a str>,
    language: Vec<&'a str>,
    body: Vec<String>,
    mobile: Vec<String>,
    mobile_hash: Vec<String>,
    state: Vec<&'static str>,
    due_at: Vec<DateTime<Utc>>,
    send_at: Vec<DateTime<Utc>>,
    expires_at: Vec<DateTime<Utc>>,
    earliest: Vec<Option<NaiveTime>>,
    priority: Vec<i16>,
    goal: Vec<Option<&'a str>>,
    reply_to: Vec<Option<&'a str>>,
}

impl<'a> NewColumns<'a> {
    fn of(created: &'a [(NewMessage, MessageState, String)], vault: &Vault) -> Self {
        let origins = column(created, |m, _| origin_columns(&m.origin));
        Self {
            id: column(created, |m, _| m.id.to_string()),
            org_id: column(created, |m, _| m.org_id.to_string()),
            person_id: column(created, |m, _| m.person_id.to_string()),
            event_id: origins.iter().map(|(_, event, _)| event.clone()).collect(),
            rule_id: origins.iter().map(|(rule, _, _)| *rule).collect(),
            dedupe_key: column(created, |m, _| m.dedupe_key.as_str()),
            template: column(created, |m, _| m.template.as_str()),
            language: column(created, |m, _| m.language.as_str()),
            body: column(created, |m, _| vault.seal(Field::Body, m.body.as_str())),
            mobile: column(created, |m, _| {
                vault.seal(Field::Mobile, m.mobile.as_e164())
            }),
            mobile_hash: column(created, |m, _| vault.index(&m.mobile).as_str().to_owned()),
            state: column(created, |_, state| state.as_str()),
            due_at: column(created, |m, _| m.due_at),
            send_at: column(created, |m, _| m.send_at),
            expires_at: column(created, |m, _| m.expires_at),
            earliest: column(created, |m, _| m.earliest.map(to_minute)),
            priority: column(created, |m, _| i16::from(m.priority)),
            goal: column(created, |m, _| m.goal.as_deref()),
            reply_to: origins.iter().map(|(_, _, reply)| *reply).collect(),
        }
    }
}

/// One value of each new message, in order.
fn column<'a, T>(
    created: &'a [(NewMessage, MessageState, String)],
    value: impl Fn(&'a NewMessage, MessageState) -> T,
) -> Vec<T> {
    created
        .iter()
        .map(|(m, state, _)| value(m, *state))
        .collect()
}

/// A message's origin as its rule, event and reply columns.
fn origin_columns(origin: &MessageOrigin) -> (Option<&str>, Option<String>, Option<&str>) {
    match origin {
        MessageOrigin::Rule { rule_id, event_id } => {
            (Some(rule_id.as_str()), Some(event_id.to_string()), None)
        }
        MessageOrigin::Nudge => (None, None, None),
        MessageOrigin::Reply { inbound_id } => (None, None, Some(inbound_id.as_str())),
    }
}

/// Record each new message's first state, in order, in one statement.
async fn record_firsts(
    conn: &mut PgConnection,
    firsts: &[(&str, &str, &str)],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if firsts.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = firsts.iter().map(|(id, _, _)| *id).collect();
    let states: Vec<&str> = firsts.iter().map(|(_, state, _)| *state).collect();
    let reasons: Vec<&str> = firsts.iter().map(|(_, _, reason)| *reason).collect();
    sqlx::query(
        "INSERT INTO message_transitions (message_id, from_state, to_state, reason, at) \
         SELECT t.id, NULL, t.to_state, t.reason, $4 \
         FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(id, to_state, reason, n) \
         ORDER BY t.n",
    )
    .bind(&ids)
    .bind(&states)
    .bind(&reasons)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
    (reason, note): (&str, Option<&str>),
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
    record_noted(conn, id, Some(from), to, (reason, note), now).await
}

async fn update_waiting(
    conn: &mut PgConnection,
    vault: &Vault,
    u: &MessageUpdate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "UPDATE messages SET body = $1, language = $2, mobile = $3, due_at = $4, send_at = $5, \
         expires_at = $6, updated_at = $7, mobile_hash = $9 WHERE id = $8 AND state IN {WAITING}"
    ))
    .bind(vault.seal(Field::Body, u.body.as_str()))
    .bind(u.language.as_str())
    .bind(vault.seal(Field::Mobile, u.mobile.as_e164()))
    .bind(u.due_at)
    .bind(u.send_at)
    .bind(u.expires_at)
    .bind(now)
    .bind(u.id.to_string())
    .bind(vault.index(&u.mobile).as_str())
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
    record_noted(conn, id, from, to, (reason, None), at).await
}

/// [`record`] with a sealed note beside the clear reason.
async fn record_noted(
    conn: &mut PgConnection,
    id: MessageId,
    from: Option<MessageState>,
    to: MessageState,
    (reason, note): (&str, Option<&str>),
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO message_transitions (message_id, from_state, to_state, reason, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
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

pub(super) fn message_from_row(row: &PgRow, vault: &Vault) -> Result<Message, StoreError> {
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
        earliest: row.try_get("earliest")?,
        priority: small(row, "priority")?,
        goal: row.try_get("goal")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
