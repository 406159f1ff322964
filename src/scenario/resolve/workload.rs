//! One workload's traffic: its arrivals and its `[requests.NAME]` classes with their token
//! distributions. The classes come after the arrivals because a trace changes what a class
//! may set, and a trace is scanned only once the classes are known.

use std::path::Path;

use super::arrivals::resolve_arrivals;
use super::trace::scan_trace;
use super::{MAX_INT, int_at_least};
use crate::scenario::invalid::{Invalid, R, a_type, bad};
use crate::scenario::raw::{RawArrivals, RawClass};
use crate::scenario::{Client, Model, QuotaConfig};
use crate::workload::dist::{Dist, DistContext, RawDist};
use crate::workload::{Arrivals, RequestClass};

/// Arrivals and request classes of one workload, in Part I's order of checks.
pub(crate) fn resolve_workload(
    raw_arrivals: Option<RawArrivals>,
    raw_requests: Option<std::collections::BTreeMap<String, RawClass>>,
    client: &Client,
    model: &Model,
    quota: &QuotaConfig,
    base_dir: &Path,
) -> R<(Arrivals, Vec<RequestClass>)> {
    let mut arrivals = resolve_arrivals(raw_arrivals, base_dir)?;
    let is_trace = matches!(arrivals, Arrivals::Trace(_));

    // [requests.NAME]
    let classes = raw_requests.unwrap_or_default();
    if classes.is_empty() && !is_trace {
        return bad(
            "requests",
            "no request classes: add at least one [requests.NAME] table with input_tokens and output_tokens",
        );
    }
    let cx = DistContext { base_dir, depth: 0 };
    let mut requests = Vec::with_capacity(classes.len());
    for (name, c) in classes {
        requests.push(resolve_class(&name, c, client, cx, is_trace)?);
    }
    if !requests.iter().map(|c| c.weight).sum::<f64>().is_finite() {
        return bad(
            "requests",
            "the class weights add up to more than the largest number; use smaller weights",
        );
    }
    if !is_trace && !requests.iter().any(|c| c.weight > 0.0) {
        return bad(
            "requests",
            "every class has weight 0; at least one weight must be > 0",
        );
    }
    if let Arrivals::Trace(t) = &mut arrivals {
        scan_trace(t, &requests, client, model, quota)?;
    }
    Ok((arrivals, requests))
}

fn resolve_class(
    name: &str,
    c: RawClass,
    client: &Client,
    cx: DistContext,
    is_trace: bool,
) -> R<RequestClass> {
    let base = format!("requests.{name}");
    if is_trace {
        for (key, present) in [
            ("input_tokens", c.input_tokens.is_some()),
            ("output_tokens", c.output_tokens.is_some()),
            ("weight", c.weight.is_some()),
        ] {
            if present {
                return bad(
                    format!("{base}.{key}"),
                    format!(
                        "`{key}` does not apply when replaying a trace: token counts come from the trace, and a record's `class` column picks its class; a class sets only `max_tokens`, `cache_write_tokens` and `cache_read_tokens`"
                    ),
                );
            }
        }
    }
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
            Some(v) => token_dist(v, &path, default_min, cx),
        }
    };
    Ok(RequestClass {
        name: name.to_string(),
        weight,
        input_tokens: tokens("input_tokens", c.input_tokens, 1, !is_trace)?,
        output_tokens: tokens("output_tokens", c.output_tokens, 1, !is_trace)?,
        cache_write_tokens: tokens("cache_write_tokens", c.cache_write_tokens, 0, false)?,
        cache_read_tokens: tokens("cache_read_tokens", c.cache_read_tokens, 0, false)?,
        max_tokens_set: c.max_tokens.is_some() || client.max_tokens_set,
        max_tokens: int_at_least(c.max_tokens, 1, &format!("{base}.max_tokens"))?
            .unwrap_or(client.max_tokens),
        stream: c.stream.unwrap_or(client.stream),
    })
}

fn token_dist(v: toml::Value, path: &str, default_min: u64, cx: DistContext) -> R<Dist> {
    match v {
        toml::Value::Integer(n) => {
            // A plain integer is taken exactly, like `{ dist = "fixed", value = n }`: the
            // default minimum of 1 clamps *samples* of a distribution, and a user who writes
            // `input_tokens = 0` (the seed article's output-only requests) means 0.
            if n < 0 {
                return bad(path, format!("expected an integer ≥ 0, found {n}"));
            }
            if n > MAX_INT {
                return bad(path, format!("{n} is too large (the maximum is {MAX_INT})"));
            }
            Ok(Dist::Fixed { value: n as u64 })
        }
        v @ toml::Value::Table(_) => {
            let raw: RawDist = crate::scenario::invalid::deserialize_at(v, path)?;
            raw.resolve(default_min, cx)
                .map_err(|(key, message)| Invalid {
                    path: key.map_or_else(|| path.to_string(), |k| format!("{path}.{k}")),
                    message,
                    help: None,
                    at_key: false,
                    foreign: None,
                })
        }
        other => bad(
            path,
            format!(
                "expected an integer or a distribution table like {{ dist = \"lognormal\", median = 500, p95 = 2000 }}, found {}",
                a_type(&other)
            ),
        ),
    }
}
