//! Thin access to the web platform: clock, storage, cookies, randomness, console.
//! Every function swallows the exceptions browsers throw (storage disabled, quota exceeded,
//! sandboxed frames) and reports absence instead.

use crate::core::{id, identity};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlDocument, Storage, Window};

/// The global window, when there is one.
pub fn window() -> Option<Window> {
    web_sys::window()
}

/// Wall-clock time, Unix ms.
pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// localStorage, or nothing when it is unavailable.
#[derive(Debug, Clone)]
pub struct Store(Option<Storage>);

impl Store {
    /// Opens the page's localStorage.
    pub fn open() -> Store {
        Store(window().and_then(|w| w.local_storage().ok().flatten()))
    }

    /// Reads a key.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.as_ref()?.get_item(key).ok().flatten()
    }

    /// Writes a key; false when the browser refused (quota, disabled storage).
    pub fn set(&self, key: &str, value: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|s| s.set_item(key, value).is_ok())
    }

    /// Removes a key.
    pub fn remove(&self, key: &str) {
        if let Some(s) = &self.0 {
            let _ = s.remove_item(key);
        }
    }

    /// Every key that starts with `prefix`.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let Some(s) = &self.0 else { return Vec::new() };
        let n = s.length().unwrap_or(0);
        (0..n)
            .filter_map(|i| s.key(i).ok().flatten())
            .filter(|k| k.starts_with(prefix))
            .collect()
    }
}

fn html_document() -> Option<HtmlDocument> {
    window()?.document()?.dyn_into::<HtmlDocument>().ok()
}

/// Reads cookie `name`.
pub fn cookie_get(name: &str) -> Option<String> {
    let all = html_document()?.cookie().ok()?;
    all.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// Sets cookie `name` for `max_age_s` seconds (0 deletes it), on `domain` or host-only.
pub fn cookie_set(name: &str, value: &str, max_age_s: u32, domain: Option<&str>) {
    let Some(doc) = html_document() else { return };
    let secure = window()
        .and_then(|w| w.location().protocol().ok())
        .is_some_and(|p| p == "https:");
    let mut c = String::with_capacity(96);
    c.push_str(name);
    c.push('=');
    c.push_str(value);
    c.push_str("; Path=/; SameSite=Lax; Max-Age=");
    crate::core::json::push_u64(&mut c, max_age_s as u64);
    if secure {
        c.push_str("; Secure");
    }
    if let Some(d) = domain {
        c.push_str("; Domain=");
        c.push_str(d);
    }
    let _ = doc.set_cookie(&c);
}

/// The registrable domain of this page (such as `example.co.uk` for `www.example.co.uk`):
/// the broadest domain on which the browser accepts a cookie. `None` for IP addresses and
/// single-label hosts such as `localhost`, where cookies are host-only.
pub fn cookie_domain() -> Option<String> {
    let host = window()?.location().hostname().ok()?;
    const PROBE: &str = "shoptrail_probe";
    for domain in identity::cookie_domains(&host) {
        cookie_set(PROBE, "1", 10, Some(domain));
        if cookie_get(PROBE).is_some() {
            cookie_set(PROBE, "", 0, Some(domain));
            return Some(domain.to_string());
        }
    }
    None
}

/// A pool of random bytes from `crypto.getRandomValues`, refilled as it empties.
#[derive(Debug)]
pub struct Rng {
    pool: [u8; 256],
    pos: usize,
}

impl Default for Rng {
    fn default() -> Self {
        Rng {
            pool: [0; 256],
            pos: 256,
        }
    }
}

impl Rng {
    fn refill(&mut self) {
        let ok = window()
            .and_then(|w| w.crypto().ok())
            .is_some_and(|c| c.get_random_values_with_u8_array(&mut self.pool).is_ok());
        if !ok {
            for b in self.pool.iter_mut() {
                *b = (js_sys::Math::random() * 256.0) as u8;
            }
        }
        self.pos = 0;
    }

    /// 16 random bytes.
    pub fn bytes16(&mut self) -> [u8; 16] {
        if self.pos + 16 > self.pool.len() {
            self.refill();
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&self.pool[self.pos..self.pos + 16]);
        self.pos += 16;
        out
    }

    /// A random UUID v4.
    pub fn uuid(&mut self) -> String {
        id::uuid_v4(self.bytes16())
    }

    /// A random u32.
    pub fn u32(&mut self) -> u32 {
        let b = self.bytes16();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// Writes to the console: `console.error` when `error`, else `console.log`.
pub fn log(error: bool, message: &str, detail: &JsValue) {
    let m = JsValue::from_str(message);
    if error {
        web_sys::console::error_2(&m, detail);
    } else {
        web_sys::console::log_2(&m, detail);
    }
}
