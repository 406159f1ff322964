//! Timestamps of trace records: seconds as a number, or RFC 3339 date-times.

/// Which kind of timestamp a trace uses (a trace must not mix them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeKind {
    /// A number of seconds.
    Seconds,
    /// An RFC 3339 date-time (µs since the Unix epoch).
    Rfc3339,
}

/// Parses a timestamp into µs: a number of seconds (`"12.5"`) or an RFC 3339 date-time
/// (`"2025-06-01T12:00:00.250Z"`, `"2025-06-01 12:00:00+02:00"`).
pub fn parse_timestamp(s: &str) -> Result<(i64, TimeKind), String> {
    let s = s.trim();
    if let Ok(x) = s.parse::<f64>() {
        if !x.is_finite() || x.abs() > 9.0e12 {
            return Err(format!("timestamp {s} is out of range"));
        }
        return Ok(((x * 1e6).round() as i64, TimeKind::Seconds));
    }
    parse_rfc3339(s).map(|t| (t, TimeKind::Rfc3339)).ok_or_else(|| {
        format!(
            "expected a timestamp in seconds (e.g. 12.5) or RFC 3339 (e.g. 2025-06-01T12:00:00Z), found \"{s}\""
        )
    })
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 date-time → µs since the Unix epoch (fractions beyond µs are truncated).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let date = s.get(0..10)?;
    let sep = s.get(10..11)?;
    if !matches!(sep, "T" | "t" | " ") {
        return None;
    }
    let mut parts = date.split('-');
    let (y, mo, d) = (
        digits(parts.next()?)?,
        digits(parts.next()?)?,
        digits(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let rest = s.get(11..)?;
    let hms = rest.get(0..8)?;
    let mut t = hms.split(':');
    let (h, mi, sec) = (digits(t.next()?)?, digits(t.next()?)?, digits(t.next()?)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = rest.get(8..)?;
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let f = frac.get(..n)?;
        let mut scale = 100_000;
        for b in f.bytes().take(6) {
            micros += i64::from(b - b'0') * scale;
            scale /= 10;
        }
        rest = frac.get(n..)?;
    }
    let offset_s = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let oh = digits(rest.get(1..3)?)?;
            if rest.get(3..4)? != ":" || rest.len() != 6 {
                return None;
            }
            let om = digits(rest.get(4..6)?)?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2025-06-01T12:00:00.25Z"),
            Some(1_748_779_200_250_000)
        );
        assert_eq!(
            parse_rfc3339("2025-06-01 14:00:00+02:00"),
            Some(1_748_779_200_000_000)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000_000)
        );
        for bad in [
            "2025-13-01T00:00:00Z",
            "2025-06-01",
            "2025-06-01T12:00:00",
            "x",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn seconds_or_dates() {
        assert_eq!(parse_timestamp("1.5"), Ok((1_500_000, TimeKind::Seconds)));
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:01Z").map(|t| t.1),
            Ok(TimeKind::Rfc3339)
        );
        assert!(parse_timestamp("soon").unwrap_err().contains("RFC 3339"));
    }
}
