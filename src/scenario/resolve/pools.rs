//! `[pools.NAME]` (each a model, service and quota of its own, with its IDs and prices) and
//! a workload's `route` over the pools. The Part I tables a pool repeats are read by the
//! `model` and `quota` stages, with the key paths moved under `pools.NAME`.

use super::model::{default_model_ids, resolve_model, resolve_service};
use super::quota::resolve_quota;
use super::under;
use crate::quota::models;
use crate::scenario::invalid::{Invalid, R, a_type, bad, deserialize_at, did_you_mean};
use crate::scenario::raw::{RawModel, RawPool, RawRoute, RawService};
use crate::scenario::{FallbackOn, Model, Pool, Route, RoutePolicy};
use crate::workload::dist::quoted;

pub(crate) fn resolve_pool(
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

pub(crate) fn resolve_route(v: Option<&toml::Value>, pools: &[Pool], path: &str) -> R<Route> {
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
