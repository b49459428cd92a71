//! Inbound: STOP replies through the real HTTP app, each a signed POST to
//! `/webhooks/hook/inbound` from a known number, with the daemon's own
//! dispatcher running (it sends the STOP confirmations to the loopback
//! fake, as a live daemon would while replies arrive).
//!
//! Two runs on distinct numbers: the first measures requests per second;
//! the second, after each 200, asks the store whether the number is
//! suppressed until it is, timing from the 200 to the first "yes". The
//! suppression is written before the webhook answers, so that time is the
//! cost of one look, and `suppressed_at_first_look` says how many needed
//! only one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::Utc;
use homeward::domain::PhoneNumber;
use homeward::providers::webhook::{SIGNATURE_HEADER, signature_header};
use homeward::startup::Application;
use homeward::store::Store;
use serde::Serialize;
use serde_json::json;

use crate::args::InboundArgs;
use crate::fake::FakeProvider;
use crate::fixture::{
    Backend, Fixture, HOOK, HOOK_SECRET, Rules, e164, hook_settings, releases_csv,
};
use crate::progress::{Bar, Progress};
use crate::stats::{Percentiles, millis, rate, round};

#[derive(Debug, Serialize)]
pub struct InboundFigure {
    pub backend: &'static str,
    pub stops: u32,
    pub clients: u32,
    pub seconds: f64,
    pub requests_per_second: f64,
    /// Each webhook request, from sending to its 200.
    pub request: Option<Percentiles>,
    pub timed_stops: u32,
    /// From a STOP's 200 to the store answering that its number is suppressed.
    pub accepted_to_suppressed: Option<Percentiles>,
    pub suppressed_at_first_look: usize,
    pub suppressed_numbers: u64,
    pub confirmations_sent: u64,
    pub dispatch_enabled: bool,
    pub met: bool,
}

pub async fn run(
    backend: &Backend,
    args: &InboundArgs,
    progress: &Progress,
) -> anyhow::Result<InboundFigure> {
    let fake = FakeProvider::start().await?;
    let overrides = hook_settings(&fake.url(), 1000, 100);
    let fixture = Fixture::new(backend, Rules::Shipped, &overrides).await?;
    let people = args.stops + args.timed_stops;
    let bar = progress.bar("inbound: set-up", u64::from(people));
    let today = fixture.today();
    let csv = releases_csv(people, |i| today + chrono::Days::new(1 + u64::from(i % 30)));
    fixture.import(csv, &bar).await?;
    bar.done("people with texts waiting");

    let app = Application::build_with_clock(&fixture.settings, fixture.clock.clone()).await?;
    let url = format!("http://{}/webhooks/{HOOK}/inbound", app.address());
    let shutdown = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());

    let sender = Sender::new(url, args.clients);
    let bar = progress.bar("inbound: STOP", u64::from(args.stops));
    let started = Instant::now();
    let request = sender.send_all(0..args.stops, None, &bar).await?;
    let elapsed = started.elapsed();
    let requests_per_second = rate(u64::from(args.stops), elapsed);
    bar.done(format!("{requests_per_second:.0}/s"));

    let bar = progress.bar("inbound: STOP, timed", u64::from(args.timed_stops));
    let timed = args.stops..args.stops + args.timed_stops;
    let looks = sender
        .send_all(timed, Some(fixture.store.clone()), &bar)
        .await?;
    bar.done("accepted to suppressed");

    shutdown.cancel();
    serving.await?.context("The app failed")?;
    let raw = fixture.raw().await?;
    let suppressed_numbers = raw.rows("suppressions").await?;
    raw.close().await;
    let confirmations_sent = fake.count();
    fake.stop().await;
    fixture.close().await;

    let suppressed_at_first_look = looks.iter().filter(|l| l.looks == 1).count();
    let accepted_to_suppressed = Percentiles::of(looks.iter().map(|l| l.millis).collect());
    Ok(InboundFigure {
        backend: backend.name(),
        stops: args.stops,
        clients: args.clients,
        seconds: round(elapsed.as_secs_f64(), 3),
        requests_per_second,
        request: Percentiles::of(request.iter().map(|l| l.request_ms).collect()),
        timed_stops: args.timed_stops,
        accepted_to_suppressed,
        suppressed_at_first_look,
        suppressed_numbers,
        confirmations_sent,
        dispatch_enabled: true,
        met: suppressed_numbers == u64::from(people),
    })
}

/// Signed inbound webhooks from `clients` senders at once.
struct Sender {
    client: reqwest::Client,
    url: String,
    clients: u32,
}

/// One STOP: how long its request took, and (when checked) how long after
/// its 200 the number read as suppressed, and in how many looks.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    request_ms: f64,
    millis: f64,
    looks: u32,
}

impl Sender {
    fn new(url: String, clients: u32) -> Self {
        Self {
            client: reqwest::Client::new(),
            url,
            clients,
        }
    }

    /// STOP from person `i`'s number for each `i`; with a store, check
    /// each number's suppression after its 200.
    async fn send_all(
        &self,
        people: std::ops::Range<u32>,
        check: Option<Arc<dyn Store>>,
        bar: &Bar,
    ) -> anyhow::Result<Vec<Timing>> {
        let people: Arc<Vec<u32>> = Arc::new(people.collect());
        let next = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let counter = done.clone();
        bar.follow(move || counter.load(Ordering::Relaxed) as u64);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.clients {
            let (client, url, people, next, done, check) = (
                self.client.clone(),
                self.url.clone(),
                people.clone(),
                next.clone(),
                done.clone(),
                check.clone(),
            );
            workers.spawn(async move {
                let mut timings = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&person) = people.get(i) else { break };
                    let started = Instant::now();
                    stop(&client, &url, person).await?;
                    let mut timing = Timing {
                        request_ms: millis(started.elapsed()),
                        ..Timing::default()
                    };
                    if let Some(store) = &check {
                        (timing.millis, timing.looks) = until_suppressed(store, person).await?;
                    }
                    timings.push(timing);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, anyhow::Error>(timings)
            });
        }
        let mut all = Vec::with_capacity(people.len());
        while let Some(timings) = workers.join_next().await {
            all.extend(timings??);
        }
        Ok(all)
    }
}

async fn stop(client: &reqwest::Client, url: &str, person: u32) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&json!({
        "id": format!("bench-stop-{person}"),
        "from": e164(person),
        "to": "+447400000000",
        "text": "STOP",
    }))?;
    let signature = signature_header(HOOK_SECRET, Utc::now().timestamp(), &body);
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    response.bytes().await?;
    ensure!(status.is_success(), "the inbound webhook answered {status}");
    Ok(())
}

/// Ask until the number reads as suppressed; milliseconds and looks.
async fn until_suppressed(store: &Arc<dyn Store>, person: u32) -> anyhow::Result<(f64, u32)> {
    let accepted = Instant::now();
    let mobile = PhoneNumber::from_trusted_e164(e164(person));
    let mut looks = 0;
    loop {
        looks += 1;
        if store.is_suppressed(&mobile).await? {
            return Ok((millis(accepted.elapsed()), looks));
        }
        ensure!(
            accepted.elapsed() < Duration::from_secs(10),
            "a number accepted a STOP but was not suppressed within 10 s"
        );
        tokio::task::yield_now().await;
    }
}
