//! `plan --html FILE`: the plan as one self-contained HTML page (see
//! [`crate::report::html`]): the value found and why, the constraints with their pass/fail
//! marks at the value and at every value evaluated, one chart per constraint (the metric's
//! mean and interval at each value evaluated against the constraint's bound), the demand.

use super::{Outcome, PlanReport};
use crate::plot::Axis;
use crate::plot::line::{LineChart, LinePoint, LineSeries};
use crate::report::html::{Page, mark, num};
use crate::sweep::plot::display_scale;

/// Why the search ended where it did, in one sentence.
fn outcome_line(r: &PlanReport) -> String {
    let direction = if r.maximize { "largest" } else { "smallest" };
    match (r.outcome, r.value) {
        (Outcome::Found, Some(v)) => {
            let bracket = r.bracket.map_or(String::new(), |(a, b)| {
                let (fails, holds) = if r.maximize { (b, a) } else { (a, b) };
                format!(
                    ": {holds} holds and {fails} fails, so the answer is within the resolution \
                     of {}",
                    r.resolution
                )
            });
            format!(
                "Found: {} = {v} is the {direction} value in {}..{} at which every constraint \
                 holds at the worst end of its {:.0}% confidence interval{bracket}.",
                r.find,
                r.range.0,
                r.range.1,
                r.confidence * 100.0
            )
        }
        (Outcome::HoldsEverywhere, _) => format!(
            "The constraints hold at both ends of {}..{}, so the {direction} value is the \
             range's end (widen --range to look further).",
            r.range.0, r.range.1
        ),
        (Outcome::HoldsNowhere, _) => format!(
            "The constraints hold at neither end of {}..{}: no value in it qualifies (widen \
             --range or relax a constraint).",
            r.range.0, r.range.1
        ),
        _ => "The constraints hold only at the end where they should be hardest: the metrics \
              are not monotone in the searched key (see the warnings)."
            .to_string(),
    }
}

/// The page of `r`.
pub fn render_html(r: &PlanReport) -> String {
    let direction = if r.maximize { "largest" } else { "smallest" };
    let mut page = Page::new(
        &format!("quotasim plan: {}", r.scenario),
        &format!(
            "the {direction} {} in {}..{} · {} replications per value · seed {}",
            r.find, r.range.0, r.range.1, r.replications, r.seed
        ),
    );
    page.h2("Summary");
    page.cards(&[
        (
            "value found",
            r.value.map_or("none".into(), |v| v.to_string()),
        ),
        (
            "bracket",
            r.bracket.map_or("-".into(), |(a, b)| format!("[{a}, {b}]")),
        ),
        ("simulations", r.simulations.to_string()),
        ("a grid would run", r.grid_simulations.to_string()),
    ]);
    let mut lines = vec![outcome_line(r)];
    lines.push(format!(
        "How: a bisection over {} values ({} replications each on the sweep's seeds) instead of \
         the {} simulations of a grid at the resolution {}; a constraint is checked on the end \
         of the mean's confidence interval that is worst for it.",
        r.evaluated.len(),
        r.replications,
        r.grid_simulations,
        r.resolution
    ));
    lines.push(if r.monotonic {
        "The constraint metrics moved the expected way across the values evaluated (the \
         search assumes they do)."
            .into()
    } else {
        "The constraint metrics did NOT move monotonically across the values evaluated: read \
         the warnings."
            .into()
    });
    lines.extend(r.warnings.iter().map(|w| format!("Warning: {w}")));
    page.explain(&lines);

    page.h2("Constraints");
    let at = r.at_value();
    let header = [
        "constraint".to_string(),
        format!(
            "worst end at {}",
            r.value.map_or("-".into(), |v| v.to_string())
        ),
        "result".into(),
    ];
    let rows: Vec<Vec<String>> = r
        .constraints
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let check = at.and_then(|e| e.checks.get(i));
            vec![
                c.to_string(),
                check.map_or("-".into(), |(w, _)| num(*w)),
                check.map_or("-".into(), |(_, ok)| mark(*ok)),
            ]
        })
        .collect();
    page.table(&header, &rows, 1, &[]);

    page.h2("Charts");
    for c in &r.constraints {
        let (scale, unit) = display_scale(&c.metric);
        let points: Vec<LinePoint> = r
            .evaluated
            .iter()
            .filter_map(|e| {
                let m = e.metric(&c.metric)?;
                let y = m.mean?;
                Some(match m.ci95_half_width {
                    Some(h) => LinePoint::with_band(
                        e.value as f64,
                        y * scale,
                        (y - h).max(0.0) * scale,
                        (y + h) * scale,
                    ),
                    None => LinePoint::new(e.value as f64, y * scale),
                })
            })
            .collect();
        let chart = LineChart::new(
            format!("{}: {} at each {} evaluated", r.scenario, c.metric, r.find),
            Axis::new(r.find.clone(), ""),
            Axis::new(c.metric.clone(), unit),
        )
        .with_series(LineSeries::new(c.metric.clone(), points))
        .with_threshold(format!("constraint {c}"), c.value * scale);
        page.figure(
            &chart.to_svg(),
            &format!(
                "{}: the mean at each value the search evaluated, with its confidence band, \
                 against the constraint's bound (dashed).",
                c.metric
            ),
        );
    }

    page.h2("Values evaluated");
    let mut header = vec![r.find.clone(), "result".into()];
    header.extend(r.constraints.iter().map(|c| format!("{c} (worst end)")));
    let rows: Vec<Vec<String>> = r
        .evaluated
        .iter()
        .map(|e| {
            let mut row = vec![e.value.to_string(), mark(e.holds())];
            row.extend(
                e.checks
                    .iter()
                    .map(|(w, ok)| format!("{} {}", if *ok { "✔" } else { "✘" }, num(*w))),
            );
            row
        })
        .collect();
    let at_index: Vec<usize> = r
        .evaluated
        .iter()
        .position(|e| Some(e.value) == r.value)
        .into_iter()
        .collect();
    page.table(&header, &rows, 2, &at_index);

    page.h2("Demand (what a quota-increase request asks for)");
    let d = &r.demand;
    page.p(&format!(
        "The scenario with every quota limit removed (seed {}), over the {} minutes starting in \
         [warmup, duration).",
        r.seed, d.minutes
    ));
    let q = &d.quota_tokens_per_minute;
    let rq = &d.requests_per_minute;
    let header = ["per minute", "p50 (steady)", "p90", "p99", "max (peak)"].map(String::from);
    let stats = |label: String, m: &super::demand::MinuteStats| {
        vec![
            label,
            m.p50.to_string(),
            m.p90.to_string(),
            m.p99.to_string(),
            m.max.to_string(),
        ]
    };
    let mut rows = vec![
        stats("quota tokens".into(), q),
        stats("requests".into(), rq),
    ];
    if let Some(pools) = &d.pools {
        for (name, p) in &pools.0 {
            rows.push(stats(
                format!("pool {name}: quota tokens"),
                &p.quota_tokens_per_minute,
            ));
            rows.push(stats(
                format!("pool {name}: requests"),
                &p.requests_per_minute,
            ));
        }
    }
    if let Some(workloads) = &d.workloads {
        for (name, w) in &workloads.0 {
            rows.push(stats(
                format!("workload {name}: quota tokens"),
                &w.quota_tokens_per_minute,
            ));
            rows.push(stats(
                format!("workload {name}: requests"),
                &w.requests_per_minute,
            ));
        }
    }
    page.table(&header, &rows, 1, &[]);
    page.explain(&[
        format!(
            "Average input tokens per request: {}; average output tokens: {}.",
            num(d.input_tokens_mean),
            num(d.output_tokens_mean)
        ),
        format!(
            "Share of requests with more than 25,000 input tokens: {}.",
            d.share_input_over_25k
                .map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
        ),
    ]);
    page.h2("Report");
    page.pre(&super::render::render_table(r));
    page.finish()
}
