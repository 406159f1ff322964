//! Durations: a number and a unit (`us`, `ms`, `s`, `m`, `h`, `d`) or a bare number of
//! seconds, converted to integer microseconds by rounding to the nearest microsecond.
//!
//! Decimal strings are converted exactly (no floating point), so `"0.1s"` is 100 000 µs.
//!
//! This is the one place durations are parsed, formatted, read from TOML and written back:
//! a leaf module that the scenario, workload and quota modules all use.

use std::fmt;

use serde::Serializer;
use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Microseconds per unit, longest suffix first so `ms` is not read as `m`.
const UNITS: [(&str, u128); 6] = [
    ("us", 1),
    ("ms", 1_000),
    ("s", 1_000_000),
    ("m", 60_000_000),
    ("h", 3_600_000_000),
    ("d", 86_400_000_000),
];

/// What a duration must look like, for error messages.
pub const EXPECTED: &str = "a duration such as \"1500us\", \"250ms\", \"1.5s\", \"30m\", \"2h\", \"7d\" or a bare number of seconds";

/// Parses a duration string such as `"250ms"` into microseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit_us) = match UNITS.iter().find(|(u, _)| t.ends_with(u)) {
        Some((u, us)) => (t[..t.len() - u.len()].trim(), *us),
        None => (t, 1_000_000),
    };
    let us = parse_decimal_scaled(number, unit_us)
        .ok_or_else(|| format!("expected {EXPECTED}, found \"{text}\""))?;
    u64::try_from(us).map_err(|_| {
        format!("duration \"{text}\" is too long (the maximum is about 584,000 years)")
    })
}

/// Converts a bare number of seconds (from a TOML float or integer) to microseconds.
pub fn seconds_to_us(seconds: f64) -> Result<u64, String> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("expected a non-negative duration, found {seconds}"));
    }
    let us = (seconds * 1e6).round();
    if us >= u64::MAX as f64 {
        return Err(format!(
            "a duration of {seconds:e} s is too long (the maximum is about 584,000 years)"
        ));
    }
    Ok(us as u64)
}

/// Formats microseconds in the shortest exact unit, e.g. `1500000` → `"1500ms"`.
pub fn format_duration(us: u64) -> String {
    for (unit, per) in UNITS.iter().rev() {
        let per = *per as u64;
        if us >= per && us.is_multiple_of(per) {
            return format!("{}{unit}", us / per);
        }
    }
    if us == 0 {
        "0s".into()
    } else {
        format!("{us}us")
    }
}

/// A duration in µs, written as `"250ms"` or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawDuration(pub u64);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawDuration, E> {
                parse_duration(s).map(RawDuration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawDuration, E> {
                if n < 0 {
                    return Err(E::custom(format!(
                        "expected a non-negative duration, found {n}"
                    )));
                }
                self.visit_u64(n as u64)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<RawDuration, E> {
                n.checked_mul(1_000_000).map(RawDuration).ok_or_else(|| {
                    E::custom(format!(
                        "a duration of {n} s is too long (the maximum is about 584,000 years)"
                    ))
                })
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<RawDuration, E> {
                seconds_to_us(x).map(RawDuration).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Serializes µs as a duration string such as `"250ms"`.
pub fn ser_duration<S: Serializer>(us: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*us))
}

/// Serializes an optional duration (`None` as nothing).
pub fn ser_opt_duration<S: Serializer>(us: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match us {
        Some(us) => ser_duration(us, s),
        None => s.serialize_none(),
    }
}

/// `digits[.digits]` × `scale`, rounded half up to an integer; `None` when malformed.
fn parse_decimal_scaled(number: &str, scale: u128) -> Option<u128> {
    let number = number.strip_prefix('+').unwrap_or(number);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    let int_part = int_part.replace('_', "");
    let frac_part = frac_part.replace('_', "");
    if int_part.len() > 30 {
        return None;
    }
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut total = int.checked_mul(scale)?;
    // Only the first 12 fractional digits can matter below one microsecond for every unit.
    let frac: &str = &frac_part[..frac_part.len().min(12)];
    if !frac.is_empty() {
        let denom = 10u128.pow(frac.len() as u32);
        let num: u128 = frac.parse().ok()?;
        let scaled = num * scale;
        total = total.checked_add((scaled + denom / 2) / denom)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("1500us"), Ok(1500));
        assert_eq!(parse_duration("250ms"), Ok(250_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration("30m"), Ok(1_800_000_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000_000));
        assert_eq!(parse_duration("7d"), Ok(604_800_000_000));
        assert_eq!(parse_duration("12"), Ok(12_000_000));
        assert_eq!(parse_duration("0.1s"), Ok(100_000));
        assert_eq!(parse_duration("0.0000005s"), Ok(1), "rounds half up");
        assert_eq!(parse_duration("0.0000004s"), Ok(0));
        assert_eq!(parse_duration(" 3 ms "), Ok(3000));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "ms",
            "-1s",
            "1.2.3s",
            "abc",
            "1x",
            "1e3s",
            "99999999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bare_seconds() {
        assert_eq!(seconds_to_us(1.5), Ok(1_500_000));
        assert!(seconds_to_us(-1.0).is_err());
        assert!(seconds_to_us(f64::NAN).is_err());
        assert!(seconds_to_us(1e300).is_err());
    }

    #[test]
    fn formatting_round_trips() {
        for us in [0, 1, 1500, 250_000, 1_500_000, 60_000_000, 86_400_000_000] {
            assert_eq!(parse_duration(&format_duration(us)), Ok(us));
        }
        assert_eq!(format_duration(1_500_000), "1500ms");
        assert_eq!(format_duration(120_000_000), "2m");
    }
}
