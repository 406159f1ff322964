//! The emulator's shared state: the pools and their quotas, the request tracker, and the
//! metrics that become the live report. Everything here runs under one mutex, held only for
//! the few microseconds an admission or a settlement takes (never across a sleep or I/O).

use std::collections::HashMap;
use std::time::Instant;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::cost::Cost;
use crate::engine::rng::{self, Stream};
use crate::metrics::{Metrics, Success};
use crate::quota::models::{PROFILE_PREFIXES, Tier};
use crate::quota::{
    Admission, Burndown, Footprint, LimitSpec, Quota, Rates, ReserveMode, Settle, ThrottleCause,
};
use crate::report::{FailedBy, Named, PoolReport, Report, RequestCounts, Throughput};
use crate::scenario::{Model, QuotaConfig, Scenario, Service};
use crate::workload::{ClassPicker, RequestClass};

/// How long a finished request's record is kept for later attempts with the same
/// `amz-sdk-invocation-id`, in wall-clock seconds. An SDK retries within seconds; this only
/// bounds memory in a long session.
const FORGET_AFTER_SECS: u64 = 600;

/// One quota pool as the emulator serves it: which model IDs it answers to, its limits,
/// its model (burndown, maximum output) and its service model (latency, 503 rate).
#[derive(Debug, Clone)]
pub struct PoolSpec {
    /// Pool name (`default` for a scenario's `[quota]`).
    pub name: String,
    /// Model IDs it serves, exactly as they appear in the request path.
    pub model_ids: Vec<String>,
    /// The model of the pool.
    pub model: Model,
    /// The pool's service model.
    pub service: Service,
    /// The pool's quota.
    pub quota: QuotaConfig,
    /// Its price above the model's list price (the regional premium), a fraction.
    pub price_premium: f64,
    /// Reserved capacity: USD per month per 1,000 reserved tokens per minute.
    pub price_reserved_per_1k_tpm_month: Option<f64>,
}

impl PoolSpec {
    /// The pools of a scenario as the resolver gives them (`[pools.NAME]`, or `[quota]` as
    /// the pool `default`), each serving its resolved `model_ids`: by default its model
    /// row's Bedrock IDs with the `us.`, `eu.`, `apac.`, `jp.`, `au.` and `global.`
    /// prefixes, and bare unless the model is profile-only.
    /// A model without a Bedrock ID (`other`) answers to its preset name, with the same
    /// prefixes, so that a generic scenario can still be served.
    pub fn from_scenario(s: &Scenario) -> Vec<PoolSpec> {
        s.pools
            .iter()
            .map(|p| PoolSpec {
                name: p.name.clone(),
                model_ids: if p.model_ids.is_empty() {
                    let preset = &p.model.preset;
                    std::iter::once(preset.clone())
                        .chain(PROFILE_PREFIXES.iter().map(|x| format!("{x}{preset}")))
                        .collect()
                } else {
                    p.model_ids.clone()
                },
                model: p.model.clone(),
                service: p.service.clone(),
                quota: p.quota.clone(),
                price_premium: p.price_premium,
                price_reserved_per_1k_tpm_month: p.price_reserved_per_1k_tpm_month,
            })
            .collect()
    }

    /// The pool as a scenario describes it, for the price rules a run uses.
    pub fn as_pool(&self) -> crate::scenario::Pool {
        crate::scenario::Pool {
            name: self.name.clone(),
            quota: self.quota.clone(),
            model: self.model.clone(),
            service: self.service.clone(),
            model_ids: self.model_ids.clone(),
            price_premium: self.price_premium,
            price_reserved_per_1k_tpm_month: self.price_reserved_per_1k_tpm_month,
        }
    }
}

/// The simulated clock: wall time since listening, times the time scale, in integer µs.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    scale: f64,
}

impl Clock {
    /// A clock whose minute 0 starts now.
    pub fn new(scale: f64) -> Self {
        Clock {
            start: Instant::now(),
            scale,
        }
    }

    /// Simulated µs since the start.
    pub fn now_us(&self) -> u64 {
        let wall = self.start.elapsed().as_micros();
        if self.scale == 1.0 {
            u64::try_from(wall).unwrap_or(u64::MAX)
        } else {
            crate::num::round_u64(wall as f64 * self.scale)
        }
    }

    /// The wall-clock time a simulated duration of `us` takes.
    pub fn wall(&self, us: u64) -> std::time::Duration {
        // Saturates rather than panics when a tiny scale makes it overflow.
        std::time::Duration::try_from_secs_f64(us as f64 / 1e6 / self.scale)
            .unwrap_or(std::time::Duration::MAX)
    }

    /// The time scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// Token counts of one attempt, before admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Input tokens I.
    pub input: u64,
    /// Desired output length O.
    pub output: u64,
    /// Cache-write tokens W.
    pub cache_write: u64,
    /// Cache-read tokens Rd.
    pub cache_read: u64,
    /// `max_tokens` M.
    pub max_tokens: u64,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// No attempt has finished since the last one started.
    Open,
    Succeeded,
    FailedThrottled,
    FailedServerError,
}

#[derive(Debug, Clone)]
struct Tracked {
    arrival_us: u64,
    attempts: u32,
    in_flight: u32,
    status: Status,
    unservable: bool,
    /// Whether the request has no invocation ID (it ends with its only attempt).
    single: bool,
    last_seen: Instant,
}

/// The pool a model ID resolves to.
#[derive(Debug)]
pub(crate) struct PoolState {
    spec: PoolSpec,
    quota: Quota,
    /// Its burndown and reservation formula, which the account's limits are charged at too.
    rates: Rates,
    burndown: Burndown,
    /// Slot in the totals' `throttled_by_limit` of each of its limits, then of each account
    /// limit (the run report's rule: the same name counted once).
    slots: Vec<usize>,
    /// Its share of the report (`pools.NAME`), billed at its own model's prices.
    metrics: Metrics,
    server_errors: u64,
    /// When it last refused an attempt (flex attempts fail more while it is busy).
    last_refusal: Option<u64>,
}

/// An admitted attempt, to settle when it ends.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    key: String,
    pool: usize,
    adm: Admission,
    /// Tickets of the account-wide limits (`None` without them).
    acct: Option<Admission>,
    fp: Footprint,
    /// Input tokens I (without cache writes).
    pub input: u64,
    /// Cache-write tokens W.
    pub cache_write: u64,
    /// Cache-read tokens Rd.
    pub cache_read: u64,
    /// Output tokens it will produce, A = min(O, M).
    pub output: u64,
    /// Whether O > M.
    pub truncated: bool,
    /// Whether it will fail with a 503 after the time to first token.
    pub fails: bool,
    /// Quota tokens of the final cost C.
    pub cost: u64,
    /// Output tokens already charged by streaming ticks.
    ticked: u64,
    /// Whether the pool has an output budget that cuts answers off (then the answer is
    /// generated in ticks even when it is not streamed).
    pub cuts_off: bool,
    /// Whether the output budget cut this answer off.
    cut: bool,
    /// Its service tier.
    tier: Tier,
    /// Whether the answer streams (set by the HTTP layer): only a stream can be ended by a
    /// `throttlingException` event.
    pub stream: bool,
    /// A settlement tick's growth was refused (`quota.mid_stream_throttle`): the stream
    /// ends with a `throttlingException` event after what was charged.
    pub throttled_mid_stream: bool,
}

/// The outcome of an admission check.
#[derive(Debug)]
pub(crate) enum Admit {
    /// Refused; `cause` picks the 429 message.
    Throttled {
        /// The kind of limit that refused.
        cause: ThrottleCause,
        /// Simulated delay before the 429, µs.
        latency_us: u64,
        /// The retry hint, whole seconds (`quota.retry_after`).
        retry_after_s: Option<u64>,
    },
    /// Admitted.
    Admitted(Box<Attempt>),
}

/// How an admitted attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// All its output was delivered.
    Success,
    /// It failed with a 503 (after the time to first token).
    ServerError,
    /// The client went away after `delivered` output tokens; those are charged.
    Disconnected {
        /// Output tokens delivered.
        delivered: u64,
    },
    /// The stream was ended with a throttle after `delivered` output tokens (by the
    /// `x-quotasim-mid-stream-throttle-after` header, or by a refused settlement tick under
    /// `quota.mid_stream_throttle`): those are delivered and billed, and the request fails
    /// as throttled.
    ThrottledMidStream {
        /// Output tokens delivered.
        delivered: u64,
    },
}

/// The serving pool's limits, then the account's, at the pool's rates `rt`: on admission,
/// charges both and returns their tickets; on refusal, charges only the limits that count
/// refusals and returns the index of the refusing limit (account limits after the pool's).
/// The same steps as a simulated run's admission.
fn admit_on(
    pool: &mut Quota,
    account: Option<&mut Quota>,
    now: u64,
    fp: &Footprint,
    rt: Rates,
) -> Result<(Admission, Option<Admission>), usize> {
    if let Err(i) = pool.check_at(now, fp, rt) {
        pool.charge_rejected(now, fp, rt);
        return Err(i);
    }
    let acct = match account {
        Some(a) => {
            if let Err(j) = a.check_at(now, fp, rt) {
                // The pool's own limits admitted; those that count refusals count this one.
                pool.charge_rejected(now, fp, rt);
                a.charge_rejected(now, fp, rt);
                return Err(pool.len() + j);
            }
            Some(a.charge_at(now, fp, rt))
        }
        None => None,
    };
    Ok((pool.charge_at(now, fp, rt), acct))
}

/// Everything behind the emulator's lock.
pub(crate) struct State {
    name: String,
    seed: u64,
    pub(crate) clock: Clock,
    pools: Vec<PoolState>,
    /// The account-wide limits, charged at the serving pool's rates.
    account: Option<Quota>,
    /// Whether some pool has an output budget that cuts answers off (then the report
    /// carries `requests.truncated_by_output_budget`).
    any_cut_off: bool,
    /// Succeeded answers cut off by an output budget.
    cut_off: u64,
    by_id: HashMap<String, usize>,
    classes: Vec<RequestClass>,
    class_by_name: HashMap<String, usize>,
    picker: ClassPicker,
    rng_classes: ChaCha8Rng,
    rng_tokens: ChaCha8Rng,
    rng_faults: ChaCha8Rng,
    metrics: Metrics,
    requests: HashMap<String, Tracked>,
    next_anonymous: u64,
    counts: RequestCounts,
    per_request: Vec<u64>,
    disconnected: u64,
    disconnected_output: u64,
    disconnected_quota: u64,
    invalid: u64,
    events: u64,
    sweep_at: usize,
    /// Requests of SDKs that mark retries with `x-stainless-retry-count`, by the key their
    /// attempts share: (request key, the retry count of its latest attempt).
    stainless: HashMap<u64, Vec<(String, u32)>>,
    next_stainless: u64,
    /// Streams ended by a throttle, their output tokens and quota charged.
    mid_stream: u64,
    mid_stream_output: u64,
    mid_stream_quota: u64,
    /// Which service tiers served a success, by [`Tier::index`].
    tiers_served: [bool; 3],
}

impl State {
    /// State for serving `config`'s pools and account limits with its request classes and
    /// seed.
    pub(crate) fn new(config: super::Config, clock: Clock) -> Self {
        let super::Config {
            name,
            seed,
            pools,
            account,
            classes,
        } = config;
        let mut by_id = HashMap::new();
        // The run report's `throttled_by_limit`, numbered as a run numbers it.
        let (names, pool_slots) =
            crate::quota::limit_slots(pools.iter().map(|p| &p.quota.limits[..]), &account);
        let account_limits: Vec<&LimitSpec> =
            account.iter().take(crate::quota::MAX_LIMITS).collect();
        let mut states = Vec::with_capacity(pools.len());
        // An ID several pools list goes to the most specific list, then the first: the
        // scenario's one rule, which trace replay follows too.
        let lists: Vec<&[String]> = pools.iter().map(|p| &p.model_ids[..]).collect();
        for (id, i) in crate::scenario::model_id_owners(&lists) {
            by_id.entry(id.to_string()).or_insert(i);
        }
        for (spec, slots) in pools.into_iter().zip(pool_slots) {
            let q = &spec.quota;
            let burndown = spec.model.burndown();
            let quota = q.build(&spec.model);
            let mut metrics = Metrics::new(0, u64::MAX);
            metrics.configure(
                q.limits
                    .iter()
                    .take(crate::quota::MAX_LIMITS)
                    .chain(account_limits.iter().copied())
                    .map(|l| l.name.clone())
                    .collect(),
                1,
            );
            // A run's price rules: the regional premium, nothing per token for reserved
            // capacity, and each service tier at its own price.
            let pool = spec.as_pool();
            metrics.set_prices(crate::cost::tiers::pool_prices(&pool));
            metrics.bill_by_tier(Tier::ALL.map(|t| crate::cost::tiers::tier_prices(&pool, t)));
            states.push(PoolState {
                rates: quota.rates(),
                burndown,
                quota,
                slots,
                metrics,
                spec,
                server_errors: 0,
                last_refusal: None,
            });
        }
        let mut metrics = Metrics::new(0, u64::MAX);
        metrics.configure(names, 1);
        // The account's own burndown and formula are never used: every charge is at the
        // serving pool's rates (as in a run).
        let account = (!account.is_empty()).then(|| {
            let burndown = states.first().map_or(
                Burndown {
                    input: 1,
                    output: 1,
                },
                |p| p.burndown,
            );
            Quota::from_limits(
                &account,
                burndown,
                ReserveMode::InputPlusMaxTokens,
                Settle::AtCompletion,
            )
        });
        State {
            name,
            seed,
            clock,
            any_cut_off: states.iter().any(|p| p.quota.cuts_off()),
            cut_off: 0,
            pools: states,
            account,
            by_id,
            class_by_name: classes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect(),
            picker: ClassPicker::new(&classes),
            classes,
            rng_classes: rng::stream(seed, Stream::Classes),
            rng_tokens: rng::stream(seed, Stream::Tokens),
            rng_faults: rng::stream(seed, Stream::Faults),
            metrics,
            requests: HashMap::new(),
            next_anonymous: 0,
            counts: RequestCounts::default(),
            per_request: vec![0; 4],
            disconnected: 0,
            disconnected_output: 0,
            disconnected_quota: 0,
            invalid: 0,
            events: 0,
            sweep_at: 1024,
            stainless: HashMap::new(),
            next_stainless: 0,
            mid_stream: 0,
            mid_stream_output: 0,
            mid_stream_quota: 0,
            tiers_served: [false; 3],
        }
    }

    /// Whether `model_id` (an ARN's last path segment counts as the ID) is the bare ID of a
    /// profile-only model a pool serves through its profiles: Bedrock refuses it.
    pub(crate) fn is_profile_only_bare(&self, model_id: &str) -> bool {
        let id = if model_id.starts_with("arn:") {
            model_id.rsplit('/').next().unwrap_or(model_id)
        } else {
            model_id
        };
        if PROFILE_PREFIXES.iter().any(|p| id.starts_with(p)) {
            return false;
        }
        self.pools.iter().any(|p| {
            p.spec.model.profile_only
                && p.spec.model_ids.iter().any(|listed| {
                    PROFILE_PREFIXES
                        .iter()
                        .any(|pre| listed.strip_prefix(pre) == Some(id))
                })
        })
    }

    /// The pool serving `model_id` (an ARN's last path segment counts as the ID).
    pub(crate) fn pool_of(&self, model_id: &str) -> Option<usize> {
        let id = if model_id.starts_with("arn:") {
            model_id.rsplit('/').next().unwrap_or(model_id)
        } else {
            model_id
        };
        self.by_id.get(id).copied()
    }

    /// The model of pool `pool`.
    pub(crate) fn model(&self, pool: usize) -> Option<&Model> {
        self.pools.get(pool).map(|p| &p.spec.model)
    }

    /// Whether pool `pool` is reserved capacity.
    pub(crate) fn pool_is_reserved(&self, pool: usize) -> bool {
        self.pools
            .get(pool)
            .is_some_and(|p| p.spec.quota.limits.iter().any(|l| l.counts.is_reserved()))
    }

    /// The service model of pool `pool`.
    pub(crate) fn service(&self, pool: usize) -> Option<&Service> {
        self.pools.get(pool).map(|p| &p.spec.service)
    }

    /// Whether a class of this name exists.
    pub(crate) fn has_class(&self, name: &str) -> bool {
        self.class_by_name.contains_key(name)
    }

    /// Names of the classes, for error messages.
    pub(crate) fn class_names(&self) -> Vec<String> {
        self.classes.iter().map(|c| c.name.clone()).collect()
    }

    /// Draws sizes from a class (by name, else by weight). `None` when the scenario has no
    /// class at all.
    pub(crate) fn draw(&mut self, class: Option<&str>) -> Option<crate::workload::Sizes> {
        let i = match class.and_then(|c| self.class_by_name.get(c)) {
            Some(&i) => i,
            None => self.picker.pick(&mut self.rng_classes),
        };
        self.classes.get(i).map(|c| c.sample(&mut self.rng_tokens))
    }

    /// A malformed request (400) or an unknown model: counted apart, never an attempt.
    pub(crate) fn invalid(&mut self) {
        self.invalid += 1;
    }

    /// The request key of an attempt that carries `x-stainless-retry-count: count` and the
    /// shared key `key`: attempt 0 starts a request; attempt `count` > 0 joins the latest
    /// request sharing the key whose last attempt was number `count - 1` (one with nothing
    /// in flight first), else starts one (its earlier attempts never reached the server).
    pub(crate) fn retry_key(&mut self, key: u64, count: u32) -> String {
        if let Some(prev) = count.checked_sub(1)
            && let Some(list) = self.stainless.get_mut(&key)
        {
            let idle = |k: &String| self.requests.get(k).is_some_and(|t| t.in_flight == 0);
            let pick = list
                .iter()
                .rposition(|(k, c)| *c == prev && idle(k))
                .or_else(|| list.iter().rposition(|(_, c)| *c == prev));
            if let Some(entry) = pick.and_then(|i| list.get_mut(i)) {
                entry.1 = count;
                return entry.0.clone();
            }
        }
        self.next_stainless += 1;
        // Invocation IDs are UUIDs; a leading NUL never collides with one.
        let id = format!("\0s{}", self.next_stainless);
        self.stainless
            .entry(key)
            .or_default()
            .push((id.clone(), count));
        id
    }

    fn track(&mut self, invocation_id: Option<&str>, now: u64) -> String {
        let key = match invocation_id {
            Some(id) => id.to_string(),
            None => {
                self.next_anonymous += 1;
                // Invocation IDs are UUIDs; a leading NUL never collides with one.
                format!("\0{}", self.next_anonymous)
            }
        };
        let wall = Instant::now();
        match self.requests.get_mut(&key) {
            Some(t) => {
                match t.status {
                    Status::FailedThrottled => self.counts.failed_by.throttled -= 1,
                    Status::FailedServerError => self.counts.failed_by.server_error -= 1,
                    Status::Open | Status::Succeeded => {}
                }
                if matches!(
                    t.status,
                    Status::FailedThrottled | Status::FailedServerError
                ) {
                    self.counts.failed -= 1;
                    if let Some(c) = self.per_request.get_mut(t.attempts as usize) {
                        *c = c.saturating_sub(1);
                    }
                    t.status = Status::Open;
                }
                t.attempts += 1;
                t.in_flight += 1;
                t.last_seen = wall;
            }
            None => {
                self.counts.arrived += 1;
                self.requests.insert(
                    key.clone(),
                    Tracked {
                        arrival_us: now,
                        attempts: 1,
                        in_flight: 1,
                        status: Status::Open,
                        unservable: false,
                        single: invocation_id.is_none(),
                        last_seen: wall,
                    },
                );
                self.sweep(wall);
            }
        }
        key
    }

    /// Forgets finished requests not seen for a while, so memory stays bounded.
    fn sweep(&mut self, wall: Instant) {
        if self.requests.len() < self.sweep_at {
            return;
        }
        self.requests.retain(|_, t| {
            t.in_flight > 0 || wall.duration_since(t.last_seen).as_secs() < FORGET_AFTER_SECS
        });
        let requests = &self.requests;
        self.stainless.retain(|_, list| {
            list.retain(|(k, _)| requests.contains_key(k));
            !list.is_empty()
        });
        self.sweep_at = (self.requests.len() * 2).max(1024);
    }

    fn histogram(&mut self, attempts: u32, add: bool) {
        let i = attempts as usize;
        if self.per_request.len() <= i {
            self.per_request.resize(i + 1, 0);
        }
        if let Some(c) = self.per_request.get_mut(i) {
            if add {
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
            }
        }
    }

    /// An attempt ended; `outcome` is its request's new status.
    fn finish(&mut self, key: &str, outcome: Option<Status>) {
        let Some(t) = self.requests.get_mut(key) else {
            return;
        };
        t.in_flight = t.in_flight.saturating_sub(1);
        t.last_seen = Instant::now();
        let (attempts, single) = (t.attempts, t.single);
        let old = t.status;
        if let Some(new) = outcome {
            match (old, new) {
                (Status::Succeeded, _) => {}
                (_, Status::Succeeded) => {
                    t.status = Status::Succeeded;
                    self.counts.succeeded += 1;
                    self.histogram(attempts, true);
                }
                (_, failed) if t.in_flight == 0 => {
                    t.status = failed;
                    self.counts.failed += 1;
                    if failed == Status::FailedThrottled {
                        self.counts.failed_by.throttled += 1;
                    } else {
                        self.counts.failed_by.server_error += 1;
                    }
                    self.histogram(attempts, true);
                }
                _ => {}
            }
        }
        if single {
            self.requests.remove(key);
        }
    }

    /// Checks pool `pool`'s limits, then the account's, for an attempt of request
    /// `invocation_id` in service tier `tier`, and charges them all if all admit (nothing is
    /// charged anywhere otherwise, save the limits that count refusals). Every tier draws
    /// from the same limits; a flex attempt fails with `flex_error_rate` while the pool is
    /// busy.
    pub(crate) fn admit(
        &mut self,
        pool: usize,
        invocation_id: Option<&str>,
        s: Sizes,
        tier: Tier,
    ) -> Admit {
        let now = self.clock.now_us();
        self.events += 1;
        let key = self.track(invocation_id, now);
        let Some(p) = self.pools.get_mut(pool) else {
            self.finish(&key, Some(Status::FailedServerError));
            return Admit::Throttled {
                cause: ThrottleCause::TokensPerMinute,
                latency_us: 0,
                retry_after_s: None,
            };
        };
        let output = s.output.min(s.max_tokens);
        let fp = Footprint::of(
            s.input,
            s.cache_write,
            s.cache_read,
            s.max_tokens,
            s.output,
            p.spec.quota.reserve_cache_reads,
        );
        // `quota.reservation_floor` included.
        let reserved = p.rates.quota_reservation(&fp);
        let rt = p.rates;
        let servable =
            p.quota.servable(&fp) && self.account.as_ref().is_none_or(|a| a.servable_at(&fp, rt));
        if !servable
            && let Some(t) = self.requests.get_mut(&key)
            && !t.unservable
        {
            t.unservable = true;
            self.counts.unservable += 1;
        }
        match admit_on(&mut p.quota, self.account.as_mut(), now, &fp, rt) {
            Ok((adm, acct)) => {
                let charged = p.quota.primary_charge(&fp);
                let error_rate =
                    crate::engine::tiers::error_rate(&p.spec.service, tier, now, p.last_refusal);
                let cost = p.burndown.final_cost(s.input, s.cache_write, output);
                self.metrics.admitted(now, true, reserved, charged);
                p.metrics.admitted(now, true, reserved, charged);
                let fails = error_rate > 0.0 && self.rng_faults.random::<f64>() < error_rate;
                Admit::Admitted(Box::new(Attempt {
                    key,
                    pool,
                    adm,
                    acct,
                    fp,
                    input: s.input,
                    cache_write: s.cache_write,
                    cache_read: s.cache_read,
                    output,
                    truncated: s.output > s.max_tokens,
                    fails,
                    cost,
                    ticked: 0,
                    cuts_off: p.quota.cuts_off(),
                    cut: false,
                    tier,
                    stream: false,
                    throttled_mid_stream: false,
                }))
            }
            Err(limit) => {
                let own = p.quota.len();
                let cause = if limit < own {
                    p.quota.cause(limit)
                } else {
                    self.account
                        .as_ref()
                        .map_or(ThrottleCause::TokensPerMinute, |a| a.cause(limit - own))
                };
                let latency_us = p.spec.service.throttle_latency_us;
                p.last_refusal = Some(now);
                // The hint of a run's throttle: whole seconds until the refusing limit could
                // admit the attempt, assuming no other traffic.
                let retry_after_s = if !p.spec.quota.retry_after {
                    None
                } else if limit < own {
                    p.quota.retry_wait_us(now, limit, &fp, rt)
                } else {
                    self.account
                        .as_mut()
                        .and_then(|a| a.retry_wait_us(now, limit - own, &fp, rt))
                }
                .map(|us| us.div_ceil(1_000_000));
                let slot = p.slots.get(limit).copied().unwrap_or(usize::MAX);
                self.metrics.throttled(now, true, cause, slot);
                p.metrics.throttled(now, true, cause, limit);
                self.finish(&key, Some(Status::FailedThrottled));
                Admit::Throttled {
                    cause,
                    latency_us,
                    retry_after_s,
                }
            }
        }
    }

    /// Output of an attempt has reached `generated` tokens: limits that charge output as
    /// it is generated (the pool's and the account's) are charged now. An output budget
    /// that runs out (bedrock-mantle's output tokens per minute) cuts the answer off, as in
    /// a run: the attempt's output becomes what the budget took, truncated. Returns the
    /// output count reached (less than `generated` when cut off).
    pub(crate) fn tick(&mut self, a: &mut Attempt, generated: u64) -> u64 {
        let now = self.clock.now_us();
        let Some(p) = self.pools.get_mut(a.pool) else {
            return generated;
        };
        let account_streams = self.account.as_ref().is_some_and(Quota::streams);
        if !(p.quota.streams() || account_streams) || generated <= a.ticked || a.cut {
            return generated.min(a.output);
        }
        let want = generated - a.ticked;
        let room = p.quota.output_room(now, want);
        let g = a.ticked + room;
        if a.stream && p.spec.quota.mid_stream_throttle && g > a.ticked {
            // The growth beyond what the reservation still covers is offered to the pool's
            // and the account's limits; a refusal ends the stream (as in a run).
            let rt = p.rates;
            let refused = p.quota.offer_at(now, &a.fp, a.ticked, g, rt).is_err()
                || self
                    .account
                    .as_mut()
                    .is_some_and(|acc| acc.offer_at(now, &a.fp, a.ticked, g, rt).is_err());
            if refused {
                a.throttled_mid_stream = true;
                return a.ticked;
            }
        }
        let d = p.quota.tick(now, &a.adm, &a.fp, a.ticked, g);
        if let (Some(acc), Some(t)) = (self.account.as_mut(), a.acct.as_ref()) {
            acc.tick_at(now, t, &a.fp, a.ticked, g, p.rates);
        }
        a.ticked = g;
        self.metrics.settled(now, d);
        p.metrics.settled(now, d);
        if room < want {
            a.cut = true;
            a.truncated = true;
            a.output = g;
            a.fp.output = g;
            a.cost = p.burndown.final_cost(a.input, a.cache_write, g);
        }
        g
    }

    /// Settles an admitted attempt: the pool's limits and the account's, at the pool's
    /// rates, to its final cost (0 after a 503).
    pub(crate) fn end(&mut self, a: &Attempt, end: End) {
        let now = self.clock.now_us();
        self.events += 1;
        let Some(p) = self.pools.get_mut(a.pool) else {
            return;
        };
        let arrival = self
            .requests
            .get(&a.key)
            .map_or(now, |t| t.arrival_us.min(now));
        let attempts = self.requests.get(&a.key).map_or(1, |t| t.attempts);
        let (fp, generated, ok) = match end {
            End::Success => (a.fp, a.ticked, true),
            End::ServerError => (a.fp, a.ticked, false),
            End::Disconnected { delivered } | End::ThrottledMidStream { delivered } => {
                // Charged for what was generated: the final cost with A = delivered.
                let mut fp = a.fp;
                fp.output = delivered.min(a.output);
                (fp, a.ticked.min(fp.output), true)
            }
        };
        // A stream the quota itself ended (`quota.mid_stream_throttle`) keeps what was
        // charged, as in a run; every other ending settles to its final cost.
        let keep = a.throttled_mid_stream;
        let d = if keep {
            0
        } else {
            p.quota.settle(now, &a.adm, &fp, generated, ok)
        };
        if !keep && let (Some(acc), Some(t)) = (self.account.as_mut(), a.acct.as_ref()) {
            acc.settle_at(now, t, &fp, generated, ok, p.rates);
        }
        self.metrics.settled(now, d);
        p.metrics.settled(now, d);
        match end {
            End::Success => {
                let success = Success {
                    arrival,
                    counted: true,
                    input: a.input,
                    output: a.output,
                    cost: a.cost,
                    truncated: a.truncated,
                    attempts,
                    cache_write: a.cache_write,
                    cache_read: a.cache_read,
                    pool: u8::try_from(a.pool).unwrap_or(u8::MAX),
                    tier: a.tier as u8,
                };
                self.metrics.succeeded(now, &success);
                p.metrics.succeeded(now, &success);
                if let Some(t) = self.tiers_served.get_mut(a.tier.index()) {
                    *t = true;
                }
                if a.truncated {
                    self.counts.truncated += 1;
                }
                if a.cut {
                    self.cut_off += 1;
                }
                self.finish(&a.key, Some(Status::Succeeded));
            }
            End::ServerError => {
                p.server_errors += 1;
                self.metrics.server_error(true);
                p.metrics.server_error(true);
                self.finish(&a.key, Some(Status::FailedServerError));
            }
            End::Disconnected { .. } => {
                let cost = p.burndown.final_cost(a.input, a.cache_write, fp.output);
                self.disconnected += 1;
                self.disconnected_output += fp.output;
                self.disconnected_quota += cost;
                self.finish(&a.key, None);
            }
            End::ThrottledMidStream { .. } => {
                let cost = p.burndown.final_cost(a.input, a.cache_write, fp.output);
                self.mid_stream += 1;
                self.mid_stream_output += fp.output;
                self.mid_stream_quota += cost;
                // The partial answer is billed as delivered.
                let partial = Success {
                    arrival,
                    counted: true,
                    input: a.input,
                    output: fp.output,
                    cost,
                    truncated: false,
                    attempts,
                    cache_write: a.cache_write,
                    cache_read: a.cache_read,
                    pool: u8::try_from(a.pool).unwrap_or(u8::MAX),
                    tier: a.tier as u8,
                };
                self.metrics.billed_abandoned(&partial);
                p.metrics.billed_abandoned(&partial);
                self.finish(&a.key, Some(Status::FailedThrottled));
            }
        }
    }

    /// The live report in `run`'s JSON format, plus a `serve` object about the session.
    /// With two or more pools it carries `pools.NAME` as a run's report does (plus each
    /// pool's `cost` at its own model's prices); the totals' `cost` sums the pools'.
    pub(crate) fn report(&self, listen: &str) -> serde_json::Value {
        let now = self.clock.now_us();
        let mut totals = self.metrics.clone();
        // The totals' bill is the pools' bills, each at its model's prices, added up as a
        // run adds them (`Metrics::bill_by_pools`).
        totals.bill_by_pools(self.pools.iter().map(|p| &p.metrics));
        let mut report: Report = totals.finish(&self.name, self.seed, now, self.events);
        let mut counts = self.counts.clone();
        counts.unfinished = counts
            .arrived
            .saturating_sub(counts.succeeded + counts.failed);
        counts.failed_by = FailedBy {
            timeout: 0,
            ..counts.failed_by
        };
        counts.truncated_by_output_budget = self.any_cut_off.then_some(self.cut_off);
        report.requests = counts;
        report.attempts.per_request.0 = self.per_request.clone();
        let minutes = now as f64 / crate::quota::MINUTE_US as f64;
        let per_minute = |x: u64| {
            if minutes > 0.0 {
                x as f64 / minutes
            } else {
                0.0
            }
        };
        report.throughput = Throughput {
            requests_per_minute: per_minute(report.requests.succeeded),
            output_tokens_per_minute: per_minute(report.tokens.output),
            quota_tokens_per_minute: per_minute(report.tokens.quota_consumed),
        };
        report.client.retry_amplification = (report.requests.arrived > 0)
            .then(|| report.attempts.sent as f64 / report.requests.arrived as f64);
        // Each pool's share, priced at its model; the session so far is the measured span.
        let shares: Vec<(String, Report)> = self
            .pools
            .iter()
            .map(|p| {
                let r = p.metrics.clone().finish("", 0, now, 0);
                (p.spec.name.clone(), r)
            })
            .collect();
        // The session so far is the measured span, and its counts are the session's.
        report.cost = Cost::new(report.cost.usd, report.requests.succeeded, now);
        // Reserved capacity's fixed hourly charge over the session's simulated time, as a
        // run charges it over its measured span; and which prices were used.
        let specs: Vec<crate::scenario::Pool> =
            self.pools.iter().map(|p| p.spec.as_pool()).collect();
        let hours = now as f64 / 3_600e6;
        let fixed = |p: &crate::scenario::Pool| crate::cost::tiers::reserved_pool_usd(p, hours);
        if specs.iter().any(crate::scenario::Pool::is_reserved) {
            let total = specs
                .iter()
                .filter(|p| p.is_reserved())
                .map(fixed)
                .try_fold(0.0, |t, u| u.map(|u| t + u));
            report.cost =
                std::mem::take(&mut report.cost).with_fixed(total, report.requests.succeeded, now);
        }
        let used: Vec<&str> = Tier::ALL
            .iter()
            .filter(|t| **t != Tier::Standard && self.tiers_served.get(t.index()) == Some(&true))
            .map(|t| t.name())
            .collect();
        if !used.is_empty()
            || specs
                .iter()
                .any(|p| p.is_reserved() || p.price_premium != 0.0)
        {
            let mut parts: Vec<String> = specs.iter().map(crate::cost::tiers::pool_basis).collect();
            if !used.is_empty() {
                parts.push(format!(
                    "tiers asked by the calls: {} (each at its serving pool's tier factor)",
                    used.join(", ")
                ));
            }
            report.cost.prices = Some(parts.join("; "));
        }
        if self.pools.len() > 1 {
            let mut named = Vec::with_capacity(shares.len());
            for (name, r) in shares {
                named.push((
                    name,
                    PoolReport {
                        admitted: r.attempts.admitted,
                        throttled: r.attempts.throttled,
                        throttled_by_limit: r.attempts.throttled_by_limit,
                        quota_consumed: r.tokens.quota_consumed,
                        reserved: r.tokens.reserved,
                        quota_tokens_per_minute: per_minute(r.tokens.quota_consumed),
                        timeline: r.timeline,
                        cost: match specs.get(named.len()).filter(|p| p.is_reserved()) {
                            Some(p) => Cost::new(r.cost.usd, r.requests.succeeded, now).with_fixed(
                                fixed(p),
                                r.requests.succeeded,
                                now,
                            ),
                            None => Cost::new(r.cost.usd, r.requests.succeeded, now),
                        },
                    },
                ));
            }
            report.pools = Some(Named(named));
        }
        let mut v = serde_json::to_value(&report).unwrap_or(serde_json::Value::Null);
        let pools: serde_json::Map<String, serde_json::Value> = self
            .pools
            .iter()
            .map(|p| {
                (
                    p.spec.name.clone(),
                    serde_json::json!({
                        "model": p.spec.model.preset,
                        "model_ids": p.spec.model_ids,
                        "server_errors": p.server_errors,
                    }),
                )
            })
            .collect();
        if let Some(serde_json::Value::Object(a)) = v.get_mut("attempts") {
            a.insert("throttled_mid_stream".into(), self.mid_stream.into());
        }
        if let serde_json::Value::Object(m) = &mut v {
            m.insert(
                "serve".into(),
                serde_json::json!({
                    "listen": listen,
                    "time_scale": self.clock.scale(),
                    "wall_seconds": self.clock.start.elapsed().as_secs_f64(),
                    "invalid_requests": self.invalid,
                    "disconnected": {
                        "attempts": self.disconnected,
                        "output_tokens": self.disconnected_output,
                        "quota_consumed": self.disconnected_quota,
                    },
                    "throttled_mid_stream": {
                        "output_tokens": self.mid_stream_output,
                        "quota_consumed": self.mid_stream_quota,
                    },
                    "pools": pools,
                }),
            );
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(preset: &str, tpm: u64) -> Scenario {
        Scenario::from_toml_str(
            &format!(
                r#"
duration = "1m"
[model]
preset = "{preset}"
[quota]
tokens_per_minute = {tpm}
[arrivals]
process = "constant"
rate_per_minute = 1
[requests.chat]
input_tokens = 10
output_tokens = 20
"#
            ),
            "t.toml",
        )
        .unwrap()
    }

    fn state(pools: Vec<PoolSpec>, s: &Scenario) -> State {
        State::new(
            super::super::Config {
                name: "t".into(),
                seed: 0,
                pools,
                account: s.account.clone(),
                classes: s.requests.clone(),
            },
            Clock::new(1.0),
        )
    }

    fn sizes(max_tokens: u64) -> Sizes {
        Sizes {
            input: 10,
            output: 20,
            cache_write: 0,
            cache_read: 0,
            max_tokens,
        }
    }

    #[test]
    fn default_pool_serves_the_model_ids_with_every_prefix() {
        let s = scenario("claude-sonnet-4", 1000);
        let pools = PoolSpec::from_scenario(&s);
        assert_eq!(pools.len(), 1);
        let st = state(pools, &s);
        for id in [
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "eu.anthropic.claude-sonnet-4-20250514-v1:0",
            "apac.anthropic.claude-sonnet-4-20250514-v1:0",
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
        ] {
            assert_eq!(st.pool_of(id), Some(0), "{id}");
        }
        for id in [
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "xx.anthropic.claude-sonnet-4-20250514-v1:0",
            "",
        ] {
            assert_eq!(st.pool_of(id), None, "{id}");
        }
    }

    #[test]
    fn a_model_without_bedrock_ids_answers_to_its_preset_name() {
        let s = scenario("other", 1000);
        let st = state(PoolSpec::from_scenario(&s), &s);
        for id in ["other", "us.other", "global.other"] {
            assert_eq!(st.pool_of(id), Some(0), "{id}");
        }
    }

    #[test]
    fn an_id_several_pools_list_goes_to_the_most_specific_list() {
        // `wide` serves Sonnet 4's five forms by default; `narrow` lists two of them, `one`
        // lists one of those: each ID goes to the shortest list that holds it.
        let s = scenario("claude-sonnet-4", 1000);
        let bare = "anthropic.claude-sonnet-4-20250514-v1:0";
        let mut pools = PoolSpec::from_scenario(&s);
        let wide = pools[0].clone();
        let mut narrow = wide.clone();
        narrow.model_ids = vec![format!("us.{bare}"), format!("eu.{bare}")];
        let mut one = wide.clone();
        one.model_ids = vec![format!("eu.{bare}")];
        pools.extend([narrow, one]);
        let st = state(pools, &s);
        assert_eq!(st.pool_of(bare), Some(0));
        assert_eq!(st.pool_of(&format!("global.{bare}")), Some(0));
        assert_eq!(st.pool_of(&format!("us.{bare}")), Some(1));
        assert_eq!(st.pool_of(&format!("eu.{bare}")), Some(2));
        // Equal lists: the first in file order.
        let mut twins = PoolSpec::from_scenario(&s);
        twins.push(twins[0].clone());
        assert_eq!(state(twins, &s).pool_of(bare), Some(0));
    }

    #[test]
    fn several_pools_are_charged_separately() {
        // Pool `small` (Haiku 4.5, 100 TPM) and pool `big` (Sonnet 4.5, 1M TPM).
        let a = scenario("claude-haiku-4-5", 100);
        let b = scenario("claude-sonnet-4-5", 1_000_000);
        let mut pools = PoolSpec::from_scenario(&a);
        pools[0].name = "small".into();
        let mut big = PoolSpec::from_scenario(&b);
        big[0].name = "big".into();
        pools.extend(big);
        let mut st = state(pools, &a);
        let small = st
            .pool_of("global.anthropic.claude-haiku-4-5-20251001-v1:0")
            .unwrap();
        let big = st
            .pool_of("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .unwrap();
        assert_eq!((small, big), (0, 1));
        // 10 + 80 = 90 fits in `small` once; the second is throttled by its token limit.
        let Admit::Admitted(first) = st.admit(small, None, sizes(80), Tier::Standard) else {
            panic!("first admitted")
        };
        assert!(matches!(
            st.admit(small, None, sizes(80), Tier::Standard),
            Admit::Throttled {
                cause: ThrottleCause::TokensPerMinute,
                ..
            }
        ));
        // `big` is untouched by `small`'s usage.
        let Admit::Admitted(other) = st.admit(big, None, sizes(80), Tier::Standard) else {
            panic!("big admits")
        };
        st.end(&first, End::Success);
        st.end(&other, End::Success);
        let r = st.report("test");
        assert_eq!(r["pools"]["small"]["admitted"], 1);
        assert_eq!(r["pools"]["small"]["throttled"], 1);
        assert_eq!(r["pools"]["big"]["admitted"], 1);
        assert_eq!(r["pools"]["big"]["throttled"], 0);
        // C = 10 + 5 × 20 for both models (5× output burndown).
        assert_eq!(r["pools"]["small"]["quota_consumed"], 110);
        assert_eq!(r["tokens"]["quota_consumed"], 220);
        assert_eq!(
            r["pools"]["small"]["throttled_by_limit"]["tokens_per_minute"],
            1
        );
        // The totals name a limit once, as a run's report does.
        assert_eq!(r["attempts"]["throttled_by_limit"]["tokens_per_minute"], 1);
        // Each pool billed at its own model: Haiku 4.5 then Sonnet 4.5, 10 in and 20 out.
        // Published prices per million tokens: Haiku 4.5 $1 in, $5 out; Sonnet 4.5 $3 in,
        // $15 out. So (10 × 1 + 20 × 5) / 1e6 = $0.00011 and (10 × 3 + 20 × 15) / 1e6 =
        // $0.00033.
        let small_usd = r["pools"]["small"]["cost"]["usd"].as_f64().unwrap();
        let big_usd = r["pools"]["big"]["cost"]["usd"].as_f64().unwrap();
        assert!((small_usd - 0.000_11).abs() < 1e-15, "{small_usd}");
        assert!((big_usd - 0.000_33).abs() < 1e-15, "{big_usd}");
        assert!(small_usd < big_usd);
        assert_eq!(r["cost"]["usd"].as_f64().unwrap(), small_usd + big_usd);
        assert_eq!(r["requests"]["arrived"], 3);
        assert_eq!(r["requests"]["succeeded"], 2);
        assert_eq!(r["requests"]["failed"], 1);
    }

    #[test]
    fn a_503_releases_the_reservation_and_a_retry_can_succeed() {
        let s = scenario("claude-sonnet-4", 100);
        let mut st = state(PoolSpec::from_scenario(&s), &s);
        let Admit::Admitted(a) = st.admit(0, Some("id-1"), sizes(80), Tier::Standard) else {
            panic!("admitted")
        };
        st.end(&a, End::ServerError);
        let r = st.report("t");
        assert_eq!(r["requests"]["failed_by"]["server_error"], 1);
        assert_eq!(r["attempts"]["server_errors"], 1);
        // The 90 reserved went back to the minute: the retry fits again.
        let Admit::Admitted(a) = st.admit(0, Some("id-1"), sizes(80), Tier::Standard) else {
            panic!("retry admitted")
        };
        st.end(&a, End::Success);
        let r = st.report("t");
        assert_eq!(r["requests"]["arrived"], 1);
        assert_eq!(r["requests"]["failed"], 0);
        assert_eq!(r["requests"]["succeeded"], 1);
        assert_eq!(r["attempts"]["per_request"]["2"], 1);
    }
}
