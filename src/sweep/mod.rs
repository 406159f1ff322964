//! Building blocks for `quotasim sweep`: the parameter grid and replication statistics.

pub mod grid;
pub mod stats;
