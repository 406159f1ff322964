//! `[quota]`: the short-form sizes expanded by provider preset, `[[quota.limits]]` and the
//! limiter settings; and `[[account.limits]]`, which are limits of the same shape that every
//! pool draws from, so they are read by the same code.

use super::{int_at_least, under};
use crate::quota::providers::{self, Sizes};
use crate::quota::{AdmitCheck, Charge, Counts, LimitSpec, MAX_LIMITS};
use crate::scenario::QuotaConfig;
use crate::scenario::invalid::{Invalid, R, bad, did_you_mean};
use crate::scenario::raw::{RawAccount, RawLimit, RawQuota, RawTokensPerDay};
use crate::workload::dist::quoted;

pub(crate) fn resolve_quota(q: RawQuota, preset: &str) -> R<QuotaConfig> {
    let has_limits = q.limits.as_ref().is_some_and(|l| !l.is_empty());
    let reserved = q.provider == Some(crate::quota::Provider::BedrockReserved);
    let reservation_floor = match q.reservation_floor {
        None => 0,
        Some(n) if n < 0 => {
            return bad(
                "quota.reservation_floor",
                format!(
                    "expected a number of tokens ≥ 0 (the smallest max_tokens a reservation counts; 0 = max_tokens itself), found {n}"
                ),
            );
        }
        Some(n) => int_at_least(Some(n), 0, "quota.reservation_floor")?.unwrap_or(0),
    };
    if reserved {
        for (key, present) in [
            ("tokens_per_minute", q.tokens_per_minute.is_some()),
            ("requests_per_minute", q.requests_per_minute.is_some()),
            ("tokens_per_day", q.tokens_per_day.is_some()),
        ] {
            if present {
                return bad(
                    format!("quota.{key}"),
                    format!(
                        "provider = \"bedrock-reserved\" reserves input and output tokens per minute separately and has no `{key}`: set `input_tokens_per_minute` and `output_tokens_per_minute`"
                    ),
                );
            }
        }
        if q.input_tokens_per_minute.is_none() || q.output_tokens_per_minute.is_none() {
            let missing: Vec<&str> = [
                (
                    "input_tokens_per_minute",
                    q.input_tokens_per_minute.is_none(),
                ),
                (
                    "output_tokens_per_minute",
                    q.output_tokens_per_minute.is_none(),
                ),
            ]
            .into_iter()
            .filter(|(_, m)| *m)
            .map(|(k, _)| k)
            .collect();
            return bad(
                "quota.provider",
                format!(
                    "a reserved pool (provider = \"bedrock-reserved\") needs both of its limits, `input_tokens_per_minute` and `output_tokens_per_minute` (the reserved capacity); missing: `{}`",
                    missing.join("`, `")
                ),
            );
        }
    }
    let tpm = match int_at_least(q.tokens_per_minute, 1, "quota.tokens_per_minute")? {
        Some(t) => t,
        None if has_limits || reserved => 0,
        None => {
            return bad(
                "quota.tokens_per_minute",
                "missing required key `tokens_per_minute` (e.g. 200000), or a list of [[quota.limits]]",
            );
        }
    };
    let provider = q.provider.unwrap_or_default();
    let sized = |key: &str, v: Option<i64>| -> R<Option<u64>> {
        let got = int_at_least(v, 1, &format!("quota.{key}"))?;
        if got.is_some() && tpm == 0 && !reserved {
            return bad(
                format!("quota.{key}"),
                "short-form sizes need `tokens_per_minute` as well",
            );
        }
        Ok(got)
    };
    let tokens_per_day = match q.tokens_per_day {
        None => None,
        Some(RawTokensPerDay::Auto) => Some(tpm.saturating_mul(1440)),
        Some(RawTokensPerDay::Limit(n)) => sized("tokens_per_day", Some(n))?,
    };
    if tpm == 0 && tokens_per_day.is_some() {
        return bad(
            "quota.tokens_per_day",
            "short-form sizes need `tokens_per_minute` as well",
        );
    }
    let requests_per_minute = sized("requests_per_minute", q.requests_per_minute)?;
    let input_tokens_per_minute = sized("input_tokens_per_minute", q.input_tokens_per_minute)?;
    let output_tokens_per_minute = sized("output_tokens_per_minute", q.output_tokens_per_minute)?;
    if tpm == 0 && q.provider.is_some() && !reserved {
        return bad(
            "quota.provider",
            "a provider preset takes its sizes from `tokens_per_minute` (and the other short-form keys); set it",
        );
    }
    let separate = matches!(
        provider,
        crate::quota::Provider::BedrockMantle
            | crate::quota::Provider::Anthropic
            | crate::quota::Provider::BedrockReserved
    );
    for (key, v) in [
        ("input_tokens_per_minute", input_tokens_per_minute),
        ("output_tokens_per_minute", output_tokens_per_minute),
    ] {
        if v.is_some() && !separate {
            return bad(
                format!("quota.{key}"),
                format!(
                    "`{key}` applies to providers with separate input and output limits (\"bedrock-mantle\", \"anthropic\", \"bedrock-reserved\"), not \"{}\"",
                    provider_name(provider)
                ),
            );
        }
    }
    let limiter = q.limiter.unwrap_or_else(|| provider.default_limiter());
    let mut limits = if tpm > 0 || reserved {
        providers::expand(
            provider,
            limiter,
            &Sizes {
                tokens_per_minute: tpm,
                requests_per_minute,
                tokens_per_day,
                input_tokens_per_minute,
                output_tokens_per_minute,
                count_rejected: q.count_rejected,
                requests_per_1000_tpm: azure_ratio(&q, provider)?,
                cache_reads_count: provider == crate::quota::Provider::Anthropic
                    && providers::ANTHROPIC_CACHE_READS_COUNT.contains(&preset),
            },
        )
    } else {
        Vec::new()
    };
    for (i, raw) in q.limits.unwrap_or_default().into_iter().enumerate() {
        let spec = resolve_limit(raw, i, limiter)?;
        push_distinct(&mut limits, spec, "quota.limits", i, "a limit")?;
    }
    at_most_max_limits(&limits, "quota.limits")?;
    let settle_interval_us = match q.settle_interval {
        None => 1_000_000,
        Some(d) if d.0 == 0 => return bad("quota.settle_interval", "expected a duration > 0"),
        Some(d) => d.0,
    };
    let settle = q.settle.unwrap_or_default();
    let mid_stream_throttle = q.mid_stream_throttle.unwrap_or(false);
    if mid_stream_throttle && settle != crate::quota::Settle::Streaming {
        return bad(
            "quota.mid_stream_throttle",
            "a throttle inside a stream happens at a settlement tick: it needs quota.settle = \"streaming\"",
        );
    }
    Ok(QuotaConfig {
        mid_stream_throttle,
        retry_after: q.retry_after.unwrap_or(false),
        tokens_per_minute: tpm,
        requests_per_minute,
        tokens_per_day,
        limiter,
        reserve: q.reserve.unwrap_or_default(),
        reserve_cache_reads: q.reserve_cache_reads.unwrap_or(false),
        provider,
        input_tokens_per_minute,
        output_tokens_per_minute,
        settle,
        settle_interval_us,
        reservation_floor,
        limits,
    })
}

fn provider_name(p: crate::quota::Provider) -> &'static str {
    use crate::quota::Provider;
    match p {
        Provider::Bedrock => "bedrock",
        Provider::BedrockMantle => "bedrock-mantle",
        Provider::Anthropic => "anthropic",
        Provider::Openai => "openai",
        Provider::AzureOpenai => "azure-openai",
        Provider::BedrockReserved => "bedrock-reserved",
    }
}

/// Period names `per` accepts besides a duration.
const PERIOD_NAMES: [&str; 4] = ["second", "minute", "hour", "day"];

/// `quota.requests_per_1000_tpm`: Azure OpenAI's requests-per-minute ratio, a number > 0.
fn azure_ratio(q: &RawQuota, provider: crate::quota::Provider) -> R<Option<f64>> {
    let Some(v) = q.requests_per_1000_tpm else {
        return Ok(None);
    };
    if provider != crate::quota::Provider::AzureOpenai {
        return bad(
            "quota.requests_per_1000_tpm",
            "`requests_per_1000_tpm` applies to provider = \"azure-openai\" only",
        );
    }
    if !(v.is_finite() && v > 0.0) {
        return bad(
            "quota.requests_per_1000_tpm",
            format!("expected a number > 0 (requests per minute per 1,000 TPM), got {v}"),
        );
    }
    Ok(Some(v))
}

pub(crate) fn resolve_limit(
    raw: RawLimit,
    i: usize,
    default_limiter: crate::quota::LimiterKind,
) -> R<LimitSpec> {
    let base = format!("quota.limits[{i}]");
    let Some(counts) = raw.counts else {
        return bad(
            format!("{base}.counts"),
            format!(
                "missing required key `counts`; expected one of {}",
                quoted(&Counts::NAMES)
            ),
        );
    };
    let per_us = match &raw.per {
        None => crate::quota::MINUTE_US,
        Some(toml::Value::String(p)) => match p.as_str() {
            "second" => 1_000_000,
            "minute" => crate::quota::MINUTE_US,
            "hour" => 3_600_000_000,
            "day" => crate::quota::DAY_US,
            other => match crate::duration::parse_duration(other) {
                Ok(0) => return bad(format!("{base}.per"), "expected a period > 0"),
                Ok(us) => us,
                Err(_) => {
                    return Err(Invalid {
                        path: format!("{base}.per"),
                        message: format!(
                            "unknown period \"{other}\"; expected one of {} or a duration such as \"10s\"",
                            quoted(&PERIOD_NAMES)
                        ),
                        help: did_you_mean(other, &PERIOD_NAMES),
                        at_key: false,
                        foreign: None,
                    });
                }
            },
        },
        Some(other) => {
            return bad(
                format!("{base}.per"),
                format!(
                    "expected one of {} or a duration string such as \"10s\", found a {}",
                    quoted(&PERIOD_NAMES),
                    other.type_str()
                ),
            );
        }
    };
    let Some(limit) = int_at_least(raw.limit, 1, &format!("{base}.limit"))? else {
        return bad(
            format!("{base}.limit"),
            "missing required key `limit` (an integer ≥ 1: the capacity per period)",
        );
    };
    let charge = raw.charge.unwrap_or_default();
    if charge == Charge::AsGenerated
        && !matches!(
            counts,
            Counts::QuotaTokens | Counts::OutputTokens | Counts::Tokens
        )
    {
        return bad(
            format!("{base}.charge"),
            "charge = \"as-generated\" applies only to limits that count output (\"quota-tokens\", \"output-tokens\", \"tokens\")",
        );
    }
    if raw.admit.is_some() && charge != Charge::AsGenerated {
        return bad(
            format!("{base}.admit"),
            "`admit` applies only to charge = \"as-generated\" (a reserved limit always checks its reservation)",
        );
    }
    let name = raw.name.unwrap_or_else(|| format!("limits[{i}]"));
    if name.is_empty() {
        return bad(format!("{base}.name"), "expected a non-empty name");
    }
    Ok(LimitSpec {
        name,
        counts,
        per_us,
        limit,
        limiter: raw.limiter.unwrap_or(default_limiter),
        charge,
        admit: raw.admit.unwrap_or(AdmitCheck::Available),
        count_rejected: raw.count_rejected.unwrap_or(false),
    })
}

/// `[[account.limits]]`: limits shaped like `[[quota.limits]]`, so an error found by
/// [`resolve_limit`] is moved to the key path under `account`.
pub(crate) fn resolve_account(raw: Option<RawAccount>) -> R<Vec<LimitSpec>> {
    let mut account: Vec<LimitSpec> = Vec::new();
    if let Some(a) = raw {
        for (i, l) in a.limits.unwrap_or_default().into_iter().enumerate() {
            let spec = under(
                resolve_limit(l, i, crate::quota::LimiterKind::FixedWindow),
                "quota.limits",
                "account.limits",
            )?;
            push_distinct(&mut account, spec, "account.limits", i, "an account limit")?;
        }
        at_most_max_limits(&account, "account.limits")?;
    }
    Ok(account)
}

/// Appends `spec` to `limits` (the list at key `key`, `spec` its `i`-th entry, `what` its
/// kind in the message) unless a limit of the same name is already there.
fn push_distinct(
    limits: &mut Vec<LimitSpec>,
    spec: LimitSpec,
    key: &str,
    i: usize,
    what: &str,
) -> R<()> {
    if limits.iter().any(|l| l.name == spec.name) {
        return bad(
            format!("{key}[{i}].name"),
            format!(
                "{what} named \"{}\" already exists; give each limit a distinct `name`",
                spec.name
            ),
        );
    }
    limits.push(spec);
    Ok(())
}

/// Refuses more than [`MAX_LIMITS`] limits in the list at key `key`.
fn at_most_max_limits(limits: &[LimitSpec], key: &str) -> R<()> {
    if limits.len() > MAX_LIMITS {
        return bad(
            key,
            format!(
                "{} limits in all; at most {MAX_LIMITS} are supported",
                limits.len()
            ),
        );
    }
    Ok(())
}
