//! Replies, suppressions, the attention list and paused numbers: the trait,
//! its row readers, and its one body for both backends ([`inbound_store!`]).
//!
//! Replays are answered by unique keys, not by reading first: an inbound
//! text is inserted `ON CONFLICT DO NOTHING` on its provider id, and an
//! attention item on its open-item index, so two daemons receiving the same
//! webhook store it once.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::rows::{optional, parsed};
use super::{StoreError, note_from, unsealed};
use crate::domain::{
    AttentionItem, Inbound, MessageId, MobileHash, NewAttention, OrgId, Person, PersonId,
    PhoneNumber, Suppression,
};
use crate::vault::{Field, Vault};

/// Replies, the suppression list and the attention list.
#[async_trait]
pub trait InboundStore: Send + Sync + 'static {
    /// Store an inbound text once: `false` when this provider id was seen
    /// before (a replayed webhook).
    async fn record_inbound(
        &self,
        inbound: &Inbound,
        people: &[Person],
    ) -> Result<bool, StoreError>;
    /// Everyone with this number, in every organisation, most recent first.
    async fn people_by_mobile(&self, mobile: &PhoneNumber) -> Result<Vec<Person>, StoreError>;
    /// Remove a number from the suppression list (audited); `false` if it
    /// was not on it.
    async fn unsuppress(
        &self,
        mobile: &PhoneNumber,
        source: &str,
        reason: &str,
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn suppression(&self, mobile: &PhoneNumber) -> Result<Option<Suppression>, StoreError>;
    /// After an opt-in: texts to this number that were stopped by the
    /// opt-out and are still worth sending wait to be sent again.
    async fn revive_suppressed(
        &self,
        mobile: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Which of these numbers are on the suppression list.
    async fn suppressed_among(
        &self,
        mobiles: &[PhoneNumber],
    ) -> Result<HashSet<PhoneNumber>, StoreError>;
    /// Is this number on the suppression list?
    async fn is_suppressed(&self, mobile: &PhoneNumber) -> Result<bool, StoreError> {
        let found = self.suppressed_among(std::slice::from_ref(mobile)).await?;
        Ok(!found.is_empty())
    }
    /// Every suppression, or those of one organisation's people.
    async fn suppressions(&self, org: Option<OrgId>) -> Result<Vec<Suppression>, StoreError>;
    /// Raise an item unless the same one is open already.
    async fn raise_attention(
        &self,
        item: &NewAttention,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// People with a text sent at or before `cutoff` and none delivered
    /// since: their number may be dead.
    async fn silent_people(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<(OrgId, PersonId)>, StoreError>;
    /// The organisation's attention items as `query` asks, a page at a time.
    async fn attention(
        &self,
        org: OrgId,
        query: &AttentionQuery,
    ) -> Result<Vec<AttentionItem>, StoreError>;
    /// One of the organisation's items, open or resolved.
    async fn attention_item(
        &self,
        org: OrgId,
        id: &str,
    ) -> Result<Option<AttentionItem>, StoreError>;
    /// How many of the organisation's items are open.
    async fn open_attention_count(&self, org: OrgId) -> Result<u64, StoreError>;
    /// Resolve an open item with a note (sealed); `None` if there is no
    /// such item, `Some(false)` if it was resolved already.
    async fn resolve_attention(
        &self,
        org: OrgId,
        id: &str,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError>;
    /// Since when texts to this person are paused (a wrong number or a
    /// permanent failure), until staff change the number.
    async fn number_paused_since(
        &self,
        person: PersonId,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// What these people texted, each reply with whose it is (a reply
    /// from a number two people share is both's), oldest first.
    async fn inbound_for_people(
        &self,
        org: OrgId,
        people: &[PersonId],
    ) -> Result<Vec<(PersonId, Inbound)>, StoreError>;
    /// What one person texted, oldest first.
    async fn inbound_for_person(
        &self,
        org: OrgId,
        person: PersonId,
    ) -> Result<Vec<Inbound>, StoreError> {
        let theirs = self.inbound_for_people(org, &[person]).await?;
        Ok(theirs.into_iter().map(|(_, inbound)| inbound).collect())
    }
    /// Was a reply from `template` sent (or queued) to this number since `since`?
    async fn replied_since(
        &self,
        mobile: &PhoneNumber,
        template: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Which attention items to read: at scale an organisation's list runs to
/// thousands, so it is read a page at a time, by when each was raised.
#[derive(Debug, Clone)]
pub struct AttentionQuery {
    /// One person's items only.
    pub person: Option<PersonId>,
    pub open_only: bool,
    pub newest_first: bool,
    /// The page goes on from this item's place, in the order asked for.
    pub after: Option<String>,
    /// `None`: every item that matches (one person's few).
    pub limit: Option<u32>,
}

impl AttentionQuery {
    /// The first `limit` open items, oldest first.
    pub fn open(limit: u32) -> Self {
        Self {
            person: None,
            open_only: true,
            newest_first: false,
            after: None,
            limit: Some(limit),
        }
    }

    /// Every item about one person, open or resolved, oldest first.
    pub fn of_person(person: PersonId) -> Self {
        Self {
            person: Some(person),
            open_only: false,
            newest_first: false,
            after: None,
            limit: None,
        }
    }
}

/// The attention items `query` asks for, `prefix` before the `SELECT`
/// (`EXPLAIN QUERY PLAN`, for the plan tests). With a person, the walk is
/// their own index: `org_column` is `org_id` as the backend's
/// `dialect::unindexed` writes it.
pub(super) fn attention_query<'a, DB>(
    prefix: &str,
    org: OrgId,
    query: &'a AttentionQuery,
    org_column: &str,
) -> sqlx::QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    DB::Arguments<'a>: Default,
    String: sqlx::Encode<'a, DB> + Type<DB>,
    i64: sqlx::Encode<'a, DB> + Type<DB>,
{
    let mut q = sqlx::QueryBuilder::new(format!(
        "{prefix}SELECT {ATTENTION_COLUMNS} FROM attention WHERE "
    ));
    match query.person {
        Some(person) => {
            q.push(format!("{org_column} = "))
                .push_bind(org.to_string());
            q.push(" AND person_id = ").push_bind(person.to_string());
        }
        None => {
            q.push("org_id = ").push_bind(org.to_string());
        }
    }
    if query.open_only {
        // Word for word the condition of `attention_open_by_org`.
        q.push(" AND resolved_at IS NULL");
    }
    let (beyond, order) = if query.newest_first {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = &query.after {
        q.push(format!(
            " AND (created_at, id) {beyond} (SELECT created_at, id FROM attention WHERE id = "
        ));
        q.push_bind(after.clone()).push(" AND org_id = ");
        q.push_bind(org.to_string()).push(")");
    }
    q.push(format!(" ORDER BY created_at {order}, id {order}"));
    if let Some(limit) = query.limit {
        q.push(" LIMIT ").push_bind(i64::from(limit));
    }
    q
}

/// The columns [`suppression_from_row`] reads; `people` is added by the query.
pub(super) const SUPPRESSION_COLUMNS: &str = "mobile_hash, source, reason, created_at";
pub(super) const ATTENTION_COLUMNS: &str = "id, org_id, person_id, kind, detail, inbound_id, \
     message_id, created_at, resolved_at, resolution";

/// A suppression, with `people` a comma-separated list of person ids (or
/// NULL where the list was not asked for by an organisation).
pub(super) fn suppression_from_row<R>(row: &R, vault: &Vault) -> Result<Suppression, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let people: Option<String> = row.try_get("people")?;
    let people = people
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|e| StoreError::Corrupt(format!("people: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Suppression {
        mobile_hash: MobileHash::from_trusted(row.try_get("mobile_hash")?),
        people,
        source: row.try_get("source")?,
        reason: note_from(
            vault,
            &row.try_get::<String, _>("reason")?,
            "suppressions",
            "reason",
        )?,
        since: row.try_get("created_at")?,
    })
}

pub(super) fn inbound_from_row<R>(row: &R, vault: &Vault) -> Result<Inbound, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    Ok(Inbound {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        provider_message_id: row.try_get("provider_message_id")?,
        from: unsealed(row, "from_number", vault, Field::Mobile)?,
        body: unsealed(row, "body", vault, Field::Body)?,
        intent: row.try_get("intent")?,
        received_at: row.try_get("received_at")?,
    })
}

pub(super) fn attention_from_row<R>(row: &R, vault: &Vault) -> Result<AttentionItem, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let resolution: Option<String> = row.try_get("resolution")?;
    Ok(AttentionItem {
        id: row.try_get("id")?,
        org_id: parsed(row, "org_id")?,
        person_id: parsed(row, "person_id")?,
        kind: row.try_get("kind")?,
        detail: row.try_get("detail")?,
        inbound_id: row.try_get("inbound_id")?,
        message_id: optional(row, "message_id", str::parse::<MessageId>)?,
        created_at: row.try_get("created_at")?,
        resolved_at: row.try_get("resolved_at")?,
        resolution: resolution
            .map(|r| note_from(vault, &r, "attention", "resolution"))
            .transpose()?,
    })
}

/// The one body of [`InboundStore`], instantiated per backend (see the
/// `store` module header): `$store` is the store type, `$db` its
/// `sqlx::Database`. The expansion site must have a `dialect` module and
/// the backend's `PERSON_COLUMNS` and `person_from_row` in scope. Besides
/// the trait it defines `log_suppression` there, which the backend's
/// dispatch code shares.
macro_rules! inbound_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::InboundStore for $store {
            async fn record_inbound(
                &self,
                inbound: &$crate::domain::Inbound,
                people: &[$crate::domain::Person],
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let added = sqlx::query(
                    "INSERT INTO inbound_messages (id, provider, provider_message_id, from_number, to_number, body, intent, received_at, from_hash) \
                     VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8) ON CONFLICT (provider, provider_message_id) DO NOTHING",
                )
                .bind(&inbound.id)
                .bind(&inbound.provider)
                .bind(&inbound.provider_message_id)
                .bind(self.vault.seal($crate::vault::Field::Mobile, &inbound.from))
                .bind(self.vault.seal($crate::vault::Field::Body, &inbound.body))
                .bind(&inbound.intent)
                .bind(inbound.received_at)
                .bind(self.vault.index_raw(&inbound.from).as_str())
                .execute(&mut *tx)
                .await?;
                if added.rows_affected() == 0 {
                    return Ok(false);
                }
                for person in people {
                    sqlx::query(
                        "INSERT INTO inbound_people (inbound_id, person_id, org_id) VALUES ($1, $2, $3)",
                    )
                    .bind(&inbound.id)
                    .bind(person.id.to_string())
                    .bind(person.org_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn people_by_mobile(
                &self,
                mobile: &$crate::domain::PhoneNumber,
            ) -> Result<Vec<$crate::domain::Person>, $crate::store::StoreError> {
                let sql = format!(
                    "SELECT {PERSON_COLUMNS} FROM people WHERE mobile_hash = $1 ORDER BY updated_at DESC, id DESC"
                );
                let rows = sqlx::query(&sql)
                    .bind(self.vault.index(mobile).as_str())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| person_from_row(row, &self.vault))
                    .collect()
            }

            async fn unsuppress(
                &self,
                mobile: &$crate::domain::PhoneNumber,
                source: &str,
                reason: &str,
                actor: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let hash = self.vault.index(mobile);
                let removed = sqlx::query("DELETE FROM suppressions WHERE mobile_hash = $1")
                    .bind(hash.as_str())
                    .execute(&mut *tx)
                    .await?;
                let removed = removed.rows_affected() > 0;
                if removed {
                    let change = $crate::store::SuppressionChange {
                        action: "removed",
                        source,
                        reason,
                        actor,
                    };
                    log_suppression(&mut tx, &self.vault, &hash, &change, now).await?;
                }
                tx.commit().await?;
                Ok(removed)
            }

            async fn suppression(
                &self,
                mobile: &$crate::domain::PhoneNumber,
            ) -> Result<Option<$crate::domain::Suppression>, $crate::store::StoreError> {
                use $crate::store::inbound::{SUPPRESSION_COLUMNS, suppression_from_row};
                let sql = format!(
                    "SELECT {SUPPRESSION_COLUMNS}, CAST(NULL AS TEXT) AS people \
                     FROM suppressions WHERE mobile_hash = $1"
                );
                let row = sqlx::query(&sql)
                    .bind(self.vault.index(mobile).as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| suppression_from_row(&r, &self.vault))
                    .transpose()
            }

            async fn revive_suppressed(
                &self,
                mobile: &$crate::domain::PhoneNumber,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                use $crate::domain::{MessageId, MessageState};
                let mut tx = self.write().await?;
                let sql = format!(
                    "SELECT id FROM messages WHERE mobile_hash = $1 AND state = 'suppressed' \
                     AND reply_to IS NULL AND expires_at > $2 ORDER BY id{}",
                    dialect::lock_for_update()
                );
                let ids: Vec<String> = sqlx::query_scalar(&sql)
                    .bind(self.vault.index(mobile).as_str())
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let raw: Vec<&str> = ids.iter().map(String::as_str).collect();
                let change = (MessageState::Suppressed, MessageState::Pending);
                messages::transition(&mut tx, &raw, change, now, |_| {}).await?;
                let reason = "the person opted back in (START)";
                let moves = ids
                    .iter()
                    .map(|raw| {
                        let id: MessageId = raw.parse().map_err(|e| {
                            $crate::store::StoreError::Corrupt(format!("id: {e}"))
                        })?;
                        Ok((id, MessageState::Suppressed, reason))
                    })
                    .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                dialect::record_many(&mut tx, &moves, MessageState::Pending, now).await?;
                tx.commit().await?;
                Ok(ids.len() as u64)
            }

            async fn suppressed_among(
                &self,
                mobiles: &[$crate::domain::PhoneNumber],
            ) -> Result<
                std::collections::HashSet<$crate::domain::PhoneNumber>,
                $crate::store::StoreError,
            > {
                let by_hash = $crate::store::by_hash(&self.vault, mobiles);
                let hashes: Vec<&str> = by_hash.keys().map(String::as_str).collect();
                let found = self.suppressed_hashes(&hashes).await?;
                Ok(found.iter().filter_map(|h| by_hash.get(h)).cloned().collect())
            }

            async fn suppressions(
                &self,
                org: Option<$crate::domain::OrgId>,
            ) -> Result<Vec<$crate::domain::Suppression>, $crate::store::StoreError> {
                use $crate::store::inbound::{SUPPRESSION_COLUMNS, suppression_from_row};
                let rows = match org {
                    None => {
                        let sql = format!(
                            "SELECT {SUPPRESSION_COLUMNS}, CAST(NULL AS TEXT) AS people \
                             FROM suppressions ORDER BY created_at"
                        );
                        sqlx::query(&sql).fetch_all(&self.pool).await?
                    }
                    Some(org) => {
                        // `string_agg … ORDER BY` is PostgreSQL's and, since
                        // 3.44, SQLite's: one form, ids in one order.
                        sqlx::query(
                            "SELECT s.mobile_hash, s.source, s.reason, s.created_at, \
                             string_agg(p.id, ',' ORDER BY p.id) AS people \
                             FROM suppressions s JOIN people p ON p.mobile_hash = s.mobile_hash AND p.org_id = $1 \
                             GROUP BY s.mobile_hash ORDER BY s.created_at",
                        )
                        .bind(org.to_string())
                        .fetch_all(&self.pool)
                        .await?
                    }
                };
                rows.iter()
                    .map(|r| suppression_from_row(r, &self.vault))
                    .collect()
            }

            async fn raise_attention(
                &self,
                item: &$crate::domain::NewAttention,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                sqlx::query(
                    "INSERT INTO attention (id, org_id, person_id, kind, detail, inbound_id, message_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .bind($crate::domain::MessageId::new().to_string())
                .bind(item.org_id.to_string())
                .bind(item.person_id.to_string())
                .bind(item.kind)
                .bind(&item.detail)
                .bind(item.inbound_id.as_deref())
                .bind(item.message_id.map(|m| m.to_string()))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn silent_people(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
            ) -> Result<
                Vec<($crate::domain::OrgId, $crate::domain::PersonId)>,
                $crate::store::StoreError,
            > {
                use $crate::store::rows::parsed;
                let rows = sqlx::query(
                    "SELECT DISTINCT m.org_id, m.person_id FROM messages m \
                     WHERE m.state IN ('sent', 'failed') AND m.sent_at <= $1 AND m.reply_to IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM messages d WHERE d.person_id = m.person_id \
                                     AND d.state = 'delivered' AND d.sent_at >= m.sent_at)",
                )
                .bind(cutoff)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((parsed(r, "org_id")?, parsed(r, "person_id")?)))
                    .collect()
            }

            async fn attention(
                &self,
                org: $crate::domain::OrgId,
                query: &$crate::store::AttentionQuery,
            ) -> Result<Vec<$crate::domain::AttentionItem>, $crate::store::StoreError> {
                use $crate::store::inbound::{attention_from_row, attention_query};
                let org_column = dialect::unindexed("org_id");
                let mut q = attention_query::<$db>("", org, query, &org_column);
                q.build()
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| attention_from_row(r, &self.vault))
                    .collect()
            }

            async fn attention_item(
                &self,
                org: $crate::domain::OrgId,
                id: &str,
            ) -> Result<Option<$crate::domain::AttentionItem>, $crate::store::StoreError> {
                use $crate::store::inbound::{ATTENTION_COLUMNS, attention_from_row};
                let sql = format!("SELECT {ATTENTION_COLUMNS} FROM attention WHERE id = $1 AND org_id = $2");
                sqlx::query(&sql)
                    .bind(id)
                    .bind(org.to_string())
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|r| attention_from_row(&r, &self.vault))
                    .transpose()
            }

            async fn open_attention_count(
                &self,
                org: $crate::domain::OrgId,
            ) -> Result<u64, $crate::store::StoreError> {
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM attention WHERE org_id = $1 AND resolved_at IS NULL",
                )
                .bind(org.to_string())
                .fetch_one(&self.pool)
                .await?;
                Ok(u64::try_from(open).unwrap_or(0))
            }

            async fn resolve_attention(
                &self,
                org: $crate::domain::OrgId,
                id: &str,
                by: &str,
                note: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<bool>, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let sql = format!(
                    "SELECT resolved_at FROM attention WHERE org_id = $1 AND id = $2{}",
                    dialect::lock_for_update()
                );
                let open: Option<Option<chrono::DateTime<chrono::Utc>>> =
                    sqlx::query_scalar(&sql)
                        .bind(org.to_string())
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(resolved_at) = open else {
                    return Ok(None);
                };
                if resolved_at.is_some() {
                    return Ok(Some(false));
                }
                sqlx::query(
                    "UPDATE attention SET resolved_at = $1, resolved_by = $2, resolution = $3 WHERE id = $4",
                )
                .bind(now)
                .bind(by)
                .bind(self.vault.seal($crate::vault::Field::Note, note))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(true))
            }

            async fn number_paused_since(
                &self,
                person: $crate::domain::PersonId,
            ) -> Result<Option<chrono::DateTime<chrono::Utc>>, $crate::store::StoreError> {
                let since: Option<Option<chrono::DateTime<chrono::Utc>>> =
                    sqlx::query_scalar("SELECT mobile_invalid_since FROM people WHERE id = $1")
                        .bind(person.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(since.flatten())
            }

            async fn inbound_for_people(
                &self,
                org: $crate::domain::OrgId,
                people: &[$crate::domain::PersonId],
            ) -> Result<Vec<($crate::domain::PersonId, $crate::domain::Inbound)>, $crate::store::StoreError>
            {
                use $crate::store::inbound::inbound_from_row;
                use $crate::store::rows::parsed;
                let mut out = Vec::new();
                for chunk in people.chunks(dialect::LIST_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT ip.person_id, i.id, i.provider, i.provider_message_id, i.from_number, \
                         i.body, i.intent, i.received_at \
                         FROM inbound_messages i JOIN inbound_people ip ON ip.inbound_id = i.id \
                         WHERE ip.org_id = ",
                    );
                    q.push_bind(org.to_string()).push(" AND ip.person_id IN (");
                    dialect::push_list(&mut q, chunk.iter().map(ToString::to_string).collect());
                    q.push(" ORDER BY i.received_at, i.id");
                    for row in q.build().fetch_all(&self.pool).await? {
                        out.push((parsed(&row, "person_id")?, inbound_from_row(&row, &self.vault)?));
                    }
                }
                // Each chunk came in order; the chunks did not.
                out.sort_by(|(_, a), (_, b)| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
                Ok(out)
            }

            async fn replied_since(
                &self,
                mobile: &$crate::domain::PhoneNumber,
                template: &str,
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let found: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM messages WHERE mobile_hash = $1 AND template = $2 \
                     AND reply_to IS NOT NULL AND created_at >= $3 \
                     AND state NOT IN ('cancelled', 'failed', 'expired'))",
                )
                .bind(self.vault.index(mobile).as_str())
                .bind(template)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                Ok(found)
            }
        }

        /// Audit one change to the suppression list, in the caller's transaction.
        async fn log_suppression(
            conn: &mut <$db as sqlx::Database>::Connection,
            vault: &$crate::vault::Vault,
            mobile: &$crate::domain::MobileHash,
            change: &$crate::store::SuppressionChange<'_>,
            at: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::store::StoreError> {
            sqlx::query(
                "INSERT INTO suppression_log (mobile_hash, action, source, reason, actor, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(mobile.as_str())
            .bind(change.action)
            .bind(change.source)
            .bind(vault.seal($crate::vault::Field::Note, change.reason))
            .bind(change.actor)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Which of these number hashes are on the suppression list, asked
        /// of a pooled connection.
        async fn pooled_suppressed_hashes(
            pool: &sqlx::Pool<$db>,
            hashes: &[&str],
        ) -> Result<std::collections::HashSet<String>, $crate::store::StoreError> {
            let mut found = std::collections::HashSet::new();
            for chunk in hashes.chunks(dialect::IN_LIST_MAX) {
                let mut q =
                    sqlx::QueryBuilder::<$db>::new("SELECT mobile_hash FROM suppressions WHERE mobile_hash");
                dialect::push_in(&mut q, chunk);
                let rows: Vec<String> = q.build_query_scalar().fetch_all(pool).await?;
                found.extend(rows);
            }
            Ok(found)
        }
    };
}
pub(super) use inbound_store;
