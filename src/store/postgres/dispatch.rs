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

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Row};

use super::PostgresStore;
use super::messages::{MESSAGE_COLUMNS, message_from_row, record, record_many};
use crate::domain::{Message, MessageId, MessageState, PersonId, PhoneNumber};
use crate::store::{ClaimedMessage, DispatchStore, SendRecord, StoreError};

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
        let sql = format!(
            "SELECT {columns}, m.attempts, p.mobile_invalid_since IS NOT NULL AS number_invalid \
             FROM messages m JOIN people p ON p.id = m.person_id \
             WHERE (m.state IN ('pending', 'retrying') AND m.send_at <= $1) \
                OR (m.state = 'claimed' AND m.lease_until < $1) \
             ORDER BY m.send_at, m.priority LIMIT $2 \
             FOR NO KEY UPDATE OF m SKIP LOCKED"
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

    async fn record_send(
        &self,
        id: MessageId,
        worker: &str,
        outcome: &SendRecord,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let mut q = QueryBuilder::<Postgres>::new("UPDATE messages SET updated_at = ");
        q.push_bind(now)
            .push(", lease_until = NULL, claimed_by = NULL, state = ");
        let (to, reason) = push_outcome(&mut q, outcome, now);
        q.push(" WHERE id = ").push_bind(id.to_string());
        q.push(" AND state = 'claimed' AND claimed_by = ")
            .push_bind(worker);
        let done = q.build().execute(&mut *tx).await?.rows_affected() > 0;
        if done {
            record(&mut tx, id, Some(MessageState::Claimed), to, &reason, now).await?;
        }
        tx.commit().await?;
        Ok(done)
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

    async fn is_suppressed(&self, mobile: &PhoneNumber) -> Result<bool, StoreError> {
        let found: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM suppressions WHERE mobile_hash = $1)")
                .bind(self.vault.index(mobile).as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(found)
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
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() > 0 {
            let hash = self.vault.index(mobile);
            super::inbound::log_suppression(&mut tx, &hash, "added", source, reason, None, now)
                .await?;
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

    async fn sends_to_number(
        &self,
        mobile: &PhoneNumber,
        since: DateTime<Utc>,
        except: MessageId,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(sent_at, send_at) AS at FROM messages \
             WHERE mobile_hash = $1 AND state IN ('sent', 'delivered', 'failed', 'claimed') \
             AND COALESCE(sent_at, send_at) >= $2 AND id <> $3 AND reply_to IS NULL",
        )
        .bind(self.vault.index(mobile).as_str())
        .bind(since)
        .bind(except.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("at")?)).collect()
    }

    async fn record_delivery(
        &self,
        provider: &str,
        provider_id: &str,
        reference: Option<MessageId>,
        delivered: Result<(), String>,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let mut tx = self.write().await?;
        // Locked, so two reports for one message (a replay racing the
        // original) apply once: the second sees the first's state.
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE (provider = $1 AND provider_message_id = $2) OR id = $3 LIMIT 1 FOR NO KEY UPDATE"
        );
        let row = sqlx::query(&sql)
            .bind(provider)
            .bind(provider_id)
            .bind(reference.map(|r| r.to_string()).unwrap_or_default())
            .fetch_optional(&mut *tx)
            .await?;
        let message = row.map(|row| message_from_row(&row, &self.vault));
        let Some(message) = message.transpose()? else {
            return Ok(None);
        };
        let (to, reason) = match &delivered {
            Ok(()) => (
                MessageState::Delivered,
                format!("{provider} reports it delivered"),
            ),
            Err(why) => (
                MessageState::Failed,
                format!("{provider} reports it undelivered: {why}"),
            ),
        };
        // Only a sent message moves: replays and late reports are harmless.
        if message.state == MessageState::Sent {
            sqlx::query(
                "UPDATE messages SET state = $1, updated_at = $2 WHERE id = $3 AND state = 'sent'",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(message.id.to_string())
            .execute(&mut *tx)
            .await?;
            let from = Some(MessageState::Sent);
            record(&mut tx, message.id, from, to, &reason, now).await?;
        }
        tx.commit().await?;
        Ok(Some(message))
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

/// The new state and the columns an outcome sets, pushed onto an UPDATE;
/// returns the state and the reason to record.
fn push_outcome(
    q: &mut QueryBuilder<'_, Postgres>,
    outcome: &SendRecord,
    now: DateTime<Utc>,
) -> (MessageState, String) {
    match outcome {
        SendRecord::Sent {
            provider,
            provider_id,
        } => {
            q.push("'sent', attempts = attempts + 1, sent_at = ")
                .push_bind(now);
            q.push(", provider = ").push_bind(provider.clone());
            q.push(", provider_message_id = ")
                .push_bind(provider_id.clone());
            let reason = format!("accepted by {provider} as {provider_id}");
            (MessageState::Sent, reason)
        }
        SendRecord::Retry {
            at,
            reason,
            count_attempt: true,
        } => {
            q.push("'retrying', attempts = attempts + 1, send_at = ")
                .push_bind(*at);
            (MessageState::Retrying, reason.clone())
        }
        SendRecord::Retry {
            at,
            reason,
            count_attempt: false,
        } => {
            q.push("'pending', send_at = ").push_bind(*at);
            (MessageState::Pending, reason.clone())
        }
        SendRecord::Failed { reason } => {
            q.push("'failed', attempts = attempts + 1");
            (MessageState::Failed, reason.clone())
        }
        SendRecord::Suppressed { reason } => {
            q.push("'suppressed'");
            (MessageState::Suppressed, reason.clone())
        }
        SendRecord::Expired { reason } => {
            q.push("'expired'");
            (MessageState::Expired, reason.clone())
        }
    }
}
