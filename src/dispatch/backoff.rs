//! When to try a failed send again: exponential backoff with jitter, so a
//! provider recovering from an outage is not hit by every retry at once,
//! and never sooner than the provider's own Retry-After.

use std::time::Duration as StdDuration;

use chrono::Duration;
use rand::Rng;

const CEILING: Duration = Duration::hours(1);

/// The wait before attempt number `attempt + 1` (attempts start at 0).
pub fn delay(base: Duration, attempt: u32, retry_after: Option<StdDuration>) -> Duration {
    let exponential = base
        .checked_mul(1 << attempt.min(16))
        .unwrap_or(CEILING)
        .min(CEILING);
    let jitter = rand::rng().random_range(0.8..1.2);
    let jittered = Duration::milliseconds((exponential.num_milliseconds() as f64 * jitter) as i64);
    match retry_after.and_then(|r| Duration::from_std(r).ok()) {
        Some(asked) => jittered.max(asked),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_retry_waits_about_twice_as_long_up_to_an_hour() {
        let base = Duration::seconds(30);
        for (attempt, expected) in [(0, 30), (1, 60), (2, 120), (10, 3600)] {
            let d = delay(base, attempt, None).num_seconds() as f64;
            assert!(
                (d - expected as f64).abs() <= expected as f64 * 0.2 + 1.0,
                "{attempt}: {d}"
            );
        }
    }

    #[test]
    fn a_providers_retry_after_is_honoured() {
        let d = delay(Duration::seconds(1), 0, Some(StdDuration::from_secs(120)));
        assert!(d >= Duration::seconds(120));
    }
}
