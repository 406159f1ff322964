//! The report of a run (docs/report.md) and its output formats, one file per format behind the
//! small [`Exporter`] trait.

mod csv;
pub mod html;
mod json;
pub mod plot;
pub use plot::timeline_svg;
mod table;

use serde::Serialize;

pub use self::csv::{CsvExporter, timeline_csv};
pub use self::json::JsonExporter;
pub use self::table::TableExporter;

/// The result of one run. Field order is the JSON key order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Time of the last event, seconds.
    pub simulated_seconds: f64,
    /// Requests that arrived in `[warmup, duration)`, by final outcome.
    pub requests: RequestCounts,
    /// Attempts of those requests.
    pub attempts: AttemptCounts,
    /// Tokens of those requests.
    pub tokens: TokenTotals,
    /// Completions in `[warmup, duration)` per minute.
    pub throughput: Throughput,
    /// Latency of those requests, milliseconds.
    pub latency_ms: Latency,
    /// One row per simulated minute, over all requests.
    pub timeline: Vec<MinuteRow>,
    /// Engine statistics.
    pub engine: EngineStats,
    /// What the client did: retry amplification, time in backoff and in pacing.
    pub client: ClientStats,
    /// What the counted requests' successful attempts cost (see [`crate::cost`]).
    pub cost: crate::cost::Cost,
    /// Per pool, when the scenario has two or more pools or workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pools: Option<Named<PoolReport>>,
    /// Per workload, when the scenario has two or more pools or workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workloads: Option<Named<WorkloadReport>>,
    /// Per service tier, when the workloads use more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Named<crate::engine::tiers::TierReport>>,
}

/// Values by name, serialized as an object in the stored (file) order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `pools.NAME`: what one pool admitted, refused and was charged. Its admitted and
/// throttled counts sum, over the pools, to `attempts.admitted` and `attempts.throttled`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolReport {
    /// Attempts it admitted.
    pub admitted: u64,
    /// Attempts sent to it that were refused (by its limits or the account's).
    pub throttled: u64,
    /// Those refusals by the first refusing limit: the pool's, then the account's.
    pub throttled_by_limit: NamedCounts,
    /// Final quota cost of the successes it served.
    pub quota_consumed: u64,
    /// Reservations of the attempts it admitted.
    pub reserved: u64,
    /// Quota tokens of its completions in `[warmup, duration)` per minute.
    pub quota_tokens_per_minute: f64,
    /// What the successes it served cost, at its model's prices; the pools' `usd` sum to
    /// the report's `cost.usd`. `usd_per_success` divides by the counted requests it
    /// served.
    pub cost: crate::cost::Cost,
    /// One row per simulated minute: its admissions, throttles, completions and the
    /// charges of its primary limit.
    pub timeline: Vec<MinuteRow>,
}

/// `workloads.NAME.attempts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkloadAttempts {
    /// Attempts sent.
    pub sent: u64,
    /// Attempts admitted.
    pub admitted: u64,
    /// Attempts refused (HTTP 429).
    pub throttled: u64,
    /// Admitted attempts that failed with HTTP 503.
    pub server_errors: u64,
    /// Admitted, streamed attempts ended by a `throttlingException` event after HTTP 200
    /// (`quota.mid_stream_throttle`; only then present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled_mid_stream: Option<u64>,
}

/// `workloads.NAME`: one application's requests, attempts, latency, throughput and client.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkloadReport {
    /// Its requests by final outcome.
    pub requests: RequestCounts,
    /// Its attempts.
    pub attempts: WorkloadAttempts,
    /// Its latency, milliseconds.
    pub latency_ms: Latency,
    /// Its completions per minute.
    pub throughput: Throughput,
    /// What its client did.
    pub client: ClientStats,
    /// What its successes cost, each at the prices of the pool that served it; the
    /// workloads' `usd` sum to the report's `cost.usd`.
    pub cost: crate::cost::Cost,
}

/// `requests.*`: `arrived = succeeded + failed + unfinished`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Arrived in `[warmup, duration)`.
    pub arrived: u64,
    /// Completed successfully.
    pub succeeded: u64,
    /// Gave up after throttles or 503s.
    pub failed: u64,
    /// No final outcome when the run stopped.
    pub unfinished: u64,
    /// Succeeded with output cut at `max_tokens`.
    pub truncated: u64,
    /// Reservation larger than a limit's whole capacity: can never be admitted.
    pub unservable: u64,
    /// Succeeded but cut off mid-generation by an output budget (bedrock-mantle's output
    /// tokens per minute), included in `truncated`. Only where such a limit exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_by_output_budget: Option<u64>,
    /// Failed requests by cause.
    pub failed_by: FailedBy,
}

/// `requests.failed_by.*`: `failed = throttled + server_error + timeout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailedBy {
    /// Gave up after a throttled last attempt (attempts or retry quota exhausted).
    pub throttled: u64,
    /// Gave up after a 503 on the last attempt.
    pub server_error: u64,
    /// Not succeeded within `client.timeout` of arrival.
    pub timeout: u64,
}

/// `attempts.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttemptCounts {
    /// Attempts sent.
    pub sent: u64,
    /// Attempts admitted by every limit.
    pub admitted: u64,
    /// Attempts refused (HTTP 429).
    pub throttled: u64,
    /// Admitted attempts that failed with HTTP 503.
    pub server_errors: u64,
    /// Admitted, streamed attempts ended by a `throttlingException` event after HTTP 200
    /// (`quota.mid_stream_throttle`; only then present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled_mid_stream: Option<u64>,
    /// Throttles by the first refusing limit.
    pub throttled_by: ThrottledBy,
    /// Histogram of attempts per finished request: `"n": requests that made n attempts`
    /// (a request that timed out before its first attempt made 0).
    pub per_request: AttemptsHistogram,
    /// Throttles by the first refusing limit, by limit name, in check order.
    pub throttled_by_limit: NamedCounts,
}

/// Attempts per request, serialized as an object with only the non-zero rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptsHistogram(pub Vec<u64>);

impl Serialize for AttemptsHistogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (n, count) in self.0.iter().enumerate() {
            if *count > 0 {
                m.serialize_entry(&n.to_string(), count)?;
            }
        }
        m.end()
    }
}

/// Counts by name, serialized as an object in the stored order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedCounts(pub Vec<(String, u64)>);

impl Serialize for NamedCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `client.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClientStats {
    /// Attempts sent per request that sent at least one (1 = no retries); `null` if none.
    pub retry_amplification: Option<f64>,
    /// Total backoff sleep scheduled between attempts, seconds.
    pub backoff_seconds: f64,
    /// Total time attempts were held before sending by `client.pacing` and by the
    /// aws-adaptive rate limiter, seconds.
    pub pacing_seconds: f64,
    /// The part of `pacing_seconds` spent in the aws-adaptive rate limiter.
    pub adaptive_wait_seconds: f64,
}

/// `attempts.throttled_by.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ThrottledBy {
    /// By requests per minute.
    pub requests_per_minute: u64,
    /// By tokens per minute.
    pub tokens_per_minute: u64,
    /// By tokens per day.
    pub tokens_per_day: u64,
}

/// `tokens.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TokenTotals {
    /// Input tokens of successful requests.
    pub input: u64,
    /// Output tokens of successful requests.
    pub output: u64,
    /// Final quota cost of successful requests.
    pub quota_consumed: u64,
    /// Reservations of admitted attempts.
    pub reserved: u64,
}

/// `throughput.*`, per minute of `[warmup, duration)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Throughput {
    /// Successful completions per minute.
    pub requests_per_minute: f64,
    /// Output tokens per minute.
    pub output_tokens_per_minute: f64,
    /// Quota tokens consumed per minute.
    pub quota_tokens_per_minute: f64,
}

/// `latency_ms.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Arrival to success, successful requests only.
    pub e2e: LatencySummary,
    /// Arrival to first attempt.
    pub queue_wait: LatencySummary,
}

/// Mean and percentiles in milliseconds; `null` when there were no samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
}

/// One simulated minute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MinuteRow {
    /// Minute index from the start of the run.
    pub minute: u64,
    /// Attempts admitted in this minute.
    pub admitted: u64,
    /// Attempts throttled in this minute.
    pub throttled: u64,
    /// Successes completed in this minute.
    pub completed: u64,
    /// Tokens-per-minute charges made in this minute net of refunds made in it.
    pub quota_charged: i64,
}

/// `engine.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    /// Wall-clock time of the simulation, with `--timings` only (it varies between runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<f64>,
    /// Events per wall-clock second, with `--timings` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_per_second: Option<f64>,
}

/// Output options shared by every format.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// Include the per-minute timeline (always included in JSON).
    pub timeline: bool,
}

/// One output format.
pub trait Exporter {
    /// Renders a report.
    fn render(&self, report: &Report, opts: ExportOptions) -> String;

    /// Writes a report; formats whose output grows with the run (the JSON timeline) stream
    /// it instead of building a string.
    fn write_to(
        &self,
        report: &Report,
        opts: ExportOptions,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        out.write_all(self.render(report, opts).as_bytes())
    }
}

/// The output formats of `run`, `sweep`, `merge` and `estimate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable table.
    Table,
    /// JSON: every key of the report.
    Json,
    /// CSV: `metric,value` rows for a run, one row per point for a sweep.
    Csv,
}

impl Format {
    /// The exporter for this format.
    pub fn exporter(self) -> &'static dyn Exporter {
        match self {
            Format::Table => &TableExporter,
            Format::Json => &JsonExporter,
            Format::Csv => &CsvExporter,
        }
    }
}

impl Report {
    /// Records how long the simulation took (what `--timings` adds to the report).
    pub fn set_timings(&mut self, wall: std::time::Duration) {
        let secs = wall.as_secs_f64();
        self.engine.wall_ms = Some((secs * 1e6).round() / 1e3);
        self.engine.events_per_second =
            (secs > 0.0).then(|| (self.engine.events as f64 / secs).round());
    }

    /// Renders in `format`.
    pub fn render(&self, format: Format, opts: ExportOptions) -> String {
        format.exporter().render(self, opts)
    }

    /// Writes in `format` to `out`.
    pub fn write_to(
        &self,
        format: Format,
        opts: ExportOptions,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        format.exporter().write_to(self, opts, out)
    }

    /// Every numeric metric as (dotted path, value), in report order (`None` for null); the
    /// basis of the CSV format.
    pub fn metrics(&self) -> Vec<(String, Option<f64>)> {
        let mut out = Vec::new();
        if let Ok(v) = serde_json::to_value(self) {
            // Timelines (the run's and each pool's) are rows, not metrics.
            let skip = |k: &str, depth: usize| k == "timeline" || (depth == 0 && k == "scenario");
            crate::json_paths::for_each_leaf(&v, &skip, &mut |path, leaf| match leaf {
                serde_json::Value::Number(n) => out.push((path.to_string(), n.as_f64())),
                serde_json::Value::Null => out.push((path.to_string(), None)),
                _ => {}
            });
        }
        out
    }
}

/// Formats a metric value: integers without a fraction, others with up to 3 decimals.
pub(crate) fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        Some(x) => format!("{x:.3}"),
    }
}
