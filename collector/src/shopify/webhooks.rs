//! Shopify's webhook topics as e-commerce spec v2 events. Each topic's REST payload (the
//! Admin API's order, refund, checkout and customer resources) becomes events whose message
//! ids are stable, so a retried delivery, a second topic about the same order and the
//! pixel's report of it are one event.
//!
//! | topic | events |
//! | --- | --- |
//! | `orders/create`, `orders/paid` | `Order Completed` (`shopify-order-<id>`), an identify with the buyer's contact |
//! | `refunds/create` | `Order Refunded` (`shopify-refund-<id>`) on the order's device |
//! | `checkouts/create`, `checkouts/update` | `Checkout Started` (`shopify-checkout-<token>`), an identify once an email is given |
//! | `customers/create`, `customers/update` | an identify with the contact (and, before API version 2025-01, the marketing consent states) |
//! | `customers/email_marketing_consent_update`, `customers/marketing_consent_update` | an identify with the email's or the phone's marketing consent |

use serde_json::{json, Map, Value};

use super::common::{
    at, attribute, checkout_message_id, id, identify, money, order_message_id, put, session, text,
    time, Track, AID_ATTRIBUTE, LINK_ATTRIBUTE, SESSION_ATTRIBUTE,
};

/// The topics this source maps.
pub(crate) const TOPICS: [&str; 9] = [
    "orders/create",
    "orders/paid",
    "refunds/create",
    "checkouts/create",
    "checkouts/update",
    "customers/create",
    "customers/update",
    "customers/email_marketing_consent_update",
    "customers/marketing_consent_update",
];

/// What the collector knows besides the payload.
#[derive(Debug, Default, Clone)]
pub(crate) struct Known {
    /// `X-Shopify-Shop-Domain`.
    pub shop: Option<String>,
    /// For a refund: the anonymous id and session of the stored order it refunds; for an
    /// order without the cart attribute: those of the pixel's copy of it, when that names the
    /// same checkout.
    pub order_device: Option<(String, Option<Value>)>,
    /// A digest of the delivery's body: a retried delivery has the same, a new version of a
    /// customer or a checkout another (their message ids use it; `updated_at` has only
    /// seconds and may be null).
    pub version: String,
}

/// Why a payload maps to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unmapped {
    /// A topic outside [`TOPICS`].
    Topic,
    /// The payload lacks the field named.
    Missing(&'static str),
}

/// The events of a webhook delivery of `topic`.
pub(crate) fn map(topic: &str, body: &Value, known: &Known) -> Result<Vec<Value>, Unmapped> {
    match topic {
        "orders/create" | "orders/paid" => order(topic, body, known),
        "refunds/create" => refund(body, known),
        "checkouts/create" | "checkouts/update" => checkout(topic, body, known),
        "customers/create" | "customers/update" => customer(topic, body, known),
        "customers/email_marketing_consent_update" => consent(topic, body, known, Channel::Email),
        "customers/marketing_consent_update" => consent(topic, body, known, Channel::Sms),
        _ => Err(Unmapped::Topic),
    }
}

/// The `context` of every event from a webhook.
fn context(topic: &str, known: &Known, session: Option<Value>) -> Map<String, Value> {
    let mut shopify = Map::new();
    shopify.insert("source".into(), json!("webhook"));
    shopify.insert("topic".into(), json!(topic));
    put(&mut shopify, "shop", known.shop.clone().map(Value::from));
    let mut c = Map::new();
    c.insert(
        "library".into(),
        json!({"name": "shoptrail-collector", "version": env!("CARGO_PKG_VERSION")}),
    );
    c.insert("shopify".into(), Value::Object(shopify));
    put(&mut c, "sessionId", session);
    c
}

/// A REST line item (order, checkout, refund) as a spec product.
fn product(item: &Value) -> Value {
    let mut p = Map::new();
    put(
        &mut p,
        "product_id",
        id(item.get("product_id")).map(Value::from),
    );
    put(
        &mut p,
        "variant_id",
        id(item.get("variant_id")).map(Value::from),
    );
    put(&mut p, "sku", text(item.get("sku")).map(Value::from));
    put(
        &mut p,
        "name",
        text(item.get("title"))
            .or_else(|| text(item.get("name")))
            .map(Value::from),
    );
    put(
        &mut p,
        "variant",
        text(item.get("variant_title"))
            .filter(|v| v != "Default Title")
            .map(Value::from),
    );
    put(&mut p, "brand", text(item.get("vendor")).map(Value::from));
    put(&mut p, "price", money(item.get("price")));
    put(
        &mut p,
        "quantity",
        item.get("quantity").filter(|q| q.is_number()).cloned(),
    );
    Value::Object(p)
}

fn products(items: Option<&Value>) -> Value {
    Value::Array(
        items
            .and_then(Value::as_array)
            .map(|items| items.iter().map(product).collect())
            .unwrap_or_default(),
    )
}

/// The discount codes, comma-separated (`discount_codes[].code`).
fn coupon(body: &Value) -> Option<Value> {
    let codes: Vec<&str> = body
        .get("discount_codes")?
        .as_array()?
        .iter()
        .filter_map(|d| d.get("code")?.as_str())
        .collect();
    (!codes.is_empty()).then(|| json!(codes.join(",")))
}

/// The contact a payload gives, as traits; `customer` is the customer resource (or the
/// order's `customer`).
fn traits(
    email: Option<String>,
    phone: Option<String>,
    customer: Option<&Value>,
) -> Map<String, Value> {
    let mut t = Map::new();
    put(&mut t, "email", email.map(Value::from));
    put(&mut t, "phone", phone.map(Value::from));
    if let Some(c) = customer {
        put(
            &mut t,
            "first_name",
            text(c.get("first_name")).map(Value::from),
        );
        put(
            &mut t,
            "last_name",
            text(c.get("last_name")).map(Value::from),
        );
        put(
            &mut t,
            "shopify_customer_id",
            id(c.get("id")).map(Value::from),
        );
        let email_state = text(at(c, &["email_marketing_consent", "state"]));
        let sms_state = text(at(c, &["sms_marketing_consent", "state"]));
        match email_state.as_deref() {
            Some("unsubscribed") => t.insert("unsubscribed".into(), json!(true)),
            Some("subscribed") => t.insert("unsubscribed".into(), json!(false)),
            _ => None,
        };
        put(
            &mut t,
            "email_marketing_consent",
            email_state.map(Value::from),
        );
        put(&mut t, "sms_marketing_consent", sms_state.map(Value::from));
    }
    t
}

/// The marketing choice a customer resource records, from its email consent (journeys write
/// to the email address; the SMS state goes into the traits for the receiver to read):
/// `subscribed` grants marketing, `unsubscribed` withdraws it; other states (`not_subscribed`,
/// `pending`, `redacted`) say nothing new.
fn marketing(customer: Option<&Value>) -> Option<bool> {
    match text(at(customer?, &["email_marketing_consent", "state"])).as_deref() {
        Some("subscribed") => Some(true),
        Some("unsubscribed") => Some(false),
        _ => None,
    }
}

/// An identify of the buyer, when the payload names an email or a phone.
fn buyer(
    message_id: String,
    anonymous_id: &str,
    timestamp: Option<String>,
    body: &Value,
    mut context: Map<String, Value>,
) -> Option<Value> {
    let customer = body.get("customer").filter(|c| c.is_object());
    let email = text(body.get("email")).or_else(|| customer.and_then(|c| text(c.get("email"))));
    let phone = text(body.get("phone")).or_else(|| customer.and_then(|c| text(c.get("phone"))));
    if email.is_none() && phone.is_none() {
        return None;
    }
    if let Some(granted) = marketing(customer) {
        context.insert(
            "consent".into(),
            json!({"categoryPreferences": {"marketing": granted}}),
        );
    }
    Some(identify(
        message_id,
        anonymous_id,
        timestamp,
        traits(email, phone, customer),
        context,
    ))
}

/// The device a payload names: the storefront's anonymous id from the cart attribute, else
/// `fallback`; and its session.
fn device(body: &Value, fallback: String) -> (String, Option<Value>) {
    let attributes = body.get("note_attributes");
    (
        attribute(attributes, AID_ATTRIBUTE).unwrap_or(fallback),
        session(attribute(attributes, SESSION_ATTRIBUTE)),
    )
}

fn order(topic: &str, body: &Value, known: &Known) -> Result<Vec<Value>, Unmapped> {
    let order_id = id(body.get("id")).ok_or(Unmapped::Missing("id"))?;
    let fallback = match id(at(body, &["customer", "id"])) {
        Some(c) => format!("shopify-customer-{c}"),
        None => format!("shopify-order-{order_id}"),
    };
    // The cart attribute names the storefront's device; without it, the device the pixel
    // stored the order for.
    let (anonymous_id, session) = match (
        attribute(body.get("note_attributes"), AID_ATTRIBUTE),
        &known.order_device,
    ) {
        (None, Some(stored)) => stored.clone(),
        _ => device(body, fallback),
    };
    let timestamp = time(body.get("processed_at")).or_else(|| time(body.get("created_at")));
    let mut p = Map::new();
    p.insert("order_id".into(), json!(order_id));
    put(
        &mut p,
        "checkout_id",
        text(body.get("checkout_token")).map(Value::from),
    );
    put(
        &mut p,
        "order_number",
        text(body.get("name")).map(Value::from),
    );
    put(&mut p, "total", money(body.get("total_price")));
    put(&mut p, "subtotal", money(body.get("subtotal_price")));
    // Revenue excludes shipping and tax: Shopify's subtotal is after discounts, before both.
    put(&mut p, "revenue", money(body.get("subtotal_price")));
    put(
        &mut p,
        "shipping",
        money(at(
            body,
            &["total_shipping_price_set", "shop_money", "amount"],
        )),
    );
    put(&mut p, "tax", money(body.get("total_tax")));
    put(&mut p, "discount", money(body.get("total_discounts")));
    put(&mut p, "coupon", coupon(body));
    put(
        &mut p,
        "currency",
        text(body.get("currency")).map(Value::from),
    );
    put(
        &mut p,
        "financial_status",
        text(body.get("financial_status")).map(Value::from),
    );
    p.insert("products".into(), products(body.get("line_items")));
    let mut ctx = context(topic, known, session);
    // A journey's cart link: the order joins the person the link was for.
    put(
        &mut ctx,
        "linkToken",
        attribute(body.get("note_attributes"), LINK_ATTRIBUTE).map(Value::from),
    );
    let mut events = vec![Track {
        message_id: order_message_id(&order_id),
        event: "Order Completed",
        anonymous_id: anonymous_id.clone(),
        timestamp: timestamp.clone(),
        properties: p,
        context: ctx.clone(),
    }
    .into_value()];
    events.extend(buyer(
        format!("{}-identify", order_message_id(&order_id)),
        &anonymous_id,
        timestamp,
        body,
        ctx,
    ));
    Ok(events)
}

fn refund(body: &Value, known: &Known) -> Result<Vec<Value>, Unmapped> {
    let refund_id = id(body.get("id")).ok_or(Unmapped::Missing("id"))?;
    let order_id = id(body.get("order_id")).ok_or(Unmapped::Missing("order_id"))?;
    let (anonymous_id, session) = known
        .order_device
        .clone()
        .unwrap_or_else(|| (format!("shopify-order-{order_id}"), None));
    // What was paid back: the refund transactions (`kind: refund`, successful).
    let transactions: Vec<&Value> = body
        .get("transactions")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter(|t| t.get("kind").and_then(Value::as_str) == Some("refund"))
                .filter(|t| t.get("status").and_then(Value::as_str) == Some("success"))
                .collect()
        })
        .unwrap_or_default();
    let total: Option<f64> = if transactions.is_empty() {
        None
    } else {
        transactions
            .iter()
            .map(|t| money(t.get("amount")).and_then(|m| m.as_f64()))
            .sum::<Option<f64>>()
            // Summed in binary: back to the micro-unit the amounts were written in.
            .map(|t| (t * 1e6).round() / 1e6)
    };
    let currency = transactions.iter().find_map(|t| text(t.get("currency")));
    let items: Vec<Value> = body
        .get("refund_line_items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|r| {
                    let mut p = product(r.get("line_item").unwrap_or(&Value::Null));
                    if let (Some(o), Some(q)) = (p.as_object_mut(), r.get("quantity")) {
                        o.insert("quantity".into(), q.clone());
                    }
                    p
                })
                .collect()
        })
        .unwrap_or_default();
    let mut p = Map::new();
    p.insert("order_id".into(), json!(order_id));
    put(&mut p, "refund_id", Some(json!(refund_id)));
    put(&mut p, "total", total.map(|t| json!(t)));
    put(&mut p, "currency", currency.map(Value::from));
    p.insert("products".into(), Value::Array(items));
    Ok(vec![Track {
        message_id: format!("shopify-refund-{refund_id}"),
        event: "Order Refunded",
        anonymous_id,
        timestamp: time(body.get("processed_at")).or_else(|| time(body.get("created_at"))),
        properties: p,
        context: context("refunds/create", known, session),
    }
    .into_value()])
}

fn checkout(topic: &str, body: &Value, known: &Known) -> Result<Vec<Value>, Unmapped> {
    let token = text(body.get("token"))
        .or_else(|| id(body.get("id")))
        .ok_or(Unmapped::Missing("token"))?;
    let (anonymous_id, session) = device(body, format!("shopify-checkout-{token}"));
    let timestamp = time(body.get("created_at"));
    let mut p = Map::new();
    p.insert("checkout_id".into(), json!(token));
    put(&mut p, "value", money(body.get("total_price")));
    put(&mut p, "revenue", money(body.get("subtotal_price")));
    put(&mut p, "tax", money(body.get("total_tax")));
    put(&mut p, "discount", money(body.get("total_discounts")));
    put(&mut p, "coupon", coupon(body));
    put(
        &mut p,
        "currency",
        text(body.get("currency")).map(Value::from),
    );
    p.insert("products".into(), products(body.get("line_items")));
    let ctx = context(topic, known, session);
    let mut events = vec![Track {
        message_id: checkout_message_id(&token),
        event: "Checkout Started",
        anonymous_id: anonymous_id.clone(),
        timestamp,
        properties: p,
        context: ctx.clone(),
    }
    .into_value()];
    // An update may add the email: one identify per version of the checkout.
    events.extend(buyer(
        format!("{}-identify-{}", checkout_message_id(&token), known.version),
        &anonymous_id,
        time(body.get("updated_at")),
        body,
        ctx,
    ));
    Ok(events)
}

fn customer(topic: &str, body: &Value, known: &Known) -> Result<Vec<Value>, Unmapped> {
    let customer_id = id(body.get("id")).ok_or(Unmapped::Missing("id"))?;
    let mut ctx = context(topic, known, None);
    if let Some(granted) = marketing(Some(body)) {
        ctx.insert(
            "consent".into(),
            json!({"categoryPreferences": {"marketing": granted}}),
        );
    }
    Ok(vec![identify(
        format!("shopify-customer-{customer_id}-{}", known.version),
        &format!("shopify-customer-{customer_id}"),
        time(body.get("updated_at")).or_else(|| time(body.get("created_at"))),
        traits(text(body.get("email")), text(body.get("phone")), Some(body)),
        ctx,
    )])
}

/// The channel of a marketing consent topic.
#[derive(Debug, Clone, Copy)]
enum Channel {
    Email,
    Sms,
}

/// `customers/email_marketing_consent_update` (`customer_id`, `email_address`,
/// `email_marketing_consent`) and `customers/marketing_consent_update` (`id`, `phone`,
/// `sms_marketing_consent`): since API version 2025-01 the only topics that carry a
/// customer's marketing consent.
fn consent(
    topic: &str,
    body: &Value,
    known: &Known,
    channel: Channel,
) -> Result<Vec<Value>, Unmapped> {
    let (id_key, contact_key, trait_key, consent_key) = match channel {
        Channel::Email => (
            "customer_id",
            "email_address",
            "email",
            "email_marketing_consent",
        ),
        Channel::Sms => ("id", "phone", "phone", "sms_marketing_consent"),
    };
    let customer_id = id(body.get(id_key))
        .or_else(|| id(body.get("customer_id")))
        .ok_or(Unmapped::Missing(id_key))?;
    // A documented sample has a null state: the contact is still worth recording.
    let state = text(at(body, &[consent_key, "state"])).unwrap_or_default();
    let mut t = Map::new();
    put(
        &mut t,
        trait_key,
        text(body.get(contact_key)).map(Value::from),
    );
    if !state.is_empty() {
        t.insert(consent_key.into(), json!(state));
    }
    t.insert("shopify_customer_id".into(), json!(customer_id));
    let mut ctx = context(topic, known, None);
    // Journeys write to the email address: its consent is the marketing choice; the SMS
    // state stays in the traits, for the receiver of an SMS step to read.
    let granted = match (channel, state.as_str()) {
        (Channel::Email, "subscribed") => Some(true),
        (Channel::Email, "unsubscribed") => Some(false),
        _ => None,
    };
    if let Some(granted) = granted {
        t.insert("unsubscribed".into(), json!(!granted));
        ctx.insert(
            "consent".into(),
            json!({"categoryPreferences": {"marketing": granted}}),
        );
    }
    Ok(vec![identify(
        format!(
            "shopify-customer-{customer_id}-{consent_key}-{}",
            known.version
        ),
        &format!("shopify-customer-{customer_id}"),
        time(at(body, &[consent_key, "consent_updated_at"])),
        t,
        ctx,
    )])
}
