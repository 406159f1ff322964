//! Recommendations: the best point under an objective and constraints, and the Pareto front
//! of throughput against p99 latency.
//!
//! A point is feasible when every constraint holds on its means (a metric that is undefined
//! at a point, e.g. p99 latency when nothing succeeded, fails its constraint). The best
//! point maximises (or minimises) the objective's mean over the feasible points, the lowest
//! index winning ties; the default objective is `maximize:throughput.requests_per_minute`.
//! The Pareto front is the set of feasible points that no other feasible point beats on both
//! throughput (higher) and p99 latency (lower), listed by increasing p99 latency.

use crate::assertion::{Direction, Objective};
use crate::sweep::run::{PointResult, SweepReport};

/// The throughput metric of the Pareto front.
pub const FRONT_THROUGHPUT: &str = "throughput.requests_per_minute";
/// The latency metric of the Pareto front.
pub const FRONT_LATENCY: &str = "latency_ms.e2e.p99";

/// The recommendation for a sweep; positions index `SweepReport::points`.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// What was optimised.
    pub objective: Objective,
    /// Positions of the feasible points, in order.
    pub feasible: Vec<usize>,
    /// Position of the best feasible point, if any has a defined objective.
    pub best: Option<usize>,
    /// Positions of the Pareto-optimal feasible points, by increasing p99 latency.
    pub pareto: Vec<usize>,
}

/// The default objective.
pub fn default_objective() -> Objective {
    Objective {
        direction: Direction::Maximize,
        metric: FRONT_THROUGHPUT.to_string(),
    }
}

/// Recommends a point when the report has an objective or constraints; `None` otherwise.
pub fn recommend(report: &SweepReport) -> Option<Recommendation> {
    if report.objective.is_none() && report.constraints.is_empty() {
        return None;
    }
    let objective = report.objective.clone().unwrap_or_else(default_objective);
    let feasible: Vec<usize> = report
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| feasible(report, p))
        .map(|(i, _)| i)
        .collect();
    let mean = |pos: usize, metric: &str| {
        report
            .points
            .get(pos)
            .and_then(|p| p.metric(metric))
            .and_then(|m| m.mean)
    };
    let mut best: Option<(usize, f64)> = None;
    for &pos in &feasible {
        if let Some(v) = mean(pos, &objective.metric)
            && best.is_none_or(|(_, b)| objective.better(v, b))
        {
            best = Some((pos, v));
        }
    }
    let mut candidates: Vec<(usize, f64, f64)> = feasible
        .iter()
        .filter_map(|&pos| Some((pos, mean(pos, FRONT_THROUGHPUT)?, mean(pos, FRONT_LATENCY)?)))
        .collect();
    candidates.sort_by(|a, b| {
        a.2.total_cmp(&b.2)
            .then(b.1.total_cmp(&a.1))
            .then(a.0.cmp(&b.0))
    });
    let mut pareto = Vec::new();
    let mut best_throughput = f64::NEG_INFINITY;
    for (pos, thr, _) in candidates {
        if thr > best_throughput {
            pareto.push(pos);
            best_throughput = thr;
        }
    }
    Some(Recommendation {
        objective,
        feasible,
        best: best.map(|(pos, _)| pos),
        pareto,
    })
}

/// Whether every constraint of `report` holds at `point`.
pub fn feasible(report: &SweepReport, point: &PointResult) -> bool {
    let means = point.means();
    report
        .constraints
        .iter()
        .all(|c| c.evaluate(&means).is_ok_and(|o| o.passed))
}
