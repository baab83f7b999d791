//! ISO-8601 UTC timestamps with millisecond precision, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn now_iso8601() -> String {
    format_iso8601(SystemTime::now())
}

/// Formats `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC. Times before the Unix
/// epoch are clamped to the epoch.
pub(crate) fn format_iso8601(t: SystemTime) -> String {
    let since_epoch = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let millis = since_epoch.subsec_millis();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (clamped to the
/// epoch).
pub(crate) fn format_millis(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    format_iso8601(UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

/// Parses an ISO-8601 date or date-time into milliseconds since the Unix epoch:
/// `YYYY-MM-DD` (midnight UTC), or `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z`, an
/// offset (`+HH:MM`, `+HHMM`, `+HH`) or nothing (UTC). A space may stand for the `T`.
/// Fractions beyond milliseconds are cut off. `None` for anything else, including
/// impossible dates such as February 30.
pub(crate) fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // `month` and `day` were just checked to be small.
    let days = days_from_civil(year, month as u32, day as u32);
    let date_ms = days * 86_400_000;
    if b.len() == 10 {
        return Some(date_ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    let mut at = 16;
    let mut second = 0;
    let mut millis = 0;
    if b.get(at) == Some(&b':') {
        second = num(at + 1, 2)?;
        at += 3;
        if b.get(at) == Some(&b'.') || b.get(at) == Some(&b',') {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                if at - start < 3 {
                    millis = millis * 10 + i64::from(b[at] - b'0');
                }
                at += 1;
            }
            let digits = at - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..3 {
                millis *= 10;
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset_min = match &b[at..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest {
                [_, _] => (num(at + 1, 2)?, 0),
                [_, _, b':', _, _] => (num(at + 1, 2)?, num(at + 4, 2)?),
                [_, _, _, _] => (num(at + 1, 2)?, num(at + 3, 2)?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    let secs = hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(date_ms + secs * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Converts a proleptic Gregorian date to days since 1970-01-01 (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // [0, 11]
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
///
/// This is Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // `day` and `month` are small and positive by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(millis: u64) -> String {
        format_iso8601(UNIX_EPOCH + Duration::from_millis(millis))
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_868_800_000), "2000-03-01T00:00:00.000Z");
        assert_eq!(at(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(at(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_dates_and_date_times() {
        let p = parse_iso8601;
        assert_eq!(p("1970-01-01"), Some(0));
        assert_eq!(p("2000-03-01"), Some(951_868_800_000));
        assert_eq!(p("2024-02-29T12:34:56.789Z"), Some(1_709_210_096_789));
        assert_eq!(p("2024-02-29T12:34:56.7891234Z"), Some(1_709_210_096_789));
        assert_eq!(p("2024-02-29T12:34:56.7Z"), Some(1_709_210_096_700));
        assert_eq!(p("2024-02-29T12:34:56Z"), Some(1_709_210_096_000));
        assert_eq!(p("2024-02-29T12:34:56"), Some(1_709_210_096_000));
        assert_eq!(p("2024-02-29t12:34z"), Some(1_709_210_040_000));
        assert_eq!(p("2024-02-29 12:34:56Z"), Some(1_709_210_096_000));
        assert_eq!(p("2024-02-29T14:34:56+02:00"), Some(1_709_210_096_000));
        assert_eq!(p("2024-02-29T10:04:56-0230"), Some(1_709_210_096_000));
        assert_eq!(p("2024-02-29T13:34:56+01"), Some(1_709_210_096_000));
        assert_eq!(p("2099-12-31T23:59:59.999Z"), Some(4_102_444_799_999));
        assert_eq!(p("1969-12-31T23:59:59.000Z"), Some(-1000));
        for bad in [
            "",
            "2024",
            "2024-2-29",
            "2023-02-29",
            "2024-13-01",
            "2024-04-31",
            "2024-00-10",
            "2024-02-29T",
            "2024-02-29T24:00Z",
            "2024-02-29T12:60Z",
            "2024-02-29T12:30:60Z",
            "2024-02-29T12:30:00.Z",
            "2024-02-29T12:30:00+2",
            "2024-02-29T12:30:00+24:00",
            "2024-02-29T12:30:00 UTC",
            "2024-02-29x",
            "yesterday",
            "+2024-02-29",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_and_format_round_trip() {
        for ms in [
            0,
            86_399_999,
            951_868_800_000,
            1_709_210_096_789,
            4_102_444_799_999,
        ] {
            assert_eq!(parse_iso8601(&format_millis(ms)), Some(ms));
        }
        let mut day = 0;
        while day < 200_000 {
            let ms = day * 86_400_000 + 12_345;
            assert_eq!(parse_iso8601(&format_millis(ms)), Some(ms), "{day}");
            day += 37;
        }
    }

    #[test]
    fn now_has_expected_shape() {
        let s = now_iso8601();
        assert_eq!(s.len(), 24, "{s}");
        assert!(s.ends_with('Z'));
        assert_eq!(&s[10..11], "T");
        assert_eq!(&s[19..20], ".");
    }
}
