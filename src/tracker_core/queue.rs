//! The delivery queue: batching thresholds, the retry schedule, the split of a batch refused
//! with 413, the bodies sent while the page unloads, and the persisted format.
//!
//! Sans-IO: the caller passes `now` (Unix ms) and random numbers in, asks [`Queue::poll_batch`]
//! for a batch to send and has [`Queue::write_in_flight`] write its body in parts, reports the
//! answer with [`Queue::on_response`], and sleeps until [`Queue::poll_timeout`].

use super::{json, time};
use crate::prelude::*;
use alloc::rc::Rc;

/// Bodies sent while the page unloads stay under this size (the keepalive/beacon quota is 64 KiB).
pub const UNLOAD_BODY_BYTES: usize = 60 * 1024;
/// Most events kept at once; further events are refused with [`Report::QueueFull`].
pub const MAX_QUEUED: usize = 10_000;
/// A persisted queue not rewritten for this long belongs to a page that is gone.
pub const STALE_MS: u64 = 5 * 60 * 1000;
/// Most events in one request. `batch_size` is the count that starts a request; when more are
/// waiting (a flush, a backlog after an outage) one request takes up to this many, so that a
/// thousand queued events leave in a few requests instead of fifty.
pub const MAX_BATCH_EVENTS: usize = 500;
/// The longest Retry-After honoured.
pub const MAX_RETRY_AFTER_MS: u64 = 10 * 60 * 1000;

/// Delivery settings, from the validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Queued events that start a request (it may carry up to [`MAX_BATCH_EVENTS`]).
    pub batch_size: usize,
    /// Most bytes in one request body.
    pub max_batch_bytes: usize,
    /// How long the oldest queued event may wait before a batch leaves, ms.
    pub flush_interval: u64,
    /// Failed attempts after which a batch is reported as failing (it is still kept and retried).
    pub max_retries: u32,
    /// First retry delay, ms; doubles per failure.
    pub base_backoff: u64,
    /// Longest retry delay, ms.
    pub max_backoff: u64,
    /// Sent as `writeKey` in each batch body.
    pub write_key: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_size: 20,
            max_batch_bytes: 480 * 1024,
            flush_interval: 1000,
            max_retries: 10,
            base_backoff: 1000,
            max_backoff: 60_000,
            write_key: None,
        }
    }
}

/// How the endpoint answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the batch is stored.
    Delivered,
    /// Network error, 408, 429 or 5xx: try again, after `after_ms` when the server said so.
    Retry {
        /// The server's Retry-After, in ms.
        after_ms: Option<u64>,
    },
    /// 413: the body was too large; a smaller batch may pass.
    TooLarge,
    /// Any other status: the server will never accept this batch.
    Rejected {
        /// The HTTP status.
        status: u16,
    },
}

/// Maps an HTTP status (0 for a network error) and its Retry-After header to an [`Outcome`].
pub fn classify(status: u16, retry_after: Option<&str>) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        0 | 408 | 429 | 500..=599 => Outcome::Retry {
            after_ms: retry_after
                .and_then(|s| json::parse_u64(s.trim()))
                .map(|s| s.saturating_mul(1000)),
        },
        413 => Outcome::TooLarge,
        _ => Outcome::Rejected { status },
    }
}

/// What happened to queued events, for `onError` and event listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The endpoint stored `count` events.
    Delivered {
        /// Events in the delivered batch.
        count: usize,
    },
    /// The endpoint refused `count` events for good; they are dropped.
    Rejected {
        /// Events dropped.
        count: usize,
        /// The HTTP status.
        status: u16,
    },
    /// A batch has failed `attempts` times; its events stay queued and are retried.
    Failing {
        /// Failed attempts so far.
        attempts: u32,
    },
    /// The queue holds [`MAX_QUEUED`] events; a new one was refused.
    QueueFull,
}

/// A request body, whole (tests; the engine writes bodies in parts).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The JSON body: `{"batch":[...],"sentAt":"...","writeKey":"..."}`.
    pub body: String,
    /// Events in the batch.
    pub count: usize,
}

/// A batch chosen to leave: how many events from the front of the part concerned, and the
/// bytes of its body (within a few bytes: the `sentAt` and `writeKey` members are not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Events in the batch.
    pub count: usize,
    /// Bytes of the events and their separators.
    pub bytes: usize,
}

/// A queued event. Its JSON text is `head`, followed (when `ctx` is set) by the context object
/// and the closing brace: the events of one page view share one context in memory and in the
/// persisted form instead of carrying a copy each.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    head: String,
    ctx: Option<Rc<str>>,
}

impl Item {
    fn len(&self) -> usize {
        self.head.len() + self.ctx.as_ref().map_or(0, |c| c.len() + 1)
    }

    fn write(&self, out: &mut dyn FnMut(&str)) {
        out(&self.head);
        if let Some(c) = &self.ctx {
            out(c);
            out("}");
        }
    }
}

/// The queue of serialized events and the state of their delivery.
#[derive(Debug)]
pub struct Queue {
    s: Settings,
    /// Oldest first. A `Vec`: removing from the front moves at most a few hundred small
    /// items, and one collection type keeps the wasm smaller than two.
    items: Vec<Item>,
    /// Events at the front that are in the request under way (0: none under way).
    in_flight: usize,
    pending_bytes: usize,
    failures: u32,
    retry_at: Option<u64>,
    since: Option<u64>,
    flush: bool,
    split: usize,
    dirty: bool,
}

impl Queue {
    /// An empty queue.
    pub fn new(s: Settings) -> Self {
        Queue {
            s,
            items: Vec::new(),
            in_flight: 0,
            pending_bytes: 0,
            failures: 0,
            retry_at: None,
            since: None,
            flush: false,
            split: 0,
            dirty: false,
        }
    }

    /// Events queued, including those in the request under way.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Drops every event (a request under way is forgotten: its answer changes nothing).
    pub fn clear(&mut self) {
        *self = Queue::new(self.s.clone());
        self.dirty = true;
    }

    /// Rewrites the text up to the context of every queued event, dropping those `f` answers
    /// `None` for, and those kept as whole text (a `beforeSend` result, a queue adopted from
    /// storage), which it cannot rewrite. Only while nothing is under way (held events, before
    /// any request).
    pub fn map_heads(&mut self, f: &dyn Fn(&str) -> Option<String>) {
        self.items
            .retain_mut(|i| i.ctx.is_some() && f(&i.head).map(|h| i.head = h).is_some());
    }

    /// Rewrites the shared context of every queued event; events that shared one context
    /// share the new one.
    pub fn map_contexts(&mut self, f: &dyn Fn(&str) -> String) {
        let mut last: Option<(Rc<str>, Rc<str>)> = None;
        for item in &mut self.items {
            let Some(old) = item.ctx.take() else { continue };
            let new = match &last {
                Some((o, n)) if Rc::ptr_eq(o, &old) => n.clone(),
                _ => {
                    let n: Rc<str> = Rc::from(f(&old));
                    last = Some((old, n.clone()));
                    n
                }
            };
            item.ctx = Some(new);
        }
        self.pending_bytes = self
            .items
            .iter()
            .skip(self.in_flight)
            .map(|i| i.len() + 1)
            .sum();
        self.dirty = true;
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether a request is under way.
    pub fn in_flight(&self) -> bool {
        self.in_flight > 0
    }

    /// Adds a serialized event keyed by its messageId (the caller makes ids unique; only
    /// [`Queue::restore`] skips ids already queued).
    pub fn push(&mut self, id: String, json: String, now: u64) -> Result<(), Report> {
        self.push_item(
            Item {
                id,
                head: json,
                ctx: None,
            },
            now,
        )
    }

    /// Adds an event whose JSON text is `head`, then (when given) the shared `context`
    /// object, then `}`.
    pub fn push_shared(
        &mut self,
        id: String,
        head: String,
        ctx: Option<Rc<str>>,
        now: u64,
    ) -> Result<(), Report> {
        self.push_item(Item { id, head, ctx }, now)
    }

    fn push_item(&mut self, item: Item, now: u64) -> Result<(), Report> {
        if self.items.len() >= MAX_QUEUED {
            return Err(Report::QueueFull);
        }
        self.pending_bytes += item.len() + 1;
        self.items.push(item);
        self.since.get_or_insert(now);
        self.dirty = true;
        Ok(())
    }

    /// Adds events restored from storage, skipping ids already queued.
    pub fn restore(&mut self, events: Vec<(String, String)>, now: u64) {
        for (id, json) in events {
            if !self.items.iter().any(|i| i.id == id) {
                let _ = self.push(id, json, now);
            }
        }
    }

    /// Asks for everything queued to leave now, ignoring the batching thresholds.
    pub fn flush(&mut self) {
        if !self.items.is_empty() {
            self.flush = true;
            self.retry_at = self.retry_at.map(|_| 0);
        }
    }

    fn pending(&self) -> usize {
        self.items.len() - self.in_flight
    }

    fn due(&self, now: u64) -> bool {
        self.flush
            || self.retry_at.is_some()
            || self.pending() >= self.s.batch_size
            || self.pending_bytes >= self.s.max_batch_bytes
            || self
                .since
                .is_some_and(|t| now >= t.saturating_add(self.s.flush_interval))
    }

    /// The next batch to send, when one is due and none is under way: it is under way from
    /// now on; [`Queue::write_in_flight`] writes its body.
    pub fn poll_batch(&mut self, now: u64) -> Option<Batch> {
        if self.in_flight > 0 || self.items.is_empty() {
            return None;
        }
        if self.retry_at.is_some_and(|t| now < t) || !self.due(now) {
            return None;
        }
        let limit = if self.split > 0 {
            self.split
        } else {
            MAX_BATCH_EVENTS
        };
        let b = self.choose(0, limit, self.s.max_batch_bytes);
        self.in_flight = b.count;
        Some(b)
    }

    /// The next request body to send, whole (tests; the engine writes bodies in parts).
    #[cfg(test)]
    pub fn poll_transmit(&mut self, now: u64) -> Option<Transmit> {
        let b = self.poll_batch(now)?;
        let mut body = String::new();
        self.write_in_flight(now, &mut |s| body.push_str(s));
        Some(Transmit {
            body,
            count: b.count,
        })
    }

    /// Writes the body of the batch under way, in parts (no copy of the whole body is made).
    pub fn write_in_flight(&self, now: u64, out: &mut dyn FnMut(&str)) {
        self.write_batch(0, self.in_flight, now, out)
    }

    /// Up to `limit` events from `start` whose body stays within `max_bytes` (at least one).
    fn choose(&self, start: usize, limit: usize, max_bytes: usize) -> Batch {
        let mut bytes = 0;
        let mut count = 0;
        for item in self.items.iter().skip(start).take(limit.max(1)) {
            if count > 0 && 10 + bytes + item.len() + 100 > max_bytes {
                break;
            }
            bytes += item.len() + 1;
            count += 1;
        }
        Batch { count, bytes }
    }

    /// Writes `{"batch":[...],"sentAt":"...","writeKey":"..."}` for `count` events from `start`.
    fn write_batch(&self, start: usize, count: usize, now: u64, out: &mut dyn FnMut(&str)) {
        out("{\"batch\":[");
        for (i, item) in self.items.iter().skip(start).take(count).enumerate() {
            if i > 0 {
                out(",");
            }
            item.write(out);
        }
        let mut tail = String::with_capacity(80);
        tail.push_str("],\"sentAt\":\"");
        time::push_iso8601(&mut tail, now);
        tail.push('"');
        if let Some(k) = &self.s.write_key {
            json::push_key(&mut tail, "writeKey", false);
            json::push_str(&mut tail, k);
        }
        tail.push('}');
        out(&tail);
    }

    fn remove_front(&mut self, n: usize) {
        for item in self.items.drain(..n.min(self.items.len())) {
            self.pending_bytes = self.pending_bytes.saturating_sub(item.len() + 1);
        }
        self.dirty = true;
        if self.items.is_empty() {
            self.flush = false;
            self.since = None;
            self.pending_bytes = 0;
        }
    }

    /// Records the answer to the request under way. `rand` is any random u32 (for jitter).
    pub fn on_response(&mut self, outcome: Outcome, now: u64, rand: u32) -> Option<Report> {
        let n = core::mem::take(&mut self.in_flight);
        if n == 0 {
            return None;
        }
        match outcome {
            Outcome::Delivered => {
                self.remove_front(n);
                self.failures = 0;
                self.split = 0;
                self.retry_at = None;
                Some(Report::Delivered { count: n })
            }
            Outcome::TooLarge if n > 1 => {
                self.split = n / 2;
                self.retry_at = Some(now);
                None
            }
            Outcome::Rejected { .. } | Outcome::TooLarge => {
                self.remove_front(n);
                self.failures = 0;
                self.retry_at = None;
                let status = match outcome {
                    Outcome::Rejected { status } => status,
                    _ => 413,
                };
                Some(Report::Rejected { count: n, status })
            }
            Outcome::Retry { after_ms } => {
                self.failures = self.failures.saturating_add(1);
                let delay = match after_ms {
                    Some(ms) => ms.min(MAX_RETRY_AFTER_MS),
                    None => self.backoff(self.failures, rand),
                };
                self.retry_at = Some(now.saturating_add(delay));
                self.dirty = true;
                (self.failures == self.s.max_retries.saturating_add(1)).then_some(Report::Failing {
                    attempts: self.failures,
                })
            }
        }
    }

    /// The delay before retry number `failures`: exponential, capped, with "equal jitter"
    /// (half fixed, half random) so that many clients do not retry in step.
    pub fn backoff(&self, failures: u32, rand: u32) -> u64 {
        let exp = self
            .s
            .base_backoff
            .saturating_mul(1u64 << failures.saturating_sub(1).min(30))
            .min(self.s.max_backoff);
        let half = exp / 2;
        half + (rand as u64 * (exp - half + 1)) / (u32::MAX as u64 + 1)
    }

    /// Failed attempts of the batch at the front.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the caller should call [`Queue::poll_batch`] next, if anything waits.
    pub fn poll_timeout(&self, now: u64) -> Option<u64> {
        if self.in_flight > 0 || self.items.is_empty() {
            return None;
        }
        if let Some(t) = self.retry_at {
            return Some(t);
        }
        if self.due(now) {
            return Some(now);
        }
        self.since.map(|t| t.saturating_add(self.s.flush_interval))
    }

    /// [`Queue::poll_unload_batch`] with its body written whole (tests).
    #[cfg(test)]
    pub fn poll_unload(&self, now: u64) -> Option<Transmit> {
        let b = self.poll_unload_batch()?;
        let mut body = String::new();
        self.write_unload(b.count, now, &mut |s| body.push_str(s));
        Some(Transmit {
            body,
            count: b.count,
        })
    }

    /// While the page unloads: the next batch of events not under way whose body stays under
    /// [`UNLOAD_BODY_BYTES`]; [`Queue::write_unload`] writes it. Call [`Queue::unload_sent`] once
    /// it is handed to the browser.
    ///
    /// Nothing is offered while the endpoint is failing: a beacon cannot report failure, so
    /// during an outage the events stay persisted for the next page instead.
    pub fn poll_unload_batch(&self) -> Option<Batch> {
        if self.pending() == 0 || self.failures > 0 {
            return None;
        }
        Some(self.choose(self.in_flight, usize::MAX, UNLOAD_BODY_BYTES))
    }

    /// Writes the body of the first `count` events not under way, in parts.
    pub fn write_unload(&self, count: usize, now: u64, out: &mut dyn FnMut(&str)) {
        self.write_batch(self.in_flight, count, now, out)
    }

    /// The body of the last request before an erasure (a withdrawal of consent): every event,
    /// those under way too (the collector keeps an event once, by messageId), newest first
    /// kept when they pass [`UNLOAD_BODY_BYTES`] together; in parts.
    pub fn write_last(&self, now: u64, out: &mut dyn FnMut(&str)) {
        let mut bytes = 100;
        let count = (self.items.iter().rev())
            .take_while(|i| {
                bytes += i.len() + 1;
                bytes <= UNLOAD_BODY_BYTES
            })
            .count()
            .max(1);
        self.write_batch(self.items.len().saturating_sub(count), count, now, out)
    }

    /// Removes the `count` events of the batch [`Queue::poll_unload_batch`] gave.
    pub fn unload_sent(&mut self, count: usize) {
        let start = self.in_flight;
        let end = (start + count).min(self.items.len());
        for item in self.items.drain(start..end) {
            self.pending_bytes = self.pending_bytes.saturating_sub(item.len() + 1);
        }
        self.dirty = true;
        if self.items.is_empty() {
            self.remove_front(0);
        }
    }

    /// Whether the queue changed since the last [`Queue::take_dirty`].
    pub fn take_dirty(&mut self) -> bool {
        core::mem::take(&mut self.dirty)
    }

    /// The persisted form of the queue, whole (tests; the engine writes it in parts).
    #[cfg(test)]
    pub fn encode(&self, released: bool, now: u64) -> String {
        let mut out = String::new();
        self.write_persisted(released, now, &mut |s| out.push_str(s));
        out
    }

    /// Writes the persisted form in parts: a header line `st2 <a|r> <written-ms>`, then for
    /// each event `messageId<TAB>context<TAB>text`, where `context` numbers the context lines
    /// (`<TAB>context-json`) written before it, 0 first, and the event's JSON is `text` + that
    /// context + `}`; `-` means `text` is the whole event. JSON text never holds a raw newline
    /// or tab.
    pub fn write_persisted(&self, released: bool, now: u64, out: &mut dyn FnMut(&str)) {
        let mut head = String::from(if released { "st2 r " } else { "st2 a " });
        json::push_u64(&mut head, now);
        out(&head);
        let mut last: Option<&Rc<str>> = None;
        let mut index = 0u64;
        let mut number = String::new();
        for item in &self.items {
            if let Some(c) = &item.ctx {
                if !last.is_some_and(|l| Rc::ptr_eq(l, c)) {
                    if last.is_some() {
                        index += 1;
                    }
                    last = Some(c);
                    out("\n\t");
                    out(c);
                }
            }
            out("\n");
            out(&item.id);
            out("\t");
            match item.ctx {
                Some(_) => {
                    number.clear();
                    json::push_u64(&mut number, index);
                    out(&number);
                }
                None => out("-"),
            }
            out("\t");
            out(&item.head);
        }
    }
}

/// A queue read back from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The page that wrote it is gone (it said so on `pagehide`).
    pub released: bool,
    /// When it was written, Unix ms.
    pub written: u64,
    /// `(messageId, event JSON)` in queue order.
    pub events: Vec<(String, String)>,
}

impl Stored {
    /// Whether another page may take these events over: released, or not rewritten for
    /// [`STALE_MS`].
    pub fn adoptable(&self, now: u64) -> bool {
        self.released || now.saturating_sub(self.written) >= STALE_MS
    }
}

/// Reads the persisted form written by [`Queue::write_persisted`] (`st2`), or by earlier
/// versions (`st1`: `messageId<TAB>event-json` lines). Lines that are not events are skipped;
/// text in another format gives `None`.
pub fn decode(text: &str) -> Option<Stored> {
    let mut lines = text.split('\n');
    let head = lines.next()?;
    let (version, rest) = head.split_once(' ')?;
    let (flag, ts) = rest.split_once(' ')?;
    let mut contexts: Vec<&str> = Vec::new();
    let mut events = Vec::new();
    for l in lines {
        let event = match version {
            "st1" => l
                .split_once('\t')
                .map(|(id, json)| (id.to_string(), json.to_string())),
            "st2" => {
                if let Some(c) = l.strip_prefix('\t') {
                    contexts.push(c);
                    continue;
                }
                let mut f = l.splitn(3, '\t');
                let (Some(id), Some(ctx), Some(text)) = (f.next(), f.next(), f.next()) else {
                    continue;
                };
                let json = match ctx {
                    "-" => text.to_string(),
                    n => match json::parse_u64(n).and_then(|n| contexts.get(n as usize)) {
                        Some(c) => [text, c, "}"].concat(),
                        None => continue,
                    },
                };
                Some((id.to_string(), json))
            }
            _ => return None,
        };
        if let Some((id, json)) = event {
            if super::id::is_valid_id(&id) && json.starts_with('{') && json.ends_with('}') {
                events.push((id, json));
            }
        }
    }
    Some(Stored {
        released: flag == "r",
        written: json::parse_u64(ts)?,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn ev(i: usize) -> (String, String) {
        let id = format!("id-{i}");
        let json = format!("{{\"messageId\":\"{id}\",\"type\":\"track\",\"event\":\"E{i}\"}}");
        (id, json)
    }

    fn queue(batch: usize) -> Queue {
        Queue::new(Settings {
            batch_size: batch,
            ..Settings::default()
        })
    }

    fn ids(body: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(body).unwrap();
        v["batch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["messageId"].as_str().unwrap().into())
            .collect()
    }

    #[test]
    fn sends_when_batch_is_full() {
        let mut q = queue(3);
        for i in 0..2 {
            let (id, j) = ev(i);
            q.push(id, j, 100).unwrap();
        }
        assert_eq!(q.poll_transmit(100), None);
        let (id, j) = ev(2);
        q.push(id, j, 100).unwrap();
        let t = q.poll_transmit(100).unwrap();
        assert_eq!(t.count, 3);
        assert_eq!(ids(&t.body), ["id-0", "id-1", "id-2"]);
        let v: Value = serde_json::from_str(&t.body).unwrap();
        assert_eq!(v["sentAt"], "1970-01-01T00:00:00.100Z");
        // One request at a time.
        assert_eq!(q.poll_transmit(100), None);
        assert_eq!(
            q.on_response(Outcome::Delivered, 150, 0),
            Some(Report::Delivered { count: 3 })
        );
        assert!(q.is_empty());
    }

    #[test]
    fn sends_after_flush_interval_and_on_flush() {
        let mut q = queue(20);
        let (id, j) = ev(0);
        q.push(id, j, 1000).unwrap();
        assert_eq!(q.poll_timeout(1000), Some(2000));
        assert_eq!(q.poll_transmit(1999), None);
        assert!(q.poll_transmit(2000).is_some());
        q.on_response(Outcome::Delivered, 2001, 0);
        let (id, j) = ev(1);
        q.push(id, j, 3000).unwrap();
        q.flush();
        assert_eq!(q.poll_timeout(3000), Some(3000));
        assert_eq!(q.poll_transmit(3000).unwrap().count, 1);
    }

    #[test]
    fn batch_respects_byte_limit() {
        let mut q = Queue::new(Settings {
            batch_size: 100,
            max_batch_bytes: 400,
            ..Settings::default()
        });
        for i in 0..10 {
            let (id, j) = ev(i);
            q.push(id, j, 0).unwrap();
        }
        let t = q.poll_transmit(0).unwrap();
        assert!(t.body.len() <= 400, "{}", t.body.len());
        assert!(t.count >= 2 && t.count < 10);
    }

    #[test]
    fn retry_schedule_on_a_virtual_clock() {
        let mut q = Queue::new(Settings {
            max_retries: 3,
            ..Settings::default()
        });
        let (id, j) = ev(0);
        q.push(id, j, 0).unwrap();
        q.flush();
        let mut now = 0;
        let mut delays = vec![];
        let mut reports = vec![];
        for _ in 0..9 {
            let t = q.poll_transmit(now).expect("due");
            assert_eq!(t.count, 1);
            reports.push(q.on_response(Outcome::Retry { after_ms: None }, now, u32::MAX));
            let next = q.poll_timeout(now).unwrap();
            assert_eq!(q.poll_transmit(next - 1), None, "not before the delay");
            delays.push(next - now);
            now = next;
        }
        // Full jitter at rand=MAX gives the whole exponential delay, capped at 60 s.
        assert_eq!(
            delays,
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        assert_eq!(
            reports.iter().flatten().collect::<Vec<_>>(),
            [&Report::Failing { attempts: 4 }]
        );
        assert_eq!(q.len(), 1, "a failing batch is kept");
        q.poll_transmit(now).unwrap();
        assert_eq!(
            q.on_response(Outcome::Delivered, now, 0),
            Some(Report::Delivered { count: 1 })
        );
        assert_eq!(q.failures(), 0);
    }

    #[test]
    fn jitter_stays_within_half_to_full_delay() {
        let q = queue(1);
        for r in [0, 1, 12345, u32::MAX / 2, u32::MAX] {
            let d = q.backoff(3, r);
            assert!((2000..=4000).contains(&d), "{d}");
        }
        assert_eq!(q.backoff(3, 0), 2000);
    }

    #[test]
    fn honours_retry_after_and_classifies_statuses() {
        assert_eq!(classify(204, None), Outcome::Delivered);
        assert_eq!(classify(0, None), Outcome::Retry { after_ms: None });
        assert_eq!(
            classify(503, Some(" 7 ")),
            Outcome::Retry {
                after_ms: Some(7000)
            }
        );
        assert_eq!(
            classify(429, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Outcome::Retry { after_ms: None }
        );
        assert_eq!(classify(408, None), Outcome::Retry { after_ms: None });
        assert_eq!(classify(400, None), Outcome::Rejected { status: 400 });
        assert_eq!(classify(413, None), Outcome::TooLarge);
        let mut q = queue(1);
        let (id, j) = ev(0);
        q.push(id, j, 0).unwrap();
        q.poll_transmit(0).unwrap();
        q.on_response(classify(429, Some("30")), 10, 0);
        assert_eq!(q.poll_timeout(10), Some(30_010));
    }

    #[test]
    fn rejected_batches_are_dropped_and_reported() {
        let mut q = queue(2);
        for i in 0..2 {
            let (id, j) = ev(i);
            q.push(id, j, 0).unwrap();
        }
        q.poll_transmit(0).unwrap();
        // Queued while the request was under way: not part of the refused batch.
        let (id, j) = ev(2);
        q.push(id, j, 0).unwrap();
        assert_eq!(
            q.on_response(Outcome::Rejected { status: 400 }, 0, 0),
            Some(Report::Rejected {
                count: 2,
                status: 400
            })
        );
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn too_large_splits_the_batch() {
        let mut q = queue(8);
        for i in 0..8 {
            let (id, j) = ev(i);
            q.push(id, j, 0).unwrap();
        }
        assert_eq!(q.poll_transmit(0).unwrap().count, 8);
        assert_eq!(q.on_response(Outcome::TooLarge, 0, 0), None);
        assert_eq!(q.poll_transmit(0).unwrap().count, 4);
        q.on_response(Outcome::TooLarge, 0, 0);
        assert_eq!(q.poll_transmit(0).unwrap().count, 2);
        q.on_response(Outcome::TooLarge, 0, 0);
        assert_eq!(q.poll_transmit(0).unwrap().count, 1);
        assert_eq!(
            q.on_response(Outcome::TooLarge, 0, 0),
            Some(Report::Rejected {
                count: 1,
                status: 413
            })
        );
        assert_eq!(q.len(), 7);
    }

    #[test]
    fn unload_sends_pending_events_in_small_bodies_but_not_those_under_way() {
        // 8 events of 20 KB: the request under way takes the two that fit its byte limit.
        let mut q = Queue::new(Settings {
            batch_size: 2,
            max_batch_bytes: 45_000,
            ..Settings::default()
        });
        let big = "x".repeat(20_000);
        for i in 0..8 {
            q.push(
                format!("id-{i}"),
                format!("{{\"messageId\":\"id-{i}\",\"pad\":\"{big}\"}}"),
                0,
            )
            .unwrap();
        }
        let under_way = q.poll_transmit(0).unwrap();
        assert_eq!(ids(&under_way.body), ["id-0", "id-1"]);
        let mut sent = vec![];
        while let Some(t) = q.poll_unload(5) {
            assert!(t.body.len() < UNLOAD_BODY_BYTES);
            sent.extend(ids(&t.body));
            q.unload_sent(t.count);
        }
        assert_eq!(sent, ["id-2", "id-3", "id-4", "id-5", "id-6", "id-7"]);
        assert_eq!(q.len(), 2);
        assert_eq!(
            q.on_response(Outcome::Delivered, 9, 0),
            Some(Report::Delivered { count: 2 })
        );
        assert!(q.is_empty());
    }

    #[test]
    fn no_beacon_while_the_endpoint_is_failing() {
        let mut q = queue(1);
        for i in 0..3 {
            let (id, j) = ev(i);
            q.push(id, j, 0).unwrap();
        }
        q.poll_transmit(0).unwrap();
        q.on_response(Outcome::Retry { after_ms: None }, 0, 0);
        assert_eq!(
            q.poll_unload(1),
            None,
            "a beacon into an outage could lose events"
        );
        assert_eq!(
            q.poll_transmit(q.poll_timeout(0).unwrap()).unwrap().count,
            3
        );
        q.on_response(Outcome::Delivered, 5000, 0);
        for i in 3..5 {
            let (id, j) = ev(i);
            q.push(id, j, 5000).unwrap();
        }
        assert_eq!(
            q.poll_unload(5001).unwrap().count,
            2,
            "healthy again: beacons are fine"
        );
    }

    #[test]
    fn persisted_form_round_trips_and_adoption_rules() {
        let mut q = queue(5);
        for i in 0..3 {
            let (id, j) = ev(i);
            q.push(id, j, 0).unwrap();
        }
        assert!(q.take_dirty());
        assert!(!q.take_dirty());
        let text = q.encode(false, 42);
        let s = decode(&text).unwrap();
        assert_eq!(s.events, (0..3).map(ev).collect::<Vec<_>>());
        assert!(!s.adoptable(42 + STALE_MS - 1));
        assert!(s.adoptable(42 + STALE_MS));
        assert!(decode(&q.encode(true, 42)).unwrap().adoptable(43));
        assert_eq!(decode("garbage"), None);
        // Restoring skips ids already queued.
        q.restore(s.events, 50);
        assert_eq!(q.len(), 3);
        let mut fresh = queue(5);
        fresh.restore(decode(&text).unwrap().events, 0);
        assert_eq!(fresh.encode(false, 42), text);
    }

    #[test]
    fn a_thousand_event_burst_leaves_in_few_requests_in_order() {
        let mut q = queue(20);
        for i in 0..1000 {
            let (id, j) = ev(i);
            q.push(id, j, 0).unwrap();
        }
        q.flush();
        let mut seen = vec![];
        let mut requests = 0;
        while let Some(t) = q.poll_transmit(0) {
            seen.extend(ids(&t.body));
            requests += 1;
            q.on_response(Outcome::Delivered, 0, 0);
        }
        assert_eq!(requests, 2, "500 events per request when a backlog waits");
        assert_eq!(seen.len(), 1000);
        assert_eq!(
            seen,
            (0..1000).map(|i| format!("id-{i}")).collect::<Vec<_>>()
        );
        assert_eq!(q.poll_timeout(0), None);
    }

    #[test]
    fn refuses_events_past_the_cap() {
        let mut q = queue(20);
        for i in 0..MAX_QUEUED {
            q.push(i.to_string(), "{}".into(), 0).unwrap();
        }
        assert_eq!(q.push("x".into(), "{}".into(), 0), Err(Report::QueueFull));
    }

    #[test]
    fn events_of_one_page_share_their_context_in_memory_and_in_storage() {
        let mut q = Queue::new(Settings::default());
        let a: Rc<str> = Rc::from("{\"page\":\"a\"}");
        let b: Rc<str> = Rc::from("{\"page\":\"b\"}");
        for (i, ctx) in [&a, &a, &b, &a].into_iter().enumerate() {
            let id = format!("id-{i}");
            let head = format!("{{\"messageId\":\"{id}\",\"context\":");
            q.push_shared(id, head, Some(ctx.clone()), 0).unwrap();
        }
        q.push("id-4".into(), "{\"messageId\":\"id-4\"}".into(), 0)
            .unwrap();
        let text = q.encode(true, 7);
        // One context line per change of context, not one copy per event.
        assert_eq!(text.matches("\"page\":\"a\"").count(), 2, "{text}");
        assert_eq!(text.matches("\"page\":\"b\"").count(), 1);
        let s = decode(&text).unwrap();
        let json: Vec<&str> = s.events.iter().map(|(_, j)| j.as_str()).collect();
        assert_eq!(
            json[0],
            "{\"messageId\":\"id-0\",\"context\":{\"page\":\"a\"}}"
        );
        assert_eq!(
            json[2],
            "{\"messageId\":\"id-2\",\"context\":{\"page\":\"b\"}}"
        );
        assert_eq!(
            json[3],
            "{\"messageId\":\"id-3\",\"context\":{\"page\":\"a\"}}"
        );
        assert_eq!(json[4], "{\"messageId\":\"id-4\"}");
        for j in &json {
            serde_json::from_str::<serde_json::Value>(j).unwrap();
        }
        // The body written in parts is the same as the events' whole text.
        q.flush();
        let t = q.poll_transmit(0).unwrap();
        let v: serde_json::Value = serde_json::from_str(&t.body).unwrap();
        assert_eq!(v["batch"][2]["context"]["page"], "b");
        // The format before contexts were shared still reads.
        let old = "st1 r 5\nid-9\t{\"messageId\":\"id-9\"}";
        assert_eq!(
            decode(old).unwrap().events,
            [("id-9".into(), "{\"messageId\":\"id-9\"}".into())]
        );
    }
}
