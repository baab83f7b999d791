//! A tiny JSON writer: string escaping and integer formatting without `core::fmt`.
//!
//! Reading JSON text (checking it, splitting objects and arrays, decoding strings) is in
//! [`scan`].

use crate::prelude::*;

pub mod scan;

/// Appends `s` to `out` as a quoted JSON string.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        match esc {
            Some(e) => out.push_str(e),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as u32 as usize;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) & 0xf] as char);
                out.push(HEX[b & 0xf] as char);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends `s` as a JSON string, or `null` when absent.
pub fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends the decimal digits of `n`.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in buf.iter().skip(i) {
        out.push(b as char);
    }
}

/// Appends `,"key":` (or `"key":` when `first`) to an object being written.
pub fn push_key(out: &mut String, key: &str, first: bool) {
    if !first {
        out.push(',');
    }
    out.push('"');
    out.push_str(key);
    out.push_str("\":");
}

/// Reads decimal digits (no sign, no spaces) as a number; `None` for anything else or on
/// overflow. One small reader for every number the tracker stores or receives, instead of
/// core's generic `str::parse` for each integer type.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add((b - b'0') as u64)
        } else {
            None
        }
    })
}

/// Returns the decimal text of `n`.
pub fn u64_text(n: u64) -> String {
    let mut s = String::new();
    push_u64(&mut s, n);
    s
}

/// Where the last `member` (a JSON text fragment such as `,"sessionId":`) starts in `text`.
/// Bytes compared one window at a time: `str::rfind` brings a substring searcher the wasm does
/// not need for a few short lookups.
pub fn rfind(text: &str, member: &str) -> Option<usize> {
    (text.as_bytes().windows(member.len())).rposition(|w| w == member.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_parse_exactly() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        for bad in ["", "-1", "+1", " 1", "1.5", "1e3"] {
            assert_eq!(parse_u64(bad), None, "{bad}");
        }
    }

    fn esc(s: &str) -> String {
        let mut o = String::new();
        push_str(&mut o, s);
        o
    }

    #[test]
    fn escapes_like_a_json_parser_expects() {
        for s in [
            "plain",
            "quote \" and \\ backslash",
            "line\nbreak\ttab\r",
            "\u{1}\u{1f} control",
            "ünïcødé ✓ 😀",
            "\u{2028}sep\u{2029}",
            "",
        ] {
            let back: String = serde_json::from_str(&esc(s)).unwrap();
            assert_eq!(back, s);
        }
        assert_eq!(esc("a\u{1}b"), "\"a\\u0001b\"");
    }

    #[test]
    fn integers() {
        for n in [0u64, 7, 10, 1_763_805_600_000, u64::MAX] {
            assert_eq!(u64_text(n), n.to_string());
        }
    }
}
