//! `destinations`: endpoints besides `endpoint`, each with its own queue, retries and flush
//! result. This file reads and checks them; the engine gives each one a lane.

use super::json;
use super::json::scan;
use super::rules::{endpoint_rule, ConfigError, Resolve, WRITE_KEY};
use crate::prelude::*;

/// Most destinations besides `endpoint`.
pub const MAX_DESTINATIONS: usize = 4;

/// One more endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// Reads `destinations` (JSON array text); `insecure` is `allowInsecureEndpoint`. An error
/// names the destination and its option, such as `destinations[1].events`.
pub fn parse(
    list: &str,
    insecure: bool,
    resolve: Resolve,
) -> Result<Vec<Destination>, ConfigError> {
    let items = scan::array_items(list).filter(|i| i.len() <= MAX_DESTINATIONS);
    let Some(items) = items else {
        return Err(ConfigError {
            option: "destinations".into(),
            message: SHAPE,
        });
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let mut d = Destination::default();
        let mut checked = read(item, insecure, resolve, &mut d);
        // Two lanes with one stored key would overwrite each other's events.
        let same = |o: &Destination| o.endpoint == d.endpoint && o.write_key == d.write_key;
        if checked.is_ok() && out.iter().any(same) {
            let message = "is the same endpoint and writeKey as an earlier destination";
            checked = Err(("endpoint".into(), message));
        }
        if let Err((key, message)) = checked {
            let mut option = String::from("destinations[");
            json::push_u64(&mut option, i as u64);
            option.push(']');
            if !key.is_empty() {
                option.push('.');
                option.push_str(&key);
            }
            return Err(ConfigError { option, message });
        }
        out.push(d);
    }
    Ok(out)
}

/// Reads one destination object into `d`; an error gives the option's name (empty for the
/// whole object) and what is wrong.
fn read(
    item: &str,
    insecure: bool,
    resolve: Resolve,
    d: &mut Destination,
) -> Result<(), (String, &'static str)> {
    let members = scan::object_members(item).filter(|_| item.starts_with('{'));
    for m in members.ok_or((String::new(), SHAPE))? {
        let key = scan::unescape(m.key).unwrap_or_default();
        let text = scan::string_value(m.value);
        let problem = match key.as_str() {
            "endpoint" => {
                d.endpoint = text.map(|t| resolve(&t)).unwrap_or_default();
                endpoint_rule(&d.endpoint, insecure)
            }
            "writeKey" => {
                d.write_key = text.filter(|k| !k.is_empty() && k.len() <= 256);
                d.write_key.is_none().then_some(WRITE_KEY)
            }
            "compress" => {
                d.compress = m.value == "true";
                (!d.compress && m.value != "false").then_some("must be true or false")
            }
            "events" => {
                d.events = names(m.value);
                d.events.is_none().then_some("must be a list of event names (a track event's name, or page, identify, alias, track)")
            }
            _ => Some("is not a destination option; they are endpoint, writeKey, compress, events"),
        };
        if let Some(message) = problem {
            return Err((key, message));
        }
    }
    if d.endpoint.is_empty() {
        let message = "is required: the URL that receives this destination's batches";
        return Err(("endpoint".into(), message));
    }
    Ok(())
}

/// A JSON list of event names (1 to 200 bytes each).
fn names(list: &str) -> Option<Vec<String>> {
    let items = scan::array_items(list).filter(|_| list.starts_with('['))?;
    let name = |n| scan::string_value(n).filter(|s| !s.is_empty() && s.len() <= 200);
    items.into_iter().map(name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_destinations_and_names_what_is_wrong() {
        let d = parse(
            r#"[{"endpoint":"https://a.example/v1/batch","writeKey":"k","events":["Order Completed","page"]},{"endpoint":"https://b.example/in","compress":true}]"#,
            false,
            &|u| u.into(),
        )
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].write_key.as_deref(), Some("k"));
        assert!(d[0].wants("track", Some("Order Completed")));
        assert!(d[0].wants("page", None));
        assert!(!d[0].wants("track", Some("Product Viewed")));
        assert!(d[1].compress && d[1].wants("identify", None));
        assert_eq!(parse("[]", false, &|u| u.into()).unwrap(), []);
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
                r#"[{"endpoint":"https://a/x"},{"endpoint":"https://a/x","events":["page"]}]"#,
                "destinations[1].endpoint",
            ),
            (
                r#"[{"endpoint":"https://a/x"},{"endpoint":"https://a/x"},{"endpoint":"https://a/x"},{"endpoint":"https://a/x"},{"endpoint":"https://a/x"}]"#,
                "destinations",
            ),
        ] {
            let e = parse(text, false, &|u| u.into()).unwrap_err();
            assert_eq!(e.option, option, "{text}: {}", e.message);
        }
        assert!(parse(r#"[{"endpoint":"http://a.example/x"}]"#, true, &|u| u
            .into())
        .is_ok());
        let two_keys = r#"[{"endpoint":"https://a/x","writeKey":"k1"},{"endpoint":"https://a/x","writeKey":"k2"}]"#;
        assert_eq!(
            parse(two_keys, false, &|u| u.into()).unwrap().len(),
            2,
            "two sources of one tool"
        );
    }
}
