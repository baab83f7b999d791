//! The campaigns of one page view: a detector per campaign fed with every sample; when one
//! fires, targeting (against the visit of that moment), the frequency caps and the experiment
//! decide what happens. At most one popup per page view. Campaigns are shared by `Rc`, never
//! copied to render one.

use super::campaign::Campaign;
use super::cap::Caps;
use super::detect::{Detector, Fire, Ms, Sample, Trigger};
use super::experiment::{assign, Arm};
use super::target::Visit;
use std::rc::Rc;

/// What the browser layer must do after a trigger fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Show campaign `slot` with the content of `variant` (`None`: the campaign's own).
    Show {
        /// Index of the campaign.
        slot: usize,
        /// The variant, for campaigns with variants.
        variant: Option<usize>,
        /// What fired.
        why: Fire,
    },
    /// The shopper is in the control group of campaign `slot`: track `Experiment Viewed`,
    /// show nothing.
    Control {
        /// Index of the campaign.
        slot: usize,
        /// What fired.
        why: Fire,
    },
}

/// Every campaign of the page and the state they share.
#[derive(Debug)]
pub struct Runner {
    slots: Vec<(Rc<Campaign>, Detector)>,
    caps: Caps,
    caps_changed: bool,
    anonymous_id: String,
    session: u64,
    hover: bool,
    start: Ms,
    shown: bool,
}

impl Runner {
    /// Campaigns for a page that started at `start` (on the clock of later samples), for a
    /// shopper with `anonymous_id` in `session`, with the stored caps.
    pub fn new(caps: Caps, anonymous_id: &str, session: u64, hover: bool, start: Ms) -> Self {
        Runner {
            slots: Vec::new(),
            caps,
            caps_changed: false,
            anonymous_id: anonymous_id.into(),
            session,
            hover,
            start,
            shown: false,
        }
    }

    /// Adds a campaign (replacing one with the same id). Returns its slot.
    pub fn add(&mut self, c: Campaign) -> usize {
        let d = Detector::new(c.detector_trigger(), self.hover, self.start);
        let c = Rc::new(c);
        match self.slots.iter().position(|(o, _)| o.id == c.id) {
            Some(i) => {
                self.slots[i] = (c, d);
                i
            }
            None => {
                self.slots.push((c, d));
                self.slots.len() - 1
            }
        }
    }

    /// The campaign in `slot`, shared: the browser layer keeps it while it renders, without
    /// a copy.
    pub fn campaign(&self, slot: usize) -> Option<&Rc<Campaign>> {
        self.slots.get(slot).map(|(c, _)| c)
    }

    /// How many campaigns run.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no campaign runs.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// One sample for every detector; `visit` is asked only when one fires.
    pub fn handle(&mut self, now: Ms, s: Sample, visit: &dyn Fn() -> Visit) -> Option<Decision> {
        let mut out = None;
        for i in 0..self.slots.len() {
            if let Some(why) = self.slots[i].1.handle(now, s) {
                out = out.or(self.decide(i, why, now, visit));
            }
        }
        out
    }

    /// Time passed: timers of any detector may be due.
    pub fn wake(&mut self, now: Ms, visit: &dyn Fn() -> Visit) -> Option<Decision> {
        let mut out = None;
        for i in 0..self.slots.len() {
            if let Some(why) = self.slots[i].1.wake(now) {
                out = out.or(self.decide(i, why, now, visit));
            }
        }
        out
    }

    /// The earliest time any detector needs a wake-up.
    pub fn next_wake(&self) -> Option<Ms> {
        self.slots.iter().filter_map(|(_, d)| d.next_wake()).min()
    }

    /// True once when a back-button trigger needs its history entry pushed.
    pub fn take_push(&mut self) -> bool {
        self.slots.iter_mut().any(|(_, d)| d.take_push())
    }

    fn decide(
        &mut self,
        i: usize,
        why: Fire,
        now: Ms,
        visit: &dyn Fn() -> Visit,
    ) -> Option<Decision> {
        if self.shown {
            return None;
        }
        let (c, d) = &mut self.slots[i];
        let allowed = self.caps.allows(&c.id, &c.frequency, self.session, now);
        if !allowed || !c.target.matches(&visit()) {
            // An exit that did not qualify now (an empty cart) may qualify at the next one.
            if matches!(c.detector_trigger(), Trigger::Exit(_)) && allowed {
                d.rearm();
            }
            return None;
        }
        let weights: Vec<u32> = c.variants.iter().map(|v| v.weight).collect();
        let arm = assign(&c.id, &self.anonymous_id, &weights, c.control);
        self.caps.shown(&c.id, self.session);
        self.caps_changed = true;
        self.shown = true;
        Some(match arm {
            Arm::Control => Decision::Control { slot: i, why },
            Arm::Variant(v) => Decision::Show {
                slot: i,
                variant: (!c.variants.is_empty()).then_some(v),
                why,
            },
        })
    }

    /// The shopper dismissed campaign `slot` at `now`.
    pub fn dismissed(&mut self, slot: usize, now: Ms) {
        if let Some((c, _)) = self.slots.get(slot) {
            self.caps.dismissed(&c.id, now);
            self.caps_changed = true;
        }
    }

    /// The shopper converted on campaign `slot`.
    pub fn converted(&mut self, slot: usize) {
        if let Some((c, _)) = self.slots.get(slot) {
            self.caps.converted(&c.id);
            self.caps_changed = true;
        }
    }

    /// The caps' stored form, when they changed since the last call.
    pub fn take_caps(&mut self) -> Option<String> {
        core::mem::take(&mut self.caps_changed).then(|| self.caps.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engage_core::campaign;

    fn campaign(json: &str) -> Campaign {
        campaign::read(serde_json::from_str::<serde_json::Value>(json).unwrap()).unwrap()
    }

    const T0: Ms = 1_700_000_000_000;

    fn exit_campaign(id: &str, target: &str) -> Campaign {
        campaign(&format!(
            r#"{{"id":"{id}","trigger":{{"type":"exit"}},"target":{target},
            "content":{{"headline":"Wait"}}}}"#
        ))
    }

    fn leave(r: &mut Runner, t: Ms, v: &Visit) -> Option<Decision> {
        let visit = || v.clone();
        r.handle(
            t,
            Sample::Move {
                x: 600,
                y: 300,
                buttons: 0,
            },
            &visit,
        );
        r.handle(
            t + 20,
            Sample::Move {
                x: 600,
                y: 100,
                buttons: 0,
            },
            &visit,
        );
        r.handle(
            t + 40,
            Sample::Leave {
                x: 600,
                y: -3,
                buttons: 0,
            },
            &visit,
        );
        r.wake(t + 400, &visit)
    }

    fn visit(cart_items: u32) -> Visit {
        Visit {
            url: "https://shop.example/p".into(),
            path: "/p".into(),
            visits: 1,
            cart_items,
            ..Visit::default()
        }
    }

    #[test]
    fn one_popup_per_page_view_and_targeting_at_fire_time() {
        let mut r = Runner::new(Caps::default(), "anon", 1, true, T0);
        r.add(exit_campaign("cart", r#"{"stage":"cart"}"#));
        r.add(exit_campaign("any", "{}"));
        // Empty cart: the cart campaign stands down, the second one shows.
        let d = leave(&mut r, T0 + 6_000, &visit(0));
        assert_eq!(
            d,
            Some(Decision::Show {
                slot: 1,
                variant: None,
                why: Fire::Top
            })
        );
        assert!(r.take_caps().unwrap().starts_with("any\t1\t1\t"));
        assert_eq!(
            leave(&mut r, T0 + 9_000, &visit(2)),
            None,
            "one per page view"
        );
    }

    #[test]
    fn a_campaign_turned_down_fires_at_the_next_exit() {
        let mut r = Runner::new(Caps::default(), "anon", 1, true, T0);
        r.add(exit_campaign("cart", r#"{"stage":"cart"}"#));
        assert_eq!(leave(&mut r, T0 + 6_000, &visit(0)), None);
        let d = leave(&mut r, T0 + 9_000, &visit(1));
        assert_eq!(
            d,
            Some(Decision::Show {
                slot: 0,
                variant: None,
                why: Fire::Top
            })
        );
    }

    #[test]
    fn caps_survive_a_reload() {
        let mut r = Runner::new(Caps::default(), "anon", 1, true, T0);
        r.add(exit_campaign("a", "{}"));
        assert!(leave(&mut r, T0 + 6_000, &visit(0)).is_some());
        let stored = r.take_caps().unwrap();
        let mut again = Runner::new(Caps::decode(&stored), "anon", 1, true, T0 + 20_000);
        again.add(exit_campaign("a", "{}"));
        assert_eq!(
            leave(&mut again, T0 + 30_000, &visit(0)),
            None,
            "once per session"
        );
        let mut next = Runner::new(Caps::decode(&stored), "anon", 2, true, T0 + 20_000);
        next.add(exit_campaign("a", "{}"));
        next.dismissed(0, T0 + 20_000);
        let stored = next.take_caps().unwrap();
        let mut later = Runner::new(Caps::decode(&stored), "anon", 3, true, T0 + 40_000);
        later.add(exit_campaign("a", "{}"));
        assert_eq!(
            leave(&mut later, T0 + 50_000, &visit(0)),
            None,
            "dismissed 5 days"
        );
    }

    #[test]
    fn a_shopper_who_answered_the_nps_question_is_not_asked_again() {
        let nps = || {
            campaign(
                r#"{"id":"nps","trigger":{"type":"time","seconds":5},
                "frequency":{"perSession":3,"dismissDays":0},
                "content":{"headline":"Recommend us?","nps":{"comment":true}}}"#,
            )
        };
        let mut r = Runner::new(Caps::default(), "anon", 1, true, T0);
        r.add(nps());
        assert!(r.wake(T0 + 5_000, &|| visit(0)).is_some());
        // The answer converts the popup (the browser layer calls `converted` with it).
        r.converted(0);
        let stored = r.take_caps().unwrap();
        // Neither on the next page of the session nor in a later session or week.
        for (session, start) in [
            (1, T0 + 60_000),
            (2, T0 + 86_400_000),
            (9, T0 + 90 * 86_400_000),
        ] {
            let mut again = Runner::new(Caps::decode(&stored), "anon", session, true, start);
            again.add(nps());
            assert_eq!(
                again.wake(start + 5_000, &|| visit(0)),
                None,
                "session {session}"
            );
        }
        // A shopper who closed it without answering is asked again (`dismissDays` 0 here).
        let mut r = Runner::new(Caps::default(), "anon", 1, true, T0);
        r.add(nps());
        assert!(r.wake(T0 + 5_000, &|| visit(0)).is_some());
        r.dismissed(0, T0 + 6_000);
        let stored = r.take_caps().unwrap();
        let mut again = Runner::new(Caps::decode(&stored), "anon", 1, true, T0 + 60_000);
        again.add(nps());
        assert!(again.wake(T0 + 65_000, &|| visit(0)).is_some());
    }

    #[test]
    fn control_and_variants_are_decided_by_the_anonymous_id() {
        let json = r#"{"id":"news","trigger":{"type":"time","seconds":10},"control":1,
            "variants":[{"id":"a","content":{"headline":"A"}},{"id":"b","content":{"headline":"B"}}]}"#;
        let mut seen = [0; 3];
        for i in 0..300 {
            let mut r = Runner::new(Caps::default(), &format!("anon-{i}"), 1, false, T0);
            r.add(campaign(json));
            assert_eq!(r.next_wake(), Some(T0 + 10_000));
            match r.wake(T0 + 10_000, &|| visit(0)) {
                Some(Decision::Control {
                    slot: 0,
                    why: Fire::Time,
                }) => seen[0] += 1,
                Some(Decision::Show {
                    slot: 0,
                    variant: Some(v),
                    why: Fire::Time,
                }) => seen[v + 1] += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(seen.iter().all(|&n| n > 70), "{seen:?}");
    }

    #[test]
    fn add_replaces_a_campaign_with_the_same_id() {
        let mut r = Runner::new(Caps::default(), "anon", 1, true, T0);
        assert_eq!(r.add(exit_campaign("a", "{}")), 0);
        assert_eq!(r.add(exit_campaign("b", "{}")), 1);
        assert_eq!(r.add(exit_campaign("a", r#"{"device":"mobile"}"#)), 0);
        assert_eq!(r.len(), 2);
        assert_eq!(
            leave(&mut r, T0 + 6_000, &visit(0)),
            Some(Decision::Show {
                slot: 1,
                variant: None,
                why: Fire::Top
            })
        );
    }
}
