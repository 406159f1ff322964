//! Orchestration of `quotasim sweep`: expand the grid, load and validate every point's
//! scenario, simulate every (point, replication) in a local rayon pool, and summarise.
//!
//! Determinism: jobs are collected by index (rayon's ordered `collect`), and the summaries
//! are computed sequentially afterwards in replication order, so the result is identical for
//! any number of threads.
//!
//! Seeds: replication 0 of every point uses the point's scenario seed itself, so a
//! 1-replication sweep point has exactly the metrics of `quotasim run --set` with the same
//! values. Replication r > 0 uses [`replication_seed`]`(seed, r)`, the r-th output of a
//! SplitMix64 generator whose state starts at the scenario seed. Every point uses the same
//! seeds (common random numbers), so the points differ only by their parameters.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::assertion::{Constraint, Objective};
use crate::error::{Diagnostic, Error, nearest};
use crate::guard::{self, Limits};
use crate::scenario::{Override, Scenario};
use crate::sweep::config::read_sweep_table;
use crate::sweep::grid::{Grid, Shard, Vary};
use crate::sweep::metrics::{
    METRIC_COUNT, METRICS, key_metrics, metric_def, nest, number, scope_exists, scoped_cost,
    scoped_value,
};
use crate::sweep::stats::Summary;

/// The most replications a sweep may ask for.
pub const MAX_REPLICATIONS: usize = 10_000;

/// What to sweep, as given on the command line. Empty/`None` fields fall back to the
/// scenario's `[sweep]` table: `vary` replaces the table's axes when non-empty, as do
/// `constraints`; `replications` and `objective` override the table's.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// `--vary` axes, in order (first axis outermost).
    pub vary: Vec<Vary>,
    /// `--set PATH=VALUE` texts, applied to every point before the varied values.
    pub set: Vec<String>,
    /// `--replications N` (default 1).
    pub replications: Option<usize>,
    /// `--shard K/N`.
    pub shard: Option<Shard>,
    /// `--objective`.
    pub objective: Option<Objective>,
    /// `--constraint`s.
    pub constraints: Vec<Constraint>,
    /// `--max-events` / `--max-memory-mb` (default: the guard rails' defaults), applied to
    /// every point and to the sweep's total number of events.
    pub limits: Option<Limits>,
}

/// One step of SplitMix64 (Steele, Lea & Flood 2014): the output for state `z`.
pub fn splitmix64(z: u64) -> u64 {
    let mut z = z;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of replication `r` of a point whose scenario seed is `seed`: `seed` itself for
/// r = 0, else `splitmix64(seed + r × 0x9E3779B97F4A7C15)` (wrapping), the r-th output of
/// SplitMix64 started at `seed`.
pub fn replication_seed(seed: u64, r: u64) -> u64 {
    if r == 0 {
        seed
    } else {
        splitmix64(seed.wrapping_add(r.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }
}

/// A validated sweep, ready to run: every selected point's scenario is loaded.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// The scenario file.
    pub path: PathBuf,
    /// The points.
    pub grid: Grid,
    /// The `--set` texts.
    pub set: Vec<String>,
    /// Simulations per point.
    pub replications: usize,
    /// The shard run, if any.
    pub shard: Option<Shard>,
    /// What the recommendation optimises.
    pub objective: Option<Objective>,
    /// What every recommended point must satisfy.
    pub constraints: Vec<Constraint>,
    /// `(point index, its scenario)` for every point of the shard, in index order.
    pub points: Vec<(usize, Scenario)>,
    /// The guard rails every run of every point is held to.
    pub limits: Limits,
    /// The per-pool and per-workload costs the objective and constraints name.
    pub scoped: Vec<String>,
}

impl SweepPlan {
    /// Number of simulations (points × replications).
    pub fn jobs(&self) -> usize {
        self.points.len().saturating_mul(self.replications)
    }
}

/// The summary of one metric over the replications of a point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointMetric {
    /// Mean over the replications where the metric is defined; `None` if it never is.
    pub mean: Option<f64>,
    /// Half-width of the t-based 95% confidence interval; `None` with fewer than 2 values.
    pub ci95_half_width: Option<f64>,
    /// Replications where the metric is defined.
    pub n: usize,
}

impl PointMetric {
    fn of(values: &[f64]) -> PointMetric {
        match Summary::of(values) {
            Some(s) => PointMetric {
                mean: Some(s.mean),
                ci95_half_width: s.ci95_half_width,
                n: s.n,
            },
            None => PointMetric {
                mean: None,
                ci95_half_width: None,
                n: 0,
            },
        }
    }
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    /// Index in the full grid.
    pub index: usize,
    /// `(path, raw value)` for every varied key, first axis first.
    pub params: Vec<(String, String)>,
    /// The key metrics, in [`METRICS`] order.
    pub metrics: [PointMetric; METRIC_COUNT],
    /// The per-pool and per-workload costs (`pools.geo.cost.usd`) the objective and
    /// constraints name, in the order they are named.
    pub scoped: Vec<(String, PointMetric)>,
}

impl PointResult {
    /// The metric at `path`, if it is a key metric.
    pub fn metric(&self, path: &str) -> Option<&PointMetric> {
        match metric_def(path) {
            Some((i, _)) => self.metrics.get(i),
            None => self.scoped.iter().find(|(p, _)| p == path).map(|(_, m)| m),
        }
    }

    /// The means as a nested JSON object (`{"throughput": {"requests_per_minute": …}, …}`),
    /// what `--objective` and `--constraint` are evaluated on.
    pub fn means(&self) -> serde_json::Value {
        nest(
            METRICS
                .iter()
                .zip(&self.metrics)
                .map(|(d, m)| (d.path, number(m.mean)))
                .chain(
                    self.scoped
                        .iter()
                        .map(|(p, m)| (p.as_str(), number(m.mean))),
                ),
        )
    }

    /// `path=value` pairs joined by spaces.
    pub fn label(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The result of a sweep (or, with `shard` set, of one shard of it).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepReport {
    /// Scenario name (of the first point).
    pub scenario: String,
    /// Scenario seed (of the first point); replication 0's seed.
    pub seed: u64,
    /// Simulations per point.
    pub replications: usize,
    /// The varied keys, first outermost.
    pub axes: Vec<Vary>,
    /// The `--set` texts.
    pub set: Vec<String>,
    /// Points in the whole grid.
    pub points_total: usize,
    /// The shard run, if any.
    pub shard: Option<Shard>,
    /// What the recommendation optimised.
    pub objective: Option<Objective>,
    /// What every recommended point had to satisfy.
    pub constraints: Vec<Constraint>,
    /// Results, in index order.
    pub points: Vec<PointResult>,
    /// The sweep was stopped (Ctrl-C) before every point ran: `points` holds the points
    /// whose replications all finished.
    pub interrupted: bool,
}

impl SweepReport {
    /// The seeds of the replications, in order.
    pub fn replication_seeds(&self) -> Vec<u64> {
        (0..self.replications as u64)
            .map(|r| replication_seed(self.seed, r))
            .collect()
    }
}

/// Plans and runs a sweep of the scenario at `path` on `threads` threads (`None`: all
/// cores), calling `progress` after every simulation.
pub fn run_sweep(
    path: &Path,
    opts: &SweepOptions,
    threads: Option<usize>,
    progress: &(dyn Fn() + Sync),
) -> Result<SweepReport, Error> {
    let plan = plan_sweep(path, opts)?;
    execute(&plan, threads, progress)
}

/// Expands the grid and loads and validates the scenario of every selected point, before
/// anything is simulated. A bad value is an [`Error::Invalid`] or [`Error::Usage`] naming the
/// flag (or `[sweep]` key) and the value.
pub fn plan_sweep(path: &Path, opts: &SweepOptions) -> Result<SweepPlan, Error> {
    let table = read_sweep_table(path)?.unwrap_or_default();
    let from_flags = !opts.vary.is_empty();
    let axes = if from_flags {
        opts.vary.clone()
    } else {
        table.vary.clone()
    };
    let origin = if from_flags { "--vary" } else { "[sweep] vary" };
    if axes.is_empty() {
        return Err(Diagnostic::flag(
            "--vary",
            format!(
                "nothing to vary: {} has no [sweep] table with `vary`; pass --vary PATH=VALUES, \
                 e.g. --vary max_tokens=256,512,1024 (`quotasim run` simulates one point)",
                path.display()
            ),
        )
        .into());
    }
    let grid = Grid::new(axes).map_err(|e| Error::from(Diagnostic::flag(origin, e.to_string())))?;
    let replications = opts.replications.or(table.replications).unwrap_or(1);
    if !(1..=MAX_REPLICATIONS).contains(&replications) {
        return Err(Diagnostic::flag(
            format!("--replications {replications}"),
            format!("expected an integer from 1 to {MAX_REPLICATIONS}"),
        )
        .into());
    }
    let objective = opts.objective.clone().or(table.objective);
    let constraints = if opts.constraints.is_empty() {
        table.constraints
    } else {
        opts.constraints.clone()
    };
    validate_metrics(objective.as_ref(), &constraints)?;
    let mut scoped: Vec<String> = Vec::new();
    for m in objective
        .iter()
        .map(|o| &o.metric)
        .chain(constraints.iter().map(|c| &c.metric))
    {
        if scoped_cost(m).is_some() && !scoped.contains(m) {
            scoped.push(m.clone());
        }
    }
    if !scoped.is_empty() && opts.shard.is_some() {
        return Err(Diagnostic::flag(
            "--shard",
            format!(
                "shard files carry the key metrics only, not {}: run this sweep unsharded",
                scoped.join(", ")
            ),
        )
        .into());
    }

    let sets = opts
        .set
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut points = Vec::new();
    let limits = opts.limits.clone().unwrap_or_default();
    let mut total_events: u64 = 0;
    for i in grid.indices(opts.shard) {
        let assignments = grid
            .point(i)
            .ok_or_else(|| Error::Runtime(format!("grid point {i} out of range")))?;
        let mut overrides = sets.clone();
        for (key, value) in assignments {
            overrides.push(vary_override(origin, &key, &value)?);
        }
        let scenario = Scenario::from_path(path, &overrides)?;
        for m in &scoped {
            if let Some((scope, name, _)) = scoped_cost(m)
                && !scope_exists(&scenario, scope, name)
            {
                let kind = if scope == "pools" { "pool" } else { "workload" };
                let flag = if objective.as_ref().is_some_and(|o| &o.metric == m) {
                    "--objective"
                } else {
                    "--constraint"
                };
                return Err(Diagnostic::flag(
                    flag,
                    format!(
                        "{m}: the scenario has no {kind} `{name}` (per-{kind} figures exist \
                         when it has two or more pools or workloads)"
                    ),
                )
                .into());
            }
        }
        // Guard rails: refuse a point too big to simulate before running any.
        let file = path.display().to_string();
        let size = guard::check_size(&scenario, &file, &limits)?;
        total_events = total_events.saturating_add(
            size.min_events
                .saturating_mul(u64::try_from(replications).unwrap_or(u64::MAX)),
        );
        if total_events > limits.max_events {
            return Err(Error::Usage(format!(
                "the sweep is too big to simulate: its points need at least {total_events} \
                 events in all (with {replications} replications each), more than \
                 --max-events {}; vary fewer values, lower the replications, shorten \
                 `duration`, or raise --max-events",
                limits.max_events
            )));
        }
        points.push((i, scenario));
    }
    Ok(SweepPlan {
        path: path.to_path_buf(),
        grid,
        set: opts.set.clone(),
        replications,
        shard: opts.shard,
        objective,
        constraints,
        points,
        limits,
        scoped,
    })
}

fn vary_override(origin: &str, key: &str, value: &str) -> Result<Override, Error> {
    let text = format!("{key}={value}");
    match Override::parse(&text) {
        Ok(mut o) => {
            o.raw = format!("{origin} {text}");
            Ok(o)
        }
        Err(Error::Usage(m)) => Err(Error::Usage(m.replacen("--set", origin, 1))),
        Err(e) => Err(e),
    }
}

/// Checks that the objective and every constraint name a key metric, with suggestions.
fn validate_metrics(
    objective: Option<&Objective>,
    constraints: &[Constraint],
) -> Result<(), Error> {
    let template = nest(METRICS.iter().map(|m| (m.path, serde_json::json!(0))));
    for c in constraints
        .iter()
        .filter(|c| scoped_cost(&c.metric).is_none())
    {
        c.evaluate(&template).map_err(|e| {
            Error::from(Diagnostic::flag(
                "--constraint",
                format!("{e}; the sweep metrics are {}", metric_list()),
            ))
        })?;
    }
    if let Some(o) = objective
        && metric_def(&o.metric).is_none()
        && scoped_cost(&o.metric).is_none()
    {
        let hint = nearest(&o.metric, METRICS.iter().map(|m| m.path))
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
        return Err(Diagnostic::flag(
            format!("--objective {o}"),
            format!(
                "unknown metric `{}`{hint}; the sweep metrics are {}",
                o.metric,
                metric_list()
            ),
        )
        .into());
    }
    Ok(())
}

fn metric_list() -> String {
    METRICS
        .iter()
        .map(|m| m.path)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a plan on `threads` threads (`None`: all cores).
pub fn execute(
    plan: &SweepPlan,
    threads: Option<usize>,
    progress: &(dyn Fn() + Sync),
) -> Result<SweepReport, Error> {
    execute_until(plan, threads, progress, &AtomicBool::new(false))
}

/// Like [`execute`], but once `stop` is set (e.g. by Ctrl-C) no new simulation starts; the
/// ones running finish, and the report keeps the points whose replications all finished,
/// with [`SweepReport::interrupted`] set.
pub fn execute_until(
    plan: &SweepPlan,
    threads: Option<usize>,
    progress: &(dyn Fn() + Sync),
    stop: &AtomicBool,
) -> Result<SweepReport, Error> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            return Err(Error::Usage(
                "--threads 0: expected at least 1 thread".into(),
            ));
        }
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start the thread pool: {e}")))?;
    let reps = plan.replications;
    let jobs: Vec<(usize, &Scenario, u64)> = plan
        .points
        .iter()
        .flat_map(|(i, s)| (0..reps as u64).map(move |r| (*i, s, r)))
        .collect();
    type Run = Option<RunMetrics>;
    let results: Vec<Result<Run, Error>> = pool.install(|| {
        jobs.par_iter()
            .map(|&(index, s, r)| {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let metrics = if r == 0 {
                    run_point(plan, index, s)
                } else {
                    let mut s = s.clone();
                    s.seed = replication_seed(s.seed, r);
                    run_point(plan, index, &s)
                };
                progress();
                metrics.map(Some)
            })
            .collect()
    });
    // The first failure in index order, whatever the thread count.
    let results = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let interrupted = results.iter().any(Option::is_none);
    let points = plan
        .points
        .iter()
        .zip(results.chunks(reps.max(1)))
        .filter(|(_, runs)| runs.iter().all(Option::is_some))
        .map(|((index, _), runs)| {
            let mut columns: [Vec<f64>; METRIC_COUNT] = Default::default();
            let mut extra: Vec<Vec<f64>> = vec![Vec::new(); plan.scoped.len()];
            for (run, more) in runs.iter().flatten() {
                for (col, v) in columns.iter_mut().zip(run) {
                    col.push(v.unwrap_or(f64::NAN));
                }
                for (col, v) in extra.iter_mut().zip(more) {
                    col.push(v.unwrap_or(f64::NAN));
                }
            }
            PointResult {
                index: *index,
                params: plan.grid.point(*index).unwrap_or_default(),
                metrics: columns.map(|c| PointMetric::of(&c)),
                scoped: plan
                    .scoped
                    .iter()
                    .zip(&extra)
                    .map(|(m, c)| (m.clone(), PointMetric::of(c)))
                    .collect(),
            }
        })
        .collect();
    let (scenario, seed) = plan
        .points
        .first()
        .map(|(_, s)| (s.name.clone(), s.seed))
        .unwrap_or_else(|| (stem(&plan.path), 0));
    Ok(SweepReport {
        scenario,
        seed,
        replications: reps,
        axes: plan.grid.axes().to_vec(),
        set: plan.set.clone(),
        points_total: plan.grid.len(),
        shard: plan.shard,
        objective: plan.objective.clone(),
        constraints: plan.constraints.clone(),
        points,
        interrupted,
    })
}

/// One run's key metrics, and the per-pool and per-workload costs the sweep names.
type RunMetrics = ([Option<f64>; METRIC_COUNT], Vec<Option<f64>>);

/// One run of a sweep point, inside the guard rails `run` applies; an error names the point.
fn run_point(plan: &SweepPlan, index: usize, s: &Scenario) -> Result<RunMetrics, Error> {
    let file = plan.path.display().to_string();
    guard::simulate_guarded(s, &file, &plan.limits)
        .map(|rep| {
            let extra = plan.scoped.iter().map(|m| scoped_value(&rep, m)).collect();
            (key_metrics(&rep, s), extra)
        })
        .map_err(|e| {
            let label = plan
                .grid
                .point(index)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            let at = format!("sweep point {index} ({label}, seed {})", s.seed);
            match e {
                Error::Invalid(mut d) => {
                    d.message = format!("{at}: {}", d.message);
                    Error::Invalid(d)
                }
                Error::Runtime(m) => Error::Runtime(format!("{at}: {m}")),
                other => other,
            }
        })
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_seeds() {
        assert_eq!(replication_seed(42, 0), 42);
        // SplitMix64 reference: the first output for state 0 is 0xE220A8397B1DCDAF.
        assert_eq!(replication_seed(0, 1), 0xE220_A839_7B1D_CDAF);
        assert_ne!(replication_seed(42, 1), replication_seed(42, 2));
        assert_ne!(replication_seed(42, 1), replication_seed(43, 1));
    }

    #[test]
    fn point_metric_of_one_value_is_exact() {
        let m = PointMetric::of(&[0.1 + 0.2]);
        assert_eq!(m.mean, Some(0.1 + 0.2));
        assert_eq!(m.ci95_half_width, None);
        let m = PointMetric::of(&[f64::NAN]);
        assert_eq!((m.mean, m.n), (None, 0));
        let m = PointMetric::of(&[1.0, 3.0]);
        assert_eq!(m.mean, Some(2.0));
        assert!(m.ci95_half_width.is_some());
    }
}
