//! Bots and crawlers. An event whose `context.userAgent` is a crawler's (npm isbot's patterns,
//! in `isbot.json`, written by `cargo xtask bots`) is stored marked `context.bot: true`, as is
//! one a client marked so. A marked event is kept and forwarded, but it counts in no metric
//! (its fact holds its time only), joins no identity, redeems no link token (mail scanners
//! open links) and starts or moves no journey.
//!
//! An anonymous id that views pages faster than anyone reads them is marked the same way
//! ([`pace`]), and so is a `Signed Up` or `Popup Converted` a popup's form flagged
//! (`properties.spam`: its honeypot filled, or sent sooner than a person types), with
//! `botReason: "spam"`.
//!
//! `--bots count` leaves user agents and pace unchecked: for test suites that drive headless
//! browsers (Chromium says `HeadlessChrome`), never for a shop in public.

mod pace;

pub use pace::{Pace, FLAGGED_MS, PAGES_PER_MINUTE};

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use fancy_regex::Regex;
use serde_json::{Map, Value};

use crate::validate::PreparedEvent;

/// What the collector does with traffic from crawlers (`--bots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bots {
    /// Mark events from crawler user agents; metrics, identity and journeys leave them out.
    #[default]
    Exclude,
    /// Check no user agent and no pace (events a client marked stay marked).
    Count,
}

impl Bots {
    /// `exclude` or `count`.
    pub fn parse(text: &str) -> Result<Bots, String> {
        match text {
            "exclude" => Ok(Bots::Exclude),
            "count" => Ok(Bots::Count),
            other => Err(format!("must be exclude or count, not '{other}'")),
        }
    }
}

/// The crawler patterns, one case-insensitive expression (as isbot builds its own).
static CRAWLERS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let data: Value = serde_json::from_str(include_str!("isbot.json")).ok()?;
    let patterns: Vec<&str> = data["patterns"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    Regex::new(&format!("(?i){}", from_js(&patterns.join("|")))).ok()
});

/// A JavaScript pattern in the syntax `fancy_regex` reads: JavaScript takes a `-` right after
/// a class escape inside a class (`[\w-.]`) as itself, Rust as a broken range.
fn from_js(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let (mut in_class, mut after_class_escape) = (false, false);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next();
                out.push(c);
                out.extend(next);
                after_class_escape = in_class && next.is_some_and(|n| "dDwWsS".contains(n));
                continue;
            }
            '-' if in_class && after_class_escape => out.push_str("\\-"),
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
        after_class_escape = false;
    }
    out
}

/// User agents already judged, at most this many (then the table starts again).
const CACHED: usize = 4096;

static JUDGED: LazyLock<Mutex<HashMap<String, bool>>> = LazyLock::new(Mutex::default);

/// Whether `user_agent` is a crawler's.
pub(crate) fn crawler(user_agent: &str) -> bool {
    let mut judged = JUDGED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&known) = judged.get(user_agent) {
        return known;
    }
    let verdict = CRAWLERS
        .as_ref()
        .is_some_and(|r| r.is_match(user_agent).unwrap_or(false));
    if judged.len() >= CACHED {
        judged.clear();
    }
    judged.insert(user_agent.to_owned(), verdict);
    verdict
}

/// Marks (`context.bot: true`) the events whose user agent is a crawler's, and with `pace`
/// those of ids going too fast as of `now` (ms), unless `mode` is [`Bots::Count`].
pub(crate) fn mark(events: &mut [PreparedEvent], mode: Bots, pace: Option<&Pace>, now: i64) {
    // A client's own flags count in every mode.
    for ev in events.iter_mut() {
        let popup = matches!(
            ev.object.get("event").and_then(Value::as_str),
            Some("Signed Up" | "Popup Converted")
        );
        let spam = ev.object.get("properties").and_then(|p| p.get("spam"));
        if popup && spam.and_then(Value::as_str).is_some_and(|s| !s.is_empty()) {
            flag(&mut ev.object, "spam");
        }
    }
    if mode == Bots::Count {
        return;
    }
    if let Some(pace) = pace {
        pace.mark(events.iter_mut(), now);
    }
    for ev in events {
        let Some(Value::Object(context)) = ev.object.get_mut("context") else {
            continue;
        };
        let agent = context.get("userAgent").and_then(Value::as_str);
        if agent.is_some_and(crawler) {
            context.insert("bot".into(), Value::Bool(true));
        }
    }
}

/// Marks an event a bot's (`context.bot: true`), saying why (`context.botReason`).
pub(crate) fn flag(ev: &mut Map<String, Value>, reason: &str) {
    let context = ev
        .entry("context")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(context) = context {
        context.insert("bot".into(), Value::Bool(true));
        context.insert("botReason".into(), Value::String(reason.into()));
    }
}

/// Whether an event (as stored) is marked a bot's.
pub(crate) fn marked(ev: &Map<String, Value>) -> bool {
    ev.get("context").and_then(|c| c.get("bot")) == Some(&Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbot_patterns_compile_and_tell_crawlers_from_browsers() {
        assert!(CRAWLERS.is_some(), "isbot.json compiles");
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
            "curl/8.5.0",
            "python-requests/2.31.0",
        ] {
            assert!(crawler(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        ] {
            assert!(!crawler(ua), "{ua}");
        }
        assert_eq!(from_js(r"[\w\d-.]+[a-z-]"), r"[\w\d\-.]+[a-z-]");
        // isbot's lookarounds hold: "scan" is a bot's, "camscanner" is not.
        assert!(crawler("Mozilla/5.0 vulnerability scanner"));
        assert!(!crawler("Mozilla/5.0 (Linux; Android 14) CamScanner/6.0"));
    }
}
