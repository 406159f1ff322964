//! Retry and client state: the retry policy's decision after a failed attempt, final
//! failure and timeouts, and giving back the client's slot (the next queued request, a
//! closed-loop user's think time, the request's slab slot).

use crate::client::retry::Failure;
use crate::metrics::FailCause;
use crate::scenario::{FallbackOn, RoutePolicy};
use crate::workload::Arrivals;

use super::arrival::sized_for;
use super::{Event, NO_HINT, NO_USER, Phase, Sim, TraceEvent};

impl<'a> Sim<'a> {
    pub(super) fn retry_or_fail(&mut self, id: u32, cause: FailCause, failure: Failure) {
        // Split borrows: the request is updated in place (no copy of it on the hot path).
        let Sim {
            requests,
            cold,
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
                    if let Some(c) = cold.get_mut(id as usize) {
                        sized_for(pools, first, r, c);
                    }
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
                    if let Some(c) = cold.get_mut(id as usize) {
                        sized_for(pools, q, r, c);
                    }
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
    pub(super) fn fail(&mut self, id: u32, cause: FailCause) {
        let Some(r) = self.requests.get(id as usize) else {
            return;
        };
        let (counted, attempts, w) = (r.counted, r.attempts, r.w as usize);
        let p = r.pool as usize;
        self.record(w, None, |m| m.failed(counted, cause, attempts));
        let t = self.now;
        self.observe(p, || TraceEvent::Failed {
            t,
            slot: id,
            attempts,
        });
        self.release_client(id);
        self.free_slot(id);
    }

    /// `client.timeout` passed for request `id`, if this is its deadline. A deadline left
    /// over from the slot's previous request can only coincide with the current one when
    /// both arrived at the same instant, and then they are the same deadline.
    pub(super) fn timeout(&mut self, id: u32) {
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
        let t = self.now;
        self.observe(p, || TraceEvent::Failed {
            t,
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
    #[inline]
    pub(super) fn release_client(&mut self, id: u32) {
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
    pub(super) fn user_continues(&mut self, id: u32) {
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
    pub(super) fn free_slot(&mut self, id: u32) {
        if let Some(r) = self.req(id) {
            r.phase = Phase::Done;
            self.free.push(id);
        }
    }
}
