//! The dispatcher: claim what is due, check it again, wait for the
//! provider's rate limit, send, record.
//!
//! A claim is a lease committed before the provider is called, never a
//! transaction held across the call (that would block every writer on
//! SQLite). The opt-out list is checked when a message is claimed and again
//! immediately before the provider call, so a STOP that arrives while a
//! text waits on the rate limiter still stops it; only the provider call
//! itself is a window. Texts to one number in a round go one after another,
//! so the daily cap cannot be raced past.

mod backoff;
mod breaker;
mod checks;
pub mod deliveries;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::Duration;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{DispatchSettings, Settings};
use crate::domain::MessageId;
use crate::planner::CapPolicy;
use crate::planner::timing::SendingWindow;
use crate::providers::{OutboundSms, Provider, SendError};
use crate::store::{ClaimedMessage, SendRecord, Store, StoreError};
use breaker::Breaker;

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
    pub rate_per_second: u32,
    pub burst: u32,
}

/// A configured provider with its rate limiter and circuit breaker.
pub struct ProviderSlot {
    pub provider: Arc<dyn Provider>,
    /// Whether this daemon holds the provider's lead (see `refresh_leads`).
    leading: AtomicBool,
    limiter: DefaultDirectRateLimiter,
    breaker: Breaker,
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
}

impl Dispatcher {
    /// `providers` in failover order, each with its configured rate and burst.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        providers: Vec<ConfiguredProvider>,
        settings: &Settings,
    ) -> Self {
        let d = &settings.dispatch;
        let slots = providers
            .into_iter()
            .map(|p| ProviderSlot {
                limiter: RateLimiter::direct(quota(p.rate_per_second, p.burst)),
                provider: p.provider,
                leading: AtomicBool::new(false),
                breaker: Breaker::new(
                    d.breaker_failures,
                    Duration::seconds(d.breaker_cooldown_secs as i64),
                ),
            })
            .collect();
        let (start, end) = settings.planner.window();
        let policy = CapPolicy {
            window: SendingWindow { start, end },
            daily_cap: settings.planner.daily_cap,
            min_gap: Duration::minutes(settings.planner.min_gap_minutes.into()),
            zone: settings.time.zone,
        };
        let worker = format!("{}-{}", std::process::id(), MessageId::new());
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                slots,
                policy,
                settings: d.clone(),
                due_check: d
                    .due_check_cron
                    .parse()
                    .expect("validated with the settings"),
                zone: settings.time.zone,
                worker,
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
            let idle = match self.run_once(&shutdown).await {
                Ok(round) => round.claimed == 0,
                Err(e) => {
                    tracing::error!(error = %e, "dispatch round failed; trying again shortly");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = tokio::time::sleep(self.until_next_check()) => {}
                    () = shutdown.cancelled() => break,
                }
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

    /// Claim one batch of due texts and see each to an outcome.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<Round, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        if let Ok(depth) = inner.store.due_count(now).await {
            metrics::gauge!("sms_queue_depth").set(depth as f64);
        }
        if !self.refresh_leads().await {
            // Another daemon sends through every provider we could use.
            return Ok(Round::default());
        }
        let lease = now + Duration::seconds(inner.settings.lease_secs as i64);
        let claimed = inner
            .store
            .claim_due(now, lease, inner.settings.batch_size, &inner.worker)
            .await?;
        let mut round = Round {
            claimed: claimed.len(),
            ..Round::default()
        };
        let mut by_number: HashMap<String, Vec<ClaimedMessage>> = HashMap::new();
        for c in claimed {
            by_number
                .entry(c.message.mobile.as_e164().to_owned())
                .or_default()
                .push(c);
        }
        let permits = Arc::new(Semaphore::new(inner.settings.concurrency as usize));
        let mut tasks = JoinSet::new();
        for texts in by_number.into_values() {
            let (this, permits, shutdown) = (self.clone(), permits.clone(), shutdown.clone());
            tasks.spawn(async move {
                let _permit = permits
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let mut outcomes = Vec::with_capacity(texts.len());
                for c in texts {
                    outcomes.push(this.process(c, &shutdown).await);
                }
                outcomes
            });
        }
        while let Some(done) = tasks.join_next().await {
            for outcome in done.expect("dispatch tasks do not panic") {
                tally(&mut round, outcome?);
            }
        }
        Ok(round)
    }

    /// See one claimed text to an outcome and record it.
    async fn process(
        &self,
        claimed: ClaimedMessage,
        shutdown: &CancellationToken,
    ) -> Result<Outcome, StoreError> {
        let inner = &self.inner;
        let id = claimed.message.id;
        if shutdown.is_cancelled() {
            inner
                .store
                .release(id, &inner.worker, inner.clock.now())
                .await?;
            return Ok(Outcome::Released);
        }
        if let Some(hold) = checks::hold(
            inner.store.as_ref(),
            &inner.policy,
            &claimed,
            inner.clock.now(),
        )
        .await?
        {
            return self.record(&claimed, None, hold).await;
        }
        let Some(slot) = self.pick() else {
            let at =
                inner.clock.now() + Duration::seconds(inner.settings.breaker_cooldown_secs as i64);
            let reason = "every provider is failing; waiting for one to recover".to_owned();
            return self
                .record(
                    &claimed,
                    None,
                    SendRecord::Retry {
                        at,
                        reason,
                        count_attempt: false,
                    },
                )
                .await;
        };
        let name = slot.provider.name().to_owned();
        let waited = Instant::now();
        tokio::select! {
            () = slot.limiter.until_ready() => {}
            () = shutdown.cancelled() => {
                inner.store.release(id, &inner.worker, inner.clock.now()).await?;
                return Ok(Outcome::Released);
            }
        }
        metrics::histogram!("sms_rate_limit_wait_seconds", "provider" => name.clone())
            .record(waited.elapsed().as_secs_f64());
        // The last word on opt-out, as close to the provider call as it gets.
        if !checks::is_reply(&claimed) && inner.store.is_suppressed(&claimed.message.mobile).await?
        {
            return self
                .record(&claimed, Some(&name), checks::opted_out())
                .await;
        }
        let result = self.send(slot, &claimed).await;
        let record = self.classify(slot, &claimed, result).await?;
        self.record(&claimed, Some(&name), record).await
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
                    tracing::warn!(provider = %name, "provider failing repeatedly: skipping it for a while");
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

    async fn record(
        &self,
        claimed: &ClaimedMessage,
        provider: Option<&str>,
        record: SendRecord,
    ) -> Result<Outcome, StoreError> {
        let inner = &self.inner;
        let ours = inner
            .store
            .record_send(
                claimed.message.id,
                &inner.worker,
                &record,
                inner.clock.now(),
            )
            .await?;
        if !ours {
            tracing::warn!(message = %claimed.message.id, "claim was lost before its outcome was recorded");
        }
        let outcome = Outcome::of(&record);
        let provider = provider.unwrap_or("none").to_owned();
        metrics::counter!("sms_dispatch_total", "provider" => provider, "outcome" => outcome.label()).increment(1);
        Ok(outcome)
    }

    /// The first provider whose breaker lets it be tried.
    fn pick(&self) -> Option<&ProviderSlot> {
        let now = self.inner.clock.now();
        self.inner
            .slots
            .iter()
            .find(|s| s.leading.load(Ordering::Relaxed) && s.breaker.allows(now))
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

fn quota(rate: u32, burst: u32) -> Quota {
    let rate = std::num::NonZeroU32::new(rate).expect("validated: rate_per_second > 0");
    let burst = std::num::NonZeroU32::new(burst).expect("validated: burst > 0");
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
    Released,
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
            Self::Released => "released",
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
        Outcome::Released => &mut round.released,
    };
    *slot += 1;
}
