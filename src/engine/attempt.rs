//! The attempt and its settlement: an attempt admitted or throttled, its streaming ticks
//! (output budgets, mid-stream throttles), and its end, settled with the quota and recorded.

use rand::RngExt;

use crate::client::retry::Failure;
use crate::metrics::minutes::Invocation;
use crate::metrics::{FailCause, Success};
use crate::quota::{Footprint, Quota, ThrottleCause};

use super::admission::{account_tickets, admit_on};
use super::arrival::sized_for;
use super::{
    Cold, Event, HEAP, NO_HINT, Pending, Phase, PoolRt, Request, Sim, TraceEvent, record, tiers,
};

/// The retry hint of a throttle of `fp` on pool `p` by its limit `limit` (account limits
/// after the pool's): whole seconds until that limit could admit it, assuming no other
/// traffic, rounded up; `NO_HINT` if it never could.
#[cold]
#[inline(never)]
pub(super) fn retry_hint_s(
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

impl<'a> Sim<'a> {
    pub(super) fn start_attempt(&mut self, id: u32) {
        let now = self.now;
        let Sim {
            requests,
            cold,
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
        let (Some(r), Some(c)) = (requests.get_mut(id as usize), cold.get_mut(id as usize)) else {
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
        let mut acct = account_tickets(account, acct, id);
        if wl.spill {
            // The provider tries each pool of the route in order at this instant, from the
            // first on every attempt; refusals that spill record nothing.
            for &q in &wl.s.route.pools {
                if r.pool as usize != q {
                    sized_for(pools, q, r, c);
                }
                outcome = admit_on(
                    pools,
                    account,
                    q,
                    &r.fp,
                    &mut c.adm,
                    acct.as_deref_mut(),
                    now,
                );
                if outcome.is_ok() {
                    break;
                }
            }
        } else {
            outcome = admit_on(
                pools,
                account,
                r.pool as usize,
                &r.fp,
                &mut c.adm,
                acct,
                now,
            );
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
        // What the observer, if any, is told: the throttle's cause, or none when admitted.
        let throttled_by;
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
                    c.gen_start = now.saturating_add(svc.service_time_us(r.input, 0));
                    r.end = end;
                    c.generated = 0;
                    let next = now.saturating_add(pool.settle_interval_us);
                    if next < end {
                        queue.push(next, Event::Tick(id));
                    }
                }
                throttled_by = None;
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
                throttled_by = Some(cause);
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
        self.observe(p, || match throttled_by {
            None => TraceEvent::Admitted {
                t: now,
                slot: id,
                attempt,
                reserved,
            },
            Some(cause) => TraceEvent::Throttled {
                t: now,
                slot: id,
                attempt,
                cause,
            },
        });
    }

    /// Output tokens an attempt has generated by `now`.
    pub(super) fn generated_by(&self, r: &Request, c: &Cold) -> u64 {
        if self.now <= c.gen_start {
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
        let secs = (self.now - c.gen_start) as f64 / 1e6;
        let g = (secs * speed).floor();
        if g >= r.fp.output as f64 {
            r.fp.output
        } else {
            g as u64
        }
    }

    #[inline(never)]
    pub(super) fn tick(&mut self, id: u32) {
        let (Some(r), Some(c)) = (
            self.requests.get(id as usize).copied(),
            self.cold.get(id as usize).copied(),
        ) else {
            return;
        };
        // A tick made stale by a cut-off (the attempt already ended) does nothing.
        if r.phase != Phase::Attempt && r.phase != Phase::Abandoned || r.end <= self.now {
            return;
        }
        let mut g = self.generated_by(&r, &c);
        let (w, p) = (r.w as usize, r.pool as usize);
        let Some(pool) = self.pools.get_mut(p) else {
            return;
        };
        // An output budget that cuts off instead of throttling: the response ends here.
        let want = g.saturating_sub(c.generated);
        let cut = want > 0 && {
            let room = pool.quota.output_room(self.now, want);
            g = c.generated + room;
            room < want
        };
        if pool.mid_stream && r.stream && g > c.generated {
            // The charge for the output since the last tick, beyond what the reservation
            // still covers, is offered to the pool's and the account's limits.
            let rt = pool.rates;
            let refused = pool
                .quota
                .offer_at(self.now, &r.fp, c.generated, g, rt)
                .is_err()
                || self
                    .account
                    .as_mut()
                    .is_some_and(|a| a.offer_at(self.now, &r.fp, c.generated, g, rt).is_err());
            if refused {
                self.end_mid_stream(id);
                return;
            }
        }
        let Some(pool) = self.pools.get_mut(p) else {
            return;
        };
        let delta = pool.quota.tick(self.now, &c.adm, &r.fp, c.generated, g);
        if let Some(mm) = &mut self.minutes
            && delta > 0
        {
            mm.held(self.now, p, pool.quota.primary().map_or(0, |l| l.held()));
        }
        if let (Some(a), Some(t)) = (&mut self.account, self.acct.get(id as usize)) {
            a.tick_at(self.now, t, &r.fp, c.generated, g, pool.rates);
        }
        let burndown = pool.rates.burndown();
        let next = self.now.saturating_add(pool.settle_interval_us);
        let now = self.now;
        self.record(w, Some(p), |m| m.settled(now, delta));
        if let Some(c) = self.cold(id) {
            c.generated = g;
        }
        if cut {
            if let Some(c) = self.cold(id) {
                c.cost = burndown.final_cost(r.fp.prompt, 0, g);
            }
            let Some(r) = self.req(id) else { return };
            r.fp.output = g;
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
    pub(super) fn end_mid_stream(&mut self, id: u32) {
        let now = self.now;
        let (Some(r), Some(c)) = (
            self.requests.get_mut(id as usize),
            self.cold.get_mut(id as usize),
        ) else {
            return;
        };
        let Some(pool) = self.pools.get(r.pool as usize) else {
            return;
        };
        let burndown = pool.rates.burndown();
        r.fp.output = c.generated;
        c.cost = burndown.final_cost(r.fp.prompt, 0, c.generated);
        r.pending = Pending::MidStream;
        r.end = now;
        self.queue.push(now, Event::AttemptEnds(id));
    }

    /// A stream ended by a `throttlingException` event (see [`Sim::end_mid_stream`]): bill
    /// what it delivered, then retry or fail as the client does.
    #[cold]
    #[inline(never)]
    pub(super) fn mid_stream_ends(&mut self, id: u32) {
        let now = self.now;
        let (Some(req), Some(cold)) = (self.requests.get(id as usize), self.cold.get(id as usize))
        else {
            return;
        };
        let (w, p) = (req.w as usize, req.pool as usize);
        let (counted, attempts) = (req.counted, req.attempts);
        let partial = Success {
            arrival: req.arrival,
            counted,
            input: req.input,
            output: req.fp.output,
            cost: cold.cost,
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
        if let (Some(r), Some(c), Some(b)) = (
            self.requests.get_mut(id as usize),
            self.cold.get_mut(id as usize),
            burndown,
        ) {
            r.fp.output = c.desired.min(r.fp.max_tokens);
            c.cost = b.final_cost(r.fp.prompt, 0, r.fp.output);
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

    pub(super) fn attempt_ends(&mut self, id: u32) {
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
                cold,
                pools,
                account,
                acct,
                minutes,
                ..
            } = self;
            let (Some(req), Some(cold)) = (requests.get(id as usize), cold.get(id as usize)) else {
                return;
            };
            let Some(pool) = pools.get_mut(p) else {
                return;
            };
            let delta = pool
                .quota
                .settle(now, &cold.adm, &req.fp, cold.generated, success);
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
                a.settle_at(now, t, &req.fp, cold.generated, success, pool.rates);
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
        let cold = self.cold.get(id as usize);
        let success = (pending == Pending::Success).then(|| Success {
            arrival: req.arrival,
            counted,
            input: req.input,
            output: req.fp.output,
            cost: cold.map_or(0, |c| c.cost),
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
                self.observe(p, || TraceEvent::Succeeded {
                    t: now,
                    slot: id,
                    attempts,
                    cost: r.cost,
                });
                self.release_client(id);
                self.free_slot(id);
            }
            (Pending::ServerError, None) => {
                self.record(w, Some(p), |m| m.server_error(counted));
                self.observe(p, || TraceEvent::ServerError {
                    t: now,
                    slot: id,
                    attempt: attempts,
                });
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
}
