//! Who the shopper is, a part of the engine that owns its state: the anonymous id (cookie and
//! storage restoring each other), the user id, the traits, the session, the id cookie's domain
//! and a channel link token not sent yet. The engine routes `identify`, `alias`, `reset` and the
//! link parameters through it (they also queue events and touch the page context).

use super::{Action, Engine, Fact, Host, Io};
use crate::prelude::*;
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::config::CookieDomain;
use crate::tracker_core::event::{is_object_text, Body, EventError};
use crate::tracker_core::identity::{self, is_valid_user_id, Session};
use crate::tracker_core::store::{self, Port};
use crate::tracker_core::{args, json, link, profile};

/// The identity part's state.
#[derive(Debug)]
pub struct Shopper {
    /// The anonymous id.
    pub(super) anonymous_id: String,
    /// The user id, once known.
    pub(super) user_id: Option<String>,
    /// The traits known (JSON object text), as stored.
    pub(super) traits: String,
    /// The session.
    pub(super) session: Session,
    /// The id cookie's domain (`None`: host-only).
    cookie_domain: Option<String>,
    /// The site's endpoint that re-sets the id cookie from the server (`cookieRefreshUrl`).
    refresh_url: Option<String>,
    /// A channel link token this page came with, to send at start.
    pub(super) link_token: Option<String>,
}

impl Shopper {
    /// The shopper as stored (the anonymous id is loaded next, by
    /// [`Shopper::load_anonymous_id`]): the user id and traits, and the cookie's domain
    /// (`cookieDomain`, probed for the broadest one the browser accepts by default).
    pub(super) fn new<H: Host>(
        store: &mut Port<H>,
        cookie: &CookieDomain,
        refresh_url: Option<String>,
        now: u64,
    ) -> Shopper {
        let cookie_domain = match cookie {
            CookieDomain::Probe => {
                let hostname = store.backend().fact(Fact::Hostname);
                store.cookie_domain(&hostname)
            }
            CookieDomain::HostOnly => None,
            CookieDomain::Domain(d) => Some(d.clone()),
        };
        Shopper {
            anonymous_id: String::new(),
            user_id: store.get(store::K_UID).filter(|u| is_valid_user_id(u)),
            traits: (store.get(store::K_TRAITS))
                .filter(|t| is_object_text(t))
                .unwrap_or_else(|| "{}".into()),
            session: Session { id: now, last: now },
            cookie_domain,
            refresh_url,
            link_token: None,
        }
    }

    /// The anonymous id: `given` (a server-rendered page's, or a linked site's), else the
    /// cookie's, else the stored one, else a new one. Each copy restores the other.
    pub(super) fn load_anonymous_id<H: Host>(
        &mut self,
        io: &mut Io<H>,
        given: Option<String>,
        now: u64,
    ) {
        let cookie = io.store.cookie(store::COOKIE);
        let stored = io.store.get(store::K_AID);
        let id = match given {
            Some(id) => id,
            None => match identity::pick_anonymous_id(cookie.as_deref(), stored.as_deref()) {
                Some(id) => id.to_string(),
                None => io.new_id(),
            },
        };
        if stored.as_deref() != Some(id.as_str()) {
            io.store.set(store::K_AID, &id);
        }
        self.anonymous_id = id;
        let force = cookie.as_deref() != Some(self.anonymous_id.as_str());
        self.keep_cookie(io, now, force);
    }

    /// Writes the id's cookie when it differs (`force`) or was last written a day ago or more,
    /// so its 400 days run from the last active day; then the site's refresh endpoint, if any,
    /// re-sets it from the server (Safari keeps script-written cookies 7 days only).
    pub(super) fn keep_cookie<H: Host>(&mut self, io: &mut Io<H>, now: u64, force: bool) {
        let last = (io.store.get(store::K_AID_AT)).and_then(|t| json::parse_u64(&t));
        if !force && last.is_some_and(|t| now < t.saturating_add(identity::DAY_MS)) {
            return;
        }
        let id = &self.anonymous_id;
        let domain = self.cookie_domain.as_deref();
        io.store
            .set_cookie(store::COOKIE, id, store::COOKIE_AGE_S, domain);
        if io.store.cookie(store::COOKIE).as_deref() != Some(id.as_str()) {
            // Cookies are blocked: the id lives in localStorage (or memory) only.
            io.store.note_refused();
        }
        io.store.set(store::K_AID_AT, &json::u64_text(now));
        if let Some(url) = self.refresh_url.clone().filter(|_| !io.store.is_holding()) {
            io.out.push(Action::RefreshCookie {
                url,
                id: id.clone(),
                domain: domain.unwrap_or_default().into(),
            });
        }
    }

    /// Reads the stored session at start (a first session of this device, or of its storage,
    /// is counted), then keeps it alive.
    pub(super) fn start_session<H: Host>(&mut self, io: &mut Io<H>, now: u64) {
        let stored = (io.store.get(store::K_SESSION)).and_then(|s| Session::decode(&s));
        match stored {
            Some(s) => self.session = s,
            None => count(&mut io.store, store::K_VISITS),
        }
        self.touch_session(io, now, true);
    }

    /// Activity at `now`: the session goes on, or a new one starts after 30 minutes without
    /// any (counted); written at most every [`identity::ACTIVITY_WRITE_MS`] unless
    /// `force_read`.
    pub(super) fn touch_session<H: Host>(&mut self, io: &mut Io<H>, now: u64, force_read: bool) {
        let last = self.session.last;
        if !force_read && now < last.saturating_add(identity::ACTIVITY_WRITE_MS) {
            return;
        }
        let stored = (io.store.get(store::K_SESSION)).and_then(|s| Session::decode(&s));
        let before = stored.unwrap_or(self.session).id;
        let (s, write) = Session::touch(stored.or(Some(self.session)), now);
        if write || stored.is_none() {
            io.store.set(store::K_SESSION, &s.encode());
            self.keep_cookie(io, now, false);
        }
        self.session = s;
        if s.id != before {
            count(&mut io.store, store::K_VISITS);
        }
    }

    /// Merges `traits` (JSON object text) into those known and stores them; false when they
    /// are not an object.
    fn merge_traits<H: Host>(&mut self, io: &mut Io<H>, traits: &str) -> bool {
        match args::assign(&self.traits, traits) {
            Some(m) => {
                io.store.set(store::K_TRAITS, &m);
                self.traits = m;
                true
            }
            None => false,
        }
    }

    /// The traits sent with `identify`: the stored ones plus the first- and last-touch
    /// campaigns, so that the profile keeps where the shopper first and last came from.
    fn traits_with_touches<H: Host>(&self, io: &Io<H>) -> String {
        let mut t = self.traits.strip_suffix('}').unwrap_or("{").to_string();
        let mut first = t.len() <= 1;
        for (key, name) in [
            (store::K_FIRST_TOUCH, "first_touch"),
            (store::K_LAST_TOUCH, "last_touch"),
        ] {
            if let Some(c) = io.store.get(key).filter(|c| is_object_text(c)) {
                json::push_key(&mut t, name, first);
                t.push_str(&c);
                first = false;
            }
        }
        t.push('}');
        t
    }

    /// `profile()`: traits, visits, orders and recently viewed products, as JSON.
    pub(super) fn profile<H: Host>(&self, io: &Io<H>) -> String {
        let get = |k| io.store.get(k);
        profile::to_json(
            &self.traits,
            get(store::K_VISITS).as_deref(),
            get(store::K_ORDERS).as_deref(),
            &get(store::K_VIEWED).unwrap_or_default(),
        )
    }

    /// The device now belongs to user `u` (stored).
    fn set_user<H: Host>(&mut self, io: &mut Io<H>, u: String) {
        io.store.set(store::K_UID, &u);
        self.user_id = Some(u);
    }

    /// Forgets the user, traits, campaigns, cart (a cart id would link the two identities),
    /// profile and popup caps; starts a new anonymous id and session.
    fn reset<H: Host>(&mut self, io: &mut Io<H>, now: u64) {
        for k in [
            store::K_UID,
            store::K_TRAITS,
            store::K_AID,
            store::K_SESSION,
            store::K_CAMPAIGN,
            store::K_FIRST_TOUCH,
            store::K_LAST_TOUCH,
            store::K_CART,
            store::K_VISITS,
            store::K_ORDERS,
            store::K_VIEWED,
            store::K_ENGAGE[0],
            store::K_ENGAGE[1],
        ] {
            io.store.remove(k);
        }
        self.forget_cookie(io);
        self.user_id = None;
        self.traits = "{}".into();
        self.load_anonymous_id(io, None, now);
        self.session = Session { id: now, last: now };
        io.store.set(store::K_SESSION, &self.session.encode());
        count(&mut io.store, store::K_VISITS);
    }

    /// Deletes the id cookie.
    fn forget_cookie<H: Host>(&self, io: &mut Io<H>) {
        let domain = self.cookie_domain.as_deref();
        io.store.set_cookie(store::COOKIE, "", 0, domain);
    }

    /// Storage begins (consent granted): a probed cookie domain is probed again now that
    /// cookies may be written, the host-only cookie moves to it, and the cookie is written.
    pub(super) fn begin_storing<H: Host>(
        &mut self,
        io: &mut Io<H>,
        cookie: &CookieDomain,
        now: u64,
    ) {
        if *cookie == CookieDomain::Probe {
            let host = io.fact(Fact::Hostname);
            self.cookie_domain = io.store.cookie_domain(&host);
            if self.cookie_domain.is_some() {
                io.store.set_cookie(store::COOKIE, "", 0, None);
            }
        }
        self.keep_cookie(io, now, true);
    }

    /// Erases everything shoptrail stored (and the id cookie).
    pub(super) fn erase_stored<H: Host>(&self, io: &mut Io<H>) {
        let domain = self.cookie_domain.as_deref();
        io.store.erase(store::PREFIX, store::COOKIE, domain);
    }
}

/// Counts a session or an order (`key`) in the stored profile.
pub(super) fn count<H: Host>(store: &mut Port<H>, key: &str) {
    let n = profile::count_up(store.get(key).as_deref());
    store.set(key, &n);
}

/// Keeps a Product Viewed in the recently viewed list.
pub(super) fn remember_view<H: Host>(store: &mut Port<H>, properties: &str) {
    let list = store.get(store::K_VIEWED).unwrap_or_default();
    if let Some(l) = profile::viewed(&list, properties) {
        store.set(store::K_VIEWED, &l);
    }
}

/// The identity calls, routed: they also queue events and touch the page context.
impl<H: Host> Engine<H> {
    /// `identify(userId?, traits?)`: `traits` (JSON object text) merge into those known.
    pub fn identify(&mut self, user_id: Option<String>, traits: Option<String>, now: u64) {
        if let Some(u) = user_id {
            if !is_valid_user_id(&u) {
                return self.report(ErrorCode::InvalidArgument, EventError::BadUserId.message());
            }
            self.become_user(u, now);
        }
        if let Some(mut t) = traits {
            if self.cfg.hashes_pii() {
                t = crate::tracker_core::pii::hash_traits(&t);
            }
            if !self.shopper.merge_traits(&mut self.io, &t) {
                return self.report(
                    ErrorCode::InvalidArgument,
                    EventError::NotAnObject.message(),
                );
            }
        }
        let traits = self.shopper.traits_with_touches(&self.io);
        self.enqueue(Body::Identify { traits: &traits }, now);
    }

    /// Reads the link parameters of the page's URL: a fresh cross-domain id is adopted when
    /// the shopper came from one of `linkDomains` (the referrer says so: any other page could
    /// plant an id it knows), a channel link token is kept for [`Engine::handle_start`] (once
    /// per device: the fingerprints of tokens sent are kept, never the tokens), and both leave
    /// the address bar and every reported URL.
    pub(super) fn read_link_params(&mut self, now: u64) {
        let param = self.cfg.link_param.clone();
        let href = self.io.fact(Fact::Href);
        self.redact_param(&param);
        self.redact_param(link::CROSS_PARAM);
        let cross = link::param(&href, link::CROSS_PARAM);
        let token = link::param(&href, &param);
        if let Some(id) = cross.as_deref().and_then(|v| link::cross_id(v, now)) {
            let from = self.io.fact(Fact::Referrer);
            if id != self.shopper.anonymous_id && self.linked(&from) {
                self.shopper.load_anonymous_id(&mut self.io, Some(id), now);
            }
        }
        if cross.is_some() || token.is_some() {
            let clean = crate::tracker_core::page::redact(&href, &[&param, link::CROSS_PARAM]);
            self.io.out.push(Action::ReplaceUrl(clean));
        }
        let Some(t) = token.filter(|t| link::token_ok(t)) else {
            return;
        };
        let mark = json::u64_text(link::fingerprint(&t));
        let seen = self.io.store.get(store::K_LINKS).unwrap_or_default();
        if seen.lines().any(|l| l == mark) {
            return;
        }
        let mut kept = mark;
        for l in seen.lines().take(19) {
            kept.push('\n');
            kept.push_str(l);
        }
        self.io.store.set(store::K_LINKS, &kept);
        self.shopper.link_token = Some(t);
    }

    /// `~link`: `href` carrying the anonymous id when it leads to one of `linkDomains`.
    pub fn decorate_link(&self, href: &str, now: u64) -> Option<String> {
        // The id leaves with the shopper's consent only.
        if self.cfg.link_domains().is_empty()
            || !self.may_send()
            || self.cookieless()
            || !self.linked(href)
        {
            return None;
        }
        Some(link::decorate(href, &self.shopper.anonymous_id, now))
    }

    /// Whether `url` is on one of the shop's other sites ([`link::linked`]).
    fn linked(&self, url: &str) -> bool {
        let host = self.io.fact(Fact::Hostname);
        link::linked(url, self.cfg.link_domains(), &host.to_ascii_lowercase())
    }

    /// The device now belongs to user `u`. Another user than the one stored first gets what
    /// `reset()` gives (a new anonymous id, session, traits and cart), so that a shared
    /// computer never joins two people.
    pub(super) fn become_user(&mut self, u: String, now: u64) {
        match self.shopper.user_id.as_deref() {
            Some(current) if current == u => return,
            Some(_) => self.reset(now),
            None => {}
        }
        self.shopper.set_user(&mut self.io, u);
    }

    /// `alias(userId, previousId?)`.
    pub fn alias(&mut self, user_id: String, previous_id: Option<String>, now: u64) {
        if !is_valid_user_id(&user_id) {
            return self.report(ErrorCode::InvalidArgument, EventError::BadUserId.message());
        }
        let s = &self.shopper;
        let previous = previous_id
            .or_else(|| s.user_id.clone())
            .unwrap_or_else(|| s.anonymous_id.clone());
        self.shopper.set_user(&mut self.io, user_id);
        self.enqueue(
            Body::Alias {
                previous_id: &previous,
            },
            now,
        );
    }

    /// `reset()`: forgets the user, traits, campaigns, cart, profile and popup caps; starts a
    /// new anonymous id and session, and the page context with them.
    pub fn reset(&mut self, now: u64) {
        self.shopper.reset(&mut self.io, now);
        self.forget_context();
    }
}
