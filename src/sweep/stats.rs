//! Summary statistics of the replications of one sweep point.
//!
//! Everything here is a plain sequential computation over the values in the order given, so
//! the results are bit-for-bit reproducible as long as the caller passes replications in a
//! fixed order (e.g. by replication index), whatever the number of threads that produced them.

/// Mean, sample standard deviation and 95% confidence interval of a set of replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of finite values used.
    pub n: usize,
    /// Number of non-finite values (NaN, ±inf) that were ignored.
    pub skipped: usize,
    /// Mean of the values.
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1); `None` when n = 1.
    pub sd: Option<f64>,
    /// Half-width of the 95% confidence interval of the mean, t(0.975, n − 1) · sd / √n;
    /// `None` when n = 1.
    pub ci95_half_width: Option<f64>,
}

impl Summary {
    /// Summarises the finite values of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let finite = || values.iter().copied().filter(|v| v.is_finite());
        let n = finite().count();
        if n == 0 {
            return None;
        }
        let skipped = values.len() - n;
        let mean = mean_of(finite(), n);
        if n == 1 {
            return Some(Summary {
                n,
                skipped,
                mean,
                sd: None,
                ci95_half_width: None,
            });
        }
        let ss: f64 = finite().map(|v| (v - mean) * (v - mean)).sum();
        let sd = (ss / (n - 1) as f64).sqrt();
        let half = t_quantile_975(n - 1) * sd / (n as f64).sqrt();
        Some(Summary {
            n,
            skipped,
            mean,
            sd: Some(sd),
            ci95_half_width: Some(half),
        })
    }

    /// The interval `(mean − h, mean + h)`, or `None` when n = 1.
    pub fn ci95(&self) -> Option<(f64, f64)> {
        self.ci95_half_width.map(|h| (self.mean - h, self.mean + h))
    }
}

/// Mean with a correction pass, which keeps large equal values exact (e.g. the mean of
/// three copies of 0.1 is exactly 0.1).
fn mean_of(values: impl Iterator<Item = f64> + Clone, n: usize) -> f64 {
    let nf = n as f64;
    let first = values.clone().sum::<f64>() / nf;
    let correction = values.map(|v| v - first).sum::<f64>() / nf;
    first + correction
}

/// The 0.975 quantile of Student's t distribution with 1..=30 degrees of freedom.
const T_975: [f64; 30] = [
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
    2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687,
    2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom (the factor
/// for a two-sided 95% interval). A table for df 1..=30; beyond, the Cornish–Fisher
/// expansion around the normal quantile 1.959964 (accurate to 1e-4 there, tending to 1.96).
/// `df = 0` has no finite quantile and returns infinity.
pub(crate) fn t_quantile_975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_975.get(df - 1).copied().unwrap_or(f64::INFINITY),
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let d = df as f64;
            let z3 = z * z * z;
            let z5 = z3 * z * z;
            z + (z3 + z) / (4.0 * d) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[f64::NAN, f64::INFINITY]), None);
    }

    #[test]
    fn single_value_has_no_interval() {
        let s = Summary::of(&[42.0]).unwrap();
        assert_eq!(s.n, 1);
        assert_eq!(s.mean, 42.0);
        assert_eq!(s.sd, None);
        assert_eq!(s.ci95_half_width, None);
        assert_eq!(s.ci95(), None);
    }

    #[test]
    fn known_values() {
        // mean 5, sample variance 32/7, sd 2.13809
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert_eq!(s.mean, 5.0);
        let sd = s.sd.unwrap();
        assert!(close(sd, (32.0f64 / 7.0).sqrt(), 1e-12));
        let h = s.ci95_half_width.unwrap();
        assert!(close(h, 2.3646 * sd / 8f64.sqrt(), 1e-12));
        let (lo, hi) = s.ci95().unwrap();
        assert!(close(lo, 5.0 - h, 1e-12) && close(hi, 5.0 + h, 1e-12));
    }

    #[test]
    fn two_values() {
        let s = Summary::of(&[1.0, 3.0]).unwrap();
        assert_eq!(s.mean, 2.0);
        assert!(close(s.sd.unwrap(), 2f64.sqrt(), 1e-12));
        // 12.7062 * sqrt(2) / sqrt(2)
        assert!(close(s.ci95_half_width.unwrap(), 12.7062, 1e-9));
    }

    #[test]
    fn identical_values_have_zero_width() {
        let s = Summary::of(&[0.1, 0.1, 0.1]).unwrap();
        assert_eq!(s.mean, 0.1);
        assert_eq!(s.sd, Some(0.0));
        assert_eq!(s.ci95_half_width, Some(0.0));
    }

    #[test]
    fn non_finite_values_are_skipped_and_counted() {
        let s = Summary::of(&[1.0, f64::NAN, 3.0, f64::NEG_INFINITY]).unwrap();
        assert_eq!((s.n, s.skipped), (2, 2));
        assert_eq!(s.mean, 2.0);
    }

    #[test]
    fn deterministic() {
        let values: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.7317).sin() * 1e6).collect();
        let a = Summary::of(&values).unwrap();
        let b = Summary::of(&values).unwrap();
        assert_eq!(a.mean.to_bits(), b.mean.to_bits());
        assert_eq!(
            a.ci95_half_width.map(f64::to_bits),
            b.ci95_half_width.map(f64::to_bits)
        );
    }

    #[test]
    fn t_quantiles() {
        assert_eq!(t_quantile_975(1), 12.7062);
        assert_eq!(t_quantile_975(30), 2.0423);
        assert!(t_quantile_975(0).is_infinite());
        // published values: df 40 -> 2.0211, 60 -> 2.0003, 120 -> 1.9799
        assert!(close(t_quantile_975(31), 2.0395, 2e-4));
        assert!(close(t_quantile_975(40), 2.0211, 2e-4));
        assert!(close(t_quantile_975(60), 2.0003, 2e-4));
        assert!(close(t_quantile_975(120), 1.9799, 2e-4));
        assert!(close(t_quantile_975(1_000_000), 1.96, 1e-3));
        // monotone decreasing
        for df in 1..200 {
            assert!(t_quantile_975(df) > t_quantile_975(df + 1), "df {df}");
        }
    }
}
