//! Campaign attribution read from a page's query string: `utm_*` and the ad click ids (`gclid`,
//! `fbclid`, `msclkid`, ...) become `context.campaign`; the query-string decoding it needs is
//! here too.

use super::json;
use crate::prelude::*;

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

/// Query parameters that make up a campaign: `utm_*` under Segment's names, then ad click ids
/// under their own names.
const KEYS: [(&str, &str); 14] = [
    ("utm_source", "source"),
    ("utm_medium", "medium"),
    ("utm_campaign", "name"),
    ("utm_term", "term"),
    ("utm_content", "content"),
    ("gclid", "gclid"),
    ("gbraid", "gbraid"),
    ("wbraid", "wbraid"),
    ("fbclid", "fbclid"),
    ("msclkid", "msclkid"),
    ("ttclid", "ttclid"),
    ("twclid", "twclid"),
    ("li_fat_id", "li_fat_id"),
    ("dclid", "dclid"),
];

/// The Segment `context.campaign` object (JSON text) for a page's query string: `utm_*`
/// parameters and ad click ids. `None` when the URL carries no campaign.
pub fn campaign_json(search: &str) -> Option<String> {
    let mut found: [Option<String>; KEYS.len()] = Default::default();
    for (k, v) in query_pairs(search) {
        if let Some(slot) = KEYS
            .iter()
            .position(|(q, _)| *q == k)
            .and_then(|i| found.get_mut(i))
        {
            if slot.is_none() && !v.is_empty() {
                *slot = Some(v);
            }
        }
    }
    let mut out = String::new();
    for ((_, name), v) in KEYS.iter().zip(found.iter()) {
        if let Some(v) = v {
            let first = out.is_empty();
            json::push_key(&mut out, name, first);
            json::push_str(&mut out, v);
        }
    }
    (!out.is_empty()).then(|| {
        out.insert(0, '{');
        out.push('}');
        out
    })
}

/// The campaign attributed to a session, as stored: `<session id>\t<campaign JSON>`.
pub fn encode_session(session_id: u64, campaign: &str) -> String {
    let mut s = json::u64_text(session_id);
    s.push('\t');
    s.push_str(campaign);
    s
}

/// The campaign in force for `session_id`: the landing URL's own campaign when it has one (it
/// starts a new last touch), else the one stored for this same session. Returns the campaign and
/// whether it is new (to be stored as the session's and as the last touch).
pub fn for_session(
    stored: Option<&str>,
    session_id: u64,
    landing: Option<String>,
) -> (Option<String>, bool) {
    if let Some(c) = landing {
        return (Some(c), true);
    }
    let kept = stored.and_then(|s| s.split_once('\t')).and_then(|(id, c)| {
        (json::parse_u64(id) == Some(session_id) && c.starts_with('{')).then(|| c.to_string())
    });
    (kept, false)
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
    fn campaign_from_utm_and_click_ids() {
        let o = campaign_json(
            "?utm_source=news&utm_medium=email&utm_campaign=black+friday&x=1&utm_content=hero%20banner&gclid=abc&utm_source=ignored",
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&o).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"source":"news","medium":"email","name":"black friday","content":"hero banner","gclid":"abc"})
        );
        let v: serde_json::Value =
            serde_json::from_str(&campaign_json("?fbclid=F1&msclkid=M2").unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"fbclid":"F1","msclkid":"M2"}));
        assert_eq!(campaign_json("?q=mug&page=2"), None);
        assert_eq!(campaign_json("?utm_source="), None);
    }

    #[test]
    fn a_campaign_lasts_for_its_session() {
        let c = campaign_json("?utm_source=sms").unwrap();
        let stored = encode_session(42, &c);
        // Later pages of the same session keep it; another session does not.
        assert_eq!(
            for_session(Some(&stored), 42, None),
            (Some(c.clone()), false)
        );
        assert_eq!(for_session(Some(&stored), 43, None), (None, false));
        // A new campaign URL replaces it.
        let d = campaign_json("?gclid=G").unwrap();
        assert_eq!(
            for_session(Some(&stored), 42, Some(d.clone())),
            (Some(d), true)
        );
        assert_eq!(for_session(Some("junk"), 42, None), (None, false));
    }
}
