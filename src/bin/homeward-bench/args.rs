//! The command line. Every figure's options have distinct names, so `all`
//! takes them all and a single figure takes the same spelling.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "homeward-bench",
    about = "Measure how fast Homeward plans and sends, and how much memory it needs",
    long_about = "Measure how fast Homeward plans and sends, and how much memory it needs.\n\n\
                  Run in release mode: cargo run --release --bin homeward-bench -- all --json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub figure: Figure,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also measure on PostgreSQL: a server URL whose user may create
    /// databases (each figure gets a fresh one, dropped afterwards).
    #[arg(long, global = true, value_name = "URL")]
    pub postgres_url: Option<String>,
    /// Measure on PostgreSQL alone, not SQLite first.
    #[arg(long, global = true, requires = "postgres_url")]
    pub postgres_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum Figure {
    /// Every figure below, in one run.
    All(Options),
    /// Due texts sent end to end by the dispatcher, against a plain HTTP client.
    Dispatch(Options),
    /// Texts planned per second for people released over a year.
    Plan(Options),
    /// Rows per second through the releases CSV import.
    Import(Options),
    /// STOP replies per second through the inbound webhook.
    Inbound(Options),
    /// How closely the provider rate limit is kept.
    RateLimit(Options),
    /// Peak resident memory of the daemon with a million pending texts.
    Memory(Options),
    /// Staff reads through the API in a large organisation beside another.
    Reads(Options),
    /// Homeward beside Kannel through one fake provider (the shared peer run).
    Peers(Options),
    /// Sending, an import, staff reads and STOPs at once: no locked database.
    Mixed(Options),
}

impl Figure {
    pub fn args(&self) -> &Options {
        match self {
            Self::All(o)
            | Self::Dispatch(o)
            | Self::Plan(o)
            | Self::Import(o)
            | Self::Inbound(o)
            | Self::RateLimit(o)
            | Self::Reads(o)
            | Self::Peers(o)
            | Self::Mixed(o)
            | Self::Memory(o) => o,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct Options {
    #[command(flatten)]
    pub dispatch: DispatchArgs,
    #[command(flatten)]
    pub ingest: IngestArgs,
    #[command(flatten)]
    pub inbound: InboundArgs,
    #[command(flatten)]
    pub rate_limit: RateLimitArgs,
    #[command(flatten)]
    pub memory: MemoryArgs,
    #[command(flatten)]
    pub reads: ReadsArgs,
    #[command(flatten)]
    pub peers: PeersArgs,
    #[command(flatten)]
    pub mixed: MixedArgs,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "mixed")]
pub struct MixedArgs {
    /// Texts due when the daemon starts.
    #[arg(long, default_value_t = 20_000)]
    pub mixed_texts: u32,
    /// New people (each with a text due today) imported through the API
    /// while those are sent.
    #[arg(long, default_value_t = 20_000)]
    pub mixed_import: u32,
    /// New people (each with a text due today) imported at the same time by
    /// `homeward import releases` in a process of its own: a second writer
    /// beside the daemon.
    #[arg(long, default_value_t = 20_000)]
    pub mixed_cli_import: u32,
    /// Staff reading lists through the API meanwhile.
    #[arg(long, default_value_t = 4)]
    pub mixed_readers: u32,
    /// People texting STOP meanwhile, each once.
    #[arg(long, default_value_t = 2_000)]
    pub mixed_stops: u32,
    /// STOP webhooks in flight at once.
    #[arg(long, default_value_t = 2)]
    pub mixed_stoppers: u32,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "peers")]
pub struct PeersArgs {
    /// The shared peers folder (fakesms, Kannel's run, homeward/run.sh);
    /// by default `../shared/peers` beside the project.
    #[arg(long, value_name = "DIR")]
    pub peers_dir: Option<std::path::PathBuf>,
    /// Texts queued for the drain.
    #[arg(long, default_value_t = 20_000)]
    pub peer_texts: u32,
    /// Texts sent through injected faults.
    #[arg(long, default_value_t = 5_000)]
    pub peer_fault_texts: u32,
    /// Texts for the SIGKILL run; 0 leaves it out.
    #[arg(long, default_value_t = 20_000)]
    pub peer_crash_texts: u32,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "reads")]
pub struct ReadsArgs {
    /// People in the organisation read (five texts each), and as many again
    /// in another organisation.
    #[arg(long, default_value_t = 200_000)]
    pub reads_people: u32,
    /// Requests of each kind of read.
    #[arg(long, default_value_t = 2_000)]
    pub reads_requests: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub readers: u32,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "dispatch")]
pub struct DispatchArgs {
    /// Texts already due when the dispatcher starts.
    #[arg(long, default_value_t = 20_000)]
    pub messages: u32,
    /// dispatch.concurrency, shared by the plain-client baseline.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// dispatch.batch_size: texts claimed per round.
    #[arg(long, default_value_t = 100)]
    pub batch_size: u32,
    /// Texts per second falling due while the dispatcher polls, for the lag
    /// of texts that are not stuck behind a backlog.
    #[arg(long, default_value_t = 200)]
    pub paced_rate: u32,
    /// For how many seconds texts fall due at --paced-rate.
    #[arg(long, default_value_t = 5)]
    pub paced_secs: u32,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "plan and import")]
pub struct IngestArgs {
    /// People (rows of the releases CSV) with liberation dates over a year.
    #[arg(long, default_value_t = 100_000)]
    pub people: u32,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "inbound")]
pub struct InboundArgs {
    /// STOP replies for the throughput run, one per known number.
    #[arg(long, default_value_t = 5_000)]
    pub stops: u32,
    /// STOP replies for the accepted-to-suppressed timing.
    #[arg(long, default_value_t = 1_000)]
    pub timed_stops: u32,
    /// Webhook requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub clients: u32,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "rate-limit")]
pub struct RateLimitArgs {
    /// providers.<name>.rate_per_second.
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// providers.<name>.burst.
    #[arg(long, default_value_t = 10)]
    pub burst: u32,
    /// How long to send at the limit.
    #[arg(long, default_value_t = 20)]
    pub seconds: u32,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "memory")]
pub struct MemoryArgs {
    /// Pending texts in the store when the daemon starts.
    #[arg(long, default_value_t = 1_000_000)]
    pub pending: u32,
    /// Of those, how many are due at once (the daemon sends them to a
    /// loopback fake while it is watched); the rest wait for later dates.
    #[arg(long, default_value_t = 5_000)]
    pub due_now: u32,
    /// The longest the daemon is watched; watching ends sooner once a full
    /// re-plan sweep has finished and the due texts have gone.
    #[arg(long, default_value_t = 180)]
    pub watch_secs: u32,
    /// An extra environment variable for the daemon, e.g.
    /// `MALLOC_ARENA_MAX=2` or `HOMEWARD__DATABASE__MAX_CONNECTIONS=4`, to
    /// see what a setting does to its memory. Repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    pub daemon_env: Vec<(String, String)>,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}
