//! Model presets as data: `models.toml`, read at build time, one row per model with its
//! burndown, maximum output, typical TTFT and decode speed, on-demand prices, Bedrock model
//! IDs, sources and how sure each figure is. A user file can add rows or override rows of the
//! same name ([`Table::with_user_rows`]).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The bundled table's text.
pub const BUNDLED: &str = include_str!("models.toml");

/// Bedrock's inference-profile prefixes: geographic cross-Region (`us.`, `eu.`, `apac.`,
/// `jp.`, `au.`) and global cross-Region (`global.`).
pub const PROFILE_PREFIXES: [&str; 6] = ["us.", "eu.", "apac.", "jp.", "au.", "global."];

/// The prefix of global cross-Region profiles (list price, no regional premium).
pub const GLOBAL_PREFIX: &str = "global.";

/// Whether the row's requests-per-minute quota is enforced on bedrock-runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RpmEnforced {
    /// AWS enforces a requests-per-minute quota for this model.
    Yes,
    /// AWS does not enforce one (Claude 4.7 and later).
    No,
    /// No source says.
    #[default]
    Unknown,
}

impl Serialize for RpmEnforced {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RpmEnforced::Yes => s.serialize_bool(true),
            RpmEnforced::No => s.serialize_bool(false),
            RpmEnforced::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for RpmEnforced {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            B(bool),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::B(true) => Ok(RpmEnforced::Yes),
            Raw::B(false) => Ok(RpmEnforced::No),
            Raw::S(s) if s == "unknown" => Ok(RpmEnforced::Unknown),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "rpm_enforced: expected true, false or \"unknown\", found \"{s}\""
            ))),
        }
    }
}

/// A service tier on bedrock-runtime: all tiers share the model's on-demand quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The default tier (`service_tier = "default"` on the wire).
    #[default]
    Standard,
    /// Served ahead of the other tiers, at a premium.
    Priority,
    /// Served after the other tiers, at a discount.
    Flex,
}

impl Tier {
    /// Valid spellings, for error messages.
    pub const NAMES: [&'static str; 3] = ["standard", "priority", "flex"];
    /// Every tier, in report order.
    pub const ALL: [Tier; 3] = [Tier::Standard, Tier::Priority, Tier::Flex];

    /// The tier's name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Priority => "priority",
            Tier::Flex => "flex",
        }
    }

    /// The tier's index in [`Tier::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The tier named `s`.
    pub fn from_name(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// What a tier changes for one model: its price (every token kind, times `price_factor`)
/// and its decode speed (times `speed_factor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRow {
    /// The tier's prices relative to the standard tier's.
    pub price_factor: f64,
    /// The tier's decode speed relative to the standard tier's.
    pub speed_factor: f64,
}

/// The standard tier: the row's own prices and speed.
pub const STANDARD_TIER: TierRow = TierRow {
    price_factor: 1.0,
    speed_factor: 1.0,
};

/// The tiers a row offers besides standard (`[model.tiers]`), serialized with standard
/// first.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    /// The priority tier, if offered.
    #[serde(default)]
    pub priority: Option<TierRow>,
    /// The flex tier, if offered.
    #[serde(default)]
    pub flex: Option<TierRow>,
}

impl Tiers {
    /// The tier's figures, `None` when the model does not offer it.
    pub fn get(&self, t: Tier) -> Option<&TierRow> {
        match t {
            Tier::Standard => Some(&STANDARD_TIER),
            Tier::Priority => self.priority.as_ref(),
            Tier::Flex => self.flex.as_ref(),
        }
    }

    /// The names of the tiers offered, standard first.
    pub fn offered(&self) -> Vec<&'static str> {
        Tier::ALL
            .into_iter()
            .filter(|t| self.get(*t).is_some())
            .map(Tier::name)
            .collect()
    }
}

impl Serialize for Tiers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for t in Tier::ALL {
            if let Some(row) = self.get(t) {
                m.serialize_entry(t.name(), row)?;
            }
        }
        m.end()
    }
}

/// Whether a row's burndown has a citable source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BurndownStatus {
    /// A public source gives this model's burndown.
    #[default]
    Cited,
    /// No public source gives it: the row's value is a guess, and `check`/`run` warn.
    Unconfirmed,
}

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
    /// Whether the model is reachable only through an inference profile (a prefixed ID):
    /// Bedrock refuses its bare ID for on-demand throughput.
    #[serde(default)]
    pub profile_only: bool,
    /// Tokens per token of the older tokenizer for the same text (about 1.3 for the models
    /// on Anthropic's newer tokenizer, 1.0 before): `serve` multiplies its text estimate by
    /// it.
    #[serde(default = "one")]
    pub tokenizer_factor: f64,
    /// Whether a requests-per-minute quota is enforced on bedrock-runtime.
    #[serde(default)]
    pub rpm_enforced: RpmEnforced,
    /// The service tiers the model offers besides standard, with their price and decode
    /// speed factors.
    #[serde(default, skip_serializing_if = "never")]
    pub tiers: Tiers,
    /// Whether the burndown has a citable source (`unconfirmed`: `check` and `run` warn).
    #[serde(default)]
    pub burndown_status: BurndownStatus,
    /// Price premium of geographic and in-Region profiles over the `global.` list price (a
    /// fraction: 0.1 is 10% more); 0 when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regional_premium: Option<f64>,
    /// Reserved tier: USD per month per 1,000 reserved tokens per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_reserved_per_1k_tpm_month: Option<f64>,
}

fn one() -> f64 {
    1.0
}

fn never<T>(_: &T) -> bool {
    false
}

impl ModelRow {
    /// Whether `name` selects this row.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }

    /// The row's Bedrock IDs, each with the `us.`, `eu.`, `apac.`, `jp.`, `au.` and
    /// `global.` inference-profile prefixes, and bare unless the model is `profile_only`
    /// (Bedrock refuses a bare ID for it).
    pub fn bedrock_ids_with_prefixes(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.bedrock_ids.len() * (PROFILE_PREFIXES.len() + 1));
        for id in &self.bedrock_ids {
            if !self.profile_only {
                out.push(id.clone());
            }
            out.extend(PROFILE_PREFIXES.iter().map(|p| format!("{p}{id}")));
        }
        out
    }

    /// Whether `model_id` (no ARN) is one of the row's IDs without a profile prefix.
    pub fn is_bare_id(&self, model_id: &str) -> bool {
        self.bedrock_ids.iter().any(|id| id == model_id)
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
    if !(r.tokenizer_factor.is_finite() && (0.1..=10.0).contains(&r.tokenizer_factor)) {
        return bad("tokenizer_factor must be a number between 0.1 and 10");
    }
    for t in [&r.tiers.priority, &r.tiers.flex].into_iter().flatten() {
        let price_ok = t.price_factor.is_finite() && (0.0..1e3).contains(&t.price_factor);
        let speed_ok = t.speed_factor.is_finite() && t.speed_factor > 0.0 && t.speed_factor < 1e3;
        if !(price_ok && speed_ok) {
            return bad("tier factors must be numbers: price_factor ≥ 0, speed_factor > 0");
        }
    }
    if [r.regional_premium, r.price_reserved_per_1k_tpm_month]
        .iter()
        .flatten()
        .any(|p| !(p.is_finite() && *p >= 0.0 && *p < 1e9))
    {
        return bad("regional_premium and price_reserved_per_1k_tpm_month must be numbers ≥ 0");
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

    /// The hint for an unknown preset `name`: "did you mean" the nearest row, unless `name`
    /// looks like a newer Claude model than that row (a higher version of the same line):
    /// burndown is per model and grew with the newest models, so pointing at an older row
    /// could understate the quota drawn by output several times; the hint then says so.
    pub fn unknown_hint(&self, name: &str) -> Option<String> {
        let names: Vec<&str> = self.rows.iter().map(|r| r.name.as_str()).collect();
        let nearest = crate::error::nearest(name, names.iter().copied())?;
        let row = self.get(nearest)?;
        match (claude_version(name), claude_version(&row.name)) {
            (Some((line, v)), Some((_, w))) if v > w => {
                let top = self
                    .rows
                    .iter()
                    .map(|r| r.output_burndown)
                    .max()
                    .unwrap_or(row.output_burndown);
                let most = if top > row.output_burndown {
                    format!(" (newer rows here burn up to {top}x)")
                } else {
                    String::new()
                };
                Some(format!(
                    "there is no row for \"{name}\" yet; the nearest, \"{}\", is an older {line} model, and burndown is per model: its {}x may understate a newer model's{most}. Add a [[models]] row with the output_burndown from AWS's token-counting page",
                    row.name, row.output_burndown
                ))
            }
            _ => Some(format!("did you mean \"{nearest}\"?")),
        }
    }

    /// Every name and alias.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().flat_map(|r| {
            std::iter::once(r.name.as_str()).chain(r.aliases.iter().map(String::as_str))
        })
    }

    /// The `quotasim models` listing. An output burndown marked `?` is `unconfirmed`; a
    /// `*` after the preset name marks a `profile_only` model.
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
            let out = match r.burndown_status {
                BurndownStatus::Cited => r.output_burndown.to_string(),
                BurndownStatus::Unconfirmed => format!("{}?", r.output_burndown),
            };
            let name = if r.profile_only {
                format!("{}*", r.name)
            } else {
                r.name.clone()
            };
            text.push_str(&format!(
                "{:<20} {:>6} {:>7} {:>11} {:>7} {:>13} {:>17}  {}\n",
                name,
                r.input_burndown,
                out,
                r.max_output_tokens,
                r.ttft,
                r.output_tokens_per_second,
                price,
                r.as_of
            ));
        }
        let mut notes = Vec::new();
        if self.rows.iter().any(|r| r.profile_only) {
            notes.push(
                "* profile only: invoke it through an inference profile (us., eu., apac., jp., au., global.)",
            );
        }
        if self
            .rows
            .iter()
            .any(|r| r.burndown_status == BurndownStatus::Unconfirmed)
        {
            notes.push(
                "? burndown unconfirmed: no public source gives it; check and run warn when a scenario uses it",
            );
        }
        if !notes.is_empty() {
            text.push('\n');
            for n in notes {
                text.push_str(n);
                text.push('\n');
            }
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

/// A Claude model name's line (`opus`, `sonnet`, `haiku`, `fable`, …) and version
/// (`claude-opus-4-8` → ("opus", [4, 8])), when it has that shape.
fn claude_version(name: &str) -> Option<(&str, Vec<u64>)> {
    let rest = name.strip_prefix("claude-")?;
    let mut parts = rest.split('-');
    let line = parts.next()?;
    if line.is_empty() || line.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // Date suffixes (20250514) are not part of the version.
    let v: Vec<u64> = parts
        .map_while(|p| p.parse::<u64>().ok())
        .filter(|n| *n < 1000)
        .collect();
    (!v.is_empty()).then_some((line, v))
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
        assert!(ids.contains(&"jp.anthropic.claude-sonnet-4-20250514-v1:0".to_string()));
        assert!(ids.contains(&"au.anthropic.claude-sonnet-4-20250514-v1:0".to_string()));
        // The bare ID and us., eu., apac., jp., au., global.
        assert_eq!(ids.len(), 7);
        // A profile-only model: the six profiles, never the bare ID.
        let opus = t.get("claude-opus-4-8").unwrap();
        let ids = opus.bedrock_ids_with_prefixes();
        assert_eq!(ids.len(), 6);
        assert!(!ids.contains(&"anthropic.claude-opus-4-8".to_string()));
        assert!(ids.contains(&"au.anthropic.claude-opus-4-8".to_string()));
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
