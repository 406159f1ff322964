//! `[client]`: concurrency, `max_tokens`, the retry policy (a named SDK behaviour or an
//! exponential or fixed table), client-side pacing and the timeout.

use super::int_at_least;
use crate::client::retry::RETRY_NAMES;
use crate::client::{Jitter, Pacing, RetryPolicy};
use crate::scenario::invalid::{Invalid, R, a_type, bad, did_you_mean};
use crate::scenario::raw::{RawClient, RawRetryTable};
use crate::scenario::{Client, Model};
use crate::workload::dist::quoted;

pub(crate) fn resolve_client(c: &RawClient, model: &Model) -> R<Client> {
    let concurrency = int_at_least(c.concurrency, 1, "client.concurrency")?;
    let max_tokens =
        int_at_least(c.max_tokens, 1, "client.max_tokens")?.unwrap_or(model.max_output_tokens);
    let (retry, table_attempts) = match &c.retry {
        None => (RetryPolicy::AwsStandard, None),
        Some(toml::Value::String(s)) => (retry_by_name(s)?, None),
        Some(v @ toml::Value::Table(_)) => {
            let t: RawRetryTable =
                crate::scenario::invalid::deserialize_at(v.clone(), "client.retry")?;
            let attempts = int_at_least(t.max_attempts, 1, "client.retry.max_attempts")?;
            match t.mode.as_str() {
                "exponential" => {
                    if t.delay.is_some() {
                        return bad(
                            "client.retry.delay",
                            "`delay` belongs to mode = \"fixed\"; exponential takes `base` and `cap`",
                        );
                    }
                    (exponential_table(&t)?, attempts)
                }
                "fixed" => {
                    for (k, present) in [
                        ("base", t.base.is_some()),
                        ("cap", t.cap.is_some()),
                        ("jitter", t.jitter.is_some()),
                    ] {
                        if present {
                            return bad(
                                format!("client.retry.{k}"),
                                format!(
                                    "`{k}` does not apply to mode = \"fixed\" (it takes `delay` and `max_attempts`)"
                                ),
                            );
                        }
                    }
                    let Some(delay) = t.delay else {
                        return bad(
                            "client.retry.delay",
                            "mode = \"fixed\" needs `delay` (e.g. \"15s\")",
                        );
                    };
                    (RetryPolicy::Fixed { delay_us: delay.0 }, attempts)
                }
                other => {
                    let names = ["exponential", "fixed"];
                    return Err(Invalid {
                        path: "client.retry.mode".into(),
                        message: format!(
                            "unknown retry table mode \"{other}\"; expected one of {}",
                            quoted(&names)
                        ),
                        help: did_you_mean(other, &names),
                        at_key: false,
                        foreign: None,
                    });
                }
            }
        }
        Some(other) => {
            return bad(
                "client.retry",
                format!(
                    "expected one of {} or a table {{ mode = \"exponential\" | \"fixed\", … }}, found {}",
                    quoted(&RETRY_NAMES),
                    a_type(other)
                ),
            );
        }
    };
    let max_attempts =
        match int_at_least(c.max_attempts, 1, "client.max_attempts")?.or(table_attempts) {
            None => retry.default_max_attempts(),
            Some(n) if n > 1000 => {
                return bad(
                    "client.max_attempts",
                    format!("{n} attempts is too many (at most 1000)"),
                );
            }
            Some(n) if n > 1 && retry == RetryPolicy::None => {
                return bad(
                    "client.max_attempts",
                    "retry = \"none\" makes exactly one attempt; choose a retry mode to allow more",
                );
            }
            Some(n) => n as u32,
        };
    let pacing = match &c.pacing {
        None => None,
        Some(p) => {
            let tokens_per_minute =
                int_at_least(p.tokens_per_minute, 1, "client.pacing.tokens_per_minute")?;
            let requests_per_minute = int_at_least(
                p.requests_per_minute,
                1,
                "client.pacing.requests_per_minute",
            )?;
            if tokens_per_minute.is_none() && requests_per_minute.is_none() {
                return bad(
                    "client.pacing",
                    "pacing needs `tokens_per_minute`, `requests_per_minute` or both",
                );
            }
            let burst = match p.burst {
                None => 1.0,
                Some(b) if b.is_finite() && b > 0.0 && b <= 1.0 => b,
                Some(b) => {
                    return bad(
                        "client.pacing.burst",
                        format!(
                            "expected a fraction 0 < burst ≤ 1 of a minute's allowance, found {b}"
                        ),
                    );
                }
            };
            Some(Pacing {
                tokens_per_minute,
                requests_per_minute,
                count: p.count.unwrap_or_default(),
                burst,
            })
        }
    };
    let timeout_us = match c.timeout {
        None => None,
        Some(d) if d.0 == 0 => return bad("client.timeout", "expected a duration > 0"),
        Some(d) => Some(d.0),
    };
    if c.new_retries_2026.is_some() && !retry.is_botocore_standard() {
        return bad(
            "client.new_retries_2026",
            "botocore's 2026 retry behaviour applies to retry = \"aws-standard\", \"aws-adaptive\" or \"strands\" (whose calls are botocore's)",
        );
    }
    Ok(Client {
        stream: c.stream.unwrap_or(false),
        retry_mid_stream: c.retry_mid_stream,
        new_retries_2026: c.new_retries_2026.unwrap_or(true),
        concurrency,
        max_tokens,
        retry,
        max_attempts,
        pacing,
        timeout_us,
        max_tokens_set: c.max_tokens.is_some(),
    })
}

fn exponential_table(t: &RawRetryTable) -> R<RetryPolicy> {
    let base_us = t.base.map_or(1_000_000, |d| d.0);
    let cap_us = t.cap.map_or(20_000_000, |d| d.0);
    if base_us == 0 {
        return bad("client.retry.base", "expected a duration > 0");
    }
    if cap_us < base_us {
        return bad("client.retry.cap", "cap must be at least base");
    }
    let jitter = match t.jitter.as_deref().unwrap_or("full") {
        "full" => Jitter::Full,
        "equal" => Jitter::Equal,
        "decorrelated" => Jitter::Decorrelated,
        "none" => Jitter::None,
        other => {
            let names = ["full", "equal", "decorrelated", "none"];
            return Err(Invalid {
                path: "client.retry.jitter".into(),
                message: format!(
                    "unknown jitter \"{other}\"; expected one of {}",
                    quoted(&names)
                ),
                help: did_you_mean(other, &names),
                at_key: false,
                foreign: None,
            });
        }
    };
    Ok(RetryPolicy::Exponential {
        base_us,
        cap_us,
        jitter,
    })
}

fn retry_by_name(s: &str) -> R<RetryPolicy> {
    match s {
        "none" => Ok(RetryPolicy::None),
        "aws-legacy" | "legacy" => Ok(RetryPolicy::AwsLegacy),
        "aws-standard" | "standard" => Ok(RetryPolicy::AwsStandard),
        "aws-adaptive" | "adaptive" => Ok(RetryPolicy::AwsAdaptive),
        "anthropic-sdk" => Ok(RetryPolicy::AnthropicSdk),
        "openai-sdk" => Ok(RetryPolicy::OpenaiSdk),
        "litellm" => Ok(RetryPolicy::Litellm),
        "strands" => Ok(RetryPolicy::Strands),
        other => Err(Invalid {
            path: "client.retry".into(),
            message: format!(
                "unknown retry mode \"{other}\"; expected one of {} or a table {{ mode = \"exponential\", base, cap, jitter, max_attempts }} or {{ mode = \"fixed\", delay, max_attempts }}",
                quoted(&RETRY_NAMES)
            ),
            help: did_you_mean(other, &RETRY_NAMES),
            at_key: false,
            foreign: None,
        }),
    }
}
