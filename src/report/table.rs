//! The default human-readable table.

use std::fmt::Write;

use super::{ExportOptions, Exporter, LatencySummary, Report, fmt_value};

/// Aligned sections for a terminal.
pub struct TableExporter;

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn lat(s: &LatencySummary) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{:.0}", x));
    format!(
        "mean {}  p50 {}  p90 {}  p99 {}  max {}",
        f(s.mean),
        f(s.p50),
        f(s.p90),
        f(s.p99),
        f(s.max)
    )
}

impl Exporter for TableExporter {
    fn render(&self, r: &Report, opts: ExportOptions) -> String {
        let mut s = String::new();
        let q = &r.requests;
        let a = &r.attempts;
        let t = &r.tokens;
        let _ = writeln!(
            s,
            "scenario  {}   seed {}   simulated {:.1} s",
            r.scenario, r.seed, r.simulated_seconds
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "requests      arrived {:>10}", q.arrived);
        let _ = writeln!(
            s,
            "              succeeded {:>8}  ({})",
            q.succeeded,
            pct(q.succeeded, q.arrived)
        );
        let _ = writeln!(
            s,
            "              failed {:>11}  ({})",
            q.failed,
            pct(q.failed, q.arrived)
        );
        let _ = writeln!(s, "              unfinished {:>7}", q.unfinished);
        let _ = writeln!(
            s,
            "              truncated {:>8}  (output cut at max_tokens)",
            q.truncated
        );
        let _ = writeln!(
            s,
            "              unservable {:>7}  (reservation above a limit's capacity)",
            q.unservable
        );
        let _ = writeln!(s, "attempts      sent {:>13}", a.sent);
        let _ = writeln!(s, "              admitted {:>9}", a.admitted);
        let _ = writeln!(
            s,
            "              throttled {:>8}  ({} of attempts)",
            a.throttled,
            pct(a.throttled, a.sent)
        );
        let _ = writeln!(
            s,
            "                by RPM {}, TPM {}, TPD {}",
            a.throttled_by.requests_per_minute,
            a.throttled_by.tokens_per_minute,
            a.throttled_by.tokens_per_day
        );
        let _ = writeln!(s, "              server errors {:>4}", a.server_errors);
        let _ = writeln!(s, "tokens        input {:>12}", t.input);
        let _ = writeln!(s, "              output {:>11}", t.output);
        let _ = writeln!(s, "              quota consumed {:>3}", t.quota_consumed);
        let _ = writeln!(
            s,
            "              reserved {:>9}  ({} never consumed)",
            t.reserved,
            pct(t.reserved.saturating_sub(t.quota_consumed), t.reserved)
        );
        let tp = &r.throughput;
        let _ = writeln!(
            s,
            "throughput    {} requests/min, {} output tokens/min, {} quota tokens/min",
            fmt_value(Some(tp.requests_per_minute)),
            fmt_value(Some(tp.output_tokens_per_minute)),
            fmt_value(Some(tp.quota_tokens_per_minute))
        );
        let _ = writeln!(s, "latency (ms)  end-to-end  {}", lat(&r.latency_ms.e2e));
        let _ = writeln!(
            s,
            "              queue wait  {}",
            lat(&r.latency_ms.queue_wait)
        );
        let _ = writeln!(s, "engine        {} events", r.engine.events);
        if opts.timeline {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "{:>6} {:>9} {:>9} {:>9} {:>14}",
                "minute", "admitted", "throttled", "completed", "quota_charged"
            );
            for m in &r.timeline {
                let _ = writeln!(
                    s,
                    "{:>6} {:>9} {:>9} {:>9} {:>14}",
                    m.minute, m.admitted, m.throttled, m.completed, m.quota_charged
                );
            }
        }
        s
    }
}
