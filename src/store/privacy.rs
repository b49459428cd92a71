//! Keeping personal data sealed, for as long as it is needed and no longer:
//! the trait, what its bodies share, and its one body for both backends
//! ([`privacy_store!`]).
//!
//! Re-sealing walks each sealed column (see `sealed`) in key order, a batch
//! per transaction, and rewrites a value only where it still holds the value
//! read (`WHERE key = .. AND column = old`): a value changed in between by
//! the daemon is left as that change sealed it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use super::sealed::KeyValue;
use crate::domain::{OrgId, PersonId};
use crate::vault::{Field, Vault};

/// Which sealed values a re-sealing pass rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reseal {
    /// Values still in clear (written before sealing existed).
    Clear,
    /// Every value not sealed under the active key (after a rotation).
    NotActive,
}

/// Keeping personal data sealed, for as long as it is needed and no longer.
#[async_trait]
pub trait PrivacyStore {
    /// Whether the schema already seals every column it seals today; if
    /// not, migrating adds sealing and what is stored must then be sealed
    /// with [`Reseal::Clear`].
    async fn sealing_applied(&self) -> Result<bool, StoreError>;
    /// A few sealed values, one per sealed column that has any, to check
    /// the keyring can open what the database holds.
    async fn sealed_sample(&self) -> Result<Vec<(Field, String)>, StoreError>;
    /// How many values each key id sealed (`clear` for unsealed ones).
    async fn key_usage(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError>;
    /// Re-seal values under the active key, a batch per transaction; how
    /// many were rewritten.
    async fn reseal(&self, scope: Reseal) -> Result<u64, StoreError>;

    /// Erase a person and everything about them in one transaction: their
    /// texts are first folded into `message_stats`, their replies go unless
    /// they also concern someone else, and the opt-out list keeps the hash
    /// of their number but not the reasons staff gave for it (in the list
    /// and its log): those are blanked, as they may name the person. `None`
    /// if the organisation has no such person.
    async fn erase_person(&self, org: OrgId, id: PersonId) -> Result<Option<Erased>, StoreError>;
    /// People with no text waiting whose last change, and every event's
    /// date and change, are before `cutoff`.
    async fn people_past_retention(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, PersonId)>, StoreError>;
    /// Delete replies received before `cutoff` that concern nobody stored.
    async fn purge_unmatched_inbound(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// What erasing a person removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub events: u64,
    pub messages: u64,
    pub replies: u64,
    pub attention_items: u64,
}

/// Rows re-sealed per transaction. Short transactions keep SQLite's writer
/// turns short, so the daemon's own writes never wait long behind a
/// rotation, and hold few row locks on PostgreSQL.
pub(super) const RESEAL_BATCH: i64 = 500;

/// The prefix a value that needs no re-sealing starts with.
pub(super) fn keep_prefix(vault: &Vault, scope: Reseal) -> String {
    match scope {
        Reseal::Clear => "hw1:".to_owned(),
        Reseal::NotActive => format!("hw1:{}:", vault.active_key()),
    }
}

/// A stored value in clear: opened if sealed, as it is if written before
/// sealing existed.
pub(crate) fn clear_value(
    vault: &Vault,
    field: Field,
    stored: &str,
    table: &str,
    column: &str,
) -> Result<String, StoreError> {
    if Vault::key_of(stored).is_none() {
        return Ok(stored.to_owned());
    }
    vault
        .open(field, stored)
        .map_err(|e| StoreError::Corrupt(format!("{table}.{column}: {e}")))
}

/// Bind a row's key, whichever type the table's key column has.
pub(super) fn bind_key<'q, DB>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    key: &KeyValue,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    match key {
        KeyValue::Text(text) => q.bind(text.clone()),
        KeyValue::Integer(n) => q.bind(*n),
    }
}

/// The one body of [`PrivacyStore`], instantiated per backend (see the
/// `store` module header): `$store` is the store type, `$db` its
/// `sqlx::Database`, and the expansion site must have a `dialect` module.
macro_rules! privacy_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::PrivacyStore for $store {
            async fn sealing_applied(&self) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::SEALING_MIGRATIONS;
                // A query naming a missing table fails as it is planned, so
                // the table's existence is asked first.
                if !dialect::has_migrations_table(&self.pool).await? {
                    return Ok(false);
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT COUNT(*) FROM _sqlx_migrations WHERE success AND version IN (",
                );
                let mut versions = q.separated(", ");
                for version in SEALING_MIGRATIONS {
                    versions.push_bind(*version);
                }
                q.push(")");
                let found: i64 = q.build_query_scalar().fetch_one(&self.pool).await?;
                Ok(found == SEALING_MIGRATIONS.len() as i64)
            }

            async fn sealed_sample(
                &self,
            ) -> Result<Vec<($crate::vault::Field, String)>, $crate::store::StoreError> {
                let mut sample = Vec::new();
                for $crate::store::SealedColumn {
                    table,
                    column,
                    field,
                    ..
                } in $crate::store::SEALED_COLUMNS
                {
                    let sql =
                        format!("SELECT {column} FROM {table} WHERE {column} LIKE 'hw1:%' LIMIT 1");
                    let value: Option<String> =
                        sqlx::query_scalar(&sql).fetch_optional(&self.pool).await?;
                    sample.extend(value.map(|v| (*field, v)));
                }
                Ok(sample)
            }

            async fn key_usage(
                &self,
            ) -> Result<std::collections::BTreeMap<String, u64>, $crate::store::StoreError> {
                use sqlx::Row;
                let mut usage = std::collections::BTreeMap::new();
                for $crate::store::SealedColumn { table, column, .. } in
                    $crate::store::SEALED_COLUMNS
                {
                    let key = dialect::sealing_key_id(column);
                    let sql = format!(
                        "SELECT CASE WHEN substr({column}, 1, 4) = 'hw1:' THEN {key} \
                         ELSE 'clear' END AS key, COUNT(*) AS n FROM {table} \
                         WHERE {column} IS NOT NULL GROUP BY 1"
                    );
                    for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                        let n: i64 = row.try_get("n")?;
                        *usage.entry(row.try_get("key")?).or_default() += n as u64;
                    }
                }
                Ok(usage)
            }

            async fn reseal(
                &self,
                scope: $crate::store::Reseal,
            ) -> Result<u64, $crate::store::StoreError> {
                let mut total = 0;
                for sealed in $crate::store::SEALED_COLUMNS {
                    total += self.reseal_column(scope, sealed).await?;
                }
                for table in ["suppressions", "suppression_log"] {
                    total += self.hash_clear_numbers(table).await?;
                }
                Ok(total)
            }

            async fn erase_person(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::PersonId,
            ) -> Result<Option<$crate::store::Erased>, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let (org, id) = (org.to_string(), id.to_string());
                let sql = format!(
                    "SELECT 1 FROM people WHERE org_id = $1 AND id = $2{}",
                    dialect::lock_for_delete()
                );
                let found: Option<i32> = sqlx::query_scalar(&sql)
                    .bind(&org)
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Ok(None);
                }
                let erased = Self::erased_counts(&mut *tx, &id).await?;
                let day = dialect::utc_day("send_at");
                sqlx::query(&format!(
                    "INSERT INTO message_stats (org_id, day, rule_id, template, state, count) \
                     SELECT org_id, {day}, COALESCE(rule_id, ''), template, state, COUNT(*) \
                     FROM messages WHERE person_id = $1 GROUP BY 1, 2, 3, 4, 5 \
                     ON CONFLICT (org_id, day, rule_id, template, state) \
                     DO UPDATE SET count = message_stats.count + excluded.count"
                ))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                // A reply that also matched someone else stays theirs.
                sqlx::query(
                    "DELETE FROM inbound_messages WHERE id IN \
                     (SELECT inbound_id FROM inbound_people WHERE person_id = $1) \
                     AND NOT EXISTS (SELECT 1 FROM inbound_people o \
                     WHERE o.inbound_id = inbound_messages.id AND o.person_id <> $1)",
                )
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                self.blank_reasons(&mut *tx, &id).await?;
                sqlx::query("DELETE FROM people WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(erased))
            }

            async fn people_past_retention(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<($crate::domain::OrgId, $crate::domain::PersonId)>, $crate::store::StoreError>
            {
                use $crate::store::rows::parsed;
                let rows = sqlx::query(
                    "SELECT p.org_id, p.id FROM people p WHERE p.updated_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.person_id = p.id \
                                     AND m.state IN ('pending', 'retrying', 'claimed')) \
                     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.person_id = p.id \
                                     AND (e.updated_at >= $1 OR e.local_date >= $2 OR e.starts_at >= $1)) \
                     ORDER BY p.updated_at LIMIT $3",
                )
                .bind(cutoff)
                .bind(cutoff.date_naive())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((parsed(r, "org_id")?, parsed(r, "id")?)))
                    .collect()
            }

            async fn purge_unmatched_inbound(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let done = sqlx::query(
                    "DELETE FROM inbound_messages WHERE received_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM inbound_people ip \
                     WHERE ip.inbound_id = inbound_messages.id)",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }
        }

        impl $store {
            async fn reseal_column(
                &self,
                scope: $crate::store::Reseal,
                sealed: &$crate::store::SealedColumn,
            ) -> Result<u64, $crate::store::StoreError> {
                use sqlx::Row;
                use $crate::store::privacy::{RESEAL_BATCH, bind_key, clear_value, keep_prefix};
                let $crate::store::SealedColumn {
                    table,
                    key,
                    column,
                    field,
                    hash,
                } = *sealed;
                let keep = keep_prefix(&self.vault, scope);
                let k = key.column();
                let select = format!(
                    "SELECT {k} AS row_key, {column} AS value FROM {table} \
                     WHERE {k} > $1 AND substr({column}, 1, $2) <> $3 ORDER BY {k} LIMIT $4{}",
                    dialect::lock_for_update()
                );
                let hash_set = hash.map(|h| format!(", {h} = $4")).unwrap_or_default();
                let update = format!(
                    "UPDATE {table} SET {column} = $1{hash_set} WHERE {k} = $2 AND {column} = $3"
                );
                let (mut after, mut total) = (key.start(), 0);
                loop {
                    let mut tx = self.write().await?;
                    let rows = bind_key(sqlx::query::<$db>(&select), &after)
                        .bind(keep.chars().count() as i32)
                        .bind(&keep)
                        .bind(RESEAL_BATCH)
                        .fetch_all(&mut *tx)
                        .await?;
                    let Some(last) = rows.last() else { break };
                    after = key.read(last)?;
                    for row in &rows {
                        let old: String = row.try_get("value")?;
                        let clear = clear_value(&self.vault, field, &old, table, column)?;
                        let q = sqlx::query::<$db>(&update).bind(self.vault.seal(field, &clear));
                        let mut q = bind_key(q, &key.read(row)?).bind(&old);
                        if hash.is_some() {
                            q = q.bind(self.vault.index_raw(&clear).as_str().to_owned());
                        }
                        total += q.execute(&mut *tx).await?.rows_affected();
                    }
                    tx.commit().await?;
                }
                Ok(total)
            }

            /// What erasing the person will remove, counted before it goes.
            async fn erased_counts(
                conn: &mut <$db as sqlx::Database>::Connection,
                person: &str,
            ) -> Result<$crate::store::Erased, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM events WHERE person_id = $1) AS events, \
                            (SELECT COUNT(*) FROM messages WHERE person_id = $1) AS messages, \
                            (SELECT COUNT(*) FROM inbound_people WHERE person_id = $1) AS replies, \
                            (SELECT COUNT(*) FROM attention WHERE person_id = $1) AS attention",
                )
                .bind(person)
                .fetch_one(&mut *conn)
                .await?;
                let n = |column: &str| row.try_get::<i64, _>(column).map(|n| n as u64);
                Ok($crate::store::Erased {
                    events: n("events")?,
                    messages: n("messages")?,
                    replies: n("replies")?,
                    attention_items: n("attention")?,
                })
            }

            /// Staff's reasons for opting the person's numbers (now and
            /// before) out, or back in, may name them: each number's hash
            /// stays on the list and in its log, the words go.
            async fn blank_reasons(
                &self,
                conn: &mut <$db as sqlx::Database>::Connection,
                person: &str,
            ) -> Result<(), $crate::store::StoreError> {
                let hashes: Vec<String> = sqlx::query_scalar(
                    "SELECT mobile_hash FROM people WHERE id = $1 AND mobile_hash IS NOT NULL \
                     UNION SELECT mobile_hash FROM messages \
                     WHERE person_id = $1 AND mobile_hash IS NOT NULL",
                )
                .bind(person)
                .fetch_all(&mut *conn)
                .await?;
                for hash in &hashes {
                    for table in ["suppressions", "suppression_log"] {
                        let sql = format!("UPDATE {table} SET reason = $2 WHERE mobile_hash = $1");
                        sqlx::query(&sql)
                            .bind(hash)
                            .bind(self.vault.seal($crate::vault::Field::Note, ""))
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                Ok(())
            }

            /// Suppressions written before sealing hold the number itself.
            async fn hash_clear_numbers(&self, table: &str) -> Result<u64, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let sql = format!(
                    "SELECT DISTINCT mobile_hash FROM {table} WHERE substr(mobile_hash, 1, 1) = '+'"
                );
                let numbers: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&mut *tx).await?;
                let update = format!("UPDATE {table} SET mobile_hash = $1 WHERE mobile_hash = $2");
                let mut total = 0;
                for number in &numbers {
                    let hash = self.vault.index_raw(number);
                    total += sqlx::query(&update)
                        .bind(hash.as_str())
                        .bind(number)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(total)
            }
        }
    };
}
pub(super) use privacy_store;
