//! Delivery and the page's lifecycle: flush, requests and their answers, timers, persisting
//! and adopting queues, and handing events to beacons when the page goes away. A changed queue
//! is written [`PERSIST_DELAY_MS`] later (changes in between coalesce), at once when the page is
//! hidden; a page back from the back-forward cache, or a browser back online, sends again.

use super::lanes::{split_key, ABANDONED_MS};
use super::{Action, Engine, Host, GZIP_MIN_BYTES, PERSIST_DELAY_MS, REQUEST_TIMEOUT_MS};
use crate::prelude::*;
use crate::tracker_core::queue;
use crate::tracker_core::store;

impl<H: Host> Engine<H> {
    /// `flush()`: sends everything queued now, in every lane; [`Action::Settle`] follows with
    /// `true` once every lane delivered, or `false` if delivery is failing in one or a batch
    /// was refused.
    pub fn flush(&mut self, now: u64) {
        self.flush_pending = true;
        // Nothing can be delivered without consent: the Promise settles with false at once.
        if self.lanes_empty() || !self.may_send() {
            return self.settle(self.may_send());
        }
        self.flush_lanes(now);
    }

    fn flush_lanes(&mut self, now: u64) {
        for l in &mut self.lanes {
            l.queue.flush();
        }
        self.drive(now);
    }

    /// The answer to lane `lane`'s request under way: an HTTP status (0 for a network error or
    /// an abort) and its Retry-After header.
    pub fn handle_response(&mut self, lane: usize, status: u16, retry: Option<&str>, now: u64) {
        let outcome = queue::classify(status, retry);
        let rand = self.io.rand_u32();
        let report = self.lanes.get_mut(lane).map(|l| {
            l.keepalive = 0;
            l.queue.on_response(outcome, now, rand)
        });
        if let Some(Some(r)) = report {
            self.on_report(lane, r);
        }
        // Also when nothing is reported: a lane already failing failed again.
        self.settle_when_done();
        self.drive(now);
    }

    /// The timer set by [`Action::Timer`] fired.
    pub fn handle_wake(&mut self, now: u64) {
        self.timer = None;
        if self.persist_due.is_some_and(|t| t <= now) {
            self.persist(false, false, now);
        }
        self.drive(now);
    }

    /// Sends what is due and asks for a timer for the next wake-up.
    pub(super) fn drive(&mut self, now: u64) {
        self.warn_refused();
        let may_send = self.may_send();
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
                self.io.out.push(Action::Send {
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
        // Without consent nothing is due to leave (held events wait for the grant).
        let due = (self.lanes.iter())
            .filter_map(|l| l.queue.poll_timeout(now))
            .min()
            .filter(|_| may_send);
        let next = [due, self.persist_due].into_iter().flatten().min();
        if let Some(due) = next {
            if self.timer.is_none_or(|t| due < t) {
                self.timer = Some(due);
                self.io.out.push(Action::Timer(due));
            }
        }
    }

    /// Writes the lanes changed since their last write (`all`: every lane) to storage, marked
    /// `released` when the page is going away.
    fn persist(&mut self, released: bool, all: bool, now: u64) {
        self.persist_due = None;
        for l in &mut self.lanes {
            l.unsaved |= l.queue.take_dirty();
            if !(all || l.unsaved) {
                continue;
            }
            l.unsaved = false;
            if l.queue.is_empty() {
                self.io.store.remove(&l.key);
                continue;
            }
            let queue = &l.queue;
            self.io
                .store
                .set_from(&l.key, &mut |out| queue.write_persisted(released, now, out));
        }
        self.warn_refused();
    }

    /// The first write the browser refused (disabled or full storage, blocked cookies) is told
    /// once: state is kept in memory for the page.
    pub(super) fn warn_refused(&mut self) {
        if self.io.store.take_refused() && !self.storage_warned {
            self.storage_warned = true;
            self.report("storage_unavailable", "the browser refused to store shoptrail's state (storage disabled or full, or cookies blocked): it is kept in memory for this page, and undelivered events will not survive a reload");
        }
    }

    /// This page's persisted queue (`shoptrail:q:<page id>`; a destination's adds `:<tag>`):
    /// the host holds a Web Lock of this name for as long as the page lives.
    pub fn queue_key(&self) -> &str {
        self.lanes.first().map_or("", |l| &l.key)
    }

    /// The names of the Web Locks held in this origin (one a line): a stored queue whose lock
    /// no page holds belongs to a page that is gone (closed or crashed, without the time to say
    /// so) and is taken over now, not after [`queue::STALE_MS`].
    pub fn handle_adopt(&mut self, held: &str, now: u64) {
        self.adopt_queues(now, Some(held));
        self.drive(now);
    }

    /// Adopts the queues of pages gone (released, stale, or, with `held`, whose lock is not
    /// held), each into the lane of its destination; true when one could not be read (it is
    /// removed). A queue for a destination this page does not name is left for a page that
    /// does, and dropped once [`ABANDONED_MS`] old.
    pub(super) fn adopt_queues(&mut self, now: u64, held: Option<&str>) -> bool {
        let mut corrupt = false;
        let mut adopted = Vec::new();
        for key in self.io.store.keys(store::Q_PREFIX) {
            let (lock, tag) = split_key(&key);
            if lock == self.queue_key() {
                continue;
            }
            let orphan = held.is_some_and(|h| !h.lines().any(|l| l == lock));
            let stored = self.io.store.get(&key).and_then(|t| queue::decode(&t));
            match (stored, self.lane_of(tag)) {
                (Some(s), Some(lane)) if orphan || s.adoptable(now) => {
                    self.lanes[lane].queue.restore(s.events, now);
                    adopted.push(key);
                }
                (Some(s), None) if now.saturating_sub(s.written) >= ABANDONED_MS => {
                    self.io.store.remove(&key)
                }
                (Some(_), _) => {}
                (None, _) => {
                    corrupt = true;
                    self.io.store.remove(&key);
                }
            }
        }
        if !adopted.is_empty() {
            // Write our copy before deleting theirs, so a crash in between loses nothing.
            self.persist(false, false, now);
            for k in adopted {
                self.io.store.remove(&k);
            }
        }
        corrupt
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
            let (lane, count) = core::mem::take(&mut self.pending_beacon);
            if let Some(l) = self.lanes.get_mut(lane) {
                l.queue.unload_sent(count);
            }
            self.unload_next(now);
        } else {
            self.finish_unload(now);
        }
    }

    /// The next beacon, lane after lane; once none is left (or one is refused), the rest is
    /// stored.
    fn unload_next(&mut self, now: u64) {
        if self.may_send() {
            for (lane, l) in self.lanes.iter_mut().enumerate() {
                if let Some(b) = l.queue.poll_unload_batch() {
                    self.pending_beacon = (lane, b.count);
                    l.sent_at = now;
                    return self.io.out.push(Action::Beacon { lane });
                }
            }
        }
        self.finish_unload(now)
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

    fn finish_unload(&mut self, now: u64) {
        let released = self.unloading.take().unwrap_or(false);
        self.persist(released, true, now);
        if self.lanes_empty() && self.flush_pending {
            self.settle(true);
        }
        self.drive(now);
    }

    /// The page came back from the back-forward cache: the shopper is on it again.
    pub fn handle_show(&mut self, now: u64) {
        self.persist(false, true, now);
        if self.cfg.page_views {
            self.page_view(None, "{}", now);
        }
        self.drive(now);
    }

    /// The browser is online again: retry now.
    pub fn handle_online(&mut self, now: u64) {
        self.flush_lanes(now);
    }
}
