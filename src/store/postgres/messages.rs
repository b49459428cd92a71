//! The outbox's PostgreSQL-only parts (see `store::messages` for what both
//! backends share, expanded here by `message_helpers!`): inserts of many
//! rows as one statement over arrays (`unnest`), and the daily-cap look-up.

use std::collections::HashSet;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use sqlx::Postgres;
use sqlx::postgres::{PgConnection, PgPool};

use super::dialect;
use crate::domain::{Message, MessageId, MessageState, NewMessage};
use crate::store::StoreError;
pub(super) use crate::store::messages::MESSAGE_COLUMNS;
use crate::store::messages::{COUNTED, origin_columns};
use crate::vault::{Field, Vault};

/// New messages written per statement: one array per column, so no limit
/// on bound values applies, only the size of one request.
const INSERT_CHUNK: usize = 5000;

crate::store::messages::message_helpers!(Postgres);

/// Messages to these numbers (by hash) that a daily cap counts, at or
/// after `since`.
pub(super) async fn messages_to_hashes(
    pool: &PgPool,
    vault: &Vault,
    hashes: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<Message>, StoreError> {
    // Number by number through the number's index, the other tests
    // outside an `OFFSET 0` fence: without statistics PostgreSQL joins
    // the state index in, reading every live text once per number.
    let sql = format!(
        "SELECT m.* FROM (SELECT DISTINCT unnest($2::text[]) AS wanted) n \
         CROSS JOIN LATERAL (SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE mobile_hash = n.wanted AND send_at >= $1 OFFSET 0) m \
         WHERE m.reply_to IS NULL AND m.state IN {COUNTED}"
    );
    let rows = sqlx::query(&sql)
        .bind(since)
        .bind(hashes)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| message_from_row(row, vault))
        .collect()
}

/// Insert new messages, each with its first state change, a few thousand
/// per pair of statements.
pub(super) async fn insert_messages(
    conn: &mut PgConnection,
    vault: &Vault,
    created: &[(NewMessage, MessageState, String)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in created.chunks(INSERT_CHUNK) {
        insert_chunk(conn, vault, chunk, now).await?;
    }
    Ok(())
}

/// New messages, each with its first state change, in two statements over
/// arrays: a statement per row costs a round trip to the server each, which
/// was nearly all of planning's time.
async fn insert_chunk(
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
