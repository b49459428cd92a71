//! The suppression list read on the thread that asks.
//!
//! sqlx runs each SQLite connection on a thread of its own: a query is a
//! message to that thread and an answer back, two thread wake-ups and a
//! pooled connection to wait for. The dispatcher's opt-out gate asks just
//! before provider calls, several times a round, and in a drain those
//! round trips were three statements in four and most of the daemon's
//! thread switches (README, #17). Looking up a few keys in one small index
//! takes SQLite itself microseconds, so this connection answers where it
//! is asked, as SQLite is meant to be used in-process; rusqlite because
//! sqlx has no synchronous API. It shares sqlx's SQLite library build.
//!
//! Each look-up is its own read transaction, begun when it is asked, so it
//! sees every suppression committed before that (safety invariant 1). In
//! WAL mode a reader waits for nobody: not for the writer, nor for a
//! checkpoint (`PASSIVE`), so the asking thread is held only for the
//! look-up itself.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::store::StoreError;

#[derive(Debug)]
pub(super) struct InPlaceReader {
    conn: Mutex<Connection>,
}

impl InPlaceReader {
    /// A reader of the database file at `path`, which already exists.
    pub(super) fn open(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(busy_timeout)?;
        // It reads, and nothing it runs may write.
        conn.pragma_update(None, "query_only", true)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Which of these number hashes are on the suppression list now.
    pub(super) fn suppressed(&self, hashes: &[&str]) -> Result<HashSet<String>, StoreError> {
        // One statement for any number of hashes, so it is prepared once:
        // the list goes in as a JSON array. CROSS JOIN keeps the list the
        // outer loop (one key look-up each); `IN (SELECT …)` would build a
        // temporary table every time.
        let list = serde_json::to_string(hashes).expect("strings always serialise");
        // A panic elsewhere while holding the lock leaves the connection sound.
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut find = conn.prepare_cached(
            "SELECT s.mobile_hash FROM json_each(?1) AS asked \
             CROSS JOIN suppressions AS s ON s.mobile_hash = asked.value",
        )?;
        let found = find
            .query_map([list], |row| row.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use chrono::Utc;

    use crate::domain::PhoneNumber;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{DispatchStore, InboundStore};
    use crate::vault::Vault;

    async fn store(url: &str) -> SqliteStore {
        let wait = Duration::from_secs(5);
        let store = SqliteStore::connect(url, 4, wait, Vault::ephemeral()).await;
        let store = store.unwrap();
        store.run_migrations().await.unwrap();
        store
    }

    /// More numbers than one SQL list of values holds (500 on SQLite), and
    /// every other one opted out.
    async fn finds_those_opted_out(store: &SqliteStore) {
        let asked: Vec<PhoneNumber> = (0..600)
            .map(|n| PhoneNumber::parse(&format!("+4474009{n:05}")).unwrap())
            .collect();
        let stopped: HashSet<PhoneNumber> = asked.iter().step_by(2).cloned().collect();
        for mobile in &stopped {
            store
                .suppress(mobile, "reply", "STOP", Utc::now())
                .await
                .unwrap();
        }
        let found = store.suppressed_among(&asked).await.unwrap();
        assert_eq!(found, stopped);
    }

    #[tokio::test]
    async fn a_store_on_a_file_reads_in_place_and_one_in_memory_asks_its_pool() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("h.db").display());
        let on_file = store(&url).await;
        assert!(on_file.in_place.is_some(), "a file is read in place");
        finds_those_opted_out(&on_file).await;
        let in_memory = store("sqlite::memory:").await;
        assert!(in_memory.in_place.is_none(), "memory has no file to open");
        finds_those_opted_out(&in_memory).await;
    }
}
