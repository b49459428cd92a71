//! A circuit breaker per provider: after enough failures in a row the
//! provider is skipped for a cooldown while another can take over (see
//! `Dispatcher::pick`); after the cooldown it is tried again, and one
//! success closes it.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    open_until: Option<DateTime<Utc>>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold,
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    /// May this provider be tried now?
    pub fn allows(&self, now: DateTime<Utc>) -> bool {
        let state = self.state.lock().expect("breaker lock");
        state.open_until.is_none_or(|until| now >= until)
    }

    /// Until when the provider is skipped, if it is now.
    pub fn open_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let state = self.state.lock().expect("breaker lock");
        state.open_until.filter(|until| now < *until)
    }

    pub fn succeeded(&self) {
        *self.state.lock().expect("breaker lock") = State::default();
    }

    /// Count a failure; `true` when this one opened the breaker.
    pub fn failed(&self, now: DateTime<Utc>) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        state.failures += 1;
        if state.failures >= self.threshold {
            state.failures = 0;
            state.open_until = Some(now + self.cooldown);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breaker_opens_after_repeated_failures_and_closes_after_its_cooldown() {
        let now = Utc::now();
        let breaker = Breaker::new(3, Duration::seconds(60));
        assert!(!breaker.failed(now));
        assert!(!breaker.failed(now));
        assert!(breaker.failed(now));
        assert!(!breaker.allows(now + Duration::seconds(59)));
        assert!(breaker.allows(now + Duration::seconds(60)));
    }

    #[test]
    fn a_success_resets_the_count() {
        let now = Utc::now();
        let breaker = Breaker::new(2, Duration::seconds(60));
        breaker.failed(now);
        breaker.succeeded();
        assert!(!breaker.failed(now));
        assert!(breaker.allows(now));
    }
}
