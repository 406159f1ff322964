//! Token-count distributions (SPEC §4): a number or a `{ dist = … }` table. Samples are
//! rounded to integers and clamped to `[min, max]`.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, LogNormal, Normal};
use serde::{Deserialize, Serialize};

/// z-score of the 95th percentile of a standard normal.
const Z95: f64 = 1.644_853_626_951_472_2;

/// The `max` of a distribution written without one.
pub const UNBOUNDED: u64 = 1 << 53;

fn is_unbounded(max: &u64) -> bool {
    *max >= UNBOUNDED
}

/// A validated token-count distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "lowercase")]
pub enum Dist {
    /// Always `value`.
    Fixed {
        /// The value.
        value: u64,
    },
    /// Uniform integers in `[min, max]`.
    Uniform {
        /// Lowest value.
        min: u64,
        /// Highest value.
        max: u64,
    },
    /// Normal with `mean` and `sd`, clamped.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// Log-normal with log-mean `mu` and log-sd `sigma`, clamped.
    Lognormal {
        /// Mean of the logarithm.
        mu: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
    /// Exponential with `mean`, clamped.
    Exponential {
        /// Mean.
        mean: f64,
        /// Clamp floor.
        min: u64,
        /// Clamp ceiling.
        #[serde(skip_serializing_if = "is_unbounded")]
        max: u64,
    },
}

/// The names `dist` accepts.
pub const DIST_NAMES: [&str; 5] = ["fixed", "uniform", "normal", "lognormal", "exponential"];

/// A distribution table as written, before validation.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDist {
    pub dist: String,
    pub value: Option<f64>,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub median: Option<f64>,
    pub p95: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A validation failure: the key (relative to the distribution table) and the message.
pub(crate) type DistError = (Option<&'static str>, String);

fn bound(v: Option<f64>, default: u64, key: &'static str) -> Result<u64, DistError> {
    match v {
        None => Ok(default),
        Some(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.0e18 => Ok(x as u64),
        Some(x) => Err((
            Some(key),
            format!("expected a non-negative integer, found {x}"),
        )),
    }
}

fn positive(v: Option<f64>, key: &'static str, dist: &str) -> Result<f64, DistError> {
    match v {
        None => Err((None, format!("`{dist}` needs `{key}`"))),
        Some(x) if x.is_finite() && x > 0.0 => Ok(x),
        Some(x) => Err((Some(key), format!("expected a number > 0, found {x}"))),
    }
}

impl RawDist {
    /// Validates the table into a [`Dist`]; `default_min` is 0 for cache fields, 1 otherwise.
    pub(crate) fn resolve(&self, default_min: u64) -> Result<Dist, DistError> {
        let min = bound(self.min, default_min, "min")?;
        let max = bound(self.max, UNBOUNDED, "max")?;
        if min > max {
            return Err((
                Some("min"),
                format!("min ({min}) is greater than max ({max})"),
            ));
        }
        let allowed: &[&str] = match self.dist.as_str() {
            "fixed" => &["value"],
            "uniform" => &["min", "max"],
            "normal" => &["mean", "sd", "min", "max"],
            "lognormal" => &["mean", "sd", "median", "p95", "min", "max"],
            "exponential" => &["mean", "min", "max"],
            other => {
                let help = crate::error::nearest(other, DIST_NAMES)
                    .map(|n| format!(" (did you mean \"{n}\"?)"))
                    .unwrap_or_default();
                return Err((
                    Some("dist"),
                    format!(
                        "unknown distribution \"{other}\"; expected one of {}{help}",
                        quoted(&DIST_NAMES)
                    ),
                ));
            }
        };
        for (key, present) in [
            ("value", self.value.is_some()),
            ("mean", self.mean.is_some()),
            ("sd", self.sd.is_some()),
            ("median", self.median.is_some()),
            ("p95", self.p95.is_some()),
        ] {
            if present && !allowed.contains(&key) {
                return Err((
                    None,
                    format!(
                        "`{key}` is not a parameter of `{}`; it takes {}",
                        self.dist,
                        quoted(allowed)
                    ),
                ));
            }
        }
        Ok(match self.dist.as_str() {
            "fixed" => {
                let value = bound(self.value, 0, "value")?;
                if self.value.is_none() {
                    return Err((None, "`fixed` needs `value`".into()));
                }
                Dist::Fixed { value }
            }
            "uniform" => {
                if self.min.is_none() || self.max.is_none() {
                    return Err((None, "`uniform` needs `min` and `max`".into()));
                }
                Dist::Uniform { min, max }
            }
            "normal" => {
                let mean = finite(self.mean, "mean", "normal")?;
                let sd = non_negative(self.sd, "sd", "normal")?;
                Dist::Normal { mean, sd, min, max }
            }
            "lognormal" => {
                let (mu, sigma) = match (self.mean, self.sd, self.median, self.p95) {
                    (Some(_), Some(_), None, None) => {
                        let mean = positive(self.mean, "mean", "lognormal")?;
                        let sd = non_negative(self.sd, "sd", "lognormal")?;
                        let s2 = (1.0 + (sd / mean).powi(2)).ln();
                        (mean.ln() - s2 / 2.0, s2.sqrt())
                    }
                    (None, None, Some(_), Some(_)) => {
                        let median = positive(self.median, "median", "lognormal")?;
                        let p95 = positive(self.p95, "p95", "lognormal")?;
                        if p95 <= median {
                            return Err((
                                Some("p95"),
                                format!("p95 ({p95}) must be greater than median ({median})"),
                            ));
                        }
                        (median.ln(), (p95.ln() - median.ln()) / Z95)
                    }
                    _ => {
                        return Err((
                            None,
                            "`lognormal` needs either `mean` and `sd`, or `median` and `p95`"
                                .into(),
                        ));
                    }
                };
                Dist::Lognormal {
                    mu,
                    sigma,
                    min,
                    max,
                }
            }
            _ => Dist::Exponential {
                mean: positive(self.mean, "mean", "exponential")?,
                min,
                max,
            },
        })
    }
}

fn finite(v: Option<f64>, key: &'static str, dist: &str) -> Result<f64, DistError> {
    match v {
        None => Err((None, format!("`{dist}` needs `{key}`"))),
        Some(x) if x.is_finite() => Ok(x),
        Some(x) => Err((Some(key), format!("expected a finite number, found {x}"))),
    }
}

fn non_negative(v: Option<f64>, key: &'static str, dist: &str) -> Result<f64, DistError> {
    match v {
        None => Err((None, format!("`{dist}` needs `{key}`"))),
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Some(x) => Err((Some(key), format!("expected a number ≥ 0, found {x}"))),
    }
}

pub(crate) fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Dist {
    /// Draws one sample.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let (x, min, max) = match *self {
            Dist::Fixed { value } => return value,
            Dist::Uniform { min, max } => return rng.random_range(min..=max),
            Dist::Normal { mean, sd, min, max } => {
                let x = Normal::new(mean, sd).map_or(mean, |d| d.sample(rng));
                (x, min, max)
            }
            Dist::Lognormal {
                mu,
                sigma,
                min,
                max,
            } => {
                let x = LogNormal::new(mu, sigma).map_or(mu.exp(), |d| d.sample(rng));
                (x, min, max)
            }
            Dist::Exponential { mean, min, max } => {
                let x = Exp::new(1.0 / mean).map_or(mean, |d| d.sample(rng));
                (x, min, max)
            }
        };
        clamp_round(x, min, max)
    }

    /// The largest value a sample can take.
    pub fn max_value(&self) -> u64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { max, .. }
            | Dist::Normal { max, .. }
            | Dist::Lognormal { max, .. }
            | Dist::Exponential { max, .. } => max,
        }
    }

    /// A value samples exceed with probability below 1e-4 (the clamp ceiling when lower):
    /// what `check` uses to warn about requests that may be unservable.
    pub fn practical_max(&self) -> u64 {
        const Z9999: f64 = 3.719_016_485_455_709;
        let q = match *self {
            Dist::Fixed { value } => return value,
            Dist::Uniform { max, .. } => return max,
            Dist::Normal { mean, sd, .. } => mean + Z9999 * sd,
            Dist::Lognormal { mu, sigma, .. } => (mu + Z9999 * sigma).exp(),
            Dist::Exponential { mean, .. } => mean * 10_000f64.ln(),
        };
        let q = if q.is_finite() && q > 0.0 {
            q.ceil().min(UNBOUNDED as f64) as u64
        } else {
            0
        };
        q.min(self.max_value())
    }

    /// Whether every sample is the same value.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Dist::Fixed { .. })
            || matches!(self, Dist::Uniform { min, max } if min == max)
    }
}

/// Rounds to the nearest integer and clamps to `[min, max]`.
#[inline]
fn clamp_round(x: f64, min: u64, max: u64) -> u64 {
    if x.is_nan() {
        return min;
    }
    let r = x.round();
    if r <= min as f64 {
        min
    } else if r >= max as f64 {
        max
    } else {
        r as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn raw(dist: &str) -> RawDist {
        RawDist {
            dist: dist.into(),
            ..Default::default()
        }
    }

    #[test]
    fn lognormal_mean_sd_matches_moments() {
        let d = RawDist {
            mean: Some(1000.0),
            sd: Some(500.0),
            ..raw("lognormal")
        }
        .resolve(1)
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng) as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((mean - 1000.0).abs() < 10.0, "{mean}");
        assert!((sd - 500.0).abs() < 15.0, "{sd}");
    }

    #[test]
    fn lognormal_median_p95() {
        let d = RawDist {
            median: Some(200.0),
            p95: Some(800.0),
            ..raw("lognormal")
        }
        .resolve(1)
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut xs: Vec<u64> = (0..100_000).map(|_| d.sample(&mut rng)).collect();
        xs.sort_unstable();
        let med = xs[50_000] as f64;
        let p95 = xs[95_000] as f64;
        assert!((med - 200.0).abs() / 200.0 < 0.02, "{med}");
        assert!((p95 - 800.0).abs() / 800.0 < 0.03, "{p95}");
    }

    #[test]
    fn clamps_to_min_max() {
        let d = RawDist {
            mean: Some(100.0),
            sd: Some(1000.0),
            min: Some(50.0),
            max: Some(120.0),
            ..raw("normal")
        }
        .resolve(1)
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..10_000 {
            let x = d.sample(&mut rng);
            assert!((50..=120).contains(&x));
        }
    }

    #[test]
    fn uniform_covers_range() {
        let d = RawDist {
            min: Some(3.0),
            max: Some(5.0),
            ..raw("uniform")
        }
        .resolve(1)
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut seen = [false; 6];
        for _ in 0..1000 {
            seen[d.sample(&mut rng) as usize] = true;
        }
        assert_eq!(seen, [false, false, false, true, true, true]);
    }

    #[test]
    fn exponential_mean() {
        let d = RawDist {
            mean: Some(400.0),
            min: Some(0.0),
            ..raw("exponential")
        }
        .resolve(1)
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mean = (0..100_000).map(|_| d.sample(&mut rng) as f64).sum::<f64>() / 100_000.0;
        assert!((mean - 400.0).abs() < 6.0, "{mean}");
    }

    #[test]
    fn invalid_tables() {
        assert!(
            RawDist {
                sd: Some(-1.0),
                mean: Some(3.0),
                ..raw("normal")
            }
            .resolve(1)
            .is_err()
        );
        assert!(
            RawDist {
                min: Some(10.0),
                max: Some(5.0),
                ..raw("uniform")
            }
            .resolve(1)
            .is_err()
        );
        assert!(
            RawDist {
                median: Some(10.0),
                p95: Some(5.0),
                ..raw("lognormal")
            }
            .resolve(1)
            .is_err()
        );
        assert!(
            RawDist {
                mean: Some(10.0),
                ..raw("lognormal")
            }
            .resolve(1)
            .is_err()
        );
        assert!(
            RawDist {
                mean: Some(10.0),
                sd: Some(1.0),
                ..raw("exponential")
            }
            .resolve(1)
            .is_err()
        );
        let e = raw("lognormel").resolve(1).unwrap_err();
        assert!(e.1.contains("did you mean \"lognormal\""), "{}", e.1);
    }
}
