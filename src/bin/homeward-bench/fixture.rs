//! A fresh Homeward for one figure: a new database, settings built from the
//! defaults with the figure's overrides, an organisation, and generated
//! people to import.
//!
//! The pieces are the composition root's own (`open_store`,
//! `build_planner`, `Ingest`), so the figures measure the code the daemon
//! runs. Generated people have numbers `07400 100000` upwards: valid UK
//! mobiles, which may belong to real people, so every figure sends them
//! only to a fake on loopback.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use homeward::accounts::{Accounts, SignedIn};
use homeward::clock::{Clock, SystemClock};
use homeward::config::Settings;
use homeward::domain::{Actor, OrgId, OrgName, Role, TokenSecret};
use homeward::ingest::csv_file::ImportKind;
use homeward::ingest::{ImportProgress, ImportSummary, Ingest};
use homeward::planner::Planner;
use homeward::startup;
use homeward::store::{NewToken, Store};
use homeward::vault::Vault;
use sqlx::{Connection, Executor};

/// Where the generated numbers start; person `i` has `07400 {100000 + i}`.
const FIRST_NUMBER: u32 = 100_000;
/// The most people one figure can generate numbers for.
pub const MAX_PEOPLE: u32 = 900_000;
/// The secret the webhook provider and the fakes share.
pub const HOOK_SECRET: &str = "homeward-bench-secret";
/// The organisation every figure's people belong to.
pub const ORG_NAME: &str = "Bench Throughcare";
/// The provider name in every figure's settings.
pub const HOOK: &str = "hook";

/// Which database a figure runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// A server URL whose user may create databases.
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Which campaign rules a figure plans with.
#[derive(Debug, Clone, Copy)]
pub enum Rules {
    /// `config/campaigns.toml`, as shipped.
    Shipped,
    /// None at all: an import that plans nothing.
    Empty,
    /// One text on liberation day at 00:00, so people released today have
    /// a text due at once.
    DueToday,
    /// Five texts for each liberation, on the day and the four after it.
    FivePerLiberation,
}

/// A folder under the system's temporary folder, removed when dropped.
pub struct ScratchDir {
    path: PathBuf,
    /// Unique to this folder: `<pid>_<n>`.
    tag: String,
}

impl ScratchDir {
    pub fn new() -> anyhow::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}_{n}", std::process::id());
        let path = std::env::temp_dir().join(format!("homeward-bench-{tag}"));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("Failed to create {}", path.display()))?;
        Ok(Self { path, tag })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::env::var_os("BENCH_KEEP").is_some() {
            eprintln!("KEPT {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A database made for one figure: a file in a scratch folder, or a
/// database created on the PostgreSQL server and dropped by [`Fixture::close`].
pub struct Database {
    pub url: String,
    /// The server URL and the database's name, to drop it afterwards.
    postgres: Option<(String, String)>,
}

impl Database {
    async fn create(backend: &Backend, dir: &ScratchDir) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => Ok(Self {
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                postgres: None,
            }),
            Backend::Postgres(server) => {
                let name = format!("homeward_bench_{}", dir.tag);
                let mut admin = sqlx::PgConnection::connect(server)
                    .await
                    .context("Failed to connect to --postgres-url")?;
                admin
                    .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                    .await
                    .context("Failed to create a database on --postgres-url")?;
                let mut url = url::Url::parse(server).context("--postgres-url is not a URL")?;
                url.set_path(&format!("/{name}"));
                Ok(Self {
                    url: url.to_string(),
                    postgres: Some((server.clone(), name)),
                })
            }
        }
    }

    async fn drop_postgres(&self) {
        let Some((server, name)) = &self.postgres else {
            return;
        };
        if std::env::var_os("BENCH_KEEP").is_some() {
            eprintln!("KEPT the database {name}");
            return;
        }
        if let Ok(mut admin) = sqlx::PgConnection::connect(server).await {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            if let Err(e) = admin.execute(sql.as_str()).await {
                eprintln!("warning: could not drop the bench database {name}: {e}");
            }
        }
    }
}

/// The store, settings and organisation one figure works with.
pub struct Fixture {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub org: OrgId,
    pub database: Database,
    /// The keys the store seals with.
    vault: Vault,
    /// Holds the database file (SQLite) and the rules; removed on drop.
    _dir: ScratchDir,
}

impl Fixture {
    /// A fresh database with an organisation, planned with `rules`, and
    /// the defaults changed by `overrides` (dotted key, TOML value).
    pub async fn new(
        backend: &Backend,
        rules: Rules,
        overrides: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let dir = ScratchDir::new()?;
        let database = Database::create(backend, &dir).await?;
        let settings = settings(&database.url, rules, &dir, overrides)?;
        let (store, vault) = startup::open_store_and_vault(&settings.database).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let name = OrgName::parse(ORG_NAME).expect("a valid name");
        let org = store.create_org(&name, clock.now()).await?.id;
        Ok(Self {
            settings,
            store,
            clock,
            org,
            database,
            vault,
            _dir: dir,
        })
    }

    pub fn planner(&self) -> anyhow::Result<Planner> {
        startup::build_planner(&self.settings, self.store.clone(), self.clock.clone())
    }

    /// The planner for other settings (e.g. other rules) on this database.
    pub fn planner_with(&self, settings: &Settings) -> anyhow::Result<Planner> {
        startup::build_planner(settings, self.store.clone(), self.clock.clone())
    }

    /// Import a releases CSV exactly as `homeward import releases` does.
    pub async fn import(
        &self,
        csv: Vec<u8>,
        progress: &dyn ImportProgress,
    ) -> anyhow::Result<ImportSummary> {
        self.import_into(self.org, csv, progress).await
    }

    /// [`Self::import`] into another organisation of this database.
    pub async fn import_into(
        &self,
        org: OrgId,
        csv: Vec<u8>,
        progress: &dyn ImportProgress,
    ) -> anyhow::Result<ImportSummary> {
        let ingest = Ingest::new(
            self.store.clone(),
            self.clock.clone(),
            self.planner()?,
            &self.settings,
        );
        let summary = ingest
            .import(
                org,
                ImportKind::Releases,
                Cursor::new(csv),
                progress,
                homeward::domain::Actor::Cli,
            )
            .await?;
        if let Some(problem) = summary.problems.first() {
            bail!(
                "{} generated rows were refused; the first, line {}: {}",
                summary.rejected,
                problem.line,
                problem.error
            );
        }
        Ok(summary)
    }

    /// Direct access to the database, for what the store does not offer.
    /// A staff API token for the organisation, labelled for the figure.
    pub async fn staff_token(&self, label: &str) -> anyhow::Result<TokenSecret> {
        let secret = TokenSecret::generate();
        let token = NewToken {
            org_id: self.org,
            hash: secret.hash(),
            role: Role::Staff,
            label: Some(label.into()),
        };
        self.store.create_token(&token, self.clock.now()).await?;
        Ok(secret)
    }

    /// A member of staff of the organisation, signed in as on the sign-in
    /// page: their session cookie and form token, for figures that read
    /// the staff pages.
    pub async fn staff_session(&self) -> anyhow::Result<SignedIn> {
        const EMAIL: &str = "bench@example.org";
        const PASSWORD: &str = "a long bench passphrase";
        let (store, clock) = (self.store.clone(), self.clock.clone());
        let staff = self.settings.staff.clone();
        let accounts = Accounts::new(store, clock, self.vault.clone(), staff);
        let (_, link) = accounts
            .invite(self.org, EMAIL, Role::Staff, Actor::Cli)
            .await?;
        accounts
            .set_password(link.expose(), PASSWORD, PASSWORD)
            .await?;
        Ok(accounts.sign_in(EMAIL, PASSWORD, "homeward-bench").await?)
    }

    pub async fn raw(&self) -> anyhow::Result<Raw> {
        Raw::connect(&self.database.url).await
    }

    /// Drop the store's connections and, on PostgreSQL, the database.
    pub async fn close(self) {
        drop(self.store);
        self.database.drop_postgres().await;
    }

    pub fn today(&self) -> NaiveDate {
        self.clock
            .now()
            .with_timezone(&self.settings.time.zone)
            .date_naive()
    }
}

/// The `homeward` binary beside this one, built first when run by cargo
/// (so it is never older than this harness).
pub fn daemon_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("Failed to find this program")?;
    let dir = exe.parent().context("this program has no folder")?;
    let binary = dir.join("homeward");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = std::process::Command::new(cargo);
        build
            .args(["build", "--quiet", "--bin", "homeward"])
            .current_dir(project_dir());
        if dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().context("Failed to run cargo build")?;
        anyhow::ensure!(status.success(), "cargo build --bin homeward failed");
    }
    anyhow::ensure!(
        binary.is_file(),
        "{} is missing; build it with `cargo build --release --bin homeward`",
        binary.display()
    );
    Ok(binary)
}

/// The project's own folder: templates and the shipped rules live there.
pub fn project_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn settings(
    url: &str,
    rules: Rules,
    dir: &ScratchDir,
    overrides: &[(&str, String)],
) -> anyhow::Result<Settings> {
    let project = project_dir();
    let campaigns = match rules {
        Rules::Shipped => project.join("config/campaigns.toml"),
        Rules::Empty => write(dir, "no-rules.toml", "")?,
        Rules::DueToday => write(dir, "due-today.toml", DUE_TODAY_RULE)?,
        Rules::FivePerLiberation => write(dir, "five.toml", &five_per_liberation())?,
    };
    let quoted = |p: &Path| format!("{:?}", p.display().to_string());
    let mut all: Vec<(&str, String)> = vec![
        ("database.url", format!("{url:?}")),
        ("server.bind", "\"127.0.0.1:0\"".into()),
        ("log.level", "\"warn\"".into()),
        ("templates.directory", quoted(&project.join("templates"))),
        ("planner.campaigns_file", quoted(&campaigns)),
    ];
    all.extend(overrides.iter().cloned());
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(Settings::defaults_with(&pairs)?)
}

const DUE_TODAY_RULE: &str = "[[rule]]\nid = \"bench_due_today\"\nevent = \"liberation\"\n\
    offset_days = 0\nsend_at = \"00:00\"\ntemplate = \"gp_registration\"\nexpires_after_hours = 72\n";

fn five_per_liberation() -> String {
    let templates = ["gp_registration", "nhs_inform", "week_checkin"];
    (0..5)
        .map(|day| {
            let template = templates[day % templates.len()];
            format!(
                "[[rule]]\nid = \"bench_day_{day}\"\nevent = \"liberation\"\noffset_days = {day}\n\
                 send_at = \"10:00\"\ntemplate = \"{template}\"\nexpires_after_hours = 24\n"
            )
        })
        .collect()
}

fn write(dir: &ScratchDir, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.path().join(name);
    std::fs::write(&path, text).with_context(|| format!("Failed to write {}", path.display()))?;
    Ok(path)
}

/// Settings that send through the generic webhook provider at `url`.
pub fn hook_settings(url: &str, rate: u32, burst: u32) -> Vec<(&'static str, String)> {
    vec![
        ("providers.hook.kind", "\"webhook\"".into()),
        ("providers.hook.url", format!("{url:?}")),
        ("providers.hook.secret", format!("{HOOK_SECRET:?}")),
        ("providers.hook.rate_per_second", rate.to_string()),
        ("providers.hook.burst", burst.to_string()),
        ("dispatch.providers", format!("[{HOOK:?}]")),
    ]
}

/// Sending hours round the clock and no gap or cap in the way: the
/// dispatch figures measure sending, not the rules that hold texts back.
pub fn always_open() -> Vec<(&'static str, String)> {
    vec![
        ("planner.send_window_start", "\"00:00\"".into()),
        ("planner.send_window_end", "\"23:59\"".into()),
        ("planner.min_gap_minutes", "0".into()),
        ("planner.daily_cap", "10".into()),
    ]
}

/// Person `i`'s number as typed in a CSV file.
pub fn mobile(i: u32) -> String {
    format!("07400 {:06}", FIRST_NUMBER + i)
}

/// Person `i`'s number in E.164, as stored.
pub fn e164(i: u32) -> String {
    format!("+447400{:06}", FIRST_NUMBER + i)
}

/// A releases CSV of `people` generated people, released on `date(i)`.
/// The first names generated people have, in turn.
pub const NAMES: [&str; 8] = [
    "Alex", "Sam", "Jamie", "Morgan", "Chris", "Robin", "Kai", "Lee",
];

pub fn releases_csv(people: u32, date: impl Fn(u32) -> NaiveDate) -> Vec<u8> {
    assert!(people <= MAX_PEOPLE, "at most {MAX_PEOPLE} people");
    let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
    for i in 0..people {
        let name = NAMES[i as usize % NAMES.len()];
        csv.push_str(&format!("BENCH-{i},{name},{},{}\n", mobile(i), date(i)));
    }
    csv.into_bytes()
}

/// Direct database access for the few things a figure needs that the
/// store does not offer: reading and moving send times.
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A pending text as the provider will receive it.
pub struct PendingText {
    pub id: String,
    pub mobile: String,
    pub body: String,
    pub send_at: DateTime<Utc>,
}

impl Raw {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(if url.starts_with("sqlite:") {
            Self::Sqlite(sqlx::SqlitePool::connect(url).await?)
        } else {
            Self::Postgres(sqlx::PgPool::connect(url).await?)
        })
    }

    /// Every pending text, oldest send time first.
    pub async fn pending(&self) -> anyhow::Result<Vec<PendingText>> {
        const SQL: &str = "SELECT id, mobile, body, send_at FROM messages \
                           WHERE state = 'pending' ORDER BY send_at, id";
        type Row = (String, String, String, DateTime<Utc>);
        let rows: Vec<Row> = match self {
            Self::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
            Self::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
        };
        Ok(rows
            .into_iter()
            .map(|(id, mobile, body, send_at)| PendingText {
                id,
                mobile,
                body,
                send_at,
            })
            .collect())
    }

    /// Move pending texts to new send times, in one transaction.
    pub async fn set_send_times(
        &self,
        times: &HashMap<String, DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for (id, at) in times {
                    sqlx::query("UPDATE messages SET send_at = ? WHERE id = ?")
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Self::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for (id, at) in times {
                    sqlx::query("UPDATE messages SET send_at = $1 WHERE id = $2")
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// How many texts are in `state`.
    pub async fn count(&self, state: &str) -> anyhow::Result<u64> {
        let n: i64 = match self {
            Self::Sqlite(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE state = ?")
                    .bind(state)
                    .fetch_one(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE state = $1")
                    .bind(state)
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(n as u64)
    }

    /// How many rows `table` holds.
    pub async fn rows(&self, table: &str) -> anyhow::Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = match self {
            Self::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await?,
            Self::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await?,
        };
        Ok(n as u64)
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}
