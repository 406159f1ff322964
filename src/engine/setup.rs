//! A run's state built from its scenario (pools, workloads, metrics, lanes), and the fixed
//! charges of reserved capacity added to the finished report.

use std::collections::VecDeque;

use crate::client::{AdaptiveLimiter, Pacer, RetryState};
use crate::metrics::Metrics;
use crate::quota::{MINUTE_US, Quota, ReserveMode};
use crate::report::Report;
use crate::scenario::{FallbackOn, RoutePolicy, Scenario};
use crate::workload::{ArrivalProcess, Arrivals, ClassPicker};

use super::rng::Stream;
use super::{
    EventQueue, Lanes, Limits, NO_USER, Observer, PoolRt, Sim, Split, Wl, limits, rng, tiers,
};

impl<'a> Sim<'a> {
    pub(super) fn new(
        s: &'a Scenario,
        limits: Limits,
        observer: Option<&'a mut dyn Observer>,
    ) -> Self {
        let seed = s.seed;
        let (names, slots) =
            crate::quota::limit_slots(s.pools.iter().map(|p| &p.quota.limits[..]), &s.account);
        let max_attempts = s
            .workloads
            .iter()
            .map(|w| w.client.max_attempts)
            .max()
            .unwrap_or(1);
        let mut metrics = Metrics::new(s.warmup_us, s.duration_us);
        metrics.configure(names.clone(), max_attempts);
        let pools: Vec<PoolRt> = s
            .pools
            .iter()
            .zip(slots)
            .map(|(p, slots)| {
                let q = &p.quota;
                let quota = q.build(&p.model);
                PoolRt {
                    rates: quota.rates(),
                    quota,
                    hold_reads: q.reserve_cache_reads,
                    model_max: p.model.max_output_tokens,
                    svc: &p.service,
                    settle_interval_us: q.settle_interval_us,
                    slots,
                    mid_stream: q.mid_stream_throttle,
                    hints: q.retry_after,
                    tier_svc: tiers::services(p),
                    last_refusal: None,
                }
            })
            .collect();
        if pools.iter().any(|p| p.quota.cuts_off()) {
            metrics.requests.truncated_by_output_budget = Some(0);
        }
        if pools.iter().any(|p| p.mid_stream) {
            metrics.attempts.throttled_mid_stream = Some(0);
        }
        // The serving pool's model prices the bill (a lone `[pools.NAME]` may name its own).
        metrics.set_prices(match (s.pools.first(), s.workloads.first()) {
            (Some(p), Some(w)) => crate::cost::tiers::tier_prices(p, w.tier),
            _ => s.model.billed_prices(),
        });
        let account = (!s.account.is_empty()).then(|| {
            Quota::from_limits(
                &s.account,
                s.model.burndown(),
                ReserveMode::InputPlusMaxTokens,
                crate::quota::Settle::AtCompletion,
            )
        });
        let mut user_base = 0u32;
        let wls: Vec<Wl> = s
            .workloads
            .iter()
            .enumerate()
            .map(|(k, w)| {
                let st = |p: Stream| rng::workload_stream(seed, k as u64, p);
                let users = match w.arrivals {
                    Arrivals::ClosedLoop { clients, .. } => {
                        clients.min(u64::from(NO_USER - user_base)) as u32
                    }
                    _ => 0,
                };
                let base = user_base;
                user_base = user_base.saturating_add(users);
                let route_weights = match &w.route.policy {
                    RoutePolicy::Weighted(ws) => {
                        let mut acc = 0.0;
                        ws.iter()
                            .map(|x| {
                                acc += x;
                                acc
                            })
                            .collect()
                    }
                    _ => Vec::new(),
                };
                Wl {
                    s: w,
                    concurrency: w.client.concurrency.unwrap_or(u64::MAX),
                    in_flight: 0,
                    waiting: VecDeque::new(),
                    retry: RetryState::new(w.client.retry.clone(), w.client.max_attempts)
                        .with_botocore_hints(w.client.new_retries_2026),
                    adaptive: w.client.retry.is_adaptive().then(AdaptiveLimiter::new),
                    adaptive_waiters: VecDeque::new(),
                    pacer: w.client.pacing.as_ref().map(Pacer::new),
                    pacer_held: VecDeque::new(),
                    pacer_wake: false,
                    arrivals: {
                        let mut a = ArrivalProcess::new(&w.arrivals);
                        a.bound(s.duration_us, limits.max_events);
                        a
                    },
                    picker: ClassPicker::new(&w.requests),
                    route_weights,
                    spill: w.route.policy == RoutePolicy::Spillover,
                    rng_arrivals: st(Stream::Arrivals),
                    rng_classes: st(Stream::Classes),
                    rng_tokens: st(Stream::Tokens),
                    rng_retries: st(Stream::Retries),
                    rng_faults: st(Stream::Faults),
                    rng_route: st(Stream::Route),
                    ahead: None,
                    user_base: base,
                    users,
                }
            })
            .collect();
        let tiered = crate::cost::tiers::tiers_used(s);
        let split = s.is_split().then(|| {
            let pools = s
                .pools
                .iter()
                .map(|p| {
                    let mut m = Metrics::new(s.warmup_us, s.duration_us);
                    m.configure(
                        p.quota
                            .limits
                            .iter()
                            .take(crate::quota::MAX_LIMITS)
                            .chain(s.account.iter().take(crate::quota::MAX_LIMITS))
                            .map(|l| l.name.clone())
                            .collect(),
                        max_attempts,
                    );
                    m.set_prices(crate::cost::tiers::pool_prices(p));
                    if tiered {
                        // A pool serving several tiers bills each at its own price.
                        m.bill_by_tier(
                            crate::quota::models::Tier::ALL
                                .map(|t| crate::cost::tiers::tier_prices(p, t)),
                        );
                    }
                    m.without_latency();
                    m
                })
                .collect();
            let workloads = s
                .workloads
                .iter()
                .map(|w| {
                    let mut m = Metrics::new(s.warmup_us, s.duration_us);
                    m.configure(names.clone(), w.client.max_attempts);
                    m.without_timeline();
                    m.set_pool_prices(
                        s.pools
                            .iter()
                            .map(|p| crate::cost::tiers::tier_prices(p, w.tier)),
                    );
                    m
                })
                .collect();
            Box::new(Split { pools, workloads })
        });
        let mut split = split;
        if let Some(sp) = split.as_mut()
            && metrics.attempts.throttled_mid_stream.is_some()
        {
            for m in sp.pools.iter_mut().chain(sp.workloads.iter_mut()) {
                m.attempts.throttled_mid_stream = Some(0);
            }
        }
        if split.is_some() {
            // The totals' latencies are their workloads' together, added up at the end:
            // one histogram sample per success instead of two.
            metrics.without_latency();
        }
        let lanes = Lanes {
            workloads: wls.len(),
            pools: pools.len(),
        };
        Sim {
            s,
            now: 0,
            queue: EventQueue::with_capacity(1024, lanes.count()),
            requests: Vec::new(),
            cold: Vec::new(),
            free: Vec::new(),
            streams: pools.iter().any(|p| p.quota.streams())
                || account.as_ref().is_some_and(Quota::streams),
            paced: wls.iter().any(|wl| wl.pacer.is_some()),
            adaptive: wls.iter().any(|wl| wl.adaptive.is_some()),
            hops_on_throttle: wls
                .iter()
                .any(|wl| wl.s.route.policy == RoutePolicy::Fallback(FallbackOn::Throttle)),
            pools,
            account,
            acct: Vec::new(),
            by_model: crate::scenario::model_keys_with_history(s),
            wls,
            lanes,
            metrics,
            split,
            events: 0,
            max_time_us: (limits.max_memory_bytes / limits::BYTES_PER_TIMELINE_ROW)
                .saturating_mul(MINUTE_US),
            limits,
            stopped: None,
            observer,
            minutes: None,
        }
    }
}

/// Adds the fixed charge of reserved capacity to the report's cost (and to each reserved
/// pool's), and says which prices were used when anything but the list price at the
/// standard tier is involved. Reports of other scenarios are untouched.
pub(super) fn fixed_charges(s: &Scenario, report: &mut Report, pool_successes: &[u64]) {
    let Some(basis) = crate::cost::tiers::price_basis(s) else {
        return;
    };
    let measured = s.duration_us - s.warmup_us;
    let hours = measured as f64 / 3_600e6;
    let succeeded = report.requests.succeeded;
    if let Some(fixed) = crate::cost::tiers::reserved_usd(s, measured) {
        report.cost = std::mem::take(&mut report.cost).with_fixed(fixed, succeeded, measured);
    }
    report.cost.prices = Some(basis);
    if let Some(pools) = &mut report.pools {
        for (i, (p, (_, r))) in s.pools.iter().zip(pools.0.iter_mut()).enumerate() {
            if !p.is_reserved() {
                continue;
            }
            let fixed = crate::cost::tiers::reserved_pool_usd(p, hours);
            let n = pool_successes.get(i).copied().unwrap_or(0);
            r.cost = std::mem::take(&mut r.cost).with_fixed(fixed, n, measured);
        }
    }
}
