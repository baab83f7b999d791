//! Exact money: amounts in micro-units (millionths of a currency unit) read from the decimal
//! text of a JSON number or string, never through floating-point arithmetic.

use serde_json::Value;

/// Micro-units in one currency unit.
pub(crate) const MICROS: i64 = 1_000_000;

/// The micro-units of an amount sent as a JSON number or a numeric string (`19.99`, `"19.99"`,
/// `1e3`). Digits past the sixth decimal are rounded half away from zero. `None` for anything
/// else and for amounts beyond about ±9.2 trillion.
pub(crate) fn micros_of(value: &Value) -> Option<i64> {
    match value {
        // A number read from JSON prints as the shortest decimal that reads back as the same
        // number: the text the sender wrote, for every amount with at most 15 digits.
        Value::Number(n) => parse_micros(&n.to_string()),
        Value::String(s) => parse_micros(s.trim()),
        _ => None,
    }
}

/// Parses decimal text (`-12.345`, `1e-2`, `3.`) into micro-units.
pub(crate) fn parse_micros(text: &str) -> Option<i64> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // All digits, and where the decimal point falls once the exponent has moved it.
    let digits: Vec<u8> = whole
        .bytes()
        .chain(fraction.bytes())
        .map(|b| b - b'0')
        .collect();
    let point = i64::try_from(whole.len()).ok()? + i64::from(exponent);
    // Micro-units: the digits before position `point + 6`; the next digit rounds.
    let cut = point.checked_add(6)?;
    let mut value: i128 = 0;
    for (i, &d) in digits.iter().enumerate() {
        let i = i64::try_from(i).ok()?;
        if i < cut {
            value = value.checked_mul(10)?.checked_add(i128::from(d))?;
            if value > i128::from(i64::MAX) {
                return None;
            }
        } else {
            if i == cut && d >= 5 {
                value += 1;
            }
            break;
        }
    }
    // Trailing zeros when the digits end before the micro position.
    let known = i64::try_from(digits.len()).ok()?;
    for _ in known.max(0)..cut {
        value = value.checked_mul(10)?;
        if value > i128::from(i64::MAX) {
            return None;
        }
    }
    let value = i64::try_from(value).ok()?;
    Some(if negative { -value } else { value })
}

/// The digits after the decimal point of a currency's minor unit (ISO 4217): 0 for JPY and
/// KRW, 3 for BHD, KWD, JOD, OMR and TND, 2 otherwise.
pub(crate) fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" => 0,
        "BHD" | "KWD" | "JOD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Formats micro-units as a decimal string with the currency's minor digits, and more
/// digits only when the amount has them (an exact sum is never rounded).
pub(crate) fn format(micros: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let (whole, fraction) = (abs / MICROS as u64, abs % MICROS as u64);
    let mut frac = format!("{fraction:06}");
    while frac.len() > digits as usize && frac.ends_with('0') {
        frac.pop();
    }
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// `total / count` rounded half away from zero to the currency's minor unit, in micro-units;
/// `None` when `count` is not positive.
pub(crate) fn divide(total: i64, count: i64, currency: &str) -> Option<i64> {
    if count <= 0 {
        return None;
    }
    let unit = i128::from(MICROS) / 10i128.pow(minor_digits(currency));
    // Minor units, rounded half away from zero: (2|t| + c·u) / (2·c·u).
    let (t, c) = (i128::from(total), i128::from(count));
    let minor = (2 * t.abs() + c * unit) / (2 * c * unit);
    let minor = if total < 0 { -minor } else { minor };
    i64::try_from(minor * unit).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_decimal_text_exactly() {
        assert_eq!(parse_micros("19.99"), Some(19_990_000));
        assert_eq!(parse_micros("0.1"), Some(100_000));
        assert_eq!(parse_micros("-5"), Some(-5_000_000));
        assert_eq!(parse_micros("+5."), Some(5_000_000));
        assert_eq!(parse_micros(".5"), Some(500_000));
        assert_eq!(parse_micros("1e3"), Some(1_000_000_000));
        assert_eq!(parse_micros("1.5E-2"), Some(15_000));
        assert_eq!(parse_micros("1234567.1234565"), Some(1_234_567_123_457));
        assert_eq!(parse_micros("0.0000004"), Some(0));
        assert_eq!(parse_micros("0.0000005"), Some(1));
        assert_eq!(parse_micros("1e-30"), Some(0));
        assert_eq!(parse_micros("9223372036854.775807"), Some(i64::MAX));
        for bad in [
            "", "-", ".", "1.2.3", "12a", "1e", "e5", "NaN", "1e99", " 1",
        ] {
            assert_eq!(parse_micros(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn json_numbers_keep_their_decimal_text() {
        // 0.1 + 0.2 drifts in floating point; each amount read on its own does not.
        let amounts: Vec<Value> = serde_json::from_str("[0.1, 0.2, 19.99, 1e2, 7, \"3.30\"]")
            .map(|v: Value| v.as_array().cloned().unwrap_or_default())
            .unwrap_or_default();
        let micros: Vec<Option<i64>> = amounts.iter().map(micros_of).collect();
        assert_eq!(
            micros,
            [
                Some(100_000),
                Some(200_000),
                Some(19_990_000),
                Some(100_000_000),
                Some(7_000_000),
                Some(3_300_000)
            ]
        );
        assert_eq!(micros_of(&json!(null)), None);
        assert_eq!(micros_of(&json!("ten")), None);
        let sum: i64 = (0..1000).map(|_| 19_990_000).sum();
        assert_eq!(format(sum, "USD"), "19990.00");
    }

    #[test]
    fn formats_with_minor_digits() {
        assert_eq!(format(123_400_000, "USD"), "123.40");
        assert_eq!(format(10_000_000, "EUR"), "10.00");
        assert_eq!(format(1_500_000_000, "JPY"), "1500");
        assert_eq!(format(1_500_500_000, "JPY"), "1500.5");
        assert_eq!(format(1_234_500, "BHD"), "1.2345");
        assert_eq!(format(1_234_000, "KWD"), "1.234");
        assert_eq!(format(-50_000, "USD"), "-0.05");
        assert_eq!(format(19_995_000, "USD"), "19.995");
        assert_eq!(format(0, "USD"), "0.00");
    }

    #[test]
    fn divides_half_up_to_minor_units() {
        assert_eq!(divide(10_000_000, 3, "USD"), Some(3_330_000));
        assert_eq!(divide(20_000_000, 3, "USD"), Some(6_670_000));
        assert_eq!(divide(10_050_000, 2, "USD"), Some(5_030_000)); // 5.025 -> 5.03
        assert_eq!(divide(-10_050_000, 2, "USD"), Some(-5_030_000));
        assert_eq!(divide(2_500_000_000, 2, "JPY"), Some(1_250_000_000));
        assert_eq!(divide(2_501_000_000, 2, "JPY"), Some(1_251_000_000)); // 1250.5 -> 1251
        assert_eq!(divide(1_000_000, 3, "KWD"), Some(333_000));
        assert_eq!(divide(1, 0, "USD"), None);
    }
}
