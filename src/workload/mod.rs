//! The workload (docs/lifecycle.md): arrival processes (open-loop, scheduled, closed-loop, trace
//! replay) and request classes.

pub mod arrivals;
pub mod classes;
pub mod dist;
pub mod schedule;
pub mod trace;

pub use arrivals::{ArrivalProcess, Arrivals, Rate};
pub use classes::{ClassPicker, RequestClass, Sizes};
pub use dist::Dist;
pub use schedule::{Schedule, SchedulePoint};
pub use trace::{Repeat, TraceArrivals};

/// A request's `max_tokens`: the trace record's, else its class's, else the client's. The
/// one place this fallback is written (replay, trace checks and `fit` all use it).
#[inline]
pub fn max_tokens(record: Option<u64>, class: Option<&RequestClass>, client: u64) -> u64 {
    record.or(class.map(|c| c.max_tokens)).unwrap_or(client)
}
