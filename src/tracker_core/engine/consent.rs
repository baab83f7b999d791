//! The shopper's consent, applied: `consent.grant`, `consent.deny` and `consent.revoke`, and
//! what the rest of the engine asks before storing, sending or linking.

use super::{Action, Engine, Host, Io};
use crate::prelude::*;
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::consent::{Analytics, Consent, HOLD_MAX};
use crate::tracker_core::event::{self, Body};
use crate::tracker_core::store;

/// The event that tells the collector the shopper's new choice, named as in Segment's consent
/// spec; `context.consent.categoryPreferences` carries the choice.
pub const CONSENT_EVENT: &str = "Segment Consent Preference Updated";

/// The consent part's state: the shopper's choice, whether holding events was reported, and
/// whether popups run (they need campaigns and the shopper's consent to marketing).
#[derive(Debug)]
pub struct Gate {
    /// The choice, as [`Consent`] keeps and stores it.
    pub(super) choice: Consent,
    /// `consent_pending` was reported (once until the shopper decides).
    warned: bool,
    /// At least one campaign is configured (in `init` or by `campaigns.add`).
    campaigns: bool,
    /// What the host was last told ([`Action::Popups`]).
    popups: bool,
    /// The last request of a withdrawal is being built: it names the shopper as before, even
    /// when what follows is cookieless.
    withdrawing: bool,
}

impl Gate {
    /// The gate over `choice`; `campaigns` when `init` configured some.
    pub(super) fn new(choice: Consent, campaigns: bool) -> Gate {
        Gate {
            choice,
            warned: false,
            campaigns,
            popups: false,
            withdrawing: false,
        }
    }

    /// Tells the host when popups may start or must stop: they run while campaigns are
    /// configured and the shopper's consent allows marketing (always on sites that do not
    /// require consent, unless Global Privacy Control denies it). `added`: `campaigns.add`
    /// brought one.
    pub fn popups<H: Host>(&mut self, io: &mut Io<H>, added: bool) {
        self.campaigns |= added;
        let run = self.campaigns && self.choice.marketing();
        if run != self.popups {
            self.popups = run;
            io.out.push(Action::Popups(run));
        }
    }

    /// Whether events may be sent (with ids, or cookieless).
    pub fn may_send(&self) -> bool {
        matches!(
            self.choice.analytics(),
            Analytics::Granted | Analytics::Cookieless
        )
    }

    /// Whether events are sent cookieless: no ids, no traits, nothing stored.
    pub fn cookieless(&self) -> bool {
        self.choice.analytics() == Analytics::Cookieless && !self.withdrawing
    }

    /// Whether an event may be queued now, with `held` events already waiting: always when
    /// granted, up to [`HOLD_MAX`] while the shopper decides (the first one over is
    /// reported), never after a refusal.
    pub fn may_queue<H: Host>(&mut self, io: &mut Io<H>, held: usize) -> bool {
        match self.choice.analytics() {
            Analytics::Granted | Analytics::Cookieless => true,
            Analytics::Denied => false,
            Analytics::Pending if held < HOLD_MAX => true,
            Analytics::Pending => {
                if !self.warned {
                    self.warned = true;
                    io.report(ErrorCode::ConsentPending, "100 events wait for the shopper's consent; later ones are dropped until consent.grant() or consent.deny()");
                }
                false
            }
        }
    }
}

impl<H: Host> Engine<H> {
    /// Whether events may be sent (with ids, or cookieless).
    pub(super) fn may_send(&self) -> bool {
        self.consent.may_send()
    }

    /// Whether events are sent cookieless.
    pub(super) fn cookieless(&self) -> bool {
        self.consent.cookieless()
    }

    /// Whether an event may be queued now (see [`Gate::may_queue`]; `endpoint`'s lane holds
    /// every event).
    pub(super) fn may_queue(&mut self) -> bool {
        let held = self.delivery.held();
        self.consent.may_queue(&mut self.io, held)
    }

    /// `consent.grant(categories)`: these categories granted (all configured ones when
    /// `None`), every other one denied. With `analytics`, what was held in memory is stored and
    /// the held events leave; without it, they are dropped and the stored state erased.
    pub fn grant(&mut self, categories: Option<Vec<String>>, now: u64) {
        let all = self.consent.choice.settings().categories.clone();
        let before = self.consent.choice.analytics();
        let was = self.consent.choice.context_member();
        if let Err(bad) = self.consent.choice.set(categories.unwrap_or(all.clone())) {
            let mut m = String::from("consent.grant(categories): \"");
            m.push_str(&bad);
            m.push_str("\" is not a configured category; they are ");
            m.push_str(&all.join(", "));
            return self.report(ErrorCode::InvalidArgument, &m);
        }
        match (before, self.consent.choice.analytics()) {
            // Categories changed while events are sent: the collector is told.
            (Analytics::Granted, Analytics::Granted) => {
                if self.consent.choice.context_member() != was {
                    self.preferences_updated(now);
                }
            }
            (before, Analytics::Granted) => self.begin_storing(before, now),
            (Analytics::Granted, _) => self.erase(true, now),
            (Analytics::Pending, Analytics::Cookieless) => self.held_cookieless(),
            (Analytics::Cookieless, _) => {}
            _ => self.delivery.clear(),
        }
        if !self.consent.choice.dropped_bot() {
            let record = self.consent.choice.encode();
            self.io.store.set_direct(store::K_CONSENT, &record);
        }
        self.consent_changed(now);
    }

    /// `consent.deny()` and `consent.revoke()`: every category denied; the stored ids, queues,
    /// cart, profile, campaign and popup state are deleted (with the id cookie), held events
    /// dropped, and nothing is stored or sent until a later grant. Where events were being
    /// sent, the last request of each lane tells the collector first (see `Engine::erase`). A site that does not require
    /// consent remembers the refusal (an empty `shoptrail:consent`), or it would resume on the
    /// next page; one that requires it stores nothing at all.
    pub fn revoke(&mut self, now: u64) {
        let before = self.consent.choice.analytics();
        let _ = self.consent.choice.set(Vec::new());
        match (before, self.consent.choice.analytics()) {
            (Analytics::Pending, Analytics::Cookieless) => self.held_cookieless(),
            (Analytics::Cookieless, _) => {}
            (before, _) => self.erase(before == Analytics::Granted, now),
        }
        if !self.consent.choice.settings().required && !self.consent.choice.dropped_bot() {
            self.io.store.set_direct(store::K_CONSENT, "");
        }
        self.consent_changed(now);
    }

    /// `consent.get()`.
    pub fn consent_state(&self) -> String {
        self.consent.choice.state_json()
    }

    /// Storage starts: the writes held so far are applied, the cookie moves to the broadest
    /// domain, and the held events get the consent in their context and leave (cookieless
    /// events already sent on as they are).
    fn begin_storing(&mut self, before: Analytics, now: u64) {
        self.io.store.write_through();
        (self.shopper).begin_storing(&mut self.io, &self.cfg.cookie_domain, now);
        if before == Analytics::Pending {
            let member = self.consent.choice.context_member();
            (self.delivery).map_contexts(&|ctx| super::context::with_member(ctx, &member));
        }
    }

    /// A refusal with `onRefuse: "cookieless"`: the held events lose their ids, session and
    /// destinations and leave for `endpoint` (identifies and aliases are dropped).
    fn held_cookieless(&mut self) {
        let member = self.consent.choice.context_member();
        (self.delivery).cookieless(&event::cookieless_head, &|ctx| {
            super::context::cookieless(ctx, &member)
        });
    }

    /// Deletes everything stored, forgets the queue and starts a new identity in memory. When
    /// events were being sent (`last`), every lane first sends its queue (those accepted while
    /// consent held, see [`Queue::write_last`](crate::tracker_core::queue::Queue::write_last)) and
    /// [`CONSENT_EVENT`] with the new preferences, for the current ids, in one last request.
    fn erase(&mut self, last: bool, now: u64) {
        if last {
            // With the ids the collector knows the shopper by, even if cookieless follows.
            self.consent.withdrawing = true;
            self.preferences_updated(now);
            self.delivery.last_requests(&mut self.io, now);
            self.consent.withdrawing = false;
        }
        self.io.store.hold();
        self.shopper.erase_stored(&mut self.io);
        self.delivery.clear();
        self.reset(now);
        self.delivery.settle(&mut self.io, false);
    }

    /// [`CONSENT_EVENT`], with the consent as it is now, queued in every lane (not shown to
    /// `beforeSend`).
    fn preferences_updated(&mut self, now: u64) {
        self.context.invalidate();
        let body = Body::Track {
            event: CONSENT_EVENT,
            properties: "{}",
        };
        if let Some((id, head)) = self.build(&body, now) {
            let ctx = self.context.ctx();
            self.accept(id, head, ctx, u8::MAX, now);
        }
    }

    fn consent_changed(&mut self, now: u64) {
        // The context carries the new choice from the next event on.
        self.context.invalidate();
        self.consent.warned = false;
        if !self.may_send() {
            self.delivery.settle(&mut self.io, false);
        }
        self.consent.popups(&mut self.io, false);
        self.drive(now);
    }

    /// The categories a grant names (`consent.grant(["analytics"])`), `None` for all.
    pub(super) fn categories_arg(list: Option<&str>) -> Result<Option<Vec<String>>, ()> {
        use crate::tracker_core::json::scan;
        let Some(list) = list else { return Ok(None) };
        let items = scan::array_items(list).ok_or(())?;
        items
            .into_iter()
            .map(|i| scan::string_value(i).ok_or(()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
