//! Validation: raw structs → [`Scenario`], resolving every default (docs/guide/scenarios.md,
//! "Scenario format").

use std::path::Path;

use super::invalid::{Invalid, R, a_type, bad, deserialize_at, did_you_mean};
use super::raw::{
    RawArrivals, RawClass, RawClient, RawLimit, RawModel, RawPool, RawQuota, RawRetryTable,
    RawRoute, RawScenario, RawSchedulePoint, RawService, RawTokensPerDay,
};
use super::{
    Client, FallbackOn, Model, Pool, QuotaConfig, Route, RoutePolicy, Scenario, Service, Workload,
};
use crate::client::retry::RETRY_NAMES;
use crate::client::{Jitter, Pacing, RetryPolicy};
use crate::cost::Prices;
use crate::quota::models;
use crate::quota::providers::{self, Sizes};
use crate::quota::{AdmitCheck, Charge, Counts, Footprint, LimitSpec, MAX_LIMITS};
use crate::trace::{ClassMode, TraceFormat};
use crate::workload::arrivals::PROCESS_NAMES;
use crate::workload::dist::{Dist, DistContext, RawDist, quoted};
use crate::workload::{
    Arrivals, Rate, Repeat, RequestClass, Schedule, SchedulePoint, TraceArrivals,
};

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

/// `[model.prices]` over the preset's prices; every key is needed when the preset has none.
fn resolve_prices(
    raw: Option<super::raw::RawPrices>,
    preset: &str,
    default: Option<Prices>,
) -> R<Option<Prices>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let key = |v: Option<f64>, name: &str, from: Option<f64>| -> R<f64> {
        let path = format!("model.prices.{name}");
        match v {
            Some(x) if x.is_finite() && (0.0..1e9).contains(&x) => Ok(x),
            Some(x) => bad(
                path,
                format!("expected a price ≥ 0 in USD per million tokens, found {x}"),
            ),
            None => from.map_or_else(
                || {
                    bad(
                        path,
                        format!(
                            "missing `{name}`: the preset \"{preset}\" has no default price, so \
                             [model.prices] needs input, output, cache_write and cache_read"
                        ),
                    )
                },
                Ok,
            ),
        }
    };
    Ok(Some(Prices {
        input: key(raw.input, "input", default.map(|p| p.input))?,
        output: key(raw.output, "output", default.map(|p| p.output))?,
        cache_write: key(
            raw.cache_write,
            "cache_write",
            default.map(|p| p.cache_write),
        )?,
        cache_read: key(raw.cache_read, "cache_read", default.map(|p| p.cache_read))?,
    }))
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

    // [[account.limits]]
    let mut account: Vec<LimitSpec> = Vec::new();
    if let Some(a) = raw.account.take() {
        for (i, l) in a.limits.unwrap_or_default().into_iter().enumerate() {
            let spec = under(
                resolve_limit(l, i, crate::quota::LimiterKind::FixedWindow),
                "quota.limits",
                "account.limits",
            )?;
            if account.iter().any(|l| l.name == spec.name) {
                return bad(
                    format!("account.limits[{i}].name"),
                    format!(
                        "an account limit named \"{}\" already exists; give each limit a distinct `name`",
                        spec.name
                    ),
                );
            }
            account.push(spec);
        }
        if account.len() > MAX_LIMITS {
            return bad(
                "account.limits",
                format!(
                    "{} limits in all; at most {MAX_LIMITS} are supported",
                    account.len()
                ),
            );
        }
    }

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

/// A workload's `tier`: one of [`Tier::NAMES`](models::Tier::NAMES), offered by the model
/// of every on-demand pool its route reaches (a reserved pool has no tiers).
fn resolve_tier(raw: Option<&str>, route: &Route, pools: &[Pool], path: &str) -> R<models::Tier> {
    let Some(name) = raw else {
        return Ok(models::Tier::Standard);
    };
    let Some(tier) = models::Tier::from_name(name) else {
        return Err(Invalid {
            path: path.into(),
            message: format!(
                "unknown service tier \"{name}\"; expected one of {}",
                quoted(&models::Tier::NAMES)
            ),
            help: did_you_mean(name, &models::Tier::NAMES),
            at_key: false,
            foreign: None,
        });
    };
    for &i in &route.pools {
        let Some(pool) = pools.get(i) else { continue };
        if pool.is_reserved() || pool.model.tiers.get(tier).is_some() {
            continue;
        }
        let offered = pool.model.tiers.offered();
        return bad(
            path,
            format!(
                "model \"{}\" (pool `{}`) does not offer the \"{name}\" tier: it offers only {}{}",
                pool.model.preset,
                pool.name,
                quoted(&offered),
                if offered.len() == 1 && pool.model.profile_only {
                    " (Claude 4.7 and later are standard only)"
                } else {
                    ""
                }
            ),
        );
    }
    Ok(tier)
}

fn resolve_model(m: &RawModel, table: &models::Table) -> R<Model> {
    let preset_name = m.preset.clone().unwrap_or_else(|| "other".into());
    let Some(preset) = table.get(&preset_name) else {
        let names: Vec<&str> = table.rows.iter().map(|r| r.name.as_str()).collect();
        return Err(Invalid {
            path: "model.preset".into(),
            message: format!(
                "unknown model preset \"{preset_name}\"; expected one of {}",
                quoted(&names)
            ),
            help: table.unknown_hint(&preset_name),
            at_key: false,
            foreign: None,
        });
    };
    Ok(Model {
        input_burndown: int_at_least(m.input_burndown, 1, "model.input_burndown")?
            .unwrap_or(preset.input_burndown),
        output_burndown: int_at_least(m.output_burndown, 1, "model.output_burndown")?
            .unwrap_or(preset.output_burndown),
        max_output_tokens: int_at_least(m.max_output_tokens, 1, "model.max_output_tokens")?
            .unwrap_or(preset.max_output_tokens),
        output_tokens_per_second: positive_number(
            m.output_tokens_per_second,
            "model.output_tokens_per_second",
        )?
        .unwrap_or(preset.output_tokens_per_second),
        // A scenario's own `[[models]]` row may carry prices other than the bundled row's.
        prices: resolve_prices(m.prices, &preset_name, crate::cost::row_prices(preset))?.or_else(
            || {
                crate::cost::row_prices(preset)
                    .filter(|p| Some(*p) != crate::cost::preset_prices(&preset_name))
            },
        ),
        tiers: preset.tiers.clone(),
        tokenizer_factor: preset.tokenizer_factor,
        profile_only: preset.profile_only,
        preset: preset_name,
    })
}

fn resolve_service(s: &RawService, model: &Model, table: &models::Table, base: &str) -> R<Service> {
    let error_rate = match s.error_rate {
        None => 0.0,
        Some(p) if (0.0..1.0).contains(&p) => p,
        Some(p) => {
            return bad(
                format!("{base}.error_rate"),
                format!("expected a probability 0 ≤ p < 1, found {p}"),
            );
        }
    };
    Ok(Service {
        // The model's own typical TTFT where the scenario is silent (800 ms for the rows
        // without a measurement).
        ttft_us: s.ttft.map_or_else(
            || {
                table
                    .get(&model.preset)
                    .map_or(800_000, models::ModelRow::ttft_us)
            },
            |d| d.0,
        ),
        ttft_per_1k_input_us: s.ttft_per_1k_input.map_or(20_000, |d| d.0),
        output_tokens_per_second: positive_number(
            s.output_tokens_per_second,
            &format!("{base}.output_tokens_per_second"),
        )?
        .unwrap_or(model.output_tokens_per_second),
        throttle_latency_us: s.throttle_latency.map_or(100_000, |d| d.0),
        error_rate,
        flex_error_rate: match s.flex_error_rate {
            None => None,
            Some(p) if (0.0..1.0).contains(&p) => Some(p),
            Some(p) => {
                return bad(
                    format!("{base}.flex_error_rate"),
                    format!("expected a probability 0 ≤ p < 1, found {p}"),
                );
            }
        },
    })
}

/// Bedrock model IDs of a preset: its geographic (`us.`, `eu.`, `apac.`, `jp.`, `au.`) and
/// global (`global.`) inference-profile forms, and the in-Region ID unless the model is
/// profile-only.
pub(crate) fn default_model_ids(table: &models::Table, preset: &str) -> Vec<String> {
    table
        .get(preset)
        .map(models::ModelRow::bedrock_ids_with_prefixes)
        .unwrap_or_default()
}

fn resolve_pool(
    name: &str,
    p: &mut RawPool,
    top_model: &Model,
    top_service: &RawService,
    table: &models::Table,
) -> R<Pool> {
    let base = format!("pools.{name}");
    let model = match &p.model {
        None => top_model.clone(),
        Some(toml::Value::String(preset)) => under(
            resolve_model(
                &RawModel {
                    preset: Some(preset.clone()),
                    ..Default::default()
                },
                table,
            ),
            "model.preset",
            &format!("{base}.model"),
        )?,
        Some(v @ toml::Value::Table(_)) => {
            let m: RawModel = deserialize_at(v.clone(), &format!("{base}.model"))?;
            under(resolve_model(&m, table), "model", &format!("{base}.model"))?
        }
        Some(other) => {
            return bad(
                format!("{base}.model"),
                format!(
                    "expected a model preset name or a table like [model], found {}",
                    a_type(other)
                ),
            );
        }
    };
    let service = match &p.service {
        Some(s) => under(
            resolve_service(s, &model, table, "service"),
            "service",
            &format!("{base}.service"),
        )?,
        None => resolve_service(top_service, &model, table, "service")?,
    };
    let quota = under(resolve_quota(p.quota(), &model.preset), "quota", &base)?;
    let explicit_ids = p.model_ids.is_some();
    let model_ids = match p.model_ids.take() {
        Some(ids) => ids,
        None => default_model_ids(table, &model.preset),
    };
    let row = table.get(&model.preset);
    let price_premium = match p.price_premium {
        Some(x) if x.is_finite() && (0.0..10.0).contains(&x) => x,
        Some(x) => {
            return bad(
                format!("{base}.price_premium"),
                format!(
                    "expected a fraction ≥ 0 and below 10 (0.1 is 10% above the list price), found {x}"
                ),
            );
        }
        // Only a pool whose IDs are all geographic or in-Region profiles pays the row's
        // regional premium; one listing a `global.` ID keeps the list price.
        None if explicit_ids
            && !model_ids.is_empty()
            && !model_ids
                .iter()
                .any(|id| id.starts_with(models::GLOBAL_PREFIX)) =>
        {
            row.and_then(|r| r.regional_premium).unwrap_or(0.0)
        }
        None => 0.0,
    };
    let price_reserved_per_1k_tpm_month = match p.price_reserved_per_1k_tpm_month {
        Some(x) if x.is_finite() && (0.0..1e9).contains(&x) => Some(x),
        Some(x) => {
            return bad(
                format!("{base}.price_reserved_per_1k_tpm_month"),
                format!(
                    "expected a price ≥ 0 in USD per month per 1,000 tokens per minute, found {x}"
                ),
            );
        }
        None => row.and_then(|r| r.price_reserved_per_1k_tpm_month),
    };
    Ok(Pool {
        name: name.to_string(),
        quota,
        model,
        service,
        model_ids,
        price_premium,
        price_reserved_per_1k_tpm_month,
    })
}

/// The policies a route accepts.
const POLICY_NAMES: [&str; 3] = ["weighted", "fallback", "spillover"];
/// The values of a fallback's `on`.
const ON_NAMES: [&str; 2] = ["give-up", "throttle"];

fn resolve_route(v: Option<&toml::Value>, pools: &[Pool], path: &str) -> R<Route> {
    let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    let find = |name: &str, at: String| -> R<usize> {
        match pools.iter().position(|p| p.name == name) {
            Some(i) => Ok(i),
            None => Err(Invalid {
                path: at,
                message: format!(
                    "unknown pool \"{name}\"; the scenario's pools are {}",
                    quoted(&names)
                ),
                help: did_you_mean(name, &names),
                at_key: false,
                foreign: None,
            }),
        }
    };
    let single = |i: usize| Route {
        pools: vec![i],
        names: vec![pools.get(i).map(|p| p.name.clone()).unwrap_or_default()],
        policy: RoutePolicy::Single,
    };
    match v {
        None => {
            if pools.len() == 1 {
                Ok(single(0))
            } else {
                bad(
                    path,
                    format!(
                        "this workload has no `route` and the scenario has {} pools ({}); name one, e.g. route = \"{}\", or give a route table",
                        pools.len(),
                        quoted(&names),
                        names.first().copied().unwrap_or("default")
                    ),
                )
            }
        }
        Some(toml::Value::String(name)) => Ok(single(find(name, path.to_string())?)),
        Some(t @ toml::Value::Table(_)) => {
            let r: RawRoute = deserialize_at(t.clone(), path)?;
            let Some(list) = r.pools else {
                return bad(
                    format!("{path}.pools"),
                    "a route table needs `pools`, the pools in route order",
                );
            };
            if list.is_empty() {
                return bad(
                    format!("{path}.pools"),
                    "expected at least one pool name, found an empty list",
                );
            }
            let mut idx = Vec::with_capacity(list.len());
            for (i, n) in list.iter().enumerate() {
                let at = format!("{path}.pools[{i}]");
                let p = find(n, at.clone())?;
                if idx.contains(&p) {
                    return bad(at, format!("pool \"{n}\" appears twice in the route"));
                }
                idx.push(p);
            }
            let policy = match r.policy.as_deref() {
                None if idx.len() == 1 => "single",
                None => {
                    return bad(
                        format!("{path}.policy"),
                        format!(
                            "a route over several pools needs `policy`, one of {}",
                            quoted(&POLICY_NAMES)
                        ),
                    );
                }
                Some(p) => p,
            };
            if r.weights.is_some() && policy != "weighted" {
                return bad(
                    format!("{path}.weights"),
                    "`weights` applies only to policy = \"weighted\"",
                );
            }
            if r.on.is_some() && policy != "fallback" {
                return bad(
                    format!("{path}.on"),
                    "`on` applies only to policy = \"fallback\"",
                );
            }
            let policy = match policy {
                "single" => RoutePolicy::Single,
                "weighted" => {
                    let Some(w) = r.weights else {
                        return bad(
                            format!("{path}.weights"),
                            format!(
                                "policy = \"weighted\" needs `weights`, one number ≥ 0 per pool ({} here)",
                                idx.len()
                            ),
                        );
                    };
                    if w.len() != idx.len() {
                        return bad(
                            format!("{path}.weights"),
                            format!(
                                "{} weights for {} pools; give one weight per pool, in the order of `pools`",
                                w.len(),
                                idx.len()
                            ),
                        );
                    }
                    if let Some(i) = w
                        .iter()
                        .position(|x| !x.is_finite() || *x < 0.0 || *x > 1e15)
                    {
                        return bad(
                            format!("{path}.weights[{i}]"),
                            format!(
                                "expected a number ≥ 0, found {}",
                                w.get(i).copied().unwrap_or(f64::NAN)
                            ),
                        );
                    }
                    if !w.iter().any(|x| *x > 0.0) {
                        return bad(
                            format!("{path}.weights"),
                            "every weight is 0; at least one must be > 0",
                        );
                    }
                    RoutePolicy::Weighted(w)
                }
                "fallback" => RoutePolicy::Fallback(match r.on.as_deref() {
                    None | Some("give-up") => FallbackOn::GiveUp,
                    Some("throttle") => FallbackOn::Throttle,
                    Some(other) => {
                        return Err(Invalid {
                            path: format!("{path}.on"),
                            message: format!(
                                "unknown value \"{other}\"; expected one of {}",
                                quoted(&ON_NAMES)
                            ),
                            help: did_you_mean(other, &ON_NAMES),
                            at_key: false,
                            foreign: None,
                        });
                    }
                }),
                "spillover" => RoutePolicy::Spillover,
                other => {
                    return Err(Invalid {
                        path: format!("{path}.policy"),
                        message: format!(
                            "unknown route policy \"{other}\"; expected one of {}",
                            quoted(&POLICY_NAMES)
                        ),
                        help: did_you_mean(other, &POLICY_NAMES),
                        at_key: false,
                        foreign: None,
                    });
                }
            };
            Ok(Route {
                pools: idx,
                names: list,
                policy,
            })
        }
        Some(other) => bad(
            path,
            format!(
                "expected a pool name or a table {{ pools = [...], policy = \"weighted\" | \"fallback\" | \"spillover\" }}, found {}",
                a_type(other)
            ),
        ),
    }
}

/// Arrivals and request classes of one workload, in Part I's order of checks.
fn resolve_workload(
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

fn resolve_quota(q: RawQuota, preset: &str) -> R<QuotaConfig> {
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
        if limits.iter().any(|l| l.name == spec.name) {
            return bad(
                format!("quota.limits[{i}].name"),
                format!(
                    "a limit named \"{}\" already exists; give each limit a distinct `name`",
                    spec.name
                ),
            );
        }
        limits.push(spec);
    }
    if limits.len() > MAX_LIMITS {
        return bad(
            "quota.limits",
            format!(
                "{} limits in all; at most {MAX_LIMITS} are supported",
                limits.len()
            ),
        );
    }
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

fn resolve_limit(
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

fn resolve_client(c: &RawClient, model: &Model) -> R<Client> {
    let concurrency = int_at_least(c.concurrency, 1, "client.concurrency")?;
    let max_tokens =
        int_at_least(c.max_tokens, 1, "client.max_tokens")?.unwrap_or(model.max_output_tokens);
    let (retry, table_attempts) = match &c.retry {
        None => (RetryPolicy::AwsStandard, None),
        Some(toml::Value::String(s)) => (retry_by_name(s)?, None),
        Some(v @ toml::Value::Table(_)) => {
            let t: RawRetryTable = super::invalid::deserialize_at(v.clone(), "client.retry")?;
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

fn resolve_arrivals(a: Option<RawArrivals>, base_dir: &Path) -> R<Arrivals> {
    let Some(a) = a else {
        return bad(
            "arrivals",
            "missing required table [arrivals] with `process`",
        );
    };
    let Some(process) = a.process.clone() else {
        return bad(
            "arrivals.process",
            format!(
                "missing required key `process`; expected one of {}",
                quoted(&PROCESS_NAMES)
            ),
        );
    };
    let process = process.as_str();
    let present = [
        ("rate_per_minute", a.rate_per_minute.is_some()),
        ("schedule", a.schedule.is_some()),
        ("schedule_period", a.schedule_period.is_some()),
        ("cv", a.cv.is_some()),
        ("on_rate_per_minute", a.on_rate_per_minute.is_some()),
        ("off_rate_per_minute", a.off_rate_per_minute.is_some()),
        ("mean_on", a.mean_on.is_some()),
        ("mean_off", a.mean_off.is_some()),
        ("clients", a.clients.is_some()),
        ("think_time", a.think_time.is_some()),
        ("file", a.file.is_some()),
        ("format", a.format.is_some()),
        ("time_scale", a.time_scale.is_some()),
        ("repeat", a.repeat.is_some()),
    ];
    let allowed: &[&str] = match process {
        "constant" | "poisson" => &["rate_per_minute", "schedule", "schedule_period"],
        "gamma" => &["rate_per_minute", "schedule", "schedule_period", "cv"],
        "on-off" => &[
            "on_rate_per_minute",
            "off_rate_per_minute",
            "mean_on",
            "mean_off",
        ],
        "closed-loop" => &["clients", "think_time"],
        "trace" => &["file", "format", "time_scale", "repeat"],
        other => {
            return Err(Invalid {
                path: "arrivals.process".into(),
                message: format!(
                    "unknown arrival process \"{other}\"; expected one of {}",
                    quoted(&PROCESS_NAMES)
                ),
                help: did_you_mean(other, &PROCESS_NAMES),
                at_key: false,
                foreign: None,
            });
        }
    };
    for (k, is) in present {
        if is && !allowed.contains(&k) {
            let takes = allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return bad(
                format!("arrivals.{k}"),
                format!("`{k}` does not apply to process \"{process}\", which takes {takes}"),
            );
        }
    }
    match process {
        "constant" | "poisson" | "gamma" => {
            let rate = resolve_rate(&a, process)?;
            Ok(match process {
                "constant" => Arrivals::Constant { rate },
                "poisson" => Arrivals::Poisson { rate },
                _ => {
                    let cv = match a.cv {
                        None => {
                            return bad(
                                "arrivals.cv",
                                "process \"gamma\" needs `cv`, the coefficient of variation of the gaps between arrivals (1 = Poisson, > 1 bursty)",
                            );
                        }
                        Some(cv) if cv.is_finite() && cv > 0.0 && cv <= 20.0 => cv,
                        Some(cv) => {
                            return bad(
                                "arrivals.cv",
                                format!("expected a number with 0 < cv ≤ 20, found {cv}"),
                            );
                        }
                    };
                    Arrivals::Gamma { rate, cv }
                }
            })
        }
        "on-off" => {
            let need_rate = |v: Option<f64>, key: &str, min_zero: bool| -> R<f64> {
                let path = format!("arrivals.{key}");
                match v {
                    None if min_zero => Ok(0.0),
                    None => bad(
                        &path,
                        format!("process \"on-off\" needs `{key}` (requests per minute > 0)"),
                    ),
                    Some(x) if x.is_finite() && x < 1e15 && (x > 0.0 || (min_zero && x == 0.0)) => {
                        Ok(x)
                    }
                    Some(x) => bad(
                        &path,
                        format!(
                            "expected a number {} 0, found {x}",
                            if min_zero { "≥" } else { ">" }
                        ),
                    ),
                }
            };
            let need_dur = |v: Option<super::raw::RawDuration>, key: &str| -> R<u64> {
                match v {
                    Some(d) if d.0 > 0 => Ok(d.0),
                    Some(_) => bad(format!("arrivals.{key}"), "expected a duration > 0"),
                    None => bad(
                        format!("arrivals.{key}"),
                        format!("process \"on-off\" needs `{key}` (a duration such as \"30s\")"),
                    ),
                }
            };
            Ok(Arrivals::OnOff {
                on_rate_per_minute: need_rate(a.on_rate_per_minute, "on_rate_per_minute", false)?,
                off_rate_per_minute: need_rate(a.off_rate_per_minute, "off_rate_per_minute", true)?,
                mean_on_us: need_dur(a.mean_on, "mean_on")?,
                mean_off_us: need_dur(a.mean_off, "mean_off")?,
            })
        }
        "closed-loop" => {
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
        _ => resolve_trace(&a, base_dir),
    }
}

fn resolve_rate(a: &RawArrivals, process: &str) -> R<Rate> {
    match (&a.schedule, a.rate_per_minute) {
        (Some(_), Some(_)) => bad(
            "arrivals.rate_per_minute",
            "`rate_per_minute` and `schedule` are alternatives: with a schedule, its points give the rate",
        ),
        (None, None) => bad(
            "arrivals.rate_per_minute",
            format!(
                "process \"{process}\" needs `rate_per_minute` (a number > 0) or a rate schedule ([[arrivals.schedule]] points with `at` and `rate_per_minute`)"
            ),
        ),
        (None, Some(_)) => {
            if a.schedule_period.is_some() {
                return bad(
                    "arrivals.schedule_period",
                    "`schedule_period` repeats a rate schedule; add [[arrivals.schedule]] points or remove it",
                );
            }
            let rate = positive_number(a.rate_per_minute, "arrivals.rate_per_minute")?;
            Ok(Rate::fixed(rate.unwrap_or(1.0)))
        }
        (Some(points), None) => Ok(Rate::Scheduled(resolve_schedule(
            points,
            a.schedule_period.map(|d| d.0),
        )?)),
    }
}

fn resolve_schedule(points: &[RawSchedulePoint], period_us: Option<u64>) -> R<Schedule> {
    if points.is_empty() {
        return bad(
            "arrivals.schedule",
            "a schedule needs at least one point with `at` and `rate_per_minute`",
        );
    }
    if period_us == Some(0) {
        return bad("arrivals.schedule_period", "expected a duration > 0");
    }
    let mut out: Vec<SchedulePoint> = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let base = format!("arrivals.schedule[{i}]");
        let Some(at) = p.at else {
            return bad(
                &base,
                "a schedule point needs `at` (a time such as \"2h\") and `rate_per_minute`",
            );
        };
        let rate = match p.rate_per_minute {
            None => {
                return bad(
                    &base,
                    "a schedule point needs `rate_per_minute` (a number ≥ 0)",
                );
            }
            Some(r) if r.is_finite() && (0.0..1e15).contains(&r) => r,
            Some(r) => {
                return bad(
                    format!("{base}.rate_per_minute"),
                    format!("expected a number ≥ 0, found {r}"),
                );
            }
        };
        if let Some(prev) = out.last()
            && at.0 <= prev.at_us
        {
            return bad(
                format!("{base}.at"),
                format!(
                    "schedule points must be in increasing time: {} is not after the previous point's {}",
                    crate::duration::format_duration(at.0),
                    crate::duration::format_duration(prev.at_us)
                ),
            );
        }
        if let Some(period) = period_us
            && at.0 >= period
        {
            return bad(
                format!("{base}.at"),
                format!(
                    "{} is not within schedule_period ({}); points of a repeating schedule lie in [0, period)",
                    crate::duration::format_duration(at.0),
                    crate::duration::format_duration(period)
                ),
            );
        }
        out.push(SchedulePoint {
            at_us: at.0,
            rate_per_minute: rate,
        });
    }
    if out.iter().all(|p| p.rate_per_minute == 0.0) {
        return bad(
            "arrivals.schedule",
            "every point has rate_per_minute = 0, so nothing would ever arrive",
        );
    }
    Ok(Schedule {
        schedule: out,
        period_us,
    })
}

fn resolve_trace(a: &RawArrivals, base_dir: &Path) -> R<Arrivals> {
    let Some(file) = &a.file else {
        return bad(
            "arrivals.file",
            "process \"trace\" needs `file`, the trace to replay (a .csv file or Bedrock invocation logs in .jsonl)",
        );
    };
    let path = base_dir.join(file);
    let format = match a.format.as_deref() {
        Some(name) => match TraceFormat::from_name(name) {
            Some(f) => f,
            None => {
                return Err(Invalid {
                    path: "arrivals.format".into(),
                    message: format!(
                        "unknown trace format \"{name}\"; expected one of {}",
                        quoted(&TraceFormat::NAMES)
                    ),
                    help: did_you_mean(name, &TraceFormat::NAMES),
                    at_key: false,
                    foreign: None,
                });
            }
        },
        None => match TraceFormat::from_extension(&path) {
            Some(f) => f,
            None => {
                return bad(
                    "arrivals.file",
                    format!(
                        "cannot tell the format of \"{file}\" from its extension (.csv, .jsonl or .json); set `format` to one of {}",
                        quoted(&TraceFormat::NAMES)
                    ),
                );
            }
        },
    };
    let time_scale = match a.time_scale {
        None => 1.0,
        Some(x) if x.is_finite() && x > 0.0 && x <= 1e6 => x,
        Some(x) => {
            return bad(
                "arrivals.time_scale",
                format!(
                    "expected a number > 0 (trace times are multiplied by it: 0.5 replays twice as fast), found {x}"
                ),
            );
        }
    };
    let repeat = match &a.repeat {
        None | Some(toml::Value::Boolean(false)) => Repeat::Times(1),
        Some(toml::Value::Boolean(true)) => Repeat::Forever,
        Some(toml::Value::Integer(n)) if *n >= 1 => Repeat::Times(*n as u64),
        Some(other) => {
            return bad(
                "arrivals.repeat",
                format!(
                    "expected how many times to play the trace (an integer ≥ 1) or true (until `duration` ends), found {other}"
                ),
            );
        }
    };
    Ok(Arrivals::Trace(TraceArrivals {
        file: path.display().to_string(),
        format,
        time_scale,
        repeat,
        path,
        info: Default::default(),
        classes: ClassMode::Ignore,
        period_us: 0,
        unservable: 0,
    }))
}

/// Reads the whole trace once: every line is checked now, so a malformed record is an
/// input error before anything runs.
fn scan_trace(
    t: &mut TraceArrivals,
    classes: &[RequestClass],
    client: &Client,
    model: &Model,
    quota: &QuotaConfig,
) -> R<()> {
    let names: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
    let mode = if names.is_empty() {
        ClassMode::Collect
    } else {
        ClassMode::Known(names.clone())
    };
    let q = quota.build(model);
    let mut unservable = 0u64;
    let info = crate::trace::scan(&t.path, t.format, mode, |rec| {
        let class = crate::workload::trace::record_class(rec, classes);
        let cw = rec
            .cache_write
            .unwrap_or_else(|| class.map_or(0, |c| c.cache_write_tokens.practical_max()));
        let cr = rec
            .cache_read
            .unwrap_or_else(|| class.map_or(0, |c| c.cache_read_tokens.practical_max()));
        let fp = Footprint::of(
            rec.input,
            cw,
            cr,
            crate::workload::max_tokens(rec.max_tokens, class, client.max_tokens),
            rec.output,
            quota.reserve_cache_reads,
        );
        if !q.servable(&fp) {
            unservable += 1;
        }
    })
    .map_err(|d| Invalid {
        path: "arrivals.file".into(),
        message: d.message.clone(),
        help: d.help.clone(),
        at_key: false,
        foreign: Some(d),
    })?;
    if !names.is_empty() && !info.has_class {
        return bad(
            "requests",
            format!(
                "with process = \"trace\", request classes apply to records through the trace's `class` column, and {} has none; remove the [requests.*] tables or add the column",
                t.file
            ),
        );
    }
    if t.repeat != Repeat::Times(1) {
        let span = info.last_us.saturating_sub(info.first_us);
        if info.records < 2 || span <= 0 {
            return bad(
                "arrivals.repeat",
                "the trace needs at least two records at different times to repeat",
            );
        }
        let n = info.records as f64;
        let period = (span as f64 * n / (n - 1.0) * t.time_scale).round();
        t.period_us = if period >= 1.0 && period < u64::MAX as f64 {
            period as u64
        } else {
            1
        };
    }
    t.classes = if names.is_empty() {
        ClassMode::Ignore
    } else {
        ClassMode::Known(names)
    };
    t.info = info;
    t.unservable = unservable;
    Ok(())
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
            let raw: RawDist = super::invalid::deserialize_at(v, path)?;
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
