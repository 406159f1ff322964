//! The workload (SPEC §4): arrival processes (open-loop, scheduled, closed-loop, trace
//! replay) and request classes.

pub mod arrivals;
pub mod classes;
pub mod schedule;
pub mod trace;

pub use arrivals::{ArrivalProcess, Arrivals, Rate};
pub use classes::{ClassPicker, RequestClass, Sizes};
pub use schedule::{Schedule, SchedulePoint};
pub use trace::{Repeat, TraceArrivals};
