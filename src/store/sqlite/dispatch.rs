//! Claims, outcomes and send-time checks in SQLite.
//!
//! A claim is committed before the provider is called and its outcome right
//! after, so a crash leaves each message waiting, sent, or claimed with a
//! lease that runs out; an expired claim is simply due again (see README,
//! "Crash safety"). Every outcome is written only while the claim is still
//! this worker's, so two daemons never both record one message.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use super::WriteTx;
use super::messages::{Change, MESSAGE_COLUMNS, message_from_row, record, record_all};
use crate::domain::{MessageId, MessageState, PersonId, PhoneNumber};
use crate::store::{
    ClaimedMessage, DeliveryMatch, DispatchStore, SendRecord, StoreError, SuppressionChange,
    Unmatched, by_hash, by_number, delivery_change, report_can_move,
};
use crate::vault::Field;

#[async_trait]
impl DispatchStore for SqliteStore {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        worker: &str,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let mut tx = self.write().await?;
        let columns: String = MESSAGE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // One branch per way of being due, each a walk of its index that
        // stops at `limit`: an OR across them would sort every due text.
        let sql = format!(
            "SELECT {columns}, m.attempts, p.mobile_invalid_since IS NOT NULL AS number_invalid \
             FROM messages m JOIN people p ON p.id = m.person_id \
             WHERE m.id IN ( \
               SELECT id FROM (SELECT id FROM messages WHERE state = 'pending' AND send_at <= ?1 \
                               ORDER BY send_at, priority LIMIT ?2) \
               UNION ALL \
               SELECT id FROM (SELECT id FROM messages WHERE state = 'retrying' AND send_at <= ?1 \
                               ORDER BY send_at, priority LIMIT ?2) \
               UNION ALL \
               SELECT id FROM (SELECT id FROM messages WHERE state = 'claimed' AND lease_until < ?1 \
                               ORDER BY send_at, priority LIMIT ?2)) \
             ORDER BY m.send_at, m.priority LIMIT ?2"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let attempts: i64 = row.try_get("attempts")?;
            let number_invalid: bool = row.try_get("number_invalid")?;
            claimed.push(ClaimedMessage {
                message: message_from_row(row, &self.vault)?,
                attempts: attempts as u32,
                number_invalid,
            });
        }
        if claimed.is_empty() {
            tx.commit().await?;
            return Ok(claimed);
        }
        // One statement for the batch: a statement per message would cost
        // a round trip each while every other writer waits.
        let mut q =
            QueryBuilder::<Sqlite>::new("UPDATE messages SET state = 'claimed', lease_until = ");
        q.push_bind(lease_until)
            .push(", claimed_by = ")
            .push_bind(worker)
            .push(", updated_at = ")
            .push_bind(now)
            .push(" WHERE id IN (");
        let mut ids = q.separated(", ");
        for c in &claimed {
            ids.push_bind(c.message.id.to_string());
        }
        ids.push_unseparated(")");
        q.build().execute(&mut *tx).await?;
        let changes: Vec<Change<'_>> = claimed
            .iter()
            .map(|c| {
                let reason = match c.message.state {
                    MessageState::Claimed => {
                        "the previous claim's lease ran out (its daemon stopped mid-send); claimed again"
                    }
                    _ => "due: claimed for sending",
                };
                (c.message.id, Some(c.message.state), MessageState::Claimed, reason)
            })
            .collect();
        record_all(&mut tx, &changes, now).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn record_sends(
        &self,
        worker: &str,
        outcomes: &[(MessageId, SendRecord)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.write().await?;
        let mut ours = HashSet::new();
        // 8 binds a row keeps each statement well under SQLite's limit.
        for chunk in outcomes.chunks(500) {
            ours.extend(record_chunk(&mut tx, worker, chunk, now).await?);
        }
        let ours: Vec<bool> = outcomes
            .iter()
            .map(|(id, _)| ours.contains(&id.to_string()))
            .collect();
        let reasons: Vec<_> = outcomes
            .iter()
            .zip(&ours)
            .filter(|(_, ours)| **ours)
            .map(|((id, record), _)| (*id, record.columns(now)))
            .collect();
        let changes: Vec<Change<'_>> = reasons
            .iter()
            .map(|(id, c)| (*id, Some(MessageState::Claimed), c.state, c.reason.as_str()))
            .collect();
        record_all(&mut tx, &changes, now).await?;
        tx.commit().await?;
        Ok(ours)
    }

    async fn release(
        &self,
        id: MessageId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE messages SET state = 'pending', lease_until = NULL, claimed_by = NULL, updated_at = ? \
             WHERE id = ? AND state = 'claimed' AND claimed_by = ?",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            let reason = "released unsent at shutdown";
            record(
                &mut tx,
                id,
                Some(MessageState::Claimed),
                MessageState::Pending,
                reason,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn suppress(
        &self,
        mobile: &PhoneNumber,
        source: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let added = sqlx::query(
            "INSERT INTO suppressions (mobile_hash, source, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(self.vault.index(mobile).as_str())
        .bind(source)
        .bind(self.vault.seal(Field::Note, reason))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() > 0 {
            let hash = self.vault.index(mobile);
            let change = SuppressionChange {
                action: "added",
                source,
                reason,
                actor: None,
            };
            super::log_suppression(&mut tx, &self.vault, &hash, &change, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn mark_number_invalid(
        &self,
        person: PersonId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE people SET mobile_invalid_since = COALESCE(mobile_invalid_since, ?) WHERE id = ?")
            .bind(now)
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sends_to_numbers(
        &self,
        mobiles: &[PhoneNumber],
        since: DateTime<Utc>,
        except: &[MessageId],
    ) -> Result<HashMap<PhoneNumber, Vec<DateTime<Utc>>>, StoreError> {
        let by_hash = by_hash(&self.vault, mobiles);
        // Named, because for a long list of numbers SQLite would rather walk
        // every sent text by state, a walk that grows with the history.
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT mobile_hash, COALESCE(sent_at, send_at) AS at \
             FROM messages INDEXED BY messages_by_mobile_hash \
             WHERE state IN ('sent', 'delivered', 'failed', 'claimed') AND reply_to IS NULL \
             AND COALESCE(sent_at, send_at) >= ",
        );
        q.push_bind(since).push(" AND mobile_hash IN (");
        let mut hashes = q.separated(", ");
        for hash in by_hash.keys() {
            hashes.push_bind(hash.as_str());
        }
        q.push(") AND id NOT IN (");
        let mut ids = q.separated(", ");
        for id in except {
            ids.push_bind(id.to_string());
        }
        ids.push_unseparated(")");
        let rows: Vec<(String, DateTime<Utc>)> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(by_number(&by_hash, rows))
    }

    async fn record_delivery(
        &self,
        provider: &str,
        provider_id: &str,
        reference: Option<MessageId>,
        delivered: Result<(), String>,
        now: DateTime<Utc>,
    ) -> Result<DeliveryMatch, StoreError> {
        let mut tx = self.write().await?;
        let reference = reference.map(|r| r.to_string()).unwrap_or_default();
        // Only what this provider sent; its own id first, should a report
        // carry both an id and another of its messages' references.
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE provider = ?1 AND (provider_message_id = ?2 OR id = ?3) \
             ORDER BY CASE WHEN provider_message_id = ?2 THEN 0 ELSE 1 END LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(provider)
            .bind(provider_id)
            .bind(&reference)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            let exists = sqlx::query("SELECT 1 FROM messages WHERE id = ?")
                .bind(&reference)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(DeliveryMatch::Unmatched(match exists {
                Some(_) => Unmatched::NotSentByProvider,
                None => Unmatched::UnknownMessage,
            }));
        };
        let mut message = message_from_row(&row, &self.vault)?;
        // Replays and late reports are harmless: they find nothing to move.
        if !report_can_move(message.state) {
            tx.commit().await?;
            return Ok(DeliveryMatch::NotApplicable(message.state));
        }
        let (to, reason) = delivery_change(provider, &delivered);
        sqlx::query("UPDATE messages SET state = ?, updated_at = ? WHERE id = ?")
            .bind(to.as_str())
            .bind(now)
            .bind(message.id.to_string())
            .execute(&mut *tx)
            .await?;
        record(&mut tx, message.id, Some(message.state), to, &reason, now).await?;
        tx.commit().await?;
        message.state = to;
        Ok(DeliveryMatch::Applied(Box::new(message)))
    }

    async fn due_count(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE state IN ('pending', 'retrying') AND send_at <= ?",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }
}

/// Record one chunk of outcomes; the ids of those whose claim was still ours.
async fn record_chunk(
    tx: &mut WriteTx,
    worker: &str,
    chunk: &[(MessageId, SendRecord)],
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "WITH o(message, state, attempted, send_at, sent_at, provider, provider_id) AS (",
    );
    q.push_values(chunk, |mut row, (id, record)| {
        let c = record.columns(now);
        row.push_bind(id.to_string())
            .push_bind(c.state.as_str())
            .push_bind(c.attempted)
            .push_bind(c.send_at)
            .push_bind(c.sent_at)
            .push_bind(c.provider.map(str::to_owned))
            .push_bind(c.provider_id.map(str::to_owned));
    });
    q.push(
        ") UPDATE messages SET state = o.state, attempts = messages.attempts + o.attempted, \
         send_at = COALESCE(o.send_at, messages.send_at), \
         sent_at = COALESCE(o.sent_at, messages.sent_at), \
         provider = COALESCE(o.provider, messages.provider), \
         provider_message_id = COALESCE(o.provider_id, messages.provider_message_id), \
         lease_until = NULL, claimed_by = NULL, updated_at = ",
    );
    q.push_bind(now)
        .push(" FROM o WHERE messages.id = o.message AND messages.state = 'claimed' AND messages.claimed_by = ")
        .push_bind(worker)
        .push(" RETURNING id");
    Ok(q.build_query_scalar().fetch_all(&mut **tx).await?)
}
