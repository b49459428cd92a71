//! Each provider's state as staff see it on the Today page: sending,
//! held back by its rate limit, skipped after failures, or sent through by
//! another daemon.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::Dispatcher;

/// A wait this long for the rate limit counts as being rate-limited.
pub(super) const LIMITED_WAIT: Duration = Duration::from_millis(50);
/// For this long after such a wait.
const LIMITED_FOR: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderState {
    /// Texts go out as they fall due.
    Sending,
    /// Texts wait their turn under the provider's rate limit.
    RateLimited,
    /// Failing repeatedly until then: skipped while another provider can
    /// take over, still tried (each text after its own wait) when none can.
    SkippedUntil(DateTime<Utc>),
    /// Another daemon sharing the database sends through it.
    OtherDaemon,
    /// This daemon sends nothing (`dispatch.enabled = false`).
    SwitchedOff,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderStatus {
    pub name: String,
    pub state: ProviderState,
}

impl Dispatcher {
    /// Every configured provider's state, in failover order.
    pub fn provider_states(&self) -> Vec<ProviderStatus> {
        let now = self.inner.clock.now();
        self.inner
            .slots
            .iter()
            .map(|slot| {
                let limited = slot
                    .limited_at
                    .lock()
                    .expect("limited lock")
                    .is_some_and(|at| Instant::now().duration_since(at) < LIMITED_FOR);
                let state = match slot.breaker.open_until(now) {
                    _ if !self.inner.settings.enabled => ProviderState::SwitchedOff,
                    Some(until) => ProviderState::SkippedUntil(until),
                    None if !slot.leading.load(Ordering::Relaxed) => ProviderState::OtherDaemon,
                    None if limited => ProviderState::RateLimited,
                    None => ProviderState::Sending,
                };
                ProviderStatus {
                    name: slot.provider.name().to_owned(),
                    state,
                }
            })
            .collect()
    }
}
