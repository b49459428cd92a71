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
use super::rows::{id, optional, parsed, unsealed};
use crate::domain::{
    AttentionItem, Inbound, MessageId, MessageState, MobileHash, NewAttention, OrgId, Person,
    PersonId, PhoneNumber, Suppression,
};
use crate::store::{InboundStore, StoreError, SuppressionChange, by_hash, note_from};
use crate::vault::{Field, Vault};

#[async_trait]
impl InboundStore for PostgresStore {
    async fn record_inbound(
        &self,
        inbound: &Inbound,
        people: &[Person],
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let added = sqlx::query(
            "INSERT INTO inbound_messages (id, provider, provider_message_id, from_number, to_number, body, intent, received_at, from_hash) \
             VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8) ON CONFLICT (provider, provider_message_id) DO NOTHING",
        )
        .bind(&inbound.id)
        .bind(&inbound.provider)
        .bind(&inbound.provider_message_id)
        .bind(self.vault.seal(Field::Mobile, &inbound.from))
        .bind(self.vault.seal(Field::Body, &inbound.body))
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

    async fn people_by_mobile(&self, mobile: &PhoneNumber) -> Result<Vec<Person>, StoreError> {
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
        mobile: &PhoneNumber,
        source: &str,
        reason: &str,
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let hash = self.vault.index(mobile);
        let removed = sqlx::query("DELETE FROM suppressions WHERE mobile_hash = $1")
            .bind(hash.as_str())
            .execute(&mut *tx)
            .await?;
        let removed = removed.rows_affected() > 0;
        if removed {
            let change = SuppressionChange {
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

    async fn suppression(&self, mobile: &PhoneNumber) -> Result<Option<Suppression>, StoreError> {
        let row = sqlx::query(
            "SELECT mobile_hash, source, reason, created_at, NULL::text[] AS people FROM suppressions WHERE mobile_hash = $1",
        )
        .bind(self.vault.index(mobile).as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| suppression_from_row(&r, &self.vault))
            .transpose()
    }

    async fn revive_suppressed(
        &self,
        mobile: &PhoneNumber,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE mobile_hash = $1 AND state = 'suppressed' \
             AND reply_to IS NULL AND expires_at > $2 ORDER BY id FOR NO KEY UPDATE",
        )
        .bind(self.vault.index(mobile).as_str())
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
    ) -> Result<HashSet<PhoneNumber>, StoreError> {
        let by_hash = by_hash(&self.vault, mobiles);
        let hashes: Vec<&str> = by_hash.keys().map(String::as_str).collect();
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT mobile_hash FROM suppressions WHERE mobile_hash = ANY($1::text[])",
        )
        .bind(&hashes)
        .fetch_all(&self.pool)
        .await?;
        Ok(found
            .iter()
            .filter_map(|h| by_hash.get(h))
            .cloned()
            .collect())
    }

    async fn suppressions(&self, org: Option<OrgId>) -> Result<Vec<Suppression>, StoreError> {
        let rows = match org {
            None => sqlx::query(
                "SELECT mobile_hash, source, reason, created_at, NULL::text[] AS people \
                 FROM suppressions ORDER BY created_at",
            )
            .fetch_all(&self.pool)
            .await?,
            Some(org) => {
                sqlx::query(
                    "SELECT s.mobile_hash, s.source, s.reason, s.created_at, array_agg(p.id ORDER BY p.id) AS people \
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
        person: Option<PersonId>,
        open_only: bool,
    ) -> Result<Vec<AttentionItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, person_id, kind, detail, inbound_id, message_id, created_at, resolved_at, resolution \
             FROM attention WHERE org_id = $1 AND ($3::text IS NULL OR person_id = $3) \
             AND (NOT $2 OR resolved_at IS NULL) ORDER BY created_at, id",
        )
        .bind(org.to_string())
        .bind(open_only)
        .bind(person.map(|p| p.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| attention_from_row(r, &self.vault))
            .collect()
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
        .bind(self.vault.seal(Field::Note, note))
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
        rows.iter()
            .map(|row| inbound_from_row(row, &self.vault))
            .collect()
    }

    async fn replied_since(
        &self,
        mobile: &PhoneNumber,
        template: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
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
pub(super) async fn log_suppression(
    conn: &mut PgConnection,
    vault: &Vault,
    mobile: &MobileHash,
    change: &SuppressionChange<'_>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO suppression_log (mobile_hash, action, source, reason, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(mobile.as_str())
    .bind(change.action)
    .bind(change.source)
    .bind(vault.seal(Field::Note, change.reason))
    .bind(change.actor)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn suppression_from_row(row: &PgRow, vault: &Vault) -> Result<Suppression, StoreError> {
    let people: Option<Vec<String>> = row.try_get("people")?;
    let people = people
        .unwrap_or_default()
        .iter()
        .map(|raw| id(raw))
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

fn inbound_from_row(row: &PgRow, vault: &Vault) -> Result<Inbound, StoreError> {
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

fn attention_from_row(row: &PgRow, vault: &Vault) -> Result<AttentionItem, StoreError> {
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
