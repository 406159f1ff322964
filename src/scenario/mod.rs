//! Scenarios: the TOML format (docs/guide/scenarios.md, "Scenario format"), its validation,
//! and `--set` overrides.
//!
//! Loading goes text → TOML table → overrides applied → `raw` structs (unknown keys
//! rejected) → [`Scenario`] (every default resolved, every value checked). Any failure
//! becomes a [`Diagnostic`](crate::Diagnostic) naming the file, line, column and key path.

mod facts;
mod invalid;
pub(crate) mod load;
mod raw;
mod resolve;
mod resolved;

use serde::{Serialize, Serializer};

use crate::client::{Pacing, RetryPolicy};
use crate::quota::{Burndown, LimitSpec, LimiterKind, Provider, ReserveMode, Settle};
use crate::workload::{Arrivals, RequestClass};

pub use crate::duration;
use crate::duration::{ser_duration, ser_opt_duration};
pub use load::Override;

/// The instant `run --cloudwatch` gives simulated time 0 when the scenario sets no `start`:
/// 2026-01-01T00:00:00Z, in seconds since the Unix epoch.
pub const DEFAULT_START: i64 = 1_767_225_600;
pub(crate) use load::locate_value;

/// A fully resolved, validated scenario.
///
/// `model`, `quota`, `service` are those of the first pool and `client`, `arrivals`,
/// `requests` those of the first workload: a single-pool, single-workload scenario is
/// exactly what they describe. [`Scenario::pools`] and [`Scenario::workloads`] hold every
/// pool and workload (at least one each), in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name (defaults to the file name without extension).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `start`: the wall-clock instant of simulated time 0, seconds since the Unix epoch
    /// (`None`: not set; `run --cloudwatch` then starts at [`DEFAULT_START`]).
    pub start: Option<i64>,
    /// Seed of every random stream.
    pub seed: u64,
    /// Arrivals happen in `[0, duration)`, µs.
    pub duration_us: u64,
    /// Requests arriving before this are excluded from the report's counts, µs.
    pub warmup_us: u64,
    /// The model.
    pub model: Model,
    /// The provider's quota.
    pub quota: QuotaConfig,
    /// Service latency and errors.
    pub service: Service,
    /// The client.
    pub client: Client,
    /// The arrival process.
    pub arrivals: Arrivals,
    /// Request classes, in name order.
    pub requests: Vec<RequestClass>,
    /// The file the scenario was read from (`None` for text loaded from memory): relative
    /// paths in it, and paths printed for it, start from its directory.
    pub source: Option<std::path::PathBuf>,
    /// Every quota pool, in file order (one named `default` for a `[quota]` scenario).
    pub pools: Vec<Pool>,
    /// Account-wide limits, checked after the serving pool's own on every admission.
    pub account: Vec<LimitSpec>,
    /// Every workload, in file order (one named `default` without `[workloads]`).
    pub workloads: Vec<Workload>,
    /// Whether the file used `[pools]` (else `[quota]`), for writing it back.
    pub pools_form: bool,
    /// Whether the file used `[workloads]`, for writing it back.
    pub workloads_form: bool,
    /// Warnings about the facts the scenario relies on (an unconfirmed burndown, a bare
    /// profile-only model ID, a requests-per-minute limit the model does not have), found
    /// while resolving: `check` and `run` print them.
    pub fact_warnings: Vec<String>,
}

/// One quota pool: a quota with its own model and service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pool {
    /// The pool's name (`default` for `[quota]`).
    #[serde(skip)]
    pub name: String,
    /// Its limits.
    #[serde(flatten)]
    pub quota: QuotaConfig,
    /// The model it serves.
    pub model: Model,
    /// Its latency and errors.
    pub service: Service,
    /// Model IDs that address this pool (an invocation log's `modelId` selects it).
    pub model_ids: Vec<String>,
    /// The pool's price above its model's list price (a fraction: 0.1 is 10% more): the
    /// regional premium of geographic and in-Region profiles (docs/models.md).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub price_premium: f64,
    /// Reserved capacity: USD per month per 1,000 reserved tokens per minute (the pool's
    /// own, else its model row's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_reserved_per_1k_tpm_month: Option<f64>,
}

fn is_zero_f64(x: &f64) -> bool {
    *x == 0.0
}

impl Pool {
    /// Reserved tokens per minute of the pool's reserved-capacity limits (input and output
    /// together), for the hourly charge; 0 for an on-demand pool.
    pub fn reserved_tpm(&self) -> u64 {
        self.quota
            .limits
            .iter()
            .filter(|l| l.counts.is_reserved())
            .map(|l| {
                // Normalised to a minute.
                let per_minute = u128::from(l.limit) * u128::from(crate::quota::MINUTE_US)
                    / u128::from(l.per_us.max(1));
                u64::try_from(per_minute).unwrap_or(u64::MAX)
            })
            .fold(0u64, u64::saturating_add)
    }

    /// Whether the pool is reserved capacity (its limits count reserved tokens).
    pub fn is_reserved(&self) -> bool {
        self.quota.limits.iter().any(|l| l.counts.is_reserved())
    }
}

/// The model IDs of `pools` (each pool's `model_ids`, in file order) with the pool that
/// answers to each, in precedence order: when several pools list an ID, the pool with the
/// shortest list (the most specific: one naming only `global.…` beats one serving every form
/// of its model) comes first, then the first in file order. The first entry for an ID is its
/// pool, in `serve` and in trace replay alike.
pub fn model_id_owners<'a>(pools: &[&'a [String]]) -> Vec<(&'a str, usize)> {
    let mut order: Vec<usize> = (0..pools.len()).collect();
    // A stable sort: equal lengths keep file order.
    order.sort_by_key(|&i| pools.get(i).map_or(0, |ids| ids.len()));
    order
        .into_iter()
        .flat_map(|i| {
            pools
                .get(i)
                .into_iter()
                .flat_map(move |ids| ids.iter().map(move |id| (id.as_str(), i)))
        })
        .collect()
}

/// Pools by the key ([`crate::trace::model_key`]) of each model ID they list, in precedence
/// order ([`model_id_owners`]), then, for a profile-only model, the bare ID of each profile
/// a pool lists that no pool lists itself: an old invocation log may name the bare ID
/// (Bedrock refuses it today), and trace replay still sends such records to the pool that
/// serves the model's profiles (`check` and `run` warn, see `facts`).
pub fn model_keys_with_history(s: &Scenario) -> Vec<(u64, usize)> {
    let lists: Vec<&[String]> = s.pools.iter().map(|p| &p.model_ids[..]).collect();
    let owners = model_id_owners(&lists);
    let mut out: Vec<(u64, usize)> = owners
        .iter()
        .map(|(id, i)| (crate::trace::model_key(id), *i))
        .collect();
    for (id, i) in owners {
        if !s.pools.get(i).is_some_and(|p| p.model.profile_only) {
            continue;
        }
        if let Some(bare) = crate::quota::models::PROFILE_PREFIXES
            .iter()
            .find_map(|p| id.strip_prefix(p))
        {
            let k = crate::trace::model_key(bare);
            if !out.iter().any(|(x, _)| *x == k) {
                out.push((k, i));
            }
        }
    }
    out
}

/// One workload: an application with its own arrivals, classes, client and route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// The workload's name (`default` without `[workloads]`).
    #[serde(skip)]
    pub name: String,
    /// Its client.
    pub client: Client,
    /// Its arrival process.
    pub arrivals: Arrivals,
    /// Its request classes, in name order.
    #[serde(serialize_with = "ser_classes")]
    pub requests: Vec<RequestClass>,
    /// Where its attempts go.
    pub route: Route,
    /// Its service tier (`tier`): all tiers share the pools' on-demand quota.
    #[serde(skip_serializing_if = "is_standard")]
    pub tier: crate::quota::models::Tier,
}

fn is_standard(t: &crate::quota::models::Tier) -> bool {
    *t == crate::quota::models::Tier::Standard
}

/// How a workload's attempts reach its pools.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Pool indices, in route order.
    pub pools: Vec<usize>,
    /// Pool names, in route order.
    pub names: Vec<String>,
    /// The policy.
    pub policy: RoutePolicy,
}

/// A route's policy.
#[derive(Debug, Clone, PartialEq)]
pub enum RoutePolicy {
    /// Every attempt goes to the only pool.
    Single,
    /// Each request picks one pool at arrival, by these weights.
    Weighted(Vec<f64>),
    /// The application moves on to the next pool: when the retry policy gives up
    /// (`give-up`), or at once after each throttle (`throttle`).
    Fallback(FallbackOn),
    /// The provider tries the pools in order at admission.
    Spillover,
}

/// When a fallback route moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackOn {
    /// When the retry policy gives up on the current pool.
    GiveUp,
    /// After every throttle, without backoff.
    Throttle,
}

impl Serialize for Route {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.policy == RoutePolicy::Single
            && let Some(n) = self.names.first()
        {
            return s.serialize_str(n);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("pools", &self.names)?;
        match &self.policy {
            RoutePolicy::Single => m.serialize_entry("policy", "fallback")?,
            RoutePolicy::Weighted(w) => {
                m.serialize_entry("policy", "weighted")?;
                m.serialize_entry("weights", w)?;
            }
            RoutePolicy::Fallback(on) => {
                m.serialize_entry("policy", "fallback")?;
                m.serialize_entry(
                    "on",
                    match on {
                        FallbackOn::GiveUp => "give-up",
                        FallbackOn::Throttle => "throttle",
                    },
                )?;
            }
            RoutePolicy::Spillover => m.serialize_entry("policy", "spillover")?,
        }
        m.end()
    }
}

impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &self.name)?;
        if let Some(d) = &self.description {
            m.serialize_entry("description", d)?;
        }
        if let Some(t) = self.start {
            m.serialize_entry("start", &crate::account::format_utc(t, "Z"))?;
        }
        m.serialize_entry("seed", &self.seed)?;
        m.serialize_entry("duration", &duration::format_duration(self.duration_us))?;
        m.serialize_entry("warmup", &duration::format_duration(self.warmup_us))?;
        m.serialize_entry("model", &self.model)?;
        if !self.pools_form {
            m.serialize_entry("quota", &self.quota)?;
        }
        m.serialize_entry("service", &self.service)?;
        if !self.workloads_form {
            if let Some(w) = self.workloads.first().filter(|w| !is_standard(&w.tier)) {
                m.serialize_entry("tier", &w.tier)?;
            }
            m.serialize_entry("client", &self.client)?;
            m.serialize_entry("arrivals", &self.arrivals)?;
            m.serialize_entry("requests", &Classes(&self.requests))?;
        }
        if !self.account.is_empty() {
            m.serialize_entry("account", &Account(&self.account))?;
        }
        if self.pools_form {
            m.serialize_entry("pools", &Named(&self.pools, |p: &Pool| &p.name))?;
        }
        if self.workloads_form {
            m.serialize_entry("workloads", &Named(&self.workloads, |w: &Workload| &w.name))?;
        }
        m.end()
    }
}

struct Classes<'a>(&'a [RequestClass]);
impl Serialize for Classes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_classes(self.0, s)
    }
}

struct Account<'a>(&'a [LimitSpec]);
impl Serialize for Account<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("limits", self.0)?;
        m.end()
    }
}

struct Named<'a, T, F: Fn(&T) -> &String>(&'a [T], F);
impl<T: Serialize, F: Fn(&T) -> &String> Serialize for Named<'_, T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for x in self.0 {
            m.serialize_entry((self.1)(x), x)?;
        }
        m.end()
    }
}

impl Scenario {
    /// Whether the scenario has two or more pools or two or more workloads: then the
    /// report carries `pools.*` and `workloads.*`.
    pub fn is_split(&self) -> bool {
        self.pools.len() > 1 || self.workloads.len() > 1
    }

    /// The index of the pool named `name`.
    pub fn pool_index(&self, name: &str) -> Option<usize> {
        self.pools.iter().position(|p| p.name == name)
    }
}

/// `[model]`, resolved from the preset and overrides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// The preset name.
    pub preset: String,
    /// Quota tokens per input token.
    pub input_burndown: u64,
    /// Quota tokens per output token.
    pub output_burndown: u64,
    /// Default `max_tokens`.
    pub max_output_tokens: u64,
    /// Decode speed.
    pub output_tokens_per_second: f64,
    /// `[model.prices]`, merged over the preset's default prices; `None` when the scenario
    /// gives none (the preset's prices apply, see [`Model::billed_prices`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices: Option<crate::cost::Prices>,
    /// The model row's service tiers (standard only when it lists none).
    #[serde(skip)]
    pub tiers: crate::quota::models::Tiers,
    /// The model row's tokenizer factor (`serve`'s text estimate).
    #[serde(skip)]
    pub tokenizer_factor: f64,
    /// Whether the model row is reachable only through inference profiles.
    #[serde(skip)]
    pub profile_only: bool,
}

impl Model {
    /// The prices this model is billed at: the scenario's `[model.prices]`, else its
    /// preset's.
    pub fn billed_prices(&self) -> Option<crate::cost::Prices> {
        self.prices
            .or_else(|| crate::cost::preset_prices(&self.preset))
    }

    /// The burndown rates.
    pub fn burndown(&self) -> Burndown {
        Burndown {
            input: self.input_burndown,
            output: self.output_burndown,
        }
    }
}

/// `[quota]`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaConfig {
    /// Tokens per minute (quota tokens); 0 when the quota is given only as
    /// `[[quota.limits]]`.
    #[serde(skip_serializing_if = "is_zero")]
    pub tokens_per_minute: u64,
    /// Admitted attempts per minute, if limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    /// Quota tokens per day, if limited (`"auto"` is resolved to TPM × 1440).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// The limiter algorithm.
    pub limiter: LimiterKind,
    /// The reservation formula.
    pub reserve: ReserveMode,
    /// Whether cache-read tokens are held (at the input rate) from admission to settlement.
    pub reserve_cache_reads: bool,
    /// The provider preset the short-form keys expand through.
    pub provider: Provider,
    /// Input tokens per minute, for presets with separate input and output limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens_per_minute: Option<u64>,
    /// Output tokens per minute, for presets with separate input and output limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_minute: Option<u64>,
    /// When output is charged.
    pub settle: Settle,
    /// The `max_tokens` part of a reservation is at least this (0: `max_tokens` itself).
    #[serde(skip_serializing_if = "is_zero")]
    pub reservation_floor: u64,
    /// Interval of streaming settlement, µs.
    #[serde(rename = "settle_interval", serialize_with = "ser_duration")]
    pub settle_interval_us: u64,
    /// Every limit enforced, in check order: the preset's expansion of the short-form keys,
    /// then `[[quota.limits]]`.
    pub limits: Vec<LimitSpec>,
    /// A streamed attempt whose output outgrows its reservation offers the excess to the
    /// limits at each settlement tick; a refusal ends the stream with a
    /// `throttlingException` event (docs/guide/streams-and-agents.md).
    #[serde(skip_serializing_if = "is_false")]
    pub mid_stream_throttle: bool,
    /// Throttles carry a retry hint: whole seconds until the refusing limit could admit the
    /// attempt (docs/retries.md, "Retry hints").
    #[serde(skip_serializing_if = "is_false")]
    pub retry_after: bool,
}

impl QuotaConfig {
    /// The quota these limits enforce for `model` (its burndown rates).
    pub fn build(&self, model: &Model) -> crate::quota::Quota {
        crate::quota::Quota::from_limits(&self.limits, model.burndown(), self.reserve, self.settle)
            .with_floor(self.reservation_floor)
    }
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

/// `[service]`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Time to first token, µs.
    #[serde(rename = "ttft", serialize_with = "ser_duration")]
    pub ttft_us: u64,
    /// Extra time to first token per 1000 input tokens, µs.
    #[serde(rename = "ttft_per_1k_input", serialize_with = "ser_duration")]
    pub ttft_per_1k_input_us: u64,
    /// Decode speed.
    pub output_tokens_per_second: f64,
    /// Delay before a throttle reaches the client, µs.
    #[serde(rename = "throttle_latency", serialize_with = "ser_duration")]
    pub throttle_latency_us: u64,
    /// Probability that an admitted attempt fails with a 503.
    pub error_rate: f64,
    /// Probability that an admitted `flex` attempt fails with a 503 while the pool is busy
    /// (default: `error_rate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flex_error_rate: Option<f64>,
}

impl Service {
    /// Time an admitted attempt with `input` tokens takes to produce `output` tokens, µs.
    #[inline]
    pub fn service_time_us(&self, input: u64, output: u64) -> u64 {
        // In u64 when the product fits (always, for real sizes): a u128 division is a
        // library call, a u64 division by a constant a multiplication.
        let prefill = match self.ttft_per_1k_input_us.checked_mul(input) {
            Some(x) if x < u64::MAX - 500 => (x + 500) / 1000,
            _ => {
                let p = (u128::from(self.ttft_per_1k_input_us) * u128::from(input) + 500) / 1000;
                u64::try_from(p).unwrap_or(u64::MAX)
            }
        };
        let decode = crate::num::round_u64(output as f64 * 1e6 / self.output_tokens_per_second);
        self.ttft_us.saturating_add(prefill).saturating_add(decode)
    }
}

/// `[client]`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Client {
    /// Maximum requests in flight (`None`: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// Default `max_tokens` for classes that do not set one.
    pub max_tokens: u64,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Attempts allowed per request, retries included.
    pub max_attempts: u32,
    /// Client-side pacing, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
    /// A request that has not succeeded this long after it arrived fails, µs.
    #[serde(
        rename = "timeout",
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_duration"
    )]
    pub timeout_us: Option<u64>,
    /// Whether `max_tokens` was set (else each attempt uses its serving pool's model
    /// maximum; `max_tokens` then holds the first pool's, for display).
    #[serde(skip)]
    pub max_tokens_set: bool,
    /// Every request streams its answer (`client.stream`; a class may set `stream` itself).
    #[serde(skip_serializing_if = "is_false")]
    pub stream: bool,
    /// The client retries a stream ended by a `throttlingException` event (default: only
    /// for `retry = "strands"`, whose agent loop does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_mid_stream: Option<bool>,
    /// botocore's 2026 retry behaviour (honour `x-amz-retry-after`), always on in botocore
    /// 1.44.8; `false` models earlier releases.
    #[serde(skip_serializing_if = "is_true")]
    pub new_retries_2026: bool,
}

impl Client {
    /// Whether a stream ended by a `throttlingException` event is retried.
    pub fn retries_mid_stream(&self) -> bool {
        self.retry_mid_stream
            .unwrap_or_else(|| self.retry.retries_mid_stream())
    }
}

impl Scenario {
    /// Parses and validates a scenario from TOML text; `file` names it in messages.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Scenario, crate::Error> {
        load::load_str(text, file, &[])
    }

    /// Like [`Scenario::from_toml_str`], applying `--set` overrides first.
    pub fn from_toml_str_with(
        text: &str,
        file: &str,
        overrides: &[Override],
    ) -> Result<Scenario, crate::Error> {
        load::load_str(text, file, overrides)
    }

    /// Reads, parses and validates a scenario file with overrides.
    pub fn from_path(
        path: &std::path::Path,
        overrides: &[Override],
    ) -> Result<Scenario, crate::Error> {
        load::load_path(path, overrides)
    }

    /// The fully resolved scenario as TOML (what `quotasim check` prints): itself a
    /// scenario, which runs to the same report.
    pub fn to_toml(&self) -> String {
        resolved::to_loadable_toml(self).unwrap_or_else(|| "# cannot render scenario\n".to_string())
    }

    /// Warnings about classes that can produce unservable requests: a reservation larger
    /// than a limit's whole capacity, which can never be admitted.
    pub fn unservable_warnings(&self) -> Vec<String> {
        if self.is_split() || !self.account.is_empty() {
            return self.route_warnings();
        }
        use crate::quota::{Counts, Footprint};
        let quota = self.quota.build(&self.model);
        let mut out = Vec::new();
        for c in &self.requests {
            let fp = Footprint::of(
                c.input_tokens.practical_max(),
                c.cache_write_tokens.practical_max(),
                c.cache_read_tokens.practical_max(),
                c.max_tokens,
                0,
                self.quota.reserve_cache_reads,
            );
            for (i, need) in quota.refusals(&fp) {
                let Some(l) = self.quota.limits.get(i) else {
                    continue;
                };
                let unit = match l.counts {
                    Counts::QuotaTokens => "quota tokens",
                    Counts::Requests => "requests",
                    _ => "tokens",
                };
                let always = c.input_tokens.is_fixed()
                    && c.cache_write_tokens.is_fixed()
                    && (!self.quota.reserve_cache_reads || c.cache_read_tokens.is_fixed());
                out.push(format!(
                    "class `{}` {} unservable requests: its reservation can reach {} {} \
                     (input + cache writes + max_tokens {}), more than quota.{} = {}; \
                     such requests are throttled on every attempt",
                    c.name,
                    if always { "makes only" } else { "can make" },
                    need,
                    unit,
                    c.max_tokens,
                    l.name,
                    l.limit
                ));
            }
        }
        out
    }
}

impl Scenario {
    /// With several pools, workloads or account limits: each class whose route has a pool
    /// that can never serve it (its reservation there exceeds a limit of the pool or of the
    /// account), and each account limit smaller than a pool's own limit of the same kind.
    /// A pool that no workload's route names: nothing is ever sent to it (a trace replay
    /// addresses pools by model ID, so there the warning is left out).
    pub fn pool_warnings(&self) -> Vec<String> {
        let traced = self
            .workloads
            .iter()
            .any(|w| matches!(w.arrivals, Arrivals::Trace(_)))
            || matches!(self.arrivals, Arrivals::Trace(_));
        if traced || self.pools.len() < 2 {
            return Vec::new();
        }
        self.pools
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.workloads.iter().any(|w| w.route.pools.contains(i)))
            .map(|(_, p)| {
                format!(
                    "pool `{}` is on no workload's route: run, sweep and plan send nothing to \
                     it and its figures stay 0 (only serve's clients reach it, by model ID); \
                     add it to a workloads.NAME.route, or remove it",
                    p.name
                )
            })
            .collect()
    }

    fn route_warnings(&self) -> Vec<String> {
        use crate::quota::{Footprint, Quota, ReserveMode, Settle};
        let account = Quota::from_limits(
            &self.account,
            self.model.burndown(),
            ReserveMode::InputPlusMaxTokens,
            Settle::AtCompletion,
        );
        let quotas: Vec<Quota> = self.pools.iter().map(|p| p.quota.build(&p.model)).collect();
        let mut out = Vec::new();
        for w in &self.workloads {
            for c in &w.requests {
                let mut never = Vec::new();
                for &pi in &w.route.pools {
                    let (Some(pool), Some(q)) = (self.pools.get(pi), quotas.get(pi)) else {
                        continue;
                    };
                    let m = if c.max_tokens_set {
                        c.max_tokens
                    } else {
                        pool.model.max_output_tokens
                    };
                    let fp = Footprint::of(
                        c.input_tokens.practical_max(),
                        c.cache_write_tokens.practical_max(),
                        c.cache_read_tokens.practical_max(),
                        m,
                        0,
                        pool.quota.reserve_cache_reads,
                    );
                    let by = q
                        .refusals(&fp)
                        .next()
                        .and_then(|(i, need)| pool.quota.limits.get(i).map(|l| (l, need)))
                        .or_else(|| {
                            if account.servable_at(&fp, q.rates()) {
                                return None;
                            }
                            self.account.iter().find_map(|l| {
                                let one = Quota::from_limits(
                                    std::slice::from_ref(l),
                                    pool.model.burndown(),
                                    pool.quota.reserve,
                                    Settle::AtCompletion,
                                );
                                one.refusals(&fp).next().map(|(_, need)| (l, need))
                            })
                        });
                    if let Some((l, need)) = by {
                        never.push(format!(
                            "on pool `{}` it can reserve {} (max_tokens {}), more than {} = {}",
                            pool.name, need, m, l.name, l.limit
                        ));
                    }
                }
                if never.is_empty() {
                    continue;
                }
                let all = never.len() == w.route.pools.len();
                out.push(format!(
                    "workload `{}` class `{}`: {} ({}); such requests are throttled on every attempt there",
                    w.name,
                    c.name,
                    if all {
                        "no pool of its route can ever serve it"
                    } else {
                        "a pool of its route can never serve it"
                    },
                    never.join("; ")
                ));
            }
        }
        for a in &self.account {
            for p in &self.pools {
                for l in &p.quota.limits {
                    if l.counts == a.counts && l.per_us == a.per_us && a.limit < l.limit {
                        out.push(format!(
                            "account limit `{}` ({} per {}) is smaller than pool `{}`'s own `{}` ({}): the pool can never use its whole limit",
                            a.name,
                            a.limit,
                            duration::format_duration(a.per_us),
                            p.name,
                            l.name,
                            l.limit
                        ));
                    }
                }
            }
        }
        out
    }

    /// Notes about the workload worth a warning: a replayed trace's unservable records and
    /// how its length compares with `duration`.
    pub fn workload_warnings(&self) -> Vec<String> {
        let mut out = self.pool_warnings();
        if let Arrivals::Trace(t) = &self.arrivals {
            if t.unservable > 0 {
                out.push(format!(
                    "{} of the {} records of {} reserve more quota tokens than a limit's whole capacity; they are unservable and will be throttled on every attempt",
                    t.unservable, t.info.records, t.file
                ));
            }
            let span = t.scaled(t.info.last_us.saturating_sub(t.info.first_us));
            let total = match t.repeat {
                crate::workload::Repeat::Times(n) => t
                    .period_us
                    .saturating_mul(n.saturating_sub(1))
                    .saturating_add(span),
                crate::workload::Repeat::Forever => return out,
            };
            if total >= self.duration_us {
                out.push(format!(
                    "the trace replays over {} but duration is {}: records from {} on are not replayed",
                    duration::format_duration(total.min(u64::MAX / 2)),
                    duration::format_duration(self.duration_us),
                    duration::format_duration(self.duration_us)
                ));
            } else if total.saturating_mul(10) < self.duration_us.saturating_mul(9) {
                out.push(format!(
                    "the trace ends after {} of the {} duration; nothing arrives after that (set arrivals.repeat to replay it again)",
                    duration::format_duration(total),
                    duration::format_duration(self.duration_us)
                ));
            }
        }
        out
    }
}

fn ser_classes<S: Serializer>(classes: &[RequestClass], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(classes.len()))?;
    for c in classes {
        m.serialize_entry(&c.name, c)?;
    }
    m.end()
}
