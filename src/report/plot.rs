//! The chart of a run: the quota charged per minute against the tokens-per-minute limit,
//! with the attempts admitted and throttled (`run --plot`). The drawing primitives live in
//! [`crate::plot`]; this module only chooses what a run's chart shows.

use crate::Scenario;
use crate::account::dashboard::{Dashboard, DashboardPart};
use crate::plot::timeline::{QuotaLine, TimelineChart, TimelineRow};
use crate::report::Report;

/// The timeline chart of `report`, a run of `scenario`.
pub fn timeline_chart(report: &Report, scenario: &Scenario) -> TimelineChart {
    let rows = report
        .timeline
        .iter()
        .map(|r| TimelineRow {
            minute: r.minute,
            admitted: r.admitted as f64,
            throttled: r.throttled as f64,
            quota_charged: r.quota_charged as f64,
        })
        .collect();
    let limit = scenario.quota.tokens_per_minute;
    TimelineChart::new(
        format!(
            "{}: quota charged per minute vs the {limit} tokens/min limit",
            report.scenario
        ),
        rows,
        Some(limit as f64),
    )
}

/// The `run --plot` chart: quota charged per minute against the tokens-per-minute limit. With
/// several pools, one panel per pool against that pool's own limit, stacked in one SVG.
pub fn timeline_svg(report: &Report, scenario: &Scenario) -> String {
    timeline_svg_with(report, scenario, None)
}

/// The two dashboard lines of a panel: `EstimatedTPMQuotaUsage` (what CloudWatch shows) and
/// the peak quota held (what throttles).
fn dashboard_lines(part: &DashboardPart) -> Vec<QuotaLine> {
    let points = |f: fn(&crate::account::dashboard::DashboardRow) -> u64| {
        part.timeline
            .iter()
            .map(|r| (r.minute, f(r) as f64))
            .collect()
    };
    vec![
        QuotaLine {
            series: "estimated_tpm_quota_usage".into(),
            label: "EstimatedTPMQuotaUsage (dashboard)".into(),
            colour: "#9467bd".into(),
            dashed: false,
            points: points(|r| r.estimated_tpm_quota_usage),
        },
        QuotaLine {
            series: "peak_quota_held".into(),
            label: "peak quota held (throttles)".into(),
            colour: "#8c564b".into(),
            dashed: true,
            points: points(|r| r.peak_quota_held),
        },
    ]
}

/// [`timeline_svg`] with the dashboard's lines (`run --dashboard`/`--cloudwatch`) on each
/// panel.
pub fn timeline_svg_with(
    report: &Report,
    scenario: &Scenario,
    dashboard: Option<&Dashboard>,
) -> String {
    let rows = |t: &[crate::report::MinuteRow]| -> Vec<TimelineRow> {
        t.iter()
            .map(|r| TimelineRow {
                minute: r.minute,
                admitted: r.admitted as f64,
                throttled: r.throttled as f64,
                quota_charged: r.quota_charged as f64,
            })
            .collect()
    };
    let Some(pools) = report.pools.as_ref().filter(|p| p.0.len() > 1) else {
        let mut chart = timeline_chart(report, scenario);
        if let Some(d) = dashboard {
            chart.quota_lines = dashboard_lines(&d.total);
        }
        return chart.to_svg();
    };
    // One scale for every panel's attempts (right) axis.
    let attempts_max = pools
        .0
        .iter()
        .flat_map(|(_, p)| p.timeline.iter())
        .map(|r| r.admitted.max(r.throttled) as f64)
        .fold(0.0, f64::max);
    let panels: Vec<String> = pools
        .0
        .iter()
        .map(|(name, p)| {
            let limit = scenario
                .pools
                .iter()
                .find(|q| &q.name == name)
                .and_then(|q| q.quota.build(&q.model).primary().map(|l| l.limit()));
            let title = match limit {
                Some(l) => format!(
                    "{}: pool {name}: quota charged per minute vs its {l} tokens/min limit",
                    report.scenario
                ),
                None => format!("{}: pool {name}: quota charged per minute", report.scenario),
            };
            let mut chart = TimelineChart::new(title, rows(&p.timeline), limit.map(|l| l as f64));
            chart.attempts_max = Some(attempts_max);
            if let Some(part) = dashboard
                .and_then(|d| d.pools.as_ref())
                .and_then(|ps| ps.0.iter().find(|(n, _)| n == name))
            {
                chart.quota_lines = dashboard_lines(&part.1);
            }
            chart.to_svg()
        })
        .collect();
    let (w, h) = (900, 480);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\">\n",
        h * panels.len(),
        h * panels.len()
    );
    for (i, svg) in panels.iter().enumerate() {
        out.push_str(&format!(
            "<g class=\"panel\" data-pool=\"{}\" transform=\"translate(0,{})\">\n{}\n</g>\n",
            crate::plot::escape(&pools.0.get(i).map_or(String::new(), |p| p.0.clone())),
            i * h,
            svg.trim_end()
        ));
    }
    out.push_str("</svg>\n");
    out
}
