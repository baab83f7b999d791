//! `beforeSend`: the page's middleware sees each event before it is queued and may change it
//! or drop it. The engine hands it over ([`Action::Middleware`]) and waits for the answer; the
//! driver asks the page with no borrow held, so the middleware may call the SDK.

use super::{Action, Engine, Host};
use crate::prelude::*;
use crate::tracker_core::event::MAX_EVENT_BYTES;
use crate::tracker_core::json::scan;

impl<H: Host> Engine<H> {
    /// The answer of `beforeSend` to the oldest event handed to it: `None` keeps it as it was
    /// (the middleware threw or returned something else than an event or null, which the host
    /// reported), `Some("")` drops it, `Some(text)` queues `text` instead: a JSON object whose
    /// first member is its `messageId` (a string), at most 32 KiB. Anything else is reported
    /// (`middleware_failed`) and the event is kept as it was.
    pub fn handle_middleware(&mut self, answer: Option<&str>, now: u64) {
        if self.at_middleware.is_empty() {
            return;
        }
        let (id, head, ctx, lanes) = self.at_middleware.remove(0);
        let changed = match answer {
            None => None,
            Some("") => return self.drive(now),
            Some(text) => match changed_id(text) {
                Some(new_id) => Some((new_id, text)),
                None => {
                    self.report("middleware_failed", UNUSABLE);
                    None
                }
            },
        };
        let Some((new_id, text)) = changed else {
            return self.accept(id, head, ctx, lanes, now);
        };
        if self.wants_events {
            self.io.out.push(Action::Event(text.to_string()));
        }
        self.queue_in(lanes, new_id, text.to_string(), None, now);
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
