//! The storage port: every read and write of localStorage and cookies goes through [`Port`],
//! so one place decides what is written and when.
//!
//! A port writes through to its [`Backend`] (the browser's storage, or a map in tests), or holds
//! writes in memory (reads see them) until [`Port::write_through`] applies them: a page that must
//! not store anything yet (consent) runs the same code on a port that holds.
//!
//! A write the browser refuses is kept in memory for the page and flagged, so it is told once.
//! The port also erases every key of the SDK, names the keys, and probes cookie domains;
//! [`Memory`] is the backend of host tests.

use super::{identity, json};
use crate::prelude::*;

/// Where the anonymous id is kept in localStorage.
pub const K_AID: &str = "shoptrail:aid";
/// The user id.
pub const K_UID: &str = "shoptrail:uid";
/// The traits (JSON object text).
pub const K_TRAITS: &str = "shoptrail:traits";
/// The session (`id.last`, see [`identity::Session`]).
pub const K_SESSION: &str = "shoptrail:session";
/// The session's campaign (`<session id>\t<campaign JSON>`).
pub const K_CAMPAIGN: &str = "shoptrail:campaign";
/// The first campaign this device came from.
pub const K_FIRST_TOUCH: &str = "shoptrail:first_touch";
/// The latest campaign this device came from.
pub const K_LAST_TOUCH: &str = "shoptrail:last_touch";
/// The cart (its own line format, see `commerce::Cart::encode`).
pub const K_CART: &str = "shoptrail:cart";
/// Sessions started on this device (see `profile`).
pub const K_VISITS: &str = "shoptrail:visits";
/// Orders completed on this device.
pub const K_ORDERS: &str = "shoptrail:orders";
/// Products viewed most recently, one properties object a line.
pub const K_VIEWED: &str = "shoptrail:viewed";
/// The engage module's frequency caps and the session's campaign source (written by the
/// engage module; `reset()` removes them with the identity: a new shopper starts afresh).
pub const K_ENGAGE: [&str; 2] = ["shoptrail:engage", "shoptrail:engage:source"];
/// Persisted queues: `shoptrail:q:<page id>`.
pub const Q_PREFIX: &str = "shoptrail:q:";
/// Fingerprints of the channel link tokens this device sent (one a line, newest first, 20 at
/// most): a token is sent once per device and never stored.
pub const K_LINKS: &str = "shoptrail:links";
/// The shopper's consent (the granted categories, space-separated; see `consent`).
pub const K_CONSENT: &str = "shoptrail:consent";
/// Every key the SDK writes starts with this.
pub const PREFIX: &str = "shoptrail:";
/// When the anonymous id's cookie was last written (Unix ms): it is renewed at most daily.
pub const K_AID_AT: &str = "shoptrail:aid_at";
/// The anonymous id's cookie.
pub const COOKIE: &str = "shoptrail_aid";
/// 400 days, the longest lifetime browsers keep a cookie.
pub const COOKIE_AGE_S: u32 = 400 * 86_400;

/// Writes a value in parts: it is called once with the sink that takes the parts.
pub type Writer<'a> = dyn FnMut(&mut dyn FnMut(&str)) + 'a;

/// Raw access to a key-value storage and the page's cookies.
pub trait Backend {
    /// Reads a key.
    fn get(&self, key: &str) -> Option<String>;
    /// Writes a key; false when refused (quota, disabled storage).
    fn set(&mut self, key: &str, value: &str) -> bool;
    /// Removes a key.
    fn remove(&mut self, key: &str);
    /// Every key that starts with `prefix`.
    fn keys(&self, prefix: &str) -> Vec<String>;
    /// Reads cookie `name`.
    fn cookie(&self, name: &str) -> Option<String>;
    /// Writes one `Set-Cookie`-style string (`name=value; Path=/; ...`).
    fn set_cookie(&mut self, line: &str);
    /// Writes a key whose value `write` produces in parts (a large value need not be one
    /// string in memory). The default joins the parts.
    fn set_from(&mut self, key: &str, write: &mut Writer) -> bool {
        let mut value = String::new();
        write(&mut |part| value.push_str(part));
        self.set(key, &value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    Key(String, Option<String>),
    Cookie(String, String, Option<String>),
}

/// The one way to storage: writes through, or holds them in memory.
#[derive(Debug)]
pub struct Port<B> {
    backend: B,
    /// Writes not applied yet, oldest first; `None` when writing through.
    held: Option<Vec<Held>>,
    /// Cookies get `; Secure` (https pages).
    secure: bool,
    /// Values the backend refused (disabled or full storage), kept in memory for this page.
    kept: Vec<(String, String)>,
    /// A write was refused since the last [`Port::take_refused`].
    refused: bool,
}

impl<B: Backend> Port<B> {
    /// A port that writes through to `backend`.
    pub fn new(backend: B, secure: bool) -> Port<B> {
        Port {
            backend,
            held: None,
            secure,
            kept: Vec::new(),
            refused: false,
        }
    }

    /// A port that keeps every write in memory until [`Port::write_through`].
    pub fn holding(backend: B, secure: bool) -> Port<B> {
        Port {
            held: Some(Vec::new()),
            ..Port::new(backend, secure)
        }
    }

    /// Whether writes are held in memory.
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }

    /// Holds writes in memory from now on, forgetting any held before.
    pub fn hold(&mut self) {
        self.held = Some(Vec::new());
    }

    /// Writes a key to the backend even while holding (the record of a consent choice).
    pub fn set_direct(&mut self, key: &str, value: &str) -> bool {
        self.backend.set(key, value)
    }

    /// Removes every key that starts with `prefix`, and cookie `name` (host-only and on
    /// `domain`), from the backend itself; held writes are forgotten.
    pub fn erase(&mut self, prefix: &str, cookie: &str, domain: Option<&str>) {
        let holding = self.is_holding();
        self.held = None;
        self.kept.clear();
        for k in self.backend.keys(prefix) {
            self.backend.remove(&k);
        }
        for d in [None, domain] {
            self.set_cookie(cookie, "", 0, d);
        }
        if holding {
            self.hold();
        }
    }

    /// Whether a write was refused since the last call (each refusal is told once).
    pub fn take_refused(&mut self) -> bool {
        core::mem::take(&mut self.refused)
    }

    /// Notes a refusal the port cannot see (a cookie the browser did not keep).
    pub fn note_refused(&mut self) {
        self.refused = true;
    }

    /// Applies the held writes in order and writes through from now on.
    pub fn write_through(&mut self) {
        for h in self.held.take().unwrap_or_default() {
            match h {
                Held::Key(k, Some(v)) => {
                    self.set(&k, &v);
                }
                Held::Key(k, None) => self.remove(&k),
                Held::Cookie(_, line, _) => self.backend.set_cookie(&line),
            }
        }
    }

    /// The backend (for tests and the driver).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Reads a key (a held write wins).
    pub fn get(&self, key: &str) -> Option<String> {
        if let Some(held) = &self.held {
            for h in held.iter().rev() {
                if let Held::Key(k, v) = h {
                    if k == key {
                        return v.clone();
                    }
                }
            }
        }
        match self.kept.iter().find(|(k, _)| k == key) {
            Some((_, v)) => Some(v.clone()),
            None => self.backend.get(key),
        }
    }

    /// Writes a key; false when the backend refused it (the value is then kept in memory).
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        match &mut self.held {
            Some(held) => {
                held.retain(|h| !matches!(h, Held::Key(k, _) if k == key));
                held.push(Held::Key(key.into(), Some(value.into())));
                true
            }
            None => {
                self.kept.retain(|(k, _)| k != key);
                let ok = self.backend.set(key, value);
                if !ok {
                    self.refused = true;
                    self.kept.push((key.into(), value.into()));
                }
                ok
            }
        }
    }

    /// Writes a key whose value `write` produces in parts.
    pub fn set_from(&mut self, key: &str, write: &mut Writer) -> bool {
        if self.held.is_some() {
            let mut value = String::new();
            write(&mut |part| value.push_str(part));
            return self.set(key, &value);
        }
        // A value written in parts is a persisted queue: refused, it needs no copy in memory
        // (the queue is there).
        let ok = self.backend.set_from(key, write);
        self.refused |= !ok;
        ok
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) {
        match &mut self.held {
            Some(held) => {
                held.retain(|h| !matches!(h, Held::Key(k, _) if k == key));
                held.push(Held::Key(key.into(), None));
            }
            None => {
                self.kept.retain(|(k, _)| k != key);
                self.backend.remove(key)
            }
        }
    }

    /// Every key that starts with `prefix`, held writes included.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = self.backend.keys(prefix);
        for (k, _) in &self.kept {
            if k.starts_with(prefix) && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        if let Some(held) = &self.held {
            for h in held {
                if let Held::Key(k, v) = h {
                    if k.starts_with(prefix) {
                        keys.retain(|x| x != k);
                        if v.is_some() {
                            keys.push(k.clone());
                        }
                    }
                }
            }
        }
        keys
    }

    /// Reads cookie `name` (a held write wins).
    pub fn cookie(&self, name: &str) -> Option<String> {
        if let Some(held) = &self.held {
            for h in held.iter().rev() {
                if let Held::Cookie(n, _, v) = h {
                    if n == name {
                        return v.clone();
                    }
                }
            }
        }
        self.backend.cookie(name)
    }

    /// Sets cookie `name` for `max_age_s` seconds (0 deletes it), on `domain` or host-only;
    /// `SameSite=Lax`, and `Secure` on https pages.
    pub fn set_cookie(&mut self, name: &str, value: &str, max_age_s: u32, domain: Option<&str>) {
        let mut c = String::with_capacity(96);
        c.push_str(name);
        c.push('=');
        c.push_str(value);
        c.push_str("; Path=/; SameSite=Lax; Max-Age=");
        json::push_u64(&mut c, max_age_s as u64);
        if self.secure {
            c.push_str("; Secure");
        }
        if let Some(d) = domain {
            c.push_str("; Domain=");
            c.push_str(d);
        }
        match &mut self.held {
            Some(held) => {
                let v = (max_age_s > 0).then(|| value.to_string());
                held.retain(|h| !matches!(h, Held::Cookie(n, _, _) if n == name));
                held.push(Held::Cookie(name.into(), c, v));
            }
            None => self.backend.set_cookie(&c),
        }
    }

    /// The registrable domain of `host` (such as `example.co.uk` for `www.example.co.uk`): the
    /// broadest domain on which the browser accepts a cookie, found by probing. `None` for IP
    /// addresses and single-label hosts such as `localhost`, and while holding (a probe is a
    /// write).
    pub fn cookie_domain(&mut self, host: &str) -> Option<String> {
        const PROBE: &str = "shoptrail_probe";
        if self.is_holding() {
            return None;
        }
        for domain in identity::cookie_domains(host) {
            self.set_cookie(PROBE, "1", 10, Some(domain));
            if self.cookie(PROBE).is_some() {
                self.set_cookie(PROBE, "", 0, Some(domain));
                return Some(domain.to_string());
            }
        }
        None
    }
}

/// A storage in memory, with a cookie jar that honours `Max-Age=0` and refuses public-suffix
/// domains given to it: for tests of the engine on the host.
#[derive(Debug, Default, Clone)]
pub struct Memory {
    /// The stored keys, in insertion order.
    pub items: Vec<(String, String)>,
    /// Cookies as `(name, value, domain)`.
    pub cookies: Vec<(String, String, Option<String>)>,
    /// Domains that refuse cookies (public suffixes in a real browser).
    pub refused_domains: Vec<String>,
    /// When set, every write fails (a full or disabled storage).
    pub full: bool,
    /// When set, no cookie is kept (a browser that blocks them).
    pub block_cookies: bool,
    /// Writes made so far (sets and removes), to count them in tests.
    pub writes: usize,
    /// Writes of the anonymous id's cookie so far.
    pub cookie_writes: usize,
}

impl Backend for Memory {
    fn get(&self, key: &str) -> Option<String> {
        self.items
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> bool {
        if self.full {
            return false;
        }
        self.writes += 1;
        match self.items.iter_mut().find(|(k, _)| k == key) {
            Some(item) => item.1 = value.to_string(),
            None => self.items.push((key.into(), value.into())),
        }
        true
    }

    fn remove(&mut self, key: &str) {
        self.writes += 1;
        self.items.retain(|(k, _)| k != key);
    }

    fn keys(&self, prefix: &str) -> Vec<String> {
        self.items
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.clone())
    }

    fn set_cookie(&mut self, line: &str) {
        let mut parts = line.split("; ");
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        if name == COOKIE {
            self.cookie_writes += 1;
        }
        if self.block_cookies {
            return;
        }
        let mut domain = None;
        let mut delete = false;
        for p in parts {
            if let Some(d) = p.strip_prefix("Domain=") {
                domain = Some(d.to_string());
            }
            if p == "Max-Age=0" {
                delete = true;
            }
        }
        if domain
            .as_ref()
            .is_some_and(|d| self.refused_domains.contains(d))
        {
            return;
        }
        self.cookies.retain(|(n, _, _)| n != name);
        if !delete {
            self.cookies.push((name.into(), value.into(), domain));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holding_port_writes_nothing_until_write_through() {
        let mut p = Port::holding(Memory::default(), false);
        assert!(p.set("a", "1"));
        p.set_cookie(COOKIE, "id-1", COOKIE_AGE_S, None);
        p.remove("b");
        assert_eq!(p.get("a").as_deref(), Some("1"));
        assert_eq!(p.cookie(COOKIE).as_deref(), Some("id-1"));
        assert_eq!(p.keys("a"), ["a"]);
        assert_eq!(p.backend().writes, 0);
        assert!(p.backend().cookies.is_empty());
        p.write_through();
        assert!(!p.is_holding());
        assert_eq!(p.backend().get("a").as_deref(), Some("1"));
        assert_eq!(p.backend().cookie(COOKIE).as_deref(), Some("id-1"));
        p.set("a", "2");
        assert_eq!(p.backend().get("a").as_deref(), Some("2"));
    }

    #[test]
    fn erase_removes_every_key_and_the_cookie_and_keeps_holding() {
        let mut m = Memory::default();
        m.set("shoptrail:aid", "a");
        m.set("shoptrail:q:1", "q");
        m.set("other", "o");
        m.cookies.push((COOKIE.into(), "a".into(), None));
        let mut p = Port::holding(m, false);
        p.set("shoptrail:uid", "u");
        p.erase(PREFIX, COOKIE, Some("shop.example"));
        assert!(p.is_holding());
        assert_eq!(p.get("shoptrail:uid"), None);
        assert_eq!(p.backend().items, [("other".to_string(), "o".to_string())]);
        assert!(p.backend().cookies.is_empty());
        p.set_direct(K_CONSENT, "");
        assert_eq!(p.backend().get(K_CONSENT).as_deref(), Some(""));
    }

    #[test]
    fn a_refused_write_is_kept_in_memory_and_told_once() {
        let m = Memory {
            full: true,
            ..Memory::default()
        };
        let mut p = Port::new(m, false);
        assert!(!p.set("shoptrail:cart", "c1"));
        assert_eq!(p.get("shoptrail:cart").as_deref(), Some("c1"));
        assert_eq!(p.keys("shoptrail:"), ["shoptrail:cart"]);
        assert!(p.take_refused());
        assert!(!p.take_refused());
        // Room again: the value reaches storage and memory lets go of it.
        p.backend.full = false;
        assert!(p.set("shoptrail:cart", "c2"));
        assert_eq!(p.backend().get("shoptrail:cart").as_deref(), Some("c2"));
        p.remove("shoptrail:cart");
        assert_eq!(p.get("shoptrail:cart"), None);
    }

    #[test]
    fn a_held_remove_hides_the_stored_value() {
        let mut m = Memory::default();
        m.set("k", "v");
        let mut p = Port::holding(m, false);
        p.remove("k");
        assert_eq!(p.get("k"), None);
        assert!(p.keys("k").is_empty());
        p.write_through();
        assert_eq!(p.backend().get("k"), None);
    }

    #[test]
    fn cookies_are_lax_secure_on_https_and_deletable() {
        let mut p = Port::new(Memory::default(), true);
        p.set_cookie("n", "v", 60, Some("shop.example"));
        assert_eq!(p.cookie("n").as_deref(), Some("v"));
        p.set_cookie("n", "", 0, Some("shop.example"));
        assert_eq!(p.cookie("n"), None);
    }

    #[test]
    fn the_cookie_domain_is_the_broadest_one_accepted() {
        let m = Memory {
            refused_domains: vec!["co.uk".into()],
            ..Memory::default()
        };
        let mut p = Port::new(m, false);
        assert_eq!(
            p.cookie_domain("www.shop.co.uk").as_deref(),
            Some("shop.co.uk")
        );
        // The probe cookie is gone again.
        assert_eq!(p.cookie("shoptrail_probe"), None);
        assert_eq!(p.cookie_domain("localhost"), None);
        assert_eq!(p.cookie_domain("127.0.0.1"), None);
    }
}
