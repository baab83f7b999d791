//! Who the shopper is, orchestrated: the anonymous id (cookie and storage restoring each other), the
//! session, `identify`, `alias` and `reset`.

use super::Action;
use super::{Engine, Fact, Host};
use crate::prelude::*;
use crate::tracker_core::event::{is_object_text, Body, EventError};
use crate::tracker_core::identity::{self, is_valid_user_id, Session};
use crate::tracker_core::profile;
use crate::tracker_core::{args, json, link, store};
use alloc::rc::Rc;

impl<H: Host> Engine<H> {
    /// The anonymous id: `given` (a server-rendered page's, or a linked site's), else the
    /// cookie's, else the stored one, else a new one. Each copy restores the other.
    pub(super) fn load_anonymous_id(&mut self, given: Option<String>, now: u64) {
        let cookie = self.io.store.cookie(store::COOKIE);
        let stored = self.io.store.get(store::K_AID);
        let id = match given {
            Some(id) => id,
            None => match identity::pick_anonymous_id(cookie.as_deref(), stored.as_deref()) {
                Some(id) => id.to_string(),
                None => self.io.new_id(),
            },
        };
        if stored.as_deref() != Some(id.as_str()) {
            self.io.store.set(store::K_AID, &id);
        }
        self.anonymous_id = id;
        self.keep_cookie(now, cookie.as_deref() != Some(self.anonymous_id.as_str()));
    }

    /// Writes the id's cookie when it differs (`force`) or was last written a day ago or more,
    /// so its 400 days run from the last active day; then the site's refresh endpoint, if any,
    /// re-sets it from the server (Safari keeps script-written cookies 7 days only).
    pub(super) fn keep_cookie(&mut self, now: u64, force: bool) {
        let last = self
            .io
            .store
            .get(store::K_AID_AT)
            .and_then(|t| json::parse_u64(&t));
        if !force && last.is_some_and(|t| now < t.saturating_add(identity::DAY_MS)) {
            return;
        }
        let domain = self.cookie_domain.clone();
        let id = self.anonymous_id.clone();
        self.io
            .store
            .set_cookie(store::COOKIE, &id, store::COOKIE_AGE_S, domain.as_deref());
        if self.io.store.cookie(store::COOKIE).as_deref() != Some(id.as_str()) {
            // Cookies are blocked: the id lives in localStorage (or memory) only.
            self.io.store.note_refused();
        }
        self.io.store.set(store::K_AID_AT, &json::u64_text(now));
        if let Some(url) = self
            .cfg
            .cookie_refresh_url
            .clone()
            .filter(|_| !self.io.store.is_holding())
        {
            self.io.out.push(Action::RefreshCookie {
                url,
                id,
                domain: domain.unwrap_or_default(),
            });
        }
    }

    pub(super) fn touch_session(&mut self, now: u64, force_read: bool) {
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
            .io
            .store
            .get(store::K_SESSION)
            .and_then(|s| Session::decode(&s));
        let before = stored.unwrap_or(self.session).id;
        let (s, write) = Session::touch(stored.or(Some(self.session)), now);
        if write || stored.is_none() {
            self.io.store.set(store::K_SESSION, &s.encode());
            self.keep_cookie(now, false);
        }
        self.session = s;
        if s.id != before {
            self.count(store::K_VISITS);
        }
    }

    /// Counts a session or an order (`key`) in the stored profile.
    pub(super) fn count(&mut self, key: &str) {
        let n = profile::count_up(self.io.store.get(key).as_deref());
        self.io.store.set(key, &n);
    }

    /// Keeps a Product Viewed in the recently viewed list.
    pub(super) fn remember_view(&mut self, properties: &str) {
        let list = self.io.store.get(store::K_VIEWED).unwrap_or_default();
        if let Some(l) = profile::viewed(&list, properties) {
            self.io.store.set(store::K_VIEWED, &l);
        }
    }

    /// `profile()`: traits, visits, orders and recently viewed products, as JSON.
    pub(super) fn profile(&self) -> String {
        let get = |k| self.io.store.get(k);
        profile::to_json(
            &self.traits,
            get(store::K_VISITS).as_deref(),
            get(store::K_ORDERS).as_deref(),
            &get(store::K_VIEWED).unwrap_or_default(),
        )
    }

    /// `identify(userId?, traits?)`: `traits` (JSON object text) merge into those known.
    pub fn identify(&mut self, user_id: Option<String>, traits: Option<String>, now: u64) {
        if let Some(u) = user_id {
            if !is_valid_user_id(&u) {
                return self.report("invalid_argument", EventError::BadUserId.message());
            }
            self.become_user(u, now);
        }
        if let Some(mut t) = traits {
            if self.cfg.hash_pii {
                t = crate::tracker_core::pii::hash_traits(&t);
            }
            match args::assign(&self.traits, &t) {
                Some(m) => {
                    self.io.store.set(store::K_TRAITS, &m);
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
            if let Some(c) = self.io.store.get(key).filter(|c| is_object_text(c)) {
                json::push_key(&mut t, name, first);
                t.push_str(&c);
                first = false;
            }
        }
        t.push('}');
        t
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
            if id != self.anonymous_id && self.linked(&from) {
                self.load_anonymous_id(Some(id), now);
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
        self.link_token = Some(t);
    }

    /// `~link`: `href` carrying the anonymous id when it leads to one of `linkDomains`.
    pub fn decorate_link(&self, href: &str, now: u64) -> Option<String> {
        // The id leaves with the shopper's consent only.
        if self.cfg.link_domains.is_empty() || !self.may_send() {
            return None;
        }
        if !self.linked(href) {
            return None;
        }
        Some(link::decorate(href, &self.anonymous_id, now))
    }

    /// Whether `url` is on one of the shop's other sites ([`link::linked`]).
    fn linked(&self, url: &str) -> bool {
        let host = self.io.fact(Fact::Hostname);
        link::linked(url, &self.cfg.link_domains, &host.to_ascii_lowercase())
    }

    /// The device now belongs to user `u`. Another user than the one stored first gets what
    /// `reset()` gives (a new anonymous id, session, traits and cart), so that a shared
    /// computer never joins two people.
    pub(super) fn become_user(&mut self, u: String, now: u64) {
        match self.user_id.as_deref() {
            Some(current) if current == u => return,
            Some(_) => self.reset(now),
            None => {}
        }
        self.io.store.set(store::K_UID, &u);
        self.user_id = Some(u);
    }

    /// `alias(userId, previousId?)`.
    pub fn alias(&mut self, user_id: String, previous_id: Option<String>, now: u64) {
        if !is_valid_user_id(&user_id) {
            return self.report("invalid_argument", EventError::BadUserId.message());
        }
        let previous = previous_id
            .or_else(|| self.user_id.clone())
            .unwrap_or_else(|| self.anonymous_id.clone());
        self.io.store.set(store::K_UID, &user_id);
        self.user_id = Some(user_id);
        self.enqueue(
            Body::Alias {
                previous_id: &previous,
            },
            now,
        );
    }

    /// `reset()`: forgets the user, traits, campaigns, cart (a cart id would link the two
    /// identities), profile and popup caps; starts a new anonymous id and session.
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
            store::K_VISITS,
            store::K_ORDERS,
            store::K_VIEWED,
            store::K_ENGAGE[0],
            store::K_ENGAGE[1],
        ] {
            self.io.store.remove(k);
        }
        let domain = self.cookie_domain.clone();
        self.io
            .store
            .set_cookie(store::COOKIE, "", 0, domain.as_deref());
        self.user_id = None;
        self.traits = "{}".into();
        self.load_anonymous_id(None, now);
        self.session = Session { id: now, last: now };
        self.io.store.set(store::K_SESSION, &self.session.encode());
        self.count(store::K_VISITS);
        self.campaign = None;
        self.ctx = Rc::from("");
    }
}
