//! The JSON report (docs/report.md): stable key order, byte-identical for identical runs.

use super::{ExportOptions, Exporter, Report};

/// Pretty-printed JSON; the timeline is always included.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, report: &Report, _opts: ExportOptions) -> String {
        let mut s = serde_json::to_string_pretty(report)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }

    fn write_to(
        &self,
        report: &Report,
        _opts: ExportOptions,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report)?;
        out.write_all(b"\n")
    }
}
