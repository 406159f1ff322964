//! The optional `[sweep]` table of a scenario file, an alternative to the `sweep` flags:
//!
//! ```toml
//! [sweep]
//! vary = { max_tokens = [256, 512, 1024], concurrency = "1..64:x2" }
//! replications = 3
//! objective = "maximize:throughput.requests_per_minute"
//! constraints = ["throttle_rate <= 0.01", "latency_ms.e2e.p99 <= 30000"]
//! ```
//!
//! `vary` is either a table (axes in key order, which TOML sorts alphabetically; each value an
//! array of values, a `--vary` string such as `"1..64:x2"` or `"256,512"`, or one scalar) or
//! an array of `--vary` strings (`["max_tokens=256,512", "concurrency=1..64:x2"]`), which
//! keeps the order given. `quotasim run` ignores the table.

use std::path::Path;

use crate::assertion::{Assertion, Constraint, Objective};
use crate::error::{Diagnostic, Error, nearest};
use crate::sweep::grid::{Vary, parse_values};

const KEYS: [&str; 4] = ["vary", "replications", "objective", "constraints"];

/// The `[sweep]` table, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepTable {
    /// `vary`: the axes, in order.
    pub vary: Vec<Vary>,
    /// `replications`.
    pub replications: Option<usize>,
    /// `objective`.
    pub objective: Option<Objective>,
    /// `constraints`.
    pub constraints: Vec<Constraint>,
}

/// Reads the `[sweep]` table of the scenario at `path`; `Ok(None)` when there is none.
/// A file that cannot be read or is not TOML gets the scenario loader's diagnostic.
pub fn read_sweep_table(path: &Path) -> Result<Option<SweepTable>, Error> {
    let file = path.display().to_string();
    let text = crate::files::read_bytes(path, "scenario")
        .ok()
        .and_then(Result::ok)
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let text = text.trim_start_matches('\u{feff}');
    let parsed = toml::from_str::<toml::Table>(text).ok();
    let Some(mut table) = parsed else {
        // Let the loader produce its positioned message.
        crate::Scenario::from_path(path, &[])?;
        return Err(Diagnostic::new(&file, "cannot read the scenario as TOML").into());
    };
    match table.remove("sweep") {
        None => Ok(None),
        // Point at the line of the key the message names.
        Some(v) => parse_sweep_table(&v, &file).map(Some).map_err(|e| match e {
            Error::Invalid(mut d) if d.location.is_none() => {
                if let Some(key) = &d.key_path {
                    d.location = crate::scenario::locate_value(text, key);
                }
                Error::Invalid(d)
            }
            other => other,
        }),
    }
}

/// Parses the value of the `[sweep]` key; `file` names the file in messages.
pub fn parse_sweep_table(value: &toml::Value, file: &str) -> Result<SweepTable, Error> {
    let bad =
        |path: &str, msg: String| -> Error { Diagnostic::new(file, msg).at_path(path).into() };
    let toml::Value::Table(t) = value else {
        return Err(bad(
            "sweep",
            format!("expected a table, found {}", value.type_str()),
        ));
    };
    let mut out = SweepTable::default();
    for (key, v) in t {
        let path = format!("sweep.{key}");
        match key.as_str() {
            "vary" => out.vary = parse_vary(v, file)?,
            "replications" => {
                let n = v
                    .as_integer()
                    .filter(|n| *n >= 1)
                    .and_then(|n| usize::try_from(n).ok());
                out.replications = Some(n.ok_or_else(|| {
                    bad(
                        &path,
                        format!("expected an integer ≥ 1, found {}", describe(v)),
                    )
                })?);
            }
            "objective" => {
                let s = v.as_str().ok_or_else(|| {
                    bad(
                        &path,
                        format!(
                            "expected a string such as \"maximize:throughput.requests_per_minute\", found {}",
                            describe(v)
                        ),
                    )
                })?;
                out.objective = Some(Objective::parse(s).map_err(|e| bad(&path, e.to_string()))?);
            }
            "constraints" => {
                let items: Vec<&toml::Value> = match v {
                    toml::Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for (i, item) in items.into_iter().enumerate() {
                    let s = item.as_str().ok_or_else(|| {
                        bad(
                            &format!("{path}[{i}]"),
                            format!(
                                "expected a string such as \"throttle_rate <= 0.01\", found {}",
                                describe(item)
                            ),
                        )
                    })?;
                    out.constraints.push(
                        Assertion::parse(s)
                            .map_err(|e| bad(&format!("{path}[{i}]"), e.for_constraint()))?,
                    );
                }
            }
            other => {
                let mut d = Diagnostic::new(
                    file,
                    format!("unknown key; expected one of {}", KEYS.join(", ")),
                )
                .at_path(&path);
                if let Some(n) = nearest(other, KEYS) {
                    d = d.with_help(format!("did you mean `sweep.{n}`?"));
                }
                return Err(d.into());
            }
        }
    }
    Ok(out)
}

fn describe(v: &toml::Value) -> String {
    format!("{} `{v}`", v.type_str())
}

fn parse_vary(v: &toml::Value, file: &str) -> Result<Vec<Vary>, Error> {
    let bad =
        |path: String, msg: String| -> Error { Diagnostic::new(file, msg).at_path(path).into() };
    match v {
        toml::Value::Table(t) => {
            let mut axes = Vec::with_capacity(t.len());
            for (key, values) in t {
                let path = format!("sweep.vary.{key}");
                let raw: Vec<String> = match values {
                    toml::Value::Array(items) => items.iter().map(ToString::to_string).collect(),
                    toml::Value::String(s) => {
                        parse_values(key, s).map_err(|e| bad(path.clone(), e.to_string()))?
                    }
                    toml::Value::Table(_) => {
                        return Err(bad(
                            path,
                            "expected an array of values or a string such as \"1..64:x2\", found a table".into(),
                        ));
                    }
                    scalar => vec![scalar.to_string()],
                };
                axes.push(Vary::new(key, raw).map_err(|e| bad(path, e.to_string()))?);
            }
            Ok(axes)
        }
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("sweep.vary[{i}]");
                let s = item.as_str().ok_or_else(|| {
                    bad(
                        path.clone(),
                        format!(
                            "expected a string PATH=VALUES such as \"concurrency=1..64:x2\", found {}",
                            describe(item)
                        ),
                    )
                })?;
                Vary::parse(s).map_err(|e| bad(path, e.to_string()))
            })
            .collect(),
        other => Err(bad(
            "sweep.vary".into(),
            format!(
                "expected a table such as {{ max_tokens = [256, 512], concurrency = \"1..64:x2\" }} or an array of \"PATH=VALUES\" strings, found {}",
                describe(other)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SweepTable, String> {
        let t: toml::Table = toml::from_str(text).unwrap();
        parse_sweep_table(t.get("sweep").unwrap(), "s.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn table_form() {
        let s = parse(
            r#"
            [sweep]
            vary = { max_tokens = [256, 512, 1024], concurrency = "1..8:x2", limiter = ["token-bucket", "fixed-window"], seed = 3 }
            replications = 3
            objective = "maximize:throughput.requests_per_minute"
            constraints = ["throttle_rate<=0.01", "latency_ms.e2e.p99 <= 30000"]
            "#,
        )
        .unwrap();
        let axes: Vec<String> = s.vary.iter().map(ToString::to_string).collect();
        // TOML tables are read in key order
        assert_eq!(
            axes,
            [
                "concurrency=1,2,4,8",
                r#"limiter="token-bucket","fixed-window""#,
                "max_tokens=256,512,1024",
                "seed=3"
            ]
        );
        assert_eq!(s.replications, Some(3));
        assert_eq!(
            s.objective.unwrap().to_string(),
            "maximize:throughput.requests_per_minute"
        );
        assert_eq!(s.constraints.len(), 2);
    }

    #[test]
    fn array_form_keeps_order() {
        let s = parse(
            r#"
            [sweep]
            vary = ["max_tokens=256,512", "concurrency=1..4"]
            constraints = "throttle_rate <= 0"
            "#,
        )
        .unwrap();
        assert_eq!(s.vary[0].path, "max_tokens");
        assert_eq!(s.vary[1].values, ["1", "2", "3", "4"]);
        assert_eq!(s.constraints.len(), 1);
        assert_eq!(s.replications, None);
    }

    #[test]
    fn errors_name_the_key() {
        for (text, needles) in [
            ("sweep = 3", vec!["`sweep`", "expected a table"]),
            (
                "[sweep]\nvary = { c = \"8..1\" }",
                vec!["`sweep.vary.c`", "END 1 is less than START 8"],
            ),
            (
                "[sweep]\nvary = { c = [] }",
                vec!["`sweep.vary.c`", "empty"],
            ),
            (
                "[sweep]\nvary = [3]",
                vec!["`sweep.vary[0]`", "PATH=VALUES"],
            ),
            (
                "[sweep]\nvary = 3",
                vec!["`sweep.vary`", "expected a table"],
            ),
            (
                "[sweep]\nreplications = 0",
                vec!["`sweep.replications`", "integer ≥ 1"],
            ),
            (
                "[sweep]\nobjective = \"best:x\"",
                vec!["`sweep.objective`", "not a direction"],
            ),
            (
                "[sweep]\nconstraints = [\"x = 1\"]",
                vec!["`sweep.constraints[0]`", "METRIC OP NUMBER"],
            ),
            (
                "[sweep]\nreplication = 2",
                vec!["`sweep.replication`", "did you mean `sweep.replications`"],
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.starts_with("s.toml: "), "{text}: {e}");
            for n in needles {
                assert!(e.contains(n), "{text}: {e}");
            }
        }
    }
}
