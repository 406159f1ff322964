//! The key metrics of a sweep point, and the derived rates `run --assert` may also use.
//!
//! Every metric is named by a dotted path (`throughput.requests_per_minute`,
//! `latency_ms.e2e.p99`, `throttle_rate`) so that `--objective`, `--constraint` and `--assert`
//! address them the same way as the keys of the JSON report.

use serde_json::{Map, Value};

use crate::Scenario;
use crate::metrics::registry::{self, DERIVED, Metric};
use crate::report::Report;

/// One key metric of a sweep point (a metric of the registry).
pub type MetricDef = Metric;

/// How many key metrics a point has.
pub const METRIC_COUNT: usize = 12;

/// The key metrics, in output order.
pub const METRICS: [Metric; METRIC_COUNT] = [
    registry::REQUESTS_PER_MINUTE,
    registry::OUTPUT_TOKENS_PER_MINUTE,
    registry::THROTTLE_RATE,
    registry::FAILURE_RATE,
    registry::TRUNCATION_RATE,
    registry::E2E_P50,
    registry::E2E_P99,
    registry::QUOTA_UTILISATION,
    registry::RESERVED_UNUSED,
    registry::COST_USD,
    registry::COST_USD_PER_SUCCESS,
    registry::COST_USD_PER_HOUR,
];

/// The definition of the metric at `path`, if it is a key metric.
pub fn metric_def(path: &str) -> Option<(usize, &'static MetricDef)> {
    METRICS.iter().enumerate().find(|(_, m)| m.path == path)
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den != 0).then(|| num as f64 / den as f64)
}

/// `throttled / sent` attempts; `None` when nothing was sent.
pub fn throttle_rate(r: &Report) -> Option<f64> {
    ratio(r.attempts.throttled, r.attempts.sent)
}

/// `failed / arrived` requests; `None` when nothing arrived.
pub fn failure_rate(r: &Report) -> Option<f64> {
    ratio(r.requests.failed, r.requests.arrived)
}

/// `truncated / succeeded` requests; `None` when nothing succeeded.
pub fn truncation_rate(r: &Report) -> Option<f64> {
    ratio(r.requests.truncated, r.requests.succeeded)
}

/// Quota tokens consumed per minute over the tokens-per-minute limit. With several pools:
/// the pools' quota tokens per minute summed over their tokens-per-minute limits summed
/// (pools without such a limit left out of both), the share of the account's whole
/// tokens-per-minute capacity the run used; each pool's own share is
/// [`pool_quota_utilisation`].
pub fn quota_utilisation(r: &Report, s: &Scenario) -> Option<f64> {
    if s.pools.len() <= 1 {
        let limit = s.quota.tokens_per_minute;
        return (limit != 0).then(|| r.throughput.quota_tokens_per_minute / limit as f64);
    }
    let pools = r.pools.as_ref()?;
    let (mut used, mut limit) = (0.0, 0u64);
    for (name, p) in &pools.0 {
        let l = s
            .pools
            .iter()
            .find(|q| &q.name == name)
            .map_or(0, |q| q.quota.tokens_per_minute);
        if l != 0 {
            used += p.quota_tokens_per_minute;
            limit = limit.saturating_add(l);
        }
    }
    (limit != 0).then(|| used / limit as f64)
}

/// `pools.NAME.quota_utilisation`: the pool's quota tokens per minute over its own
/// tokens-per-minute limit; `None` without such a limit or such a pool block.
pub fn pool_quota_utilisation(r: &Report, s: &Scenario, name: &str) -> Option<f64> {
    let p = &r.pools.as_ref()?.0.iter().find(|(n, _)| n == name)?.1;
    let limit = s
        .pools
        .iter()
        .find(|q| q.name == name)?
        .quota
        .tokens_per_minute;
    (limit != 0).then(|| p.quota_tokens_per_minute / limit as f64)
}

/// `1 − quota_consumed / reserved`: the share of reserved quota never consumed; `None` when
/// nothing was reserved.
pub fn reserved_unused(r: &Report) -> Option<f64> {
    ratio(r.tokens.quota_consumed, r.tokens.reserved).map(|c| 1.0 - c)
}

/// The key metrics of one run, in [`METRICS`] order (`None` where undefined, e.g. a latency
/// percentile when nothing succeeded).
pub fn key_metrics(r: &Report, s: &Scenario) -> [Option<f64>; METRIC_COUNT] {
    [
        Some(r.throughput.requests_per_minute),
        Some(r.throughput.output_tokens_per_minute),
        throttle_rate(r),
        failure_rate(r),
        truncation_rate(r),
        r.latency_ms.e2e.p50,
        r.latency_ms.e2e.p99,
        quota_utilisation(r, s),
        reserved_unused(r),
        r.cost.usd,
        r.cost.usd_per_success,
        r.cost.usd_per_hour,
    ]
}

/// The metrics a pool's or workload's block can be asked about, with the scopes that have
/// them: costs and the throttle rate for both, the quota utilisation for a pool, and for a
/// workload its failure and truncation rates, latency and throughput.
const SCOPED: [(&[&str], Metric); 10] = [
    (&["pools", "workloads"], registry::COST_USD),
    (&["pools", "workloads"], registry::COST_USD_PER_SUCCESS),
    (&["pools", "workloads"], registry::COST_USD_PER_HOUR),
    (&["pools", "workloads"], registry::THROTTLE_RATE),
    (&["pools"], registry::QUOTA_UTILISATION),
    (&["workloads"], registry::FAILURE_RATE),
    (&["workloads"], registry::TRUNCATION_RATE),
    (&["workloads"], registry::E2E_P50),
    (&["workloads"], registry::E2E_P99),
    (&["workloads"], registry::REQUESTS_PER_MINUTE),
];

/// The per-pool and per-workload metric paths, with `NAME` for the name (for messages).
pub fn scoped_forms() -> Vec<String> {
    SCOPED
        .iter()
        .flat_map(|(scopes, m)| scopes.iter().map(move |s| format!("{s}.NAME.{}", m.path)))
        .collect()
}

/// A per-pool or per-workload metric, `pools.NAME.M` or `workloads.NAME.M`
/// (`workloads.chat.failure_rate`, `pools.us.throttle_rate`, `pools.geo.cost.usd`): its
/// scope (`pools` or `workloads`), name and metric. `sweep` and `plan` accept these besides
/// the key metrics.
pub fn scoped_cost(path: &str) -> Option<(&str, &str, &'static Metric)> {
    let (scope, rest) = path.split_once('.')?;
    if !registry::SCOPES.contains(&scope) {
        return None;
    }
    let (name, metric) = rest.split_once('.')?;
    let (_, m) = SCOPED
        .iter()
        .find(|(scopes, m)| m.path == metric && scopes.contains(&scope))?;
    Some((scope, name, m))
}

/// Whether the scenario has the pool or workload a [`scoped_cost`] path names. A scenario
/// with one pool and one workload has neither block in its report.
pub fn scope_exists(s: &Scenario, scope: &str, name: &str) -> bool {
    s.is_split()
        && match scope {
            "pools" => s.pool_index(name).is_some(),
            _ => s.workloads.iter().any(|w| w.name == name),
        }
}

/// The value of a [`scoped_cost`] path in a run report of `s` (`None`: undefined, or no
/// such block).
pub fn scoped_value(r: &Report, s: &Scenario, path: &str) -> Option<f64> {
    let (scope, name, m) = scoped_cost(path)?;
    let cost_of = |c: &crate::cost::Cost| match m.path {
        "cost.usd" => c.usd,
        "cost.usd_per_success" => c.usd_per_success,
        _ => c.usd_per_hour,
    };
    if scope == "pools" {
        let p = &r.pools.as_ref()?.0.iter().find(|(n, _)| n == name)?.1;
        return match m.path {
            "throttle_rate" => ratio(p.throttled, p.admitted.saturating_add(p.throttled)),
            "quota_utilisation" => pool_quota_utilisation(r, s, name),
            _ => cost_of(&p.cost),
        };
    }
    let w = &r.workloads.as_ref()?.0.iter().find(|(n, _)| n == name)?.1;
    match m.path {
        "throttle_rate" => ratio(w.attempts.throttled, w.attempts.sent),
        "failure_rate" => ratio(w.requests.failed, w.requests.arrived),
        "truncation_rate" => ratio(w.requests.truncated, w.requests.succeeded),
        "latency_ms.e2e.p50" => w.latency_ms.e2e.p50,
        "latency_ms.e2e.p99" => w.latency_ms.e2e.p99,
        "throughput.requests_per_minute" => Some(w.throughput.requests_per_minute),
        _ => cost_of(&w.cost),
    }
}

/// Every per-pool and per-workload derived rate of a report (`pools.us.throttle_rate`,
/// `pools.us.quota_utilisation`, `workloads.chat.failure_rate`, …), for `run --assert`.
fn scoped_rates(r: &Report, s: &Scenario) -> Vec<(String, Option<f64>)> {
    let mut out = Vec::new();
    let names = |scope: &str| -> Vec<String> {
        match scope {
            "pools" => r
                .pools
                .as_ref()
                .map(|p| p.0.iter().map(|(n, _)| n.clone()).collect())
                .unwrap_or_default(),
            _ => r
                .workloads
                .as_ref()
                .map(|w| w.0.iter().map(|(n, _)| n.clone()).collect())
                .unwrap_or_default(),
        }
    };
    for scope in registry::SCOPES {
        for name in names(scope) {
            for (scopes, m) in &SCOPED {
                if scopes.contains(&scope) && DERIVED.iter().any(|d| d.path == m.path) {
                    let path = format!("{scope}.{name}.{}", m.path);
                    let v = scoped_value(r, s, &path);
                    out.push((path, v));
                }
            }
        }
    }
    out
}

/// The JSON report of a run with the derived rates of [`registry::DERIVED`] added at the top level
/// (`null` where undefined), which is what `run --assert` evaluates.
pub fn report_with_derived(r: &Report, s: &Scenario) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        let values = [
            throttle_rate(r),
            failure_rate(r),
            truncation_rate(r),
            quota_utilisation(r, s),
            reserved_unused(r),
        ];
        for (name, value) in DERIVED.iter().zip(values) {
            map.insert(name.path.to_string(), number(value));
        }
        for (path, value) in scoped_rates(r, s) {
            let mut parts = path.splitn(3, '.');
            let (Some(scope), Some(name), Some(metric)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if let Some(Value::Object(block)) = map.get_mut(scope).and_then(|b| b.get_mut(name)) {
                block.insert(metric.to_string(), number(value));
            }
        }
    }
    v
}

/// A JSON number, or `null` for `None` and non-finite values.
pub fn number(v: Option<f64>) -> Value {
    v.and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Builds a nested object from `(dotted path, leaf)` pairs, in order:
/// `[("a.b", 1), ("c", 2)]` becomes `{"a": {"b": 1}, "c": 2}`.
pub fn nest<P: AsRef<str>>(pairs: impl IntoIterator<Item = (P, Value)>) -> Value {
    let mut root = Map::new();
    for (path, leaf) in pairs {
        insert_path(&mut root, path.as_ref(), leaf);
    }
    Value::Object(root)
}

fn insert_path(map: &mut Map<String, Value>, path: &str, leaf: Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_string(), leaf);
        }
        Some((head, rest)) => {
            let child = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(m) = child {
                insert_path(m, rest, leaf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nest_builds_objects_in_order() {
        let v = nest([
            ("throughput.requests_per_minute", json!(1)),
            ("throughput.output_tokens_per_minute", json!(2)),
            ("throttle_rate", json!(0.5)),
            ("latency_ms.e2e.p99", Value::Null),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{"throughput":{"requests_per_minute":1,"output_tokens_per_minute":2},"throttle_rate":0.5,"latency_ms":{"e2e":{"p99":null}}}"#
        );
    }

    #[test]
    fn metric_paths_are_unique_and_found() {
        for (i, m) in METRICS.iter().enumerate() {
            assert_eq!(metric_def(m.path).map(|(j, _)| j), Some(i));
        }
        assert!(metric_def("throughput").is_none());
    }

    #[test]
    fn derived_rates_on_a_real_run() {
        let s = Scenario::from_toml_str(
            r#"
            duration = "3m"
            [model]
            preset = "claude-sonnet-4"
            [quota]
            tokens_per_minute = 20000
            [client]
            retry = "none"
            [arrivals]
            process = "constant"
            rate_per_minute = 60
            [requests.chat]
            input_tokens = 100
            output_tokens = 300
            max_tokens = 200
            "#,
            "derived.toml",
        )
        .unwrap();
        let r = crate::simulate(&s);
        let m = key_metrics(&r, &s);
        assert_eq!(
            m[2],
            Some(r.attempts.throttled as f64 / r.attempts.sent as f64)
        );
        assert!(m[2].unwrap() > 0.0, "the quota must throttle: {r:?}");
        assert_eq!(
            m[3],
            Some(r.requests.failed as f64 / r.requests.arrived as f64)
        );
        // every request asks for 300 tokens with max_tokens 200: all truncated
        assert_eq!(m[4], Some(1.0));
        let v = report_with_derived(&r, &s);
        assert_eq!(v["throttle_rate"].as_f64(), m[2]);
        assert_eq!(v["failure_rate"].as_f64(), m[3]);
        assert_eq!(v["requests"]["arrived"], json!(r.requests.arrived));
    }
}
