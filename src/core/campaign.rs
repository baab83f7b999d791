//! Campaign attribution read from a page's query string (`utm_*`).

use super::json;

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
/// Invalid escapes are kept as written.
pub fn decode_component(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.bytes();
    while let Some(c) = it.next() {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let rest = it.clone();
                match (it.next().and_then(hex), it.next().and_then(hex)) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => {
                        out.push(b'%');
                        it = rest;
                    }
                }
            }
            c => out.push(c),
        }
    }
    // Escapes that decode to invalid UTF-8 leave the component as it was written.
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Iterates the decoded `(key, value)` pairs of a query string (with or without its leading `?`).
pub fn query_pairs(search: &str) -> impl Iterator<Item = (String, String)> + '_ {
    search
        .strip_prefix('?')
        .unwrap_or(search)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
}

/// Writes the Segment `context.campaign` object for `search` into `out`, or nothing and returns
/// false when the query has no `utm_*` parameter.
pub fn push_campaign(out: &mut String, search: &str) -> bool {
    const KEYS: [(&str, &str); 5] = [
        ("utm_source", "source"),
        ("utm_medium", "medium"),
        ("utm_campaign", "name"),
        ("utm_term", "term"),
        ("utm_content", "content"),
    ];
    let mut found: [Option<String>; 5] = Default::default();
    for (k, v) in query_pairs(search) {
        if let Some(i) = KEYS.iter().position(|(q, _)| *q == k) {
            if found[i].is_none() && !v.is_empty() {
                found[i] = Some(v);
            }
        }
    }
    if found.iter().all(Option::is_none) {
        return false;
    }
    out.push('{');
    let mut first = true;
    for (i, v) in found.iter().enumerate() {
        if let Some(v) = v {
            json::push_key(out, KEYS[i].1, first);
            json::push_str(out, v);
            first = false;
        }
    }
    out.push('}');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_components() {
        assert_eq!(decode_component("spring+sale%21"), "spring sale!");
        assert_eq!(decode_component("%E2%9C%93"), "✓");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz%4"), "%zz%4");
        assert_eq!(decode_component("bad%FF+x"), "bad%FF+x");
    }

    #[test]
    fn campaign_from_utm() {
        let mut o = String::new();
        assert!(push_campaign(
            &mut o,
            "?utm_source=news&utm_medium=email&utm_campaign=black+friday&x=1&utm_content=hero%20banner"
        ));
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"source":"news","medium":"email","name":"black friday","content":"hero banner"})
        );
        let mut o = String::new();
        assert!(!push_campaign(&mut o, "?q=mug&page=2"));
        assert!(o.is_empty());
    }
}
