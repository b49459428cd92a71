//! Throwaway PostgreSQL databases for tests, and what happens when there is
//! no PostgreSQL: in CI the tests fail loudly, elsewhere they are skipped
//! with a note saying how to run them.
//!
//! Shared by the `store` and `api` test binaries (the latter includes this
//! file by path).

use std::io::Write;
use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection};

/// The server tests create their databases on, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const URL_VAR: &str = "HOMEWARD_TEST_POSTGRES_URL";

/// Throwaway databases left behind (the API tests cannot drop theirs, a
/// test binary killed mid-run) are dropped by a later test once they are
/// this old and no session uses them.
const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The server to create test databases on; `None` means skip, which is only
/// allowed outside CI.
pub fn server_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{URL_VAR} is not set, and PostgreSQL tests never skip in CI. Set it to a server \
             where this user may create databases, e.g. \
             {URL_VAR}=postgres://postgres@127.0.0.1:5432/test"
        ),
        _ => {
            SKIP_NOTE.call_once(|| {
                // Written past the test harness's capture, so that a plain
                // `cargo test` shows it.
                let note = format!(
                    "\nSKIPPED: the PostgreSQL tests did not run ({URL_VAR} is not set). \
                     To run them: {URL_VAR}=postgres://postgres@127.0.0.1:5432/test cargo test\n"
                );
                std::io::stderr().write_all(note.as_bytes()).ok();
            });
            None
        }
    }
}

static SKIP_NOTE: Once = Once::new();

/// A database of its own for one test, dropped by [`Throwaway::remove`].
pub struct Throwaway {
    /// Where the test's store connects.
    pub url: String,
    name: String,
    server: String,
}

impl Throwaway {
    /// Create an empty database on `server` (whose own database is only
    /// used to run `CREATE DATABASE`).
    pub async fn create(server: &str) -> Self {
        let mut admin = PgConnection::connect(server)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {URL_VAR}: {e}"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        reap_stale(&mut admin, now).await;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("hw_{}_{}", now.as_secs(), &suffix[..12]);
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        admin.close().await.ok();
        let mut url = url::Url::parse(server).expect("a postgres:// URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            name,
            server: server.to_owned(),
        }
    }

    /// Drop the database, closing any session still on it. Best effort: a
    /// failure is reported, and a later run reaps what is left.
    pub async fn remove(self) {
        let dropped = async {
            let mut admin = PgConnection::connect(&self.server).await?;
            drop_database(&mut admin, &self.name).await?;
            admin.close().await
        };
        if let Err(e) = dropped.await {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

async fn drop_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(admin)
        .await
        .map(drop)
}

/// Drop unused throwaway databases created more than [`STALE_AFTER`] ago.
async fn reap_stale(admin: &mut PgConnection, now: Duration) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT d.datname FROM pg_database d WHERE d.datname LIKE 'hw\\_%' \
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in names {
        let created = name.split('_').nth(1).and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|secs| secs + STALE_AFTER.as_secs() < now.as_secs()) {
            drop_database(admin, &name).await.ok();
        }
    }
}
