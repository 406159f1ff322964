//! `quotasim sweep`: the parameter grid ([`grid`]), the `[sweep]` table ([`config`]), the
//! orchestration ([`run`]), replication statistics ([`stats`]), the key metrics
//! ([`metrics`]), recommendations ([`recommend`]), shard part files and `merge` ([`part`]),
//! charts ([`plot`]) and the output formats ([`format`](mod@format), one file per format).

pub mod config;
pub mod format;
pub mod grid;
pub mod metrics;
pub mod part;
pub mod plot;
pub mod recommend;
pub mod run;
pub mod stats;

pub use run::{
    PointMetric, PointResult, SweepOptions, SweepPlan, SweepReport, execute, execute_until,
    plan_sweep, replication_seed, run_sweep,
};
