//! Validation: raw structs → [`Scenario`], resolving every default of SPEC §8.

use super::dist::{Dist, RawDist, quoted};
use super::raw::{RawArrivals, RawClass, RawClient, RawRetryTable, RawScenario, RawTokensPerDay};
use super::{Client, Model, QuotaConfig, Scenario, Service};
use crate::client::retry::RETRY_NAMES;
use crate::client::{Jitter, RetryPolicy};
use crate::error::nearest;
use crate::quota::models;
use crate::workload::arrivals::PROCESS_NAMES;
use crate::workload::{Arrivals, RequestClass};

/// A validation failure at a key path.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub path: String,
    pub message: String,
    pub help: Option<String>,
    /// Point at the key itself rather than its value (an unknown key).
    pub at_key: bool,
}

type R<T> = Result<T, Invalid>;

fn bad<T>(path: impl Into<String>, message: impl Into<String>) -> R<T> {
    Err(Invalid {
        path: path.into(),
        message: message.into(),
        help: None,
        at_key: false,
    })
}

fn did_you_mean(word: &str, choices: &[&str]) -> Option<String> {
    nearest(word, choices.iter().copied()).map(|n| format!("did you mean \"{n}\"?"))
}

/// Upper bound on user integers so that products in the engine cannot overflow.
const MAX_INT: i64 = 1 << 50;

fn int_at_least(v: Option<i64>, min: i64, path: &str) -> R<Option<u64>> {
    match v {
        None => Ok(None),
        Some(n) if n < min => bad(path, format!("expected an integer ≥ {min}, found {n}")),
        Some(n) if n > MAX_INT => bad(path, format!("{n} is too large (the maximum is {MAX_INT})")),
        Some(n) => Ok(Some(n as u64)),
    }
}

fn positive_number(v: Option<f64>, path: &str) -> R<Option<f64>> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && x > 0.0 && x < 1e15 => Ok(Some(x)),
        Some(x) => bad(path, format!("expected a number > 0, found {x}")),
    }
}

pub(crate) fn resolve(raw: RawScenario, default_name: &str) -> R<Scenario> {
    let duration_us = match raw.duration {
        None => {
            return bad(
                "duration",
                "missing required key `duration` (e.g. duration = \"10m\")",
            );
        }
        Some(d) if d.0 == 0 => return bad("duration", "expected a duration > 0, found 0"),
        Some(d) => d.0,
    };
    let warmup_us = raw.warmup.map_or(0, |w| w.0);
    if warmup_us >= duration_us {
        return bad(
            "warmup",
            "warmup must be shorter than duration, or nothing would be measured",
        );
    }

    // [model]
    let preset_name = raw.model.preset.clone().unwrap_or_else(|| "other".into());
    let Some(preset) = models::preset(&preset_name) else {
        let names: Vec<&str> = models::preset_names().collect();
        return Err(Invalid {
            path: "model.preset".into(),
            message: format!(
                "unknown model preset \"{preset_name}\"; expected one of {}",
                quoted(&names)
            ),
            help: did_you_mean(&preset_name, &names),
            at_key: false,
        });
    };
    let model = Model {
        preset: preset_name,
        input_burndown: int_at_least(raw.model.input_burndown, 1, "model.input_burndown")?
            .unwrap_or(preset.input_burndown),
        output_burndown: int_at_least(raw.model.output_burndown, 1, "model.output_burndown")?
            .unwrap_or(preset.output_burndown),
        max_output_tokens: int_at_least(raw.model.max_output_tokens, 1, "model.max_output_tokens")?
            .unwrap_or(preset.max_output_tokens),
        output_tokens_per_second: positive_number(
            raw.model.output_tokens_per_second,
            "model.output_tokens_per_second",
        )?
        .unwrap_or(preset.output_tokens_per_second),
    };

    // [quota]
    let Some(q) = raw.quota else {
        return bad(
            "quota",
            "missing required table [quota] with `tokens_per_minute`",
        );
    };
    let Some(tpm) = int_at_least(q.tokens_per_minute, 1, "quota.tokens_per_minute")? else {
        return bad(
            "quota.tokens_per_minute",
            "missing required key `tokens_per_minute` (e.g. 200000)",
        );
    };
    let tokens_per_day = match q.tokens_per_day {
        None => None,
        Some(RawTokensPerDay::Auto) => Some(tpm.saturating_mul(1440)),
        Some(RawTokensPerDay::Limit(n)) => int_at_least(Some(n), 1, "quota.tokens_per_day")?,
    };
    let quota = QuotaConfig {
        tokens_per_minute: tpm,
        requests_per_minute: int_at_least(q.requests_per_minute, 1, "quota.requests_per_minute")?,
        tokens_per_day,
        limiter: q.limiter.unwrap_or_default(),
        reserve: q.reserve.unwrap_or_default(),
    };

    // [service]
    let s = &raw.service;
    let error_rate = match s.error_rate {
        None => 0.0,
        Some(p) if (0.0..1.0).contains(&p) => p,
        Some(p) => {
            return bad(
                "service.error_rate",
                format!("expected a probability 0 ≤ p < 1, found {p}"),
            );
        }
    };
    let service = Service {
        ttft_us: s.ttft.map_or(800_000, |d| d.0),
        ttft_per_1k_input_us: s.ttft_per_1k_input.map_or(20_000, |d| d.0),
        output_tokens_per_second: positive_number(
            s.output_tokens_per_second,
            "service.output_tokens_per_second",
        )?
        .unwrap_or(model.output_tokens_per_second),
        throttle_latency_us: s.throttle_latency.map_or(100_000, |d| d.0),
        error_rate,
    };

    let client = resolve_client(&raw.client, &model)?;
    let arrivals = resolve_arrivals(raw.arrivals)?;

    // [requests.NAME]
    let Some(classes) = raw.requests.filter(|m| !m.is_empty()) else {
        return bad(
            "requests",
            "no request classes: add at least one [requests.NAME] table with input_tokens and output_tokens",
        );
    };
    let mut requests = Vec::with_capacity(classes.len());
    for (name, c) in classes {
        requests.push(resolve_class(&name, c, client.max_tokens)?);
    }
    if !requests.iter().any(|c| c.weight > 0.0) {
        return bad(
            "requests",
            "every class has weight 0; at least one weight must be > 0",
        );
    }

    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| default_name.to_string()),
        description: raw.description,
        seed: raw.seed.unwrap_or(0),
        duration_us,
        warmup_us,
        model,
        quota,
        service,
        client,
        arrivals,
        requests,
    })
}

fn resolve_client(c: &RawClient, model: &Model) -> R<Client> {
    let concurrency = int_at_least(c.concurrency, 1, "client.concurrency")?;
    let max_tokens =
        int_at_least(c.max_tokens, 1, "client.max_tokens")?.unwrap_or(model.max_output_tokens);
    let (retry, table_attempts) = match &c.retry {
        None => (RetryPolicy::AwsStandard, None),
        Some(toml::Value::String(s)) => (retry_by_name(s)?, None),
        Some(v @ toml::Value::Table(_)) => {
            let t: RawRetryTable = super::load::deserialize_at(v.clone(), "client.retry")?;
            if t.mode != "exponential" {
                return Err(Invalid {
                    path: "client.retry.mode".into(),
                    message: format!(
                        "unknown retry table mode \"{}\"; expected \"exponential\"",
                        t.mode
                    ),
                    help: None,
                    at_key: false,
                });
            }
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
                    });
                }
            };
            let attempts = int_at_least(t.max_attempts, 1, "client.retry.max_attempts")?;
            (
                RetryPolicy::Exponential {
                    base_us,
                    cap_us,
                    jitter,
                },
                attempts,
            )
        }
        Some(other) => {
            return bad(
                "client.retry",
                format!(
                    "expected one of {} or a table {{ mode = \"exponential\", … }}, found a {}",
                    quoted(&RETRY_NAMES),
                    other.type_str()
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
    Ok(Client {
        concurrency,
        max_tokens,
        retry,
        max_attempts,
    })
}

fn retry_by_name(s: &str) -> R<RetryPolicy> {
    match s {
        "none" => Ok(RetryPolicy::None),
        "aws-legacy" | "legacy" => Ok(RetryPolicy::AwsLegacy),
        "aws-standard" | "standard" => Ok(RetryPolicy::AwsStandard),
        other => Err(Invalid {
            path: "client.retry".into(),
            message: format!(
                "unknown retry mode \"{other}\"; expected one of {} or a table {{ mode = \"exponential\", base, cap, jitter, max_attempts }}",
                quoted(&RETRY_NAMES)
            ),
            help: did_you_mean(other, &RETRY_NAMES),
            at_key: false,
        }),
    }
}

fn resolve_arrivals(a: Option<RawArrivals>) -> R<Arrivals> {
    let Some(a) = a else {
        return bad(
            "arrivals",
            "missing required table [arrivals] with `process`",
        );
    };
    let Some(process) = a.process.as_deref() else {
        return bad(
            "arrivals.process",
            format!(
                "missing required key `process`; expected one of {}",
                quoted(&PROCESS_NAMES)
            ),
        );
    };
    let unused = |keys: &[(&str, bool)]| -> R<()> {
        for (k, present) in keys {
            if *present {
                return bad(
                    format!("arrivals.{k}"),
                    format!("`{k}` does not apply to process \"{process}\""),
                );
            }
        }
        Ok(())
    };
    match process {
        "constant" | "poisson" => {
            unused(&[
                ("clients", a.clients.is_some()),
                ("think_time", a.think_time.is_some()),
            ])?;
            let Some(rate) = positive_number(a.rate_per_minute, "arrivals.rate_per_minute")? else {
                return bad(
                    "arrivals.rate_per_minute",
                    format!("process \"{process}\" needs `rate_per_minute` (a number > 0)"),
                );
            };
            Ok(if process == "constant" {
                Arrivals::Constant {
                    rate_per_minute: rate,
                }
            } else {
                Arrivals::Poisson {
                    rate_per_minute: rate,
                }
            })
        }
        "closed-loop" => {
            unused(&[("rate_per_minute", a.rate_per_minute.is_some())])?;
            let Some(clients) = int_at_least(a.clients, 1, "arrivals.clients")? else {
                return bad(
                    "arrivals.clients",
                    "process \"closed-loop\" needs `clients` (an integer ≥ 1)",
                );
            };
            if clients > 10_000_000 {
                return bad(
                    "arrivals.clients",
                    format!("{clients} clients is too many (at most 10,000,000)"),
                );
            }
            Ok(Arrivals::ClosedLoop {
                clients,
                think_time_us: a.think_time.map_or(0, |d| d.0),
            })
        }
        other => Err(Invalid {
            path: "arrivals.process".into(),
            message: format!(
                "unknown arrival process \"{other}\"; expected one of {}",
                quoted(&PROCESS_NAMES)
            ),
            help: did_you_mean(other, &PROCESS_NAMES),
            at_key: false,
        }),
    }
}

fn resolve_class(name: &str, c: RawClass, client_max_tokens: u64) -> R<RequestClass> {
    let base = format!("requests.{name}");
    let weight = match c.weight {
        None => 1.0,
        Some(w) if w.is_finite() && w >= 0.0 => w,
        Some(w) => {
            return bad(
                format!("{base}.weight"),
                format!("expected a number ≥ 0, found {w}"),
            );
        }
    };
    let tokens = |key: &str, v: Option<toml::Value>, default_min: u64, required: bool| -> R<Dist> {
        let path = format!("{base}.{key}");
        match v {
            None if required => bad(
                &path,
                format!("missing required key `{key}` (an integer or a distribution table)"),
            ),
            None => Ok(Dist::Fixed { value: 0 }),
            Some(v) => token_dist(v, &path, default_min),
        }
    };
    Ok(RequestClass {
        name: name.to_string(),
        weight,
        input_tokens: tokens("input_tokens", c.input_tokens, 1, true)?,
        output_tokens: tokens("output_tokens", c.output_tokens, 1, true)?,
        cache_write_tokens: tokens("cache_write_tokens", c.cache_write_tokens, 0, false)?,
        cache_read_tokens: tokens("cache_read_tokens", c.cache_read_tokens, 0, false)?,
        max_tokens: int_at_least(c.max_tokens, 1, &format!("{base}.max_tokens"))?
            .unwrap_or(client_max_tokens),
    })
}

fn token_dist(v: toml::Value, path: &str, default_min: u64) -> R<Dist> {
    match v {
        toml::Value::Integer(n) => {
            if n < default_min as i64 {
                return bad(
                    path,
                    format!("expected an integer ≥ {default_min}, found {n}"),
                );
            }
            if n > MAX_INT {
                return bad(path, format!("{n} is too large (the maximum is {MAX_INT})"));
            }
            Ok(Dist::Fixed { value: n as u64 })
        }
        v @ toml::Value::Table(_) => {
            let raw: RawDist = super::load::deserialize_at(v, path)?;
            raw.resolve(default_min).map_err(|(key, message)| Invalid {
                path: key.map_or_else(|| path.to_string(), |k| format!("{path}.{k}")),
                message,
                help: None,
                at_key: false,
            })
        }
        other => bad(
            path,
            format!(
                "expected an integer or a distribution table like {{ dist = \"lognormal\", median = 500, p95 = 2000 }}, found a {}",
                other.type_str()
            ),
        ),
    }
}
