//! The discrete-event engine (docs/lifecycle.md).
//!
//! One loop pops the earliest event and handles it. Requests live in slabs whose slots are
//! reused, so steady-state runs allocate nothing per request and memory does not grow with
//! simulated time.
//!
//! This file holds the run's state (`Sim`), its events and the loop; the lifecycle stages
//! are `impl Sim` blocks in sibling files, in the order a request meets them: `arrival`,
//! `admission`, `attempt`, `retry` (`setup` builds the state; `request` holds a request's
//! hot and cold halves). `ahead` draws a workload's classes and sizes (and an open-loop
//! process's arrival times) on a second thread when a core is free; the report is the same
//! either way.

mod admission;
mod ahead;
mod arrival;
mod attempt;
pub mod limits;
pub mod observe;
pub mod queue;
mod request;
mod retry;
pub mod rng;
mod setup;
pub mod tiers;

use std::collections::VecDeque;

use rand_chacha::ChaCha8Rng;

use crate::client::{AdaptiveLimiter, Pacer, RetryState};
use crate::metrics::Metrics;
use crate::metrics::minutes::Minutes;
use crate::quota::{Admission, Quota, Rates};
use crate::report::Report;
use crate::scenario::{Scenario, Service, Workload};
use crate::workload::{ArrivalProcess, Arrivals, ClassPicker};
pub use ahead::workloads_drawn_ahead;
pub use limits::{DrawAhead, Limits, StopReason, Stopped};
pub use observe::{Observer, TraceEvent};
pub use queue::EventQueue;
use request::{Cold, Request};

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
    /// The helper drawing this workload's arrivals ahead, if one does (then `arrivals`,
    /// `rng_arrivals`, `rng_classes` and `rng_tokens` are its, not these).
    ahead: Option<Box<ahead::Ahead>>,
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
    /// The requests' hot and cold halves, by slot.
    requests: Vec<Request>,
    cold: Vec<Cold>,
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

/// Bytes one live request costs: its slots in both slabs, a pending event and a place in the queue,
/// doubled for `Vec` growth.
pub(crate) const BYTES_PER_LIVE_REQUEST: u64 =
    2 * (std::mem::size_of::<Request>() as u64 + std::mem::size_of::<Cold>() as u64 + 40);

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
    std::thread::scope(|scope| {
        sim.start_drawing_ahead(scope, limits.draw_ahead);
        // The helpers stop when the event loop lets go of them, so it must let go even if
        // it panics: otherwise the scope would wait for them forever instead of unwinding.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run()));
        sim.stop_drawing_ahead();
        if let Err(panic) = ran {
            std::panic::resume_unwind(panic);
        }
    });
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
    setup::fixed_charges(scenario, &mut report, &pool_successes);
    match stopped {
        None => Ok(report),
        Some(reason) => Err(Box::new(Stopped {
            reason,
            at_us: now,
            report: Box::new(report),
        })),
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

impl<'a> Sim<'a> {
    #[inline(always)]
    fn record(&mut self, w: usize, p: Option<usize>, f: impl Fn(&mut Metrics)) {
        record(&mut self.metrics, &mut self.split, w, p, f);
    }

    // Always inlined, and the event built by `event` only after the check: passed by value,
    // it was built (ten stores a request) even without an observer.
    #[inline(always)]
    fn observe(&mut self, p: usize, event: impl FnOnce() -> TraceEvent) {
        if let Some(o) = self.observer.as_mut()
            && let Some(pool) = self.pools.get(p)
        {
            o.on_event(&event(), &pool.quota);
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
                    let id = match self.wls.get_mut(w).and_then(|wl| wl.ahead.as_mut()) {
                        // Drawn ahead: its time was this event's, its sizes come with it
                        // (or, for on-off, next in line).
                        Some(a) => {
                            let drawn = if a.times { a.due.take() } else { a.next() };
                            self.schedule_next_arrival(w);
                            self.new_request(w, NO_USER, None, drawn)
                        }
                        None => {
                            let record =
                                self.wls.get_mut(w).and_then(|wl| wl.arrivals.take_record());
                            self.schedule_next_arrival(w);
                            self.new_request(w, NO_USER, record.as_ref(), None)
                        }
                    };
                    self.submit(id);
                }
                Event::UserSends(u) => {
                    let w = self.user_workload(u);
                    let drawn = self
                        .wls
                        .get_mut(w)
                        .and_then(|wl| wl.ahead.as_mut())
                        .and_then(|a| a.next());
                    let id = self.new_request(w, u, None, drawn);
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
    fn cold(&mut self, id: u32) -> Option<&mut Cold> {
        self.cold.get_mut(id as usize)
    }

    #[inline]
    fn wl_of(&self, id: u32) -> usize {
        self.requests.get(id as usize).map_or(0, |r| r.w as usize)
    }
}
