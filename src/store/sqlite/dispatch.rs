//! Claims, outcomes and send-time checks in SQLite.
//!
//! A claim is committed before the provider is called and its outcome right
//! after, so a crash leaves each message waiting, sent, or claimed with a
//! lease that runs out; an expired claim is simply due again (see README,
//! "Crash safety"). Every outcome is written only while the claim is still
//! this worker's, so two daemons never both record one message.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use super::messages::{Change, MESSAGE_COLUMNS, message_from_row, record, record_all};
use crate::domain::{Message, MessageId, MessageState, PersonId, PhoneNumber};
use crate::store::{ClaimedMessage, DispatchStore, SendRecord, StoreError};

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
        let sql = format!(
            "SELECT {columns}, m.attempts, p.mobile_invalid_since IS NOT NULL AS number_invalid \
             FROM messages m JOIN people p ON p.id = m.person_id \
             WHERE (m.state IN ('pending', 'retrying') AND m.send_at <= ?) \
                OR (m.state = 'claimed' AND m.lease_until < ?) \
             ORDER BY m.send_at, m.priority LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
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

    async fn record_send(
        &self,
        id: MessageId,
        worker: &str,
        outcome: &SendRecord,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE messages SET updated_at = ");
        q.push_bind(now)
            .push(", lease_until = NULL, claimed_by = NULL, state = ");
        let (to, reason) = match outcome {
            SendRecord::Sent {
                provider,
                provider_id,
            } => {
                q.push_bind("sent")
                    .push(", attempts = attempts + 1, sent_at = ")
                    .push_bind(now);
                q.push(", provider = ").push_bind(provider.as_str());
                q.push(", provider_message_id = ")
                    .push_bind(provider_id.as_str());
                (
                    MessageState::Sent,
                    format!("accepted by {provider} as {provider_id}"),
                )
            }
            SendRecord::Retry {
                at,
                reason,
                count_attempt,
            } => {
                let state = if *count_attempt {
                    "retrying"
                } else {
                    "pending"
                };
                q.push_bind(state).push(", send_at = ").push_bind(*at);
                if *count_attempt {
                    q.push(", attempts = attempts + 1");
                }
                let to = if *count_attempt {
                    MessageState::Retrying
                } else {
                    MessageState::Pending
                };
                (to, reason.clone())
            }
            SendRecord::Failed { reason } => {
                q.push_bind("failed").push(", attempts = attempts + 1");
                (MessageState::Failed, reason.clone())
            }
            SendRecord::Suppressed { reason } => {
                q.push_bind("suppressed");
                (MessageState::Suppressed, reason.clone())
            }
            SendRecord::Expired { reason } => {
                q.push_bind("expired");
                (MessageState::Expired, reason.clone())
            }
        };
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

    async fn is_suppressed(&self, mobile: &PhoneNumber) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM suppressions WHERE mobile_hash = ?")
                .bind(self.vault.index(mobile).as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
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
        let mut tx = self.write().await?;
        sqlx::query("UPDATE people SET mobile_invalid_since = COALESCE(mobile_invalid_since, ?) WHERE id = ?")
            .bind(now)
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
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
             WHERE mobile_hash = ? AND state IN ('sent', 'delivered', 'failed', 'claimed') AND COALESCE(sent_at, send_at) >= ? AND id <> ? AND reply_to IS NULL",
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
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE (provider = ? AND provider_message_id = ?) OR id = ? LIMIT 1"
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
                "UPDATE messages SET state = ?, updated_at = ? WHERE id = ? AND state = 'sent'",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(message.id.to_string())
            .execute(&mut *tx)
            .await?;
            record(
                &mut tx,
                message.id,
                Some(MessageState::Sent),
                to,
                &reason,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(message))
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
