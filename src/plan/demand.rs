//! `demand`: what an AWS quota-increase request asks for, from the scenario's traffic with
//! no quota in the way.
//!
//! The scenario (with `--set` applied, at its own seed: replication 0) is simulated with every
//! quota limit raised to the largest value a scenario may hold (2^50 per period), so nothing
//! is ever throttled and every request is served as the client sends it. The client stays as
//! it is (its concurrency and pacing shape the traffic, as they would in production), and so
//! do the limiters and cost formulas, so the timeline's `quota_charged` is what the quota
//! would have been charged. From that run, over the minutes whose start lies in
//! `[warmup, duration)` (a minute with no row counts as 0):
//!
//! - `quota_tokens_per_minute`: `quota_charged` per minute at p50, p90, p99 (nearest rank)
//!   and max: steady demand (p50) and peaks (p99, max) in quota tokens, burndown included;
//! - `requests_per_minute`: attempts admitted per minute, same statistics;
//! - `input_tokens_mean`, `output_tokens_mean`: the report's `tokens.input` and
//!   `tokens.output` per successful request (input excludes cache writes and reads, as
//!   CloudWatch's `InputTokenCount` does);
//! - `share_input_over_25k`: the share of those successful requests whose input exceeds
//!   25,000 tokens.
//!
//! A trace scenario works the same way: its records are the traffic.
//!
//! With two or more pools or workloads the same figures come per pool and per workload
//! (`pools.NAME`, `workloads.NAME`): a pool's quota tokens and requests per minute are its
//! own limit's charges and its admissions in that run (what a quota-increase request for
//! that pool asks for); a workload's are those of the scenario with that workload alone,
//! still without quota (with no quota the workloads cannot affect one another, so this is
//! its share of the traffic; its random draws may differ from the joint run's), with its
//! own input and output averages.

use std::collections::HashMap;

use serde::Serialize;

use crate::engine::{Observer, TraceEvent};
use crate::error::Error;
use crate::quota::{MINUTE_US, Quota};
use crate::report::Report;
use crate::scenario::Scenario;

/// The input size above which a request counts in `share_input_over_25k`.
pub const LARGE_INPUT_TOKENS: u64 = 25_000;

/// The largest limit a scenario may hold (the loader's bound on integers).
const NO_LIMIT: u64 = 1 << 50;

/// p50, p90, p99 (nearest rank) and max of per-minute values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinuteStats {
    /// Median minute.
    pub p50: i64,
    /// 90th percentile minute.
    pub p90: i64,
    /// 99th percentile minute.
    pub p99: i64,
    /// Busiest minute.
    pub max: i64,
}

impl MinuteStats {
    /// Nearest-rank percentiles of `values` (all zero when empty): the p-th percentile is the
    /// value of rank ⌈p/100 × n⌉ in increasing order.
    pub fn of(values: &[i64]) -> MinuteStats {
        let mut v = values.to_vec();
        v.sort_unstable();
        let rank = |p: u64| -> i64 {
            let n = v.len() as u64;
            if n == 0 {
                return 0;
            }
            // ⌈p × n / 100⌉, at least 1
            let r = (p * n).div_ceil(100).max(1);
            v.get((r - 1) as usize).copied().unwrap_or(0)
        };
        MinuteStats {
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: v.last().copied().unwrap_or(0),
        }
    }
}

/// The numbers a quota-increase request asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Demand {
    /// Quota tokens charged per minute.
    pub quota_tokens_per_minute: MinuteStats,
    /// Attempts admitted per minute.
    pub requests_per_minute: MinuteStats,
    /// Input tokens per successful request; `null` when none succeeded.
    pub input_tokens_mean: Option<f64>,
    /// Output tokens per successful request; `null` when none succeeded.
    pub output_tokens_mean: Option<f64>,
    /// Share of successful requests with more than 25,000 input tokens; `null` when none
    /// succeeded.
    pub share_input_over_25k: Option<f64>,
    /// Minutes measured (those starting in `[warmup, duration)`).
    pub minutes: u64,
    /// Per pool, with two or more pools or workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pools: Option<crate::report::Named<PoolDemand>>,
    /// Per workload, with two or more pools or workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workloads: Option<crate::report::Named<Demand>>,
}

/// `demand.pools.NAME`: one pool's charges and admissions per minute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolDemand {
    /// Quota tokens its own tokens-per-minute limit was charged per minute.
    pub quota_tokens_per_minute: MinuteStats,
    /// Attempts it admitted per minute.
    pub requests_per_minute: MinuteStats,
}

/// `scenario` with every quota limit raised out of reach.
pub fn without_quota(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    // The engine reads the pools' quotas and the account limits; `quota` mirrors the first
    // pool for the short form, so all three are raised.
    let pools = s.pools.iter_mut().map(|p| &mut p.quota.limits);
    for limits in std::iter::once(&mut s.quota.limits).chain(pools) {
        for l in limits.iter_mut() {
            l.limit = NO_LIMIT;
        }
    }
    for l in &mut s.account {
        l.limit = NO_LIMIT;
    }
    s
}

/// Remembers each live request's input to count the large ones among the successes.
#[derive(Default)]
struct Inputs {
    live: HashMap<u32, (bool, u64)>,
    succeeded: u64,
    large: u64,
}

impl Observer for Inputs {
    fn on_event(&mut self, e: &TraceEvent, _quota: &Quota) {
        match *e {
            TraceEvent::Arrived {
                slot,
                counted,
                input,
                ..
            } => {
                self.live.insert(slot, (counted, input));
            }
            TraceEvent::Succeeded { slot, .. } => {
                if let Some((true, input)) = self.live.remove(&slot) {
                    self.succeeded += 1;
                    self.large += u64::from(input > LARGE_INPUT_TOKENS);
                }
            }
            TraceEvent::Failed { slot, .. } => {
                self.live.remove(&slot);
            }
            _ => {}
        }
    }
}

/// The demand of `scenario` (already with `--set` applied), simulated through `simulate`
/// (the guarded entry point) with the quota removed.
pub fn demand(
    scenario: &Scenario,
    simulate: impl Fn(&Scenario, &mut dyn Observer) -> Result<Report, Error>,
) -> Result<Demand, Error> {
    let s = without_quota(scenario);
    let mut inputs = Inputs::default();
    let report = simulate(&s, &mut inputs)?;
    let mut d = from_report(&s, &report, inputs.large);
    if let Some(pools) = &report.pools {
        let named = pools
            .0
            .iter()
            .map(|(name, p)| {
                let (charged, admitted) = minute_rows(&s, &p.timeline);
                (
                    name.clone(),
                    PoolDemand {
                        quota_tokens_per_minute: MinuteStats::of(&charged),
                        requests_per_minute: MinuteStats::of(&admitted),
                    },
                )
            })
            .collect();
        d.pools = Some(crate::report::Named(named));
    }
    if report.workloads.is_some() {
        let mut named = Vec::new();
        for w in &s.workloads {
            let mut alone = s.clone();
            alone.workloads = vec![w.clone()];
            let mut inputs = Inputs::default();
            let r = simulate(&alone, &mut inputs)?;
            named.push((w.name.clone(), from_report(&alone, &r, inputs.large)));
        }
        d.workloads = Some(crate::report::Named(named));
    }
    Ok(d)
}

/// Quota charged and attempts admitted in each measured minute of `timeline` (0 for a
/// minute without a row).
fn minute_rows(s: &Scenario, timeline: &[crate::report::MinuteRow]) -> (Vec<i64>, Vec<i64>) {
    let first = s.warmup_us.div_ceil(MINUTE_US);
    let end = s.duration_us.div_ceil(MINUTE_US);
    let row = |m: u64| usize::try_from(m).ok().and_then(|i| timeline.get(i));
    let charged = (first..end)
        .map(|m| row(m).map_or(0, |r| r.quota_charged))
        .collect();
    let admitted = (first..end)
        .map(|m| row(m).map_or(0, |r| i64::try_from(r.admitted).unwrap_or(i64::MAX)))
        .collect();
    (charged, admitted)
}

/// The demand figures from a run without quota and its count of large-input successes.
pub fn from_report(s: &Scenario, r: &Report, large_inputs: u64) -> Demand {
    let first = s.warmup_us.div_ceil(MINUTE_US);
    let end = s.duration_us.div_ceil(MINUTE_US);
    let rows = |f: &dyn Fn(&crate::report::MinuteRow) -> i64| -> Vec<i64> {
        (first..end)
            .map(|m| {
                usize::try_from(m)
                    .ok()
                    .and_then(|i| r.timeline.get(i))
                    .map_or(0, f)
            })
            .collect()
    };
    let charged = rows(&|row| row.quota_charged);
    let admitted = rows(&|row| i64::try_from(row.admitted).unwrap_or(i64::MAX));
    let n = r.requests.succeeded;
    let per = |x: u64| (n > 0).then(|| x as f64 / n as f64);
    Demand {
        quota_tokens_per_minute: MinuteStats::of(&charged),
        requests_per_minute: MinuteStats::of(&admitted),
        input_tokens_mean: per(r.tokens.input),
        output_tokens_mean: per(r.tokens.output),
        share_input_over_25k: per(large_inputs),
        minutes: end.saturating_sub(first),
        pools: None,
        workloads: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_quota_raises_every_pool_and_account_limit() {
        let text = r#"
duration = "1m"
[pools.a]
tokens_per_minute = 1000
[pools.b]
tokens_per_minute = 2000
[[account.limits]]
counts = "requests"
per = "minute"
limit = 5
[workloads.w]
route = { pools = ["a", "b"], policy = "spillover" }
[workloads.w.arrivals]
process = "constant"
rate_per_minute = 1
[workloads.w.requests.r]
input_tokens = 1
output_tokens = 1
"#;
        let s = Scenario::from_toml_str(text, "t.toml").unwrap();
        let w = without_quota(&s);
        let limits: Vec<u64> = w
            .pools
            .iter()
            .flat_map(|p| p.quota.limits.iter().map(|l| l.limit))
            .chain(w.account.iter().map(|l| l.limit))
            .collect();
        assert!(limits.len() >= 3);
        assert!(limits.iter().all(|&l| l == NO_LIMIT), "{limits:?}");
    }

    #[test]
    fn nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        let s = MinuteStats::of(&v);
        assert_eq!((s.p50, s.p90, s.p99, s.max), (5, 9, 10, 10));
        let v: Vec<i64> = (1..=200).rev().collect();
        let s = MinuteStats::of(&v);
        assert_eq!((s.p50, s.p90, s.p99, s.max), (100, 180, 198, 200));
        assert_eq!(MinuteStats::of(&[]).max, 0);
        assert_eq!(MinuteStats::of(&[7]).p50, 7);
    }
}
