//! The queue depth gauge, counted beside the dispatcher rather than in
//! its way.
//!
//! Counting the due texts walks every entry of the due index: 36 ms with
//! 40,000 waiting on PostgreSQL, and longer as the queue grows. Counted
//! before a claim, it held that claim back just when the queue was
//! longest. So the count runs in a task of its own, one at a time, and
//! the next waits twenty times as long as the last one took (a second at
//! least): however long the queue, counting it takes at most a twentieth
//! of one connection's time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::store::StoreError;

/// The shortest wait between counts.
const EVERY: Duration = Duration::from_secs(1);
/// How many times the last count's duration the next one waits, at least.
const SPACING: u32 = 20;

pub struct QueueDepth {
    /// When a count may next start; `None` while one is under way.
    next: Mutex<Option<Instant>>,
}

impl QueueDepth {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            next: Mutex::new(Some(Instant::now())),
        })
    }

    /// Start `count` and set the gauge from it, if it is time; never waits.
    pub fn report<F>(self: &Arc<Self>, count: impl FnOnce() -> F)
    where
        F: Future<Output = Result<u64, StoreError>> + Send + 'static,
    {
        {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            match *next {
                Some(at) if at <= Instant::now() => *next = None,
                _ => return,
            }
        }
        let (ending, count) = (Ending::new(self.clone()), count());
        tokio::spawn(async move {
            let _ending = ending;
            match count.await {
                Ok(depth) => metrics::gauge!("sms_queue_depth").set(depth as f64),
                Err(e) => tracing::debug!(error = %e, "could not count the queue"),
            }
        });
    }
}

/// A count under way. However it ends (done, failed, or its task dropped
/// or panicking), the next may start once its wait is over: the gauge
/// never stops for good.
struct Ending {
    depth: Arc<QueueDepth>,
    started: Instant,
}

impl Ending {
    fn new(depth: Arc<QueueDepth>) -> Self {
        let started = Instant::now();
        Self { depth, started }
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        let wait = (self.started.elapsed() * SPACING).max(EVERY);
        let mut next = self.depth.next.lock().unwrap_or_else(|e| e.into_inner());
        *next = Some(Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A count that takes `took` and says how often it was started.
    fn count(started: &Arc<AtomicUsize>, took: Duration) -> impl FnOnce() -> CountFuture {
        let started = started.clone();
        move || {
            started.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(took).await;
                Ok(7)
            })
        }
    }
    type CountFuture = std::pin::Pin<Box<dyn Future<Output = Result<u64, StoreError>> + Send>>;

    /// Let spawned counts run as far as paused time allows.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_count_that_never_ends_holds_nothing_back_and_is_not_started_twice() {
        let depth = QueueDepth::new();
        let started = Arc::new(AtomicUsize::new(0));
        let counted = started.clone();
        depth.report(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            std::future::pending()
        });
        tokio::time::advance(Duration::from_secs(60)).await;
        depth.report(count(&started, Duration::ZERO));
        assert_eq!(started.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_count_that_panics_does_not_stop_the_next() {
        let depth = QueueDepth::new();
        depth.report(|| async { panic!("a count that fails badly") });
        settle().await;
        tokio::time::advance(Duration::from_millis(1_100)).await;
        let started = Arc::new(AtomicUsize::new(0));
        depth.report(count(&started, Duration::ZERO));
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "the gauge stopped for good"
        );
    }

    /// After a count that took `took`, none starts `too_soon` ms after it
    /// ended, and one does `in_time` ms after.
    async fn next_count(took: Duration, too_soon: u64, in_time: u64) {
        let depth = QueueDepth::new();
        let started = Arc::new(AtomicUsize::new(0));
        depth.report(count(&started, took));
        tokio::time::sleep(took).await;
        settle().await;
        tokio::time::advance(Duration::from_millis(too_soon)).await;
        depth.report(count(&started, Duration::ZERO));
        let again = started.load(Ordering::SeqCst);
        assert_eq!(again, 1, "counted again {too_soon} ms after");
        tokio::time::advance(Duration::from_millis(in_time - too_soon)).await;
        depth.report(count(&started, Duration::ZERO));
        let again = started.load(Ordering::SeqCst);
        assert_eq!(again, 2, "not counted again {in_time} ms after");
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_count_waits_twenty_times_as_long_as_the_last_took() {
        next_count(Duration::from_millis(100), 1_900, 2_050).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_count_still_waits_a_second() {
        next_count(Duration::ZERO, 900, 1_100).await;
    }
}
