//! JSON of a sweep:
//!
//! ```text
//! { "scenario", "seed", "replications", "replication_seeds": [u64],
//!   "vary": [ { "path", "values": [..] } ], "set": [str], "points_total",
//!   "points": [ { "index", "params": { PATH: value },
//!                 "metrics": { "throughput": { "requests_per_minute": { "mean", "ci95_half_width", "n" } }, … } } ],
//!   "recommendation": { "objective", "constraints", "feasible", "best", "pareto_front" } }
//! ```
//!
//! `ci95_half_width` and `n` appear only with more than one replication; `recommendation`
//! only with an objective or constraints. Key order is fixed.

use serde_json::{Map, Value, json};

use crate::Override;
use crate::sweep::SweepReport;
use crate::sweep::metrics::{METRICS, nest, number};
use crate::sweep::recommend::{FRONT_LATENCY, FRONT_THROUGHPUT, recommend};
use crate::sweep::run::PointResult;

/// A varied value as JSON: the TOML value it denotes (`512` is a number, `token-bucket` a
/// string), or the raw text when it does not parse.
pub fn param_value(raw: &str) -> Value {
    Override::parse(&format!("x={raw}"))
        .ok()
        .and_then(|o| serde_json::to_value(o.value).ok())
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

fn params(p: &PointResult) -> Value {
    Value::Object(
        p.params
            .iter()
            .map(|(k, v)| (k.clone(), param_value(v)))
            .collect::<Map<_, _>>(),
    )
}

fn point_json(p: &PointResult, replications: usize) -> Value {
    let all = METRICS
        .iter()
        .map(|d| d.path)
        .zip(&p.metrics)
        .chain(p.scoped.iter().map(|(path, m)| (path.as_str(), m)));
    let metrics = nest(all.map(|(path, m)| {
        let mut leaf = Map::new();
        leaf.insert("mean".into(), number(m.mean));
        if replications > 1 {
            leaf.insert("ci95_half_width".into(), number(m.ci95_half_width));
            leaf.insert("n".into(), json!(m.n));
        }
        (path, Value::Object(leaf))
    }));
    json!({ "index": p.index, "params": params(p), "metrics": metrics })
}

/// The report as a JSON value.
pub fn to_json(report: &SweepReport) -> Value {
    build(report, None)
}

/// The report as a JSON value; with `points_mark`, the `points` array is that string
/// instead (for [`render_json`], which renders the points one at a time).
fn build(report: &SweepReport, points_mark: Option<&str>) -> Value {
    let mut root = Map::new();
    root.insert("scenario".into(), json!(report.scenario));
    root.insert("seed".into(), json!(report.seed));
    root.insert("replications".into(), json!(report.replications));
    root.insert(
        "replication_seeds".into(),
        json!(report.replication_seeds()),
    );
    root.insert(
        "vary".into(),
        Value::Array(
            report
                .axes
                .iter()
                .map(|a| {
                    json!({
                        "path": a.path,
                        "values": a.values.iter().map(|v| param_value(v)).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        ),
    );
    root.insert("set".into(), json!(report.set));
    root.insert("points_total".into(), json!(report.points_total));
    if report.interrupted {
        // Only present when Ctrl-C stopped the sweep, so complete output is unchanged.
        root.insert("interrupted".into(), json!(true));
    }
    root.insert(
        "points".into(),
        match points_mark {
            Some(mark) => Value::String(mark.into()),
            None => Value::Array(
                report
                    .points
                    .iter()
                    .map(|p| point_json(p, report.replications))
                    .collect(),
            ),
        },
    );
    if let Some(rec) = recommend(report) {
        let summary = |pos: usize| {
            report.points.get(pos).map_or(Value::Null, |p| {
                let m = |path: &str| number(p.metric(path).and_then(|m| m.mean));
                json!({
                    "index": p.index,
                    "params": params(p),
                    FRONT_THROUGHPUT: m(FRONT_THROUGHPUT),
                    FRONT_LATENCY: m(FRONT_LATENCY),
                    "objective": m(&rec.objective.metric),
                })
            })
        };
        root.insert(
            "recommendation".into(),
            json!({
                "objective": rec.objective.to_string(),
                "constraints": report.constraints.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "feasible": rec.feasible.len(),
                "best": rec.best.map_or(Value::Null, summary),
                "pareto_front": rec.pareto.iter().map(|&p| summary(p)).collect::<Vec<_>>(),
            }),
        );
    }
    Value::Object(root)
}

/// Pretty-printed JSON with a trailing newline: the same bytes as pretty-printing
/// [`to_json`], but the points are rendered one at a time, so a million-point sweep never
/// holds a JSON tree of every point (about 4.5 kB a point) at once.
pub fn render_json(report: &SweepReport) -> String {
    const MARK: &str = "\u{1}quotasim-points\u{1}";
    let fail = |e: serde_json::Error| format!("{{\"error\": \"{e}\"}}\n");
    let shell = match serde_json::to_string_pretty(&build(report, Some(MARK))) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let marker = match serde_json::to_string(MARK) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let Some((head, tail)) = shell.split_once(&marker) else {
        return fail(serde::ser::Error::custom("no points marker"));
    };
    let mut out = String::with_capacity(shell.len() + report.points.len() * 900);
    out.push_str(head);
    if report.points.is_empty() {
        out.push_str("[]");
    } else {
        out.push_str("[\n");
        for (i, p) in report.points.iter().enumerate() {
            let item = match serde_json::to_string_pretty(&point_json(p, report.replications)) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            if i > 0 {
                out.push_str(",\n");
            }
            // Nested two levels deep: JSON strings hold no raw newlines, so lines are safe
            // to indent.
            for (j, line) in item.lines().enumerate() {
                if j > 0 {
                    out.push('\n');
                }
                out.push_str("    ");
                out.push_str(line);
            }
        }
        out.push_str("\n  ]");
    }
    out.push_str(tail);
    out.push('\n');
    out
}
