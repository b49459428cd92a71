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

use sha2::{Digest, Sha256};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio::sync::Mutex;

use super::StoreError;
use crate::store::people::{EVENT_COLUMNS, PERSON_COLUMNS, event_from_row, person_from_row};
use crate::vault::Vault;

mod dialect;
mod dispatch;
mod leader;
mod messages;
mod people;
mod rows;

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
    /// Which of these number hashes are on the suppression list.
    async fn suppressed_hashes(
        &self,
        hashes: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        pooled_suppressed_hashes(&self.pool, hashes).await
    }

    /// A pooled connection idle this long is checked before it is handed
    /// out (see `check_if_idle`).
    pub const CHECK_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

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
            .test_before_acquire(false)
            .before_acquire(|conn, meta| Box::pin(check_if_idle(conn, meta)))
            .connect_with(connect)
            .await?;
        Ok(Self {
            pool,
            leads: Arc::default(),
            vault,
        })
    }

    /// Its own session with no statement timeout: a migration may
    /// rewrite a large table. sqlx takes an advisory lock around the run,
    /// so daemons starting together migrate once.
    async fn run_migrations(&self) -> Result<(), StoreError> {
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

    async fn write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

/// Check a connection that sat idle (PostgreSQL may have restarted, or an
/// operator ended its session, since): an error drops it and the pool
/// hands out another, so the caller never sees the dead one. Checking
/// every connection, as sqlx's `test_before_acquire` does, cost a round
/// trip per statement: under load a connection is back in use within
/// milliseconds, and the dispatcher's opt-out look-up just before each
/// provider call waited for two round trips instead of one.
async fn check_if_idle(
    conn: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for >= PostgresStore::CHECK_AFTER_IDLE {
        sqlx::Connection::ping(conn).await?;
    }
    Ok(true)
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

/// Autovacuum analyses a table some time after it changed; a large import
/// read straight after (a liberation day's upload, then today's work) was
/// planned without knowing a person's rows are few, and walked the whole
/// organisation. So, like SQLite's `PRAGMA optimize`, analyse now each table
/// changed by more than a tenth since its last analysis, or never analysed.
#[async_trait::async_trait]
impl crate::store::UpkeepStore for PostgresStore {
    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND (n_mod_since_analyze > n_live_tup / 10 \
             OR (last_analyze IS NULL AND last_autoanalyze IS NULL))",
        )
        .fetch_all(&self.pool)
        .await?;
        // Each table on its own: one that cannot be analysed (a lock, a
        // role that does not own it) leaves the others' statistics fresh.
        let mut failed = None;
        for table in stale {
            if let Err(e) = sqlx::query(&format!("ANALYZE {table}"))
                .execute(&self.pool)
                .await
            {
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), |e| Err(e.into()))
    }
}

crate::store::access::access_store!(PostgresStore, sqlx::Postgres);
crate::store::journal::import_journal!(PostgresStore);
crate::store::staff::staff_store!(PostgresStore, sqlx::Postgres);
crate::store::casework::casework_store!(PostgresStore, sqlx::Postgres);
crate::store::privacy::privacy_store!(PostgresStore, sqlx::Postgres);
crate::store::inbound::inbound_store!(PostgresStore, sqlx::Postgres);
crate::store::messages::message_store!(PostgresStore, sqlx::Postgres);
crate::store::dispatch::dispatch_store!(PostgresStore, sqlx::Postgres);
crate::store::people::people_store!(PostgresStore, sqlx::Postgres);
