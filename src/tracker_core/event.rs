//! The Segment-spec event envelope: `page`, `track`, `identify` and `alias` messages, their
//! `context`, and the limits an event must keep (size, name length, nesting depth).

use super::{json, time};
use crate::prelude::*;
use crate::tracker_core::boundary::ErrorCode;

/// Largest serialized event accepted, as Segment's HTTP API allows (32 KiB; api.json's
/// `limits`, which the host applies alike).
pub const MAX_EVENT_BYTES: usize = super::boundary::LIMIT_EVENT;
/// Longest event or page name, in bytes.
pub const MAX_NAME_BYTES: usize = 200;
/// Properties and traits nest at most this many objects and arrays deep (the object itself is
/// the first).
pub const MAX_DEPTH: usize = 10;

/// Why an event could not be built. Each message says what the caller must change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventError {
    /// `track` was called without an event name.
    MissingName,
    /// The event or page name is longer than [`MAX_NAME_BYTES`].
    NameTooLong,
    /// Properties or traits were not a plain object.
    NotAnObject,
    /// The serialized event is larger than [`MAX_EVENT_BYTES`].
    TooLarge,
    /// `alias` or `identify` was given an empty or over-long user id.
    BadUserId,
}

impl EventError {
    /// A sentence that tells the caller what is wrong.
    pub fn message(self) -> &'static str {
        match self {
            Self::MissingName => "track(event, properties): event must be a non-empty string",
            Self::NameTooLong => "event and page names must be at most 200 characters",
            Self::NotAnObject => "properties and traits must be plain JSON objects",
            Self::TooLarge => "event is larger than 32 KiB once serialized; it was not queued",
            Self::BadUserId => {
                "userId must be a non-empty string of at most 128 printable characters"
            }
        }
    }

    /// A stable machine-readable code.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::MissingName | Self::NameTooLong | Self::NotAnObject | Self::BadUserId => {
                ErrorCode::InvalidArgument
            }
            Self::TooLarge => ErrorCode::EventTooLarge,
        }
    }
}

/// What differs between the message types.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// A `track` call: an action with its properties (a JSON object text).
    Track {
        /// The event name, such as `Product Added`.
        event: &'a str,
        /// The properties, as JSON object text.
        properties: &'a str,
    },
    /// A `page` call. Page fields (url, path, ...) are added ahead of the caller's properties.
    Page {
        /// Optional page name.
        name: Option<&'a str>,
        /// The caller's properties, as JSON object text.
        properties: &'a str,
    },
    /// An `identify` call with the user's traits (JSON object text).
    Identify {
        /// The traits, as JSON object text.
        traits: &'a str,
    },
    /// An `alias` call: the envelope's user id replaces `previous_id`.
    Alias {
        /// The identity being merged into the user id.
        previous_id: &'a str,
    },
}

impl Body<'_> {
    /// Its type (`track`, `page`, `identify`, `alias`) and, for a track, the event name:
    /// what a destination's `events` list names.
    pub fn kind(&self) -> (&'static str, Option<&str>) {
        match self {
            Body::Track { event, .. } => ("track", Some(event)),
            Body::Page { .. } => ("page", None),
            Body::Identify { .. } => ("identify", None),
            Body::Alias { .. } => ("alias", None),
        }
    }

    /// The caller's object (properties or traits) and its name in error messages.
    pub fn payload(&self) -> Option<(&'static str, &str)> {
        match self {
            Body::Track { properties, .. } | Body::Page { properties, .. } => {
                Some(("properties", properties))
            }
            Body::Identify { traits } => Some(("traits", traits)),
            Body::Alias { .. } => None,
        }
    }
}

/// The fields common to every message.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// UUID v4 of this message, the collector's dedup key.
    pub message_id: &'a str,
    /// The device's anonymous id; empty for a cookieless event, which carries no id.
    pub anonymous_id: &'a str,
    /// The known user id, if any.
    pub user_id: Option<&'a str>,
    /// When the call was made, Unix milliseconds.
    pub timestamp: u64,
    /// The `context` object as JSON text (see [`context`]).
    pub context: &'a str,
    /// The page, whose fields a `page` message carries as properties.
    pub page: &'a PageInfo,
}

/// What a page message and `context.page` say about the current document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// Full URL.
    pub url: String,
    /// Path part of the URL.
    pub path: String,
    /// The referrer (document.referrer, or the previous URL after an in-app navigation).
    pub referrer: String,
    /// Query string with its leading `?`, or empty.
    pub search: String,
    /// The document title.
    pub title: String,
}

impl PageInfo {
    fn push_fields(&self, out: &mut String) {
        let fields = [
            ("path", &self.path),
            ("referrer", &self.referrer),
            ("search", &self.search),
            ("title", &self.title),
            ("url", &self.url),
        ];
        for (i, (k, v)) in fields.iter().enumerate() {
            json::push_key(out, k, i == 0);
            json::push_str(out, v);
        }
    }
}

/// Builds the parts of `context` that do not change during a page's life.
pub fn static_context(
    user_agent: &str,
    locale: &str,
    timezone: &str,
    screen: (u32, u32),
    density: &str,
) -> String {
    let mut o = String::with_capacity(256 + user_agent.len());
    o.push_str("\"library\":{\"name\":\"shoptrail\",\"version\":");
    json::push_str(&mut o, env!("CARGO_PKG_VERSION"));
    o.push('}');
    json::push_key(&mut o, "userAgent", false);
    json::push_str(&mut o, user_agent);
    json::push_key(&mut o, "locale", false);
    json::push_str(&mut o, locale);
    json::push_key(&mut o, "timezone", false);
    json::push_str(&mut o, timezone);
    o.push_str(",\"screen\":{\"width\":");
    json::push_u64(&mut o, screen.0 as u64);
    o.push_str(",\"height\":");
    json::push_u64(&mut o, screen.1 as u64);
    if is_number_text(density) {
        o.push_str(",\"density\":");
        o.push_str(density);
    }
    o.push('}');
    o
}

fn is_number_text(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 24
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
        && !s.starts_with('.')
        && !s.ends_with('.')
}

/// Builds the whole `context` object for one page and session.
/// `campaign` is the session's campaign object (see [`super::campaign::for_session`]).
pub fn context(
    static_part: &str,
    page: &PageInfo,
    session_id: Option<u64>,
    campaign: Option<&str>,
) -> String {
    let mut o = String::with_capacity(static_part.len() + page.url.len() * 2 + 200);
    o.push('{');
    o.push_str(static_part);
    o.push_str(",\"page\":{");
    page.push_fields(&mut o);
    o.push('}');
    if let Some(c) = campaign {
        json::push_key(&mut o, "campaign", false);
        o.push_str(c);
    }
    // A cookieless event has no session of its own: the collector derives it.
    if let Some(id) = session_id {
        json::push_key(&mut o, "sessionId", false);
        json::push_u64(&mut o, id);
    }
    o.push('}');
    o
}

/// A held event's text up to its context (`head`, see [`build_head`]) without its
/// `anonymousId` and `userId`, as sent cookieless; `None` for an identify or an alias, which
/// mean nothing without ids.
pub fn cookieless_head(head: &str) -> Option<String> {
    // `{"messageId":"<36-character UUID>","type":"` comes first: `identify` and `alias` are
    // the types that start with `i` and `a`.
    if matches!(head.as_bytes().get(60), Some(b'i' | b'a')) {
        return None;
    }
    // The ids come last but for `,"timestamp":"<24 characters>","context":` (50 bytes); the
    // members after the properties hold no unescaped quote, so the last `,"anonymousId":` is
    // never a property's.
    let a = json::rfind(head, ",\"anonymousId\":")?;
    let t = head.len().checked_sub(50)?;
    Some([head.get(..a)?, head.get(t..)?].concat())
}

/// Whether `s` looks like JSON object text (`{...}`): properties, traits and stored values
/// are checked with it before they are spliced into a message.
pub fn is_object_text(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('{') && s.ends_with('}')
}

fn check_name(name: &str) -> Result<(), EventError> {
    // Characters, not bytes: 200 accented or CJK characters are a valid name.
    if name.len() > MAX_NAME_BYTES
        && name.bytes().filter(|b| b & 0xC0 != 0x80).count() > MAX_NAME_BYTES
    {
        Err(EventError::NameTooLong)
    } else {
        Ok(())
    }
}

/// Serializes one message. `messageId` comes first so that stored events can be keyed cheaply.
pub fn build(env: &Envelope, body: &Body) -> Result<String, EventError> {
    let mut o = build_head(env, body)?;
    o.push_str(env.context);
    o.push('}');
    Ok(o)
}

/// The message up to and including `"context":`: the whole message is this, then
/// `env.context`, then `}` (the queue keeps one context for the events that share it).
pub fn build_head(env: &Envelope, body: &Body) -> Result<String, EventError> {
    let mut o = String::with_capacity(256);
    o.push_str("{\"messageId\":");
    json::push_str(&mut o, env.message_id);
    let kind = match body {
        Body::Track { .. } => "track",
        Body::Page { .. } => "page",
        Body::Identify { .. } => "identify",
        Body::Alias { .. } => "alias",
    };
    o.push_str(",\"type\":\"");
    o.push_str(kind);
    o.push('"');
    match *body {
        Body::Track { event, properties } => {
            if event.trim().is_empty() {
                return Err(EventError::MissingName);
            }
            check_name(event)?;
            if !is_object_text(properties) {
                return Err(EventError::NotAnObject);
            }
            json::push_key(&mut o, "event", false);
            json::push_str(&mut o, event);
            json::push_key(&mut o, "properties", false);
            o.push_str(properties);
        }
        Body::Page { name, properties } => {
            if !is_object_text(properties) {
                return Err(EventError::NotAnObject);
            }
            if let Some(name) = name {
                check_name(name)?;
                json::push_key(&mut o, "name", false);
                json::push_str(&mut o, name);
            }
            json::push_key(&mut o, "properties", false);
            o.push('{');
            env.page.push_fields(&mut o);
            if properties.len() > 2 {
                o.push(',');
                o.push_str(properties.get(1..).unwrap_or("}"));
            } else {
                o.push('}');
            }
        }
        Body::Identify { traits } => {
            if !is_object_text(traits) {
                return Err(EventError::NotAnObject);
            }
            json::push_key(&mut o, "traits", false);
            o.push_str(traits);
        }
        Body::Alias { previous_id } => {
            if env.user_id.is_none() {
                return Err(EventError::BadUserId);
            }
            json::push_key(&mut o, "previousId", false);
            json::push_str(&mut o, previous_id);
        }
    }
    // A cookieless event carries neither id.
    if !env.anonymous_id.is_empty() {
        json::push_key(&mut o, "anonymousId", false);
        json::push_str(&mut o, env.anonymous_id);
        json::push_key(&mut o, "userId", false);
        json::push_opt_str(&mut o, env.user_id);
    }
    json::push_key(&mut o, "timestamp", false);
    o.push('"');
    time::push_iso8601(&mut o, env.timestamp);
    o.push('"');
    json::push_key(&mut o, "context", false);
    if o.len() + env.context.len() + 1 > MAX_EVENT_BYTES {
        return Err(EventError::TooLarge);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn page() -> PageInfo {
        PageInfo {
            url: "https://shop.example/p/mug?utm_source=news&utm_campaign=bf".into(),
            path: "/p/mug".into(),
            referrer: "https://google.example/".into(),
            search: "?utm_source=news&utm_campaign=bf".into(),
            title: "Enamel \"Camp\" Mug".into(),
        }
    }

    fn ctx(p: &PageInfo) -> String {
        let s = static_context(
            "Mozilla/5.0 (X11)",
            "en-US",
            "Europe/Paris",
            (1280, 720),
            "1.5",
        );
        let c = crate::tracker_core::campaign::campaign_json(&p.search);
        context(&s, p, Some(1_763_805_600_000), c.as_deref())
    }

    #[test]
    fn track_envelope_matches_segment_spec() {
        let p = page();
        let c = ctx(&p);
        let env = Envelope {
            message_id: "11111111-2222-4333-8444-555555555555",
            anonymous_id: "a-1",
            user_id: None,
            timestamp: 1_763_805_600_123,
            context: &c,
            page: &p,
        };
        let text = build(
            &env,
            &Body::Track {
                event: "Product Added",
                properties: r#"{"product_id":"nw-1","price":19.99}"#,
            },
        )
        .unwrap();
        assert!(text.starts_with("{\"messageId\":\"11111111-2222-4333-8444-555555555555\""));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["type"], "track");
        assert_eq!(v["event"], "Product Added");
        assert_eq!(v["properties"], json!({"product_id":"nw-1","price":19.99}));
        assert_eq!(v["userId"], Value::Null);
        assert_eq!(v["timestamp"], "2025-11-22T10:00:00.123Z");
        assert_eq!(v["context"]["library"]["name"], "shoptrail");
        assert_eq!(v["context"]["page"]["title"], "Enamel \"Camp\" Mug");
        assert_eq!(
            v["context"]["campaign"],
            json!({"source":"news","name":"bf"})
        );
        assert_eq!(
            v["context"]["screen"],
            json!({"width":1280,"height":720,"density":1.5})
        );
        assert_eq!(v["context"]["sessionId"], 1_763_805_600_000u64);
        assert_eq!(v["context"]["timezone"], "Europe/Paris");
    }

    #[test]
    fn page_carries_page_fields_then_caller_properties() {
        let mut p = page();
        p.search.clear();
        let c = ctx(&p);
        let env = Envelope {
            message_id: "m",
            anonymous_id: "a",
            user_id: Some("u-7"),
            timestamp: 0,
            context: &c,
            page: &p,
        };
        let v: Value = serde_json::from_str(
            &build(
                &env,
                &Body::Page {
                    name: Some("Product"),
                    properties: r#"{"category":"Mugs"}"#,
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["name"], "Product");
        assert_eq!(v["properties"]["path"], "/p/mug");
        assert_eq!(v["properties"]["category"], "Mugs");
        assert_eq!(v["userId"], "u-7");
        assert!(v["context"].get("campaign").is_none());
        let v: Value = serde_json::from_str(
            &build(
                &env,
                &Body::Page {
                    name: None,
                    properties: "{}",
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert!(v.get("name").is_none());
        assert_eq!(v["properties"]["url"], p.url);
    }

    #[test]
    fn rejects_bad_input_with_reasons() {
        let p = page();
        let c = ctx(&p);
        let env = Envelope {
            message_id: "m",
            anonymous_id: "a",
            user_id: None,
            timestamp: 0,
            context: &c,
            page: &p,
        };
        let t = |e: &str, props: &str| {
            build(
                &env,
                &Body::Track {
                    event: e,
                    properties: props,
                },
            )
        };
        assert_eq!(t(" ", "{}"), Err(EventError::MissingName));
        assert_eq!(t(&"x".repeat(201), "{}"), Err(EventError::NameTooLong));
        assert_eq!(t("E", "[1]"), Err(EventError::NotAnObject));
        let big = format!("{{\"blob\":\"{}\"}}", "x".repeat(MAX_EVENT_BYTES));
        assert_eq!(t("E", &big), Err(EventError::TooLarge));
        assert_eq!(
            build(&env, &Body::Alias { previous_id: "a" }),
            Err(EventError::BadUserId)
        );
    }

    #[test]
    fn identify_and_alias() {
        let p = page();
        let c = ctx(&p);
        let env = Envelope {
            message_id: "m",
            anonymous_id: "anon",
            user_id: Some("u1"),
            timestamp: 0,
            context: &c,
            page: &p,
        };
        let v: Value = serde_json::from_str(
            &build(
                &env,
                &Body::Identify {
                    traits: r#"{"email":"a@b.c"}"#,
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (v["type"].as_str(), v["traits"]["email"].as_str()),
            (Some("identify"), Some("a@b.c"))
        );
        let v: Value = serde_json::from_str(
            &build(
                &env,
                &Body::Alias {
                    previous_id: "anon",
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (v["userId"].as_str(), v["previousId"].as_str()),
            (Some("u1"), Some("anon"))
        );
    }

    #[test]
    fn a_cookieless_event_carries_no_id_and_a_held_one_loses_its_ids() {
        let p = page();
        let c = ctx(&p);
        let mut env = Envelope {
            message_id: "11111111-2222-4333-8444-555555555555",
            anonymous_id: "anon",
            user_id: Some("u\"1"),
            timestamp: 1_763_805_600_123,
            context: &c,
            page: &p,
        };
        let props = r#"{"note":",\"anonymousId\":\"x\",\"timestamp\":1"}"#;
        let body = Body::Track {
            event: "Order Completed",
            properties: props,
        };
        let held = build_head(&env, &body).unwrap();
        env.anonymous_id = "";
        let sent = build_head(&env, &body).unwrap();
        assert_eq!(cookieless_head(&held).as_deref(), Some(sent.as_str()));
        let v: Value = serde_json::from_str(&[sent.as_str(), "{}}"].concat()).unwrap();
        assert_eq!(v.get("anonymousId"), None);
        assert_eq!(v.get("userId"), None);
        assert_eq!(
            v["properties"]["note"],
            ",\"anonymousId\":\"x\",\"timestamp\":1"
        );
        env.anonymous_id = "anon";
        let identify = build_head(&env, &Body::Identify { traits: "{}" }).unwrap();
        assert_eq!(cookieless_head(&identify), None);
        let alias = build_head(&env, &Body::Alias { previous_id: "a" }).unwrap();
        assert_eq!(cookieless_head(&alias), None);
    }
}
