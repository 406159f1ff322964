//! Validation: raw structs → [`Scenario`], resolving every default (docs/guide/scenarios.md,
//! "Scenario format").
//!
//! This file is the entry point and fixes the order of the stages: the model, the pools (or
//! `[quota]`), the account limits, the workloads, then the checks that span pools and
//! workloads. The order is part of the behaviour: an input with several mistakes is reported
//! at the first one met, and the bad-input snapshots pin which one that is. Each stage lives
//! in a file of its own beside this one; the helpers several stages share (`int_at_least`,
//! `positive_number`, `under`) are kept here so that a stage names its parent for them and
//! the stages never name each other in a circle.

mod arrivals;
mod client;
mod model;
mod pools;
mod quota;
mod trace;
mod workload;

use std::path::Path;

use self::client::resolve_client;
use self::model::{default_model_ids, resolve_model, resolve_service, resolve_tier};
use self::pools::{resolve_pool, resolve_route};
use self::quota::{resolve_account, resolve_quota};
use self::workload::resolve_workload;
use super::invalid::{Invalid, R, bad};
use super::raw::RawScenario;
use super::{Pool, Scenario, Workload};
use crate::quota::models;

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
        Some(x) if x >= 1e15 => bad(
            path,
            format!("{x:e} is too large (expected a number > 0 and below 1e15)"),
        ),
        Some(x) => bad(path, format!("expected a number > 0, found {x}")),
    }
}

/// File order of the names under `[pools]` and `[workloads]` (a TOML table forgets it).
#[derive(Debug, Default)]
pub(crate) struct Order {
    pub pools: Vec<String>,
    pub workloads: Vec<String>,
}

/// Names of `map` in file order, then any others (added by `--set`) in name order.
fn ordered<T>(map: std::collections::BTreeMap<String, T>, order: &[String]) -> Vec<(String, T)> {
    let mut map = map;
    let mut out = Vec::with_capacity(map.len());
    for name in order {
        if let Some(v) = map.remove(name) {
            out.push((name.clone(), v));
        }
    }
    out.extend(map);
    out
}

/// Rewrites the key path of an error found by a Part I resolver (`quota.…`, `client.…`) to
/// where the table really is (`pools.geo.…`, `workloads.batch.client.…`).
fn under<T>(r: R<T>, from: &str, to: &str) -> R<T> {
    r.map_err(|mut e| {
        if let Some(rest) = e.path.strip_prefix(from)
            && (rest.is_empty() || rest.starts_with(['.', '[']))
        {
            e.path = format!("{to}{rest}");
        }
        e
    })
}

pub(crate) fn resolve(
    raw: RawScenario,
    default_name: &str,
    base_dir: &Path,
    order: &Order,
) -> R<Scenario> {
    let mut raw = raw;
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

    // `[[models]]` rows add to or override the bundled table for this scenario.
    let user_table = match raw.models.take() {
        None => None,
        Some(rows) => Some(models::Table::with_rows(rows).map_err(|e| Invalid {
            path: "models".into(),
            message: e.to_string(),
            help: None,
            at_key: false,
            foreign: None,
        })?),
    };
    let table = user_table
        .as_ref()
        .unwrap_or_else(|| models::Table::bundled());
    let model = resolve_model(&raw.model, table)?;

    // Pools: `[quota]` (one pool, `default`) or `[pools.NAME]`.
    let pools_form = raw.pools.is_some();
    let mut pools = Vec::new();
    if let Some(raw_pools) = raw.pools.take() {
        if raw.quota.is_some() {
            return bad(
                "quota",
                "[quota] and [pools] are alternatives: a scenario with [pools.NAME] tables has no [quota] (move its keys into one of the pools)",
            );
        }
        if raw_pools.is_empty() {
            return bad("pools", "[pools] needs at least one [pools.NAME] table");
        }
        for (name, mut p) in ordered(raw_pools, &order.pools) {
            pools.push(resolve_pool(&name, &mut p, &model, &raw.service, table)?);
        }
    } else {
        let Some(q) = raw.quota.take() else {
            return bad(
                "quota",
                "missing required table [quota] with `tokens_per_minute`",
            );
        };
        let quota = resolve_quota(q, &model.preset)?;
        let service = resolve_service(&raw.service, &model, table, "service")?;
        pools.push(Pool {
            name: "default".into(),
            quota,
            model_ids: default_model_ids(table, &model.preset),
            model: model.clone(),
            service,
            // The default pool serves every profile, `global.` included: list price.
            price_premium: 0.0,
            price_reserved_per_1k_tpm_month: table
                .get(&model.preset)
                .and_then(|r| r.price_reserved_per_1k_tpm_month),
        });
    }

    let account = resolve_account(raw.account.take())?;

    // Workloads: the top-level tables (one workload, `default`) or `[workloads.NAME]`.
    let workloads_form = raw.workloads.is_some();
    let mut workloads = Vec::new();
    if let Some(raw_wl) = raw.workloads.take() {
        for (key, present) in [
            ("arrivals", raw.arrivals.is_some()),
            ("requests", raw.requests.is_some()),
            ("client", raw.client.is_some()),
        ] {
            if present {
                return bad(
                    key,
                    format!(
                        "top-level [{key}] and [workloads] are alternatives: with [workloads.NAME] tables, each workload has its own `{key}` (move it into workloads.NAME.{key})"
                    ),
                );
            }
        }
        if raw_wl.is_empty() {
            return bad(
                "workloads",
                "[workloads] needs at least one [workloads.NAME] table",
            );
        }
        if raw.tier.is_some() {
            return bad(
                "tier",
                "a top-level `tier` and [workloads] are alternatives: with [workloads.NAME] tables, each workload has its own `tier` (move it into workloads.NAME.tier)",
            );
        }
        for (name, w) in ordered(raw_wl, &order.workloads) {
            let base = format!("workloads.{name}");
            let route = resolve_route(w.route.as_ref(), &pools, &format!("{base}.route"))?;
            let tier = resolve_tier(w.tier.as_deref(), &route, &pools, &format!("{base}.tier"))?;
            let Some(first) = route.pools.first().and_then(|&i| pools.get(i)) else {
                return bad(format!("{base}.route"), "the route names no pool");
            };
            let (pm, pq) = (&first.model, &first.quota);
            let client = under(
                resolve_client(&w.client, pm),
                "client",
                &format!("{base}.client"),
            )?;
            let (arrivals, requests) = under(
                under(
                    resolve_workload(w.arrivals, w.requests, &client, pm, pq, base_dir),
                    "arrivals",
                    &format!("{base}.arrivals"),
                ),
                "requests",
                &format!("{base}.requests"),
            )?;
            workloads.push(Workload {
                name,
                client,
                arrivals,
                requests,
                route,
                tier,
            });
        }
    } else {
        let Some(first) = pools.first() else {
            return bad("pools", "a scenario needs at least one pool");
        };
        let client = resolve_client(&raw.client.take().unwrap_or_default(), &first.model)?;
        let (arrivals, requests) = resolve_workload(
            raw.arrivals.take(),
            raw.requests.take(),
            &client,
            &first.model,
            &first.quota,
            base_dir,
        )?;
        let route = resolve_route(None, &pools, "route")?;
        let tier = resolve_tier(raw.tier.as_deref(), &route, &pools, "tier")?;
        workloads.push(Workload {
            name: "default".into(),
            client,
            arrivals,
            requests,
            route,
            tier,
        });
    }

    let (Some(p0), Some(w0)) = (pools.first(), workloads.first()) else {
        return bad(
            "pools",
            "a scenario needs at least one pool and one workload",
        );
    };
    check_max_tokens(&workloads, &pools, workloads_form)?;
    let start = match &raw.start {
        None => None,
        Some(text) => match crate::trace::time::parse_rfc3339(text.trim()) {
            Some(us) if us.rem_euclid(1_000_000) == 0 => Some(us.div_euclid(1_000_000)),
            Some(_) => {
                return bad(
                    "start",
                    format!("expected a whole second, found \"{text}\""),
                );
            }
            None => {
                return bad(
                    "start",
                    format!(
                        "expected an RFC 3339 date-time such as \"2026-01-01T00:00:00Z\", found \"{text}\""
                    ),
                );
            }
        },
    };
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| default_name.to_string()),
        description: raw.description,
        start,
        seed: raw.seed.unwrap_or(0),
        duration_us,
        warmup_us,
        model: p0.model.clone(),
        quota: p0.quota.clone(),
        service: p0.service.clone(),
        client: w0.client.clone(),
        arrivals: w0.arrivals.clone(),
        requests: w0.requests.clone(),
        source: None,
        fact_warnings: super::facts::warnings(&pools, &workloads, &account, table),
        pools,
        account,
        workloads,
        pools_form,
        workloads_form,
    })
}

/// Every class's `max_tokens` must be at most the maximum output of the model of each pool
/// its workload's route reaches: Bedrock refuses a larger one (a validation error, not a
/// throttle). The error names the key the value came from and the model's limit.
fn check_max_tokens(workloads: &[Workload], pools: &[Pool], workloads_form: bool) -> R<()> {
    for w in workloads {
        let prefix = if workloads_form {
            format!("workloads.{}.", w.name)
        } else {
            String::new()
        };
        for c in &w.requests {
            for pool in w.route.pools.iter().filter_map(|&i| pools.get(i)) {
                let limit = pool.model.max_output_tokens;
                if c.max_tokens_set && c.max_tokens > limit {
                    let key = if c.max_tokens != w.client.max_tokens {
                        format!("{prefix}requests.{}.max_tokens", c.name)
                    } else {
                        format!("{prefix}client.max_tokens")
                    };
                    let whose = if pools.len() > 1 {
                        format!(" (pool `{}`)", pool.name)
                    } else {
                        String::new()
                    };
                    return bad(
                        key,
                        format!(
                            "max_tokens = {} is above the maximum output of {}{whose}, {limit} \
                             tokens: Bedrock refuses such a request; expected at most {limit}",
                            c.max_tokens, pool.model.preset
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}
