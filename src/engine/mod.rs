//! The discrete-event engine (docs/lifecycle.md).
//!
//! One loop pops the earliest event and handles it. Requests live in a slab whose slots are
//! reused, so steady-state runs allocate nothing per request and memory does not grow with
//! simulated time.

pub mod limits;
pub mod observe;
pub mod queue;
pub mod rng;
pub mod tiers;

use std::collections::VecDeque;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::client::adaptive::sleep_us;
use crate::client::retry::Failure;
use crate::client::{AdaptiveLimiter, Pacer, RetryState};
use crate::metrics::minutes::{Invocation, Minutes};
use crate::metrics::{FailCause, Metrics, Success};
use crate::quota::MINUTE_US;
use crate::quota::{Admission, Footprint, Quota, Rates, ReserveMode, ThrottleCause};
use crate::report::Report;
use crate::scenario::{FallbackOn, RoutePolicy, Scenario, Service, Workload};
use crate::trace::TraceRecord;
use crate::workload::{ArrivalProcess, Arrivals, ClassPicker};
pub use limits::{Limits, StopReason, Stopped};
pub use observe::{Observer, TraceEvent};
pub use queue::EventQueue;
use rng::Stream;

/// What happens at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// The next open-loop arrival of workload `w`.
    Arrival(u32),
    /// Closed-loop user `u` sends its next request (users of all workloads are numbered
    /// in one sequence, workload by workload).
    UserSends(u32),
    /// Request `id` makes its next attempt after sleeping.
    Retry(u32),
    /// Request `id`'s current attempt ends (its outcome is stored in the request).
    AttemptEnds(u32),
    /// Streaming settlement of request `id`'s attempt in progress.
    Tick(u32),
    /// `client.timeout` of request `id` (ignored unless it is that request's deadline: the
    /// slot may have been reused).
    Timeout(u32),
    /// Request `id` wakes in the aws-adaptive token bucket (ignored unless it is the wake
    /// the request is waiting for). Events stay 8 bytes: the heap moves them a lot.
    AdaptiveWake(u32),
    /// Workload `w`'s client pacer may release its first held attempt.
    PacerWake(u32),
}

/// How the attempt in flight will end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Success,
    ServerError,
    Throttled,
    /// The stream ended with a `throttlingException` event at a settlement tick.
    MidStream,
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a concurrency slot.
    Queued,
    /// Held by the client pacer.
    Pacing,
    /// Waiting in the aws-adaptive token bucket.
    Adaptive,
    /// Sleeping before a retry.
    Sleeping,
    /// An attempt is at the provider.
    Attempt,
    /// The client gave up (timeout); the slot waits for the request's pending event.
    Abandoned,
    /// Finished; the slot is free.
    Done,
}

const NO_USER: u32 = u32::MAX;
/// No retry hint came with the last throttle.
const NO_HINT: u32 = u32::MAX;

/// FIFO lanes of the event queue: events scheduled a constant delay after the current time,
/// whose times therefore never decrease within a lane (see [`EventQueue::push_lane`]). Each
/// workload has a lane for its arrivals and one for its closed-loop users' think time; each
/// pool one for its throttles (`throttle_latency` later) and one for its 503s (`ttft`
/// later). With one pool and one workload these are lanes 0–3 (arrivals, throttles, 503s,
/// think), as they always were; any out-of-order push simply goes to the heap.
#[derive(Debug, Clone, Copy)]
struct Lanes {
    workloads: usize,
    pools: usize,
}

impl Lanes {
    #[inline]
    fn arrivals(&self, w: usize) -> usize {
        if w == 0 { 0 } else { 2 * self.pools + 2 * w }
    }
    #[inline]
    fn throttles(&self, p: usize) -> usize {
        if p == 0 { 1 } else { 4 + 2 * (p - 1) }
    }
    #[inline]
    fn server_errors(&self, p: usize) -> usize {
        if p == 0 { 2 } else { 5 + 2 * (p - 1) }
    }
    #[inline]
    fn think(&self, w: usize) -> usize {
        if w == 0 {
            3
        } else {
            2 * self.pools + 2 * w + 1
        }
    }
    // Lanes 0–3, 2 per further pool from lane 4, then 2 per further workload (`pop` looks
    // only at non-empty lanes; past the queue's 64th, events go to the heap).
    fn count(&self) -> usize {
        2 * self.pools.max(1) + 2 * self.workloads.max(1)
    }
}

/// No lane: completions vary in length and go to the heap.
const HEAP: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
struct Request {
    arrival: u64,
    input: u64,
    /// The footprint on the pool the request is currently sent to.
    fp: Footprint,
    reserved: u64,
    cost: u64,
    adm: Admission,
    /// The desired output O, before the serving pool's `max_tokens` truncates it.
    desired: u64,
    prev_sleep: u64,
    /// When the current hold (pacing or adaptive) began.
    held_since: u64,
    /// When the current attempt's output starts and ends (streaming ticks).
    gen_start: u64,
    end: u64,
    /// Output tokens charged so far by streaming ticks.
    generated: u64,
    /// Attempts sent, over every pool.
    attempts: u32,
    /// The retry policy's attempt number in the current call: 1 + its sleeps so far.
    call_attempts: u32,
    last_retry_cost: u32,
    user: u32,
    /// When the request's current adaptive wait ends.
    wake_at: u64,
    /// Its workload.
    w: u16,
    /// The pool its current attempt goes to, and that pool's position in the route.
    pool: u8,
    hop: u8,
    pending: Pending,
    phase: Phase,
    counted: bool,
    truncated: bool,
    /// `max_tokens` was set (record, class or client) rather than the pool model's.
    max_set: bool,
    /// The retry policy slept in the current call (the aws-standard success refund).
    retried: bool,
    /// The answer is streamed (`stream = true` on its class or client).
    stream: bool,
    /// SDK calls made (strands-agents' model calls), from 1.
    calls: u8,
    /// The last throttle's retry hint, whole seconds (`NO_HINT`: none).
    hint_s: u32,
}

impl Request {
    /// A new slab slot's contents until `new_request` writes the request in place.
    fn placeholder() -> Self {
        Request {
            arrival: 0,
            input: 0,
            fp: Footprint::default(),
            reserved: 0,
            cost: 0,
            adm: Admission::default(),
            desired: 0,
            prev_sleep: 0,
            held_since: 0,
            gen_start: 0,
            end: 0,
            generated: 0,
            attempts: 0,
            call_attempts: 0,
            last_retry_cost: 0,
            user: NO_USER,
            wake_at: 0,
            w: 0,
            pool: 0,
            hop: 0,
            pending: Pending::Success,
            phase: Phase::Done,
            counted: false,
            truncated: false,
            max_set: false,
            retried: false,
            stream: false,
            calls: 1,
            hint_s: NO_HINT,
        }
    }
}

/// One pool during a run.
struct PoolRt<'a> {
    quota: Quota,
    rates: Rates,
    hold_reads: bool,
    model_max: u64,
    svc: &'a Service,
    settle_interval_us: u64,
    /// Slot in the totals' `throttled_by_limit` of each of the pool's limits, then of each
    /// account limit.
    slots: Vec<usize>,
    /// `quota.mid_stream_throttle`.
    mid_stream: bool,
    /// `quota.retry_after`.
    hints: bool,
    /// The service as each tier sees it (decode speed times the tier's factor), by
    /// [`Tier::index`](crate::quota::models::Tier::index); unused without tiers.
    tier_svc: Vec<Service>,
    /// When the pool last refused an attempt: `flex` attempts see `flex_error_rate` while
    /// it is busy, within [`tiers::BUSY_US`] of that.
    last_refusal: Option<u64>,
}

/// One workload's client and streams during a run.
struct Wl<'a> {
    s: &'a Workload,
    concurrency: u64,
    in_flight: u64,
    waiting: VecDeque<u32>,
    retry: RetryState,
    adaptive: Option<AdaptiveLimiter>,
    /// Senders waiting inside the adaptive bucket, in `Condition.wait` order.
    adaptive_waiters: VecDeque<u32>,
    pacer: Option<Pacer>,
    pacer_held: VecDeque<u32>,
    pacer_wake: bool,
    arrivals: ArrivalProcess,
    picker: ClassPicker,
    /// Cumulative weights of a weighted route.
    route_weights: Vec<f64>,
    /// Whether the route spills over at admission.
    spill: bool,
    rng_arrivals: ChaCha8Rng,
    rng_classes: ChaCha8Rng,
    rng_tokens: ChaCha8Rng,
    rng_retries: ChaCha8Rng,
    rng_faults: ChaCha8Rng,
    rng_route: ChaCha8Rng,
    /// First global user number of its closed-loop users, and how many.
    user_base: u32,
    users: u32,
}

/// Per-pool and per-workload metrics, kept only when the report shows them.
struct Split {
    pools: Vec<Metrics>,
    workloads: Vec<Metrics>,
}

/// The state of one run.
struct Sim<'a> {
    s: &'a Scenario,
    now: u64,
    queue: EventQueue<Event>,
    requests: Vec<Request>,
    free: Vec<u32>,
    pools: Vec<PoolRt<'a>>,
    account: Option<Quota>,
    /// Pools by the key of each of their model IDs, in precedence order
    /// ([`crate::scenario::model_id_owners`]: the first match serves).
    by_model: Vec<(u64, usize)>,
    /// Tickets of the account-wide limits, by request slot (empty without them): kept out
    /// of `Request` so the common case copies less.
    acct: Vec<Admission>,
    wls: Vec<Wl<'a>>,
    lanes: Lanes,
    streams: bool,
    /// Whether any workload has a client pacer, or the aws-adaptive bucket: without them
    /// `send` goes straight to `start_attempt` without looking its workload up.
    paced: bool,
    adaptive: bool,
    /// Whether any workload falls back on a throttle (else every throttle skips that check).
    hops_on_throttle: bool,
    metrics: Metrics,
    split: Option<Box<Split>>,
    events: u64,
    limits: Limits,
    /// Simulated time past which the per-minute timeline would outgrow the memory limit.
    max_time_us: u64,
    stopped: Option<StopReason>,
    observer: Option<&'a mut dyn Observer>,
    /// CloudWatch-shaped per-minute metrics, when asked for ([`simulate_minutes`]).
    minutes: Option<Box<Minutes>>,
}

/// Bytes one live request costs: its slab slot, a pending event and a place in the queue,
/// doubled for `Vec` growth.
pub(crate) const BYTES_PER_LIVE_REQUEST: u64 = 2 * (std::mem::size_of::<Request>() as u64 + 40);

/// Runs a scenario to completion and returns its report. A pure function of the scenario
/// (its seed included).
///
/// A replayed trace is validated when the scenario is loaded; if it cannot be read during
/// the run (it changed in between), replay stops there. [`try_simulate`] reports that.
pub fn simulate(scenario: &Scenario) -> Report {
    simulate_with(scenario, &Limits::unlimited(), None).unwrap_or_else(|stopped| *stopped.report)
}

/// Like [`simulate`], but a trace that fails during replay is an error.
pub fn try_simulate(scenario: &Scenario) -> Result<Report, crate::Error> {
    simulate_with(scenario, &Limits::unlimited(), None).map_err(|stopped| {
        limits::stopped_error(scenario, &scenario.name, &Limits::unlimited(), &stopped)
    })
}

/// Like [`simulate`], but stops as soon as the run exceeds `limits` (the run-time backstop
/// of the guard rails in [`crate::guard`]) and reports every step to `observer`, if any.
/// A stopped run (limits exceeded, or a replayed trace that failed to read) returns what it
/// simulated so far in [`Stopped::report`].
pub fn simulate_with<'a>(
    scenario: &'a Scenario,
    limits: &Limits,
    observer: Option<&'a mut dyn Observer>,
) -> Result<Report, Box<Stopped>> {
    simulate_inner(scenario, limits, observer, None)
}

/// Like [`simulate_with`] without an observer, and also records the per-minute, per-pool
/// metrics that `run --cloudwatch` and `calibrate` print (memory grows with minutes, not
/// with requests). A stopped run's minutes are lost with it.
pub fn simulate_minutes(
    scenario: &Scenario,
    limits: &Limits,
) -> Result<(Report, Minutes), Box<Stopped>> {
    let mut minutes = Minutes::new(scenario.pools.len());
    let report = simulate_inner(scenario, limits, None, Some(&mut minutes))?;
    minutes.pad_to(report.timeline.len());
    Ok((report, minutes))
}

fn simulate_inner<'a>(
    scenario: &'a Scenario,
    limits: &Limits,
    observer: Option<&'a mut dyn Observer>,
    minutes_out: Option<&mut Minutes>,
) -> Result<Report, Box<Stopped>> {
    let mut sim = Sim::new(scenario, limits.clone(), observer);
    if minutes_out.is_some() {
        sim.minutes = Some(Box::new(Minutes::new(scenario.pools.len())));
    }
    sim.run();
    if let (Some(out), Some(m)) = (minutes_out, sim.minutes.take()) {
        *out = *m;
    }
    if sim.stopped.is_none()
        && let Some(d) = sim.wls.iter().find_map(|w| w.arrivals.error())
    {
        sim.stopped = Some(StopReason::TraceFailed(Box::new(d.clone())));
    }
    let Sim {
        mut metrics,
        split,
        now,
        events,
        stopped,
        ..
    } = sim;
    if let Some(split) = &split {
        // Pools may serve different models: the total bill is the sum of theirs.
        metrics.bill_by_pools(&split.pools);
        // Every latency sample went to one workload, and only there (see `Sim::new`).
        metrics.add_latency_of(&split.workloads);
    }
    let mut report = metrics.finish(&scenario.name, scenario.seed, now, events);
    let mut pool_successes: Vec<u64> = Vec::new();
    if let Some(split) = split {
        let Split { pools, workloads } = *split;
        report.tiers = tiers::report(scenario, &workloads, now);
        pool_successes = pools.iter().map(|m| m.requests.succeeded).collect();
        report.pools = Some(crate::report::Named(
            scenario
                .pools
                .iter()
                .zip(pools)
                .map(|(p, m)| (p.name.clone(), m.finish_pool(now)))
                .collect(),
        ));
        report.workloads = Some(crate::report::Named(
            scenario
                .workloads
                .iter()
                .zip(workloads)
                .map(|(w, m)| (w.name.clone(), m.finish_workload(now)))
                .collect(),
        ));
    }
    fixed_charges(scenario, &mut report, &pool_successes);
    match stopped {
        None => Ok(report),
        Some(reason) => Err(Box::new(Stopped {
            reason,
            at_us: now,
            report: Box::new(report),
        })),
    }
}

/// Adds the fixed charge of reserved capacity to the report's cost (and to each reserved
/// pool's), and says which prices were used when anything but the list price at the
/// standard tier is involved. Reports of other scenarios are untouched.
fn fixed_charges(s: &Scenario, report: &mut Report, pool_successes: &[u64]) {
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

/// Records into the totals, and into workload `w`'s and pool `p`'s metrics when the report
/// shows them.
#[inline(always)]
fn record(
    metrics: &mut Metrics,
    split: &mut Option<Box<Split>>,
    w: usize,
    p: Option<usize>,
    f: impl Fn(&mut Metrics),
) {
    f(metrics);
    if let Some(sp) = split {
        if let Some(m) = sp.workloads.get_mut(w) {
            f(m);
        }
        if let Some(m) = p.and_then(|p| sp.pools.get_mut(p)) {
            f(m);
        }
    }
}

/// Pool `p`'s limits, then the account's: on admission, charges both and stores their
/// tickets in the request; on refusal, the index of the refusing limit (account limits
/// after the pool's).
#[inline(always)]
fn admit_on(
    pools: &mut [PoolRt],
    account: &mut Option<Quota>,
    acct: &mut Vec<Admission>,
    id: u32,
    p: usize,
    r: &mut Request,
    now: u64,
) -> Result<(), usize> {
    let Some(pool) = pools.get_mut(p) else {
        return Err(0);
    };
    let rt = pool.rates;
    if let Err(i) = pool.quota.check_at(now, &r.fp, rt) {
        pool.quota.charge_rejected(now, &r.fp, rt);
        return Err(i);
    }
    if let Some(a) = account {
        if let Err(j) = a.check_at(now, &r.fp, rt) {
            // The pool's own limits admitted; those that count refusals count this one.
            pool.quota.charge_rejected(now, &r.fp, rt);
            a.charge_rejected(now, &r.fp, rt);
            return Err(pool.quota.len() + j);
        }
        let i = id as usize;
        if acct.len() <= i {
            acct.resize(i + 1, Admission::default());
        }
        if let Some(t) = acct.get_mut(i) {
            a.charge_into(now, &r.fp, rt, t);
        }
    }
    pool.quota.charge_into(now, &r.fp, rt, &mut r.adm);
    Ok(())
}

/// The retry hint of a throttle of `fp` on pool `p` by its limit `limit` (account limits
/// after the pool's): whole seconds until that limit could admit it, assuming no other
/// traffic, rounded up; `NO_HINT` if it never could.
#[cold]
#[inline(never)]
fn retry_hint_s(
    pools: &mut [PoolRt],
    account: &mut Option<Quota>,
    p: usize,
    limit: usize,
    fp: &Footprint,
    now: u64,
) -> u32 {
    let Some(pool) = pools.get_mut(p) else {
        return NO_HINT;
    };
    let rt = pool.rates;
    let own = pool.quota.len();
    let wait = if limit < own {
        pool.quota.retry_wait_us(now, limit, fp, rt)
    } else {
        account
            .as_mut()
            .and_then(|a| a.retry_wait_us(now, limit - own, fp, rt))
    };
    wait.map_or(NO_HINT, |us| {
        u32::try_from(us.div_ceil(1_000_000)).unwrap_or(NO_HINT - 1)
    })
}

/// Sets a request's footprint, reservation, cost and truncation for pool `p`.
#[inline]
fn sized_for(pools: &[PoolRt], p: usize, r: &mut Request) {
    let Some(pool) = pools.get(p) else {
        return;
    };
    let max_tokens = if r.max_set {
        r.fp.max_tokens
    } else {
        pool.model_max
    };
    let prompt = r.fp.prompt;
    let fp = Footprint::of(
        prompt,
        0,
        r.fp.cache_read,
        max_tokens,
        r.desired,
        pool.hold_reads,
    );
    let b = pool.rates.burndown();
    // `quota.reservation_floor` included.
    r.reserved = pool.rates.quota_reservation(&fp);
    r.cost = b.final_cost(prompt, 0, fp.output);
    r.truncated = r.desired > max_tokens;
    r.fp = fp;
    r.pool = p as u8;
}

impl<'a> Sim<'a> {
    fn new(s: &'a Scenario, limits: Limits, observer: Option<&'a mut dyn Observer>) -> Self {
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

    #[inline(always)]
    fn record(&mut self, w: usize, p: Option<usize>, f: impl Fn(&mut Metrics)) {
        record(&mut self.metrics, &mut self.split, w, p, f);
    }

    // Always inlined, so that without an observer the event is never built.
    #[inline(always)]
    fn observe(&mut self, event: TraceEvent, p: usize) {
        if let Some(o) = self.observer.as_mut()
            && let Some(pool) = self.pools.get(p)
        {
            o.on_event(&event, &pool.quota);
        }
    }

    fn run(&mut self) {
        for w in 0..self.wls.len() {
            match self
                .wls
                .get(w)
                .map(|wl| (wl.s.arrivals.clone(), wl.user_base, wl.users))
            {
                Some((Arrivals::ClosedLoop { .. }, base, users)) => {
                    for u in 0..users {
                        self.queue.push(0, Event::UserSends(base + u));
                    }
                }
                Some(_) => self.schedule_next_arrival(w),
                None => {}
            }
        }
        while self.stopped.is_none()
            && let Some((t, ev)) = self.queue.pop()
        {
            if self.events >= self.limits.max_events {
                self.stopped = Some(StopReason::Events(self.events));
            } else if t > self.max_time_us {
                // A pacer wake-up that far out is the client's own pacing holding requests,
                // not a retry: blame the setting that caused it.
                self.stopped = Some(if matches!(ev, Event::PacerWake(_)) {
                    StopReason::PacedBeyond(t)
                } else {
                    StopReason::Horizon(t)
                });
            }
            if self.stopped.is_some() {
                break;
            }
            self.now = t;
            self.events += 1;
            match ev {
                Event::Arrival(w) => {
                    let w = w as usize;
                    let record = self.wls.get_mut(w).and_then(|wl| wl.arrivals.take_record());
                    self.schedule_next_arrival(w);
                    let id = self.new_request(w, NO_USER, record.as_ref());
                    self.submit(id);
                }
                Event::UserSends(u) => {
                    let w = self.user_workload(u);
                    let id = self.new_request(w, u, None);
                    self.submit(id);
                }
                Event::Retry(id) => {
                    if self.phase(id) == Phase::Abandoned {
                        self.free_slot(id);
                    } else {
                        self.send(id);
                    }
                }
                Event::AttemptEnds(id) => self.attempt_ends(id),
                Event::Tick(id) => self.tick(id),
                Event::Timeout(id) => self.timeout(id),
                Event::AdaptiveWake(id) => self.adaptive_wake(id),
                Event::PacerWake(w) => {
                    let w = w as usize;
                    if let Some(wl) = self.wls.get_mut(w) {
                        wl.pacer_wake = false;
                    }
                    self.release_paced(w);
                }
            }
        }
    }

    /// The workload of closed-loop user `u`.
    #[inline]
    fn user_workload(&self, u: u32) -> usize {
        self.wls
            .iter()
            .position(|wl| u >= wl.user_base && u - wl.user_base < wl.users)
            .unwrap_or(0)
    }

    #[inline]
    fn phase(&self, id: u32) -> Phase {
        self.requests
            .get(id as usize)
            .map_or(Phase::Done, |r| r.phase)
    }

    #[inline]
    fn req(&mut self, id: u32) -> Option<&mut Request> {
        self.requests.get_mut(id as usize)
    }

    #[inline]
    fn wl_of(&self, id: u32) -> usize {
        self.requests.get(id as usize).map_or(0, |r| r.w as usize)
    }

    #[inline]
    fn schedule_next_arrival(&mut self, w: usize) {
        let lane = self.lanes.arrivals(w);
        let Some(wl) = self.wls.get_mut(w) else {
            return;
        };
        let flips = wl.arrivals.flips();
        let next = wl.arrivals.next(&mut wl.rng_arrivals);
        // An on-off process's state changes are work too: they count as events, so that one
        // flipping every microsecond meets --max-events instead of spinning unseen.
        let flipped = wl.arrivals.flips().saturating_sub(flips);
        if flipped > 0 {
            self.events = self.events.saturating_add(flipped);
            if self.events >= self.limits.max_events {
                self.stopped = Some(StopReason::Events(self.events));
                return;
            }
        }
        if let Some(t) = next
            && t < self.s.duration_us
        {
            self.queue.push_lane(lane, t, Event::Arrival(w as u32));
        }
    }

    #[inline]
    fn sized_for(&self, p: usize, r: &mut Request) {
        sized_for(&self.pools, p, r);
    }

    /// Whether pool `p` (its limits, then the account's) could ever admit `fp`, whose
    /// quota-token reservation there is `reserved`.
    #[inline]
    fn servable_on(&self, p: usize, fp: &Footprint, reserved: u64) -> bool {
        let Some(pool) = self.pools.get(p) else {
            return false;
        };
        pool.quota
            .servable_by_reservation(reserved)
            .unwrap_or_else(|| pool.quota.servable(fp))
            && self.account.as_ref().is_none_or(|a| {
                a.servable_by_reservation(reserved)
                    .unwrap_or_else(|| a.servable_at(fp, pool.rates))
            })
    }

    /// A new request: sizes from its trace record when replaying a trace, else drawn from a
    /// class picked by weight.
    fn new_request(&mut self, w: usize, user: u32, record: Option<&TraceRecord>) -> u32 {
        let Some(wl) = self.wls.get_mut(w) else {
            return 0;
        };
        let client = &wl.s.client;
        let mut stream = client.stream;
        let mut sizes = match record {
            Some(rec) => crate::workload::trace::record_sizes(
                rec,
                &wl.s.requests,
                client.max_tokens,
                &mut wl.rng_tokens,
            ),
            None => {
                let i = wl.picker.pick(&mut wl.rng_classes);
                match wl.s.requests.get(i) {
                    Some(class) => {
                        stream = class.stream;
                        class.sample(&mut wl.rng_tokens)
                    }
                    None => crate::workload::Sizes {
                        input: 0,
                        output: 0,
                        cache_write: 0,
                        cache_read: 0,
                        max_tokens: client.max_tokens,
                        max_tokens_set: client.max_tokens_set,
                    },
                }
            }
        };
        sizes.max_tokens_set |= client.max_tokens_set;
        let route = &wl.s.route;
        let hop = match &wl.s.route.policy {
            RoutePolicy::Weighted(_) if route.pools.len() > 1 => {
                let total = wl.route_weights.last().copied().unwrap_or(0.0);
                let x = wl.rng_route.random::<f64>() * total;
                let last = wl.route_weights.len() - 1;
                wl.route_weights.iter().position(|&c| x < c).unwrap_or(last)
            }
            _ => 0,
        };
        let timeout = client.timeout_us;
        let route: &'a crate::scenario::Route = &wl.s.route;
        let mut hop = hop;
        let mut p = route.pools.get(hop).copied().unwrap_or(0);
        // An invocation log's model ID selects the pool it was sent to (its position in the
        // route, so a fallback continues from there).
        if let Some(key) = record.and_then(|r| r.model)
            && self.pools.len() > 1
            && let Some(&(_, q)) = self.by_model.iter().find(|(k, _)| *k == key)
        {
            p = q;
            hop = route.pools.iter().position(|&x| x == q).unwrap_or(0);
        }
        let counted = self.metrics.counts(self.now);
        // The slot first, so that the request is built in place (a 200-odd-byte copy per
        // request otherwise).
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                let live = self.requests.len() as u64 + 1;
                if live.saturating_mul(BYTES_PER_LIVE_REQUEST) > self.limits.max_memory_bytes
                    || live >= u64::from(NO_USER)
                {
                    // Most of them held by the client's own pacing: that is the cause.
                    let held: u64 = self.wls.iter().map(|wl| wl.pacer_held.len() as u64).sum();
                    self.stopped = Some(if held.saturating_mul(2) > live {
                        StopReason::PacingHeld(live, held)
                    } else {
                        StopReason::LiveRequests(live)
                    });
                }
                self.requests.push(Request::placeholder());
                u32::try_from(self.requests.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let Some(slot) = self.requests.get_mut(id as usize) else {
            return id;
        };
        *slot = Request {
            arrival: self.now,
            input: sizes.input,
            fp: Footprint {
                prompt: sizes.input.saturating_add(sizes.cache_write),
                cache_read: sizes.cache_read,
                held_reads: 0,
                max_tokens: sizes.max_tokens,
                output: 0,
            },
            reserved: 0,
            cost: 0,
            adm: Admission::default(),
            desired: sizes.output,
            prev_sleep: 0,
            held_since: 0,
            gen_start: 0,
            end: 0,
            generated: 0,
            attempts: 0,
            call_attempts: 1,
            last_retry_cost: 0,
            user,
            wake_at: 0,
            w: w as u16,
            pool: 0,
            hop: hop as u8,
            pending: Pending::Success,
            phase: Phase::Queued,
            counted,
            truncated: false,
            max_set: sizes.max_tokens_set,
            retried: false,
            stream,
            calls: 1,
            hint_s: NO_HINT,
        };
        sized_for(&self.pools, p, slot);
        let Some(req) = self.requests.get(id as usize) else {
            return id;
        };
        let (reserved, cost, input) = (req.reserved, req.cost, req.input);
        if counted {
            // Unservable: no pool the request may be sent to could ever admit it.
            let candidates: &[usize] = match self.wls.get(w).map(|wl| &wl.s.route) {
                Some(r)
                    if matches!(r.policy, RoutePolicy::Fallback(_) | RoutePolicy::Spillover) =>
                {
                    &r.pools
                }
                _ => std::slice::from_ref(&p),
            };
            // The pool it goes to first is sized already; the others only if that one
            // could never serve it.
            let servable = self.servable_on(p, &req.fp, reserved)
                || candidates.iter().any(|&q| {
                    q != p && {
                        let mut probe = *req;
                        self.sized_for(q, &mut probe);
                        self.servable_on(q, &probe.fp, probe.reserved)
                    }
                });
            self.record(w, None, |m| {
                m.requests.arrived += 1;
                if !servable {
                    m.requests.unservable += 1;
                }
            });
        }
        if let Some(timeout) = timeout {
            self.queue
                .push(self.now.saturating_add(timeout), Event::Timeout(id));
        }
        self.observe(
            TraceEvent::Arrived {
                t: self.now,
                slot: id,
                reserved,
                cost,
                counted,
                input,
            },
            p,
        );
        id
    }

    #[inline]
    fn submit(&mut self, id: u32) {
        let w = self.wl_of(id);
        let Some(wl) = self.wls.get_mut(w) else {
            return;
        };
        if wl.in_flight < wl.concurrency {
            wl.in_flight += 1;
            self.send(id);
        } else {
            wl.waiting.push_back(id);
        }
    }

    /// The request (in flight) wants to send an attempt: through the client pacer, then the
    /// aws-adaptive token bucket, then to the provider.
    // Always inlined: without a pacer or the aws-adaptive bucket (the common case) an attempt
    // goes straight to the provider, with no calls in between.
    #[inline(always)]
    fn send(&mut self, id: u32) {
        if !self.paced {
            return self.adaptive_send(id);
        }
        self.send_paced(id);
    }

    /// [`Sim::send`] when some workload has a client pacer.
    #[inline(never)]
    fn send_paced(&mut self, id: u32) {
        let w = self.wl_of(id);
        let paced = self.wls.get(w).is_some_and(|wl| wl.pacer.is_some());
        if paced {
            let free = self.wls.get(w).is_some_and(|wl| wl.pacer_held.is_empty());
            if free && self.pacer_admits(w, id) {
                self.adaptive_send(id);
            } else {
                let now = self.now;
                if let Some(r) = self.req(id) {
                    r.phase = Phase::Pacing;
                    r.held_since = now;
                }
                if let Some(wl) = self.wls.get_mut(w) {
                    wl.pacer_held.push_back(id);
                }
                self.schedule_pacer(w);
            }
        } else {
            self.adaptive_send(id);
        }
    }

    /// What the pacer counts for `id`'s attempt.
    #[inline]
    fn pacer_cost(&self, w: usize, id: u32) -> Option<u64> {
        let r = self.requests.get(id as usize)?;
        let p = self.wls.get(w)?.pacer.as_ref()?;
        let b = self.pools.get(r.pool as usize)?.rates.burndown();
        Some(b.reservation(p.count, r.fp.prompt, 0, r.fp.max_tokens))
    }

    /// Takes the pacer's tokens for `id`'s attempt if it may leave now.
    fn pacer_admits(&mut self, w: usize, id: u32) -> bool {
        let Some(cost) = self.pacer_cost(w, id) else {
            return true;
        };
        let Some(p) = self.wls.get_mut(w).and_then(|wl| wl.pacer.as_mut()) else {
            return true;
        };
        if p.wait(self.now, cost) == 0 {
            p.take(self.now, cost);
            true
        } else {
            false
        }
    }

    fn schedule_pacer(&mut self, w: usize) {
        let Some(wl) = self.wls.get(w) else { return };
        if wl.pacer_wake {
            return;
        }
        let Some(&head) = wl.pacer_held.front() else {
            return;
        };
        let Some(cost) = self.pacer_cost(w, head) else {
            return;
        };
        let now = self.now;
        let Some(wl) = self.wls.get_mut(w) else {
            return;
        };
        let Some(p) = &mut wl.pacer else { return };
        let wait = p.wait(now, cost).max(1);
        wl.pacer_wake = true;
        self.queue
            .push(now.saturating_add(wait), Event::PacerWake(w as u32));
    }

    /// Releases held attempts in FIFO order while the pacer allows.
    fn release_paced(&mut self, w: usize) {
        while let Some(&head) = self.wls.get(w).and_then(|wl| wl.pacer_held.front()) {
            if self.phase(head) == Phase::Abandoned {
                if let Some(wl) = self.wls.get_mut(w) {
                    wl.pacer_held.pop_front();
                }
                self.free_slot(head);
                continue;
            }
            if !self.pacer_admits(w, head) {
                break;
            }
            if let Some(wl) = self.wls.get_mut(w) {
                wl.pacer_held.pop_front();
            }
            let now = self.now;
            if let Some(r) = self.requests.get(head as usize) {
                let (counted, since) = (r.counted, r.held_since);
                self.record(w, None, |m| m.held(counted, now - since, false));
            }
            self.adaptive_send(head);
        }
        self.schedule_pacer(w);
    }

    #[inline(always)]
    fn adaptive_send(&mut self, id: u32) {
        if !self.adaptive {
            return self.start_attempt(id);
        }
        self.adaptive_acquire(id);
    }

    /// [`Sim::adaptive_send`] when some workload uses the aws-adaptive token bucket.
    #[inline(never)]
    fn adaptive_acquire(&mut self, id: u32) {
        let w = self.wl_of(id);
        let t = self.now as f64 / 1e6;
        let got = self
            .wls
            .get_mut(w)
            .and_then(|wl| wl.adaptive.as_mut())
            .map(|a| a.try_acquire(t));
        match got {
            None | Some(Ok(())) => self.start_attempt(id),
            Some(Err(sleep)) => {
                let now = self.now;
                if let Some(r) = self.req(id) {
                    r.phase = Phase::Adaptive;
                    r.held_since = now;
                }
                self.adaptive_wait(w, id, sleep);
            }
        }
    }

    /// `Condition.wait(sleep)`: join the back of the waiters and wake after `sleep` s.
    fn adaptive_wait(&mut self, w: usize, id: u32, sleep: f64) {
        let at = self.now.saturating_add(sleep_us(sleep));
        if let Some(wl) = self.wls.get_mut(w) {
            wl.adaptive_waiters.push_back(id);
        }
        if let Some(r) = self.req(id) {
            r.wake_at = at;
            self.queue.push(at, Event::AdaptiveWake(id));
        }
    }

    /// `Condition.notify()`: the longest waiter wakes now.
    fn adaptive_notify(&mut self, w: usize) {
        if let Some(id) = self
            .wls
            .get_mut(w)
            .and_then(|wl| wl.adaptive_waiters.pop_front())
            && let Some(r) = self.requests.get_mut(id as usize)
        {
            r.wake_at = self.now;
            self.queue.push(self.now, Event::AdaptiveWake(id));
        }
    }

    fn adaptive_wake(&mut self, id: u32) {
        let Some(r) = self.requests.get(id as usize) else {
            return;
        };
        // A wake superseded by a notify (or left over from the slot's previous request) is
        // stale unless it falls on the very instant of the current one; then the earlier of
        // the two events at that instant is handled and the other ignored (deterministic,
        // but it may run before other events of that instant that the later one would not).
        if r.wake_at != self.now || !matches!(r.phase, Phase::Adaptive | Phase::Abandoned) {
            return;
        }
        let w = r.w as usize;
        if let Some(r) = self.requests.get_mut(id as usize) {
            r.wake_at = u64::MAX;
        }
        let Some(r) = self.requests.get(id as usize) else {
            return;
        };
        let (phase, counted, since) = (r.phase, r.counted, r.held_since);
        if let Some(wl) = self.wls.get_mut(w)
            && let Some(pos) = wl.adaptive_waiters.iter().position(|&x| x == id)
        {
            wl.adaptive_waiters.remove(pos);
        }
        if phase == Phase::Abandoned {
            self.free_slot(id);
            return;
        }
        let t = self.now as f64 / 1e6;
        let got = self
            .wls
            .get_mut(w)
            .and_then(|wl| wl.adaptive.as_mut())
            .map(|a| a.retry_acquire(t));
        match got {
            None | Some(Ok(())) => {
                let now = self.now;
                self.record(w, None, |m| m.held(counted, now - since, true));
                self.start_attempt(id);
            }
            Some(Err(sleep)) => self.adaptive_wait(w, id, sleep),
        }
    }

    fn start_attempt(&mut self, id: u32) {
        let now = self.now;
        let Sim {
            requests,
            pools,
            account,
            acct,
            wls,
            metrics,
            split,
            queue,
            streams,
            lanes,
            minutes,
            ..
        } = self;
        let Some(r) = requests.get_mut(id as usize) else {
            return;
        };
        let w = r.w as usize;
        let counted = r.counted;
        if r.attempts == 0 {
            let arrival = r.arrival;
            record(metrics, split, w, None, |m| {
                m.waited(counted, now - arrival);
                m.first_attempt(counted);
            });
        }
        r.attempts += 1;
        r.phase = Phase::Attempt;
        let Some(wl) = wls.get_mut(w) else {
            return;
        };
        let mut outcome = Err(0);
        if wl.spill {
            // The provider tries each pool of the route in order at this instant, from the
            // first on every attempt; refusals that spill record nothing.
            for &q in &wl.s.route.pools {
                if r.pool as usize != q {
                    sized_for(pools, q, r);
                }
                outcome = admit_on(pools, account, acct, id, q, r, now);
                if outcome.is_ok() {
                    break;
                }
            }
        } else {
            outcome = admit_on(pools, account, acct, id, r.pool as usize, r, now);
        }
        let p = r.pool as usize;
        if outcome.is_err()
            && let Some(pool) = pools.get_mut(p)
        {
            // A refusal makes the pool busy for flex attempts (tiers::BUSY_US).
            pool.last_refusal = Some(now);
        }
        let Some(pool) = pools.get(p) else {
            return;
        };
        let (attempt, reserved) = (r.attempts, r.reserved);
        let event;
        let (end, lane) = match outcome {
            Ok(()) => {
                let tier = wl.s.tier;
                let (svc, error_rate) = if tier == crate::quota::models::Tier::Standard {
                    (pool.svc, pool.svc.error_rate)
                } else {
                    let svc = pool.tier_svc.get(tier.index()).unwrap_or(pool.svc);
                    (svc, tiers::error_rate(svc, tier, now, pool.last_refusal))
                };
                let fails = error_rate > 0.0 && wl.rng_faults.random::<f64>() < error_rate;
                let (pending, took) = if fails {
                    (Pending::ServerError, svc.ttft_us)
                } else {
                    (Pending::Success, svc.service_time_us(r.input, r.fp.output))
                };
                r.pending = pending;
                let end = now.saturating_add(took);
                // Every attempt records its end, so that an end made stale by a cut-off is
                // recognised (see `attempt_ends`).
                r.end = end;
                let charged = pool.quota.primary_charge(&r.fp);
                if *streams && pending == Pending::Success {
                    r.gen_start = now.saturating_add(svc.service_time_us(r.input, 0));
                    r.end = end;
                    r.generated = 0;
                    let next = now.saturating_add(pool.settle_interval_us);
                    if next < end {
                        queue.push(next, Event::Tick(id));
                    }
                }
                event = TraceEvent::Admitted {
                    t: now,
                    slot: id,
                    attempt,
                    reserved,
                };
                record(metrics, split, w, Some(p), |m| {
                    m.admitted(now, counted, reserved, charged)
                });
                if let Some(mm) = minutes {
                    mm.held(now, p, pool.quota.primary().map_or(0, |l| l.held()));
                }
                let lane = if pending == Pending::ServerError {
                    lanes.server_errors(p)
                } else {
                    HEAP
                };
                (end, lane)
            }
            Err(limit) => {
                r.pending = Pending::Throttled;
                r.end = now.saturating_add(pool.svc.throttle_latency_us);
                let own = pool.quota.len();
                let cause = if limit < own {
                    pool.quota.cause(limit)
                } else {
                    account
                        .as_ref()
                        .map_or(ThrottleCause::TokensPerMinute, |a| a.cause(limit - own))
                };
                let slot = pool.slots.get(limit).copied().unwrap_or(usize::MAX);
                metrics.throttled(now, counted, cause, slot);
                if let Some(mm) = minutes {
                    mm.throttled(now, p);
                }
                if let Some(sp) = split {
                    if let Some(m) = sp.workloads.get_mut(w) {
                        m.throttled(now, counted, cause, slot);
                    }
                    if let Some(m) = sp.pools.get_mut(p) {
                        m.throttled(now, counted, cause, limit);
                    }
                }
                event = TraceEvent::Throttled {
                    t: now,
                    slot: id,
                    attempt,
                    cause,
                };
                let ends = (
                    now.saturating_add(pool.svc.throttle_latency_us),
                    lanes.throttles(p),
                );
                r.hint_s = if pool.hints {
                    retry_hint_s(pools, account, p, limit, &r.fp, now)
                } else {
                    NO_HINT
                };
                ends
            }
        };
        queue.push_lane(lane, end, Event::AttemptEnds(id));
        self.observe(event, p);
    }

    /// Output tokens an attempt has generated by `now`.
    fn generated_by(&self, r: &Request) -> u64 {
        if self.now <= r.gen_start {
            return 0;
        }
        let tier = self
            .wls
            .get(r.w as usize)
            .map_or(crate::quota::models::Tier::Standard, |w| w.s.tier);
        let speed = self.pools.get(r.pool as usize).map_or(1.0, |p| {
            p.tier_svc
                .get(tier.index())
                .unwrap_or(p.svc)
                .output_tokens_per_second
        });
        let secs = (self.now - r.gen_start) as f64 / 1e6;
        let g = (secs * speed).floor();
        if g >= r.fp.output as f64 {
            r.fp.output
        } else {
            g as u64
        }
    }

    #[inline(never)]
    fn tick(&mut self, id: u32) {
        let Some(r) = self.requests.get(id as usize).copied() else {
            return;
        };
        // A tick made stale by a cut-off (the attempt already ended) does nothing.
        if r.phase != Phase::Attempt && r.phase != Phase::Abandoned || r.end <= self.now {
            return;
        }
        let mut g = self.generated_by(&r);
        let (w, p) = (r.w as usize, r.pool as usize);
        let Some(pool) = self.pools.get_mut(p) else {
            return;
        };
        // An output budget that cuts off instead of throttling: the response ends here.
        let want = g.saturating_sub(r.generated);
        let cut = want > 0 && {
            let room = pool.quota.output_room(self.now, want);
            g = r.generated + room;
            room < want
        };
        if pool.mid_stream && r.stream && g > r.generated {
            // The charge for the output since the last tick, beyond what the reservation
            // still covers, is offered to the pool's and the account's limits.
            let rt = pool.rates;
            let refused = pool
                .quota
                .offer_at(self.now, &r.fp, r.generated, g, rt)
                .is_err()
                || self
                    .account
                    .as_mut()
                    .is_some_and(|a| a.offer_at(self.now, &r.fp, r.generated, g, rt).is_err());
            if refused {
                self.end_mid_stream(id);
                return;
            }
        }
        let Some(pool) = self.pools.get_mut(p) else {
            return;
        };
        let delta = pool.quota.tick(self.now, &r.adm, &r.fp, r.generated, g);
        if let Some(mm) = &mut self.minutes
            && delta > 0
        {
            mm.held(self.now, p, pool.quota.primary().map_or(0, |l| l.held()));
        }
        if let (Some(a), Some(t)) = (&mut self.account, self.acct.get(id as usize)) {
            a.tick_at(self.now, t, &r.fp, r.generated, g, pool.rates);
        }
        let burndown = pool.rates.burndown();
        let next = self.now.saturating_add(pool.settle_interval_us);
        let now = self.now;
        self.record(w, Some(p), |m| m.settled(now, delta));
        if let Some(r) = self.req(id) {
            r.generated = g;
        }
        if cut {
            let Some(r) = self.req(id) else { return };
            r.fp.output = g;
            r.cost = burndown.final_cost(r.fp.prompt, 0, g);
            r.truncated = true;
            r.end = now;
            let counted = r.counted && r.phase == Phase::Attempt;
            if counted && let Some(n) = &mut self.metrics.requests.truncated_by_output_budget {
                *n += 1;
            }
            self.queue.push(now, Event::AttemptEnds(id));
            return;
        }
        if next < r.end {
            self.queue.push(next, Event::Tick(id));
        }
    }

    /// A `throttlingException` event ends request `id`'s stream now: the output charged by
    /// the ticks so far is what it delivered (and is billed); the quota keeps its charges.
    fn end_mid_stream(&mut self, id: u32) {
        let now = self.now;
        let Some(r) = self.requests.get_mut(id as usize) else {
            return;
        };
        let Some(pool) = self.pools.get(r.pool as usize) else {
            return;
        };
        let burndown = pool.rates.burndown();
        r.fp.output = r.generated;
        r.cost = burndown.final_cost(r.fp.prompt, 0, r.generated);
        r.pending = Pending::MidStream;
        r.end = now;
        self.queue.push(now, Event::AttemptEnds(id));
    }

    /// A stream ended by a `throttlingException` event (see [`Sim::end_mid_stream`]): bill
    /// what it delivered, then retry or fail as the client does.
    #[cold]
    #[inline(never)]
    fn mid_stream_ends(&mut self, id: u32) {
        let now = self.now;
        let Some(req) = self.requests.get(id as usize) else {
            return;
        };
        let (w, p) = (req.w as usize, req.pool as usize);
        let (counted, attempts) = (req.counted, req.attempts);
        let partial = Success {
            arrival: req.arrival,
            counted,
            input: req.input,
            output: req.fp.output,
            cost: req.cost,
            truncated: false,
            attempts,
            cache_write: req.fp.prompt.saturating_sub(req.input),
            cache_read: req.fp.cache_read,
            pool: req.pool,
            tier: self.wls.get(w).map_or(0, |wl| wl.s.tier.index() as u8),
        };
        let abandoned = req.phase == Phase::Abandoned;
        let w_client = self.wls.get(w).map(|wl| wl.s.client.retries_mid_stream());
        self.record(w, Some(p), |m| m.throttled_mid_stream(&partial));
        // A retry asks for the whole answer again.
        let burndown = self.pools.get(p).map(|pool| pool.rates.burndown());
        if let (Some(r), Some(b)) = (self.requests.get_mut(id as usize), burndown) {
            r.fp.output = r.desired.min(r.fp.max_tokens);
            r.cost = b.final_cost(r.fp.prompt, 0, r.fp.output);
        }
        if abandoned {
            self.free_slot(id);
            return;
        }
        if let Some(a) = self.wls.get_mut(w).and_then(|wl| wl.adaptive.as_mut()) {
            // botocore's limiter saw an HTTP 200: the event comes later, outside it.
            a.on_response(now as f64 / 1e6, false);
            self.adaptive_notify(w);
        }
        if w_client == Some(true) {
            self.retry_or_fail(id, FailCause::Throttled, Failure::MidStream);
        } else {
            self.fail(id, FailCause::Throttled);
        }
    }

    fn attempt_ends(&mut self, id: u32) {
        let now = self.now;
        let Some(req) = self.requests.get(id as usize) else {
            return;
        };
        // An attempt cut off by an output budget ended early; its original end is stale.
        if req.end != now || !matches!(req.phase, Phase::Attempt | Phase::Abandoned) {
            return;
        }
        let (w, p) = (req.w as usize, req.pool as usize);
        // The provider settles whatever the client does; a stream ended mid-way keeps what
        // was charged.
        if let Pending::Success | Pending::ServerError = req.pending {
            let success = req.pending == Pending::Success;
            let Sim {
                requests,
                pools,
                account,
                acct,
                minutes,
                ..
            } = self;
            let Some(req) = requests.get(id as usize) else {
                return;
            };
            let Some(pool) = pools.get_mut(p) else {
                return;
            };
            let delta = pool
                .quota
                .settle(now, &req.adm, &req.fp, req.generated, success);
            if let Some(mm) = minutes {
                if delta > 0 {
                    mm.held(now, p, pool.quota.primary().map_or(0, |l| l.held()));
                }
                if success {
                    let svc = pool.svc;
                    mm.succeeded(
                        now,
                        p,
                        &Invocation {
                            input: req.input,
                            output: req.fp.output,
                            cache_read: req.fp.cache_read,
                            cache_write: req.fp.prompt.saturating_sub(req.input),
                            output_burndown: pool.rates.burndown().output,
                            latency_us: svc.service_time_us(req.input, req.fp.output),
                            ttft_us: svc.service_time_us(req.input, 0),
                        },
                    );
                } else {
                    mm.server_error(now, p);
                }
            }
            if let (Some(a), Some(t)) = (account, acct.get(id as usize)) {
                a.settle_at(now, t, &req.fp, req.generated, success, pool.rates);
            }
            self.record(w, Some(p), |m| m.settled(now, delta));
        }
        let Some(req) = self.requests.get(id as usize) else {
            return;
        };
        let (pending, last_retry_cost, retried) = (req.pending, req.last_retry_cost, req.retried);
        let (counted, attempts) = (req.counted, req.attempts);
        // Only a success is recorded as one: a throttle (most ends, when the quota binds)
        // builds nothing.
        let success = (pending == Pending::Success).then(|| Success {
            arrival: req.arrival,
            counted,
            input: req.input,
            output: req.fp.output,
            cost: req.cost,
            truncated: req.truncated,
            attempts,
            cache_write: req.fp.prompt.saturating_sub(req.input),
            cache_read: req.fp.cache_read,
            pool: req.pool,
            tier: self.wls.get(w).map_or(0, |wl| wl.s.tier.index() as u8),
        });
        if pending == Pending::MidStream {
            self.mid_stream_ends(id);
            return;
        }
        if req.phase == Phase::Abandoned {
            // The client gave up, but the provider finished and bills the answer.
            if let Some(r) = &success {
                self.record(w, Some(p), |m| m.billed_abandoned(r));
            }
            self.free_slot(id);
            return;
        }
        if let Some(a) = self.wls.get_mut(w).and_then(|wl| wl.adaptive.as_mut()) {
            a.on_response(now as f64 / 1e6, pending == Pending::Throttled);
            self.adaptive_notify(w);
        }
        match (pending, success) {
            (_, Some(r)) => {
                if let Some(wl) = self.wls.get_mut(w) {
                    wl.retry.on_success(retried, last_retry_cost);
                }
                self.record(w, Some(p), |m| m.succeeded(now, &r));
                self.observe(
                    TraceEvent::Succeeded {
                        t: now,
                        slot: id,
                        attempts,
                        cost: r.cost,
                    },
                    p,
                );
                self.release_client(id);
                self.free_slot(id);
            }
            (Pending::ServerError, None) => {
                self.record(w, Some(p), |m| m.server_error(counted));
                self.observe(
                    TraceEvent::ServerError {
                        t: now,
                        slot: id,
                        attempt: attempts,
                    },
                    p,
                );
                self.retry_or_fail(id, FailCause::ServerError, Failure::Transient);
            }
            (_, None) => {
                if self.hop_on_throttle(id) {
                    return;
                }
                self.retry_or_fail(id, FailCause::Throttled, Failure::Throttle)
            }
        }
    }

    /// Fallback `on = "throttle"`: a throttle from any pool but the route's last sends the
    /// next attempt to the next pool at once, without consulting the retry policy.
    fn hop_on_throttle(&mut self, id: u32) -> bool {
        if !self.hops_on_throttle {
            return false;
        }
        let Some(r) = self.requests.get(id as usize) else {
            return false;
        };
        let Some(route) = self.wls.get(r.w as usize).map(|wl| &wl.s.route) else {
            return false;
        };
        if route.policy != RoutePolicy::Fallback(FallbackOn::Throttle)
            || r.hop as usize + 1 >= route.pools.len()
        {
            return false;
        }
        let hop = r.hop as usize + 1;
        let Some(&q) = route.pools.get(hop) else {
            return false;
        };
        let mut req = *r;
        req.hop = hop as u8;
        self.sized_for(q, &mut req);
        if let Some(slot) = self.req(id) {
            *slot = req;
        }
        self.send(id);
        true
    }

    fn retry_or_fail(&mut self, id: u32, cause: FailCause, failure: Failure) {
        // Split borrows: the request is updated in place (no copy of it on the hot path).
        let Sim {
            requests,
            wls,
            pools,
            ..
        } = self;
        let Some(r) = requests.get_mut(id as usize) else {
            return;
        };
        let w = r.w as usize;
        let Some(wl) = wls.get_mut(w) else {
            return;
        };
        // Only a throttle carries a hint (`hint_s` is that of the last one).
        let hint =
            (failure == Failure::Throttle && r.hint_s != NO_HINT).then_some(u64::from(r.hint_s));
        match wl.retry.decide(
            r.call_attempts,
            u32::from(r.calls),
            r.prev_sleep,
            failure,
            hint,
            &mut wl.rng_retries,
        ) {
            Some(d) => {
                let (sleep, cost) = (d.sleep_us, d.cost);
                let throttle_mode =
                    wl.s.route.policy == RoutePolicy::Fallback(FallbackOn::Throttle);
                let first = wl.s.route.pools.first().copied().unwrap_or(0);
                if d.new_call {
                    // A new SDK call: botocore's attempt count starts again.
                    r.calls = r.calls.saturating_add(1);
                    r.prev_sleep = 0;
                    r.last_retry_cost = 0;
                    r.call_attempts = 1;
                    r.retried = false;
                } else {
                    r.prev_sleep = sleep;
                    r.last_retry_cost = cost;
                    r.call_attempts += 1;
                    r.retried = true;
                }
                r.phase = Phase::Sleeping;
                if throttle_mode && cause == FailCause::Throttled && r.hop != 0 {
                    // After the policy's sleep the next attempt starts again at the first pool.
                    r.hop = 0;
                    sized_for(pools, first, r);
                }
                let counted = r.counted;
                self.record(w, None, |m| m.backoff(counted, sleep));
                self.queue
                    .push(self.now.saturating_add(sleep), Event::Retry(id));
            }
            None => {
                // Fallback `on = "give-up"`: a fresh call against the next pool, at once.
                let route = &wl.s.route;
                let next = (route.policy == RoutePolicy::Fallback(FallbackOn::GiveUp))
                    .then(|| route.pools.get(r.hop as usize + 1).copied())
                    .flatten();
                if let Some(q) = next {
                    r.hop += 1;
                    r.call_attempts = 1;
                    r.retried = false;
                    r.prev_sleep = 0;
                    r.last_retry_cost = 0;
                    sized_for(pools, q, r);
                    self.send(id);
                    return;
                }
                self.fail(id, cause);
            }
        }
    }

    /// Request `id` fails for good.
    // Always inlined: `retry_or_fail` gives up through it on the hot path.
    #[inline(always)]
    fn fail(&mut self, id: u32, cause: FailCause) {
        let Some(r) = self.requests.get(id as usize) else {
            return;
        };
        let (counted, attempts, w) = (r.counted, r.attempts, r.w as usize);
        let p = r.pool as usize;
        self.record(w, None, |m| m.failed(counted, cause, attempts));
        self.observe(
            TraceEvent::Failed {
                t: self.now,
                slot: id,
                attempts,
            },
            p,
        );
        self.release_client(id);
        self.free_slot(id);
    }

    /// `client.timeout` passed for request `id`, if this is its deadline. A deadline left
    /// over from the slot's previous request can only coincide with the current one when
    /// both arrived at the same instant, and then they are the same deadline.
    fn timeout(&mut self, id: u32) {
        let Some(r) = self.requests.get(id as usize) else {
            return;
        };
        let w = r.w as usize;
        let deadline = self
            .wls
            .get(w)
            .and_then(|wl| wl.s.client.timeout_us)
            .unwrap_or(u64::MAX);
        let Some(r) = self.requests.get_mut(id as usize) else {
            return;
        };
        if r.arrival.saturating_add(deadline) != self.now
            || matches!(r.phase, Phase::Done | Phase::Abandoned)
        {
            return;
        }
        let was = r.phase;
        r.phase = Phase::Abandoned;
        let (counted, attempts, p) = (r.counted, r.attempts, r.pool as usize);
        self.record(w, None, |m| m.failed(counted, FailCause::Timeout, attempts));
        self.observe(
            TraceEvent::Failed {
                t: self.now,
                slot: id,
                attempts,
            },
            p,
        );
        if was == Phase::Queued {
            // Not in flight: it stays in the client queue until popped, then is freed.
            self.user_continues(id);
        } else {
            // Its slot waits for the pending retry, wake or attempt end.
            self.release_client(id);
        }
    }

    /// The request reached its final outcome for the client: release its concurrency slot,
    /// start the next queued request, and let a closed-loop user think.
    #[inline]
    fn release_client(&mut self, id: u32) {
        let w = self.wl_of(id);
        if let Some(wl) = self.wls.get_mut(w) {
            wl.in_flight = wl.in_flight.saturating_sub(1);
        }
        while let Some(next) = self.wls.get_mut(w).and_then(|wl| wl.waiting.pop_front()) {
            if self.phase(next) == Phase::Abandoned {
                self.free_slot(next);
                continue;
            }
            if let Some(wl) = self.wls.get_mut(w) {
                wl.in_flight += 1;
            }
            self.send(next);
            break;
        }
        if self
            .requests
            .get(id as usize)
            .is_some_and(|r| r.user != NO_USER)
        {
            self.user_continues(id);
        }
    }

    /// A closed-loop user whose request reached its outcome thinks, then sends again.
    fn user_continues(&mut self, id: u32) {
        let Some(r) = self.requests.get(id as usize) else {
            return;
        };
        let (user, w) = (r.user, r.w as usize);
        if user != NO_USER
            && let Some(wl) = self.wls.get(w)
            && let Arrivals::ClosedLoop { think_time_us, .. } = wl.s.arrivals
        {
            let t = self.now.saturating_add(think_time_us);
            if t < self.s.duration_us {
                self.queue
                    .push_lane(self.lanes.think(w), t, Event::UserSends(user));
            }
        }
    }

    #[inline(always)]
    fn free_slot(&mut self, id: u32) {
        if let Some(r) = self.req(id) {
            r.phase = Phase::Done;
            self.free.push(id);
        }
    }
}
