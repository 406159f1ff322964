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

/// One aligned line: section, label, value, note.
fn line(s: &mut String, section: &str, label: &str, value: impl std::fmt::Display, note: &str) {
    let text = format!("{section:<14}{label:<16}{value:>12}  {note}");
    let _ = writeln!(s, "{}", text.trim_end());
}

/// Dollars with four decimals, `-` without a price.
fn usd(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.4}"))
}

/// A pool's or workload's cost: its dollars, then per success and per hour on one line.
fn cost_lines(s: &mut String, c: &crate::cost::Cost, priced: &str) {
    let note = if c.usd.is_some() {
        format!(
            "{priced}; {}/success, {}/hour",
            usd(c.usd_per_success),
            usd(c.usd_per_hour)
        )
    } else {
        "no price for a model it used: set its model's prices".to_string()
    };
    line(s, "", "cost USD", usd(c.usd), &note);
}

impl Exporter for TableExporter {
    fn render(&self, r: &Report, opts: ExportOptions) -> String {
        let mut s = String::new();
        let q = &r.requests;
        let a = &r.attempts;
        let t = &r.tokens;
        let _ = writeln!(
            s,
            "scenario {}   seed {}   simulated {:.1} s\n",
            r.scenario, r.seed, r.simulated_seconds
        );
        line(&mut s, "requests", "arrived", q.arrived, "");
        line(
            &mut s,
            "",
            "succeeded",
            q.succeeded,
            &pct(q.succeeded, q.arrived),
        );
        line(&mut s, "", "failed", q.failed, &pct(q.failed, q.arrived));
        let f = &q.failed_by;
        if f.server_error > 0 || f.timeout > 0 {
            line(
                &mut s,
                "",
                "  throttled",
                f.throttled,
                "last attempt throttled",
            );
            line(
                &mut s,
                "",
                "  server error",
                f.server_error,
                "last attempt a 503",
            );
            line(&mut s, "", "  timeout", f.timeout, "client.timeout passed");
        }
        line(&mut s, "", "unfinished", q.unfinished, "");
        line(
            &mut s,
            "",
            "truncated",
            q.truncated,
            "output cut at max_tokens",
        );
        line(
            &mut s,
            "",
            "unservable",
            q.unservable,
            "reservation above a limit's whole capacity",
        );
        line(&mut s, "attempts", "sent", a.sent, "");
        line(&mut s, "", "admitted", a.admitted, "");
        line(
            &mut s,
            "",
            "throttled",
            a.throttled,
            &format!("{} of attempts", pct(a.throttled, a.sent)),
        );
        let by = &a.throttled_by;
        line(&mut s, "", "  by RPM", by.requests_per_minute, "");
        line(&mut s, "", "  by TPM", by.tokens_per_minute, "");
        line(&mut s, "", "  by TPD", by.tokens_per_day, "");
        let short = ["requests_per_minute", "tokens_per_minute", "tokens_per_day"];
        if a.throttled_by_limit
            .0
            .iter()
            .any(|(n, _)| !short.contains(&n.as_str()))
        {
            for (name, n) in &a.throttled_by_limit.0 {
                line(&mut s, "", "  by limit", n, name);
            }
        }
        line(&mut s, "", "server errors", a.server_errors, "");
        if let Some(n) = a.throttled_mid_stream {
            line(
                &mut s,
                "",
                "mid-stream",
                n,
                "throttlingException after HTTP 200",
            );
        }
        let hist: Vec<String> = a
            .per_request
            .0
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(n, c)| format!("{n}:{c}"))
            .collect();
        if !hist.is_empty() {
            let _ = writeln!(s, "{:<14}{:<16}{}", "", "per request", hist.join("  "));
        }
        line(&mut s, "tokens", "input", t.input, "");
        line(&mut s, "", "output", t.output, "");
        line(&mut s, "", "quota consumed", t.quota_consumed, "");
        // Burndown can make consumption exceed the reservation (output × 5 above
        // `input + max_tokens`): say so instead of clamping the unused share to 0%.
        let reserved_note = if t.quota_consumed > t.reserved {
            let over = t.quota_consumed - t.reserved;
            format!(
                "overshoot: consumed {over} ({}) more than reserved",
                pct(over, t.reserved)
            )
        } else {
            let unused = t.reserved - t.quota_consumed;
            format!("{} never consumed", pct(unused, t.reserved))
        };
        line(&mut s, "", "reserved", t.reserved, &reserved_note);
        let tp = &r.throughput;
        line(
            &mut s,
            "per minute",
            "requests",
            fmt_value(Some(tp.requests_per_minute)),
            "successes in [warmup, duration)",
        );
        line(
            &mut s,
            "",
            "output tokens",
            fmt_value(Some(tp.output_tokens_per_minute)),
            "",
        );
        line(
            &mut s,
            "",
            "quota tokens",
            fmt_value(Some(tp.quota_tokens_per_minute)),
            "",
        );
        let _ = writeln!(
            s,
            "{:<14}{:<16}{}",
            "latency ms",
            "end-to-end",
            lat(&r.latency_ms.e2e)
        );
        let _ = writeln!(
            s,
            "{:<14}{:<16}{}",
            "",
            "queue wait",
            lat(&r.latency_ms.queue_wait)
        );
        let c = &r.client;
        line(
            &mut s,
            "client",
            "amplification",
            fmt_value(c.retry_amplification),
            "attempts per request sent",
        );
        line(
            &mut s,
            "",
            "backoff s",
            fmt_value(Some(c.backoff_seconds)),
            "sleeping between attempts",
        );
        line(
            &mut s,
            "",
            "pacing s",
            fmt_value(Some(c.pacing_seconds)),
            &format!(
                "held before sending ({} s in aws-adaptive)",
                fmt_value(Some(c.adaptive_wait_seconds))
            ),
        );
        let cost = &r.cost;
        line(
            &mut s,
            "cost USD",
            "total",
            usd(cost.usd),
            if cost.usd.is_some() {
                "successful attempts' tokens at on-demand prices"
            } else {
                "no price for this model: set [model.prices]"
            },
        );
        line(&mut s, "", "per success", usd(cost.usd_per_success), "");
        line(&mut s, "", "per hour", usd(cost.usd_per_hour), "");
        if cost.reserved_usd.is_some() {
            line(
                &mut s,
                "",
                "reserved",
                usd(cost.reserved_usd),
                "fixed charge of reserved capacity, included in the total",
            );
        }
        if let Some(basis) = &cost.prices {
            let _ = writeln!(s, "{:<14}{:<16}{}", "", "prices", basis);
        }
        if let Some(pools) = &r.pools {
            for (name, p) in &pools.0 {
                let _ = writeln!(s, "pool {name}");
                line(&mut s, "", "admitted", p.admitted, "");
                line(
                    &mut s,
                    "",
                    "throttled",
                    p.throttled,
                    &format!(
                        "{} of its attempts",
                        pct(p.throttled, p.admitted + p.throttled)
                    ),
                );
                for (limit, n) in &p.throttled_by_limit.0 {
                    if *n > 0 {
                        line(&mut s, "", "  by limit", n, limit);
                    }
                }
                line(&mut s, "", "quota consumed", p.quota_consumed, "");
                line(&mut s, "", "reserved", p.reserved, "");
                line(
                    &mut s,
                    "",
                    "quota tok/min",
                    fmt_value(Some(p.quota_tokens_per_minute)),
                    "",
                );
                cost_lines(&mut s, &p.cost, "at its model's prices");
            }
        }
        if let Some(workloads) = &r.workloads {
            for (name, w) in &workloads.0 {
                let _ = writeln!(s, "workload {name}");
                let q = &w.requests;
                line(&mut s, "", "arrived", q.arrived, "");
                line(
                    &mut s,
                    "",
                    "succeeded",
                    q.succeeded,
                    &pct(q.succeeded, q.arrived),
                );
                line(&mut s, "", "failed", q.failed, &pct(q.failed, q.arrived));
                if q.unservable > 0 {
                    line(&mut s, "", "unservable", q.unservable, "");
                }
                line(&mut s, "", "attempts sent", w.attempts.sent, "");
                line(
                    &mut s,
                    "",
                    "throttled",
                    w.attempts.throttled,
                    &format!("{} of attempts", pct(w.attempts.throttled, w.attempts.sent)),
                );
                line(
                    &mut s,
                    "",
                    "requests/min",
                    fmt_value(Some(w.throughput.requests_per_minute)),
                    "",
                );
                let _ = writeln!(s, "{:<14}{:<16}{}", "", "e2e ms", lat(&w.latency_ms.e2e));
                cost_lines(&mut s, &w.cost, "at the serving pools' prices");
            }
        }
        if let Some(tiers) = &r.tiers {
            for (name, t) in &tiers.0 {
                let _ = writeln!(s, "tier {name}");
                let q = &t.requests;
                line(&mut s, "", "workloads", t.workloads.join(", "), "");
                line(
                    &mut s,
                    "",
                    "succeeded",
                    q.succeeded,
                    &pct(q.succeeded, q.arrived),
                );
                line(&mut s, "", "failed", q.failed, &pct(q.failed, q.arrived));
                let _ = writeln!(s, "{:<14}{:<16}{}", "", "e2e ms", lat(&t.latency_ms.e2e));
                cost_lines(&mut s, &t.cost, "at the tier's prices");
            }
        }
        line(&mut s, "engine", "events", r.engine.events, "");
        if let (Some(ms), Some(eps)) = (r.engine.wall_ms, r.engine.events_per_second) {
            line(&mut s, "", "wall ms", ms, &format!("{eps} events/s"));
        }
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
