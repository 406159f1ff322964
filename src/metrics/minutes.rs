//! Per-minute, per-pool counters in the shape of Amazon Bedrock's CloudWatch metrics, and the
//! peak quota each pool held in each minute (`run --cloudwatch`, `calibrate`).
//!
//! One row per pool per simulated minute: memory grows with simulated minutes, never with
//! requests. Minute k is `[k·60 s, (k+1)·60 s)` from the start of the run, as in the
//! report's timeline, and covers every request (warm-up included).

use crate::quota::MINUTE_US;

/// One pool's minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteCounts {
    /// Successful attempts completing in the minute (`Invocations`).
    pub invocations: u64,
    /// Attempts refused in the minute (`InvocationThrottles`), at the instant of refusal.
    pub throttles: u64,
    /// Admitted attempts ending with a 503 in the minute (`InvocationServerErrors`).
    pub server_errors: u64,
    /// Input tokens of the successes (cache reads and writes not included).
    pub input: u64,
    /// Output tokens of the successes.
    pub output: u64,
    /// Cache-read tokens of the successes.
    pub cache_read: u64,
    /// Cache-write tokens of the successes.
    pub cache_write: u64,
    /// `I + W + A × output burndown` of the successes (`EstimatedTPMQuotaUsage`).
    pub estimated_usage: u64,
    /// Sum of the successes' attempt latencies (request to last token), µs.
    pub latency_us: u64,
    /// Sum of the successes' times to first token, µs.
    pub ttft_us: u64,
    /// The most the pool's primary limit held at any instant of the minute (reservations of
    /// attempts in flight included).
    pub peak_held: u64,
}

impl MinuteCounts {
    /// Adds `o`'s counts; the peak is the larger of the two.
    pub fn add(&mut self, o: &MinuteCounts) {
        self.invocations += o.invocations;
        self.throttles += o.throttles;
        self.server_errors += o.server_errors;
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.estimated_usage += o.estimated_usage;
        self.latency_us += o.latency_us;
        self.ttft_us += o.ttft_us;
        self.peak_held = self.peak_held.max(o.peak_held);
    }
}

/// A successful attempt, as the per-minute metrics see it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Invocation {
    /// Input tokens (I).
    pub input: u64,
    /// Output tokens generated (A).
    pub output: u64,
    /// Cache reads.
    pub cache_read: u64,
    /// Cache writes (W).
    pub cache_write: u64,
    /// The serving pool's output burndown.
    pub output_burndown: u64,
    /// Attempt latency, µs.
    pub latency_us: u64,
    /// Time to first token, µs.
    pub ttft_us: u64,
}

/// Every pool's minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minutes {
    /// `pools[p][k]`: pool `p`'s minute `k`.
    pub pools: Vec<Vec<MinuteCounts>>,
}

impl Minutes {
    /// Rows for `pools` pools.
    pub fn new(pools: usize) -> Self {
        Minutes {
            pools: vec![Vec::new(); pools],
        }
    }

    /// Minutes covered (the longest pool's rows).
    pub fn len(&self) -> usize {
        self.pools.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// No minute recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn row(&mut self, now: u64, p: usize) -> Option<&mut MinuteCounts> {
        let rows = self.pools.get_mut(p)?;
        let k = usize::try_from(now / MINUTE_US).ok()?;
        if k >= rows.len() {
            rows.resize(k + 1, MinuteCounts::default());
        }
        rows.get_mut(k)
    }

    /// Pool `p`'s primary limit holds `held` at `now` (after an admission or a charge).
    #[inline]
    pub fn held(&mut self, now: u64, p: usize, held: u64) {
        if let Some(r) = self.row(now, p) {
            r.peak_held = r.peak_held.max(held);
        }
    }

    /// An attempt sent to pool `p` was refused at `now`.
    #[inline]
    pub fn throttled(&mut self, now: u64, p: usize) {
        if let Some(r) = self.row(now, p) {
            r.throttles += 1;
        }
    }

    /// An admitted attempt on pool `p` ended with a 503 at `now`.
    #[inline]
    pub fn server_error(&mut self, now: u64, p: usize) {
        if let Some(r) = self.row(now, p) {
            r.server_errors += 1;
        }
    }

    /// A successful attempt on pool `p` completed at `now`.
    #[inline]
    pub fn succeeded(&mut self, now: u64, p: usize, i: &Invocation) {
        if let Some(r) = self.row(now, p) {
            r.invocations += 1;
            r.input += i.input;
            r.output += i.output;
            r.cache_read += i.cache_read;
            r.cache_write += i.cache_write;
            r.estimated_usage += i
                .input
                .saturating_add(i.cache_write)
                .saturating_add(i.output.saturating_mul(i.output_burndown));
            r.latency_us += i.latency_us;
            r.ttft_us += i.ttft_us;
        }
    }

    /// Pads every pool to `minutes` rows (the run's last minute), so all series have the
    /// same length.
    pub fn pad_to(&mut self, minutes: usize) {
        for rows in &mut self.pools {
            if rows.len() < minutes {
                rows.resize(minutes, MinuteCounts::default());
            }
        }
    }

    /// The pools' minutes added up; the peak is the sum of the pools' peaks (exact for one
    /// pool, an upper bound for several, whose peaks may fall at different instants).
    pub fn totals(&self) -> Vec<MinuteCounts> {
        let mut out = vec![MinuteCounts::default(); self.len()];
        for rows in &self.pools {
            for (o, r) in out.iter_mut().zip(rows) {
                let peak = o.peak_held + r.peak_held;
                o.add(r);
                o.peak_held = peak;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimated_usage_is_input_writes_and_burned_down_output() {
        // The AWS formula, by hand: 1,000 input + 200 cache writes + 5 × 300 output = 2,700;
        // cache reads (5,000) do not count.
        let mut m = Minutes::new(1);
        let i = Invocation {
            input: 1000,
            output: 300,
            cache_read: 5000,
            cache_write: 200,
            output_burndown: 5,
            latency_us: 1,
            ttft_us: 1,
        };
        m.succeeded(61_000_000, 0, &i);
        assert_eq!(m.len(), 2);
        assert_eq!(m.pools[0][1].estimated_usage, 2700);
        assert_eq!(m.pools[0][0], MinuteCounts::default());
    }

    #[test]
    fn peak_is_the_largest_value_seen_in_the_minute() {
        let mut m = Minutes::new(2);
        m.held(0, 0, 10);
        m.held(1, 0, 30);
        m.held(2, 0, 20);
        m.held(60_000_000, 0, 5);
        m.held(0, 1, 7);
        assert_eq!(m.pools[0][0].peak_held, 30);
        assert_eq!(m.pools[0][1].peak_held, 5);
        // Totals add the pools' peaks.
        assert_eq!(m.totals()[0].peak_held, 37);
    }
}
