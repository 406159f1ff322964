//! `quotasim compare BASELINE.json CURRENT.json [--tolerance 5%]`.
//!
//! Both reports are flattened to dotted paths of their numeric leaves (`attempts.throttled`,
//! `points.3.throughput.requests_per_minute.mean`), skipping every `timeline` array and
//! `engine` block. Each metric takes its direction from the metrics registry
//! ([`crate::metrics::registry`]); a metric whose value moved in the bad direction by more
//! than the tolerance has regressed.
//!
//! Total cost (`cost.usd`, `cost.usd_per_hour`, and the same per pool, per workload and in
//! a sweep's points) is not better when lower on its own: more successes cost more. By
//! default it is informational and cost is judged per success (`cost.usd_per_success`);
//! [`CompareOptions::total_cost`] (`compare --gate-total-cost`) makes total cost lower-is-
//! better too.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use thiserror::Error;

use crate::metrics::registry::{Better, better_in_report};

/// Why a tolerance or a pair of reports was rejected.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CompareError {
    #[error(
        "invalid tolerance `{input}`: {reason}; expected a relative tolerance such as `5%` or an absolute one such as `0.5`"
    )]
    /// The `--tolerance` text is invalid.
    Tolerance {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error(
        "the {which} report is {found}, not a JSON object; expected the JSON output of `quotasim run` or `quotasim sweep`"
    )]
    /// A report is not a JSON object.
    NotAnObject {
        /// `baseline` or `current`.
        which: &'static str,
        /// What the report is instead.
        found: String,
    },
    #[error(
        "the two reports have no numeric metric in common; expected two reports of the same kind (both from `run`, or both from `sweep`)"
    )]
    /// The reports share no numeric metric.
    NoCommonMetrics,
    #[error(
        "the baseline is {baseline} but the current report is {current}; expected two reports of the same kind (both from `run`, or both from `sweep`)"
    )]
    /// The reports come from different commands (a run report and a sweep report).
    DifferentKinds {
        /// What produced the baseline.
        baseline: &'static str,
        /// What produced the current report.
        current: &'static str,
    },
}

/// What produced a JSON report, from its top-level keys.
fn report_kind(v: &Value) -> &'static str {
    if v.get("quotasim_sweep_part").is_some() {
        "a sweep part file (merge the parts first)"
    } else if v.get("points").is_some() && v.get("points_total").is_some() {
        "a sweep report"
    } else if v.get("requests").is_some() {
        "a run report"
    } else {
        "not a quotasim report"
    }
}

/// How far a metric may move in the bad direction before it counts as regressed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// A fraction of the baseline's magnitude (`5%` is `Relative(0.05)`).
    Relative(f64),
    /// An amount in the metric's own unit.
    Absolute(f64),
}

impl Tolerance {
    /// Parses `5%` (relative) or `0.5` (absolute).
    pub fn parse(input: &str) -> Result<Tolerance, CompareError> {
        let err = |reason: String| CompareError::Tolerance {
            input: input.to_string(),
            reason,
        };
        let t = input.trim();
        if t.is_empty() {
            return Err(err("it is empty".into()));
        }
        let (number, relative) = match t.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (t, false),
        };
        let v: f64 = number
            .parse()
            .map_err(|_| err(format!("`{number}` is not a number")))?;
        if !v.is_finite() {
            return Err(err(format!("`{number}` is not a finite number")));
        }
        if v < 0.0 {
            return Err(err("it is negative".into()));
        }
        Ok(if relative {
            Tolerance::Relative(v / 100.0)
        } else {
            Tolerance::Absolute(v)
        })
    }

    /// The amount a metric with this baseline may worsen by.
    pub fn allowance(&self, baseline: f64) -> f64 {
        match *self {
            Tolerance::Relative(f) => baseline.abs() * f,
            Tolerance::Absolute(a) => a,
        }
    }
}

impl FromStr for Tolerance {
    type Err = CompareError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tolerance::parse(s)
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Tolerance::Relative(r) => write!(f, "{}%", fmt_num(r * 100.0)),
            Tolerance::Absolute(a) => write!(f, "{}", fmt_num(a)),
        }
    }
}

/// Which way is better for a metric (from the registry).
pub type Direction = Better;

/// `timeline` arrays and `engine` blocks are not compared, at any depth.
const SKIP: fn(&str, usize) -> bool = |k, _depth| k == "timeline" || k == "engine";

/// Flattens a report to `(dotted path, value)` for every numeric leaf, in document order.
/// Array elements are addressed by index (`points.3.foo`); `timeline` arrays and `engine`
/// blocks are skipped at any depth; strings, booleans and nulls are not metrics.
pub fn flatten(report: &Value) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    crate::json_paths::for_each_leaf(report, &SKIP, &mut |path, v| {
        if let Value::Number(n) = v
            && let Some(f) = n.as_f64()
        {
            out.push((path.to_string(), f));
        }
    });
    out
}

/// The verdict on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Within the tolerance.
    Ok,
    /// Worse than the baseline by more than the tolerance.
    Regressed,
    /// Better than the baseline by more than the tolerance.
    Improved,
    /// A metric without a direction.
    Informational,
    /// In the baseline but not in the current report.
    Missing,
    /// In the current report but not in the baseline.
    New,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Regressed => "REGRESSED",
            Status::Improved => "improved",
            Status::Informational => "informational",
            Status::Missing => "missing",
            Status::New => "new",
        })
    }
}

/// How `compare` judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompareOptions {
    /// Judge total cost (`cost.usd`, `cost.usd_per_hour`) lower-is-better; by default it is
    /// informational and only the cost per success has a direction.
    pub total_cost: bool,
}

/// Whether `path` is a total cost: a `cost.usd` or `cost.usd_per_hour` block member (of
/// the run, a pool, a workload, or a sweep point's summary of it).
pub fn is_total_cost(path: &str) -> bool {
    let segs: Vec<&str> = path.split('.').collect();
    segs.windows(2).enumerate().any(|(i, w)| {
        matches!(w, ["cost", "usd" | "usd_per_hour"])
            && segs.get(i + 2).is_none_or(|next| matches!(*next, "mean"))
    })
}

/// One compared metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Dotted metric path.
    pub path: String,
    /// Which way is better (from the registry).
    pub direction: Direction,
    /// The baseline's value, if it has the metric.
    pub baseline: Option<f64>,
    /// The current report's value, if it has the metric.
    pub current: Option<f64>,
    /// `current − baseline`, when both exist.
    pub delta: Option<f64>,
    /// `delta / |baseline|` in percent; `None` when the baseline is 0 and the delta is not.
    pub delta_pct: Option<f64>,
    /// The verdict.
    pub status: Status,
}

/// The result of comparing two reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// Baseline metrics in document order, then metrics only in the current report.
    pub rows: Vec<Row>,
    /// Differences in non-numeric fields, e.g. `scenario: "a" -> "b"`.
    pub notes: Vec<String>,
}

impl Comparison {
    /// Compares `current` against `baseline`. Both must be JSON objects with at least one
    /// numeric metric in common.
    pub fn new(
        baseline: &Value,
        current: &Value,
        tolerance: Tolerance,
    ) -> Result<Comparison, CompareError> {
        Comparison::with_options(baseline, current, tolerance, CompareOptions::default())
    }

    /// Like [`Comparison::new`], judging as `options` say.
    pub fn with_options(
        baseline: &Value,
        current: &Value,
        tolerance: Tolerance,
        options: CompareOptions,
    ) -> Result<Comparison, CompareError> {
        for (which, v) in [("baseline", baseline), ("current", current)] {
            if !v.is_object() {
                return Err(CompareError::NotAnObject {
                    which,
                    found: kind(v).to_string(),
                });
            }
        }
        let (bk, ck) = (report_kind(baseline), report_kind(current));
        if bk != ck {
            return Err(CompareError::DifferentKinds {
                baseline: bk,
                current: ck,
            });
        }
        let base = flatten(baseline);
        let cur = flatten(current);
        let cur_index: HashMap<&str, f64> = cur.iter().map(|(p, v)| (p.as_str(), *v)).collect();
        let base_index: HashMap<&str, f64> = base.iter().map(|(p, v)| (p.as_str(), *v)).collect();
        if !base.iter().any(|(p, _)| cur_index.contains_key(p.as_str())) {
            return Err(CompareError::NoCommonMetrics);
        }
        let mut rows = Vec::with_capacity(base.len());
        for (path, b) in &base {
            rows.push(row(
                path,
                Some(*b),
                cur_index.get(path.as_str()).copied(),
                tolerance,
                options,
            ));
        }
        for (path, c) in &cur {
            if !base_index.contains_key(path.as_str()) {
                rows.push(row(path, None, Some(*c), tolerance, options));
            }
        }
        Ok(Comparison {
            tolerance,
            rows,
            notes: string_notes(baseline, current),
        })
    }

    /// True when a metric regressed beyond the tolerance, or a metric with a direction is
    /// missing from the current report (a gate must not pass because a metric vanished).
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| {
            r.status == Status::Regressed
                || (r.status == Status::Missing && r.direction != Better::Neither)
        })
    }

    /// How many rows have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// A side-by-side text table of every row, then the notes and a one-line summary.
    pub fn render_table(&self) -> String {
        self.render(|_| true)
    }

    /// Like [`Comparison::render_table`] but only the rows that changed: regressed,
    /// improved, missing or new, and every other metric whose value prints differently
    /// (a change within the tolerance is still a change; one too small to print is not).
    pub fn render_changes(&self) -> String {
        self.render(|r| match r.status {
            Status::Ok | Status::Informational => match (r.baseline, r.current) {
                (Some(b), Some(c)) => fmt_num(b) != fmt_num(c),
                _ => true,
            },
            _ => true,
        })
    }

    fn render(&self, keep: impl Fn(&Row) -> bool) -> String {
        let header = [
            "metric", "baseline", "current", "delta", "delta %", "status",
        ];
        let opt = |v: Option<f64>, f: fn(f64) -> String| v.map(f).unwrap_or_else(|| "-".into());
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .filter(|r| keep(r))
            .map(|r| {
                let pct = match (r.delta, r.delta_pct) {
                    (Some(_), Some(p)) => format!("{}%", signed(p, fmt_pct)),
                    (Some(_), None) => "n/a".to_string(),
                    _ => "-".to_string(),
                };
                [
                    r.path.clone(),
                    opt(r.baseline, fmt_num),
                    opt(r.current, fmt_num),
                    opt(r.delta, |d| signed(d, fmt_num)),
                    pct,
                    r.status.to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cols: [&str; 6]| {
            let mut s = String::new();
            for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
                let pad = " ".repeat(w - c.chars().count());
                match i {
                    0 => s.push_str(&format!("{c}{pad}")),
                    5 => s.push_str(&format!("  {c}")),
                    _ => s.push_str(&format!("  {pad}{c}")),
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        };
        line(header);
        for row in &cells {
            line(row.each_ref().map(String::as_str));
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out.push_str(&format!(
            "tolerance {}: {} regressed, {} improved, {} ok, {} informational, {} missing, {} new\n",
            self.tolerance,
            self.count(Status::Regressed),
            self.count(Status::Improved),
            self.count(Status::Ok),
            self.count(Status::Informational),
            self.count(Status::Missing),
            self.count(Status::New),
        ));
        out
    }
}

/// Compares two reports; see [`Comparison::new`].
pub fn compare(
    baseline: &Value,
    current: &Value,
    tolerance: Tolerance,
) -> Result<Comparison, CompareError> {
    Comparison::new(baseline, current, tolerance)
}

fn row(
    path: &str,
    baseline: Option<f64>,
    current: Option<f64>,
    tol: Tolerance,
    options: CompareOptions,
) -> Row {
    let direction = if !options.total_cost && is_total_cost(path) {
        Better::Neither
    } else {
        better_in_report(path)
    };
    let (delta, delta_pct, status) = match (baseline, current) {
        (Some(b), Some(c)) => {
            let d = c - b;
            let pct = if b != 0.0 {
                Some(d / b.abs() * 100.0)
            } else if d == 0.0 {
                Some(0.0)
            } else {
                None
            };
            let worse = match direction {
                Better::Higher => Some(b - c),
                Better::Lower => Some(c - b),
                Better::Neither => None,
            };
            // a hair of slack so that e.g. 100 -> 105 is within 5% despite rounding
            let slack = tol.allowance(b) + 1e-12 * b.abs().max(c.abs());
            let status = match worse {
                None => Status::Informational,
                Some(w) if w > slack => Status::Regressed,
                Some(w) if -w > slack => Status::Improved,
                Some(_) => Status::Ok,
            };
            (Some(d), pct, status)
        }
        (Some(_), None) => (None, None, Status::Missing),
        _ => (None, None, Status::New),
    };
    Row {
        path: path.to_string(),
        direction,
        baseline,
        current,
        delta,
        delta_pct,
        status,
    }
}

fn string_notes(baseline: &Value, current: &Value) -> Vec<String> {
    let mut base = Vec::new();
    crate::json_paths::for_each_leaf(baseline, &SKIP, &mut |p, v| {
        if let Value::String(s) = v {
            base.push((p.to_string(), s.clone()));
        }
    });
    let mut notes = Vec::new();
    for (path, b) in base {
        let mut cur = None;
        let mut node = Some(current);
        for key in path.split('.') {
            node = match node {
                Some(Value::Object(m)) => m.get(key),
                Some(Value::Array(a)) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
        }
        if let Some(Value::String(c)) = node {
            cur = Some(c);
        }
        if let Some(c) = cur
            && *c != b
        {
            notes.push(format!("{path}: {b:?} -> {c:?}"));
        }
    }
    notes
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn signed(v: f64, f: fn(f64) -> String) -> String {
    if v > 0.0 { format!("+{}", f(v)) } else { f(v) }
}

/// Integers as integers, other values with six significant digits, trailing zeros dropped.
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let magnitude = if v == 0.0 {
        0
    } else {
        v.abs().log10().floor() as i32
    };
    let decimals = (5 - magnitude).clamp(0, 12) as usize;
    trim_zeros(format!("{v:.decimals$}"))
}

/// A percentage with one decimal; one that would print as 0 but is not gets two
/// significant digits (`0.0012`), so that a changed row never reads `0%`.
fn fmt_pct(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.05 && v.is_finite() {
        let decimals = (1 - v.abs().log10().floor() as i32).clamp(2, 12) as usize;
        return trim_zeros(format!("{v:.decimals$}"));
    }
    trim_zeros(format!("{v:.1}"))
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" { "0".into() } else { t.to_string() }
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_report(succeeded: u64, throttled: u64, p99: f64, rpm: f64) -> Value {
        json!({
            "scenario": "chat", "seed": 1, "simulated_seconds": 600.0,
            "requests": {"arrived": 100, "succeeded": succeeded, "failed": 100 - succeeded,
                          "unfinished": 0, "truncated": 0, "unservable": 0},
            "attempts": {"sent": 150, "admitted": 100, "throttled": throttled, "server_errors": 0,
                         "throttled_by": {"requests_per_minute": 0, "tokens_per_minute": throttled,
                                          "tokens_per_day": 0}},
            "tokens": {"input": 1000, "output": 2000, "quota_consumed": 9000, "reserved": 12000},
            "throughput": {"requests_per_minute": rpm, "output_tokens_per_minute": 200.0,
                           "quota_tokens_per_minute": 900.0},
            "latency_ms": {"e2e": {"mean": 1.0, "p50": 1.0, "p90": 1.0, "p99": p99, "max": 1.0},
                           "queue_wait": {"mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}},
            "timeline": [{"minute": 0, "admitted": 5, "throttled": 1, "completed": 4, "quota_charged": 100}],
            "engine": {"events": 12345}
        })
    }

    fn find<'a>(c: &'a Comparison, path: &str) -> &'a Row {
        match c.rows.iter().find(|r| r.path == path) {
            Some(r) => r,
            None => panic!("no row {path}"),
        }
    }

    #[test]
    fn tolerance_parsing() {
        assert_eq!(Tolerance::parse("5%").unwrap(), Tolerance::Relative(0.05));
        assert_eq!(
            Tolerance::parse(" 12.5 % ").unwrap(),
            Tolerance::Relative(0.125)
        );
        assert_eq!(Tolerance::parse("0.5").unwrap(), Tolerance::Absolute(0.5));
        assert_eq!(Tolerance::parse("0").unwrap(), Tolerance::Absolute(0.0));
        assert_eq!("5%".parse::<Tolerance>().unwrap().to_string(), "5%");
        assert_eq!(Tolerance::Absolute(0.5).to_string(), "0.5");
        for (bad, needle) in [
            ("", "empty"),
            ("%", "`` is not a number"),
            ("five", "`five` is not a number"),
            ("-5%", "negative"),
            ("-1", "negative"),
            ("inf", "not a finite"),
            ("NaN%", "not a finite"),
            ("5%%", "`5%` is not a number"),
        ] {
            let e = Tolerance::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(e.contains("`5%`") && e.contains("`0.5`"), "{bad}: {e}");
        }
        assert_eq!(Tolerance::Relative(0.05).allowance(-200.0), 10.0);
        assert_eq!(Tolerance::Absolute(3.0).allowance(1e9), 3.0);
    }

    #[test]
    fn flatten_skips_timeline_engine_and_non_numbers() {
        let flat = flatten(&json!({
            "scenario": "x", "a": {"b": 1, "c": null, "d": true},
            "timeline": [{"minute": 0}], "engine": {"events": 3},
            "points": [{"foo": 1.5, "timeline": [1], "engine": {"events": 1}}, {"foo": 2}, 7]
        }));
        let paths: Vec<&str> = flat.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a.b", "points.0.foo", "points.1.foo", "points.2"]);
        assert_eq!(flat[1].1, 1.5);
        assert!(flatten(&json!(5)).is_empty());
    }

    #[test]
    fn identical_reports_do_not_regress() {
        let r = run_report(95, 10, 2000.0, 9.5);
        let c = compare(&r, &r, Tolerance::Relative(0.0)).unwrap();
        assert!(!c.regressed());
        assert_eq!(c.count(Status::Regressed), 0);
        assert_eq!(c.count(Status::Improved), 0);
        assert!(
            c.rows
                .iter()
                .all(|r| matches!(r.status, Status::Ok | Status::Informational))
        );
        assert!(
            !c.rows
                .iter()
                .any(|r| r.path.starts_with("timeline") || r.path.starts_with("engine"))
        );
        assert!(c.notes.is_empty());
    }

    #[test]
    fn regressions_improvements_and_tolerance() {
        let base = run_report(95, 10, 2000.0, 10.0);
        // p99 up 10% (regressed at 5%), throttled down 50% (improved), rpm down 4% (ok at 5%)
        let cur = run_report(95, 5, 2200.0, 9.6);
        let c = compare(&base, &cur, Tolerance::parse("5%").unwrap()).unwrap();
        assert!(c.regressed());
        let p99 = find(&c, "latency_ms.e2e.p99");
        assert_eq!(p99.status, Status::Regressed);
        assert_eq!(p99.delta, Some(200.0));
        assert_eq!(p99.delta_pct, Some(10.0));
        assert_eq!(find(&c, "attempts.throttled").status, Status::Improved);
        assert_eq!(
            find(&c, "throughput.requests_per_minute").status,
            Status::Ok
        );
        assert_eq!(find(&c, "tokens.reserved").status, Status::Informational);
        // the same change within a 15% tolerance is fine
        let c = compare(&base, &cur, Tolerance::parse("15%").unwrap()).unwrap();
        assert!(!c.regressed());
        // absolute tolerance
        let c = compare(&base, &cur, Tolerance::Absolute(250.0)).unwrap();
        assert!(!c.regressed());
        let c = compare(&base, &cur, Tolerance::Absolute(150.0)).unwrap();
        assert!(c.regressed());
        // boundary: exactly at the tolerance is ok (100 -> 105 at 5%)
        let c = compare(
            &json!({"latency_ms": 100}),
            &json!({"latency_ms": 105}),
            Tolerance::Relative(0.05),
        )
        .unwrap();
        assert!(!c.regressed());
        let c = compare(
            &json!({"latency_ms": 0.1}),
            &json!({"latency_ms": 0.105}),
            Tolerance::Relative(0.05),
        )
        .unwrap();
        assert!(!c.regressed());
    }

    #[test]
    fn higher_is_better_drop_regresses() {
        let c = compare(
            &json!({"requests": {"succeeded": 100}}),
            &json!({"requests": {"succeeded": 90}}),
            Tolerance::Relative(0.05),
        )
        .unwrap();
        assert!(c.regressed());
        assert_eq!(c.rows[0].delta_pct, Some(-10.0));
    }

    #[test]
    fn zero_baseline() {
        let c = compare(
            &json!({"attempts": {"throttled": 0}}),
            &json!({"attempts": {"throttled": 3}}),
            Tolerance::Relative(0.5),
        )
        .unwrap();
        let r = &c.rows[0];
        assert_eq!(r.status, Status::Regressed);
        assert_eq!(r.delta_pct, None);
        assert!(c.render_table().contains("n/a"));
        let c = compare(
            &json!({"attempts": {"throttled": 0}}),
            &json!({"attempts": {"throttled": 0}}),
            Tolerance::Relative(0.5),
        )
        .unwrap();
        assert_eq!(c.rows[0].delta_pct, Some(0.0));
    }

    #[test]
    fn sweep_reports_with_points() {
        let base = json!({"points": [
            {"params": {"max_tokens": 256}, "throughput": {"requests_per_minute": {"mean": 10.0, "ci95": 1.0}}, "throttle_rate": {"mean": 0.0}},
            {"params": {"max_tokens": 512}, "throughput": {"requests_per_minute": {"mean": 20.0, "ci95": 1.0}}, "throttle_rate": {"mean": 0.01}}
        ]});
        let cur = json!({"points": [
            {"params": {"max_tokens": 256}, "throughput": {"requests_per_minute": {"mean": 10.0, "ci95": 5.0}}, "throttle_rate": {"mean": 0.0}},
            {"params": {"max_tokens": 512}, "throughput": {"requests_per_minute": {"mean": 15.0, "ci95": 1.0}}, "throttle_rate": {"mean": 0.01}}
        ]});
        let c = compare(&base, &cur, Tolerance::Relative(0.05)).unwrap();
        assert!(c.regressed());
        let regressed: Vec<&str> = c
            .rows
            .iter()
            .filter(|r| r.status == Status::Regressed)
            .map(|r| r.path.as_str())
            .collect();
        assert_eq!(regressed, ["points.1.throughput.requests_per_minute.mean"]);
        assert_eq!(
            find(&c, "points.0.throughput.requests_per_minute.ci95").status,
            Status::Informational
        );
    }

    #[test]
    fn total_cost_paths() {
        for p in [
            "cost.usd",
            "cost.usd_per_hour",
            "pools.us.cost.usd",
            "workloads.chat.cost.usd_per_hour",
            "points.3.metrics.cost.usd.mean",
        ] {
            assert!(is_total_cost(p), "{p}");
        }
        for p in [
            "cost.usd_per_success",
            "points.3.metrics.cost.usd.ci95_half_width",
            "costs.usd",
        ] {
            assert!(!is_total_cost(p), "{p}");
        }
    }

    #[test]
    fn directions_come_from_the_registry_not_from_words_in_the_path() {
        let c = Comparison::with_options(
            &json!({"cost": {"usd": 1.0, "usd_per_hour": 2.0}, "pools": {"east": {"requests": {"succeeded": 10}}}, "my_failed_total": 1}),
            &json!({"cost": {"usd": 2.0, "usd_per_hour": 1.0}, "pools": {"east": {"requests": {"succeeded": 5}}}, "my_failed_total": 9}),
            Tolerance::Relative(0.05),
            CompareOptions { total_cost: true },
        )
        .unwrap();
        assert_eq!(find(&c, "cost.usd").status, Status::Regressed);
        assert_eq!(find(&c, "cost.usd_per_hour").status, Status::Improved);
        assert_eq!(
            find(&c, "pools.east.requests.succeeded").status,
            Status::Regressed
        );
        // an unregistered path is informational, whatever words it contains
        assert_eq!(find(&c, "my_failed_total").status, Status::Informational);
    }

    #[test]
    fn missing_and_new_metrics() {
        let c = compare(
            &json!({"a": 1, "latency_ms": {"e2e": {"p99": 5}}, "tokens": 3}),
            &json!({"a": 1, "extra": 2}),
            Tolerance::Relative(0.05),
        )
        .unwrap();
        assert_eq!(find(&c, "latency_ms.e2e.p99").status, Status::Missing);
        assert_eq!(find(&c, "tokens").status, Status::Missing);
        assert_eq!(find(&c, "extra").status, Status::New);
        assert_eq!(c.rows.last().map(|r| r.path.as_str()), Some("extra"));
        // a gated metric that vanished fails the gate; an informational one would not
        assert!(c.regressed());
        let c = compare(
            &json!({"a": 1, "tokens": 3}),
            &json!({"a": 1}),
            Tolerance::Relative(0.05),
        )
        .unwrap();
        assert!(!c.regressed());
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let e = compare(&json!([1]), &json!({}), Tolerance::Absolute(0.0)).unwrap_err();
        assert!(e.to_string().contains("baseline report is an array"), "{e}");
        let e = compare(&json!({"a": 1}), &json!("x"), Tolerance::Absolute(0.0)).unwrap_err();
        assert!(e.to_string().contains("current report is a string"), "{e}");
        let e = compare(&json!({"a": 1}), &json!({"b": 1}), Tolerance::Absolute(0.0)).unwrap_err();
        assert_eq!(e, CompareError::NoCommonMetrics);
        assert!(compare(&json!({}), &json!({}), Tolerance::Absolute(0.0)).is_err());
    }

    #[test]
    fn notes_on_changed_strings() {
        let mut a = run_report(95, 10, 2000.0, 9.5);
        let b = a.clone();
        a["scenario"] = json!("other");
        let c = compare(&a, &b, Tolerance::Relative(0.05)).unwrap();
        assert_eq!(c.notes, [r#"scenario: "other" -> "chat""#]);
        assert!(
            c.render_table()
                .contains(r#"note: scenario: "other" -> "chat""#)
        );
    }

    #[test]
    fn table_rendering() {
        let base = run_report(95, 10, 2000.0, 10.0);
        let cur = run_report(95, 5, 2200.5, 9.6);
        let c = compare(&base, &cur, Tolerance::Relative(0.05)).unwrap();
        let t = c.render_table();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("metric"));
        assert!(lines[0].ends_with("status"));
        let p99 = lines
            .iter()
            .find(|l| l.starts_with("latency_ms.e2e.p99"))
            .unwrap();
        let cols: Vec<&str> = p99.split_whitespace().collect();
        assert_eq!(
            cols,
            [
                "latency_ms.e2e.p99",
                "2000",
                "2200.5",
                "+200.5",
                "+10%",
                "REGRESSED"
            ]
        );
        let thr = lines
            .iter()
            .find(|l| l.starts_with("attempts.throttled "))
            .unwrap();
        assert!(
            thr.contains("-5") && thr.contains("-50%") && thr.ends_with("improved"),
            "{thr}"
        );
        // columns line up: every row has the same width up to the status column
        let status_col = lines[0].find("status").unwrap();
        for l in &lines[1..lines.len() - 1] {
            assert!(l.len() > status_col, "{l}");
        }
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("tolerance 5%: 1 regressed, 2 improved, 18 ok")
        );
        let changes = c.render_changes();
        assert!(changes.contains("latency_ms.e2e.p99"));
        assert!(!changes.contains("requests.arrived"));
        assert!(changes.lines().count() < t.lines().count());
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_num(2000.0), "2000");
        assert_eq!(fmt_num(9.6), "9.6");
        assert_eq!(fmt_num(1.0 / 3.0), "0.333333");
        assert_eq!(fmt_num(12345.678), "12345.7");
        assert_eq!(fmt_num(-0.5), "-0.5");
        assert_eq!(fmt_num(1e-9), "0.000000001");
        assert_eq!(signed(0.4, fmt_num), "+0.4");
        assert_eq!(fmt_pct(-49.99), "-50");
    }
}
