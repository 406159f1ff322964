//! `quotasim calibrate SCENARIO --observed METRICS.json [--fit KEY=LO..HI]…`: compare a
//! simulation with the CloudWatch metrics an account observed, and fit the unknowns.
//!
//! **Alignment.** When the scenario sets `start`, an observed timestamp T is simulated minute
//! `(T − start) / 60 s`; otherwise the earliest observed timestamp is minute 0. The compared
//! window runs from the first to the last observed minute; a sum missing from the export in
//! that window is 0 (CloudWatch returns no datapoint for an empty minute), a simulated minute
//! outside it is ignored. Averages are compared on the minutes where both have a value.
//!
//! **Objective** of `--fit`: for each observed series of `InvocationThrottles` and of
//! `EstimatedTPMQuotaUsage` (totals and per pool, as present in the export), the per-minute
//! error `‖sim − obs‖₂ / max(‖obs‖₂, 1)` over the window; the error of a point is the sum
//! over those series (0 is a perfect match). The search evaluates an evenly spaced grid of
//! each key's range (all points in parallel), keeps the best point (ties: the smallest
//! values), narrows each range to the grid neighbours of the two best points and repeats
//! until every integer there has been tried or the range is narrower than 0.005% of its
//! values. It is deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use super::cloudwatch::{METRICS, Observed, Stat, read_export};
use crate::error::Error;
use crate::guard::Limits;
use crate::metrics::minutes::{MinuteCounts, Minutes};
use crate::scenario::{Override, Scenario};

/// Points per key in each round of the grid (one key); two keys use [`GRID_2D`] per key.
const GRID_1D: u64 = 9;
const GRID_2D: u64 = 9;
/// The best points of a round around which the next round refines (more than one, so that
/// a rugged error surface does not trap the search in the first dip it finds).
const CANDIDATES: usize = 2;
/// The search stops refining a key once its values are this many parts apart (0.005%: a
/// quota of 300,000 to within 15 tokens).
const RESOLUTION: u64 = 20_000;
/// Rounds of refinement at most (each narrows a range about 8-fold, or 4-fold for two keys).
const MAX_ROUNDS: usize = 40;
/// The most `--fit` keys.
pub const MAX_FIT_KEYS: usize = 2;

/// One `--fit KEY=LO..HI`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitKey {
    /// The dotted key.
    pub key: String,
    /// Lowest value tried.
    pub lo: u64,
    /// Highest value tried.
    pub hi: u64,
}

impl std::str::FromStr for FitKey {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let form = "expected KEY=LO..HI with integers LO < HI, e.g. quota.tokens_per_minute=100000..2000000";
        let Some((key, range)) = text.split_once('=') else {
            return Err(form.to_string());
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("no key before `=`; {form}"));
        }
        let (lo, hi) = crate::plan::parse_range(range.trim())
            .map_err(|e| e.to_string().replace("--range ", ""))?;
        Ok(FitKey {
            key: key.to_string(),
            lo,
            hi,
        })
    }
}

/// What `calibrate` is asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--set` overrides applied before anything else.
    pub set: Vec<Override>,
    /// The keys to fit (at most two).
    pub fit: Vec<FitKey>,
    /// Guard rails of every simulation.
    pub limits: Limits,
}

/// One compared series.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricComparison {
    /// `NAME` for a total, `NAME ModelId` for a pool.
    pub name: String,
    /// Observed total over the window (averages: the mean of the minutes with a value).
    pub observed: f64,
    /// Simulated, likewise.
    pub simulated: f64,
    /// `(simulated − observed) / observed` (`None` when observed is 0 and simulated not).
    pub relative_error: Option<f64>,
    /// Pearson correlation of the per-minute values (`None` when either is constant).
    pub correlation: Option<f64>,
}

/// The best values of `--fit`.
#[derive(Debug, Clone, PartialEq)]
pub struct FitResult {
    /// (key, best value, lowest and highest value tried with the same error).
    pub keys: Vec<(String, u64, u64, u64)>,
    /// The objective there.
    pub error: f64,
    /// Every point evaluated: its values and error, sorted by values.
    pub curve: Vec<(Vec<u64>, f64)>,
    /// Simulations run.
    pub simulations: usize,
}

/// `calibrate`'s answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The scenario as named.
    pub scenario: String,
    /// The observed file as named.
    pub observed: String,
    /// First and last compared minute (simulated minutes; may be negative before the run).
    pub window: (i64, i64),
    /// Wall-clock instant of simulated minute 0, seconds since the epoch.
    pub start: i64,
    /// Per metric, at the scenario's values (or the fitted ones with `--fit`).
    pub metrics: Vec<MetricComparison>,
    /// With `--fit`.
    pub fit: Option<FitResult>,
    /// The `--fit` ranges searched.
    pub fit_ranges: Vec<(u64, u64)>,
}

/// The points of the search's first round.
fn first_grid(ranges: &[(u64, u64)]) -> Vec<Vec<u64>> {
    let n = if ranges.len() == 1 { GRID_1D } else { GRID_2D };
    let mut points: Vec<Vec<u64>> = vec![Vec::new()];
    for &(lo, hi) in ranges {
        points = points
            .into_iter()
            .flat_map(|p| {
                grid(lo, hi, n).into_iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(v);
                    q
                })
            })
            .collect();
    }
    points
}

/// One observed series on the simulation's minutes.
#[derive(Debug, Clone)]
struct Aligned {
    metric: usize,
    /// `None`: the totals; else the pool index.
    pool: Option<usize>,
    name: String,
    /// (minute, value).
    points: Vec<(i64, f64)>,
}

/// Aligned series, the window `[first, last + 1)` in simulated minutes, and the instant of
/// minute 0.
type Alignment = (Vec<Aligned>, (i64, i64), i64);
/// A grid's values per key.
type Axes = Vec<Vec<u64>>;

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// Runs `calibrate`.
pub fn calibrate(
    scenario: &Path,
    observed_path: &Path,
    observed: &Value,
    opts: &Options,
) -> Result<Calibration, Error> {
    let file = scenario.display().to_string();
    let obs_name = observed_path.display().to_string();
    if opts.fit.len() > MAX_FIT_KEYS {
        return Err(usage(format!(
            "--fit: {} keys given; calibrate fits one or two keys",
            opts.fit.len()
        )));
    }
    for (i, k) in opts.fit.iter().enumerate() {
        if opts.fit.iter().skip(i + 1).any(|o| o.key == k.key) {
            return Err(usage(format!("--fit {}: the key is given twice", k.key)));
        }
    }
    let series = read_export(observed).map_err(|e| usage(format!("{obs_name}: {e}")))?;
    let base = Scenario::from_path(scenario, &opts.set)?;
    for k in &opts.fit {
        check_integer_key(scenario, &opts.set, k)?;
    }
    let (aligned, window, start) = align(&base, &series, &obs_name)?;
    if !opts.fit.is_empty()
        && !aligned
            .iter()
            .any(|a| METRICS.get(a.metric).is_some_and(is_objective))
    {
        return Err(usage(format!(
            "{obs_name}: --fit needs InvocationThrottles or EstimatedTPMQuotaUsage in the export (its objective compares them)"
        )));
    }
    let fit = if opts.fit.is_empty() {
        None
    } else {
        Some(search(scenario, &file, opts, &aligned, window)?)
    };
    // The comparison at the scenario's values, or at the fitted ones.
    let s = match &fit {
        None => base,
        Some(f) => with_values(scenario, &opts.set, &opts.fit, &best_values(f))?,
    };
    let minutes = simulate(&s, &file, &opts.limits)?;
    let metrics = aligned
        .iter()
        .map(|a| compare(a, &minutes, window))
        .collect();
    let mut window_out = window;
    window_out.1 -= 1;
    Ok(Calibration {
        scenario: file,
        observed: obs_name,
        window: window_out,
        start,
        metrics,
        fit,
        fit_ranges: opts.fit.iter().map(|k| (k.lo, k.hi)).collect(),
    })
}

fn is_objective(m: &super::cloudwatch::Metric) -> bool {
    m.name == "InvocationThrottles" || m.name == "EstimatedTPMQuotaUsage"
}

fn best_values(f: &FitResult) -> Vec<u64> {
    f.keys.iter().map(|k| k.1).collect()
}

/// The key must hold an integer once set to LO (plan's rule).
fn check_integer_key(path: &Path, sets: &[Override], k: &FitKey) -> Result<(), Error> {
    let key_path = Override::parse(&format!("{}=1", k.key))
        .map_err(|_| {
            usage(format!(
                "--fit {}: expected a dotted key such as quota.tokens_per_minute",
                k.key
            ))
        })?
        .path;
    let base = Scenario::from_path(path, sets)?;
    if let Err(e) = crate::plan::integer_at(&base, &key_path, &k.key) {
        return Err(usage(
            e.to_string()
                .replace("--find", "--fit")
                .replace("plan searches", "calibrate fits"),
        ));
    }
    // Set to LO, then to HI (a key whose default is 0 is not written out at 0).
    let probe = with_values(path, sets, std::slice::from_ref(k), &[k.lo])?;
    let mut found = crate::plan::integer_at(&probe, &key_path, &k.key);
    if matches!(found, Ok(None)) {
        let probe = with_values(path, sets, std::slice::from_ref(k), &[k.hi])?;
        found = crate::plan::integer_at(&probe, &key_path, &k.key);
    }
    match found {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(usage(format!(
            "--fit {}: not an integer key of this scenario (setting it to {} or {} leaves no integer there)",
            k.key, k.lo, k.hi
        ))),
        Err(e) => Err(usage(
            e.to_string()
                .replace("--find", "--fit")
                .replace("plan searches", "calibrate fits"),
        )),
    }
}

fn with_values(
    path: &Path,
    sets: &[Override],
    keys: &[FitKey],
    values: &[u64],
) -> Result<Scenario, Error> {
    let mut overrides = sets.to_vec();
    for (k, v) in keys.iter().zip(values) {
        let text = format!("{}={v}", k.key);
        let mut o = Override::parse(&text)?;
        o.raw = format!("--fit {text}");
        overrides.push(o);
    }
    Scenario::from_path(path, &overrides)
}

fn simulate(s: &Scenario, file: &str, limits: &Limits) -> Result<Minutes, Error> {
    crate::guard::simulate_minutes_guarded(s, file, limits).map(|(_, m)| m)
}

/// Maps every observed series onto simulated minutes; returns them, the window
/// `[first, last + 1)` and the instant of minute 0.
fn align(s: &Scenario, series: &[Observed], obs_name: &str) -> Result<Alignment, Error> {
    let first = series
        .iter()
        .filter_map(|o| o.points.first().map(|p| p.0))
        .min();
    let Some(first) = first else {
        return Err(usage(format!("{obs_name}: the export has no datapoints")));
    };
    let start = match s.start {
        Some(t) => {
            if (first - t).rem_euclid(60) != 0 {
                return Err(usage(format!(
                    "{obs_name}: its timestamps are not whole minutes from the scenario's start {} (first: {})",
                    super::format_utc(t, "Z"),
                    super::format_utc(first, "Z")
                )));
            }
            t
        }
        None => first,
    };
    let ids = super::cloudwatch::pool_model_ids(s);
    let mut out = Vec::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for o in series {
        let pool = match &o.model_id {
            None => None,
            Some(id) => Some(pool_of(s, &ids, id).ok_or_else(|| {
                usage(format!(
                    "{obs_name}: series {} names model ID {id}, which no pool of the scenario serves (pools: {})",
                    o.id,
                    s.pools
                        .iter()
                        .zip(&ids)
                        .map(|(p, m)| format!("{} = {m}", p.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?),
        };
        let points: Vec<(i64, f64)> = o
            .points
            .iter()
            .map(|&(t, v)| ((t - start).div_euclid(60), v))
            .collect();
        if let (Some(a), Some(b)) = (points.first(), points.last()) {
            lo = lo.min(a.0);
            hi = hi.max(b.0);
        }
        let metric = METRICS.get(o.metric).map_or("", |m| m.name);
        let name = match &o.model_id {
            None => metric.to_string(),
            Some(id) => format!("{metric} {id}"),
        };
        if out.iter().any(|a: &Aligned| a.name == name) {
            return Err(usage(format!(
                "{obs_name}: two series are both {name} (Id {}): label each per-model series `{metric} MODEL_ID` (the query's \"Label\")",
                o.id
            )));
        }
        out.push(Aligned {
            metric: o.metric,
            pool,
            name,
            points,
        });
    }
    // The simulation's minutes: a run of the scenario's duration (the trace's span for a
    // replay), at least one minute.
    let sim_minutes = i64::try_from(s.duration_us.div_ceil(60_000_000))
        .unwrap_or(i64::MAX)
        .max(1);
    if hi < 0 || lo >= sim_minutes {
        return Err(usage(format!(
            "{obs_name}: its minutes ({} to {}) do not overlap the simulation ({} to {}, {} minutes from start)",
            super::format_utc(start + 60 * lo, "Z"),
            super::format_utc(start + 60 * hi, "Z"),
            super::format_utc(start, "Z"),
            super::format_utc(start + 60 * sim_minutes, "Z"),
            sim_minutes
        )));
    }
    Ok((out, (lo, hi + 1), start))
}

fn pool_of(s: &Scenario, ids: &[String], id: &str) -> Option<usize> {
    ids.iter()
        .position(|m| m == id)
        .or_else(|| {
            s.pools
                .iter()
                .position(|p| p.model_ids.iter().any(|m| m == id))
        })
        .or_else(|| s.pools.iter().position(|p| p.name == id))
        .or_else(|| {
            // A bare ID (an old dashboard) for a pool that lists only profile forms of it.
            let bare = |m: &str| {
                m.split_once('.')
                    .filter(|(pre, _)| {
                        matches!(*pre, "us" | "eu" | "apac" | "jp" | "au" | "global")
                    })
                    .map_or(m.to_string(), |(_, rest)| rest.to_string())
            };
            let want = bare(id);
            s.pools
                .iter()
                .position(|p| p.model_ids.iter().any(|m| bare(m) == want))
        })
}

/// The simulated value of a series' metric in minute `k` (`None`: no datapoint).
fn sim_value(a: &Aligned, m: &Minutes, totals: &[MinuteCounts], k: i64) -> Option<f64> {
    let rows: &[MinuteCounts] = match a.pool {
        None => totals,
        Some(p) => m.pools.get(p).map_or(&[][..], Vec::as_slice),
    };
    let row = usize::try_from(k).ok().and_then(|k| rows.get(k));
    match row {
        Some(c) => super::cloudwatch::value(a.metric, c),
        None => super::cloudwatch::value(a.metric, &MinuteCounts::default()),
    }
}

/// The (observed, simulated) pairs of a series over the window.
fn pairs(a: &Aligned, m: &Minutes, totals: &[MinuteCounts], window: (i64, i64)) -> Vec<(f64, f64)> {
    let sum = METRICS.get(a.metric).is_some_and(|d| d.stat == Stat::Sum);
    let obs: BTreeMap<i64, f64> = a.points.iter().copied().collect();
    let mut out = Vec::new();
    for k in window.0..window.1 {
        let o = obs.get(&k).copied().or(if sum { Some(0.0) } else { None });
        let s = sim_value(a, m, totals, k);
        if let (Some(o), Some(s)) = (o, s) {
            out.push((o, s));
        }
    }
    out
}

fn compare(a: &Aligned, m: &Minutes, window: (i64, i64)) -> MetricComparison {
    let totals = m.totals();
    let ps = pairs(a, m, &totals, window);
    let sum = METRICS.get(a.metric).is_some_and(|d| d.stat == Stat::Sum);
    let agg = |f: fn(&(f64, f64)) -> f64| {
        let t: f64 = ps.iter().map(f).sum();
        if sum || ps.is_empty() {
            t
        } else {
            t / ps.len() as f64
        }
    };
    let observed = agg(|p| p.0);
    let simulated = agg(|p| p.1);
    let relative_error = if observed != 0.0 {
        Some((simulated - observed) / observed.abs())
    } else if simulated == 0.0 {
        Some(0.0)
    } else {
        None
    };
    MetricComparison {
        name: a.name.clone(),
        observed,
        simulated,
        relative_error,
        correlation: pearson(&ps),
    }
}

/// Pearson's correlation (`None` for fewer than two points or a constant side).
pub fn pearson(ps: &[(f64, f64)]) -> Option<f64> {
    let n = ps.len() as f64;
    if ps.len() < 2 {
        return None;
    }
    let (mx, my) = (
        ps.iter().map(|p| p.0).sum::<f64>() / n,
        ps.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in ps {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx.sqrt() * syy.sqrt()))
}

/// The objective of a simulation's minutes (see the module documentation).
fn objective(aligned: &[Aligned], m: &Minutes, window: (i64, i64)) -> f64 {
    let totals = m.totals();
    aligned
        .iter()
        .filter(|a| METRICS.get(a.metric).is_some_and(is_objective))
        .map(|a| {
            let ps = pairs(a, m, &totals, window);
            let diff: f64 = ps.iter().map(|(o, s)| (s - o) * (s - o)).sum();
            let norm: f64 = ps.iter().map(|(o, _)| o * o).sum();
            diff.sqrt() / norm.sqrt().max(1.0)
        })
        .sum()
}

/// The values of a grid over `[lo, hi]`: `n` evenly spaced integers, both ends included.
fn grid(lo: u64, hi: u64, n: u64) -> Vec<u64> {
    let span = hi - lo;
    if span < n {
        return (lo..=hi).collect();
    }
    let mut v: Vec<u64> = (0..n)
        .map(|i| lo + ((u128::from(span) * u128::from(i)) / u128::from(n - 1)) as u64)
        .collect();
    v.dedup();
    v
}

fn search(
    path: &Path,
    file: &str,
    opts: &Options,
    aligned: &[Aligned],
    window: (i64, i64),
) -> Result<FitResult, Error> {
    let n = if opts.fit.len() == 1 {
        GRID_1D
    } else {
        GRID_2D
    };
    let mut boxes: Vec<Vec<(u64, u64)>> = vec![opts.fit.iter().map(|k| (k.lo, k.hi)).collect()];
    let mut done: BTreeMap<Vec<u64>, f64> = BTreeMap::new();
    for _ in 0..MAX_ROUNDS {
        // Each box's grid: its axes and its points.
        let grids: Vec<(Axes, Vec<Vec<u64>>)> = boxes
            .iter()
            .map(|b| {
                let axes: Vec<Vec<u64>> = b.iter().map(|&(lo, hi)| grid(lo, hi, n)).collect();
                let mut points: Vec<Vec<u64>> = vec![Vec::new()];
                for axis in &axes {
                    points = points
                        .into_iter()
                        .flat_map(|p| {
                            axis.iter().map(move |&v| {
                                let mut q = p.clone();
                                q.push(v);
                                q
                            })
                        })
                        .collect();
                }
                (axes, points)
            })
            .collect();
        let mut todo: Vec<Vec<u64>> = grids
            .iter()
            .flat_map(|g| g.1.iter())
            .filter(|p| !done.contains_key(*p))
            .cloned()
            .collect();
        todo.sort();
        todo.dedup();
        let results: Vec<Result<f64, Error>> = todo
            .par_iter()
            .map(|p| {
                let s = with_values(path, &opts.set, &opts.fit, p)?;
                let m = simulate(&s, file, &opts.limits)?;
                Ok(objective(aligned, &m, window))
            })
            .collect();
        for (p, r) in todo.into_iter().zip(results) {
            done.insert(p, r?);
        }
        // The best points of this round's grids (ties: the smallest values), each with the
        // axes of its box; the next round refines around each.
        let seen = &done;
        let mut ranked: Vec<(f64, &Vec<u64>, &Axes)> = grids
            .iter()
            .flat_map(|(axes, points)| {
                points
                    .iter()
                    .filter_map(move |p| seen.get(p).map(|e| (*e, p, axes)))
            })
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        ranked.dedup_by(|a, b| a.1 == b.1);
        let mut next: Vec<Vec<(u64, u64)>> = Vec::new();
        for (_, best, axes) in ranked.into_iter().take(CANDIDATES) {
            let b: Vec<(u64, u64)> = axes
                .iter()
                .enumerate()
                .map(|(d, axis)| {
                    let v = best.get(d).copied().unwrap_or(0);
                    let i = axis.iter().position(|&x| x == v).unwrap_or(0);
                    let lo = if i == 0 {
                        v
                    } else {
                        axis.get(i - 1).copied().unwrap_or(v)
                    };
                    (lo, axis.get(i + 1).copied().unwrap_or(v))
                })
                .collect();
            // A box whose every integer has been tried needs no further round.
            let tried = b.iter().all(|&(lo, hi)| hi - lo < n)
                && boxes.iter().any(|old| {
                    old.iter()
                        .zip(&b)
                        .all(|(o, x)| o.1 - o.0 < n && o.0 <= x.0 && x.1 <= o.1)
                });
            // Nor one narrower than 1/RESOLUTION of its values: finer differences are below
            // what the per-minute metrics can tell apart.
            let resolved = b.iter().all(|&(lo, hi)| hi - lo <= lo / RESOLUTION);
            if !tried && !resolved && !next.contains(&b) {
                next.push(b);
            }
        }
        if next.is_empty() {
            break;
        }
        boxes = next;
    }
    let (best, error) = done
        .iter()
        .min_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(b.0)))
        .map(|(p, e)| (p.clone(), *e))
        .ok_or_else(|| Error::Runtime("calibrate: no point evaluated".into()))?;
    let keys = opts
        .fit
        .iter()
        .enumerate()
        .map(|(d, k)| {
            let v = best.get(d).copied().unwrap_or(0);
            // The run of values of this key (the others at their best) around the best that
            // tie with it, and its middle.
            let line: Vec<(u64, f64)> = done
                .iter()
                .filter(|(p, _)| {
                    p.iter()
                        .enumerate()
                        .all(|(j, x)| j == d || Some(x) == best.get(j))
                })
                .filter_map(|(p, e)| p.get(d).map(|x| (*x, *e)))
                .collect();
            let at = line.iter().position(|&(x, _)| x == v).unwrap_or(0);
            let tie = |i: &usize| line.get(*i).is_some_and(|&(_, e)| e == error);
            let first = (0..=at).rev().take_while(|i| tie(i)).last().unwrap_or(at);
            let last = (at..line.len()).take_while(|i| tie(i)).last().unwrap_or(at);
            let lo = line.get(first).map_or(v, |p| p.0);
            let hi = line.get(last).map_or(v, |p| p.0);
            // One key: the evaluated value nearest the middle of the run.
            let v = if opts.fit.len() == 1 {
                let mid = lo + (hi - lo) / 2;
                line.get(first..=last)
                    .unwrap_or_default()
                    .iter()
                    .map(|p| p.0)
                    .min_by_key(|x| (x.abs_diff(mid), *x))
                    .unwrap_or(v)
            } else {
                v
            };
            (k.key.clone(), v, lo, hi)
        })
        .collect();
    Ok(FitResult {
        keys,
        error,
        simulations: done.len(),
        curve: done.into_iter().collect(),
    })
}

fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

impl Calibration {
    /// The JSON document: `metrics.NAME.{observed, simulated, relative_error,
    /// correlation}`, `fit.KEY.value`, `fit.error`, `fit.curve`.
    pub fn to_json(&self) -> Value {
        let mut metrics = Map::new();
        for m in &self.metrics {
            metrics.insert(
                m.name.clone(),
                json!({
                    "observed": num(m.observed),
                    "simulated": num(m.simulated),
                    "relative_error": m.relative_error.map_or(Value::Null, num),
                    "correlation": m.correlation.map_or(Value::Null, num),
                }),
            );
        }
        let mut doc = Map::new();
        doc.insert("scenario".into(), json!(self.scenario));
        doc.insert("observed".into(), json!(self.observed));
        doc.insert("start".into(), json!(super::format_utc(self.start, "Z")));
        doc.insert(
            "window".into(),
            json!({
                "first_minute": self.window.0,
                "last_minute": self.window.1,
                "from": super::format_utc(self.start + 60 * self.window.0, "Z"),
                "to": super::format_utc(self.start + 60 * (self.window.1 + 1), "Z"),
            }),
        );
        doc.insert("metrics".into(), Value::Object(metrics));
        if let Some(f) = &self.fit {
            let mut fit = Map::new();
            for (k, v, lo, hi) in &f.keys {
                fit.insert(
                    k.clone(),
                    json!({ "value": v, "tied_from": lo, "tied_to": hi }),
                );
            }
            fit.insert("error".into(), num(f.error));
            fit.insert("simulations".into(), json!(f.simulations));
            fit.insert(
                "curve".into(),
                Value::Array(
                    f.curve
                        .iter()
                        .map(|(p, e)| {
                            let mut o = Map::new();
                            for ((k, _, _, _), v) in f.keys.iter().zip(p) {
                                o.insert(k.clone(), json!(v));
                            }
                            o.insert("error".into(), num(*e));
                            Value::Object(o)
                        })
                        .collect(),
                ),
            );
            doc.insert("fit".into(), Value::Object(fit));
        }
        Value::Object(doc)
    }

    /// The table.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "calibrate {} against {}\nwindow: simulated minutes {} to {} ({} to {})\n\n",
            self.scenario,
            self.observed,
            self.window.0,
            self.window.1,
            super::format_utc(self.start + 60 * self.window.0, "Z"),
            super::format_utc(self.start + 60 * (self.window.1 + 1), "Z"),
        );
        let width = self
            .metrics
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(6)
            .max(6);
        out.push_str(&format!(
            "{:<width$}  {:>16}  {:>16}  {:>10}  {:>11}\n",
            "metric", "observed", "simulated", "rel. error", "correlation"
        ));
        let f = |x: f64| {
            if x.fract() == 0.0 && x.abs() < 1e15 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        };
        for m in &self.metrics {
            out.push_str(&format!(
                "{:<width$}  {:>16}  {:>16}  {:>10}  {:>11}\n",
                m.name,
                f(m.observed),
                f(m.simulated),
                m.relative_error
                    .map_or("-".into(), |e| format!("{:+.1}%", e * 100.0)),
                m.correlation.map_or("-".into(), |c| format!("{c:.3}")),
            ));
        }
        if let Some(fit) = &self.fit {
            out.push_str(&format!(
                "\nfit ({} simulations; objective {:.6}, 0 is a perfect match):\n",
                fit.simulations, fit.error
            ));
            for (k, v, lo, hi) in &fit.keys {
                if lo == hi {
                    out.push_str(&format!("  {k} = {v}\n"));
                } else {
                    out.push_str(&format!(
                        "  {k} = {v} (every value tried from {lo} to {hi} fits as well)\n"
                    ));
                }
            }
            out.push_str(
                "\nerror curve (the first grid, then the points nearest the best; --format json has every point):\n",
            );
            let first = first_grid(&self.fit_ranges);
            let mut near: Vec<&(Vec<u64>, f64)> = fit.curve.iter().collect();
            near.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            let mut shown: Vec<&(Vec<u64>, f64)> = near.into_iter().take(8).collect();
            shown.extend(fit.curve.iter().filter(|(p, _)| first.contains(p)));
            shown.sort_by(|a, b| a.0.cmp(&b.0));
            shown.dedup();
            for (p, e) in shown {
                let vals: Vec<String> = fit
                    .keys
                    .iter()
                    .zip(p)
                    .map(|((k, ..), v)| format!("{k}={v}"))
                    .collect();
                out.push_str(&format!("  {:<50} {e:.6}\n", vals.join(" ")));
            }
        }
        out
    }
}
