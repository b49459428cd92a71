//! The PostgreSQL store: several daemons, one queue.
//!
//! Its behaviour is the SQLite store's, query for query, and the shared
//! conformance suite in `tests/store` holds both to it. What differs is how
//! writers meet. SQLite lets one writer in at a time (`BEGIN IMMEDIATE`);
//! PostgreSQL runs them side by side, so every read-modify-write here locks
//! what it reads:
//! - rows that exist are read `FOR NO KEY UPDATE` (`FOR UPDATE` without
//!   blocking inserts that merely reference the row, such as a message's
//!   transitions), so a concurrent change waits and is then seen rather than
//!   overwritten;
//! - an upsert by external reference (people, events, imports) first takes a
//!   transaction-scoped advisory lock on its organisation, because two
//!   writers creating the same new person would otherwise both see nothing
//!   and one would fail on the unique key;
//! - claims use `FOR NO KEY UPDATE SKIP LOCKED`, so daemons claiming at
//!   once pass over each other's rows instead of queueing behind them, and
//!   commit before any provider is called.
//!
//! A list of keys (a batch's events, people or numbers) is matched with
//! `IN (SELECT unnest($1))`, never `= ANY($1)`: on a table still growing
//! (no statistics yet, as during a first import) PostgreSQL may scan it and
//! test every row against the whole array, which costs rows × keys; a
//! semi-join against the unnested list is linear whichever way it runs.
//!
//! Instants are `timestamptz`, which keeps microseconds where chrono keeps
//! nanoseconds; values handed back without a read are cut the same way (see
//! [`rows::stored`]). Times always come from the caller's clock, never from
//! SQL's `now()`.
//!
//! Connections: a bounded pool that tests each connection before handing it
//! out, so after a PostgreSQL restart dead connections are dropped and new
//! ones made without a daemon restart; every statement runs under a
//! `statement_timeout`. JIT compilation is off: Homeward's queries are
//! short, and on a table without statistics PostgreSQL can misjudge one as
//! costly enough to compile, which alone took longer (over 100 ms) than
//! running it.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio::sync::Mutex;

use super::{ImportOutcome, ImportRecord, NewToken, Page, Store, StoreError};
use crate::domain::{
    Caller, Event, EventDetail, EventId, NewEvent, NewPerson, OrgId, OrgName, Organisation, Person,
    PersonId, TokenHash, TokenId, UpsertOutcome,
};
use crate::vault::{Field, Vault};

mod dialect;
mod dispatch;
mod import;
mod leader;
mod messages;
mod people;
mod rows;

use people::{
    EVENT_COLUMNS, EventColumns, PERSON_COLUMNS, event_from_row, find_event, find_person,
    org_from_row, person_from_row, upsert_event, upsert_person,
};
use rows::{parsed, stored};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How the store reaches PostgreSQL.
#[derive(Debug, Clone, Copy)]
pub struct PostgresOptions {
    /// Connections in the pool, per daemon.
    pub max_connections: u32,
    /// A statement running longer than this is cancelled by the server; a
    /// query also waits at most this long for a free connection (or for
    /// PostgreSQL to come back after a restart).
    pub statement_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Leads held (or tried for) by this daemon, each on its own connection:
    /// a session advisory lock lives exactly as long as that connection.
    leads: Arc<Mutex<HashMap<String, leader::Lead>>>,
    /// Seals personal data on the way in and opens it on the way out.
    vault: Vault,
}

impl PostgresStore {
    /// Connect to `url` (`postgres://user:password@host:port/database`).
    pub async fn connect(
        url: &str,
        options: PostgresOptions,
        vault: Vault,
    ) -> Result<Self, StoreError> {
        let timeout_ms = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(url)?
            .application_name("homeward")
            .options([("statement_timeout", timeout_ms.as_str()), ("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.statement_timeout)
            .test_before_acquire(true)
            .connect_with(connect)
            .await?;
        Ok(Self {
            pool,
            leads: Arc::default(),
            vault,
        })
    }

    async fn write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

/// One 64-bit advisory lock key per purpose and name, the same in every
/// daemon and every PostgreSQL version.
fn lock_key(purpose: &str, name: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(b"homeward\0")
        .chain_update(purpose.as_bytes())
        .chain_update(b"\0")
        .chain_update(name.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Serialise upserts by external reference within one organisation until
/// the transaction ends.
async fn lock_org_ingest(conn: &mut PgConnection, org: OrgId) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(lock_key("ingest", &org.to_string()))
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        // Its own session with no statement timeout: a migration may
        // rewrite a large table. sqlx takes an advisory lock around the
        // run, so daemons starting together migrate once.
        let options = (*self.pool.connect_options())
            .clone()
            .options([("statement_timeout", "0")]);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let result = MIGRATOR.run(&pool).await;
        pool.close().await;
        Ok(result?)
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await?;
        match MIGRATOR.iter().find(|m| !applied.contains(&m.version)) {
            Some(missing) => Err(StoreError::Corrupt(format!(
                "migration {} ({}) is not applied",
                missing.version, missing.description
            ))),
            None => Ok(()),
        }
    }

    async fn create_org(
        &self,
        name: &OrgName,
        now: DateTime<Utc>,
    ) -> Result<Organisation, StoreError> {
        let org = Organisation {
            id: OrgId::new(),
            name: name.clone(),
            created_at: stored(now),
        };
        let result =
            sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(org.id.to_string())
                .bind(name.as_str())
                .bind(now)
                .execute(&self.pool)
                .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("an organisation named {name:?}"),
            )),
            other => other.map(|_| org).map_err(Into::into),
        }
    }

    async fn org_by_name(&self, name: &OrgName) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM organisations WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    async fn orgs(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(org_from_row).collect()
    }

    async fn create_token(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> Result<TokenId, StoreError> {
        let id = TokenId::new();
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, token_hash, role, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(token.org_id.to_string())
        .bind(token.hash.as_str())
        .bind(token.role.as_str())
        .bind(token.label.as_deref())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    async fn caller_for_token(&self, hash: &TokenHash) -> Result<Option<Caller>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Caller {
            token_id: parsed(&row, "id")?,
            org_id: parsed(&row, "org_id")?,
            role: parsed(&row, "role")?,
        }))
    }

    async fn upsert_person(
        &self,
        org: OrgId,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<(Person, UpsertOutcome), StoreError> {
        let mut tx = self.write().await?;
        lock_org_ingest(&mut tx, org).await?;
        let key = ("external_ref", person.external_ref.as_str());
        let existing = find_person(&mut tx, &self.vault, org, key).await?;
        let result = upsert_person(&mut tx, &self.vault, org, person, existing, now).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn person(&self, org: OrgId, id: PersonId) -> Result<Option<Person>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| person_from_row(&row, &self.vault))
            .transpose()
    }

    async fn people(&self, org: OrgId, page: Page<PersonId>) -> Result<Vec<Person>, StoreError> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(page.after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(page.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| person_from_row(row, &self.vault))
            .collect()
    }

    async fn update_person(
        &self,
        org: OrgId,
        id: PersonId,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<Option<Person>, StoreError> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE people SET first_name = $1, mobile = $2, language = $3, updated_at = $4, \
             mobile_invalid_since = CASE WHEN mobile_hash = $7 THEN mobile_invalid_since ELSE NULL END, \
             mobile_hash = $7 WHERE org_id = $5 AND id = $6",
        )
        .bind(self.vault.seal(Field::FirstName, person.first_name.as_str()))
        .bind(self.vault.seal(Field::Mobile, person.mobile.as_e164()))
        .bind(person.language.as_str())
        .bind(now)
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(self.vault.index(&person.mobile).as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let person = find_person(&mut tx, &self.vault, org, ("id", &id.to_string())).await?;
        tx.commit().await?;
        Ok(person)
    }

    async fn upsert_event(
        &self,
        org: OrgId,
        person: PersonId,
        event: &NewEvent,
        now: DateTime<Utc>,
    ) -> Result<(Event, UpsertOutcome), StoreError> {
        let mut tx = self.write().await?;
        lock_org_ingest(&mut tx, org).await?;
        let existing = find_event(&mut tx, org, person, &event.event_ref).await?;
        let result = upsert_event(&mut tx, org, person, event, existing, now).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn events(&self, org: OrgId, person: PersonId) -> Result<Vec<Event>, StoreError> {
        // A liberation's date sorts as its UTC midnight, as its text does
        // against an appointment's instant on SQLite.
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND person_id = $2 \
             ORDER BY COALESCE(local_date::timestamp AT TIME ZONE 'UTC', starts_at), id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(person.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn event(
        &self,
        org: OrgId,
        person: PersonId,
        id: EventId,
    ) -> Result<Option<Event>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND person_id = $2 AND id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(person.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn update_event(
        &self,
        org: OrgId,
        person: PersonId,
        id: EventId,
        detail: &EventDetail,
        now: DateTime<Utc>,
    ) -> Result<Option<Event>, StoreError> {
        let mut tx = self.write().await?;
        let c = EventColumns::of(detail);
        let sql = format!(
            "UPDATE events SET kind = $1, status = $2, local_date = $3, starts_at = $4, \
             establishment = $5, place = $6, appointment_type = $7, updated_at = $8 \
             WHERE org_id = $9 AND person_id = $10 AND id = $11 RETURNING {EVENT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(c.kind)
            .bind(c.status)
            .bind(c.local_date)
            .bind(c.starts_at)
            .bind(c.establishment)
            .bind(c.place)
            .bind(c.appointment_type)
            .bind(now)
            .bind(org.to_string())
            .bind(person.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        tx.commit().await?;
        event_from_row(&row).map(Some)
    }

    async fn import(
        &self,
        org: OrgId,
        records: &[ImportRecord],
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        let mut tx = self.write().await?;
        lock_org_ingest(&mut tx, org).await?;
        let outcomes = import::import(&mut tx, &self.vault, org, records, now).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::lock_key;

    #[test]
    fn lock_keys_are_stable_and_kept_apart_by_purpose() {
        assert_eq!(lock_key("lead", "twilio"), lock_key("lead", "twilio"));
        assert_ne!(lock_key("lead", "twilio"), lock_key("ingest", "twilio"));
        assert_ne!(lock_key("lead", "twilio"), lock_key("lead", "vonage"));
    }
}

crate::store::access::access_store!(PostgresStore, sqlx::Postgres);
crate::store::journal::import_journal!(PostgresStore);
crate::store::privacy::privacy_store!(PostgresStore, sqlx::Postgres);
crate::store::inbound::inbound_store!(PostgresStore, sqlx::Postgres);
crate::store::messages::message_store!(PostgresStore, sqlx::Postgres);
crate::store::dispatch::dispatch_store!(PostgresStore, sqlx::Postgres);
