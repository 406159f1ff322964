//! Numeric helpers for the hot loop.

/// 2^52: below it, `x - trunc(x)` is exact for an `f64`.
const EXACT_FRACTION: f64 = 4_503_599_627_370_496.0;

/// Rounds a non-negative `f64` half away from zero to `u64`, exactly as `x.round() as u64`
/// does (NaN and negative values give 0, values past `u64::MAX` saturate), without the
/// library call `f64::round` compiles to on baseline x86-64.
#[inline]
pub(crate) fn round_u64(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    if x < EXACT_FRACTION {
        // Through i64 (the value fits): its conversions are one instruction each, where
        // u64's are several on baseline x86-64.
        let t = x as i64;
        // Branch-free: the fraction of a random sample is unpredictable.
        (t + i64::from(x - t as f64 >= 0.5)) as u64
    } else {
        // Already an integer; `as` saturates at u64::MAX.
        x as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_round() {
        let cases = [
            0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            2.4999,
            1e6 + 0.5,
            123456.789,
            4.5e15,
            4.503599627370497e15,
            9.007199254740993e15,
            1.8e19,
            2e19,
            f64::INFINITY,
            -0.4,
            -3.0,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        for x in cases {
            assert_eq!(round_u64(x), x.round() as u64, "{x}");
        }
        let mut x = 0.0f64;
        while x < 1e7 {
            assert_eq!(round_u64(x), x.round() as u64, "{x}");
            x = x * 1.37 + 0.173;
        }
    }
}
