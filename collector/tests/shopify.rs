//! Shopify as a source, from the payloads Shopify documents (`tests/fixtures/shopify`, whose
//! README names each one's page): every webhook topic and every standard event the pixel
//! forwards maps to the spec event a user would look for; one order is one `Order Completed`
//! whichever source reports it first, with the webhook's revenue; a forged webhook stores
//! nothing. Over HTTP, on SQLite and (with `SHOPTRAIL_TEST_POSTGRES`) PostgreSQL.

mod common;

use common::{request, TestServer};
use serde_json::{json, Value};
use shoptrail_collector::shopify::sign;

const SECRET: &str = "shpss_test_secret_0123456789abcdef";
const ORDER: &str = "820982911946154508";
const AID: &str = "0b6a8f1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";

fn fixture(path: &str) -> Value {
    let file = format!(
        "{}/tests/fixtures/shopify/{path}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

async fn start() -> TestServer {
    TestServer::start_with(|o| o.shopify_secret = Some(SECRET.into())).await
}

/// Delivers `body` as Shopify does: the topic and shop in headers, signed with `secret`.
async fn deliver(t: &TestServer, topic: &str, body: &Value, secret: &str) -> common::Reply {
    let text = body.to_string();
    let hmac = sign(secret, text.as_bytes());
    request(
        t.addr,
        "POST",
        "/v1/sources/shopify/webhooks",
        &[
            ("Content-Type", "application/json"),
            ("X-Shopify-Topic", topic),
            ("X-Shopify-Hmac-Sha256", &hmac),
            ("X-Shopify-Shop-Domain", "jsmith.myshopify.com"),
            (
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
        ],
        Some(text.as_bytes()),
    )
    .await
}

async fn pixel(t: &TestServer, body: &Value) -> Value {
    let r = t.post_json("/v1/sources/shopify/pixel", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The order webhook as a shop with the embed sends it: the cart attributes carry the
/// storefront's anonymous id and session.
fn labelled_order() -> Value {
    let mut order = fixture("webhooks/orders_create");
    order["note_attributes"] = json!([
        {"name": "shoptrail_aid", "value": AID},
        {"name": "shoptrail_session", "value": "1765094400000"}
    ]);
    order
}

/// The metrics' totals over the fixtures' days.
async fn totals(t: &TestServer) -> Value {
    let r = t.get("/v1/metrics?from=2021-12-01&to=2022-01-31").await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["totals"].clone()
}

fn orders(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["event"] == "Order Completed")
        .collect()
}

#[tokio::test]
async fn an_order_webhook_is_one_order_completed_with_shopifys_totals_on_the_storefront_device() {
    let t = start().await;
    let r = deliver(&t, "orders/create", &labelled_order(), SECRET).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["accepted"], 2, "the order and its buyer");
    let events = t.events("").await;
    let order = orders(&events)[0];
    assert_eq!(order["messageId"], format!("shopify-order-{ORDER}"));
    assert_eq!(order["anonymousId"], AID);
    assert_eq!(order["context"]["sessionId"], 1_765_094_400_000i64);
    assert_eq!(order["context"]["shopify"]["topic"], "orders/create");
    assert_eq!(order["context"]["shopify"]["shop"], "jsmith.myshopify.com");
    let p = &order["properties"];
    assert_eq!(p["order_id"], ORDER);
    assert_eq!(p["checkout_id"], "b2f7e3a9c4d15e6f8a0b1c2d3e4f5a6b");
    assert_eq!(p["order_number"], "#9999");
    assert_eq!(
        (p["total"].as_f64(), p["currency"].as_str()),
        (Some(359.97), Some("USD"))
    );
    assert_eq!(p["shipping"].as_f64(), Some(10.0));
    let products = p["products"].as_array().expect("products");
    assert_eq!(products.len(), 3);
    assert_eq!(products[0]["name"], "Aviator sunglasses");
    assert_eq!(products[0]["sku"], "SKU2006-001");
    assert_eq!(products[0]["price"].as_f64(), Some(89.99));
    assert_eq!(products[0]["quantity"], 1);
    // The order's timestamp is Shopify's processed_at, in UTC.
    assert!(
        order["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{order}"
    );

    let buyer = events
        .iter()
        .find(|e| e["type"] == "identify")
        .expect("identify");
    assert_eq!(buyer["anonymousId"], AID);
    assert_eq!(buyer["traits"]["email"], "jon@example.com");

    // Shopify retries a delivery it thinks failed, and orders/paid follows: one order.
    let again = deliver(&t, "orders/create", &labelled_order(), SECRET).await;
    assert_eq!(again.json()["duplicates"], 2, "{}", again.text());
    let mut paid = fixture("webhooks/orders_paid");
    paid["note_attributes"] = labelled_order()["note_attributes"].clone();
    let r = deliver(&t, "orders/paid", &paid, SECRET).await;
    assert_eq!(r.json()["accepted"], 0, "{}", r.text());
    assert_eq!(orders(&t.events("").await).len(), 1);

    let m = totals(&t).await;
    assert_eq!(m["orders"], 1, "{m}");
}

#[tokio::test]
async fn the_order_is_one_event_whichever_source_reports_it_first_and_the_webhook_sets_revenue() {
    for webhook_first in [true, false] {
        let t = start().await;
        let completed = fixture("pixel/checkout_completed");
        let from_pixel = json!({"aid": AID, "consent": {"analytics": true, "marketing": true},
                                "events": [completed]});
        if webhook_first {
            deliver(&t, "orders/create", &labelled_order(), SECRET).await;
            let r = pixel(&t, &from_pixel).await;
            // The order is a duplicate; the pixel's contact of the buyer is its own.
            assert_eq!(
                (r["accepted"].clone(), r["duplicates"].clone()),
                (json!(1), json!(1)),
                "{r}"
            );
        } else {
            let r = pixel(&t, &from_pixel).await;
            assert_eq!(r["accepted"], 2, "the order and its buyer: {r}");
            // Metrics read the pixel's order before the webhook arrives.
            let m = totals(&t).await;
            assert_eq!(m["revenue"]["USD"], "358.97", "{m}");
            let r = deliver(&t, "orders/create", &labelled_order(), SECRET).await;
            assert_eq!(r.json()["replaced"], 1, "{}", r.text());
        }
        let events = t.events("").await;
        let found = orders(&events);
        assert_eq!(found.len(), 1, "webhook first: {webhook_first}");
        let order = found[0];
        assert_eq!(
            order["properties"]["total"].as_f64(),
            Some(359.97),
            "{order}"
        );
        assert_eq!(order["anonymousId"], AID);
        assert_eq!(order["context"]["shopify"]["source"], "webhook");
        let m = totals(&t).await;
        assert_eq!(m["orders"], 1, "{m}");
        assert_eq!(m["revenue"]["USD"], "359.97", "{m}");
    }
}

#[tokio::test]
async fn a_forged_webhook_is_refused_and_stores_nothing() {
    let t = start().await;
    let body = labelled_order();
    let r = deliver(
        &t,
        "orders/create",
        &body,
        "shpss_someone_elses_secret_0000",
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["field"], "X-Shopify-Hmac-Sha256");
    // A body changed after signing.
    let text = body.to_string();
    let hmac = sign(SECRET, text.as_bytes());
    let changed = text.replace("359.97", "1.00");
    let r = request(
        t.addr,
        "POST",
        "/v1/sources/shopify/webhooks",
        &[
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Hmac-Sha256", &hmac),
        ],
        Some(changed.as_bytes()),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = request(
        t.addr,
        "POST",
        "/v1/sources/shopify/webhooks",
        &[("X-Shopify-Topic", "orders/create")],
        Some(text.as_bytes()),
    )
    .await;
    assert_eq!(r.status, 401, "no signature");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM events").await, 0);

    // A collector without the app's secret takes no webhooks, and says how to turn them on.
    let off = TestServer::start().await;
    let r = deliver(&off, "orders/create", &body, SECRET).await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("--shopify-secret"), "{}", r.text());
}

#[tokio::test]
async fn every_webhook_topic_maps_to_its_spec_event() {
    let t = start().await;
    deliver(&t, "orders/create", &labelled_order(), SECRET).await;
    let cases: &[(&str, &str, usize)] = &[
        ("refunds/create", "refunds_create", 1),
        ("checkouts/create", "checkouts_create", 2),
        // The same Checkout Started; its buyer's identify, a new version of the checkout.
        ("checkouts/update", "checkouts_update", 1),
        ("customers/create", "customers_create", 1),
        ("customers/update", "customers_update", 0),
        ("customers/create", "customers_create.2025-07", 1),
        (
            "customers/email_marketing_consent_update",
            "customers_email_marketing_consent_update",
            1,
        ),
        (
            "customers/marketing_consent_update",
            "customers_marketing_consent_update",
            1,
        ),
    ];
    for (topic, file, accepted) in cases {
        let r = deliver(&t, topic, &fixture(&format!("webhooks/{file}")), SECRET).await;
        assert_eq!(r.status, 200, "{topic}: {}", r.text());
        assert_eq!(
            r.json()["accepted"],
            *accepted,
            "{topic} {file}: {}",
            r.text()
        );
    }
    let events = t.events("").await;
    let refund = events
        .iter()
        .find(|e| e["event"] == "Order Refunded")
        .expect("refund");
    assert_eq!(refund["properties"]["order_id"], ORDER);
    // The two refund transactions of the sample, on the device the order was made on.
    let total: f64 = fixture("webhooks/refunds_create")["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| {
            t["amount"]
                .as_str()
                .and_then(|a| a.parse::<f64>().ok())
                .unwrap_or(0.0)
        })
        .sum();
    assert!((refund["properties"]["total"].as_f64().unwrap() - total).abs() < 1e-9);
    assert_eq!(refund["anonymousId"], AID);
    assert_eq!(
        refund["properties"]["products"].as_array().map(Vec::len),
        Some(3)
    );

    // checkouts/update of the same checkout is the same Checkout Started.
    let started: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "Checkout Started")
        .collect();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["properties"]["checkout_id"], "123123123");
    assert_eq!(started[0]["properties"]["value"].as_f64(), Some(421.88));
    assert_eq!(
        started[0]["properties"]["products"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Customers: before 2025-01 the resource says "not_subscribed" (nothing granted); since
    // then consent comes in its own topic, and a subscription grants marketing.
    let customer = |pred: &dyn Fn(&Value) -> bool| {
        events
            .iter()
            .filter(|e| {
                e["type"] == "identify" && e["anonymousId"] == "shopify-customer-706405506930370084"
            })
            .find(|e| pred(e))
            .cloned()
    };
    let created = customer(&|e| e["traits"]["email_marketing_consent"] == "not_subscribed")
        .expect("customers/create");
    assert!(created["context"]["consent"].is_null(), "{created}");
    assert_eq!(created["traits"]["first_name"], "Bob");
    let subscribed = customer(&|e| e["traits"]["email_marketing_consent"] == "subscribed")
        .expect("email consent update");
    assert_eq!(
        subscribed["context"]["consent"]["categoryPreferences"]["marketing"],
        true
    );
    assert_eq!(subscribed["traits"]["unsubscribed"], false);

    // A topic it does not map is acknowledged (Shopify would retry anything else) and named.
    let r = deliver(&t, "products/create", &json!({"id": 1}), SECRET).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["ignored"]
        .as_str()
        .unwrap()
        .contains("products/create"));
    // A mapped topic without its id is the sender's fault.
    let r = deliver(
        &t,
        "orders/create",
        &json!({"email": "x@example.com"}),
        SECRET,
    )
    .await;
    assert_eq!((r.status, r.json()["field"].clone()), (400, json!("id")));
}

const PIXEL_EVENTS: [(&str, &str); 13] = [
    ("page_viewed", "page"),
    ("product_viewed", "Product Viewed"),
    ("collection_viewed", "Product List Viewed"),
    ("search_submitted", "Products Searched"),
    ("product_added_to_cart", "Product Added"),
    ("product_removed_from_cart", "Product Removed"),
    ("cart_viewed", "Cart Viewed"),
    ("checkout_started", "Checkout Started"),
    ("checkout_contact_info_submitted", "Checkout Step Completed"),
    ("checkout_address_info_submitted", "Checkout Step Completed"),
    (
        "checkout_shipping_info_submitted",
        "Checkout Step Completed",
    ),
    ("payment_info_submitted", "Payment Info Entered"),
    ("checkout_completed", "Order Completed"),
];

#[tokio::test]
async fn every_standard_event_maps_to_its_spec_event() {
    let t = start().await;
    let events: Vec<Value> = PIXEL_EVENTS
        .iter()
        .map(|(name, _)| fixture(&format!("pixel/{name}")))
        .collect();
    // A shop without the storefront SDK: the pixel is the only source of every event.
    let r = pixel(
        &t,
        &json!({"consent": {"analytics": true, "marketing": true}, "events": events}),
    )
    .await;
    assert_eq!(r["skipped"], 0, "{r}");
    assert_eq!(r["unmapped"], json!([]), "{r}");
    let stored = t.events("").await;
    for (name, spec) in PIXEL_EVENTS {
        let found = stored.iter().any(|e| {
            e["context"]["shopify"]["event"] == name
                && (e["event"] == spec || (spec == "page" && e["type"] == "page"))
        });
        assert!(found, "{name} -> {spec}");
    }
    let client = "shopify-client-3f9c2a7e-5b1d-4e8a-9c6f-0d2b4a8e1f73";
    assert!(stored.iter().all(|e| e["anonymousId"] == client));
    let viewed = stored
        .iter()
        .find(|e| e["event"] == "Product Viewed")
        .unwrap();
    assert_eq!(viewed["properties"]["name"], "Aviator sunglasses");
    assert_eq!(viewed["properties"]["price"].as_f64(), Some(89.99));
    let steps: Vec<i64> = stored
        .iter()
        .filter(|e| e["event"] == "Checkout Step Completed")
        .map(|e| e["properties"]["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, [1, 2, 3]);
    let started = stored
        .iter()
        .find(|e| e["event"] == "Checkout Started")
        .unwrap();
    assert_eq!(
        started["messageId"],
        "shopify-checkout-b2f7e3a9c4d15e6f8a0b1c2d3e4f5a6b"
    );
    assert_eq!(
        started["context"]["consent"]["categoryPreferences"]["marketing"],
        true
    );
    let buyer = stored
        .iter()
        .find(|e| e["type"] == "identify")
        .expect("identify");
    assert_eq!(buyer["traits"]["email"], "jon@example.com");
    let order = stored
        .iter()
        .find(|e| e["event"] == "Order Completed")
        .unwrap();
    assert_eq!(order["properties"]["order_id"], ORDER);
    assert_eq!(order["properties"]["total"].as_f64(), Some(358.97));
}

#[tokio::test]
async fn storefront_events_are_the_sdks_where_it_runs_and_refused_consent_sends_nothing() {
    let t = start().await;
    let events: Vec<Value> = PIXEL_EVENTS
        .iter()
        .map(|(name, _)| fixture(&format!("pixel/{name}")))
        .collect();
    // With the storefront SDK's cookie, its own events report the storefront.
    let r = pixel(&t, &json!({"aid": AID, "events": events})).await;
    assert_eq!(r["skipped"], 7, "{r}");
    let stored = t.events("").await;
    assert!(stored.iter().all(|e| e["anonymousId"] == AID));
    assert!(!stored.iter().any(|e| e["event"] == "Product Viewed"));
    assert!(stored.iter().any(|e| e["event"] == "Checkout Started"));

    let before = t.scalar("SELECT COUNT(*) FROM events").await;
    let r = pixel(
        &t,
        &json!({"consent": {"analytics": false}, "events": [fixture("pixel/checkout_started")]}),
    )
    .await;
    assert_eq!(
        (r["accepted"].clone(), r["refused"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM events").await, before);

    // Bad input is named.
    let r = t
        .post_json("/v1/sources/shopify/pixel", &json!({"event": {}}))
        .await;
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (400, json!("events"))
    );
    let r = pixel(
        &t,
        &json!({"events": [{"name": "alert_displayed", "id": "x"}]}),
    )
    .await;
    assert!(r["unmapped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("alert_displayed"));
}

#[test]
fn the_app_subscribes_to_the_topics_mapped_and_the_pixel_forwards_the_events_mapped() {
    let root = format!("{}/../shopify", env!("CARGO_MANIFEST_DIR"));
    let app: toml::Table = toml::from_str(
        &std::fs::read_to_string(format!("{root}/shopify.app.toml")).expect("shopify.app.toml"),
    )
    .expect("TOML");
    let topics: Vec<&str> = app["webhooks"]["subscriptions"][0]["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert_eq!(topics, shoptrail_collector::shopify::webhook_topics());
    let mut privacy: Vec<&str> = app["webhooks"]["subscriptions"][1]["compliance_topics"]
        .as_array()
        .expect("compliance_topics")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    let mut taken = shoptrail_collector::shopify::compliance_topics().to_vec();
    privacy.sort_unstable();
    taken.sort_unstable();
    assert_eq!(privacy, taken);
    let pixel = std::fs::read_to_string(format!("{root}/extensions/shoptrail-pixel/src/index.js"))
        .expect("the pixel");
    let list = pixel
        .split_once("const EVENTS = [")
        .and_then(|(_, rest)| rest.split_once("];"))
        .expect("the pixel's EVENTS")
        .0;
    let forwarded: Vec<&str> = list
        .split(',')
        .map(|e| e.trim().trim_matches('"'))
        .filter(|e| !e.is_empty())
        .collect();
    assert_eq!(forwarded, shoptrail_collector::shopify::pixel_events());
}

#[tokio::test]
async fn the_pixel_route_takes_the_write_key_as_ingestion_does() {
    let t = TestServer::start_with(|o| o.write_keys = vec!["wk_shop".into()]).await;
    let body = json!({"events": [fixture("pixel/checkout_started")]});
    let r = t.post_json("/v1/sources/shopify/pixel", &body).await;
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (401, json!("writeKey"))
    );
    let mut keyed = body.clone();
    keyed["writeKey"] = json!("wk_shop");
    let r = t.post_json("/v1/sources/shopify/pixel", &keyed).await;
    assert_eq!((r.status, r.json()["accepted"].clone()), (200, json!(1)));
}

#[tokio::test]
async fn nobody_but_the_signed_source_writes_shopify_ids_or_picks_an_orders_device() {
    let t = start().await;
    // A client cannot take an order's message id before the webhook.
    let mut forged = common::track(
        "shopify-order-820982911946154508",
        "evil",
        "Order Completed",
    );
    forged["properties"] = json!({"order_id": ORDER, "total": 1});
    let r = t.post_json("/v1/batch", &json!({"batch": [forged]})).await;
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (400, json!("batch[0].messageId"))
    );
    // Nor through the pixel's route can it pick the device of an order it did not check out:
    // its copy names another checkout, so the signed order goes where the webhook says.
    let mut completed = fixture("pixel/checkout_completed");
    completed["data"]["checkout"]["token"] = json!("a-checkout-the-attacker-made");
    let r = pixel(&t, &json!({"aid": "evil", "events": [completed]})).await;
    assert_eq!(r["accepted"], 2, "the order and its buyer: {r}");
    let order = fixture("webhooks/orders_create");
    let r = deliver(&t, "orders/create", &order, SECRET).await;
    assert_eq!(r.json()["replaced"], 1, "{}", r.text());
    let events = t.events("").await;
    let stored = orders(&events)[0];
    assert_eq!(stored["anonymousId"], "shopify-customer-115310627314723954");
    let buyer = events
        .iter()
        .find(|e| e["messageId"] == format!("shopify-order-{ORDER}-identify"))
        .expect("the webhook's buyer");
    assert_eq!(buyer["anonymousId"], "shopify-customer-115310627314723954");
    let facts = t
        .scalar(
            "SELECT COUNT(*) FROM events WHERE anonymous_id = 'evil' AND event = 'Order Completed'",
        )
        .await;
    assert_eq!(facts, 0);
}

#[tokio::test]
async fn sms_consent_is_a_trait_and_email_consent_the_marketing_choice() {
    let t = start().await;
    let sms = json!({"id": 42, "phone": "+15551234567",
                     "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                               "consent_updated_at": "2026-12-01T10:00:00-05:00"}});
    deliver(&t, "customers/marketing_consent_update", &sms, SECRET).await;
    let email = json!({"customer_id": 42, "email_address": "ada@example.com",
                       "email_marketing_consent": {"state": "unsubscribed", "opt_in_level": null,
                                                   "consent_updated_at": "2026-12-01T11:00:00-05:00"}});
    deliver(
        &t,
        "customers/email_marketing_consent_update",
        &email,
        SECRET,
    )
    .await;
    let events = t.events("").await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["traits"]["sms_marketing_consent"], "subscribed");
    assert!(events[0]["context"]["consent"].is_null(), "{}", events[0]);
    assert_eq!(events[1]["traits"]["unsubscribed"], true);
    assert_eq!(
        events[1]["context"]["consent"]["categoryPreferences"]["marketing"],
        false
    );
    // The same delivery again (Shopify retries) is one event; a new one is another.
    let r = deliver(
        &t,
        "customers/email_marketing_consent_update",
        &email,
        SECRET,
    )
    .await;
    assert_eq!(r.json()["duplicates"], 1);
}

#[tokio::test]
async fn customers_redact_erases_the_customer_and_the_other_privacy_topics_are_answered() {
    let t = start().await;
    // John's storefront device, his order (the cart attribute joins them) and his email.
    let mut order = labelled_order();
    order["email"] = json!("john@example.com");
    order["id"] = json!(299938);
    deliver(&t, "orders/create", &order, SECRET).await;
    let page =
        json!({"type": "page", "messageId": "john-page", "anonymousId": AID, "name": "Home"});
    t.post_json("/v1/batch", &json!({"batch": [page]})).await;
    let other = common::track("s-1", "someone-else", "Product Viewed");
    t.post_json("/v1/batch", &json!({"batch": [other]})).await;
    assert_eq!(t.scalar("SELECT COUNT(*) FROM events").await, 4);

    let r = deliver(
        &t,
        "customers/redact",
        &fixture("webhooks/customers_redact"),
        SECRET,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let erased = r.json()["erased"].clone();
    assert_eq!(erased.as_array().map(Vec::len), Some(1), "{erased}");
    assert!(erased[0]["ids"]["anonymousIds"]
        .as_array()
        .unwrap()
        .contains(&json!(AID)));
    let left: Vec<Value> = t.events("").await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["anonymousId"], "someone-else");
    // Later events of John are suppressed, as after DELETE /v1/profiles/{id}.
    let again = t
        .post_json(
            "/v1/batch",
            &json!({"batch": [{"type": "page", "messageId": "john-2", "anonymousId": AID}]}),
        )
        .await;
    assert_eq!(again.json()["suppressed"], 1);

    let r = deliver(
        &t,
        "customers/data_request",
        &fixture("webhooks/customers_data_request"),
        SECRET,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["export"],
        "GET /v1/profiles/john@example.com/export (admin)"
    );
    let r = deliver(&t, "shop/redact", &fixture("webhooks/shop_redact"), SECRET).await;
    assert_eq!((r.status, r.json()["erased"].clone()), (200, json!([])));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM events").await, 1);
}
