//! The chart of a run: the quota charged per minute against the tokens-per-minute limit,
//! with the attempts admitted and throttled (`run --plot`). The drawing primitives live in
//! [`crate::plot`]; this module only chooses what a run's chart shows.

use crate::Scenario;
use crate::plot::timeline::{TimelineChart, TimelineRow};
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

/// The SVG of [`timeline_chart`].
pub fn timeline_svg(report: &Report, scenario: &Scenario) -> String {
    timeline_chart(report, scenario).to_svg()
}
