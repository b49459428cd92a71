//! Small arithmetic shared by the figures.

use std::time::{Duration, Instant};

use serde::Serialize;

/// The median, the 99th percentile and the largest of some durations, in
/// milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub count: usize,
}

impl Percentiles {
    /// Nearest-rank percentiles; `None` for no values.
    pub fn of(mut millis: Vec<f64>) -> Option<Self> {
        if millis.is_empty() {
            return None;
        }
        millis.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p / 100.0) * millis.len() as f64).ceil() as usize;
            millis[i.clamp(1, millis.len()) - 1]
        };
        Some(Self {
            p50_ms: round(rank(50.0), 3),
            p95_ms: round(rank(95.0), 3),
            p99_ms: round(rank(99.0), 3),
            max_ms: round(millis[millis.len() - 1], 3),
            count: millis.len(),
        })
    }
}

/// Things per second, to one decimal place.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    round(count as f64 / elapsed.as_secs_f64(), 1)
}

pub fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The most instants in any window `width` long (they need not be sorted).
pub fn busiest_window(instants: &[Instant], width: Duration) -> usize {
    let mut sorted = instants.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= width {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let p = Percentiles::of((1..=100).map(f64::from).collect()).unwrap();
        assert_eq!((p.p50_ms, p.p99_ms, p.max_ms), (50.0, 99.0, 100.0));
        assert!(Percentiles::of(Vec::new()).is_none());
    }

    #[test]
    fn the_busiest_window_counts_instants_less_than_its_width_apart() {
        let t = Instant::now();
        let at = |ms: u64| t + Duration::from_millis(ms);
        let instants = [at(0), at(500), at(999), at(1000), at(1001), at(1500)];
        assert_eq!(busiest_window(&instants, Duration::from_secs(1)), 4);
    }
}
