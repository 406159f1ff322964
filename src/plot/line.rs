//! Line chart of named series over x, each with an optional shaded confidence band.
//!
//! Elements: `<g class="series-group" data-series=NAME>` holding the band
//! (`<path class="band" data-series=NAME>`), the line (`<path class="series"
//! data-series=NAME>`) and one `<circle class="marker" data-series=NAME>` per point; a legend
//! entry `<g class="legend-item" data-series=NAME>`.

use std::fmt::Write as _;

use super::{Axis, Scale, colour, escape, format_tick, nice_ticks, no_data, num, text};

/// One point; `band` is the `(lower, upper)` bound of a confidence interval, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinePoint {
    /// Horizontal value.
    pub x: f64,
    /// Vertical value.
    pub y: f64,
    /// Lower and upper edge of an uncertainty band, if any.
    pub band: Option<(f64, f64)>,
}

impl LinePoint {
    /// A point without a band.
    pub fn new(x: f64, y: f64) -> LinePoint {
        LinePoint { x, y, band: None }
    }

    /// A point with a band from `lower` to `upper`.
    pub fn with_band(x: f64, y: f64, lower: f64, upper: f64) -> LinePoint {
        LinePoint {
            x,
            y,
            band: Some((lower, upper)),
        }
    }
}

/// A named series. Points are drawn in increasing x; a point with a non-finite y breaks the
/// line, and one with a non-finite x is left out.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    /// Legend name.
    pub name: String,
    /// Points, in x order.
    pub points: Vec<LinePoint>,
}

impl LineSeries {
    /// A named series.
    pub fn new(name: impl Into<String>, points: Vec<LinePoint>) -> LineSeries {
        LineSeries {
            name: name.into(),
            points,
        }
    }
}

/// A line chart; build with [`LineChart::new`] and render with [`LineChart::to_svg`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Chart title.
    pub title: String,
    /// Horizontal axis.
    pub x_axis: Axis,
    /// Vertical axis.
    pub y_axis: Axis,
    /// The lines.
    pub series: Vec<LineSeries>,
    /// Width in SVG units.
    pub width: f64,
    /// Height in SVG units.
    pub height: f64,
    /// Logarithmic x axis (ignored unless every x is positive); good for `1..64:x2` sweeps.
    pub x_log: bool,
    /// Start the y axis at zero when all values are positive (default true).
    pub y_include_zero: bool,
    /// Horizontal threshold lines (a constraint's bound), each with its label; the y axis
    /// covers them.
    pub thresholds: Vec<(String, f64)>,
}

impl LineChart {
    /// An empty chart.
    pub fn new(title: impl Into<String>, x_axis: Axis, y_axis: Axis) -> LineChart {
        LineChart {
            title: title.into(),
            x_axis,
            y_axis,
            series: Vec::new(),
            width: 800.0,
            height: 480.0,
            x_log: false,
            y_include_zero: true,
            thresholds: Vec::new(),
        }
    }

    /// Adds a threshold line at `y` labelled `label`.
    pub fn with_threshold(mut self, label: impl Into<String>, y: f64) -> LineChart {
        if y.is_finite() {
            self.thresholds.push((label.into(), y));
        }
        self
    }

    /// Adds a line.
    pub fn with_series(mut self, series: LineSeries) -> LineChart {
        self.series.push(series);
        self
    }

    /// Renders the SVG.
    pub fn to_svg(&self) -> String {
        line_chart(self)
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn band_of(p: &LinePoint) -> Option<(f64, f64)> {
    let (lo, hi) = p.band?;
    Some((finite(lo)?, finite(hi)?))
}

/// Renders `chart` as an SVG document.
pub fn line_chart(chart: &LineChart) -> String {
    let (w, h) = (
        sane_size(chart.width, 800.0),
        sane_size(chart.height, 480.0),
    );
    // usable points per series, sorted by x
    let series: Vec<(&str, Vec<LinePoint>)> = chart
        .series
        .iter()
        .map(|s| {
            let mut pts: Vec<LinePoint> = s
                .points
                .iter()
                .copied()
                .filter(|p| p.x.is_finite())
                .collect();
            pts.sort_by(|a, b| a.x.total_cmp(&b.x));
            (s.name.as_str(), pts)
        })
        .collect();
    let drawable = |p: &LinePoint| p.y.is_finite() || band_of(p).is_some();
    let all: Vec<&LinePoint> = series
        .iter()
        .flat_map(|(_, pts)| pts.iter())
        .filter(|p| drawable(p))
        .collect();
    if all.is_empty() {
        let why = if chart.series.is_empty() {
            "no series"
        } else {
            "no finite values"
        };
        return no_data(w, h, &chart.title, why);
    }
    let x_log = chart.x_log && all.iter().all(|p| p.x > 0.0);
    let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut ymin, mut ymax) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in &all {
        xmin = xmin.min(p.x);
        xmax = xmax.max(p.x);
        for y in [Some(p.y), band_of(p).map(|b| b.0), band_of(p).map(|b| b.1)]
            .into_iter()
            .flatten()
            .filter(|y| y.is_finite())
        {
            ymin = ymin.min(y);
            ymax = ymax.max(y);
        }
    }
    if chart.y_include_zero {
        ymin = ymin.min(0.0);
        ymax = ymax.max(0.0);
    }
    for (_, y) in &chart.thresholds {
        ymin = ymin.min(*y);
        ymax = ymax.max(*y);
    }

    // The legend is as wide as its longest label (about 7 units a character at font size
    // 12), so that no label is cut at the right edge; at most half the chart.
    let longest = chart
        .series
        .iter()
        .map(|s| s.name.chars().count() + 9)
        .chain(chart.thresholds.iter().map(|t| t.0.chars().count()))
        .max()
        .unwrap_or(0);
    let legend_w = (60.0 + 7.0 * longest as f64).clamp(180.0, w / 2.0);
    let (left, right, top, bottom) = (80.0, w - legend_w, 48.0, h - 64.0);
    let yt = nice_ticks(ymin, ymax, 6);
    let ys = Scale::linear(yt.lo, yt.hi, bottom, top);
    let (xs, xticks): (Scale, Vec<(f64, String)>) = if x_log {
        let (d0, d1) = if xmin == xmax {
            (xmin / 2.0, xmax * 2.0)
        } else {
            (xmin, xmax)
        };
        let scale = Scale {
            d0,
            d1,
            p0: left + 10.0,
            p1: right - 10.0,
            log: true,
        };
        let mut distinct: Vec<f64> = all.iter().map(|p| p.x).collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let ticks: Vec<f64> = if distinct.len() <= 12 {
            distinct
        } else {
            let (e0, e1) = (d0.log10().floor() as i32, d1.log10().ceil() as i32);
            (e0..=e1)
                .map(|e| 10f64.powi(e))
                .filter(|v| *v >= d0 && *v <= d1)
                .collect()
        };
        let labels = ticks
            .into_iter()
            .map(|v| (v, super::format_value(v)))
            .collect();
        (scale, labels)
    } else {
        let t = nice_ticks(xmin, xmax, 8);
        let labels = t
            .values
            .iter()
            .map(|&v| (v, format_tick(v, t.step)))
            .collect();
        (Scale::linear(t.lo, t.hi, left, right), labels)
    };

    let mut out = String::new();
    super::open(&mut out, w, h, &chart.title);

    // grid and ticks
    super::y_axis(
        &mut out,
        "",
        left,
        (top, bottom),
        &yt,
        &ys,
        super::YAxisStyle::LeftWithGrid(right),
    );
    out.push_str("<g class=\"axis x-axis\">\n");
    for (v, label) in &xticks {
        let x = xs.map(*v);
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{x}\" y1=\"{b}\" x2=\"{x}\" y2=\"{b5}\" stroke=\"#333333\"/>",
            x = num(x),
            b = num(bottom),
            b5 = num(bottom + 5.0)
        );
        text(
            &mut out,
            x,
            bottom + 18.0,
            "middle",
            "tick-label",
            "",
            label,
        );
    }
    let _ = writeln!(
        out,
        "<line class=\"axis-line\" x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#333333\"/>",
        l = num(left),
        r = num(right),
        b = num(bottom)
    );
    out.push_str("</g>\n");
    text(
        &mut out,
        (left + right) / 2.0,
        h - 20.0,
        "middle",
        "axis-label x-label",
        "",
        &chart.x_axis.title(),
    );
    let (lx, ly) = (22.0, (top + bottom) / 2.0);
    text(
        &mut out,
        lx,
        ly,
        "middle",
        "axis-label y-label",
        &format!("transform=\"rotate(-90 {} {})\"", num(lx), num(ly)),
        &chart.y_axis.title(),
    );

    // series
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = colour(i);
        let name = escape(name);
        let _ = writeln!(out, "<g class=\"series-group\" data-series=\"{name}\">");
        for run in runs(pts, |p| band_of(p).is_some()) {
            let bands: Vec<(f64, f64, f64)> = run
                .iter()
                .filter_map(|p| band_of(p).map(|(lo, hi)| (xs.map(p.x), ys.map(lo), ys.map(hi))))
                .collect();
            let d = if let [(x, lo, hi)] = bands.as_slice() {
                let (x, lo, hi) = (*x, *lo, *hi);
                format!("M{} {} L{} {}", num(x), num(lo), num(x), num(hi))
            } else {
                let mut d = String::new();
                for (k, (x, _, hi)) in bands.iter().enumerate() {
                    let _ = write!(
                        d,
                        "{}{} {} ",
                        if k == 0 { "M" } else { "L" },
                        num(*x),
                        num(*hi)
                    );
                }
                for (x, lo, _) in bands.iter().rev() {
                    let _ = write!(d, "L{} {} ", num(*x), num(*lo));
                }
                d.push('Z');
                d
            };
            let _ = writeln!(
                out,
                "<path class=\"band\" data-series=\"{name}\" d=\"{d}\" fill=\"{c}\" fill-opacity=\"0.18\" stroke=\"{c}\" stroke-opacity=\"0.3\"/>"
            );
        }
        let mut d = String::new();
        for run in runs(pts, |p| p.y.is_finite()) {
            for (k, p) in run.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{} {} ",
                    if k == 0 { "M" } else { "L" },
                    num(xs.map(p.x)),
                    num(ys.map(p.y))
                );
            }
        }
        if !d.is_empty() {
            let _ = writeln!(
                out,
                "<path class=\"series\" data-series=\"{name}\" d=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
                d.trim_end()
            );
        }
        for p in pts.iter().filter(|p| p.y.is_finite()) {
            let _ = writeln!(
                out,
                "<circle class=\"marker\" data-series=\"{name}\" cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{c}\"/>",
                num(xs.map(p.x)),
                num(ys.map(p.y))
            );
        }
        out.push_str("</g>\n");
    }

    // thresholds
    for (label, y) in &chart.thresholds {
        let py = ys.map(*y);
        let _ = writeln!(
            out,
            "<line class=\"threshold\" data-threshold=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#b91c1c\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
            escape(label),
            num(left),
            num(py),
            num(right),
            num(py)
        );
    }

    // legend
    out.push_str("<g class=\"legend\">\n");
    for (i, (name, pts)) in series.iter().enumerate() {
        let y = top + 10.0 + i as f64 * 20.0;
        let x = right + 20.0;
        let has_band = pts.iter().any(|p| band_of(p).is_some());
        let _ = writeln!(
            out,
            "<g class=\"legend-item\" data-series=\"{}\">",
            escape(name)
        );
        if has_band {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"24\" height=\"12\" fill=\"{}\" fill-opacity=\"0.18\"/>",
                num(x),
                num(y - 6.0),
                colour(i)
            );
        }
        let _ = writeln!(
            out,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"2\"/>",
            num(x),
            num(x + 24.0),
            colour(i),
            y = num(y)
        );
        let label = if has_band {
            format!("{name} (95% CI)")
        } else {
            (*name).to_string()
        };
        text(
            &mut out,
            x + 30.0,
            y + 4.0,
            "start",
            "legend-label",
            "",
            &label,
        );
        out.push_str("</g>\n");
    }
    for (k, (label, _)) in chart.thresholds.iter().enumerate() {
        let y = top + 10.0 + (series.len() + k) as f64 * 20.0;
        let x = right + 20.0;
        let _ = writeln!(
            out,
            "<g class=\"legend-item\" data-threshold=\"{}\">\n<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#b91c1c\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
            escape(label),
            num(x),
            num(x + 24.0),
            y = num(y)
        );
        text(
            &mut out,
            x + 30.0,
            y + 4.0,
            "start",
            "legend-label",
            "",
            label,
        );
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
    super::close(&mut out);
    out
}

/// Maximal runs of consecutive points satisfying `keep`.
fn runs(pts: &[LinePoint], keep: impl Fn(&LinePoint) -> bool) -> Vec<&[LinePoint]> {
    pts.split(|p| !keep(p)).filter(|r| !r.is_empty()).collect()
}

pub(crate) fn sane_size(v: f64, default: f64) -> f64 {
    if v.is_finite() && v >= 200.0 {
        v.min(20_000.0)
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{assert_well_formed, find, parse, texts};
    use super::*;

    fn chart() -> LineChart {
        LineChart::new(
            "chat: throughput vs max_tokens",
            Axis::new("max_tokens", "tokens"),
            Axis::new("throughput", "requests/min"),
        )
        .with_series(LineSeries::new(
            "throughput",
            vec![
                LinePoint::with_band(256.0, 10.0, 9.0, 11.0),
                LinePoint::with_band(512.0, 18.0, 16.5, 19.5),
                LinePoint::with_band(1024.0, 15.0, 14.0, 16.0),
            ],
        ))
        .with_series(LineSeries::new(
            "p99 <latency>",
            vec![LinePoint::new(256.0, 5.0), LinePoint::new(1024.0, 7.0)],
        ))
    }

    #[test]
    fn renders_series_bands_labels_and_legend() {
        let svg = chart().to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        assert_eq!(find(&doc, "series", Some("throughput")).len(), 1);
        assert_eq!(find(&doc, "band", Some("throughput")).len(), 1);
        assert_eq!(find(&doc, "marker", Some("throughput")).len(), 3);
        assert_eq!(find(&doc, "series", Some("p99 <latency>")).len(), 1);
        assert!(find(&doc, "band", Some("p99 <latency>")).is_empty());
        assert_eq!(find(&doc, "legend-item", None).len(), 2);
        let t = texts(&doc);
        for expected in [
            "chat: throughput vs max_tokens",
            "max_tokens (tokens)",
            "throughput (requests/min)",
            "throughput (95% CI)",
            "p99 <latency>",
        ] {
            assert!(
                t.iter().any(|s| s == expected),
                "missing {expected:?} in {t:?}"
            );
        }
        // y axis starts at zero and uses 1-2-5 ticks
        assert!(
            t.iter().any(|s| s == "0") && t.iter().any(|s| s == "20"),
            "{t:?}"
        );
        assert!(svg.contains("font-family=\"sans-serif\""));
        let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
        assert_eq!(title.text(), Some("chat: throughput vs max_tokens"));
    }

    #[test]
    fn points_are_drawn_in_x_order() {
        let c = LineChart::new("t", Axis::default(), Axis::default()).with_series(LineSeries::new(
            "s",
            vec![
                LinePoint::new(3.0, 1.0),
                LinePoint::new(1.0, 1.0),
                LinePoint::new(2.0, 1.0),
            ],
        ));
        let svg = c.to_svg();
        let doc = parse(&svg);
        let d = find(&doc, "series", Some("s"))[0]
            .attribute("d")
            .unwrap()
            .to_string();
        let xs: Vec<f64> = d
            .split(['M', 'L'])
            .filter_map(|s| s.split_whitespace().next()?.parse().ok())
            .collect();
        assert_eq!(xs.len(), 3);
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{d}");
    }

    #[test]
    fn non_finite_values_break_the_line_without_panicking() {
        let c = LineChart::new("t", Axis::new("x", "u"), Axis::new("y", "v")).with_series(
            LineSeries::new(
                "s",
                vec![
                    LinePoint::with_band(1.0, 1.0, f64::NAN, 2.0),
                    LinePoint::new(2.0, f64::NAN),
                    LinePoint::new(f64::INFINITY, 3.0),
                    LinePoint::with_band(3.0, 2.0, 1.0, f64::INFINITY),
                    LinePoint::new(4.0, 4.0),
                ],
            ),
        );
        let svg = c.to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        let d = find(&doc, "series", Some("s"))[0]
            .attribute("d")
            .unwrap()
            .to_string();
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert!(find(&doc, "band", None).is_empty());
        assert_eq!(find(&doc, "marker", Some("s")).len(), 3);
    }

    #[test]
    fn single_point_and_constant_series() {
        for pts in [
            vec![LinePoint::with_band(5.0, 5.0, 4.0, 6.0)],
            vec![LinePoint::new(1.0, 7.0), LinePoint::new(2.0, 7.0)],
            vec![LinePoint::new(0.0, 0.0)],
            vec![LinePoint::new(-1e300, 1e300), LinePoint::new(1e300, -1e300)],
        ] {
            let svg = LineChart::new("t", Axis::default(), Axis::default())
                .with_series(LineSeries::new("s", pts.clone()))
                .to_svg();
            assert_well_formed(&svg);
            assert_eq!(find(&parse(&svg), "series", Some("s")).len(), 1, "{pts:?}");
        }
    }

    #[test]
    fn empty_inputs_say_no_data() {
        let empty = LineChart::new("empty", Axis::default(), Axis::default());
        let nan = empty.clone().with_series(LineSeries::new(
            "s",
            vec![
                LinePoint::new(f64::NAN, f64::NAN),
                LinePoint::new(1.0, f64::INFINITY),
            ],
        ));
        let no_points = empty.clone().with_series(LineSeries::new("s", vec![]));
        for c in [empty, nan, no_points] {
            let svg = c.to_svg();
            assert_well_formed(&svg);
            let doc = parse(&svg);
            assert!(
                texts(&doc).iter().any(|t| t.starts_with("no data")),
                "{svg}"
            );
            assert!(find(&doc, "series", None).is_empty());
        }
    }

    #[test]
    fn log_x_axis_uses_the_data_values_as_ticks() {
        let mut c = LineChart::new("t", Axis::new("concurrency", ""), Axis::new("rpm", ""))
            .with_series(LineSeries::new(
                "s",
                [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
                    .iter()
                    .map(|&x| LinePoint::new(x, x))
                    .collect(),
            ));
        c.x_log = true;
        let svg = c.to_svg();
        assert_well_formed(&svg);
        let t = texts(&parse(&svg));
        for v in ["1", "2", "4", "64"] {
            assert!(t.iter().any(|s| s == v), "{v} in {t:?}");
        }
        // evenly spaced on a log axis
        let doc = parse(&svg);
        let cx: Vec<f64> = find(&doc, "marker", Some("s"))
            .iter()
            .filter_map(|n| n.attribute("cx")?.parse().ok())
            .collect();
        let gaps: Vec<f64> = cx.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (g - gaps[0]).abs() < 0.05), "{gaps:?}");
    }

    #[test]
    fn odd_sizes_fall_back_to_defaults() {
        let mut c = chart();
        c.width = f64::NAN;
        c.height = -5.0;
        let svg = c.to_svg();
        assert_well_formed(&svg);
        assert!(svg.contains("width=\"800\""));
    }
}
