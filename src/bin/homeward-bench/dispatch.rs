//! Dispatch: texts already due, sent end to end by the real dispatcher
//! through the generic webhook provider to the loopback fake, against the
//! ceiling: the same HTTP client posting the same requests (body and
//! signature made per request, as the provider does) straight to the same
//! fake with the same concurrency. The ceiling is measured just before and
//! just after the dispatcher, and the ratio uses their mean.
//!
//! Two lags are reported, both "provider call" meaning the moment the fake
//! received the text:
//! * backlog: every text is due before the dispatcher starts, so a text's
//!   lag is its arrival minus the later of its send time and the start —
//!   how long it queued behind the others (about half the run at the p50);
//! * paced: texts fall due one by one at `--paced-rate` while the
//!   dispatcher runs its own loop (`Dispatcher::run`, checking on
//!   `dispatch.due_check_cron` when idle); the lag is arrival minus the
//!   text's send time — the delay a text meets in a queue that keeps up.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use homeward::dispatch::{ConfiguredProvider, Dispatcher, Round};
use homeward::providers::webhook::{SIGNATURE_HEADER, signature_header};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::args::DispatchArgs;
use crate::fake::{Arrival, FakeProvider};
use crate::fixture::{
    Backend, Fixture, HOOK, HOOK_SECRET, PendingText, Rules, always_open, hook_settings,
    releases_csv,
};
use crate::progress::Progress;
use crate::stats::{Percentiles, rate, round};

/// The target for the dispatcher against its ceiling.
pub const TARGET_RATIO: f64 = 0.5;

#[derive(Debug, Serialize)]
pub struct DispatchFigure {
    pub backend: &'static str,
    pub messages: u32,
    pub concurrency: u32,
    pub batch_size: u32,
    /// What the dispatcher's rounds recorded, summed.
    pub outcomes: Round,
    /// Distinct texts the fake received.
    pub received: usize,
    pub seconds: f64,
    pub messages_per_second: f64,
    pub ceiling: Ceiling,
    pub dispatch_ratio: f64,
    pub lag_backlog: Option<Percentiles>,
    pub lag_paced: Option<Percentiles>,
    pub paced_rate: u32,
    pub paced_messages: u32,
    pub due_check_cron: String,
    pub target: String,
    pub met: bool,
}

/// The plain client's rate, before and after the dispatcher ran.
#[derive(Debug, Serialize)]
pub struct Ceiling {
    pub requests_per_second_before: f64,
    pub requests_per_second_after: f64,
    pub requests_per_second: f64,
}

pub async fn run(
    backend: &Backend,
    args: &DispatchArgs,
    progress: &Progress,
) -> anyhow::Result<DispatchFigure> {
    let fake = FakeProvider::start().await?;
    let fixture = prepare(backend, args, &fake, progress).await?;
    let due_check_cron = fixture.settings.dispatch.due_check_cron.to_string();
    let raw = fixture.raw().await?;
    let pending = raw.pending().await?;
    let paced_n = (args.paced_rate * args.paced_secs) as usize;
    ensure!(
        pending.len() == args.messages as usize + paced_n,
        "expected {} due texts, found {}",
        args.messages as usize + paced_n,
        pending.len()
    );
    let (backlog, paced) = pending.split_at(args.messages as usize);
    // The paced texts wait a day, out of the backlog's way.
    let parked = Utc::now() + chrono::Duration::days(1);
    raw.set_send_times(&paced.iter().map(|t| (t.id.clone(), parked)).collect())
        .await?;

    let before = ceiling(&fake, backlog, args.concurrency, progress, "before").await?;
    let dispatcher = dispatcher(&fixture)?;
    let (outcomes, elapsed, started_at) = drain(&dispatcher, &fake, args, progress).await?;
    let arrivals = fake.take();
    let after = ceiling(&fake, backlog, args.concurrency, progress, "after").await?;

    let received = distinct(&arrivals);
    let lag_backlog = Percentiles::of(lags(&arrivals, backlog, Some(started_at)));
    let lag_paced = paced_lag(&dispatcher, &fake, &raw, paced, args, progress).await?;
    raw.close().await;
    fake.stop().await;
    fixture.close().await;

    let messages_per_second = rate(received as u64, elapsed);
    let ceiling = Ceiling {
        requests_per_second_before: before,
        requests_per_second_after: after,
        requests_per_second: round((before + after) / 2.0, 1),
    };
    let dispatch_ratio = round(messages_per_second / ceiling.requests_per_second, 3);
    Ok(DispatchFigure {
        backend: backend.name(),
        messages: args.messages,
        concurrency: args.concurrency,
        batch_size: args.batch_size,
        outcomes,
        received,
        seconds: round(elapsed.as_secs_f64(), 3),
        messages_per_second,
        ceiling,
        dispatch_ratio,
        lag_backlog,
        lag_paced,
        paced_rate: args.paced_rate,
        paced_messages: paced_n as u32,
        due_check_cron,
        target: format!("dispatch_ratio >= {TARGET_RATIO}"),
        met: dispatch_ratio >= TARGET_RATIO && received == args.messages as usize,
    })
}

/// People released today, each with one text due at once; rate limit high
/// enough never to bind.
async fn prepare(
    backend: &Backend,
    args: &DispatchArgs,
    fake: &FakeProvider,
    progress: &Progress,
) -> anyhow::Result<Fixture> {
    let mut overrides = hook_settings(&fake.url(), 1_000_000, 10_000);
    overrides.extend(always_open());
    overrides.push(("dispatch.concurrency", args.concurrency.to_string()));
    overrides.push(("dispatch.batch_size", args.batch_size.to_string()));
    let fixture = Fixture::new(backend, Rules::DueToday, &overrides).await?;
    let people = args.messages + args.paced_rate * args.paced_secs;
    let bar = progress.bar("dispatch: set-up", u64::from(people));
    let today = fixture.today();
    fixture
        .import(releases_csv(people, |_| today), &bar)
        .await
        .context("Failed to import the people to text")?;
    bar.done("people released today, one text each");
    Ok(fixture)
}

/// The dispatcher exactly as the composition root builds it.
pub fn dispatcher(fixture: &Fixture) -> anyhow::Result<Dispatcher> {
    let settings = &fixture.settings;
    let hook = &settings.providers[HOOK];
    let provider = homeward::providers::build_with_clock(HOOK, hook, None, fixture.clock.clone())?;
    let limits = hook.limits();
    let configured = ConfiguredProvider {
        provider,
        rate_per_second: limits.rate_per_second,
        burst: limits.burst,
    };
    Ok(Dispatcher::new(
        fixture.store.clone(),
        fixture.clock.clone(),
        vec![configured],
        homeward::planner::CapPolicy::from_settings(settings),
        settings,
    ))
}

/// Run rounds until nothing is due; the outcomes, the time taken and when
/// the first round started.
async fn drain(
    dispatcher: &Dispatcher,
    fake: &FakeProvider,
    args: &DispatchArgs,
    progress: &Progress,
) -> anyhow::Result<(Round, Duration, DateTime<Utc>)> {
    let bar = progress.bar("dispatch: dispatcher", u64::from(args.messages));
    bar.follow(fake.counter());
    let shutdown = CancellationToken::new();
    let started_at = Utc::now();
    let started = Instant::now();
    let total = dispatcher.drain(&shutdown).await?;
    let elapsed = started.elapsed();
    bar.done(format!(
        "{:.0}/s",
        fake.count() as f64 / elapsed.as_secs_f64()
    ));
    Ok((total, elapsed, started_at))
}

/// Post the same requests as the provider, straight from a client built
/// as the provider builds its own; requests per second.
async fn ceiling(
    fake: &FakeProvider,
    texts: &[PendingText],
    concurrency: u32,
    progress: &Progress,
    when: &str,
) -> anyhow::Result<f64> {
    let bar = progress.bar(&format!("dispatch: ceiling {when}"), texts.len() as u64);
    bar.follow(fake.counter());
    let requests: Arc<Vec<Outgoing>> = Arc::new(texts.iter().map(Outgoing::of).collect());
    let client = provider_client()?;
    let url = fake.url();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, next, requests) =
            (client.clone(), url.clone(), next.clone(), requests.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    return Ok::<_, anyhow::Error>(());
                };
                post(&client, &url, request).await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let elapsed = started.elapsed();
    let received = fake.take().len();
    ensure!(
        received == texts.len(),
        "the fake received {received} of {} requests",
        texts.len()
    );
    let per_second = rate(received as u64, elapsed);
    bar.done(format!("{per_second:.0}/s"));
    Ok(per_second)
}

/// The JSON the webhook provider sends (see its contract).
#[derive(Serialize)]
struct Outgoing {
    reference: String,
    to: String,
    body: String,
    encoding: &'static str,
}

impl Outgoing {
    fn of(text: &PendingText) -> Self {
        Self {
            reference: text.id.clone(),
            to: text.mobile.clone(),
            body: text.body.clone(),
            encoding: homeward::templates::sms::analyse(&text.body)
                .encoding
                .label(),
        }
    }
}

async fn post(client: &reqwest::Client, url: &str, request: &Outgoing) -> anyhow::Result<()> {
    let body = serde_json::to_vec(request)?;
    let signature = signature_header(HOOK_SECRET, Utc::now().timestamp(), &body);
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header("Idempotency-Key", &request.reference)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    response.bytes().await?;
    ensure!(status.is_success(), "the fake answered {status}");
    Ok(())
}

/// A client configured as `providers::build` configures the provider's.
fn provider_client() -> anyhow::Result<reqwest::Client> {
    let timeout = Duration::from_secs(10);
    Ok(reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("homeward/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

fn distinct(arrivals: &[Arrival]) -> usize {
    let mut refs: Vec<&str> = arrivals.iter().map(|a| a.reference.as_str()).collect();
    refs.sort_unstable();
    refs.dedup();
    refs.len()
}

/// Each arrival's lag in milliseconds: arrival minus the text's send time,
/// or minus `floor` when that is later.
fn lags(arrivals: &[Arrival], texts: &[PendingText], floor: Option<DateTime<Utc>>) -> Vec<f64> {
    let send_at: HashMap<&str, DateTime<Utc>> =
        texts.iter().map(|t| (t.id.as_str(), t.send_at)).collect();
    arrivals
        .iter()
        .filter_map(|a| {
            let due = *send_at.get(a.reference.as_str())?;
            let due = floor.map_or(due, |f| due.max(f));
            Some((a.at - due).num_microseconds()? as f64 / 1000.0)
        })
        .collect()
}

/// Texts fall due one by one while `Dispatcher::run` polls; their lags.
async fn paced_lag(
    dispatcher: &Dispatcher,
    fake: &FakeProvider,
    raw: &crate::fixture::Raw,
    paced: &[PendingText],
    args: &DispatchArgs,
    progress: &Progress,
) -> anyhow::Result<Option<Percentiles>> {
    if paced.is_empty() {
        return Ok(None);
    }
    let gap = Duration::from_secs(1) / args.paced_rate;
    let first = Utc::now() + chrono::Duration::seconds(1);
    let times: HashMap<String, DateTime<Utc>> = paced
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), first + gap * i as u32))
        .collect();
    raw.set_send_times(&times).await?;
    let bar = progress.bar("dispatch: paced", paced.len() as u64);
    bar.follow(fake.counter());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(dispatcher.clone().run(shutdown.clone()));
    let deadline = Instant::now() + Duration::from_secs(u64::from(args.paced_secs) + 30);
    while fake.count() < paced.len() as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    running.await?;
    let arrivals = fake.take();
    ensure!(
        distinct(&arrivals) == paced.len(),
        "only {} of {} paced texts arrived",
        distinct(&arrivals),
        paced.len()
    );
    let timed: Vec<PendingText> = paced
        .iter()
        .map(|t| PendingText {
            id: t.id.clone(),
            mobile: String::new(),
            body: String::new(),
            send_at: times[&t.id],
        })
        .collect();
    let lag = Percentiles::of(lags(&arrivals, &timed, None));
    bar.done(format!("p50 {:.0} ms", lag.map_or(0.0, |l| l.p50_ms)));
    Ok(lag)
}
