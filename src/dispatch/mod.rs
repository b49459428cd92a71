//! The dispatcher: claim what is due, check it again, wait for the
//! provider's rate limit, send, record.
//!
//! A claim is a lease committed before the provider is called, never a
//! transaction held across the call (that would block every writer on
//! SQLite). The opt-out list is checked when a message is claimed and again
//! immediately before the provider call (see `gate`), so a STOP that arrives
//! while a text waits on the rate limiter still stops it; only the provider
//! call itself is a window. Texts to one number go one after another, in a
//! round and across rounds (see `turns`), so the daily cap cannot be raced
//! past.
//!
//! The database is asked per round, not per text: a round's claim, what
//! its checks need, and its outcomes (see `recorder`) are a few statements
//! each. The next round is claimed while this one is sent, and starts as
//! soon as it is claimed, while this one's last texts are out and their
//! outcomes written.

mod backoff;
mod breaker;
mod checks;
pub mod deliveries;
mod depth;
mod gate;
mod recorder;
mod status;
mod turns;
pub use status::{ProviderState, ProviderStatus};

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::Duration;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{DispatchSettings, Settings};
use crate::domain::{MessageId, PhoneNumber};
use crate::planner::CapPolicy;
use crate::providers::{OutboundSms, Provider, SendError};
use crate::store::{ClaimedMessage, SendRecord, Store, StoreError};
use breaker::Breaker;
use checks::RoundFacts;
use gate::OptOutGate;
use recorder::Finished;
use turns::NumberTurns;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub suppressed: usize,
    pub expired: usize,
    pub deferred: usize,
    pub released: usize,
}

/// A provider as configured: failover position is its place in the list.
pub struct ConfiguredProvider {
    pub provider: Arc<dyn Provider>,
    pub rate_per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Round {
    /// Count another round's outcomes in with these.
    pub fn add(&mut self, other: Round) {
        self.claimed += other.claimed;
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.suppressed += other.suppressed;
        self.expired += other.expired;
        self.deferred += other.deferred;
        self.released += other.released;
    }
}

/// A configured provider with its rate limiter and circuit breaker.
pub struct ProviderSlot {
    pub provider: Arc<dyn Provider>,
    /// Whether this daemon holds the provider's lead (see `refresh_leads`).
    leading: AtomicBool,
    limiter: DefaultDirectRateLimiter,
    breaker: Breaker,
    /// When a text last had to wait for the rate limit.
    limited_at: std::sync::Mutex<Option<Instant>>,
}

#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    slots: Vec<ProviderSlot>,
    policy: CapPolicy,
    settings: DispatchSettings,
    due_check: cron::Schedule,
    zone: chrono_tz::Tz,
    worker: String,
    /// The queue depth gauge, counted beside the rounds.
    depth: Arc<depth::QueueDepth>,
}

/// Whether to claim again once a batch is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rounds {
    One,
    UntilNoneDue,
}

/// What every send of a drain shares.
#[derive(Clone)]
struct Sending {
    gate: Arc<OptOutGate>,
    finished: mpsc::UnboundedSender<Finished>,
    /// Room for texts sent and not yet recorded: one batch's worth, so a
    /// crash sends again at most one batch (safety invariant 3), whether
    /// or not the batch before is fully recorded when the next one starts.
    window: Arc<Semaphore>,
    /// Set when an outcome cannot be written, or at shutdown.
    stop: CancellationToken,
    /// `dispatch.concurrency` places for texts on their way to a provider.
    places: Arc<Semaphore>,
    /// Whose number's texts are going now (see `turns`).
    turns: Arc<NumberTurns>,
}

impl Sending {
    /// Wait for room in the window, then for the provider's rate limit:
    /// the room (given back once the text's outcome is written) and how
    /// long the rate limit held the text; `None` once sending stops (the
    /// text is to be put back). Room comes first: a token taken while the
    /// database is slow would be spent in a burst once room is free. Stop
    /// is checked again after the wait for room, because room freed by a
    /// failed write comes back just after `stop` is set.
    async fn ready(
        &self,
        slot: &ProviderSlot,
    ) -> Option<(OwnedSemaphorePermit, std::time::Duration)> {
        let room = tokio::select! {
            biased;
            () = self.stop.cancelled() => return None,
            room = self.window.clone().acquire_owned() => room.expect("the window is never closed"),
        };
        let waited = Instant::now();
        tokio::select! {
            biased;
            () = self.stop.cancelled() => None,
            () = slot.limiter.until_ready() => Some((room, waited.elapsed())),
        }
    }
}

/// What one number's task did: how many texts it put back unsent.
type Released = Result<usize, StoreError>;

/// Wait for a started round's tasks to end; how many texts they put back
/// unsent. The first failure stops all sending and is returned once every
/// task has ended.
async fn end_round(tasks: Option<JoinSet<Released>>, sending: &Sending) -> Released {
    let Some(mut tasks) = tasks else {
        return Ok(0);
    };
    let mut released = Ok(0);
    while let Some(done) = tasks.join_next().await {
        match (done.expect("dispatch tasks do not panic"), &mut released) {
            (Ok(n), Ok(total)) => *total += n,
            (Err(e), Ok(_)) => {
                sending.stop.cancel();
                released = Err(e);
            }
            (_, Err(_)) => {}
        }
    }
    released
}

/// A claimed batch with what its send-time checks read at claim time.
struct ClaimedRound {
    claimed: Vec<ClaimedMessage>,
    facts: RoundFacts,
}

/// What a round knows about one number as its texts go in turn.
struct NumberState {
    suppressed: bool,
    /// When texts went to it in the last day, this round's included.
    taken: Vec<chrono::DateTime<chrono::Utc>>,
}

impl NumberState {
    /// Count a provider's answer as the store would on the next round,
    /// where a reply to the person's own text does not count to the cap.
    fn note(&mut self, record: &SendRecord, reply: bool, now: chrono::DateTime<chrono::Utc>) {
        match record {
            SendRecord::Sent { .. } | SendRecord::Failed { .. } if !reply => self.taken.push(now),
            SendRecord::Suppressed { .. } => self.suppressed = true,
            _ => {}
        }
    }
}

impl Dispatcher {
    /// `providers` in failover order, each with its configured rate and burst.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        providers: Vec<ConfiguredProvider>,
        policy: CapPolicy,
        settings: &Settings,
    ) -> Self {
        let d = &settings.dispatch;
        let slots = providers
            .into_iter()
            .map(|p| ProviderSlot {
                limiter: RateLimiter::direct(quota(p.rate_per_second, p.burst)),
                provider: p.provider,
                leading: AtomicBool::new(false),
                limited_at: std::sync::Mutex::new(None),
                breaker: Breaker::new(
                    d.breaker_failures,
                    Duration::seconds(d.breaker_cooldown_secs as i64),
                ),
            })
            .collect();
        let worker = format!("{}-{}", std::process::id(), MessageId::new());
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                slots,
                policy,
                settings: d.clone(),
                due_check: d.due_check_cron.schedule().clone(),
                zone: settings.time.zone,
                worker,
                depth: depth::QueueDepth::new(),
            }),
        }
    }

    /// The configured provider with this name, for its webhooks.
    pub fn provider(&self, name: &str) -> Option<Arc<dyn Provider>> {
        self.inner
            .slots
            .iter()
            .find(|s| s.provider.name() == name)
            .map(|s| s.provider.clone())
    }

    /// Send until `shutdown`: rounds while texts are due, and when none
    /// are, a wait for the next tick of `dispatch.due_check_cron`.
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            if let Err(e) = self.drain(&shutdown).await {
                tracing::error!(error = %e, "dispatch round failed; trying again shortly");
            }
            tokio::select! {
                () = tokio::time::sleep(self.until_next_check()) => {}
                () = shutdown.cancelled() => break,
            }
        }
        self.release_leads().await;
        tracing::info!("dispatcher stopped");
    }

    fn until_next_check(&self) -> std::time::Duration {
        let now = self.inner.clock.now();
        let next = self
            .inner
            .due_check
            .after(&now.with_timezone(&self.inner.zone))
            .next();
        next.and_then(|next| (next.with_timezone(&chrono::Utc) - now).to_std().ok())
            .unwrap_or(std::time::Duration::from_secs(1))
    }

    /// Rounds until nothing is due; what they did, summed.
    pub async fn drain(&self, shutdown: &CancellationToken) -> Result<Round, StoreError> {
        self.rounds(shutdown, Rounds::UntilNoneDue).await
    }

    /// Claim one batch of due texts and see each to a recorded outcome.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<Round, StoreError> {
        self.rounds(shutdown, Rounds::One).await
    }

    /// Claim and send batches, each claimed while the one before it is
    /// sent, so the database's work overlaps the provider's. One recorder
    /// writes every batch's outcomes as they come, so the next batch is
    /// sent while the last texts of this one are out; texts sent and
    /// not yet recorded (what a crash would send again) stay at most one
    /// batch all the same (see `Sending::window`).
    async fn rounds(
        &self,
        shutdown: &CancellationToken,
        rounds: Rounds,
    ) -> Result<Round, StoreError> {
        let inner = &self.inner;
        // Once an outcome cannot be written, nothing more is sent.
        let stop = shutdown.child_token();
        let (gate, answering) = OptOutGate::new(inner.store.clone());
        let (finished, to_record) = mpsc::unbounded_channel();
        let sending = Sending {
            gate: Arc::new(gate),
            finished,
            window: Arc::new(Semaphore::new(inner.settings.batch_size as usize)),
            stop: stop.clone(),
            places: Arc::new(Semaphore::new(inner.settings.concurrency as usize)),
            turns: Arc::default(),
        };
        let store = inner.store.clone();
        let recording =
            recorder::record(store, inner.clock.clone(), &inner.worker, to_record, &stop);
        let (sent, written, ()) =
            tokio::join!(self.send_rounds(sending, rounds), recording, answering);
        let mut total = written?;
        let sent = sent?;
        (total.claimed, total.released) = (sent.claimed, sent.released);
        Ok(total)
    }

    /// Claim and send batches until none is due (or after one); how many
    /// texts were claimed and how many put back unsent. Each batch starts
    /// as soon as it is claimed, while the last texts of the one before are
    /// still out (the provider would otherwise wait for the slowest of
    /// them), and at most two are under way. Outcomes go to the recorder;
    /// `sending` is dropped at the end, which lets it finish.
    async fn send_rounds(&self, sending: Sending, rounds: Rounds) -> Result<Round, StoreError> {
        let mut counts = Round::default();
        let mut ending: Option<JoinSet<Released>> = None;
        let mut next = self.claim_round().await?;
        while let Some(current) = next.take() {
            counts.claimed += current.claimed.len();
            let started = self.start_round(current, &sending);
            let claim_next = async {
                if rounds == Rounds::One || sending.stop.is_cancelled() {
                    return Ok(None);
                }
                self.claim_round().await
            };
            let (ended, claimed) = tokio::join!(end_round(ending.take(), &sending), claim_next);
            ending = Some(started);
            let failed = match (ended, claimed) {
                (Ok(n), Ok(claimed)) => {
                    counts.released += n;
                    next = claimed;
                    continue;
                }
                // Sending failed (and stopped): what was claimed goes back.
                (Err(e), claimed) => {
                    if let Ok(Some(unsent)) = claimed {
                        self.put_back_round(unsent).await;
                    }
                    e
                }
                // Claiming failed: what is under way still goes.
                (Ok(_), Err(e)) => e,
            };
            let _ = end_round(ending.take(), &sending).await;
            return Err(failed);
        }
        counts.released += end_round(ending, &sending).await?;
        Ok(counts)
    }

    /// Claim a batch and read what its checks need; `None` when nothing is
    /// due or another daemon leads every provider.
    async fn claim_round(&self) -> Result<Option<ClaimedRound>, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        inner.depth.report(|| {
            let store = inner.store.clone();
            async move { store.due_count(now).await }
        });
        if !self.refresh_leads().await {
            return Ok(None);
        }
        let lease = now + Duration::seconds(inner.settings.lease_secs as i64);
        let claimed = inner
            .store
            .claim_due(now, lease, inner.settings.batch_size, &inner.worker)
            .await?;
        if claimed.is_empty() {
            return Ok(None);
        }
        let facts = RoundFacts::load(inner.store.as_ref(), &claimed, now).await?;
        Ok(Some(ClaimedRound { claimed, facts }))
    }

    /// Release a claimed batch unsent, as far as the database allows; what
    /// it does not take back is due again when its lease runs out.
    async fn put_back_round(&self, round: ClaimedRound) {
        for c in round.claimed {
            if let Err(e) = self.put_back(c.message.id).await {
                tracing::warn!(error = %e, "could not release a claim; it is due again when its lease runs out");
                return;
            }
        }
    }

    /// Start sending a round's texts: one task per number, so texts to one
    /// number go one after another, each waiting for its number's turn
    /// (see `turns`) and then for one of `dispatch.concurrency` places.
    fn start_round(
        &self,
        ClaimedRound { claimed, facts }: ClaimedRound,
        sending: &Sending,
    ) -> JoinSet<Released> {
        let mut by_number: HashMap<PhoneNumber, Vec<ClaimedMessage>> = HashMap::new();
        for c in claimed {
            by_number
                .entry(c.message.mobile.clone())
                .or_default()
                .push(c);
        }
        let mut tasks = JoinSet::new();
        for (mobile, texts) in by_number {
            let number = NumberState {
                suppressed: facts.is_suppressed(&mobile),
                taken: facts.taken(&mobile),
            };
            let (this, sending) = (self.clone(), sending.clone());
            tasks.spawn(async move {
                let _turn = sending.turns.take(&mobile).await;
                let _place = sending
                    .places
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                this.send_to_number(texts, number, &sending).await
            });
        }
        tasks
    }

    /// One number's texts in turn; how many were put back unsent.
    async fn send_to_number(
        &self,
        texts: Vec<ClaimedMessage>,
        mut number: NumberState,
        sending: &Sending,
    ) -> Result<usize, StoreError> {
        let mut released = 0;
        for claimed in texts {
            match self.process(claimed, &mut number, sending).await? {
                // A closed channel means recording failed and `stop` is
                // set: the claim is left to run out.
                Some(done) => {
                    let _ = sending.finished.send(done);
                }
                None => released += 1,
            }
        }
        Ok(released)
    }

    /// See one claimed text to an outcome, to be recorded; `None` when it
    /// was put back unsent (at shutdown).
    async fn process(
        &self,
        claimed: ClaimedMessage,
        number: &mut NumberState,
        sending: &Sending,
    ) -> Result<Option<Finished>, StoreError> {
        let inner = &self.inner;
        let id = claimed.message.id;
        let stop = &sending.stop;
        let done = |provider: Option<&str>, record, window| {
            let provider = provider.map(str::to_owned);
            Some(Finished {
                id,
                provider,
                record,
                _window: window,
            })
        };
        if stop.is_cancelled() {
            self.put_back(id).await?;
            return Ok(None);
        }
        let now = inner.clock.now();
        let (suppressed, taken) = (number.suppressed, &number.taken);
        if let Some(hold) = checks::hold(&inner.policy, &claimed, suppressed, taken, now) {
            return Ok(done(None, hold, None));
        }
        let Some(slot) = self.pick() else {
            // Every provider this daemon leads is failing and another daemon
            // leads one: the text waits out the cooldown (put back at once,
            // this daemon would only claim it again), then goes to whichever
            // daemon's provider is sound.
            let at = now + Duration::seconds(inner.settings.breaker_cooldown_secs as i64);
            let reason =
                "every provider this daemon sends through is failing; waiting for one to recover"
                    .to_owned();
            let count_attempt = false;
            let retry = SendRecord::Retry {
                at,
                reason,
                count_attempt,
            };
            return Ok(done(None, retry, None));
        };
        let name = slot.provider.name().to_owned();
        let Some((window, wait)) = sending.ready(slot).await else {
            self.put_back(id).await?;
            return Ok(None);
        };
        metrics::histogram!("sms_rate_limit_wait_seconds", "provider" => name.clone())
            .record(wait.as_secs_f64());
        if wait >= status::LIMITED_WAIT {
            *slot.limited_at.lock().expect("limited lock") = Some(Instant::now());
        }
        // The last word on opt-out, as close to the provider call as it gets.
        let gate = &sending.gate;
        if !checks::is_reply(&claimed) && gate.is_suppressed(&claimed.message.mobile).await? {
            number.suppressed = true;
            return Ok(done(Some(&name), checks::opted_out(), None));
        }
        let result = self.send(slot, &claimed).await;
        let record = self.classify(slot, &claimed, result).await?;
        number.note(&record, checks::is_reply(&claimed), inner.clock.now());
        Ok(done(Some(&name), record, Some(window)))
    }

    async fn send(
        &self,
        slot: &ProviderSlot,
        claimed: &ClaimedMessage,
    ) -> Result<crate::providers::Accepted, SendError> {
        let m = &claimed.message;
        let sms = OutboundSms {
            reference: m.id,
            to: m.mobile.clone(),
            body: m.body.as_str().to_owned(),
            encoding: crate::templates::sms::analyse(m.body.as_str()).encoding,
        };
        let started = Instant::now();
        let result = slot.provider.send(&sms).await;
        let provider = slot.provider.name().to_owned();
        metrics::histogram!("sms_send_duration_seconds", "provider" => provider)
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// Turn a provider's answer into what to record, updating the breaker,
    /// the suppression list and the person's number as the answer implies.
    async fn classify(
        &self,
        slot: &ProviderSlot,
        claimed: &ClaimedMessage,
        result: Result<crate::providers::Accepted, SendError>,
    ) -> Result<SendRecord, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let name = slot.provider.name().to_owned();
        let m = &claimed.message;
        Ok(match result {
            Ok(accepted) => {
                slot.breaker.succeeded();
                SendRecord::Sent {
                    provider: name,
                    provider_id: accepted.provider_id,
                }
            }
            Err(SendError::OptedOut { reason }) => {
                slot.breaker.succeeded();
                inner.store.suppress(&m.mobile, &name, &reason, now).await?;
                SendRecord::Suppressed {
                    reason: format!("{name}: {reason}"),
                }
            }
            Err(SendError::Permanent {
                reason,
                invalid_number,
            }) => {
                slot.breaker.succeeded();
                if invalid_number {
                    inner.store.mark_number_invalid(m.person_id, now).await?;
                }
                SendRecord::Failed {
                    reason: format!("{name}: {reason}"),
                }
            }
            Err(SendError::RateLimited { retry_after }) => {
                self.retry(claimed, "rate limited by the provider", retry_after)
            }
            Err(SendError::Transient {
                reason,
                retry_after,
            }) => {
                if slot.breaker.failed(now) {
                    tracing::warn!(provider = %name, "provider failing repeatedly: others take over for a while, if there are others");
                }
                self.retry(claimed, &format!("{name}: {reason}"), retry_after)
            }
        })
    }

    fn retry(
        &self,
        claimed: &ClaimedMessage,
        reason: &str,
        retry_after: Option<std::time::Duration>,
    ) -> SendRecord {
        let s = &self.inner.settings;
        if claimed.attempts + 1 >= s.max_attempts {
            return SendRecord::Failed {
                reason: format!("gave up after {} attempts: {reason}", claimed.attempts + 1),
            };
        }
        let wait = backoff::delay(
            Duration::seconds(s.retry_base_secs as i64),
            claimed.attempts,
            retry_after,
        );
        SendRecord::Retry {
            at: self.inner.clock.now() + wait,
            reason: reason.to_owned(),
            count_attempt: true,
        }
    }

    /// Release a claim unsent, for the next round or another daemon.
    async fn put_back(&self, id: MessageId) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner
            .store
            .release(id, &inner.worker, inner.clock.now())
            .await?;
        metrics::counter!("sms_dispatch_total", "provider" => "none", "outcome" => "released")
            .increment(1);
        Ok(())
    }

    /// The first provider this daemon leads whose breaker lets it be
    /// tried. When every one it leads is failing: `None` if another daemon
    /// leads a provider (that one may be sound), or else the one whose
    /// breaker reopens soonest.
    ///
    /// A breaker exists to hand texts over to another provider. With none
    /// to hand over to, skipping helps nobody: holding every text back for
    /// the cooldown turned a few passing errors into a minute-long stall,
    /// while each text's own backoff already spares a provider that is down.
    fn pick(&self) -> Option<&ProviderSlot> {
        let now = self.inner.clock.now();
        let slots = &self.inner.slots;
        // Walked again rather than collected: this runs for every text.
        let led = || slots.iter().filter(|s| s.leading.load(Ordering::Relaxed));
        if let Some(sound) = led().find(|s| s.breaker.allows(now)) {
            return Some(sound);
        }
        if led().count() < slots.len() {
            return None;
        }
        led().min_by_key(|s| s.breaker.open_until(now))
    }

    /// Take or keep the lead for each provider. Only the daemon leading a
    /// provider sends through it, so its rate limit holds across every
    /// daemon sharing the database (on SQLite there is one, always leading).
    /// `false` when this daemon leads none.
    async fn refresh_leads(&self) -> bool {
        let mut any = false;
        for slot in &self.inner.slots {
            let name = format!("provider:{}", slot.provider.name());
            let leading = self.inner.store.try_lead(&name).await.unwrap_or_else(|e| {
                tracing::warn!(provider = %slot.provider.name(), error = %e, "cannot tell who leads; not sending through it");
                false
            });
            if leading != slot.leading.swap(leading, Ordering::Relaxed) {
                tracing::info!(provider = %slot.provider.name(), leading, "provider lead changed");
            }
            any |= leading;
        }
        any
    }

    /// Give up every lead, so another daemon takes over at once.
    async fn release_leads(&self) {
        for slot in &self.inner.slots {
            let name = format!("provider:{}", slot.provider.name());
            if let Err(e) = self.inner.store.release_lead(&name).await {
                tracing::warn!(provider = %slot.provider.name(), error = %e, "could not release a lead");
            }
        }
    }
}

fn quota(rate: NonZeroU32, burst: NonZeroU32) -> Quota {
    Quota::per_second(rate).allow_burst(burst)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retried,
    Deferred,
    Failed,
    Suppressed,
    Expired,
}

impl Outcome {
    fn of(record: &SendRecord) -> Self {
        match record {
            SendRecord::Sent { .. } => Self::Sent,
            SendRecord::Retry {
                count_attempt: true,
                ..
            } => Self::Retried,
            SendRecord::Retry { .. } => Self::Deferred,
            SendRecord::Failed { .. } => Self::Failed,
            SendRecord::Suppressed { .. } => Self::Suppressed,
            SendRecord::Expired { .. } => Self::Expired,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retried => "retried",
            Self::Deferred => "deferred",
            Self::Failed => "failed",
            Self::Suppressed => "suppressed",
            Self::Expired => "expired",
        }
    }
}

fn tally(round: &mut Round, outcome: Outcome) {
    let slot = match outcome {
        Outcome::Sent => &mut round.sent,
        Outcome::Retried => &mut round.retried,
        Outcome::Deferred => &mut round.deferred,
        Outcome::Failed => &mut round.failed,
        Outcome::Suppressed => &mut round.suppressed,
        Outcome::Expired => &mut round.expired,
    };
    *slot += 1;
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveTime, TimeZone, Utc};

    use super::*;
    use crate::domain::{
        Language, Message, MessageBody, MessageOrigin, MessageState, OrgId, PersonId, TemplateName,
    };
    use crate::planner::timing::SendingWindow;

    fn policy() -> CapPolicy {
        let at = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        CapPolicy {
            window: SendingWindow {
                start: at(9),
                end: at(20),
            },
            daily_cap: 3,
            min_gap: Duration::minutes(60),
            zone: chrono_tz::Europe::London,
        }
    }

    fn claimed(origin: MessageOrigin, now: DateTime<Utc>) -> ClaimedMessage {
        let message = Message {
            id: MessageId::new(),
            org_id: OrgId::new(),
            person_id: PersonId::new(),
            origin,
            dedupe_key: "k".into(),
            template: TemplateName::parse("gp_registration").unwrap(),
            language: Language::parse("en").unwrap(),
            body: MessageBody::new("Hello".into()),
            mobile: PhoneNumber::parse("+447400123456").unwrap(),
            state: MessageState::Claimed,
            due_at: now,
            send_at: now,
            expires_at: now + Duration::hours(24),
            earliest: None,
            priority: 1,
            goal: None,
            created_at: now,
            updated_at: now,
        };
        ClaimedMessage {
            message,
            attempts: 0,
            number_invalid: false,
        }
    }

    fn sent() -> SendRecord {
        SendRecord::Sent {
            provider: "hook".into(),
            provider_id: "p-1".into(),
        }
    }

    fn hold(number: &NumberState, text: &ClaimedMessage, now: DateTime<Utc>) -> Option<SendRecord> {
        checks::hold(&policy(), text, number.suppressed, &number.taken, now)
    }

    #[test]
    fn a_text_sent_earlier_in_the_round_holds_the_next_to_that_number_for_the_gap() {
        // 10:00 in London, summer time.
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
        let mut number = NumberState {
            suppressed: false,
            taken: Vec::new(),
        };
        let first = claimed(MessageOrigin::Nudge, now);
        assert!(hold(&number, &first, now).is_none());
        number.note(&sent(), false, now);
        let next = claimed(MessageOrigin::Nudge, now);
        match hold(&number, &next, now + Duration::minutes(1)) {
            Some(SendRecord::Retry { at, .. }) => assert_eq!(at, now + Duration::minutes(60)),
            other => panic!("expected a wait for the gap, got {other:?}"),
        }
    }

    #[test]
    fn a_reply_does_not_count_to_the_cap_and_a_provider_opt_out_stops_the_rest() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
        let mut number = NumberState {
            suppressed: false,
            taken: Vec::new(),
        };
        let reply = MessageOrigin::Reply {
            inbound_id: "in-1".into(),
        };
        number.note(&sent(), true, now);
        assert!(
            number.taken.is_empty(),
            "a STOP confirmation is not a reminder"
        );
        assert!(hold(&number, &claimed(MessageOrigin::Nudge, now), now).is_none());

        let refused = SendRecord::Suppressed {
            reason: "hook: opted out".into(),
        };
        number.note(&refused, false, now);
        let next = claimed(MessageOrigin::Nudge, now);
        assert!(matches!(
            hold(&number, &next, now),
            Some(SendRecord::Suppressed { .. })
        ));
        assert!(
            hold(&number, &claimed(reply, now), now).is_none(),
            "an answer to the person's own text still goes"
        );
    }

    #[test]
    fn a_staff_reply_is_not_held_by_the_cap_but_keeps_to_hours_and_opt_outs() {
        // 10:00 in London, summer time; the day's cap of 3 is used up.
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
        let mut number = NumberState {
            suppressed: false,
            taken: vec![now - Duration::minutes(30); 3],
        };
        let nudge = claimed(MessageOrigin::Nudge, now);
        assert!(
            matches!(hold(&number, &nudge, now), Some(SendRecord::Retry { .. })),
            "a reminder waits for tomorrow"
        );
        let reply = claimed(MessageOrigin::StaffReply, now);
        assert!(
            hold(&number, &reply, now).is_none(),
            "a staff reply goes now"
        );
        let late = Utc.with_ymd_and_hms(2026, 6, 1, 20, 30, 0).unwrap();
        match hold(&number, &claimed(MessageOrigin::StaffReply, late), late) {
            Some(SendRecord::Retry { at, .. }) => {
                assert_eq!(at, Utc.with_ymd_and_hms(2026, 6, 2, 8, 0, 0).unwrap());
            }
            other => panic!("expected a wait for 9am, got {other:?}"),
        }
        number.suppressed = true;
        assert!(matches!(
            hold(&number, &reply, now),
            Some(SendRecord::Suppressed { .. })
        ));
    }
}
