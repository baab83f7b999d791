//! Exact money: amounts as integers in a currency's minor unit (cents, fils, yen), ISO 4217.
//!
//! Prices reach the SDK as decimal text (JavaScript's `String(number)` or a merchant's string)
//! and leave it as JSON number text. Neither direction goes through a float, so `19.99` stays
//! `19.99` and a sum of line totals is exact. Its errors are its own ([`MoneyError`]): money
//! imports nothing from commerce.

use super::json;
use crate::prelude::*;

/// The largest minor-unit exponent of any currency (`CLF`, `UYW`).
pub const MAX_EXPONENT: u8 = 4;

/// Currencies without a minor unit.
const EXPONENT_0: [&[u8; 3]; 17] = [
    b"BIF", b"CLP", b"DJF", b"GNF", b"ISK", b"JPY", b"KMF", b"KRW", b"PYG", b"RWF", b"UGX", b"UYI",
    b"VND", b"VUV", b"XAF", b"XOF", b"XPF",
];
/// Currencies with thousandths.
const EXPONENT_3: [&[u8; 3]; 7] = [b"BHD", b"IQD", b"JOD", b"KWD", b"LYD", b"OMR", b"TND"];
/// Currencies with ten-thousandths.
const EXPONENT_4: [&[u8; 3]; 2] = [b"CLF", b"UYW"];

/// Why a currency code or an amount was refused.
///
/// Commerce turns these into its own errors (about a named property where it knows one), with
/// the same messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// A currency is not three ASCII letters.
    BadCurrency,
    /// An amount is not decimal number text.
    BadAmount,
    /// An amount has digits below the currency's minor unit.
    TooPrecise,
    /// An amount does not fit in 64 bits of minor units.
    AmountTooLarge,
}

impl MoneyError {
    /// A sentence that tells the caller what is wrong.
    pub fn message(self) -> &'static str {
        match self {
            Self::BadCurrency => "currency must be a three-letter ISO 4217 code such as USD",
            Self::BadAmount => {
                "amount must be a decimal number such as 19.99, without symbols or separators"
            }
            Self::TooPrecise => "amount has more decimal places than the currency allows",
            Self::AmountTooLarge => "amount is too large to be counted exactly",
        }
    }
}

/// A validated ISO 4217 currency code and the number of decimal places of its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// US dollars, the currency used when neither the product nor the cart names one.
    pub const USD: Currency = Currency {
        code: *b"USD",
        exponent: 2,
    };

    /// Whole numbers: used to read quantities and positions with [`parse_amount`].
    pub(crate) const WHOLE: Currency = Currency {
        code: *b"XXX",
        exponent: 0,
    };

    /// Reads a three-letter code, in any letter case (`usd`, `EUR`). The code is kept uppercase.
    /// Codes outside the built-in exponent tables have two decimal places.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let mut c = [0u8; 3];
        let mut bytes = code.bytes();
        for slot in c.iter_mut() {
            match bytes.next() {
                Some(b) if b.is_ascii_alphabetic() => *slot = b.to_ascii_uppercase(),
                _ => return Err(MoneyError::BadCurrency),
            }
        }
        if bytes.next().is_some() {
            return Err(MoneyError::BadCurrency);
        }
        let exponent = if EXPONENT_0.contains(&&c) {
            0
        } else if EXPONENT_3.contains(&&c) {
            3
        } else if EXPONENT_4.contains(&&c) {
            4
        } else {
            2
        };
        Ok(Currency { code: c, exponent })
    }

    /// The uppercase three-letter code, such as `USD`.
    pub fn code(&self) -> &str {
        core::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Decimal places of the minor unit: 2 for USD (cents), 0 for JPY, 3 for KWD.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Minor units in one major unit: 100 for USD.
    fn scale(&self) -> u64 {
        10u64.pow(u32::from(self.exponent.min(MAX_EXPONENT)))
    }
}

/// Reads an exact decimal amount into minor units of `cur`.
///
/// Accepts an optional sign, digits with an optional fraction, and an optional exponent as
/// JavaScript writes large and small numbers (`1e+21`, `5e-7`, `1.5e3`); surrounding ASCII
/// whitespace is ignored. Fractions finer than the currency's minor unit are refused, never
/// rounded (trailing zeros are fine: `19.990` is 1999 cents), and so are amounts beyond `i64`.
pub fn parse_amount(text: &str, cur: Currency) -> Result<i64, MoneyError> {
    let bad = MoneyError::BadAmount;
    let s = text
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .as_bytes();
    let (negative, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let (mantissa, exp_text) = match s.iter().position(|&b| b == b'e' || b == b'E') {
        Some(p) => (
            s.get(..p).unwrap_or_default(),
            Some(s.get(p + 1..).unwrap_or_default()),
        ),
        None => (s, None),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&b| b == b'.') {
        Some(p) => (
            mantissa.get(..p).unwrap_or_default(),
            mantissa.get(p + 1..).unwrap_or_default(),
        ),
        None => (mantissa, &[][..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad);
    }
    if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return Err(bad);
    }
    let exp10 = match exp_text {
        Some(e) => parse_exponent(e).ok_or(bad)?,
        None => 0,
    };
    // value = digits × 10^(exp10 − fraction digits); in minor units, × 10^exponent as well.
    let frac_len = i64::try_from(frac_part.len()).unwrap_or(i64::MAX);
    let shift = exp10
        .saturating_sub(frac_len)
        .saturating_add(i64::from(cur.exponent));
    let digits = int_part.iter().chain(frac_part);
    let count = int_part.len().saturating_add(frac_part.len());
    // Digits below the minor unit must all be zero.
    let dropped = usize::try_from(shift.saturating_neg().max(0)).unwrap_or(usize::MAX);
    let kept = count.saturating_sub(dropped);
    if digits.clone().skip(kept).any(|&d| d != b'0') {
        return Err(MoneyError::TooPrecise);
    }
    let too_large = MoneyError::AmountTooLarge;
    let mut value: u64 = 0;
    for &d in digits.take(kept) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d.saturating_sub(b'0'))))
            .ok_or(too_large)?;
    }
    if value != 0 && shift > 0 {
        let factor = u32::try_from(shift)
            .ok()
            .and_then(|s| 10u64.checked_pow(s))
            .ok_or(too_large)?;
        value = value.checked_mul(factor).ok_or(too_large)?;
    }
    if negative {
        0i64.checked_sub_unsigned(value).ok_or(too_large)
    } else {
        i64::try_from(value).map_err(|_| too_large)
    }
}

/// Reads the digits after `e` (with an optional sign), saturating far beyond any useful range.
fn parse_exponent(e: &[u8]) -> Option<i64> {
    let (negative, digits) = match e.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |n, &d| {
        n.saturating_mul(10)
            .saturating_add(i64::from(d.saturating_sub(b'0')))
    });
    Some(if negative { -n } else { n })
}

/// Appends `minor` units of `cur` as JSON number text: `19.99`, `20`, `0.5`, `-3.25`, `1.234`.
/// The fraction has no trailing zeros; the text reads back exactly with [`parse_amount`].
pub fn push_amount(out: &mut String, minor: i64, cur: Currency) {
    if minor < 0 {
        out.push('-');
    }
    let abs = minor.unsigned_abs();
    let scale = cur.scale();
    json::push_u64(out, abs / scale);
    let mut frac = abs % scale;
    if frac == 0 {
        return;
    }
    let mut width = cur.exponent.min(MAX_EXPONENT);
    while frac.is_multiple_of(10) {
        frac /= 10;
        width = width.saturating_sub(1);
    }
    out.push('.');
    let mut digits = 1u8;
    let mut rest = frac / 10;
    while rest != 0 {
        digits += 1;
        rest /= 10;
    }
    for _ in digits..width {
        out.push('0');
    }
    json::push_u64(out, frac);
}

/// Returns [`push_amount`]'s text on its own.
pub fn amount_text(minor: i64, cur: Currency) -> String {
    let mut s = String::new();
    push_amount(&mut s, minor, cur);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn currencies_and_exponents() {
        assert_eq!(cur("usd").code(), "USD");
        assert_eq!(cur("USD").exponent(), 2);
        assert_eq!(cur("eur").exponent(), 2);
        for c in ["JPY", "krw", "VND", "CLP", "ISK", "XOF", "UYI"] {
            assert_eq!(cur(c).exponent(), 0, "{c}");
        }
        for c in ["KWD", "bhd", "TND", "OMR", "JOD", "IQD", "LYD"] {
            assert_eq!(cur(c).exponent(), 3, "{c}");
        }
        assert_eq!(cur("CLF").exponent(), 4);
        assert_eq!(cur("uyw").exponent(), 4);
        for bad in ["", "US", "USDD", "U$D", "12A", "ÜSD", " USD"] {
            assert_eq!(Currency::parse(bad), Err(MoneyError::BadCurrency), "{bad}");
        }
        assert_eq!(cur("usd"), Currency::USD);
    }

    #[test]
    fn parses_decimal_text_exactly() {
        let usd = cur("USD");
        let jpy = cur("JPY");
        let kwd = cur("KWD");
        let ok = |t: &str, c: Currency| parse_amount(t, c).unwrap();
        assert_eq!(ok("19.99", usd), 1999);
        assert_eq!(ok("20", usd), 2000);
        assert_eq!(ok("0.5", usd), 50);
        assert_eq!(ok(".5", usd), 50);
        assert_eq!(ok("5.", usd), 500);
        assert_eq!(ok("-3.25", usd), -325);
        assert_eq!(ok("+3.25", usd), 325);
        assert_eq!(ok("-0", usd), 0);
        assert_eq!(ok(" 19.99\n", usd), 1999);
        assert_eq!(ok("19.990", usd), 1999);
        assert_eq!(ok("0019.9900000000000000000000", usd), 1999);
        assert_eq!(ok("1000", jpy), 1000);
        assert_eq!(ok("1000.000", jpy), 1000);
        assert_eq!(ok("1.234", kwd), 1234);
        assert_eq!(ok("0.0001", cur("CLF")), 1);
        assert_eq!(ok("92233720368547758.07", usd), i64::MAX);
        assert_eq!(ok("-92233720368547758.08", usd), i64::MIN);
    }

    #[test]
    fn parses_exponent_forms() {
        let usd = cur("USD");
        let jpy = cur("JPY");
        assert_eq!(parse_amount("1.5e3", usd), Ok(150_000));
        assert_eq!(parse_amount("1.5E3", jpy), Ok(1500));
        assert_eq!(parse_amount("1e-2", usd), Ok(1));
        assert_eq!(parse_amount("1.5e-1", usd), Ok(15));
        assert_eq!(parse_amount("100e-2", jpy), Ok(1));
        assert_eq!(parse_amount("150e-2", jpy), Err(MoneyError::TooPrecise));
        assert_eq!(parse_amount("1e+18", jpy), Ok(1_000_000_000_000_000_000));
        assert_eq!(parse_amount("0e999999999999999999999", usd), Ok(0));
        assert_eq!(parse_amount("0e-999999999999999999999", usd), Ok(0));
        assert_eq!(parse_amount("1e+21", usd), Err(MoneyError::AmountTooLarge));
        assert_eq!(parse_amount("1e+21", jpy), Err(MoneyError::AmountTooLarge));
        assert_eq!(
            parse_amount("1e999999999999999999999", usd),
            Err(MoneyError::AmountTooLarge)
        );
        assert_eq!(parse_amount("5e-7", usd), Err(MoneyError::TooPrecise));
        assert_eq!(
            parse_amount("5e-999999999999999999999", usd),
            Err(MoneyError::TooPrecise)
        );
    }

    #[test]
    fn refuses_what_is_not_an_exact_amount() {
        let usd = cur("USD");
        for bad in [
            "",
            " ",
            "-",
            "+",
            ".",
            "NaN",
            "Infinity",
            "-Infinity",
            "$19.99",
            "1,299.00",
            "19.99.1",
            "1e",
            "1e+",
            "e5",
            "1.5e3.2",
            "0x10",
            "١٢",
            "--1",
            "1 000",
        ] {
            assert_eq!(
                parse_amount(bad, usd),
                Err(MoneyError::BadAmount),
                "{bad:?}"
            );
        }
        assert_eq!(parse_amount("1.5", cur("JPY")), Err(MoneyError::TooPrecise));
        assert_eq!(
            parse_amount("1.2345", cur("KWD")),
            Err(MoneyError::TooPrecise)
        );
        assert_eq!(
            parse_amount("0.30000000000000004", usd),
            Err(MoneyError::TooPrecise)
        );
        for big in [
            "92233720368547758.08",
            "-92233720368547758.09",
            "99999999999999999999999",
        ] {
            assert_eq!(
                parse_amount(big, usd),
                Err(MoneyError::AmountTooLarge),
                "{big}"
            );
        }
    }

    #[test]
    fn writes_json_numbers_without_float_error() {
        let usd = cur("USD");
        assert_eq!(amount_text(1999, usd), "19.99");
        assert_eq!(amount_text(2000, usd), "20");
        assert_eq!(amount_text(50, usd), "0.5");
        assert_eq!(amount_text(5, usd), "0.05");
        assert_eq!(amount_text(-325, usd), "-3.25");
        assert_eq!(amount_text(-5, usd), "-0.05");
        assert_eq!(amount_text(0, usd), "0");
        assert_eq!(amount_text(1000, cur("JPY")), "1000");
        assert_eq!(amount_text(-7, cur("JPY")), "-7");
        assert_eq!(amount_text(1234, cur("KWD")), "1.234");
        assert_eq!(amount_text(1200, cur("KWD")), "1.2");
        assert_eq!(amount_text(1, cur("KWD")), "0.001");
        assert_eq!(amount_text(10, cur("CLF")), "0.001");
        assert_eq!(amount_text(i64::MAX, usd), "92233720368547758.07");
        assert_eq!(amount_text(i64::MIN, usd), "-92233720368547758.08");
        for (n, c) in [(1999, "USD"), (50, "USD"), (1234, "KWD"), (-325, "EUR")] {
            let v: serde_json::Value = serde_json::from_str(&amount_text(n, cur(c))).unwrap();
            let expected = n as f64 / 10f64.powi(cur(c).exponent() as i32);
            assert_eq!(v.as_f64(), Some(expected));
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    const LIMIT: i64 = 1_000_000_000_000_000;

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["JPY", "USD", "EUR", "KWD", "CLF"])
            .prop_map(|c| Currency::parse(c).unwrap())
    }

    proptest! {
        #[test]
        fn written_amounts_read_back_exactly(cur in currency(), minor in -LIMIT..=LIMIT) {
            let text = amount_text(minor, cur);
            prop_assert_eq!(parse_amount(&text, cur), Ok(minor));
            // And a JSON parser agrees that it is a number.
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert!(v.is_number());
        }

        #[test]
        fn any_i64_round_trips(cur in currency(), minor in any::<i64>()) {
            prop_assert_eq!(parse_amount(&amount_text(minor, cur), cur), Ok(minor));
        }

        #[test]
        fn sums_of_written_amounts_are_exact(
            cur in currency(),
            amounts in prop::collection::vec(-LIMIT..=LIMIT, 0..40),
        ) {
            let mut total = 0i64;
            for &a in &amounts {
                let text = amount_text(a, cur);
                total += parse_amount(&text, cur).unwrap();
            }
            prop_assert_eq!(total, amounts.iter().sum::<i64>());
            let sum_text = amount_text(total, cur);
            prop_assert_eq!(parse_amount(&sum_text, cur), Ok(amounts.iter().sum::<i64>()));
        }

        #[test]
        fn trailing_zeros_and_exponents_do_not_change_the_value(
            cur in currency(),
            minor in -LIMIT..=LIMIT,
            zeros in 0usize..6,
        ) {
            let mut text = amount_text(minor, cur);
            if !text.contains('.') {
                text.push('.');
            }
            text.push_str(&"0".repeat(zeros));
            prop_assert_eq!(parse_amount(&text, cur), Ok(minor));
            // minor × 10^-exponent written as mantissa e-exponent.
            let mut sci = minor.to_string();
            sci.push_str("e-");
            sci.push_str(&cur.exponent().to_string());
            prop_assert_eq!(parse_amount(&sci, cur), Ok(minor));
        }
    }

    #[test]
    fn tenths_add_up_exactly() {
        let usd = Currency::USD;
        // 0.1 + 0.2 is 0.30000000000000004 in floating point; here it is 0.3.
        let a = parse_amount("0.1", usd).unwrap();
        let b = parse_amount("0.2", usd).unwrap();
        assert_eq!(amount_text(a + b, usd), "0.3");
        // Three lines of 0.10 × 3, then 0.20: 1.1 exactly.
        let line = parse_amount("0.10", usd).unwrap() * 3;
        let total = line * 3 + parse_amount("0.20", usd).unwrap();
        assert_eq!(amount_text(total, usd), "1.1");
        let v: serde_json::Value = serde_json::from_str(&amount_text(total, usd)).unwrap();
        assert_eq!(v.as_f64(), Some(1.1));
        // Ten 0.1 are 1.
        let ten: i64 = (0..10).map(|_| parse_amount("0.1", usd).unwrap()).sum();
        assert_eq!(amount_text(ten, usd), "1");
        let kwd = Currency::parse("KWD").unwrap();
        let k: i64 = (0..3)
            .map(|_| parse_amount("0.001", kwd).unwrap() * 7)
            .sum();
        assert_eq!(amount_text(k, kwd), "0.021");
    }
}
