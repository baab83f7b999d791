//! What the collector reads of a shopper's consent: Segment's `context.consent`
//! (`categoryPreferences`, which the SDK puts on every event) and the event that reports a
//! changed choice. Journeys and marketing-only forwarding act on the same reading.

use serde_json::{Map, Value};

use crate::validate::PreparedEvent;

/// The event Segment's consent spec names for a changed choice; the SDK sends it when a
/// shopper withdraws or refuses, with the new `context.consent.categoryPreferences`.
pub(crate) const CONSENT_UPDATED: &str = "Segment Consent Preference Updated";

/// An event's `context.consent.categoryPreferences`, when it carries that object (`event` is
/// the event's JSON object).
pub(crate) fn preferences(event: &Map<String, Value>) -> Option<&Map<String, Value>> {
    event
        .get("context")?
        .get("consent")?
        .get("categoryPreferences")?
        .as_object()
}

/// Whether category preferences grant `marketing` (exactly `true`).
pub(crate) fn grants_marketing(preferences: &Map<String, Value>) -> bool {
    preferences.get("marketing") == Some(&Value::Bool(true))
}

/// Whether an event's own `context.consent.categoryPreferences` grants `marketing`.
pub(crate) fn marketing_granted(ev: &PreparedEvent) -> bool {
    preferences(&ev.object).is_some_and(grants_marketing)
}

/// Whether the event is a consent update that does not grant marketing: from it on, the
/// person gets no marketing.
pub(crate) fn withdraws_marketing(ev: &PreparedEvent) -> bool {
    ev.kind == "track" && ev.event.as_deref() == Some(CONSENT_UPDATED) && !marketing_granted(ev)
}
