//! The price a pool bills at (docs/models.md): its model's list price, plus the regional
//! premium of a pool served only by geographic or in-Region profiles, times the service
//! tier's price factor; and the fixed hourly charge of reserved capacity.

use super::Prices;
use crate::quota::models::Tier;
use crate::scenario::{Pool, Scenario};

const ZERO: Prices = Prices {
    input: 0.0,
    output: 0.0,
    cache_write: 0.0,
    cache_read: 0.0,
};

/// Hours in AWS's billing month (a monthly price is 730 hours of an hourly one).
pub const HOURS_PER_MONTH: f64 = 730.0;

fn scaled(p: Prices, factor: f64) -> Prices {
    Prices {
        input: p.input * factor,
        output: p.output * factor,
        cache_write: p.cache_write * factor,
        cache_read: p.cache_read * factor,
    }
}

/// What pool `p` bills its standard-tier successes at: its model's prices, times
/// `1 + price_premium` when it has a premium (exactly the model's prices otherwise); nothing
/// per token for reserved capacity.
pub fn pool_prices(p: &Pool) -> Option<Prices> {
    if p.is_reserved() {
        // Reserved capacity is billed by the hour (see [`reserved_usd`]), not by the token.
        return Some(scaled(p.model.billed_prices().unwrap_or(ZERO), 0.0));
    }
    let base = p.model.billed_prices()?;
    Some(if p.price_premium == 0.0 {
        base
    } else {
        scaled(base, 1.0 + p.price_premium)
    })
}

/// What pool `p` bills a success of `tier` at: [`pool_prices`] times the tier's price
/// factor from the model row (exactly [`pool_prices`] for the standard tier).
pub fn tier_prices(p: &Pool, tier: Tier) -> Option<Prices> {
    let base = pool_prices(p)?;
    match (tier, p.model.tiers.get(tier)) {
        (Tier::Standard, _) | (_, None) => Some(base),
        _ if p.is_reserved() => Some(base),
        (_, Some(row)) => Some(scaled(base, row.price_factor)),
    }
}

/// Whether some workload of `s` uses a tier other than standard.
pub fn tiers_used(s: &Scenario) -> bool {
    s.workloads.iter().any(|w| w.tier != Tier::Standard)
}

/// The fixed charge of the reserved pools over `measured_us` of simulated time: each
/// pool's reserved tokens per minute (input and output together) / 1,000 × its monthly
/// price per 1,000 TPM / 730 hours × the hours measured. `None` when no pool is reserved;
/// `Some(None)` when a reserved pool has no price (the total is then unknown).
pub fn reserved_usd(s: &Scenario, measured_us: u64) -> Option<Option<f64>> {
    let hours = measured_us as f64 / 3_600e6;
    let mut total: Option<f64> = Some(0.0);
    let mut any = false;
    for p in s.pools.iter().filter(|p| p.is_reserved()) {
        any = true;
        total = match (total, reserved_pool_usd(p, hours)) {
            (Some(t), Some(u)) => Some(t + u),
            _ => None,
        };
    }
    any.then_some(total)
}

/// Pool `p`'s fixed reserved-capacity charge over `hours`.
pub fn reserved_pool_usd(p: &Pool, hours: f64) -> Option<f64> {
    let price = p.price_reserved_per_1k_tpm_month?;
    Some(p.reserved_tpm() as f64 / 1000.0 * price / HOURS_PER_MONTH * hours)
}

/// What a cost report says about the price pool `p` bills at: reserved (with its hourly
/// basis), list price plus a premium, or list price.
pub fn pool_basis(p: &Pool) -> String {
    if p.is_reserved() {
        match p.price_reserved_per_1k_tpm_month {
            Some(x) => format!(
                "{}: reserved, {} TPM at ${x} per 1,000 TPM-month (fixed, hourly)",
                p.name,
                p.reserved_tpm()
            ),
            None => format!(
                "{}: reserved, no price (set price_reserved_per_1k_tpm_month)",
                p.name
            ),
        }
    } else if p.price_premium != 0.0 {
        format!(
            "{}: list price +{}% (geographic / in-Region profiles)",
            p.name,
            crate::num::round_u64(p.price_premium * 1000.0) as f64 / 10.0
        )
    } else {
        format!("{}: list price", p.name)
    }
}

/// What the cost report says about the prices it used, when anything but every pool's list
/// price at the standard tier is involved; `None` otherwise (the report is unchanged).
pub fn price_basis(s: &Scenario) -> Option<String> {
    let premium = s.pools.iter().any(|p| p.price_premium != 0.0);
    let reserved = s.pools.iter().any(Pool::is_reserved);
    if !premium && !reserved && !tiers_used(s) {
        return None;
    }
    let mut parts: Vec<String> = s.pools.iter().map(pool_basis).collect();
    if tiers_used(s) {
        let mut tiers: Vec<String> = Vec::new();
        for w in &s.workloads {
            let factor = w
                .route
                .pools
                .first()
                .and_then(|&i| s.pools.get(i))
                .and_then(|p| p.model.tiers.get(w.tier))
                .map_or(1.0, |t| t.price_factor);
            tiers.push(format!("{} {} ×{factor}", w.name, w.tier.name()));
        }
        parts.push(format!("tiers: {}", tiers.join(", ")));
    }
    Some(parts.join("; "))
}
