//! Arrival and sizing: when the next request comes, what it asks for, and its footprint
//! and cost on the pool it goes to (again on every change of pool).

use rand::RngExt;

use crate::quota::{Admission, Footprint};
use crate::scenario::RoutePolicy;
use crate::trace::TraceRecord;

use super::ahead::{Drawn, draw_sizes};
use super::{
    BYTES_PER_LIVE_REQUEST, Cold, Event, NO_HINT, NO_USER, Pending, Phase, PoolRt, Request, Sim,
    StopReason, TraceEvent,
};

/// Sets a request's footprint, reservation, cost and truncation for pool `p`.
#[inline]
pub(super) fn sized_for(pools: &[PoolRt], p: usize, r: &mut Request, c: &mut Cold) {
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
        c.desired,
        pool.hold_reads,
    );
    let b = pool.rates.burndown();
    // `quota.reservation_floor` included.
    r.reserved = pool.rates.quota_reservation(&fp);
    c.cost = b.final_cost(prompt, 0, fp.output);
    r.truncated = c.desired > max_tokens;
    r.fp = fp;
    r.pool = p as u8;
}

impl<'a> Sim<'a> {
    /// The workload of closed-loop user `u`.
    #[inline]
    pub(super) fn user_workload(&self, u: u32) -> usize {
        self.wls
            .iter()
            .position(|wl| u >= wl.user_base && u - wl.user_base < wl.users)
            .unwrap_or(0)
    }

    #[inline]
    pub(super) fn schedule_next_arrival(&mut self, w: usize) {
        let lane = self.lanes.arrivals(w);
        let Some(wl) = self.wls.get_mut(w) else {
            return;
        };
        if let Some(a) = &mut wl.ahead
            && a.times
        {
            // Drawn ahead, and only those before the end of the run.
            if let Some(d) = a.next() {
                a.due = Some(d);
                self.queue.push_lane(lane, d.t, Event::Arrival(w as u32));
            }
            return;
        }
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
    pub(super) fn sized_for(&self, p: usize, r: &mut Request, c: &mut Cold) {
        sized_for(&self.pools, p, r, c);
    }

    /// Whether pool `p` (its limits, then the account's) could ever admit `fp`, whose
    /// quota-token reservation there is `reserved`.
    #[inline]
    pub(super) fn servable_on(&self, p: usize, fp: &Footprint, reserved: u64) -> bool {
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

    /// A new request: sizes from its trace record when replaying a trace, else those drawn
    /// ahead for it, else drawn now from a class picked by weight.
    pub(super) fn new_request(
        &mut self,
        w: usize,
        user: u32,
        record: Option<&TraceRecord>,
        drawn: Option<Drawn>,
    ) -> u32 {
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
                let (class_stream, sizes) = match drawn {
                    Some(d) => (d.stream, d.sizes),
                    None => draw_sizes(wl.s, &wl.picker, &mut wl.rng_classes, &mut wl.rng_tokens),
                };
                stream = class_stream.unwrap_or(stream);
                sizes
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
        // The slots first, so that the request is built in place (a copy per request
        // otherwise).
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
                self.cold.push(Cold::placeholder());
                u32::try_from(self.requests.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let (Some(slot), Some(cold)) = (
            self.requests.get_mut(id as usize),
            self.cold.get_mut(id as usize),
        ) else {
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
            prev_sleep: 0,
            end: 0,
            attempts: 0,
            call_attempts: 1,
            last_retry_cost: 0,
            user,
            hint_s: NO_HINT,
            w: w as u16,
            pool: 0,
            hop: hop as u8,
            pending: Pending::Success,
            phase: Phase::Queued,
            counted,
            retried: false,
            stream,
            calls: 1,
            truncated: false,
            max_set: sizes.max_tokens_set,
        };
        *cold = Cold {
            adm: Admission::default(),
            cost: 0,
            desired: sizes.output,
            held_since: 0,
            wake_at: 0,
            gen_start: 0,
            generated: 0,
        };
        sized_for(&self.pools, p, slot, cold);
        let (reserved, cost, input) = (slot.reserved, cold.cost, slot.input);
        let Some(req) = self.requests.get(id as usize) else {
            return id;
        };
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
                        let mut probe_cold = self
                            .cold
                            .get(id as usize)
                            .copied()
                            .unwrap_or_else(Cold::placeholder);
                        self.sized_for(q, &mut probe, &mut probe_cold);
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
        let t = self.now;
        self.observe(p, || TraceEvent::Arrived {
            t,
            slot: id,
            reserved,
            cost,
            counted,
            input,
        });
        id
    }
}
