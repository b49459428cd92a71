//! Staff reads at scale: what the staff pages and integrations read, in an
//! organisation of `--reads-people` people with five texts each and as much
//! again in another organisation, so every read must find its own
//! organisation's rows among another's. One person in fifty has texted
//! something only staff can answer, and half of those items are resolved.
//!
//! API reads go with an organisation's token; the staff pages' reads (a
//! person's page, the inbox, searches) with a signed-in member of staff's
//! session, searches posted as the search form posts them.
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
use homeward::accounts::SignedIn;
use homeward::domain::{Inbound, MessageId, NewAttention, OrgId, OrgName, Person, PersonId};
use homeward::http::SESSION_COOKIE;
use homeward::startup::Application;
use homeward::store::{AttentionQuery, Page};
use rand::Rng;
use serde::Serialize;

use crate::args::ReadsArgs;
use crate::fixture::{Backend, Fixture, HOOK, NAMES, Rules, releases_csv};
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
    ask: fn(&Sample, &mut rand::rngs::ThreadRng) -> Ask,
}

/// A request as staff or an integration send it.
enum Ask {
    /// An API read, with the organisation's token.
    Api(String),
    /// A staff page, signed in.
    Page(String),
    /// A staff page's form, signed in: where it posts and what is typed in
    /// (the form token is added).
    Form(&'static str, Vec<(&'static str, String)>),
}

/// What requests are filled in from.
struct Sample {
    people: Vec<PersonId>,
    first_day: NaiveDate,
    /// Open attention items of the organisation read.
    items: Vec<String>,
}

impl Sample {
    fn person(&self, rng: &mut rand::rngs::ThreadRng) -> PersonId {
        self.people[rng.random_range(0..self.people.len())]
    }

    fn day(&self, rng: &mut rand::rngs::ThreadRng) -> String {
        let day = self.first_day + Duration::days(rng.random_range(0..300));
        format!("{day}T00:00:00Z")
    }

    fn item(&self, rng: &mut rand::rngs::ThreadRng) -> &str {
        &self.items[rng.random_range(0..self.items.len())]
    }

    /// A reference of the organisation's people, as staff type it.
    fn reference(&self, rng: &mut rand::rngs::ThreadRng) -> String {
        format!("BENCH-{}", rng.random_range(0..self.people.len()))
    }
}

/// One in this many people has something that needs staff (a reply to
/// read), and half of those were dealt with already.
const ATTENTION_EVERY: usize = 50;

const READS: [Read; 13] = [
    Read {
        name: "people, a page",
        request: "GET /v1/people?limit=100&after={person}",
        ask: |s, rng| Ask::Api(format!("/v1/people?limit=100&after={}", s.person(rng))),
    },
    Read {
        name: "one person",
        request: "GET /v1/people/{person}",
        ask: |s, rng| Ask::Api(format!("/v1/people/{}", s.person(rng))),
    },
    Read {
        name: "one person's events",
        request: "GET /v1/people/{person}/events",
        ask: |s, rng| Ask::Api(format!("/v1/people/{}/events", s.person(rng))),
    },
    Read {
        name: "one person's texts",
        request: "GET /v1/messages?person={person}",
        ask: |s, rng| Ask::Api(format!("/v1/messages?person={}", s.person(rng))),
    },
    Read {
        name: "texts, first page",
        request: "GET /v1/messages?limit=100",
        ask: |_, _| Ask::Api("/v1/messages?limit=100".to_owned()),
    },
    Read {
        name: "texts waiting from a day",
        request: "GET /v1/messages?state=pending&from={day}&limit=100",
        ask: |s, rng| {
            Ask::Api(format!(
                "/v1/messages?state=pending&from={}&limit=100",
                s.day(rng)
            ))
        },
    },
    Read {
        name: "attention list, first page",
        request: "GET /v1/attention?limit=100",
        ask: |_, _| Ask::Api("/v1/attention?limit=100".to_owned()),
    },
    Read {
        name: "attention list, a later page",
        request: "GET /v1/attention?limit=100&after={item}",
        ask: |s, rng| Ask::Api(format!("/v1/attention?limit=100&after={}", s.item(rng))),
    },
    Read {
        name: "person's page (staff)",
        request: "GET /people/{person}",
        ask: |s, rng| Ask::Page(format!("/people/{}", s.person(rng))),
    },
    Read {
        name: "inbox page (staff)",
        request: "GET /attention",
        ask: |_, _| Ask::Page("/attention".to_owned()),
    },
    Read {
        name: "inbox, older items (staff)",
        request: "GET /attention?after={item}",
        ask: |s, rng| Ask::Page(format!("/attention?after={}", s.item(rng))),
    },
    Read {
        name: "search by reference (staff)",
        request: "POST /people query={reference}",
        ask: |s, rng| Ask::Form("/people", vec![("query", s.reference(rng))]),
    },
    Read {
        name: "search by first name (staff)",
        request: "POST /people query={first name}",
        ask: |_, rng| {
            let name = NAMES[rng.random_range(0..NAMES.len())];
            Ask::Form("/people", vec![("query", name.to_owned())])
        },
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

    let bar = progress.bar("reads: replies for staff", 2);
    let theirs = people_of(&fixture, other).await?;
    seed_attention(&fixture, &theirs).await?;
    bar.inc(1);
    let ours = people_of(&fixture, fixture.org).await?;
    let items = seed_attention(&fixture, &ours).await?;
    bar.done(format!("{} open items", items.len()));
    let sample = Sample {
        people: ours.iter().map(|p| p.id).collect(),
        first_day,
        items,
    };
    let token = fixture.staff_token("homeward-bench reads").await?;
    let signed_in = fixture.staff_session().await?;
    let app = Application::build_with_clock(&fixture.settings, fixture.clock.clone()).await?;
    let base = format!("http://{}", app.address());
    let shutdown = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());

    let client = Client::new(base, token.expose(), &signed_in)?;
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

/// Every person of an organisation, page by page.
async fn people_of(fixture: &Fixture, org: OrgId) -> anyhow::Result<Vec<Person>> {
    let mut people = Vec::new();
    let mut after = None;
    loop {
        let page = Page { after, limit: 1000 };
        let page = fixture.store.people(org, page).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id);
        people.extend(page);
    }
    ensure!(!people.is_empty(), "an organisation has nobody in it");
    Ok(people)
}

/// One in [`ATTENTION_EVERY`] people texted something only a person can
/// answer, as the inbound webhook stores it; every other item is resolved.
/// The ids of the items left open.
async fn seed_attention(fixture: &Fixture, people: &[Person]) -> anyhow::Result<Vec<String>> {
    let store = &fixture.store;
    let mut raised = Vec::new();
    for person in people.iter().step_by(ATTENTION_EVERY) {
        let now = fixture.clock.now();
        let inbound = Inbound {
            id: MessageId::new().to_string(),
            provider: HOOK.to_owned(),
            provider_message_id: MessageId::new().to_string(),
            from: person.mobile.as_e164().to_owned(),
            body: "can you ring me about the doctor".to_owned(),
            intent: "other".to_owned(),
            received_at: now,
        };
        store
            .record_inbound(&inbound, std::slice::from_ref(person))
            .await?;
        let item = NewAttention {
            org_id: person.org_id,
            person_id: person.id,
            kind: "other",
            detail: "replied: please read and answer".to_owned(),
            inbound_id: Some(inbound.id),
            message_id: None,
        };
        store.raise_attention(&item, now).await?;
        let theirs = store
            .attention(person.org_id, &AttentionQuery::of_person(person.id))
            .await?;
        raised.extend(theirs.into_iter().map(|i| (person.org_id, i.id)));
    }
    let mut open = Vec::new();
    for (n, (org, id)) in raised.into_iter().enumerate() {
        if n % 2 == 0 {
            open.push(id);
        } else {
            let now = fixture.clock.now();
            store
                .resolve_attention(org, &id, "homeward-bench", "rang them", now)
                .await?;
        }
    }
    Ok(open)
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    bearer: String,
    /// The signed-in member of staff's session cookie and form token.
    cookie: String,
    csrf: String,
}

impl Client {
    fn new(base: String, token: &str, staff: &SignedIn) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("an HTTP client")?;
        Ok(Self {
            http,
            base,
            bearer: format!("Bearer {token}"),
            cookie: format!("{SESSION_COOKIE}={}", staff.secret.expose()),
            csrf: staff.session.csrf_token.clone(),
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
            let (ask, requests) = (read.ask, args.reads_requests);
            readers.spawn(async move {
                let mut timings = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    let ask = ask(&sample, &mut rand::rng());
                    timings.push(client.send(ask).await?);
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

    async fn send(&self, ask: Ask) -> anyhow::Result<f64> {
        use reqwest::header::{AUTHORIZATION, COOKIE, ORIGIN};
        let url = |path: &str| format!("{}{path}", self.base);
        let (what, request) = match ask {
            Ask::Api(path) => {
                let request = self
                    .http
                    .get(url(&path))
                    .header(AUTHORIZATION, &self.bearer);
                (format!("GET {path}"), request)
            }
            Ask::Page(path) => {
                let request = self.http.get(url(&path)).header(COOKIE, &self.cookie);
                (format!("GET {path}"), request)
            }
            Ask::Form(path, mut fields) => {
                fields.push(("csrf_token", self.csrf.clone()));
                let request = self
                    .http
                    .post(url(path))
                    .header(COOKIE, &self.cookie)
                    .header(ORIGIN, &self.base)
                    .form(&fields);
                (format!("POST {path}"), request)
            }
        };
        let started = Instant::now();
        let response = request.send().await.with_context(|| what.clone())?;
        let status = response.status();
        let body = response.bytes().await?;
        // A page that sends staff to sign in again did not read anything.
        ensure!(
            status.is_success(),
            "{what}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(millis(started.elapsed()))
    }
}
