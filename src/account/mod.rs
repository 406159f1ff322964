//! Your own account: import the Service Quotas you have ([`import`]), write what CloudWatch
//! would show for a run ([`cloudwatch`]), and calibrate a scenario against the CloudWatch
//! metrics you observed ([`calibrate`]). See docs/guide/account.md.

pub mod calibrate;
pub mod cloudwatch;
pub mod dashboard;
pub mod import;

/// `secs` since the Unix epoch as an ISO 8601 UTC date-time, `2026-01-01T00:00:00` followed
/// by `zone` (`"Z"` or `"+00:00"`, which the AWS CLI prints).
pub fn format_utc(secs: i64, zone: &str) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{zone}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        // 2026-01-01T00:00:00Z is 1,767,225,600 s after the epoch (20,454 days × 86,400).
        assert_eq!(format_utc(1_767_225_600, "Z"), "2026-01-01T00:00:00Z");
        assert_eq!(format_utc(0, "+00:00"), "1970-01-01T00:00:00+00:00");
        // 2024-02-29 (a leap day) 12:34:56.
        assert_eq!(format_utc(1_709_210_096, "Z"), "2024-02-29T12:34:56Z");
        for t in [-86_400 * 400, 0, 951_782_400, 4_102_444_800] {
            let s = format_utc(t, "Z");
            assert_eq!(crate::trace::time::parse_rfc3339(&s), Some(t * 1_000_000));
        }
    }
}
