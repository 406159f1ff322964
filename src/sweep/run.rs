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
use crate::engine::limits::human;
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

/// The most points one sweep process may hold (a bigger grid is split with `--shard`).
pub const MAX_POINTS: usize = 1_000_000;

/// Bytes a kept scenario costs (see [`HOLD_SCENARIOS`]), with room to spare.
pub const BYTES_PER_HELD_SCENARIO: u64 = 4096;

/// Plans of at most this many points keep every point's scenario (a few kB each); bigger
/// ones load each point's scenario again when it runs.
pub const HOLD_SCENARIOS: usize = 10_000;

/// What one simulation costs besides its events (loading its scenario, building and
/// summarising its report), in event-equivalents: a grid of a billion tiny points is as
/// much work as its event count says it is not.
pub const EVENTS_PER_SIMULATION: u64 = 100;

/// Bytes a sweep holds per point while it runs: its runs' key metrics, its summary and its
/// share of the rendered output (measured: 100,000 points of JSON output peak at 160 MB,
/// about 1.6 kB a point; 7.8 kB before the plan stopped holding every point's scenario and
/// the JSON stopped being built as one tree).
pub const BYTES_PER_POINT: u64 = 2048;

/// `--threads` at most this many times the cores: more threads than that only add overhead
/// (and ten thousand of them stall a small sweep).
pub const THREADS_PER_CORE: usize = 16;

/// The most `--threads` this machine accepts.
pub fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .saturating_mul(THREADS_PER_CORE)
}

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
    /// The index of every point of the shard, in index order. Their scenarios were loaded
    /// and checked by [`plan_sweep`]; [`SweepPlan::scenario`] loads one again when it runs,
    /// so that a million-point plan holds indices, not a million scenarios.
    pub points: Vec<usize>,
    /// The scenario of the first point (its name and seed head the report).
    pub first: Option<Scenario>,
    /// Every point's scenario, in `points` order, for a plan of at most
    /// [`HOLD_SCENARIOS`] points (loading one again can mean reading a whole trace);
    /// empty for bigger plans.
    held: Vec<Scenario>,
    /// The scenario file's text, the `--set` overrides and where varied values come from.
    text: String,
    sets: Vec<Override>,
    origin: String,
    /// The guard rails every run of every point is held to.
    pub limits: Limits,
    /// [`fingerprint`] of the grid's first point
    /// (loaded even when another shard holds it).
    pub fingerprint: String,
    /// The per-pool and per-workload costs the objective and constraints name.
    pub scoped: Vec<String>,
}

impl SweepPlan {
    /// The scenario of grid point `index`, loaded as [`plan_sweep`] loaded it.
    pub fn scenario(&self, index: usize) -> Result<Scenario, Error> {
        if let Ok(pos) = self.points.binary_search(&index)
            && let Some(s) = self.held.get(pos)
        {
            return Ok(s.clone());
        }
        point_scenario(
            &self.path,
            &self.text,
            &self.sets,
            &self.origin,
            &self.grid,
            index,
        )
    }

    /// Number of simulations (points × replications).
    pub fn jobs(&self) -> usize {
        self.points.len().saturating_mul(self.replications)
    }
}

/// A fingerprint of a resolved scenario: FNV-1a (64-bit) of its fully resolved TOML, as
/// `quotasim check` prints it. Parts of one sweep carry the fingerprint of the grid's first
/// point, so that parts of two different scenarios that happen to share a name (or a file
/// edited between shards) do not merge.
pub fn fingerprint(s: &crate::scenario::Scenario) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.to_toml().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{h:016x}")
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
    /// [`fingerprint`] of the grid's first point.
    pub fingerprint: String,
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
    // A value from the [sweep] table is blamed on its line of the file, not on a flag.
    let table_origin = |key: &str, what: &str| -> String {
        let file = path.display().to_string();
        match table_position(path, key) {
            Some((line, col)) => format!("{file}:{line}:{col}: {what}"),
            None => format!("{file}: {what}"),
        }
    };
    let origin = &if from_flags {
        "--vary".to_string()
    } else {
        table_origin("sweep.vary", "[sweep] vary")
    };
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
    let objective_from_table = opts.objective.is_none() && table.objective.is_some();
    let objective = opts.objective.clone().or(table.objective);
    let constraints_from_table = opts.constraints.is_empty();
    let constraints = if constraints_from_table {
        table.constraints
    } else {
        opts.constraints.clone()
    };
    validate_metrics(objective.as_ref(), &constraints).map_err(|bad| -> Error {
        match bad {
            BadMetric::Constraint(i, m) if constraints_from_table => Diagnostic::flag(
                table_origin(&format!("sweep.constraints[{i}]"), "[sweep] constraints"),
                m,
            )
            .into(),
            BadMetric::Constraint(_, m) => Diagnostic::flag("--constraint", m).into(),
            BadMetric::Objective(o, m) if objective_from_table => Diagnostic::flag(
                table_origin("sweep.objective", &format!("[sweep] objective {o}")),
                m,
            )
            .into(),
            BadMetric::Objective(o, m) => Diagnostic::flag(format!("--objective {o}"), m).into(),
        }
    })?;
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
    // Read once; a file that cannot be read as text gets the loader's own message.
    let text = match crate::files::read_bytes(path, "scenario") {
        Ok(Ok(bytes)) => String::from_utf8(bytes).ok(),
        _ => None,
    };
    let Some(text) = text else {
        Scenario::from_path(path, &sets)?;
        return Err(Diagnostic::new(path.display().to_string(), "cannot read the scenario").into());
    };
    let mut points = Vec::new();
    let mut first = None;
    let mut kept = Vec::new();
    let limits = opts.limits.clone().unwrap_or_default();
    let selected = match opts.shard {
        Some(sh) => grid.len().saturating_sub(sh.k).div_ceil(sh.n.max(1)),
        None => grid.len(),
    };
    let sims = u64::try_from(selected.saturating_mul(replications)).unwrap_or(u64::MAX);
    let of_shard = if opts.shard.is_some() {
        " in this shard"
    } else {
        ""
    };
    if selected > MAX_POINTS {
        return Err(Error::Usage(format!(
            "the sweep is too big: {} points{of_shard}, more than the {} one sweep may \
             hold; vary fewer values, or split it with --shard K/N (N of at least {}) and \
             `quotasim merge` the parts",
            human(selected as u64),
            human(MAX_POINTS as u64),
            selected.div_ceil(MAX_POINTS)
        )));
    }
    let per_point = if selected <= HOLD_SCENARIOS {
        BYTES_PER_POINT + BYTES_PER_HELD_SCENARIO
    } else {
        BYTES_PER_POINT
    };
    let held = (selected as u64).saturating_mul(per_point);
    if held > limits.max_memory_bytes {
        return Err(Error::Usage(format!(
            "the sweep is too big: its {} points{of_shard} need about {} MB of memory, more \
             than --max-memory-mb {}; vary fewer values, split it with --shard K/N, or raise \
             --max-memory-mb",
            human(selected as u64),
            held.div_ceil(1 << 20),
            limits.max_memory_bytes >> 20
        )));
    }
    let mut total_events: u64 = 0;
    for i in grid.indices(opts.shard) {
        let scenario = point_scenario(path, &text, &sets, origin, &grid, i)
            .map_err(|e| max_tokens_values(e, path, &text, &sets, origin, &grid, i))?;
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
        // Up front, from the first and the last point: a grid usually grows or shrinks
        // along its axes, so the smaller of the two stands for every point (the running
        // total below counts each point's own estimate as it loads).
        let per_sim = if points.is_empty() {
            let (k, n) = opts.shard.map_or((0, 1), |sh| (sh.k, sh.n.max(1)));
            let last = selected
                .checked_sub(1)
                .map(|m| k + m * n)
                .filter(|&l| l != i)
                .and_then(|l| point_scenario(path, &text, &sets, origin, &grid, l).ok())
                .and_then(|s| guard::check_size(&s, &file, &limits).ok())
                .map_or(size.min_events, |e| e.min_events);
            size.min_events.min(last).max(EVENTS_PER_SIMULATION)
        } else {
            0
        };
        if points.is_empty() && sims.saturating_mul(per_sim) > limits.max_events {
            return Err(Error::Usage(format!(
                "the sweep is too big to simulate: {} points{of_shard} × {replications} \
                 replications × about {} events each (at least {EVENTS_PER_SIMULATION} per \
                 simulation) is about {} events, more than --max-events {}; vary fewer \
                 values, lower the replications, shorten `duration`, split it with --shard \
                 K/N, or raise --max-events",
                human(selected as u64),
                human(per_sim),
                human(sims.saturating_mul(per_sim)),
                human(limits.max_events)
            )));
        }
        total_events = total_events.saturating_add(
            size.min_events
                .max(EVENTS_PER_SIMULATION)
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
        points.push(i);
        if first.is_none() {
            first = Some(scenario.clone());
        }
        if selected <= HOLD_SCENARIOS {
            kept.push(scenario);
        }
    }
    let fingerprint = match (points.first(), &first) {
        (Some(0), Some(s)) => fingerprint(s),
        _ => fingerprint(&point_scenario(path, &text, &sets, origin, &grid, 0)?),
    };
    Ok(SweepPlan {
        fingerprint,
        path: path.to_path_buf(),
        grid,
        set: opts.set.clone(),
        replications,
        shard: opts.shard,
        objective,
        constraints,
        points,
        first,
        held: kept,
        limits,
        text,
        sets,
        origin: origin.clone(),
        scoped,
    })
}

/// The scenario of grid point `index`: the file's text with the `--set` overrides, then the
/// point's varied values.
fn point_scenario(
    path: &Path,
    text: &str,
    sets: &[Override],
    origin: &str,
    grid: &Grid,
    index: usize,
) -> Result<Scenario, Error> {
    let assignments = grid
        .point(index)
        .ok_or_else(|| Error::Runtime(format!("grid point {index} out of range")))?;
    let mut overrides = sets.to_vec();
    for (key, value) in assignments {
        overrides.push(vary_override(origin, &key, &value)?);
    }
    Scenario::from_toml_str_with(text, &path.display().to_string(), &overrides)
}

/// A point refused for a `max_tokens` above the model's maximum output: when an axis
/// varies that key, names every value of it that is refused (at this point's other
/// values), so that one error says where the axis crosses the limit.
fn max_tokens_values(
    e: Error,
    path: &Path,
    text: &str,
    sets: &[Override],
    origin: &str,
    grid: &Grid,
    index: usize,
) -> Error {
    const MARK: &str = "is above the maximum output of";
    let message = e.to_string();
    if !message.contains(MARK) {
        return e;
    }
    let Some(point) = grid.point(index) else {
        return e;
    };
    for (a, axis) in grid.axes().iter().enumerate() {
        if !axis.path.ends_with("max_tokens") {
            continue;
        }
        let refused: Vec<&str> = axis
            .values
            .iter()
            .filter(|v| {
                let mut overrides = sets.to_vec();
                for (k, (key, value)) in point.iter().enumerate() {
                    let value = if k == a { v.as_str() } else { value.as_str() };
                    match vary_override(origin, key, value) {
                        Ok(o) => overrides.push(o),
                        Err(_) => return false,
                    }
                }
                Scenario::from_toml_str_with(text, &path.display().to_string(), &overrides)
                    .is_err_and(|e| e.to_string().contains(MARK))
            })
            .map(String::as_str)
            .collect();
        if !refused.is_empty() {
            let detail = message.strip_prefix("error: ").unwrap_or(&message);
            return Diagnostic::flag(
                format!("{origin} {}", axis.path),
                format!(
                    "the values {} cross the model's maximum output: {detail}",
                    refused.join(", ")
                ),
            )
            .into();
        }
    }
    e
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
) -> Result<(), BadMetric> {
    let template = nest(METRICS.iter().map(|m| (m.path, serde_json::json!(0))));
    for (i, c) in constraints.iter().enumerate() {
        // Per-pool and per-workload costs are checked against the scenario's names later.
        if scoped_cost(&c.metric).is_some() {
            continue;
        }
        c.evaluate(&template).map_err(|e| {
            BadMetric::Constraint(
                i,
                format!(
                    "{}; the sweep metrics are {}",
                    e.for_constraint(),
                    metric_list()
                ),
            )
        })?;
    }
    if let Some(o) = objective
        && metric_def(&o.metric).is_none()
        && scoped_cost(&o.metric).is_none()
    {
        let hint = nearest(&o.metric, METRICS.iter().map(|m| m.path))
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
        return Err(BadMetric::Objective(
            o.to_string(),
            format!(
                "unknown metric `{}`{hint}; the sweep metrics are {}",
                o.metric,
                metric_list()
            ),
        ));
    }
    Ok(())
}

/// A constraint (its index) or the objective names no sweep metric; the caller says where
/// it came from (a flag, or a line of the `[sweep]` table).
enum BadMetric {
    Constraint(usize, String),
    Objective(String, String),
}

/// Line and column of a key of the scenario file at `path`, e.g. `sweep.constraints[1]`.
fn table_position(path: &Path, key: &str) -> Option<(usize, usize)> {
    let bytes = crate::files::read_bytes(path, "scenario").ok()?.ok()?;
    let text = String::from_utf8(bytes).ok()?;
    crate::scenario::locate_value(&text, key)
}

fn metric_list() -> String {
    format!(
        "{}, and per pool or workload {}",
        METRICS
            .iter()
            .map(|m| m.path)
            .collect::<Vec<_>>()
            .join(", "),
        crate::sweep::metrics::scoped_forms().join(", ")
    )
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
        check_threads(n)?;
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start the thread pool: {e}")))?;
    let reps = plan.replications.max(1);
    let n_jobs = plan.points.len().saturating_mul(reps);
    type Run = Option<RunMetrics>;
    // Job j is replication j % reps of point j / reps. Each loads its scenario when it runs
    // (see `SweepPlan::points`), and keeps only its key metrics.
    let results: Vec<Result<Run, Box<Error>>> = pool.install(|| {
        (0..n_jobs)
            .into_par_iter()
            .map(|j| {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let index = plan.points.get(j / reps).copied().unwrap_or_default();
                let r = (j % reps) as u64;
                let mut s = plan.scenario(index)?;
                if r > 0 {
                    s.seed = replication_seed(s.seed, r);
                }
                let metrics = run_point(plan, index, &s)?;
                progress();
                Ok(Some(metrics))
            })
            .collect()
    });
    // The first failure in index order, whatever the thread count.
    let results = results
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| *e)?;
    let interrupted = results.iter().any(Option::is_none);
    let points = plan
        .points
        .iter()
        .zip(results.chunks(reps))
        .filter(|(_, runs)| runs.iter().all(Option::is_some))
        .map(|(index, runs)| {
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
        .first
        .as_ref()
        .map(|s| (s.name.clone(), s.seed))
        .unwrap_or_else(|| (stem(&plan.path), 0));
    Ok(SweepReport {
        scenario,
        fingerprint: plan.fingerprint.clone(),
        seed,
        replications: plan.replications,
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

/// Refuses `--threads` of 0 or more than [`max_threads`].
pub fn check_threads(n: usize) -> Result<(), Error> {
    let max = max_threads();
    if n == 0 {
        return Err(Error::Usage(
            "--threads 0: expected at least 1 thread".into(),
        ));
    }
    if n > max {
        return Err(Error::Usage(format!(
            "--threads {n}: too many (max {max}, {THREADS_PER_CORE} per core on this \
             machine); the output does not depend on the thread count, so leave it out to \
             use every core"
        )));
    }
    Ok(())
}

/// One run's key metrics, and the per-pool and per-workload costs the sweep names.
type RunMetrics = ([Option<f64>; METRIC_COUNT], Vec<Option<f64>>);

/// One run of a sweep point, inside the guard rails `run` applies; an error names the point.
fn run_point(plan: &SweepPlan, index: usize, s: &Scenario) -> Result<RunMetrics, Error> {
    let file = plan.path.display().to_string();
    guard::simulate_guarded(s, &file, &plan.limits)
        .map(|rep| {
            let extra = plan
                .scoped
                .iter()
                .map(|m| scoped_value(&rep, s, m))
                .collect();
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
