//! The peer run: Homeward and Kannel, a widely used SMS gateway, through
//! one fake provider on one machine in one run. The run itself is the
//! shared `peers/homeward/run.sh` (see `peers/README.md`): a drain of
//! queued texts, the same under injected faults, a SIGKILL with texts in
//! flight, then Kannel's drain and faults. This figure runs it and reads
//! the tables it prints, so `homeward-bench all` reports Homeward beside
//! Kannel with the other figures.
//!
//! Kannel runs once, with the first backend; a later backend is compared
//! with that same Kannel run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};
use serde::Serialize;

use crate::args::PeersArgs;
use crate::fixture::{Backend, project_dir};
use crate::progress::Progress;

/// Homeward's drain against Kannel's, in the same run.
pub const TARGET_RATIO_SQLITE: f64 = 1.0;
pub const TARGET_RATIO_POSTGRES: f64 = 0.7;

#[derive(Debug, Serialize)]
pub struct PeersFigure {
    pub backend: &'static str,
    pub drain: Drain,
    pub faults: Faults,
    pub crash: Option<Crash>,
    /// Kannel's figures from this run, when Kannel is installed.
    pub kannel: Option<Kannel>,
    /// Homeward's drain rate over Kannel's.
    pub ratio: Option<f64>,
    pub target: String,
    pub met: bool,
}

#[derive(Debug, Serialize)]
pub struct Drain {
    pub texts: u64,
    pub unique: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub seconds: f64,
    pub texts_per_second: f64,
    pub cpu_us_per_text: f64,
}

#[derive(Debug, Serialize)]
pub struct Faults {
    pub texts: u64,
    pub duplicates: u64,
    /// Texts the provider accepted and then answered 500: sent again by
    /// any gateway that retries, so duplicates up to this many are owed.
    pub accepted_then_500: u64,
    pub early_retries_after_429: u64,
    pub lost: u64,
    /// From the provider's first accept to its last.
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Crash {
    pub texts: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub restart_to_last_accept_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kannel {
    pub drain_texts_per_second: f64,
    /// bearerbox and smsbox over its drain and faults sections, which the
    /// run reports in whole CPU seconds.
    pub cpu_us_per_text: f64,
    pub fault_duplicates: u64,
    pub fault_early_retries_after_429: u64,
    pub fault_seconds: f64,
}

/// Run the peer run for `backend`; `kannel` is an earlier run's Kannel,
/// which a later backend is compared with.
pub async fn run(
    backend: &Backend,
    args: &PeersArgs,
    kannel: Option<&Kannel>,
    progress: &Progress,
) -> anyhow::Result<PeersFigure> {
    let script = peers_dir(args).join("homeward/run.sh");
    ensure!(
        available(args),
        "{} is missing: the peer run needs the shared peers folder (--peers-dir)",
        script.display()
    );
    // run.sh runs this binary, built only if missing: it must be the one
    // just built beside this harness, not an older one.
    let daemon = tokio::task::spawn_blocking(crate::fixture::daemon_binary).await??;
    let theirs = project_dir().join("target/release/homeward");
    ensure!(
        daemon.canonicalize()? == theirs.canonicalize().unwrap_or(theirs.clone()),
        "the peer run sends with {}; run this harness from the same release build \
         (cargo run --release --bin homeward-bench)",
        theirs.display()
    );
    let run_kannel = kannel.is_none() && kannel_installed();
    let bar = progress.spinner("peers: run.sh");
    bar.set_message(format!("{} texts, {}", args.peer_texts, backend.name()));
    let mut command = command(&script, backend, args, run_kannel)?;
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .context("Failed to run the peer run")?;
    let printed = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "the peer run failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let mut figure = read_tables(&printed, backend.name())?;
    if !run_kannel {
        figure.kannel = kannel.cloned();
    }
    figure.judge(backend);
    bar.done(format!("{} texts/s", figure.drain.texts_per_second));
    Ok(figure)
}

/// Whether the shared peer run is there to be run.
pub fn available(args: &PeersArgs) -> bool {
    peers_dir(args).join("homeward/run.sh").is_file()
}

fn peers_dir(args: &PeersArgs) -> PathBuf {
    args.peers_dir
        .clone()
        .unwrap_or_else(|| project_dir().join("../shared/peers"))
}

fn kannel_installed() -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join("bearerbox").is_file())
        || Path::new("/usr/sbin/bearerbox").is_file()
}

fn command(
    script: &Path,
    backend: &Backend,
    args: &PeersArgs,
    run_kannel: bool,
) -> anyhow::Result<Command> {
    let mut command = Command::new("bash");
    command
        .arg(script)
        .current_dir(project_dir())
        .env("PROJECT", project_dir())
        .env("N", args.peer_texts.to_string())
        .env("FAULT_N", args.peer_fault_texts.to_string())
        .env("KANNEL", if run_kannel { "1" } else { "0" })
        .stdin(Stdio::null());
    // run.sh leaves the crash run out when CRASH_N is empty.
    let crash = match args.peer_crash_texts {
        0 => String::new(),
        n => n.to_string(),
    };
    command.env("CRASH_N", crash);
    match backend {
        Backend::Sqlite => command.env("DB", "sqlite"),
        Backend::Postgres(url) => command.env("DB", "postgres").env("PG_URL", server_of(url)?),
    };
    Ok(command)
}

/// `postgres://user@host:port/db` without its database: the run makes its own.
fn server_of(url: &str) -> anyhow::Result<&str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        bail!("--postgres-url {url:?} is not a URL");
    };
    Ok(match rest.find('/') {
        Some(slash) => &url[..scheme.len() + 3 + slash],
        None => url,
    })
}

impl PeersFigure {
    fn judge(&mut self, backend: &Backend) {
        let target = match backend {
            Backend::Sqlite => TARGET_RATIO_SQLITE,
            Backend::Postgres(_) => TARGET_RATIO_POSTGRES,
        };
        self.target = format!(
            "drain >= {target} x Kannel's with less CPU per text; none lost; no duplicate without faults; \
             under faults no retry before Retry-After and duplicates <= accepted-then-500"
        );
        let ratio = self
            .kannel
            .as_ref()
            .map(|k| self.drain.texts_per_second / k.drain_texts_per_second);
        // Rounded for show only: 0.995 is not 1.
        self.ratio = ratio.map(|r| (r * 100.0).round() / 100.0);
        let (d, f) = (&self.drain, &self.faults);
        let safe = d.lost == 0
            && d.duplicates == 0
            && f.lost == 0
            && f.early_retries_after_429 == 0
            && f.duplicates <= f.accepted_then_500
            && self.crash.as_ref().is_none_or(|c| c.lost == 0);
        let faster = self.kannel.as_ref().is_some_and(|k| {
            ratio.is_some_and(|r| r >= target) && d.cpu_us_per_text < k.cpu_us_per_text
        });
        self.met = safe && faster;
    }
}

/// The figures from what the run printed (see `peers/homeward/run.sh`).
fn read_tables(printed: &str, backend: &'static str) -> anyhow::Result<PeersFigure> {
    let (ours, kannel) = match printed.split_once("kannel in the same run") {
        Some((ours, kannel)) => (ours, Some(kannel)),
        None => (printed, None),
    };
    let drain = row(ours, "| drain N=").context("the peer run printed no drain row")?;
    let faults = row(ours, "| faults N=").context("the peer run printed no faults row")?;
    let injected = json_after(ours, "faults injected: ")?;
    Ok(PeersFigure {
        backend,
        drain: Drain {
            texts: int(&drain, 1)?,
            unique: int(&drain, 3)?,
            duplicates: int(&drain, 4)?,
            lost: int(&drain, 5)?,
            seconds: num(&drain, 7)?,
            texts_per_second: num(&drain, 8)?,
            // Read only to refuse a `?` (CPU not read), which run.sh's
            // per-text column would show as 0.
            cpu_us_per_text: num(&drain, 9).and_then(|_| num(&drain, 10))?,
        },
        faults: Faults {
            texts: int(&faults, 1)?,
            duplicates: int(&faults, 4)?,
            accepted_then_500: injected["http_500_after_accept"].as_u64().unwrap_or(0),
            early_retries_after_429: int(&faults, 6)?,
            lost: int(&faults, 5)?,
            seconds: num(&faults, 7)?,
        },
        crash: crash(ours)?,
        kannel: kannel.map(read_kannel).transpose()?,
        ratio: None,
        target: String::new(),
        met: false,
    })
}

fn crash(printed: &str) -> anyhow::Result<Option<Crash>> {
    let Some((_, section)) = printed.split_once("\ncrash: N=") else {
        return Ok(None);
    };
    let texts = section
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or_default();
    let cells = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| unique"))
        .map(cells_of)
        .next()
        .context("the crash section has no row")?;
    Ok(Some(Crash {
        texts: texts.parse().context("the crash section's text count")?,
        duplicates: int(&cells, 1)?,
        lost: int(&cells, 2)?,
        restart_to_last_accept_seconds: num(&cells, 3)?,
    }))
}

fn read_kannel(printed: &str) -> anyhow::Result<Kannel> {
    let drain = row(printed, "| drain N=").context("Kannel printed no drain row")?;
    let faults = row(printed, "| N=").context("Kannel printed no faults row")?;
    let injected = json_after(printed, "faults injected by fakesms: ")?;
    let cpu = printed
        .lines()
        .find_map(|l| l.strip_prefix("CPU seconds over this section: "))
        .context("Kannel printed no CPU line")?;
    let seconds_of = |name: &str| -> anyhow::Result<f64> {
        cpu.split([',', ';'])
            .find_map(|part| part.trim().strip_prefix(name))
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("Kannel's CPU line has no figure for {name}"))
    };
    let texts: f64 = cpu
        .rsplit("messages through it: ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .context("Kannel's CPU line names no message count")?;
    let kannel_cpu = seconds_of("bearerbox ")? + seconds_of("smsbox ")?;
    Ok(Kannel {
        drain_texts_per_second: num(&drain, drain.len() - 1)?,
        cpu_us_per_text: (kannel_cpu * 1e6 / texts).round(),
        fault_duplicates: int(&faults, 4)?,
        fault_early_retries_after_429: injected["early_retries_after_429"].as_u64().unwrap_or(0),
        fault_seconds: num(&faults, 9)?,
    })
}

/// The cells of the first table row starting with `prefix`.
fn row(printed: &str, prefix: &str) -> Option<Vec<String>> {
    printed
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(cells_of)
}

fn cells_of(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_owned())
        .collect()
}

fn num(cells: &[String], i: usize) -> anyhow::Result<f64> {
    let cell = cells.get(i).context("a short table row")?;
    cell.parse()
        .with_context(|| format!("{cell:?} in column {} is not a number", i + 1))
}

fn int(cells: &[String], i: usize) -> anyhow::Result<u64> {
    Ok(num(cells, i)? as u64)
}

/// The JSON object that follows `label` on its line.
fn json_after(printed: &str, label: &str) -> anyhow::Result<serde_json::Value> {
    let line = printed
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .with_context(|| format!("the peer run printed no {label:?} line"))?;
    let object = line
        .split_once('}')
        .map(|(o, _)| format!("{o}}}"))
        .unwrap_or_default();
    serde_json::from_str(&object).with_context(|| format!("{label:?} is not followed by JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What run.sh printed on 2026-12-05 (peers/results).
    const PRINTED: &str = "\
# homeward peer run 2026-12-05 22:00 UTC, 2 cores, homeward 73c039a, concurrency 8, batch 100
| run | texts | accepted | unique | duplicates | lost | early retries after 429 | first→last accept s | msg/s | daemon CPU s | CPU µs/msg |
|---|---|---|---|---|---|---|---|---|---|---|
| drain N=20000 | 20000 | 20000 | 20000 | 0 | 0 | 0 | 2.422 | 8258 | 2.35 | 118 |
| faults N=5000 | 5000 | 5057 | 5000 | 57 | 0 | 0 | 71.232 | 70 | 0.81 | 162 |
  faults injected: {\"early_retries_after_429\":0,\"http_429\":270,\"http_500\":271,\"http_500_after_accept\":57,\"outage\":0,\"paused\":0}, requests 5598

crash: N=20000, provider latency 200 ms, concurrency 100, SIGKILL at 6000 accepted, restart on the same database
| unique after | duplicates | lost | from restart to last accept s |
|---|---|---|---|
| 20000 | 100 | 0 | 30.3 |

kannel in the same run (peers/kannel/run.sh, drain N=20000 and faults N=5000):
# kannel peer run 2026-12-05 22:02 UTC, 2 cores, Kannel 1.4.5, CONC=32 PENDING=100 THROUGHPUT=100000 LOG_LEVEL=2
| run | submitted | delivered | unique | duplicates | lost | client connect s | submit s | submit msg/s | wall s | end-to-end msg/s |
|-----|-----------|-----------|--------|------------|------|------------------|----------|--------------|--------|------------------|
| drain N=20000 (clock from provider resume) | 20000 | 20000 | 20000 | 0 | 0 | 0.002 | 1.047 | 19095.5 | 1.504 | 13298 |
| N=5000, faults {p500:0.05,p429:0.05,retry_after_s:2,p500_after_accept:0.01} | 5000 | 5060 | 5000 | 60 | 0 | 0.001 | 0.444 | 11266.8 | 4.019 | 1244 |
faults injected by fakesms: {\"early_retries_after_429\":265,\"http_429\":265,\"http_500\":264,\"http_500_after_accept\":60,\"outage\":0,\"paused\":0}, requests 5589 for 5000 distinct messages
CPU seconds over this section: bearerbox 2, smsbox 1, fakesms 0; messages through it: 25060
";

    #[test]
    fn the_tables_of_a_run_become_its_figures() {
        let mut figure = read_tables(PRINTED, "sqlite").unwrap();
        assert_eq!(figure.drain.texts_per_second, 8258.0);
        assert_eq!(figure.drain.cpu_us_per_text, 118.0);
        assert_eq!(
            (figure.faults.duplicates, figure.faults.accepted_then_500),
            (57, 57)
        );
        assert_eq!(figure.faults.seconds, 71.232);
        let crash = figure.crash.as_ref().unwrap();
        assert_eq!((crash.texts, crash.duplicates, crash.lost), (20000, 100, 0));
        let kannel = figure.kannel.clone().unwrap();
        assert_eq!(kannel.drain_texts_per_second, 13298.0);
        assert_eq!(kannel.cpu_us_per_text, 120.0);
        assert_eq!(
            (
                kannel.fault_duplicates,
                kannel.fault_early_retries_after_429
            ),
            (60, 265)
        );
        assert_eq!(kannel.fault_seconds, 4.019);
        figure.judge(&Backend::Sqlite);
        assert_eq!(figure.ratio, Some(0.62));
        assert!(!figure.met, "slower than Kannel");
    }

    #[test]
    fn a_run_without_kannel_or_crash_has_neither() {
        let ours = PRINTED.split("\ncrash:").next().unwrap();
        let figure = read_tables(ours, "postgres").unwrap();
        assert!(figure.kannel.is_none() && figure.crash.is_none());
    }

    #[test]
    fn the_server_of_a_database_url() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        assert_eq!(
            server_of(url).unwrap(),
            "postgres://postgres@127.0.0.1:5432"
        );
        let bare = "postgres://postgres@127.0.0.1:5432";
        assert_eq!(server_of(bare).unwrap(), bare);
    }
}
