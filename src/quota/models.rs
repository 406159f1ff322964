//! Model presets (SPEC §6): burndown rates, maximum output and default decode speed.

use serde::Serialize;

/// One model preset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Preset {
    /// Preset names that select this row.
    pub names: &'static [&'static str],
    /// Quota tokens per input (and cache-write) token.
    pub input_burndown: u64,
    /// Quota tokens per output token.
    pub output_burndown: u64,
    /// The `max_tokens` the API uses when the caller leaves it unset.
    pub max_output_tokens: u64,
    /// Default decode speed.
    pub output_tokens_per_second: f64,
}

/// Every preset, in the order `quotasim models` lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        names: &["claude-opus-4", "claude-opus-4-1"],
        input_burndown: 1,
        output_burndown: 5,
        max_output_tokens: 32_000,
        output_tokens_per_second: 40.0,
    },
    Preset {
        names: &["claude-sonnet-4", "claude-sonnet-4-5", "claude-3-7-sonnet"],
        input_burndown: 1,
        output_burndown: 5,
        max_output_tokens: 64_000,
        output_tokens_per_second: 60.0,
    },
    Preset {
        names: &["claude-haiku-4-5"],
        input_burndown: 1,
        output_burndown: 5,
        max_output_tokens: 64_000,
        output_tokens_per_second: 150.0,
    },
    Preset {
        names: &["claude-3-5-sonnet", "claude-3-5-haiku"],
        input_burndown: 1,
        output_burndown: 1,
        max_output_tokens: 8_192,
        output_tokens_per_second: 60.0,
    },
    Preset {
        names: &["other"],
        input_burndown: 1,
        output_burndown: 1,
        max_output_tokens: 4_096,
        output_tokens_per_second: 60.0,
    },
];

/// Looks a preset up by name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.names.contains(&name))
}

/// Every valid preset name.
pub fn preset_names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().flat_map(|p| p.names.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_4_burns_five() {
        for n in [
            "claude-opus-4",
            "claude-opus-4-1",
            "claude-sonnet-4",
            "claude-sonnet-4-5",
            "claude-3-7-sonnet",
            "claude-haiku-4-5",
        ] {
            assert_eq!(preset(n).map(|p| p.output_burndown), Some(5), "{n}");
        }
        for n in ["claude-3-5-sonnet", "claude-3-5-haiku", "other"] {
            assert_eq!(preset(n).map(|p| p.output_burndown), Some(1), "{n}");
        }
        assert_eq!(
            preset("claude-sonnet-4").map(|p| p.max_output_tokens),
            Some(64_000)
        );
        assert_eq!(
            preset("claude-opus-4").map(|p| p.max_output_tokens),
            Some(32_000)
        );
        assert!(preset("gpt-4").is_none());
    }
}
