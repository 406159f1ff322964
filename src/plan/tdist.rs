//! Student's t quantiles at any confidence level, for `--confidence`.
//!
//! The sweep only needs the 0.975 quantile (a table); `plan` accepts any level in (0, 1), so
//! the quantile is found by bisection on the distribution function, computed through the
//! regularized incomplete beta function (continued fraction, Lentz's method).

/// `ln Γ(x)` for x > 0 (Lanczos approximation, g = 7, n = 9; relative error below 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C.first().copied().unwrap_or(1.0);
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (Numerical Recipes `betacf`).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom.
fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, x);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The `p` quantile (0.5 ≤ p < 1) of Student's t with `df` ≥ 1 degrees of freedom: the factor
/// of a two-sided interval at confidence `2p − 1`. Accurate to about 1e-10.
pub fn t_quantile(p: f64, df: usize) -> f64 {
    if df == 0 || !(0.5..1.0).contains(&p) {
        return f64::INFINITY;
    }
    let df = df as f64;
    // Bracket, then bisect: the distribution function is increasing.
    let mut hi = 1.0;
    while t_cdf(hi, df) < p && hi < 1e12 {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The half-width factor of a two-sided interval at `confidence` with `n` values: the
/// `(1 + confidence) / 2` quantile with `n − 1` degrees of freedom.
pub fn interval_factor(confidence: f64, n: usize) -> f64 {
    t_quantile((1.0 + confidence) / 2.0, n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_quantiles() {
        // Student's t table
        for (p, df, want) in [
            (0.975, 1, 12.7062),
            (0.975, 4, 2.7764),
            (0.975, 30, 2.0423),
            (0.95, 9, 1.8331),
            (0.995, 2, 9.9248),
            (0.9, 5, 1.4759),
            (0.999, 10, 4.1437),
        ] {
            let got = t_quantile(p, df);
            assert!(
                (got - want).abs() < 1e-4,
                "t({p}, {df}) = {got}, want {want}"
            );
        }
        assert!((t_quantile(0.975, 1_000_000) - 1.959_96).abs() < 1e-4);
        assert!(t_quantile(0.5, 7).abs() < 1e-9);
        assert!(t_quantile(0.975, 0).is_infinite());
    }

    #[test]
    fn agrees_with_the_sweep_table() {
        for df in 1..=40 {
            let a = t_quantile(0.975, df);
            let b = crate::sweep::stats::t_quantile_975(df);
            assert!((a - b).abs() < 2e-4, "df {df}: {a} vs {b}");
        }
        assert!((interval_factor(0.95, 5) - 2.7764).abs() < 1e-4);
    }
}
