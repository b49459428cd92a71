//! Replies, suppressions and the attention list in PostgreSQL.
//!
//! Replays are answered by unique keys, not by reading first: an inbound
//! text is inserted `ON CONFLICT DO NOTHING` on its provider id, and an
//! attention item on its open-item index, so two daemons receiving the same
//! webhook store it once.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::PostgresStore;
use super::messages::record_many;
use super::people::{PERSON_COLUMNS, person_from_row};
use super::rows::{id, optional, parsed};
use crate::domain::{
    AttentionItem, Inbound, MessageId, MessageState, NewAttention, OrgId, Person, PersonId,
    PhoneNumber, Suppression,
};
use crate::store::{InboundStore, StoreError};

#[async_trait]
impl InboundStore for PostgresStore {
    async fn record_inbound(
        &self,
        inbound: &Inbound,
        people: &[Person],
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let added = sqlx::query(
            "INSERT INTO inbound_messages (id, provider, provider_message_id, from_number, to_number, body, intent, received_at) \
             VALUES ($1, $2, $3, $4, '', $5, $6, $7) ON CONFLICT (provider, provider_message_id) DO NOTHING",
        )
        .bind(&inbound.id)
        .bind(&inbound.provider)
        .bind(&inbound.provider_message_id)
        .bind(&inbound.from)
        .bind(&inbound.body)
        .bind(&inbound.intent)
        .bind(inbound.received_at)
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

    async fn people_by_mobile(&self, mobile: &PhoneNumber) -> Result<Vec<Person>, StoreError> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE mobile = $1 ORDER BY updated_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(mobile.as_e164())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(person_from_row).collect()
    }

    async fn unsuppress(
        &self,
        mobile: &PhoneNumber,
        source: &str,
        reason: &str,
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let removed = sqlx::query("DELETE FROM suppressions WHERE mobile = $1")
            .bind(mobile.as_e164())
            .execute(&mut *tx)
            .await?;
        let removed = removed.rows_affected() > 0;
        if removed {
            log_suppression(&mut tx, mobile, "removed", source, reason, actor, now).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn suppression(&self, mobile: &PhoneNumber) -> Result<Option<Suppression>, StoreError> {
        let row = sqlx::query(
            "SELECT mobile, source, reason, created_at FROM suppressions WHERE mobile = $1",
        )
        .bind(mobile.as_e164())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(suppression_from_row).transpose()
    }

    async fn revive_suppressed(
        &self,
        mobile: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE mobile = $1 AND state = 'suppressed' \
             AND reply_to IS NULL AND expires_at > $2 ORDER BY id FOR NO KEY UPDATE",
        )
        .bind(mobile.as_e164())
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        sqlx::query("UPDATE messages SET state = 'pending', updated_at = $1 WHERE id = ANY($2)")
            .bind(now)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        let reason = "the person opted back in (START)";
        let moves = ids
            .iter()
            .map(|raw| Ok((id::<MessageId>(raw)?, MessageState::Suppressed, reason)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        record_many(&mut tx, &moves, MessageState::Pending, now).await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn suppressed_among(
        &self,
        mobiles: &[PhoneNumber],
    ) -> Result<HashSet<String>, StoreError> {
        let mobiles: Vec<&str> = mobiles.iter().map(PhoneNumber::as_e164).collect();
        let found: Vec<String> =
            sqlx::query_scalar("SELECT mobile FROM suppressions WHERE mobile = ANY($1)")
                .bind(&mobiles)
                .fetch_all(&self.pool)
                .await?;
        Ok(found.into_iter().collect())
    }

    async fn suppressions(&self, org: Option<OrgId>) -> Result<Vec<Suppression>, StoreError> {
        let rows = match org {
            None => sqlx::query(
                "SELECT mobile, source, reason, created_at FROM suppressions ORDER BY created_at",
            )
            .fetch_all(&self.pool)
            .await?,
            Some(org) => {
                sqlx::query(
                    "SELECT s.mobile, s.source, s.reason, s.created_at FROM suppressions s \
                     WHERE s.mobile IN (SELECT mobile FROM people WHERE org_id = $1) \
                     ORDER BY s.created_at",
                )
                .bind(org.to_string())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(suppression_from_row).collect()
    }

    async fn raise_attention(
        &self,
        item: &NewAttention,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO attention (id, org_id, person_id, kind, detail, inbound_id, message_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(MessageId::new().to_string())
        .bind(item.org_id.to_string())
        .bind(item.person_id.to_string())
        .bind(item.kind)
        .bind(&item.detail)
        .bind(item.inbound_id.as_deref())
        .bind(item.message_id.map(|m| m.to_string()))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn silent_people(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<(OrgId, PersonId)>, StoreError> {
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
        org: OrgId,
        open_only: bool,
    ) -> Result<Vec<AttentionItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, person_id, kind, detail, inbound_id, message_id, created_at, resolved_at, resolution \
             FROM attention WHERE org_id = $1 AND (NOT $2 OR resolved_at IS NULL) ORDER BY created_at, id",
        )
        .bind(org.to_string())
        .bind(open_only)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attention_from_row).collect()
    }

    async fn resolve_attention(
        &self,
        org: OrgId,
        id: &str,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError> {
        let mut tx = self.write().await?;
        let open: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
            "SELECT resolved_at FROM attention WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE",
        )
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
        .bind(note)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    async fn number_paused_since(
        &self,
        person: PersonId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let since: Option<Option<DateTime<Utc>>> =
            sqlx::query_scalar("SELECT mobile_invalid_since FROM people WHERE id = $1")
                .bind(person.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(since.flatten())
    }

    async fn inbound_for_person(
        &self,
        org: OrgId,
        person: PersonId,
    ) -> Result<Vec<Inbound>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.id, i.provider, i.provider_message_id, i.from_number, i.body, i.intent, i.received_at \
             FROM inbound_messages i JOIN inbound_people ip ON ip.inbound_id = i.id \
             WHERE ip.org_id = $1 AND ip.person_id = $2 ORDER BY i.received_at, i.id",
        )
        .bind(org.to_string())
        .bind(person.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(inbound_from_row).collect()
    }

    async fn replied_since(
        &self,
        mobile: &PhoneNumber,
        template: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE mobile = $1 AND template = $2 \
             AND reply_to IS NOT NULL AND created_at >= $3 \
             AND state NOT IN ('cancelled', 'failed', 'expired'))",
        )
        .bind(mobile.as_e164())
        .bind(template)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(found)
    }
}

/// Audit one change to the suppression list, in the caller's transaction.
pub(super) async fn log_suppression(
    conn: &mut PgConnection,
    mobile: &PhoneNumber,
    action: &str,
    source: &str,
    reason: &str,
    actor: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO suppression_log (mobile, action, source, reason, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(mobile.as_e164())
    .bind(action)
    .bind(source)
    .bind(reason)
    .bind(actor)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn suppression_from_row(row: &PgRow) -> Result<Suppression, StoreError> {
    Ok(Suppression {
        mobile: PhoneNumber::from_trusted_e164(row.try_get("mobile")?),
        source: row.try_get("source")?,
        reason: row.try_get("reason")?,
        since: row.try_get("created_at")?,
    })
}

fn inbound_from_row(row: &PgRow) -> Result<Inbound, StoreError> {
    Ok(Inbound {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        provider_message_id: row.try_get("provider_message_id")?,
        from: row.try_get("from_number")?,
        body: row.try_get("body")?,
        intent: row.try_get("intent")?,
        received_at: row.try_get("received_at")?,
    })
}

fn attention_from_row(row: &PgRow) -> Result<AttentionItem, StoreError> {
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
        resolution: row.try_get("resolution")?,
    })
}
