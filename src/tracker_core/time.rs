//! ISO-8601 timestamps from Unix milliseconds, without `core::fmt`.

use crate::prelude::*;

/// Formats Unix epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn iso8601(ms: u64) -> String {
    let mut out = String::with_capacity(24);
    push_iso8601(&mut out, ms);
    out
}

/// Appends the ISO-8601 form of `ms` to `out`.
pub fn push_iso8601(out: &mut String, ms: u64) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    push_digits(out, y as u64, 4);
    out.push('-');
    push_digits(out, m as u64, 2);
    out.push('-');
    push_digits(out, d as u64, 2);
    out.push('T');
    push_digits(out, sod / 3600, 2);
    out.push(':');
    push_digits(out, sod % 3600 / 60, 2);
    out.push(':');
    push_digits(out, sod % 60, 2);
    out.push('.');
    push_digits(out, ms % 1000, 3);
    out.push('Z');
}

fn push_digits(out: &mut String, n: u64, width: u32) {
    let mut div = 10u64.pow(width - 1);
    while div > 0 {
        out.push((b'0' + (n / div % 10) as u8) as char);
        div /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_763_805_600_000), "2025-11-22T10:00:00.000Z");
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn every_day_for_two_centuries_matches_a_reference() {
        // Walk day by day and check the calendar advances by exactly one valid date.
        let mut prev = iso8601(0);
        for day in 1..(200 * 366) {
            let s = iso8601(day * 86_400_000 + 45_296_789);
            assert!(s.ends_with("T12:34:56.789Z"), "{s}");
            assert!(s[..10] > prev[..10], "{s} after {prev}");
            let (y, m, d): (u32, u32, u32) = (
                s[0..4].parse().unwrap(),
                s[5..7].parse().unwrap(),
                s[8..10].parse().unwrap(),
            );
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let dim = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            assert!(
                (1..=12).contains(&m) && d >= 1 && d <= dim[m as usize - 1],
                "{s}"
            );
            prev = s;
        }
    }
}
