//! The `homeward` command line: the daemon and the operator's tools.

mod example;
mod keys;
mod optout;
mod plan;
mod templates;
mod token;
mod user;

use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::audit::AuditLog;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::domain::{Actor, AuditAction, AuditTarget, OrgName, Organisation};
use crate::ingest::csv_file::ImportKind;
use crate::ingest::{ImportProgress, ImportSummary, Ingest};
use crate::startup::{self, Application};
use crate::store::Store;
use crate::telemetry;
pub use templates::{PreviewArgs, SmsCommand, TemplatesCommand};
pub use token::TokenCommand;

#[derive(Debug, Parser)]
#[command(
    name = "homeward",
    version,
    about = "SMS reminders for people leaving prison"
)]
pub struct Cli {
    /// A TOML file whose settings override the built-in defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: the staff pages, the HTTP API, the sender and the
    /// scheduled re-planning; prints where to open it.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage staff accounts for the web pages.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Import a CSV file of releases or appointments.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print example files dated from today, to try Homeward with.
    #[command(subcommand)]
    Example(example::ExampleCommand),
    /// Manage the keys that seal personal data at rest.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage the suppression list (numbers that opted out).
    #[command(subcommand)]
    Optout(optout::OptOutCommand),
    /// Preview the texts that would be sent in a window; nothing is sent.
    Plan(plan::PlanArgs),
    /// Check and preview the SMS templates (no database needed).
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Inspect the encoding and cost of any text (no database needed).
    #[command(subcommand)]
    Sms(SmsCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation (a prison, team or health board).
    Create { name: String },
    /// List organisations.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// People and their liberation dates (see README for the columns).
    Releases(ImportArgs),
    /// Appointments for people already imported.
    Appointments(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub org: String,
}

/// Run a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init_logging(&settings.log);
    match cli.command {
        Command::Serve => serve(&settings).await,
        Command::Migrate => {
            startup::open_store(&settings.database).await?;
            println!("The database schema is up to date.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Org(cmd) => org(&settings, cmd).await,
        Command::Token(cmd) => token::token(&settings, cmd).await,
        Command::User(cmd) => user::user(&settings, cmd).await,
        Command::Import(ImportCommand::Releases(args)) => {
            import(&settings, ImportKind::Releases, args).await
        }
        Command::Import(ImportCommand::Appointments(args)) => {
            import(&settings, ImportKind::Appointments, args).await
        }
        Command::Plan(args) => plan::plan(&settings, args).await,
        Command::Example(cmd) => example::example(&settings, cmd),
        Command::Optout(cmd) => optout::optout(&settings, cmd).await,
        Command::Keys(cmd) => keys::keys(&settings, cmd).await,
        Command::Templates(cmd) => templates::templates(&settings, cmd),
        Command::Sms(cmd) => templates::sms(cmd),
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<ExitCode> {
    let app = Application::build(settings).await?;
    println!("{}", app.welcome());
    startup::cancel_on_signals(app.shutdown_token());
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

async fn org(settings: &Settings, cmd: OrgCommand) -> anyhow::Result<ExitCode> {
    let store = startup::open_store(&settings.database).await?;
    match cmd {
        OrgCommand::Create { name } => {
            let name =
                OrgName::parse(&name).map_err(|e| anyhow::anyhow!("organisation name {e}"))?;
            let org = store.create_org(&name, SystemClock.now()).await?;
            let target = AuditTarget::organisation(org.id);
            AuditLog::new(store, Arc::new(SystemClock))
                .record_as(Actor::Cli, org.id, AuditAction::Created, target, None)
                .await?;
            println!("Created organisation {} ({})", org.name, org.id);
        }
        OrgCommand::List => {
            for org in store.orgs().await? {
                println!("{}\t{}", org.id, org.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn find_org(store: &dyn Store, name: &str) -> anyhow::Result<Organisation> {
    let parsed = OrgName::parse(name).map_err(|e| anyhow::anyhow!("--org {e}"))?;
    match store.org_by_name(&parsed).await? {
        Some(org) => Ok(org),
        None => {
            bail!("no organisation named {name:?}; create it with `homeward org create {name:?}`")
        }
    }
}

async fn import(
    settings: &Settings,
    kind: ImportKind,
    args: ImportArgs,
) -> anyhow::Result<ExitCode> {
    let store = startup::open_store(&settings.database).await?;
    let org = find_org(store.as_ref(), &args.org).await?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("Cannot open {}", args.file.display()))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let planner = startup::build_planner(settings, store.clone(), clock.clone())?;
    let ingest = Ingest::new(store, clock, planner, settings);
    let bar = Bar::new();
    let summary = ingest
        .import(org.id, kind, BufReader::new(file), &bar, Actor::Cli)
        .await
        .with_context(|| format!("{}", args.file.display()))?;
    bar.0.finish_and_clear();
    print_summary(&args.file, kind, &summary);
    Ok(if summary.rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_summary(file: &Path, kind: ImportKind, s: &ImportSummary) {
    println!(
        "{}: {} {}: {} created, {} updated, {} unchanged, {} rejected",
        file.display(),
        kind.noun(),
        s.created + s.updated + s.unchanged,
        s.created,
        s.updated,
        s.unchanged,
        s.rejected
    );
    for problem in &s.problems {
        println!("  line {}: {}", problem.line, problem.error);
    }
    let p = &s.planned;
    println!(
        "texts: {} planned, {} re-rendered, {} cancelled, {} expired",
        p.created, p.updated, p.cancelled, p.expired
    );
}

/// A progress bar on a terminal; nothing when output is redirected.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(ProgressBar::hidden());
        }
        let style =
            ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
                .expect("the template is valid");
        Self(ProgressBar::new(0).with_style(style))
    }
}

impl ImportProgress for Bar {
    fn rows_total(&self, rows: u64) {
        self.0.set_length(rows);
    }

    fn rows_done(&self, rows: u64) {
        self.0.set_position(rows);
    }
}
