//! Revenue against control over HTTP, on both engines: a split that drifts from the arms'
//! `allocation` is flagged and gets no verdict; a 10% control group is no mismatch, and a
//! variant that doubles revenue per visitor wins, with the intervals of `metrics/revenue.rs`.

mod common;

use common::TestServer;
use serde_json::{json, Value};

/// `visitors` people exposed to `arm` of `experiment` (given `allocation`), the first `buyers`
/// of whom then order once for `total` EUR.
fn arm(
    events: &mut Vec<Value>,
    experiment: &str,
    arm: &str,
    allocation: f64,
    visitors: usize,
    buyers: usize,
    total: f64,
) {
    for i in 0..visitors {
        let anon = format!("{experiment}-{arm}-{i}");
        events.push(json!({"type": "track", "messageId": format!("{anon}-x"),
            "anonymousId": anon, "timestamp": "2026-11-10T10:00:00Z",
            "event": "Experiment Viewed",
            "properties": {"experiment_id": experiment, "variation_id": arm,
                           "allocation": allocation, "trigger": "exit"},
            "context": {"sessionId": 1}}));
        if i < buyers {
            events.push(json!({"type": "track", "messageId": format!("{anon}-o"),
                "anonymousId": anon, "timestamp": "2026-11-10T10:05:00Z",
                "event": "Order Completed",
                "properties": {"order_id": format!("{anon}-order"), "total": total,
                               "currency": "EUR"},
                "context": {"sessionId": 1}}));
        }
    }
}

fn variant<'a>(experiment: &'a Value, id: &str) -> &'a Value {
    experiment["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variationId"] == id)
        .unwrap()
}

#[tokio::test]
async fn a_skewed_split_is_flagged_and_a_clear_winner_is_named() {
    let t = TestServer::start().await;
    let mut events = Vec::new();
    // Half and half given, 300 against 400 seen: χ² = 14.29, p = 1.6e-4.
    arm(&mut events, "drift", "control", 0.5, 300, 15, 50.0);
    arm(&mut events, "drift", "a", 0.5, 400, 40, 50.0);
    // A 10% control group: 100 against 900 is what was asked for.
    // Control: 5 of 100 order 40 EUR (2.00 a visitor); the variant: 90 of 900 (4.00).
    arm(&mut events, "fair", "control", 0.1, 100, 5, 40.0);
    arm(&mut events, "fair", "wheel", 0.9, 900, 90, 40.0);
    // Half the shoppers were given an arm that never reported itself.
    arm(&mut events, "silent", "control", 0.5, 200, 10, 40.0);
    for chunk in events.chunks(500) {
        let r = t.post_json("/v1/batch", &json!({"batch": chunk})).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = t.get("/v1/metrics?from=2026-11-01&to=2026-12-01").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let m = r.json();
    let experiments = m["experiments"].as_array().unwrap();
    let drift = experiments
        .iter()
        .find(|e| e["experimentId"] == "drift")
        .unwrap();
    let fair = experiments
        .iter()
        .find(|e| e["experimentId"] == "fair")
        .unwrap();

    let srm = &drift["sampleRatio"];
    assert_eq!(srm["mismatch"], true, "{srm}");
    let p = srm["pValue"].as_f64().unwrap();
    assert!((p - 1.5705e-4).abs() < 1e-7, "{p}");
    assert_eq!(srm["expected"], json!({"control": 0.5, "a": 0.5}));
    let a = variant(drift, "a");
    assert_eq!(a["verdict"], "sample ratio mismatch");
    assert!(a["verdictLine"]
        .as_str()
        .unwrap()
        .starts_with("The split is off"));

    let silent = experiments
        .iter()
        .find(|e| e["experimentId"] == "silent")
        .unwrap();
    assert_eq!(silent["sampleRatio"]["mismatch"], true, "{silent}");
    assert!(silent["sampleRatio"]["pValue"].as_f64().unwrap() < 1e-9);
    assert_eq!(fair["sampleRatio"]["mismatch"], false);
    assert_eq!(fair["currency"], "EUR");
    let wheel = variant(fair, "wheel");
    assert_eq!(variant(fair, "control")["allocation"], 0.1);
    // Control r: 5 × 40, 95 × 0: s² = (5·1600 − 100·4)/99 = 76.7677; the variant's:
    // (90·1600 − 900·16)/899 = 144.1602. se = √(76.7677/100 + 144.1602/900) = .963283;
    // lift 2.00 ± 1.888 = [0.11, 3.89].
    let eur = &wheel["revenue"]["EUR"];
    assert_eq!(eur["perVisitor"], "4.00");
    assert_eq!(eur["perVisitorLift"], "2.00");
    assert_eq!(eur["perVisitorLiftCi"], json!(["0.11", "3.89"]));
    assert_eq!(eur["averageOrderValue"], "40.00");
    assert_eq!(eur["revenue"], "3600.00");
    assert_eq!(wheel["verdict"], "winner");
    assert_eq!(
        wheel["verdictLine"],
        "wheel earns more per visitor than control: +2.00 EUR (95% interval 0.11 to 3.89)."
    );
    assert_eq!(wheel["visitorsNeeded"], Value::Null);
}

fn event(anon: &str, id: &str, at: &str, name: &str, properties: Value) -> Value {
    json!({"type": "track", "messageId": id, "anonymousId": anon, "timestamp": at,
           "event": name, "properties": properties, "context": {"sessionId": 1}})
}

#[tokio::test]
async fn a_campaign_counts_its_shows_conversions_and_the_orders_within_its_attribution_window() {
    let t = TestServer::start().await;
    let shown = json!({"campaign_id": "exit-offer", "trigger": "exit"});
    let order = |id: &str, total: f64| json!({"order_id": id, "total": total, "currency": "EUR"});
    let events = vec![
        // Ada: shown twice, orders two days after her first show, and again seven days after.
        event(
            "ada",
            "a1",
            "2026-11-02T10:00:00Z",
            "Popup Shown",
            shown.clone(),
        ),
        event(
            "ada",
            "a2",
            "2026-11-02T11:00:00Z",
            "Popup Shown",
            shown.clone(),
        ),
        event(
            "ada",
            "a3",
            "2026-11-04T10:00:00Z",
            "Order Completed",
            order("o-a1", 30.0),
        ),
        event(
            "ada",
            "a4",
            "2026-11-09T10:00:00Z",
            "Order Completed",
            order("o-a2", 70.0),
        ),
        // Ben: shown, converts, orders the same day.
        event(
            "ben",
            "b1",
            "2026-11-03T10:00:00Z",
            "Popup Shown",
            shown.clone(),
        ),
        event(
            "ben",
            "b2",
            "2026-11-03T10:01:00Z",
            "Popup Converted",
            shown.clone(),
        ),
        event(
            "ben",
            "b3",
            "2026-11-03T12:00:00Z",
            "Order Completed",
            order("o-b1", 12.5),
        ),
        // Cleo orders without a popup; she ordered before hers was shown.
        event(
            "cleo",
            "c1",
            "2026-11-03T09:00:00Z",
            "Order Completed",
            order("o-c1", 99.0),
        ),
        event(
            "cleo",
            "c2",
            "2026-11-03T10:00:00Z",
            "Popup Shown",
            shown.clone(),
        ),
    ];
    let r = t.post_json("/v1/batch", &json!({"batch": events})).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let campaign = |m: &Value| m["campaigns"][0].clone();
    let m = t
        .get("/v1/metrics?from=2026-11-01&to=2026-12-01")
        .await
        .json();
    assert_eq!(m["attributionDays"], 5);
    assert_eq!(
        campaign(&m),
        json!({"campaignId": "exit-offer", "shows": 4, "shoppers": 3, "conversions": 1,
               "conversionRate": 0.25, "orders": 2, "revenue": {"EUR": "42.50"}})
    );
    // Ten days take Ada's second order too.
    let m = t
        .get("/v1/metrics?from=2026-11-01&to=2026-12-01&attribution=10d")
        .await
        .json();
    assert_eq!(m["attributionDays"], 10);
    assert_eq!(
        (
            campaign(&m)["orders"].clone(),
            campaign(&m)["revenue"].clone()
        ),
        (json!(3), json!({"EUR": "112.50"}))
    );
    for bad in ["0", "91", "five", "2.5"] {
        let r = t.get(&format!("/v1/metrics?attribution={bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["field"], "attribution", "{bad}");
    }
}
