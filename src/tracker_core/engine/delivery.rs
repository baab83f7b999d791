//! Delivery, a part of the engine that owns its state: the lanes (one queue, stored copy and
//! request under way per endpoint), `flush()` and its settling, requests and their answers,
//! the timer, persisting and adopting queues, and handing events to beacons when the page goes
//! away. A changed queue is written [`PERSIST_DELAY_MS`] later (changes in between coalesce),
//! at once when the page is hidden; a page back from the back-forward cache, or a browser back
//! online, sends again.
//!
//! The engine lends it [`Io`] and says whether the shopper's consent lets events leave
//! (`may_send`); it decides nothing about what an event is or who may see it.

use super::lanes::{split_key, Lane, ABANDONED_MS};
use super::{Action, Engine, Host, Io, GZIP_MIN_BYTES, PERSIST_DELAY_MS, REQUEST_TIMEOUT_MS};
use crate::prelude::*;
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::json;
use crate::tracker_core::queue::{self, Report};
use crate::tracker_core::store;
use alloc::rc::Rc;

/// The delivery part's state.
#[derive(Debug)]
pub struct Delivery {
    /// `endpoint` first (every event), then one per destination.
    lanes: Vec<Lane>,
    /// A `flush()` waits for its answer.
    flush_pending: bool,
    /// A batch was refused since the pending `flush()` began.
    flush_failed: bool,
    /// When the changed lanes are to be written to storage.
    persist_due: Option<u64>,
    /// The timer asked for last, until it fires.
    timer: Option<u64>,
    /// `storage_unavailable` was reported (once a page).
    storage_warned: bool,
    /// Unloading: beacons are being handed over; then the queue is persisted (`released`).
    unloading: Option<bool>,
    /// Events in the beacon handed over last, and its lane.
    pending_beacon: (usize, usize),
}

impl Delivery {
    /// Delivery over `lanes` (see [`super::lanes::lanes`]).
    pub(super) fn new(lanes: Vec<Lane>) -> Delivery {
        Delivery {
            lanes,
            flush_pending: false,
            flush_failed: false,
            persist_due: None,
            timer: None,
            storage_warned: false,
            unloading: None,
            pending_beacon: (0, 0),
        }
    }

    /// `flush()`: sends everything queued now, in every lane; [`Action::Settle`] follows with
    /// `true` once every lane delivered, or `false` if delivery is failing in one or a batch
    /// was refused.
    pub fn flush<H: Host>(&mut self, io: &mut Io<H>, may_send: bool, now: u64) {
        self.flush_pending = true;
        // Nothing can be delivered without consent: the Promise settles with false at once.
        if self.is_empty() || !may_send {
            return self.settle(io, may_send);
        }
        self.flush_lanes(io, may_send, now);
    }

    /// Sends what every lane holds now (`flush()` without a Promise, or back online).
    pub fn flush_lanes<H: Host>(&mut self, io: &mut Io<H>, may_send: bool, now: u64) {
        for l in &mut self.lanes {
            l.queue.flush();
        }
        self.drive(io, may_send, now);
    }

    /// The answer to lane `lane`'s request under way: an HTTP status (0 for a network error or
    /// an abort) and its Retry-After header.
    pub fn handle_response<H: Host>(
        &mut self,
        io: &mut Io<H>,
        (lane, status, retry): (usize, u16, Option<&str>),
        may_send: bool,
        now: u64,
    ) {
        let outcome = queue::classify(status, retry);
        let rand = io.rand_u32();
        let report = self.lanes.get_mut(lane).map(|l| {
            l.keepalive = 0;
            l.queue.on_response(outcome, now, rand)
        });
        if let Some(Some(r)) = report {
            self.on_report(io, lane, r);
        }
        // Also when nothing is reported: a lane already failing failed again.
        self.settle_when_done(io);
        self.drive(io, may_send, now);
    }

    /// The timer set by [`Action::Timer`] fired.
    pub fn handle_wake<H: Host>(&mut self, io: &mut Io<H>, may_send: bool, now: u64) {
        self.timer = None;
        if self.persist_due.is_some_and(|t| t <= now) {
            self.persist(io, false, false, now);
        }
        self.drive(io, may_send, now);
    }

    /// Queues an event (`head`, then `ctx` and `}` when given) in the lanes whose bits are set
    /// in `lanes` (the last one takes the text, the others a copy). The caller drives.
    pub fn queue<H: Host>(
        &mut self,
        io: &mut Io<H>,
        lanes: u8,
        (mut id, mut head, ctx): (String, String, Option<Rc<str>>),
        now: u64,
    ) {
        for i in 0..self.lanes.len() {
            if lanes >> i & 1 == 1 {
                let (id, head) = match lanes >> (i + 1) {
                    0 => (core::mem::take(&mut id), core::mem::take(&mut head)),
                    _ => (id.clone(), head.clone()),
                };
                if let Err(r) = self.lanes[i].queue.push_shared(id, head, ctx.clone(), now) {
                    self.on_report(io, i, r);
                }
            }
        }
    }

    /// Sends what is due and asks for a timer for the next wake-up. Without consent
    /// (`may_send` false) nothing leaves and held events wait for the grant.
    pub fn drive<H: Host>(&mut self, io: &mut Io<H>, may_send: bool, now: u64) {
        self.warn_refused(io);
        let sending = may_send && self.unloading.is_none();
        let mut unsaved = false;
        // What the lanes' requests under way leave of the keepalive quota.
        let in_flight: usize = self.lanes.iter().map(|l| l.keepalive).sum();
        let mut quota = queue::UNLOAD_BODY_BYTES.saturating_sub(in_flight);
        for (lane, l) in self.lanes.iter_mut().enumerate() {
            if let Some(b) = sending.then(|| l.queue.poll_batch(now)).flatten() {
                // The body is the events plus `sentAt` and `writeKey` (under 100 bytes more).
                let bytes = b.bytes + 100;
                l.keepalive = if bytes < quota { bytes } else { 0 };
                quota -= l.keepalive;
                l.sent_at = now;
                io.out.push(Action::Send {
                    lane,
                    gzip: l.gzip && b.bytes >= GZIP_MIN_BYTES,
                    keepalive: l.keepalive > 0,
                    timeout_ms: REQUEST_TIMEOUT_MS,
                });
            }
            l.unsaved |= l.queue.take_dirty();
            unsaved |= l.unsaved;
        }
        if unsaved && self.persist_due.is_none() {
            self.persist_due = Some(now + PERSIST_DELAY_MS);
        }
        let due = (self.lanes.iter())
            .filter_map(|l| l.queue.poll_timeout(now))
            .min()
            .filter(|_| may_send);
        let next = [due, self.persist_due].into_iter().flatten().min();
        if let Some(due) = next {
            if self.timer.is_none_or(|t| due < t) {
                self.timer = Some(due);
                io.out.push(Action::Timer(due));
            }
        }
    }

    /// Writes the lanes changed since their last write (`all`: every lane) to storage, marked
    /// `released` when the page is going away.
    pub fn persist<H: Host>(&mut self, io: &mut Io<H>, released: bool, all: bool, now: u64) {
        self.persist_due = None;
        for l in &mut self.lanes {
            l.unsaved |= l.queue.take_dirty();
            if !(all || l.unsaved) {
                continue;
            }
            l.unsaved = false;
            if l.queue.is_empty() {
                io.store.remove(&l.key);
                continue;
            }
            let queue = &l.queue;
            io.store
                .set_from(&l.key, &mut |out| queue.write_persisted(released, now, out));
        }
        self.warn_refused(io);
    }

    /// The first write the browser refused (disabled or full storage, blocked cookies) is told
    /// once: state is kept in memory for the page.
    fn warn_refused<H: Host>(&mut self, io: &mut Io<H>) {
        if io.store.take_refused() && !self.storage_warned {
            self.storage_warned = true;
            io.report(ErrorCode::StorageUnavailable, "the browser refused to store shoptrail's state (storage disabled or full, or cookies blocked): it is kept in memory for this page, and undelivered events will not survive a reload");
        }
    }

    /// This page's persisted queue (`shoptrail:q:<page id>`; a destination's adds `:<tag>`):
    /// the host holds a Web Lock of this name for as long as the page lives.
    pub fn queue_key(&self) -> &str {
        self.lanes.first().map_or("", |l| &l.key)
    }

    /// Adopts the queues of pages gone (released, stale, or, with `held`, the names of the Web
    /// Locks held in this origin one a line, whose lock is not held), each into the lane of its
    /// destination; true when one could not be read (it is removed). A queue for a destination
    /// this page does not name is left for a page that does, and dropped once
    /// [`ABANDONED_MS`] old.
    pub fn adopt<H: Host>(&mut self, io: &mut Io<H>, held: Option<&str>, now: u64) -> bool {
        let mut corrupt = false;
        let mut adopted = Vec::new();
        for key in io.store.keys(store::Q_PREFIX) {
            let (lock, tag) = split_key(&key);
            if lock == self.queue_key() {
                continue;
            }
            let orphan = held.is_some_and(|h| !h.lines().any(|l| l == lock));
            let stored = io.store.get(&key).and_then(|t| queue::decode(&t));
            let lane = self.lanes.iter().position(|l| l.tag == tag);
            match (stored, lane) {
                (Some(s), Some(lane)) if orphan || s.adoptable(now) => {
                    self.lanes[lane].queue.restore(s.events, now);
                    adopted.push(key);
                }
                (Some(s), None) if now.saturating_sub(s.written) >= ABANDONED_MS => {
                    io.store.remove(&key)
                }
                (Some(_), _) => {}
                (None, _) => {
                    corrupt = true;
                    io.store.remove(&key);
                }
            }
        }
        if !adopted.is_empty() {
            // Write our copy before deleting theirs, so a crash in between loses nothing.
            self.persist(io, false, false, now);
            for k in adopted {
                io.store.remove(&k);
            }
        }
        corrupt
    }

    // ---- page lifecycle ----

    /// The page is hidden (`released` false) or being left (`pagehide`, `released` true): what
    /// is queued leaves by beacon in bodies the browser accepts, and the rest is written to
    /// storage at once.
    pub fn handle_hide<H: Host>(
        &mut self,
        io: &mut Io<H>,
        released: bool,
        may_send: bool,
        now: u64,
    ) {
        if self.unloading.is_some() {
            // A beacon is being handed over: that unload goes on, and persists at its end.
            self.unloading = Some(released || self.unloading == Some(true));
            return;
        }
        self.unloading = Some(released);
        self.unload_next(io, may_send, now);
    }

    /// The answer of `sendBeacon` to the last [`Action::Beacon`].
    pub fn handle_beacon<H: Host>(
        &mut self,
        io: &mut Io<H>,
        accepted: bool,
        may_send: bool,
        now: u64,
    ) {
        if accepted {
            let (lane, count) = core::mem::take(&mut self.pending_beacon);
            if let Some(l) = self.lanes.get_mut(lane) {
                l.queue.unload_sent(count);
            }
            self.unload_next(io, may_send, now);
        } else {
            self.finish_unload(io, may_send, now);
        }
    }

    /// The next beacon, lane after lane; once none is left (or one is refused), the rest is
    /// stored.
    fn unload_next<H: Host>(&mut self, io: &mut Io<H>, may_send: bool, now: u64) {
        if may_send {
            for (lane, l) in self.lanes.iter_mut().enumerate() {
                if let Some(b) = l.queue.poll_unload_batch() {
                    self.pending_beacon = (lane, b.count);
                    l.sent_at = now;
                    return io.out.push(Action::Beacon { lane });
                }
            }
        }
        self.finish_unload(io, may_send, now)
    }

    fn finish_unload<H: Host>(&mut self, io: &mut Io<H>, may_send: bool, now: u64) {
        let released = self.unloading.take().unwrap_or(false);
        self.persist(io, released, true, now);
        if self.is_empty() && self.flush_pending {
            self.settle(io, true);
        }
        self.drive(io, may_send, now);
    }

    /// Writes the body of the request [`Action::Send`] asked for in `lane`, in parts.
    pub fn write_request(&self, lane: usize, out: &mut dyn FnMut(&str)) {
        if let Some(l) = self.lanes.get(lane) {
            l.queue.write_in_flight(l.sent_at, out)
        }
    }

    /// Writes the body of the beacon [`Action::Beacon`] asked for, in parts.
    pub fn write_beacon(&self, out: &mut dyn FnMut(&str)) {
        let (lane, count) = self.pending_beacon;
        if let Some(l) = self.lanes.get(lane) {
            l.queue.write_unload(count, l.sent_at, out)
        }
    }

    // ---- what the other parts ask ----

    /// What happened in lane `lane`, reported (a destination's reports start with its label).
    fn on_report<H: Host>(&mut self, io: &mut Io<H>, lane: usize, r: Report) {
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        let mut m = l.label.clone();
        let (code, count, mid, end) = match r {
            Report::Delivered { count } => {
                l.failing = false;
                return io.out.push(Action::Delivered { count, lane });
            }
            Report::Rejected { count, status } => {
                self.flush_failed = true;
                m.push_str("the endpoint refused a batch of ");
                json::push_u64(&mut m, count as u64);
                (
                    ErrorCode::Rejected,
                    status as u64,
                    " events with HTTP ",
                    "; they were dropped",
                )
            }
            Report::Failing { attempts } => {
                l.failing = true;
                m.push_str("delivery is failing (attempts so far: ");
                (
                    ErrorCode::DeliveryFailing,
                    attempts as u64,
                    "",
                    "); the events are kept and retried",
                )
            }
            Report::QueueFull => {
                m.push_str("the queue holds 10000 undelivered events; this event was dropped");
                return io.report(ErrorCode::QueueFull, &m);
            }
        };
        m.push_str(mid);
        json::push_u64(&mut m, count);
        m.push_str(end);
        io.report(code, &m);
    }

    /// Resolves a pending `flush()` with `ok`.
    pub fn settle<H: Host>(&mut self, io: &mut Io<H>, ok: bool) {
        if self.flush_pending {
            io.out.push(Action::Settle(ok));
        }
        self.flush_pending = false;
        self.flush_failed = false;
    }

    /// Resolves a pending `flush()` once every lane delivered or is failing (with no request
    /// under way): `true` when everything was delivered and nothing refused.
    fn settle_when_done<H: Host>(&mut self, io: &mut Io<H>) {
        let done = |l: &Lane| l.queue.is_empty() || (l.failing && !l.queue.in_flight());
        if self.flush_pending && self.lanes.iter().all(done) {
            let ok = !self.flush_failed && self.is_empty();
            self.settle(io, ok);
        }
    }

    /// Whether every lane is empty.
    pub fn is_empty(&self) -> bool {
        self.lanes.iter().all(|l| l.queue.is_empty())
    }

    /// Events queued and not yet delivered, over every lane.
    pub fn queued(&self) -> usize {
        self.lanes.iter().map(|l| l.queue.len()).sum()
    }

    /// Events in `endpoint`'s lane, which holds every event.
    pub fn held(&self) -> usize {
        self.lanes.first().map_or(0, |l| l.queue.len())
    }

    /// Drops every queued event of every lane.
    pub fn clear(&mut self) {
        for l in &mut self.lanes {
            l.queue.clear();
        }
    }

    /// Rewrites the context of every queued event (the consent member, at a grant).
    pub fn map_contexts(&mut self, f: &dyn Fn(&str) -> String) {
        for l in &mut self.lanes {
            l.queue.map_contexts(f);
        }
    }

    /// Held events sent cookieless (see `Engine::held_cookieless`): `endpoint`'s lane keeps
    /// those `head` rewrites, with contexts rewritten by `ctx`; destinations, which could not
    /// count a visitor without an id, get none.
    pub fn cookieless(
        &mut self,
        head: &dyn Fn(&str) -> Option<String>,
        ctx: &dyn Fn(&str) -> String,
    ) {
        for (i, l) in self.lanes.iter_mut().enumerate() {
            if i == 0 {
                l.queue.map_heads(head);
                l.queue.map_contexts(ctx);
            } else {
                l.queue.clear();
            }
        }
    }

    /// The last request of every lane before its state is erased: what it holds (see
    /// [`Queue::write_last`](crate::tracker_core::queue::Queue::write_last)), as
    /// [`Action::Last`].
    pub fn last_requests<H: Host>(&self, io: &mut Io<H>, now: u64) {
        for (lane, l) in self.lanes.iter().enumerate() {
            let mut body = String::new();
            l.queue.write_last(now, &mut |s| body.push_str(s));
            io.out.push(Action::Last { lane, body });
        }
    }
}

/// The driver's delivery inputs, routed to the part with the consent it needs.
impl<H: Host> Engine<H> {
    /// `flush()` (see [`Delivery::flush`]).
    pub fn flush(&mut self, now: u64) {
        let may_send = self.may_send();
        self.delivery.flush(&mut self.io, may_send, now);
    }

    /// The answer to lane `lane`'s request (see [`Delivery::handle_response`]).
    pub fn handle_response(&mut self, lane: usize, status: u16, retry: Option<&str>, now: u64) {
        let may_send = self.may_send();
        (self.delivery).handle_response(&mut self.io, (lane, status, retry), may_send, now);
    }

    /// The timer set by [`Action::Timer`] fired.
    pub fn handle_wake(&mut self, now: u64) {
        let may_send = self.may_send();
        self.delivery.handle_wake(&mut self.io, may_send, now);
    }

    /// Sends what is due and asks for a timer (see [`Delivery::drive`]).
    pub(super) fn drive(&mut self, now: u64) {
        let may_send = self.may_send();
        self.delivery.drive(&mut self.io, may_send, now);
    }

    /// The names of the Web Locks held in this origin (one a line): a stored queue whose lock
    /// no page holds belongs to a page that is gone (closed or crashed, without the time to say
    /// so) and is taken over now, not after [`queue::STALE_MS`].
    pub fn handle_adopt(&mut self, held: &str, now: u64) {
        self.delivery.adopt(&mut self.io, Some(held), now);
        self.drive(now);
    }

    /// The page is hidden (`released` false) or being left (`pagehide`, `released` true):
    /// `Page Left` once, then the queues leave by beacon (see [`Delivery::handle_hide`]).
    pub fn handle_hide(&mut self, released: bool, now: u64) {
        self.page_left(now);
        let may_send = self.may_send();
        self.delivery
            .handle_hide(&mut self.io, released, may_send, now);
    }

    /// The answer of `sendBeacon` to the last [`Action::Beacon`].
    pub fn handle_beacon(&mut self, accepted: bool, now: u64) {
        let may_send = self.may_send();
        self.delivery
            .handle_beacon(&mut self.io, accepted, may_send, now);
    }

    /// The page came back from the back-forward cache: the shopper is on it again.
    pub fn handle_show(&mut self, now: u64) {
        self.delivery.persist(&mut self.io, false, true, now);
        if self.cfg.page_views {
            self.page_view(None, "{}", now);
        }
        self.drive(now);
    }

    /// The browser is online again: retry now.
    pub fn handle_online(&mut self, now: u64) {
        let may_send = self.may_send();
        self.delivery.flush_lanes(&mut self.io, may_send, now);
    }

    /// Writes the body of the request [`Action::Send`] asked for in `lane`, in parts.
    pub fn write_request(&self, lane: usize, out: &mut dyn FnMut(&str)) {
        self.delivery.write_request(lane, out)
    }

    /// Writes the body of the beacon [`Action::Beacon`] asked for, in parts.
    pub fn write_beacon(&self, out: &mut dyn FnMut(&str)) {
        self.delivery.write_beacon(out)
    }

    /// This page's persisted queue, also the name of its Web Lock (see
    /// [`Delivery::queue_key`]).
    pub fn queue_key(&self) -> &str {
        self.delivery.queue_key()
    }

    /// Events queued and not yet delivered, over every lane (an event queued for two
    /// endpoints counts twice).
    pub fn queued(&self) -> usize {
        self.delivery.queued()
    }

    /// The lanes an event of this kind goes to, as bits: `endpoint`'s always, a
    /// destination's when its `events` list names it.
    pub(super) fn route(&self, (kind, name): (&str, Option<&str>)) -> u8 {
        let mut bits = 1;
        for (i, d) in self.cfg.destinations().iter().enumerate() {
            if d.wants(kind, name) {
                bits |= 2 << i;
            }
        }
        bits
    }
}
