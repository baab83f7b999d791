//! `GET /v1/metrics` on a generated data set whose answers are worked out by hand below.

mod common;

use common::TestServer;
use serde_json::{json, Value};

const WINDOW: &str = "from=2026-11-01&to=2026-11-08";

const IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile";
const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15";
const WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36";

/// Events of one browsing session, numbered as they are added.
struct Visit<'a> {
    events: &'a mut Vec<Value>,
    anon: &'static str,
    session: u64,
    user_agent: &'static str,
}

impl Visit<'_> {
    fn push(&mut self, mut ev: Value, at: &str, campaign: Option<(&str, &str)>) {
        let n = self.events.len();
        ev["messageId"] = json!(format!("m{n}"));
        ev["anonymousId"] = json!(self.anon);
        ev["timestamp"] = json!(at);
        let mut context = json!({ "sessionId": self.session, "userAgent": self.user_agent });
        if let Some((source, medium)) = campaign {
            context["campaign"] = json!({ "source": source, "medium": medium, "name": "n" });
        }
        ev["context"] = context;
        self.events.push(ev);
    }

    fn page(&mut self, at: &str) {
        self.push(json!({"type": "page", "name": "Home"}), at, None);
    }

    fn landing(&mut self, at: &str, source: &str, medium: &str) {
        self.push(
            json!({"type": "page", "name": "Landing"}),
            at,
            Some((source, medium)),
        );
    }

    fn track(&mut self, at: &str, event: &str, properties: Value) {
        self.push(
            json!({"type": "track", "event": event, "properties": properties}),
            at,
            None,
        );
    }

    fn identify(&mut self, at: &str, user_id: &str) {
        self.push(
            json!({"type": "identify", "userId": user_id, "traits": {}}),
            at,
            None,
        );
    }

    fn added(&mut self, at: &str, cart: &str) {
        self.track(
            at,
            "Product Added",
            json!({"cart_id": cart, "sku": "S", "price": 19.99}),
        );
    }

    fn exposed(&mut self, at: &str, variation: &str) {
        self.track(
            at,
            "Experiment Viewed",
            json!({"experiment_id": "exit-offer", "variation_id": variation}),
        );
    }

    fn nps(&mut self, at: &str, score: Value) {
        self.track(at, "NPS Submitted", json!({ "score": score }));
    }
}

fn visit<'a>(
    events: &'a mut Vec<Value>,
    anon: &'static str,
    session: u64,
    user_agent: &'static str,
) -> Visit<'a> {
    Visit {
        events,
        anon,
        session,
        user_agent,
    }
}

/// The data set. Window: 2026-11-01 (inclusive) to 2026-11-08 (exclusive), days 1 to 7.
///
/// | session | person | device  | channel    | day | what happens                               |
/// |---------|--------|---------|------------|-----|--------------------------------------------|
/// | S1      | Ada a1 | desktop | newsletter | 2   | b, add c-a1, checkout, o-1 USD 19.99       |
/// | S2      | Ada a2 | mobile  | direct     | 3   | add c-a2, checkout, o-2 USD 19.99 twice    |
/// | S3      | Ben    | mobile  | google     | 3   | control, add c-b1, checkout, o-3 EUR 10.10 |
/// | S4      | Cleo   | desktop | newsletter | 2   | o-0 (seen before), o-4 USD 0.11, then b    |
/// | S5      | Dan    | mobile  | google     | 4   | b, add c-d1, checkout, o-5 JPY 1500        |
/// | S6      | Eve    | desktop | direct     | 4   | control, add c-e1, NPS 10                  |
/// | S7      | Finn   | desktop | newsletter | 4   | control, add c-f1 twice, checkout, NPS 9   |
/// | S8      | Gus    | mobile  | direct     | 5   | b, add c-g1, NPS 3                         |
/// | S9      | Hana   | desktop | google     | 5–6 | control, add c-h1, checkout, NPS 8         |
/// | S10     | Ben    | mobile  | direct     | 6   | o-6 EUR 5.05 (revenue only), NPS 9         |
/// | S12     | Ivy    | desktop | direct     | 7   | Product Viewed only, never exposed         |
///
/// Newsletter is source `newsletter`, medium `email`; google is `google` / `cpc`. Dan also
/// sends a score of 11, which is no score.
///
/// Ada's two devices are stitched by `identify` with one user id. Outside the window: Cleo's
/// first o-0 and cart c-c0 (October 30), Gus's control exposure (October 31), Hana's o-7 for
/// cart c-h1 and Eve's NPS 0 (November 8).
fn data_set() -> Vec<Value> {
    let mut events = Vec::new();
    let e = &mut events;

    // S1: Ada's desktop, from the newsletter.
    let mut s = visit(e, "a1", 1, MAC);
    s.landing("2026-11-02T10:00:00Z", "newsletter", "email");
    s.track(
        "2026-11-02T10:01:00Z",
        "Product Viewed",
        json!({"sku": "S"}),
    );
    s.exposed("2026-11-02T10:01:30Z", "b");
    s.added("2026-11-02T10:02:00Z", "c-a1");
    s.identify("2026-11-02T10:03:00Z", "u-ada");
    s.track(
        "2026-11-02T10:04:00Z",
        "Checkout Started",
        json!({"cart_id": "c-a1"}),
    );
    s.track(
        "2026-11-02T10:05:00Z",
        "Order Completed",
        json!({"order_id": "o-1", "cart_id": "c-a1", "total": 19.99, "currency": "USD"}),
    );

    // S2: Ada's phone, typed in; her second exposure (control) does not count.
    let mut s = visit(e, "a2", 2, IPHONE);
    s.page("2026-11-03T09:00:00Z");
    s.identify("2026-11-03T09:00:10Z", "u-ada");
    s.exposed("2026-11-03T09:00:20Z", "control");
    s.added("2026-11-03T09:01:00Z", "c-a2");
    s.track(
        "2026-11-03T09:02:00Z",
        "Checkout Started",
        json!({"cart_id": "c-a2"}),
    );
    let order = json!({"order_id": "o-2", "cart_id": "c-a2", "total": 19.99, "currency": "USD"});
    s.track("2026-11-03T09:03:00Z", "Order Completed", order.clone());
    // The confirmation page reloaded: the same order again.
    s.track("2026-11-03T09:04:00Z", "Order Completed", order);

    // S3: Ben's phone, from an ad; the total wins over the revenue, the currency is upper-cased.
    let mut s = visit(e, "b1", 3, ANDROID);
    s.landing("2026-11-03T12:00:00Z", "google", "cpc");
    s.exposed("2026-11-03T12:00:30Z", "control");
    s.track(
        "2026-11-03T12:01:00Z",
        "Product Viewed",
        json!({"sku": "S"}),
    );
    s.added("2026-11-03T12:02:00Z", "c-b1");
    s.track(
        "2026-11-03T12:03:00Z",
        "Checkout Started",
        json!({"cart_id": "c-b1"}),
    );
    s.track(
        "2026-11-03T12:04:00Z",
        "Order Completed",
        json!({"order_id": "o-3", "cart_id": "c-b1", "total": 10.10, "revenue": 9.00,
               "currency": "eur"}),
    );

    // Before the window: Cleo's first o-0 and her cart.
    let mut s = visit(e, "c1", 40, WINDOWS);
    s.page("2026-10-30T08:00:00Z");
    s.added("2026-10-30T08:01:00Z", "c-c0");
    s.track(
        "2026-10-30T08:02:00Z",
        "Order Completed",
        json!({"order_id": "o-0", "cart_id": "c-c0", "total": 99.00, "currency": "USD"}),
    );

    // S4: Cleo; the campaign arrives with the second page. o-0 again (already counted in
    // October), o-4 without a currency (USD), then her exposure: after her order.
    let mut s = visit(e, "c1", 4, WINDOWS);
    s.page("2026-11-02T15:00:00Z");
    s.landing("2026-11-02T15:00:30Z", "newsletter", "email");
    s.track(
        "2026-11-02T15:01:00Z",
        "Order Completed",
        json!({"order_id": "o-0", "cart_id": "c-c0", "total": 99.00, "currency": "USD"}),
    );
    s.track(
        "2026-11-02T15:02:00Z",
        "Order Completed",
        json!({"order_id": "o-4", "total": 0.11}),
    );
    s.exposed("2026-11-02T15:03:00Z", "b");

    // S5: Dan's phone, from an ad; an out-of-range score is ignored.
    let mut s = visit(e, "d1", 5, IPHONE);
    s.landing("2026-11-04T10:00:00Z", "google", "cpc");
    s.exposed("2026-11-04T10:00:30Z", "b");
    s.added("2026-11-04T10:01:00Z", "c-d1");
    s.track(
        "2026-11-04T10:02:00Z",
        "Checkout Started",
        json!({"cart_id": "c-d1"}),
    );
    s.track(
        "2026-11-04T10:03:00Z",
        "Order Completed",
        json!({"order_id": "o-5", "cart_id": "c-d1", "total": 1500, "currency": "JPY"}),
    );
    s.nps("2026-11-04T10:04:00Z", json!(11));

    // S6: Eve, typed in; abandons.
    let mut s = visit(e, "e1", 6, MAC);
    s.page("2026-11-04T11:00:00Z");
    s.exposed("2026-11-04T11:00:30Z", "control");
    s.added("2026-11-04T11:01:00Z", "c-e1");
    s.nps("2026-11-04T11:02:00Z", json!(10));

    // S7: Finn, from the newsletter; adds twice to one cart, abandons at checkout.
    let mut s = visit(e, "f1", 7, WINDOWS);
    s.landing("2026-11-04T12:00:00Z", "newsletter", "email");
    s.exposed("2026-11-04T12:00:30Z", "control");
    s.added("2026-11-04T12:01:00Z", "c-f1");
    s.added("2026-11-04T12:02:00Z", "c-f1");
    s.track(
        "2026-11-04T12:03:00Z",
        "Checkout Started",
        json!({"cart_id": "c-f1"}),
    );
    s.nps("2026-11-04T12:04:00Z", json!(9));

    // Before the window: Gus's first exposure, to control.
    let mut s = visit(e, "g1", 41, IPHONE);
    s.exposed("2026-10-31T10:00:00Z", "control");

    // S8: Gus's phone, typed in; in the window his first exposure is b.
    let mut s = visit(e, "g1", 8, IPHONE);
    s.page("2026-11-05T10:00:00Z");
    s.exposed("2026-11-05T10:00:30Z", "b");
    s.added("2026-11-05T10:01:00Z", "c-g1");
    s.nps("2026-11-05T10:02:00Z", json!(3));

    // S9: Hana, from an ad, across midnight; her order comes after the window.
    let mut s = visit(e, "h1", 9, MAC);
    s.landing("2026-11-05T23:50:00Z", "google", "cpc");
    s.exposed("2026-11-05T23:51:00Z", "control");
    s.added("2026-11-05T23:52:00Z", "c-h1");
    s.track(
        "2026-11-06T00:10:00Z",
        "Checkout Started",
        json!({"cart_id": "c-h1"}),
    );
    s.nps("2026-11-06T00:11:00Z", json!(8));
    let mut s = visit(e, "h1", 11, MAC);
    s.page("2026-11-08T01:00:00Z");
    s.track(
        "2026-11-08T01:01:00Z",
        "Order Completed",
        json!({"order_id": "o-7", "cart_id": "c-h1", "total": 50, "currency": "USD"}),
    );

    // S10: Ben again, typed in: a second order with a revenue only.
    let mut s = visit(e, "b1", 10, ANDROID);
    s.page("2026-11-06T14:00:00Z");
    s.track(
        "2026-11-06T14:01:00Z",
        "Order Completed",
        json!({"order_id": "o-6", "revenue": 5.05, "currency": "EUR"}),
    );
    s.nps("2026-11-06T14:02:00Z", json!(9));

    // S12: Ivy looks at a product.
    let mut s = visit(e, "i1", 12, MAC);
    s.track(
        "2026-11-07T08:00:00Z",
        "Product Viewed",
        json!({"sku": "S"}),
    );

    // After the window: Eve's late detractor score.
    let mut s = visit(e, "e1", 13, MAC);
    s.nps("2026-11-08T02:00:00Z", json!(0));

    events
}

/// Compares JSON, numbers to within 10⁻⁶ (rates are checked to the percent and better, the
/// experiment's interval and p-value to 4 decimals and better).
fn assert_close(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (
                g.as_f64().unwrap_or(f64::NAN),
                w.as_f64().unwrap_or(f64::NAN),
            );
            assert!((g - w).abs() <= 1e-6, "{path}: {g} is not {w}");
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{path}: {got} is not {want}");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_close(g, w, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            let (gk, wk): (Vec<_>, Vec<_>) = (g.keys().collect(), w.keys().collect());
            assert_eq!(gk, wk, "{path}: the keys of {got}");
            for (k, w) in w {
                assert_close(&g[k], w, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

/// A group's metrics: reminders are counted for the totals only.
fn group(key: Value, mut metrics: Value) -> Value {
    metrics["reminders"] = Value::Null;
    metrics["recovered"] = Value::Null;
    metrics["reminderRecoveryRate"] = Value::Null;
    json!({ "key": key, "metrics": metrics })
}

async fn server_with_data() -> TestServer {
    let t = TestServer::start().await;
    let events = data_set();
    let n = events.len();
    let reply = t.post_json("/v1/batch", &json!({ "batch": events })).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["accepted"], json!(n));
    t
}

async fn metrics(t: &TestServer, query: &str) -> Value {
    let reply = t.get(&format!("/v1/metrics?{query}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn totals_series_funnel_and_experiment_of_a_known_data_set() {
    let t = server_with_data().await;
    let m = metrics(&t, WINDOW).await;
    assert_eq!(m["from"], "2026-11-01T00:00:00.000Z");
    assert_eq!(m["to"], "2026-11-08T00:00:00.000Z");
    assert_eq!(m["by"], Value::Null);
    assert!(m.get("groups").is_none(), "groups only with by");

    // Sessions S1–S10 and S12; S4's and S10's orders count, and S1, S2, S3, S5 convert:
    // 6 converted of 11.
    // Orders: o-1, o-2 (its repeat not), o-3, o-4, o-5, o-6; o-0 was first seen in October,
    // o-7 comes after the window.
    // USD: 19.99 + 19.99 + 0.11 = 40.09 (floating point says 40.089999999999996), 3 orders:
    // 13.363… -> 13.36; 2 customers (Ada, Cleo): 20.045 -> 20.05 half-up.
    // EUR: 10.10 + 5.05 = 15.15 (floating point: 15.149999999999999), 2 orders: 7.575 -> 7.58;
    // 1 customer (Ben): 15.15. JPY: 1500, one order.
    // Customers: Ada (two devices, one person), Ben, Cleo, Dan = 4; repeat: Ada, Ben = 2.
    // Carts added in the window: c-a1, c-a2, c-b1, c-d1 ordered; c-e1, c-f1, c-g1 and c-h1
    // (its order comes after the window) abandoned: 4 of 8.
    // NPS: 10 (Eve), 9 (Finn), 3 (Gus), 8 (Hana), 9 (Ben); 11 and the late 0 do not count:
    // 5 responses, 3 promoters, 1 detractor: 100 · 2 / 5 = 40.
    let totals = json!({
        "sessions": 11, "convertedSessions": 6, "orders": 6, "conversionRate": 6.0 / 11.0,
        "revenue": {"EUR": "15.15", "JPY": "1500", "USD": "40.09"},
        "averageOrderValue": {"EUR": "7.58", "JPY": "1500", "USD": "13.36"},
        "customers": 4, "repeatCustomers": 2, "repeatPurchaseRate": 0.5,
        "customerLifetimeValue": {"EUR": "15.15", "JPY": "1500", "USD": "20.05"},
        "carts": 8, "abandonedCarts": 4, "cartAbandonmentRate": 0.5,
        "reminders": 0, "recovered": 0, "reminderRecoveryRate": null,
        "npsResponses": 5, "promoters": 3, "detractors": 1, "nps": 40.0,
    });
    assert_close(&m["totals"], &totals, "totals");

    // Day by day; S9 runs past midnight and counts on both of its days.
    let series = json!([
        {"date": "2026-11-01", "sessions": 0, "orders": 0, "conversionRate": null, "revenue": {}},
        {"date": "2026-11-02", "sessions": 2, "orders": 2, "conversionRate": 1.0,
         "revenue": {"USD": "20.10"}},
        {"date": "2026-11-03", "sessions": 2, "orders": 2, "conversionRate": 1.0,
         "revenue": {"EUR": "10.10", "USD": "19.99"}},
        {"date": "2026-11-04", "sessions": 3, "orders": 1, "conversionRate": 1.0 / 3.0,
         "revenue": {"JPY": "1500"}},
        {"date": "2026-11-05", "sessions": 2, "orders": 0, "conversionRate": 0.0, "revenue": {}},
        {"date": "2026-11-06", "sessions": 2, "orders": 1, "conversionRate": 0.5,
         "revenue": {"EUR": "5.05"}},
        {"date": "2026-11-07", "sessions": 1, "orders": 0, "conversionRate": 0.0, "revenue": {}},
    ]);
    assert_close(&m["series"], &series, "series");

    // Every session viewed something; S4 and S10 ordered without adding to a cart there.
    let funnel = json!([
        {"step": "viewed", "count": 11, "dropOff": null},
        {"step": "addedToCart", "count": 8, "dropOff": 3.0 / 11.0},
        {"step": "checkoutStarted", "count": 6, "dropOff": 0.25},
        {"step": "ordered", "count": 4, "dropOff": 1.0 / 3.0},
    ]);
    assert_close(&m["funnel"], &funnel, "funnel");

    // Control: Ben, Eve, Finn, Hana; Ben ordered after his exposure: 1 of 4.
    // b: Ada (first exposure b, on her desktop; ordered after it), Cleo (exposed after her
    // order), Dan (ordered after), Gus (his October exposure to control is outside): 2 of 4.
    // lift = .5 − .25 = .25
    // se = √(.5·.5/4 + .25·.75/4) = √.109375 = .330719; 1.96·se = .648209
    // ci = [.25 − .648209, .25 + .648209] = [−.398209, .898209]
    // pooled p = 3/8 = .375; se₀ = √(.375·.625·(1/4 + 1/4)) = √.1171875 = .342327
    // z = .25 / .342327 = .730297; p-value = 2·(1 − Φ(.730297)) = .465209
    //
    // Revenue after exposure, per visitor (see `revenue`): control's is Ben's 15.15 EUR in two
    // orders; b's is Ada's two 19.99 USD orders (o-1 and o-2, her two devices stitched) and
    // Dan's 1500 JPY (Cleo ordered before her exposure).
    // Control, EUR: r = [15.15, 0, 0, 0]: mean 3.7875 ("3.79"); s² = (15.15² − 4·3.7875²)/3 =
    // 57.380625, se = √(s²/4) = 3.7875, interval 3.7875 ± 7.4235 = [−3.64, 11.21]. AOV 15.15/2
    // = 7.575 ("7.58"); one customer, so the delta method's variance is 0: [7.58, 7.58].
    // b, USD: r = [39.98, 0, 0, 0]: mean 9.995 ("10.00"); s² = (39.98² − 4·9.995²)/3 = 399.6,
    // se = 9.995, interval [−9.60, 29.59]; AOV 19.99, variance 0 (one customer). JPY: r =
    // [1500, 0, 0, 0]: 375 ± 735.
    // Lift per currency against control's (zeros where an arm has none).
    // The verdicts read EUR (2 orders, tied with USD, first by name): b 0 against control
    // 3.7875, interval −3.7875 ± 7.4235 holds 0. A 10% lift (δ = .37875) at 80% power needs
    // (1.96 + .8416)²·57.380625/δ² = 3,139.6, so 3,140 a arm: 3,136 more.
    // Sample ratio 4 against 4 on an even split (no allocation in these events): p = 1.
    let eur = |r: &str, n: i64, pv: &str, ci: [&str; 2], aov: Value, aov_ci: Value| {
        json!({"revenue": r, "orders": n, "perVisitor": pv, "perVisitorCi": ci,
               "averageOrderValue": aov, "averageOrderValueCi": aov_ci})
    };
    // A variant's figures in a currency, with its lift over control's.
    let lift = |mut m: Value, by: &str, ci: [&str; 2]| {
        m["perVisitorLift"] = json!(by);
        m["perVisitorLiftCi"] = json!(ci);
        m
    };
    let b_eur = lift(
        eur(
            "0.00",
            0,
            "0.00",
            ["0.00", "0.00"],
            Value::Null,
            Value::Null,
        ),
        "-3.79",
        ["-11.21", "3.64"],
    );
    let b_usd = lift(
        eur(
            "39.98",
            2,
            "10.00",
            ["-9.60", "29.59"],
            json!("19.99"),
            json!(["19.99", "19.99"]),
        ),
        "10.00",
        ["-9.60", "29.59"],
    );
    let b_jpy = lift(
        eur(
            "1500",
            1,
            "375",
            ["-360", "1110"],
            json!("1500"),
            json!(["1500", "1500"]),
        ),
        "375",
        ["-360", "1110"],
    );
    let experiments = json!([{
        "experimentId": "exit-offer",
        "currency": "EUR",
        "sampleRatio": {"pValue": 1.0, "mismatch": false, "expected": null},
        "variants": [
            {"variationId": "control", "exposed": 4, "converted": 1, "conversionRate": 0.25,
             "allocation": null,
             "revenue": {
                 "EUR": eur("15.15", 2, "3.79", ["-3.64", "11.21"], json!("7.58"), json!(["7.58", "7.58"])),
                 "JPY": eur("0", 0, "0", ["0", "0"], Value::Null, Value::Null),
                 "USD": eur("0.00", 0, "0.00", ["0.00", "0.00"], Value::Null, Value::Null),
             }},
            {"variationId": "b", "exposed": 4, "converted": 2, "conversionRate": 0.5,
             "lift": 0.25, "ci": [-0.398209, 0.898209], "pValue": 0.465209,
             "allocation": null,
             "revenue": {"EUR": b_eur, "JPY": b_jpy, "USD": b_usd},
             "verdict": "not enough data", "visitorsNeeded": 3136,
             "verdictLine": "Not enough data yet: about 3136 more visitors per arm to tell a 10% difference in revenue per visitor."},
        ],
    }]);
    assert_close(&m["experiments"], &experiments, "experiments");
}

#[tokio::test]
async fn groups_by_channel_device_devices_and_variant() {
    let t = server_with_data().await;

    // Channel of the first event with a campaign: S4's second page brings the newsletter.
    // direct: S2, S6, S8, S10, S12; google/cpc: S3, S5, S9; newsletter/email: S1, S4, S7.
    let m = metrics(&t, &format!("{WINDOW}&by=channel")).await;
    assert_eq!(m["by"], "channel");
    let groups = json!([
        group(
            json!({"source": "(direct)", "medium": "(none)"}),
            json!({
                "sessions": 5, "convertedSessions": 2, "orders": 2, "conversionRate": 0.4,
                "revenue": {"EUR": "5.05", "USD": "19.99"},
                "averageOrderValue": {"EUR": "5.05", "USD": "19.99"},
                "customers": 2, "repeatCustomers": 0, "repeatPurchaseRate": 0.0,
                "customerLifetimeValue": {"EUR": "5.05", "USD": "19.99"},
                "carts": 3, "abandonedCarts": 2, "cartAbandonmentRate": 2.0 / 3.0,
                "npsResponses": 3, "promoters": 2, "detractors": 1, "nps": 33.3,
            })
        ),
        group(
            json!({"source": "google", "medium": "cpc"}),
            json!({
                "sessions": 3, "convertedSessions": 2, "orders": 2, "conversionRate": 2.0 / 3.0,
                "revenue": {"EUR": "10.10", "JPY": "1500"},
                "averageOrderValue": {"EUR": "10.10", "JPY": "1500"},
                "customers": 2, "repeatCustomers": 0, "repeatPurchaseRate": 0.0,
                "customerLifetimeValue": {"EUR": "10.10", "JPY": "1500"},
                "carts": 3, "abandonedCarts": 1, "cartAbandonmentRate": 1.0 / 3.0,
                "npsResponses": 1, "promoters": 0, "detractors": 0, "nps": 0.0,
            })
        ),
        group(
            json!({"source": "newsletter", "medium": "email"}),
            json!({
                "sessions": 3, "convertedSessions": 2, "orders": 2, "conversionRate": 2.0 / 3.0,
                "revenue": {"USD": "20.10"},
                "averageOrderValue": {"USD": "10.05"},
                "customers": 2, "repeatCustomers": 0, "repeatPurchaseRate": 0.0,
                "customerLifetimeValue": {"USD": "10.05"},
                "carts": 2, "abandonedCarts": 1, "cartAbandonmentRate": 0.5,
                "npsResponses": 1, "promoters": 1, "detractors": 0, "nps": 100.0,
            })
        ),
    ]);
    assert_close(&m["groups"], &groups, "channel");

    // desktop: S1, S4, S6, S7, S9, S12; mobile: S2, S3, S5, S8, S10 (Ben orders twice there).
    let m = metrics(&t, &format!("{WINDOW}&by=device")).await;
    let groups = json!([
        group(
            json!("desktop"),
            json!({
                "sessions": 6, "convertedSessions": 2, "orders": 2, "conversionRate": 2.0 / 6.0,
                "revenue": {"USD": "20.10"},
                "averageOrderValue": {"USD": "10.05"},
                "customers": 2, "repeatCustomers": 0, "repeatPurchaseRate": 0.0,
                "customerLifetimeValue": {"USD": "10.05"},
                "carts": 4, "abandonedCarts": 3, "cartAbandonmentRate": 0.75,
                "npsResponses": 3, "promoters": 2, "detractors": 0, "nps": 66.7,
            })
        ),
        group(
            json!("mobile"),
            json!({
                "sessions": 5, "convertedSessions": 4, "orders": 4, "conversionRate": 0.8,
                "revenue": {"EUR": "15.15", "JPY": "1500", "USD": "19.99"},
                "averageOrderValue": {"EUR": "7.58", "JPY": "1500", "USD": "19.99"},
                "customers": 3, "repeatCustomers": 1, "repeatPurchaseRate": 1.0 / 3.0,
                "customerLifetimeValue": {"EUR": "15.15", "JPY": "1500", "USD": "19.99"},
                "carts": 4, "abandonedCarts": 1, "cartAbandonmentRate": 0.25,
                "npsResponses": 2, "promoters": 1, "detractors": 1, "nps": 0.0,
            })
        ),
    ]);
    assert_close(&m["groups"], &groups, "device");

    // Ada's two devices are one person with several anonymous ids: S1 and S2.
    let m = metrics(&t, &format!("{WINDOW}&by=devices")).await;
    let groups = json!([
        group(
            json!("one"),
            json!({
                "sessions": 9, "convertedSessions": 4, "orders": 4, "conversionRate": 4.0 / 9.0,
                "revenue": {"EUR": "15.15", "JPY": "1500", "USD": "0.11"},
                "averageOrderValue": {"EUR": "7.58", "JPY": "1500", "USD": "0.11"},
                "customers": 3, "repeatCustomers": 1, "repeatPurchaseRate": 1.0 / 3.0,
                "customerLifetimeValue": {"EUR": "15.15", "JPY": "1500", "USD": "0.11"},
                "carts": 6, "abandonedCarts": 4, "cartAbandonmentRate": 4.0 / 6.0,
                "npsResponses": 5, "promoters": 3, "detractors": 1, "nps": 40.0,
            })
        ),
        group(
            json!("several"),
            json!({
                "sessions": 2, "convertedSessions": 2, "orders": 2, "conversionRate": 1.0,
                "revenue": {"USD": "39.98"},
                "averageOrderValue": {"USD": "19.99"},
                "customers": 1, "repeatCustomers": 1, "repeatPurchaseRate": 1.0,
                "customerLifetimeValue": {"USD": "39.98"},
                "carts": 2, "abandonedCarts": 0, "cartAbandonmentRate": 0.0,
                "npsResponses": 0, "promoters": 0, "detractors": 0, "nps": null,
            })
        ),
    ]);
    assert_close(&m["groups"], &groups, "devices");

    // b: Ada (S1, S2), Cleo (S4), Dan (S5), Gus (S8); control: Ben (S3, S10), Eve (S6),
    // Finn (S7), Hana (S9). Ivy (S12) was never exposed and is in no group.
    let m = metrics(&t, &format!("{WINDOW}&by=variant")).await;
    let groups = json!([
        group(
            json!({"experimentId": "exit-offer", "variationId": "b"}),
            json!({
                "sessions": 5, "convertedSessions": 4, "orders": 4, "conversionRate": 0.8,
                "revenue": {"JPY": "1500", "USD": "40.09"},
                "averageOrderValue": {"JPY": "1500", "USD": "13.36"},
                "customers": 3, "repeatCustomers": 1, "repeatPurchaseRate": 1.0 / 3.0,
                "customerLifetimeValue": {"JPY": "1500", "USD": "20.05"},
                "carts": 4, "abandonedCarts": 1, "cartAbandonmentRate": 0.25,
                "npsResponses": 1, "promoters": 0, "detractors": 1, "nps": -100.0,
            })
        ),
        group(
            json!({"experimentId": "exit-offer", "variationId": "control"}),
            json!({
                "sessions": 5, "convertedSessions": 2, "orders": 2, "conversionRate": 0.4,
                "revenue": {"EUR": "15.15"},
                "averageOrderValue": {"EUR": "7.58"},
                "customers": 1, "repeatCustomers": 1, "repeatPurchaseRate": 1.0,
                "customerLifetimeValue": {"EUR": "15.15"},
                "carts": 4, "abandonedCarts": 3, "cartAbandonmentRate": 0.75,
                "npsResponses": 4, "promoters": 3, "detractors": 0, "nps": 75.0,
            })
        ),
    ]);
    assert_close(&m["groups"], &groups, "variant");
    // The totals do not depend on the grouping.
    assert_eq!(m["totals"], metrics(&t, WINDOW).await["totals"]);
}

#[tokio::test]
async fn persons_are_resolved_when_asked_so_a_later_identify_merges_customers() {
    let t = TestServer::start().await;
    let mut events = Vec::new();
    for (anon, session, order) in [("p1", 1, "o-1"), ("p2", 2, "o-2")] {
        let mut s = visit(&mut events, anon, session, MAC);
        s.track(
            "2026-11-02T10:00:00Z",
            "Order Completed",
            json!({"order_id": order, "total": 5, "currency": "EUR"}),
        );
    }
    let reply = t.post_json("/v1/batch", &json!({ "batch": events })).await;
    assert_eq!(reply.status, 200);
    let totals = &metrics(&t, WINDOW).await["totals"];
    assert_eq!(
        (&totals["customers"], &totals["repeatCustomers"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(totals["customerLifetimeValue"], json!({"EUR": "5.00"}));

    // Both devices sign in later, after the window: the two customers were one person.
    let mut events = Vec::new();
    for (anon, session) in [("p1", 3), ("p2", 4)] {
        let mut s = visit(&mut events, anon, session, MAC);
        s.identify("2026-12-01T10:00:00Z", "u-p");
    }
    for (i, ev) in events.iter_mut().enumerate() {
        ev["messageId"] = json!(format!("later{i}"));
    }
    let reply = t.post_json("/v1/batch", &json!({ "batch": events })).await;
    assert_eq!(reply.status, 200);
    let m = metrics(&t, &format!("{WINDOW}&by=devices")).await;
    let totals = &m["totals"];
    assert_eq!(
        (&totals["customers"], &totals["repeatCustomers"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(totals["customerLifetimeValue"], json!({"EUR": "10.00"}));
    assert_eq!(m["groups"][0]["key"], "several");
    assert_eq!(m["groups"][0]["metrics"]["sessions"], 2);
}

#[tokio::test]
async fn a_database_from_before_the_facts_table_gets_its_facts() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("old.db");
    {
        // The events table as the collector made it before metrics.
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch(
            "CREATE TABLE events (
                 seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                 message_id   TEXT NOT NULL UNIQUE,
                 type         TEXT NOT NULL,
                 event        TEXT,
                 anonymous_id TEXT,
                 user_id      TEXT,
                 timestamp    TEXT,
                 received_at  TEXT NOT NULL,
                 body         TEXT NOT NULL
             );
             BEGIN;",
        )
        .expect("old schema");
        let mut insert = conn
            .prepare(
                "INSERT INTO events
                 (message_id, type, event, anonymous_id, timestamp, received_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("prepare");
        // 2,400 page views (more than one chunk) in 200 sessions, then one order.
        let at = "2026-11-02T10:00:00.000Z";
        for i in 0..2400 {
            let anon = format!("a{}", i % 100);
            let body = json!({"type": "page", "messageId": format!("p{i}"), "anonymousId": anon,
                "timestamp": at, "receivedAt": at, "context": {"sessionId": i % 200}});
            insert
                .execute(rusqlite::params![
                    format!("p{i}"),
                    "page",
                    None::<String>,
                    anon,
                    at,
                    at,
                    body.to_string()
                ])
                .expect("insert");
        }
        let body = r#"{"type":"track","messageId":"o","anonymousId":"a7","event":"Order Completed",
            "properties":{"order_id":"o-1","total":19.99},"receivedAt":"2026-11-02T11:00:00.000Z",
            "context":{"sessionId":7}}"#;
        insert
            .execute(rusqlite::params![
                "o",
                "track",
                "Order Completed",
                "a7",
                None::<String>,
                "2026-11-02T11:00:00.000Z",
                body
            ])
            .expect("insert");
        drop(insert);
        conn.execute_batch("COMMIT").expect("commit");
    }

    // No background derivation here: the metrics query itself must catch up. (An old
    // database is a SQLite file, whatever engine the rest of the suite runs on.)
    let path = db.display().to_string();
    let t = TestServer::start_with(move |o| {
        o.db = path;
        o.scheduler_interval = std::time::Duration::ZERO;
    })
    .await;
    let m = metrics(&t, WINDOW).await;
    assert_eq!(m["totals"]["sessions"], 200);
    assert_eq!(m["totals"]["orders"], 1);
    assert_eq!(m["totals"]["convertedSessions"], 1);
    assert_eq!(m["totals"]["revenue"], json!({"USD": "19.99"}));
    let conn = rusqlite::Connection::open(&db).expect("open");
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(count("facts"), 2401);
    assert_eq!(count("events"), 2401);

    // An event stored since counts in the next answer.
    let reply = t
        .post_json(
            "/v1/batch",
            &json!({"batch": [{"type": "page", "messageId": "new", "anonymousId": "z",
                "timestamp": "2026-11-03T10:00:00Z", "context": {"sessionId": 1}}]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(metrics(&t, WINDOW).await["totals"]["sessions"], 201);
    assert_eq!(count("facts"), 2402);
}

#[tokio::test]
async fn facts_are_derived_in_the_background_by_two_collectors_on_one_database() {
    let t = TestServer::start_with(|o| o.scheduler_interval = std::time::Duration::from_millis(5))
        .await;
    let path = t.db.clone();
    let other = TestServer::start_with(move |o| {
        o.db = path;
        o.scheduler_interval = std::time::Duration::from_millis(5);
    })
    .await;
    let batch: Vec<Value> = (0..2500)
        .map(|i| {
            json!({"type": "page", "messageId": format!("bg{i}"), "anonymousId": format!("a{}", i % 7),
                "timestamp": "2026-11-03T10:00:00Z", "context": {"sessionId": i % 3}})
        })
        .collect();
    // Both take events and answer metrics at once, each deriving facts as it goes.
    let post = async {
        for (i, chunk) in batch.chunks(50).enumerate() {
            let to = if i % 2 == 0 { &t } else { &other };
            let reply = to.post_json("/v1/batch", &json!({ "batch": chunk })).await;
            assert_eq!(reply.status, 200, "{}", reply.text());
        }
    };
    let ask = async {
        for i in 0..40 {
            metrics(if i % 2 == 0 { &other } else { &t }, WINDOW).await;
        }
    };
    tokio::join!(post, ask);
    let facts = "SELECT COUNT(*) FROM facts";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t.scalar(facts).await < 2500 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        t.scalar(facts).await,
        2500,
        "every stored event has its fact, once"
    );
    assert_eq!(metrics(&t, WINDOW).await["totals"]["sessions"], 21);
    assert_eq!(metrics(&other, WINDOW).await["totals"]["sessions"], 21);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_field() {
    let t = TestServer::start().await;
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2026-11-08&to=2026-11-01", "from"),
        ("from=2026-11-01&to=2026-11-01", "from"),
        ("from=2026-11-01T10:00:00Z&to=2026-11-01T09:59:59Z", "from"),
        ("from=1969-12-31", "from"),
        ("from=2000-01-01&to=2026-01-01", "to"),
        ("by=country", "by"),
        ("by=Channel", "by"),
    ] {
        let reply = t.get(&format!("/v1/metrics?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["field"], field, "{query}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(field)),
            "{body}"
        );
    }
    // The defaults: the 30 days up to now, on an empty database.
    let m = metrics(&t, "").await;
    // 31 days are touched, unless now is exactly midnight.
    let days = m["series"].as_array().map_or(0, Vec::len);
    assert!(days == 31 || days == 30, "{days}");
    assert_eq!(m["totals"]["sessions"], 0);
    assert_eq!(m["totals"]["conversionRate"], Value::Null);
    assert_eq!(m["totals"]["revenue"], json!({}));
    assert_eq!(m["experiments"], json!([]));
    let m = metrics(
        &t,
        "from=2026-11-01T12:00:00%2B02:00&to=2026-11-02&by=device",
    )
    .await;
    assert_eq!(m["from"], "2026-11-01T10:00:00.000Z");
    assert_eq!(m["groups"], json!([]));
}

/// About 100,000 events over 30 days: 31,000 sessions of 9,000 anonymous ids (1,000 people on
/// two devices), a third of them from campaigns, with carts, orders in three currencies,
/// exposures and NPS responses. Prints how long each query takes.
/// `cargo test -p shoptrail-collector --release --test metrics -- --ignored --nocapture`
#[tokio::test]
#[ignore = "a measurement: about 100,000 events"]
async fn metrics_of_100k_events_answer_quickly() {
    let t = TestServer::start_with(|o| {
        o.rate_limit = 0;
        o.max_body = 16 << 20;
    })
    .await;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let day = 86_400_000u64;
    let start = 1_793_491_200_000u64; // 2026-11-01
    let iso = |ms: u64| {
        let secs = ms / 1000;
        let (d, rem) = (secs / 86_400, secs % 86_400);
        format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            d - 20_758 + 1,
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            ms % 1000
        )
    };
    let mut events: Vec<Value> = Vec::new();
    let mut n = 0usize;
    let mut ev = |anon: &str, session: u64, at: u64, mut body: Value, mobile: bool| {
        n += 1;
        body["messageId"] = json!(format!("m{n}"));
        body["anonymousId"] = json!(anon);
        body["timestamp"] = json!(iso(at));
        body["context"] = json!({"sessionId": session,
            "userAgent": if mobile { IPHONE } else { MAC }});
        body
    };
    let mut session = 0u64;
    while events.len() < 100_000 {
        session += 1;
        let person = next(8_000);
        // The first 1,000 people also use a second device.
        let second = person < 1_000 && next(2) == 0;
        let anon = if second {
            format!("x{person}")
        } else {
            format!("a{person}")
        };
        let mobile = second || person % 3 == 0;
        let mut at = start + next(30 * day - 3_600_000);
        let mut page = ev(&anon, session, at, json!({"type": "page"}), mobile);
        if next(3) == 0 {
            let source = ["google", "newsletter", "facebook"][next(3) as usize];
            page["context"]["campaign"] = json!({"source": source, "medium": "cpc"});
        }
        events.push(page);
        let mut track = |event: &str, properties: Value, at: u64| {
            events.push(ev(
                &anon,
                session,
                at,
                json!({"type": "track", "event": event, "properties": properties}),
                mobile,
            ));
        };
        at += 10_000;
        track("Product Viewed", json!({"sku": "S"}), at);
        if person < 1_000 {
            at += 1_000;
            events.push(ev(
                &anon,
                session,
                at,
                json!({"type": "identify", "userId": format!("u{person}")}),
                mobile,
            ));
        }
        let mut track = |event: &str, properties: Value, at: u64| {
            events.push(ev(
                &anon,
                session,
                at,
                json!({"type": "track", "event": event, "properties": properties}),
                mobile,
            ));
        };
        if next(5) == 0 {
            at += 1_000;
            let arm = if next(2) == 0 { "control" } else { "b" };
            track(
                "Experiment Viewed",
                json!({"experiment_id": "exit-offer", "variation_id": arm}),
                at,
            );
        }
        if next(2) == 0 {
            let cart = format!("c{session}");
            at += 60_000;
            track(
                "Product Added",
                json!({"cart_id": cart, "price": 19.99}),
                at,
            );
            if next(2) == 0 {
                at += 60_000;
                track("Checkout Started", json!({"cart_id": cart}), at);
                if next(2) == 0 {
                    at += 60_000;
                    let currency = ["USD", "EUR", "JPY"][next(3) as usize];
                    let total = if currency == "JPY" {
                        json!(next(10_000))
                    } else {
                        json!(format!("{}.{:02}", next(500), next(100)))
                    };
                    track(
                        "Order Completed",
                        json!({"order_id": format!("o{session}"), "cart_id": cart,
                               "total": total, "currency": currency}),
                        at,
                    );
                }
            }
        }
        if next(10) == 0 {
            track("NPS Submitted", json!({"score": next(11)}), at + 1_000);
        }
    }
    let total = events.len();
    let posting = std::time::Instant::now();
    for chunk in events.chunks(2500) {
        let reply = t.post_json("/v1/batch", &json!({ "batch": chunk })).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    println!(
        "stored {total} events in {:.1} s",
        posting.elapsed().as_secs_f64()
    );
    let window = "from=2026-11-01&to=2026-12-01";
    for by in [
        "",
        "&by=channel",
        "&by=device",
        "&by=devices",
        "&by=variant",
    ] {
        let query = format!("{window}{by}");
        let timer = std::time::Instant::now();
        let m = metrics(&t, &query).await;
        let took = timer.elapsed();
        println!(
            "{query}: {} ms ({} sessions, {} orders, {} groups)",
            took.as_millis(),
            m["totals"]["sessions"],
            m["totals"]["orders"],
            m["groups"].as_array().map_or(0, Vec::len)
        );
        assert_eq!(m["totals"]["sessions"], json!(session));
        if !cfg!(debug_assertions) {
            assert!(took.as_millis() < 1000, "{query}: {took:?}");
        }
    }
}
