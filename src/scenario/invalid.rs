//! Validation failures before they get a file position: [`Invalid`] carries the key path,
//! and [`deserialize_at`] turns serde's errors into one, in the product's words. The loader
//! maps an `Invalid` to a file:line:col diagnostic.

use serde::de::DeserializeOwned;

use crate::error::nearest;

/// A validation failure at a key path.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub path: String,
    pub message: String,
    pub help: Option<String>,
    /// Point at the key itself rather than its value (an unknown key).
    pub at_key: bool,
    /// A complete diagnostic about another file (a trace's line), reported as is.
    pub foreign: Option<Box<crate::Diagnostic>>,
}

pub(crate) type R<T> = Result<T, Invalid>;

pub(crate) fn bad<T>(path: impl Into<String>, message: impl Into<String>) -> R<T> {
    Err(Invalid {
        path: path.into(),
        message: message.into(),
        help: None,
        at_key: false,
        foreign: None,
    })
}

/// "an array", "a string", … for messages.
pub(crate) fn a_type(v: &toml::Value) -> String {
    let t = v.type_str();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

pub(crate) fn did_you_mean(word: &str, choices: &[&str]) -> Option<String> {
    nearest(word, choices.iter().copied()).map(|n| format!("did you mean \"{n}\"?"))
}

/// Deserializes `value` into `T`, reporting failures at `base` + the path inside `value`.
pub(crate) fn deserialize_at<T: DeserializeOwned>(
    value: toml::Value,
    base: &str,
) -> Result<T, Invalid> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path: Vec<String> = if base.is_empty() {
            vec![]
        } else {
            vec![base.to_string()]
        };
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => {
                    if let Some(last) = path.last_mut() {
                        last.push_str(&format!("[{index}]"));
                    }
                }
                serde_path_to_error::Segment::Map { key }
                | serde_path_to_error::Segment::Enum { variant: key } => path.push(toml_key(key)),
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        let raw = e.inner().message();
        let (message, help) = humanize(raw);
        Invalid {
            path: path.join("."),
            message,
            help,
            at_key: raw.starts_with("unknown field"),
            foreign: None,
        }
    })
}

/// Rewrites serde's messages into the product's words and adds "did you mean".
fn humanize(msg: &str) -> (String, Option<String>) {
    let ticks: Vec<&str> = msg.split('`').skip(1).step_by(2).collect();
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let _ = rest;
        let (word, valid) = ticks.split_first().map_or(("", &[][..]), |(w, v)| (*w, v));
        let help = nearest(word, valid.iter().copied()).map(|n| format!("did you mean `{n}`?"));
        let list = valid
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        // The key as it would be written (an empty key is `""`).
        let word = &if word.is_empty() {
            "\"\"".to_string()
        } else {
            word.to_string()
        };
        let message = if valid.is_empty() {
            format!("unknown key `{word}`; this table takes no keys")
        } else {
            format!("unknown key `{word}`; valid keys here: {list}")
        };
        return (message, help);
    }
    if msg.starts_with("unknown variant ") {
        let (word, valid) = ticks.split_first().map_or(("", &[][..]), |(w, v)| (*w, v));
        let help = nearest(word, valid.iter().copied()).map(|n| format!("did you mean \"{n}\"?"));
        let list = valid
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        return (
            format!("unknown value \"{word}\"; expected one of {list}"),
            help,
        );
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let field = rest.trim_matches('`');
        let what = match field {
            "dist" => format!(
                " (one of {})",
                crate::workload::dist::quoted(&crate::workload::dist::DIST_NAMES)
            ),
            "mode" => " (\"exponential\")".to_string(),
            _ => String::new(),
        };
        return (format!("missing required key `{field}`{what}"), None);
    }
    if let Some(m) = float_for_integer(msg, &ticks) {
        return (m, None);
    }
    let message = msg
        .replace("expected i64", "expected an integer")
        .replace("expected a map", "expected a table")
        .replace("expected a sequence", "expected an array")
        .replace("wrong type: sequence", "wrong type: an array")
        .replace("invalid type: sequence", "wrong type: an array")
        .replace("invalid type: map", "wrong type: a table")
        .replace("expected u64", "expected a non-negative integer")
        .replace("expected f64", "expected a number")
        .replace("invalid type: ", "wrong type: ");
    // `expected struct RawQuota` names an internal type: say "a table".
    let message = match message.find("expected struct Raw") {
        Some(i) => format!("{}expected a table", message.get(..i).unwrap_or_default()),
        None => message,
    };
    (message, None)
}

/// A float where an integer is expected: a whole number beyond the integer type says
/// "too large (max …)", and any float is shown in its short form (`1e300`, not 301 digits).
fn float_for_integer(msg: &str, ticks: &[&str]) -> Option<String> {
    let rest = msg.strip_prefix("invalid type: floating point ")?;
    let (max, what) = if rest.ends_with("expected u64") {
        (u64::MAX.to_string(), "a non-negative integer")
    } else if rest.ends_with("expected i64") || rest.ends_with("expected an integer") {
        (i64::MAX.to_string(), "an integer")
    } else {
        return None;
    };
    let shown = ticks.first()?;
    let x: f64 = shown.parse().ok()?;
    let short = if x.abs() >= 1e16 {
        format!("{x:e}")
    } else {
        (*shown).to_string()
    };
    if x.fract() == 0.0 && x >= 9.223_372_036_854_776e18 {
        return Some(format!("{short} is too large (max {max})"));
    }
    Some(format!(
        "wrong type: floating point `{short}`, expected {what}"
    ))
}

/// A key as TOML would write it: bare when it can be, else quoted with escapes, so that a
/// key path stays one line, keeps its dots apart (`client."ev.il"`) and shows an empty key.
pub(crate) fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return k.to_string();
    }
    let mut out = String::with_capacity(k.len() + 2);
    out.push('"');
    for c in k.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
