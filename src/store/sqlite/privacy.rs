//! Sealed personal data in SQLite: checking, counting and re-sealing it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::parsed;
use super::{SqliteStore, WriteTx};
use crate::domain::{OrgId, PersonId};
use crate::store::{
    Erased, KeyValue, PrivacyStore, Reseal, SEALED_COLUMNS, SEALING_MIGRATIONS, SealedColumn,
    StoreError, clear_value, keep_prefix,
};
use crate::vault::Field;

/// Rows re-sealed per transaction: short turns, so the daemon's own writes
/// never wait long behind a rotation.
const BATCH: i64 = 500;

#[async_trait]
impl PrivacyStore for SqliteStore {
    async fn sealing_applied(&self) -> Result<bool, StoreError> {
        for version in SEALING_MIGRATIONS {
            if !self.has_migration(*version).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn sealed_sample(&self) -> Result<Vec<(Field, String)>, StoreError> {
        let mut sample = Vec::new();
        for SealedColumn {
            table,
            column,
            field,
            ..
        } in SEALED_COLUMNS
        {
            let sql = format!("SELECT {column} FROM {table} WHERE {column} LIKE 'hw1:%' LIMIT 1");
            let value: Option<String> = sqlx::query_scalar(&sql).fetch_optional(&self.pool).await?;
            sample.extend(value.map(|v| (*field, v)));
        }
        Ok(sample)
    }

    async fn key_usage(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut usage = BTreeMap::new();
        for SealedColumn { table, column, .. } in SEALED_COLUMNS {
            let sql = format!(
                "SELECT CASE WHEN substr({column}, 1, 4) = 'hw1:' \
                 THEN substr({column}, 5, instr(substr({column}, 5), ':') - 1) ELSE 'clear' END AS key, \
                 COUNT(*) AS n FROM {table} WHERE {column} IS NOT NULL GROUP BY key"
            );
            for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                let n: i64 = row.try_get("n")?;
                *usage.entry(row.try_get("key")?).or_default() += n as u64;
            }
        }
        Ok(usage)
    }

    async fn reseal(&self, scope: Reseal) -> Result<u64, StoreError> {
        let mut total = 0;
        for sealed in SEALED_COLUMNS {
            total += self.reseal_column(scope, sealed).await?;
        }
        for table in ["suppressions", "suppression_log"] {
            total += self.hash_clear_numbers(table).await?;
        }
        Ok(total)
    }

    async fn erase_person(&self, org: OrgId, id: PersonId) -> Result<Option<Erased>, StoreError> {
        let mut tx = self.write().await?;
        let (org, id) = (org.to_string(), id.to_string());
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM people WHERE org_id = ? AND id = ?")
                .bind(&org)
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Ok(None);
        }
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(&id);
        let erased = Erased {
            events: count("SELECT COUNT(*) FROM events WHERE person_id = ?")
                .fetch_one(&mut *tx)
                .await? as u64,
            messages: count("SELECT COUNT(*) FROM messages WHERE person_id = ?")
                .fetch_one(&mut *tx)
                .await? as u64,
            replies: count("SELECT COUNT(*) FROM inbound_people WHERE person_id = ?")
                .fetch_one(&mut *tx)
                .await? as u64,
            attention_items: count("SELECT COUNT(*) FROM attention WHERE person_id = ?")
                .fetch_one(&mut *tx)
                .await? as u64,
        };
        sqlx::query(
            "INSERT INTO message_stats (org_id, day, rule_id, template, state, count) \
             SELECT org_id, substr(send_at, 1, 10), COALESCE(rule_id, ''), template, state, COUNT(*) \
             FROM messages WHERE person_id = ? GROUP BY 1, 2, 3, 4, 5 \
             ON CONFLICT (org_id, day, rule_id, template, state) DO UPDATE SET count = message_stats.count + excluded.count",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        // A reply that also matched someone else stays theirs.
        sqlx::query(
            "DELETE FROM inbound_messages WHERE id IN (SELECT inbound_id FROM inbound_people WHERE person_id = ?) \
             AND NOT EXISTS (SELECT 1 FROM inbound_people o WHERE o.inbound_id = inbound_messages.id AND o.person_id <> ?)",
        )
        .bind(&id)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        self.blank_reasons(&mut tx, &id).await?;
        sqlx::query("DELETE FROM people WHERE id = ?")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(erased))
    }

    async fn people_past_retention(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, PersonId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.org_id, p.id FROM people p WHERE p.updated_at < ? \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.person_id = p.id \
                             AND m.state IN ('pending', 'retrying', 'claimed')) \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.person_id = p.id \
                             AND (e.updated_at >= ? OR e.local_date >= ? OR e.starts_at >= ?)) \
             ORDER BY p.updated_at LIMIT ?",
        )
        .bind(cutoff)
        .bind(cutoff)
        .bind(cutoff.date_naive())
        .bind(cutoff)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((parsed(r, "org_id")?, parsed(r, "id")?)))
            .collect()
    }

    async fn purge_unmatched_inbound(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "DELETE FROM inbound_messages WHERE received_at < ? \
             AND NOT EXISTS (SELECT 1 FROM inbound_people ip WHERE ip.inbound_id = inbound_messages.id)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

impl SqliteStore {
    async fn reseal_column(&self, scope: Reseal, sealed: &SealedColumn) -> Result<u64, StoreError> {
        let SealedColumn {
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
             WHERE {k} > ? AND substr({column}, 1, ?) <> ? ORDER BY {k} LIMIT ?"
        );
        let hash_set = hash.map(|h| format!(", {h} = ?")).unwrap_or_default();
        let update =
            format!("UPDATE {table} SET {column} = ?{hash_set} WHERE {k} = ? AND {column} = ?");
        let (mut after, mut total) = (key.start(), 0);
        loop {
            let mut tx = self.write().await?;
            let rows = bind_key(sqlx::query(&select), &after)
                .bind(keep.chars().count() as i64)
                .bind(&keep)
                .bind(BATCH)
                .fetch_all(&mut *tx)
                .await?;
            let Some(last) = rows.last() else { break };
            after = key.read(last)?;
            for row in &rows {
                let old: String = row.try_get("value")?;
                let clear = clear_value(&self.vault, field, &old, table, column)?;
                let mut q = sqlx::query(&update).bind(self.vault.seal(field, &clear));
                if hash.is_some() {
                    q = q.bind(self.vault.index_raw(&clear).as_str().to_owned());
                }
                total += bind_key(q, &key.read(row)?)
                    .bind(&old)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
        }
        Ok(total)
    }

    /// Staff's reasons for opting the person's numbers (now and before)
    /// out, or back in, may name them: each number's hash stays on the list
    /// and in its log, the words go.
    async fn blank_reasons(&self, tx: &mut WriteTx, person: &str) -> Result<(), StoreError> {
        let hashes: Vec<String> = sqlx::query_scalar(
            "SELECT mobile_hash FROM people WHERE id = ? AND mobile_hash IS NOT NULL \
             UNION SELECT mobile_hash FROM messages WHERE person_id = ? AND mobile_hash IS NOT NULL",
        )
        .bind(person)
        .bind(person)
        .fetch_all(&mut **tx)
        .await?;
        for hash in &hashes {
            for table in ["suppressions", "suppression_log"] {
                let sql = format!("UPDATE {table} SET reason = ? WHERE mobile_hash = ?");
                sqlx::query(&sql)
                    .bind(self.vault.seal(Field::Note, ""))
                    .bind(hash)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Suppressions written before sealing hold the number itself.
    async fn hash_clear_numbers(&self, table: &str) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT DISTINCT mobile_hash FROM {table} WHERE substr(mobile_hash, 1, 1) = '+'"
        );
        let numbers: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&mut *tx).await?;
        let update = format!("UPDATE {table} SET mobile_hash = ? WHERE mobile_hash = ?");
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

fn bind_key<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    key: &KeyValue,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    match key {
        KeyValue::Text(text) => q.bind(text.clone()),
        KeyValue::Integer(n) => q.bind(*n),
    }
}
