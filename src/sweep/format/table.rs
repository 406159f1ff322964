//! The human-readable table of a sweep: a title line, one aligned row per point (rates in
//! percent, `±` the 95% confidence half-width with more than one replication), then the
//! recommendation when there is an objective or constraints.

use std::fmt::Write as _;

use crate::sweep::SweepReport;
use crate::sweep::metrics::METRICS;
use crate::sweep::recommend::{FRONT_LATENCY, FRONT_THROUGHPUT, recommend};
use crate::sweep::run::PointMetric;

/// How a metric is shown.
pub(crate) fn format_metric(path: &str, m: &PointMetric) -> String {
    let Some(mean) = m.mean.filter(|v| v.is_finite()) else {
        return "-".into();
    };
    // a per-pool or per-workload metric is shown as the metric it repeats
    let path = crate::sweep::metrics::scoped_cost(path).map_or(path, |(_, _, m)| m.path);
    let (scale, decimals, suffix) = if path.starts_with("latency_ms") {
        (1.0, 0, "")
    } else if path.starts_with("throughput") {
        (1.0, 1, "")
    } else if path.starts_with("cost.") {
        (1.0, 4, "")
    } else {
        (100.0, 2, "%")
    };
    let mut s = format!("{:.*}{suffix}", decimals, mean * scale);
    if let Some(h) = m.ci95_half_width.filter(|v| v.is_finite()) {
        let _ = write!(s, " ±{:.*}", decimals, h * scale);
    }
    s
}

fn align(rows: &[Vec<String>], left: usize) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
            if c < left {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Renders the table.
pub fn render_table(report: &SweepReport) -> String {
    let mut out = String::new();
    let seeds = report
        .replication_seeds()
        .iter()
        .take(3)
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let more = if report.replications > 3 { ", …" } else { "" };
    let _ = writeln!(
        out,
        "sweep of {}: {} points × {} replication{} (seeds {seeds}{more})",
        report.scenario,
        report.points.len(),
        report.replications,
        if report.replications == 1 { "" } else { "s" },
    );
    if !report.set.is_empty() {
        let _ = writeln!(out, "set: {}", report.set.join(", "));
    }
    let mut header = vec!["#".to_string()];
    header.extend(report.axes.iter().map(|a| a.path.clone()));
    header.extend(METRICS.iter().map(|m| m.header.to_string()));
    let mut rows = vec![header];
    for p in &report.points {
        let mut row = vec![p.index.to_string()];
        row.extend(p.params.iter().map(|(_, v)| v.clone()));
        row.extend(
            METRICS
                .iter()
                .zip(&p.metrics)
                .map(|(d, m)| format_metric(d.path, m)),
        );
        rows.push(row);
    }
    out.push_str(&align(&rows, 1 + report.axes.len()));
    if report.replications > 1 {
        out.push_str("± is the half-width of the 95% confidence interval of the mean\n");
    }
    if let Some(rec) = recommend(report) {
        out.push('\n');
        let _ = writeln!(out, "objective: {}", rec.objective);
        if !report.constraints.is_empty() {
            let list: Vec<String> = report.constraints.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "constraints: {}", list.join(", "));
        }
        let _ = writeln!(
            out,
            "feasible: {} of {} points",
            rec.feasible.len(),
            report.points.len()
        );
        let describe = |pos: usize, metric: &str| -> String {
            report.points.get(pos).map_or_else(String::new, |p| {
                let v = p
                    .metric(metric)
                    .map_or("-".into(), |m| format_metric(metric, m));
                format!("#{} {}: {metric} = {v}", p.index, p.label())
            })
        };
        match rec.best {
            Some(pos) => {
                let _ = writeln!(out, "best: {}", describe(pos, &rec.objective.metric));
            }
            None => out.push_str("best: none (no feasible point)\n"),
        }
        if !rec.pareto.is_empty() {
            let _ = writeln!(
                out,
                "pareto front ({FRONT_THROUGHPUT} vs {FRONT_LATENCY}, feasible points):"
            );
            let mut rows = Vec::new();
            for &pos in &rec.pareto {
                if let Some(p) = report.points.get(pos) {
                    let m = |path: &str| {
                        p.metric(path)
                            .map_or("-".into(), |m| format_metric(path, m))
                    };
                    rows.push(vec![
                        format!("  #{}", p.index),
                        p.label(),
                        format!("req/min {}", m(FRONT_THROUGHPUT)),
                        format!("p99 ms {}", m(FRONT_LATENCY)),
                    ]);
                }
            }
            out.push_str(&align(&rows, 2));
        }
    }
    out
}
