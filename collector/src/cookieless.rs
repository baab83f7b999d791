//! Cookieless visitors: events a shopper who refused storage still sends (the SDK's
//! `consent.onRefuse: "cookieless"`), marked `context.cookieless: true` and carrying no id.
//! The collector gives each one a visitor and a session before it is stored:
//!
//! - **Visitor** (`anonymousId`): `cl-` and 32 hex digits of HMAC-SHA256, keyed by the day's
//!   salt, over the client's IP address, its user agent (`context.userAgent`, else the
//!   request's) and the host of `context.page.url`. The salt is 32 random bytes made by the
//!   first such event of a UTC day, kept in `cookieless_salts` so that every instance sharing
//!   the database derives the same visitor, and deleted once the day is over: the same
//!   shopper is another visitor the next day, and once the salt is gone nobody, the shop
//!   included, can recompute a visitor from an address.
//! - **Session** (`context.sessionId`): a visitor's events until 30 minutes pass without one,
//!   numbered by the time its first event arrived (`cookieless_visits`, emptied with the salt).
//! - Such an event keeps no `userId` or traits, joins no identity, redeems no link token and
//!   starts or moves no journey; identifies, aliases and groups are refused at validation.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::db::{self, vals, DbError, Sql};
use crate::validate::PreparedEvent;

/// The salts and the sessions of the day.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cookieless_salts (
    day  BIGINT NOT NULL PRIMARY KEY,
    salt TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cookieless_visits (
    visitor TEXT NOT NULL PRIMARY KEY,
    session BIGINT NOT NULL,
    seen    BIGINT NOT NULL
);
ALTER TABLE facts ADD COLUMN cookieless INTEGER NOT NULL DEFAULT 0;
";

/// A visitor's session ends after this long without an event.
pub const SESSION_GAP_MS: i64 = 30 * 60 * 1000;

const DAY_MS: i64 = 86_400_000;

/// Prefix of every cookieless visitor's `anonymousId`.
pub const VISITOR_PREFIX: &str = "cl-";

/// Whether an event says it was sent cookieless (its own `context.cookieless` is `true`).
pub(crate) fn is_cookieless(ev: &Map<String, Value>) -> bool {
    ev.get("context").and_then(|c| c.get("cookieless")) == Some(&Value::Bool(true))
}

/// The day's salt, as this process last read it, and the sweeping of past days.
#[derive(Debug, Default)]
pub(crate) struct Salts {
    /// `(UTC day, salt)`.
    today: Mutex<Option<(i64, Vec<u8>)>>,
    /// The day whose predecessors were last deleted from here.
    swept: AtomicI64,
}

impl Salts {
    /// Whether the days before `now`'s are still to be swept here.
    pub fn due(&self, now: i64) -> bool {
        self.swept.load(Ordering::Relaxed) != day_of(now)
    }

    /// The salt of `day`, if this process holds it.
    pub fn cached(&self, day: i64) -> Option<Vec<u8>> {
        let today = self.today.lock().unwrap_or_else(|p| p.into_inner());
        today
            .as_ref()
            .filter(|(d, _)| *d == day)
            .map(|(_, s)| s.clone())
    }

    /// After a committed transaction: `day`'s salt is `salt` (when read), and the days
    /// before `day` were swept (`swept`). Only then, as a transaction may be rolled back and
    /// run again.
    pub fn remember(&self, day: i64, salt: Option<Vec<u8>>, swept: bool) {
        let mut today = self.today.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(salt) = salt {
            *today = Some((day, salt));
        } else if today.as_ref().is_some_and(|(d, _)| *d < day) {
            *today = None;
        }
        if swept {
            self.swept.store(day, Ordering::Relaxed);
        }
    }
}

/// The UTC day of `now` (ms).
pub(crate) fn day_of(now: i64) -> i64 {
    now.div_euclid(DAY_MS)
}

/// Deletes the salts and sessions of the days before `now`'s.
pub(crate) fn sweep(sql: &dyn Sql, now: i64) -> db::Result<()> {
    let day = day_of(now);
    sql.execute("DELETE FROM cookieless_salts WHERE day < ?1", &vals![day])?;
    sql.execute(
        "DELETE FROM cookieless_visits WHERE seen < ?1",
        &vals![day * DAY_MS],
    )?;
    Ok(())
}

/// The salt of `day`, made if no instance has made it yet.
pub(crate) fn salt(sql: &dyn Sql, day: i64) -> db::Result<Vec<u8>> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| DbError::new(format!("no random bytes: {e}")))?;
    let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    sql.execute(
        "INSERT INTO cookieless_salts (day, salt) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        &vals![day, fresh],
    )?;
    let salt: String = sql.one(
        "SELECT salt FROM cookieless_salts WHERE day = ?1",
        &vals![day],
        |r| r.get(0),
    )?;
    Ok(salt.into_bytes())
}

/// Gives every cookieless event of a batch its visitor (under `salt`) and session as of `now`
/// (ms), for a request from `client` whose `User-Agent` header is `agent`, and removes what
/// could name the shopper.
pub(crate) fn assign(
    sql: &dyn Sql,
    events: &mut [PreparedEvent],
    salt: &[u8],
    (client, agent): (IpAddr, &str),
    now: i64,
) -> db::Result<()> {
    let mut sessions: HashMap<String, i64> = HashMap::new();
    for ev in events.iter_mut().filter(|e| is_cookieless(&e.object)) {
        let context = ev.object.get("context");
        let read = |path: &[&str]| {
            path.iter()
                .try_fold(context?, |at, key| at.get(key))
                .and_then(Value::as_str)
        };
        let user_agent = read(&["userAgent"]).unwrap_or(agent);
        let host = read(&["page", "url"]).map(host_of).unwrap_or_default();
        let visitor = visitor(salt, client, user_agent, &host);
        let session = match sessions.get(&visitor) {
            Some(s) => *s,
            None => {
                let s = session(sql, &visitor, now)?;
                sessions.insert(visitor.clone(), s);
                s
            }
        };
        ev.object.remove("userId");
        ev.object.remove("traits");
        if let Some(Value::Object(context)) = ev.object.get_mut("context") {
            // A link token (or its id) names a person: it has no place here.
            for key in ["traits", "linkToken", "linkTokenId"] {
                context.remove(key);
            }
            context.insert("sessionId".into(), Value::from(session));
        }
        ev.object
            .insert("anonymousId".into(), Value::String(visitor.clone()));
        ev.anonymous_id = Some(visitor);
        ev.user_id = None;
    }
    Ok(())
}

/// The visitor of a client, user agent and host under the day's `salt`.
fn visitor(salt: &[u8], client: IpAddr, user_agent: &str, host: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes a key of any length");
    for part in [client.to_string().as_str(), user_agent, host] {
        mac.update(part.as_bytes());
        mac.update(b"\0");
    }
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    [VISITOR_PREFIX, &hex].concat()
}

/// The host of a URL (lower-case, as the `url` crate reads it), or `""`.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The visitor's session at `now`: the one under way, or a new one numbered `now`.
fn session(sql: &dyn Sql, visitor: &str, now: i64) -> db::Result<i64> {
    sql.one(
        "INSERT INTO cookieless_visits (visitor, session, seen) VALUES (?1, ?2, ?2)
         ON CONFLICT (visitor) DO UPDATE SET
             session = CASE WHEN cookieless_visits.seen < ?3
                            THEN excluded.session ELSE cookieless_visits.session END,
             seen = CASE WHEN cookieless_visits.seen > excluded.seen
                         THEN cookieless_visits.seen ELSE excluded.seen END
         RETURNING session",
        &vals![visitor, now, now - SESSION_GAP_MS],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_is_the_same_within_a_day_and_differs_by_salt_address_agent_and_host() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let v = visitor(b"salt-1", ip, "UA", "shop.example");
        assert!(v.starts_with(VISITOR_PREFIX) && v.len() == 35, "{v}");
        assert_eq!(v, visitor(b"salt-1", ip, "UA", "shop.example"));
        for other in [
            visitor(b"salt-2", ip, "UA", "shop.example"),
            visitor(
                b"salt-1",
                "203.0.113.10".parse().unwrap(),
                "UA",
                "shop.example",
            ),
            visitor(b"salt-1", ip, "UA2", "shop.example"),
            visitor(b"salt-1", ip, "UA", "other.example"),
            // The parts are separated: moving a character from one to the next changes it.
            visitor(b"salt-1", ip, "UAs", "hop.example"),
        ] {
            assert_ne!(v, other);
        }
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(host_of("https://shop.example/p?q=1"), "shop.example");
        assert_eq!(host_of("https://Shop.Example:8443#x"), "shop.example");
        assert_eq!(host_of("https://u:p@shop.example/"), "shop.example");
        assert_eq!(host_of("not a url"), "");
    }
}
