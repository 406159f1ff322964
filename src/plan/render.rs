//! The output of `plan`: JSON (stable key order) and a table with one line of explanation per
//! figure.
//!
//! ```text
//! { "scenario", "seed", "find", "direction": "smallest"|"largest", "range": [lo, hi],
//!   "resolution", "replications", "confidence", "constraints": [str], "set": [str],
//!   "outcome", "value": int|null, "bracket": [lo, hi]|null, "monotonic", "warnings": [str],
//!   "simulations", "grid_simulations",
//!   "metrics": { "throughput": { "requests_per_minute": { "mean", "ci95_half_width", "n" } }, … }|null,
//!   "evaluated": [ { "value", "holds", "constraints": [ { "constraint", "worst_end", "holds" } ] } ],
//!   "demand": { "quota_tokens_per_minute": { "p50", "p90", "p99", "max" },
//!               "requests_per_minute": { … }, "input_tokens_mean", "output_tokens_mean",
//!               "share_input_over_25k", "minutes",
//!               "pools": { NAME: { "quota_tokens_per_minute", "requests_per_minute" } },
//!               "workloads": { NAME: { the same keys as "demand" } } } }
//! ```
//!
//! (`demand.pools` and `demand.workloads` only with two or more pools or workloads.)
//!
//! ```text
//! ```

use std::fmt::Write;

use serde_json::{Map, Value, json};

use super::{Evaluated, Outcome, PlanReport};
use crate::sweep::metrics::{METRICS, nest, number};
use crate::sweep::run::PointMetric;

/// A number in a short human form: integers without a fraction, others with 4 significant
/// digits.
pub fn short(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let digits = if x.abs() >= 1000.0 {
        1
    } else if x.abs() >= 1.0 {
        3
    } else {
        let mag = (-x.abs().log10()).floor() as usize;
        (mag + 4).min(12)
    };
    format!("{x:.digits$}")
}

fn metric_json(m: &PointMetric) -> Value {
    json!({ "mean": number(m.mean), "ci95_half_width": number(m.ci95_half_width), "n": m.n })
}

fn metrics_json(e: &Evaluated) -> Value {
    nest(
        METRICS
            .iter()
            .zip(&e.metrics)
            .map(|(d, m)| (d.path, metric_json(m)))
            .chain(e.scoped.iter().map(|(p, m)| (p.as_str(), metric_json(m)))),
    )
}

/// The report as a JSON value.
pub fn to_json(r: &PlanReport) -> Value {
    let mut root = Map::new();
    root.insert("scenario".into(), json!(r.scenario));
    root.insert("seed".into(), json!(r.seed));
    root.insert("find".into(), json!(r.find));
    root.insert(
        "direction".into(),
        json!(if r.maximize { "largest" } else { "smallest" }),
    );
    root.insert("range".into(), json!([r.range.0, r.range.1]));
    root.insert("resolution".into(), json!(r.resolution));
    root.insert("replications".into(), json!(r.replications));
    root.insert("confidence".into(), json!(r.confidence));
    root.insert(
        "constraints".into(),
        json!(
            r.constraints
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ),
    );
    root.insert("set".into(), json!(r.set));
    root.insert("outcome".into(), json!(r.outcome.name()));
    root.insert("value".into(), json!(r.value));
    root.insert(
        "bracket".into(),
        r.bracket.map_or(Value::Null, |(a, b)| json!([a, b])),
    );
    root.insert("monotonic".into(), json!(r.monotonic));
    root.insert("warnings".into(), json!(r.warnings));
    root.insert("simulations".into(), json!(r.simulations));
    root.insert("grid_simulations".into(), json!(r.grid_simulations));
    root.insert(
        "metrics".into(),
        r.at_value().map_or(Value::Null, metrics_json),
    );
    root.insert(
        "evaluated".into(),
        Value::Array(
            r.evaluated
                .iter()
                .map(|e| {
                    json!({
                        "value": e.value,
                        "holds": e.holds(),
                        "constraints": r.constraints.iter().zip(&e.checks).map(|(c, (w, ok))| json!({
                            "constraint": c.to_string(),
                            "worst_end": number(*w),
                            "holds": ok,
                        })).collect::<Vec<_>>(),
                        "metrics": metrics_json(e),
                    })
                })
                .collect(),
        ),
    );
    root.insert(
        "demand".into(),
        serde_json::to_value(&r.demand).unwrap_or(Value::Null),
    );
    Value::Object(root)
}

/// Pretty-printed JSON with a trailing newline.
pub fn render_json(r: &PlanReport) -> String {
    let mut s = serde_json::to_string_pretty(&to_json(r))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

fn row(s: &mut String, label: &str, value: &str, note: &str) {
    let text = format!("{label:<22}{value:>18}  {note}");
    let _ = writeln!(s, "{}", text.trim_end());
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The table format: the same figures, each with one line of explanation.
pub fn render_table(r: &PlanReport) -> String {
    let mut s = String::new();
    let direction = if r.maximize { "largest" } else { "smallest" };
    let level = pct(r.confidence).replace(".0%", "%");
    let _ = writeln!(
        s,
        "plan for {} (seed {}): the {direction} {} in {}..{} where, at the worst end of each \
         mean's {level} confidence interval over {} replications,",
        r.scenario, r.seed, r.find, r.range.0, r.range.1, r.replications
    );
    for c in &r.constraints {
        let _ = writeln!(s, "  {c}");
    }
    let _ = writeln!(s);
    let value = r.value.map_or("none".to_string(), |v| v.to_string());
    let note = match r.outcome {
        Outcome::Found => format!("the {direction} value at which every constraint holds"),
        Outcome::HoldsEverywhere => format!(
            "the constraints hold at both ends of the range, so the {direction} value is its end \
             (widen --range to look further)"
        ),
        Outcome::HoldsNowhere => "the constraints hold at neither end of the range: no value \
             in it qualifies (widen --range or relax a constraint)"
            .to_string(),
        Outcome::HoldsAtWrongEnd => {
            "the constraints hold only at the end where they should be hardest (see warnings)"
                .to_string()
        }
    };
    row(&mut s, "value", &value, &note);
    match r.bracket {
        Some((a, b)) => {
            let (fails, holds) = if r.maximize { (b, a) } else { (a, b) };
            row(
                &mut s,
                "bracket",
                &format!("[{a}, {b}]"),
                &format!(
                    "{fails} fails and {holds} holds: the answer is within the resolution of {}",
                    r.resolution
                ),
            );
        }
        None => row(
            &mut s,
            "bracket",
            "-",
            "no evaluated pair of a failing and a holding value",
        ),
    }
    row(
        &mut s,
        "monotonic",
        if r.monotonic { "yes" } else { "NO" },
        if r.monotonic {
            "the constraint metrics moved the expected way across the values evaluated"
        } else {
            "the search assumes monotone metrics; read the warnings below"
        },
    );
    row(
        &mut s,
        "simulations",
        &r.simulations.to_string(),
        &format!(
            "{} values × {} replications (and {} without quota for the demand)",
            r.evaluated.len(),
            r.replications,
            match r.demand.workloads.as_ref().map_or(0, |w| w.0.len()) {
                0 => "1 run".to_string(),
                n => format!("{} runs", n + 1),
            }
        ),
    );
    let ratio = if r.simulations > 0 {
        r.grid_simulations as f64 / r.simulations as f64
    } else {
        0.0
    };
    row(
        &mut s,
        "grid simulations",
        &r.grid_simulations.to_string(),
        &format!(
            "a sweep of every {} over the range would run these: {ratio:.1}× as many",
            r.resolution
        ),
    );
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    if let Some(e) = r.at_value() {
        let _ = writeln!(
            s,
            "\nmetrics at {}={} (mean ± 95% half-width over {} replications; what `sweep --vary` \
             reports for this value)",
            r.find, e.value, r.replications
        );
        let all = METRICS
            .iter()
            .map(|d| d.path)
            .zip(&e.metrics)
            .chain(e.scoped.iter().map(|(p, m)| (p.as_str(), m)));
        for (path, m) in all {
            let mean = m.mean.map_or("-".to_string(), short);
            let half = m
                .ci95_half_width
                .map_or(String::new(), |h| format!(" ±{}", short(h)));
            let check = r
                .constraints
                .iter()
                .zip(&e.checks)
                .find(|(c, _)| c.metric == path)
                .map_or(String::new(), |(c, (w, ok))| {
                    format!(
                        "  worst end {}: `{c}` {}",
                        w.map_or("-".to_string(), short),
                        if *ok { "holds" } else { "fails" }
                    )
                });
            let _ = writeln!(s, "  {:<36}{:>22}{check}", path, format!("{mean}{half}"));
        }
    }
    let _ = writeln!(s, "\nvalues evaluated:");
    for e in &r.evaluated {
        let worst: Vec<String> = r
            .constraints
            .iter()
            .zip(&e.checks)
            .map(|(c, (w, _))| format!("{} {}", c.metric, w.map_or("-".to_string(), short)))
            .collect();
        let _ = writeln!(
            s,
            "  {:>14}  {:<6} {}",
            e.value,
            if e.holds() { "holds" } else { "fails" },
            worst.join("  ")
        );
    }
    let d = &r.demand;
    let _ = writeln!(
        s,
        "\ndemand: the scenario with every quota limit removed (seed {}), over the {} minutes \
         starting in [warmup, duration)",
        r.seed, d.minutes
    );
    let q = &d.quota_tokens_per_minute;
    row(
        &mut s,
        "quota tokens/min p50",
        &q.p50.to_string(),
        "steady tokens per minute (burndown included): the form's steady-state TPM",
    );
    row(
        &mut s,
        "  p90 / p99",
        &format!("{} / {}", q.p90, q.p99),
        "busy minutes",
    );
    row(
        &mut s,
        "  max",
        &q.max.to_string(),
        "the busiest minute: the form's peak TPM",
    );
    let rq = &d.requests_per_minute;
    row(
        &mut s,
        "requests/min p50",
        &rq.p50.to_string(),
        "steady requests per minute",
    );
    row(
        &mut s,
        "  p90 / p99",
        &format!("{} / {}", rq.p90, rq.p99),
        "busy minutes",
    );
    row(
        &mut s,
        "  max",
        &rq.max.to_string(),
        "peak requests per minute",
    );
    row(
        &mut s,
        "input tokens mean",
        &d.input_tokens_mean.map_or("-".into(), short),
        "average input tokens per request (cache writes and reads not included)",
    );
    row(
        &mut s,
        "output tokens mean",
        &d.output_tokens_mean.map_or("-".into(), short),
        "average output tokens per request",
    );
    row(
        &mut s,
        "share over 25k input",
        &d.share_input_over_25k.map_or("-".into(), pct),
        "requests with more than 25,000 input tokens",
    );
    if let Some(pools) = &d.pools {
        let _ = writeln!(
            s,
            "\ndemand per pool (its own limit's charges and its admissions per minute):"
        );
        for (name, p) in &pools.0 {
            let q = &p.quota_tokens_per_minute;
            let rq = &p.requests_per_minute;
            let _ = writeln!(
                s,
                "  {name:<20} quota tokens/min p50 {} p90 {} p99 {} max {}; requests/min p50 {} max {}",
                q.p50, q.p90, q.p99, q.max, rq.p50, rq.max
            );
        }
    }
    if let Some(workloads) = &d.workloads {
        let _ = writeln!(
            s,
            "\ndemand per workload (the workload alone, without quota):"
        );
        for (name, w) in &workloads.0 {
            let q = &w.quota_tokens_per_minute;
            let rq = &w.requests_per_minute;
            let _ = writeln!(
                s,
                "  {name:<20} quota tokens/min p50 {} p90 {} p99 {} max {}; requests/min p50 {} max {}; \
                 input mean {}, output mean {}, over 25k {}",
                q.p50,
                q.p90,
                q.p99,
                q.max,
                rq.p50,
                rq.max,
                w.input_tokens_mean.map_or("-".into(), short),
                w.output_tokens_mean.map_or("-".into(), short),
                w.share_input_over_25k.map_or("-".into(), pct)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert_eq!(short(240000.0), "240000");
        assert_eq!(short(0.0123456), "0.01235");
        assert_eq!(short(2.5), "2.500");
        assert_eq!(short(12345.67), "12345.7");
        assert_eq!(short(f64::NAN), "-");
    }
}
