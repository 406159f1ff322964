//! Streaming metrics: counters, latency histograms and per-minute rows. Nothing here grows
//! with the number of requests; only the timeline grows, by one row per simulated minute.

pub mod minutes;
pub mod registry;

use hdrhistogram::Histogram;

use crate::quota::{MINUTE_US, ThrottleCause};
use crate::report::{
    AttemptCounts, ClientStats, Latency, LatencySummary, MinuteRow, NamedCounts, Report,
    RequestCounts, Throughput, TokenTotals,
};

/// Latency samples in µs: exact sum and count, percentiles from an HDR histogram.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    hist: Histogram<u64>,
    sum: u128,
    /// Samples of 0 µs not yet in `hist` (most queue waits are 0: counting them is cheaper
    /// than recording each; they are added before the summary, which comes out the same).
    zeros: u64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        // 3 significant digits from 1 µs to about 100 days: percentiles within 0.1%, and a
        // fixed size so recording never allocates.
        let hist =
            Histogram::new_with_bounds(1, 1 << 43, 3).unwrap_or_else(|_| unreachable_histogram());
        LatencyRecorder {
            hist,
            sum: 0,
            zeros: 0,
        }
    }
}

#[cold]
fn unreachable_histogram() -> Histogram<u64> {
    // The bounds above are valid constants; this path exists only to avoid a panic.
    Histogram::new(1).unwrap_or_else(|_| std::process::abort())
}

impl LatencyRecorder {
    /// Records one sample in µs.
    #[inline]
    pub fn record(&mut self, us: u64) {
        if us == 0 {
            self.zeros += 1;
        } else {
            self.hist.saturating_record(us);
            self.sum += u128::from(us);
        }
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.hist.len().saturating_add(self.zeros)
    }

    /// Adds `other`'s samples, as if each had been recorded here too.
    pub fn add(&mut self, other: &LatencyRecorder) {
        // Both sides have the same bounds (`Default`), so the addition cannot fail.
        let added = self.hist.add(&other.hist);
        debug_assert!(added.is_ok(), "latency histograms differ in bounds");
        self.sum += other.sum;
        self.zeros += other.zeros;
    }

    /// Summary in milliseconds (`None` fields when there are no samples).
    pub fn summary(&mut self) -> LatencySummary {
        if self.zeros > 0 {
            self.hist.saturating_record_n(0, self.zeros);
            self.zeros = 0;
        }
        let n = self.hist.len();
        if n == 0 {
            return LatencySummary::default();
        }
        let ms = |us: u64| Some(us as f64 / 1000.0);
        LatencySummary {
            mean: Some(self.sum as f64 / n as f64 / 1000.0),
            p50: ms(self.hist.value_at_quantile(0.50)),
            p90: ms(self.hist.value_at_quantile(0.90)),
            p99: ms(self.hist.value_at_quantile(0.99)),
            max: ms(self.hist.max()),
        }
    }
}

/// A request that succeeded, as the metrics record it.
#[derive(Debug, Clone, Copy)]
pub struct Success {
    /// Arrival time, µs.
    pub arrival: u64,
    /// Whether it arrived in `[warmup, duration)`.
    pub counted: bool,
    /// Input tokens.
    pub input: u64,
    /// Output tokens produced.
    pub output: u64,
    /// Final quota cost.
    pub cost: u64,
    /// Whether its output was cut at `max_tokens`.
    pub truncated: bool,
    /// Attempts it took.
    pub attempts: u32,
    /// Tokens written to the prompt cache (billed, see [`crate::cost`]).
    pub cache_write: u64,
    /// Tokens read from the prompt cache (billed, see [`crate::cost`]).
    pub cache_read: u64,
    /// The pool that served it (its index in the scenario's pools): a workload's share of
    /// the bill is priced at the serving pool's model.
    pub pool: u8,
    /// Its service tier ([`Tier::index`](crate::quota::models::Tier::index)).
    pub tier: u8,
}

/// Everything the engine records during a run.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    warmup_us: u64,
    duration_us: u64,
    /// Counts by final outcome of requests that arrived in `[warmup, duration)`.
    pub requests: RequestCounts,
    /// Attempts of those requests.
    pub attempts: AttemptCounts,
    /// Tokens of those requests.
    pub tokens: TokenTotals,
    throughput_requests: u64,
    throughput_output: u64,
    throughput_quota: u64,
    /// End-to-end latency of successful requests.
    pub e2e: LatencyRecorder,
    /// Wait from arrival to first attempt.
    pub queue_wait: LatencyRecorder,
    timeline: Vec<MinuteRow>,
    /// Index and time range of the last row touched: most events fall in the same minute,
    /// and this avoids a 64-bit division per event.
    row_cache: (usize, u64, u64),
    /// Throttles by limit index.
    by_limit: Vec<u64>,
    limit_names: Vec<String>,
    /// Counted requests that sent at least one attempt.
    first_attempts: u64,
    /// Backoff, pacing and adaptive waits of counted requests, µs.
    backoff_us: u128,
    pacing_us: u128,
    adaptive_us: u128,
    /// Billed tokens of the counted requests' successful attempts.
    billed: crate::cost::BilledTokens,
    /// The prices the run is billed at (`None`: the model has no price).
    prices: Option<crate::cost::Prices>,
    /// Billing by serving pool, each at its pool's prices: set for a workload's share (its
    /// successes may be served by pools on different models) and, at the end of a split
    /// run, for the totals (the sum of the pools' bills). Empty otherwise: one pool, one
    /// price, `billed` alone.
    by_pool: Vec<crate::cost::Billing>,
    /// Billing parts by tier instead of by pool (a pool serving several tiers).
    by_tier: bool,
    /// No per-minute rows (a workload's share of the report has none).
    no_timeline: bool,
    /// No latency samples (a pool's share of the report has none).
    no_latency: bool,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailCause {
    /// Its last attempt was throttled.
    Throttled,
    /// Its last attempt got a 503.
    ServerError,
    /// `client.timeout` passed.
    Timeout,
}

impl Metrics {
    /// Metrics for a run of `duration_us` whose first `warmup_us` is not counted.
    pub fn new(warmup_us: u64, duration_us: u64) -> Self {
        Metrics {
            warmup_us,
            duration_us,
            ..Default::default()
        }
    }

    /// Names the quota's limits (for `throttled_by_limit`) and sizes the attempts histogram
    /// so that recording never allocates.
    pub fn configure(&mut self, limit_names: Vec<String>, max_attempts: u32) {
        self.by_limit = vec![0; limit_names.len()];
        self.limit_names = limit_names;
        self.attempts.per_request.0 = vec![0; max_attempts as usize + 1];
    }

    /// Sets the prices the run is billed at (the report's `cost`).
    pub fn set_prices(&mut self, prices: Option<crate::cost::Prices>) {
        self.prices = prices;
    }

    /// Bills each success at the prices of the pool that serves it (`prices[p]` for pool
    /// `p`): what a workload's share of the report needs.
    pub fn set_pool_prices(
        &mut self,
        prices: impl IntoIterator<Item = Option<crate::cost::Prices>>,
    ) {
        self.by_pool = prices
            .into_iter()
            .map(|prices| crate::cost::Billing {
                prices,
                billed: Default::default(),
            })
            .collect();
    }

    /// Bills each success at the price of its service tier (`prices[t]` for
    /// [`Tier::index`](crate::quota::models::Tier::index) `t`): a pool serving several
    /// tiers.
    pub fn bill_by_tier(&mut self, prices: impl IntoIterator<Item = Option<crate::cost::Prices>>) {
        self.set_pool_prices(prices);
        self.by_tier = true;
    }

    /// Makes the totals' cost the sum of the pools' bills, each at its own model's prices
    /// (a split run, whose pools may serve different models); a pool billed by tier adds
    /// each tier's part.
    pub fn bill_by_pools<'m>(&mut self, pools: impl IntoIterator<Item = &'m Metrics>) {
        self.by_pool = pools
            .into_iter()
            .flat_map(|m| {
                if m.by_pool.is_empty() {
                    vec![crate::cost::Billing {
                        prices: m.prices,
                        billed: m.billed,
                    }]
                } else {
                    m.by_pool.clone()
                }
            })
            .collect();
    }

    /// Adds a counted success to the bill: to its serving pool's part where billing is by
    /// pool, else to the one bill.
    #[inline]
    fn bill(&mut self, s: &Success) {
        let part = if self.by_tier { s.tier } else { s.pool };
        let b = match self.by_pool.get_mut(usize::from(part)) {
            Some(part) => &mut part.billed,
            None => &mut self.billed,
        };
        b.add(s.input, s.output, s.cache_write, s.cache_read);
    }

    /// A successful attempt whose request the client had already given up on (timeout): the
    /// provider bills it all the same.
    #[inline]
    pub fn billed_abandoned(&mut self, s: &Success) {
        if s.counted {
            self.bill(s);
        }
    }

    /// A counted request sent its first attempt.
    #[inline]
    pub fn first_attempt(&mut self, counted: bool) {
        if counted {
            self.first_attempts += 1;
        }
    }

    /// A counted request will sleep `us` before its next attempt.
    #[inline]
    pub fn backoff(&mut self, counted: bool, us: u64) {
        if counted {
            self.backoff_us += u128::from(us);
        }
    }

    /// A counted request was held `us` before sending (`adaptive`: by aws-adaptive).
    #[inline]
    pub fn held(&mut self, counted: bool, us: u64, adaptive: bool) {
        if counted {
            self.pacing_us += u128::from(us);
            if adaptive {
                self.adaptive_us += u128::from(us);
            }
        }
    }

    /// A counted request reached its final outcome after `attempts` attempts.
    #[inline]
    fn attempts_histogram(&mut self, attempts: u32) {
        let h = &mut self.attempts.per_request.0;
        let i = attempts as usize;
        match h.get_mut(i) {
            Some(c) => *c += 1,
            None => {
                h.resize(i + 1, 0);
                if let Some(c) = h.get_mut(i) {
                    *c += 1;
                }
            }
        }
    }

    /// A request failed.
    #[inline]
    pub fn failed(&mut self, counted: bool, cause: FailCause, attempts: u32) {
        if counted {
            self.requests.failed += 1;
            let f = &mut self.requests.failed_by;
            match cause {
                FailCause::Throttled => f.throttled += 1,
                FailCause::ServerError => f.server_error += 1,
                FailCause::Timeout => f.timeout += 1,
            }
            self.attempts_histogram(attempts);
        }
    }

    /// Whether a request arriving at `t` is counted.
    #[inline]
    pub fn counts(&self, arrival: u64) -> bool {
        arrival >= self.warmup_us
    }

    /// Keeps no per-minute rows (for a workload's share, which the report shows without).
    pub fn without_timeline(&mut self) {
        self.no_timeline = true;
        self.timeline = vec![MinuteRow::default()];
        self.row_cache = (0, 0, u64::MAX);
    }

    /// Keeps no latency samples (for a pool's share, which the report shows without).
    pub fn without_latency(&mut self) {
        self.no_latency = true;
    }

    /// Takes the latency samples of `parts` instead of recording its own: the totals of a
    /// run split by workload, where every sample is also recorded by exactly one workload,
    /// so one histogram sample per success is recorded where there were two. Call before
    /// [`Metrics::finish`], on metrics set [`Metrics::without_latency`].
    pub fn add_latency_of<'m>(&mut self, parts: impl IntoIterator<Item = &'m Metrics>) {
        for m in parts {
            self.e2e.add(&m.e2e);
            self.queue_wait.add(&m.queue_wait);
        }
    }

    /// A counted request waited `us` in the client's queue before its first attempt.
    #[inline]
    pub fn waited(&mut self, counted: bool, us: u64) {
        if counted && !self.no_latency {
            self.queue_wait.record(us);
        }
    }

    #[inline]
    // The timeline was just extended to hold `minute`, so the index is in bounds.
    #[allow(clippy::indexing_slicing)]
    fn row(&mut self, now: u64) -> &mut MinuteRow {
        let (cached, start, end) = self.row_cache;
        if now >= start && now < end && cached < self.timeline.len() {
            return &mut self.timeline[cached];
        }
        let minute = (now / MINUTE_US) as usize;
        let start = (minute as u64).saturating_mul(MINUTE_US);
        self.row_cache = (minute, start, start.saturating_add(MINUTE_US));
        if minute >= self.timeline.len() {
            let start = self.timeline.len();
            self.timeline.extend((start..=minute).map(|m| MinuteRow {
                minute: m as u64,
                ..Default::default()
            }));
        }
        &mut self.timeline[minute]
    }

    /// An attempt was admitted with reservation `reserved`; the timeline's limit was charged
    /// `charged`.
    #[inline]
    pub fn admitted(&mut self, now: u64, counted: bool, reserved: u64, charged: u64) {
        let row = self.row(now);
        row.admitted += 1;
        row.quota_charged += i64::try_from(charged).unwrap_or(i64::MAX);
        if counted {
            self.attempts.sent += 1;
            self.attempts.admitted += 1;
            self.tokens.reserved += reserved;
        }
    }

    /// An attempt was throttled by limit number `limit`, reported under `cause`.
    #[inline]
    pub fn throttled(&mut self, now: u64, counted: bool, cause: ThrottleCause, limit: usize) {
        self.row(now).throttled += 1;
        if counted {
            if let Some(c) = self.by_limit.get_mut(limit) {
                *c += 1;
            }
            self.attempts.sent += 1;
            self.attempts.throttled += 1;
            let by = &mut self.attempts.throttled_by;
            match cause {
                ThrottleCause::RequestsPerMinute => by.requests_per_minute += 1,
                ThrottleCause::TokensPerMinute => by.tokens_per_minute += 1,
                ThrottleCause::TokensPerDay => by.tokens_per_day += 1,
            }
        }
    }

    /// A settlement changed the tokens-per-minute charge by `delta` at `now`.
    #[inline]
    pub fn settled(&mut self, now: u64, delta: i64) {
        if delta != 0 {
            self.row(now).quota_charged += delta;
        }
    }

    /// An admitted attempt failed with a 503.
    #[inline]
    pub fn server_error(&mut self, counted: bool) {
        if counted {
            self.attempts.server_errors += 1;
        }
    }

    /// A counted request's streamed attempt was ended by a `throttlingException` event; the
    /// output it had delivered is billed.
    #[inline]
    pub fn throttled_mid_stream(&mut self, s: &Success) {
        if s.counted {
            if let Some(n) = &mut self.attempts.throttled_mid_stream {
                *n += 1;
            }
            self.bill(s);
        }
    }

    /// A request succeeded at `now`.
    #[inline]
    pub fn succeeded(&mut self, now: u64, s: &Success) {
        let &Success {
            arrival,
            counted,
            input,
            output,
            cost,
            truncated,
            attempts,
            ..
        } = s;
        self.row(now).completed += 1;
        if now >= self.warmup_us && now < self.duration_us {
            self.throughput_requests += 1;
            self.throughput_output += output;
            self.throughput_quota += cost;
        }
        if counted {
            self.requests.succeeded += 1;
            self.requests.truncated += u64::from(truncated);
            self.tokens.input += input;
            self.tokens.output += output;
            self.tokens.quota_consumed += cost;
            self.bill(s);
            if !self.no_latency {
                self.e2e.record(now - arrival);
            }
            self.attempts_histogram(attempts);
        }
    }

    /// Adds a workload's requests, latency samples and bill to this one (a service tier's
    /// share of the report, see `engine::tiers`).
    pub fn absorb_share(&mut self, other: &Metrics) {
        let (r, o) = (&mut self.requests, &other.requests);
        r.arrived += o.arrived;
        r.succeeded += o.succeeded;
        r.failed += o.failed;
        r.truncated += o.truncated;
        r.unservable += o.unservable;
        r.failed_by.throttled += o.failed_by.throttled;
        r.failed_by.server_error += o.failed_by.server_error;
        r.failed_by.timeout += o.failed_by.timeout;
        self.e2e.add(&other.e2e);
        self.queue_wait.add(&other.queue_wait);
        if other.by_pool.is_empty() {
            self.by_pool.push(crate::cost::Billing {
                prices: other.prices,
                billed: other.billed,
            });
        } else {
            self.by_pool.extend(other.by_pool.iter().copied());
        }
        self.no_timeline = true;
    }

    /// A pool's share of the report.
    pub fn finish_pool(self, last_event_us: u64) -> crate::report::PoolReport {
        let r = self.finish("", 0, last_event_us, 0);
        crate::report::PoolReport {
            admitted: r.attempts.admitted,
            throttled: r.attempts.throttled,
            throttled_by_limit: r.attempts.throttled_by_limit,
            quota_consumed: r.tokens.quota_consumed,
            reserved: r.tokens.reserved,
            quota_tokens_per_minute: r.throughput.quota_tokens_per_minute,
            cost: r.cost,
            timeline: r.timeline,
        }
    }

    /// A workload's share of the report.
    pub fn finish_workload(self, last_event_us: u64) -> crate::report::WorkloadReport {
        let r = self.finish("", 0, last_event_us, 0);
        crate::report::WorkloadReport {
            requests: r.requests,
            attempts: crate::report::WorkloadAttempts {
                sent: r.attempts.sent,
                admitted: r.attempts.admitted,
                throttled: r.attempts.throttled,
                server_errors: r.attempts.server_errors,
                throttled_mid_stream: r.attempts.throttled_mid_stream,
            },
            latency_ms: r.latency_ms,
            throughput: r.throughput,
            client: r.client,
            cost: r.cost,
        }
    }

    /// The end of the run: the last event happened at `last_event_us`.
    pub fn finish(mut self, scenario: &str, seed: u64, last_event_us: u64, events: u64) -> Report {
        self.row(last_event_us);
        let minutes = (self.duration_us - self.warmup_us) as f64 / MINUTE_US as f64;
        let r = &mut self.requests;
        r.unfinished = r.arrived.saturating_sub(r.succeeded + r.failed);
        let names = std::mem::take(&mut self.limit_names);
        self.attempts.throttled_by_limit = NamedCounts(
            names
                .into_iter()
                .zip(self.by_limit.iter().copied())
                .collect(),
        );
        let secs = |us: u128| us as f64 / 1e6;
        let client = ClientStats {
            retry_amplification: (self.first_attempts > 0)
                .then(|| self.attempts.sent as f64 / self.first_attempts as f64),
            backoff_seconds: secs(self.backoff_us),
            pacing_seconds: secs(self.pacing_us),
            adaptive_wait_seconds: secs(self.adaptive_us),
        };
        let measured_us = self.duration_us - self.warmup_us;
        let cost = if self.by_pool.is_empty() {
            crate::cost::Cost::of(
                &self.billed,
                self.prices.as_ref(),
                self.requests.succeeded,
                measured_us,
            )
        } else {
            crate::cost::Cost::of_parts(&self.by_pool, self.requests.succeeded, measured_us)
        };
        Report {
            scenario: scenario.to_string(),
            seed,
            simulated_seconds: last_event_us as f64 / 1e6,
            requests: self.requests,
            attempts: self.attempts,
            tokens: self.tokens,
            throughput: Throughput {
                requests_per_minute: self.throughput_requests as f64 / minutes,
                output_tokens_per_minute: self.throughput_output as f64 / minutes,
                quota_tokens_per_minute: self.throughput_quota as f64 / minutes,
            },
            latency_ms: Latency {
                e2e: self.e2e.summary(),
                queue_wait: self.queue_wait.summary(),
            },
            timeline: self.timeline,
            engine: crate::report::EngineStats {
                events,
                ..Default::default()
            },
            client,
            cost,
            pools: None,
            workloads: None,
            tiers: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding two recorders gives the summary of recording every sample in one: the totals
    /// of a run split by workload are their workloads' recorders added up.
    #[test]
    fn added_recorders_summarise_like_one() {
        let (mut a, mut b, mut both) = (
            LatencyRecorder::default(),
            LatencyRecorder::default(),
            LatencyRecorder::default(),
        );
        // Zeros, small and large values, and one past the histogram's range (saturated).
        let mut x = 7u64;
        for i in 0..5_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let us = match i % 5 {
                0 => 0,
                1 => x % 1_000,
                2 => x % 90_000_000,
                3 => 1 << 44,
                _ => x % 5_000_000,
            };
            if i % 3 == 0 { &mut a } else { &mut b }.record(us);
            both.record(us);
        }
        a.add(&b);
        assert_eq!(a.count(), both.count());
        let (sa, sb) = (a.summary(), both.summary());
        assert_eq!(format!("{sa:?}"), format!("{sb:?}"));
        assert!(sb.p99.is_some());
    }
}
