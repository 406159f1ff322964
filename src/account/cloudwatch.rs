//! What CloudWatch would show for a run: Amazon Bedrock's per-minute runtime metrics
//! (namespace `AWS/Bedrock`), written in exactly the shape `aws cloudwatch get-metric-data`
//! prints, and read back from such a file (`calibrate --observed`).
//!
//! Sums (`Invocations`, token counts, `EstimatedTPMQuotaUsage`…) have a value for every
//! minute of the run, zeros included; averages (`InvocationLatency`, `TimeToFirstToken`)
//! only for minutes with a success, as CloudWatch returns no datapoint for an empty period.

use serde_json::{Map, Value, json};

use crate::Scenario;
use crate::metrics::minutes::{MinuteCounts, Minutes};

/// How a metric is aggregated over a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// The minute's sum.
    Sum,
    /// The minute's average over its successes.
    Average,
}

/// One CloudWatch metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// CloudWatch's name (`Invocations`).
    pub name: &'static str,
    /// The `Id` this program writes for the total (`invocations`).
    pub id: &'static str,
    /// Sum or average.
    pub stat: Stat,
}

/// Every metric `run --cloudwatch` writes and `calibrate` reads, in output order.
pub const METRICS: [Metric; 10] = [
    Metric {
        name: "Invocations",
        id: "invocations",
        stat: Stat::Sum,
    },
    Metric {
        name: "InvocationThrottles",
        id: "invocation_throttles",
        stat: Stat::Sum,
    },
    Metric {
        name: "InvocationServerErrors",
        id: "invocation_server_errors",
        stat: Stat::Sum,
    },
    Metric {
        name: "InputTokenCount",
        id: "input_token_count",
        stat: Stat::Sum,
    },
    Metric {
        name: "OutputTokenCount",
        id: "output_token_count",
        stat: Stat::Sum,
    },
    Metric {
        name: "CacheReadInputTokenCount",
        id: "cache_read_input_token_count",
        stat: Stat::Sum,
    },
    Metric {
        name: "CacheWriteInputTokenCount",
        id: "cache_write_input_token_count",
        stat: Stat::Sum,
    },
    Metric {
        name: "EstimatedTPMQuotaUsage",
        id: "estimated_tpm_quota_usage",
        stat: Stat::Sum,
    },
    Metric {
        name: "InvocationLatency",
        id: "invocation_latency",
        stat: Stat::Average,
    },
    Metric {
        name: "TimeToFirstToken",
        id: "time_to_first_token",
        stat: Stat::Average,
    },
];

/// A metric name folded for matching: lower case, letters and digits only
/// (`InvocationThrottles`, `invocation_throttles` and `invocation-throttles` are one name).
pub fn fold(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The metric a name denotes (its CloudWatch name or this program's Id, folded).
pub fn metric_named(name: &str) -> Option<usize> {
    let f = fold(name);
    METRICS
        .iter()
        .position(|m| fold(m.name) == f || fold(m.id) == f)
}

/// Metric `m`'s value in a minute (`None`: no datapoint).
pub fn value(m: usize, c: &MinuteCounts) -> Option<f64> {
    let avg = |sum_us: u64| (c.invocations > 0).then(|| sum_us as f64 / c.invocations as f64 / 1e3);
    match m {
        0 => Some(c.invocations as f64),
        1 => Some(c.throttles as f64),
        2 => Some(c.server_errors as f64),
        3 => Some(c.input as f64),
        4 => Some(c.output as f64),
        5 => Some(c.cache_read as f64),
        6 => Some(c.cache_write as f64),
        7 => Some(c.estimated_usage as f64),
        8 => avg(c.latency_us),
        9 => avg(c.ttft_us),
        _ => None,
    }
}

/// The `ModelId` dimension of each pool: its first model ID, else its name.
pub fn pool_model_ids(s: &Scenario) -> Vec<String> {
    s.pools
        .iter()
        .map(|p| {
            p.model_ids
                .first()
                .cloned()
                .unwrap_or_else(|| p.name.clone())
        })
        .collect()
}

/// An `Id` fragment from a pool name: lower case, `[a-z0-9_]` only.
fn id_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The `get-metric-data` document of a run: every metric in total (`Label` the metric's
/// name, `Id` as in [`METRICS`]), then per pool (`Label` `NAME ModelId`, `Id`
/// `ID_POOL`), one timestamp per minute from `start` (seconds since the epoch).
pub fn export(s: &Scenario, minutes: &Minutes, start: i64) -> Value {
    let totals = minutes.totals();
    let mut results = Vec::new();
    let series = |id: String, label: String, m: usize, rows: &[MinuteCounts]| {
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        for (k, c) in rows.iter().enumerate() {
            if let Some(v) = value(m, c) {
                ts.push(Value::String(super::format_utc(
                    start.saturating_add(60 * k as i64),
                    "+00:00",
                )));
                vs.push(json!(v));
            }
        }
        let mut o = Map::new();
        o.insert("Id".into(), Value::String(id));
        o.insert("Label".into(), Value::String(label));
        o.insert("Timestamps".into(), Value::Array(ts));
        o.insert("Values".into(), Value::Array(vs));
        o.insert("StatusCode".into(), Value::String("Complete".into()));
        Value::Object(o)
    };
    for (m, def) in METRICS.iter().enumerate() {
        results.push(series(def.id.into(), def.name.into(), m, &totals));
    }
    let ids = pool_model_ids(s);
    let mut used: Vec<String> = Vec::new();
    for (p, rows) in minutes.pools.iter().enumerate() {
        let name = s.pools.get(p).map_or("pool", |q| q.name.as_str());
        let mut part = id_part(name);
        if used.contains(&part) {
            part = format!("{part}_{p}");
        }
        used.push(part.clone());
        let model = ids.get(p).map_or(name, String::as_str);
        for (m, def) in METRICS.iter().enumerate() {
            results.push(series(
                format!("{}_{part}", def.id),
                format!("{} {model}", def.name),
                m,
                rows,
            ));
        }
    }
    let mut doc = Map::new();
    doc.insert("MetricDataResults".into(), Value::Array(results));
    doc.insert("Messages".into(), Value::Array(Vec::new()));
    Value::Object(doc)
}

/// One series of an observed export.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The metric (index into [`METRICS`]).
    pub metric: usize,
    /// The `ModelId` its label names, if any (`None`: the total).
    pub model_id: Option<String>,
    /// Its `Id`, as written.
    pub id: String,
    /// (seconds since the epoch, value), sorted by time.
    pub points: Vec<(i64, f64)>,
}

/// Why an export could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    /// Not the shape `get-metric-data` prints.
    #[error("not `aws cloudwatch get-metric-data` output: {0}")]
    Shape(String),
    /// Metric names this program does not know.
    #[error(
        "unknown metric name{} {}: expected (by Label or Id) one of {}",
        if .0.len() == 1 { "" } else { "s" },
        .0.join(", "),
        METRICS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
    )]
    UnknownMetrics(Vec<String>),
    /// A timestamp that is not a whole minute.
    #[error(
        "{id}: timestamp {ts} is not a whole minute (export with --period 60 and whole-minute start and end times)"
    )]
    NotWholeMinute {
        /// The series.
        id: String,
        /// The timestamp as written.
        ts: String,
    },
}

fn shape(msg: impl Into<String>) -> ExportError {
    ExportError::Shape(msg.into())
}

/// A timestamp of an export: RFC 3339 (any offset, `Z`, fractions of zero) or a number of
/// seconds since the epoch (boto3 users sometimes dump those). Returns seconds.
fn timestamp(v: &Value, id: &str) -> Result<i64, ExportError> {
    let us = match v {
        Value::String(s) => crate::trace::time::parse_rfc3339(s.trim()).ok_or_else(|| {
            shape(format!(
                "{id}: timestamp \"{s}\" is not an ISO 8601 date-time such as 2026-01-01T00:00:00+00:00"
            ))
        })?,
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if !x.is_finite() || x.abs() > 9.0e12 {
                return Err(shape(format!("{id}: timestamp {n} is out of range")));
            }
            (x * 1e6).round() as i64
        }
        other => {
            return Err(shape(format!(
                "{id}: a timestamp must be a string, found {other}"
            )));
        }
    };
    if us.rem_euclid(60_000_000) != 0 {
        return Err(ExportError::NotWholeMinute {
            id: id.to_string(),
            ts: match v {
                Value::String(s) => s.clone(),
                o => o.to_string(),
            },
        });
    }
    Ok(us.div_euclid(1_000_000))
}

/// Reads a `get-metric-data` export. A series is named by its `Label` (a metric name, or a
/// metric name, a space and a model ID) or else its `Id`; every series must name a known
/// metric (the unknown ones are all listed in the error).
pub fn read_export(doc: &Value) -> Result<Vec<Observed>, ExportError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| shape("expected a JSON object with \"MetricDataResults\""))?;
    for k in obj.keys() {
        if !matches!(k.as_str(), "MetricDataResults" | "Messages" | "NextToken") {
            return Err(shape(format!(
                "unexpected key \"{k}\" (expected MetricDataResults, Messages, NextToken)"
            )));
        }
    }
    let results = obj
        .get("MetricDataResults")
        .ok_or_else(|| shape("no \"MetricDataResults\" key"))?
        .as_array()
        .ok_or_else(|| shape("\"MetricDataResults\" is not a list"))?;
    if results.is_empty() {
        return Err(shape("\"MetricDataResults\" is empty"));
    }
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let r = r
            .as_object()
            .ok_or_else(|| shape(format!("MetricDataResults[{i}] is not an object")))?;
        for k in r.keys() {
            if !matches!(
                k.as_str(),
                "Id" | "Label" | "Timestamps" | "Values" | "StatusCode" | "Messages"
            ) {
                return Err(shape(format!(
                    "MetricDataResults[{i}]: unexpected key \"{k}\" (expected Id, Label, Timestamps, Values, StatusCode, Messages)"
                )));
            }
        }
        let id = r
            .get("Id")
            .and_then(Value::as_str)
            .ok_or_else(|| shape(format!("MetricDataResults[{i}] has no string \"Id\"")))?
            .to_string();
        let label = r.get("Label").and_then(Value::as_str).unwrap_or("");
        let ts = r
            .get("Timestamps")
            .and_then(Value::as_array)
            .ok_or_else(|| shape(format!("{id}: no \"Timestamps\" list")))?;
        let vs = r
            .get("Values")
            .and_then(Value::as_array)
            .ok_or_else(|| shape(format!("{id}: no \"Values\" list")))?;
        if ts.len() != vs.len() {
            return Err(shape(format!(
                "{id}: {} timestamps but {} values",
                ts.len(),
                vs.len()
            )));
        }
        if let Some(code) = r.get("StatusCode")
            && !matches!(code.as_str(), Some("Complete" | "PartialData"))
        {
            return Err(shape(format!(
                "{id}: StatusCode {code} (expected \"Complete\"; re-run the export)"
            )));
        }
        // The label first (CloudWatch's default label is the metric name), then the Id.
        let (metric, model_id) = match label_metric(label) {
            Some(x) => x,
            None => match metric_named(&id) {
                Some(m) => (m, None),
                None => {
                    unknown.push(if label.is_empty() {
                        format!("\"{id}\"")
                    } else {
                        format!("\"{label}\" (Id \"{id}\")")
                    });
                    continue;
                }
            },
        };
        let mut points = Vec::with_capacity(ts.len());
        for (t, v) in ts.iter().zip(vs) {
            let x = v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| shape(format!("{id}: value {v} is not a number")))?;
            points.push((timestamp(t, &id)?, x));
        }
        points.sort_by_key(|p| p.0);
        if points
            .windows(2)
            .any(|w| w.first().map(|a| a.0) == w.get(1).map(|b| b.0))
        {
            return Err(shape(format!("{id}: the same timestamp appears twice")));
        }
        out.push(Observed {
            metric,
            model_id,
            id,
            points,
        });
    }
    if !unknown.is_empty() {
        return Err(ExportError::UnknownMetrics(unknown));
    }
    Ok(out)
}

/// A label `NAME` or `NAME MODELID`.
fn label_metric(label: &str) -> Option<(usize, Option<String>)> {
    let label = label.trim();
    if label.is_empty() {
        return None;
    }
    if let Some(m) = metric_named(label) {
        return Some((m, None));
    }
    let (name, rest) = label.split_once(char::is_whitespace)?;
    let m = metric_named(name)?;
    let model = rest.trim();
    (!model.is_empty()).then(|| (m, Some(model.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold() {
        assert_eq!(metric_named("InvocationThrottles"), Some(1));
        assert_eq!(metric_named("invocation_throttles"), Some(1));
        assert_eq!(metric_named("EstimatedTPMQuotaUsage"), Some(7));
        assert_eq!(metric_named("Throttles"), None);
        assert_eq!(
            label_metric("Invocations us.anthropic.claude-sonnet-4-20250514-v1:0"),
            Some((0, Some("us.anthropic.claude-sonnet-4-20250514-v1:0".into())))
        );
    }

    #[test]
    fn reads_descending_cli_output() {
        // The AWS CLI's default scan order is newest first.
        let doc: Value = serde_json::from_str(
            r#"{"MetricDataResults":[{"Id":"m1","Label":"Invocations",
            "Timestamps":["2026-01-01T00:01:00+00:00","2026-01-01T00:00:00Z"],
            "Values":[2.0,1.0],"StatusCode":"Complete"}],"Messages":[]}"#,
        )
        .unwrap();
        let o = read_export(&doc).unwrap();
        assert_eq!(
            o[0].points,
            vec![(1_767_225_600, 1.0), (1_767_225_660, 2.0)]
        );
    }

    #[test]
    fn rejects_unknown_names_and_odd_seconds() {
        let doc: Value = serde_json::from_str(
            r#"{"MetricDataResults":[{"Id":"m1","Label":"Throttles","Timestamps":[],"Values":[]},
            {"Id":"m2","Label":"Bogus x","Timestamps":[],"Values":[]}]}"#,
        )
        .unwrap();
        let e = read_export(&doc).unwrap_err().to_string();
        assert!(
            e.contains("\"Throttles\"") && e.contains("\"Bogus x\""),
            "{e}"
        );
        let doc: Value = serde_json::from_str(
            r#"{"MetricDataResults":[{"Id":"m1","Label":"Invocations",
            "Timestamps":["2026-01-01T00:00:30Z"],"Values":[1.0]}]}"#,
        )
        .unwrap();
        assert!(matches!(
            read_export(&doc),
            Err(ExportError::NotWholeMinute { .. })
        ));
    }
}
