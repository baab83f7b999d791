//! `destinations`: endpoints besides `endpoint`, each with its own queue, retries and flush
//! result. This file reads and checks them; the engine gives each one a lane.

use super::config::{endpoint_rule, ConfigError};
use super::json::scan;
use crate::prelude::*;

/// Most destinations besides `endpoint`.
pub const MAX_DESTINATIONS: usize = 4;

/// One more endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Where its batches are POSTed (absolute http(s) URL, the same rule as `endpoint`).
    pub endpoint: String,
    /// Sent as `writeKey` in its batches.
    pub write_key: Option<String>,
    /// gzip its batches (`compression=gzip` in the URL).
    pub compress: bool,
    /// Only these events: a track event's name, or a type (`page`, `identify`, `alias`).
    /// `None`: every event.
    pub events: Option<Vec<String>>,
}

impl Destination {
    /// Its name in stored queue keys: the first 8 hex digits of the SHA-256 of its endpoint
    /// and write key. A page that names the same destination, at whatever place in its list,
    /// adopts the events another page left for it.
    pub fn tag(&self) -> String {
        let id = [
            &self.endpoint,
            "\n",
            self.write_key.as_deref().unwrap_or_default(),
        ]
        .concat();
        let mut hex = super::pii::sha256_hex(id.as_bytes());
        hex.truncate(8);
        hex
    }

    /// Whether an event of `kind` (and, for a track, named `event`) goes to this destination.
    pub fn wants(&self, kind: &str, event: Option<&str>) -> bool {
        match &self.events {
            None => true,
            Some(names) => names.iter().any(|n| n == kind || Some(n.as_str()) == event),
        }
    }
}

/// What `destinations` must be.
pub const SHAPE: &str = "must be a list of at most 4 objects such as { endpoint: \"https://collect.example.com/v1/batch\", writeKey?, compress?, events?: [\"Order Completed\"] }";

fn bad(path: String, message: &'static str) -> ConfigError {
    ConfigError {
        option: path,
        message,
    }
}

/// Reads `destinations` (JSON array text); `insecure` is `allowInsecureEndpoint`.
pub fn parse(list: &str, insecure: bool) -> Result<Vec<Destination>, ConfigError> {
    let items = scan::array_items(list).ok_or_else(|| bad("destinations".into(), SHAPE))?;
    if items.len() > MAX_DESTINATIONS {
        return Err(bad("destinations".into(), SHAPE));
    }
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = |key: &str| {
            let mut p = String::from("destinations[");
            crate::core::json::push_u64(&mut p, i as u64);
            p.push(']');
            if !key.is_empty() {
                p.push('.');
                p.push_str(key);
            }
            p
        };
        let Some(members) = scan::object_members(item).filter(|_| item.starts_with('{')) else {
            return Err(bad(at(""), SHAPE));
        };
        let mut d = Destination {
            endpoint: String::new(),
            write_key: None,
            compress: false,
            events: None,
        };
        for m in members {
            let key = scan::unescape(m.key).unwrap_or_default();
            match key.as_str() {
                "endpoint" => {
                    let url = scan::string_value(m.value).unwrap_or_default();
                    if let Some(message) = endpoint_rule(&url, insecure) {
                        return Err(bad(at("endpoint"), message));
                    }
                    d.endpoint = url;
                }
                "writeKey" => match scan::string_value(m.value) {
                    Some(k) if !k.is_empty() && k.len() <= 256 => d.write_key = Some(k),
                    _ => {
                        return Err(bad(
                            at("writeKey"),
                            "must be a non-empty string of at most 256 characters",
                        ))
                    }
                },
                "compress" => match m.value {
                    "true" => d.compress = true,
                    "false" => d.compress = false,
                    _ => return Err(bad(at("compress"), "must be true or false")),
                },
                "events" => {
                    const NAMES: &str = "must be a list of event names (a track event's name, or page, identify, alias)";
                    let names = scan::array_items(m.value)
                        .filter(|_| m.value.starts_with('['))
                        .ok_or_else(|| bad(at("events"), NAMES))?;
                    let mut list = Vec::new();
                    for n in names {
                        match scan::string_value(n) {
                            Some(s) if !s.is_empty() && s.len() <= 200 => list.push(s),
                            _ => return Err(bad(at("events"), NAMES)),
                        }
                    }
                    d.events = Some(list);
                }
                _ => return Err(bad(
                    at(&key),
                    "is not a destination option; they are endpoint, writeKey, compress, events",
                )),
            }
        }
        if d.endpoint.is_empty() {
            return Err(bad(
                at("endpoint"),
                "is required: the URL that receives this destination's batches",
            ));
        }
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_destinations_and_names_what_is_wrong() {
        let d = parse(
            r#"[{"endpoint":"https://a.example/v1/batch","writeKey":"k","events":["Order Completed","page"]},{"endpoint":"https://b.example/in","compress":true}]"#,
            false,
        )
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].write_key.as_deref(), Some("k"));
        assert!(d[0].wants("track", Some("Order Completed")));
        assert!(d[0].wants("page", None));
        assert!(!d[0].wants("track", Some("Product Viewed")));
        assert!(d[1].compress && d[1].wants("identify", None));
        assert_eq!(parse("[]", false).unwrap(), []);
        for (text, option) in [
            (r#"{"endpoint":"https://a"}"#, "destinations"),
            (r#"[1]"#, "destinations[0]"),
            (
                r#"[{"endpoint":"http://a.example/x"}]"#,
                "destinations[0].endpoint",
            ),
            (r#"[{"writeKey":"k"}]"#, "destinations[0].endpoint"),
            (
                r#"[{"endpoint":"https://a/x"},{"endpoint":"https://b/x","events":"Order Completed"}]"#,
                "destinations[1].events",
            ),
            (
                r#"[{"endpoint":"https://a/x","compres":true}]"#,
                "destinations[0].compres",
            ),
            (
                r#"[{"endpoint":"https://a/x"},{"endpoint":"https://a/x"},{"endpoint":"https://a/x"},{"endpoint":"https://a/x"},{"endpoint":"https://a/x"}]"#,
                "destinations",
            ),
        ] {
            let e = parse(text, false).unwrap_err();
            assert_eq!(e.option, option, "{text}: {}", e.message);
        }
        assert!(parse(r#"[{"endpoint":"http://a.example/x"}]"#, true).is_ok());
    }
}
