//! The emulator's shared state: the pools and their quotas, the request tracker, and the
//! metrics that become the live report. Everything here runs under one mutex, held only for
//! the few microseconds an admission or a settlement takes (never across a sleep or I/O).

use std::collections::HashMap;
use std::time::Instant;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::engine::rng::{self, Stream};
use crate::metrics::{Metrics, Success};
use crate::quota::{Admission, Burndown, Footprint, Quota, ReserveMode, ThrottleCause};
use crate::report::{FailedBy, Report, RequestCounts, Throughput};
use crate::scenario::{Model, QuotaConfig, Scenario, Service};
use crate::workload::{ClassPicker, RequestClass};

/// Prefixes Bedrock puts in front of a model ID for cross-Region inference profiles.
pub const PROFILE_PREFIXES: [&str; 4] = ["us.", "eu.", "apac.", "global."];

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
}

impl PoolSpec {
    /// The pools of a scenario: its `[quota]` as the single pool `default`, serving the
    /// model's Bedrock IDs with and without the cross-Region prefixes.
    pub fn from_scenario(s: &Scenario) -> Vec<PoolSpec> {
        vec![PoolSpec {
            name: "default".into(),
            model_ids: with_prefixes(&default_model_ids(&s.model.preset)),
            model: s.model.clone(),
            service: s.service.clone(),
            quota: s.quota.clone(),
        }]
    }
}

/// Every ID in `ids`, each also with the `us.`, `eu.`, `apac.` and `global.` prefixes.
pub fn with_prefixes(ids: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(ids.len() * 5);
    for id in ids {
        out.push(id.clone());
        for p in PROFILE_PREFIXES {
            out.push(format!("{p}{id}"));
        }
    }
    out
}

/// The Bedrock model IDs of a model preset. A preset without a Bedrock model (`other`)
/// answers to its own name, so that a generic scenario can still be served.
pub fn default_model_ids(preset: &str) -> Vec<String> {
    let ids: &[&str] = match preset {
        "claude-opus-4" => &["anthropic.claude-opus-4-20250514-v1:0"],
        "claude-opus-4-1" => &["anthropic.claude-opus-4-1-20250805-v1:0"],
        "claude-sonnet-4" => &["anthropic.claude-sonnet-4-20250514-v1:0"],
        "claude-sonnet-4-5" => &["anthropic.claude-sonnet-4-5-20250929-v1:0"],
        "claude-3-7-sonnet" => &["anthropic.claude-3-7-sonnet-20250219-v1:0"],
        "claude-haiku-4-5" => &["anthropic.claude-haiku-4-5-20251001-v1:0"],
        "claude-3-5-sonnet" => &[
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
        ],
        "claude-3-5-haiku" => &["anthropic.claude-3-5-haiku-20241022-v1:0"],
        _ => &[],
    };
    if ids.is_empty() {
        vec![preset.to_string()]
    } else {
        ids.iter().map(|s| s.to_string()).collect()
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
    burndown: Burndown,
    reserve: ReserveMode,
    /// Index of this pool's first limit in the report's `throttled_by_limit`.
    limit_offset: usize,
    counts: PoolCounts,
}

/// Per-pool counters, reported under `serve.pools`.
#[derive(Debug, Clone, Default, Serialize)]
struct PoolCounts {
    admitted: u64,
    throttled: u64,
    server_errors: u64,
    quota_consumed: u64,
    reserved: u64,
}

/// An admitted attempt, to settle when it ends.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    key: String,
    pool: usize,
    adm: Admission,
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
}

/// The outcome of an admission check.
#[derive(Debug)]
pub(crate) enum Admit {
    /// Refused; `tokens` tells a token limit from a request limit (the 429 message).
    Throttled {
        /// Whether a token limit refused (else a request-count limit).
        tokens: bool,
        /// Simulated delay before the 429, µs.
        latency_us: u64,
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
}

/// Everything behind the emulator's lock.
pub(crate) struct State {
    name: String,
    seed: u64,
    pub(crate) clock: Clock,
    pools: Vec<PoolState>,
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
}

impl State {
    /// State for serving `pools` with the scenario's request classes and seed.
    pub(crate) fn new(
        name: &str,
        seed: u64,
        pools: Vec<PoolSpec>,
        classes: Vec<RequestClass>,
        clock: Clock,
    ) -> Self {
        let mut by_id = HashMap::new();
        let mut names = Vec::new();
        let multi = pools.len() > 1;
        let mut states = Vec::with_capacity(pools.len());
        for (i, spec) in pools.into_iter().enumerate() {
            for id in &spec.model_ids {
                // The first pool that lists an ID serves it.
                by_id.entry(id.clone()).or_insert(i);
            }
            let q = &spec.quota;
            let burndown = spec.model.burndown();
            let quota = Quota::from_limits(&q.limits, burndown, q.reserve, q.settle);
            let limit_offset = names.len();
            for l in &q.limits {
                names.push(if multi {
                    format!("{}.{}", spec.name, l.name)
                } else {
                    l.name.clone()
                });
            }
            states.push(PoolState {
                reserve: q.reserve,
                burndown,
                quota,
                limit_offset,
                spec,
                counts: PoolCounts::default(),
            });
        }
        let mut metrics = Metrics::new(0, u64::MAX);
        metrics.configure(names, 1);
        // Priced at the first pool's model (one price table per report for now).
        if let Some(first) = states.first() {
            metrics.set_prices(crate::cost::model_prices(&first.spec.model));
        }
        State {
            name: name.to_string(),
            seed,
            clock,
            pools: states,
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
        }
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

    /// Checks pool `pool`'s limits for an attempt of request `invocation_id` and charges
    /// them if all admit.
    pub(crate) fn admit(&mut self, pool: usize, invocation_id: Option<&str>, s: Sizes) -> Admit {
        let now = self.clock.now_us();
        self.events += 1;
        let key = self.track(invocation_id, now);
        let Some(p) = self.pools.get_mut(pool) else {
            self.finish(&key, Some(Status::FailedServerError));
            return Admit::Throttled {
                tokens: true,
                latency_us: 0,
            };
        };
        let held_input = if p.spec.quota.reserve_cache_reads {
            s.input.saturating_add(s.cache_read)
        } else {
            s.input
        };
        let output = s.output.min(s.max_tokens);
        let fp = Footprint {
            prompt: s.input.saturating_add(s.cache_write),
            cache_read: s.cache_read,
            held_reads: held_input - s.input,
            max_tokens: s.max_tokens,
            output,
        };
        let reserved = p
            .burndown
            .reservation(p.reserve, held_input, s.cache_write, s.max_tokens);
        if !p.quota.servable(&fp)
            && let Some(t) = self.requests.get_mut(&key)
            && !t.unservable
        {
            t.unservable = true;
            self.counts.unservable += 1;
        }
        match p.quota.try_admit(now, &fp) {
            Ok(adm) => {
                let charged = p.quota.primary_charge(&fp);
                p.counts.admitted += 1;
                p.counts.reserved += reserved;
                let error_rate = p.spec.service.error_rate;
                let cost = p.burndown.final_cost(s.input, s.cache_write, output);
                self.metrics.admitted(now, true, reserved, charged);
                let fails = error_rate > 0.0 && self.rng_faults.random::<f64>() < error_rate;
                Admit::Admitted(Box::new(Attempt {
                    key,
                    pool,
                    adm,
                    fp,
                    input: s.input,
                    cache_write: s.cache_write,
                    cache_read: s.cache_read,
                    output,
                    truncated: s.output > s.max_tokens,
                    fails,
                    cost,
                    ticked: 0,
                }))
            }
            Err(limit) => {
                let cause = p.quota.cause(limit);
                p.counts.throttled += 1;
                let latency_us = p.spec.service.throttle_latency_us;
                let index = p.limit_offset + limit;
                self.metrics.throttled(now, true, cause, index);
                self.finish(&key, Some(Status::FailedThrottled));
                Admit::Throttled {
                    tokens: cause != ThrottleCause::RequestsPerMinute,
                    latency_us,
                }
            }
        }
    }

    /// Output of a streaming attempt has reached `generated` tokens: limits that charge
    /// output as it is generated are charged now.
    pub(crate) fn tick(&mut self, a: &mut Attempt, generated: u64) {
        let now = self.clock.now_us();
        let Some(p) = self.pools.get_mut(a.pool) else {
            return;
        };
        if !p.quota.streams() || generated <= a.ticked {
            return;
        }
        let d = p.quota.tick(now, &a.adm, &a.fp, a.ticked, generated);
        a.ticked = generated;
        self.metrics.settled(now, d);
    }

    /// Settles an admitted attempt.
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
        match end {
            End::Success => {
                let d = p.quota.settle(now, &a.adm, &a.fp, a.ticked, true);
                p.counts.quota_consumed += a.cost;
                self.metrics.settled(now, d);
                self.metrics.succeeded(
                    now,
                    &Success {
                        arrival,
                        counted: true,
                        input: a.input,
                        output: a.output,
                        cost: a.cost,
                        truncated: a.truncated,
                        attempts,
                        cache_write: a.cache_write,
                        cache_read: a.cache_read,
                        pool: 0,
                    },
                );
                if a.truncated {
                    self.counts.truncated += 1;
                }
                self.finish(&a.key, Some(Status::Succeeded));
            }
            End::ServerError => {
                let d = p.quota.settle(now, &a.adm, &a.fp, a.ticked, false);
                p.counts.server_errors += 1;
                self.metrics.settled(now, d);
                self.metrics.server_error(true);
                self.finish(&a.key, Some(Status::FailedServerError));
            }
            End::Disconnected { delivered } => {
                // Charged for what was generated: the final cost with A = delivered.
                let mut fp = a.fp;
                fp.output = delivered.min(a.output);
                let d = p
                    .quota
                    .settle(now, &a.adm, &fp, a.ticked.min(fp.output), true);
                let cost = p.burndown.final_cost(a.input, a.cache_write, fp.output);
                self.metrics.settled(now, d);
                self.disconnected += 1;
                self.disconnected_output += fp.output;
                self.disconnected_quota += cost;
                self.finish(&a.key, None);
            }
        }
    }

    /// The live report in `run`'s JSON format, plus a `serve` object about the session.
    pub(crate) fn report(&self, listen: &str) -> serde_json::Value {
        let now = self.clock.now_us();
        let mut report: Report =
            self.metrics
                .clone()
                .finish(&self.name, self.seed, now, self.events);
        let mut counts = self.counts.clone();
        counts.unfinished = counts
            .arrived
            .saturating_sub(counts.succeeded + counts.failed);
        counts.failed_by = FailedBy {
            timeout: 0,
            ..counts.failed_by
        };
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
                        "admitted": p.counts.admitted,
                        "throttled": p.counts.throttled,
                        "server_errors": p.counts.server_errors,
                        "quota_consumed": p.counts.quota_consumed,
                        "reserved": p.counts.reserved,
                    }),
                )
            })
            .collect();
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
        let st = State::new("t", 0, pools, s.requests.clone(), Clock::new(1.0));
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
    fn several_pools_are_charged_separately() {
        // Pool `small` (Haiku 4.5, 100 TPM) and pool `big` (Sonnet 4.5, 1M TPM).
        let a = scenario("claude-haiku-4-5", 100);
        let b = scenario("claude-sonnet-4-5", 1_000_000);
        let mut pools = PoolSpec::from_scenario(&a);
        pools[0].name = "small".into();
        let mut big = PoolSpec::from_scenario(&b);
        big[0].name = "big".into();
        pools.extend(big);
        let mut st = State::new("t", 0, pools, a.requests.clone(), Clock::new(1.0));
        let small = st
            .pool_of("global.anthropic.claude-haiku-4-5-20251001-v1:0")
            .unwrap();
        let big = st
            .pool_of("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
            .unwrap();
        assert_eq!((small, big), (0, 1));
        // 10 + 80 = 90 fits in `small` once; the second is throttled by its token limit.
        let Admit::Admitted(first) = st.admit(small, None, sizes(80)) else {
            panic!("first admitted")
        };
        assert!(matches!(
            st.admit(small, None, sizes(80)),
            Admit::Throttled { tokens: true, .. }
        ));
        // `big` is untouched by `small`'s usage.
        let Admit::Admitted(other) = st.admit(big, None, sizes(80)) else {
            panic!("big admits")
        };
        st.end(&first, End::Success);
        st.end(&other, End::Success);
        let r = st.report("test");
        assert_eq!(r["serve"]["pools"]["small"]["admitted"], 1);
        assert_eq!(r["serve"]["pools"]["small"]["throttled"], 1);
        assert_eq!(r["serve"]["pools"]["big"]["admitted"], 1);
        // C = 10 + 5 × 20 for both models (5× output burndown).
        assert_eq!(r["serve"]["pools"]["small"]["quota_consumed"], 110);
        assert_eq!(r["tokens"]["quota_consumed"], 220);
        assert_eq!(
            r["attempts"]["throttled_by_limit"]["small.tokens_per_minute"],
            1
        );
        assert_eq!(
            r["attempts"]["throttled_by_limit"]["big.tokens_per_minute"],
            0
        );
        assert_eq!(r["requests"]["arrived"], 3);
        assert_eq!(r["requests"]["succeeded"], 2);
        assert_eq!(r["requests"]["failed"], 1);
    }

    #[test]
    fn a_503_releases_the_reservation_and_a_retry_can_succeed() {
        let s = scenario("claude-sonnet-4", 100);
        let mut st = State::new(
            "t",
            0,
            PoolSpec::from_scenario(&s),
            s.requests.clone(),
            Clock::new(1.0),
        );
        let Admit::Admitted(a) = st.admit(0, Some("id-1"), sizes(80)) else {
            panic!("admitted")
        };
        st.end(&a, End::ServerError);
        let r = st.report("t");
        assert_eq!(r["requests"]["failed_by"]["server_error"], 1);
        assert_eq!(r["attempts"]["server_errors"], 1);
        // The 90 reserved went back to the minute: the retry fits again.
        let Admit::Admitted(a) = st.admit(0, Some("id-1"), sizes(80)) else {
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
