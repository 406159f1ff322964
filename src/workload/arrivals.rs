//! Arrival processes. Open-loop processes produce the next arrival time on demand, so a run
//! never holds more than one pending arrival.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp1, Gamma};
use serde::Serialize;

use super::schedule::{Schedule, Warp};
use super::trace::{TraceArrivals, TraceReplay};
use crate::trace::TraceRecord;

/// The rate of a constant, Poisson or gamma process: a number, or a schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Rate {
    /// A fixed rate.
    Fixed {
        /// Requests per minute.
        rate_per_minute: f64,
    },
    /// A piecewise-linear rate over time.
    Scheduled(Schedule),
}

impl Rate {
    /// A fixed rate of `rate_per_minute`.
    pub fn fixed(rate_per_minute: f64) -> Self {
        Rate::Fixed { rate_per_minute }
    }
}

/// An arrival process as configured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "process", rename_all = "kebab-case")]
pub enum Arrivals {
    /// Arrivals at `t = k / rate`.
    Constant {
        /// The rate.
        #[serde(flatten)]
        rate: Rate,
    },
    /// Exponential inter-arrival times with mean `1 / rate`.
    Poisson {
        /// The rate.
        #[serde(flatten)]
        rate: Rate,
    },
    /// Gamma inter-arrival times with mean `1 / rate` and coefficient of variation `cv`
    /// (cv = 1 is Poisson, cv > 1 bursty, cv < 1 smoother).
    Gamma {
        /// The rate.
        #[serde(flatten)]
        rate: Rate,
        /// Coefficient of variation of the gaps.
        cv: f64,
    },
    /// A two-state Markov-modulated Poisson process: Poisson at `on_rate_per_minute` during
    /// "on" periods and at `off_rate_per_minute` during "off" periods, whose lengths are
    /// exponential with means `mean_on` and `mean_off`.
    OnOff {
        /// Rate while on.
        on_rate_per_minute: f64,
        /// Rate while off (may be 0).
        off_rate_per_minute: f64,
        /// Mean length of an on period, µs.
        #[serde(rename = "mean_on", serialize_with = "crate::duration::ser_duration")]
        mean_on_us: u64,
        /// Mean length of an off period, µs.
        #[serde(rename = "mean_off", serialize_with = "crate::duration::ser_duration")]
        mean_off_us: u64,
    },
    /// `clients` users, each sending, waiting for the outcome, thinking, and repeating.
    ClosedLoop {
        /// Number of users.
        clients: u64,
        /// Pause between an outcome and the user's next request, µs.
        #[serde(serialize_with = "crate::duration::ser_duration")]
        think_time_us: u64,
    },
    /// Replay of a recorded trace.
    Trace(TraceArrivals),
}

impl Arrivals {
    /// The long-run mean rate in requests per minute and the coefficient of variation of
    /// the gaps, where they follow from the parameters (`None` for closed loops, traces and
    /// schedules' cv).
    pub fn expected_rate_and_cv(&self) -> Option<(f64, Option<f64>)> {
        let fixed = |r: &Rate| match r {
            Rate::Fixed { rate_per_minute } => Some(*rate_per_minute),
            Rate::Scheduled(_) => None,
        };
        match self {
            Arrivals::Constant { rate } => Some((fixed(rate)?, Some(0.0))),
            Arrivals::Poisson { rate } => Some((fixed(rate)?, Some(1.0))),
            Arrivals::Gamma { rate, cv } => Some((fixed(rate)?, Some(*cv))),
            &Arrivals::OnOff {
                on_rate_per_minute,
                off_rate_per_minute,
                mean_on_us,
                mean_off_us,
            } => {
                let (l1, l2) = (on_rate_per_minute / 60e6, off_rate_per_minute / 60e6);
                let (a, b) = (1.0 / mean_on_us as f64, 1.0 / mean_off_us as f64);
                let p_on = b / (a + b);
                let mean_rate = p_on * l1 + (1.0 - p_on) * l2;
                // The gaps are phase-type: α = πΛ/(πλ), T = Q − Λ; E[Xᵏ] = k! α (−T)⁻ᵏ 1.
                let alpha = [p_on * l1 / mean_rate, (1.0 - p_on) * l2 / mean_rate];
                let m = [[a + l1, -a], [-b, b + l2]];
                let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
                let inv = [
                    [m[1][1] / det, -m[0][1] / det],
                    [-m[1][0] / det, m[0][0] / det],
                ];
                let v1 = [inv[0][0] + inv[0][1], inv[1][0] + inv[1][1]];
                let v2 = [
                    inv[0][0] * v1[0] + inv[0][1] * v1[1],
                    inv[1][0] * v1[0] + inv[1][1] * v1[1],
                ];
                let e1 = alpha[0] * v1[0] + alpha[1] * v1[1];
                let e2 = 2.0 * (alpha[0] * v2[0] + alpha[1] * v2[1]);
                let cv = ((e2 - e1 * e1).max(0.0)).sqrt() / e1;
                Some((mean_rate * 60e6, Some(cv)))
            }
            Arrivals::ClosedLoop { .. } | Arrivals::Trace(_) => None,
        }
    }
}

/// The names `arrivals.process` accepts.
pub const PROCESS_NAMES: [&str; 6] = [
    "constant",
    "poisson",
    "gamma",
    "on-off",
    "closed-loop",
    "trace",
];

/// Unit-mean gaps of a scheduled process, in operational time.
#[derive(Debug, Clone)]
pub enum UnitGaps {
    /// Every gap is 1.
    Constant,
    /// Exponential with mean 1.
    Exponential,
    /// Gamma with mean 1.
    Gamma(Gamma<f64>),
}

/// Generator of open-loop arrival times.
#[derive(Debug)]
pub enum ArrivalProcess {
    /// `k`-th arrival at `round(k × 60e6 / rate)` µs.
    Constant {
        /// Index of the next arrival.
        k: u64,
        /// Requests per minute.
        rate: f64,
        /// `rate` when it is a whole number that `constant_time` divides by exactly,
        /// decided once instead of per arrival.
        whole: Option<u64>,
    },
    /// Running time in µs as a float so rounding does not accumulate.
    Poisson {
        /// Time of the next arrival, µs.
        t: f64,
        /// Mean gap, µs.
        mean_gap_us: f64,
    },
    /// Gamma gaps (mean `1 / rate`).
    Gamma {
        /// Time of the last arrival, µs.
        t: f64,
        /// The gap distribution, µs.
        gaps: Gamma<f64>,
    },
    /// A constant, Poisson or gamma process following a rate schedule.
    Scheduled {
        /// Operational time of the next arrival.
        tau: f64,
        /// Whether an arrival has been produced yet.
        started: bool,
        /// Gap shape.
        gaps: UnitGaps,
        /// Λ and its inverse.
        warp: Box<Warp>,
    },
    /// Two-state Markov-modulated Poisson.
    OnOff {
        /// Time of the last arrival, µs.
        t: f64,
        /// Current state (`None` before the first draw).
        on: Option<bool>,
        /// When the current state ends, µs.
        state_end: f64,
        /// Rates per µs.
        on_rate: f64,
        /// Rate per µs while off.
        off_rate: f64,
        /// Mean on period, µs.
        mean_on: f64,
        /// Mean off period, µs.
        mean_off: f64,
        /// No arrival is produced at or after this time, µs (the run's end), so that a
        /// process that almost never arrives stops flipping there instead of up to `u64::MAX`.
        horizon: f64,
        /// State changes drawn so far: work the engine counts against `--max-events`.
        flips: u64,
        /// Stop (return `None`) once `flips` reaches this, so one call cannot spin.
        max_flips: u64,
    },
    /// Trace replay.
    Trace(Box<TraceReplay>),
    /// Closed loop: arrivals come from users' outcomes, not from this generator.
    Closed,
}

fn gamma_gaps(cv: f64, mean: f64) -> Option<Gamma<f64>> {
    let shape = 1.0 / (cv * cv);
    Gamma::new(shape, mean / shape).ok()
}

#[inline]
fn to_us(t: f64) -> Option<u64> {
    (t.is_finite() && t > -0.5 && t < u64::MAX as f64).then(|| crate::num::round_u64(t))
}

/// A unit exponential, by `rand_distr`'s ziggurat (`Exp1`): one table lookup and a compare
/// for almost every draw, where the inverse CDF `-ln(1 - U)` costs a logarithm each time.
/// Called as `Exp1.sample(rng)`, which inlines, where `rng.sample(Exp1)` stayed a call.
#[inline(always)]
fn unit_exp<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    Exp1.sample(rng)
}

impl ArrivalProcess {
    /// A generator for `arrivals`.
    pub fn new(arrivals: &Arrivals) -> Self {
        match arrivals {
            Arrivals::Constant {
                rate: Rate::Fixed { rate_per_minute },
            } => ArrivalProcess::Constant {
                k: 0,
                rate: *rate_per_minute,
                whole: whole_rate(*rate_per_minute),
            },
            Arrivals::Poisson {
                rate: Rate::Fixed { rate_per_minute },
            } => ArrivalProcess::Poisson {
                t: 0.0,
                mean_gap_us: 60e6 / rate_per_minute,
            },
            Arrivals::Gamma {
                rate: Rate::Fixed { rate_per_minute },
                cv,
            } => match gamma_gaps(*cv, 60e6 / rate_per_minute) {
                Some(gaps) => ArrivalProcess::Gamma { t: 0.0, gaps },
                None => ArrivalProcess::Closed,
            },
            Arrivals::Constant {
                rate: Rate::Scheduled(s),
            } => Self::scheduled(s, UnitGaps::Constant),
            Arrivals::Poisson {
                rate: Rate::Scheduled(s),
            } => Self::scheduled(s, UnitGaps::Exponential),
            Arrivals::Gamma {
                rate: Rate::Scheduled(s),
                cv,
            } => match gamma_gaps(*cv, 1.0) {
                Some(g) => Self::scheduled(s, UnitGaps::Gamma(g)),
                None => ArrivalProcess::Closed,
            },
            &Arrivals::OnOff {
                on_rate_per_minute,
                off_rate_per_minute,
                mean_on_us,
                mean_off_us,
            } => ArrivalProcess::OnOff {
                t: 0.0,
                on: None,
                state_end: 0.0,
                on_rate: on_rate_per_minute / 60e6,
                off_rate: off_rate_per_minute / 60e6,
                mean_on: mean_on_us as f64,
                mean_off: mean_off_us as f64,
                horizon: u64::MAX as f64,
                flips: 0,
                max_flips: u64::MAX,
            },
            Arrivals::Trace(t) => ArrivalProcess::Trace(Box::new(TraceReplay::new(t))),
            Arrivals::ClosedLoop { .. } => ArrivalProcess::Closed,
        }
    }

    /// Bounds the work of the on-off process: no arrival at or after `horizon_us`, and at most
    /// `max_flips` state changes in all (other processes ignore it). After `max_flips` the
    /// process returns `None`; [`flips`](Self::flips) tells the caller why.
    pub fn bound(&mut self, horizon_us: u64, max_flips: u64) {
        if let ArrivalProcess::OnOff {
            horizon,
            max_flips: m,
            ..
        } = self
        {
            *horizon = horizon_us as f64;
            *m = max_flips;
        }
    }

    /// State changes of an on-off process so far (0 for other processes): work that produces
    /// no event but costs time like one.
    pub fn flips(&self) -> u64 {
        match self {
            ArrivalProcess::OnOff { flips, .. } => *flips,
            _ => 0,
        }
    }

    fn scheduled(s: &Schedule, gaps: UnitGaps) -> Self {
        ArrivalProcess::Scheduled {
            tau: 0.0,
            started: false,
            gaps,
            warp: Box::new(Warp::new(s)),
        }
    }

    /// The next arrival time in µs (`None` for a closed loop, past `u64`, or when the
    /// process has no more arrivals).
    #[inline]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<u64> {
        match self {
            ArrivalProcess::Constant { k, rate, whole } => {
                let t = constant_time(*k, *rate, *whole)?;
                *k += 1;
                Some(t)
            }
            ArrivalProcess::Poisson { t, mean_gap_us } => {
                *t += unit_exp(rng) * *mean_gap_us;
                (*t < u64::MAX as f64).then(|| crate::num::round_u64(*t))
            }
            ArrivalProcess::Gamma { t, gaps } => {
                *t += gaps.sample(rng);
                to_us(*t)
            }
            ArrivalProcess::Scheduled {
                tau,
                started,
                gaps,
                warp,
            } => {
                let gap = match gaps {
                    // The constant process starts at t = 0, like the unscheduled one.
                    UnitGaps::Constant => f64::from(u8::from(*started)),
                    UnitGaps::Exponential => unit_exp(rng),
                    UnitGaps::Gamma(g) => g.sample(rng),
                };
                *started = true;
                *tau += gap;
                to_us(warp.inverse(*tau)?)
            }
            ArrivalProcess::OnOff {
                t,
                on,
                state_end,
                on_rate,
                off_rate,
                mean_on,
                mean_off,
                horizon,
                flips,
                max_flips,
            } => {
                let mut state = match *on {
                    Some(s) => s,
                    None => {
                        // Start in the stationary state distribution.
                        let s = rng.random::<f64>() * (*mean_on + *mean_off) < *mean_on;
                        *state_end = unit_exp(rng) * if s { *mean_on } else { *mean_off };
                        *on = Some(s);
                        s
                    }
                };
                loop {
                    let rate = if state { *on_rate } else { *off_rate };
                    if rate > 0.0 {
                        let next = *t + unit_exp(rng) / rate;
                        if next < *state_end {
                            *t = next;
                            *on = Some(state);
                            return to_us(next);
                        }
                    }
                    // Memoryless: jump to the switch and draw afresh in the new state.
                    *t = *state_end;
                    if *t >= *horizon || *t >= u64::MAX as f64 || *flips >= *max_flips {
                        return None;
                    }
                    state = !state;
                    *on = Some(state);
                    *flips += 1;
                    *state_end += unit_exp(rng) * if state { *mean_on } else { *mean_off };
                }
            }
            ArrivalProcess::Trace(r) => r.next_time(),
            ArrivalProcess::Closed => None,
        }
    }

    /// For a trace: the record of the arrival that was scheduled last and is now due, taken
    /// out so the next call to [`next`](Self::next) can read ahead. `None` for other
    /// processes.
    #[inline]
    pub fn take_record(&mut self) -> Option<TraceRecord> {
        match self {
            ArrivalProcess::Trace(r) => r.take_record(),
            _ => None,
        }
    }

    /// A trace that failed while it was being replayed (it changed since it was loaded).
    pub fn error(&self) -> Option<&crate::Diagnostic> {
        match self {
            ArrivalProcess::Trace(r) => r.error(),
            _ => None,
        }
    }
}

/// `rate` as an integer, when it is a whole number in [1, 10¹⁵).
fn whole_rate(rate: f64) -> Option<u64> {
    (rate.fract() == 0.0 && (1.0..1e15).contains(&rate)).then_some(rate as u64)
}

/// `round(k × 60 000 000 / rate)`, exact in integers when the rate is `whole`.
fn constant_time(k: u64, rate: f64, whole: Option<u64>) -> Option<u64> {
    match whole {
        // In u64 while the numerator fits (k below about 3·10¹¹), which avoids the library
        // call a u128 division compiles to; the same quotient either way.
        Some(r) => match k.checked_mul(60_000_000).and_then(|n| n.checked_add(r / 2)) {
            Some(num) => Some(num / r),
            None => {
                let (r, num) = (u128::from(r), u128::from(k) * 60_000_000);
                u64::try_from((num + r / 2) / r).ok()
            }
        },
        None => {
            let t = (k as f64 * 60e6 / rate).round();
            (t < u64::MAX as f64).then_some(t as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn constant_is_exact() {
        let mut p = ArrivalProcess::new(&Arrivals::Constant {
            rate: Rate::fixed(7.0),
        });
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let ts: Vec<u64> = (0..4).map(|_| p.next(&mut rng).unwrap()).collect();
        assert_eq!(ts, vec![0, 8_571_429, 17_142_857, 25_714_286]);
        let mut p = ArrivalProcess::new(&Arrivals::Constant {
            rate: Rate::fixed(0.5),
        });
        p.next(&mut rng);
        assert_eq!(p.next(&mut rng), Some(120_000_000));
    }

    #[test]
    fn constant_time_past_u64_numerator() {
        let k = u64::MAX / 60_000_000 + 5;
        let exact = (u128::from(k) * 60_000_000 + 3) / 7;
        assert_eq!(constant_time(k, 7.0, Some(7)), u64::try_from(exact).ok());
        assert_eq!(constant_time(u64::MAX, 1.0, Some(1)), None);
        assert_eq!(whole_rate(7.0), Some(7));
        assert_eq!(whole_rate(7.5), None);
    }

    #[test]
    fn poisson_rate_and_cv() {
        let mut p = ArrivalProcess::new(&Arrivals::Poisson {
            rate: Rate::fixed(600.0),
        });
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 100_000;
        let mut prev = 0u64;
        let mut gaps = Vec::with_capacity(n);
        for _ in 0..n {
            let t = p.next(&mut rng).unwrap();
            gaps.push((t - prev) as f64);
            prev = t;
        }
        let mean = gaps.iter().sum::<f64>() / n as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((mean - 100_000.0).abs() / 100_000.0 < 0.01, "{mean}");
        assert!((sd / mean - 1.0).abs() < 0.03, "cv {}", sd / mean);
    }
}
