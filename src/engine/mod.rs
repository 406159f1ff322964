//! The discrete-event engine (SPEC §1–2).
//!
//! One loop pops the earliest event and handles it. Requests live in a slab whose slots are
//! reused, so steady-state runs allocate nothing per request and memory does not grow with
//! simulated time.

pub mod queue;
pub mod rng;

use std::collections::VecDeque;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::client::RetryState;
use crate::metrics::Metrics;
use crate::quota::{Admission, Burndown, Quota, ReserveMode};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::trace::TraceRecord;
use crate::workload::{ArrivalProcess, Arrivals, ClassPicker};
pub use queue::EventQueue;
use rng::{Stream, stream};

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
}

/// How the attempt in flight will end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Success,
    ServerError,
    Throttled,
}

const NO_USER: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Request {
    arrival: u64,
    input: u64,
    output: u64,
    reserved: u64,
    cost: u64,
    adm: Admission,
    prev_sleep: u64,
    attempts: u32,
    last_retry_cost: u32,
    user: u32,
    pending: Pending,
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
    retry: RetryState,
    arrivals: ArrivalProcess,
    picker: ClassPicker,
    rng_arrivals: ChaCha8Rng,
    rng_classes: ChaCha8Rng,
    rng_tokens: ChaCha8Rng,
    rng_retries: ChaCha8Rng,
    rng_faults: ChaCha8Rng,
    metrics: Metrics,
    events: u64,
}

/// Runs a scenario to completion and returns its report. A pure function of the scenario
/// (its seed included).
///
/// A replayed trace is validated when the scenario is loaded; if it cannot be read during
/// the run (it changed in between), replay stops there. [`try_simulate`] reports that.
pub fn simulate(scenario: &Scenario) -> Report {
    run_to_end(scenario).0
}

/// Like [`simulate`], but a trace that fails during replay is an error.
pub fn try_simulate(scenario: &Scenario) -> Result<Report, crate::Error> {
    let (report, error) = run_to_end(scenario);
    match error {
        Some(d) => Err(crate::Error::Runtime(format!(
            "{d}\n  (the trace changed after the scenario was loaded; replay stopped there)"
        ))),
        None => Ok(report),
    }
}

fn run_to_end(scenario: &Scenario) -> (Report, Option<crate::Diagnostic>) {
    let mut sim = Sim::new(scenario);
    sim.run();
    let error = sim.arrivals.error().cloned();
    let Sim {
        metrics,
        now,
        events,
        ..
    } = sim;
    (
        metrics.finish(&scenario.name, scenario.seed, now, events),
        error,
    )
}

impl<'a> Sim<'a> {
    fn new(s: &'a Scenario) -> Self {
        let q = &s.quota;
        let seed = s.seed;
        Sim {
            s,
            burndown: s.model.burndown(),
            reserve: q.reserve,
            now: 0,
            queue: EventQueue::with_capacity(1024),
            requests: Vec::new(),
            free: Vec::new(),
            waiting: VecDeque::new(),
            in_flight: 0,
            concurrency: s.client.concurrency.unwrap_or(u64::MAX),
            quota: Quota::new(
                q.limiter,
                q.tokens_per_minute,
                q.requests_per_minute,
                q.tokens_per_day,
            ),
            retry: RetryState::new(s.client.retry.clone(), s.client.max_attempts),
            arrivals: ArrivalProcess::new(&s.arrivals),
            picker: ClassPicker::new(&s.requests),
            rng_arrivals: stream(seed, Stream::Arrivals),
            rng_classes: stream(seed, Stream::Classes),
            rng_tokens: stream(seed, Stream::Tokens),
            rng_retries: stream(seed, Stream::Retries),
            rng_faults: stream(seed, Stream::Faults),
            metrics: Metrics::new(s.warmup_us, s.duration_us),
            events: 0,
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
        while let Some((t, ev)) = self.queue.pop() {
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
                Event::Retry(id) => self.start_attempt(id),
                Event::AttemptEnds(id) => self.attempt_ends(id),
            }
        }
    }

    fn schedule_next_arrival(&mut self) {
        if let Some(t) = self.arrivals.next(&mut self.rng_arrivals)
            && t < self.s.duration_us
        {
            self.queue.push(t, Event::Arrival);
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
        let counted = self.metrics.counts(self.now);
        if counted {
            self.metrics.requests.arrived += 1;
            if !self.quota.servable(reserved) {
                self.metrics.requests.unservable += 1;
            }
        }
        let req = Request {
            arrival: self.now,
            input,
            output,
            reserved,
            cost,
            adm: Admission::default(),
            prev_sleep: 0,
            attempts: 0,
            last_retry_cost: 0,
            user,
            pending: Pending::Success,
            counted,
            truncated: desired > max_tokens,
        };
        match self.free.pop() {
            Some(id) => {
                self.requests[id as usize] = req;
                id
            }
            None => {
                self.requests.push(req);
                (self.requests.len() - 1) as u32
            }
        }
    }

    fn submit(&mut self, id: u32) {
        if self.in_flight < self.concurrency {
            self.in_flight += 1;
            self.start_attempt(id);
        } else {
            self.waiting.push_back(id);
        }
    }

    fn start_attempt(&mut self, id: u32) {
        let now = self.now;
        let r = &mut self.requests[id as usize];
        if r.attempts == 0 && r.counted {
            self.metrics.queue_wait.record(now - r.arrival);
        }
        r.attempts += 1;
        let (counted, reserved) = (r.counted, r.reserved);
        let end = match self.quota.try_admit(now, reserved) {
            Ok(adm) => {
                r.adm = adm;
                let svc = &self.s.service;
                let fails =
                    svc.error_rate > 0.0 && self.rng_faults.random::<f64>() < svc.error_rate;
                let (pending, took) = if fails {
                    (Pending::ServerError, svc.ttft_us)
                } else {
                    (Pending::Success, svc.service_time_us(r.input, r.output))
                };
                r.pending = pending;
                self.metrics.admitted(now, counted, reserved);
                now.saturating_add(took)
            }
            Err(cause) => {
                r.pending = Pending::Throttled;
                self.metrics.throttled(now, counted, cause);
                now.saturating_add(self.s.service.throttle_latency_us)
            }
        };
        self.queue.push(end, Event::AttemptEnds(id));
    }

    fn attempt_ends(&mut self, id: u32) {
        let now = self.now;
        let r = self.requests[id as usize];
        match r.pending {
            Pending::Success => {
                let delta = self.quota.settle(now, r.adm, r.reserved, r.cost);
                self.metrics.settled(now, delta);
                self.retry.on_success(r.attempts > 1, r.last_retry_cost);
                self.metrics.succeeded(
                    now,
                    r.arrival,
                    r.counted,
                    r.input,
                    r.output,
                    r.cost,
                    r.truncated,
                );
                self.finish(id);
            }
            Pending::ServerError => {
                let delta = self.quota.settle(now, r.adm, r.reserved, 0);
                self.metrics.settled(now, delta);
                self.metrics.server_error(r.counted);
                self.retry_or_fail(id);
            }
            Pending::Throttled => self.retry_or_fail(id),
        }
    }

    fn retry_or_fail(&mut self, id: u32) {
        let r = &mut self.requests[id as usize];
        match self
            .retry
            .on_failure(r.attempts, r.prev_sleep, &mut self.rng_retries)
        {
            Some((sleep, cost)) => {
                r.prev_sleep = sleep;
                r.last_retry_cost = cost;
                self.queue
                    .push(self.now.saturating_add(sleep), Event::Retry(id));
            }
            None => {
                if r.counted {
                    self.metrics.requests.failed += 1;
                }
                self.finish(id);
            }
        }
    }

    /// The request reached its final outcome: free its slot and start the next one.
    fn finish(&mut self, id: u32) {
        let user = self.requests[id as usize].user;
        self.free.push(id);
        self.in_flight -= 1;
        if let Some(next) = self.waiting.pop_front() {
            self.in_flight += 1;
            self.start_attempt(next);
        }
        if user != NO_USER
            && let Arrivals::ClosedLoop { think_time_us, .. } = self.s.arrivals
        {
            let t = self.now.saturating_add(think_time_us);
            if t < self.s.duration_us {
                self.queue.push(t, Event::UserSends(user));
            }
        }
    }
}
