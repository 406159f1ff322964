//! `[model]` (a preset from the model table with its overrides and prices), `[service]`, the
//! Bedrock model IDs a pool answers to, and a workload's service `tier`. A tier is checked
//! here rather than with the route because what it depends on is which tiers each model
//! offers.

use super::{int_at_least, positive_number};
use crate::cost::Prices;
use crate::quota::models;
use crate::scenario::invalid::{Invalid, R, bad, did_you_mean};
use crate::scenario::raw::{RawModel, RawService};
use crate::scenario::{Model, Pool, Route, Service};
use crate::workload::dist::quoted;

/// `[model.prices]` over the preset's prices; every key is needed when the preset has none.
fn resolve_prices(
    raw: Option<crate::scenario::raw::RawPrices>,
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

pub(crate) fn resolve_model(m: &RawModel, table: &models::Table) -> R<Model> {
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

pub(crate) fn resolve_service(
    s: &RawService,
    model: &Model,
    table: &models::Table,
    base: &str,
) -> R<Service> {
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

/// A workload's `tier`: one of [`Tier::NAMES`](models::Tier::NAMES), offered by the model
/// of every on-demand pool its route reaches (a reserved pool has no tiers).
pub(crate) fn resolve_tier(
    raw: Option<&str>,
    route: &Route,
    pools: &[Pool],
    path: &str,
) -> R<models::Tier> {
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
