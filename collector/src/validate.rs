//! Validation of incoming payloads and preparation of rows to store.

use serde_json::{Map, Value};

/// The event types accepted by the collector, in Segment's vocabulary.
pub(crate) const EVENT_TYPES: [&str; 6] = ["track", "page", "identify", "alias", "group", "screen"];

/// The largest number of events accepted in one batch.
pub(crate) const MAX_BATCH: usize = 2500;

/// The longest accepted `messageId`, in characters.
pub(crate) const MAX_MESSAGE_ID_CHARS: usize = 128;

/// The largest event, serialised (as the SDK refuses larger ones).
pub(crate) const MAX_EVENT_BYTES: usize = 32 * 1024;

/// The longest `anonymousId`, `userId`, `previousId` or `groupId`, in bytes.
pub(crate) const MAX_ID_BYTES: usize = 256;

/// The longest event name (`event` of a track, `name` of a page or screen), in characters.
pub(crate) const MAX_NAME_CHARS: usize = 200;

/// Counts the bytes written to it.
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The limits every event is held to: its size, its ids' and its name's lengths.
fn check_limits(ev: &Map<String, Value>, prefix: &str) -> Result<(), Invalid> {
    for key in ["anonymousId", "userId", "previousId", "groupId"] {
        if let Some(Value::String(id)) = ev.get(key) {
            if id.len() > MAX_ID_BYTES {
                return Err(Invalid::at(
                    prefix,
                    key,
                    format!(
                        "{key} is {} bytes; ids are at most {MAX_ID_BYTES}",
                        id.len()
                    ),
                ));
            }
        }
    }
    for key in ["event", "name"] {
        if let Some(Value::String(name)) = ev.get(key) {
            let chars = name.chars().count();
            if chars > MAX_NAME_CHARS {
                return Err(Invalid::at(
                    prefix,
                    key,
                    format!("{key} is {chars} characters; names are at most {MAX_NAME_CHARS}"),
                ));
            }
        }
    }
    let mut size = Count(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut size, ev);
    if size.0 > MAX_EVENT_BYTES {
        let at = prefix.trim_end_matches('.');
        return Err(Invalid {
            message: format!(
                "the event is {} bytes serialised; events are at most {MAX_EVENT_BYTES} (32 KiB)",
                size.0
            ),
            field: (!at.is_empty()).then(|| at.to_owned()),
        });
    }
    Ok(())
}

/// Why a payload was rejected: a sentence for people and the path of the
/// first offending field (`None` when the payload as a whole is at fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub message: String,
    pub field: Option<String>,
}

impl Invalid {
    fn at(prefix: &str, field: &str, message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            field: Some(format!("{prefix}{field}")),
        }
    }

    fn whole(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            field: None,
        }
    }
}

/// One validated event, ready to be inserted.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEvent {
    pub message_id: String,
    pub kind: String,
    pub event: Option<String>,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub timestamp: Option<String>,
    pub received_at: String,
    /// The event as stored, with `receivedAt` (and `sentAt`) merged in.
    pub object: Map<String, Value>,
}

impl PreparedEvent {
    /// The JSON text stored in the `body` column.
    pub fn body(&self) -> String {
        Value::Object(self.object.clone()).to_string()
    }
}

/// Validates a `/v1/batch` payload and prepares every event in it.
///
/// The whole batch is rejected when any event is invalid.
pub(crate) fn prepare_batch(body: Value, received_at: &str) -> Result<Vec<PreparedEvent>, Invalid> {
    let Value::Object(mut top) = body else {
        return Err(Invalid::whole(format!(
            "body must be a JSON object with a \"batch\" array, not {}",
            kind_of(&body)
        )));
    };

    let sent_at = match top.get("sentAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Invalid::at("", "sentAt", "sentAt must be a string")),
    };
    if let Some(v) = top.get("writeKey") {
        if !(v.is_string() || v.is_null()) {
            return Err(Invalid::at("", "writeKey", "writeKey must be a string"));
        }
    }
    let context = match top.get("context") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => return Err(Invalid::at("", "context", "context must be an object")),
    };

    let events = match top.remove("batch") {
        None | Some(Value::Null) => {
            return Err(Invalid::at(
                "",
                "batch",
                "batch is required (an array of events)",
            ))
        }
        Some(Value::Array(events)) => events,
        Some(other) => {
            return Err(Invalid::at(
                "",
                "batch",
                format!("batch must be an array, not {}", kind_of(&other)),
            ))
        }
    };
    if events.is_empty() {
        return Err(Invalid::at(
            "",
            "batch",
            "batch must contain at least one event",
        ));
    }
    if events.len() > MAX_BATCH {
        return Err(Invalid::at(
            "",
            "batch",
            format!(
                "batch holds {} events; at most {MAX_BATCH} are accepted at once",
                events.len()
            ),
        ));
    }

    let mut prepared = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        let prefix = format!("batch[{i}].");
        let Value::Object(map) = event else {
            return Err(Invalid {
                message: format!("each event must be a JSON object, not {}", kind_of(&event)),
                field: Some(format!("batch[{i}]")),
            });
        };
        check_event(&map, &prefix)?;
        prepared.push(prepare(
            map,
            received_at,
            sent_at.as_deref(),
            context.as_ref(),
        ));
    }
    Ok(prepared)
}

/// Validates the payload of a single-event endpoint such as `/v1/track`.
///
/// `path_type` is the endpoint's event type: it is used when the event has no
/// `type`, and the event's own `type` must match it otherwise.
pub(crate) fn prepare_single(
    body: Value,
    path_type: &str,
    received_at: &str,
) -> Result<Vec<PreparedEvent>, Invalid> {
    let Value::Object(mut map) = body else {
        return Err(Invalid::whole(format!(
            "body must be a JSON object (one {path_type} event), not {}",
            kind_of(&body)
        )));
    };
    match map.get("type") {
        None | Some(Value::Null) => {
            map.insert("type".to_owned(), Value::String(path_type.to_owned()));
        }
        Some(Value::String(t)) if t == path_type => {}
        Some(Value::String(t)) => {
            return Err(Invalid::at(
                "",
                "type",
                format!("type \"{t}\" does not match the /v1/{path_type} endpoint"),
            ))
        }
        Some(_) => return Err(Invalid::at("", "type", "type must be a string")),
    }
    check_event(&map, "")?;
    // A write key sent in the body authenticates the request; it is not
    // part of the event.
    map.remove("writeKey");
    Ok(vec![prepare(map, received_at, None, None)])
}

/// Checks one event object; `prefix` is prepended to field names in errors.
fn check_event(ev: &Map<String, Value>, prefix: &str) -> Result<(), Invalid> {
    let kind = match ev.get("type") {
        None | Some(Value::Null) => return Err(Invalid::at(prefix, "type", "type is required")),
        Some(Value::String(t)) if EVENT_TYPES.contains(&t.as_str()) => t.as_str(),
        Some(Value::String(t)) => {
            return Err(Invalid::at(
                prefix,
                "type",
                format!("type \"{t}\" is not one of {}", EVENT_TYPES.join(", ")),
            ))
        }
        Some(_) => return Err(Invalid::at(prefix, "type", "type must be a string")),
    };

    match ev.get("messageId") {
        None | Some(Value::Null) => {
            return Err(Invalid::at(prefix, "messageId", "messageId is required"))
        }
        Some(Value::String(id)) if id.is_empty() => {
            return Err(Invalid::at(
                prefix,
                "messageId",
                "messageId must not be empty",
            ))
        }
        Some(Value::String(id)) if id.chars().count() > MAX_MESSAGE_ID_CHARS => {
            return Err(Invalid::at(
                prefix,
                "messageId",
                format!("messageId must be at most {MAX_MESSAGE_ID_CHARS} characters long"),
            ))
        }
        Some(Value::String(_)) => {}
        Some(_) => {
            return Err(Invalid::at(
                prefix,
                "messageId",
                "messageId must be a string",
            ))
        }
    }

    for key in ["anonymousId", "userId"] {
        if let Some(v) = ev.get(key) {
            if !(v.is_string() || v.is_null()) {
                return Err(Invalid::at(prefix, key, format!("{key} must be a string")));
            }
        }
    }
    check_limits(ev, prefix)?;
    let anonymous_id = non_empty_str(ev.get("anonymousId"));
    let user_id = non_empty_str(ev.get("userId"));
    // A cookieless event names nobody: the collector gives it a visitor of the day.
    let cookieless = crate::cookieless::is_cookieless(ev);
    if cookieless && !matches!(kind, "track" | "page" | "screen") {
        return Err(Invalid::at(
            prefix,
            "type",
            format!(
                "a cookieless event (context.cookieless) names nobody: it may be a track, page or screen, not {kind}"
            ),
        ));
    }
    if anonymous_id.is_none() && user_id.is_none() && !cookieless {
        return Err(Invalid::at(
            prefix,
            "anonymousId",
            "every event needs an anonymousId or a userId (a non-empty string)",
        ));
    }

    if kind == "track" && non_empty_str(ev.get("event")).is_none() {
        return Err(Invalid::at(
            prefix,
            "event",
            "track events need an event name (a non-empty string)",
        ));
    }
    if kind == "alias" {
        if user_id.is_none() {
            return Err(Invalid::at(
                prefix,
                "userId",
                "alias events need a userId (a non-empty string)",
            ));
        }
        if non_empty_str(ev.get("previousId")).is_none() {
            return Err(Invalid::at(
                prefix,
                "previousId",
                "alias events need a previousId (a non-empty string)",
            ));
        }
    }

    if let Some(v) = ev.get("timestamp") {
        if !(v.is_string() || v.is_null()) {
            return Err(Invalid::at(
                prefix,
                "timestamp",
                "timestamp must be a string",
            ));
        }
    }
    for key in ["properties", "traits", "context"] {
        if let Some(v) = ev.get(key) {
            if !(v.is_object() || v.is_null()) {
                return Err(Invalid::at(prefix, key, format!("{key} must be an object")));
            }
        }
    }
    Ok(())
}

/// Builds the stored form of a validated event.
fn prepare(
    mut map: Map<String, Value>,
    received_at: &str,
    sent_at: Option<&str>,
    batch_context: Option<&Map<String, Value>>,
) -> PreparedEvent {
    map.insert(
        "receivedAt".to_owned(),
        Value::String(received_at.to_owned()),
    );
    if let Some(sent_at) = sent_at {
        if matches!(map.get("sentAt"), None | Some(Value::Null)) {
            map.insert("sentAt".to_owned(), Value::String(sent_at.to_owned()));
        }
    }
    if let Some(shared) = batch_context.filter(|c| !c.is_empty()) {
        // The batch's context fills in what the event's own context lacks.
        let mut merged = shared.clone();
        if let Some(Value::Object(own)) = map.remove("context") {
            merged.extend(own);
        }
        map.insert("context".to_owned(), Value::Object(merged));
    }

    // A channel link token signs a device in to a person: it is never stored or forwarded,
    // only its id (the SHA-256 the collector keeps it by).
    if let Some(Value::Object(context)) = map.get_mut("context") {
        crate::tokens::hide_raw_token(context);
    }
    let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
    PreparedEvent {
        message_id: text("messageId").unwrap_or_default(),
        kind: text("type").unwrap_or_default(),
        event: text("event"),
        anonymous_id: non_empty_str(map.get("anonymousId")).map(str::to_owned),
        user_id: non_empty_str(map.get("userId")).map(str::to_owned),
        timestamp: text("timestamp"),
        received_at: received_at.to_owned(),
        object: map,
    }
}

fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: &str = "2026-11-22T10:00:00.123Z";

    fn field_of(r: Result<Vec<PreparedEvent>, Invalid>) -> Option<String> {
        r.expect_err("payload should be rejected").field
    }

    fn track(id: &str) -> Value {
        json!({"type":"track","messageId":id,"anonymousId":"a1","event":"Viewed"})
    }

    #[test]
    fn accepts_a_valid_batch_and_merges_times() {
        let body = json!({"batch":[track("m1"), {"type":"page","messageId":"m2","userId":"u","sentAt":"own"}],"sentAt":"S"});
        let out = prepare_batch(body, NOW).expect("valid");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].object["receivedAt"], NOW);
        assert_eq!(out[0].object["sentAt"], "S");
        assert_eq!(out[1].object["sentAt"], "own");
        assert_eq!(out[0].event.as_deref(), Some("Viewed"));
        assert_eq!(out[1].user_id.as_deref(), Some("u"));
        assert_eq!(out[1].anonymous_id, None);
    }

    #[test]
    fn a_cookieless_event_needs_no_id_and_identifies_nobody() {
        let ctx = json!({"cookieless": true});
        let ok = json!({"batch":[{"type":"page","messageId":"m","context":ctx}]});
        assert_eq!(prepare_batch(ok, NOW).unwrap()[0].anonymous_id, None);
        let batch = |kind: &str| json!({"batch":[{"type":kind,"messageId":"m","userId":"u","previousId":"p","context":ctx}]});
        for kind in ["identify", "alias", "group"] {
            let err = prepare_batch(batch(kind), NOW).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("batch[0].type"), "{kind}");
            assert!(err.message.contains("names nobody"), "{}", err.message);
        }
        // Only `true` says so.
        let odd = json!({"batch":[{"type":"page","messageId":"m","context":{"cookieless":"yes"}}]});
        assert_eq!(
            field_of(prepare_batch(odd, NOW)).as_deref(),
            Some("batch[0].anonymousId")
        );
    }

    #[test]
    fn events_ids_and_names_are_bounded() {
        // The offending field, or None when the batch is accepted.
        let at = |ev: Value| {
            prepare_batch(json!({ "batch": [track("ok"), ev] }), NOW)
                .err()
                .map(|e| e.field.unwrap_or_default())
        };
        let mut big = track("big");
        big["properties"] = json!({ "blob": "x".repeat(MAX_EVENT_BYTES) });
        assert_eq!(at(big).as_deref(), Some("batch[1]"));
        let mut fits = track("fits");
        fits["properties"] = json!({ "blob": "x".repeat(MAX_EVENT_BYTES - 200) });
        assert_eq!(at(fits), None);
        for key in ["anonymousId", "userId", "previousId", "groupId"] {
            let mut ev = track("id");
            ev[key] = json!("i".repeat(MAX_ID_BYTES + 1));
            assert_eq!(at(ev).as_deref(), Some(format!("batch[1].{key}").as_str()));
            let mut ev = track("id");
            ev[key] = json!("i".repeat(MAX_ID_BYTES));
            assert_eq!(at(ev), None, "{key} of {MAX_ID_BYTES} bytes");
        }
        let mut ev = track("name");
        ev["event"] = json!("é".repeat(MAX_NAME_CHARS));
        assert_eq!(at(ev), None, "200 characters, whatever their bytes");
        let mut ev = track("name");
        ev["event"] = json!("e".repeat(MAX_NAME_CHARS + 1));
        assert_eq!(at(ev).as_deref(), Some("batch[1].event"));
        let page = json!({"type":"page","messageId":"p","anonymousId":"a","name":"n".repeat(201)});
        assert_eq!(at(page).as_deref(), Some("batch[1].name"));
    }

    #[test]
    fn names_the_first_offending_field() {
        let cases = [
            (
                json!({"batch":[track("m1"), {"type":"track","messageId":"m2","anonymousId":"a"}]}),
                "batch[1].event",
            ),
            (
                json!({"batch":[track("m1"), track("")]}),
                "batch[1].messageId",
            ),
            (
                json!({"batch":[track(&"x".repeat(129))]}),
                "batch[0].messageId",
            ),
            (
                json!({"batch":[{"type":"page","messageId":"m"}]}),
                "batch[0].anonymousId",
            ),
            (
                json!({"batch":[{"type":"nope","messageId":"m","userId":"u"}]}),
                "batch[0].type",
            ),
            (
                json!({"batch":[{"messageId":"m","userId":"u"}]}),
                "batch[0].type",
            ),
            (
                json!({"batch":[{"type":"alias","messageId":"m","anonymousId":"a","previousId":"p"}]}),
                "batch[0].userId",
            ),
            (
                json!({"batch":[{"type":"alias","messageId":"m","userId":"u"}]}),
                "batch[0].previousId",
            ),
            (
                json!({"batch":[{"type":"page","messageId":"m","userId":"u","timestamp":5}]}),
                "batch[0].timestamp",
            ),
            (
                json!({"batch":[{"type":"page","messageId":"m","userId":"u","properties":[]}]}),
                "batch[0].properties",
            ),
            (
                json!({"batch":[{"type":"identify","messageId":"m","userId":"u","traits":"x"}]}),
                "batch[0].traits",
            ),
            (
                json!({"batch":[{"type":"group","messageId":"m","userId":"u","context":1}]}),
                "batch[0].context",
            ),
            (json!({"batch":[track("m"), 7]}), "batch[1]"),
            (json!({"batch":[]}), "batch"),
            (json!({"batch":{}}), "batch"),
            (json!({}), "batch"),
            (json!({"batch":[track("m")],"sentAt":1}), "sentAt"),
        ];
        for (body, field) in cases {
            assert_eq!(
                field_of(prepare_batch(body.clone(), NOW)).as_deref(),
                Some(field),
                "{body}"
            );
        }
        assert_eq!(field_of(prepare_batch(json!([1]), NOW)), None);
    }

    #[test]
    fn batch_size_is_bounded() {
        let many: Vec<Value> = (0..=MAX_BATCH).map(|i| track(&format!("m{i}"))).collect();
        let err = prepare_batch(json!({ "batch": many }), NOW).expect_err("too many");
        assert_eq!(err.field.as_deref(), Some("batch"));
        let ok: Vec<Value> = (0..MAX_BATCH).map(|i| track(&format!("m{i}"))).collect();
        let n = prepare_batch(json!({ "batch": ok }), NOW)
            .map(|v| v.len())
            .map_err(|e| e.message);
        assert_eq!(n, Ok(MAX_BATCH));
    }

    #[test]
    fn single_event_type_defaults_and_must_match() {
        let out = prepare_single(
            json!({"messageId":"m","anonymousId":"a","event":"E","writeKey":"k"}),
            "track",
            NOW,
        )
        .expect("valid");
        assert_eq!(out[0].kind, "track");
        assert!(!out[0].object.contains_key("writeKey"));
        let err = prepare_single(
            json!({"type":"page","messageId":"m","anonymousId":"a"}),
            "track",
            NOW,
        )
        .expect_err("mismatch");
        assert_eq!(err.field.as_deref(), Some("type"));
        let err = prepare_single(json!({"messageId":"m","anonymousId":"a"}), "track", NOW)
            .expect_err("no event");
        assert_eq!(err.field.as_deref(), Some("event"));
    }

    #[test]
    fn batch_context_fills_in_event_context() {
        let body = json!({"batch":[{"type":"page","messageId":"m","userId":"u","context":{"ip":"own"}}],"context":{"ip":"shared","library":{"name":"x"}}});
        let out = prepare_batch(body, NOW).expect("valid");
        assert_eq!(
            out[0].object["context"],
            json!({"ip":"own","library":{"name":"x"}})
        );
    }
}
