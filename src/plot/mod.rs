//! Self-contained SVG charts: the SVG text is written by hand, needs no fonts or libraries
//! beyond a viewer, and uses only the generic `sans-serif` font family.
//!
//! Every element that draws a series carries `class` and `data-series` attributes naming it
//! (e.g. `<path class="series" data-series="throughput" …>`), so tests and scripts can find
//! them. Non-finite and empty inputs never panic: they produce a valid SVG with a "no data"
//! note.

pub mod heatmap;
pub mod line;
pub mod timeline;

use std::fmt::Write as _;

/// An axis title and its unit, rendered as `label (unit)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Axis {
    /// What the axis shows.
    pub label: String,
    /// Its unit (may be empty).
    pub unit: String,
}

impl Axis {
    /// An axis.
    pub fn new(label: impl Into<String>, unit: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            unit: unit.into(),
        }
    }

    /// `label (unit)`, or just the label when the unit is empty.
    pub fn title(&self) -> String {
        if self.unit.trim().is_empty() {
            self.label.clone()
        } else {
            format!("{} ({})", self.label, self.unit)
        }
    }
}

/// Escapes text for use in SVG element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // characters XML 1.0 does not allow at all
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Tick positions on a "nice" 1-2-5 step covering a data range.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Axis start (a multiple of `step`, at or below the data minimum).
    pub lo: f64,
    /// Axis end (a multiple of `step`, at or above the data maximum).
    pub hi: f64,
    /// Distance between ticks.
    pub step: f64,
    /// Tick values, ascending.
    pub values: Vec<f64>,
}

/// The smallest of 1, 2, 5, 10 × 10^k that is at least `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nf = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nf * mag
}

/// About `target` ticks on a 1-2-5 step covering `[min, max]`. A degenerate range is widened
/// (to `[0, 1]` for zero, by 10% of the value otherwise); non-finite bounds give `[0, 1]`.
pub(crate) fn nice_ticks(min: f64, max: f64, target: usize) -> Ticks {
    let (mut min, mut max) = if min.is_finite() && max.is_finite() {
        (min.min(max), min.max(max))
    } else {
        (0.0, 1.0)
    };
    if min == max {
        if min == 0.0 {
            max = 1.0;
        } else {
            let d = min.abs() * 0.1;
            min -= d;
            max += d;
        }
    }
    let span = max - min;
    let step = nice_step(span / target.max(1) as f64);
    let lo = (min / step).floor() * step;
    let hi = (max / step).ceil() * step;
    let count = ((hi - lo) / step).round();
    if !(lo.is_finite() && hi.is_finite() && count.is_finite()) || count > 1000.0 {
        return Ticks {
            lo: min,
            hi: max,
            step: span,
            values: vec![min, max],
        };
    }
    let values = (0..=count as usize)
        .map(|k| {
            let v = lo + k as f64 * step;
            // snap float noise (0.30000000000000004) onto the step grid; avoid -0
            let v = (v / step).round() * step;
            if v == 0.0 { 0.0 } else { v }
        })
        .collect();
    Ticks {
        lo,
        hi,
        step,
        values,
    }
}

/// A tick label with as many decimals as the step needs, and k/M/G suffixes for big steps.
pub(crate) fn format_tick(v: f64, step: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let step = if step.is_finite() && step > 0.0 {
        step
    } else {
        1.0
    };
    let (div, suffix) = if step >= 1e9 {
        (1e9, "G")
    } else if step >= 1e6 {
        (1e6, "M")
    } else if step >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let s = step / div;
    let decimals = (-s.log10().floor()).clamp(0.0, 10.0) as usize;
    let text = format!("{:.*}", decimals, v / div);
    let text = if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".to_string()
    } else {
        text
    };
    if text == "0" {
        text
    } else {
        format!("{text}{suffix}")
    }
}

/// A compact value label with about three significant digits (`0.0123`, `512`, `12.3k`).
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞".into() } else { "-∞".into() };
    }
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if x == x.trunc() && x.abs() < 1e4 {
        return format!("{x:.0}{suffix}");
    }
    let mag = x.abs().log10().floor();
    let decimals = (2.0 - mag).clamp(0.0, 6.0) as usize;
    let text = format!("{x:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    let text = if text == "-0" { "0".into() } else { text };
    format!("{text}{suffix}")
}

/// A coordinate with two decimals and no trailing zeros.
pub(crate) fn num(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Distinct series colours (Tableau 10).
pub(crate) const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

pub(crate) fn colour(i: usize) -> &'static str {
    PALETTE.get(i % PALETTE.len()).copied().unwrap_or("#1f77b4")
}

/// Opens an SVG document with a white background and a title.
pub(crate) fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n\
         <title>{t}</title>\n\
         <rect class=\"background\" x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n\
         <text class=\"title\" x=\"{cx}\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" \
         font-weight=\"bold\" font-family=\"sans-serif\">{t}</text>\n",
        w = num(width),
        h = num(height),
        cx = num(width / 2.0),
        t = escape(title),
    );
}

pub(crate) fn close(out: &mut String) {
    out.push_str("</svg>\n");
}

/// A text element; `extra` is inserted verbatim as additional attributes.
pub(crate) fn text(
    out: &mut String,
    x: f64,
    y: f64,
    anchor: &str,
    class: &str,
    extra: &str,
    s: &str,
) {
    let _ = writeln!(
        out,
        "<text class=\"{class}\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-family=\"sans-serif\"{}{extra}>{}</text>",
        num(x),
        num(y),
        if extra.is_empty() { "" } else { " " },
        escape(s)
    );
}

/// A complete chart that only says there is nothing to draw.
pub(crate) fn no_data(width: f64, height: f64, title: &str, why: &str) -> String {
    let mut out = String::new();
    open(&mut out, width, height, title);
    text(
        &mut out,
        width / 2.0,
        height / 2.0,
        "middle",
        "no-data",
        "font-size=\"14\" fill=\"#666666\"",
        &format!("no data: {why}"),
    );
    close(&mut out);
    out
}

/// Maps a data value onto a pixel range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub p0: f64,
    pub p1: f64,
    pub log: bool,
}

impl Scale {
    pub fn linear(d0: f64, d1: f64, p0: f64, p1: f64) -> Scale {
        Scale {
            d0,
            d1,
            p0,
            p1,
            log: false,
        }
    }

    pub fn map(&self, v: f64) -> f64 {
        let (v, d0, d1) = if self.log {
            (v.log10(), self.d0.log10(), self.d1.log10())
        } else {
            (v, self.d0, self.d1)
        };
        let span = d1 - d0;
        let t = if span == 0.0 || !span.is_finite() {
            0.5
        } else {
            (v - d0) / span
        };
        self.p0 + t * (self.p1 - self.p0)
    }
}

/// Where a vertical axis draws its tick labels, and what it draws across the plot.
pub(crate) enum YAxisStyle {
    /// Labels on the left of `x`, grid lines from `x` to the given right edge.
    LeftWithGrid(f64),
    /// Labels on the right of `x`, with short tick marks.
    RightWithTicks,
}

/// A vertical axis at `x` from `top` to `bottom`: one grid line or tick mark and one label
/// per tick value, then the axis line, inside a `<g class="axis y-axis {class}">`.
pub(crate) fn y_axis(
    out: &mut String,
    class: &str,
    x: f64,
    (top, bottom): (f64, f64),
    ticks: &Ticks,
    scale: &Scale,
    style: YAxisStyle,
) {
    let _ = writeln!(
        out,
        "<g class=\"axis y-axis{}{class}\">",
        if class.is_empty() { "" } else { " " }
    );
    for &v in &ticks.values {
        let y = scale.map(v);
        let (x1, x2, stroke, line_class, label_x, anchor) = match style {
            YAxisStyle::LeftWithGrid(right) => (x, right, "#e5e5e5", "grid", x - 6.0, "end"),
            YAxisStyle::RightWithTicks => (x, x + 5.0, "#333333", "tick", x + 8.0, "start"),
        };
        let _ = writeln!(
            out,
            "<line class=\"{line_class}\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{stroke}\"/>",
            num(x1),
            num(x2),
            y = num(y)
        );
        text(
            out,
            label_x,
            y + 4.0,
            anchor,
            "tick-label",
            "",
            &format_tick(v, ticks.step),
        );
    }
    let _ = writeln!(
        out,
        "<line class=\"axis-line\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#333333\"/>\n</g>",
        num(top),
        num(bottom),
        x = num(x)
    );
}

#[cfg(test)]
pub(crate) mod test_util {
    /// Parses the SVG, panicking with the document on error (tests only).
    pub fn parse(svg: &str) -> roxmltree::Document<'_> {
        match roxmltree::Document::parse(svg) {
            Ok(d) => d,
            Err(e) => panic!("invalid SVG ({e}):\n{svg}"),
        }
    }

    /// Elements with a `class` containing `class` and, if given, `data-series == series`.
    pub fn find<'a>(
        doc: &'a roxmltree::Document<'a>,
        class: &str,
        series: Option<&str>,
    ) -> Vec<roxmltree::Node<'a, 'a>> {
        doc.descendants()
            .filter(|n| {
                n.attribute("class")
                    .is_some_and(|c| c.split_whitespace().any(|w| w == class))
                    && series.is_none_or(|s| n.attribute("data-series") == Some(s))
            })
            .collect()
    }

    /// All text content of `<text>` elements.
    pub fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or("").to_string())
            .collect()
    }

    /// The document is an `<svg>` whose every coordinate attribute is a finite number.
    pub fn assert_well_formed(svg: &str) {
        let doc = parse(svg);
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        for n in doc.descendants().filter(|n| n.is_element()) {
            for a in ["d", "points", "transform"] {
                if let Some(v) = n.attribute(a) {
                    assert!(!v.contains("NaN") && !v.contains("inf"), "{a}={v:?}");
                }
            }
            for a in [
                "x", "y", "x1", "x2", "y1", "y2", "width", "height", "cx", "cy", "r",
            ] {
                if let Some(v) = n.attribute(a) {
                    let ok = v.parse::<f64>().is_ok_and(f64::is_finite) || v.ends_with('%');
                    assert!(ok, "attribute {a}={v:?} on <{}>", n.tag_name().name());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"a<b & "c" 'd'>"#),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("bell\u{7}"), "bell\u{FFFD}");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.13), 0.2);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(2000.0), 2000.0);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn ticks_cover_the_range_on_a_125_step() {
        let t = nice_ticks(0.0, 97.0, 5);
        assert_eq!(t.step, 20.0);
        assert_eq!(t.values, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = nice_ticks(0.1, 0.7, 5);
        assert_eq!(t.step, 0.2);
        assert_eq!(t.values, [0.0, 0.2, 0.4, 0.6000000000000001, 0.8]);
        let t = nice_ticks(-3.0, 3.0, 6);
        assert_eq!(t.values, [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]);
        let t = nice_ticks(5.0, 5.0, 5);
        assert!(t.lo <= 4.5 && t.hi >= 5.5);
        let t = nice_ticks(0.0, 0.0, 5);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
        let t = nice_ticks(f64::NAN, 1.0, 5);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
        let t = nice_ticks(-1e308, 1e308, 5);
        assert!(t.values.iter().all(|v| v.is_finite()));
        assert!(t.values.len() < 1000);
        let t = nice_ticks(1e-300, 2e-300, 5);
        assert!(!t.values.is_empty());
    }

    #[test]
    fn tick_labels() {
        assert_eq!(format_tick(0.6000000000000001, 0.2), "0.6");
        assert_eq!(format_tick(100.0, 20.0), "100");
        assert_eq!(format_tick(0.05, 0.05), "0.05");
        assert_eq!(format_tick(250_000.0, 50_000.0), "250k");
        assert_eq!(format_tick(1_500_000.0, 500_000.0), "1500k");
        assert_eq!(format_tick(2_000_000.0, 1_000_000.0), "2M");
        assert_eq!(format_tick(0.0, 1000.0), "0");
        assert_eq!(format_tick(-0.0, 0.5), "0");
        assert_eq!(format_tick(f64::NAN, 1.0), "");
    }

    #[test]
    fn value_labels() {
        assert_eq!(format_value(512.0), "512");
        assert_eq!(format_value(0.0123), "0.0123");
        assert_eq!(format_value(12.345), "12.3");
        assert_eq!(format_value(12_345.0), "12.3k");
        assert_eq!(format_value(2_500_000.0), "2.5M");
        assert_eq!(format_value(-0.5), "-0.5");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(f64::NAN), "n/a");
        assert_eq!(format_value(f64::INFINITY), "∞");
    }

    #[test]
    fn no_data_chart_is_valid() {
        let svg = no_data(400.0, 300.0, "t <&>", "nothing");
        test_util::assert_well_formed(&svg);
        let doc = test_util::parse(&svg);
        assert!(test_util::texts(&doc).contains(&"no data: nothing".to_string()));
        assert!(test_util::texts(&doc).contains(&"t <&>".to_string()));
    }

    #[test]
    fn axis_titles() {
        assert_eq!(
            Axis::new("max_tokens", "tokens").title(),
            "max_tokens (tokens)"
        );
        assert_eq!(Axis::new("concurrency", "").title(), "concurrency");
    }

    #[test]
    fn log_scale_maps_decades_evenly() {
        let s = Scale {
            d0: 1.0,
            d1: 100.0,
            p0: 0.0,
            p1: 200.0,
            log: true,
        };
        assert!((s.map(10.0) - 100.0).abs() < 1e-9);
        assert_eq!(Scale::linear(0.0, 0.0, 0.0, 10.0).map(3.0), 5.0);
    }
}
