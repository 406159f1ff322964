//! Streaming metrics: counters, latency histograms and per-minute rows. Nothing here grows
//! with the number of requests; only the timeline grows, by one row per simulated minute.

use hdrhistogram::Histogram;

use crate::quota::{MINUTE_US, ThrottleCause};
use crate::report::{
    AttemptCounts, Latency, LatencySummary, MinuteRow, Report, RequestCounts, Throughput,
    TokenTotals,
};

/// Latency samples in µs: exact sum and count, percentiles from an HDR histogram.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    hist: Histogram<u64>,
    sum: u128,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        // 3 significant digits from 1 µs to about 100 days: percentiles within 0.1%, and a
        // fixed size so recording never allocates.
        let hist =
            Histogram::new_with_bounds(1, 1 << 43, 3).unwrap_or_else(|_| unreachable_histogram());
        LatencyRecorder { hist, sum: 0 }
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
        self.hist.saturating_record(us);
        self.sum += u128::from(us);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Summary in milliseconds (`None` fields when there are no samples).
    pub fn summary(&self) -> LatencySummary {
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

    /// Whether a request arriving at `t` is counted.
    #[inline]
    pub fn counts(&self, arrival: u64) -> bool {
        arrival >= self.warmup_us
    }

    #[inline]
    fn row(&mut self, now: u64) -> &mut MinuteRow {
        let minute = (now / MINUTE_US) as usize;
        if minute >= self.timeline.len() {
            let start = self.timeline.len();
            self.timeline.extend((start..=minute).map(|m| MinuteRow {
                minute: m as u64,
                ..Default::default()
            }));
        }
        &mut self.timeline[minute]
    }

    /// An attempt was admitted with reservation `reserved`.
    #[inline]
    pub fn admitted(&mut self, now: u64, counted: bool, reserved: u64) {
        let row = self.row(now);
        row.admitted += 1;
        row.quota_charged += i64::try_from(reserved).unwrap_or(i64::MAX);
        if counted {
            self.attempts.sent += 1;
            self.attempts.admitted += 1;
            self.tokens.reserved += reserved;
        }
    }

    /// An attempt was throttled by `cause`.
    #[inline]
    pub fn throttled(&mut self, now: u64, counted: bool, cause: ThrottleCause) {
        self.row(now).throttled += 1;
        if counted {
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

    /// A request succeeded at `now`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn succeeded(
        &mut self,
        now: u64,
        arrival: u64,
        counted: bool,
        input: u64,
        output: u64,
        cost: u64,
        truncated: bool,
    ) {
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
            self.e2e.record(now - arrival);
        }
    }

    /// The end of the run: the last event happened at `last_event_us`.
    pub fn finish(mut self, scenario: &str, seed: u64, last_event_us: u64, events: u64) -> Report {
        self.row(last_event_us);
        let minutes = (self.duration_us - self.warmup_us) as f64 / MINUTE_US as f64;
        let r = &mut self.requests;
        r.unfinished = r.arrived.saturating_sub(r.succeeded + r.failed);
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
        }
    }
}
