//! A fresh database per test, on either backend, opened the way the daemon
//! opens it (settings → `startup::open_store`, which migrates).

use std::future::Future;
use std::sync::Arc;

use homeward::config::Settings;
use homeward::startup;
use homeward::store::Store;
use tempfile::TempDir;

use crate::throwaway::{self, Throwaway};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database a test runs on, and the store the test uses.
#[derive(Clone)]
pub struct Db {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    url: String,
    /// The keys sealing the test's personal data, shared by every store
    /// opened on its database.
    key_file: String,
}

impl Db {
    /// Another store on the same database, as a second daemon would open.
    pub async fn another(&self) -> Arc<dyn Store> {
        self.another_with(&[]).await
    }

    /// Another store on the same database, with other `database.*` settings.
    pub async fn another_with(&self, settings: &[(&str, &str)]) -> Arc<dyn Store> {
        let key_file = format!("{:?}", self.key_file);
        let mut all = vec![("database.key_file", key_file.as_str())];
        all.extend_from_slice(settings);
        open(&self.url, &all).await
    }

    /// A plain session on the test's PostgreSQL database, to do to it what
    /// an operator or another client might.
    pub async fn session(&self) -> sqlx::PgConnection {
        use sqlx::Connection;
        assert_eq!(self.backend, Backend::Postgres);
        sqlx::PgConnection::connect(&self.url)
            .await
            .expect("a session")
    }

    /// The keys every store on this database seals with.
    pub fn vault(&self) -> homeward::vault::Vault {
        homeward::vault::Vault::load(None, Some(std::path::Path::new(&self.key_file)))
            .expect("the test's key file")
            .vault
    }

    /// What someone holding the database alone could read: every byte of
    /// the SQLite files (the database and its write-ahead log), or every
    /// row of every PostgreSQL table as text.
    pub async fn everything_stored(&self) -> String {
        match self.backend {
            Backend::Sqlite => {
                let file = self.url.trim_start_matches("sqlite://");
                ["", "-wal", "-shm", "-journal"]
                    .iter()
                    .filter_map(|suffix| std::fs::read(format!("{file}{suffix}")).ok())
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .collect()
            }
            Backend::Postgres => {
                let mut session = self.session().await;
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
                )
                .fetch_all(&mut session)
                .await
                .unwrap();
                let mut all = String::new();
                for table in tables {
                    let sql = format!(
                        "SELECT COALESCE(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t"
                    );
                    let rows: String = sqlx::query_scalar(&sql)
                        .fetch_one(&mut session)
                        .await
                        .unwrap();
                    all.push_str(&rows);
                }
                all
            }
        }
    }

    /// One text column of a table as stored, in no particular order.
    pub async fn column(&self, table: &str, column: &str) -> Vec<Option<String>> {
        let sql = format!("SELECT {column} FROM {table}");
        match self.backend {
            Backend::Sqlite => {
                let mut conn = self.sqlite().await;
                sqlx::query_scalar(&sql).fetch_all(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut session = self.session().await;
                sqlx::query_scalar(&sql)
                    .fetch_all(&mut session)
                    .await
                    .unwrap()
            }
        }
    }

    /// Run statements on the database as an operator might, outside any
    /// store.
    pub async fn execute(&self, statements: &[&str]) {
        for sql in statements {
            match self.backend {
                Backend::Sqlite => {
                    let mut conn = self.sqlite().await;
                    sqlx::query(sql).execute(&mut conn).await.unwrap();
                }
                Backend::Postgres => {
                    let mut session = self.session().await;
                    sqlx::query(sql).execute(&mut session).await.unwrap();
                }
            };
        }
    }

    /// Empty the database and bring its schema to just before migration
    /// `version`, as an older Homeward left it.
    pub async fn schema_before(&self, version: i64) {
        let (folder, wipe): (&str, &[&str]) = match self.backend {
            Backend::Sqlite => ("migrations/sqlite", &[]),
            Backend::Postgres => (
                "migrations/postgres",
                &["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"],
            ),
        };
        self.execute(wipe).await;
        let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(folder))
            .await
            .expect("the migrations");
        let older: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect();
        migrator.migrations = older.into();
        match self.backend {
            Backend::Sqlite => {
                let mut conn = self.sqlite().await;
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for table in tables {
                    let sql = format!("DROP TABLE \"{table}\"");
                    sqlx::query(&sql).execute(&mut conn).await.unwrap();
                }
                // A pool: the migrator's future over a bare connection is not `Send`.
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                migrator.run(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                migrator.run(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    async fn sqlite(&self) -> sqlx::SqliteConnection {
        use sqlx::Connection;
        use sqlx::sqlite::SqliteConnectOptions;
        use std::str::FromStr;
        // Off, so that tables drop in any order.
        let options = SqliteConnectOptions::from_str(&self.url)
            .unwrap()
            .foreign_keys(false);
        sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("a connection")
    }

    /// End every other session on the test's database, as a PostgreSQL
    /// restart does, and wait until they are gone.
    pub async fn end_other_sessions(&self) {
        let mut admin = self.session().await;
        let others = "FROM pg_stat_activity WHERE datname = current_database() \
                      AND pid <> pg_backend_pid()";
        let ended: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) {others}"
        ))
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert!(ended > 0, "the stores had sessions to lose");
        for _ in 0..200 {
            let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) {others}"))
                .fetch_one(&mut admin)
                .await
                .unwrap();
            if left == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("sessions outlived pg_terminate_backend");
    }
}

/// Run `test` on a fresh database of `backend`, then remove the database,
/// whether the test passed or not.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Kept until the test ends: the folder of the keys and any SQLite file,
    // and any PostgreSQL database.
    let dir: TempDir = tempfile::tempdir().expect("a temp dir");
    let mut throwaway: Option<Throwaway> = None;
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("store.db").display()),
        Backend::Postgres => {
            let Some(server) = throwaway::server_url() else {
                return;
            };
            throwaway
                .insert(Throwaway::create(&server).await)
                .url
                .clone()
        }
    };
    let key_file = dir.path().join("test.keys").display().to_string();
    let quoted = format!("{key_file:?}");
    let db = Db {
        backend,
        store: open(&url, &[("database.key_file", quoted.as_str())]).await,
        url,
        key_file,
    };
    // On its own task, so that a failing test still reaches the clean-up.
    let outcome = tokio::spawn(test(db)).await;
    if let Some(db) = throwaway {
        db.remove().await;
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn open(url: &str, overrides: &[(&str, &str)]) -> Arc<dyn Store> {
    let value = format!("{url:?}");
    let mut settings = vec![
        ("database.url", value.as_str()),
        ("database.max_connections", "4"),
    ];
    settings.extend_from_slice(overrides);
    let settings = Settings::defaults_with(&settings).expect("test settings are valid");
    startup::open_store(&settings.database)
        .await
        .expect("the store opens and migrates")
}
