//! Output formats of a sweep report, one file per format.

mod csv;
mod html;
mod json;
pub(crate) mod table;

pub use self::csv::render_csv;
pub use self::html::render_html;
pub use self::json::{param_value, render_json, to_json};
pub use self::table::render_table;

use crate::report::Format;
use crate::sweep::SweepReport;

/// Renders `report` in `format`.
pub fn render(report: &SweepReport, format: Format) -> String {
    match format {
        Format::Table => render_table(report),
        Format::Json => render_json(report),
        Format::Csv => render_csv(report),
    }
}
