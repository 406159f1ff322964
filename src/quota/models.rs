//! Model presets as data: `models.toml`, read at build time, one row per model with its
//! burndown, maximum output, typical TTFT and decode speed, on-demand prices, Bedrock model
//! IDs, sources and how sure each figure is. A user file can add rows or override rows of the
//! same name ([`Table::with_user_rows`]).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The bundled table's text.
pub const BUNDLED: &str = include_str!("models.toml");

/// Bedrock's inference-profile prefixes: geographic cross-Region and global cross-Region.
pub const PROFILE_PREFIXES: [&str; 4] = ["us.", "eu.", "apac.", "global."];

/// One model row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRow {
    /// The preset name (`model.preset`).
    pub name: String,
    /// Other names that select this row.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// In-Region Bedrock model IDs (see [`ModelRow::bedrock_ids_with_prefixes`]).
    #[serde(default)]
    pub bedrock_ids: Vec<String>,
    /// Quota tokens per input (and cache-write) token.
    pub input_burndown: u64,
    /// Quota tokens per output token.
    pub output_burndown: u64,
    /// The `max_tokens` the API uses when the caller leaves it unset.
    pub max_output_tokens: u64,
    /// Typical time to first token, seconds (the default `service.ttft`).
    pub ttft: f64,
    /// Typical decode speed, tokens per second.
    pub output_tokens_per_second: f64,
    /// On-demand price of input tokens, USD per million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_input: Option<f64>,
    /// On-demand price of output tokens, USD per million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_output: Option<f64>,
    /// On-demand price of cache-write tokens (5-minute cache), USD per million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cache_write: Option<f64>,
    /// On-demand price of cache-read tokens, USD per million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cache_read: Option<f64>,
    /// Where the figures come from.
    pub source: String,
    /// When the sources were read (YYYY-MM-DD).
    pub as_of: String,
    /// How sure each figure is.
    pub confidence: String,
}

impl ModelRow {
    /// Whether `name` selects this row.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }

    /// The row's Bedrock IDs, each also with the `us.`, `eu.`, `apac.` and `global.`
    /// inference-profile prefixes.
    pub fn bedrock_ids_with_prefixes(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.bedrock_ids.len() * 5);
        for id in &self.bedrock_ids {
            out.push(id.clone());
            out.extend(PROFILE_PREFIXES.iter().map(|p| format!("{p}{id}")));
        }
        out
    }

    /// The default `service.ttft` in µs.
    pub fn ttft_us(&self) -> u64 {
        crate::num::round_u64(self.ttft * 1e6)
    }
}

/// The file shape: `[[model]]` rows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    model: Vec<ModelRow>,
}

/// Why a models file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// Not valid TOML or not the `[[model]]` shape.
    #[error("{0}")]
    Parse(String),
    /// A row whose numbers cannot be used.
    #[error("model \"{name}\": {message}")]
    Invalid {
        /// The row's name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// A table of model rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// The rows, in listing order.
    pub rows: Vec<ModelRow>,
}

fn parse(text: &str) -> Result<Vec<ModelRow>, ModelsError> {
    let file: File = toml::from_str(text).map_err(|e| ModelsError::Parse(e.to_string()))?;
    for r in &file.model {
        check(r)?;
    }
    Ok(file.model)
}

/// Refuses a row whose numbers cannot be used.
fn check(r: &ModelRow) -> Result<(), ModelsError> {
    let bad = |message: &str| {
        Err(ModelsError::Invalid {
            name: r.name.clone(),
            message: message.to_string(),
        })
    };
    if r.name.is_empty() {
        return bad("empty name");
    }
    if r.input_burndown == 0 || r.output_burndown == 0 || r.max_output_tokens == 0 {
        return bad("burndown rates and max_output_tokens must be ≥ 1");
    }
    if !(r.ttft.is_finite() && (0.0..86_400.0).contains(&r.ttft)) {
        return bad("ttft must be a number of seconds ≥ 0 (below a day)");
    }
    if !(r.output_tokens_per_second.is_finite() && r.output_tokens_per_second > 0.0) {
        return bad("output_tokens_per_second must be > 0");
    }
    let prices = [
        r.price_input,
        r.price_output,
        r.price_cache_write,
        r.price_cache_read,
    ];
    if prices
        .iter()
        .flatten()
        .any(|p| !(p.is_finite() && *p >= 0.0))
    {
        return bad("prices must be numbers ≥ 0 (USD per million tokens)");
    }
    Ok(())
}

static BUNDLED_TABLE: LazyLock<Table> = LazyLock::new(|| Table {
    // The bundled file is checked by a unit test; an unreadable one leaves an empty table.
    rows: parse(BUNDLED).unwrap_or_default(),
});

impl Table {
    /// The bundled table.
    pub fn bundled() -> &'static Table {
        &BUNDLED_TABLE
    }

    /// The bundled rows with a user file's rows: a row whose name matches a bundled row (or
    /// one of its aliases) replaces it in place, keeping the bundled aliases and Bedrock IDs
    /// when it lists none; other rows are added at the end.
    pub fn with_user_rows(text: &str) -> Result<Table, ModelsError> {
        Table::with_rows(parse(text)?)
    }

    /// Like [`Table::with_user_rows`] for rows already read (a scenario's `[[models]]`).
    pub fn with_rows(user: Vec<ModelRow>) -> Result<Table, ModelsError> {
        for r in &user {
            check(r)?;
        }
        let mut rows = Table::bundled().rows.clone();
        for mut r in user {
            match rows.iter_mut().find(|b| b.answers_to(&r.name)) {
                Some(b) => {
                    if r.aliases.is_empty() {
                        r.aliases = std::mem::take(&mut b.aliases);
                    }
                    if r.bedrock_ids.is_empty() {
                        r.bedrock_ids = std::mem::take(&mut b.bedrock_ids);
                    }
                    *b = r;
                }
                None => rows.push(r),
            }
        }
        Ok(Table { rows })
    }

    /// The row `name` selects.
    pub fn get(&self, name: &str) -> Option<&ModelRow> {
        self.rows.iter().find(|r| r.answers_to(name))
    }

    /// The row whose Bedrock IDs (with or without a profile prefix) include `model_id`.
    pub fn by_bedrock_id(&self, model_id: &str) -> Option<&ModelRow> {
        let bare = PROFILE_PREFIXES
            .iter()
            .find_map(|p| model_id.strip_prefix(p))
            .unwrap_or(model_id);
        self.rows
            .iter()
            .find(|r| r.bedrock_ids.iter().any(|id| id == bare))
    }

    /// Every name and alias.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().flat_map(|r| {
            std::iter::once(r.name.as_str()).chain(r.aliases.iter().map(String::as_str))
        })
    }

    /// The `quotasim models` listing.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{:<20} {:>6} {:>7} {:>11} {:>7} {:>13} {:>17}  {}\n",
            "preset",
            "input",
            "output",
            "max output",
            "ttft s",
            "decode tok/s",
            "$/M in / out",
            "as of"
        );
        for r in &self.rows {
            let price = match (r.price_input, r.price_output) {
                (Some(i), Some(o)) => format!("{i} / {o}"),
                _ => "-".to_string(),
            };
            text.push_str(&format!(
                "{:<20} {:>6} {:>7} {:>11} {:>7} {:>13} {:>17}  {}\n",
                r.name,
                r.input_burndown,
                r.output_burndown,
                r.max_output_tokens,
                r.ttft,
                r.output_tokens_per_second,
                price,
                r.as_of
            ));
        }
        text
    }

    /// The `quotasim models --format json` listing: `{ "models": [rows…] }`.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&serde_json::json!({ "models": self.rows }))
            .unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Looks a bundled preset up by name or alias.
pub fn preset(name: &str) -> Option<&'static ModelRow> {
    Table::bundled().get(name)
}

/// Every bundled preset name (aliases are accepted too but not listed).
pub fn preset_names() -> impl Iterator<Item = &'static str> {
    Table::bundled().rows.iter().map(|r| r.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table_parses_and_every_row_has_a_source() {
        let rows = parse(BUNDLED).unwrap();
        assert_eq!(rows.len(), Table::bundled().rows.len());
        assert!(rows.len() >= 14);
        for r in &rows {
            assert!(!r.source.is_empty() && r.as_of.len() == 10, "{}", r.name);
            assert!(!r.confidence.is_empty(), "{}", r.name);
            if r.name != "other" {
                assert!(r.price_input.is_some() && r.price_cache_read.is_some());
                assert!(!r.bedrock_ids.is_empty(), "{}", r.name);
            }
        }
    }

    #[test]
    fn claude_4_burns_five_and_part_one_presets_keep_their_numbers() {
        for n in [
            "claude-opus-4",
            "claude-opus-4-1",
            "claude-sonnet-4",
            "claude-sonnet-4-5",
            "claude-3-7-sonnet",
            "claude-haiku-4-5",
            "claude-opus-4-5",
        ] {
            assert_eq!(preset(n).map(|p| p.output_burndown), Some(5), "{n}");
        }
        for n in ["claude-3-5-sonnet", "claude-3-5-haiku", "other"] {
            assert_eq!(preset(n).map(|p| p.output_burndown), Some(1), "{n}");
        }
        let max = |n| preset(n).map(|p| p.max_output_tokens);
        assert_eq!(max("claude-sonnet-4"), Some(64_000));
        assert_eq!(max("claude-opus-4"), Some(32_000));
        assert_eq!(max("claude-opus-4-5"), Some(64_000));
        assert_eq!(max("claude-3-5-haiku"), Some(8_192));
        // Unmeasured rows keep the earlier service defaults.
        for n in [
            "claude-sonnet-4",
            "claude-opus-4",
            "claude-3-5-sonnet",
            "other",
        ] {
            assert_eq!(preset(n).map(ModelRow::ttft_us), Some(800_000), "{n}");
        }
        assert_eq!(
            preset("claude-sonnet-4").map(|p| p.output_tokens_per_second),
            Some(60.0)
        );
        assert_eq!(
            preset("claude-opus-4").map(|p| p.output_tokens_per_second),
            Some(40.0)
        );
        assert!(preset("gpt-4").is_none());
    }

    #[test]
    fn measured_speeds() {
        let p = |n| preset(n).map(|r| (r.ttft_us(), r.output_tokens_per_second));
        assert_eq!(p("claude-haiku-4-5"), Some((500_000, 72.0)));
        assert_eq!(p("claude-sonnet-4-5"), Some((1_800_000, 63.0)));
        assert_eq!(p("claude-opus-4-1"), Some((2_700_000, 45.0)));
    }

    #[test]
    fn bedrock_ids_with_profile_prefixes() {
        let t = Table::bundled();
        let r = t.get("claude-sonnet-4").unwrap();
        let ids = r.bedrock_ids_with_prefixes();
        assert!(ids.contains(&"anthropic.claude-sonnet-4-20250514-v1:0".to_string()));
        assert!(ids.contains(&"global.anthropic.claude-sonnet-4-20250514-v1:0".to_string()));
        assert_eq!(ids.len(), 5);
        let found = t.by_bedrock_id("eu.anthropic.claude-haiku-4-5-20251001-v1:0");
        assert_eq!(found.map(|r| r.name.as_str()), Some("claude-haiku-4-5"));
        assert!(t.by_bedrock_id("us.meta.llama3").is_none());
    }

    #[test]
    fn user_rows_override_and_extend() {
        let user = r#"
[[model]]
name = "claude-sonnet-4"
input_burndown = 1
output_burndown = 5
max_output_tokens = 64000
ttft = 1.2
output_tokens_per_second = 70.0
source = "our own measurements"
as_of = "2026-11-30"
confidence = "measured in eu-west-1"

[[model]]
name = "my-model"
aliases = ["mine"]
input_burndown = 1
output_burndown = 2
max_output_tokens = 1000
ttft = 0.1
output_tokens_per_second = 200.0
price_input = 0.5
source = "vendor page"
as_of = "2026-11-30"
confidence = "vendor figures"
"#;
        let t = Table::with_user_rows(user).unwrap();
        assert_eq!(t.rows.len(), Table::bundled().rows.len() + 1);
        let s = t.get("claude-sonnet-4-20250514").unwrap();
        assert_eq!(
            s.output_tokens_per_second, 70.0,
            "overridden (alias lookup)"
        );
        assert_eq!(
            s.source, "our own measurements",
            "the user row replaces the row"
        );
        assert!(
            !s.bedrock_ids.is_empty(),
            "keeping the bundled IDs it does not list"
        );
        assert_eq!(t.get("mine").map(|r| r.output_burndown), Some(2));
        let json: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(json["models"].as_array().map(Vec::len), Some(t.rows.len()));
        let bad = "[[model]]\nname = \"x\"\ninput_burndown = 0\noutput_burndown = 1\nmax_output_tokens = 1\nttft = 0\noutput_tokens_per_second = 1\nsource = \"s\"\nas_of = \"2026-01-01\"\nconfidence = \"c\"";
        assert!(matches!(
            Table::with_user_rows(bad),
            Err(ModelsError::Invalid { .. })
        ));
        assert!(matches!(
            Table::with_user_rows("[[model]]\nname = 3"),
            Err(ModelsError::Parse(_))
        ));
    }
}
