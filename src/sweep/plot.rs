//! `sweep --plot FILE.svg`: with one varied key, a line chart of a metric's mean with its
//! 95% confidence band; with two, a heat map of the metric over the grid (first key on the
//! y axis, second on the x axis) with a cross on every point whose throttle rate is too high
//! (above the `throttle_rate` constraint when there is one, else above 1%).

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

/// Renders the chart of `metric` for `report`.
pub fn sweep_svg(report: &SweepReport, metric: &str) -> Result<String, Error> {
    check_plot(report.axes.len(), metric)?;
    let unit = metric_def(metric).map_or("", |(_, d)| d.unit);
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
                    Some(match m.ci95_half_width {
                        Some(h) => LinePoint::with_band(x, y, y - h, y + h),
                        None => LinePoint::new(x, y),
                    })
                })
                .collect();
            let mut chart = LineChart::new(
                format!("{}: {metric} by {}", report.scenario, axis.path),
                Axis::new(x_label, ""),
                Axis::new(metric, unit),
            )
            .with_series(LineSeries::new(metric, points));
            chart.x_log = geometric(&xs);
            Ok(chart.to_svg())
        }
        [y_axis, x_axis] => {
            let (ny, nx) = (y_axis.values.len(), x_axis.values.len());
            let mut values = vec![vec![None; nx]; ny];
            let mut marks = vec![vec![false; nx]; ny];
            let throttle_constraint = report
                .constraints
                .iter()
                .find(|c| c.metric == "throttle_rate");
            let marker_label = match throttle_constraint {
                Some(c) => format!("violates {c}"),
                None => format!("throttle_rate > {DEFAULT_THROTTLE_MARK}"),
            };
            for (r, (row, mark_row)) in values.iter_mut().zip(marks.iter_mut()).enumerate() {
                for (c, (cell, mark)) in row.iter_mut().zip(mark_row.iter_mut()).enumerate() {
                    let Some(p) = by_index.get(&(r * nx + c)) else {
                        continue;
                    };
                    *cell = p.metric(metric).and_then(|m| m.mean);
                    let throttle = p.metric("throttle_rate").and_then(|m| m.mean);
                    *mark = match (throttle, throttle_constraint) {
                        (Some(t), Some(con)) => !con.op.holds(t, con.value),
                        (Some(t), None) => t > DEFAULT_THROTTLE_MARK,
                        (None, _) => false,
                    };
                }
            }
            let map = Heatmap::new(
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
