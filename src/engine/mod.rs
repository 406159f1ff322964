//! The discrete-event engine (SPEC §1–2).
//!
//! One loop pops the earliest event and handles it. Requests live in a slab whose slots are
//! reused, so steady-state runs allocate nothing per request and memory does not grow with
//! simulated time.

pub mod limits;
pub mod queue;
pub mod rng;
pub mod trace;

use std::collections::VecDeque;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::client::adaptive::sleep_us;
use crate::client::{AdaptiveLimiter, Pacer, RetryState};
use crate::metrics::{FailCause, Metrics, Success};
use crate::quota::MINUTE_US;
use crate::quota::{Admission, Burndown, Footprint, Quota, ReserveMode};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::trace::TraceRecord;
use crate::workload::{ArrivalProcess, Arrivals, ClassPicker};
pub use limits::{Limits, StopReason, Stopped};
pub use queue::EventQueue;
use rng::{Stream, stream};
pub use trace::{Observer, TraceEvent};

/// What happens at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// The next open-loop arrival.
    Arrival,
    /// Closed-loop user `u` sends its next request.
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
    /// The client pacer may release its first held attempt.
    PacerWake,
}

/// How the attempt in flight will end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Success,
    ServerError,
    Throttled,
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

/// FIFO lanes of the event queue: events scheduled a constant delay after the current time,
/// whose times therefore never decrease (see [`EventQueue::push_lane`]).
const LANE_ARRIVALS: usize = 0;
/// Throttles, answered `service.throttle_latency` after the attempt.
const LANE_THROTTLES: usize = 1;
/// 503s, answered `service.ttft` after the attempt.
const LANE_SERVER_ERRORS: usize = 2;
/// Closed-loop users sending again `think_time` after an outcome.
const LANE_THINK: usize = 3;
const LANES: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Request {
    arrival: u64,
    input: u64,
    fp: Footprint,
    reserved: u64,
    cost: u64,
    adm: Admission,
    prev_sleep: u64,
    /// When the current hold (pacing or adaptive) began.
    held_since: u64,
    /// When the current attempt's output starts and ends (streaming ticks).
    gen_start: u64,
    end: u64,
    /// Output tokens charged so far by streaming ticks.
    generated: u64,
    attempts: u32,
    last_retry_cost: u32,
    user: u32,
    /// When the request's current adaptive wait ends.
    wake_at: u64,
    pending: Pending,
    phase: Phase,
    counted: bool,
    truncated: bool,
}

/// The state of one run.
struct Sim<'a> {
    s: &'a Scenario,
    burndown: Burndown,
    reserve: ReserveMode,
    now: u64,
    queue: EventQueue<Event>,
    requests: Vec<Request>,
    free: Vec<u32>,
    waiting: VecDeque<u32>,
    in_flight: u64,
    concurrency: u64,
    quota: Quota,
    streams: bool,
    retry: RetryState,
    adaptive: Option<AdaptiveLimiter>,
    /// Senders waiting inside the adaptive bucket, in `Condition.wait` order.
    adaptive_waiters: VecDeque<u32>,
    pacer: Option<Pacer>,
    pacer_held: VecDeque<u32>,
    pacer_wake: bool,
    arrivals: ArrivalProcess,
    picker: ClassPicker,
    rng_arrivals: ChaCha8Rng,
    rng_classes: ChaCha8Rng,
    rng_tokens: ChaCha8Rng,
    rng_retries: ChaCha8Rng,
    rng_faults: ChaCha8Rng,
    metrics: Metrics,
    events: u64,
    limits: Limits,
    /// Simulated time past which the per-minute timeline would outgrow the memory limit.
    max_time_us: u64,
    stopped: Option<StopReason>,
    observer: Option<&'a mut dyn Observer>,
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
    let mut sim = Sim::new(scenario, limits.clone(), observer);
    sim.run();
    if sim.stopped.is_none()
        && let Some(d) = sim.arrivals.error()
    {
        sim.stopped = Some(StopReason::TraceFailed(Box::new(d.clone())));
    }
    let Sim {
        metrics,
        now,
        events,
        stopped,
        ..
    } = sim;
    let report = metrics.finish(&scenario.name, scenario.seed, now, events);
    match stopped {
        None => Ok(report),
        Some(reason) => Err(Box::new(Stopped {
            reason,
            at_us: now,
            report: Box::new(report),
        })),
    }
}

impl<'a> Sim<'a> {
    fn new(s: &'a Scenario, limits: Limits, observer: Option<&'a mut dyn Observer>) -> Self {
        let q = &s.quota;
        let seed = s.seed;
        let quota = Quota::from_limits(&q.limits, s.model.burndown(), q.reserve, q.settle);
        let mut metrics = Metrics::new(s.warmup_us, s.duration_us);
        metrics.configure(
            q.limits.iter().map(|l| l.name.clone()).collect(),
            s.client.max_attempts,
        );
        Sim {
            s,
            burndown: s.model.burndown(),
            reserve: q.reserve,
            now: 0,
            queue: EventQueue::with_capacity(1024, LANES),
            requests: Vec::new(),
            free: Vec::new(),
            waiting: VecDeque::new(),
            in_flight: 0,
            concurrency: s.client.concurrency.unwrap_or(u64::MAX),
            streams: quota.streams(),
            quota,
            retry: RetryState::new(s.client.retry.clone(), s.client.max_attempts),
            adaptive: s.client.retry.is_adaptive().then(AdaptiveLimiter::new),
            adaptive_waiters: VecDeque::new(),
            pacer: s.client.pacing.as_ref().map(Pacer::new),
            pacer_held: VecDeque::new(),
            pacer_wake: false,
            arrivals: {
                let mut a = ArrivalProcess::new(&s.arrivals);
                a.bound(s.duration_us, limits.max_events);
                a
            },
            picker: ClassPicker::new(&s.requests),
            rng_arrivals: stream(seed, Stream::Arrivals),
            rng_classes: stream(seed, Stream::Classes),
            rng_tokens: stream(seed, Stream::Tokens),
            rng_retries: stream(seed, Stream::Retries),
            rng_faults: stream(seed, Stream::Faults),
            metrics,
            events: 0,
            max_time_us: (limits.max_memory_bytes / limits::BYTES_PER_TIMELINE_ROW)
                .saturating_mul(MINUTE_US),
            limits,
            stopped: None,
            observer,
        }
    }

    #[inline]
    fn observe(&mut self, event: TraceEvent) {
        if let Some(o) = self.observer.as_mut() {
            o.on_event(&event, &self.quota);
        }
    }

    fn run(&mut self) {
        match self.s.arrivals {
            Arrivals::ClosedLoop { clients, .. } => {
                for u in 0..clients.min(u64::from(NO_USER)) {
                    self.queue.push(0, Event::UserSends(u as u32));
                }
            }
            _ => self.schedule_next_arrival(),
        }
        while self.stopped.is_none()
            && let Some((t, ev)) = self.queue.pop()
        {
            if self.events >= self.limits.max_events {
                self.stopped = Some(StopReason::Events(self.events));
            } else if t > self.max_time_us {
                // A pacer wake-up that far out is the client's own pacing holding requests,
                // not a retry: blame the setting that caused it.
                self.stopped = Some(if matches!(ev, Event::PacerWake) {
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
                Event::Arrival => {
                    let record = self.arrivals.take_record();
                    self.schedule_next_arrival();
                    let id = self.new_request(NO_USER, record.as_ref());
                    self.submit(id);
                }
                Event::UserSends(u) => {
                    let id = self.new_request(u, None);
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
                Event::PacerWake => {
                    self.pacer_wake = false;
                    self.release_paced();
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

    fn schedule_next_arrival(&mut self) {
        let flips = self.arrivals.flips();
        let next = self.arrivals.next(&mut self.rng_arrivals);
        // An on-off process's state changes are work too: they count as events, so that one
        // flipping every microsecond meets --max-events instead of spinning unseen.
        let flipped = self.arrivals.flips().saturating_sub(flips);
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
            self.queue.push_lane(LANE_ARRIVALS, t, Event::Arrival);
        }
    }

    /// A new request: sizes from its trace record when replaying a trace, else drawn from a
    /// class picked by weight.
    fn new_request(&mut self, user: u32, record: Option<&TraceRecord>) -> u32 {
        let sizes = match record {
            Some(rec) => crate::workload::trace::record_sizes(
                rec,
                &self.s.requests,
                self.s.client.max_tokens,
                &mut self.rng_tokens,
            ),
            None => {
                let i = self.picker.pick(&mut self.rng_classes);
                match self.s.requests.get(i) {
                    Some(class) => class.sample(&mut self.rng_tokens),
                    None => crate::workload::Sizes {
                        input: 0,
                        output: 0,
                        cache_write: 0,
                        cache_read: 0,
                        max_tokens: self.s.client.max_tokens,
                    },
                }
            }
        };
        let (input, desired, cache_write, max_tokens) = (
            sizes.input,
            sizes.output,
            sizes.cache_write,
            sizes.max_tokens,
        );
        let cache_read = sizes.cache_read;
        let output = desired.min(max_tokens);
        // Cache reads are free; under `quota.reserve_cache_reads` they are held at the input
        // rate from admission to settlement.
        let held_input = if self.s.quota.reserve_cache_reads {
            input.saturating_add(sizes.cache_read)
        } else {
            input
        };
        let reserved = self
            .burndown
            .reservation(self.reserve, held_input, cache_write, max_tokens);
        let cost = self.burndown.final_cost(input, cache_write, output);
        let fp = Footprint {
            prompt: input.saturating_add(cache_write),
            cache_read,
            held_reads: held_input - input,
            max_tokens,
            output,
        };
        let counted = self.metrics.counts(self.now);
        if counted {
            self.metrics.requests.arrived += 1;
            if !self.quota.servable(&fp) {
                self.metrics.requests.unservable += 1;
            }
        }
        let req = Request {
            arrival: self.now,
            input,
            fp,
            reserved,
            cost,
            adm: Admission::default(),
            prev_sleep: 0,
            held_since: 0,
            gen_start: 0,
            end: 0,
            generated: 0,
            attempts: 0,
            last_retry_cost: 0,
            user,
            wake_at: 0,
            pending: Pending::Success,
            phase: Phase::Queued,
            counted,
            truncated: desired > max_tokens,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(slot) = self.requests.get_mut(id as usize) {
                    *slot = req;
                }
                id
            }
            None => {
                let live = self.requests.len() as u64 + 1;
                if live.saturating_mul(BYTES_PER_LIVE_REQUEST) > self.limits.max_memory_bytes
                    || live >= u64::from(NO_USER)
                {
                    // Most of them held by the client's own pacing: that is the cause.
                    let held = self.pacer_held.len() as u64;
                    self.stopped = Some(if held.saturating_mul(2) > live {
                        StopReason::PacingHeld(live, held)
                    } else {
                        StopReason::LiveRequests(live)
                    });
                }
                self.requests.push(req);
                u32::try_from(self.requests.len() - 1).unwrap_or(u32::MAX)
            }
        };
        if let Some(timeout) = self.s.client.timeout_us {
            self.queue
                .push(self.now.saturating_add(timeout), Event::Timeout(id));
        }
        self.observe(TraceEvent::Arrived {
            t: self.now,
            slot: id,
            reserved,
            cost,
            counted,
        });
        id
    }

    fn submit(&mut self, id: u32) {
        if self.in_flight < self.concurrency {
            self.in_flight += 1;
            self.send(id);
        } else {
            self.waiting.push_back(id);
        }
    }

    /// The request (in flight) wants to send an attempt: through the client pacer, then the
    /// aws-adaptive token bucket, then to the provider.
    fn send(&mut self, id: u32) {
        if self.pacer.is_some() {
            if self.pacer_held.is_empty() && self.pacer_admits(id) {
                self.adaptive_send(id);
            } else {
                let now = self.now;
                if let Some(r) = self.req(id) {
                    r.phase = Phase::Pacing;
                    r.held_since = now;
                }
                self.pacer_held.push_back(id);
                self.schedule_pacer();
            }
        } else {
            self.adaptive_send(id);
        }
    }

    /// Takes the pacer's tokens for `id`'s attempt if it may leave now.
    fn pacer_admits(&mut self, id: u32) -> bool {
        let Some(r) = self.requests.get(id as usize) else {
            return true;
        };
        let Some(p) = &mut self.pacer else {
            return true;
        };
        let cost = self
            .burndown
            .reservation(p.count, r.fp.prompt, 0, r.fp.max_tokens);
        if p.wait(self.now, cost) == 0 {
            p.take(self.now, cost);
            true
        } else {
            false
        }
    }

    fn schedule_pacer(&mut self) {
        if self.pacer_wake {
            return;
        }
        let Some(&head) = self.pacer_held.front() else {
            return;
        };
        let Some(r) = self.requests.get(head as usize) else {
            return;
        };
        let Some(p) = &mut self.pacer else { return };
        let cost = self
            .burndown
            .reservation(p.count, r.fp.prompt, 0, r.fp.max_tokens);
        let wait = p.wait(self.now, cost).max(1);
        self.pacer_wake = true;
        self.queue
            .push(self.now.saturating_add(wait), Event::PacerWake);
    }

    /// Releases held attempts in FIFO order while the pacer allows.
    fn release_paced(&mut self) {
        while let Some(&head) = self.pacer_held.front() {
            if self.phase(head) == Phase::Abandoned {
                self.pacer_held.pop_front();
                self.free_slot(head);
                continue;
            }
            if !self.pacer_admits(head) {
                break;
            }
            self.pacer_held.pop_front();
            let now = self.now;
            if let Some(r) = self.req(head) {
                let (counted, since) = (r.counted, r.held_since);
                self.metrics.held(counted, now - since, false);
            }
            self.adaptive_send(head);
        }
        self.schedule_pacer();
    }

    fn adaptive_send(&mut self, id: u32) {
        let t = self.now as f64 / 1e6;
        match self.adaptive.as_mut().map(|a| a.try_acquire(t)) {
            None | Some(Ok(())) => self.start_attempt(id),
            Some(Err(sleep)) => {
                let now = self.now;
                if let Some(r) = self.req(id) {
                    r.phase = Phase::Adaptive;
                    r.held_since = now;
                }
                self.adaptive_wait(id, sleep);
            }
        }
    }

    /// `Condition.wait(sleep)`: join the back of the waiters and wake after `sleep` s.
    fn adaptive_wait(&mut self, id: u32, sleep: f64) {
        let at = self.now.saturating_add(sleep_us(sleep));
        self.adaptive_waiters.push_back(id);
        if let Some(r) = self.req(id) {
            r.wake_at = at;
            self.queue.push(at, Event::AdaptiveWake(id));
        }
    }

    /// `Condition.notify()`: the longest waiter wakes now.
    fn adaptive_notify(&mut self) {
        if let Some(id) = self.adaptive_waiters.pop_front()
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
        if let Some(r) = self.requests.get_mut(id as usize) {
            r.wake_at = u64::MAX;
        }
        let Some(r) = self.requests.get(id as usize) else {
            return;
        };
        if let Some(pos) = self.adaptive_waiters.iter().position(|&w| w == id) {
            self.adaptive_waiters.remove(pos);
        }
        if r.phase == Phase::Abandoned {
            self.free_slot(id);
            return;
        }
        let (counted, since) = (r.counted, r.held_since);
        let t = self.now as f64 / 1e6;
        match self.adaptive.as_mut().map(|a| a.retry_acquire(t)) {
            None | Some(Ok(())) => {
                self.metrics.held(counted, self.now - since, true);
                self.start_attempt(id);
            }
            Some(Err(sleep)) => self.adaptive_wait(id, sleep),
        }
    }

    fn start_attempt(&mut self, id: u32) {
        let now = self.now;
        let Some(r) = self.requests.get_mut(id as usize) else {
            return;
        };
        if r.attempts == 0 {
            if r.counted {
                self.metrics.queue_wait.record(now - r.arrival);
            }
            self.metrics.first_attempt(r.counted);
        }
        r.attempts += 1;
        r.phase = Phase::Attempt;
        let (counted, reserved, attempt) = (r.counted, r.reserved, r.attempts);
        let event;
        let (end, lane) = match self.quota.try_admit(now, &r.fp) {
            Ok(adm) => {
                r.adm = adm;
                let svc = &self.s.service;
                let fails =
                    svc.error_rate > 0.0 && self.rng_faults.random::<f64>() < svc.error_rate;
                let (pending, took) = if fails {
                    (Pending::ServerError, svc.ttft_us)
                } else {
                    (Pending::Success, svc.service_time_us(r.input, r.fp.output))
                };
                r.pending = pending;
                let end = now.saturating_add(took);
                let charged = self.quota.primary_charge(&r.fp);
                if self.streams && pending == Pending::Success {
                    r.gen_start = now.saturating_add(svc.service_time_us(r.input, 0));
                    r.end = end;
                    r.generated = 0;
                    let next = now.saturating_add(self.s.quota.settle_interval_us);
                    if next < end {
                        self.queue.push(next, Event::Tick(id));
                    }
                }
                event = TraceEvent::Admitted {
                    t: now,
                    slot: id,
                    attempt,
                    reserved,
                };
                self.metrics.admitted(now, counted, reserved, charged);
                let lane = if pending == Pending::ServerError {
                    LANE_SERVER_ERRORS
                } else {
                    LANES
                };
                (end, lane)
            }
            Err(limit) => {
                r.pending = Pending::Throttled;
                let cause = self.quota.cause(limit);
                self.metrics.throttled(now, counted, cause, limit);
                event = TraceEvent::Throttled {
                    t: now,
                    slot: id,
                    attempt,
                    cause,
                };
                (
                    now.saturating_add(self.s.service.throttle_latency_us),
                    LANE_THROTTLES,
                )
            }
        };
        self.observe(event);
        // Completions vary in length and go to the heap (`LANES` is no lane).
        self.queue.push_lane(lane, end, Event::AttemptEnds(id));
    }

    /// Output tokens an attempt has generated by `now`.
    fn generated_by(&self, r: &Request) -> u64 {
        if self.now <= r.gen_start {
            return 0;
        }
        let secs = (self.now - r.gen_start) as f64 / 1e6;
        let g = (secs * self.s.service.output_tokens_per_second).floor();
        if g >= r.fp.output as f64 {
            r.fp.output
        } else {
            g as u64
        }
    }

    fn tick(&mut self, id: u32) {
        let Some(r) = self.requests.get(id as usize).copied() else {
            return;
        };
        let g = self.generated_by(&r);
        let delta = self.quota.tick(self.now, &r.adm, &r.fp, r.generated, g);
        self.metrics.settled(self.now, delta);
        if let Some(r) = self.req(id) {
            r.generated = g;
        }
        let next = self.now.saturating_add(self.s.quota.settle_interval_us);
        if next < r.end {
            self.queue.push(next, Event::Tick(id));
        }
    }

    fn attempt_ends(&mut self, id: u32) {
        let now = self.now;
        // Borrow the request rather than copy it: it is a few hundred bytes.
        let Sim {
            requests,
            quota,
            metrics,
            ..
        } = self;
        let Some(req) = requests.get(id as usize) else {
            return;
        };
        // The provider settles whatever the client does.
        match req.pending {
            Pending::Success | Pending::ServerError => {
                let success = req.pending == Pending::Success;
                let delta = quota.settle(now, &req.adm, &req.fp, req.generated, success);
                metrics.settled(now, delta);
            }
            Pending::Throttled => {}
        }
        let (pending, last_retry_cost) = (req.pending, req.last_retry_cost);
        let r = Success {
            arrival: req.arrival,
            counted: req.counted,
            input: req.input,
            output: req.fp.output,
            cost: req.cost,
            truncated: req.truncated,
            attempts: req.attempts,
        };
        let abandoned = req.phase == Phase::Abandoned;
        if abandoned {
            self.free_slot(id);
            return;
        }
        if let Some(a) = &mut self.adaptive {
            a.on_response(now as f64 / 1e6, pending == Pending::Throttled);
            self.adaptive_notify();
        }
        match pending {
            Pending::Success => {
                self.retry.on_success(r.attempts > 1, last_retry_cost);
                self.metrics.succeeded(now, &r);
                self.observe(TraceEvent::Succeeded {
                    t: now,
                    slot: id,
                    attempts: r.attempts,
                    cost: r.cost,
                });
                self.release_client(id);
                self.free_slot(id);
            }
            Pending::ServerError => {
                self.metrics.server_error(r.counted);
                self.observe(TraceEvent::ServerError {
                    t: now,
                    slot: id,
                    attempt: r.attempts,
                });
                self.retry_or_fail(id, FailCause::ServerError);
            }
            Pending::Throttled => self.retry_or_fail(id, FailCause::Throttled),
        }
    }

    fn retry_or_fail(&mut self, id: u32, cause: FailCause) {
        let Some(r) = self.requests.get_mut(id as usize) else {
            return;
        };
        match self
            .retry
            .on_failure(r.attempts, r.prev_sleep, &mut self.rng_retries)
        {
            Some((sleep, cost)) => {
                r.prev_sleep = sleep;
                r.last_retry_cost = cost;
                r.phase = Phase::Sleeping;
                self.metrics.backoff(r.counted, sleep);
                self.queue
                    .push(self.now.saturating_add(sleep), Event::Retry(id));
            }
            None => {
                let (counted, attempts) = (r.counted, r.attempts);
                self.metrics.failed(counted, cause, attempts);
                self.observe(TraceEvent::Failed {
                    t: self.now,
                    slot: id,
                    attempts,
                });
                self.release_client(id);
                self.free_slot(id);
            }
        }
    }

    /// `client.timeout` passed for request `id`, if this is its deadline. A deadline left
    /// over from the slot's previous request can only coincide with the current one when
    /// both arrived at the same instant, and then they are the same deadline.
    fn timeout(&mut self, id: u32) {
        let deadline = self.s.client.timeout_us.unwrap_or(u64::MAX);
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
        let (counted, attempts) = (r.counted, r.attempts);
        self.metrics.failed(counted, FailCause::Timeout, attempts);
        self.observe(TraceEvent::Failed {
            t: self.now,
            slot: id,
            attempts,
        });
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
    fn release_client(&mut self, id: u32) {
        self.in_flight = self.in_flight.saturating_sub(1);
        while let Some(next) = self.waiting.pop_front() {
            if self.phase(next) == Phase::Abandoned {
                self.free_slot(next);
                continue;
            }
            self.in_flight += 1;
            self.send(next);
            break;
        }
        self.user_continues(id);
    }

    fn user_continues(&mut self, id: u32) {
        let user = self.requests.get(id as usize).map_or(NO_USER, |r| r.user);
        if user != NO_USER
            && let Arrivals::ClosedLoop { think_time_us, .. } = self.s.arrivals
        {
            let t = self.now.saturating_add(think_time_us);
            if t < self.s.duration_us {
                self.queue.push_lane(LANE_THINK, t, Event::UserSends(user));
            }
        }
    }

    fn free_slot(&mut self, id: u32) {
        if let Some(r) = self.req(id) {
            r.phase = Phase::Done;
            self.free.push(id);
        }
    }
}
