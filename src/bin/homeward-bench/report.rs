//! The figures of one run, the machine they were measured on, and the two
//! ways of showing them: one JSON object, or a summary for people.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::dispatch::DispatchFigure;
use crate::import::ImportFigure;
use crate::inbound::InboundFigure;
use crate::memory::MemoryFigure;
use crate::mixed::MixedFigure;
use crate::peers::PeersFigure;
use crate::plan::PlanFigure;
use crate::rate_limit::RateLimitFigure;
use crate::reads::ReadsFigure;
use crate::stats::{Percentiles, round};

#[derive(Debug, Serialize)]
pub struct Report {
    pub homeward_version: &'static str,
    pub command: String,
    pub machine: Machine,
    pub started_at: DateTime<Utc>,
    pub total_seconds: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dispatch: Vec<DispatchFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlanFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub import: Vec<ImportFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inbound: Vec<InboundFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rate_limit: Vec<RateLimitFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<MemoryFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<ReadsFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mixed: Vec<MixedFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeersFigure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub all_targets_met: bool,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_mb: u64,
    pub kernel: String,
    /// `/proc/loadavg` (1, 5 and 15 minutes) when the run started and when
    /// it ended: other work on the machine moves every figure.
    pub load_average_start: [f64; 3],
    pub load_average_end: [f64; 3],
}

impl Machine {
    fn this() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let memory_kb: u64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        Self {
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            memory_mb: memory_kb / 1024,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            load_average_start: load_average(),
            load_average_end: [0.0; 3],
        }
    }
}

fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut fields = text.split_whitespace().map(|f| f.parse().unwrap_or(0.0));
    [(); 3].map(|()| fields.next().unwrap_or(0.0))
}

impl Report {
    pub fn new() -> Self {
        Self {
            homeward_version: env!("CARGO_PKG_VERSION"),
            command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
            machine: Machine::this(),
            started_at: Utc::now(),
            total_seconds: 0.0,
            dispatch: Vec::new(),
            plan: Vec::new(),
            import: Vec::new(),
            inbound: Vec::new(),
            rate_limit: Vec::new(),
            memory: Vec::new(),
            reads: Vec::new(),
            mixed: Vec::new(),
            peers: Vec::new(),
            notes: Vec::new(),
            all_targets_met: false,
        }
    }

    pub fn finish(&mut self, took: Duration) {
        self.total_seconds = round(took.as_secs_f64(), 1);
        self.machine.load_average_end = load_average();
        self.all_targets_met = self.all_met();
    }

    pub fn all_met(&self) -> bool {
        self.dispatch.iter().all(|f| f.met)
            && self.plan.iter().all(|f| f.met)
            && self.import.iter().all(|f| f.met)
            && self.inbound.iter().all(|f| f.met)
            && self.rate_limit.iter().all(|f| f.met)
            && self.memory.iter().all(|f| f.met)
            && self.reads.iter().all(|f| f.met)
            && self.mixed.iter().all(|f| f.met)
            && self.peers.iter().all(|f| f.met)
    }

    pub fn print_summary(&self) {
        let m = &self.machine;
        println!(
            "Homeward {} on {} CPUs ({}), {} MB RAM, Linux {}; {} s in all; load average {} at the start, {} at the end\n",
            self.homeward_version,
            m.cpus,
            m.cpu_model,
            thousands(m.memory_mb as f64),
            m.kernel,
            self.total_seconds,
            m.load_average_start[0],
            m.load_average_end[0]
        );
        for f in &self.dispatch {
            line(
                "dispatch",
                f.backend,
                &format!(
                    "{} texts/s end to end; plain client {} req/s; ratio {}",
                    thousands(f.messages_per_second),
                    thousands(f.ceiling.requests_per_second),
                    f.dispatch_ratio
                ),
                &format!("ratio >= {}", crate::dispatch::TARGET_RATIO),
                f.met,
            );
            detail(&format!(
                "{} texts in {} s ({} concurrent, batches of {}); lag backlog {}; paced ({}/s, due check {:?}) {}",
                thousands(f64::from(f.messages)),
                f.seconds,
                f.concurrency,
                f.batch_size,
                lag(f.lag_backlog),
                f.paced_rate,
                f.due_check_cron,
                lag(f.lag_paced)
            ));
        }
        for f in &self.plan {
            line(
                "plan",
                f.backend,
                &format!(
                    "{} texts/s ({} texts for {} people in {} s)",
                    thousands(f.messages_per_second),
                    thousands(f.messages_planned as f64),
                    thousands(f.people as f64),
                    f.seconds
                ),
                &format!(
                    ">= {}/s",
                    thousands(crate::plan::TARGET_MESSAGES_PER_SECOND)
                ),
                f.met,
            );
        }
        for f in &self.import {
            line(
                "import",
                f.backend,
                &format!(
                    "{} rows/s ({} rows in {} s)",
                    thousands(f.rows_per_second),
                    thousands(f64::from(f.rows)),
                    f.seconds
                ),
                &format!(">= {}/s", thousands(crate::import::TARGET_ROWS_PER_SECOND)),
                f.met,
            );
            detail(&format!(
                "of which reading the file {} s, writing {} s, the closing re-plan walk {} s",
                f.parse_seconds, f.write_seconds, f.replan_walk_seconds
            ));
            if let Some(w) = &f.with_planning {
                detail(&format!(
                    "with the shipped rules, import and planning together: {} rows/s ({} texts, {} s)",
                    thousands(w.rows_per_second),
                    thousands(w.messages_planned as f64),
                    w.seconds
                ));
            }
        }
        for f in &self.inbound {
            line(
                "inbound",
                f.backend,
                &format!(
                    "{} STOP/s ({} clients; request {})",
                    thousands(f.requests_per_second),
                    f.clients,
                    lag(f.request)
                ),
                "(no target)",
                f.met,
            );
            detail(&format!(
                "accepted (200) to suppressed: {}; {} of {} already suppressed at the first look",
                lag(f.accepted_to_suppressed),
                f.suppressed_at_first_look,
                f.timed_stops
            ));
        }
        for f in &self.rate_limit {
            line(
                "rate limit",
                f.backend,
                &format!(
                    "{}/s against {}/s for {} s ({:+}%); busiest second {}",
                    f.achieved_per_second,
                    f.rate_per_second,
                    f.seconds,
                    f.error_percent,
                    f.busiest_second
                ),
                &format!("±2%, <= {}", f.rate_per_second + f.burst),
                f.met,
            );
        }
        for f in &self.memory {
            line(
                "memory",
                f.backend,
                &format!(
                    "peak {} MB resident with {} texts pending",
                    f.peak_rss_mb,
                    thousands(f.pending_messages as f64)
                ),
                &format!("< {} MB", crate::memory::TARGET_PEAK_MB),
                f.met,
            );
            detail(&format!(
                "{} people, {} MB database; watched {} s: {} sweep(s) finished, {} of {} due texts sent",
                thousands(f.people as f64),
                f.database_mb,
                f.watched_seconds,
                f.sweeps_finished,
                thousands(f.sent_while_watched as f64),
                thousands(f64::from(f.due_now))
            ));
        }
        for f in &self.reads {
            print_reads(f);
        }
        for f in &self.mixed {
            line(
                "mixed",
                f.backend,
                &format!(
                    "{} failed requests, {} locked-database warnings; {} texts sent, {} rows imported ({} by a CLI import beside the daemon), {} reads, {} STOPs in {} s",
                    f.failed_requests,
                    f.locked_logged,
                    thousands(f.texts_sent as f64),
                    thousands(f64::from(f.rows_imported)),
                    thousands(f64::from(f.rows_imported_by_cli)),
                    thousands(f.reads as f64),
                    thousands(f.stops as f64),
                    f.seconds
                ),
                f.target,
                f.met,
            );
            if let Some(problem) = &f.first_problem {
                detail(&format!("first: {problem}"));
            }
        }
        for f in &self.peers {
            print_peers(f);
        }
        for note in &self.notes {
            println!("\nnote: {note}");
        }
        let verdict = if self.all_targets_met {
            "every target met"
        } else {
            "a target was missed"
        };
        println!("\n{verdict}");
    }
}

fn line(figure: &str, backend: &str, result: &str, target: &str, met: bool) {
    let mark = if met { "met" } else { "MISSED" };
    println!(
        "{:<20} {result}\n{:<20} target {target}: {mark}",
        format!("{figure} ({backend})"),
        ""
    );
}

fn print_peers(f: &PeersFigure) {
    let (d, x) = (&f.drain, &f.faults);
    let kannel = f.kannel.as_ref().map_or_else(
        || "Kannel not run".to_owned(),
        |k| {
            format!(
                "Kannel {} texts/s, {} µs CPU per text",
                thousands(k.drain_texts_per_second),
                k.cpu_us_per_text
            )
        },
    );
    let ratio = f.ratio.map_or_else(|| "-".to_owned(), |r| format!("{r}x"));
    line(
        "peers",
        f.backend,
        &format!(
            "drain {} texts/s, {} µs CPU per text; {kannel}; ratio {ratio}",
            thousands(d.texts_per_second),
            d.cpu_us_per_text
        ),
        &f.target,
        f.met,
    );
    detail(&format!(
        "drain: {} texts, {} duplicates, {} lost; faults: {} texts, {} duplicates ({} accepted then 500), {} early retries, {} lost, last after {} s",
        thousands(d.texts as f64),
        d.duplicates,
        d.lost,
        thousands(x.texts as f64),
        x.duplicates,
        x.accepted_then_500,
        x.early_retries_after_429,
        x.lost,
        x.seconds
    ));
    if let Some(c) = &f.crash {
        detail(&format!(
            "SIGKILL with texts in flight: {} texts, {} duplicates, {} lost",
            thousands(c.texts as f64),
            c.duplicates,
            c.lost
        ));
    }
}

fn print_reads(f: &ReadsFigure) {
    let slowest = f
        .reads
        .iter()
        .filter_map(|r| r.timing.as_ref())
        .map(|t| t.p95_ms)
        .fold(0.0, f64::max);
    line(
        "reads",
        f.backend,
        &format!(
            "slowest p95 {slowest} ms, {} people and {} texts read beside as many again, {} at once",
            thousands(f64::from(f.people)),
            thousands(f.texts as f64),
            f.readers
        ),
        &format!("p95 <= {} ms each", crate::reads::TARGET_P95_MS),
        f.met,
    );
    for r in &f.reads {
        if let Some(t) = &r.timing {
            detail(&format!(
                "{:<28} p50 {} / p95 {} / p99 {} ms",
                r.read, t.p50_ms, t.p95_ms, t.p99_ms
            ));
        }
    }
}

fn detail(text: &str) {
    println!("{:<20} {text}", "");
}

fn lag(p: Option<Percentiles>) -> String {
    match p {
        Some(p) => format!("p50 {} ms, p99 {} ms", short(p.p50_ms), short(p.p99_ms)),
        None => "none measured".into(),
    }
}

/// Milliseconds to a sensible precision.
fn short(ms: f64) -> String {
    if ms >= 100.0 {
        thousands(ms)
    } else {
        format!("{ms:.2}")
    }
}

/// A whole number with thousands separated: 12,345.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}
