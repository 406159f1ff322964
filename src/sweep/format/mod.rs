//! Output formats of a sweep report, one file per format.

mod csv;
mod json;
mod table;

pub use self::csv::render_csv;
pub use self::json::{param_value, render_json, to_json};
pub use self::table::render_table;

use crate::sweep::SweepReport;

/// The output formats of `sweep` and `merge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepFormat {
    /// Aligned text table with recommendations.
    Table,
    /// JSON (see [`to_json`]).
    Json,
    /// One row per point.
    Csv,
}

/// Renders `report` in `format`.
pub fn render(report: &SweepReport, format: SweepFormat) -> String {
    match format {
        SweepFormat::Table => render_table(report),
        SweepFormat::Json => render_json(report),
        SweepFormat::Csv => render_csv(report),
    }
}
