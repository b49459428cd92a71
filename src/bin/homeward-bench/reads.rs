//! Staff reads at scale: what the staff pages and integrations read, through
//! the real HTTP API with an organisation's token, in an organisation of
//! `--reads-people` people with five texts each and as much again in
//! another organisation, so every read must find its own organisation's
//! rows among another's.
//!
//! Each kind of read is sent `--reads-requests` times from `--readers`
//! clients at once, with a person, a page or a date picked at random for
//! each request, and is timed from sending to the whole body read. The
//! token's request limit is lifted: the readers stand for staff at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Context, ensure};
use chrono::{Duration, NaiveDate};
use homeward::domain::{OrgName, PersonId};
use homeward::startup::Application;
use homeward::store::Page;
use rand::Rng;
use serde::Serialize;

use crate::args::ReadsArgs;
use crate::fixture::{Backend, Fixture, Rules, releases_csv};
use crate::progress::{Bar, Progress};
use crate::stats::{Percentiles, millis};

/// The target for every kind of read.
pub const TARGET_P95_MS: f64 = 20.0;

#[derive(Debug, Serialize)]
pub struct ReadsFigure {
    pub backend: &'static str,
    pub people: u32,
    pub texts: u64,
    /// People and texts in the other organisation, never read.
    pub other_people: u32,
    pub other_texts: u64,
    pub readers: u32,
    pub reads: Vec<ReadTiming>,
    pub met: bool,
}

#[derive(Debug, Serialize)]
pub struct ReadTiming {
    pub read: &'static str,
    /// The request, with what varies in braces.
    pub request: &'static str,
    pub timing: Option<Percentiles>,
}

/// One kind of read: a name, its request shape, and how to fill it in.
struct Read {
    name: &'static str,
    request: &'static str,
    path: fn(&Sample, &mut rand::rngs::ThreadRng) -> String,
}

/// What requests are filled in from.
struct Sample {
    people: Vec<PersonId>,
    first_day: NaiveDate,
}

impl Sample {
    fn person(&self, rng: &mut rand::rngs::ThreadRng) -> PersonId {
        self.people[rng.random_range(0..self.people.len())]
    }

    fn day(&self, rng: &mut rand::rngs::ThreadRng) -> String {
        let day = self.first_day + Duration::days(rng.random_range(0..300));
        format!("{day}T00:00:00Z")
    }
}

const READS: [Read; 7] = [
    Read {
        name: "people, a page",
        request: "GET /v1/people?limit=100&after={person}",
        path: |s, rng| format!("/v1/people?limit=100&after={}", s.person(rng)),
    },
    Read {
        name: "one person",
        request: "GET /v1/people/{person}",
        path: |s, rng| format!("/v1/people/{}", s.person(rng)),
    },
    Read {
        name: "one person's events",
        request: "GET /v1/people/{person}/events",
        path: |s, rng| format!("/v1/people/{}/events", s.person(rng)),
    },
    Read {
        name: "one person's texts",
        request: "GET /v1/messages?person={person}",
        path: |s, rng| format!("/v1/messages?person={}", s.person(rng)),
    },
    Read {
        name: "texts, first page",
        request: "GET /v1/messages?limit=100",
        path: |_, _| "/v1/messages?limit=100".to_owned(),
    },
    Read {
        name: "texts waiting from a day",
        request: "GET /v1/messages?state=pending&from={day}&limit=100",
        path: |s, rng| format!("/v1/messages?state=pending&from={}&limit=100", s.day(rng)),
    },
    Read {
        name: "attention list",
        request: "GET /v1/attention",
        path: |_, _| "/v1/attention".to_owned(),
    },
];

pub async fn run(
    backend: &Backend,
    args: &ReadsArgs,
    progress: &Progress,
) -> anyhow::Result<ReadsFigure> {
    // Eight readers stand for eight members of staff at once; one token's
    // request limit (20/s) would measure the limiter, not the reads.
    let unlimited = [
        ("server.api_rate_per_second", "100000".to_owned()),
        ("server.api_burst", "100000".to_owned()),
    ];
    let fixture = Fixture::new(backend, Rules::FivePerLiberation, &unlimited).await?;
    let first_day = fixture.today() + chrono::Days::new(1);
    let csv = || {
        releases_csv(args.reads_people, |i| {
            first_day + chrono::Days::new(u64::from(i % 300))
        })
    };
    let bar = progress.bar("reads: another organisation", u64::from(args.reads_people));
    let other = fixture
        .store
        .create_org(
            &OrgName::parse("Another Throughcare").expect("a valid name"),
            fixture.clock.now(),
        )
        .await?
        .id;
    let other_texts = fixture
        .import_into(other, csv(), &bar)
        .await?
        .planned
        .created as u64;
    bar.done(format!("{other_texts} texts planned"));
    let bar = progress.bar("reads: the organisation read", u64::from(args.reads_people));
    let texts = fixture.import(csv(), &bar).await?.planned.created as u64;
    bar.done(format!("{texts} texts planned"));

    let sample = Sample {
        people: people_of(&fixture).await?,
        first_day,
    };
    let token = fixture.staff_token("homeward-bench reads").await?;
    let app = Application::build_with_clock(&fixture.settings, fixture.clock.clone()).await?;
    let base = format!("http://{}", app.address());
    let shutdown = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());

    let client = Client::new(base, token.expose())?;
    let sample = Arc::new(sample);
    let mut reads = Vec::new();
    for read in &READS {
        let bar = progress.bar(
            &format!("reads: {}", read.name),
            u64::from(args.reads_requests),
        );
        let timings = client.time(read, &sample, args, &bar).await?;
        let timing = Percentiles::of(timings);
        bar.done(match &timing {
            Some(t) => format!("p95 {} ms", t.p95_ms),
            None => "nothing timed".into(),
        });
        reads.push(ReadTiming {
            read: read.name,
            request: read.request,
            timing,
        });
    }
    shutdown.cancel();
    serving.await??;
    fixture.close().await;

    let met = reads
        .iter()
        .all(|r| r.timing.as_ref().is_some_and(|t| t.p95_ms <= TARGET_P95_MS));
    Ok(ReadsFigure {
        backend: backend.name(),
        people: args.reads_people,
        texts,
        other_people: args.reads_people,
        other_texts,
        readers: args.readers,
        reads,
        met,
    })
}

/// Every person of the organisation read, page by page.
async fn people_of(fixture: &Fixture) -> anyhow::Result<Vec<PersonId>> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = Page { after, limit: 1000 };
        let page = fixture.store.people(fixture.org, page).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id);
        ids.extend(page.iter().map(|p| p.id));
    }
    ensure!(!ids.is_empty(), "the organisation read has nobody in it");
    Ok(ids)
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    bearer: String,
}

impl Client {
    fn new(base: String, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .context("an HTTP client")?;
        Ok(Self {
            http,
            base,
            bearer: format!("Bearer {token}"),
        })
    }

    /// `args.reads_requests` of one kind of read from `args.readers`
    /// clients at once: each one's time in milliseconds.
    async fn time(
        &self,
        read: &Read,
        sample: &Arc<Sample>,
        args: &ReadsArgs,
        bar: &Bar,
    ) -> anyhow::Result<Vec<f64>> {
        let next = Arc::new(AtomicU32::new(0));
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..args.readers {
            let (client, sample, next, bar) =
                (self.clone(), sample.clone(), next.clone(), bar.clone());
            let (path, requests) = (read.path, args.reads_requests);
            readers.spawn(async move {
                let mut timings = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    let path = path(&sample, &mut rand::rng());
                    timings.push(client.get(&path).await?);
                    bar.inc(1);
                }
                anyhow::Ok(timings)
            });
        }
        let mut all = Vec::new();
        while let Some(timings) = readers.join_next().await {
            all.extend(timings??);
        }
        Ok(all)
    }

    async fn get(&self, path: &str) -> anyhow::Result<f64> {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.bearer)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body = response.bytes().await?;
        ensure!(
            status.is_success(),
            "GET {path}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(millis(started.elapsed()))
    }
}
