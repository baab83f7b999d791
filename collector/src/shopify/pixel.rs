//! The web pixel's standard events as e-commerce spec v2 events. The pixel forwards each event
//! as Shopify's `analytics.subscribe` hands it over, with the `shoptrail_aid` cookie and the
//! visitor's consent; the mapping lives here, where it is tested from Shopify's documented
//! payloads.
//!
//! | standard event | spec event |
//! | --- | --- |
//! | `page_viewed` | a page |
//! | `product_viewed` | `Product Viewed` |
//! | `collection_viewed` | `Product List Viewed` |
//! | `search_submitted` | `Products Searched` |
//! | `product_added_to_cart`, `product_removed_from_cart` | `Product Added`, `Product Removed` |
//! | `cart_viewed` | `Cart Viewed` |
//! | `checkout_started` | `Checkout Started` (`shopify-checkout-<token>`) |
//! | `checkout_contact_info_submitted` | `Checkout Step Completed` step 1, an identify with the email |
//! | `checkout_address_info_submitted` | `Checkout Step Completed` step 2 |
//! | `checkout_shipping_info_submitted` | `Checkout Step Completed` step 3 |
//! | `payment_info_submitted` | `Payment Info Entered` (step 4) |
//! | `checkout_completed` | `Order Completed` (`shopify-order-<order id>`), an identify |
//!
//! Storefront events (every row above `checkout_started`) are the storefront SDK's to report:
//! when the pixel names a `shoptrail_aid`, the SDK ran on that page and they are skipped,
//! unless the page is a checkout page (where no page script runs).

use serde_json::{json, Map, Value};

use super::common::{
    at, attribute, checkout_message_id, id, identify, money, order_message_id, put, session, text,
    time, Track, AID_ATTRIBUTE, LINK_ATTRIBUTE, SESSION_ATTRIBUTE,
};

/// The standard events this source maps.
pub(crate) const EVENTS: [&str; 13] = [
    "page_viewed",
    "product_viewed",
    "collection_viewed",
    "search_submitted",
    "product_added_to_cart",
    "product_removed_from_cart",
    "cart_viewed",
    "checkout_started",
    "checkout_contact_info_submitted",
    "checkout_address_info_submitted",
    "checkout_shipping_info_submitted",
    "payment_info_submitted",
    "checkout_completed",
];

/// What the pixel sends beside each event.
#[derive(Debug, Default, Clone)]
pub(crate) struct Visitor {
    /// The `shoptrail_aid` cookie: the storefront SDK's anonymous id.
    pub aid: Option<String>,
    /// The storefront session (the `shoptrail_session` cart attribute, when the pixel had it).
    pub session: Option<Value>,
    /// `{analytics, marketing, preferences, sale_of_data}` from the Customer Privacy API.
    pub consent: Option<Map<String, Value>>,
    /// `X-Shopify-Shop-Domain` or the page's host.
    pub shop: Option<String>,
}

/// What happened to one standard event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mapped {
    /// Events to store.
    Events(Vec<Value>),
    /// The storefront SDK reports it.
    Skipped,
    /// Not a standard event this source maps, or one without the field named.
    Unmapped(String),
}

/// Whether the page an event comes from is a checkout page (`/checkouts/...`,
/// `/checkout`, a thank-you page).
fn on_checkout(event: &Value) -> bool {
    let path =
        text(at(event, &["context", "document", "location", "pathname"])).unwrap_or_default();
    path.starts_with("/checkouts") || path.starts_with("/checkout") || path.contains("/thank_you")
}

/// Maps one standard event.
pub(crate) fn map(event: &Value, visitor: &Visitor) -> Mapped {
    let Some(name) = text(event.get("name")) else {
        return Mapped::Unmapped("an event without a name".into());
    };
    let Some(step) = EVENTS.iter().position(|e| *e == name) else {
        return Mapped::Unmapped(format!("'{name}' is not a standard event this source maps"));
    };
    let storefront = step < 7;
    if storefront && visitor.aid.is_some() && !on_checkout(event) {
        return Mapped::Skipped;
    }
    let Some(event_id) = text(event.get("id")) else {
        return Mapped::Unmapped(format!("'{name}' has no id"));
    };
    let checkout = at(event, &["data", "checkout"]).unwrap_or(&Value::Null);
    let anonymous_id = visitor
        .aid
        .clone()
        .or_else(|| attribute(checkout.get("attributes"), AID_ATTRIBUTE))
        .or_else(|| text(event.get("clientId")).map(|c| format!("shopify-client-{c}")));
    let Some(anonymous_id) = anonymous_id else {
        return Mapped::Unmapped(format!("'{name}' has no clientId"));
    };
    let session = visitor
        .session
        .clone()
        .or_else(|| session(attribute(checkout.get("attributes"), SESSION_ATTRIBUTE)));
    let mut context = context(event, &name, visitor, session);
    if name == "checkout_completed" {
        // A journey's cart link put its token in the cart's attributes.
        put(
            &mut context,
            "linkToken",
            attribute(checkout.get("attributes"), LINK_ATTRIBUTE).map(Value::from),
        );
    }
    let timestamp = time(event.get("timestamp"));
    let data = event.get("data").unwrap_or(&Value::Null);
    let track = |message_id: String, spec: &'static str, properties: Map<String, Value>| {
        Track {
            message_id,
            event: spec,
            anonymous_id: anonymous_id.clone(),
            timestamp: timestamp.clone(),
            properties,
            context: context.clone(),
        }
        .into_value()
    };
    let own = format!("shopify-pixel-{event_id}");
    let events = match name.as_str() {
        "page_viewed" => {
            let mut page = json!({
                "type": "page",
                "messageId": own,
                "anonymousId": anonymous_id,
                "properties": context.get("page").cloned().unwrap_or_else(|| json!({})),
                "context": context,
            });
            if let (Some(t), Some(o)) = (timestamp, page.as_object_mut()) {
                o.insert("timestamp".into(), json!(t));
            }
            vec![page]
        }
        "product_viewed" => {
            let variant = data.get("productVariant").unwrap_or(&Value::Null);
            vec![track(own, "Product Viewed", product_map(variant, None))]
        }
        "collection_viewed" => {
            let c = data.get("collection").unwrap_or(&Value::Null);
            let mut p = Map::new();
            put(&mut p, "list_id", id(c.get("id")).map(Value::from));
            put(&mut p, "category", text(c.get("title")).map(Value::from));
            p.insert("products".into(), variants(c.get("productVariants")));
            vec![track(own, "Product List Viewed", p)]
        }
        "search_submitted" => {
            let mut p = Map::new();
            put(
                &mut p,
                "query",
                text(at(data, &["searchResult", "query"])).map(Value::from),
            );
            p.insert(
                "products".into(),
                variants(at(data, &["searchResult", "productVariants"])),
            );
            vec![track(own, "Products Searched", p)]
        }
        "product_added_to_cart" | "product_removed_from_cart" => {
            let line = data.get("cartLine").unwrap_or(&Value::Null);
            let variant = line.get("merchandise").unwrap_or(&Value::Null);
            let p = product_map(variant, line.get("quantity"));
            let spec = if name == "product_added_to_cart" {
                "Product Added"
            } else {
                "Product Removed"
            };
            vec![track(own, spec, p)]
        }
        "cart_viewed" => {
            let cart = data.get("cart").unwrap_or(&Value::Null);
            let mut p = Map::new();
            put(&mut p, "cart_id", id(cart.get("id")).map(Value::from));
            put(&mut p, "value", money(at(cart, &["cost", "totalAmount"])));
            put(
                &mut p,
                "currency",
                text(at(cart, &["cost", "totalAmount", "currencyCode"])).map(Value::from),
            );
            let lines = cart.get("lines").and_then(Value::as_array);
            let products = lines
                .map(|lines| {
                    lines
                        .iter()
                        .map(|l| {
                            Value::Object(product_map(
                                l.get("merchandise").unwrap_or(&Value::Null),
                                l.get("quantity"),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            p.insert("products".into(), Value::Array(products));
            vec![track(own, "Cart Viewed", p)]
        }
        "checkout_started" => {
            let Some(token) = text(checkout.get("token")) else {
                return Mapped::Unmapped(format!("'{name}' has no data.checkout.token"));
            };
            vec![track(
                checkout_message_id(&token),
                "Checkout Started",
                checkout_props(checkout),
            )]
        }
        "checkout_contact_info_submitted"
        | "checkout_address_info_submitted"
        | "checkout_shipping_info_submitted" => {
            let number = step - 7;
            let mut p = Map::new();
            put(
                &mut p,
                "checkout_id",
                text(checkout.get("token")).map(Value::from),
            );
            p.insert("step".into(), json!(number));
            put(
                &mut p,
                "shipping_method",
                text(at(checkout, &["shippingLine", "title"])).map(Value::from),
            );
            let mut out = vec![track(own.clone(), "Checkout Step Completed", p)];
            out.extend(buyer(&own, &anonymous_id, &timestamp, checkout, &context));
            out
        }
        "payment_info_submitted" => {
            let mut p = Map::new();
            put(
                &mut p,
                "checkout_id",
                text(checkout.get("token")).map(Value::from),
            );
            p.insert("step".into(), json!(4));
            vec![track(own, "Payment Info Entered", p)]
        }
        "checkout_completed" => {
            let Some(order_id) = id(at(checkout, &["order", "id"])) else {
                return Mapped::Unmapped(format!("'{name}' has no data.checkout.order.id"));
            };
            let mut p = checkout_props(checkout);
            p.insert("order_id".into(), json!(order_id));
            if let Some(v) = p.remove("value") {
                p.insert("total".into(), v);
            }
            let mut out = vec![track(order_message_id(&order_id), "Order Completed", p)];
            // Not the webhook's identify (`-identify`): each source's contact is kept.
            out.extend(buyer(
                &format!("{}-identify-pixel", order_message_id(&order_id)),
                &anonymous_id,
                &timestamp,
                checkout,
                &context,
            ));
            out
        }
        _ => return Mapped::Unmapped(format!("'{name}' is not mapped")),
    };
    Mapped::Events(events)
}

/// The `context` of a pixel event: the page and browser the pixel saw, the consent it read.
fn context(
    event: &Value,
    name: &str,
    visitor: &Visitor,
    session: Option<Value>,
) -> Map<String, Value> {
    let doc = at(event, &["context", "document"]).unwrap_or(&Value::Null);
    let location = doc.get("location").unwrap_or(&Value::Null);
    let mut page = Map::new();
    put(
        &mut page,
        "url",
        text(location.get("href")).map(|u| redact(&u).into()),
    );
    put(
        &mut page,
        "path",
        text(location.get("pathname")).map(Value::from),
    );
    put(
        &mut page,
        "search",
        text(location.get("search")).map(|u| redact(&u).into()),
    );
    put(
        &mut page,
        "referrer",
        text(doc.get("referrer")).map(Value::from),
    );
    put(&mut page, "title", text(doc.get("title")).map(Value::from));
    let mut shopify = Map::new();
    shopify.insert("source".into(), json!("pixel"));
    shopify.insert("event".into(), json!(name));
    put(
        &mut shopify,
        "clientId",
        text(event.get("clientId")).map(Value::from),
    );
    put(&mut shopify, "shop", visitor.shop.clone().map(Value::from));
    let mut c = Map::new();
    c.insert(
        "library".into(),
        json!({"name": "shoptrail-shopify-pixel", "version": env!("CARGO_PKG_VERSION")}),
    );
    c.insert("page".into(), Value::Object(page));
    put(
        &mut c,
        "userAgent",
        text(at(event, &["context", "navigator", "userAgent"])).map(Value::from),
    );
    put(
        &mut c,
        "locale",
        text(at(event, &["context", "navigator", "language"])).map(Value::from),
    );
    put(&mut c, "sessionId", session);
    if let Some(consent) = &visitor.consent {
        let mut prefs = Map::new();
        for key in ["analytics", "marketing"] {
            if let Some(v) = consent.get(key).filter(|v| v.is_boolean()) {
                prefs.insert(key.into(), v.clone());
            }
        }
        c.insert("consent".into(), json!({ "categoryPreferences": prefs }));
    }
    c.insert("shopify".into(), Value::Object(shopify));
    c
}

/// The query parameters that carry a journey link's token: the SDK's (`st_lt`, by default) and
/// the cart attribute a Shopify cart link sets. A page URL keeps neither: the token signs a
/// device into a person.
const LINK_PARAMS: [&str; 3] = [
    "st_lt",
    "attributes[shoptrail_link]",
    "attributes%5Bshoptrail_link%5D",
];

/// `url` (or a query string) without [`LINK_PARAMS`].
fn redact(url: &str) -> String {
    let (head, fragment) = match url.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (url, None),
    };
    let Some((base, query)) = head.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            let name = p.split('=').next().unwrap_or_default();
            !LINK_PARAMS.iter().any(|l| name.eq_ignore_ascii_case(l))
        })
        .collect();
    let mut out = base.to_owned();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// A pixel `ProductVariant` as a spec product.
fn product_map(variant: &Value, quantity: Option<&Value>) -> Map<String, Value> {
    let product = variant.get("product").unwrap_or(&Value::Null);
    let mut p = Map::new();
    put(&mut p, "product_id", id(product.get("id")).map(Value::from));
    put(&mut p, "variant_id", id(variant.get("id")).map(Value::from));
    put(&mut p, "sku", text(variant.get("sku")).map(Value::from));
    put(&mut p, "name", text(product.get("title")).map(Value::from));
    put(
        &mut p,
        "variant",
        text(variant.get("title"))
            .filter(|v| v != "Default Title")
            .map(Value::from),
    );
    put(
        &mut p,
        "brand",
        text(product.get("vendor")).map(Value::from),
    );
    put(
        &mut p,
        "category",
        text(product.get("type")).map(Value::from),
    );
    put(&mut p, "price", money(variant.get("price")));
    put(
        &mut p,
        "currency",
        text(at(variant, &["price", "currencyCode"])).map(Value::from),
    );
    put(&mut p, "url", text(product.get("url")).map(Value::from));
    put(
        &mut p,
        "image_url",
        text(at(variant, &["image", "src"])).map(Value::from),
    );
    put(
        &mut p,
        "quantity",
        quantity.filter(|q| q.is_number()).cloned(),
    );
    p
}

fn variants(list: Option<&Value>) -> Value {
    Value::Array(
        list.and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .map(|v| Value::Object(product_map(v, None)))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// A pixel `Checkout` as the properties of `Checkout Started` (and, with the order id, of
/// `Order Completed`).
fn checkout_props(checkout: &Value) -> Map<String, Value> {
    let mut p = Map::new();
    put(
        &mut p,
        "checkout_id",
        text(checkout.get("token")).map(Value::from),
    );
    put(&mut p, "value", money(checkout.get("totalPrice")));
    put(&mut p, "subtotal", money(checkout.get("subtotalPrice")));
    put(&mut p, "revenue", money(checkout.get("subtotalPrice")));
    put(&mut p, "tax", money(checkout.get("totalTax")));
    put(
        &mut p,
        "shipping",
        money(at(checkout, &["shippingLine", "price"])),
    );
    put(&mut p, "discount", money(checkout.get("discountsAmount")));
    let codes: Vec<&str> = checkout
        .get("discountApplications")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter(|d| d.get("type").and_then(Value::as_str) == Some("DISCOUNT_CODE"))
                .filter_map(|d| d.get("title")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    if !codes.is_empty() {
        p.insert("coupon".into(), json!(codes.join(",")));
    }
    put(
        &mut p,
        "currency",
        text(checkout.get("currencyCode"))
            .or_else(|| text(at(checkout, &["totalPrice", "currencyCode"])))
            .map(Value::from),
    );
    let items = checkout.get("lineItems").and_then(Value::as_array);
    let products = items
        .map(|items| {
            items
                .iter()
                .map(|l| {
                    let mut p =
                        product_map(l.get("variant").unwrap_or(&Value::Null), l.get("quantity"));
                    if !p.contains_key("name") {
                        put(&mut p, "name", text(l.get("title")).map(Value::from));
                    }
                    Value::Object(p)
                })
                .collect()
        })
        .unwrap_or_default();
    p.insert("products".into(), Value::Array(products));
    p
}

/// An identify of the buyer, when the checkout names an email or a phone (the pixel leaves
/// them out when the visitor refused marketing).
fn buyer(
    message_id: &str,
    anonymous_id: &str,
    timestamp: &Option<String>,
    checkout: &Value,
    context: &Map<String, Value>,
) -> Option<Value> {
    let email = text(checkout.get("email"));
    let phone = text(checkout.get("phone"));
    if email.is_none() && phone.is_none() {
        return None;
    }
    let mut traits = Map::new();
    put(&mut traits, "email", email.map(Value::from));
    put(&mut traits, "phone", phone.map(Value::from));
    let address = checkout
        .get("billingAddress")
        .or_else(|| checkout.get("shippingAddress"));
    if let Some(a) = address.filter(|a| a.is_object()) {
        put(
            &mut traits,
            "first_name",
            text(a.get("firstName")).map(Value::from),
        );
        put(
            &mut traits,
            "last_name",
            text(a.get("lastName")).map(Value::from),
        );
    }
    let message_id = if message_id.contains("-identify") {
        message_id.to_owned()
    } else {
        format!("{message_id}-identify")
    };
    Some(identify(
        message_id,
        anonymous_id,
        timestamp.clone(),
        traits,
        context.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn page_urls_lose_link_tokens() {
        assert_eq!(
            redact(
                "https://s.example/cart?storefront=true&attributes%5Bshoptrail_link%5D=t&st_lt=t#x"
            ),
            "https://s.example/cart?storefront=true#x"
        );
        assert_eq!(redact("?attributes[shoptrail_link]=t"), "");
        assert_eq!(redact("https://s.example/p?q=1"), "https://s.example/p?q=1");
        assert_eq!(redact("https://s.example/p"), "https://s.example/p");
    }
}
