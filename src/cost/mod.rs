//! What the simulated traffic costs in on-demand dollars.
//!
//! Billing follows what the provider charges for, not what the quota charges: only
//! **successful** attempts are billed (a throttled attempt or a 503 costs nothing), each for
//! its input, output, cache-write and cache-read tokens at the model's on-demand price per
//! million tokens. Truncated output is billed: the tokens were generated. Cache reads are
//! free for the quota but not for the bill.
//!
//! The report's `cost` block sums the requests counted in `requests.*` (those arriving in
//! `[warmup, duration)`), so `cost.usd_per_success` is `cost.usd / requests.succeeded` and
//! `cost.usd_per_hour` is `cost.usd` over the hours of `[warmup, duration)`.
//!
//! The computation is split so that a breakdown by pool or workload is a sum: each pool keeps
//! its own [`BilledTokens`], priced with the [`Prices`] of the model that serves it
//! ([`BilledTokens::usd`]), and [`Cost::new`] turns any such sum of dollars into the report's
//! three figures.

pub mod tiers;

use serde::{Deserialize, Serialize};

/// On-demand prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Tokens written to the prompt cache.
    pub cache_write: f64,
    /// Tokens read from the prompt cache.
    pub cache_read: f64,
}

/// A model row's prices, when it carries all four (the bundled rows in
/// `src/quota/models.toml` do, with their source and as-of date; the `other` row has none).
pub fn row_prices(row: &crate::quota::models::ModelRow) -> Option<Prices> {
    Some(Prices {
        input: row.price_input?,
        output: row.price_output?,
        cache_write: row.price_cache_write?,
        cache_read: row.price_cache_read?,
    })
}

/// The default prices of a bundled model preset, if it has any.
pub fn preset_prices(preset: &str) -> Option<Prices> {
    crate::quota::models::Table::bundled()
        .get(preset)
        .and_then(row_prices)
}

/// Billed tokens of successful attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BilledTokens {
    /// Input tokens (cache writes and reads not included).
    pub input: u64,
    /// Output tokens generated (truncated output included).
    pub output: u64,
    /// Tokens written to the prompt cache.
    pub cache_write: u64,
    /// Tokens read from the prompt cache.
    pub cache_read: u64,
}

impl BilledTokens {
    /// Adds one successful attempt.
    #[inline]
    pub fn add(&mut self, input: u64, output: u64, cache_write: u64, cache_read: u64) {
        self.input = self.input.saturating_add(input);
        self.output = self.output.saturating_add(output);
        self.cache_write = self.cache_write.saturating_add(cache_write);
        self.cache_read = self.cache_read.saturating_add(cache_read);
    }

    /// Adds another bill's tokens.
    pub fn merge(&mut self, other: &BilledTokens) {
        self.add(
            other.input,
            other.output,
            other.cache_write,
            other.cache_read,
        );
    }

    /// Their price in USD: `(input × p_in + output × p_out + cache_write × p_cw +
    /// cache_read × p_cr) / 1,000,000`, summed in that order.
    pub fn usd(&self, p: &Prices) -> f64 {
        (self.input as f64 * p.input
            + self.output as f64 * p.output
            + self.cache_write as f64 * p.cache_write
            + self.cache_read as f64 * p.cache_read)
            / 1e6
    }
}

/// The report's `cost` block; every field is `null` when the model has no price.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cost {
    /// Dollars for the requests counted in `requests.*`.
    pub usd: Option<f64>,
    /// `usd / requests.succeeded`; `null` when nothing succeeded.
    pub usd_per_success: Option<f64>,
    /// `usd` per hour of `[warmup, duration)`.
    pub usd_per_hour: Option<f64>,
    /// The fixed charge of reserved capacity over `[warmup, duration)`, included in `usd`
    /// (only when a pool is reserved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_usd: Option<f64>,
    /// Which prices were used, when anything but the list price at the standard tier is
    /// involved (a regional premium, a service tier, reserved capacity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices: Option<String>,
}

impl Cost {
    /// The three figures from a dollar total (`None`: no price), the number of successful
    /// requests and the measured span in µs.
    pub fn new(usd: Option<f64>, succeeded: u64, measured_us: u64) -> Cost {
        let hours = measured_us as f64 / 3_600e6;
        Cost {
            usd,
            usd_per_success: usd.filter(|_| succeeded > 0).map(|u| u / succeeded as f64),
            usd_per_hour: usd.filter(|_| hours > 0.0).map(|u| u / hours),
            reserved_usd: None,
            prices: None,
        }
    }

    /// This cost with a fixed charge `fixed` (`None`: unknown) added to `usd`, the
    /// per-success and per-hour figures recomputed.
    pub fn with_fixed(self, fixed: Option<f64>, succeeded: u64, measured_us: u64) -> Cost {
        let usd = match (self.usd, fixed) {
            (Some(u), Some(f)) => Some(u + f),
            _ => None,
        };
        Cost {
            reserved_usd: fixed,
            prices: self.prices,
            ..Cost::new(usd, succeeded, measured_us)
        }
    }

    /// The cost of billed tokens priced part by part (see [`priced_sum`]).
    pub(crate) fn of_parts(parts: &[Billing], succeeded: u64, measured_us: u64) -> Cost {
        Cost::new(priced_sum(parts), succeeded, measured_us)
    }

    /// The cost of `billed` at `prices` (`None`: no price).
    pub fn of(
        billed: &BilledTokens,
        prices: Option<&Prices>,
        succeeded: u64,
        measured_us: u64,
    ) -> Cost {
        Cost::new(prices.map(|p| billed.usd(p)), succeeded, measured_us)
    }
}

/// Tokens billed at one model's prices (`None`: the model has no price): what one pool
/// served, or one workload's share of it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Billing {
    /// The serving model's prices.
    pub prices: Option<Prices>,
    /// The tokens billed at them.
    pub billed: BilledTokens,
}

/// Dollars for tokens billed at several models' prices.
///
/// Parts at the same prices are added up as tokens first (integers, exact) and priced once,
/// so pools that all serve one model bill exactly what one pool serving it all would; the
/// distinct prices' dollars are then summed in order of first appearance.
///
/// `None` when a part with tokens has no price (the total is unknown), or when no part has a
/// price at all (as for one unpriced model, which reports `null` even before billing
/// anything). A part without a price that billed nothing adds nothing: a fallback pool on an
/// unpriced model that never served does not hide the others' cost.
pub(crate) fn priced_sum(parts: &[Billing]) -> Option<f64> {
    let mut groups: Vec<(Prices, BilledTokens)> = Vec::new();
    for part in parts {
        match part.prices {
            Some(p) => match groups.iter_mut().find(|(q, _)| *q == p) {
                Some((_, b)) => b.merge(&part.billed),
                None => groups.push((p, part.billed)),
            },
            None if part.billed != BilledTokens::default() => return None,
            None => {}
        }
    }
    let mut dollars = groups.iter().map(|(p, b)| b.usd(p));
    // From the first group's dollars (not 0.0 + them): one price bills bit for bit what it
    // always did.
    let first = dollars.next()?;
    Some(dollars.fold(first, |t, usd| t + usd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claude_preset_has_a_price_and_other_has_none() {
        for name in crate::quota::models::preset_names() {
            assert_eq!(preset_prices(name).is_some(), name != "other", "{name}");
        }
    }

    #[test]
    fn hand_computed() {
        let p = preset_prices("claude-sonnet-4").unwrap();
        let mut b = BilledTokens::default();
        b.add(1000, 500, 200, 4000);
        b.add(1000, 500, 0, 0);
        // 2000 × 3 + 1000 × 15 + 200 × 3.75 + 4000 × 0.3 = 6000 + 15000 + 750 + 1200
        assert!((b.usd(&p) - 0.02295).abs() < 1e-15);
        let c = Cost::of(&b, Some(&p), 2, 1_800_000_000);
        assert!((c.usd_per_success.unwrap() - 0.011475).abs() < 1e-15);
        assert!((c.usd_per_hour.unwrap() - 0.0459).abs() < 1e-15);
        let none = Cost::of(&b, None, 2, 1);
        assert_eq!(none, Cost::default());
        let nothing = Cost::of(&BilledTokens::default(), Some(&p), 0, 60_000_000);
        assert_eq!(
            (nothing.usd, nothing.usd_per_success, nothing.usd_per_hour),
            (Some(0.0), None, Some(0.0))
        );
    }

    #[test]
    fn priced_sums_part_by_part() {
        let sonnet = preset_prices("claude-sonnet-4");
        let haiku_prices = Prices {
            input: 1.0,
            output: 5.0,
            cache_write: 1.25,
            cache_read: 0.1,
        };
        let haiku = Some(haiku_prices);
        let tokens = |i, o| {
            let mut b = BilledTokens::default();
            b.add(i, o, 0, 0);
            b
        };
        let part = |prices, billed| Billing { prices, billed };
        // 1,000 in + 100 out on Sonnet: 3,000 + 1,500 = 4,500 µ$; 2,000 in + 200 out on
        // Haiku: 2,000 + 1,000 = 3,000 µ$. Together 0.0075 $.
        let both = [
            part(sonnet, tokens(1000, 100)),
            part(haiku, tokens(2000, 200)),
        ];
        assert!((priced_sum(&both).unwrap() - 0.0075).abs() < 1e-15);
        // One part: exactly its own figure.
        let one = [part(sonnet, tokens(1000, 100))];
        assert_eq!(
            priced_sum(&one),
            Some(tokens(1000, 100).usd(&sonnet.unwrap()))
        );
        // An unpriced part that billed nothing adds nothing; one that billed makes it unknown.
        let idle = [part(None, BilledTokens::default()), one[0]];
        assert_eq!(priced_sum(&idle), priced_sum(&one));
        // Two parts at one price are priced as one bill.
        let halves = [
            part(sonnet, tokens(400, 30)),
            part(haiku, tokens(2000, 200)),
            part(sonnet, tokens(600, 70)),
        ];
        assert_eq!(
            priced_sum(&halves),
            Some(tokens(1000, 100).usd(&sonnet.unwrap()) + tokens(2000, 200).usd(&haiku_prices))
        );
        let busy = [part(None, tokens(1, 0)), one[0]];
        assert_eq!(priced_sum(&busy), None);
        // No price anywhere: unknown, as for a single unpriced model.
        assert_eq!(priced_sum(&[part(None, BilledTokens::default())]), None);
        assert_eq!(priced_sum(&[]), None);
    }
}
