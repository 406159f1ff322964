//! `quotasim estimate`: the closed-form quota arithmetic of one request (docs/quota.md).

use serde::Serialize;

use crate::error::Error;
use crate::quota::{Burndown, ReserveMode, models};

/// The result of `estimate`; its JSON keys are in this order (docs/report.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// Preset name.
    pub model: String,
    /// Quota tokens per input token.
    pub input_burndown: u64,
    /// Quota tokens per output token.
    pub output_burndown: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens produced (at most `max_tokens`).
    pub output_tokens: u64,
    /// `max_tokens` (the model's maximum output when not given).
    pub max_tokens: u64,
    /// Final quota cost.
    pub quota_tokens: u64,
    /// Reservation at admission.
    pub reserved_tokens: u64,
    /// `floor(TPM / quota_tokens)`, with `--tokens-per-minute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute_by_consumption: Option<u64>,
    /// `floor(TPM / reserved_tokens)`, with `--tokens-per-minute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent_by_reservation: Option<u64>,
    /// The output tokens asked for, before truncation at `max_tokens` (not in the JSON,
    /// whose keys are fixed; the table and [`Estimate::notes`] say it).
    #[serde(skip)]
    pub requested_output_tokens: u64,
}

/// Computes the estimate. Output above `max_tokens` is truncated to it, as the API does.
pub fn estimate(
    model: &str,
    input_tokens: u64,
    output_tokens: u64,
    max_tokens: Option<u64>,
    tokens_per_minute: Option<u64>,
    reserve: ReserveMode,
) -> Result<Estimate, Error> {
    let Some(p) = models::preset(model) else {
        let names: Vec<&str> = models::preset_names().collect();
        let hint = models::Table::bundled()
            .unknown_hint(model)
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        return Err(Error::Usage(format!(
            "--model: unknown model \"{model}\"{hint}; expected one of {}",
            names.join(", ")
        )));
    };
    if max_tokens == Some(0) {
        return Err(Error::Usage(
            "--max-tokens: expected an integer ≥ 1, found 0".into(),
        ));
    }
    if tokens_per_minute == Some(0) {
        return Err(Error::Usage(
            "--tokens-per-minute: expected an integer ≥ 1, found 0".into(),
        ));
    }
    let b = Burndown {
        input: p.input_burndown,
        output: p.output_burndown,
    };
    let m = max_tokens.unwrap_or(p.max_output_tokens);
    let out = output_tokens.min(m);
    let quota_tokens = b.final_cost(input_tokens, 0, out);
    let reserved_tokens = b.reservation(reserve, input_tokens, 0, m);
    let per = |cost: u64| tokens_per_minute.map(|tpm| tpm.checked_div(cost).unwrap_or(u64::MAX));
    Ok(Estimate {
        model: model.to_string(),
        input_burndown: b.input,
        output_burndown: b.output,
        input_tokens,
        output_tokens: out,
        max_tokens: m,
        quota_tokens,
        reserved_tokens,
        requests_per_minute_by_consumption: per(quota_tokens),
        concurrent_by_reservation: per(reserved_tokens),
        requested_output_tokens: output_tokens,
    })
}

impl Estimate {
    /// Whether the response is cut at `max_tokens`.
    pub fn truncated(&self) -> bool {
        self.requested_output_tokens > self.output_tokens
    }

    /// Quota tokens consumed above the reservation (0 when the reservation covers it):
    /// settled in the window where the request completes, which it can push past its limit.
    pub fn overshoot(&self) -> u64 {
        self.quota_tokens.saturating_sub(self.reserved_tokens)
    }

    /// What a reader of the figures must not miss: truncation and overshoot.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.truncated() {
            notes.push(format!(
                "the response is truncated: {} output tokens asked for, max_tokens {} \
                 (the API stops there; figures use {})",
                self.requested_output_tokens, self.max_tokens, self.output_tokens
            ));
        }
        if self.overshoot() > 0 {
            notes.push(format!(
                "consumption exceeds the reservation by {} quota tokens: {} consumed, {} \
                 reserved; the excess is charged at completion and can push that minute \
                 past its limit",
                self.overshoot(),
                self.quota_tokens,
                self.reserved_tokens
            ));
        }
        notes
    }

    /// Human-readable rendering.
    pub fn to_table(&self) -> String {
        let mut s = format!(
            "model               {}  (input 1:{}, output 1:{})\n\
             input tokens        {}\n\
             output tokens       {}{}\n\
             max_tokens          {}\n\
             quota consumed      {} = {} × {} + {} × {}\n\
             reserved up front   {}{}\n",
            self.model,
            self.input_burndown,
            self.output_burndown,
            self.input_tokens,
            self.output_tokens,
            if self.truncated() {
                format!("  (truncated from {})", self.requested_output_tokens)
            } else {
                String::new()
            },
            self.max_tokens,
            self.quota_tokens,
            self.input_tokens,
            self.input_burndown,
            self.output_tokens,
            self.output_burndown,
            self.reserved_tokens,
            if self.overshoot() > 0 {
                format!("  (overshoot: {} consumed above it)", self.overshoot())
            } else {
                String::new()
            },
        );
        if let (Some(rpm), Some(conc)) = (
            self.requests_per_minute_by_consumption,
            self.concurrent_by_reservation,
        ) {
            s.push_str(&format!(
                "requests/min by consumption   {rpm}\nconcurrent by reservation     {conc}\n"
            ));
        }
        for n in self.notes() {
            s.push_str(&format!("note: {n}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(model: &str, i: u64, o: u64) -> u64 {
        estimate(model, i, o, None, None, ReserveMode::default())
            .map(|e| e.quota_tokens)
            .unwrap_or(0)
    }

    #[test]
    fn seed_article() {
        assert_eq!(q("claude-sonnet-4", 10, 750), 3_760);
        assert_eq!(q("claude-sonnet-4", 2_005, 200), 3_005);
        assert_eq!(q("claude-opus-4", 6, 12), 66);
        assert_eq!(q("claude-sonnet-4", 0, 10_000), 50_000);
        assert_eq!(q("claude-opus-4", 0, 20_000), 100_000);
        assert_eq!(q("other", 10, 750), 760);
    }

    #[test]
    fn per_minute_figures() {
        let e = estimate(
            "claude-sonnet-4",
            10,
            750,
            Some(4096),
            Some(100_000),
            ReserveMode::default(),
        )
        .unwrap();
        assert_eq!(e.reserved_tokens, 4_106);
        assert_eq!(e.requests_per_minute_by_consumption, Some(26));
        assert_eq!(e.concurrent_by_reservation, Some(24));
        assert!(!e.truncated());
        assert_eq!(e.overshoot(), 0);
        assert!(e.notes().is_empty());
    }

    #[test]
    fn truncation_and_overshoot_are_said() {
        let e = estimate(
            "claude-sonnet-4",
            10,
            750,
            Some(100),
            None,
            ReserveMode::default(),
        )
        .unwrap();
        // 100 of the 750 tokens are produced: 10 + 100 × 5 = 510 consumed, 10 + 100 reserved.
        assert_eq!(
            (e.output_tokens, e.quota_tokens, e.reserved_tokens),
            (100, 510, 110)
        );
        assert!(e.truncated());
        assert_eq!(e.overshoot(), 400);
        let t = e.to_table();
        assert!(t.contains("100  (truncated from 750)"), "{t}");
        assert!(t.contains("110  (overshoot: 400 consumed above it)"), "{t}");
        assert!(t.contains("note: the response is truncated"), "{t}");
        // The JSON keys stay the documented set.
        let j = serde_json::to_value(&e).unwrap();
        assert!(j.get("requested_output_tokens").is_none());
    }
}
