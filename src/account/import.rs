//! `quotasim import service-quotas FILE`: the quotas an account has, as a scenario fragment.
//!
//! Reads what `aws service-quotas list-service-quotas --service-code bedrock` (or
//! `list-aws-default-service-quotas`) prints and writes one `[pools.NAME]` per model and
//! endpoint kind it recognises, plus `[[account.limits]]` for the cross-model daily quota.
//! Quota names are matched without regard to case, hyphens or spacing (AWS spells them
//! variously: "Cross-region", "Cross-Region", "Global cross-region"…). A quota whose name
//! matches none of the forms below is listed, never guessed:
//!
//! | name (folded)                                             | goes to                       |
//! |-----------------------------------------------------------|-------------------------------|
//! | `on-demand model inference tokens per minute for M`       | in-Region pool of M, TPM      |
//! | `cross-region model inference tokens per minute for M`    | geographic pool of M, TPM     |
//! | `global cross-region model inference tokens per minute for M` | global pool of M, TPM     |
//! | the same with `requests per minute` / `tokens per day`    | that pool's RPM / TPD         |
//! | `model invocation max tokens per day for M`               | in-Region pool of M, TPD      |
//! | `cross-model max tokens per day`                          | `[[account.limits]]`          |

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::quota::models::{ModelRow, Table};

/// Endpoint kinds, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    /// In-Region on-demand (bare model IDs).
    InRegion,
    /// Cross-Region geographic inference profiles (`us.`, `eu.`, `apac.`, `jp.`, `au.`).
    Geographic,
    /// Global cross-Region inference profile (`global.`).
    Global,
}

impl Endpoint {
    fn suffix(self) -> &'static str {
        match self {
            Endpoint::InRegion => "in_region",
            Endpoint::Geographic => "geo",
            Endpoint::Global => "global",
        }
    }
    fn prefixes(self) -> &'static [&'static str] {
        match self {
            Endpoint::InRegion => &[""],
            Endpoint::Geographic => &["us.", "eu.", "apac.", "jp.", "au."],
            Endpoint::Global => &["global."],
        }
    }
}

/// Which limit of a pool a quota sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    TokensPerMinute,
    RequestsPerMinute,
    TokensPerDay,
}

/// Why a file could not be imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// Not Service Quotas output.
    #[error(
        "not `aws service-quotas list-service-quotas` output: {0} (expected {{\"Quotas\": [{{\"ServiceCode\", \"QuotaName\", \"QuotaCode\", \"Value\", …}}]}})"
    )]
    Shape(String),
    /// Quotas of another service.
    #[error(
        "these are quotas of service `{0}`, not Amazon Bedrock's: run `aws service-quotas list-service-quotas --service-code bedrock`"
    )]
    OtherService(String),
}

fn shape(m: impl Into<String>) -> ImportError {
    ImportError::Shape(m.into())
}

/// Folds a quota or model name: lower case, hyphens as spaces, runs of spaces as one.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
        .replace(['-', '_'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One quota of the file.
#[derive(Debug, Clone, PartialEq)]
struct Quota {
    name: String,
    code: String,
    value: f64,
}

/// What a recognised quota name says.
#[derive(Debug, Clone, PartialEq)]
enum Recognised {
    Pool {
        endpoint: Endpoint,
        field: Field,
        model: String,
        note: Option<String>,
    },
    AccountTokensPerDay,
}

fn recognise(name: &str) -> Option<Recognised> {
    let f = fold(name);
    if f.starts_with("cross model max tokens per day") {
        return Some(Recognised::AccountTokensPerDay);
    }
    let forms: [(&str, Endpoint, Field); 10] = [
        (
            "global cross region model inference tokens per minute for ",
            Endpoint::Global,
            Field::TokensPerMinute,
        ),
        (
            "global cross region model inference requests per minute for ",
            Endpoint::Global,
            Field::RequestsPerMinute,
        ),
        (
            "global cross region model inference tokens per day for ",
            Endpoint::Global,
            Field::TokensPerDay,
        ),
        (
            "cross region model inference tokens per minute for ",
            Endpoint::Geographic,
            Field::TokensPerMinute,
        ),
        (
            "cross region model inference requests per minute for ",
            Endpoint::Geographic,
            Field::RequestsPerMinute,
        ),
        (
            "cross region model inference tokens per day for ",
            Endpoint::Geographic,
            Field::TokensPerDay,
        ),
        (
            "on demand model inference tokens per minute for ",
            Endpoint::InRegion,
            Field::TokensPerMinute,
        ),
        (
            "on demand model inference requests per minute for ",
            Endpoint::InRegion,
            Field::RequestsPerMinute,
        ),
        (
            "on demand model inference tokens per day for ",
            Endpoint::InRegion,
            Field::TokensPerDay,
        ),
        (
            "model invocation max tokens per day for ",
            Endpoint::InRegion,
            Field::TokensPerDay,
        ),
    ];
    for (prefix, endpoint, field) in forms {
        if let Some(rest) = f.strip_prefix(prefix) {
            // The model as written: the original spelling after its first " for ".
            let lower = name.to_lowercase();
            let original = match lower.find(" for ") {
                Some(i) => name.get(i + 5..).unwrap_or(rest).trim().to_string(),
                None => rest.to_string(),
            };
            let (model, note) = match original.split_once('(') {
                Some((m, n)) => (
                    m.trim().to_string(),
                    Some(n.trim_end_matches(')').trim().to_string()),
                ),
                None => (original.trim().to_string(), None),
            };
            if model.is_empty() {
                return None;
            }
            return Some(Recognised::Pool {
                endpoint,
                field,
                model,
                note,
            });
        }
    }
    None
}

/// The words of a model name that identify it: lower case, letters and digits split apart,
/// without "anthropic" and a trailing version word ("v1", "v2").
fn model_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        // "4.5" → "4", "5"; "claude3" → "claude", "3".
        let mut cur = String::new();
        for c in w.chars() {
            if !cur.is_empty() && (cur.chars().all(|x| x.is_ascii_digit()) != c.is_ascii_digit()) {
                words.push(std::mem::take(&mut cur));
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            words.push(cur);
        }
    }
    words.retain(|w| w != "anthropic");
    // A trailing "v" "1" (from "V1") is a version, not the model.
    if words.len() >= 2
        && words.get(words.len() - 2).is_some_and(|w| w == "v")
        && words
            .last()
            .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
    {
        words.truncate(words.len() - 2);
    }
    words
}

/// The preset row a Service Quotas model name denotes: its words equal a row name's (in
/// order, or failing that as a set).
fn resolve_model<'t>(table: &'t Table, name: &str) -> Option<&'t ModelRow> {
    let want = model_words(name);
    if want.is_empty() {
        return None;
    }
    let rows = table.rows.iter().filter(|r| r.name != "other");
    let names = |r: &ModelRow| {
        std::iter::once(r.name.clone())
            .chain(r.aliases.iter().cloned())
            .collect::<Vec<_>>()
    };
    for r in rows.clone() {
        if names(r).iter().any(|n| model_words(n) == want) {
            return Some(r);
        }
    }
    let mut sorted = want.clone();
    sorted.sort();
    rows.into_iter().find(|r| {
        names(r).iter().any(|n| {
            let mut w = model_words(n);
            w.sort();
            w == sorted
        })
    })
}

/// A pool being assembled.
#[derive(Debug, Default)]
struct PoolOut {
    tpm: Option<(u64, String)>,
    rpm: Option<(u64, String)>,
    tpd: Option<(u64, String)>,
    notes: Vec<String>,
}

/// The fragment, and the quotas it did not recognise (for standard error).
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The TOML fragment.
    pub toml: String,
    /// Names (and codes) of the quotas not recognised.
    pub unrecognised: Vec<String>,
    /// Pools written.
    pub pools: usize,
}

fn quota_value(v: f64, name: &str) -> Result<u64, ImportError> {
    if !v.is_finite() || !(0.0..=1e15).contains(&v) {
        return Err(shape(format!("quota \"{name}\" has value {v}")));
    }
    Ok(v.round() as u64)
}

fn read_quotas(doc: &Value) -> Result<Vec<Quota>, ImportError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| shape("the file is not a JSON object"))?;
    let list = obj
        .get("Quotas")
        .ok_or_else(|| shape("no \"Quotas\" key"))?
        .as_array()
        .ok_or_else(|| shape("\"Quotas\" is not a list"))?;
    let mut out = Vec::new();
    for (i, q) in list.iter().enumerate() {
        let q = q
            .as_object()
            .ok_or_else(|| shape(format!("Quotas[{i}] is not an object")))?;
        if let Some(code) = q.get("ServiceCode") {
            let code = code
                .as_str()
                .ok_or_else(|| shape(format!("Quotas[{i}].ServiceCode is not a string")))?;
            if code != "bedrock" {
                return Err(ImportError::OtherService(code.to_string()));
            }
        }
        let name = q
            .get("QuotaName")
            .and_then(Value::as_str)
            .ok_or_else(|| shape(format!("Quotas[{i}] has no string \"QuotaName\"")))?;
        let code = q
            .get("QuotaCode")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let value = q
            .get("Value")
            .and_then(Value::as_f64)
            .ok_or_else(|| shape(format!("Quotas[{i}] (\"{name}\") has no numeric \"Value\"")))?;
        out.push(Quota {
            name: name.to_string(),
            code,
            value,
        });
    }
    Ok(out)
}

/// A pool name from a preset or model name and the endpoint.
fn pool_name(model: &str, endpoint: Endpoint) -> String {
    let mut s: String = model
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    format!("{}_{}", s.trim_matches('_'), endpoint.suffix())
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Imports a Service Quotas document. `model` keeps only the models whose name (as
/// written, or the preset it resolves to) contains the pattern, folded.
pub fn import(
    doc: &Value,
    file: &str,
    model: Option<&str>,
    table: &Table,
) -> Result<Imported, ImportError> {
    let quotas = read_quotas(doc)?;
    // (model key, endpoint) → pool; the key is the preset's name, or the model as written.
    let mut pools: BTreeMap<(String, Endpoint), (Option<String>, String, PoolOut)> =
        BTreeMap::new();
    let mut account: Option<(u64, String)> = None;
    let mut unrecognised = Vec::new();
    let pattern = model.map(fold);
    let keep = |written: &str, preset: Option<&str>| {
        pattern.as_ref().is_none_or(|p| {
            fold(written).contains(p.as_str())
                || preset.is_some_and(|r| fold(r).contains(p.as_str()))
        })
    };
    for q in &quotas {
        let label = if q.code.is_empty() {
            q.name.clone()
        } else {
            format!("{} ({})", q.name, q.code)
        };
        match recognise(&q.name) {
            None => unrecognised.push(label),
            Some(Recognised::AccountTokensPerDay) => {
                account = Some((quota_value(q.value, &q.name)?, label));
            }
            Some(Recognised::Pool {
                endpoint,
                field,
                model: written,
                note,
            }) => {
                let row = resolve_model(table, &written);
                if !keep(&written, row.map(|r| r.name.as_str())) {
                    continue;
                }
                let key = row.map_or_else(|| fold(&written), |r| r.name.clone());
                let entry = pools.entry((key, endpoint)).or_insert_with(|| {
                    (
                        row.map(|r| r.name.clone()),
                        written.clone(),
                        PoolOut::default(),
                    )
                });
                let v = quota_value(q.value, &q.name)?;
                let slot = match field {
                    Field::TokensPerMinute => &mut entry.2.tpm,
                    Field::RequestsPerMinute => &mut entry.2.rpm,
                    Field::TokensPerDay => &mut entry.2.tpd,
                };
                if let Some((old, old_label)) = slot {
                    entry
                        .2
                        .notes
                        .push(format!("also {label} = {v} (kept {old} from {old_label})"));
                } else {
                    *slot = Some((v, label.clone()));
                }
                if let Some(n) = note {
                    entry.2.notes.push(format!(
                        "{} ({}): AWS says \"{n}\"",
                        q.name.split('(').next().unwrap_or("").trim(),
                        q.code
                    ));
                }
            }
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `quotasim import service-quotas {file}`{}.",
        model.map_or(String::new(), |m| format!(" --model {m:?}"))
    );
    let _ = writeln!(
        out,
        "# One pool per model and endpoint kind; paste into a scenario and add [workloads.NAME]\n\
         # tables that route to these pools. Quota values are as Service Quotas reports them."
    );
    let mut written = 0usize;
    let mut skipped = Vec::new();
    for ((_, endpoint), (preset, as_written, p)) in &pools {
        let name = pool_name(preset.as_deref().unwrap_or(as_written), *endpoint);
        let Some((tpm, tpm_label)) = &p.tpm else {
            skipped.push(format!(
                "{name}: no tokens-per-minute quota for \"{as_written}\" ({}) in the file, so no pool",
                endpoint.suffix()
            ));
            continue;
        };
        written += 1;
        out.push('\n');
        let _ = writeln!(out, "[pools.{name}]");
        match preset {
            Some(r) => {
                let _ = writeln!(
                    out,
                    "model = {}  # Service Quotas: \"{as_written}\"",
                    toml_str(r)
                );
                if let Some(row) = table.get(r) {
                    let ids: Vec<String> = endpoint
                        .prefixes()
                        .iter()
                        .flat_map(|pre| row.bedrock_ids.iter().map(move |id| format!("{pre}{id}")))
                        .collect();
                    if !ids.is_empty() {
                        let _ = writeln!(
                            out,
                            "model_ids = [{}]",
                            ids.iter()
                                .map(|i| toml_str(i))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "# No preset row matches \"{as_written}\": `model` is left to the scenario's\n\
                     # [model]; set it (and the burndown) by hand, or add a [[models]] row."
                );
            }
        }
        let _ = writeln!(out, "tokens_per_minute = {tpm}  # {tpm_label}");
        if let Some((v, l)) = &p.rpm {
            let _ = writeln!(out, "requests_per_minute = {v}  # {l}");
        }
        if let Some((v, l)) = &p.tpd {
            let _ = writeln!(out, "tokens_per_day = {v}  # {l}");
        }
        for n in &p.notes {
            let _ = writeln!(out, "# {n}");
        }
    }
    if let Some((v, label)) = account {
        out.push('\n');
        let _ = writeln!(out, "[[account.limits]]  # {label}");
        let _ = writeln!(out, "name = \"cross_model_tokens_per_day\"");
        let _ = writeln!(out, "counts = \"quota-tokens\"");
        let _ = writeln!(out, "per = \"1d\"");
        let _ = writeln!(out, "limit = {v}");
    }
    if !skipped.is_empty() || !unrecognised.is_empty() {
        out.push('\n');
    }
    for s in &skipped {
        let _ = writeln!(out, "# Not imported: {s}.");
    }
    if !unrecognised.is_empty() {
        let _ = writeln!(
            out,
            "# Not recognised ({}; not guessed):",
            unrecognised.len()
        );
        for u in &unrecognised {
            let _ = writeln!(out, "#   {u}");
        }
    }
    Ok(Imported {
        toml: out,
        unrecognised,
        pools: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_and_resolve() {
        let t = Table::bundled();
        let r = |n: &str| resolve_model(t, n).map(|r| r.name.as_str());
        assert_eq!(r("Anthropic Claude Sonnet 4 V1"), Some("claude-sonnet-4"));
        assert_eq!(
            r("Anthropic Claude Sonnet 4.5 V1"),
            Some("claude-sonnet-4-5")
        );
        assert_eq!(
            r("Anthropic Claude 3.5 Sonnet V2"),
            Some("claude-3-5-sonnet")
        );
        assert_eq!(r("Claude 3.7 Sonnet"), Some("claude-3-7-sonnet"));
        assert_eq!(r("Meta Llama 3 70B Instruct"), None);
        assert!(matches!(
            recognise(
                "Global cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1"
            ),
            Some(Recognised::Pool {
                endpoint: Endpoint::Global,
                field: Field::TokensPerMinute,
                ..
            })
        ));
        assert!(matches!(
            recognise("CROSS-REGION   model inference Requests per minute for X"),
            Some(Recognised::Pool {
                endpoint: Endpoint::Geographic,
                field: Field::RequestsPerMinute,
                ..
            })
        ));
        assert_eq!(
            recognise("Cross-Model Max Tokens Per Day"),
            Some(Recognised::AccountTokensPerDay)
        );
        assert_eq!(recognise("Concurrent model copy jobs"), None);
    }
}
