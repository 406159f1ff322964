//! CSV of a sweep: a header `index,PATH…,METRIC…` (with a `METRIC.ci95_half_width` column
//! after each metric when there is more than one replication) and one row per point.
//! Numbers are written in their shortest exact form; an undefined value is empty.

use crate::sweep::SweepReport;
use crate::sweep::metrics::METRICS;

fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x}"))
        .unwrap_or_default()
}

/// Renders the CSV (RFC 4180 quoting where a field needs it, `\n` line ends).
pub fn render_csv(report: &SweepReport) -> String {
    let ci = report.replications > 1;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut header = vec!["index".to_string()];
    header.extend(report.axes.iter().map(|a| a.path.clone()));
    for m in &METRICS {
        header.push(m.path.to_string());
        if ci {
            header.push(format!("{}.ci95_half_width", m.path));
        }
    }
    let _ = w.write_record(&header);
    for p in &report.points {
        let mut row = vec![p.index.to_string()];
        row.extend(p.params.iter().map(|(_, v)| v.clone()));
        for m in &p.metrics {
            row.push(num(m.mean));
            if ci {
                row.push(num(m.ci95_half_width));
            }
        }
        let _ = w.write_record(&row);
    }
    let bytes = w
        .into_inner()
        .unwrap_or_else(|e| e.into_inner().get_ref().clone());
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
