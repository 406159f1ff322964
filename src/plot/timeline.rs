//! Per-minute chart of a run: bars of the quota charged in each minute against a dashed line
//! at the tokens-per-minute limit (left axis), and lines of admitted and throttled attempts
//! per minute (right axis).
//!
//! Elements: `<g class="series" data-series="quota_charged">` of `<rect class="bar">`;
//! `<line class="limit" data-series="limit">`; `<path class="series" data-series="admitted">`
//! and `data-series="throttled"`; a legend entry per series.

use std::fmt::Write as _;

use serde_json::Value;

use super::{Axis, Scale, escape, format_tick, format_value, nice_ticks, no_data, num, text};

/// One minute of a run (the `timeline` rows of the `run` report).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineRow {
    /// Minute index from the start of the run.
    pub minute: u64,
    /// Attempts admitted in the minute.
    pub admitted: f64,
    /// Attempts throttled in the minute.
    pub throttled: f64,
    /// Tokens-per-minute charges net of refunds in this minute (may be negative).
    pub quota_charged: f64,
}

/// A timeline chart; build with [`TimelineChart::new`] and render with
/// [`TimelineChart::to_svg`].
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineChart {
    /// Chart title.
    pub title: String,
    /// One row per minute.
    pub rows: Vec<TimelineRow>,
    /// The tokens-per-minute quota, drawn as a dashed line.
    pub limit: Option<f64>,
    /// Unit of the quota axis.
    pub quota_unit: String,
    /// Width in SVG units.
    pub width: f64,
    /// Height in SVG units.
    pub height: f64,
    /// The least top of the attempts (right) axis: panels of one figure share it so that
    /// their right axes have one scale.
    pub attempts_max: Option<f64>,
    /// Further per-minute lines on the quota axis (none by default; `run --dashboard` adds
    /// `estimated_tpm_quota_usage` and `peak_quota_held`).
    pub quota_lines: Vec<QuotaLine>,
}

/// A line drawn against the quota axis: `<path class="series" data-series="SERIES">`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaLine {
    /// The `data-series` name.
    pub series: String,
    /// The legend text.
    pub label: String,
    /// Stroke colour.
    pub colour: String,
    /// Whether the line is dashed.
    pub dashed: bool,
    /// (minute, value) points.
    pub points: Vec<(u64, f64)>,
}

impl TimelineChart {
    /// A chart of `rows`, with the quota limit drawn when given.
    pub fn new(title: impl Into<String>, rows: Vec<TimelineRow>, limit: Option<f64>) -> Self {
        TimelineChart {
            title: title.into(),
            rows,
            limit,
            quota_unit: "tokens/min".into(),
            width: 900.0,
            height: 480.0,
            attempts_max: None,
            quota_lines: Vec::new(),
        }
    }

    /// Renders the SVG.
    pub fn to_svg(&self) -> String {
        timeline_chart(self)
    }
}

/// Reads the `timeline` array of a `run` JSON report. Missing or non-numeric fields become
/// NaN (not drawn); a missing `minute` takes the row's index. No `timeline` gives no rows.
pub fn rows_from_report(report: &Value) -> Vec<TimelineRow> {
    let Some(rows) = report.get("timeline").and_then(Value::as_array) else {
        return Vec::new();
    };
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let f = |k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            TimelineRow {
                minute: r.get("minute").and_then(Value::as_u64).unwrap_or(i as u64),
                admitted: f("admitted"),
                throttled: f("throttled"),
                quota_charged: f("quota_charged"),
            }
        })
        .collect()
}

const QUOTA_COLOUR: &str = "#9ecae1";
const LIMIT_COLOUR: &str = "#d62728";
const ADMITTED_COLOUR: &str = "#2ca02c";
const THROTTLED_COLOUR: &str = "#ff7f0e";

/// Renders `chart` as an SVG document.
pub fn timeline_chart(chart: &TimelineChart) -> String {
    let w = super::line::sane_size(chart.width, 900.0);
    let h = super::line::sane_size(chart.height, 480.0);
    let limit = chart.limit.filter(|l| l.is_finite());
    let any_data = chart
        .rows
        .iter()
        .any(|r| r.quota_charged.is_finite() || r.admitted.is_finite() || r.throttled.is_finite());
    if !any_data {
        let why = if chart.rows.is_empty() {
            "empty timeline"
        } else {
            "no finite values"
        };
        return no_data(w, h, &chart.title, why);
    }
    let mut rows = chart.rows.clone();
    rows.sort_by_key(|r| r.minute);
    let first = rows.first().map_or(0, |r| r.minute) as f64;
    let last = rows.last().map_or(0, |r| r.minute) as f64 + 1.0;

    let finite = |f: fn(&TimelineRow) -> f64| {
        rows.iter()
            .map(f)
            .filter(|v| v.is_finite())
            .collect::<Vec<f64>>()
    };
    let quota = finite(|r| r.quota_charged);
    let attempts: Vec<f64> = finite(|r| r.admitted)
        .into_iter()
        .chain(finite(|r| r.throttled))
        .collect();
    let qmin = quota.iter().copied().fold(0.0, f64::min);
    let extra = chart
        .quota_lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite());
    let qmax = quota
        .iter()
        .copied()
        .chain(limit)
        .chain(extra)
        .fold(0.0, f64::max);
    let amax = attempts
        .iter()
        .copied()
        .chain(chart.attempts_max.filter(|m| m.is_finite()))
        .fold(0.0, f64::max);
    let amin = attempts.iter().copied().fold(0.0, f64::min);

    let (left, right, top, bottom) = (80.0, w - 80.0, 72.0, h - 56.0);
    let qt = nice_ticks(qmin, qmax, 6);
    let at = nice_ticks(amin, amax, 6);
    let xt = nice_ticks(first, last, 10);
    let xs = Scale::linear(first, last, left, right);
    let qs = Scale::linear(qt.lo, qt.hi, bottom, top);
    // when charges go negative, line the attempts axis's zero up with the quota axis's zero
    let a_lo = if qt.lo < 0.0 && qt.hi > 0.0 && at.lo >= 0.0 {
        at.hi * qt.lo / qt.hi
    } else {
        at.lo
    };
    let ascale = Scale::linear(a_lo, at.hi, bottom, top);

    let mut out = String::new();
    super::open(&mut out, w, h, &chart.title);

    // left (quota) axis with grid, right (attempts) axis with ticks
    super::y_axis(
        &mut out,
        "quota-axis",
        left,
        (top, bottom),
        &qt,
        &qs,
        super::YAxisStyle::LeftWithGrid(right),
    );
    super::y_axis(
        &mut out,
        "attempts-axis",
        right,
        (top, bottom),
        &at,
        &ascale,
        super::YAxisStyle::RightWithTicks,
    );
    out.push_str("<g class=\"axis x-axis\">\n");
    for &v in xt.values.iter().filter(|v| **v >= first && **v <= last) {
        let x = xs.map(v);
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#333333\"/>",
            num(bottom),
            num(bottom + 5.0),
            x = num(x)
        );
        text(
            &mut out,
            x,
            bottom + 18.0,
            "middle",
            "tick-label",
            "",
            &format_tick(v, xt.step),
        );
    }
    let zero = qs.map(0.0);
    let _ = writeln!(
        out,
        "<line class=\"axis-line\" x1=\"{}\" y1=\"{z}\" x2=\"{}\" y2=\"{z}\" stroke=\"#333333\"/>",
        num(left),
        num(right),
        z = num(zero)
    );
    out.push_str("</g>\n");
    text(
        &mut out,
        (left + right) / 2.0,
        h - 16.0,
        "middle",
        "axis-label x-label",
        "",
        &Axis::new("time", "minutes").title(),
    );
    let (lx, ly) = (20.0, (top + bottom) / 2.0);
    text(
        &mut out,
        lx,
        ly,
        "middle",
        "axis-label y-label",
        &format!("transform=\"rotate(-90 {} {})\"", num(lx), num(ly)),
        &Axis::new("quota charged", chart.quota_unit.as_str()).title(),
    );
    let rx = w - 18.0;
    text(
        &mut out,
        rx,
        ly,
        "middle",
        "axis-label y2-label",
        &format!("transform=\"rotate(90 {} {})\"", num(rx), num(ly)),
        &Axis::new("attempts", "per minute").title(),
    );

    // bars
    let slot = (right - left) / (last - first).max(1.0);
    let bar_w = (slot * 0.8).max(0.5);
    out.push_str("<g class=\"series\" data-series=\"quota_charged\">\n");
    for r in rows.iter().filter(|r| r.quota_charged.is_finite()) {
        let x = xs.map(r.minute as f64) + (slot - bar_w) / 2.0;
        let y = qs.map(r.quota_charged);
        let (y0, hgt) = if y <= zero {
            (y, zero - y)
        } else {
            (zero, y - zero)
        };
        let _ = writeln!(
            out,
            "<rect class=\"bar\" data-series=\"quota_charged\" data-minute=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{QUOTA_COLOUR}\"><title>minute {}: {} {}</title></rect>",
            r.minute,
            num(x),
            num(y0),
            num(bar_w),
            num(hgt),
            r.minute,
            format_value(r.quota_charged),
            escape(&chart.quota_unit),
        );
    }
    out.push_str("</g>\n");

    // further quota lines
    for l in &chart.quota_lines {
        let mut d = String::new();
        let mut prev: Option<u64> = None;
        for &(m, v) in &l.points {
            if !v.is_finite() {
                prev = None;
                continue;
            }
            let cmd = if prev.is_some_and(|p| m <= p + 1) {
                "L"
            } else {
                "M"
            };
            prev = Some(m);
            let _ = write!(
                d,
                "{cmd}{} {} ",
                num(xs.map(m as f64 + 0.5)),
                num(qs.map(v))
            );
        }
        if !d.is_empty() {
            let dash = if l.dashed {
                " stroke-dasharray=\"3 2\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<path class=\"series\" data-series=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash}/>",
                escape(&l.series),
                d.trim_end(),
                escape(&l.colour)
            );
        }
    }

    // attempt lines
    for (name, colour, get) in [
        (
            "admitted",
            ADMITTED_COLOUR,
            (|r: &TimelineRow| r.admitted) as fn(&TimelineRow) -> f64,
        ),
        ("throttled", THROTTLED_COLOUR, |r: &TimelineRow| r.throttled),
    ] {
        let mut d = String::new();
        let mut pen_down = false;
        let mut prev: Option<u64> = None;
        for r in &rows {
            let v = get(r);
            // a NaN or a gap in the minutes lifts the pen
            let contiguous = prev.is_some_and(|p| r.minute <= p + 1);
            prev = Some(r.minute);
            if !v.is_finite() {
                pen_down = false;
                continue;
            }
            let cmd = if pen_down && contiguous { "L" } else { "M" };
            let _ = write!(
                d,
                "{cmd}{} {} ",
                num(xs.map(r.minute as f64 + 0.5)),
                num(ascale.map(v))
            );
            pen_down = true;
        }
        if !d.is_empty() {
            let _ = writeln!(
                out,
                "<path class=\"series\" data-series=\"{name}\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                d.trim_end()
            );
        }
    }

    // the limit, drawn over the attempt lines so that neither hides its label
    if let Some(l) = limit {
        let y = qs.map(l);
        let _ = writeln!(
            out,
            "<line class=\"limit\" data-series=\"limit\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{LIMIT_COLOUR}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
            num(left),
            num(right),
            y = num(y)
        );
        text(
            &mut out,
            left + 4.0,
            y - 5.0,
            "start",
            "limit-label",
            &format!(
                "fill=\"{LIMIT_COLOUR}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\""
            ),
            &format!("limit {} {}", format_value(l), chart.quota_unit),
        );
    }

    // legend, in a row under the title
    out.push_str("<g class=\"legend\">\n");
    let items: Vec<(&str, String, &str)> = vec![
        (
            "quota_charged",
            format!("quota charged ({})", chart.quota_unit),
            "bar",
        ),
        ("limit", "limit".to_string(), "dash"),
        ("admitted", "admitted attempts".to_string(), ADMITTED_COLOUR),
        (
            "throttled",
            "throttled attempts".to_string(),
            THROTTLED_COLOUR,
        ),
    ];
    let mut items = items;
    for l in &chart.quota_lines {
        items.push((l.series.as_str(), l.label.clone(), l.colour.as_str()));
    }
    let mut x = left;
    let y = 48.0;
    for (series, label, kind) in items {
        if series == "limit" && limit.is_none() {
            continue;
        }
        let _ = writeln!(out, "<g class=\"legend-item\" data-series=\"{series}\">");
        match kind {
            "bar" => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"10\" fill=\"{QUOTA_COLOUR}\"/>",
                    num(x),
                    num(y - 5.0)
                );
            }
            "dash" => {
                let _ = writeln!(
                    out,
                    "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{LIMIT_COLOUR}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
                    num(x),
                    num(x + 20.0),
                    y = num(y)
                );
            }
            colour => {
                let _ = writeln!(
                    out,
                    "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                    num(x),
                    num(x + 20.0),
                    y = num(y)
                );
            }
        }
        text(
            &mut out,
            x + 26.0,
            y + 4.0,
            "start",
            "legend-label",
            "",
            &label,
        );
        out.push_str("</g>\n");
        x += 26.0 + label.chars().count() as f64 * 6.5 + 24.0;
    }
    out.push_str("</g>\n");
    super::close(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{assert_well_formed, find, parse, texts};
    use super::*;
    use serde_json::json;

    fn rows() -> Vec<TimelineRow> {
        (0..10)
            .map(|m| TimelineRow {
                minute: m,
                admitted: (m * 3) as f64,
                throttled: if m > 5 { (m - 5) as f64 } else { 0.0 },
                quota_charged: (m * 20_000) as f64,
            })
            .collect()
    }

    #[test]
    fn renders_bars_limit_and_lines() {
        let svg = TimelineChart::new("chat: per minute", rows(), Some(100_000.0)).to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        assert_eq!(find(&doc, "bar", Some("quota_charged")).len(), 10);
        assert_eq!(find(&doc, "series", Some("quota_charged")).len(), 1);
        let limit = find(&doc, "limit", Some("limit"));
        assert_eq!(limit.len(), 1);
        assert!(limit[0].attribute("stroke-dasharray").is_some());
        assert_eq!(find(&doc, "series", Some("admitted")).len(), 1);
        assert_eq!(find(&doc, "series", Some("throttled")).len(), 1);
        assert_eq!(find(&doc, "legend-item", None).len(), 4);
        let t = texts(&doc);
        for expected in [
            "chat: per minute",
            "time (minutes)",
            "quota charged (tokens/min)",
            "attempts (per minute)",
            "limit 100k tokens/min",
            "admitted attempts",
            "throttled attempts",
        ] {
            assert!(
                t.iter().any(|s| s == expected),
                "missing {expected:?} in {t:?}"
            );
        }
        // the limit line sits above the 80k bar and below the 180k bar
        let limit_y: f64 = limit[0].attribute("y1").unwrap().parse().unwrap();
        let bar_top = |minute: &str| -> f64 {
            find(&doc, "bar", None)
                .iter()
                .find(|n| n.attribute("data-minute") == Some(minute))
                .and_then(|n| n.attribute("y")?.parse().ok())
                .unwrap()
        };
        assert!(bar_top("4") > limit_y && bar_top("9") < limit_y);
    }

    #[test]
    fn without_limit_and_with_negative_net_charge() {
        let mut r = rows();
        r[3].quota_charged = -5000.0;
        let svg = TimelineChart::new("t", r, None).to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        assert!(find(&doc, "limit", None).is_empty());
        assert_eq!(find(&doc, "legend-item", None).len(), 3);
        assert!(find(&doc, "bar", None).iter().all(|n| {
            n.attribute("height")
                .and_then(|h| h.parse::<f64>().ok())
                .is_some_and(|h| h >= 0.0)
        }));
    }

    #[test]
    fn non_finite_values_and_gaps_break_lines() {
        let mut r = rows();
        r[2].admitted = f64::NAN;
        r[4].quota_charged = f64::INFINITY;
        r.remove(7); // a gap between minutes 6 and 8
        let svg = TimelineChart::new("t", r, Some(f64::NAN)).to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        let d = find(&doc, "series", Some("admitted"))[0]
            .attribute("d")
            .unwrap()
            .to_string();
        assert_eq!(d.matches('M').count(), 3, "{d}");
        assert_eq!(find(&doc, "bar", None).len(), 8);
        assert!(find(&doc, "limit", None).is_empty());
    }

    #[test]
    fn empty_or_all_nan_says_no_data() {
        let nan = vec![TimelineRow {
            minute: 0,
            admitted: f64::NAN,
            throttled: f64::NAN,
            quota_charged: f64::NAN,
        }];
        for r in [vec![], nan] {
            let svg = TimelineChart::new("t", r, Some(1.0)).to_svg();
            assert_well_formed(&svg);
            let doc = parse(&svg);
            assert!(
                texts(&doc).iter().any(|t| t.starts_with("no data")),
                "{svg}"
            );
        }
    }

    #[test]
    fn single_minute_and_unsorted_rows() {
        let one = vec![TimelineRow {
            minute: 7,
            admitted: 1.0,
            throttled: 0.0,
            quota_charged: 100.0,
        }];
        let svg = TimelineChart::new("t", one, Some(50.0)).to_svg();
        assert_well_formed(&svg);
        let mut r = rows();
        r.reverse();
        let svg = TimelineChart::new("t", r, None).to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        let d = find(&doc, "series", Some("admitted"))[0]
            .attribute("d")
            .unwrap()
            .to_string();
        assert_eq!(d.matches('M').count(), 1, "{d}");
    }

    #[test]
    fn reads_rows_from_a_run_report() {
        let report = json!({"timeline": [
            {"minute": 0, "admitted": 5, "throttled": 1, "completed": 4, "quota_charged": 1200},
            {"minute": 1, "admitted": 6, "throttled": 0, "completed": 6},
            {"admitted": "x"}
        ]});
        let r = rows_from_report(&report);
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[0],
            TimelineRow {
                minute: 0,
                admitted: 5.0,
                throttled: 1.0,
                quota_charged: 1200.0
            }
        );
        assert!(r[1].quota_charged.is_nan());
        assert_eq!(r[2].minute, 2);
        assert!(r[2].admitted.is_nan());
        assert!(rows_from_report(&json!({})).is_empty());
        assert!(rows_from_report(&json!({"timeline": 3})).is_empty());
        let svg = TimelineChart::new("from report", r, Some(2000.0)).to_svg();
        assert_well_formed(&svg);
    }
}
