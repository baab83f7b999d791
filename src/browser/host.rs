//! The JavaScript host's functions (`js/host.js`), and [`Page`], the engine's [`Host`] on top of
//! them. Only strings, numbers and booleans cross the boundary. Random bytes come from a pool
//! refilled 256 at a time.

use crate::prelude::*;
use crate::tracker_core::boundary::Notify;
use crate::tracker_core::engine::{Fact, Host};
use crate::tracker_core::store::{Backend, Writer};
use core::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    /// `Date.now()`.
    pub fn now() -> f64;
    fn fill(buf: &mut [u8]);
    fn sget(key: &str) -> Option<String>;
    fn sset(key: &str, value: &str) -> bool;
    fn sdel(key: &str);
    fn skeys(prefix: &str) -> String;
    fn cget(name: &str) -> Option<String>;
    fn cset(line: &str);
    fn fact(i: u32) -> String;
    /// `url` made absolute against the page's address (`new URL(url, location.href)`), or as
    /// it is when it cannot be.
    pub fn abs(url: &str) -> String;
    /// One part of the next body (`send`, `beacon`, `sput`), as UTF-8 bytes of whole
    /// characters: large bodies cross in parts, so the wasm never holds one whole.
    pub fn part(bytes: &[u8]);
    fn sput(key: &str) -> bool;
    /// POSTs the parts given so far (see `Action::Send`); the answer comes back as `~res`
    /// with the lane first.
    pub fn send(url: &str, gzurl: &str, keepalive: bool, limit: u32, timeout: u32, lane: u32);
    /// POSTs `anonymousId` and `domain` to the site's cookie refresh endpoint (with
    /// credentials; the answer is not read).
    pub fn idcookie(url: &str, id: &str, domain: &str);
    /// `navigator.sendBeacon` with the parts given so far; whether the browser took them.
    pub fn beacon(url: &str) -> bool;
    /// The call of this code, made now, waiting with the page's calls.
    pub fn defer(code: u32);
    /// One timer: the call `~wake` after `ms` (replacing the one set before).
    pub fn timer(ms: f64);
    /// The call `~scan` with what the page holds, after `ms` (0: once parsed).
    pub fn scan(ms: u32);
    #[wasm_bindgen(js_name = notify)]
    fn notify_kind(kind: u32, a: &str, b: &str);
    /// Lifecycle, scroll, navigation and markup listeners, and the cross-domain link listeners
    /// when `links`.
    pub fn listen(history: bool, capture: bool, debug: bool, links: bool, scroll_ms: u32);
    /// `history.replaceState` with the original method (not the SDK's wrapper): the page's
    /// URL without the link parameters.
    pub fn replace(url: &str);
    /// Holds a Web Lock named `own` while the page lives, then calls `~adopt` with the names
    /// of the locks held in the origin (nothing without the Web Locks API).
    pub fn locks(own: &str);
    /// The page's `beforeSend` with an event's JSON text: the event to queue instead (its
    /// `messageId` first), `""` to drop it, or nothing to keep it as it was (reported there).
    pub fn mw(event: &str) -> Option<String>;
    /// Builds the public API object around the wasm's entry point.
    pub fn connect(call: &Closure<dyn Fn(u32, String) -> Option<String>>) -> JsValue;
}

/// Errors, events, delivery counts and flush results for the page's callbacks.
pub fn notify(kind: Notify, a: &str, b: &str) {
    notify_kind(kind as u32, a, b)
}

/// Most bytes handed to the host in one part.
const PART_BYTES: usize = 16 * 1024;

/// Hands text to the host in parts of about [`PART_BYTES`].
#[derive(Debug, Default)]
pub struct Parts {
    buf: String,
}

impl Parts {
    /// Adds text.
    pub fn push(&mut self, text: &str) {
        if self.buf.len() + text.len() > PART_BYTES {
            self.flush();
        }
        if text.len() > PART_BYTES {
            part(text.as_bytes());
        } else {
            self.buf.push_str(text);
        }
    }

    /// Hands over what is buffered.
    pub fn flush(&mut self) {
        if !self.buf.is_empty() {
            part(self.buf.as_bytes());
            self.buf.clear();
        }
    }
}

/// The page the wasm runs in: localStorage, cookies, location and crypto, through the host.
/// Random bytes come from a pool refilled 256 at a time (one call instead of one per id).
#[derive(Debug)]
pub struct Page {
    pool: RefCell<[u8; 256]>,
    used: Cell<usize>,
    /// The URL at which the call being run was made (calls the host kept for a moment);
    /// `None`: read `location.href` now.
    href: RefCell<Option<String>>,
}

impl Page {
    /// The call about to run was made at `href` (or now, for `None`).
    pub fn made_at(&self, href: Option<String>) {
        if let Ok(mut h) = self.href.try_borrow_mut() {
            *h = href;
        }
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            pool: RefCell::new([0; 256]),
            used: Cell::new(256),
            href: RefCell::new(None),
        }
    }
}

impl Backend for Page {
    fn get(&self, key: &str) -> Option<String> {
        sget(key)
    }
    fn set(&mut self, key: &str, value: &str) -> bool {
        sset(key, value)
    }
    fn remove(&mut self, key: &str) {
        sdel(key)
    }
    fn keys(&self, prefix: &str) -> Vec<String> {
        let all = skeys(prefix);
        all.split('\n')
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect()
    }
    fn cookie(&self, name: &str) -> Option<String> {
        cget(name)
    }
    fn set_cookie(&mut self, line: &str) {
        cset(line)
    }
    fn set_from(&mut self, key: &str, write: &mut Writer) -> bool {
        let mut p = Parts::default();
        write(&mut |text| p.push(text));
        p.flush();
        sput(key)
    }
}

impl Host for Page {
    fn fact(&self, f: Fact) -> String {
        if f == Fact::Href {
            if let Some(h) = self.href.try_borrow().ok().and_then(|h| h.clone()) {
                return h;
            }
        }
        fact(f as u32)
    }
    fn random(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        if let Ok(mut pool) = self.pool.try_borrow_mut() {
            let mut at = self.used.get();
            if at + 16 > pool.len() {
                fill(&mut pool[..]);
                at = 0;
            }
            if let Some(b) = pool.get(at..at + 16) {
                out.copy_from_slice(b);
            }
            self.used.set(at + 16);
        }
        out
    }
}
