//! The engine on a virtual clock, with storage in memory and a page whose URL the test moves:
//! the harness here, the tests by concern in the modules below.

use super::*;
use crate::tracker_core::boundary::Method;
use crate::tracker_core::config;
use crate::tracker_core::store::Memory;
use crate::tracker_core::{identity, queue};
use core::cell::{Cell, RefCell};
use std::rc::Rc;

#[derive(Debug, Default)]
struct PageState {
    href: String,
    title: String,
    referrer: String,
}

/// A page: shared so that the test can navigate while the engine owns the host.
#[derive(Debug, Clone)]
struct Fake {
    mem: Rc<RefCell<Memory>>,
    page: Rc<RefCell<PageState>>,
    seed: Rc<Cell<u64>>,
    /// The browser sends Global Privacy Control.
    gpc: Rc<Cell<bool>>,
    /// The page is driven by automation, or its user agent is a crawler's.
    bot: Rc<Cell<bool>>,
}

impl Fake {
    fn new(href: &str) -> Fake {
        Fake {
            mem: Rc::default(),
            page: Rc::new(RefCell::new(PageState {
                href: href.into(),
                title: "Shop".into(),
                referrer: "https://search.example/".into(),
            })),
            seed: Rc::new(Cell::new(1)),
            gpc: Rc::default(),
            bot: Rc::default(),
        }
    }

    fn go(&self, href: &str) {
        self.page.borrow_mut().href = href.into();
    }
}

impl Backend for Fake {
    fn get(&self, key: &str) -> Option<String> {
        self.mem.borrow().get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> bool {
        self.mem.borrow_mut().set(key, value)
    }
    fn remove(&mut self, key: &str) {
        self.mem.borrow_mut().remove(key)
    }
    fn keys(&self, prefix: &str) -> Vec<String> {
        self.mem.borrow().keys(prefix)
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.mem.borrow().cookie(name)
    }
    fn set_cookie(&mut self, line: &str) {
        self.mem.borrow_mut().set_cookie(line)
    }
}

impl Host for Fake {
    fn fact(&self, fact: Fact) -> String {
        let p = self.page.borrow();
        match fact {
            Fact::Href => p.href.clone(),
            Fact::Title => p.title.clone(),
            Fact::Referrer => p.referrer.clone(),
            Fact::Hostname => "www.shop.example".into(),
            Fact::Protocol => "https:".into(),
            Fact::Device => "UA/1\nen-US\nEurope/Paris\n1280\n800\n2".into(),
            Fact::Gpc => if self.gpc.get() { "1" } else { "" }.into(),
            Fact::Bot => if self.bot.get() { "1" } else { "" }.into(),
        }
    }
    fn random(&self) -> [u8; 16] {
        // xorshift: distinct ids, the same every run.
        let mut x = self.seed.get();
        let mut out = [0u8; 16];
        for chunk in out.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        self.seed.set(x);
        out
    }
}

fn cfg(extra: &str) -> Config {
    let text = ["{\"endpoint\":\"https://c.example/v1/batch\"", extra, "}"].concat();
    config::parse_json(&text).unwrap()
}

/// The page's `beforeSend` as the host answers for it: the changed event, `""`, or nothing.
type Middleware = dyn FnMut(&str) -> Option<String>;

/// The driver's part, on a virtual clock.
struct Run {
    e: Engine<Fake>,
    host: Fake,
    now: u64,
    timer: Option<u64>,
    /// `endpoint`'s body sent and not answered yet (one at a time).
    in_flight: Option<String>,
    /// Bodies of the destinations' lanes (1, 2, ...) sent and not answered yet.
    in_flight_to: Vec<(usize, String)>,
    /// Every body sent, with its lane.
    sent: Vec<String>,
    sent_to: Vec<usize>,
    beacons: Vec<String>,
    beacons_to: Vec<usize>,
    errors: Vec<(&'static str, String)>,
    events: Vec<String>,
    delivered: usize,
    /// Lane and count of each delivery.
    delivered_to: Vec<(usize, usize)>,
    settled: Vec<bool>,
    /// What the host was told about popups, in order.
    popups: Vec<bool>,
    scans: Vec<u32>,
    /// Whether the next beacon is accepted.
    beacon_ok: bool,
    /// Cookie refresh calls: `url id domain`.
    refreshes: Vec<String>,
    /// URLs the address bar was changed to.
    replaced: Vec<String>,
    /// The page's `beforeSend`, as the host answers for it (see `Engine::handle_middleware`).
    middleware: Box<Middleware>,
}

impl Run {
    fn start(host: Fake, config: Config, now: u64) -> Run {
        Run::with_middleware(host, config, now, |_| None)
    }

    /// Starts with `middleware` answering for the page's `beforeSend`.
    fn with_middleware(
        host: Fake,
        config: Config,
        now: u64,
        middleware: impl FnMut(&str) -> Option<String> + 'static,
    ) -> Run {
        let mut e = Engine::new(config, host.clone(), now);
        e.handle_start(now);
        let mut r = Run {
            e,
            host,
            now,
            timer: None,
            in_flight: None,
            in_flight_to: Vec::new(),
            sent: Vec::new(),
            sent_to: Vec::new(),
            beacons: Vec::new(),
            beacons_to: Vec::new(),
            errors: Vec::new(),
            events: Vec::new(),
            delivered: 0,
            delivered_to: Vec::new(),
            settled: Vec::new(),
            popups: Vec::new(),
            scans: Vec::new(),
            beacon_ok: true,
            refreshes: Vec::new(),
            replaced: Vec::new(),
            middleware: Box::new(middleware),
        };
        r.drain();
        r
    }

    fn drain(&mut self) {
        while let Some(a) = self.e.poll_action() {
            match a {
                Action::Send { lane, .. } => {
                    let mut body = String::new();
                    self.e.write_request(lane, &mut |s| body.push_str(s));
                    self.sent.push(body.clone());
                    self.sent_to.push(lane);
                    if lane == 0 {
                        assert!(self.in_flight.is_none(), "two requests at once");
                        self.in_flight = Some(body);
                    } else {
                        let twice = self.in_flight_to.iter().any(|(l, _)| *l == lane);
                        assert!(!twice, "two requests at once in lane {lane}");
                        self.in_flight_to.push((lane, body));
                    }
                }
                Action::Beacon { lane } => {
                    self.beacons_to.push(lane);
                    let mut body = String::new();
                    self.e.write_beacon(&mut |s| body.push_str(s));
                    self.beacons.push(body);
                    let ok = self.beacon_ok;
                    self.e.handle_beacon(ok, self.now);
                }
                Action::Last { lane, body } => {
                    self.beacons_to.push(lane);
                    self.beacons.push(body);
                }
                Action::Timer(t) => self.timer = Some(t),
                Action::Scan(ms) => self.scans.push(ms),
                Action::Error { code, message } => self.errors.push((code.as_str(), message)),
                Action::Event(t) => self.events.push(t),
                Action::Delivered { count, lane } => {
                    self.delivered += count;
                    self.delivered_to.push((lane, count));
                }
                Action::Settle(ok) => self.settled.push(ok),
                Action::Popups(run) => self.popups.push(run),
                Action::ReplaceUrl(url) => {
                    // As the browser does: the address bar changes, nothing else happens.
                    self.host.go(&url);
                    self.replaced.push(url);
                }
                Action::RefreshCookie { url, id, domain } => {
                    self.refreshes.push([url, id, domain].join(" "))
                }
                Action::Middleware(event) => {
                    let answer = (self.middleware)(&event);
                    self.e.handle_middleware(answer.as_deref(), self.now);
                }
            }
        }
    }

    /// A call by the name the page (or, for `~link` and `~markup`, the host) uses.
    fn call(&mut self, method: &str, args: &str) -> Option<String> {
        let r = match method {
            "~link" => self.e.decorate_link(args, self.now),
            "~markup" => {
                self.e.handle_markup(args, self.now);
                None
            }
            name => {
                let m = Method::named(name).unwrap_or_else(|| panic!("no method {name}"));
                self.e.call(m, args, self.now)
            }
        };
        self.drain();
        r
    }

    /// Lets virtual time pass, firing the timer when due.
    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some(t) = self.timer.filter(|t| *t <= end) {
            self.timer = None;
            self.now = self.now.max(t);
            self.e.handle_wake(self.now);
            self.drain();
        }
        self.now = end;
    }

    fn answer(&mut self, status: u16) -> String {
        let body = self.in_flight.take().expect("a request under way");
        self.e.handle_response(0, status, None, self.now);
        self.drain();
        body
    }

    /// Answers the request under way in a destination's lane.
    fn answer_to(&mut self, lane: usize, status: u16) -> String {
        let at = self.in_flight_to.iter().position(|(l, _)| *l == lane);
        let (_, body) = self.in_flight_to.remove(at.expect("a request under way"));
        self.e.handle_response(lane, status, None, self.now);
        self.drain();
        body
    }

    /// The page is hidden (`released` false) or left (true) at `at`, with beacons answered as
    /// `beacon_ok` says.
    fn hide(&mut self, released: bool, at: u64) {
        self.now = at;
        self.e.handle_hide(released, at);
        self.drain();
    }

    fn stored(&self, key: &str) -> Option<String> {
        self.host.mem.borrow().get(key)
    }

    fn queue_keys(&self) -> Vec<String> {
        self.host.mem.borrow().keys(store::Q_PREFIX)
    }
}

fn count(body: &str, needle: &str) -> usize {
    body.matches(needle).count()
}

mod bots;
mod calls;
mod consent;
mod cookieless;
mod delivery;
mod destinations;
mod links;
mod middleware;
mod pages;
mod parts;
mod shop;
mod shopper;
mod storage;
