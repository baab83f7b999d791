//! The engine: every policy of the tracker as one sans-IO state machine.
//!
//! Inputs are `handle_*`-style methods (an API call, a timer, an HTTP answer, a page lifecycle
//! change), each given `now` (Unix ms). Outputs are [`Action`]s the driver drains with
//! [`Engine::poll_action`] and carries out: bodies to send, beacons, timers, errors, events for
//! listeners, flush results. Storage goes through the [`Port`]; page facts (URL, title) and
//! randomness come from the [`Host`]. Tests drive it on the host with a virtual clock.

use crate::prelude::*;

mod calls;
mod pages;
mod shop;

pub use pages::PageViews;

use super::config::Config;
use super::event::{self, Body, Envelope, EventError, PageInfo};
use super::identity::{self, Session};
use super::queue::{self, Queue, Report, Settings};
use super::store::{self, Backend, Port};
use super::{args, campaign, id, json, page};
use alloc::rc::Rc;

/// Queue changes are written to storage this long after they happen (coalesced), and at once
/// when the page is hidden.
pub const PERSIST_DELAY_MS: u64 = 50;
/// A request without an answer after this long is aborted (and retried).
pub const REQUEST_TIMEOUT_MS: u32 = 30_000;
/// Smaller bodies are sent as they are even with `compress` (gzip would save little).
pub const GZIP_MIN_BYTES: usize = 1024;
/// The page is read for products this long after an in-app navigation (the app renders first).
pub const RESCAN_DELAY_MS: u32 = 500;
/// Scroll position is sampled at most this often.
pub const SCROLL_SAMPLE_MS: u32 = 100;

/// A fact about the page the engine reads from its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// `location.href`.
    Href,
    /// `document.title`.
    Title,
    /// `document.referrer`.
    Referrer,
    /// `location.hostname`.
    Hostname,
    /// `location.protocol`.
    Protocol,
    /// `userAgent\nlocale\ntimeZone\nscreen width\nscreen height\ndevicePixelRatio`.
    Device,
}

/// What the engine needs from its environment besides storage: page facts and randomness.
pub trait Host: Backend {
    /// A fact about the page.
    fn fact(&self, fact: Fact) -> String;
    /// 16 random bytes (crypto quality: they become message and anonymous ids).
    fn random(&self) -> [u8; 16];
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// POST a batch to the endpoint (gzip-compressed first when `gzip`, falling back to the
    /// plain body where compression fails); [`Engine::write_request`] writes its body, in
    /// parts. Answer with [`Engine::handle_response`].
    Send {
        /// Compress it and add `compression=gzip` to the URL.
        gzip: bool,
        /// Use `keepalive` (the body is under the 64 KiB quota).
        keepalive: bool,
        /// Abort the request if unanswered after this long, ms.
        timeout_ms: u32,
    },
    /// Hand a body to `sendBeacon` ([`Engine::write_beacon`] writes it); answer with
    /// [`Engine::handle_beacon`].
    Beacon,
    /// Call [`Engine::handle_wake`] at this time (Unix ms); replaces any earlier timer.
    Timer(u64),
    /// Read the page's markup and JSON-LD after this many ms and give them to
    /// [`Engine::handle_scan`].
    Scan(u32),
    /// Report an error to `onError` and `error` listeners (and the console in debug mode).
    Error {
        /// Machine-readable code, such as `invalid_argument`.
        code: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An accepted event, as it will be sent, for `event` listeners and debug logging.
    Event(String),
    /// The endpoint stored this many events (`delivered` listeners).
    Delivered(usize),
    /// Resolve every pending `flush()` with this value.
    Settle(bool),
}

/// The tracker's state and policies.
#[derive(Debug)]
pub struct Engine<H: Host> {
    cfg: Config,
    store: Port<H>,
    queue: Queue,
    queue_key: String,
    cookie_domain: Option<String>,
    anonymous_id: String,
    user_id: Option<String>,
    traits: String,
    session: Session,
    static_ctx: String,
    /// The real URL the current context was built for (change detection).
    raw_url: String,
    /// The page as reported (URL redacted).
    page: PageInfo,
    /// The `context` object of the current page and session, shared by the queued events.
    ctx: Rc<str>,
    ctx_session: u64,
    campaign: Option<String>,
    /// Query parameters kept out of every reported URL.
    redact: Vec<String>,
    pages: PageViews,
    flush_pending: bool,
    flush_failed: bool,
    persist_due: Option<u64>,
    timer: Option<u64>,
    storage_warned: bool,
    wants_events: bool,
    /// Unloading: beacons are being handed over; then the queue is persisted (`released`).
    unloading: Option<bool>,
    /// Events in the beacon handed over last.
    pending_beacon: usize,
    /// When the request or beacon under way was made (its `sentAt`).
    sent_at: u64,
    /// Actions not yet polled, oldest first (a few at a time).
    out: Vec<Action>,
}

/// The one rule for user ids: 1 to 128 bytes, not blank, no control characters.
pub fn is_valid_user_id(s: &str) -> bool {
    !s.trim().is_empty() && s.len() <= 128 && !s.chars().any(char::is_control)
}

fn is_object_text(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('{') && s.ends_with('}')
}

impl<H: Host> Engine<H> {
    /// Starts the engine at `now`: restores identity and session and adopts queues that pages
    /// gone or stale left behind. The first page view waits for [`Engine::handle_start`], so
    /// that `init` returns quickly (reading the device's time zone alone can take tens of
    /// milliseconds the first time).
    pub fn new(cfg: Config, host: H, now: u64) -> Engine<H> {
        let secure = host.fact(Fact::Protocol) == "https:";
        let mut store = Port::new(host, secure);
        let hostname = store.backend().fact(Fact::Hostname);
        let cookie_domain = store.cookie_domain(&hostname);
        let settings = Settings {
            batch_size: cfg.batch_size as usize,
            flush_interval: cfg.flush_interval as u64,
            max_retries: cfg.max_retries,
            write_key: cfg.write_key.clone(),
            ..Settings::default()
        };
        let traits = store
            .get(store::K_TRAITS)
            .filter(|t| is_object_text(t))
            .unwrap_or_else(|| "{}".into());
        let user_id = store.get(store::K_UID).filter(|u| is_valid_user_id(u));
        let mut e = Engine {
            cfg,
            queue: Queue::new(settings),
            queue_key: String::new(),
            cookie_domain,
            anonymous_id: String::new(),
            user_id,
            traits,
            session: Session { id: now, last: now },
            static_ctx: String::new(),
            raw_url: String::new(),
            page: PageInfo::default(),
            ctx: Rc::from(""),
            ctx_session: 0,
            campaign: None,
            redact: Vec::new(),
            pages: PageViews::default(),
            flush_pending: false,
            flush_failed: false,
            persist_due: None,
            timer: None,
            storage_warned: false,
            wants_events: false,
            unloading: None,
            pending_beacon: 0,
            sent_at: 0,
            out: Vec::new(),
            store,
        };
        let page_id = e.new_id();
        e.queue_key = [store::Q_PREFIX, page_id.get(..8).unwrap_or_default()].concat();
        e.wants_events = e.cfg.debug;
        e.load_anonymous_id();
        e.session = e
            .store
            .get(store::K_SESSION)
            .and_then(|s| Session::decode(&s))
            .unwrap_or(e.session);
        e.touch_session(now, true);
        e.adopt_queues(now);
        e.drive(now);
        e
    }

    /// Right after `init` (the task after it, or before any later call): the first page view
    /// when `pageViews` is on, and reading the page for products once it is parsed.
    pub fn handle_start(&mut self, now: u64) {
        if self.cfg.capture || self.cfg.json_ld {
            self.out.push(Action::Scan(0));
        }
        if self.cfg.page_views {
            self.page_view(None, "{}", now);
        }
        self.drive(now);
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The storage port (the driver and tests look at it).
    pub fn store(&self) -> &Port<H> {
        &self.store
    }

    /// Keeps query parameter `name` out of every URL the engine reports.
    pub fn redact_param(&mut self, name: &str) {
        self.redact.push(name.to_string());
        self.ctx = Rc::from("");
        self.raw_url.clear();
    }

    /// Whether someone listens to accepted events (listeners, or debug logging).
    pub fn set_event_listeners(&mut self, count: usize) {
        self.wants_events = self.cfg.debug || count > 0;
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    /// The anonymous id.
    pub fn anonymous_id(&self) -> &str {
        &self.anonymous_id
    }

    /// The user id, once known.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The session id (Unix ms at which it started).
    pub fn session_id(&self) -> u64 {
        self.session.id
    }

    /// Events queued and not yet delivered.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn new_id(&mut self) -> String {
        id::uuid_v4(self.store.backend().random())
    }

    fn rand_u32(&mut self) -> u32 {
        let b = self.store.backend().random();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    // ---- reporting ----

    /// Reports a problem to `onError` and `error` listeners.
    pub fn report(&mut self, code: &'static str, message: &str) {
        self.out.push(Action::Error {
            code,
            message: message.to_string(),
        });
    }

    fn on_report(&mut self, r: Report) {
        match r {
            Report::Delivered { count } => self.out.push(Action::Delivered(count)),
            Report::Rejected { count, status } => {
                self.flush_failed = true;
                let mut m = String::from("the endpoint refused a batch of ");
                json::push_u64(&mut m, count as u64);
                m.push_str(" events with HTTP ");
                json::push_u64(&mut m, status as u64);
                m.push_str("; they were dropped");
                self.report("rejected", &m);
            }
            Report::Failing { attempts } => {
                let mut m = String::from("delivery is failing (attempts so far: ");
                json::push_u64(&mut m, attempts as u64);
                m.push_str("); the events are kept and retried");
                self.report("delivery_failing", &m);
                self.settle(false);
            }
            Report::QueueFull => self.report(
                "queue_full",
                "the queue holds 10000 undelivered events; this event was dropped",
            ),
        }
        if self.queue.is_empty() && self.flush_pending {
            let ok = !self.flush_failed;
            self.settle(ok);
        }
    }

    fn settle(&mut self, ok: bool) {
        if self.flush_pending {
            self.out.push(Action::Settle(ok));
        }
        self.flush_pending = false;
        self.flush_failed = false;
    }

    // ---- identity ----

    fn load_anonymous_id(&mut self) {
        let cookie = self.store.cookie(store::COOKIE);
        let stored = self.store.get(store::K_AID);
        let id = match identity::pick_anonymous_id(cookie.as_deref(), stored.as_deref()) {
            Some(id) => id.to_string(),
            None => self.new_id(),
        };
        // Each copy restores the other; the cookie's lifetime is renewed on every visit.
        let domain = self.cookie_domain.clone();
        self.store
            .set_cookie(store::COOKIE, &id, store::COOKIE_AGE_S, domain.as_deref());
        if stored.as_deref() != Some(id.as_str()) {
            self.store.set(store::K_AID, &id);
        }
        self.anonymous_id = id;
    }

    fn touch_session(&mut self, now: u64, force_read: bool) {
        if !force_read
            && now
                < self
                    .session
                    .last
                    .saturating_add(identity::ACTIVITY_WRITE_MS)
        {
            return;
        }
        let stored = self
            .store
            .get(store::K_SESSION)
            .and_then(|s| Session::decode(&s));
        let (s, write) = Session::touch(stored.or(Some(self.session)), now);
        if write || stored.is_none() {
            self.store.set(store::K_SESSION, &s.encode());
        }
        self.session = s;
    }

    /// `identify(userId?, traits?)`: `traits` (JSON object text) merge into those known.
    pub fn identify(&mut self, user_id: Option<String>, traits: Option<String>, now: u64) {
        if let Some(u) = user_id {
            if !is_valid_user_id(&u) {
                return self.report("invalid_argument", EventError::BadUserId.message());
            }
            if self.user_id.as_deref() != Some(u.as_str()) {
                self.store.set(store::K_UID, &u);
                self.user_id = Some(u);
            }
        }
        if let Some(t) = traits {
            match args::assign(&self.traits, &t) {
                Some(m) => {
                    self.store.set(store::K_TRAITS, &m);
                    self.traits = m;
                }
                None => return self.report("invalid_argument", EventError::NotAnObject.message()),
            }
        }
        let traits = self.traits_with_touches();
        self.enqueue(Body::Identify { traits: &traits }, now);
    }

    /// The traits sent with `identify`: the stored ones plus the first- and last-touch
    /// campaigns, so that the profile keeps where the shopper first and last came from.
    fn traits_with_touches(&self) -> String {
        let mut t = self.traits.strip_suffix('}').unwrap_or("{").to_string();
        let mut first = t.len() <= 1;
        for (key, name) in [
            (store::K_FIRST_TOUCH, "first_touch"),
            (store::K_LAST_TOUCH, "last_touch"),
        ] {
            if let Some(c) = self.store.get(key).filter(|c| is_object_text(c)) {
                json::push_key(&mut t, name, first);
                t.push_str(&c);
                first = false;
            }
        }
        t.push('}');
        t
    }

    /// `alias(userId, previousId?)`.
    pub fn alias(&mut self, user_id: String, previous_id: Option<String>, now: u64) {
        if !is_valid_user_id(&user_id) {
            return self.report("invalid_argument", EventError::BadUserId.message());
        }
        let previous = previous_id
            .or_else(|| self.user_id.clone())
            .unwrap_or_else(|| self.anonymous_id.clone());
        self.store.set(store::K_UID, &user_id);
        self.user_id = Some(user_id);
        self.enqueue(
            Body::Alias {
                previous_id: &previous,
            },
            now,
        );
    }

    /// `reset()`: forgets the user, traits, campaigns and cart (a cart id would link the two
    /// identities); starts a new anonymous id and session.
    pub fn reset(&mut self, now: u64) {
        for k in [
            store::K_UID,
            store::K_TRAITS,
            store::K_AID,
            store::K_SESSION,
            store::K_CAMPAIGN,
            store::K_FIRST_TOUCH,
            store::K_LAST_TOUCH,
            store::K_CART,
        ] {
            self.store.remove(k);
        }
        let domain = self.cookie_domain.clone();
        self.store
            .set_cookie(store::COOKIE, "", 0, domain.as_deref());
        self.user_id = None;
        self.traits = "{}".into();
        self.load_anonymous_id();
        self.session = Session { id: now, last: now };
        self.store.set(store::K_SESSION, &self.session.encode());
        self.campaign = None;
        self.ctx = Rc::from("");
    }

    // ---- context and events ----

    fn refresh_context(&mut self, now: u64) {
        self.touch_session(now, false);
        if self.static_ctx.is_empty() {
            self.static_ctx = device_context(&self.store.backend().fact(Fact::Device));
        }
        let href = self.store.backend().fact(Fact::Href);
        let url_changed = href != self.raw_url;
        if url_changed || self.ctx_session != self.session.id || self.ctx.is_empty() {
            if url_changed {
                // After an in-app navigation the previous URL is the referrer.
                let referrer = if self.raw_url.is_empty() {
                    self.store.backend().fact(Fact::Referrer)
                } else {
                    self.page.url.clone()
                };
                let title = self.store.backend().fact(Fact::Title);
                let redact: Vec<&str> = self.redact.iter().map(String::as_str).collect();
                self.page = page::page_info(&href, &referrer, &title, &redact);
                self.raw_url = href;
            }
            self.refresh_campaign();
            self.ctx = Rc::from(event::context(
                &self.static_ctx,
                &self.page,
                self.session.id,
                self.campaign.as_deref(),
            ));
            self.ctx_session = self.session.id;
        }
    }

    /// The session's campaign: a campaign URL starts one (and becomes the last touch, and the
    /// first touch if there was none); later pages of the session keep it.
    fn refresh_campaign(&mut self) {
        let landing = campaign::campaign_json(page::search_of(&self.raw_url));
        let stored = self.store.get(store::K_CAMPAIGN);
        let (c, new) = campaign::for_session(stored.as_deref(), self.session.id, landing);
        if let (Some(c), true) = (&c, new) {
            self.store.set(
                store::K_CAMPAIGN,
                &campaign::encode_session(self.session.id, c),
            );
            self.store.set(store::K_LAST_TOUCH, c);
            if self.store.get(store::K_FIRST_TOUCH).is_none() {
                self.store.set(store::K_FIRST_TOUCH, c);
            }
        }
        self.campaign = c;
    }

    /// Builds and queues one message.
    pub fn enqueue(&mut self, body: Body, now: u64) {
        self.refresh_context(now);
        let message_id = self.new_id();
        let env = Envelope {
            message_id: &message_id,
            anonymous_id: &self.anonymous_id,
            user_id: self.user_id.as_deref(),
            timestamp: now,
            context: &self.ctx,
            page: &self.page,
        };
        let mut head = match event::build_head(&env, &body) {
            Ok(t) => t,
            Err(e) => return self.report(e.code(), e.message()),
        };
        // Queued events are kept until delivered: without the slack of a growing string.
        head.shrink_to_fit();
        if self.wants_events {
            self.out
                .push(Action::Event([head.as_str(), &self.ctx, "}"].concat()));
        }
        if let Err(r) = self
            .queue
            .push_shared(message_id, head, self.ctx.clone(), now)
        {
            self.on_report(r);
        }
        self.drive(now);
    }

    /// `track(event, properties)`.
    pub fn track(&mut self, name: &str, properties: &str, now: u64) {
        self.enqueue(
            Body::Track {
                event: name,
                properties,
            },
            now,
        )
    }

    // ---- delivery ----

    /// `flush()`: sends everything queued now; [`Action::Settle`] follows with `true` once
    /// delivered, or `false` if delivery is failing or a batch was refused.
    pub fn flush(&mut self, now: u64) {
        self.flush_pending = true;
        if self.queue.is_empty() {
            return self.settle(true);
        }
        self.queue.flush();
        self.drive(now);
    }

    /// The answer to the request under way: an HTTP status (0 for a network error or an
    /// abort) and its Retry-After header.
    pub fn handle_response(&mut self, status: u16, retry_after: Option<&str>, now: u64) {
        let outcome = queue::classify(status, retry_after);
        let rand = self.rand_u32();
        if let Some(r) = self.queue.on_response(outcome, now, rand) {
            self.on_report(r);
        }
        self.drive(now);
    }

    /// The timer set by [`Action::Timer`] fired.
    pub fn handle_wake(&mut self, now: u64) {
        self.timer = None;
        if self.persist_due.is_some_and(|t| t <= now) {
            self.persist(false, now);
        }
        self.drive(now);
    }

    /// Sends what is due and asks for a timer for the next wake-up.
    fn drive(&mut self, now: u64) {
        if self.unloading.is_none() {
            if let Some(b) = self.queue.poll_batch(now) {
                // The body is the events plus `sentAt` and `writeKey` (under 100 bytes more).
                let keepalive = b.bytes + 100 < queue::UNLOAD_BODY_BYTES;
                let gzip = self.cfg.compress && b.bytes >= GZIP_MIN_BYTES;
                self.sent_at = now;
                self.out.push(Action::Send {
                    gzip,
                    keepalive,
                    timeout_ms: REQUEST_TIMEOUT_MS,
                });
            }
        }
        if self.queue.take_dirty() && self.persist_due.is_none() {
            self.persist_due = Some(now + PERSIST_DELAY_MS);
        }
        let next = [self.queue.poll_timeout(now), self.persist_due]
            .into_iter()
            .flatten()
            .min();
        if let Some(due) = next {
            if self.timer.is_none_or(|t| due < t) {
                self.timer = Some(due);
                self.out.push(Action::Timer(due));
            }
        }
    }

    fn persist(&mut self, released: bool, now: u64) {
        self.persist_due = None;
        let key = self.queue_key.clone();
        if self.queue.is_empty() {
            self.store.remove(&key);
            return;
        }
        let queue = &self.queue;
        let written = self
            .store
            .set_from(&key, &mut |out| queue.write_persisted(released, now, out));
        if !written && !self.storage_warned {
            self.storage_warned = true;
            self.report("storage_unavailable", "localStorage refused the queue (disabled or full): undelivered events will not survive a reload");
        }
    }

    fn adopt_queues(&mut self, now: u64) {
        let mut adopted = Vec::new();
        for key in self.store.keys(store::Q_PREFIX) {
            match self.store.get(&key).and_then(|t| queue::decode(&t)) {
                Some(stored) if stored.adoptable(now) => {
                    self.queue.restore(stored.events, now);
                    adopted.push(key);
                }
                Some(_) => {}
                None => self.store.remove(&key),
            }
        }
        if !adopted.is_empty() {
            // Write our copy before deleting theirs, so a crash in between loses nothing.
            self.persist(false, now);
            for k in adopted {
                self.store.remove(&k);
            }
        }
    }

    // ---- page lifecycle ----

    /// The page is hidden (`released` false) or being left (`pagehide`, `released` true):
    /// `Page Left` once, then what is queued leaves by beacon in bodies the browser accepts,
    /// and the rest is written to storage at once.
    pub fn handle_hide(&mut self, released: bool, now: u64) {
        self.page_left(now);
        if self.unloading.is_some() {
            // A beacon is being handed over: that unload goes on, and persists at its end.
            self.unloading = Some(released || self.unloading == Some(true));
            return;
        }
        self.unloading = Some(released);
        self.unload_next(now);
    }

    /// The answer of `sendBeacon` to the last [`Action::Beacon`].
    pub fn handle_beacon(&mut self, accepted: bool, now: u64) {
        if accepted {
            let count = core::mem::take(&mut self.pending_beacon);
            self.queue.unload_sent(count);
            self.unload_next(now);
        } else {
            self.finish_unload(now);
        }
    }

    fn unload_next(&mut self, now: u64) {
        match self.queue.poll_unload_batch() {
            Some(b) => {
                self.pending_beacon = b.count;
                self.sent_at = now;
                self.out.push(Action::Beacon);
            }
            None => self.finish_unload(now),
        }
    }

    /// Writes the body of the request [`Action::Send`] asked for, in parts.
    pub fn write_request(&self, out: &mut dyn FnMut(&str)) {
        self.queue.write_in_flight(self.sent_at, out)
    }

    /// Writes the body of the beacon [`Action::Beacon`] asked for, in parts.
    pub fn write_beacon(&self, out: &mut dyn FnMut(&str)) {
        self.queue
            .write_unload(self.pending_beacon, self.sent_at, out)
    }

    fn finish_unload(&mut self, now: u64) {
        let released = self.unloading.take().unwrap_or(false);
        self.queue.take_dirty();
        self.persist(released, now);
        if self.queue.is_empty() && self.flush_pending {
            self.settle(true);
        }
        self.drive(now);
    }

    /// The page came back from the back-forward cache: the shopper is on it again.
    pub fn handle_show(&mut self, now: u64) {
        self.persist(false, now);
        if self.cfg.page_views {
            self.page_view(None, "{}", now);
        }
        self.drive(now);
    }

    /// The browser is online again: retry now.
    pub fn handle_online(&mut self, now: u64) {
        self.queue.flush();
        self.drive(now);
    }
}

/// `context`'s device part from the host's `Fact::Device` text.
fn device_context(text: &str) -> String {
    let mut f = text.split('\n');
    let mut next = || f.next().unwrap_or_default();
    let (ua, locale, tz) = (next(), next(), next());
    let mut num = || json::parse_u64(next()).unwrap_or(0).min(u32::MAX as u64) as u32;
    let (w, h) = (num(), num());
    event::static_context(ua, locale, tz, (w, h), next())
}

#[cfg(test)]
mod tests;
