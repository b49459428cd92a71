//! Running the real `homeward serve` and reading its memory from `/proc`.
//!
//! The binary is the one next to this harness (`target/release/homeward`);
//! when the harness was started by `cargo run`, Cargo is asked first to
//! bring that binary up to date, so the figure is never of stale code.
//! Only the daemon this harness started is ever signalled, by its pid.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::fake::FakeProvider;
use crate::fixture::{HOOK_SECRET, daemon_binary, project_dir};
use crate::progress::Progress;

/// What to run the daemon against and how long to watch it.
pub struct Watch {
    pub database_url: String,
    pub provider_url: String,
    /// Texts due at once; watching waits for them to be sent.
    pub due: u64,
    pub limit: Duration,
    /// More environment for the daemon, applied last.
    pub extra_env: Vec<(String, String)>,
}

/// What watching saw.
pub struct Seen {
    /// Outcomes the daemon itself counted (`sms_dispatch_total`).
    pub outcomes: BTreeMap<String, u64>,
    pub sent: u64,
    pub sweeps: u32,
    pub watched: Duration,
    pub peak_kb: u64,
    pub final_kb: u64,
}

pub async fn watch(
    watch: &Watch,
    fake: &FakeProvider,
    progress: &Progress,
) -> anyhow::Result<Seen> {
    let bar = progress.spinner("memory: daemon");
    bar.set_message("building the homeward binary");
    let binary = tokio::task::spawn_blocking(daemon_binary).await??;
    let mut child = spawn(&binary, watch)?;
    let pid = child.id();
    let (lines, tail) = read_stderr(&mut child);
    let started = Instant::now();
    let mut sweeps = 0;
    let mut peak_kb = 0;
    let mut address: Option<String> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(status) = child.try_wait()? {
            bail!("the daemon exited early ({status}): {}", tail.join());
        }
        let memory = read_memory(pid)?;
        peak_kb = peak_kb.max(memory.peak_kb);
        for line in lines.try_iter() {
            if line.contains("sweep finished") {
                sweeps += 1;
            }
            if address.is_none() && line.contains("listening") {
                address = listening_address(&line);
            }
        }
        let sent = fake.count();
        bar.set_message(format!(
            "resident {} MB, peak {} MB, sweeps {sweeps}, sent {sent}/{}",
            memory.rss_kb / 1024,
            peak_kb / 1024,
            watch.due
        ));
        if (sweeps > 0 && sent >= watch.due) || started.elapsed() >= watch.limit {
            break;
        }
    }
    let watched = started.elapsed();
    let last = read_memory(pid)?;
    let outcomes = match address {
        Some(address) => dispatch_outcomes(&address).await.unwrap_or_default(),
        None => BTreeMap::new(),
    };
    stop(&mut child).await?;
    bar.done(format!("peak {} MB", last.peak_kb.max(peak_kb) / 1024));
    Ok(Seen {
        outcomes,
        sent: fake.count(),
        sweeps,
        watched,
        peak_kb: last.peak_kb.max(peak_kb),
        final_kb: last.rss_kb,
    })
}

fn spawn(binary: &PathBuf, watch: &Watch) -> anyhow::Result<Child> {
    let project = project_dir();
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HOMEWARD__") {
            command.env_remove(key);
        }
    }
    let settings = [
        ("DATABASE__URL", watch.database_url.clone()),
        ("SERVER__BIND", "127.0.0.1:0".into()),
        ("SERVER__SHUTDOWN_GRACE_SECS", "5".into()),
        (
            "LOG__LEVEL",
            "warn,homeward::jobs=info,homeward::startup=info".into(),
        ),
        ("LOG__FORMAT", "pretty".into()),
        (
            "TEMPLATES__DIRECTORY",
            project.join("templates").display().to_string(),
        ),
        (
            "PLANNER__CAMPAIGNS_FILE",
            project.join("config/campaigns.toml").display().to_string(),
        ),
        ("PLANNER__SWEEP_CRON", "*/15 * * * * *".into()),
        // Due texts go whatever the hour the harness runs at.
        ("PLANNER__SEND_WINDOW_START", "00:00".into()),
        ("PLANNER__SEND_WINDOW_END", "23:59".into()),
        ("PROVIDERS__HOOK__KIND", "webhook".into()),
        ("PROVIDERS__HOOK__URL", watch.provider_url.clone()),
        ("PROVIDERS__HOOK__SECRET", HOOK_SECRET.into()),
        ("PROVIDERS__HOOK__RATE_PER_SECOND", "1000".into()),
        ("PROVIDERS__HOOK__BURST", "100".into()),
        ("DISPATCH__PROVIDERS", "[\"hook\"]".into()),
        ("DISPATCH__ENABLED", "true".into()),
    ];
    for (key, value) in settings {
        command.env(format!("HOMEWARD__{key}"), value);
    }
    for (key, value) in &watch.extra_env {
        command.env(key, value);
    }
    command
        .arg("serve")
        .current_dir(project)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("Failed to start {}", binary.display()))
}

/// `127.0.0.1:PORT` from the daemon's "listening" line.
fn listening_address(line: &str) -> Option<String> {
    let start = line.find("127.0.0.1:")?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// The daemon's own count of dispatch outcomes, from its `/metrics`.
async fn dispatch_outcomes(address: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let text = reqwest::get(format!("http://{address}/metrics"))
        .await?
        .text()
        .await?;
    let mut outcomes = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("sms_dispatch_total{"))
    {
        let outcome = line
            .split("outcome=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        let count = line.rsplit(' ').next().and_then(|n| n.parse::<f64>().ok());
        if let (Some(outcome), Some(count)) = (outcome, count) {
            *outcomes.entry(outcome.to_owned()).or_default() += count as u64;
        }
    }
    Ok(outcomes)
}

/// The last lines the daemon wrote, for an error message if it dies.
#[derive(Clone, Default)]
struct Tail(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Tail {
    fn push(&self, line: &str) {
        let mut lines = self.0.lock().expect("tail lock");
        if lines.len() == 20 {
            lines.remove(0);
        }
        lines.push(line.to_owned());
    }

    fn join(&self) -> String {
        self.0.lock().expect("tail lock").join("\n")
    }
}

/// Each stderr line, as it comes, and the last few kept.
fn read_stderr(child: &mut Child) -> (mpsc::Receiver<String>, Tail) {
    let (send, receive) = mpsc::channel();
    let tail = Tail::default();
    let stderr = child.stderr.take().expect("stderr is piped");
    let kept = tail.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            kept.push(&line);
            if send.send(line).is_err() {
                break;
            }
        }
    });
    (receive, tail)
}

struct Memory {
    rss_kb: u64,
    peak_kb: u64,
}

fn read_memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("Failed to read the daemon's /proc status (Linux only)")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Ok(Memory {
        rss_kb: field("VmRSS:"),
        peak_kb: field("VmHWM:"),
    })
}

/// SIGTERM, as an operator's service manager would; SIGKILL if the daemon
/// has not stopped after 30 seconds.
async fn stop(child: &mut Child) -> anyhow::Result<()> {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("warning: the daemon did not stop on SIGTERM; killing it");
    child.kill()?;
    child.wait()?;
    Ok(())
}
