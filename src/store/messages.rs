//! The outbox: planning's reads and its one-transaction writes, the
//! message listing, and cancelling. The trait, what both backends read and
//! write alike, and two bodies for both backends: [`message_helpers!`] (the
//! per-message steps other store areas call too, expanded in each backend's
//! `messages` module) and [`message_store!`] (the trait).
//!
//! Planning may run in several daemons at once (each runs the re-plan
//! sweep). A waiting message is locked before it is moved
//! (`dialect::lock_for_update`), so a claim and a cancel never both win:
//! whichever locks the row first decides, and the other sees the result.
//! On SQLite the write transaction's `BEGIN IMMEDIATE` already serialises
//! writers.
//!
//! What differs wholesale stays in the backend's own `messages` module: bulk
//! inserts (multi-row `VALUES` on SQLite, `unnest` over arrays on
//! PostgreSQL) and the daily-cap look-up, whose plans each database needs
//! steering to differently.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::StoreError;
use crate::domain::{
    Event, EventId, Language, Message, MessageBody, MessageId, MessageOrigin, MessageState,
    NewMessage, OrgId, Person, PersonId, PhoneNumber, Transition,
};
use crate::vault::Vault;

/// What planning decided, applied in one transaction: creations, then
/// cancellations, updates and expiries, in that order.
#[derive(Debug, Default, Clone)]
pub struct PlanChanges {
    /// New messages with their first state (pending, or expired when
    /// planned too late) and the reason recorded for it.
    pub create: Vec<(NewMessage, MessageState, String)>,
    /// Waiting messages to cancel, with the reason.
    pub cancel: Vec<(MessageId, String)>,
    /// Waiting messages whose text or timing changed.
    pub update: Vec<MessageUpdate>,
    /// Waiting messages that can no longer go in time, with the reason.
    pub expire: Vec<(MessageId, String)>,
}

impl PlanChanges {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty()
            && self.cancel.is_empty()
            && self.update.is_empty()
            && self.expire.is_empty()
    }

    /// Every text these changes create or change: the rows `apply_plan`
    /// writes.
    pub fn message_ids(&self) -> impl Iterator<Item = MessageId> + '_ {
        let created = self.create.iter().map(|(m, _, _)| m.id);
        let moved = self.cancel.iter().chain(&self.expire).map(|(id, _)| *id);
        created.chain(moved).chain(self.update.iter().map(|u| u.id))
    }
}

/// New values for a waiting message; only waiting messages are touched.
#[derive(Debug, Clone)]
pub struct MessageUpdate {
    pub id: MessageId,
    pub body: MessageBody,
    pub language: Language,
    pub mobile: PhoneNumber,
    pub due_at: DateTime<Utc>,
    pub send_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Which messages a listing shows.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub person: Option<PersonId>,
    pub state: Option<MessageState>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// Planning's read and write side of the store.
#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Every message rules planned for these events, in any state.
    async fn rule_messages_for_events(
        &self,
        events: &[EventId],
    ) -> Result<Vec<Message>, StoreError>;
    /// Goals already reached by these people.
    async fn goals_reached(
        &self,
        people: &[PersonId],
    ) -> Result<Vec<(PersonId, String)>, StoreError>;
    /// Messages to these numbers (from any organisation) that went, are
    /// going, or wait to go at or after `since`: what a daily cap counts.
    async fn messages_to_numbers(
        &self,
        mobiles: &[PhoneNumber],
        since: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError>;
    async fn apply_plan(&self, changes: &PlanChanges, now: DateTime<Utc>)
    -> Result<(), StoreError>;
    /// Events with their people, across organisations, in id order: the
    /// re-plan sweep walks these. With `changed_since`, only events where
    /// the event or its person changed at or after that time.
    async fn events_with_people(
        &self,
        org: Option<OrgId>,
        changed_since: Option<DateTime<Utc>>,
        after: Option<EventId>,
        limit: u32,
    ) -> Result<Vec<(Person, Event)>, StoreError>;

    async fn messages(
        &self,
        org: OrgId,
        filter: &MessageFilter,
    ) -> Result<Vec<Message>, StoreError>;
    /// These people's conversations with us, in send order, in one read:
    /// the texts each has had or is about to have (sent or on their way,
    /// and answers to them waiting to go), not reminders planned for later
    /// nor texts that never went; each person's `last` texts at most. Those
    /// are left unread, not just unshown: every text read is opened, and a
    /// page of people has hundreds planned and a long history sent.
    async fn conversation_texts(
        &self,
        org: OrgId,
        people: &[PersonId],
        last: u32,
    ) -> Result<Vec<Message>, StoreError>;
    async fn message(&self, org: OrgId, id: MessageId) -> Result<Option<Message>, StoreError>;
    /// The live (not cancelled) message with this dedupe key.
    async fn message_by_key(&self, org: OrgId, key: &str) -> Result<Option<Message>, StoreError>;
    async fn transitions(&self, id: MessageId) -> Result<Vec<Transition>, StoreError>;
    /// Cancel a waiting message; `None` if there is no such message. The
    /// reason is sealed, as staff may have typed it.
    async fn cancel_message(
        &self,
        org: OrgId,
        id: MessageId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError>;
    /// Record that a person reached a goal; `false` if it was known already.
    async fn record_outcome(
        &self,
        org: OrgId,
        person: PersonId,
        goal: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

pub(super) const MESSAGE_COLUMNS: &str = "id, org_id, person_id, event_id, rule_id, dedupe_key, template, language, \
     body, mobile, state, due_at, send_at, expires_at, earliest, priority, goal, created_at, updated_at, reply_to";
/// The states planning may still change.
pub(super) const WAITING: &str = "('pending', 'retrying')";
/// The states a daily cap counts: went, going, or waiting to go.
pub(super) const COUNTED: &str = "('pending', 'retrying', 'claimed', 'sent', 'delivered')";

/// The condition on a text that it is part of a conversation: gone or
/// going (claimed, retrying, sent, delivered, failed), or waiting to go at
/// once as an answer to the person (an automatic reply, or a staff reply:
/// as `origin_from` reads it, a key that no rule's text has).
pub(super) fn in_conversation() -> String {
    use MessageState::*;
    let gone_or_going = [Claimed, Retrying, Sent, Delivered, Failed].map(MessageState::as_str);
    let staff_reply = MessageOrigin::STAFF_REPLY_KEY;
    format!(
        "(state IN ('{}') OR (state = 'pending' AND (reply_to IS NOT NULL \
         OR (rule_id IS NULL AND substr(dedupe_key, 1, {}) = '{staff_reply}'))))",
        gone_or_going.join("', '"),
        staff_reply.len(),
    )
}

/// A message's origin as its rule, event and reply columns.
pub(super) fn origin_columns(
    origin: &MessageOrigin,
) -> (Option<&str>, Option<String>, Option<&str>) {
    match origin {
        MessageOrigin::Rule { rule_id, event_id } => {
            (Some(rule_id.as_str()), Some(event_id.to_string()), None)
        }
        MessageOrigin::Nudge | MessageOrigin::StaffReply => (None, None, None),
        MessageOrigin::Reply { inbound_id } => (None, None, Some(inbound_id.as_str())),
    }
}

/// A message's origin from its rule, event and reply columns, and for a
/// staff reply its dedupe key.
pub(super) fn origin_from(
    rule_id: Option<String>,
    event_id: Option<EventId>,
    reply_to: Option<String>,
    dedupe_key: &str,
) -> MessageOrigin {
    match (rule_id, event_id, reply_to) {
        (Some(rule_id), Some(event_id), _) => MessageOrigin::Rule { rule_id, event_id },
        (_, _, Some(inbound_id)) => MessageOrigin::Reply { inbound_id },
        _ if dedupe_key.starts_with(MessageOrigin::STAFF_REPLY_KEY) => MessageOrigin::StaffReply,
        _ => MessageOrigin::Nudge,
    }
}

/// The person half of an events ⋈ people row, whose columns carry a `p_` prefix.
pub(super) fn joined_person<R>(row: &R, vault: &Vault) -> Result<Person, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    super::people::person_with_prefix(row, "p_", vault)
}

/// The per-message steps both the trait's body and other store areas use
/// (reading a message, moving a waiting one, recording a change of state),
/// written once and expanded in each backend's `messages` module: `$db` is
/// that backend's `sqlx::Database`, and the expansion site must have its
/// `dialect` module in scope.
macro_rules! message_helpers {
    ($db:ty) => {
        pub(super) fn message_from_row(
            row: &<$db as sqlx::Database>::Row,
            vault: &$crate::vault::Vault,
        ) -> Result<$crate::domain::Message, $crate::store::StoreError> {
            use $crate::store::rows::{checked, optional, parsed};
            use $crate::vault::Field;
            use sqlx::Row;
            let dedupe_key: String = row.try_get("dedupe_key")?;
            let origin = $crate::store::messages::origin_from(
                row.try_get("rule_id")?,
                optional(row, "event_id", str::parse::<$crate::domain::EventId>)?,
                row.try_get("reply_to")?,
                &dedupe_key,
            );
            let body = $crate::store::unsealed(row, "body", vault, Field::Body)?;
            Ok($crate::domain::Message {
                id: parsed(row, "id")?,
                org_id: parsed(row, "org_id")?,
                person_id: parsed(row, "person_id")?,
                origin,
                dedupe_key,
                template: checked(row, "template", $crate::domain::TemplateName::parse)?,
                language: checked(row, "language", $crate::domain::Language::parse)?,
                body: $crate::domain::MessageBody::new(body),
                mobile: $crate::store::unsealed_mobile(row, "mobile", vault)?,
                state: parsed(row, "state")?,
                due_at: row.try_get("due_at")?,
                send_at: row.try_get("send_at")?,
                expires_at: row.try_get("expires_at")?,
                earliest: dialect::time_of_day(row, "earliest")?,
                priority: dialect::small(row, "priority")?,
                goal: row.try_get("goal")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        /// An organisation's messages as `filter` asks, after `prefix`
        /// (`EXPLAIN QUERY PLAN ` in the test that checks its index).
        ///
        /// One person's texts come from their own index, not a walk of the
        /// organisation's in send order looking for their dozen: on SQLite
        /// by keeping the organisation's filter off its index
        /// (`dialect::unindexed`), on PostgreSQL by its statistics (which
        /// `UpkeepStore` keeps current; without them it took that walk).
        /// Otherwise each state's texts are a stretch of
        /// `messages_by_org_state` in the order paged: a state reads its
        /// stretch, and every state merges the first page of each. A second
        /// index on send time alone would save that merge of a few hundred
        /// ids but cost every planned text a write in a random place (a
        /// third of planning's speed).
        pub(super) fn list_query<'a>(
            prefix: &str,
            org: $crate::domain::OrgId,
            filter: &$crate::store::MessageFilter,
        ) -> sqlx::QueryBuilder<'a, $db> {
            use $crate::store::messages::MESSAGE_COLUMNS;
            let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                "{prefix}SELECT {MESSAGE_COLUMNS} FROM messages WHERE "
            ));
            match (filter.person, filter.state) {
                (None, None) => push_first_of_each_state(&mut q, org, filter),
                (Some(_), _) => {
                    push_list_filters(&mut q, &dialect::unindexed("org_id"), org, filter.state, filter)
                }
                (None, state) => push_list_filters(&mut q, "org_id", org, state, filter),
            }
            q.push(" ORDER BY send_at, id LIMIT ")
                .push_bind(i64::from(filter.limit));
            q
        }

        /// `id IN` the first page of every state's texts, merged.
        fn push_first_of_each_state(
            q: &mut sqlx::QueryBuilder<'_, $db>,
            org: $crate::domain::OrgId,
            filter: &$crate::store::MessageFilter,
        ) {
            q.push("id IN (SELECT id FROM (");
            for (i, state) in $crate::domain::MessageState::ALL.iter().enumerate() {
                if i > 0 {
                    q.push(" UNION ALL ");
                }
                q.push("SELECT * FROM (SELECT id, send_at FROM messages WHERE ");
                push_list_filters(q, "org_id", org, Some(*state), filter);
                q.push(" ORDER BY send_at, id LIMIT ")
                    .push_bind(i64::from(filter.limit))
                    .push(format!(") AS state{i}"));
            }
            q.push(") AS firsts ORDER BY send_at, id LIMIT ")
                .push_bind(i64::from(filter.limit))
                .push(")");
        }

        /// The list's conditions, with `state` in place of the filter's own
        /// (each branch of the merge names one).
        fn push_list_filters(
            q: &mut sqlx::QueryBuilder<'_, $db>,
            org_column: &str,
            org: $crate::domain::OrgId,
            state: Option<$crate::domain::MessageState>,
            filter: &$crate::store::MessageFilter,
        ) {
            q.push(format!("{org_column} = ")).push_bind(org.to_string());
            if let Some(person) = filter.person {
                q.push(" AND person_id = ").push_bind(person.to_string());
            }
            if let Some(state) = state {
                q.push(" AND state = ").push_bind(state.as_str());
            }
            if let Some(from) = filter.from {
                q.push(" AND send_at >= ").push_bind(from);
            }
            if let Some(to) = filter.to {
                q.push(" AND send_at < ").push_bind(to);
            }
        }

        pub(super) async fn fetch_messages(
            mut q: sqlx::QueryBuilder<'_, $db>,
            pool: &sqlx::Pool<$db>,
            vault: &$crate::vault::Vault,
        ) -> Result<Vec<$crate::domain::Message>, $crate::store::StoreError> {
            q.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| message_from_row(row, vault))
                .collect()
        }

        /// Move a waiting message to `to`; a message no longer waiting (claimed,
        /// sent, already cancelled) is left alone, since it is no longer planning's.
        pub(super) async fn move_waiting(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: $crate::domain::MessageId,
            to: $crate::domain::MessageState,
            (reason, note): (&str, Option<&str>),
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::store::StoreError> {
            use $crate::store::messages::WAITING;
            // The lock makes the state read here the one the update changes: a
            // dispatcher claiming the row meanwhile is waited for, then seen.
            let from: Option<String> = sqlx::query_scalar(&format!(
                "SELECT state FROM messages WHERE id = $1 AND state IN {WAITING}{}",
                dialect::lock_for_update()
            ))
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
            let Some(from) = from else { return Ok(()) };
            let from = from
                .parse::<$crate::domain::MessageState>()
                .map_err(|e| $crate::store::StoreError::Corrupt(format!("state: {e}")))?;
            transition(conn, &[&id.to_string()], (from, to), now, |_| {}).await?;
            record_noted(conn, id, Some(from), to, (reason, note), now).await
        }

        /// Move every message in `ids` from `from` to `to`, setting what `extra`
        /// pushes as well (e.g. a claim's lease): the life cycle is asked first,
        /// then each row changes only if it is still in `from`
        /// (`UPDATE … WHERE state = <from>`). A row another writer moved first is
        /// a [`LostRace`]($crate::store::StoreError::LostRace), never skipped in
        /// silence; the caller's transaction is then dropped whole.
        pub(super) async fn transition(
            conn: &mut <$db as sqlx::Database>::Connection,
            ids: &[&str],
            (from, to): ($crate::domain::MessageState, $crate::domain::MessageState),
            now: chrono::DateTime<chrono::Utc>,
            extra: impl Fn(&mut sqlx::QueryBuilder<'_, $db>),
        ) -> Result<(), $crate::store::StoreError> {
            from.check_transition(to)?;
            for chunk in ids.chunks(dialect::IN_LIST_MAX) {
                let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE messages SET state = ");
                q.push_bind(to.as_str()).push(", updated_at = ").push_bind(now);
                extra(&mut q);
                // The ids lead: an indexed state would walk every message
                // in it (see `dialect::unindexed_state`).
                let state = dialect::unindexed_state();
                q.push(format!(" WHERE {state} = ")).push_bind(from.as_str()).push(" AND id");
                dialect::push_in(&mut q, chunk);
                let changed = q.build().execute(&mut *conn).await?.rows_affected();
                if changed != chunk.len() as u64 {
                    let lost = chunk.len() as u64 - changed;
                    let of = ids.len();
                    return Err($crate::store::StoreError::LostRace { from, to, lost, of });
                }
            }
            Ok(())
        }

        pub(super) async fn update_waiting(
            conn: &mut <$db as sqlx::Database>::Connection,
            vault: &$crate::vault::Vault,
            u: &$crate::store::MessageUpdate,
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::store::StoreError> {
            use $crate::store::messages::WAITING;
            use $crate::vault::Field;
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
            conn: &mut <$db as sqlx::Database>::Connection,
            id: $crate::domain::MessageId,
            from: Option<$crate::domain::MessageState>,
            to: $crate::domain::MessageState,
            reason: &str,
            at: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::store::StoreError> {
            record_noted(conn, id, from, to, (reason, None), at).await
        }

        /// [`record`] with a sealed note beside the clear reason.
        async fn record_noted(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: $crate::domain::MessageId,
            from: Option<$crate::domain::MessageState>,
            to: $crate::domain::MessageState,
            (reason, note): (&str, Option<&str>),
            at: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::store::StoreError> {
            sqlx::query(
                "INSERT INTO message_transitions (message_id, from_state, to_state, reason, note, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id.to_string())
            .bind(from.map($crate::domain::MessageState::as_str))
            .bind(to.as_str())
            .bind(reason)
            .bind(note)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    };
}
pub(super) use message_helpers;

/// The one body of [`MessageStore`], instantiated per backend (see the
/// `store` module header): `$store` is the store type, `$db` its
/// `sqlx::Database`. The expansion site must have a `dialect` module, a
/// `messages` module that expanded [`message_helpers!`] and holds the
/// backend's `insert_messages` and `messages_to_hashes`, and the backend's
/// `EVENT_COLUMNS` and `event_from_row`.
macro_rules! message_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::MessageStore for $store {
            async fn rule_messages_for_events(
                &self,
                events: &[$crate::domain::EventId],
            ) -> Result<Vec<$crate::domain::Message>, $crate::store::StoreError> {
                use $crate::store::messages::MESSAGE_COLUMNS;
                let mut out = Vec::new();
                for chunk in events.chunks(dialect::LIST_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE event_id IN ("
                    ));
                    dialect::push_list(&mut q, chunk.iter().map(ToString::to_string).collect());
                    out.extend(messages::fetch_messages(q, &self.pool, &self.vault).await?);
                }
                Ok(out)
            }

            async fn goals_reached(
                &self,
                people: &[$crate::domain::PersonId],
            ) -> Result<Vec<($crate::domain::PersonId, String)>, $crate::store::StoreError> {
                use sqlx::Row;
                let mut out = Vec::new();
                for chunk in people.chunks(dialect::LIST_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT person_id, goal FROM outcomes WHERE person_id IN (",
                    );
                    dialect::push_list(&mut q, chunk.iter().map(ToString::to_string).collect());
                    for row in q.build().fetch_all(&self.pool).await? {
                        let person = $crate::store::rows::parsed(&row, "person_id")?;
                        out.push((person, row.try_get("goal")?));
                    }
                }
                Ok(out)
            }

            async fn messages_to_numbers(
                &self,
                mobiles: &[$crate::domain::PhoneNumber],
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::domain::Message>, $crate::store::StoreError> {
                let hashes: Vec<String> = mobiles
                    .iter()
                    .map(|m| self.vault.index(m).as_str().to_owned())
                    .collect();
                messages::messages_to_hashes(&self.pool, &self.vault, &hashes, since).await
            }

            async fn apply_plan(
                &self,
                changes: &$crate::store::PlanChanges,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::domain::MessageState;
                if changes.is_empty() {
                    return Ok(());
                }
                let mut tx = self.write().await?;
                messages::insert_messages(&mut tx, &self.vault, &changes.create, now).await?;
                for (id, reason) in &changes.cancel {
                    let recorded = (reason.as_str(), None);
                    messages::move_waiting(&mut tx, *id, MessageState::Cancelled, recorded, now)
                        .await?;
                }
                // Updates before expiries: a text planning re-rendered and fitting
                // then expired keeps its new text.
                for update in &changes.update {
                    messages::update_waiting(&mut tx, &self.vault, update, now).await?;
                }
                for (id, reason) in &changes.expire {
                    let recorded = (reason.as_str(), None);
                    messages::move_waiting(&mut tx, *id, MessageState::Expired, recorded, now)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn events_with_people(
                &self,
                org: Option<$crate::domain::OrgId>,
                changed_since: Option<chrono::DateTime<chrono::Utc>>,
                after: Option<$crate::domain::EventId>,
                limit: u32,
            ) -> Result<
                Vec<($crate::domain::Person, $crate::domain::Event)>,
                $crate::store::StoreError,
            > {
                let event_columns: String = EVENT_COLUMNS
                    .split(", ")
                    .map(|c| format!("e.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {event_columns}, p.id AS p_id, p.org_id AS p_org_id, p.external_ref AS p_external_ref, \
                     p.first_name AS p_first_name, p.mobile AS p_mobile, p.language AS p_language, \
                     p.created_at AS p_created_at, p.updated_at AS p_updated_at \
                     FROM events e JOIN people p ON p.id = e.person_id WHERE e.id > "
                ));
                q.push_bind(after.map(|id| id.to_string()).unwrap_or_default());
                // A filter not asked for is left out of the SQL rather than
                // tested for NULL in it: PostgreSQL would need each NULL test
                // cast to its column's type, and each shape gets its own plan.
                // The walk goes in event-id order, a page at a time: on
                // SQLite the organisation's index would sort all its events
                // for every page (see `dialect::unindexed`).
                if let Some(org) = org {
                    let column = dialect::unindexed("e.org_id");
                    q.push(format!(" AND {column} = ")).push_bind(org.to_string());
                }
                if let Some(since) = changed_since {
                    q.push(" AND (e.updated_at >= ").push_bind(since);
                    q.push(" OR p.updated_at >= ").push_bind(since).push(")");
                }
                q.push(" ORDER BY e.id LIMIT ").push_bind(i64::from(limit));
                let rows = q.build().fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|row| {
                        let person = $crate::store::messages::joined_person(row, &self.vault)?;
                        Ok((person, event_from_row(row)?))
                    })
                    .collect()
            }

            async fn messages(
                &self,
                org: $crate::domain::OrgId,
                filter: &$crate::store::MessageFilter,
            ) -> Result<Vec<$crate::domain::Message>, $crate::store::StoreError> {
                let q = messages::list_query("", org, filter);
                messages::fetch_messages(q, &self.pool, &self.vault).await
            }

            async fn conversation_texts(
                &self,
                org: $crate::domain::OrgId,
                people: &[$crate::domain::PersonId],
                last: u32,
            ) -> Result<Vec<$crate::domain::Message>, $crate::store::StoreError> {
                use $crate::store::messages::{MESSAGE_COLUMNS, in_conversation};
                let mut out = Vec::new();
                for chunk in people.chunks(dialect::LIST_CHUNK) {
                    // The people's own index, not the organisation's (see
                    // `dialect::unindexed`); each one's latest by number.
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS}, ROW_NUMBER() \
                         OVER (PARTITION BY person_id ORDER BY send_at DESC, id DESC) AS latest \
                         FROM messages WHERE {} AND {} = ",
                        in_conversation(),
                        dialect::unindexed("org_id"),
                    ));
                    q.push_bind(org.to_string()).push(" AND person_id IN (");
                    dialect::push_list(&mut q, chunk.iter().map(ToString::to_string).collect());
                    q.push(") AS talk WHERE latest <= ").push_bind(i64::from(last));
                    out.extend(messages::fetch_messages(q, &self.pool, &self.vault).await?);
                }
                // Each chunk's order is lost in the one list.
                out.sort_by_key(|m| (m.send_at, m.id));
                Ok(out)
            }

            async fn message(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::MessageId,
            ) -> Result<Option<$crate::domain::Message>, $crate::store::StoreError> {
                use $crate::store::messages::MESSAGE_COLUMNS;
                let sql =
                    format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND id = $2");
                let row = sqlx::query(&sql)
                    .bind(org.to_string())
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| messages::message_from_row(&row, &self.vault))
                    .transpose()
            }

            async fn message_by_key(
                &self,
                org: $crate::domain::OrgId,
                key: &str,
            ) -> Result<Option<$crate::domain::Message>, $crate::store::StoreError> {
                use $crate::store::messages::MESSAGE_COLUMNS;
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE dedupe_key = $1 AND state <> 'cancelled' AND org_id = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(key)
                    .bind(org.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| messages::message_from_row(&row, &self.vault))
                    .transpose()
            }

            async fn transitions(
                &self,
                id: $crate::domain::MessageId,
            ) -> Result<Vec<$crate::domain::Transition>, $crate::store::StoreError> {
                use $crate::store::rows::{optional, parsed};
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT from_state, to_state, reason, note, at FROM message_transitions \
                     WHERE message_id = $1 ORDER BY id",
                )
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
                use $crate::domain::MessageState;
                rows.iter()
                    .map(|row| {
                        Ok($crate::domain::Transition {
                            from: optional(row, "from_state", str::parse::<MessageState>)?,
                            to: parsed(row, "to_state")?,
                            reason: $crate::store::transition_reason(row, &self.vault)?,
                            at: row.try_get("at")?,
                        })
                    })
                    .collect()
            }

            async fn cancel_message(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::MessageId,
                reason: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::Message>, $crate::store::StoreError> {
                use $crate::domain::MessageState;
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
                let note = self.vault.seal($crate::vault::Field::Note, reason);
                let recorded = ($crate::store::SEALED_REASON, Some(note.as_str()));
                messages::move_waiting(&mut tx, id, MessageState::Cancelled, recorded, now).await?;
                tx.commit().await?;
                $crate::store::MessageStore::message(self, org, id).await
            }

            async fn record_outcome(
                &self,
                org: $crate::domain::OrgId,
                person: $crate::domain::PersonId,
                goal: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let done = sqlx::query(
                    "INSERT INTO outcomes (org_id, person_id, goal, recorded_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
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
    };
}
pub(super) use message_store;
