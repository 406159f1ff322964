//! Quota costs of a request (burndown, reservation and final cost), in whole quota tokens.

use serde::{Deserialize, Serialize};

/// How much is reserved at admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReserveMode {
    /// `input_burndown × (I + W) + M`: AWS's documented formula.
    #[default]
    #[serde(rename = "input+max_tokens")]
    InputPlusMaxTokens,
    /// `input_burndown × (I + W) + output_burndown × M`: the pessimistic reading.
    #[serde(rename = "input+max_tokens*burndown")]
    InputPlusMaxTokensBurndown,
}

impl ReserveMode {
    /// Valid spellings, for error messages.
    pub const NAMES: [&'static str; 2] = ["input+max_tokens", "input+max_tokens*burndown"];
}

/// Burndown rates of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burndown {
    /// Quota tokens per input or cache-write token.
    pub input: u64,
    /// Quota tokens per output token.
    pub output: u64,
}

impl Burndown {
    /// Final cost `C = input × (I + W) + output × A`; cache reads are free.
    pub fn final_cost(&self, input: u64, cache_write: u64, output: u64) -> u64 {
        self.input
            .saturating_mul(input.saturating_add(cache_write))
            .saturating_add(self.output.saturating_mul(output))
    }

    /// Reservation at admission for a request with `max_tokens` M.
    pub fn reservation(
        &self,
        mode: ReserveMode,
        input: u64,
        cache_write: u64,
        max_tokens: u64,
    ) -> u64 {
        let out = match mode {
            ReserveMode::InputPlusMaxTokens => max_tokens,
            ReserveMode::InputPlusMaxTokensBurndown => self.output.saturating_mul(max_tokens),
        };
        self.input
            .saturating_mul(input.saturating_add(cache_write))
            .saturating_add(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAUDE4: Burndown = Burndown {
        input: 1,
        output: 5,
    };
    const OTHER: Burndown = Burndown {
        input: 1,
        output: 1,
    };

    #[test]
    fn seed_article_examples() {
        assert_eq!(CLAUDE4.final_cost(10, 0, 750), 3_760);
        assert_eq!(CLAUDE4.final_cost(2_005, 0, 200), 3_005);
        assert_eq!(CLAUDE4.final_cost(6, 0, 12), 66);
        assert_eq!(CLAUDE4.final_cost(0, 0, 10_000), 50_000);
        assert_eq!(CLAUDE4.final_cost(0, 0, 20_000), 100_000);
        assert_eq!(OTHER.final_cost(10, 0, 750), 760);
    }

    #[test]
    fn cache_writes_cost_input_rate_and_reads_are_free() {
        assert_eq!(CLAUDE4.final_cost(100, 50, 10), 200);
    }

    #[test]
    fn reservations() {
        let m = ReserveMode::InputPlusMaxTokens;
        let p = ReserveMode::InputPlusMaxTokensBurndown;
        assert_eq!(CLAUDE4.reservation(m, 10, 0, 4096), 4_106);
        assert_eq!(CLAUDE4.reservation(p, 10, 0, 4096), 20_490);
        assert_eq!(CLAUDE4.reservation(m, 10, 5, 100), 115);
        assert_eq!(
            CLAUDE4.reservation(m, u64::MAX, 1, 1),
            u64::MAX,
            "saturates"
        );
    }
}
