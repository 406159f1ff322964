//! Arrival processes. Open-loop processes produce the next arrival time on demand, so a run
//! never holds more than one pending arrival.

use rand::{Rng, RngExt};
use serde::Serialize;

/// An arrival process as configured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "process", rename_all = "kebab-case")]
pub enum Arrivals {
    /// Arrivals at `t = k / rate`.
    Constant {
        /// Requests per minute.
        rate_per_minute: f64,
    },
    /// Exponential inter-arrival times with mean `1 / rate`.
    Poisson {
        /// Requests per minute.
        rate_per_minute: f64,
    },
    /// `clients` users, each sending, waiting for the outcome, thinking, and repeating.
    ClosedLoop {
        /// Number of users.
        clients: u64,
        /// Pause between an outcome and the user's next request, µs.
        #[serde(serialize_with = "crate::scenario::ser_duration")]
        think_time_us: u64,
    },
}

/// The names `arrivals.process` accepts.
pub const PROCESS_NAMES: [&str; 3] = ["constant", "poisson", "closed-loop"];

/// Generator of open-loop arrival times.
#[derive(Debug, Clone)]
pub enum ArrivalProcess {
    /// `k`-th arrival at `round(k × 60e6 / rate)` µs.
    Constant {
        /// Index of the next arrival.
        k: u64,
        /// Requests per minute.
        rate: f64,
    },
    /// Running time in µs as a float so rounding does not accumulate.
    Poisson {
        /// Time of the next arrival, µs.
        t: f64,
        /// Mean gap, µs.
        mean_gap_us: f64,
    },
    /// Closed loop: arrivals come from users' outcomes, not from this generator.
    Closed,
}

impl ArrivalProcess {
    /// A generator for `arrivals`.
    pub fn new(arrivals: &Arrivals) -> Self {
        match *arrivals {
            Arrivals::Constant { rate_per_minute } => ArrivalProcess::Constant {
                k: 0,
                rate: rate_per_minute,
            },
            Arrivals::Poisson { rate_per_minute } => ArrivalProcess::Poisson {
                t: 0.0,
                mean_gap_us: 60e6 / rate_per_minute,
            },
            Arrivals::ClosedLoop { .. } => ArrivalProcess::Closed,
        }
    }

    /// The next arrival time in µs (`None` for a closed loop or past `u64`).
    #[inline]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<u64> {
        match self {
            ArrivalProcess::Constant { k, rate } => {
                let t = constant_time(*k, *rate)?;
                *k += 1;
                Some(t)
            }
            ArrivalProcess::Poisson { t, mean_gap_us } => {
                // Inverse CDF on (0, 1]: -ln(1 - U) with U in [0, 1).
                let u: f64 = rng.random();
                *t += -(1.0 - u).ln() * *mean_gap_us;
                let r = t.round();
                (r < u64::MAX as f64).then_some(r as u64)
            }
            ArrivalProcess::Closed => None,
        }
    }
}

/// `round(k × 60 000 000 / rate)`, exact in integers when `rate` is a whole number.
fn constant_time(k: u64, rate: f64) -> Option<u64> {
    if rate.fract() == 0.0 && (1.0..1e15).contains(&rate) {
        let r = rate as u128;
        let num = u128::from(k) * 60_000_000;
        u64::try_from((num + r / 2) / r).ok()
    } else {
        let t = (k as f64 * 60e6 / rate).round();
        (t < u64::MAX as f64).then_some(t as u64)
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
            rate_per_minute: 7.0,
        });
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let ts: Vec<u64> = (0..4).map(|_| p.next(&mut rng).unwrap()).collect();
        assert_eq!(ts, vec![0, 8_571_429, 17_142_857, 25_714_286]);
        let mut p = ArrivalProcess::new(&Arrivals::Constant {
            rate_per_minute: 0.5,
        });
        p.next(&mut rng);
        assert_eq!(p.next(&mut rng), Some(120_000_000));
    }

    #[test]
    fn poisson_rate_and_cv() {
        let mut p = ArrivalProcess::new(&Arrivals::Poisson {
            rate_per_minute: 600.0,
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
