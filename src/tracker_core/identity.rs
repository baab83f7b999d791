//! Identity: which stored anonymous id wins, session rollover, and cookie domains.

use super::{id::is_valid_id, json};
use crate::prelude::*;

/// Inactivity after which a new session starts (30 minutes).
pub const SESSION_TIMEOUT_MS: u64 = 30 * 60 * 1000;
/// Activity is written back at most this often: a session's end is known to within 5 s,
/// and a burst of events costs one storage write, not one each.
pub const ACTIVITY_WRITE_MS: u64 = 5_000;

/// Picks the anonymous id from the cookie and localStorage copies: the cookie wins (it is shared
/// with the site's other subdomains), then storage. `None` means a new id is needed. The caller
/// writes the winner back to whichever copy differs, so each restores the other.
pub fn pick_anonymous_id<'a>(cookie: Option<&'a str>, storage: Option<&'a str>) -> Option<&'a str> {
    cookie
        .filter(|c| is_valid_id(c))
        .or(storage.filter(|s| is_valid_id(s)))
}

/// A browsing session shared by the site's tabs through storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Session id: the Unix ms at which it started.
    pub id: u64,
    /// Last activity, Unix ms.
    pub last: u64,
}

impl Session {
    /// Stored form: `id.last`.
    pub fn encode(&self) -> String {
        let mut s = json::u64_text(self.id);
        s.push('.');
        json::push_u64(&mut s, self.last);
        s
    }

    /// Reads the stored form; anything else gives `None`.
    pub fn decode(s: &str) -> Option<Session> {
        let (a, b) = s.split_once('.')?;
        Some(Session {
            id: json::parse_u64(a)?,
            last: json::parse_u64(b)?,
        })
    }

    /// Records activity at `now` on top of the stored session. Returns the session in force and
    /// whether it must be written back to storage.
    pub fn touch(stored: Option<Session>, now: u64) -> (Session, bool) {
        match stored {
            Some(s) if now < s.last.saturating_add(SESSION_TIMEOUT_MS) => {
                if now >= s.last.saturating_add(ACTIVITY_WRITE_MS) {
                    (
                        Session {
                            id: s.id,
                            last: now,
                        },
                        true,
                    )
                } else {
                    (s, false)
                }
            }
            _ => (Session { id: now, last: now }, true),
        }
    }
}

/// A day in ms: the id's cookie is renewed at most this often.
pub const DAY_MS: u64 = 86_400_000;

/// The domains to try, broadest first, when setting a first-party cookie for `host`: the
/// broadest one the browser accepts is the registrable domain (browsers refuse public
/// suffixes such as `co.uk`). IP addresses and single-label hosts get none: use a host-only cookie.
pub fn cookie_domains(host: &str) -> Vec<&str> {
    let host = host.trim_end_matches('.');
    let is_ip = host.contains(':') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if is_ip || !host.contains('.') {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut positions: Vec<usize> = host.match_indices('.').map(|(i, _)| i + 1).collect();
    positions.insert(0, 0);
    // Skip the top-level label alone: start from the last two labels.
    for &p in positions.iter().rev().skip(1) {
        if let Some(d) = host.get(p..) {
            out.push(d);
        }
    }
    out
}

/// The one rule for user ids: 1 to 128 bytes, not blank, no control characters.
pub fn is_valid_user_id(s: &str) -> bool {
    !s.trim().is_empty() && s.len() <= 128 && !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_copy_wins_and_bad_values_are_ignored() {
        assert_eq!(pick_anonymous_id(Some("c"), Some("s")), Some("c"));
        assert_eq!(pick_anonymous_id(None, Some("s")), Some("s"));
        assert_eq!(pick_anonymous_id(Some("bad value"), Some("s")), Some("s"));
        assert_eq!(pick_anonymous_id(Some(""), None), None);
    }

    #[test]
    fn session_rolls_over_after_thirty_idle_minutes() {
        let t0 = 1_000_000;
        let (s, write) = Session::touch(None, t0);
        assert_eq!((s, write), (Session { id: t0, last: t0 }, true));
        // Activity within 5 s is not written again.
        assert_eq!(Session::touch(Some(s), t0 + 4_999), (s, false));
        let (s2, w) = Session::touch(Some(s), t0 + 60_000);
        assert_eq!((s2.id, s2.last, w), (t0, t0 + 60_000, true));
        // 29:59 idle keeps it; 30:00 starts a new one.
        let keep = Session::touch(Some(s2), s2.last + SESSION_TIMEOUT_MS - 1).0;
        assert_eq!(keep.id, t0);
        let new = Session::touch(Some(keep), keep.last + SESSION_TIMEOUT_MS).0;
        assert_eq!(new.id, keep.last + SESSION_TIMEOUT_MS);
        assert_eq!(Session::decode(&new.encode()), Some(new));
        assert_eq!(Session::decode("junk"), None);
    }

    #[test]
    fn a_session_goes_on_through_a_day_of_steady_activity() {
        let mut s = None;
        let mut writes = 0;
        for minute in 0..(24 * 60) {
            let (n, w) = Session::touch(s, 1_000 + minute * 60_000);
            writes += w as u32;
            s = Some(n);
        }
        assert_eq!(s.unwrap().id, 1_000);
        assert_eq!(writes, 24 * 60);
    }

    #[test]
    fn cookie_domains_broadest_first() {
        assert_eq!(
            cookie_domains("www.shop.example.co.uk"),
            [
                "co.uk",
                "example.co.uk",
                "shop.example.co.uk",
                "www.shop.example.co.uk"
            ]
        );
        assert_eq!(cookie_domains("shop.example"), ["shop.example"]);
        assert!(cookie_domains("localhost").is_empty());
        assert!(cookie_domains("127.0.0.1").is_empty());
        assert!(cookie_domains("[::1]").is_empty());
    }
}
