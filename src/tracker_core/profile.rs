//! What the tracker keeps about the shopper for the engage module's targeting and popups,
//! returned by `profile()`: sessions so far (`shoptrail:visits`), orders completed
//! (`shoptrail:orders`), and the products viewed most recently (`shoptrail:viewed`: one
//! Product Viewed properties object a line, newest first, at most 8, one per product).
//! `reset()` removes them with the rest of the identity.

use super::json::{self, scan};
use crate::prelude::*;

/// Products kept.
pub const VIEWED: usize = 8;
/// Properties longer than this are not kept (the list stays a few kilobytes).
pub const MAX_PRODUCT: usize = 512;

/// A stored count plus one.
pub fn count_up(stored: Option<&str>) -> String {
    json::u64_text(
        stored
            .and_then(json::parse_u64)
            .unwrap_or(0)
            .saturating_add(1),
    )
}

fn product_key(props: &str) -> Option<&str> {
    scan::member(props, "product_id").or_else(|| scan::member(props, "sku"))
}

/// The viewed list with a Product Viewed's `properties` (JSON object text) first, an older
/// view of the same product removed; `None` when it is not kept (no id, or too long).
pub fn viewed(list: &str, properties: &str) -> Option<String> {
    let key = product_key(properties)?;
    if properties.len() > MAX_PRODUCT || properties.contains('\n') {
        return None;
    }
    let mut out = String::from(properties);
    for line in list
        .lines()
        .filter(|l| product_key(l).is_some_and(|k| k != key))
        .take(VIEWED - 1)
    {
        out.push('\n');
        out.push_str(line);
    }
    Some(out)
}

/// `profile()`'s JSON from the stored parts (lines that are not objects are left out).
pub fn to_json(traits: &str, visits: Option<&str>, orders: Option<&str>, viewed: &str) -> String {
    let mut out = String::from("{\"traits\":");
    out.push_str(traits);
    for (key, n) in [(",\"visits\":", visits), (",\"orders\":", orders)] {
        out.push_str(key);
        json::push_u64(&mut out, n.and_then(json::parse_u64).unwrap_or(0));
    }
    out.push_str(",\"viewed\":[");
    let mut first = true;
    for l in viewed
        .lines()
        .filter(|l| l.starts_with('{') && l.ends_with('}'))
    {
        if !first {
            out.push(',');
        }
        out.push_str(l);
        first = false;
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewed_products_newest_first_one_each() {
        let mut list = String::new();
        for id in ["a", "b", "a"] {
            list = viewed(&list, &format!(r#"{{"product_id":"{id}","price":4.5}}"#)).unwrap();
        }
        assert_eq!(
            list,
            "{\"product_id\":\"a\",\"price\":4.5}\n{\"product_id\":\"b\",\"price\":4.5}"
        );
        assert_eq!(viewed(&list, r#"{"name":"no id"}"#), None);
        let long = format!(r#"{{"sku":"x","d":"{}"}}"#, "y".repeat(600));
        assert_eq!(viewed(&list, &long), None);
        for i in 0..20 {
            list = viewed(&list, &format!(r#"{{"sku":"s{i}"}}"#)).unwrap();
        }
        assert_eq!(list.lines().count(), VIEWED);
        assert!(list.starts_with(r#"{"sku":"s19"}"#));
    }

    #[test]
    fn counts_and_json() {
        assert_eq!(count_up(None), "1");
        assert_eq!(count_up(Some("41")), "42");
        assert_eq!(count_up(Some("garbage")), "1");
        assert_eq!(
            to_json(
                r#"{"a":1}"#,
                Some("3"),
                None,
                "{\"sku\":\"x\"}\n{broken\n{\"sku\":\"y\"}"
            ),
            r#"{"traits":{"a":1},"visits":3,"orders":0,"viewed":[{"sku":"x"},{"sku":"y"}]}"#
        );
    }
}
