//! The quality ledger's duplicate window: the `ce_id` fingerprints seen last on a partition,
//! in two generations of at most `limit` each (a producer's retry is seconds apart, not days).
//! Same counts as `consumers.router.accounts._Window`, which is its specification.

use std::collections::HashSet;

#[derive(Debug, Default)]
pub struct Window {
    current: HashSet<u64>,
    previous: HashSet<u64>,
}

impl Window {
    /// How many of `ids` were seen (before, or earlier within `ids`), and the new ones.
    pub fn duplicates(&self, ids: &[u64]) -> (usize, Vec<u64>) {
        let mut fresh: HashSet<u64> = HashSet::with_capacity(ids.len());
        for id in ids {
            if !self.current.contains(id) && !self.previous.contains(id) {
                fresh.insert(*id);
            }
        }
        (ids.len() - fresh.len(), fresh.into_iter().collect())
    }

    /// The batch that found `fresh` committed: remember them; a full generation turns over.
    pub fn admit(&mut self, fresh: &[u64], limit: usize) {
        self.current.extend(fresh.iter().copied());
        if self.current.len() > limit {
            self.previous = std::mem::take(&mut self.current);
        }
    }
}

/// Per-bucket counts and the sum of `max(0, now - t)` over `times`, as Prometheus'
/// `Histogram.observe` records each: the first bound >= the value (`bounds` ascending, the
/// last +Inf). The sum adds in order, as Python 3.11's `sum` does (3.12's compensates: the
/// last bits of a metric's sum may differ).
pub fn lag_buckets(bounds: &[f64], now: f64, times: &[f64]) -> (Vec<u64>, f64) {
    let mut counts = vec![0u64; bounds.len()];
    let mut total = 0.0;
    for t in times {
        let lag = (now - t).max(0.0); // a NaN is 0, as Python's max(0.0, nan)
        counts[bounds
            .partition_point(|b| *b < lag)
            .min(bounds.len().saturating_sub(1))] += 1;
        total += lag;
    }
    (counts, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_within_and_across_batches_counts() {
        let mut w = Window::default();
        let (dups, fresh) = w.duplicates(&[1, 2, 2]);
        assert_eq!((dups, fresh.len()), (1, 2));
        w.admit(&fresh, 10);
        assert_eq!(w.duplicates(&[2, 9]).0, 1);
    }

    #[test]
    fn the_window_forgets_after_two_generations() {
        let mut w = Window::default();
        for ids in [[1, 2, 3], [4, 5, 6], [7, 8, 9]] {
            let (_, fresh) = w.duplicates(&ids);
            w.admit(&fresh, 2);
        }
        assert_eq!(w.duplicates(&[1]).0, 0);
        assert_eq!(w.duplicates(&[7]).0, 1);
    }

    #[test]
    fn lags_fall_in_the_first_bucket_at_or_above() {
        let bounds = [0.01, 0.1, f64::INFINITY];
        let (counts, total) = lag_buckets(&bounds, 10.0, &[10.0, 9.99, 9.95, 5.0, 11.0]);
        assert_eq!(counts, vec![3, 1, 1]);
        assert!((total - (0.0 + 0.01 + 0.05 + 5.0 + 0.0)).abs() < 1e-9);
    }
}
