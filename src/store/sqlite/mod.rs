//! The embedded SQLite store.
//!
//! WAL mode lets readers carry on while one writer writes. Every write
//! transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that
//! reads before it writes cannot upgrade once another connection has
//! committed (SQLite answers "busy" at once, whatever the busy timeout), while
//! an immediate one queues politely for the write lock.
//!
//! Writers in this process also take turns for the one connection that
//! writes before they begin. SQLite lets one writer in at a time whatever
//! we do; without the turn, a connection that finds the lock taken sleeps
//! in SQLite's busy handler (1, 2, 5, 10… ms) rather than waking when the
//! lock frees, and eight dispatch tasks recording sends spend most of their
//! time asleep.
//! The busy timeout still covers writers in other processes (a CLI import
//! while the daemon runs).

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use self::checkpoint::Checkpointer;
use self::in_place::InPlaceReader;
use super::StoreError;
use crate::store::people::{EVENT_COLUMNS, PERSON_COLUMNS, event_from_row, person_from_row};
use crate::vault::Vault;

mod checkpoint;
mod dialect;
mod dispatch;
mod in_place;
mod messages;
mod people;
#[cfg(test)]
mod plans;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection that writes: waiting for it is waiting for the
    /// writer's turn (see the module header).
    writes: SqlitePool,
    checkpointer: Checkpointer,
    /// The suppression list, read without a round trip to a pooled
    /// connection's thread; `None` for a database in memory, which has no
    /// file to open a second time.
    in_place: Option<Arc<InPlaceReader>>,
    /// Seals personal data on the way in and opens it on the way out.
    vault: Vault,
}

/// A write transaction that holds this process's writer turn until it
/// commits or is dropped (rolled back).
pub(super) struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    checkpointer: Checkpointer,
}

impl WriteTx {
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        self.checkpointer.committed();
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

impl SqliteStore {
    async fn run_migrations(&self) -> Result<(), StoreError> {
        Ok(MIGRATOR.run(&self.pool).await?)
    }

    /// Open (creating if missing) the database at `url`, e.g. `sqlite://homeward.db`.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        busy_timeout: Duration,
        vault: Vault,
    ) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy_timeout)
            .foreign_keys(true)
            // A statement that changes many rows (a round's outcomes) keeps
            // the pages it may have to undo in a statement journal; as a
            // temporary file that was half the dispatcher's disk writes.
            // Sorts and index builds (a migration's, over every text) use
            // memory too: at a million texts, tens of megabytes for a moment.
            .pragma("temp_store", "memory")
            // Statistics from a sample (see `UpkeepStore`): a full analysis
            // of a million texts would hold the write lock for seconds.
            .pragma("analysis_limit", "400")
            // See `checkpoint`.
            .pragma("wal_autocheckpoint", checkpoint::BACKSTOP_PAGES.to_string())
            .pragma("journal_size_limit", checkpoint::LOG_FILE_LIMIT.to_string());
        // A file cannot drop a connection the way a server can, so the
        // pool's health check before every acquire (a round trip to the
        // connection's thread) buys nothing here.
        let pooled = SqlitePoolOptions::new().test_before_acquire(false);
        let pool = pooled
            .clone()
            .max_connections(max_connections.saturating_sub(1).max(1))
            .connect_with(options.clone())
            .await?;
        // Every write goes through one connection of its own, one of
        // `max_connections`. In WAL mode a connection drops its whole page
        // cache when another has committed since it last read, so writes
        // spread over the pool re-read their index pages from the file each
        // time; the connection that made every commit keeps its pages.
        let writes = pooled
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        let file = options.get_filename();
        let in_place = match file.is_file() {
            true => Some(Arc::new(InPlaceReader::open(file, busy_timeout)?)),
            false => None,
        };
        Ok(Self {
            pool,
            writes,
            checkpointer: Checkpointer::start(&options).await?,
            in_place,
            vault,
        })
    }

    /// Which of these number hashes are on the suppression list: read in
    /// place when the database is a file (see `in_place`).
    async fn suppressed_hashes(&self, hashes: &[&str]) -> Result<HashSet<String>, StoreError> {
        match &self.in_place {
            Some(reader) => reader.suppressed(hashes),
            None => pooled_suppressed_hashes(&self.pool, hashes).await,
        }
    }

    /// Wait for this process's writer turn, then begin an immediate
    /// transaction. Never call while holding another `WriteTx`.
    async fn write(&self) -> Result<WriteTx, StoreError> {
        Ok(WriteTx {
            tx: self.writes.begin_with("BEGIN IMMEDIATE").await?,
            checkpointer: self.checkpointer.clone(),
        })
    }
}

/// Without statistics SQLite's planner guesses every index equally
/// selective: a person's events were read through their organisation's.
/// `PRAGMA optimize` analyses only the tables that changed a lot since their
/// last analysis (or never had one), each from a sample of rows
/// (`analysis_limit`, set per connection), so it costs little.
#[async_trait::async_trait]
impl crate::store::UpkeepStore for SqliteStore {
    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        // 0x10002: look at every table, not only those this connection used.
        sqlx::query("PRAGMA optimize = 0x10002")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

crate::store::access::access_store!(SqliteStore, sqlx::Sqlite);
crate::store::journal::import_journal!(SqliteStore);
crate::store::staff::staff_store!(SqliteStore, sqlx::Sqlite);
crate::store::casework::casework_store!(SqliteStore, sqlx::Sqlite);
crate::store::privacy::privacy_store!(SqliteStore, sqlx::Sqlite);
crate::store::inbound::inbound_store!(SqliteStore, sqlx::Sqlite);
crate::store::messages::message_store!(SqliteStore, sqlx::Sqlite);
crate::store::dispatch::dispatch_store!(SqliteStore, sqlx::Sqlite);
crate::store::people::people_store!(SqliteStore, sqlx::Sqlite);
