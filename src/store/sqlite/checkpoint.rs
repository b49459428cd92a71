//! Checkpoints off the write path.
//!
//! In WAL mode a commit appends pages to the log, and a checkpoint copies
//! them back into the database file. SQLite's default has the writer whose
//! commit takes the log past 1,000 pages checkpoint there and then, inside
//! its write turn: a planning sweep spent a third of its time doing that
//! while every other writer waited. Here a task of its own, on a connection
//! of its own, checkpoints after commits, so the copying runs beside the
//! next write instead of before it. A `PASSIVE` checkpoint never waits for
//! (or holds up) readers or the writer; what it cannot copy yet, the next
//! one does.
//!
//! Writers still checkpoint themselves once the log passes
//! [`BACKSTOP_PAGES`] (the task fell behind), so the log stays bounded
//! either way, and its file is cut back to [`LOG_FILE_LIMIT`] after.

use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::mpsc;

use crate::store::StoreError;

/// `wal_autocheckpoint`: pages in the log (4 KiB each, 64 MiB in all) at
/// which a committing writer checkpoints itself.
pub(super) const BACKSTOP_PAGES: u32 = 16_384;
/// `journal_size_limit` in bytes: the log file's size kept after a
/// checkpoint empties it.
pub(super) const LOG_FILE_LIMIT: u64 = 64 * 1024 * 1024;
/// The least time between two checkpoints. Each copies the latest version
/// of every page committed since the last: after every commit, a page
/// written by each of a drain's rounds (its indexes' hot end) would be
/// copied some eighty times a second.
const PAUSE: Duration = Duration::from_millis(200);

/// Wakes the checkpoint task; cloned with the store. When the last clone
/// goes, the task closes its connection and ends.
#[derive(Debug, Clone)]
pub(super) struct Checkpointer {
    wake: Option<mpsc::Sender<()>>,
}

impl Checkpointer {
    /// Open the task's connection and start it. A database without a log
    /// (in memory) needs no checkpoints: then this does nothing.
    pub(super) async fn start(options: &SqliteConnectOptions) -> Result<Self, StoreError> {
        let mut conn = SqliteConnection::connect_with(options).await?;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.close().await?;
            return Ok(Self { wake: None });
        }
        // One waiting wake-up covers any number of commits before it runs.
        let (wake, woken) = mpsc::channel(1);
        tokio::spawn(run(conn, woken));
        Ok(Self { wake: Some(wake) })
    }

    /// A commit added pages to the log.
    pub(super) fn committed(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

async fn run(mut conn: SqliteConnection, mut woken: mpsc::Receiver<()>) {
    while woken.recv().await.is_some() {
        // A failure costs nothing but time: writers checkpoint themselves
        // at the backstop.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::debug!(error = %e, "background checkpoint failed");
        }
        tokio::time::sleep(PAUSE).await;
    }
    let _ = conn.close().await;
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use chrono::Utc;
    use sqlx::Connection;
    use sqlx::sqlite::SqliteConnection;

    use crate::domain::OrgName;
    use crate::store::Store;
    use crate::store::sqlite::SqliteStore;
    use crate::vault::Vault;

    /// The organisations in the database file itself, ignoring its log.
    async fn in_file(path: &std::path::Path) -> Option<i64> {
        let url = format!("sqlite://{}?immutable=1", path.display());
        let mut conn = SqliteConnection::connect(&url).await.ok()?;
        let count = sqlx::query_scalar("SELECT count(*) FROM organisations")
            .fetch_one(&mut conn)
            .await
            .ok();
        let _ = conn.close().await;
        count
    }

    #[tokio::test]
    async fn a_commit_reaches_the_database_file_though_the_log_is_far_below_the_backstop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homeward.db");
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::connect(&url, 2, Duration::from_secs(5), Vault::ephemeral())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let name = OrgName::parse("HMP Checkpoint").unwrap();
        store.create_org(&name, Utc::now()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while in_file(&path).await != Some(1) {
            assert!(
                Instant::now() < deadline,
                "the organisation is still only in the log"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
