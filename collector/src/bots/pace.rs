//! Behaviour no shopper shows: page views from one anonymous id faster than anyone reads
//! pages. More than [`PAGES_PER_MINUTE`] page views from one id within a minute flag that id
//! for [`FLAGGED_MS`]: its events from the one that crossed the line on are marked as a
//! crawler's are (`context.bot: true`), with `context.botReason: "pace"`, so they count in no
//! metric and start no journey. Each collector process counts what it receives (behind a load
//! balancer, what reaches one instance).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::validate::PreparedEvent;

/// Page views from one id in a minute beyond which it is a bot's (a person reading fast
/// opens a page every few seconds; 120 is two a second for a minute).
pub const PAGES_PER_MINUTE: u32 = 120;
/// How long an id stays flagged after its last page view over the line.
pub const FLAGGED_MS: i64 = 60 * 60 * 1000;
/// Ids followed at once, at most; beyond, those idle for a minute are forgotten first.
const FOLLOWED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// Start of the current minute's count.
    since: i64,
    pages: u32,
    /// Flagged until then (0: not flagged).
    until: i64,
    last: i64,
}

/// The page-view pace of the ids a collector hears from.
#[derive(Debug, Default)]
pub struct Pace {
    ids: Mutex<Followed>,
}

/// The ids followed, and when those gone quiet were last forgotten.
#[derive(Debug, Default)]
struct Followed {
    ids: HashMap<String, Seen>,
    swept: i64,
}

impl Pace {
    /// Marks the events of `events` whose anonymous id goes too fast, as of `now` (ms).
    pub(crate) fn mark<'a>(
        &self,
        events: impl IntoIterator<Item = &'a mut PreparedEvent>,
        now: i64,
    ) {
        let mut followed = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        let Followed { ids, swept } = &mut *followed;
        for ev in events {
            let Some(id) = ev.object.get("anonymousId").and_then(Value::as_str) else {
                continue;
            };
            let page = ev.object.get("type").and_then(Value::as_str) == Some("page");
            if !page && !ids.contains_key(id) {
                continue;
            }
            if page && !ids.contains_key(id) && ids.len() >= FOLLOWED {
                // Full: ids quiet for a minute are forgotten, at most once a minute (a crawler
                // with a new id a page cannot make every page a sweep); until then new ids
                // are not followed.
                if now - *swept >= 60_000 {
                    *swept = now;
                    ids.retain(|_, s| now - s.last < 60_000 || s.until > now);
                }
                if ids.len() >= FOLLOWED {
                    continue;
                }
            }
            let seen = ids.entry(id.to_owned()).or_insert(Seen {
                since: now,
                pages: 0,
                until: 0,
                last: now,
            });
            if page {
                if now - seen.since >= 60_000 {
                    seen.since = now;
                    seen.pages = 0;
                }
                seen.pages += 1;
                seen.last = now;
                if seen.pages > PAGES_PER_MINUTE {
                    seen.until = now + FLAGGED_MS;
                }
            }
            if seen.until > now {
                super::flag(&mut ev.object, "pace");
            }
        }
    }
}
