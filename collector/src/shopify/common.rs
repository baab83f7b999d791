//! What the webhook and pixel mappings share: reading Shopify's numbers, ids and times, the
//! message ids that make one order one event whichever source reports it, and the cart
//! attributes the storefront SDK writes.

use serde_json::{json, Map, Value};

/// The cart attribute (an order's `note_attributes`) that carries the storefront's anonymous
/// id; the storefront SDK writes it, and the pixel reads the cookie of the same name.
pub(crate) const AID_ATTRIBUTE: &str = "shoptrail_aid";

/// The cart attribute that carries the storefront's session id.
pub(crate) const SESSION_ATTRIBUTE: &str = "shoptrail_session";

/// The cart attribute a journey's Shopify cart link sets (`attributes[shoptrail_link]`): the
/// link token, which the order then carries to the collector, joining whoever ordered to the
/// person the link was for.
pub(crate) const LINK_ATTRIBUTE: &str = "shoptrail_link";

/// The message id of an order's `Order Completed`, whoever reports it (the pixel's
/// `checkout_completed`, `orders/create`, `orders/paid`): one order, one event.
pub(crate) fn order_message_id(order_id: &str) -> String {
    format!("shopify-order-{order_id}")
}

/// The message id of a checkout's `Checkout Started` (`checkout_started`,
/// `checkouts/create`, `checkouts/update`).
pub(crate) fn checkout_message_id(token: &str) -> String {
    format!("shopify-checkout-{token}")
}

/// A value at `path` under `v`.
pub(crate) fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

/// A string, or a number's text; empty strings are none. Shopify's GraphQL ids
/// (`gid://shopify/Order/123`) become their number, as the REST payloads give it.
pub(crate) fn id(v: Option<&Value>) -> Option<String> {
    let text = match v? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let text = match text.strip_prefix("gid://shopify/") {
        Some(rest) => rest.rsplit('/').next().unwrap_or_default().to_owned(),
        None => text,
    };
    (!text.is_empty()).then_some(text)
}

/// A non-empty string.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    v?.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An amount: Shopify's REST payloads write money as strings (`"199.00"`), the pixel API as
/// numbers; both become JSON numbers.
pub(crate) fn money(v: Option<&Value>) -> Option<Value> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Object(o) => return money(o.get("amount")),
        _ => return None,
    };
    n.is_finite().then(|| json!(n))
}

/// A time as the wire format writes it (UTC, milliseconds), from Shopify's ISO-8601 times
/// with offsets.
pub(crate) fn time(v: Option<&Value>) -> Option<String> {
    let ms = crate::time::parse_iso8601(v?.as_str()?)?;
    Some(crate::time::format_millis(ms))
}

/// A cart attribute, from a REST payload's `note_attributes` (`[{name, value}]`) or an
/// attributes object (`{name: value}`); a pixel checkout's `attributes` are `[{key, value}]`.
pub(crate) fn attribute(attributes: Option<&Value>, name: &str) -> Option<String> {
    match attributes? {
        Value::Array(list) => list.iter().find_map(|a| {
            let key = a.get("name").or_else(|| a.get("key"))?.as_str()?;
            (key == name).then(|| text(a.get("value"))).flatten()
        }),
        Value::Object(o) => text(o.get(name)),
        _ => None,
    }
}

/// The session id a cart attribute carries: the SDK's sessions are numbers.
pub(crate) fn session(value: Option<String>) -> Option<Value> {
    let value = value?;
    Some(match value.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => json!(value),
    })
}

/// Puts `value` at `key` unless it is none.
pub(crate) fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

/// A track event in the wire format.
pub(crate) struct Track<'a> {
    pub message_id: String,
    pub event: &'a str,
    pub anonymous_id: String,
    pub timestamp: Option<String>,
    pub properties: Map<String, Value>,
    pub context: Map<String, Value>,
}

impl Track<'_> {
    /// The event as `/v1/batch` takes it.
    pub(crate) fn into_value(self) -> Value {
        let mut ev = json!({
            "type": "track",
            "event": self.event,
            "messageId": self.message_id,
            "anonymousId": self.anonymous_id,
            "properties": self.properties,
            "context": self.context,
        });
        if let (Some(t), Some(o)) = (self.timestamp, ev.as_object_mut()) {
            o.insert("timestamp".into(), json!(t));
        }
        ev
    }
}

/// An identify event in the wire format.
pub(crate) fn identify(
    message_id: String,
    anonymous_id: &str,
    timestamp: Option<String>,
    traits: Map<String, Value>,
    context: Map<String, Value>,
) -> Value {
    let mut ev = json!({
        "type": "identify",
        "messageId": message_id,
        "anonymousId": anonymous_id,
        "traits": traits,
        "context": context,
    });
    if let (Some(t), Some(o)) = (timestamp, ev.as_object_mut()) {
        o.insert("timestamp".into(), json!(t));
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_shopify_values() {
        assert_eq!(
            id(Some(&json!("gid://shopify/Order/820982911946154508"))).as_deref(),
            Some("820982911946154508")
        );
        assert_eq!(id(Some(&json!(450789469))).as_deref(), Some("450789469"));
        assert_eq!(id(Some(&json!(" "))), None);
        assert_eq!(money(Some(&json!("199.00"))), Some(json!(199.0)));
        assert_eq!(money(Some(&json!({"amount": 39.5}))), Some(json!(39.5)));
        assert_eq!(money(Some(&json!("free"))), None);
        assert_eq!(
            time(Some(&json!("2021-12-31T19:00:00-05:00"))).as_deref(),
            Some("2022-01-01T00:00:00.000Z")
        );
        let rest =
            json!([{"name": "gift", "value": "no"}, {"name": "shoptrail_aid", "value": "a1"}]);
        assert_eq!(attribute(Some(&rest), AID_ATTRIBUTE).as_deref(), Some("a1"));
        let pixel = json!([{"key": "shoptrail_aid", "value": "a2"}]);
        assert_eq!(
            attribute(Some(&pixel), AID_ATTRIBUTE).as_deref(),
            Some("a2")
        );
        let object = json!({"shoptrail_session": "1765000000000"});
        assert_eq!(
            session(attribute(Some(&object), SESSION_ATTRIBUTE)),
            Some(json!(1_765_000_000_000i64))
        );
    }
}
