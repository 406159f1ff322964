//! `quotasim plan`: the smallest (or, with `--max`, the largest) integer value of a scenario
//! key for which every constraint holds with confidence, and the demand figures an AWS
//! quota-increase request asks for ([`demand`]).
//!
//! **The search.** The candidate values form a grid over `[lo, hi]` at the resolution `R`: `lo`,
//! every multiple of `R` strictly between, and `hi`. Both ends are evaluated first (in
//! parallel); when the constraints hold at neither or at both, the answer is that they hold
//! nowhere or everywhere in the range. Otherwise a bisection over the grid keeps one value
//! where the constraints fail and one where they hold until the two are neighbours, at most
//! `R` apart: that pair is the `bracket`, and the value that holds is the answer. A grid of
//! `G` values costs `G` evaluations; the bisection about `2 + log2(G)`.
//!
//! **Evaluating a value.** `N` replications on the sweep's seeds (replication 0 is the
//! scenario's seed, replication r the r-th SplitMix64 output; see
//! [`crate::sweep::replication_seed`]), run in parallel, with the value applied as the sweep
//! applies `--vary PATH=V` after the `--set` overrides: `quotasim sweep SCENARIO --vary PATH=V
//! --replications N --set …` reproduces every value plan evaluated, metric for metric. A
//! constraint `METRIC OP N` is checked on the end of the mean's confidence interval (at
//! `--confidence`, Student's t with N − 1 degrees of freedom) that is worst for it: the upper
//! end for `<` and `<=`, the lower end for `>` and `>=`, the mean itself for `==` and `!=` and
//! with a single replication. A metric that is undefined there (no success, so no latency)
//! fails.
//!
//! **Monotonicity.** The bisection assumes that a constraint that holds at one value holds at
//! every larger one (every smaller one with `--max`). On the values it evaluated, plan checks
//! that each constraint's metric moves the expected way (for `<=` with the smallest value:
//! never rises as the value grows), beyond the sum of the two confidence half-widths, and warns
//! when it does not.
//!
//! **Defaults.** The range is `1..10×C` where `C` is the key's value in the scenario (at least
//! `1..10`); a key the scenario leaves unset (say `client.concurrency`, unlimited) needs
//! `--range`. The resolution is the smallest of 1, 2 or 5 × 10^k that is at least 1% of the
//! range, so the grid has at most about 100 values; 5 replications and 95% confidence.

pub mod demand;
pub mod html;
pub mod render;
pub mod tdist;

use std::path::Path;

use rayon::prelude::*;

use crate::assertion::{Constraint, Op};
use crate::engine::Observer;
use crate::error::Error;
use crate::guard::Limits;
use crate::report::Report;
use crate::scenario::{Override, Scenario};
use crate::sweep::metrics::{
    METRIC_COUNT, METRICS, key_metrics, metric_def, scope_exists, scoped_cost, scoped_value,
};
use crate::sweep::replication_seed;
use crate::sweep::run::{MAX_REPLICATIONS, PointMetric};
use crate::sweep::stats::Summary;

pub use demand::Demand;

/// Default `--replications`.
pub const DEFAULT_REPLICATIONS: usize = 5;
/// Default `--confidence`.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;
/// The default range's top is this many times the key's value in the scenario.
pub const DEFAULT_RANGE_FACTOR: u64 = 10;
/// The default resolution makes the grid about this many steps.
pub const DEFAULT_STEPS: u64 = 100;

/// What to plan, as given on the command line.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// `--find PATH` (`max_tokens` and `concurrency` are short for their `client.` keys).
    pub find: String,
    /// `--max`: the largest value instead of the smallest.
    pub maximize: bool,
    /// `--range LO..HI` as written.
    pub range: Option<String>,
    /// `--resolution R`.
    pub resolution: Option<u64>,
    /// `--constraint`s.
    pub constraints: Vec<Constraint>,
    /// `--replications N`.
    pub replications: Option<usize>,
    /// `--confidence C`, in (0, 1).
    pub confidence: Option<f64>,
    /// `--set PATH=VALUE` texts, applied before the searched value.
    pub set: Vec<String>,
    /// Guard rails (default: the guard rails' defaults).
    pub limits: Option<Limits>,
    /// Worker threads (`None`: every core). The result does not depend on it.
    pub threads: Option<usize>,
    /// Told how many simulations the search expects, then called after each one (the
    /// command line draws the sweep's progress bar with it).
    pub progress: Option<Progress>,
}

/// Progress callbacks of a search: `expect(n)` once the number of simulations is known
/// (a bisection's count is an estimate: `replications × (2 + ⌈log2(grid values)⌉)`), then
/// `tick()` after every simulation.
#[derive(Clone)]
pub struct Progress {
    /// The expected number of simulations.
    pub expect: std::sync::Arc<dyn Fn(u64) + Send + Sync>,
    /// One simulation finished.
    pub tick: std::sync::Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl PlanOptions {
    /// Options with defaults for everything but the key and the constraints.
    pub fn new(find: impl Into<String>, constraints: Vec<Constraint>) -> Self {
        PlanOptions {
            find: find.into(),
            maximize: false,
            range: None,
            resolution: None,
            constraints,
            replications: None,
            confidence: None,
            set: Vec::new(),
            limits: None,
            threads: None,
            progress: None,
        }
    }
}

/// One evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// The value of the key.
    pub value: u64,
    /// The key metrics over the replications, as the sweep reports a point.
    pub metrics: [PointMetric; METRIC_COUNT],
    /// The per-pool and per-workload costs the constraints name (`pools.geo.cost.usd`),
    /// summarised the same way, in constraint order.
    pub scoped: Vec<(String, PointMetric)>,
    /// Per constraint: the worst end of its metric's interval at `--confidence` (`None`:
    /// undefined) and whether the constraint holds there.
    pub checks: Vec<(Option<f64>, bool)>,
}

impl Evaluated {
    /// Whether every constraint holds.
    pub fn holds(&self) -> bool {
        self.checks.iter().all(|c| c.1)
    }

    /// The key metric, or constrained per-pool or per-workload cost, at `path`.
    pub fn metric(&self, path: &str) -> Option<&PointMetric> {
        match metric_def(path) {
            Some((i, _)) => self.metrics.get(i),
            None => self.scoped.iter().find(|(p, _)| p == path).map(|(_, m)| m),
        }
    }
}

/// How the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A value was found between a failing and a holding neighbour.
    Found,
    /// The constraints hold at both ends of the range (the answer is the end itself).
    HoldsEverywhere,
    /// The constraints hold at neither end: no value in the range qualifies.
    HoldsNowhere,
    /// They hold only at the end where they should be hardest: not monotone.
    HoldsAtWrongEnd,
}

impl Outcome {
    /// The JSON spelling.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Found => "found",
            Outcome::HoldsEverywhere => "holds_everywhere",
            Outcome::HoldsNowhere => "holds_nowhere",
            Outcome::HoldsAtWrongEnd => "holds_at_wrong_end",
        }
    }
}

/// The result of `plan`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanReport {
    /// Scenario name.
    pub scenario: String,
    /// Scenario seed (replication 0's).
    pub seed: u64,
    /// The key searched, as given.
    pub find: String,
    /// `--max`.
    pub maximize: bool,
    /// The range searched.
    pub range: (u64, u64),
    /// The resolution.
    pub resolution: u64,
    /// Replications per value.
    pub replications: usize,
    /// Confidence level.
    pub confidence: f64,
    /// The constraints.
    pub constraints: Vec<Constraint>,
    /// `--set` texts.
    pub set: Vec<String>,
    /// How the search ended.
    pub outcome: Outcome,
    /// The answer, when one qualifies.
    pub value: Option<u64>,
    /// `[lo, hi]`: the answer and its failing neighbour, increasing, at most one resolution
    /// apart; `None` without both.
    pub bracket: Option<(u64, u64)>,
    /// Whether the evaluated values were consistent with monotone constraints.
    pub monotonic: bool,
    /// Why not, one line each.
    pub warnings: Vec<String>,
    /// Simulations the search ran (the demand run not included).
    pub simulations: usize,
    /// What a sweep of the grid with the same replications would run.
    pub grid_simulations: usize,
    /// Every value evaluated, in increasing order.
    pub evaluated: Vec<Evaluated>,
    /// The demand figures.
    pub demand: Demand,
}

impl PlanReport {
    /// The evaluation at the answer.
    pub fn at_value(&self) -> Option<&Evaluated> {
        let v = self.value?;
        self.evaluated.iter().find(|e| e.value == v)
    }
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// Parses `LO..HI` (integers, LO < HI).
pub fn parse_range(text: &str) -> Result<(u64, u64), Error> {
    let form = "expected LO..HI with integers LO < HI, e.g. --range 20000..2000000";
    let Some((lo, hi)) = text.split_once("..") else {
        return Err(usage(format!("--range {text}: {form}")));
    };
    let int = |s: &str| {
        s.trim().replace('_', "").parse::<u64>().map_err(|_| {
            usage(format!(
                "--range {text}: `{}` is not an integer; {form}",
                s.trim()
            ))
        })
    };
    let (lo, hi) = (int(lo)?, int(hi)?);
    if lo >= hi {
        let what = if lo == hi { "empty" } else { "reversed" };
        return Err(usage(format!(
            "--range {text}: the range is {what} (LO must be below HI); {form}"
        )));
    }
    Ok((lo, hi))
}

/// The smallest of 1, 2 or 5 × 10^k that is at least `x`.
fn nice_at_least(x: u64) -> u64 {
    let mut p: u64 = 1;
    loop {
        for m in [1, 2, 5] {
            let v = p.saturating_mul(m);
            if v >= x || v == u64::MAX {
                return v;
            }
        }
        p = p.saturating_mul(10);
    }
}

/// The default resolution of a range: a round step giving at most about 100 steps.
pub fn default_resolution(lo: u64, hi: u64) -> u64 {
    nice_at_least((hi - lo).div_ceil(DEFAULT_STEPS).max(1))
}

/// The grid: `lo`, every multiple of `r` strictly between `lo` and `hi`, and `hi`.
#[derive(Debug, Clone, Copy)]
struct Grid {
    lo: u64,
    hi: u64,
    r: u64,
}

impl Grid {
    fn len(&self) -> u64 {
        // multiples of r in (lo, hi)
        let inner = (self.hi - 1) / self.r - self.lo / self.r;
        inner.saturating_add(2)
    }

    fn value(&self, i: u64) -> u64 {
        if i == 0 {
            return self.lo;
        }
        if i + 1 >= self.len() {
            return self.hi;
        }
        (self.lo / self.r).saturating_add(i).saturating_mul(self.r)
    }
}

/// The integer at `path` in the resolved scenario, if it holds one; an error when it holds
/// something else.
pub(crate) fn integer_at(s: &Scenario, path: &[String], find: &str) -> Result<Option<u64>, Error> {
    let table: toml::Table = toml::from_str(&s.to_toml())
        .map_err(|e| Error::Runtime(format!("cannot read the resolved scenario: {e}")))?;
    let mut cur = toml::Value::Table(table);
    for key in path {
        let next = match &cur {
            // A short-form quota key (`quota.tokens_per_minute`) is printed as the limit of
            // that name in the table's `limits` array.
            toml::Value::Table(t) => t.get(key).cloned().or_else(|| limit_named(t, key)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Ok(None),
        }
    }
    let holds = match &cur {
        toml::Value::Integer(n) => return Ok(u64::try_from(*n).ok()),
        toml::Value::Float(_) | toml::Value::String(_) | toml::Value::Boolean(_) => {
            format!("the {} `{cur}`", cur.type_str())
        }
        other => format!("a {}", other.type_str()),
    };
    Err(usage(format!(
        "--find {find}: not an integer key (it holds {holds}); plan searches integer keys \
         such as quota.tokens_per_minute, client.concurrency or max_tokens"
    )))
}

/// The `limit` of the entry named `name` in a resolved quota table's `limits` array.
fn limit_named(table: &toml::Table, name: &str) -> Option<toml::Value> {
    table
        .get("limits")?
        .as_array()?
        .iter()
        .filter_map(toml::Value::as_table)
        .find(|l| l.get("name").and_then(toml::Value::as_str) == Some(name))?
        .get("limit")
        .cloned()
}

/// Validates the options, loads the scenario, and returns everything the search needs.
struct Prepared {
    base: Scenario,
    sets: Vec<Override>,
    grid: Grid,
    replications: usize,
    confidence: f64,
    limits: Limits,
}

fn prepare(path: &Path, opts: &PlanOptions) -> Result<Prepared, Error> {
    let confidence = opts.confidence.unwrap_or(DEFAULT_CONFIDENCE);
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(usage(format!(
            "--confidence {confidence}: expected a level strictly between 0 and 1, e.g. 0.95"
        )));
    }
    let replications = opts.replications.unwrap_or(DEFAULT_REPLICATIONS);
    if !(1..=MAX_REPLICATIONS).contains(&replications) {
        return Err(usage(format!(
            "--replications {replications}: expected an integer from 1 to {MAX_REPLICATIONS}"
        )));
    }
    if opts.resolution == Some(0) {
        return Err(usage(
            "--resolution 0: expected a step of at least 1 between the values tried",
        ));
    }
    if opts.constraints.is_empty() {
        return Err(usage(
            "plan needs at least one --constraint \"METRIC OP N\", e.g. --constraint \"throttle_rate <= 0.01\"",
        ));
    }
    validate_constraints(&opts.constraints)?;
    let range = opts.range.as_deref().map(parse_range).transpose()?;
    let sets = opts
        .set
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let key = Override::parse(&format!("{}=1", opts.find))
        .map_err(|_| {
            usage(format!(
                "--find {}: expected a dotted key such as quota.tokens_per_minute",
                opts.find
            ))
        })?
        .path;
    let base = Scenario::from_path(path, &sets)?;
    let current = integer_at(&base, &key, &opts.find)?;
    if current.is_none() {
        // An unknown key is the loader's error, with its suggestions.
        with_value(path, &sets, &opts.find, range.map_or(1, |r| r.0))?;
    }
    let (lo, hi) = match (range, current) {
        (Some(r), _) => r,
        (None, Some(c)) => (1, c.saturating_mul(DEFAULT_RANGE_FACTOR).max(10)),
        (None, None) => {
            return Err(usage(format!(
                "--find {}: the scenario does not set this key, so there is no default range; \
                 pass --range LO..HI",
                opts.find
            )));
        }
    };
    // The key must hold an integer once set (catches keys the scenario does not use).
    let probe = with_value(path, &sets, &opts.find, lo)?;
    if integer_at(&probe, &key, &opts.find)?.is_none() {
        return Err(usage(format!(
            "--find {}: not an integer key of this scenario (setting it to {lo} leaves no \
             integer there)",
            opts.find
        )));
    }
    let resolution = opts
        .resolution
        .unwrap_or_else(|| default_resolution(lo, hi));
    Ok(Prepared {
        base,
        sets,
        grid: Grid {
            lo,
            hi,
            r: resolution,
        },
        replications,
        confidence,
        limits: opts.limits.clone().unwrap_or_default(),
    })
}

/// Every constraint must name a key metric (as the sweep requires) or a per-pool or
/// per-workload cost, with suggestions.
fn validate_constraints(constraints: &[Constraint]) -> Result<(), Error> {
    let template =
        crate::sweep::metrics::nest(METRICS.iter().map(|m| (m.path, serde_json::json!(0))));
    for c in constraints
        .iter()
        .filter(|c| scoped_cost(&c.metric).is_none())
    {
        c.evaluate(&template).map_err(|e| {
            usage(format!(
                "--constraint: {}; the metrics are {}, and per pool or workload {}",
                e.for_constraint(),
                METRICS
                    .iter()
                    .map(|m| m.path)
                    .collect::<Vec<_>>()
                    .join(", "),
                crate::sweep::metrics::scoped_forms().join(", ")
            ))
        })?;
    }
    Ok(())
}

/// The scenario at `path` with the `--set` overrides, then `find = value` (the sweep's order).
fn with_value(path: &Path, sets: &[Override], find: &str, value: u64) -> Result<Scenario, Error> {
    let text = format!("{find}={value}");
    let mut o = Override::parse(&text)?;
    o.raw = format!("--find {text}");
    let mut overrides = sets.to_vec();
    overrides.push(o);
    Scenario::from_path(path, &overrides)
}

/// Every simulation plan runs goes through here: the guard rails' size checks before the run
/// and the engine's limits during it, as for `run` and each point of `sweep`.
pub(crate) fn guarded_simulate<'a>(
    s: &'a Scenario,
    file: &str,
    limits: &Limits,
    observer: Option<&'a mut dyn Observer>,
) -> Result<Report, Error> {
    crate::guard::simulate_guarded_with(s, file, limits, observer)
}

/// The worst end of `m`'s interval for `c`, at `confidence`.
fn worst_end(c: &Constraint, values: &[f64], confidence: f64) -> Option<f64> {
    let s = Summary::of(values)?;
    let half = match (c.op, s.sd) {
        (Op::Eq | Op::Ne, _) | (_, None) => 0.0,
        (_, Some(sd)) => tdist::interval_factor(confidence, s.n) * sd / (s.n as f64).sqrt(),
    };
    Some(match c.op {
        Op::Lt | Op::Le => s.mean + half,
        Op::Gt | Op::Ge => s.mean - half,
        Op::Eq | Op::Ne => s.mean,
    })
}

/// Runs the replications of every value in `values` in parallel and summarises them.
fn evaluate(
    path: &Path,
    opts: &PlanOptions,
    p: &Prepared,
    values: &[u64],
) -> Result<Vec<Evaluated>, Error> {
    let file = path.display().to_string();
    let scenarios = values
        .iter()
        .map(|&v| {
            let s = with_value(path, &p.sets, &opts.find, v)?;
            // The same per-value refusal the sweep makes before running anything.
            let size = crate::guard::check_size(&s, &file, &p.limits)?;
            let total = size
                .min_events
                .saturating_mul(u64::try_from(p.replications).unwrap_or(u64::MAX));
            if total > p.limits.max_events {
                return Err(usage(format!(
                    "{}={v} is too big to simulate {} times: at least {total} events, more \
                     than --max-events {}; lower --replications, shorten `duration`, or raise \
                     --max-events",
                    opts.find, p.replications, p.limits.max_events
                )));
            }
            Ok(s)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // Per-pool and per-workload costs the constraints name, once each; their pool or
    // workload must exist.
    let mut scoped: Vec<&str> = Vec::new();
    for c in &opts.constraints {
        if let Some((scope, name, _)) = scoped_cost(&c.metric) {
            if let Some(s) = scenarios.first()
                && !scope_exists(s, scope, name)
            {
                return Err(usage(format!(
                    "--constraint {c}: the scenario has no {} `{name}` (per-{} figures exist \
                     when it has two or more pools or workloads)",
                    if scope == "pools" { "pool" } else { "workload" },
                    if scope == "pools" { "pool" } else { "workload" },
                )));
            }
            if !scoped.contains(&c.metric.as_str()) {
                scoped.push(&c.metric);
            }
        }
    }
    let jobs: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|i| (0..p.replications as u64).map(move |r| (i, r)))
        .collect();
    type Run = ([Option<f64>; METRIC_COUNT], Vec<Option<f64>>);
    let runs: Vec<Result<Run, Error>> = jobs
        .par_iter()
        .map(|&(i, r)| {
            let base = scenarios
                .get(i)
                .ok_or_else(|| Error::Runtime(format!("no scenario for value {i}")))?;
            let mut s = base.clone();
            s.seed = replication_seed(base.seed, r);
            let rep = guarded_simulate(&s, &file, &p.limits, None)?;
            if let Some(progress) = &opts.progress {
                (progress.tick)();
            }
            let extra = scoped.iter().map(|m| scoped_value(&rep, &s, m)).collect();
            Ok((key_metrics(&rep, &s), extra))
        })
        .collect();
    let runs = runs.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(values.len());
    for (&value, chunk) in values.iter().zip(runs.chunks(p.replications.max(1))) {
        let mut columns: [Vec<f64>; METRIC_COUNT] = Default::default();
        let mut extra: Vec<Vec<f64>> = vec![Vec::new(); scoped.len()];
        for (run, more) in chunk {
            for (col, v) in columns.iter_mut().zip(run) {
                col.push(v.unwrap_or(f64::NAN));
            }
            for (col, v) in extra.iter_mut().zip(more) {
                col.push(v.unwrap_or(f64::NAN));
            }
        }
        let checks = opts
            .constraints
            .iter()
            .map(|c| {
                let col = match metric_def(&c.metric) {
                    Some((i, _)) => columns.get(i),
                    None => scoped
                        .iter()
                        .position(|m| *m == c.metric)
                        .and_then(|i| extra.get(i)),
                }
                .map_or(&[][..], Vec::as_slice);
                let worst = worst_end(c, col, p.confidence);
                (worst, worst.is_some_and(|w| c.op.holds(w, c.value)))
            })
            .collect();
        out.push(Evaluated {
            value,
            metrics: columns.map(|c| point_metric(&c)),
            scoped: scoped
                .iter()
                .zip(&extra)
                .map(|(m, c)| (m.to_string(), point_metric(c)))
                .collect(),
            checks,
        });
    }
    Ok(out)
}

/// A metric's summary exactly as the sweep computes it.
fn point_metric(values: &[f64]) -> PointMetric {
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

/// Checks, on the evaluated values (in increasing order), that each constraint's metric moves
/// the way the search assumes, beyond the two values' confidence half-widths.
fn monotonicity(
    find: &str,
    maximize: bool,
    constraints: &[Constraint],
    evaluated: &[Evaluated],
    confidence: f64,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for c in constraints {
        // +1: the metric should not rise as the value grows; −1: should not fall.
        let want_falling = match c.op {
            Op::Lt | Op::Le => !maximize,
            Op::Gt | Op::Ge => maximize,
            Op::Eq | Op::Ne => continue,
        };
        if metric_def(&c.metric).is_none() && scoped_cost(&c.metric).is_none() {
            continue;
        }
        let stat = |e: &Evaluated| -> Option<(f64, f64)> {
            let m = e.metric(&c.metric)?;
            let mean = m.mean?;
            let half = match (m.ci95_half_width, m.n) {
                (Some(h95), n) if n > 1 => {
                    // rescale the 95% half-width to the requested confidence
                    h95 / crate::sweep::stats::t_quantile_975(n - 1)
                        * tdist::interval_factor(confidence, n)
                }
                _ => 0.0,
            };
            Some((mean, half))
        };
        for pair in evaluated.windows(2) {
            let [a, b] = pair else { continue };
            let (Some((ma, ha)), Some((mb, hb))) = (stat(a), stat(b)) else {
                continue;
            };
            let wrong = if want_falling {
                mb - ma > ha + hb
            } else {
                ma - mb > ha + hb
            };
            if wrong {
                warnings.push(format!(
                    "{} {} from {} at {find}={} to {} at {find}={}, against the direction the \
                     search assumes for `{c}`",
                    c.metric,
                    if mb > ma { "rises" } else { "falls" },
                    render::short(ma),
                    a.value,
                    render::short(mb),
                    b.value
                ));
            }
        }
    }
    warnings
}

/// Plans on `path`: validates the options, computes the demand, searches, and checks
/// monotonicity. Invalid options are [`Error::Usage`] (exit status 2).
pub fn plan(path: &Path, opts: &PlanOptions) -> Result<PlanReport, Error> {
    let p = prepare(path, opts)?;
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = opts.threads {
        if n == 0 {
            return Err(usage("--threads 0: expected at least 1 thread"));
        }
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start the thread pool: {e}")))?;
    pool.install(|| search(path, opts, &p))
}

fn search(path: &Path, opts: &PlanOptions, p: &Prepared) -> Result<PlanReport, Error> {
    let file = path.display().to_string();
    let g = p.grid;
    let n = g.len();
    if let Some(progress) = &opts.progress {
        let steps = u64::from(64 - n.saturating_sub(1).leading_zeros());
        (progress.expect)((2 + steps).saturating_mul(p.replications as u64));
    }
    let mut evaluated: Vec<Evaluated> = Vec::new();
    let ((demand, ends), simulations) = {
        let (d, e) = rayon::join(
            || {
                demand::demand(&p.base, |s, obs| {
                    guarded_simulate(s, &file, &p.limits, Some(obs))
                })
            },
            || evaluate(path, opts, p, &[g.lo, g.hi]),
        );
        ((d?, e?), 2 * p.replications)
    };
    let mut simulations = simulations;
    let holds_lo = ends.first().is_some_and(Evaluated::holds);
    let holds_hi = ends.last().is_some_and(Evaluated::holds);
    evaluated.extend(ends);
    // `pass` is the index that holds, `fail` the one that fails.
    let (outcome, mut pass, mut fail) = match (opts.maximize, holds_lo, holds_hi) {
        (_, true, true) => (Outcome::HoldsEverywhere, None, None),
        (_, false, false) => (Outcome::HoldsNowhere, None, None),
        (false, false, true) => (Outcome::Found, Some(n - 1), Some(0)),
        (true, true, false) => (Outcome::Found, Some(0), Some(n - 1)),
        (false, true, false) => (Outcome::HoldsAtWrongEnd, Some(0), None),
        (true, false, true) => (Outcome::HoldsAtWrongEnd, Some(n - 1), None),
    };
    if let (Some(mut a), Some(mut b)) = (pass, fail) {
        while a.abs_diff(b) > 1 {
            let mid = a.min(b) + a.abs_diff(b) / 2;
            let e = evaluate(path, opts, p, &[g.value(mid)])?;
            simulations += p.replications;
            let holds = e.first().is_some_and(Evaluated::holds);
            evaluated.extend(e);
            if holds {
                a = mid;
            } else {
                b = mid;
            }
        }
        pass = Some(a);
        fail = Some(b);
    }
    evaluated.sort_by_key(|e| e.value);
    let value = match outcome {
        Outcome::HoldsEverywhere => Some(if opts.maximize { g.hi } else { g.lo }),
        Outcome::HoldsNowhere => None,
        Outcome::Found | Outcome::HoldsAtWrongEnd => pass.map(|i| g.value(i)),
    };
    let bracket = match (pass, fail) {
        (Some(a), Some(b)) => {
            let (x, y) = (g.value(a), g.value(b));
            Some((x.min(y), x.max(y)))
        }
        _ => None,
    };
    let mut warnings = monotonicity(
        &opts.find,
        opts.maximize,
        &opts.constraints,
        &evaluated,
        p.confidence,
    );
    let monotonic = warnings.is_empty();
    if outcome == Outcome::HoldsAtWrongEnd {
        let (held, failed) = if opts.maximize {
            (g.hi, g.lo)
        } else {
            (g.lo, g.hi)
        };
        warnings.insert(
            0,
            format!(
                "the constraints hold at {}={held} but not at {failed}: they are not monotone \
                 in this key the way the search assumes ({})",
                opts.find,
                if opts.maximize {
                    "drop --max to find the smallest value"
                } else {
                    "pass --max to find the largest value"
                }
            ),
        );
    }
    if p.replications == 1 {
        warnings.push(
            "--replications 1: one replication has no confidence interval, so each \
             constraint was checked on a single run's value, not with any confidence; pass \
             --replications 2 or more (default 5) for an interval"
                .to_string(),
        );
    }
    Ok(PlanReport {
        scenario: p.base.name.clone(),
        seed: p.base.seed,
        find: opts.find.clone(),
        maximize: opts.maximize,
        range: (g.lo, g.hi),
        resolution: g.r,
        replications: p.replications,
        confidence: p.confidence,
        constraints: opts.constraints.clone(),
        set: opts.set.clone(),
        outcome,
        value,
        bracket,
        monotonic,
        warnings,
        simulations,
        grid_simulations: usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_mul(p.replications),
        evaluated,
        demand,
    })
}

/// The key path `find` stands for (with the `max_tokens` / `concurrency` shorthands).
pub fn key_path(find: &str) -> Option<String> {
    Override::parse(&format!("{find}=1"))
        .ok()
        .map(|o| o.path.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("1..10").unwrap(), (1, 10));
        assert_eq!(parse_range(" 20_000 .. 400000").unwrap(), (20_000, 400_000));
        for bad in ["10..10", "10..1", "1..", "..5", "a..b", "5", "-1..4"] {
            let e = parse_range(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        assert!(
            parse_range("10..1")
                .unwrap_err()
                .to_string()
                .contains("reversed")
        );
        assert!(
            parse_range("3..3")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
    }

    #[test]
    fn resolutions_are_round() {
        assert_eq!(default_resolution(1, 2_000_000), 20_000);
        assert_eq!(default_resolution(1, 320), 5);
        assert_eq!(default_resolution(1, 10), 1);
        assert_eq!(default_resolution(0, 101), 2);
    }

    #[test]
    fn grid_values() {
        let g = Grid {
            lo: 1,
            hi: 100,
            r: 20,
        };
        let v: Vec<u64> = (0..g.len()).map(|i| g.value(i)).collect();
        assert_eq!(v, [1, 20, 40, 60, 80, 100]);
        let g = Grid {
            lo: 0,
            hi: 10,
            r: 5,
        };
        let v: Vec<u64> = (0..g.len()).map(|i| g.value(i)).collect();
        assert_eq!(v, [0, 5, 10]);
        let g = Grid { lo: 3, hi: 7, r: 1 };
        let v: Vec<u64> = (0..g.len()).map(|i| g.value(i)).collect();
        assert_eq!(v, [3, 4, 5, 6, 7]);
        let g = Grid {
            lo: 3,
            hi: 7,
            r: 100,
        };
        let v: Vec<u64> = (0..g.len()).map(|i| g.value(i)).collect();
        assert_eq!(v, [3, 7]);
        // neighbours are never more than one resolution apart
        let g = Grid {
            lo: 7,
            hi: 1003,
            r: 50,
        };
        let v: Vec<u64> = (0..g.len()).map(|i| g.value(i)).collect();
        assert!(
            v.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= 50),
            "{v:?}"
        );
    }

    fn point(value: u64, throttle: f64, half: Option<f64>) -> Evaluated {
        let mut metrics = [PointMetric {
            mean: None,
            ci95_half_width: None,
            n: 0,
        }; METRIC_COUNT];
        let (i, _) = metric_def("throttle_rate").unwrap();
        metrics[i] = PointMetric {
            mean: Some(throttle),
            ci95_half_width: half,
            n: if half.is_some() { 5 } else { 1 },
        };
        Evaluated {
            value,
            metrics,
            scoped: vec![],
            checks: vec![],
        }
    }

    #[test]
    fn monotonicity_is_checked_beyond_the_intervals() {
        let c = vec![Constraint::parse("throttle_rate <= 0.01").unwrap()];
        let falling = [
            point(1, 0.5, None),
            point(2, 0.2, None),
            point(3, 0.0, None),
        ];
        assert!(monotonicity("k", false, &c, &falling, 0.95).is_empty());
        // With --max the same metric must not fall as the value grows.
        let w = monotonicity("k", true, &c, &falling, 0.95);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("falls from 0.5000 at k=1 to 0.2000 at k=2"),
            "{w:?}"
        );
        // A rise within the two half-widths is noise, beyond them a violation.
        let noisy = [point(1, 0.10, Some(0.05)), point(2, 0.15, Some(0.05))];
        assert!(monotonicity("k", false, &c, &noisy, 0.95).is_empty());
        let rising = [point(1, 0.10, Some(0.01)), point(2, 0.15, Some(0.01))];
        let w = monotonicity("k", false, &c, &rising, 0.95);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("rises"), "{w:?}");
        // == has no direction.
        let eq = vec![Constraint::parse("throttle_rate == 0").unwrap()];
        assert!(monotonicity("k", false, &eq, &rising, 0.95).is_empty());
    }

    #[test]
    fn worst_end_of_the_interval() {
        let le = Constraint::parse("throttle_rate <= 0.5").unwrap();
        let ge = Constraint::parse("throttle_rate >= 0.5").unwrap();
        // Mean 2, sd √2, n = 2: the half-width is t(0.975, 1) × √2 / √2, and the t table
        // gives t(0.975, 1) = 12.706205.
        let v = [1.0, 3.0];
        assert!((worst_end(&le, &v, 0.95).unwrap() - 14.706_205).abs() < 1e-6);
        assert!((worst_end(&ge, &v, 0.95).unwrap() - -10.706_205).abs() < 1e-6);
        assert_eq!(worst_end(&le, &[2.0], 0.95), Some(2.0));
        assert_eq!(worst_end(&le, &[f64::NAN], 0.95), None);
    }
}
