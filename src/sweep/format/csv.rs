//! CSV of a sweep: a header `index,PATH…,METRIC…` (with a `METRIC.ci95_half_width` column
//! after each metric when there is more than one replication) and one row per point.
//! Numbers are written in their shortest exact form; an undefined value is empty.

use std::fmt::Write as _;

use crate::sweep::SweepReport;
use crate::sweep::metrics::METRICS;

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x}"))
        .unwrap_or_default()
}

/// Renders the CSV.
pub fn render_csv(report: &SweepReport) -> String {
    let ci = report.replications > 1;
    let mut header = vec!["index".to_string()];
    header.extend(report.axes.iter().map(|a| field(&a.path)));
    for m in &METRICS {
        header.push(m.path.to_string());
        if ci {
            header.push(format!("{}.ci95_half_width", m.path));
        }
    }
    let mut out = header.join(",");
    out.push('\n');
    for p in &report.points {
        let mut row = vec![p.index.to_string()];
        row.extend(p.params.iter().map(|(_, v)| field(v)));
        for m in &p.metrics {
            row.push(num(m.mean));
            if ci {
                row.push(num(m.ci95_half_width));
            }
        }
        let _ = writeln!(out, "{}", row.join(","));
    }
    out
}
