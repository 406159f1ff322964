//! `sweep --plot FILE.svg`: with one varied key, a line chart of a metric's mean with its
//! 95% confidence band and the bound of every constraint on it; with two, a heat map of the
//! metric over the grid (first key on the y axis, second on the x axis). On the heat map a
//! cross marks every point that fails a constraint, its corner says which ones (by number,
//! listed in the legend), and a black frame rings the recommended point; without
//! constraints the crosses mark a throttle rate above 1%. Rates are drawn in percent, as
//! the tables print them; the bright end of the colour ramp is the metric's better end;
//! the colour scale is logarithmic when the values span a decade or more.

use std::collections::HashMap;

use crate::error::{Diagnostic, Error, nearest};
use crate::plot::Axis;
use crate::plot::heatmap::Heatmap;
use crate::plot::line::{LineChart, LinePoint, LineSeries};
use crate::sweep::SweepReport;
use crate::sweep::metrics::{METRICS, metric_def};

/// The default `--plot-metric`.
pub const DEFAULT_PLOT_METRIC: &str = "throughput.requests_per_minute";

/// The throttle rate above which a heat-map cell is marked when no constraint says otherwise.
pub const DEFAULT_THROTTLE_MARK: f64 = 0.01;

/// Checks, before a sweep runs, that it can be plotted: one or two varied keys and a known
/// metric.
pub fn check_plot(axes: usize, metric: &str) -> Result<(), Error> {
    if metric_def(metric).is_none() {
        let hint = nearest(metric, METRICS.iter().map(|m| m.path))
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
        return Err(Diagnostic::flag(
            format!("--plot-metric {metric}"),
            format!(
                "unknown metric{hint}; expected one of {}",
                METRICS
                    .iter()
                    .map(|m| m.path)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into());
    }
    if !(1..=2).contains(&axes) {
        return Err(Diagnostic::flag(
            "--plot",
            format!(
                "the sweep varies {axes} key{}; a chart needs one (line chart) or two (heat map)",
                if axes == 1 { "" } else { "s" }
            ),
        )
        .into());
    }
    Ok(())
}

/// Whether `path` is a rate (a share between 0 and 1) that tables print in percent.
pub fn is_rate(path: &str) -> bool {
    !(path.contains("latency_ms")
        || path.contains("throughput")
        || path.contains("cost.")
        || path.starts_with("cost"))
}

/// How a chart shows `path`: the factor its values are multiplied by and the unit, so that
/// rates read in percent as in the tables.
pub fn display_scale(path: &str) -> (f64, String) {
    if is_rate(path) {
        let what = metric_def(path).map_or("", |(_, d)| d.unit);
        if what.is_empty() {
            (100.0, "%".into())
        } else {
            (100.0, format!("% of {what}"))
        }
    } else {
        (
            1.0,
            metric_def(path).map_or("", |(_, d)| d.unit).to_string(),
        )
    }
}

/// Renders the chart of `metric` for `report`.
pub fn sweep_svg(report: &SweepReport, metric: &str) -> Result<String, Error> {
    check_plot(report.axes.len(), metric)?;
    let (scale, unit) = display_scale(metric);
    let rate = is_rate(metric);
    let by_index: HashMap<usize, &crate::sweep::PointResult> =
        report.points.iter().map(|p| (p.index, p)).collect();
    match report.axes.as_slice() {
        [axis] => {
            let numeric: Option<Vec<f64>> = axis
                .values
                .iter()
                .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
                .collect();
            let (xs, x_label) = match numeric {
                Some(xs) => (xs, axis.path.clone()),
                None => (
                    (0..axis.values.len()).map(|i| i as f64).collect(),
                    format!("{} (position in {})", axis.path, axis.values.join(", ")),
                ),
            };
            let points: Vec<LinePoint> = xs
                .iter()
                .enumerate()
                .filter_map(|(i, &x)| {
                    let m = by_index.get(&i)?.metric(metric)?;
                    let y = m.mean.unwrap_or(f64::NAN);
                    // Every key metric is non-negative and a rate is at most 1: the band
                    // of the mean is cut there rather than drawn below zero.
                    let top = if rate { 1.0 } else { f64::INFINITY };
                    Some(match m.ci95_half_width {
                        Some(h) => LinePoint::with_band(
                            x,
                            y * scale,
                            (y - h).max(0.0) * scale,
                            (y + h).min(top) * scale,
                        ),
                        None => LinePoint::new(x, y * scale),
                    })
                })
                .collect();
            let mut chart = LineChart::new(
                format!("{}: {metric} by {}", report.scenario, axis.path),
                Axis::new(x_label, ""),
                Axis::new(metric, unit),
            )
            .with_series(LineSeries::new(metric, points));
            for c in report.constraints.iter().filter(|c| c.metric == metric) {
                chart = chart.with_threshold(format!("constraint {c}"), c.value * scale);
            }
            chart.x_log = geometric(&xs);
            Ok(chart.to_svg())
        }
        [y_axis, x_axis] => {
            let (ny, nx) = (y_axis.values.len(), x_axis.values.len());
            let mut values = vec![vec![None; nx]; ny];
            let mut marks = vec![vec![false; nx]; ny];
            let mut notes = vec![vec![String::new(); nx]; ny];
            // With constraints, a cross marks every point that fails one, and its corner
            // names which (by number); without, the points throttled above 1%.
            let constrained = !report.constraints.is_empty();
            let marker_label = if constrained {
                "fails a constraint (numbered in the corner)".to_string()
            } else {
                format!("throttle_rate > {DEFAULT_THROTTLE_MARK}")
            };
            for (r, ((row, mark_row), note_row)) in values
                .iter_mut()
                .zip(marks.iter_mut())
                .zip(notes.iter_mut())
                .enumerate()
            {
                for (c, ((cell, mark), note)) in row
                    .iter_mut()
                    .zip(mark_row.iter_mut())
                    .zip(note_row.iter_mut())
                    .enumerate()
                {
                    let Some(p) = by_index.get(&(r * nx + c)) else {
                        continue;
                    };
                    *cell = p.metric(metric).and_then(|m| m.mean).map(|v| v * scale);
                    if constrained {
                        let means = p.means();
                        let failed: Vec<String> = report
                            .constraints
                            .iter()
                            .enumerate()
                            .filter(|(_, con)| !con.evaluate(&means).is_ok_and(|o| o.passed))
                            .map(|(i, _)| (i + 1).to_string())
                            .collect();
                        *mark = !failed.is_empty();
                        if *mark {
                            *note = format!("✗{}", failed.join(","));
                        }
                    } else {
                        let throttle = p.metric("throttle_rate").and_then(|m| m.mean);
                        *mark = throttle.is_some_and(|t| t > DEFAULT_THROTTLE_MARK);
                    }
                }
            }
            let mut map = Heatmap::new(
                format!(
                    "{}: {metric} by {} and {}",
                    report.scenario, y_axis.path, x_axis.path
                ),
                Axis::new(x_axis.path.clone(), ""),
                Axis::new(y_axis.path.clone(), ""),
                Axis::new(metric, unit),
                x_axis.values.clone(),
                y_axis.values.clone(),
                values,
            )
            .with_markers(marker_label, marks);
            map.lower_is_better = metric_def(metric)
                .is_some_and(|(_, d)| d.better == crate::metrics::registry::Better::Lower);
            if constrained {
                let legend = report
                    .constraints
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("✗{}: fails {c}", i + 1))
                    .collect();
                map = map.with_notes(notes, legend);
            }
            let best = crate::sweep::recommend::recommend(report)
                .and_then(|rec| rec.best)
                .and_then(|pos| report.points.get(pos))
                .map(|p| p.index);
            if let Some(i) = best {
                map = map.with_highlight(i / nx, i % nx, "recommended point");
            }
            Ok(map.to_svg())
        }
        _ => Err(Error::Usage(
            "--plot: a chart needs one or two varied keys".into(),
        )),
    }
}

/// Whether positive `xs` grow by a constant factor of at least 2 (a `1..64:x2` range), which
/// reads better on a logarithmic axis.
fn geometric(xs: &[f64]) -> bool {
    if xs.len() < 3 || xs.iter().any(|&x| x <= 0.0) {
        return false;
    }
    let ratios: Vec<f64> = xs
        .windows(2)
        .map(|w| w.get(1).zip(w.first()).map_or(0.0, |(b, a)| b / a))
        .collect();
    let first = ratios.first().copied().unwrap_or(0.0);
    first >= 2.0 && ratios.iter().all(|r| (r - first).abs() < 1e-9 * first)
}
