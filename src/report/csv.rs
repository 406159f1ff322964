//! CSV: `metric,value` rows, every number at full precision (the shortest decimal that
//! reads back to the same float, as the sweep's CSV prints them). With `--timeline` the
//! per-minute table follows after one empty line (split the text at its first empty line);
//! `run --out FILE.csv --timeline` writes it to its own file instead ([`timeline_csv`]).

use super::{ExportOptions, Exporter, Report};

/// A number at full precision: integers without a fraction, others as Rust's shortest
/// round-trip form.
fn full(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The per-minute table alone: `minute,admitted,throttled,completed,quota_charged`.
pub fn timeline_csv(report: &Report) -> String {
    let mut w = writer();
    let _ = w.write_record([
        "minute",
        "admitted",
        "throttled",
        "completed",
        "quota_charged",
    ]);
    for r in &report.timeline {
        let _ = w.write_record([
            r.minute.to_string(),
            r.admitted.to_string(),
            r.throttled.to_string(),
            r.completed.to_string(),
            r.quota_charged.to_string(),
        ]);
    }
    finish(w)
}

/// `metric,value` rows.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn render(&self, report: &Report, opts: ExportOptions) -> String {
        let mut w = writer();
        let _ = w.write_record(["metric", "value"]);
        let _ = w.write_record(["scenario", report.scenario.as_str()]);
        for (k, v) in report.metrics() {
            let value = v.map(full).unwrap_or_default();
            let _ = w.write_record([k.as_ref(), value.as_str()]);
        }
        let mut s = finish(w);
        if opts.timeline {
            s.push('\n');
            s.push_str(&timeline_csv(report));
        }
        s
    }
}

/// A CSV writer into memory: RFC 4180 quoting where a field needs it, `\n` line ends.
pub(crate) fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

/// The text written so far (writing into memory cannot fail; the fields are UTF-8).
pub(crate) fn finish(w: csv::Writer<Vec<u8>>) -> String {
    let bytes = w
        .into_inner()
        .unwrap_or_else(|e| e.into_inner().get_ref().clone());
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
