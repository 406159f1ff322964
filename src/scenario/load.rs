//! From bytes to a [`Scenario`]: syntax, `--set` overrides, unknown keys, validation, and
//! mapping every failure back to a file position.

use std::path::Path;

use super::Scenario;
pub(crate) use super::invalid::toml_key;
use super::invalid::{Invalid, deserialize_at};
use super::raw::RawScenario;
use super::resolve::{Order, resolve};
use crate::error::{Diagnostic, Error, nearest};

/// One `--set PATH=VALUE` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted key path, with the shorthands `max_tokens` and `concurrency` expanded.
    pub path: Vec<String>,
    /// The value, parsed as TOML (a bare word that is not TOML is taken as a string).
    pub value: toml::Value,
    /// The flag as written, for messages.
    pub raw: String,
}

impl Override {
    /// Parses `PATH=VALUE`.
    pub fn parse(text: &str) -> Result<Override, Error> {
        let Some((path, value)) = text.split_once('=') else {
            return Err(Error::Usage(format!(
                "--set {text}: expected PATH=VALUE, e.g. --set client.concurrency=16"
            )));
        };
        let path = path.trim();
        let segments: Vec<String> = match path {
            "max_tokens" => vec!["client".into(), "max_tokens".into()],
            "concurrency" => vec!["client".into(), "concurrency".into()],
            _ => path.split('.').map(|s| s.trim().to_string()).collect(),
        };
        if segments.iter().any(String::is_empty) {
            return Err(Error::Usage(format!(
                "--set {text}: `{path}` is not a valid key path; expected dotted keys such as client.concurrency"
            )));
        }
        let value =
            parse_value(value.trim()).map_err(|m| Error::Usage(format!("--set {text}: {m}")))?;
        Ok(Override {
            path: segments,
            value,
            raw: format!("--set {text}"),
        })
    }
}

/// Parses an override value as TOML; a bare word that is not valid TOML is a string.
pub fn parse_value(text: &str) -> Result<toml::Value, String> {
    if text.is_empty() {
        return Err("the value is empty".into());
    }
    let doc = format!("v = {text}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t.remove("v").ok_or_else(|| "the value is empty".into()),
        Err(_) if !text.contains(['"', '\'', '{', '[', '=', '\n']) => {
            Ok(toml::Value::String(text.to_string()))
        }
        Err(e) => Err(format!(
            "`{text}` is not a valid TOML value: {}",
            e.message()
        )),
    }
}

pub(crate) fn load_path(path: &Path, overrides: &[Override]) -> Result<Scenario, Error> {
    let file = path.display().to_string();
    if path.is_dir() {
        return Err(
            Diagnostic::new(&file, "is a directory; expected a scenario .toml file").into(),
        );
    }
    let bytes = crate::files::read_bytes(path, "scenario")
        .map_err(Error::Invalid)?
        .map_err(|e| {
            let what = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => e.to_string(),
            };
            Error::from(Diagnostic::new(
                &file,
                format!("cannot read scenario: {what}"),
            ))
        })?;
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        let mut d = Diagnostic::new(
            &file,
            "the file is UTF-16 text; scenarios must be UTF-8 (save it as UTF-8)",
        );
        d.location = Some((1, 1));
        return Err(d.into());
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix =
                String::from_utf8_lossy(e.as_bytes().get(..valid).unwrap_or_default()).into_owned();
            let mut d = Diagnostic::new(
                &file,
                "the file is not valid UTF-8; scenarios must be UTF-8 text",
            );
            d.location = Some(line_col(&prefix, prefix.len()));
            return Err(d.into());
        }
    };
    let stem = path
        .file_stem()
        .map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
    let mut s = load_named(&text, &file, &stem, overrides)?;
    s.source = Some(path.to_path_buf());
    Ok(s)
}

pub(crate) fn load_str(text: &str, file: &str, overrides: &[Override]) -> Result<Scenario, Error> {
    let stem = Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned());
    load_named(text, file, &stem, overrides)
}

fn load_named(
    text: &str,
    file: &str,
    stem: &str,
    overrides: &[Override],
) -> Result<Scenario, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut table: toml::Table = toml::from_str(text).map_err(|e| {
        let mut d = Diagnostic::new(file, syntax_message(e.message()));
        if e.message().trim() == "duplicate key"
            && let Some(key) = e.span().and_then(|s| text.get(s))
        {
            d.message = format!("invalid TOML: duplicate key `{}`", key.trim());
        }
        d.location = e.span().map(|s| line_col(text, s.start));
        Error::from(d)
    })?;
    for o in overrides {
        apply_override(&mut table, o).map_err(|m| {
            let mut d = Diagnostic::new(file, m).at_path(o.path.join("."));
            d.origin = Some(o.raw.clone());
            Error::from(d)
        })?;
    }
    let locate = |inv: Invalid| -> Error { diagnostic(text, file, overrides, inv).into() };
    check_tables(&table).map_err(locate)?;
    let raw: RawScenario = deserialize_at(toml::Value::Table(table), "").map_err(locate)?;
    let base_dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let order = Order {
        pools: file_order(text, "pools"),
        workloads: file_order(text, "workloads"),
    };
    resolve(raw, stem, base_dir, &order).map_err(locate)
}

/// The names of the tables under `section`, in the order the file first mentions them.
fn file_order(text: &str, section: &str) -> Vec<String> {
    use toml::de::{DeTable, DeValue};
    let Ok(doc) = DeTable::parse(text) else {
        return Vec::new();
    };
    let Some((_, v)) = doc
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == section)
    else {
        return Vec::new();
    };
    let DeValue::Table(t) = v.get_ref() else {
        return Vec::new();
    };
    let mut names: Vec<(usize, String)> = t
        .iter()
        .map(|(k, _)| (k.span().start, k.get_ref().to_string()))
        .collect();
    names.sort();
    names.into_iter().map(|(_, n)| n).collect()
}

/// The largest and smallest integers TOML can hold.
const TOML_INT_RANGE: &str = "-9223372036854775808 to 9223372036854775807";

/// The TOML parser's message, in the product's words.
fn syntax_message(raw: &str) -> String {
    let raw = raw.trim();
    // An integer literal beyond i64 is reported as a type error on an i128.
    if raw.contains(" as i128") {
        let n = raw.split('`').nth(1).unwrap_or("the number");
        return format!(
            "invalid TOML: the integer {n} is out of range; TOML integers run from {TOML_INT_RANGE}"
        );
    }
    if raw.contains("u64 value was too large") {
        return format!(
            "invalid TOML: the integer is out of range; TOML integers run from {TOML_INT_RANGE}"
        );
    }
    format!("invalid TOML: {raw}")
}

/// The scenario's sections must be tables: `quota = 5` or `[[quota]]` would otherwise be
/// read by serde as a sequence of struct fields and give a confusing message.
fn check_tables(table: &toml::Table) -> Result<(), Invalid> {
    const SECTIONS: [&str; 10] = [
        "model",
        "quota",
        "service",
        "client",
        "arrivals",
        "requests",
        "sweep",
        "pools",
        "account",
        "workloads",
    ];
    let not_a_table = |path: String, v: &toml::Value| {
        let found = match v {
            toml::Value::Array(a) if a.iter().all(toml::Value::is_table) && !a.is_empty() => {
                format!("an array of tables ([[{path}]])")
            }
            other => super::invalid::a_type(other),
        };
        Err(Invalid {
            path: path.clone(),
            message: format!("expected a table [{path}], found {found}"),
            help: None,
            at_key: true,
            foreign: None,
        })
    };
    for name in SECTIONS {
        match table.get(name) {
            None | Some(toml::Value::Table(_)) => {}
            Some(v) => return not_a_table(name.to_string(), v),
        }
    }
    if let Some(toml::Value::Table(classes)) = table.get("requests") {
        for (class, v) in classes {
            if !v.is_table() {
                return not_a_table(format!("requests.{}", toml_key(class)), v);
            }
        }
    }
    Ok(())
}

fn apply_override(table: &mut toml::Table, o: &Override) -> Result<(), String> {
    let (last, parents) = o.path.split_last().ok_or("empty key path")?;
    let mut cur = table;
    let mut walked = Vec::new();
    for seg in parents {
        walked.push(seg.as_str());
        let entry = cur
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            other => {
                return Err(format!(
                    "`{}` is a {}, not a table, so it has no key `{last}`",
                    walked.join("."),
                    other.type_str()
                ));
            }
        };
    }
    cur.insert(last.clone(), o.value.clone());
    Ok(())
}

fn diagnostic(text: &str, file: &str, overrides: &[Override], inv: Invalid) -> Diagnostic {
    if let Some(d) = inv.foreign {
        if d.location.is_some() {
            // The problem is in another file (a trace): its own position says more.
            return *d;
        }
        // The other file could not be read at all: point at the key that names it.
        let inv = Invalid {
            message: format!("{}: {}", d.file, d.message),
            help: d.help.clone(),
            foreign: None,
            ..inv
        };
        return diagnostic(text, file, overrides, inv);
    }
    let mut d = Diagnostic::new(file, inv.message.clone()).at_path(&inv.path);
    d.help = inv.help.clone();
    let segs = split_key_path(&inv.path);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    // A flag sets whole keys: `--set quota.limits=[{…}]` made `quota.limits[0]` too, so
    // the elements of an array it set are compared by the array's name.
    let names: Vec<&str> = segs.iter().map(|s| split_index(s).0).collect();
    let from_flag = overrides.iter().rev().find(|o| {
        let n = o.path.len().min(segs.len());
        n > 0
            && o.path
                .iter()
                .take(n)
                .map(String::as_str)
                .eq(names.iter().take(n).copied())
    });
    if let Some(o) = from_flag
        && o.path.len() <= segs.len()
    {
        d.origin = Some(o.raw.clone());
        if d.help.is_none() && o.path.len() == 1 && inv.message.starts_with("unknown key") {
            // `--set concurency=16`: the flag's own shorthands are keys too.
            d.help = nearest(&segs.concat(), ["concurrency", "max_tokens"])
                .map(|n| format!("did you mean `{n}`?"));
        }
        return d;
    }
    // A table or key the file does not have was made by a flag (`--set requests.new.x=5`
    // makes class `new`, which then lacks its other keys): blame the flag, not a line.
    let depth = found_depth(text, &segs);
    if depth < segs.len()
        && let Some(o) = overrides.iter().rev().find(|o| {
            o.path.len() > depth
                && o.path
                    .iter()
                    .take(depth + 1)
                    .map(String::as_str)
                    .eq(segs.iter().take(depth + 1).copied())
        })
    {
        d.origin = Some(o.raw.clone());
        return d;
    }
    d.location = locate(text, &segs, inv.at_key).map(|off| line_col(text, off));
    d
}

/// A path segment and its array index: `limits[2]` is (`limits`, 2); a key that merely
/// contains `[` (`"a[b"`) has none.
fn split_index(seg: &str) -> (&str, Option<usize>) {
    if let Some(body) = seg.strip_suffix(']')
        && let Some((name, index)) = body.rsplit_once('[')
        && let Ok(i) = index.parse::<usize>()
    {
        return (name, Some(i));
    }
    (seg, None)
}

/// How many leading segments of `path` the document has (array indices aside).
fn found_depth(text: &str, path: &[&str]) -> usize {
    use toml::de::{DeTable, DeValue};
    let Ok(doc) = DeTable::parse(text) else {
        return 0;
    };
    let mut table = doc.get_ref();
    for (depth, seg) in path.iter().enumerate() {
        let (name, _) = split_index(seg);
        let Some((_, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            return depth;
        };
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return depth + 1,
        }
    }
    path.len()
}

/// Byte offset of the deepest part of `path` found in the document.
fn locate(text: &str, path: &[&str], at_key: bool) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut found = None;
    for seg in path {
        let (name, index) = split_index(seg);
        let Some((key, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            break;
        };
        found = Some(key.span().start);
        let mut v = value;
        if let (Some(i), DeValue::Array(a)) = (index, v.get_ref())
            && let Some(item) = a.get(i)
        {
            v = item;
            found = Some(v.span().start);
        }
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => {
                found = Some(if std::ptr::eq(seg, path.last()?) && !at_key {
                    v.span().start
                } else {
                    key.span().start
                });
                break;
            }
        }
    }
    found
}

/// The segments of a key path written with [`toml_key`], unquoted; `[i]` suffixes stay
/// on their segment. `""` is one empty segment; an empty path has none.
pub(crate) fn split_key_path(path: &str) -> Vec<String> {
    let mut segs = Vec::new();
    if path.is_empty() {
        return segs;
    }
    let mut cur = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => segs.push(std::mem::take(&mut cur)),
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                if let Some(ch) =
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                                {
                                    cur.push(ch);
                                }
                            }
                            Some(other) => cur.push(other),
                            None => {}
                        },
                        c => cur.push(c),
                    }
                }
            }
            c => cur.push(c),
        }
    }
    segs.push(cur);
    segs
}

/// 1-based (line, column) of the value at a dotted key path (`sweep.vary[1]`) of a TOML
/// document, for a table read beside the scenario (the `[sweep]` table).
pub(crate) fn locate_value(text: &str, path: &str) -> Option<(usize, usize)> {
    let segs = split_key_path(path);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    locate(text, &segs, false).map(|off| line_col(text, off))
}

/// 1-based (line, column) of a byte offset; the column counts characters.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
duration = "10m"
[model]
preset = "claude-sonnet-4"
[quota]
tokens_per_minute = 200000
[client]
concurrency = 4
[arrivals]
process = "poisson"
rate_per_minute = 60
[requests.chat]
input_tokens = { dist = "lognormal", median = 500, p95 = 2000 }
output_tokens = 300
"#;

    fn err(text: &str) -> Diagnostic {
        match load_str(text, "t.toml", &[]) {
            Err(Error::Invalid(d)) => *d,
            other => panic!("expected a diagnostic, got {other:?}"),
        }
    }

    #[test]
    fn loads_good() {
        let s = load_str(GOOD, "dir/good.toml", &[]).unwrap();
        assert_eq!(s.name, "good");
        assert_eq!(s.client.max_tokens, 64_000);
        assert_eq!(s.client.concurrency, Some(4));
        assert_eq!(s.service.ttft_us, 800_000);
    }

    #[test]
    fn unknown_key_suggests_nearest_with_position() {
        let d = err(&GOOD.replace("concurrency = 4", "concurency = 4"));
        assert_eq!(d.key_path.as_deref(), Some("client.concurency"));
        assert_eq!(d.location, Some((8, 1)));
        assert_eq!(d.help.as_deref(), Some("did you mean `concurrency`?"));
    }

    #[test]
    fn bad_value_points_at_value() {
        let d = err(&GOOD.replace("concurrency = 4", "concurrency = 0"));
        assert_eq!(d.key_path.as_deref(), Some("client.concurrency"));
        assert_eq!(d.location, Some((8, 15)));
        let d = err(&GOOD.replace("p95 = 2000", "p95 = 20"));
        assert_eq!(
            d.key_path.as_deref(),
            Some("requests.chat.input_tokens.p95")
        );
        assert_eq!(d.location.map(|l| l.0), Some(13));
    }

    #[test]
    fn enum_variant_suggestion() {
        let d = err(&GOOD.replace("[client]", "[client]\nretry = \"aws-standart\""));
        assert!(d.message.contains("aws-standard"), "{}", d.message);
        assert_eq!(d.help.as_deref(), Some("did you mean \"aws-standard\"?"));
        let d = err(&GOOD.replace(
            "tokens_per_minute = 200000",
            "tokens_per_minute = 200000\nlimiter = \"fixed\"",
        ));
        assert_eq!(d.key_path.as_deref(), Some("quota.limiter"));
        assert_eq!(d.help.as_deref(), Some("did you mean \"fixed-window\"?"));
    }

    #[test]
    fn syntax_error_has_location() {
        let d = err("duration = \n[quota");
        assert!(d.location.is_some());
        assert!(d.message.starts_with("invalid TOML"));
    }

    #[test]
    fn overrides() {
        let o = |s: &str| Override::parse(s).unwrap();
        let s = load_str(
            GOOD,
            "g.toml",
            &[
                o("max_tokens=512"),
                o("quota.limiter=token-bucket"),
                o("concurrency=9"),
            ],
        )
        .unwrap();
        assert_eq!(s.client.max_tokens, 512);
        assert_eq!(s.client.concurrency, Some(9));
        assert_eq!(s.quota.limiter, crate::quota::LimiterKind::TokenBucket);
        let Err(Error::Invalid(d)) = load_str(GOOD, "g.toml", &[o("client.concurency=3")]) else {
            panic!()
        };
        assert_eq!(d.origin.as_deref(), Some("--set client.concurency=3"));
        assert_eq!(d.help.as_deref(), Some("did you mean `concurrency`?"));
        let Err(Error::Invalid(d)) = load_str(GOOD, "g.toml", &[o("duration.x=3")]) else {
            panic!()
        };
        assert!(d.message.contains("not a table"), "{}", d.message);
        assert!(Override::parse("novalue").is_err());
        assert!(Override::parse("a..b=1").is_err());
    }

    #[test]
    fn bom_is_accepted() {
        assert!(load_str(&format!("\u{feff}{GOOD}"), "g.toml", &[]).is_ok());
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncé x", 7), (2, 4));
    }
}
