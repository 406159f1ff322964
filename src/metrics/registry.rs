//! The one registry of metrics: for every number a report carries, its dotted path, a short
//! column header, its unit and which way is better.
//!
//! `compare` takes a metric's direction from here, `sweep` its key metrics (columns, chart
//! axes, the objective and constraints) and `run --assert` its derived rates. A path segment
//! `*` stands for any one key (`requests.failed_by.*`). Two kinds of path are resolved
//! rather than listed:
//!
//! * the blocks of a report that repeat the run metrics per name ([`SCOPES`]:
//!   `pools.NAME.requests.succeeded`, `workloads.NAME.latency_ms.e2e.p99`) take the
//!   definition of the metric after the name;
//! * the summaries of a sweep report (`points.N.metrics.throttle_rate.mean`, the
//!   recommendation's `best.latency_ms.e2e.p99`) take the definition of the metric they
//!   summarise; their spread (`ci95_half_width`, `n`) and parameters have no direction.

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Better {
    /// More is better (throughput, successes).
    Higher,
    /// Less is better (failures, throttles, latency, cost).
    Lower,
    /// Neither: an input, a count of arrivals, a token total. It never regresses.
    Neither,
}

/// One metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Dotted path in the JSON report, e.g. `latency_ms.e2e.p99`; `*` matches any one key.
    pub path: &'static str,
    /// Short column header for tables.
    pub header: &'static str,
    /// Unit, for chart axes and documentation.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
}

const fn m(path: &'static str, header: &'static str, unit: &'static str, better: Better) -> Metric {
    Metric {
        path,
        header,
        unit,
        better,
    }
}

use Better::{Higher, Lower, Neither};

/// `throughput.requests_per_minute`.
pub const REQUESTS_PER_MINUTE: Metric = m(
    "throughput.requests_per_minute",
    "req/min",
    "requests/min",
    Higher,
);
/// `throughput.output_tokens_per_minute`.
pub const OUTPUT_TOKENS_PER_MINUTE: Metric = m(
    "throughput.output_tokens_per_minute",
    "out tok/min",
    "tokens/min",
    Higher,
);
/// Throttled over sent attempts (derived).
pub const THROTTLE_RATE: Metric = m(
    "throttle_rate",
    "throttle",
    "throttled / sent attempts",
    Lower,
);
/// Failed over arrived requests (derived).
pub const FAILURE_RATE: Metric = m("failure_rate", "failed", "failed / arrived", Lower);
/// Truncated over succeeded requests (derived).
pub const TRUNCATION_RATE: Metric = m(
    "truncation_rate",
    "truncated",
    "truncated / succeeded",
    Neither,
);
/// Median end-to-end latency.
pub const E2E_P50: Metric = m("latency_ms.e2e.p50", "p50 ms", "ms", Lower);
/// 99th-percentile end-to-end latency.
pub const E2E_P99: Metric = m("latency_ms.e2e.p99", "p99 ms", "ms", Lower);
/// Quota consumed per minute over the tokens-per-minute limit (derived).
pub const QUOTA_UTILISATION: Metric = m(
    "quota_utilisation",
    "quota util",
    "consumed / TPM limit",
    Neither,
);
/// The share of reserved quota never consumed (derived).
pub const RESERVED_UNUSED: Metric = m(
    "reserved_unused",
    "resv unused",
    "1 - consumed / reserved",
    Neither,
);

/// The rates derived from a run report (not among its keys), which `--assert`, `sweep` and
/// `compare` address at the top level.
pub const DERIVED: [Metric; 5] = [
    THROTTLE_RATE,
    FAILURE_RATE,
    TRUNCATION_RATE,
    QUOTA_UTILISATION,
    RESERVED_UNUSED,
];

/// Every metric of a run report, its derived rates and its cost block, in report order.
pub const METRICS: &[Metric] = &[
    m("seed", "seed", "", Neither),
    m("simulated_seconds", "sim s", "s", Neither),
    m("requests.arrived", "arrived", "requests", Neither),
    m("requests.succeeded", "succeeded", "requests", Higher),
    m("requests.failed", "failed", "requests", Lower),
    m("requests.unfinished", "unfinished", "requests", Neither),
    m("requests.truncated", "truncated", "requests", Neither),
    m("requests.unservable", "unservable", "requests", Lower),
    m("requests.failed_by.*", "failed by", "requests", Lower),
    m("attempts.sent", "sent", "attempts", Neither),
    m("attempts.admitted", "admitted", "attempts", Neither),
    m("attempts.throttled", "throttled", "attempts", Lower),
    m("attempts.server_errors", "5xx", "attempts", Lower),
    m("attempts.throttled_by.*", "throttled by", "attempts", Lower),
    m("attempts.per_request.*", "attempts", "requests", Neither),
    m(
        "attempts.throttled_by_limit.*",
        "throttled by",
        "attempts",
        Lower,
    ),
    m("tokens.input", "input tok", "tokens", Neither),
    m("tokens.output", "output tok", "tokens", Neither),
    m("tokens.quota_consumed", "consumed", "quota tokens", Neither),
    m("tokens.reserved", "reserved", "quota tokens", Neither),
    REQUESTS_PER_MINUTE,
    OUTPUT_TOKENS_PER_MINUTE,
    m(
        "throughput.quota_tokens_per_minute",
        "quota tok/min",
        "quota tokens/min",
        Higher,
    ),
    m("latency_ms.e2e.*", "e2e ms", "ms", Lower),
    m("latency_ms.queue_wait.*", "queue ms", "ms", Lower),
    m(
        "client.retry_amplification",
        "amplification",
        "sent / arrived",
        Neither,
    ),
    m("client.backoff_seconds", "backoff s", "s", Neither),
    m("client.pacing_seconds", "pacing s", "s", Neither),
    m("client.adaptive_wait_seconds", "adaptive s", "s", Neither),
    THROTTLE_RATE,
    FAILURE_RATE,
    TRUNCATION_RATE,
    QUOTA_UTILISATION,
    RESERVED_UNUSED,
    COST_USD,
    COST_USD_PER_SUCCESS,
    COST_USD_PER_HOUR,
];

/// Dollars billed for the counted requests' successful attempts.
pub const COST_USD: Metric = m("cost.usd", "USD", "USD", Lower);
/// Dollars per successful request.
pub const COST_USD_PER_SUCCESS: Metric = m(
    "cost.usd_per_success",
    "USD/success",
    "USD per successful request",
    Lower,
);
/// Dollars per hour of simulated traffic.
pub const COST_USD_PER_HOUR: Metric = m(
    "cost.usd_per_hour",
    "USD/hour",
    "USD per simulated hour",
    Lower,
);

/// Report blocks that repeat the run metrics once per name: `pools.NAME.<metric>`.
pub const SCOPES: [&str; 2] = ["pools", "workloads"];

/// Whether `path` matches `pattern`, segment by segment (`*` matches any one key).
fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('.');
    let mut q = path.split('.');
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// The metric at a dotted path of a run report (or of a per-pool or per-workload block),
/// if it is registered.
pub fn find(path: &str) -> Option<&'static Metric> {
    if let Some(m) = METRICS.iter().find(|m| matches(m.path, path)) {
        return Some(m);
    }
    let mut keys = path.splitn(3, '.');
    match (keys.next(), keys.next(), keys.next()) {
        (Some(scope), Some(_name), Some(rest)) if SCOPES.contains(&scope) => find(rest),
        _ => None,
    }
}

/// Which way is better for the metric at `path` of a run report; [`Better::Neither`] for
/// a path that is not registered.
pub fn better(path: &str) -> Better {
    find(path).map_or(Neither, |m| m.better)
}

/// Which way is better at `path` of a `run`, `sweep` or `merge` JSON report: the run metrics
/// as [`better`]; a sweep point's `metrics.M.mean` (or the recommendation's `M`) as metric
/// `M`; spreads, indexes and parameters have no direction.
pub fn better_in_report(path: &str) -> Better {
    let keys: Vec<&str> = path.split('.').collect();
    match keys.as_slice() {
        ["points", _, "params" | "parameters", ..] => Neither,
        ["points", _, "metrics", rest @ ..] | ["points", _, rest @ ..] => summary(rest),
        ["recommendation", "best", "params", ..]
        | ["recommendation", "pareto_front", _, "params", ..] => Neither,
        ["recommendation", "best", rest @ ..]
        | ["recommendation", "pareto_front", _, rest @ ..] => better(&rest.join(".")),
        _ => better(path),
    }
}

/// A sweep summary of a metric: `M.mean` is metric `M`; its spread has no direction.
fn summary(keys: &[&str]) -> Better {
    match keys.split_last() {
        Some((&"mean", metric)) => better(&metric.join(".")),
        Some((last, _)) if SPREAD.contains(last) => Neither,
        _ => better(&keys.join(".")),
    }
}

/// The leaves of a sweep summary that describe its uncertainty, not the metric.
const SPREAD: [&str; 3] = ["ci95_half_width", "n", "sd"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_key_per_star() {
        assert!(matches("a.*.c", "a.b.c"));
        assert!(!matches("a.*.c", "a.b.b.c"));
        assert!(!matches("a.*", "a"));
        assert!(!matches("a.b", "a.b.c"));
    }

    #[test]
    fn paths_are_unique() {
        for (i, a) in METRICS.iter().enumerate() {
            for b in METRICS.iter().skip(i + 1) {
                assert_ne!(a.path, b.path);
            }
        }
    }

    #[test]
    fn run_report_directions() {
        for (p, d) in [
            ("requests.succeeded", Higher),
            ("requests.failed", Lower),
            ("requests.failed_by.throttled", Lower),
            ("requests.arrived", Neither),
            ("attempts.throttled_by_limit.tokens_per_day", Lower),
            ("attempts.per_request.3", Neither),
            ("latency_ms.queue_wait.max", Lower),
            ("tokens.reserved", Neither),
            ("throttle_rate", Lower),
            ("cost.usd", Lower),
            ("cost.usd_per_success", Lower),
            ("cost.usd_per_hour", Lower),
            ("no.such.metric", Neither),
        ] {
            assert_eq!(better(p), d, "{p}");
        }
    }

    #[test]
    fn scoped_paths_take_the_metric_after_the_name() {
        assert_eq!(better("pools.east.requests.succeeded"), Higher);
        assert_eq!(better("workloads.batch.latency_ms.e2e.p99"), Lower);
        assert_eq!(better("workloads.batch.cost.usd"), Lower);
        // the name is any key, even one that is itself a metric name
        assert_eq!(better("pools.failed.tokens.input"), Neither);
        assert_eq!(better("pools.east"), Neither);
        assert_eq!(
            find("pools.east.attempts.sent").map(|m| m.header),
            Some("sent")
        );
    }

    #[test]
    fn sweep_report_directions() {
        for (p, d) in [
            ("points.3.metrics.throttle_rate.mean", Lower),
            ("points.3.metrics.throttle_rate.ci95_half_width", Neither),
            (
                "points.3.metrics.throughput.requests_per_minute.mean",
                Higher,
            ),
            ("points.3.metrics.throughput.requests_per_minute.n", Neither),
            ("points.3.throttle_rate.mean", Lower),
            ("points.3.params.client.concurrency", Neither),
            ("points.3.params.requests.failed", Neither),
            ("points.3.index", Neither),
            ("recommendation.best.latency_ms.e2e.p99", Lower),
            (
                "recommendation.pareto_front.0.throughput.requests_per_minute",
                Higher,
            ),
            ("recommendation.best.params.concurrency", Neither),
            ("recommendation.best.objective", Neither),
            ("replication_seeds.1", Neither),
        ] {
            assert_eq!(better_in_report(p), d, "{p}");
        }
    }
}
