//! The `properties` of Segment e-commerce spec v2 events: product events, `Cart Viewed`,
//! `Checkout Started`, `Order Completed` and the coupon events, every amount exact.

use super::product::{amount, extra_text, non_blank};
use super::{Cart, CommerceError, Field, Line, COUPON_KEYS, ORDER_KEYS, PRODUCT_KEYS};
use crate::prelude::*;
use crate::tracker_core::json::{self, scan};
use crate::tracker_core::money::{self, Currency};

/// The fields of an `Order Completed` or `Checkout Started` event, as text from JavaScript.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderInput {
    /// The order id; required for `Order Completed`.
    pub order_id: Option<String>,
    /// The store or affiliation where the order happened.
    pub affiliation: Option<String>,
    /// Amount paid, as decimal text; revenue + shipping + tax − discount when absent.
    pub total: Option<String>,
    /// Revenue as decimal text; the cart's value when absent.
    pub revenue: Option<String>,
    /// Shipping cost as decimal text.
    pub shipping: Option<String>,
    /// Tax as decimal text.
    pub tax: Option<String>,
    /// Discount as decimal text.
    pub discount: Option<String>,
    /// Coupon code applied to the order.
    pub coupon: Option<String>,
    /// ISO 4217 code; must match the cart's when the cart holds products.
    pub currency: Option<String>,
    /// Other properties, as JSON object text; merged after the known ones.
    pub extra: Option<String>,
}

/// Writes an object's members, tracking the comma.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, key: &str) {
        json::push_key(self.out, key, self.first);
        self.first = false;
    }

    fn str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.key(key);
            json::push_str(self.out, v);
        }
    }

    fn amount(&mut self, key: &str, minor: Option<i64>, cur: Currency) {
        if let Some(m) = minor {
            self.key(key);
            money::push_amount(self.out, m, cur);
        }
    }

    fn uint(&mut self, key: &str, n: Option<u32>) {
        if let Some(n) = n {
            self.key(key);
            json::push_u64(self.out, u64::from(n));
        }
    }

    /// Appends the members of the JSON object `extra` whose keys are not in `reserved`.
    fn extra(&mut self, extra: Option<&str>, reserved: &[&str]) {
        let members = extra.and_then(scan::object_members).unwrap_or_default();
        for m in members {
            if !reserved.iter().any(|k| scan::key_is(m.key, k)) {
                if !self.first {
                    self.out.push(',');
                }
                self.out.push_str(m.text);
                self.first = false;
            }
        }
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// Writes one product object. A line with quantity 0 (a product looked at, not held) has no
/// `quantity`.
fn push_product(out: &mut String, line: &Line, cart_id: Option<&str>) {
    let p = &line.product;
    let mut o = Obj::open(out);
    o.str("product_id", Some(&p.product_id));
    o.str("sku", p.sku());
    o.str("category", p.category());
    o.str("name", p.name());
    o.str("brand", p.brand());
    o.str("variant", p.variant());
    o.amount("price", p.price, p.currency);
    o.uint("quantity", Some(line.quantity).filter(|&q| q > 0));
    o.str("coupon", p.coupon());
    o.uint("position", p.position);
    o.str("url", p.url());
    o.str("image_url", p.image_url());
    o.str("currency", Some(p.currency.code()));
    o.str("cart_id", cart_id);
    o.extra(p.extra(), &PRODUCT_KEYS);
    o.close();
}

/// Writes `"products":[...]` for the cart's lines.
fn push_products(o: &mut Obj, cart: &Cart) {
    o.key("products");
    o.out.push('[');
    for (i, l) in cart.lines.iter().enumerate() {
        if i > 0 {
            o.out.push(',');
        }
        push_product(o.out, l, None);
    }
    o.out.push(']');
}

/// Properties of a product event (`Product Viewed`, `Product Added`, `Product Removed`,
/// `Product Clicked`): the product's fields, `cart_id` when given, then its extra properties.
pub fn product_properties(line: &Line, cart_id: Option<&str>) -> String {
    let mut out = String::with_capacity(256);
    push_product(&mut out, line, cart_id);
    out
}

/// Properties of `Cart Viewed`: `cart_id`, the products, the cart's `value` and `currency`.
pub fn cart_properties(cart: &Cart) -> String {
    let mut out = String::with_capacity(64 + cart.lines.len() * 200);
    let mut o = Obj::open(&mut out);
    o.str("cart_id", Some(&cart.cart_id));
    push_products(&mut o, cart);
    let cur = cart.currency.unwrap_or(Currency::USD);
    o.amount("value", Some(cart.value_minor()), cur);
    o.str("currency", cart.currency.as_ref().map(Currency::code));
    o.close();
    out
}

/// Properties of `Order Completed`: the order's fields with the cart's products. `order_id` is
/// required; `revenue` defaults to the cart's value and `total` to revenue + shipping + tax −
/// discount, all in exact minor units.
pub fn order_properties(cart: &Cart, order: &OrderInput) -> Result<String, CommerceError> {
    order_object(cart, order, true)
}

/// Properties of `Checkout Started`: as [`order_properties`], with `order_id` optional.
pub fn checkout_properties(cart: &Cart, order: &OrderInput) -> Result<String, CommerceError> {
    order_object(cart, order, false)
}

fn order_object(
    cart: &Cart,
    order: &OrderInput,
    require_id: bool,
) -> Result<String, CommerceError> {
    let order_id = non_blank(order.order_id.as_deref());
    if require_id && order_id.is_none() {
        return Err(CommerceError::MissingOrderId);
    }
    let cur = match order.currency.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => {
            let c = Currency::parse(c)?;
            match cart.currency {
                Some(held) if held != c && !cart.lines.is_empty() => {
                    return Err(CommerceError::OrderCurrencyMismatch {
                        order: c,
                        cart: held,
                    });
                }
                _ => c,
            }
        }
        None => cart.currency.unwrap_or(Currency::USD),
    };
    let revenue = match amount(order.revenue.as_deref(), cur, Field::Revenue)? {
        Some(r) => r,
        None => cart.value_minor(),
    };
    let shipping = amount(order.shipping.as_deref(), cur, Field::Shipping)?;
    let tax = amount(order.tax.as_deref(), cur, Field::Tax)?;
    let discount = amount(order.discount.as_deref(), cur, Field::Discount)?;
    let total = match amount(order.total.as_deref(), cur, Field::Total)? {
        Some(t) => t,
        None => revenue
            .checked_add(shipping.unwrap_or(0))
            .and_then(|t| t.checked_add(tax.unwrap_or(0)))
            .and_then(|t| t.checked_sub(discount.unwrap_or(0)))
            .ok_or(CommerceError::AmountTooLarge(Field::Total))?,
    };
    let extra = extra_text(order.extra.as_deref())?;
    let mut out = String::with_capacity(128 + cart.lines.len() * 200);
    let mut o = Obj::open(&mut out);
    o.str("order_id", order_id);
    o.str("cart_id", Some(cart.cart_id()).filter(|c| !c.is_empty()));
    o.str(
        "affiliation",
        order.affiliation.as_deref().filter(|a| !a.is_empty()),
    );
    if !require_id {
        // Checkout Started carries the cart's value, as Segment's spec lists it.
        o.amount("value", Some(cart.value_minor()), cur);
    }
    o.amount("total", Some(total), cur);
    o.amount("revenue", Some(revenue), cur);
    o.amount("shipping", shipping, cur);
    o.amount("tax", tax, cur);
    o.amount("discount", discount, cur);
    o.str("coupon", order.coupon.as_deref().filter(|c| !c.is_empty()));
    o.str("currency", Some(cur.code()));
    push_products(&mut o, cart);
    o.extra(extra.as_deref(), &ORDER_KEYS);
    o.close();
    Ok(out)
}

/// Properties of `Coupon Entered`, `Coupon Applied` or `Coupon Denied`: `coupon_id` (the code),
/// `cart_id` when given, then the extra properties (such as `order_id`, `discount`, `reason`).
pub fn coupon_properties(
    code: &str,
    cart_id: Option<&str>,
    extra: Option<&str>,
) -> Result<String, CommerceError> {
    if code.trim().is_empty() {
        return Err(CommerceError::MissingCouponCode);
    }
    let extra = extra_text(extra)?;
    let mut out = String::with_capacity(64 + code.len());
    let mut o = Obj::open(&mut out);
    o.str("coupon_id", Some(code));
    o.str("cart_id", cart_id);
    o.extra(extra.as_deref(), &COUPON_KEYS);
    o.close();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::ProductInput;
    use super::*;
    use serde_json::json;

    #[test]
    fn product_properties_follow_the_spec() {
        let line = Line::from_input(&full_input(), None).unwrap();
        let text = product_properties(&line, Some("c-9"));
        assert!(text.starts_with("{\"product_id\":\"nw-1\",\"sku\":"));
        assert!(text.contains("\"price\":19.99,\"quantity\":2,"));
        let v = parse(&text);
        assert_eq!(
            v,
            json!({
                "product_id": "nw-1",
                "sku": "NW-MUG-01",
                "category": "Mugs",
                "name": "Enamel \"Camp\" Mug",
                "brand": "Northwind",
                "variant": "blue",
                "price": 19.99,
                "quantity": 2,
                "coupon": "SPRING",
                "position": 3,
                "url": "https://shop.example/p/nw-1",
                "image_url": "https://shop.example/i/nw-1.jpg",
                "currency": "USD",
                "cart_id": "c-9",
                "color": "blue",
                "tags": ["a", "b"],
                "nested": {"x": [1, 2, {"y": null}]}
            })
        );
        assert_eq!(v["price"].as_f64(), Some(19.99));
        // Absent fields are left out.
        let bare = Line::from_input(
            &ProductInput {
                product_id: Some("p".into()),
                ..ProductInput::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(
            product_properties(&bare, None),
            "{\"product_id\":\"p\",\"quantity\":1,\"currency\":\"USD\"}"
        );
        // Extra keys never override the validated ones, even written with escapes.
        let mut i = input("p", "0.5");
        i.extra =
            Some(r#"{"price":"free","pr\u0069ce":0,"quantity":9,"cart_id":"x","ok":true}"#.into());
        let v = parse(&product_properties(
            &Line::from_input(&i, None).unwrap(),
            None,
        ));
        assert_eq!(
            v,
            json!({"product_id":"p","price":0.5,"quantity":1,"currency":"USD","ok":true})
        );
    }

    fn tenths_cart() -> Cart {
        let mut cart = Cart::new("c-1");
        for id in ["a", "b", "c"] {
            cart.add(product(id, "0.10"), 3).unwrap();
        }
        cart.add(product("d", "0.20"), 1).unwrap();
        cart.remove("a", None, Some(2)).unwrap();
        cart.remove("b", None, Some(2)).unwrap();
        cart.remove("c", None, Some(2)).unwrap();
        cart
    }

    #[test]
    fn cart_properties_total_exactly() {
        let cart = tenths_cart();
        // 3 × 0.10 + 0.20 = 0.5 in minor units; in floating point even 0.1 + 0.2 is not 0.3.
        let floats: f64 = [0.1, 0.2].iter().sum();
        assert_ne!(floats, 0.3);
        assert_eq!(cart.value_minor(), 50);
        let text = cart_properties(&cart);
        let v = parse(&text);
        assert_eq!(v["value"].as_f64(), Some(0.5));
        assert!(text.contains("\"value\":0.5,"));
        assert_eq!(v["cart_id"], "c-1");
        assert_eq!(v["currency"], "USD");
        let products = v["products"].as_array().unwrap();
        assert_eq!(products.len(), 4);
        assert_eq!(
            products[0],
            json!({"product_id":"a","price":0.1,"quantity":1,"currency":"USD"})
        );
        assert!(products.iter().all(|p| p.get("cart_id").is_none()));

        let mut nine = Cart::new("n");
        nine.add(product("x", "0.10"), 3).unwrap();
        nine.add(product("y", "0.20"), 1).unwrap();
        assert_eq!(parse(&cart_properties(&nine))["value"].as_f64(), Some(0.5));

        let mut jpy = Cart::new("j");
        jpy.add(in_cur("x", "1500", "JPY"), 2).unwrap();
        let v = parse(&cart_properties(&jpy));
        assert_eq!(
            (v["value"].as_u64(), v["currency"].as_str()),
            (Some(3000), Some("JPY"))
        );
        assert_eq!(v["products"][0]["price"].as_u64(), Some(1500));

        let mut kwd = Cart::new("k");
        kwd.add(in_cur("x", "1.234", "KWD"), 2).unwrap();
        kwd.add(in_cur("y", "0.001", "KWD"), 1).unwrap();
        let v = parse(&cart_properties(&kwd));
        assert_eq!(v["value"].as_f64(), Some(2.469));
        assert_eq!(v["products"][0]["price"].as_f64(), Some(1.234));

        let empty = Cart::new("e");
        assert_eq!(
            cart_properties(&empty),
            "{\"cart_id\":\"e\",\"products\":[],\"value\":0}"
        );
    }

    #[test]
    fn order_properties_compute_exact_totals() {
        let cart = tenths_cart();
        let order = OrderInput {
            order_id: Some("o-1".into()),
            affiliation: Some("Web".into()),
            shipping: Some("4.99".into()),
            tax: Some("0.1".into()),
            discount: Some("0.2".into()),
            coupon: Some("TENOFF".into()),
            extra: Some(r#"{"checkout_id":"k-1","total":1,"products":[]}"#.into()),
            ..OrderInput::default()
        };
        let text = order_properties(&cart, &order).unwrap();
        assert!(
            text.starts_with(
                "{\"order_id\":\"o-1\",\"cart_id\":\"c-1\",\"affiliation\":\"Web\",\"total\":5.39,"
            ),
            "{text}"
        );
        let v = parse(&text);
        assert_eq!(v["revenue"].as_f64(), Some(0.5));
        assert_eq!(v["shipping"].as_f64(), Some(4.99));
        assert_eq!(v["tax"].as_f64(), Some(0.1));
        assert_eq!(v["discount"].as_f64(), Some(0.2));
        assert_eq!(v["total"].as_f64(), Some(5.39));
        assert_eq!(v["coupon"], "TENOFF");
        assert_eq!(v["currency"], "USD");
        assert_eq!(v["checkout_id"], "k-1");
        assert_eq!(v["products"].as_array().unwrap().len(), 4);
        assert_eq!(v.as_object().unwrap().len(), 12, "with cart_id");

        // Given revenue and total are kept as given.
        let given = OrderInput {
            order_id: Some("o-2".into()),
            revenue: Some("10".into()),
            total: Some("12.5".into()),
            ..OrderInput::default()
        };
        let v = parse(&order_properties(&cart, &given).unwrap());
        assert_eq!(
            (v["revenue"].as_f64(), v["total"].as_f64()),
            (Some(10.0), Some(12.5))
        );
        assert!(v.get("shipping").is_none() && v.get("affiliation").is_none());

        // Checkout Started: order_id optional.
        let v = parse(&checkout_properties(&cart, &OrderInput::default()).unwrap());
        assert!(v.get("order_id").is_none());
        assert_eq!(
            (v["total"].as_f64(), v["revenue"].as_f64()),
            (Some(0.5), Some(0.5))
        );
        assert!(checkout_properties(&Cart::new("e"), &OrderInput::default())
            .unwrap()
            .starts_with(
                "{\"cart_id\":\"e\",\"value\":0,\"total\":0,\"revenue\":0,\"currency\":\"USD\",\"products\":[]"
            ));

        // JPY and KWD.
        let mut jpy = Cart::new("j");
        jpy.add(in_cur("x", "1500", "JPY"), 2).unwrap();
        let o = OrderInput {
            order_id: Some("o".into()),
            shipping: Some("500".into()),
            ..OrderInput::default()
        };
        let v = parse(&order_properties(&jpy, &o).unwrap());
        assert_eq!(
            (v["total"].as_u64(), v["currency"].as_str()),
            (Some(3500), Some("JPY"))
        );
        let mut kwd = Cart::new("k");
        kwd.add(in_cur("x", "1.234", "KWD"), 3).unwrap();
        let o = OrderInput {
            order_id: Some("o".into()),
            tax: Some("0.001".into()),
            currency: Some("kwd".into()),
            ..OrderInput::default()
        };
        let v = parse(&order_properties(&kwd, &o).unwrap());
        assert_eq!(v["total"].as_f64(), Some(3.703));
    }

    #[test]
    fn order_errors() {
        let cart = tenths_cart();
        let with = |f: &dyn Fn(&mut OrderInput)| {
            let mut o = OrderInput {
                order_id: Some("o".into()),
                ..OrderInput::default()
            };
            f(&mut o);
            order_properties(&cart, &o).unwrap_err()
        };
        assert_eq!(with(&|o| o.order_id = None), CommerceError::MissingOrderId);
        assert_eq!(
            with(&|o| o.order_id = Some(" ".into())),
            CommerceError::MissingOrderId
        );
        assert_eq!(
            with(&|o| o.shipping = Some("1.234".into())),
            CommerceError::TooPrecise(Field::Shipping)
        );
        assert_eq!(
            with(&|o| o.tax = Some("x".into())),
            CommerceError::BadAmount(Field::Tax)
        );
        assert_eq!(
            with(&|o| o.revenue = Some("NaN".into())),
            CommerceError::BadAmount(Field::Revenue)
        );
        assert_eq!(
            with(&|o| o.discount = Some("1e40".into())),
            CommerceError::AmountTooLarge(Field::Discount)
        );
        assert_eq!(
            with(&|o| o.total = Some("0.001".into())),
            CommerceError::TooPrecise(Field::Total)
        );
        assert_eq!(
            with(&|o| {
                o.revenue = Some("92233720368547758".into());
                o.shipping = Some("1".into());
            }),
            CommerceError::AmountTooLarge(Field::Total)
        );
        assert_eq!(
            with(&|o| o.extra = Some("[]".into())),
            CommerceError::BadExtra
        );
        let err = with(&|o| o.currency = Some("EUR".into()));
        assert_eq!(
            err.describe(),
            "an order is in its cart's currency: the order is in EUR but the cart is in USD"
        );
        assert_eq!(
            with(&|o| o.currency = Some("E".into())),
            CommerceError::BadCurrency
        );
        // An empty cart follows the order's currency.
        let o = OrderInput {
            order_id: Some("o".into()),
            currency: Some("JPY".into()),
            revenue: Some("100".into()),
            ..OrderInput::default()
        };
        let v = parse(&order_properties(&Cart::new("e"), &o).unwrap());
        assert_eq!(
            (v["currency"].as_str(), v["total"].as_u64()),
            (Some("JPY"), Some(100))
        );
    }

    #[test]
    fn coupon_properties_carry_the_code() {
        let v = parse(
            &coupon_properties(
                "SAVE10",
                Some("c-1"),
                Some(r#"{"order_id":"o","cart_id":"x","reason":"expired"}"#),
            )
            .unwrap(),
        );
        assert_eq!(
            v,
            json!({"coupon_id":"SAVE10","cart_id":"c-1","order_id":"o","reason":"expired"})
        );
        assert_eq!(
            coupon_properties("A\"B", None, None).unwrap(),
            "{\"coupon_id\":\"A\\\"B\"}"
        );
        assert_eq!(
            coupon_properties(" ", None, None),
            Err(CommerceError::MissingCouponCode)
        );
        assert_eq!(
            coupon_properties("A", None, Some("{")),
            Err(CommerceError::BadExtra)
        );
    }
}
