//! Claims, outcomes and send-time checks in PostgreSQL.
//!
//! A claim is one short transaction: pick due rows with
//! `FOR NO KEY UPDATE SKIP LOCKED`, give them a lease, record why, commit. Only
//! then may a provider be called, so no transaction (and no row lock) is
//! ever held across a network call. Daemons claiming at the same moment
//! skip each other's locked rows rather than wait for them, so two never
//! take the same message; a daemon that dies leaves leases that run out,
//! after which its claims are due again. Every outcome is written only while
//! the claim is still this worker's, so two daemons never both record one
//! message.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PostgresStore;
use super::messages::{MESSAGE_COLUMNS, message_from_row, record, record_many};
use crate::domain::{MessageId, MessageState, PersonId, PhoneNumber};
use crate::store::{
    ClaimedMessage, DeliveryMatch, DispatchStore, SendRecord, StoreError, SuppressionChange,
    Unmatched, by_hash, by_number, delivery_change, report_can_move,
};
use crate::vault::Field;

#[async_trait]
impl DispatchStore for PostgresStore {
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
        // stops at `limit` (an OR across them would sort every due text),
        // locking what it finds. Rows found but not taken stay locked only
        // until this short transaction commits.
        let sql = format!(
            "WITH pending AS (SELECT id FROM messages WHERE state = 'pending' AND send_at <= $1 \
                              ORDER BY send_at, priority LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED), \
                  retrying AS (SELECT id FROM messages WHERE state = 'retrying' AND send_at <= $1 \
                               ORDER BY send_at, priority LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED), \
                  lapsed AS (SELECT id FROM messages WHERE state = 'claimed' AND lease_until < $1 \
                             ORDER BY send_at, priority LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED) \
             SELECT {columns}, m.attempts, p.mobile_invalid_since IS NOT NULL AS number_invalid \
             FROM messages m JOIN people p ON p.id = m.person_id \
             WHERE m.id IN (SELECT id FROM pending UNION ALL SELECT id FROM retrying \
                            UNION ALL SELECT id FROM lapsed) \
             ORDER BY m.send_at, m.priority LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let attempts: i32 = row.try_get("attempts")?;
            claimed.push(ClaimedMessage {
                message: message_from_row(row, &self.vault)?,
                attempts: u32::try_from(attempts)
                    .map_err(|e| StoreError::Corrupt(format!("attempts: {e}")))?,
                number_invalid: row.try_get("number_invalid")?,
            });
        }
        if claimed.is_empty() {
            return Ok(claimed);
        }
        let ids: Vec<String> = claimed.iter().map(|c| c.message.id.to_string()).collect();
        sqlx::query(
            "UPDATE messages SET state = 'claimed', lease_until = $1, claimed_by = $2, updated_at = $3 \
             WHERE id = ANY($4)",
        )
        .bind(lease_until)
        .bind(worker)
        .bind(now)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        let moves: Vec<_> = claimed
            .iter()
            .map(|c| (c.message.id, c.message.state, claim_reason(c.message.state)))
            .collect();
        record_many(&mut tx, &moves, MessageState::Claimed, now).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn record_sends(
        &self,
        worker: &str,
        outcomes: &[(MessageId, SendRecord)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        let columns: Vec<_> = outcomes.iter().map(|(_, r)| r.columns(now)).collect();
        let ids: Vec<String> = outcomes.iter().map(|(id, _)| id.to_string()).collect();
        let states: Vec<&str> = columns.iter().map(|c| c.state.as_str()).collect();
        let attempted: Vec<i32> = columns.iter().map(|c| c.attempted).collect();
        let send_at: Vec<_> = columns.iter().map(|c| c.send_at).collect();
        let sent_at: Vec<_> = columns.iter().map(|c| c.sent_at).collect();
        let provider: Vec<_> = columns.iter().map(|c| c.provider).collect();
        let provider_id: Vec<_> = columns.iter().map(|c| c.provider_id).collect();
        let reasons: Vec<&str> = columns.iter().map(|c| c.reason.as_str()).collect();
        // One statement: the outcomes that still hold their claim move, and
        // their history rows are written from what moved.
        let ours: Vec<String> = sqlx::query_scalar(
            "WITH o AS ( \
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::timestamptz[], \
                                    $5::timestamptz[], $6::text[], $7::text[], $8::text[]) \
               AS o(message, state, attempted, send_at, sent_at, provider, provider_id, reason)), \
             moved AS ( \
               UPDATE messages m SET state = o.state, attempts = m.attempts + o.attempted, \
                 send_at = COALESCE(o.send_at, m.send_at), sent_at = COALESCE(o.sent_at, m.sent_at), \
                 provider = COALESCE(o.provider, m.provider), \
                 provider_message_id = COALESCE(o.provider_id, m.provider_message_id), \
                 lease_until = NULL, claimed_by = NULL, updated_at = $9 \
               FROM o WHERE m.id = o.message AND m.state = 'claimed' AND m.claimed_by = $10 \
               RETURNING m.id, o.state, o.reason) \
             INSERT INTO message_transitions (message_id, from_state, to_state, reason, at) \
             SELECT id, 'claimed', state, reason, $9 FROM moved RETURNING message_id",
        )
        .bind(&ids)
        .bind(&states)
        .bind(&attempted)
        .bind(&send_at)
        .bind(&sent_at)
        .bind(&provider)
        .bind(&provider_id)
        .bind(&reasons)
        .bind(now)
        .bind(worker)
        .fetch_all(&self.pool)
        .await?;
        let ours: HashSet<String> = ours.into_iter().collect();
        Ok(ids.iter().map(|id| ours.contains(id)).collect())
    }

    async fn release(
        &self,
        id: MessageId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE messages SET state = 'pending', lease_until = NULL, claimed_by = NULL, updated_at = $1 \
             WHERE id = $2 AND state = 'claimed' AND claimed_by = $3",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            let reason = "released unsent at shutdown";
            let (from, to) = (MessageState::Claimed, MessageState::Pending);
            record(&mut tx, id, Some(from), to, reason, now).await?;
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
            "INSERT INTO suppressions (mobile_hash, source, reason, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
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
        sqlx::query(
            "UPDATE people SET mobile_invalid_since = COALESCE(mobile_invalid_since, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(person.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sends_to_numbers(
        &self,
        mobiles: &[PhoneNumber],
        since: DateTime<Utc>,
        except: &[MessageId],
    ) -> Result<HashMap<PhoneNumber, Vec<DateTime<Utc>>>, StoreError> {
        let by_hash = by_hash(&self.vault, mobiles);
        let hashes: Vec<&str> = by_hash.keys().map(String::as_str).collect();
        let except: Vec<String> = except.iter().map(MessageId::to_string).collect();
        let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT mobile_hash, COALESCE(sent_at, send_at) AS at FROM messages \
             WHERE mobile_hash = ANY($1::text[]) AND state IN ('sent', 'delivered', 'failed', 'claimed') \
             AND COALESCE(sent_at, send_at) >= $2 AND id <> ALL($3::text[]) AND reply_to IS NULL",
        )
        .bind(&hashes)
        .bind(since)
        .bind(&except)
        .fetch_all(&self.pool)
        .await?;
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
        // carry both an id and another of its messages' references. Locked,
        // so two reports for one message (a replay racing the original)
        // apply once: the second sees the first's state.
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE provider = $1 AND (provider_message_id = $2 OR id = $3) \
             ORDER BY CASE WHEN provider_message_id = $2 THEN 0 ELSE 1 END LIMIT 1 FOR NO KEY UPDATE"
        );
        let row = sqlx::query(&sql)
            .bind(provider)
            .bind(provider_id)
            .bind(&reference)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            let exists = sqlx::query("SELECT 1 FROM messages WHERE id = $1")
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
        sqlx::query("UPDATE messages SET state = $1, updated_at = $2 WHERE id = $3")
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
            "SELECT COUNT(*) FROM messages WHERE state IN ('pending', 'retrying') AND send_at <= $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.unsigned_abs())
    }
}

fn claim_reason(from: MessageState) -> &'static str {
    match from {
        MessageState::Claimed => {
            "the previous claim's lease ran out (its daemon stopped mid-send); claimed again"
        }
        _ => "due: claimed for sending",
    }
}
