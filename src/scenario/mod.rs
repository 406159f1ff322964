//! Scenarios: the TOML format of SPEC §8, its validation, and `--set` overrides.
//!
//! Loading goes text → TOML table → overrides applied → `raw` structs (unknown keys
//! rejected) → [`Scenario`] (every default resolved, every value checked). Any failure
//! becomes a [`Diagnostic`](crate::Diagnostic) naming the file, line, column and key path.

pub mod dist;
pub mod duration;
pub(crate) mod load;
mod raw;
mod resolve;

use serde::{Serialize, Serializer};

use crate::client::{Pacing, RetryPolicy};
use crate::quota::{Burndown, LimitSpec, LimiterKind, Provider, ReserveMode, Settle};
use crate::workload::{Arrivals, RequestClass};

pub use load::Override;
pub(crate) use load::locate_value;

/// A fully resolved, validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Name (defaults to the file name without extension).
    pub name: String,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed of every random stream.
    pub seed: u64,
    /// Arrivals happen in `[0, duration)`, µs.
    #[serde(rename = "duration", serialize_with = "ser_duration")]
    pub duration_us: u64,
    /// Requests arriving before this are excluded from the report's counts, µs.
    #[serde(rename = "warmup", serialize_with = "ser_duration")]
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
    #[serde(serialize_with = "ser_classes")]
    pub requests: Vec<RequestClass>,
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
}

impl Model {
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
    /// Interval of streaming settlement, µs.
    #[serde(rename = "settle_interval", serialize_with = "ser_duration")]
    pub settle_interval_us: u64,
    /// Every limit enforced, in check order: the preset's expansion of the short-form keys,
    /// then `[[quota.limits]]`.
    pub limits: Vec<LimitSpec>,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
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
}

impl Service {
    /// Time an admitted attempt with `input` tokens takes to produce `output` tokens, µs.
    #[inline]
    pub fn service_time_us(&self, input: u64, output: u64) -> u64 {
        let prefill = (u128::from(self.ttft_per_1k_input_us) * u128::from(input) + 500) / 1000;
        let decode = crate::num::round_u64(output as f64 * 1e6 / self.output_tokens_per_second);
        self.ttft_us
            .saturating_add(u64::try_from(prefill).unwrap_or(u64::MAX))
            .saturating_add(decode)
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

    /// The fully resolved scenario as TOML (what `quotasim check` prints).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render scenario: {e}\n"))
    }

    /// Warnings about classes that can produce unservable requests: a reservation larger
    /// than a limit's whole capacity, which can never be admitted.
    pub fn unservable_warnings(&self) -> Vec<String> {
        use crate::quota::{Counts, Footprint, Quota};
        let b = self.model.burndown();
        let mut out = Vec::new();
        for c in &self.requests {
            let fp = Footprint {
                prompt: c
                    .input_tokens
                    .practical_max()
                    .saturating_add(c.cache_write_tokens.practical_max()),
                cache_read: c.cache_read_tokens.practical_max(),
                held_reads: if self.quota.reserve_cache_reads {
                    c.cache_read_tokens.practical_max()
                } else {
                    0
                },
                max_tokens: c.max_tokens,
                output: 0,
            };
            for l in &self.quota.limits {
                let one = Quota::from_limits(
                    std::slice::from_ref(l),
                    b,
                    self.quota.reserve,
                    self.quota.settle,
                );
                if one.servable(&fp) {
                    continue;
                }
                let (need, unit) = match l.counts {
                    Counts::QuotaTokens => (
                        b.reservation(
                            self.quota.reserve,
                            fp.prompt.saturating_add(fp.held_reads),
                            0,
                            fp.max_tokens,
                        ),
                        "quota tokens",
                    ),
                    Counts::OutputTokens => (fp.max_tokens, "tokens"),
                    _ => (fp.prompt.saturating_add(fp.max_tokens), "tokens"),
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
    /// Notes about the workload worth a warning: a replayed trace's unservable records and
    /// how its length compares with `duration`.
    pub fn workload_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
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

/// Serializes µs as a duration string such as `"250ms"`.
pub fn ser_duration<S: Serializer>(us: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration::format_duration(*us))
}

fn ser_opt_duration<S: Serializer>(us: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match us {
        Some(us) => ser_duration(us, s),
        None => s.serialize_none(),
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
