//! Heat map of a metric over two categorical axes, e.g. throughput over max_tokens ×
//! concurrency, with an optional boolean marker per cell (e.g. throttle rate above 1%).
//!
//! `values[row][col]` is the cell for `y_values[row]` and `x_values[col]`; the first y value
//! is drawn at the bottom. Elements: `<g class="series" data-series=METRIC>` holding one
//! `<rect class="cell" data-x=… data-y=…>` and one `<text class="cell-value">` per cell;
//! `<path class="marker" data-series=MARKER_LABEL>` crosses; `<g class="colour-scale">`.
//! Rows or columns missing from the matrices are drawn as empty ("n/a") cells.

use std::fmt::Write as _;

use super::{Axis, escape, format_tick, format_value, nice_ticks, no_data, num, text};

/// A heat map; build with [`Heatmap::new`] and render with [`Heatmap::to_svg`].
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Chart title.
    pub title: String,
    /// Horizontal axis.
    pub x_axis: Axis,
    /// Vertical axis.
    pub y_axis: Axis,
    /// The metric coloured (its label names the series and titles the colour scale).
    pub metric: Axis,
    /// Column labels.
    pub x_values: Vec<String>,
    /// Row labels.
    pub y_values: Vec<String>,
    /// `values[row][col]`, row indexing `y_values`, column indexing `x_values`.
    pub values: Vec<Vec<Option<f64>>>,
    /// Optional `markers[row][col]`: cells drawn with a cross.
    pub markers: Option<Vec<Vec<bool>>>,
    /// What a marker means, for the legend, e.g. `throttle rate > 1%`.
    pub marker_label: String,
    /// Optional `notes[row][col]`: a short text in the cell's top-left corner (which
    /// constraints the point fails, by number).
    pub notes: Option<Vec<Vec<String>>>,
    /// Extra legend lines under the marker's (what the note numbers mean).
    pub legend_lines: Vec<String>,
    /// The cell `(row, col)` to ring (the recommended point), with its legend label.
    pub highlight: Option<(usize, usize, String)>,
    /// Whether lower values are better: the colour ramp is reversed so that the bright end
    /// is always the better one.
    pub lower_is_better: bool,
    /// Colour on a logarithmic scale: used when every value is positive and the largest is
    /// at least 10 times the smallest (so that 5 s and 458 s are not one colour).
    pub log_when_spanning_decades: bool,
}

impl Heatmap {
    /// A heat map of `values[row][column]`.
    pub fn new(
        title: impl Into<String>,
        x_axis: Axis,
        y_axis: Axis,
        metric: Axis,
        x_values: Vec<String>,
        y_values: Vec<String>,
        values: Vec<Vec<Option<f64>>>,
    ) -> Heatmap {
        Heatmap {
            title: title.into(),
            x_axis,
            y_axis,
            metric,
            x_values,
            y_values,
            values,
            markers: None,
            marker_label: String::new(),
            notes: None,
            legend_lines: Vec::new(),
            highlight: None,
            lower_is_better: false,
            log_when_spanning_decades: true,
        }
    }

    /// Writes `notes[row][column]` in the cells' corners and `legend` under the legend.
    pub fn with_notes(mut self, notes: Vec<Vec<String>>, legend: Vec<String>) -> Heatmap {
        self.notes = Some(notes);
        self.legend_lines = legend;
        self
    }

    /// Rings the cell `(row, column)`, labelled `label` in the legend.
    pub fn with_highlight(mut self, row: usize, col: usize, label: impl Into<String>) -> Heatmap {
        self.highlight = Some((row, col, label.into()));
        self
    }

    /// Whether the colour scale is logarithmic for these values.
    pub fn log_scale(&self) -> bool {
        if !self.log_when_spanning_decades {
            return false;
        }
        let vals: Vec<f64> = self
            .values
            .iter()
            .flatten()
            .filter_map(|v| v.filter(|x| x.is_finite()))
            .collect();
        let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        !vals.is_empty() && min > 0.0 && max >= 10.0 * min
    }

    /// Marks the cells where `markers[row][column]` is set, with a legend label.
    pub fn with_markers(mut self, label: impl Into<String>, markers: Vec<Vec<bool>>) -> Heatmap {
        self.marker_label = label.into();
        self.markers = Some(markers);
        self
    }

    /// Renders the SVG.
    pub fn to_svg(&self) -> String {
        heatmap(self)
    }

    fn value(&self, row: usize, col: usize) -> Option<f64> {
        self.values
            .get(row)
            .and_then(|r| r.get(col))
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
    }

    fn marked(&self, row: usize, col: usize) -> bool {
        self.markers
            .as_ref()
            .and_then(|m| m.get(row))
            .and_then(|r| r.get(col))
            .copied()
            .unwrap_or(false)
    }
}

/// Above this many cells a heat map writes no value or note into the cells (they would be
/// too small to read; each cell's tooltip still has them), which keeps a 1,000-point
/// sweep's page small.
pub const COMPACT_CELLS: usize = 200;

/// Viridis, sampled at five stops.
const VIRIDIS: [(f64, f64, f64); 5] = [
    (68.0, 1.0, 84.0),
    (59.0, 82.0, 139.0),
    (33.0, 145.0, 140.0),
    (94.0, 201.0, 98.0),
    (253.0, 231.0, 37.0),
];

/// The colour for `t` in `[0, 1]` (clamped; NaN is the low end), and whether it is dark.
/// `labels[i]`, or "" out of range (the loops stay within the axes, so never in practice).
fn label_at(labels: &[String], i: usize) -> &str {
    labels.get(i).map_or("", String::as_str)
}

fn ramp(t: f64) -> (String, bool) {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = match (VIRIDIS.get(i), VIRIDIS.get(i + 1)) {
        (Some(a), Some(b)) => (*a, *b),
        _ => return ("#eeeeee".to_string(), false),
    };
    let mix = |x: f64, y: f64| (x + (y - x) * f).round().clamp(0.0, 255.0) as u8;
    let (r, g, bl) = (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2));
    let luminance = 0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(bl);
    (format!("#{r:02x}{g:02x}{bl:02x}"), luminance < 128.0)
}

/// Renders `map` as an SVG document.
pub fn heatmap(map: &Heatmap) -> String {
    let (nx, ny) = (map.x_values.len(), map.y_values.len());
    let finite: Vec<f64> = (0..ny)
        .flat_map(|r| (0..nx).map(move |c| (r, c)))
        .filter_map(|(r, c)| map.value(r, c))
        .collect();
    if nx == 0 || ny == 0 || finite.is_empty() {
        let why = if nx == 0 || ny == 0 {
            "no grid points"
        } else {
            "no finite values"
        };
        return no_data(800.0, 480.0, &map.title, why);
    }
    let vmin = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let vmax = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log = map.log_scale();
    // Position on the colour bar, 0 at vmin and 1 at vmax (logarithmic when `log`).
    let t_of = |v: f64| {
        if vmax > vmin {
            if log {
                (v.max(vmin).ln() - vmin.ln()) / (vmax.ln() - vmin.ln())
            } else {
                (v - vmin) / (vmax - vmin)
            }
        } else {
            0.5
        }
    };
    // The ramp's bright end is the better one.
    let colour_of = |t: f64| {
        if map.lower_is_better {
            ramp(1.0 - t)
        } else {
            ramp(t)
        }
    };

    let cell_w = (640.0 / nx as f64).clamp(44.0, 96.0);
    let cell_h = (360.0 / ny as f64).clamp(26.0, 64.0);
    let longest_x = map
        .x_values
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let longest_y = map
        .y_values
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let rotate_x = longest_x * 7.0 > cell_w - 4.0;
    let left = 60.0 + (longest_y * 7.0).min(160.0);
    let top = 48.0;
    let grid_w = cell_w * nx as f64;
    let grid_h = cell_h * ny as f64;
    let x_label_space = if rotate_x {
        (longest_x * 5.5).min(140.0) + 20.0
    } else {
        24.0
    };
    let bottom = top + grid_h;
    let scale_x = left + grid_w + 30.0;
    let legend_w = [
        map.metric.title().chars().count(),
        map.marker_label.chars().count() + 4,
    ]
    .into_iter()
    .chain(map.legend_lines.iter().map(|l| l.chars().count()))
    .chain(map.highlight.iter().map(|h| h.2.chars().count() + 4))
    .max()
    .unwrap_or(0) as f64
        * 7.0;
    let w = scale_x + legend_w.clamp(110.0, 400.0) + 20.0;
    let legend_rows = map.legend_lines.len() + usize::from(map.highlight.is_some()) + 2;
    let h = (bottom + x_label_space + 40.0)
        .max(top + 260.0)
        .max(top + 16.0 + grid_h.clamp(120.0, 300.0) + 40.0 + 18.0 * legend_rows as f64);

    let mut out = String::new();
    super::open(&mut out, w, h, &map.title);
    let metric = escape(&map.metric.title());
    let font = (cell_h * 0.4).min(cell_w / 5.0).clamp(7.0, 12.0);

    let compact = nx * ny > COMPACT_CELLS;
    let note_at = |row: usize, col: usize| -> &str {
        map.notes
            .as_ref()
            .and_then(|n| n.get(row))
            .and_then(|r| r.get(col))
            .map_or("", String::as_str)
    };
    // cell values are written after the markers, so that crosses do not hide them
    let mut labels = String::from("<g class=\"cell-values\">\n");
    let _ = writeln!(
        out,
        "<g class=\"series\" data-series=\"{}\" stroke=\"#ffffff\">",
        escape(&map.metric.label)
    );
    for row in 0..ny {
        let y = bottom - (row + 1) as f64 * cell_h;
        for col in 0..nx {
            let x = left + col as f64 * cell_w;
            let v = map.value(row, col);
            let (fill, dark) = match v {
                Some(v) => colour_of(t_of(v)),
                None => ("#eeeeee".to_string(), false),
            };
            let class = if v.is_some() { "cell" } else { "cell missing" };
            let data_value = v
                .map(|v| format!(" data-value=\"{v}\""))
                .unwrap_or_default();
            let note = note_at(row, col);
            let note = if note.is_empty() {
                String::new()
            } else {
                format!(" {}", escape(note))
            };
            let _ = writeln!(
                out,
                "<rect class=\"{class}\" data-x=\"{}\" data-y=\"{}\"{data_value} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{} = {}, {} = {}: {}{note}</title></rect>",
                escape(label_at(&map.x_values, col)),
                escape(label_at(&map.y_values, row)),
                num(x),
                num(y),
                num(cell_w),
                num(cell_h),
                escape(&map.x_axis.label),
                escape(label_at(&map.x_values, col)),
                escape(&map.y_axis.label),
                escape(label_at(&map.y_values, row)),
                v.map(format_value).unwrap_or_else(|| "n/a".into()),
            );
            if compact {
                continue;
            }
            let label = v.map(format_value).unwrap_or_else(|| "n/a".into());
            let colour = if dark { "#ffffff" } else { "#222222" };
            text(
                &mut labels,
                x + cell_w / 2.0,
                y + cell_h / 2.0 + font * 0.35,
                "middle",
                "cell-value",
                &format!(
                    "font-size=\"{}\" fill=\"{colour}\" stroke=\"{fill}\" stroke-width=\"3\" paint-order=\"stroke\"",
                    num(font)
                ),
                &label,
            );
        }
    }
    out.push_str("</g>\n");

    // markers
    let marker_series = if map.marker_label.is_empty() {
        "marker".to_string()
    } else {
        escape(&map.marker_label)
    };
    if map.markers.is_some() {
        let _ = writeln!(
            out,
            "<g class=\"markers\" data-series=\"{marker_series}\" stroke=\"#d62728\" stroke-width=\"1.5\" stroke-opacity=\"0.8\" fill=\"none\">"
        );
        for row in 0..ny {
            for col in (0..nx).filter(|&c| map.marked(row, c)) {
                let x = left + col as f64 * cell_w;
                let y = bottom - (row + 1) as f64 * cell_h;
                let (x0, x1, y0, y1) = (x + 4.0, x + cell_w - 4.0, y + 4.0, y + cell_h - 4.0);
                let _ = writeln!(
                    out,
                    "<path class=\"marker\" data-series=\"{marker_series}\" data-x=\"{}\" data-y=\"{}\" d=\"M{} {}L{} {}M{} {}L{} {}\"/>",
                    escape(label_at(&map.x_values, col)),
                    escape(label_at(&map.y_values, row)),
                    num(x0),
                    num(y0),
                    num(x1),
                    num(y1),
                    num(x0),
                    num(y1),
                    num(x1),
                    num(y0)
                );
            }
        }
        out.push_str("</g>\n");
    }

    if let Some(notes) = map.notes.as_ref().filter(|_| !compact) {
        labels.push_str("<g class=\"notes\">\n");
        for (row, r) in notes.iter().enumerate().take(ny) {
            for (col, note) in r.iter().enumerate().take(nx) {
                if note.is_empty() {
                    continue;
                }
                let x = left + col as f64 * cell_w;
                let y = bottom - (row + 1) as f64 * cell_h;
                text(
                    &mut labels,
                    x + 3.0,
                    y + 9.0,
                    "start",
                    "note",
                    "font-size=\"8\" fill=\"#b91c1c\" stroke=\"#ffffff\" stroke-width=\"2\" paint-order=\"stroke\"",
                    note,
                );
            }
        }
        labels.push_str("</g>\n");
    }
    if let Some((row, col, _)) = &map.highlight
        && *row < ny
        && *col < nx
    {
        let x = left + *col as f64 * cell_w;
        let y = bottom - (*row + 1) as f64 * cell_h;
        let _ = writeln!(
            out,
            "<rect class=\"highlight\" data-x=\"{}\" data-y=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#000000\" stroke-width=\"3\"/>",
            escape(label_at(&map.x_values, *col)),
            escape(label_at(&map.y_values, *row)),
            num(x + 1.5),
            num(y + 1.5),
            num(cell_w - 3.0),
            num(cell_h - 3.0)
        );
    }

    labels.push_str("</g>\n");
    out.push_str(&labels);

    // axes: category labels
    out.push_str("<g class=\"axis x-axis\">\n");
    for (col, label) in map.x_values.iter().enumerate() {
        let x = left + (col as f64 + 0.5) * cell_w;
        let y = bottom + 16.0;
        if rotate_x {
            text(
                &mut out,
                x,
                y,
                "end",
                "tick-label",
                &format!("transform=\"rotate(-40 {} {})\"", num(x), num(y)),
                label,
            );
        } else {
            text(&mut out, x, y, "middle", "tick-label", "", label);
        }
    }
    out.push_str("</g>\n<g class=\"axis y-axis\">\n");
    for (row, label) in map.y_values.iter().enumerate() {
        let y = bottom - (row as f64 + 0.5) * cell_h + 4.0;
        text(&mut out, left - 6.0, y, "end", "tick-label", "", label);
    }
    out.push_str("</g>\n");
    text(
        &mut out,
        left + grid_w / 2.0,
        bottom + x_label_space + 12.0,
        "middle",
        "axis-label x-label",
        "",
        &map.x_axis.title(),
    );
    let (lx, ly) = (18.0, top + grid_h / 2.0);
    text(
        &mut out,
        lx,
        ly,
        "middle",
        "axis-label y-label",
        &format!("transform=\"rotate(-90 {} {})\"", num(lx), num(ly)),
        &map.y_axis.title(),
    );

    // colour scale
    let bar_h = grid_h.clamp(120.0, 300.0);
    let (bar_top, bar_bottom) = (top + 16.0, top + 16.0 + bar_h);
    out.push_str("<g class=\"colour-scale\">\n<defs><linearGradient id=\"heatmap-ramp\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n");
    for i in 0..=10 {
        let t = f64::from(i) / 10.0;
        let _ = writeln!(
            out,
            "<stop offset=\"{}\" stop-color=\"{}\"/>",
            num(t),
            colour_of(t).0
        );
    }
    out.push_str("</linearGradient></defs>\n");
    text(
        &mut out,
        scale_x,
        top + 4.0,
        "start",
        "legend-title",
        "",
        &map.metric.title(),
    );
    let _ = writeln!(
        out,
        "<rect class=\"colour-bar\" x=\"{}\" y=\"{}\" width=\"16\" height=\"{}\" fill=\"url(#heatmap-ramp)\" stroke=\"#999999\"/>",
        num(scale_x),
        num(bar_top),
        num(bar_h)
    );
    let ticks = nice_ticks(vmin, vmax, 5);
    let mut labels: Vec<(f64, String)> = if log {
        // 1, 2, 5 × the powers of ten inside the range
        let (e0, e1) = (vmin.log10().floor() as i32, vmax.log10().ceil() as i32);
        (e0..=e1)
            .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
            .filter(|v| *v >= vmin * (1.0 - 1e-12) && *v <= vmax * (1.0 + 1e-12))
            .map(|v| (v, format_value(v)))
            .collect()
    } else {
        ticks
            .values
            .iter()
            .filter(|v| **v >= vmin - 1e-12 * vmin.abs() && **v <= vmax + 1e-12 * vmax.abs())
            .map(|&v| (v, format_tick(v, ticks.step)))
            .collect()
    };
    if labels.len() < 2 {
        labels = if vmax > vmin {
            vec![(vmin, format_value(vmin)), (vmax, format_value(vmax))]
        } else {
            vec![(vmin, format_value(vmin))]
        };
    }
    for (v, label) in labels {
        let y = bar_bottom - t_of(v) * bar_h;
        let _ = writeln!(
            out,
            "<line class=\"tick\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#333333\"/>",
            num(scale_x + 16.0),
            num(scale_x + 20.0),
            y = num(y)
        );
        text(
            &mut out,
            scale_x + 24.0,
            y + 4.0,
            "start",
            "tick-label",
            "",
            &label,
        );
    }
    let _ = writeln!(out, "<desc>{metric}</desc>");
    out.push_str("</g>\n");
    if map.markers.is_some() {
        let y = bar_bottom + 30.0;
        let _ = writeln!(
            out,
            "<g class=\"legend-item\" data-series=\"{marker_series}\"><path d=\"M{} {} L{} {} M{} {} L{} {}\" stroke=\"#d62728\" stroke-width=\"1.5\"/></g>",
            num(scale_x),
            num(y - 6.0),
            num(scale_x + 12.0),
            num(y + 6.0),
            num(scale_x),
            num(y + 6.0),
            num(scale_x + 12.0),
            num(y - 6.0)
        );
        let label = if map.marker_label.is_empty() {
            "marked"
        } else {
            map.marker_label.as_str()
        };
        text(
            &mut out,
            scale_x + 18.0,
            y + 4.0,
            "start",
            "legend-label",
            "",
            label,
        );
    }
    let mut y = bar_bottom + 30.0 + if map.markers.is_some() { 18.0 } else { 0.0 };
    if let Some((_, _, label)) = &map.highlight {
        let _ = writeln!(
            out,
            "<rect class=\"legend-item highlight-key\" x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"none\" stroke=\"#000000\" stroke-width=\"2.5\"/>",
            num(scale_x),
            num(y - 6.0)
        );
        text(
            &mut out,
            scale_x + 18.0,
            y + 4.0,
            "start",
            "legend-label",
            "",
            label,
        );
        y += 18.0;
    }
    for line in &map.legend_lines {
        text(
            &mut out,
            scale_x,
            y + 4.0,
            "start",
            "legend-label",
            "",
            line,
        );
        y += 18.0;
    }
    if map.lower_is_better || log {
        let note = match (map.lower_is_better, log) {
            (true, true) => "log colour scale; lower is better (brighter)",
            (true, false) => "lower is better (brighter)",
            _ => "log colour scale",
        };
        text(
            &mut out,
            scale_x,
            y + 4.0,
            "start",
            "legend-label scale-note",
            "",
            note,
        );
    }
    super::close(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{assert_well_formed, find, parse, texts};
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn sample() -> Heatmap {
        Heatmap::new(
            "chat: throughput",
            Axis::new("max_tokens", "tokens"),
            Axis::new("concurrency", "requests"),
            Axis::new("throughput", "requests/min"),
            strings(&["256", "512", "1024"]),
            strings(&["1", "2"]),
            vec![
                vec![Some(10.0), Some(12.5), Some(9.0)],
                vec![Some(20.0), None, Some(0.0123)],
            ],
        )
        .with_markers(
            "throttle rate > 1%",
            vec![vec![false, false, true], vec![false, true, true]],
        )
    }

    #[test]
    fn renders_cells_values_markers_and_scale() {
        let svg = sample().to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        assert_eq!(find(&doc, "series", Some("throughput")).len(), 1);
        let cells = find(&doc, "cell", None);
        assert_eq!(cells.len(), 6);
        assert_eq!(find(&doc, "missing", None).len(), 1);
        assert_eq!(find(&doc, "marker", Some("throttle rate &gt; 1%")).len(), 0);
        assert_eq!(find(&doc, "marker", Some("throttle rate > 1%")).len(), 3);
        let values: Vec<String> = find(&doc, "cell-value", None)
            .iter()
            .map(|n| n.text().unwrap_or("").to_string())
            .collect();
        assert_eq!(values, ["10", "12.5", "9", "20", "n/a", "0.0123"]);
        let t = texts(&doc);
        for expected in [
            "chat: throughput",
            "max_tokens (tokens)",
            "concurrency (requests)",
            "throughput (requests/min)",
            "throttle rate > 1%",
            "256",
            "1024",
        ] {
            assert!(
                t.iter().any(|s| s == expected),
                "missing {expected:?} in {t:?}"
            );
        }
        assert_eq!(find(&doc, "colour-bar", None).len(), 1);
        // the first y value is the bottom row
        let y_of = |x: &str, y: &str| -> f64 {
            cells
                .iter()
                .find(|n| n.attribute("data-x") == Some(x) && n.attribute("data-y") == Some(y))
                .and_then(|n| n.attribute("y")?.parse().ok())
                .unwrap()
        };
        assert!(y_of("256", "1") > y_of("256", "2"));
        // highest value is the brightest (last viridis stop)
        let fill_of = |x: &str, y: &str| {
            cells
                .iter()
                .find(|n| n.attribute("data-x") == Some(x) && n.attribute("data-y") == Some(y))
                .and_then(|n| n.attribute("fill"))
                .unwrap()
                .to_string()
        };
        assert_eq!(fill_of("256", "2"), "#fde725");
        assert_eq!(fill_of("1024", "2"), "#440154");
    }

    #[test]
    fn ragged_and_non_finite_matrices_do_not_panic() {
        let mut m = sample();
        m.values = vec![
            vec![Some(f64::NAN), Some(f64::INFINITY)],
            vec![Some(1.0)],
            vec![],
        ];
        m.markers = Some(vec![vec![true]]);
        let svg = m.to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        assert_eq!(find(&doc, "cell", None).len(), 6);
        assert_eq!(find(&doc, "missing", None).len(), 5);
        assert_eq!(find(&doc, "marker", None).len(), 1);
    }

    #[test]
    fn constant_values_and_escaping() {
        let m = Heatmap::new(
            "a <b> & \"c\"",
            Axis::new("kind", ""),
            Axis::new("y", ""),
            Axis::new("m", ""),
            strings(&["token-bucket", "fixed-window <x>"]),
            strings(&["only"]),
            vec![vec![Some(5.0), Some(5.0)]],
        );
        let svg = m.to_svg();
        assert_well_formed(&svg);
        let doc = parse(&svg);
        let t = texts(&doc);
        assert!(t.iter().any(|s| s == "fixed-window <x>"));
        assert!(t.iter().any(|s| s == "a <b> & \"c\""));
        assert!(find(&doc, "markers", None).is_empty());
    }

    #[test]
    fn empty_inputs_say_no_data() {
        let base = sample();
        let mut no_x = base.clone();
        no_x.x_values.clear();
        let mut no_y = base.clone();
        no_y.y_values.clear();
        let mut all_none = base.clone();
        all_none.values = vec![vec![None; 3]; 2];
        let mut all_nan = base;
        all_nan.values = vec![vec![Some(f64::NAN); 3]; 2];
        for m in [no_x, no_y, all_none, all_nan] {
            let svg = m.to_svg();
            assert_well_formed(&svg);
            let doc = parse(&svg);
            assert!(
                texts(&doc).iter().any(|t| t.starts_with("no data")),
                "{svg}"
            );
            assert!(find(&doc, "cell", None).is_empty());
        }
    }

    #[test]
    fn large_grids_stay_valid() {
        let xs: Vec<String> = (0..40).map(|i| format!("{}", 1 << (i % 20))).collect();
        let ys: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let values = (0..30)
            .map(|r| (0..40).map(|c| Some((r * c) as f64 * 1e5)).collect())
            .collect();
        let m = Heatmap::new(
            "big",
            Axis::default(),
            Axis::default(),
            Axis::new("v", "u"),
            xs,
            ys,
            values,
        );
        let svg = m.to_svg();
        assert_well_formed(&svg);
        assert_eq!(find(&parse(&svg), "cell", None).len(), 1200);
    }

    #[test]
    fn colour_ramp_ends() {
        assert_eq!(ramp(0.0), ("#440154".to_string(), true));
        assert_eq!(ramp(1.0), ("#fde725".to_string(), false));
        assert_eq!(ramp(f64::NAN).0, "#440154");
        assert_eq!(ramp(7.0).0, "#fde725");
    }
}
