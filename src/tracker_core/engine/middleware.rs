//! `beforeSend`: the page's middleware sees each event before it is queued and may change it
//! or drop it. The engine hands it over ([`Action::Middleware`]) and waits for the answer; the
//! driver asks the page with no borrow held, so the middleware may call the SDK.

use super::{Action, Engine, Host, Io};
use crate::prelude::*;
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::event::MAX_EVENT_BYTES;
use crate::tracker_core::json::scan;
use alloc::rc::Rc;

/// An event handed to `beforeSend`: its messageId, head, context and lanes (as bits).
pub(super) type Waiting = (String, String, Rc<str>, u8);

/// What to do with the oldest event handed over, once `beforeSend` answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Queue it as it was.
    Keep(Waiting),
    /// Queue this text (a whole event) with this messageId instead, in these lanes.
    Replace(String, String, u8),
    /// Drop it.
    Drop,
}

/// The middleware part's state: the events handed to `beforeSend` and not answered yet,
/// oldest first.
#[derive(Debug, Default)]
pub struct Middleware {
    waiting: Vec<Waiting>,
}

impl Middleware {
    /// Hands an event to the page's `beforeSend` ([`Action::Middleware`]) and keeps it until
    /// the answer.
    pub(super) fn hand_over<H: Host>(&mut self, io: &mut Io<H>, event: Waiting) {
        let (_, head, ctx, _) = &event;
        io.out
            .push(Action::Middleware([head.as_str(), ctx, "}"].concat()));
        self.waiting.push(event);
    }

    /// The answer of `beforeSend` to the oldest event handed to it: `None` keeps it as it was
    /// (the middleware threw or returned something else than an event or null, which the host
    /// reported), `Some("")` drops it, `Some(text)` queues `text` instead: a JSON object whose
    /// first member is its `messageId` (a string), at most 32 KiB. Anything else is reported
    /// (`middleware_failed`) and the event is kept as it was. `None` when nothing waits.
    pub fn answer<H: Host>(&mut self, io: &mut Io<H>, answer: Option<&str>) -> Option<Verdict> {
        if self.waiting.is_empty() {
            return None;
        }
        let event = self.waiting.remove(0);
        Some(match answer {
            None => Verdict::Keep(event),
            Some("") => Verdict::Drop,
            Some(text) => match changed_id(text) {
                Some(new_id) => Verdict::Replace(new_id, text.to_string(), event.3),
                None => {
                    io.report(ErrorCode::MiddlewareFailed, UNUSABLE);
                    Verdict::Keep(event)
                }
            },
        })
    }
}

impl<H: Host> Engine<H> {
    /// The answer of `beforeSend` to the oldest event handed to it (see
    /// [`Middleware::answer`]).
    pub fn handle_middleware(&mut self, answer: Option<&str>, now: u64) {
        match self.middleware.answer(&mut self.io, answer) {
            None => {}
            Some(Verdict::Drop) => self.drive(now),
            Some(Verdict::Keep((id, head, ctx, lanes))) => self.accept(id, head, ctx, lanes, now),
            Some(Verdict::Replace(id, text, lanes)) => {
                if self.wants_events {
                    self.io.out.push(Action::Event(text.clone()));
                }
                self.queue_in(lanes, id, text, None, now);
            }
        }
    }
}

/// What is reported when `beforeSend`'s answer cannot be queued.
const UNUSABLE: &str = "beforeSend returned an event that is not a JSON object of at most 32 KiB with a messageId string of 1 to 128 characters; the event was sent as it was";

/// The `messageId` of an event `beforeSend` returned, if it can be queued.
fn changed_id(text: &str) -> Option<String> {
    if text.len() > MAX_EVENT_BYTES || !text.starts_with("{\"messageId\":") || !scan::is_valid(text)
    {
        return None;
    }
    scan::member(text, "messageId")
        .and_then(scan::string_value)
        .filter(|id| !id.is_empty() && id.len() <= 128 && !id.chars().any(char::is_control))
}

#[cfg(test)]
mod tests {
    use super::changed_id;

    #[test]
    fn reads_the_message_id_of_a_changed_event() {
        assert_eq!(
            changed_id(r#"{"messageId":"m-1","type":"track","event":"E"}"#).as_deref(),
            Some("m-1")
        );
        for bad in [
            r#"{"type":"track","messageId":"m-1"}"#,
            r#"{"messageId":7}"#,
            r#"{"messageId":""}"#,
            r#"{"messageId":"m","x":}"#,
            "[1]",
        ] {
            assert_eq!(changed_id(bad), None, "{bad}");
        }
        let big = format!(r#"{{"messageId":"m","p":"{}"}}"#, "x".repeat(40_000));
        assert_eq!(changed_id(&big), None);
    }
}
