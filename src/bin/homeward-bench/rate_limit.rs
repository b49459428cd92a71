//! Rate limit: more texts due than the provider's limit lets through, sent
//! by the dispatcher's own loop for a fixed time. The achieved rate is the
//! texts that reached the fake in that time divided by it; the busiest
//! one-second window is the most arrivals less than a second apart. A
//! limiter that keeps its promise sends at most `rate + burst` in any
//! second: the burst at once after a quiet spell, then the rate.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::args::RateLimitArgs;
use crate::dispatch::dispatcher;
use crate::fake::FakeProvider;
use crate::fixture::{Backend, Fixture, Rules, always_open, hook_settings, releases_csv};
use crate::progress::Progress;
use crate::stats::{busiest_window, round};

/// The tolerance on the achieved rate, in percent.
pub const TOLERANCE_PERCENT: f64 = 2.0;

#[derive(Debug, Serialize)]
pub struct RateLimitFigure {
    pub backend: &'static str,
    pub rate_per_second: u32,
    pub burst: u32,
    pub seconds: u32,
    pub sent: usize,
    pub achieved_per_second: f64,
    pub error_percent: f64,
    pub busiest_second: usize,
    /// Arrivals in each whole second from the start.
    pub per_second: Vec<usize>,
    pub target: String,
    pub met: bool,
}

pub async fn run(
    backend: &Backend,
    args: &RateLimitArgs,
    progress: &Progress,
) -> anyhow::Result<RateLimitFigure> {
    let fake = FakeProvider::start().await?;
    let mut overrides = hook_settings(&fake.url(), args.rate, args.burst);
    overrides.extend(always_open());
    let fixture = Fixture::new(backend, Rules::DueToday, &overrides).await?;
    // Enough due that the limiter, not the queue, decides the pace.
    let people = args.rate * args.seconds + args.burst + args.rate.max(100);
    let bar = progress.bar("rate limit: set-up", u64::from(people));
    let today = fixture.today();
    fixture
        .import(releases_csv(people, |_| today), &bar)
        .await?;
    bar.done("people released today, one text each");

    let dispatcher = dispatcher(&fixture)?;
    let window = Duration::from_secs(u64::from(args.seconds));
    let bar = progress.bar("rate limit: sending", u64::from(args.rate * args.seconds));
    bar.follow(fake.counter());
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let running = tokio::spawn(dispatcher.run(shutdown.clone()));
    tokio::time::sleep(window).await;
    shutdown.cancel();
    running.await?;
    let arrivals = fake.take();
    fake.stop().await;
    fixture.close().await;

    let offsets: Vec<Duration> = arrivals.iter().map(|a| a.instant - started).collect();
    let sent = offsets.iter().filter(|d| **d < window).count();
    let mut per_second = vec![0; args.seconds as usize];
    for d in offsets.iter().filter(|d| **d < window) {
        per_second[d.as_secs() as usize] += 1;
    }
    let instants: Vec<Instant> = arrivals.iter().map(|a| a.instant).collect();
    let busiest_second = busiest_window(&instants, Duration::from_secs(1));
    let achieved_per_second = round(sent as f64 / window.as_secs_f64(), 2);
    let error_percent = round(
        (achieved_per_second - f64::from(args.rate)) / f64::from(args.rate) * 100.0,
        2,
    );
    let ceiling = (args.rate + args.burst) as usize;
    bar.done(format!(
        "{achieved_per_second}/s, busiest second {busiest_second}"
    ));
    Ok(RateLimitFigure {
        backend: backend.name(),
        rate_per_second: args.rate,
        burst: args.burst,
        seconds: args.seconds,
        sent,
        achieved_per_second,
        error_percent,
        busiest_second,
        per_second,
        target: format!(
            "achieved within {TOLERANCE_PERCENT}% of the rate; busiest second <= rate + burst ({ceiling})"
        ),
        met: error_percent.abs() <= TOLERANCE_PERCENT && busiest_second <= ceiling,
    })
}
