//! Page views and Page Left per real URL change, redaction of reported URLs, the page scan
//! and markup.

use super::*;

#[test]
fn one_page_view_per_real_url_change_with_page_left_first() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"flushInterval\":10000"), 0);
    r.now = 2_000;
    r.e.handle_scroll(600, 800, 2_000);
    host.go("https://s/p/mug");
    r.e.handle_navigation(r.now);
    r.drain();
    // replaceState to the same URL: nothing.
    r.e.handle_navigation(r.now);
    r.drain();
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(count(&body, "\"type\":\"page\""), 2, "{body}");
    assert_eq!(count(&body, "\"event\":\"Page Left\""), 1);
    assert!(body.contains("\"time_on_page_ms\":2000"));
    assert!(body.contains("\"max_scroll_depth\":70"));
    // The second page view's referrer is the first URL.
    let second = body.rfind("\"type\":\"page\"").unwrap();
    assert!(body[second..].contains("\"referrer\":\"https://s/\""));
    assert_eq!(r.scans, [0, RESCAN_DELAY_MS]);
    // Hiding sends Page Left for the second page view, once.
    r.e.handle_hide(false, 3_000);
    r.e.handle_hide(false, 3_100);
    r.drain();
    let left: usize = r.beacons.iter().map(|b| count(b, "Page Left")).sum();
    assert_eq!(
        left,
        1,
        "{} {:?}",
        r.beacons.len(),
        r.beacons.iter().map(|b| b.len()).collect::<Vec<_>>()
    );
}

#[test]
fn without_history_navigations_are_not_page_views() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"history\":false"), 0);
    host.go("https://s/2");
    r.e.handle_navigation(0);
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(count(&body, "\"type\":\"page\""), 1);
}

#[test]
fn redacted_parameters_never_reach_a_report_and_cause_no_page_view() {
    let host = Fake::new("https://s/p?st_lt=tok&utm_source=mail");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    r.e.redact_param("st_lt");
    r.call("page", "[]");
    r.call("track", r#"["A",{}]"#);
    r.e.handle_navigation(0);
    r.call("flush", "[]");
    let body = r.answer(200);
    assert!(!body.contains("tok"), "{body}");
    assert_eq!(count(&body, "\"type\":\"page\""), 1);
    assert!(body.contains("\"url\":\"https://s/p?utm_source=mail\""));
    assert!(body.contains("\"source\":\"mail\""));
}

#[test]
fn a_scan_reports_each_product_once_per_page_view() {
    let host = Fake::new("https://s/p");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    r.call("page", "[]");
    let scan = r#"{"m":["[\"view\",\"{\\\"product_id\\\":\\\"a\\\"}\",null,null,null]"],"j":["{\"@type\":\"Product\",\"productID\":\"a\",\"name\":\"dup\"}","{\"@type\":\"Product\",\"sku\":\"b\"}"]}"#;
    r.e.handle_scan(scan, 0);
    r.e.handle_scan(scan, 0);
    r.drain();
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(count(&body, "Product Viewed"), 2);
    assert!(
        !body.contains("dup"),
        "markup wins over JSON-LD for the same product"
    );
}

#[test]
fn markup_clicks_are_ignored_when_capture_is_off() {
    let mut r = Run::start(
        Fake::new("https://s/"),
        cfg(",\"pageViews\":false,\"capture\":false"),
        0,
    );
    assert_eq!(r.scans, [0], "JSON-LD is still read");
    r.call(
        "~markup",
        r#"["add","{\"product_id\":\"a\"}",null,null,null]"#,
    );
    assert_eq!(r.e.queued(), 0);
}
