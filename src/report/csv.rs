//! CSV: `metric,value` rows, then with `--timeline` a blank line and the per-minute table.

use std::fmt::Write;

use super::{ExportOptions, Exporter, Report, fmt_value};

/// `metric,value` rows.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn render(&self, report: &Report, opts: ExportOptions) -> String {
        let mut s = String::from("metric,value\n");
        let _ = writeln!(s, "scenario,{}", csv_field(&report.scenario));
        for (k, v) in report.metrics() {
            let _ = writeln!(s, "{k},{}", v.map(|_| fmt_value(v)).unwrap_or_default());
        }
        if opts.timeline {
            s.push_str("\nminute,admitted,throttled,completed,quota_charged\n");
            for r in &report.timeline {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{}",
                    r.minute, r.admitted, r.throttled, r.completed, r.quota_charged
                );
            }
        }
        s
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
