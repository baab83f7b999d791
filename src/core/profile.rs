//! What the tracker keeps about the shopper for the engage module's targeting and popups,
//! returned by `profile()`: sessions so far, orders completed, and the products viewed most
//! recently (newest first, at most 8, one per product).
//!
//! Stored in `shoptrail:profile`: a line `visits TAB orders`, then one product JSON object a
//! line. `reset()` removes it with the rest of the identity.

use super::json::{self, scan};
use crate::prelude::*;

/// Products kept.
pub const VIEWED: usize = 8;

/// The fields of a Product Viewed that a popup can show.
const FIELDS: [&str; 7] = [
    "product_id",
    "sku",
    "name",
    "price",
    "currency",
    "url",
    "image_url",
];

/// What the profile counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen<'a> {
    /// A session started.
    Visit,
    /// An order completed.
    Order,
    /// A product viewed, with the event's properties (JSON object text).
    Product(&'a str),
}

/// Visits, orders and recently viewed products.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Sessions started on this device, the current one included.
    pub visits: u64,
    /// `Order Completed` events tracked on this device.
    pub orders: u64,
    /// Product objects (JSON text), newest first.
    pub viewed: Vec<String>,
}

impl Profile {
    /// Reads the stored form; anything unreadable counts as nothing.
    pub fn decode(text: &str) -> Profile {
        let mut lines = text.lines();
        let mut counts = lines.next().unwrap_or_default().split('\t');
        let mut n = || counts.next().and_then(json::parse_u64).unwrap_or(0);
        let (visits, orders) = (n(), n());
        let viewed = lines
            .filter(|l| l.starts_with('{') && scan::object_members(l).is_some())
            .take(VIEWED)
            .map(String::from)
            .collect();
        Profile {
            visits,
            orders,
            viewed,
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let mut out = json::u64_text(self.visits);
        out.push('\t');
        json::push_u64(&mut out, self.orders);
        for v in &self.viewed {
            out.push('\n');
            out.push_str(v);
        }
        out
    }

    /// Counts what was seen.
    pub fn apply(&mut self, seen: Seen) {
        match seen {
            Seen::Visit => self.visits += 1,
            Seen::Order => self.orders += 1,
            Seen::Product(p) => self.viewed(p),
        }
    }

    /// A Product Viewed with `properties` (JSON object text): kept first, replacing an older
    /// view of the same product.
    pub fn viewed(&mut self, properties: &str) {
        let mut p = String::from("{");
        for key in FIELDS {
            if let Some(raw) = scan::member(properties, key) {
                let first = p.len() == 1;
                json::push_key(&mut p, key, first);
                p.push_str(raw.trim());
            }
        }
        p.push('}');
        let id = |t: &str| {
            scan::member(t, "product_id")
                .or_else(|| scan::member(t, "sku"))
                .map(|r| r.trim().to_string())
        };
        let Some(key) = id(&p) else {
            return;
        };
        self.viewed
            .retain(|v| id(v).as_deref() != Some(key.as_str()));
        self.viewed.insert(0, p);
        self.viewed.truncate(VIEWED);
    }

    /// `profile()`'s JSON, with `traits` (JSON object text).
    pub fn to_json(&self, traits: &str) -> String {
        let mut out = String::from("{\"traits\":");
        out.push_str(traits);
        out.push_str(",\"visits\":");
        json::push_u64(&mut out, self.visits);
        out.push_str(",\"orders\":");
        json::push_u64(&mut out, self.orders);
        out.push_str(",\"viewed\":[");
        out.push_str(&self.viewed.join(","));
        out.push_str("]}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewed_products_newest_first_one_each() {
        let mut p = Profile::default();
        for id in ["a", "b", "a"] {
            p.viewed(&format!(
                r#"{{"product_id":"{id}","name":"Tea {id}","price":4.5,"extra":{{"x":1}}}}"#
            ));
        }
        p.viewed(r#"{"name":"no id"}"#);
        assert_eq!(
            p.viewed,
            [
                r#"{"product_id":"a","name":"Tea a","price":4.5}"#,
                r#"{"product_id":"b","name":"Tea b","price":4.5}"#
            ]
        );
        for i in 0..20 {
            p.viewed(&format!(r#"{{"sku":"s{i}"}}"#));
        }
        assert_eq!(p.viewed.len(), VIEWED);
        assert_eq!(p.viewed[0], r#"{"sku":"s19"}"#);
    }

    #[test]
    fn stored_form_round_trips_and_garbage_is_nothing() {
        let mut p = Profile {
            visits: 3,
            orders: 1,
            viewed: Vec::new(),
        };
        p.viewed(r#"{"product_id":"a","url":"/p/a"}"#);
        assert_eq!(Profile::decode(&p.encode()), p);
        assert_eq!(
            Profile::decode("x\ty\n{broken\nnot json"),
            Profile::default()
        );
        assert_eq!(
            p.to_json(r#"{"email":"a@b.co"}"#),
            r#"{"traits":{"email":"a@b.co"},"visits":3,"orders":1,"viewed":[{"product_id":"a","url":"/p/a"}]}"#
        );
    }
}
