//! The workload: arrival processes and request classes (SPEC §4).

pub mod arrivals;
pub mod classes;

pub use arrivals::{ArrivalProcess, Arrivals};
pub use classes::{ClassPicker, RequestClass};
