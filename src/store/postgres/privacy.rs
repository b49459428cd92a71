//! Sealed personal data in PostgreSQL: checking, counting and re-sealing it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgConnection;

use super::PostgresStore;
use super::rows::parsed;
use crate::domain::{OrgId, PersonId};
use crate::store::{
    Erased, KeyValue, PrivacyStore, Reseal, SEALED_COLUMNS, SEALING_MIGRATIONS, SealedColumn,
    StoreError, clear_value, keep_prefix,
};
use crate::vault::Field;

/// Rows re-sealed per transaction: short transactions hold few row locks.
const BATCH: i64 = 500;

#[async_trait]
impl PrivacyStore for PostgresStore {
    async fn sealing_applied(&self) -> Result<bool, StoreError> {
        // A query naming a missing table fails as it is planned, so the
        // table's existence is asked first.
        let table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        if !table {
            return Ok(false);
        }
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE version = ANY($1) AND success",
        )
        .bind(SEALING_MIGRATIONS)
        .fetch_one(&self.pool)
        .await?;
        Ok(found == SEALING_MIGRATIONS.len() as i64)
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
                "SELECT CASE WHEN left({column}, 4) = 'hw1:' THEN split_part({column}, ':', 2) \
                 ELSE 'clear' END AS key, COUNT(*) AS n FROM {table} WHERE {column} IS NOT NULL GROUP BY 1"
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
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM people WHERE org_id = $1 AND id = $2 FOR UPDATE")
                .bind(&org)
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM events WHERE person_id = $1) AS events, \
                    (SELECT COUNT(*) FROM messages WHERE person_id = $1) AS messages, \
                    (SELECT COUNT(*) FROM inbound_people WHERE person_id = $1) AS replies, \
                    (SELECT COUNT(*) FROM attention WHERE person_id = $1) AS attention",
        )
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        let n = |column: &str| row.try_get::<i64, _>(column).map(|n| n as u64);
        let erased = Erased {
            events: n("events")?,
            messages: n("messages")?,
            replies: n("replies")?,
            attention_items: n("attention")?,
        };
        sqlx::query(
            "INSERT INTO message_stats (org_id, day, rule_id, template, state, count) \
             SELECT org_id, (send_at AT TIME ZONE 'UTC')::date, COALESCE(rule_id, ''), template, state, COUNT(*) \
             FROM messages WHERE person_id = $1 GROUP BY 1, 2, 3, 4, 5 \
             ON CONFLICT (org_id, day, rule_id, template, state) DO UPDATE SET count = message_stats.count + excluded.count",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        // A reply that also matched someone else stays theirs.
        sqlx::query(
            "DELETE FROM inbound_messages i WHERE i.id IN (SELECT inbound_id FROM inbound_people WHERE person_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM inbound_people o WHERE o.inbound_id = i.id AND o.person_id <> $1)",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        self.blank_reasons(&mut tx, &id).await?;
        sqlx::query("DELETE FROM people WHERE id = $1")
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

    async fn purge_unmatched_inbound(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM inbound_messages i WHERE i.received_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM inbound_people ip WHERE ip.inbound_id = i.id)",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

impl PostgresStore {
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
             WHERE {k} > $1 AND left({column}, $2) <> $3 ORDER BY {k} LIMIT $4 FOR NO KEY UPDATE"
        );
        let hash_set = hash.map(|h| format!(", {h} = $4")).unwrap_or_default();
        let update =
            format!("UPDATE {table} SET {column} = $1{hash_set} WHERE {k} = $2 AND {column} = $3");
        let (mut after, mut total) = (key.start(), 0);
        loop {
            let mut tx = self.write().await?;
            let rows = bind_key(sqlx::query(&select), &after)
                .bind(keep.chars().count() as i32)
                .bind(&keep)
                .bind(BATCH)
                .fetch_all(&mut *tx)
                .await?;
            let Some(last) = rows.last() else { break };
            after = key.read(last)?;
            for row in &rows {
                let old: String = row.try_get("value")?;
                let clear = clear_value(&self.vault, field, &old, table, column)?;
                let q = sqlx::query(&update).bind(self.vault.seal(field, &clear));
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

    /// Staff's reasons for opting the person's numbers (now and before)
    /// out, or back in, may name them: each number's hash stays on the list
    /// and in its log, the words go.
    async fn blank_reasons(&self, tx: &mut PgConnection, person: &str) -> Result<(), StoreError> {
        let hashes: Vec<String> = sqlx::query_scalar(
            "SELECT mobile_hash FROM people WHERE id = $1 AND mobile_hash IS NOT NULL \
             UNION SELECT mobile_hash FROM messages WHERE person_id = $1 AND mobile_hash IS NOT NULL",
        )
        .bind(person)
        .fetch_all(&mut *tx)
        .await?;
        for hash in &hashes {
            for table in ["suppressions", "suppression_log"] {
                let sql = format!("UPDATE {table} SET reason = $2 WHERE mobile_hash = $1");
                sqlx::query(&sql)
                    .bind(hash)
                    .bind(self.vault.seal(Field::Note, ""))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Suppressions written before sealing hold the number itself.
    async fn hash_clear_numbers(&self, table: &str) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let sql =
            format!("SELECT DISTINCT mobile_hash FROM {table} WHERE left(mobile_hash, 1) = '+'");
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

fn bind_key<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    key: &KeyValue,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match key {
        KeyValue::Text(text) => q.bind(text.clone()),
        KeyValue::Integer(n) => q.bind(*n),
    }
}
