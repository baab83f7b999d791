//! Shopify as a source: the web pixel's standard events (`POST /v1/sources/shopify/pixel`,
//! ingestion) and the store's webhooks (`POST /v1/sources/shopify/webhooks`, signed with the
//! app's secret). Both become e-commerce spec v2 events here, in Rust (`pixel`, `webhooks`),
//! and are stored as any batch is: validated, deduplicated by message id, with their identity
//! edges, journey steps and forwarding rows.
//!
//! One order is one `Order Completed` however many sources report it: the pixel's
//! `checkout_completed`, `orders/create` and `orders/paid` share its message id. The webhook
//! is the source of truth for revenue: when the pixel's report was stored first, the
//! webhook's properties replace its own (the event keeps its device and session) and its
//! metrics fact is written again.

mod common;
pub(crate) mod pixel;
pub(crate) mod webhooks;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::db::{self, vals, Sql};
use crate::error::ApiError;
use crate::state::AppState;
use crate::validate::{prepare_batch, PreparedEvent};

/// The webhook topics the collector maps (what `shopify/shopify.app.toml` subscribes to).
pub fn webhook_topics() -> &'static [&'static str] {
    &webhooks::TOPICS
}

/// The privacy topics the collector takes (`compliance_topics` in `shopify/shopify.app.toml`).
pub fn compliance_topics() -> &'static [&'static str] {
    &COMPLIANCE
}

/// The web pixel's standard events the collector maps (what the pixel forwards).
pub fn pixel_events() -> &'static [&'static str] {
    &pixel::EVENTS
}

/// The environment variable that may hold the app's secret (`--shopify-secret`).
pub const SECRET_ENV: &str = "SHOPTRAIL_SHOPIFY_SECRET";

/// The prefix of the message ids this source gives its events. Other ingestion refuses it: a
/// client could otherwise store an order's id first and keep the signed webhook out.
const RESERVED: &str = "shopify-";

/// 400 for an event whose `messageId` is one this source gives (see [`RESERVED`]).
pub(crate) fn reserved(events: &[PreparedEvent]) -> Result<(), ApiError> {
    match events
        .iter()
        .position(|e| e.message_id.starts_with(RESERVED))
    {
        Some(i) => Err(ApiError::bad_request(
            format!(
                "messageId '{}' starts with '{RESERVED}', which the Shopify source keeps for \
                 its own events",
                events[i].message_id
            ),
            Some(&format!("batch[{i}].messageId")),
        )),
        None => Ok(()),
    }
}

/// Standard events the pixel may send in one request.
const MAX_PIXEL_EVENTS: usize = 100;

/// A journey's link to the shopper's cart on a Shopify store (`links.shopify_store`): a cart
/// permalink, `{store}/cart/{variant_id}:{quantity},...`, that lands on the cart page
/// (`storefront=true`) with the link token twice: as the SDK's `param`, which the storefront
/// page redeems, and as the cart attribute `shoptrail_link`, which the order carries to the
/// webhook even when the shopper goes straight to checkout. A cart whose lines name no
/// `variant_id` links to `{store}/cart` with the token.
pub(crate) fn cart_permalink(store: &str, cart: &Value, param: &str, token: &str) -> String {
    let store = store.trim_end_matches('/');
    let lines: Vec<String> = cart["products"]
        .as_array()
        .map(|products| {
            products
                .iter()
                .filter_map(|p| {
                    let variant = common::id(p.get("variant_id"))?;
                    let quantity = p["quantity"].as_u64().filter(|q| *q > 0).unwrap_or(1);
                    variant
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| format!("{variant}:{quantity}"))
                })
                .collect()
        })
        .unwrap_or_default();
    if lines.is_empty() {
        return format!("{store}/cart?{param}={token}");
    }
    format!(
        "{store}/cart/{}?storefront=true&attributes%5B{}%5D={token}&{param}={token}",
        lines.join(","),
        common::LINK_ATTRIBUTE
    )
}

/// Whether `header` (`X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw body with
/// the app's secret) signs `body`; compared in constant time.
pub(crate) fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    use base64::Engine as _;
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The `X-Shopify-Hmac-Sha256` of `body`: what Shopify sends (tests and the e2e suite sign
/// with it).
pub fn sign(secret: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `POST /v1/sources/shopify/webhooks`: a webhook delivery, checked against its HMAC before
/// anything is read. 404 when the collector has no app secret; 401 for a bad signature
/// (nothing stored); 200 for a topic it does not map (Shopify would retry anything else),
/// saying so.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(secret) = state.shopify_secret.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Shopify webhooks are off: start the collector with --shopify-secret (or \
             SHOPTRAIL_SHOPIFY_SECRET) set to the app's client secret",
            None,
        ));
    };
    let signature = header(&headers, "x-shopify-hmac-sha256").unwrap_or_default();
    if !verify(&secret, signature, &body) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the X-Shopify-Hmac-Sha256 header does not verify with the app's secret",
            Some("X-Shopify-Hmac-Sha256".into()),
        ));
    }
    let shop = header(&headers, "x-shopify-shop-domain").map(str::to_ascii_lowercase);
    if !state.shopify_shops.is_empty()
        && !shop
            .as_ref()
            .is_some_and(|s| state.shopify_shops.contains(s))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "the shop {} is not one of --shopify-shop",
                shop.as_deref().unwrap_or("(no X-Shopify-Shop-Domain)")
            ),
            Some("X-Shopify-Shop-Domain".into()),
        ));
    }
    let Some(topic) = header(&headers, "x-shopify-topic").map(str::to_owned) else {
        return Err(ApiError::bad_request(
            "the X-Shopify-Topic header is missing",
            Some("X-Shopify-Topic"),
        ));
    };
    if COMPLIANCE.contains(&topic.as_str()) {
        let payload: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}"), None))?;
        return compliance(&state, &topic, &payload).await.map(Json);
    }
    if !webhooks::TOPICS.contains(&topic.as_str()) {
        return Ok(Json(json!({
            "success": true,
            "accepted": 0,
            "ignored": format!("the topic '{topic}' is not mapped; subscribe to: {}",
                               webhooks::TOPICS.join(", ")),
        })));
    }
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}"), None))?;
    let store = state.store();
    // A refund goes on the order's device; an order without the cart attribute on the device
    // the pixel stored it for, when that copy names the same checkout (only the buyer's
    // browser knows its token).
    let lookup = match topic.as_str() {
        "refunds/create" => common::id(payload.get("order_id")).map(|o| (o, None)),
        t if t.starts_with("orders/") => common::id(payload.get("id")).and_then(|o| {
            common::text(payload.get("checkout_token")).map(|token| (o, Some(token)))
        }),
        _ => None,
    };
    let order_device = match lookup {
        Some((order, checkout)) => {
            let store = Arc::clone(&store);
            tokio::task::spawn_blocking(move || {
                store.read(|sql| device_of(sql, &order, checkout.as_deref()))
            })
            .await
            .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?
            .map_err(|e| ApiError::internal(format!("could not read the order: {e}")))?
        }
        None => None,
    };
    let known = webhooks::Known {
        shop,
        order_device,
        version: crate::identity::sha256_hex(&body)[..16].to_owned(),
    };
    let events = match webhooks::map(&topic, &payload, &known) {
        Ok(events) => events,
        Err(webhooks::Unmapped::Missing(field)) => {
            return Err(ApiError::bad_request(
                format!("a {topic} payload needs '{field}'"),
                Some(field),
            ))
        }
        Err(webhooks::Unmapped::Topic) => Vec::new(),
    };
    let (accepted, duplicates, replaced) = store_events(&state, events, true).await?;
    Ok(Json(json!({
        "success": true,
        "topic": topic,
        "accepted": accepted,
        "duplicates": duplicates,
        "replaced": replaced,
    })))
}

/// Shopify's mandatory privacy topics.
const COMPLIANCE: [&str; 3] = ["customers/redact", "customers/data_request", "shop/redact"];

/// The privacy topics every Shopify app takes:
/// - `customers/redact` erases the customer, as `DELETE /v1/profiles/{id}` does: the person
///   their email names (every device joined to it), their customer id's own events and the
///   orders listed in `orders_to_redact`;
/// - `customers/data_request` and `shop/redact` are acknowledged and answered with what the
///   operator does: the export route for the first (Shopify expects the app to hand the data
///   to the merchant), `DELETE /v1/profiles/{id}` per person for the second (the collector
///   does not erase a whole database on a webhook).
async fn compliance(state: &AppState, topic: &str, payload: &Value) -> Result<Value, ApiError> {
    let customer = payload.get("customer").unwrap_or(&Value::Null);
    let email = common::text(customer.get("email"));
    match topic {
        "customers/redact" => {
            let mut ids: Vec<String> = email.into_iter().collect();
            ids.extend(common::id(customer.get("id")).map(|c| format!("shopify-customer-{c}")));
            if let Some(orders) = payload.get("orders_to_redact").and_then(Value::as_array) {
                ids.extend(
                    orders
                        .iter()
                        .filter_map(|o| common::id(Some(o)))
                        .map(|o| common::order_message_id(&o)),
                );
            }
            let mut erased = Vec::new();
            for id in ids {
                if let Some(answer) = crate::erasure::erase_person(state, id).await? {
                    erased.push(answer);
                }
            }
            Ok(json!({ "success": true, "topic": topic, "erased": erased }))
        }
        "customers/data_request" => Ok(json!({
            "success": true, "topic": topic,
            "export": email.map(|e| format!("GET /v1/profiles/{e}/export (admin)")),
        })),
        _ => Ok(json!({
            "success": true, "topic": topic,
            "erased": [],
            "note": "the collector keeps the shop's data: erase people with DELETE /v1/profiles/{id} (admin)",
        })),
    }
}

/// `POST /v1/sources/shopify/pixel` (ingestion, the write key when `--write-keys`): the web
/// pixel's standard events, `{ writeKey?, aid?, session?, consent?, shop?, events: [...] }`.
/// Events of a visitor whose consent refuses analytics are refused, not stored.
pub(crate) async fn pixel(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}"), None))?;
    crate::http::check_write_key(&state, &headers, &payload)?;
    let list = match payload.get("events") {
        Some(Value::Array(list)) => list.as_slice(),
        _ => {
            return Err(ApiError::bad_request(
                "the body needs 'events', an array of the pixel's standard events",
                Some("events"),
            ))
        }
    };
    if list.len() > MAX_PIXEL_EVENTS {
        return Err(ApiError::bad_request(
            format!(
                "{} events in one request; at most {MAX_PIXEL_EVENTS}",
                list.len()
            ),
            Some("events"),
        ));
    }
    let consent = payload.get("consent").and_then(Value::as_object).cloned();
    if consent
        .as_ref()
        .is_some_and(|c| c.get("analytics") == Some(&Value::Bool(false)))
    {
        return Ok(Json(json!({
            "success": true, "accepted": 0, "refused": list.len(),
            "reason": "the visitor's consent refuses analytics",
        })));
    }
    let visitor = pixel::Visitor {
        aid: common::text(payload.get("aid")),
        session: common::session(common::text(payload.get("session"))),
        consent,
        shop: header(&headers, "x-shopify-shop-domain")
            .map(str::to_owned)
            .or_else(|| common::text(payload.get("shop"))),
    };
    let (mut events, mut skipped, mut unmapped) = (Vec::new(), 0, Vec::new());
    for (i, event) in list.iter().enumerate() {
        match pixel::map(event, &visitor) {
            pixel::Mapped::Events(e) => events.extend(e),
            pixel::Mapped::Skipped => skipped += 1,
            pixel::Mapped::Unmapped(why) => unmapped.push(json!({"index": i, "reason": why})),
        }
    }
    let (accepted, duplicates, _) = store_events(&state, events, false).await?;
    Ok(Json(json!({
        "success": true,
        "accepted": accepted,
        "duplicates": duplicates,
        "skipped": skipped,
        "unmapped": unmapped,
    })))
}

/// Validates and stores mapped events; from a webhook (`prevails`), an `Order Completed`
/// already stored from the pixel takes the webhook's properties. Returns the counts of
/// stored, duplicate and replaced events.
async fn store_events(
    state: &AppState,
    events: Vec<Value>,
    prevails: bool,
) -> Result<(usize, usize, usize), ApiError> {
    if events.is_empty() {
        return Ok((0, 0, 0));
    }
    let now = state.clock().now_ms();
    let received_at = crate::time::format_millis(now);
    let mut prepared = prepare_batch(json!({ "batch": events }), &received_at)?;
    // The pixel's page views have a pace; Shopify's servers' webhooks do not.
    let pace = (!prevails).then_some(&*state.pace);
    crate::bots::mark(&mut prepared, state.bots, pace, now);
    let store = state.store();
    let result = tokio::task::spawn_blocking(move || {
        store.insert_then(&prepared, now, |sql, outcome| {
            if !prevails {
                return Ok(0);
            }
            let mut replaced = 0;
            for (i, ev) in prepared.iter().enumerate() {
                let new = outcome.stored.iter().any(|&(at, _)| at == i);
                if !new && ev.event.as_deref() == Some("Order Completed") && prevail(sql, ev)? {
                    replaced += 1;
                }
            }
            Ok(replaced)
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?;
    let (outcome, replaced) =
        result.map_err(|e| ApiError::internal(format!("could not store events: {e}")))?;
    Ok((outcome.stored.len(), outcome.duplicates, replaced))
}

/// The anonymous id and session of the stored `Order Completed` of `order_id`, if any; with
/// `checkout`, only when the stored copy names that checkout.
fn device_of(
    sql: &dyn Sql,
    order_id: &str,
    checkout: Option<&str>,
) -> db::Result<Option<(String, Option<Value>)>> {
    let row: Option<(Option<String>, String)> = sql.opt(
        "SELECT anonymous_id, body FROM events WHERE message_id = ?1",
        &vals![common::order_message_id(order_id)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(row.and_then(|(anon, body)| {
        let body: Value = serde_json::from_str(&body).ok()?;
        if let Some(token) = checkout {
            let stored = common::at(&body, &["properties", "checkout_id"]).and_then(Value::as_str);
            if stored != Some(token) {
                return None;
            }
        }
        Some((anon?, common::at(&body, &["context", "sessionId"]).cloned()))
    }))
}

/// Gives the stored `Order Completed` with `ev`'s message id the webhook's properties and
/// time when the pixel reported it; its fact is written again. Whether it did.
fn prevail(sql: &dyn Sql, ev: &PreparedEvent) -> db::Result<bool> {
    let row: Option<(i64, String)> = sql.opt(
        "SELECT seq, body FROM events WHERE message_id = ?1",
        &vals![&ev.message_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((seq, body)) = row else {
        return Ok(false);
    };
    let Ok(Value::Object(mut stored)) = serde_json::from_str::<Value>(&body) else {
        return Ok(false);
    };
    let source = common::at(
        &Value::Object(stored.clone()),
        &["context", "shopify", "source"],
    )
    .and_then(Value::as_str)
    .map(str::to_owned);
    if source.as_deref() != Some("pixel") {
        return Ok(false);
    }
    // The pixel's device stays only when its copy names the webhook's checkout (the token
    // only the buyer's browser knows); otherwise the order goes where the webhook says.
    let checkout = |o: &Map<String, Value>| {
        o.get("properties")
            .and_then(|p| p.get("checkout_id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let same_checkout = checkout(&stored).is_some() && checkout(&stored) == checkout(&ev.object);
    let mut keys = vec!["properties", "timestamp"];
    if !same_checkout {
        keys.push("anonymousId");
        if let Some(Value::Object(context)) = stored.get_mut("context") {
            context.remove("sessionId");
            if let Some(session) = ev.object.get("context").and_then(|c| c.get("sessionId")) {
                context.insert("sessionId".into(), session.clone());
            }
        }
    }
    for key in keys {
        if let Some(v) = ev.object.get(key) {
            stored.insert(key.to_owned(), v.clone());
        }
    }
    let shopify = common::at(&Value::Object(ev.object.clone()), &["context", "shopify"]).cloned();
    if let Some(Value::Object(context)) = stored.get_mut("context") {
        let mut merged: Map<String, Value> = match shopify {
            Some(Value::Object(s)) => s,
            _ => Map::new(),
        };
        merged.insert("reportedBy".into(), json!(["pixel", "webhook"]));
        context.insert("shopify".into(), Value::Object(merged));
    }
    let timestamp = stored
        .get("timestamp")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let text = Value::Object(stored.clone()).to_string();
    let anonymous_id = stored
        .get("anonymousId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    sql.execute(
        "UPDATE events SET body = ?2, timestamp = ?3, anonymous_id = ?4 WHERE seq = ?1",
        &vals![seq, &text, &timestamp, &anonymous_id],
    )?;
    // A fact already derived from the pixel's version is derived again (on SQLite one not
    // yet derived will be, from the new body).
    if sql.execute("DELETE FROM facts WHERE seq = ?1", &vals![seq])? > 0 {
        let mut updated = ev.clone();
        updated.object = stored;
        updated.timestamp = timestamp;
        updated.anonymous_id = anonymous_id;
        crate::metrics::record(sql, &[(seq, &updated)])?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_links_are_permalinks_of_the_carts_variants() {
        let cart = json!({"products": [
            {"product_id": "7001", "variant_id": "4100101", "quantity": 3},
            {"product_id": "7002", "variant_id": 4100201},
            {"product_id": "7003", "variant_id": "not-a-number"},
            {"product_id": "7004"}
        ]});
        assert_eq!(
            cart_permalink("https://shop.example/", &cart, "st_lt", "tok_1"),
            "https://shop.example/cart/4100101:3,4100201:1?storefront=true\
             &attributes%5Bshoptrail_link%5D=tok_1&st_lt=tok_1"
        );
        assert_eq!(
            cart_permalink(
                "https://shop.example",
                &json!({"products": []}),
                "st_lt",
                "t"
            ),
            "https://shop.example/cart?st_lt=t"
        );
    }

    #[test]
    fn verifies_shopify_signatures() {
        let body = br#"{"id":820982911946154508}"#;
        let secret = "hush-0123456789abcdef";
        let good = sign(secret, body);
        assert!(verify(secret, &good, body));
        assert!(!verify(secret, &good, br#"{"id":820982911946154509}"#));
        assert!(!verify("another-secret-0123456", &good, body));
        assert!(!verify(secret, "", body));
        assert!(!verify(secret, "not base64!", body));
        assert!(!verify(secret, &good[..good.len() - 4], body));
    }
}
