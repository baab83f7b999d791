//! The page context, a part of the engine that owns its state: the device, the page as
//! reported (its URL redacted), the session's campaign (first and last touch), and the
//! `context` object the queued events share, built again only when the URL, the session or
//! the consent changes; plus the state of the current page view ([`PageViews`]).

use super::pages::PageViews;
use super::{Fact, Host, Io};
use crate::prelude::*;
use crate::tracker_core::consent::Consent;
use crate::tracker_core::event::{self, PageInfo};
use crate::tracker_core::{campaign, json, page, store};
use alloc::rc::Rc;

/// The page context part's state.
#[derive(Debug, Default)]
pub struct PageContext {
    /// `context`'s device part (library, user agent, locale, time zone, screen), read once.
    device: String,
    /// The real URL the current context was built for (change detection).
    raw_url: String,
    /// The page as reported (URL redacted).
    page: PageInfo,
    /// The `context` object of the current page and session, shared by the queued events.
    ctx: Rc<str>,
    /// The session `ctx` was built for.
    session: u64,
    /// The session's campaign (JSON object text).
    campaign: Option<String>,
    /// Query parameters kept out of every reported URL.
    redact: Vec<String>,
    /// A `context` member for the next event only (`"linkToken":"…"`).
    one_off: Option<String>,
    /// The current page view.
    pub(super) views: PageViews,
}

impl PageContext {
    /// Builds the context again when the URL, the session (`session`, its id) or anything in
    /// it changed since (the consent, a reset: see [`PageContext::invalidate`]); `cookieless`:
    /// without the session, saying so.
    pub(super) fn refresh<H: Host>(
        &mut self,
        io: &mut Io<H>,
        session: u64,
        consent: &Consent,
        cookieless: bool,
    ) {
        if self.device.is_empty() {
            self.device = device_context(&io.fact(Fact::Device));
        }
        let href = io.fact(Fact::Href);
        let url_changed = href != self.raw_url;
        if !url_changed && self.session == session && !self.ctx.is_empty() {
            return;
        }
        if url_changed {
            // After an in-app navigation the previous URL is the referrer.
            let referrer = if self.raw_url.is_empty() {
                io.fact(Fact::Referrer)
            } else {
                self.page.url.clone()
            };
            let title = io.fact(Fact::Title);
            let redact: Vec<&str> = self.redact.iter().map(String::as_str).collect();
            self.page = page::page_info(&href, &referrer, &title, &redact);
            self.raw_url = href;
        }
        self.refresh_campaign(io, session);
        let id = (!cookieless).then_some(session);
        let mut ctx = event::context(&self.device, &self.page, id, self.campaign.as_deref());
        if cookieless {
            ctx = with_member(&ctx, COOKIELESS);
        }
        if consent.marked_bot() {
            ctx = with_member(&ctx, "\"bot\":true");
        }
        let member = consent.context_member();
        if !member.is_empty() {
            ctx = with_member(&ctx, &member);
        }
        self.ctx = Rc::from(ctx);
        self.session = session;
    }

    /// The session's campaign: a campaign URL starts one (and becomes the last touch, and the
    /// first touch if there was none); later pages of the session keep it.
    fn refresh_campaign<H: Host>(&mut self, io: &mut Io<H>, session: u64) {
        let landing = campaign::campaign_json(page::search_of(&self.raw_url));
        let stored = io.store.get(store::K_CAMPAIGN);
        let (c, new) = campaign::for_session(stored.as_deref(), session, landing);
        if let (Some(c), true) = (&c, new) {
            io.store
                .set(store::K_CAMPAIGN, &campaign::encode_session(session, c));
            io.store.set(store::K_LAST_TOUCH, c);
            if io.store.get(store::K_FIRST_TOUCH).is_none() {
                io.store.set(store::K_FIRST_TOUCH, c);
            }
        }
        self.campaign = c;
    }

    /// Keeps query parameter `name` out of every URL reported from now on.
    pub(super) fn redact(&mut self, name: &str) {
        self.redact.push(name.to_string());
        self.invalidate();
        self.raw_url.clear();
    }

    /// The next event builds the context again (the consent changed).
    pub(super) fn invalidate(&mut self) {
        self.ctx = Rc::from("");
    }

    /// A new shopper (`reset()`): no campaign, and the context built afresh.
    pub(super) fn forget(&mut self) {
        self.campaign = None;
        self.invalidate();
    }

    /// Adds `member` (`"name":value`) to the next event's context only.
    pub(super) fn once(&mut self, member: String) {
        self.one_off = Some(member);
    }

    /// The page as reported.
    pub(super) fn page(&self) -> &PageInfo {
        &self.page
    }

    /// The current context, shared.
    pub(super) fn ctx(&self) -> Rc<str> {
        self.ctx.clone()
    }

    /// The context of the event being queued: the current one, with the one-off member when
    /// there is one (then gone).
    pub(super) fn for_event(&mut self) -> Rc<str> {
        match self.one_off.take() {
            Some(member) => Rc::from(with_member(&self.ctx, &member)),
            None => self.ctx.clone(),
        }
    }

    /// A page view starts now, of the page the context was last built for.
    pub(super) fn start_view(&mut self, now: u64) {
        self.views.start(&self.raw_url, &self.page, now);
    }
}

/// The `context` member of a cookieless event (see [`cookieless`]).
pub(super) const COOKIELESS: &str = "\"cookieless\":true";

/// A held event's context as sent cookieless: with the consent `member` and [`COOKIELESS`],
/// without its session (the last member, see `event::context`), which the collector derives.
pub(super) fn cookieless(ctx: &str, member: &str) -> String {
    let end = json::rfind(ctx, ",\"sessionId\":").unwrap_or(ctx.len().saturating_sub(1));
    [
        "{",
        member,
        ",",
        COOKIELESS,
        ",",
        ctx.get(1..end).unwrap_or_default(),
        "}",
    ]
    .concat()
}

/// A context object's text with `member` (`"name":value`) first: the consent member, on new
/// contexts and on the held events' contexts at a grant; a link token, on one event.
pub(super) fn with_member(ctx: &str, member: &str) -> String {
    ["{", member, ",", ctx.get(1..).unwrap_or("}")].concat()
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
