//! The scenario file as written: serde structs that reject unknown keys. Values whose
//! shape depends on other values (distributions, retry tables) stay as `toml::Value` and are
//! checked in `resolve`, where the key path is known.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

pub(crate) use crate::duration::RawDuration;
use crate::quota::{AdmitCheck, Charge, Counts, LimiterKind, Provider, ReserveMode, Settle};

/// `tokens_per_day`: an integer or `"auto"` (TPM × 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawTokensPerDay {
    Auto,
    Limit(i64),
}

impl<'de> Deserialize<'de> for RawTokensPerDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawTokensPerDay;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer ≥ 1 or \"auto\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawTokensPerDay, E> {
                if s == "auto" {
                    Ok(RawTokensPerDay::Auto)
                } else {
                    Err(E::custom(format!(
                        "expected an integer ≥ 1 or \"auto\", found \"{s}\""
                    )))
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawTokensPerDay, E> {
                Ok(RawTokensPerDay::Limit(n))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `start`: the wall-clock instant of simulated time 0 (RFC 3339).
    pub start: Option<String>,
    pub seed: Option<u64>,
    pub duration: Option<RawDuration>,
    pub warmup: Option<RawDuration>,
    #[serde(default)]
    pub model: RawModel,
    pub quota: Option<RawQuota>,
    #[serde(default)]
    pub service: RawService,
    pub client: Option<RawClient>,
    pub arrivals: Option<RawArrivals>,
    pub requests: Option<BTreeMap<String, RawClass>>,
    /// `tier`: the default workload's service tier (not with `[workloads]`).
    pub tier: Option<String>,
    /// `[[models]]`: model rows that add to or override the bundled table.
    pub models: Option<Vec<crate::quota::models::ModelRow>>,
    /// `[pools.NAME]`: separate quota pools (not with `[quota]`).
    pub pools: Option<BTreeMap<String, RawPool>>,
    /// `[account]`: account-wide limits every pool draws from.
    pub account: Option<RawAccount>,
    /// `[workloads.NAME]`: several applications (not with top-level arrivals, requests or
    /// client).
    pub workloads: Option<BTreeMap<String, RawWorkload>>,
    /// `[sweep]`: read by `quotasim sweep` (see `crate::sweep::config`); `run` ignores it.
    #[allow(dead_code)]
    pub sweep: Option<toml::Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub preset: Option<String>,
    pub input_burndown: Option<i64>,
    pub output_burndown: Option<i64>,
    pub max_output_tokens: Option<i64>,
    pub output_tokens_per_second: Option<f64>,
    pub prices: Option<RawPrices>,
}

/// `[model.prices]`: USD per million tokens; omitted keys come from the preset.
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrices {
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_write: Option<f64>,
    pub cache_read: Option<f64>,
}

/// Declares `[quota]` ([`RawQuota`]) and `[pools.NAME]` ([`RawPool`]) from one list of the
/// quota keys: a pool takes every key of `[quota]` plus its own. (serde's `flatten` would
/// say it once too, but it cannot be combined with `deny_unknown_fields`, which gives the
/// "unknown key, expected one of" errors.)
macro_rules! quota_tables {
    ($($key:ident: $ty:ty,)*) => {
        #[derive(Debug, Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        /// `[quota]`: one pool's limits, in short form or as `[[quota.limits]]`.
        pub(crate) struct RawQuota {
            $(pub $key: Option<$ty>,)*
        }

        /// One `[pools.NAME]` table: the keys of `[quota]` plus the pool's own `model`,
        /// `service` and the model IDs that address it.
        #[derive(Debug, Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct RawPool {
            $(pub $key: Option<$ty>,)*
            /// A preset name or a `[model]`-shaped table.
            pub model: Option<toml::Value>,
            pub service: Option<RawService>,
            pub model_ids: Option<Vec<String>>,
            pub price_premium: Option<f64>,
            pub price_reserved_per_1k_tpm_month: Option<f64>,
        }

        impl RawPool {
            /// The quota part, shaped like `[quota]` (taken out of the pool).
            pub fn quota(&mut self) -> RawQuota {
                RawQuota {
                    $($key: self.$key.take(),)*
                }
            }
        }
    };
}

quota_tables! {
    tokens_per_minute: i64,
    requests_per_minute: i64,
    tokens_per_day: RawTokensPerDay,
    limiter: LimiterKind,
    reserve: ReserveMode,
    reserve_cache_reads: bool,
    provider: Provider,
    input_tokens_per_minute: i64,
    output_tokens_per_minute: i64,
    settle: Settle,
    settle_interval: RawDuration,
    limits: Vec<RawLimit>,
    count_rejected: bool,
    requests_per_1000_tpm: f64,
    mid_stream_throttle: bool,
    retry_after: bool,
    reservation_floor: i64,
}

/// One `[[quota.limits]]` table.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimit {
    pub name: Option<String>,
    pub counts: Option<Counts>,
    pub per: Option<toml::Value>,
    pub limit: Option<i64>,
    pub limiter: Option<LimiterKind>,
    pub charge: Option<Charge>,
    pub admit: Option<AdmitCheck>,
    pub count_rejected: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    pub ttft: Option<RawDuration>,
    pub ttft_per_1k_input: Option<RawDuration>,
    pub output_tokens_per_second: Option<f64>,
    pub throttle_latency: Option<RawDuration>,
    pub error_rate: Option<f64>,
    pub flex_error_rate: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub concurrency: Option<i64>,
    pub max_tokens: Option<i64>,
    pub retry: Option<toml::Value>,
    pub max_attempts: Option<i64>,
    pub pacing: Option<RawPacing>,
    pub timeout: Option<RawDuration>,
    pub stream: Option<bool>,
    pub retry_mid_stream: Option<bool>,
    pub new_retries_2026: Option<bool>,
}

/// `client.pacing = { tokens_per_minute, requests_per_minute, count, burst }`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPacing {
    pub tokens_per_minute: Option<i64>,
    pub requests_per_minute: Option<i64>,
    pub count: Option<ReserveMode>,
    pub burst: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArrivals {
    pub process: Option<String>,
    pub rate_per_minute: Option<f64>,
    pub clients: Option<i64>,
    pub think_time: Option<RawDuration>,
    pub cv: Option<f64>,
    pub on_rate_per_minute: Option<f64>,
    pub off_rate_per_minute: Option<f64>,
    pub mean_on: Option<RawDuration>,
    pub mean_off: Option<RawDuration>,
    pub schedule: Option<Vec<RawSchedulePoint>>,
    pub schedule_period: Option<RawDuration>,
    pub file: Option<String>,
    pub format: Option<String>,
    pub time_scale: Option<f64>,
    pub repeat: Option<toml::Value>,
}

/// One `[[arrivals.schedule]]` point.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchedulePoint {
    pub at: Option<RawDuration>,
    pub rate_per_minute: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClass {
    pub weight: Option<f64>,
    pub input_tokens: Option<toml::Value>,
    pub output_tokens: Option<toml::Value>,
    pub cache_write_tokens: Option<toml::Value>,
    pub cache_read_tokens: Option<toml::Value>,
    pub max_tokens: Option<i64>,
    pub stream: Option<bool>,
}

/// A custom retry table: `{ mode = "exponential", base, cap, jitter, max_attempts }` or
/// `{ mode = "fixed", delay, max_attempts }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetryTable {
    pub mode: String,
    pub delay: Option<RawDuration>,
    pub base: Option<RawDuration>,
    pub cap: Option<RawDuration>,
    pub jitter: Option<String>,
    pub max_attempts: Option<i64>,
}

/// `[account]`: `[[account.limits]]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    pub limits: Option<Vec<RawLimit>>,
}

/// One `[workloads.NAME]` table, shaped like the top-level workload tables plus `route`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkload {
    pub arrivals: Option<RawArrivals>,
    pub requests: Option<BTreeMap<String, RawClass>>,
    #[serde(default)]
    pub client: RawClient,
    pub route: Option<toml::Value>,
    pub tier: Option<String>,
}

/// `route = { pools, policy, weights, on }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub pools: Option<Vec<String>>,
    pub policy: Option<String>,
    pub weights: Option<Vec<f64>>,
    pub on: Option<String>,
}
