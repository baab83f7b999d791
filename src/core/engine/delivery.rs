//! Delivery and the page's lifecycle: flush, requests and their answers, timers, persisting
//! and adopting queues, and handing events to beacons when the page goes away.

use super::{Action, Engine, Host, GZIP_MIN_BYTES, PERSIST_DELAY_MS, REQUEST_TIMEOUT_MS};
use crate::core::queue;
use crate::core::store;
use crate::prelude::*;

impl<H: Host> Engine<H> {
    /// `flush()`: sends everything queued now; [`Action::Settle`] follows with `true` once
    /// delivered, or `false` if delivery is failing or a batch was refused.
    pub fn flush(&mut self, now: u64) {
        self.flush_pending = true;
        // Nothing can be delivered without consent: the Promise settles with false at once.
        if self.queue.is_empty() || !self.may_send() {
            return self.settle(self.may_send());
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
    pub(super) fn drive(&mut self, now: u64) {
        self.warn_refused();
        if self.unloading.is_none() && self.may_send() {
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
        // Without consent nothing is due to leave (held events wait for the grant).
        let due = self.queue.poll_timeout(now).filter(|_| self.may_send());
        let next = [due, self.persist_due].into_iter().flatten().min();
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
        self.store
            .set_from(&key, &mut |out| queue.write_persisted(released, now, out));
        self.warn_refused();
    }

    /// The first write the browser refused (disabled or full storage, blocked cookies) is told
    /// once: state is kept in memory for the page.
    pub(super) fn warn_refused(&mut self) {
        if self.store.take_refused() && !self.storage_warned {
            self.storage_warned = true;
            self.report("storage_unavailable", "the browser refused to store shoptrail's state (storage disabled or full, or cookies blocked): it is kept in memory for this page, and undelivered events will not survive a reload");
        }
    }

    /// This page's persisted queue (`shoptrail:q:<page id>`): the host holds a Web Lock of
    /// this name for as long as the page lives.
    pub fn queue_key(&self) -> &str {
        &self.queue_key
    }

    /// The names of the Web Locks held in this origin (one a line): a stored queue whose lock
    /// no page holds belongs to a page that is gone (closed or crashed, without the time to say
    /// so) and is taken over now, not after [`queue::STALE_MS`].
    pub fn handle_adopt(&mut self, held: &str, now: u64) {
        self.adopt_queues(now, Some(held));
        self.drive(now);
    }

    /// Adopts the queues of pages gone (released, stale, or, with `held`, whose lock is not
    /// held); true when one could not be read (it is removed).
    pub(super) fn adopt_queues(&mut self, now: u64, held: Option<&str>) -> bool {
        let mut corrupt = false;
        let mut adopted = Vec::new();
        for key in self.store.keys(store::Q_PREFIX) {
            if key == self.queue_key {
                continue;
            }
            let orphan = held.is_some_and(|h| !h.lines().any(|l| l == key));
            match self.store.get(&key).and_then(|t| queue::decode(&t)) {
                Some(stored) if orphan || stored.adoptable(now) => {
                    self.queue.restore(stored.events, now);
                    adopted.push(key);
                }
                Some(_) => {}
                None => {
                    corrupt = true;
                    self.store.remove(&key);
                }
            }
        }
        if !adopted.is_empty() {
            // Write our copy before deleting theirs, so a crash in between loses nothing.
            self.persist(false, now);
            for k in adopted {
                self.store.remove(&k);
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
            let count = core::mem::take(&mut self.pending_beacon);
            self.queue.unload_sent(count);
            self.unload_next(now);
        } else {
            self.finish_unload(now);
        }
    }

    fn unload_next(&mut self, now: u64) {
        let batch = self.queue.poll_unload_batch().filter(|_| self.may_send());
        match batch {
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
