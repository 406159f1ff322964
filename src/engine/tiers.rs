//! Service tiers during a run (docs/models.md, "Service tiers"): every tier draws from the
//! pool's one on-demand quota; a tier changes the decode speed (the model row's
//! `speed_factor`), the price (see [`crate::cost::tiers`]) and, for `flex`, the 503 rate
//! while the pool is busy.

use crate::quota::MINUTE_US;
use crate::quota::models::Tier;
use crate::scenario::{Pool, Service};

/// How long a pool stays busy after it refused an attempt: a minute, one quota window.
/// While busy, `flex` attempts fail with `service.flex_error_rate`.
pub const BUSY_US: u64 = MINUTE_US;

/// Pool `p`'s service as each tier sees it, by [`Tier::index`]: the decode speed times the
/// tier's `speed_factor` (the pool's own service for a tier its model does not offer).
pub(crate) fn services(p: &Pool) -> Vec<Service> {
    Tier::ALL
        .iter()
        .map(|&t| {
            let mut svc = p.service.clone();
            if let (Tier::Priority | Tier::Flex, Some(row)) = (t, p.model.tiers.get(t)) {
                svc.output_tokens_per_second *= row.speed_factor;
            }
            svc
        })
        .collect()
}

/// The 503 probability of an admitted attempt of `tier` on a pool with service `svc` that
/// last refused an attempt at `last_refusal`: `flex_error_rate` (default `error_rate`) for
/// `flex` while the pool is busy, else `error_rate`.
#[inline]
pub(crate) fn error_rate(svc: &Service, tier: Tier, now: u64, last_refusal: Option<u64>) -> f64 {
    let busy = last_refusal.is_some_and(|t| now < t.saturating_add(BUSY_US));
    if tier == Tier::Flex && busy {
        svc.flex_error_rate.unwrap_or(svc.error_rate)
    } else {
        svc.error_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(error_rate: f64, flex: Option<f64>) -> Service {
        Service {
            ttft_us: 0,
            ttft_per_1k_input_us: 0,
            output_tokens_per_second: 50.0,
            throttle_latency_us: 0,
            error_rate,
            flex_error_rate: flex,
        }
    }

    #[test]
    fn flex_fails_more_only_while_the_pool_is_busy() {
        let s = svc(0.01, Some(0.3));
        // Refused at t = 10 s: busy until 70 s (exclusive).
        let last = Some(10_000_000);
        assert_eq!(error_rate(&s, Tier::Flex, 69_999_999, last), 0.3);
        assert_eq!(error_rate(&s, Tier::Flex, 70_000_000, last), 0.01);
        assert_eq!(error_rate(&s, Tier::Flex, 5_000_000, None), 0.01);
        assert_eq!(error_rate(&s, Tier::Standard, 20_000_000, last), 0.01);
        assert_eq!(error_rate(&s, Tier::Priority, 20_000_000, last), 0.01);
        // Without flex_error_rate, flex sees the pool's error_rate.
        assert_eq!(
            error_rate(&svc(0.02, None), Tier::Flex, 20_000_000, last),
            0.02
        );
    }
}

/// `tiers.NAME`: the requests, latency and cost of the workloads of one service tier (in
/// the report when the scenario's workloads use more than one tier).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TierReport {
    /// The workloads of this tier, in file order.
    pub workloads: Vec<String>,
    /// Their requests, by final outcome.
    pub requests: crate::report::RequestCounts,
    /// Their latency, milliseconds.
    pub latency_ms: crate::report::Latency,
    /// What their successes cost, each at its serving pool's price for this tier.
    pub cost: crate::cost::Cost,
}

/// The `tiers` block: one entry per tier used, in [`Tier::ALL`] order, from the workloads'
/// metrics (`workloads[k]` is workload `k`'s); `None` when only one tier is used.
pub(crate) fn report(
    s: &crate::scenario::Scenario,
    workloads: &[crate::metrics::Metrics],
    last_event_us: u64,
) -> Option<crate::report::Named<TierReport>> {
    let used: Vec<Tier> = Tier::ALL
        .into_iter()
        .filter(|t| s.workloads.iter().any(|w| w.tier == *t))
        .collect();
    if used.len() < 2 {
        return None;
    }
    let mut out = Vec::new();
    for t in used {
        let mut m = crate::metrics::Metrics::new(s.warmup_us, s.duration_us);
        let mut names = Vec::new();
        for (w, wm) in s.workloads.iter().zip(workloads) {
            if w.tier == t {
                m.absorb_share(wm);
                names.push(w.name.clone());
            }
        }
        let r = m.finish("", 0, last_event_us, 0);
        out.push((
            t.name().to_string(),
            TierReport {
                workloads: names,
                requests: r.requests,
                latency_ms: r.latency_ms,
                cost: r.cost,
            },
        ));
    }
    Some(crate::report::Named(out))
}
