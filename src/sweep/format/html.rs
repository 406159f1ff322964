//! `sweep --html FILE` (and `merge --html`): the sweep as one self-contained HTML page (see
//! [`crate::report::html`]): a summary, the recommendation and why, the constraints with
//! how many points pass each, a chart of every metric the sweep was asked about, and every
//! point with its pass/fail mark.

use crate::report::html::{FAIL, PASS, Page, mark};
use crate::sweep::SweepReport;
use crate::sweep::format::table::format_metric;
use crate::sweep::metrics::{METRICS, metric_def};
use crate::sweep::plot::sweep_svg;
use crate::sweep::recommend::recommend;

/// The metrics charted: `plot_metric`, the objective's, each constraint's, then (on grids
/// of at most [`EXTRA_CHARTS_UP_TO`] points) the throttle and failure rates and the p99
/// latency, once each, keeping those a chart can draw.
fn chart_metrics(report: &SweepReport, plot_metric: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |m: &str| {
        if metric_def(m).is_some() && !out.iter().any(|o| o == m) {
            out.push(m.to_string());
        }
    };
    push(plot_metric);
    if let Some(o) = &report.objective {
        push(&o.metric);
    }
    for c in &report.constraints {
        push(&c.metric);
    }
    if report.points.len() <= EXTRA_CHARTS_UP_TO {
        for m in ["throttle_rate", "failure_rate", "latency_ms.e2e.p99"] {
            push(m);
        }
    }
    out
}

/// Up to this many points the page also charts the throttle and failure rates and the p99
/// latency when nothing asked for them (a larger grid charts what was asked for only).
pub const EXTRA_CHARTS_UP_TO: usize = 200;

/// The page of `report`; `plot_metric` is charted first.
pub fn render_html(report: &SweepReport, plot_metric: &str) -> String {
    let axes: Vec<String> = report
        .axes
        .iter()
        .map(|a| format!("{} ∈ {{{}}}", a.path, a.values.join(", ")))
        .collect();
    let mut page = Page::new(
        &format!("quotasim sweep: {}", report.scenario),
        &format!(
            "{} points × {} replication{} · seed {} · {}",
            report.points.len(),
            report.replications,
            if report.replications == 1 { "" } else { "s" },
            report.seed,
            axes.join(" × ")
        ),
    );
    let rec = recommend(report);
    page.h2("Summary");
    let mut cards = vec![
        ("points", report.points.len().to_string()),
        ("replications per point", report.replications.to_string()),
    ];
    if let Some(rec) = &rec {
        cards.push((
            "points meeting every constraint",
            format!("{} of {}", rec.feasible.len(), report.points.len()),
        ));
        let best = rec
            .best
            .and_then(|b| report.points.get(b))
            .map_or("none".into(), |p| format!("#{} {}", p.index, p.label()));
        cards.push(("recommended point", best));
    }
    page.cards(&cards);
    let mut lines = Vec::new();
    if !report.set.is_empty() {
        lines.push(format!("Every point sets {}.", report.set.join(", ")));
    }
    if report.replications > 1 {
        lines.push(format!(
            "Each figure is the mean of {} replications on common seeds; ± is the half-width \
             of the 95% confidence interval of the mean.",
            report.replications
        ));
    } else {
        lines.push(
            "One replication per point: the figures carry no confidence interval (pass \
             --replications N for one)."
                .into(),
        );
    }
    if let Some(rec) = &rec {
        let failing: Vec<String> = report
            .constraints
            .iter()
            .map(|c| {
                let fails = report
                    .points
                    .iter()
                    .filter(|p| !c.evaluate(&p.means()).is_ok_and(|o| o.passed))
                    .count();
                format!("`{c}` fails at {fails}")
            })
            .collect();
        let why = match rec.best.and_then(|b| report.points.get(b)) {
            Some(p) => {
                let v = p
                    .metric(&rec.objective.metric)
                    .map_or("-".into(), |m| format_metric(&rec.objective.metric, m));
                let among = match rec.feasible.len() {
                    1 => "it is the only point where every constraint holds on the means".into(),
                    n => format!(
                        "of the {n} points where every constraint holds on the means, it has \
                         the best {}",
                        rec.objective
                    ),
                };
                format!(
                    "Recommended: #{} {} because {among} ({} = {v}).",
                    p.index,
                    p.label(),
                    rec.objective.metric
                )
            }
            None => format!(
                "No point is recommended: no point meets every constraint ({}).",
                failing.join("; ")
            ),
        };
        lines.push(why);
        if !failing.is_empty() && rec.best.is_some() {
            lines.push(format!(
                "Points failing each constraint: {}.",
                failing.join("; ")
            ));
        }
    }
    if report.interrupted {
        lines.push(format!(
            "Interrupted: {} of {} points finished.",
            report.points.len(),
            report.points_total
        ));
    }
    page.explain(&lines);

    page.h2("Constraints");
    if report.constraints.is_empty() {
        page.p("None given: pass --constraint \"METRIC OP NUMBER\" to mark the points.");
    } else {
        let best = rec
            .as_ref()
            .and_then(|r| r.best)
            .and_then(|b| report.points.get(b));
        let rows: Vec<Vec<String>> = report
            .constraints
            .iter()
            .map(|c| {
                let holds = report
                    .points
                    .iter()
                    .filter(|p| c.evaluate(&p.means()).is_ok_and(|o| o.passed))
                    .count();
                let at_best = best.map_or("-".into(), |p| {
                    mark(c.evaluate(&p.means()).is_ok_and(|o| o.passed))
                });
                vec![
                    c.to_string(),
                    format!("{holds} of {}", report.points.len()),
                    at_best,
                ]
            })
            .collect();
        let header = [
            "constraint",
            "points where it holds",
            "at the recommended point",
        ]
        .map(String::from);
        page.table(&header, &rows, 1, &[]);
    }

    if (1..=2).contains(&report.axes.len()) {
        page.h2("Charts");
        for m in chart_metrics(report, plot_metric) {
            if let Ok(svg) = sweep_svg(report, &m) {
                let caption = if report.axes.len() == 1 {
                    format!("{m}: the mean at each value, with its 95% confidence band.")
                } else {
                    format!(
                        "{m} over the grid; crosses mark points that fail a constraint, the \
                         ring the recommended point."
                    )
                };
                page.figure(&svg, &caption);
            }
        }
    }

    page.h2("Points");
    let mut header = vec!["#".to_string()];
    header.extend(report.axes.iter().map(|a| a.path.clone()));
    if !report.constraints.is_empty() {
        header.push("constraints".into());
    }
    header.extend(METRICS.iter().map(|m| m.header.to_string()));
    let left = 1 + report.axes.len() + usize::from(!report.constraints.is_empty());
    let rows: Vec<Vec<String>> = report
        .points
        .iter()
        .map(|p| {
            let mut row = vec![p.index.to_string()];
            row.extend(p.params.iter().map(|(_, v)| v.clone()));
            if !report.constraints.is_empty() {
                let means = p.means();
                let failed: Vec<&str> = report
                    .constraints
                    .iter()
                    .filter(|c| !c.evaluate(&means).is_ok_and(|o| o.passed))
                    .map(|c| c.metric.as_str())
                    .collect();
                row.push(if failed.is_empty() {
                    format!("{PASS} all hold")
                } else {
                    format!("{FAIL} {}", failed.join(", "))
                });
            }
            row.extend(
                METRICS
                    .iter()
                    .zip(&p.metrics)
                    .map(|(d, m)| format_metric(d.path, m)),
            );
            row
        })
        .collect();
    let best: Vec<usize> = rec.and_then(|r| r.best).into_iter().collect();
    page.table(&header, &rows, left, &best);
    page.p("Rates are in percent, latencies in milliseconds, costs in USD.");
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assertion::{Constraint, Objective};
    use crate::sweep::grid::Vary;
    use crate::sweep::metrics::METRIC_COUNT;
    use crate::sweep::run::{PointMetric, PointResult};

    /// A 1,000-point sweep (25 max_tokens × 40 concurrency values, 3 replications, three
    /// constraints) with made-up but varied figures: the size of a page depends on the grid
    /// and the number of charts, not on the values.
    fn thousand_points() -> SweepReport {
        let mt: Vec<String> = (1..=25).map(|i| (i * 256).to_string()).collect();
        let cc: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
        let mut points = Vec::new();
        for (r, m) in mt.iter().enumerate() {
            for (c, k) in cc.iter().enumerate() {
                let x = (r * 40 + c) as f64;
                let metrics = std::array::from_fn::<_, METRIC_COUNT, _>(|i| PointMetric {
                    mean: Some(
                        (x * 7.3 + i as f64 * 13.1) % 97.0 / 97.0 * 10f64.powi(i as i32 % 5),
                    ),
                    ci95_half_width: Some(0.01 * (1.0 + i as f64)),
                    n: 3,
                });
                points.push(PointResult {
                    index: r * 40 + c,
                    params: vec![
                        ("max_tokens".into(), m.clone()),
                        ("concurrency".into(), k.clone()),
                    ],
                    metrics,
                    scoped: Vec::new(),
                });
            }
        }
        SweepReport {
            scenario: "thousand".into(),
            fingerprint: String::new(),
            seed: 1,
            replications: 3,
            axes: vec![
                Vary {
                    path: "max_tokens".into(),
                    values: mt,
                },
                Vary {
                    path: "concurrency".into(),
                    values: cc,
                },
            ],
            set: Vec::new(),
            points_total: 1000,
            shard: None,
            objective: Objective::parse("maximize:throughput.requests_per_minute").ok(),
            constraints: [
                "throttle_rate <= 0.01",
                "truncation_rate <= 0.05",
                "latency_ms.e2e.p99 <= 60000",
            ]
            .iter()
            .map(|c| Constraint::parse(c).unwrap())
            .collect(),
            points,
            interrupted: false,
        }
    }

    #[test]
    fn a_thousand_point_sweep_page_stays_under_two_megabytes() {
        let r = thousand_points();
        let page = render_html(&r, "throughput.requests_per_minute");
        // four heat maps (the plot metric, the three constraints' metrics) of 1,000 cells
        // each, and the table of 1,000 points
        assert_eq!(page.matches("class=\"cell\"").count(), 4 * 1000);
        assert_eq!(page.matches("<tr").count(), 1 + 3 + 1 + 1000);
        eprintln!("1,000-point sweep page: {} bytes", page.len());
        assert!(page.len() < 2_000_000, "{} bytes", page.len());
    }
}
