//! The cart's Segment events and the profile (visits, orders, recently viewed products).

use super::*;

#[test]
fn the_profile_counts_visits_and_orders_and_keeps_products_viewed() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 1_000);
    r.call("identify", r#"[{"first_name":"Ada"}]"#);
    r.call(
        "product.view",
        r#"[{"product_id":"tea","name":"Tea","price":4.5}]"#,
    );
    r.call(
        "track",
        r#"["Product Viewed",{"product_id":"mug","image_url":"/m.jpg"}]"#,
    );
    r.call("cart.add", r#"[{"product_id":"tea","price":4.5}]"#);
    r.call("order.complete", r#"[{"order_id":"o-1"}]"#);
    let p = r.call("profile", "[]").unwrap();
    // Each viewed product as tracked (the Product Viewed properties), newest first.
    assert!(
        p.starts_with(
            r#"{"traits":{"first_name":"Ada"},"visits":1,"orders":1,"viewed":[{"product_id":"mug","image_url":"/m.jpg"},{"product_id":"tea","name":"Tea","price":4.5,"currency":"USD","cart_id":""#
        ),
        "{p}"
    );
    // A reload in the same session is the same visit; a new session is the next.
    let mut again = Run::start(host.clone(), cfg(",\"pageViews\":false"), 2_000);
    assert!(again
        .call("profile", "[]")
        .unwrap()
        .contains("\"visits\":1,"));
    let later = 2_000 + identity::SESSION_TIMEOUT_MS + 1;
    let mut next = Run::start(host.clone(), cfg(",\"pageViews\":false"), later);
    assert!(next
        .call("profile", "[]")
        .unwrap()
        .contains("\"visits\":2,\"orders\":1,"));
    host.mem
        .borrow_mut()
        .set("shoptrail:engage", "exit-offer\t1\t1\t0\t1\n");
    next.call("reset", "[]");
    assert_eq!(
        next.stored("shoptrail:engage"),
        None,
        "popup caps go with the shopper"
    );
    assert_eq!(
        next.call("profile", "[]").unwrap(),
        r#"{"traits":{},"visits":1,"orders":0,"viewed":[]}"#
    );
}

#[test]
fn the_cart_gives_segment_events_with_one_cart_id() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call(
        "cart.add",
        r#"[{"product_id":"nw-1","name":"Mug","price":24,"currency":"USD"},2]"#,
    );
    r.call("cart.update", r#"["nw-1",3]"#);
    r.call(
        "checkout.step",
        r#"[1,{"completed":true,"shipping_method":"std"}]"#,
    );
    r.call(
        "order.complete",
        r#"[{"order_id":"NW-1001","shipping":5.95}]"#,
    );
    r.call("flush", "[]");
    let body = r.answer(200);
    for e in [
        "Product Added",
        "Checkout Step Completed",
        "Order Completed",
    ] {
        assert!(body.contains(&["\"event\":\"", e, "\""].concat()), "{e}");
    }
    assert!(!body.contains("\"completed\""));
    assert!(body.contains("\"shipping_method\":\"std\",\"step\":1"));
    assert!(body.contains("\"revenue\":72"));
    let cart = r.call("cart.get", "[]").unwrap();
    assert!(
        cart.contains("\"products\":[]"),
        "the order empties the cart: {cart}"
    );
}
