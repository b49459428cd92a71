//! The composition root: the only place that names concrete types
//! (`SqliteStore`, `PostgresStore`, `SystemClock`), wires them together, and
//! owns shutdown.
//!
//! Shutdown is one [`CancellationToken`]: SIGINT/SIGTERM cancel it, the HTTP
//! server stops accepting and lets in-flight requests finish, and a deadline
//! bounds how long that may take.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::actions::Actions;
use crate::audit::AuditLog;
use crate::casework::Casework;
use crate::clock::{Clock, SystemClock};
use crate::config::{DatabaseBackend, DatabaseSettings, Settings};
use crate::dispatch::{ConfiguredProvider, Dispatcher};
use crate::domain::Language;
use crate::http::{self, ApiRateLimit, AppState};
use crate::ingest::Ingest;
use crate::jobs;
use crate::optout::Replies;
use crate::planner::rules::{self, CampaignRule};
use crate::planner::{CapPolicy, Planner};
use crate::privacy::Privacy;
use crate::providers;
use crate::store::{PostgresOptions, PostgresStore, Reseal, SqliteStore, Store};
use crate::telemetry;
use crate::templates::{self, TemplateCatalogue};
use crate::vault::{Loaded, Vault};
use secrecy::ExposeSecret;

/// A built, bound, not yet running daemon.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
    grace: Duration,
    header_timeout: Duration,
    templates: TemplateCatalogue,
    sweeps: tokio::task::JoinHandle<()>,
    dispatcher: Dispatcher,
    send: bool,
    /// Where staff open the pages.
    base_url: String,
    /// On a database with no accounts yet: the one-time setup link's token.
    setup_link: Option<String>,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Build with a given clock, so tests can set the time.
    pub async fn build_with_clock(
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        // Templates and rules are checked before the database is touched.
        let (catalogue, rules) = load_plan_inputs(settings, templates::Warnings::Log)?;
        let (store, vault) = open_store_and_vault(&settings.database).await?;
        // One cap policy (sending hours, daily cap, gap) for planning and
        // sending alike.
        let policy = CapPolicy::from_settings(settings);
        let planner = Planner::new(
            store.clone(),
            clock.clone(),
            catalogue,
            rules,
            policy,
            settings,
        );
        let templates = planner.catalogue().clone();
        let ingest = Ingest::new(store.clone(), clock.clone(), planner.clone(), settings);
        let dispatcher = Dispatcher::new(
            store.clone(),
            clock.clone(),
            build_providers(settings, clock.clone())?,
            policy,
            settings,
        );
        let replies = Replies::new(
            store.clone(),
            clock.clone(),
            planner.clone(),
            &settings.optout,
        );
        let silent_check = replies.clone();
        recover_imports(&ingest).await?;
        let privacy = Privacy::new(store.clone(), clock.clone(), settings.retention.keep_for());
        let accounts = Accounts::new(
            store.clone(),
            clock.clone(),
            vault.clone(),
            settings.staff.clone(),
        );
        let setup_link = accounts
            .first_run_link()
            .await?
            .map(|secret| secret.expose().to_owned());
        let audit = AuditLog::new(store.clone(), clock.clone());
        let actions = Actions::new(store.clone(), ingest.clone(), audit.clone());
        let state = AppState {
            store: store.clone(),
            ingest: ingest.clone(),
            dispatcher: dispatcher.clone(),
            replies: replies.clone(),
            privacy: privacy.clone(),
            metrics: telemetry::metrics(),
            public_base_url: settings.server.public_base_url.clone(),
            clock: clock.clone(),
            audit,
            actions,
            api_limit: Arc::new(ApiRateLimit::new(
                settings.server.api_rate_per_second,
                settings.server.api_burst,
                clock.clone(),
            )),
            token_use: Arc::default(),
            accounts: accounts.clone(),
            casework: Casework::new(
                store.clone(),
                clock.clone(),
                dispatcher.clone(),
                settings.time.zone,
                ingest.mobiles().clone(),
            ),
        };
        let router = http::router(state, &settings.server);
        let listener = TcpListener::bind(settings.server.bind)
            .await
            .with_context(|| format!("Failed to listen on {}", settings.server.bind))?;
        let address = listener
            .local_addr()
            .context("Failed to read the bound address")?;
        let shutdown = CancellationToken::new();
        watch_keys(vault, shutdown.clone());
        let sweeps = jobs::Sweeps {
            store: store.clone(),
            planner,
            ingest,
            replies: silent_check,
            silent_days: settings.optout.silent_days,
            privacy,
            clock,
            zone: settings.time.zone,
        }
        .start(&settings.planner.sweep_cron, shutdown.clone())
        .await;
        Ok(Self {
            listener,
            address,
            router,
            sweeps,
            dispatcher,
            send: settings.dispatch.enabled,
            shutdown,
            grace: settings.server.shutdown_grace(),
            header_timeout: settings.server.header_read_timeout(),
            templates,
            base_url: settings
                .server
                .public_base_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", browsable(address))),
            setup_link,
        })
    }

    /// The checked SMS templates, loaded once at start-up.
    pub fn templates(&self) -> &TemplateCatalogue {
        &self.templates
    }

    /// The dispatcher, so tests can drive sending a round at a time.
    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    /// Where staff open the pages, and, on a database with no accounts yet,
    /// the one-time link that creates the first admin.
    pub fn welcome(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        match &self.setup_link {
            Some(token) => format!(
                "Homeward is running. No one can sign in yet: open this link to create the \
                 first admin account (it works once, for 24 hours):\n\n    {base}/setup?token={token}\n"
            ),
            None => format!("Homeward is running. Open {base}/ in a browser to sign in.\n"),
        }
    }

    /// The first-run setup link's token, if one was made (for tests).
    pub fn setup_token(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    /// The whole app as one service, for tests that drive it without a socket.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Cancel this token to stop the daemon gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serve until the shutdown token is cancelled and in-flight requests
    /// finish, or the grace period runs out.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let token = self.shutdown.clone();
        let sweeps = self.sweeps;
        let sending = match self.send {
            true => tokio::spawn(self.dispatcher.clone().run(token.clone())),
            false => tokio::spawn(async {}),
        };
        tracing::info!(address = %self.address, "listening");
        let server = crate::http::serve(
            self.listener,
            self.router,
            self.header_timeout,
            token.clone(),
        );
        let deadline = async {
            token.cancelled().await;
            tracing::info!(
                grace_secs = self.grace.as_secs(),
                "shutting down: finishing in-flight requests"
            );
            tokio::time::sleep(self.grace).await;
        };
        tokio::select! {
            () = server => {}
            () = deadline => tracing::warn!("in-flight requests did not finish in time; stopping anyway"),
        }
        token.cancel();
        // In-flight sends finish (or are released) before the process exits.
        if tokio::time::timeout(self.grace, sending).await.is_err() {
            tracing::warn!(
                "sends in flight did not finish in time; their leases will expire and be retried"
            );
        }
        if tokio::time::timeout(self.grace, sweeps).await.is_err() {
            tracing::warn!(
                "a re-plan sweep did not finish in time; it will run again at the next start"
            );
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Load and check the templates and campaign rules, and build the planner.
/// A template or rule that fails its checks stops start-up: nothing broken
/// may ever be sent.
pub fn build_planner(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Planner> {
    let (catalogue, rules) = load_plan_inputs(settings, templates::Warnings::Quiet)?;
    let policy = CapPolicy::from_settings(settings);
    Ok(Planner::new(
        store, clock, catalogue, rules, policy, settings,
    ))
}

/// Finish imports that an earlier process left part-way (see
/// `ingest::journal`): their texts are planned before the daemon serves,
/// and once their importer's lease has run out they are closed and audited.
async fn recover_imports(ingest: &Ingest) -> anyhow::Result<()> {
    ingest
        .recover_interrupted(None)
        .await
        .context("Failed to recover an interrupted import")?;
    let later = ingest.clone();
    tokio::spawn(async move {
        tokio::time::sleep(crate::ingest::IMPORT_LEASE).await;
        if let Err(e) = later.recover_interrupted(None).await {
            tracing::error!(error = %e, "recovering interrupted imports failed; the sweep will try again");
        }
    });
    Ok(())
}

fn load_plan_inputs(
    settings: &Settings,
    warnings: templates::Warnings,
) -> anyhow::Result<(TemplateCatalogue, Vec<CampaignRule>)> {
    let catalogue = templates::load_checked(&settings.templates, warnings)
        .context("Failed to load the SMS templates")?;
    let english = Language::english();
    let rules = rules::load(&settings.planner.campaigns_file, |name| {
        catalogue.resolve(name, &english).is_some()
    })?;
    Ok((catalogue, rules))
}

/// The providers in `dispatch.providers` order, each with its rate and burst.
fn build_providers(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Vec<ConfiguredProvider>> {
    let public = settings.server.public_base_url.as_deref();
    let mut built = Vec::with_capacity(settings.dispatch.providers.len());
    for name in &settings.dispatch.providers {
        let p = &settings.providers[name];
        let provider = providers::build_with_clock(name, p, public, clock.clone())
            .with_context(|| format!("Failed to set up SMS provider {name:?}"))?;
        let limits = p.limits();
        built.push(ConfiguredProvider {
            provider,
            rate_per_second: limits.rate_per_second,
            burst: limits.burst,
        });
    }
    Ok(built)
}

/// Where staff open the pages: `server.public_base_url`, else the bound
/// address as a browser can reach it.
pub fn base_url(server: &crate::config::ServerSettings) -> String {
    match &server.public_base_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", browsable(server.bind)),
    }
}

/// A browser cannot open 0.0.0.0 or [::]: such a daemon answers on loopback too.
fn browsable(address: SocketAddr) -> SocketAddr {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    address
}

/// Open the configured database, chosen by its URL's scheme, and bring its
/// schema up to date.
pub async fn open_store(db: &DatabaseSettings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_store_and_vault(db).await?.0)
}

/// Open the database and the keys that seal its personal data. Fresh keys
/// are written to their file only once the database is known to hold
/// nothing sealed under other keys, and before anything is sealed with them.
pub async fn open_store_and_vault(
    db: &DatabaseSettings,
) -> anyhow::Result<(Arc<dyn Store>, Vault)> {
    let inline = db.keys.as_ref().map(|k| k.expose_secret().to_owned());
    let key_path = db.key_path();
    let Loaded { vault, fresh } = Vault::load(inline.as_deref(), key_path.as_deref())
        .context("Failed to load the data keys (database.key_file, HOMEWARD__DATABASE__KEYS)")?;
    let store = connect(db, vault.clone()).await?;
    let sealed_before = store.sealing_applied().await?;
    store
        .migrate()
        .await
        .context("Failed to apply database migrations")?;
    check_keys(store.as_ref(), &vault, fresh).await?;
    if fresh {
        vault
            .persist()
            .context("Failed to write the new key file")?;
        tracing::warn!(
            keys = %vault.source(),
            "made new data keys: back the file up apart from the database; without it no stored number, name or text can be read"
        );
    }
    if !sealed_before {
        let sealed = store.reseal(Reseal::Clear).await?;
        if sealed > 0 {
            tracing::info!(
                values = sealed,
                "sealed personal data stored before sealing existed"
            );
        }
    }
    // After sealing: the names are read back through the vault.
    index_names(store.as_ref()).await?;
    Ok((store, vault))
}

/// People stored before first names were indexed for search get their
/// name's keyed hash, a thousand at a time.
async fn index_names(store: &dyn Store) -> anyhow::Result<()> {
    let mut done = 0;
    loop {
        let now = store
            .index_names(1000)
            .await
            .context("Failed to index first names for search")?;
        if now == 0 {
            break;
        }
        done += now;
    }
    if done > 0 {
        tracing::info!(people = done, "indexed first names for search");
    }
    Ok(())
}

/// Re-read the key file now and then, so that a `homeward keys rotate` run
/// beside the daemon takes effect without a restart.
fn watch_keys(vault: Vault, shutdown: CancellationToken) {
    if vault.path().is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match vault.reload() {
                Ok(true) => {
                    tracing::info!(active = %vault.active_key(), "the data keys changed; sealing under the new active key")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not re-read the key file; the keys in use stay")
                }
            }
        }
    });
}

/// Refuse to start when the database holds values these keys cannot open:
/// a lost or wrong key file would otherwise look like an empty one.
async fn check_keys(store: &dyn Store, vault: &Vault, fresh: bool) -> anyhow::Result<()> {
    for (field, value) in store.sealed_sample().await? {
        if let Err(e) = vault.open(field, &value) {
            if fresh {
                anyhow::bail!(
                    "The database holds sealed data but {} does not exist: restore it from your backup \
                     (or set database.key_file / HOMEWARD__DATABASE__KEYS). ({e})",
                    vault.source()
                );
            }
            anyhow::bail!(
                "The keys in {} cannot open the data in this database: {e}",
                vault.source()
            );
        }
    }
    Ok(())
}

async fn connect(db: &DatabaseSettings, vault: Vault) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match db.backend() {
        Some(DatabaseBackend::Sqlite) => Arc::new(
            SqliteStore::connect(&db.url, db.max_connections, db.busy_timeout(), vault)
                .await
                .context("Failed to open the SQLite database (database.url)")?,
        ),
        Some(DatabaseBackend::Postgres) => {
            let options = PostgresOptions {
                max_connections: db.max_connections,
                statement_timeout: db.statement_timeout(),
            };
            Arc::new(
                PostgresStore::connect(&db.url, options, vault)
                    .await
                    .context("Failed to connect to PostgreSQL (database.url)")?,
            )
        }
        None => anyhow::bail!("database.url names no database Homeward supports"),
    };
    Ok(store)
}

/// Cancel `token` on SIGINT or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received"),
            () = term => tracing::info!("SIGTERM received"),
        }
        token.cancel();
    });
}
