//! A small JSON reader: checks JSON text and splits objects and arrays into the raw text of
//! their parts, without building a tree.
//!
//! Every function takes text and returns slices of it, so nothing is copied until a string
//! is decoded ([`string_value`], [`unescape`]). The grammar is RFC 8259's: no comments, no
//! trailing commas, no leading zeros, strings with only JSON's escapes and no raw control
//! characters. Nesting is followed with an explicit stack, never by recursion, and limited to
//! [`MAX_DEPTH`]. No input makes these functions panic, and none of them uses `core::fmt`.
//!
//! ```
//! use shoptrail::tracker_core::json::scan;
//!
//! let order = r#"{ "id": "o-1", "items": [ {"sku":"a"}, 2 ], "note": "say \"hi\"" }"#;
//! assert!(scan::is_valid(order));
//! assert_eq!(scan::member(order, "id"), Some(r#""o-1""#));
//! let items = scan::member(order, "items").and_then(scan::array_items);
//! assert_eq!(items, Some(vec![r#"{"sku":"a"}"#, "2"]));
//! let note = scan::member(order, "note").and_then(scan::string_value);
//! assert_eq!(note.as_deref(), Some("say \"hi\""));
//! ```

use crate::prelude::*;

/// Most objects and arrays open at once inside one value: deeper text is refused. The value
/// of each [`object_members`] member and each [`array_items`] item may nest this deep, not
/// counting the object or array that holds it.
pub const MAX_DEPTH: usize = 64;

/// One member of a JSON object, as slices of the object's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// The key as written between its quotes, escapes not decoded: compare it with
    /// [`key_is`], decode it with [`unescape`].
    pub key: &'a str,
    /// The value as written, without the whitespace around it: `1`, `"a\"b"`, `{"c":[]}`.
    pub value: &'a str,
    /// The whole member, from the key's opening quote to the end of the value, whitespace
    /// inside kept: `"key" : value`.
    pub text: &'a str,
}

/// Splits JSON object text into its members, in the order written (a repeated key gives
/// several members). `None` unless `text` is exactly one valid JSON object, with JSON
/// whitespace around it allowed, whose values nest no deeper than [`MAX_DEPTH`].
pub fn object_members(text: &str) -> Option<Vec<Member<'_>>> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let start = i;
            let key_end = string_end(b, start)?;
            let key = text.get(start + 1..key_end.saturating_sub(1))?;
            i = ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            let value_start = ws(b, i + 1);
            let end = value_end(b, value_start)?;
            members.push(Member {
                key,
                value: text.get(value_start..end)?,
                text: text.get(start..end)?,
            });
            i = ws(b, end);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (ws(b, i) == b.len()).then_some(members)
}

/// Splits JSON array text into the raw text of its elements, in order, each without the
/// whitespace around it. `None` unless `text` is exactly one valid JSON array, with JSON
/// whitespace around it allowed, whose elements nest no deeper than [`MAX_DEPTH`].
pub fn array_items(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = ws(b, i + 1);
    let mut items = Vec::new();
    if b.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            let end = value_end(b, i)?;
            items.push(text.get(i..end)?);
            i = ws(b, end);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (ws(b, i) == b.len()).then_some(items)
}

/// The raw value (as [`Member::value`]) of the first member of the JSON object
/// `object_text` whose decoded key is `key`. `None` when there is no such member or
/// `object_text` is not what [`object_members`] accepts.
pub fn member<'a>(object_text: &'a str, key: &str) -> Option<&'a str> {
    object_members(object_text)?
        .into_iter()
        .find(|m| key_is(m.key, key))
        .map(|m| m.value)
}

/// The decoded content of a raw JSON string value, such as `"a\"b"` (giving `a"b`); JSON
/// whitespace around it is allowed. `None` when `raw` is not exactly one valid JSON string, or
/// its escapes hold an unpaired surrogate.
pub fn string_value(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let start = ws(b, 0);
    let end = string_end(b, start)?;
    if ws(b, end) != b.len() {
        return None;
    }
    unescape(raw.get(start + 1..end.saturating_sub(1))?)
}

/// Whether `text` is exactly one valid JSON value, with JSON whitespace around it allowed,
/// nested no deeper than [`MAX_DEPTH`].
pub fn is_valid(text: &str) -> bool {
    let b = text.as_bytes();
    value_end(b, 0).is_some_and(|end| ws(b, end) == b.len())
}

/// Whether raw key text, as written between its quotes (such as [`Member::key`]), decodes to
/// `name`: `pr\u0069ce` is `price`.
pub fn key_is(raw: &str, name: &str) -> bool {
    if !raw.contains('\\') {
        return raw == name;
    }
    unescape(raw).is_some_and(|k| k == name)
}

/// Decodes the escapes of a JSON string's content (the text between its quotes), joining
/// surrogate pairs. `None` for an unpaired surrogate, a short `\u` escape or a trailing
/// backslash. It does not validate: another escaped character stands for itself (`\x` is
/// `x`) and raw control characters are kept; [`string_value`] checks the string first.
pub fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = hex4(&mut chars)?;
                if (0xD800..0xDC00).contains(&hi) {
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            other => other,
        };
        out.push(decoded);
    }
    Some(out)
}

/// Reads four hex digits.
fn hex4(chars: &mut core::str::Chars) -> Option<u32> {
    let mut n = 0u32;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

/// Skips JSON whitespace.
fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The index after the JSON string that starts at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match *b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => match *b.get(j + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    if !b.get(j + 2..j + 6)?.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    j += 6;
                }
                _ => return None,
            },
            c if c < 0x20 => return None,
            _ => j += 1,
        }
    }
}

/// The index after the run of ASCII digits at `i`.
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The index after the JSON number that starts at `i`.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits_end(b, i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let j = digits_end(b, i + 1);
        if j == i + 1 {
            return None;
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits_end(b, i);
        if j == i {
            return None;
        }
        i = j;
    }
    Some(i)
}

/// The index after `word` at `i`.
fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// The index after an object key and its colon at `i`.
fn key_colon(b: &[u8], i: usize) -> Option<usize> {
    let j = ws(b, string_end(b, i)?);
    (b.get(j) == Some(&b':')).then_some(j + 1)
}

/// The index after the JSON value that starts at or after `i` (iterative: no recursion).
fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut open: Vec<u8> = Vec::new();
    loop {
        i = ws(b, i);
        match *b.get(i)? {
            b'{' => {
                i = ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    open.push(b'}');
                    if open.len() > MAX_DEPTH {
                        return None;
                    }
                    i = key_colon(b, i)?;
                    continue;
                }
            }
            b'[' => {
                i = ws(b, i + 1);
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    open.push(b']');
                    if open.len() > MAX_DEPTH {
                        return None;
                    }
                    continue;
                }
            }
            b'"' => i = string_end(b, i)?,
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            _ => i = number_end(b, i)?,
        }
        // A value ended at `i`: close the containers it completes, or go on to the next value.
        loop {
            let Some(&close) = open.last() else {
                return Some(i);
            };
            i = ws(b, i);
            let c = *b.get(i)?;
            if c == close {
                open.pop();
                i += 1;
            } else if c == b',' {
                i = ws(b, i + 1);
                if close == b'}' {
                    i = key_colon(b, i)?;
                }
                break;
            } else {
                return None;
            }
        }
    }
}

/// The path (such as `.items[3].price`) of the first value nested deeper than `max` objects and
/// arrays in `text`, or `None`. A byte scan first: only text that is too deep is walked.
pub fn too_deep(text: &str, max: usize) -> Option<String> {
    let (mut depth, mut deepest, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        match (in_str, esc, b) {
            (true, true, _) => esc = false,
            (true, false, b'\\') => esc = true,
            (true, false, b'"') => in_str = false,
            (true, ..) => {}
            (false, _, b'"') => in_str = true,
            (false, _, b'{' | b'[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest <= max {
        return None;
    }
    fn walk(v: &str, depth: usize, max: usize, path: &mut String) -> bool {
        if !v.starts_with(['{', '[']) {
            return false;
        }
        if depth > max {
            return true;
        }
        let at = path.len();
        if let Some(members) = object_members(v) {
            for m in members {
                path.push('.');
                path.push_str(&unescape(m.key).unwrap_or_default());
                if walk(m.value, depth + 1, max, path) {
                    return true;
                }
                path.truncate(at);
            }
        } else if let Some(items) = array_items(v) {
            for (i, item) in items.into_iter().enumerate() {
                path.push('[');
                super::push_u64(path, i as u64);
                path.push(']');
                if walk(item, depth + 1, max, path) {
                    return true;
                }
                path.truncate(at);
            }
        }
        false
    }
    let mut path = String::new();
    walk(text, 1, max, &mut path).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
    }

    /// `[[…1…]]`, `depth` arrays deep.
    fn nested(depth: usize) -> String {
        "[".repeat(depth) + "1" + &"]".repeat(depth)
    }

    #[test]
    fn json_object_scanner() {
        let m = object_members(
            r#" { "a" : 1 , "b\"c": {"d":[true,false,null,-0.5e-3,"}"]}, "e":[] ,"f":{}} "#,
        )
        .unwrap();
        let keys: Vec<_> = m.iter().map(|m| m.key).collect();
        assert_eq!(keys, ["a", "b\\\"c", "e", "f"]);
        assert_eq!(m[0].text, "\"a\" : 1");
        assert_eq!(m[1].text, r#""b\"c": {"d":[true,false,null,-0.5e-3,"}"]}"#);
        assert_eq!(object_members("{}"), Some(Vec::new()));
        for bad in [
            "",
            "{",
            "}",
            "[]",
            "{\"a\"}",
            "{\"a\":1 \"b\":2}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":tru}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":1}}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":[1}",
        ] {
            assert_eq!(object_members(bad), None, "{bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH) + "1" + &"]".repeat(MAX_DEPTH);
        assert!(object_members(&format!("{{\"a\":{deep}}}")).is_some());
        let deeper = "[".repeat(MAX_DEPTH + 1) + "1" + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(object_members(&format!("{{\"a\":{deeper}}}")), None);
        let huge = "[".repeat(100_000);
        assert_eq!(object_members(&format!("{{\"a\":{huge}}}")), None);
        assert!(key_is("pr\\u0069ce", "price"));
        assert!(key_is("\\ud83d\\ude00", "😀"));
        assert!(!key_is("\\ud83d", "price"));
        assert!(key_is("a\\/b\\n", "a/b\n"));
    }

    #[test]
    fn scanner_agrees_with_serde_json() {
        for text in [
            r#"{"a":[1,{"b":[{"c":"d"}]}],"e":"\u00e9\ud83d\ude00","f":1E+2}"#,
            r#"{"":0,"x":-0,"y":[[]],"z":{"":{}}}"#,
        ] {
            let members = object_members(text).unwrap();
            let v: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
            assert_eq!(members.len(), v.len());
            for m in members {
                let one: Value = parse(&format!("{{{}}}", m.text));
                let (k, val) = one.as_object().unwrap().iter().next().unwrap();
                assert_eq!(Some(val), v.get(k));
                assert!(key_is(m.key, k));
            }
        }
    }

    #[test]
    fn members_carry_their_raw_values() {
        let text = r#" { "a" : 1 , "b":  "x\"y"  ,"c":{"d":[1, 2]},"e" :null } "#;
        let m = object_members(text).unwrap();
        let values: Vec<_> = m.iter().map(|m| m.value).collect();
        assert_eq!(values, ["1", r#""x\"y""#, r#"{"d":[1, 2]}"#, "null"]);
        assert_eq!(m[0].text, "\"a\" : 1");
        assert_eq!(m[3].text, "\"e\" :null");
        for m in &m {
            assert!(m.text.starts_with('"') && m.text.ends_with(m.value));
            assert_eq!(parse(m.value), parse(text)[unescape(m.key).unwrap()]);
        }
    }

    #[test]
    fn arrays_split_into_items() {
        assert_eq!(
            array_items(r#" [ 1 , "a,b]" , [2,[3]] , {"k":"]"} , null,-0.5e+1 ] "#),
            Some(vec![
                "1",
                r#""a,b]""#,
                "[2,[3]]",
                r#"{"k":"]"}"#,
                "null",
                "-0.5e+1"
            ])
        );
        assert_eq!(array_items("[]"), Some(Vec::new()));
        assert_eq!(array_items(" [ ]\n"), Some(Vec::new()));
        assert_eq!(array_items("[[]]"), Some(vec!["[]"]));
        for bad in [
            "", " ", "[", "]", "{}", "1", "\"[1]\"", "[1,]", "[,1]", "[,]", "[1 2]", "[1]]",
            "[1] x", "[01]", "[1}", "[\"a]", "[tru]", "[1][2]",
        ] {
            assert_eq!(array_items(bad), None, "{bad:?}");
        }
        let deep = nested(MAX_DEPTH);
        assert_eq!(array_items(&format!("[{deep},2]")), Some(vec![&*deep, "2"]));
        assert_eq!(array_items(&format!("[{}]", nested(MAX_DEPTH + 1))), None);
        assert_eq!(array_items(&"[".repeat(100_000)), None);
    }

    #[test]
    fn member_finds_the_first_matching_key() {
        let o = r#"{"a":1,"pr\u0069ce":"9.99","a":2,"n":{"a":3},"s":" x "}"#;
        assert_eq!(member(o, "a"), Some("1"));
        assert_eq!(member(o, "price"), Some(r#""9.99""#));
        assert_eq!(member(o, "n"), Some(r#"{"a":3}"#));
        assert_eq!(member(o, "s"), Some(r#"" x ""#));
        assert_eq!(member(o, "x"), None);
        assert_eq!(member(o, "pr\\u0069ce"), None);
        assert_eq!(member("[1]", "a"), None);
        assert_eq!(member(r#"{"a":1"#, "a"), None);
        assert_eq!(member(r#"{"a":1,}"#, "a"), None);
        assert_eq!(member(r#"{"a":1} x"#, "a"), None);
    }

    #[test]
    fn string_values_are_decoded() {
        let ok = |raw: &str| string_value(raw).unwrap();
        assert_eq!(ok(r#""a\"b""#), "a\"b");
        assert_eq!(ok("\"\""), "");
        assert_eq!(ok(" \"\\u00e9\\ud83d\\ude00\\n\" "), "é😀\n");
        assert_eq!(ok(r#""a\/b\\c\b\f\r\t""#), "a/b\\c\u{8}\u{c}\r\t");
        assert_eq!(ok("\"ünï ✓\""), "ünï ✓");
        for bad in [
            "",
            "a",
            "1",
            "null",
            "[\"a\"]",
            "\"a",
            "a\"",
            "\"a\"b\"",
            "\"a\" \"b\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud83d\"",
            "\"\\ude00\"",
            "\"\\ud83d\\u0041\"",
            "\"\u{1}\"",
            "\"tab\there\"",
        ] {
            assert_eq!(string_value(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unescape_decodes_json_escapes() {
        assert_eq!(unescape("plain ✓").as_deref(), Some("plain ✓"));
        assert_eq!(
            unescape(r#"a\/b\\c\"d\b\f\n\r\t"#).as_deref(),
            Some("a/b\\c\"d\u{8}\u{c}\n\r\t")
        );
        assert_eq!(unescape("\\u0041\\u00E9").as_deref(), Some("Aé"));
        assert_eq!(unescape("\\uD83D\\uDE00").as_deref(), Some("😀"));
        for bad in [
            "\\ud83d",
            "\\udc00",
            "\\ud83d\\u0041",
            "\\ud83dx",
            "\\u12",
            "\\u12g4",
            "a\\",
        ] {
            assert_eq!(unescape(bad), None, "{bad:?}");
        }
        // Not a validator: see string_value.
        assert_eq!(unescape("\\x").as_deref(), Some("x"));
    }

    #[test]
    fn is_valid_takes_exactly_one_value() {
        let good = [
            "0",
            "-0",
            "1.5e+3",
            "2E-2",
            " true ",
            "false",
            "null",
            "\"s\"",
            "\"\\u00e9\"",
            "[]",
            "{}",
            "\n[1, {\"a\": [null, {}]}]\t",
            r#"{"a":{"b":{"c":[[],{}]}}}"#,
        ];
        let bad = [
            "",
            " ",
            "1 2",
            "01",
            "-",
            "1.",
            ".5",
            "+1",
            "1e",
            "1e+",
            "0x1",
            "tru",
            "nul",
            "True",
            "NaN",
            "Infinity",
            "[1,]",
            "[1",
            "1]",
            "{\"a\":1,}",
            "{'a':1}",
            "{a:1}",
            "\"\u{1}\"",
            "\"a",
            "[1]]",
            "{}{}",
            "\"\\x\"",
            "/* */ 1",
            "\u{feff}1",
        ];
        for text in good.iter().chain(&bad) {
            let serde_ok = serde_json::from_str::<Value>(text).is_ok();
            assert_eq!(is_valid(text), serde_ok, "{text:?}");
        }
        assert!(good.iter().all(|t| is_valid(t)));
        assert!(is_valid(&nested(MAX_DEPTH)));
        assert!(!is_valid(&nested(MAX_DEPTH + 1)));
        assert!(!is_valid(&"[".repeat(100_000)));
        assert!(!is_valid(&"{\"a\":".repeat(100_000)));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// Any JSON value a few levels deep, with strings that need escaping.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            // Fractions that serde_json reads back exactly (it is not exact for all floats).
            (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 64.0)),
            "(?s).{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("(?s).{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn written_json_splits_as_serde_json_reads_it(v in value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            prop_assert!(is_valid(&text));
            match &v {
                Value::Object(map) => {
                    let members = object_members(&text).unwrap();
                    prop_assert_eq!(members.len(), map.len());
                    for m in members {
                        let key = unescape(m.key).unwrap();
                        let value: Value = serde_json::from_str(m.value).unwrap();
                        prop_assert_eq!(Some(&value), map.get(&key));
                        prop_assert_eq!(member(&text, &key), Some(m.value));
                    }
                    prop_assert_eq!(array_items(&text), None);
                }
                Value::Array(items) => {
                    let raw = array_items(&text).unwrap();
                    prop_assert_eq!(raw.len(), items.len());
                    for (r, item) in raw.iter().zip(items) {
                        let value: Value = serde_json::from_str(r).unwrap();
                        prop_assert_eq!(&value, item);
                    }
                    prop_assert_eq!(object_members(&text), None);
                }
                Value::String(s) => {
                    prop_assert_eq!(string_value(&text), Some(s.clone()));
                }
                _ => prop_assert_eq!(string_value(&text), None),
            }
        }

        #[test]
        fn every_prefix_is_judged_as_serde_json_judges_it(v in value(), cut in any::<prop::sample::Index>()) {
            let text = serde_json::to_string(&v).unwrap();
            let ends: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let prefix = &text[..*cut.get(&ends)];
            prop_assert_eq!(is_valid(prefix), serde_json::from_str::<Value>(prefix).is_ok(), "{:?}", prefix);
        }

        #[test]
        fn no_text_makes_the_scanner_panic(text in "(?s)[\\[\\]{}\",:0-9eE.+\\- tfrueanl\\\\u]{0,40}") {
            let _ = (is_valid(&text), object_members(&text), array_items(&text));
            let _ = (string_value(&text), unescape(&text), member(&text, "a"));
        }
    }

    #[test]
    fn too_deep_names_the_path_of_the_first_deep_value() {
        assert_eq!(too_deep(r#"{"a":[{"b":"[[[[{{{{"}]}"#, 3), None);
        let mut deep = String::from("{\"items\":[1,{\"x\":");
        deep.push_str(&"[".repeat(9));
        deep.push_str(&"]".repeat(9));
        deep.push_str("}]}");
        assert_eq!(
            too_deep(&deep, 10).as_deref(),
            Some(".items[1].x[0][0][0][0][0][0][0]")
        );
        assert_eq!(too_deep(&deep, 12), None);
        // The root is level 1: `{"a":{}}` is two deep.
        assert!(too_deep(r#"{"a":{}}"#, 1).is_some());
    }
}
