//! Admission and routing: the client's concurrency slots, pacer and aws-adaptive bucket
//! between a request and the provider, a pool's (and the account's) admission check, and the
//! hop to the next pool on a throttle.

use crate::client::adaptive::sleep_us;
use crate::quota::{Admission, Footprint, Quota};
use crate::scenario::{FallbackOn, RoutePolicy};

use super::arrival::sized_for;

use super::{Event, Phase, PoolRt, Sim};

/// Pool `p`'s limits, then the account's: on admission, charges both and stores their
/// tickets in `adm` and `acct` (the request's slot of [`account_tickets`]); on refusal, the
/// index of the refusing limit (account limits after the pool's).
#[inline(always)]
pub(super) fn admit_on(
    pools: &mut [PoolRt],
    account: &mut Option<Quota>,
    p: usize,
    fp: &Footprint,
    adm: &mut Admission,
    acct: Option<&mut Admission>,
    now: u64,
) -> Result<(), usize> {
    let Some(pool) = pools.get_mut(p) else {
        return Err(0);
    };
    let rt = pool.rates;
    if let Err(i) = pool.quota.check_at(now, fp, rt) {
        pool.quota.charge_rejected(now, fp, rt);
        return Err(i);
    }
    if let Some(a) = account {
        if let Err(j) = a.check_at(now, fp, rt) {
            // The pool's own limits admitted; those that count refusals count this one.
            pool.quota.charge_rejected(now, fp, rt);
            a.charge_rejected(now, fp, rt);
            return Err(pool.quota.len() + j);
        }
        if let Some(t) = acct {
            a.charge_into(now, fp, rt, t);
        }
    }
    pool.quota.charge_into(now, fp, rt, adm);
    Ok(())
}

/// Slot `id` of the account limits' tickets, grown to hold it; `None` without account limits.
#[inline(always)]
pub(super) fn account_tickets<'t>(
    account: &Option<Quota>,
    acct: &'t mut Vec<Admission>,
    id: u32,
) -> Option<&'t mut Admission> {
    account.as_ref()?;
    let i = id as usize;
    if acct.len() <= i {
        acct.resize(i + 1, Admission::default());
    }
    acct.get_mut(i)
}

impl<'a> Sim<'a> {
    #[inline]
    pub(super) fn submit(&mut self, id: u32) {
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
    pub(super) fn send(&mut self, id: u32) {
        if !self.paced {
            return self.adaptive_send(id);
        }
        self.send_paced(id);
    }

    /// [`Sim::send`] when some workload has a client pacer.
    #[inline(never)]
    pub(super) fn send_paced(&mut self, id: u32) {
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
                }
                if let Some(c) = self.cold(id) {
                    c.held_since = now;
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
    pub(super) fn pacer_cost(&self, w: usize, id: u32) -> Option<u64> {
        let r = self.requests.get(id as usize)?;
        let p = self.wls.get(w)?.pacer.as_ref()?;
        let b = self.pools.get(r.pool as usize)?.rates.burndown();
        Some(b.reservation(p.count, r.fp.prompt, 0, r.fp.max_tokens))
    }

    /// Takes the pacer's tokens for `id`'s attempt if it may leave now.
    pub(super) fn pacer_admits(&mut self, w: usize, id: u32) -> bool {
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

    pub(super) fn schedule_pacer(&mut self, w: usize) {
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
    pub(super) fn release_paced(&mut self, w: usize) {
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
            if let (Some(r), Some(c)) = (
                self.requests.get(head as usize),
                self.cold.get(head as usize),
            ) {
                let (counted, since) = (r.counted, c.held_since);
                self.record(w, None, |m| m.held(counted, now - since, false));
            }
            self.adaptive_send(head);
        }
        self.schedule_pacer(w);
    }

    #[inline(always)]
    pub(super) fn adaptive_send(&mut self, id: u32) {
        if !self.adaptive {
            return self.start_attempt(id);
        }
        self.adaptive_acquire(id);
    }

    /// [`Sim::adaptive_send`] when some workload uses the aws-adaptive token bucket.
    #[inline(never)]
    pub(super) fn adaptive_acquire(&mut self, id: u32) {
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
                }
                if let Some(c) = self.cold(id) {
                    c.held_since = now;
                }
                self.adaptive_wait(w, id, sleep);
            }
        }
    }

    /// `Condition.wait(sleep)`: join the back of the waiters and wake after `sleep` s.
    pub(super) fn adaptive_wait(&mut self, w: usize, id: u32, sleep: f64) {
        let at = self.now.saturating_add(sleep_us(sleep));
        if let Some(wl) = self.wls.get_mut(w) {
            wl.adaptive_waiters.push_back(id);
        }
        if let Some(c) = self.cold(id) {
            c.wake_at = at;
            self.queue.push(at, Event::AdaptiveWake(id));
        }
    }

    /// `Condition.notify()`: the longest waiter wakes now.
    pub(super) fn adaptive_notify(&mut self, w: usize) {
        if let Some(id) = self
            .wls
            .get_mut(w)
            .and_then(|wl| wl.adaptive_waiters.pop_front())
            && let Some(c) = self.cold.get_mut(id as usize)
        {
            c.wake_at = self.now;
            self.queue.push(self.now, Event::AdaptiveWake(id));
        }
    }

    pub(super) fn adaptive_wake(&mut self, id: u32) {
        let (Some(r), Some(c)) = (self.requests.get(id as usize), self.cold.get(id as usize))
        else {
            return;
        };
        // A wake superseded by a notify (or left over from the slot's previous request) is
        // stale unless it falls on the very instant of the current one; then the earlier of
        // the two events at that instant is handled and the other ignored (deterministic,
        // but it may run before other events of that instant that the later one would not).
        if c.wake_at != self.now || !matches!(r.phase, Phase::Adaptive | Phase::Abandoned) {
            return;
        }
        let w = r.w as usize;
        let (phase, counted, since) = (r.phase, r.counted, c.held_since);
        if let Some(c) = self.cold(id) {
            c.wake_at = u64::MAX;
        }
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

    /// Fallback `on = "throttle"`: a throttle from any pool but the route's last sends the
    /// next attempt to the next pool at once, without consulting the retry policy.
    pub(super) fn hop_on_throttle(&mut self, id: u32) -> bool {
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
        let Sim {
            requests,
            cold,
            pools,
            ..
        } = self;
        if let (Some(r), Some(c)) = (requests.get_mut(id as usize), cold.get_mut(id as usize)) {
            r.hop = hop as u8;
            sized_for(pools, q, r, c);
        }
        self.send(id);
        true
    }
}
