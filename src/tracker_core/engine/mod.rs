//! The engine: every policy of the tracker as a sans-IO state machine made of parts.
//!
//! Inputs are `handle_*`-style methods (an API call, a timer, an HTTP answer, a page lifecycle
//! change), each given `now` (Unix ms). Outputs are [`Action`]s the driver drains with
//! [`Engine::poll_action`] and carries out: bodies to send, beacons, timers, errors, events for
//! listeners, flush results. Storage goes through the [`Port`]; page facts (URL, title) and
//! randomness come from the [`Host`]. Tests drive it on the host with a virtual clock.
//!
//! Each part owns its state and is lent [`Io`] (storage and the actions out) for a step:
//! [`delivery::Delivery`] (lanes, flush, requests, timer, persisting, unloading; `lanes.rs`
//! holds one lane), [`shopper::Shopper`] (ids, traits, session, the id cookie),
//! [`context::PageContext`] (device, page, campaign, the events' `context`, the page view of
//! `pages.rs`), [`consent::Gate`] (the shopper's choice) and [`middleware::Middleware`]
//! (events at `beforeSend`). The commerce calls get the narrow [`shop::Shop`] handle. The
//! engine holds the parts, the config and whether anyone listens to events, routes each input
//! to the parts it concerns (`calls.rs`, by [`Method`](crate::tracker_core::boundary::Method))
//! and builds events (this file).
//! A part reads no other part: what it needs from one (may events leave? which session?) is
//! an argument.

use super::boundary::ErrorCode;
use crate::prelude::*;

mod calls;
pub mod consent;
pub mod context;
pub mod delivery;
pub mod lanes;
pub mod middleware;
mod pages;
pub mod shop;
pub mod shopper;

use consent::Gate;
use context::PageContext;
use delivery::Delivery;
use middleware::Middleware;
pub use pages::PageViews;
use shopper::Shopper;

use super::config::Config;
use super::consent::{Analytics, Bots, Consent};
use super::event::{self, Body, Envelope};
use super::identity::{is_valid_user_id, Session};
use super::store::{self, Backend, Port};
use super::{id, json};
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

pub use super::boundary::Fact;

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
    /// POST a batch to a lane's endpoint (gzip-compressed first when `gzip`, falling back to
    /// the plain body where compression fails); [`Engine::write_request`] writes its body, in
    /// parts. Answer with [`Engine::handle_response`].
    Send {
        /// The lane: 0 for `endpoint`, then one per destination, in the configured order.
        lane: usize,
        /// Compress it and add `compression=gzip` to the URL.
        gzip: bool,
        /// Use `keepalive` (the body is under the 64 KiB quota).
        keepalive: bool,
        /// Abort the request if unanswered after this long, ms.
        timeout_ms: u32,
    },
    /// The last request of a lane before its state is erased (consent withdrawn): hand `body`
    /// to `sendBeacon` for the lane's endpoint; nothing is answered (a refused beacon is not
    /// retried: there is no state left to retry from).
    Last {
        /// The lane, as in [`Action::Send`].
        lane: usize,
        /// The request's body.
        body: String,
    },
    /// Hand a body to `sendBeacon` for a lane's endpoint ([`Engine::write_beacon`] writes it);
    /// answer with [`Engine::handle_beacon`].
    Beacon {
        /// The lane, as in [`Action::Send`].
        lane: usize,
    },
    /// Call [`Engine::handle_wake`] at this time (Unix ms); replaces any earlier timer.
    Timer(u64),
    /// Read the page's markup and JSON-LD after this many ms and give them to
    /// [`Engine::handle_scan`].
    Scan(u32),
    /// Report an error to `onError` and `error` listeners (and the console in debug mode).
    Error {
        /// Machine-readable code, such as `invalid_argument`.
        code: ErrorCode,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// An accepted event, as it will be sent, for `event` listeners and debug logging.
    Event(String),
    /// A lane's endpoint stored this many events (`delivered` listeners).
    Delivered {
        /// Events stored.
        count: usize,
        /// The lane, as in [`Action::Send`].
        lane: usize,
    },
    /// Resolve every pending `flush()` with this value.
    Settle(bool),
    /// Popups may run (`true`: load and start the engage module) or must stop.
    Popups(bool),
    /// Hand the event (its JSON text) to the page's `beforeSend`, then give its answer to
    /// [`Engine::handle_middleware`]: the event is queued only then.
    Middleware(String),
    /// Replace the address bar's URL with this one (`history.replaceState`, bypassing the
    /// SDK's own navigation tracking): link parameters leave it before the first page view.
    ReplaceUrl(String),
    /// POST the anonymous id to the site's cookie refresh endpoint, with credentials, as the
    /// form fields `anonymousId` and `domain` (empty: host-only); the answer is not read.
    RefreshCookie {
        /// The endpoint.
        url: String,
        /// The anonymous id.
        id: String,
        /// The cookie's domain.
        domain: String,
    },
}

/// What the engine lends its parts for a step: storage (and the host behind it) and the
/// actions for the driver.
#[derive(Debug)]
pub struct Io<H: Host> {
    /// The storage port; its backend is the host.
    pub(super) store: Port<H>,
    /// Actions not yet polled, oldest first (a few at a time).
    pub(super) out: Vec<Action>,
}

impl<H: Host> Io<H> {
    /// Reports a problem to `onError` and `error` listeners.
    pub(super) fn report(&mut self, code: ErrorCode, message: &str) {
        self.out.push(Action::Error {
            code,
            message: message.to_string(),
        });
    }

    /// A fact about the page.
    pub(super) fn fact(&self, fact: Fact) -> String {
        self.store.backend().fact(fact)
    }

    /// A new random (v4) UUID.
    pub(super) fn new_id(&self) -> String {
        id::uuid_v4(self.store.backend().random())
    }

    /// 32 random bits.
    pub(super) fn rand_u32(&self) -> u32 {
        let b = self.store.backend().random();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// The tracker's state and policies.
#[derive(Debug)]
pub struct Engine<H: Host> {
    cfg: Config,
    /// Storage and the actions out, lent to the parts.
    io: Io<H>,
    /// Lanes, flush, requests, timer, persisting and unloading.
    delivery: Delivery,
    /// Ids, traits, session and the id cookie.
    shopper: Shopper,
    /// The device, page, campaign and `context` of events; the current page view.
    context: PageContext,
    wants_events: bool,
    /// The shopper's consent: whether events are stored, held or dropped.
    consent: Gate,
    /// Events at `beforeSend`.
    middleware: Middleware,
}

impl<H: Host> Engine<H> {
    /// Starts the engine at `now`: restores identity and session and adopts queues that pages
    /// gone or stale left behind. The first page view waits for [`Engine::handle_start`], so
    /// that `init` returns quickly (reading the device's time zone alone can take tens of
    /// milliseconds the first time).
    pub fn new(mut cfg: Config, host: H, now: u64) -> Engine<H> {
        let secure = host.fact(Fact::Protocol) == "https:";
        let mut consent = Consent::new(
            cfg.consent.clone(),
            host.get(store::K_CONSENT).as_deref(),
            host.fact(Fact::Gpc) == "1",
        );
        // A bot's page load (automation, a crawler's user agent) is dropped or marked.
        if cfg.bots != Bots::Allow && host.fact(Fact::Bot) == "1" {
            consent.set_bot(cfg.bots);
        }
        // Until the shopper consents, every write stays in memory.
        let mut store = if consent.analytics() == Analytics::Granted {
            Port::new(host, secure)
        } else {
            Port::holding(host, secure)
        };
        let mut corrupt = discard_corrupt(&mut store);
        let refresh_url = cfg.take_cookie_refresh_url();
        let shopper = Shopper::new(&mut store, &cfg.cookie_domain, refresh_url, now);
        let page_id = id::uuid_v4(store.backend().random());
        let lanes = lanes::lanes(&cfg, page_id.get(..8).unwrap_or_default());
        let campaigns = cfg.campaigns;
        let mut e = Engine {
            delivery: Delivery::new(lanes),
            shopper,
            cfg,
            context: PageContext::default(),
            wants_events: false,
            consent: Gate::new(consent, campaigns),
            middleware: Middleware::default(),
            io: Io {
                store,
                out: Vec::new(),
            },
        };
        e.wants_events = e.cfg.debug;
        // A server-rendered page's ids: another user than the stored one starts afresh.
        let given = e.cfg.identity.clone();
        e.shopper.load_anonymous_id(&mut e.io, None, now);
        if let Some(u) = given.user_id {
            e.become_user(u, now);
        }
        if let Some(a) = given.anonymous_id.filter(|a| *a != e.shopper.anonymous_id) {
            e.shopper.load_anonymous_id(&mut e.io, Some(a), now);
        }
        e.read_link_params(now);
        e.shopper.start_session(&mut e.io, now);
        if e.delivery.adopt(&mut e.io, None, now) {
            corrupt.push("queue");
        }
        if !corrupt.is_empty() {
            let mut m = String::from("stored state could not be read and was discarded (");
            m.push_str(&corrupt.join(", "));
            m.push_str("); the rest is kept");
            e.report(ErrorCode::StorageCorrupted, &m);
        }
        e.drive(now);
        e
    }

    /// Right after `init` (the task after it, or before any later call): the first page view
    /// when `pageViews` is on, and reading the page for products once it is parsed.
    pub fn handle_start(&mut self, now: u64) {
        // The page came from an email, SMS or push link: one identify carries the token.
        // Cookieless, a link token (which names a person) is dropped with the identify.
        if let Some(t) = self
            .shopper
            .link_token
            .take()
            .filter(|_| !self.cookieless())
        {
            let mut member = String::from("\"linkToken\":");
            json::push_str(&mut member, &t);
            self.context.once(member);
            let traits = self.shopper.traits.clone();
            self.enqueue(Body::Identify { traits: &traits }, now);
        }
        if self.cfg.capture || self.cfg.json_ld {
            self.io.out.push(Action::Scan(0));
        }
        if self.cfg.page_views {
            self.page_view(None, "{}", now);
        }
        self.consent.popups(&mut self.io, false);
        self.drive(now);
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The storage port (the driver and tests look at it).
    pub fn store(&self) -> &Port<H> {
        &self.io.store
    }

    /// Keeps query parameter `name` out of every URL the engine reports.
    pub fn redact_param(&mut self, name: &str) {
        self.context.redact(name);
    }

    /// Whether someone listens to accepted events (listeners, or debug logging).
    pub fn set_event_listeners(&mut self, count: usize) {
        self.wants_events = self.cfg.debug || count > 0;
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        (!self.io.out.is_empty()).then(|| self.io.out.remove(0))
    }

    /// The anonymous id.
    pub fn anonymous_id(&self) -> &str {
        &self.shopper.anonymous_id
    }

    /// The user id, once known.
    pub fn user_id(&self) -> Option<&str> {
        self.shopper.user_id.as_deref()
    }

    /// The session id (Unix ms at which it started).
    pub fn session_id(&self) -> u64 {
        self.shopper.session.id
    }

    // ---- reporting ----

    /// Reports a problem to `onError` and `error` listeners.
    pub fn report(&mut self, code: ErrorCode, message: &str) {
        self.io.report(code, message)
    }

    // ---- context and events ----

    /// A new shopper (`reset()`): no campaign, and a context built afresh.
    fn forget_context(&mut self) {
        self.context.forget();
    }

    fn refresh_context(&mut self, now: u64) {
        self.shopper.touch_session(&mut self.io, now, false);
        let session = self.shopper.session.id;
        let cookieless = self.cookieless();
        (self.context).refresh(&mut self.io, session, &self.consent.choice, cookieless);
    }

    /// Builds and queues one message.
    pub fn enqueue(&mut self, body: Body, now: u64) {
        let cookieless = self.cookieless();
        // Cookieless: no identify or alias (they would name someone), nothing to destinations.
        if !self.may_queue()
            || cookieless && matches!(body, Body::Identify { .. } | Body::Alias { .. })
        {
            return;
        }
        if let Some((name, text)) = body.payload() {
            if let Some(path) = json::scan::too_deep(text, event::MAX_DEPTH) {
                let m = [
                    name,
                    &path,
                    " nests deeper than 10 objects and arrays; the event was not queued",
                ]
                .concat();
                return self.report(ErrorCode::InvalidArgument, &m);
            }
        }
        let Some((message_id, head)) = self.build(&body, now) else {
            return;
        };
        let lanes = if cookieless {
            1
        } else {
            self.route(body.kind())
        };
        let ctx = self.context.for_event();
        if self.cfg.has_before_send() {
            let event = (message_id, head, ctx, lanes);
            return self.middleware.hand_over(&mut self.io, event);
        }
        self.accept(message_id, head, ctx, lanes, now);
    }

    /// A new event's messageId and its text up to the context, in the current page and session
    /// (`None` when it cannot be built, reported).
    fn build(&mut self, body: &Body, now: u64) -> Option<(String, String)> {
        self.refresh_context(now);
        let message_id = self.io.new_id();
        let ctx = self.context.ctx();
        let cookieless = self.cookieless();
        let env = Envelope {
            message_id: &message_id,
            anonymous_id: if cookieless {
                ""
            } else {
                &self.shopper.anonymous_id
            },
            user_id: self.shopper.user_id.as_deref().filter(|_| !cookieless),
            timestamp: now,
            context: &ctx,
            page: self.context.page(),
        };
        match event::build_head(&env, body) {
            Ok(mut head) => {
                // Queued events are kept until delivered: without the slack of a growing string.
                head.shrink_to_fit();
                Some((message_id, head))
            }
            Err(e) => {
                self.report(e.code(), e.message());
                None
            }
        }
    }

    /// Queues an event built by [`Engine::enqueue`] (after `beforeSend` kept it as it was) in
    /// the lanes whose bits are set in `lanes`.
    fn accept(&mut self, message_id: String, head: String, ctx: Rc<str>, lanes: u8, now: u64) {
        if self.wants_events {
            self.io
                .out
                .push(Action::Event([head.as_str(), &ctx, "}"].concat()));
        }
        self.queue_in(lanes, message_id, head, Some(ctx), now);
    }

    /// Queues an event (`head`, then `ctx` and `}` when given) in the lanes whose bits are set
    /// in `lanes` (the last one takes the text, the others a copy), then sends what is due.
    fn queue_in(&mut self, lanes: u8, id: String, head: String, ctx: Option<Rc<str>>, now: u64) {
        (self.delivery).queue(&mut self.io, lanes, (id, head, ctx), now);
        self.drive(now);
    }

    /// `track(event, properties)`.
    pub fn track(&mut self, name: &str, properties: &str, now: u64) {
        match name {
            "Product Viewed" => shopper::remember_view(&mut self.io.store, properties),
            "Order Completed" => shopper::count(&mut self.io.store, store::K_ORDERS),
            _ => {}
        }
        self.enqueue(
            Body::Track {
                event: name,
                properties,
            },
            now,
        )
    }
}

/// Removes stored values that cannot be read (written by another version, or tampered with),
/// so that each store starts afresh on its own; returns their names.
fn discard_corrupt<H: Host>(store: &mut Port<H>) -> Vec<&'static str> {
    use super::commerce::Cart;
    type Check = (&'static str, &'static str, fn(&str) -> bool);
    let checks: [Check; 5] = [
        (store::K_CART, "cart", |t| Cart::decode(t).is_some()),
        (store::K_TRAITS, "traits", |t| {
            event::is_object_text(t) && json::scan::is_valid(t)
        }),
        (store::K_UID, "user id", is_valid_user_id),
        (store::K_AID, "anonymous id", id::is_valid_id),
        (store::K_SESSION, "session", |t| {
            Session::decode(t).is_some()
        }),
    ];
    let mut out = Vec::new();
    for (key, name, ok) in checks {
        if store.get(key).is_some_and(|t| !ok(&t)) {
            store.remove(key);
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests;
