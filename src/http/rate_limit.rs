//! A request budget per API token, so one runaway client (a sync script in a
//! loop, a leaked token) cannot starve the others or the sender of the
//! database. Each token may make `server.api_burst` requests at once and
//! then `server.api_rate_per_second` a second; beyond that it is answered
//! 429 with `Retry-After`.
//!
//! The budget runs on the app's [`Clock`], like everything else that
//! depends on time, so tests can spend it and refill it without sleeping.
//! It is kept per daemon: behind a load balancer with several daemons a
//! token's budget is that many times larger.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;
use crate::domain::TokenId;

/// The app's clock as governor reads it: nanoseconds since the Unix epoch.
#[derive(Clone)]
struct AppClock(Arc<dyn Clock>);

impl governor::clock::Clock for AppClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let since_epoch = self.0.now().timestamp_nanos_opt().unwrap_or(0);
        Nanos::from(u64::try_from(since_epoch).unwrap_or(0))
    }
}

type Limiter = RateLimiter<TokenId, DashMapStateStore<TokenId>, AppClock, NoOpMiddleware<Nanos>>;

/// Each token's request budget.
pub struct ApiRateLimit {
    limiter: Limiter,
    clock: AppClock,
}

impl ApiRateLimit {
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        let clock = AppClock(clock);
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Spend one request of `token`'s budget, or say how long until the
    /// next one is allowed.
    pub fn check(&self, token: TokenId) -> Result<(), Duration> {
        use governor::clock::Clock as _;
        self.limiter
            .check_key(&token)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::clock::ManualClock;

    fn limit(per_second: u32, burst: u32) -> (ApiRateLimit, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(
            DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000),
        ));
        let nz = |n| NonZeroU32::new(n).unwrap();
        (
            ApiRateLimit::new(nz(per_second), nz(burst), clock.clone()),
            clock,
        )
    }

    #[test]
    fn a_token_may_spend_its_burst_then_waits_for_the_rate() {
        let (limit, clock) = limit(2, 3);
        let token = TokenId::new();
        for _ in 0..3 {
            assert_eq!(limit.check(token), Ok(()));
        }
        assert_eq!(limit.check(token), Err(Duration::from_millis(500)));
        clock.advance(chrono::Duration::milliseconds(500));
        assert_eq!(limit.check(token), Ok(()));
        assert!(limit.check(token).is_err());
    }

    #[test]
    fn each_token_has_its_own_budget() {
        let (limit, _clock) = limit(1, 1);
        let (a, b) = (TokenId::new(), TokenId::new());
        assert_eq!(limit.check(a), Ok(()));
        assert!(limit.check(a).is_err());
        assert_eq!(limit.check(b), Ok(()));
    }
}
