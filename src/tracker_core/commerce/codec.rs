//! The cart's persisted form: [`Cart::encode`] and [`Cart::decode`], a header line and one
//! tab-separated line per cart line, with tab, newline, carriage return and backslash escaped.

use super::{Cart, Line, ProductInput};
use crate::prelude::*;
use crate::tracker_core::json;
use crate::tracker_core::money::{self, Currency};

impl Cart {
    /// The persisted form: a header line `sc1 <cart_id> <currency or ->`, then one line per
    /// cart line with the tab-separated fields `product_id sku category name brand variant
    /// price quantity coupon position url image_url extra` (absent fields empty, the price as
    /// decimal text). Tabs, newlines, carriage returns and backslashes in values are written
    /// `\t`, `\n`, `\r` and `\\`.
    pub fn encode(&self) -> String {
        let mut o = String::with_capacity(64 + self.lines.len() * 160);
        o.push_str("sc1 ");
        push_escaped(&mut o, &self.cart_id);
        o.push(' ');
        o.push_str(self.currency.as_ref().map_or("-", Currency::code));
        for l in &self.lines {
            let p = &l.product;
            o.push('\n');
            push_escaped(&mut o, &p.product_id);
            for s in [&p.sku, &p.category, &p.name, &p.brand, &p.variant] {
                o.push('\t');
                push_escaped(&mut o, s.as_deref().unwrap_or_default());
            }
            o.push('\t');
            if let Some(price) = p.price {
                money::push_amount(&mut o, price, p.currency);
            }
            o.push('\t');
            json::push_u64(&mut o, u64::from(l.quantity));
            o.push('\t');
            push_escaped(&mut o, p.coupon.as_deref().unwrap_or_default());
            o.push('\t');
            if let Some(position) = p.position {
                json::push_u64(&mut o, u64::from(position));
            }
            for s in [&p.url, &p.image_url, &p.extra] {
                o.push('\t');
                push_escaped(&mut o, s.as_deref().unwrap_or_default());
            }
        }
        o
    }

    /// Reads [`Cart::encode`]'s form, validating every line as a new product would be.
    /// Anything else, or a cart that breaks a rule, gives `None`.
    pub fn decode(text: &str) -> Option<Cart> {
        let mut rows = text.split('\n');
        let head = rows.next()?.strip_prefix("sc1 ")?;
        let (id, code) = head.rsplit_once(' ')?;
        let currency = match code {
            "-" => None,
            c => Some(Currency::parse(c).ok()?),
        };
        let mut cart = Cart {
            cart_id: unescape(id)?,
            currency,
            lines: Vec::new(),
        };
        for row in rows.filter(|r| !r.is_empty()) {
            // Lines are in the header's currency: a header without one holds none.
            let cur = currency?;
            let fields = row
                .split('\t')
                .map(|f| unescape(f).map(|s| (!s.is_empty()).then_some(s)))
                .collect::<Option<Vec<_>>>()
                .filter(|f| f.len() == 13)?;
            let mut f = fields.into_iter();
            let mut next = || f.next().flatten();
            let input = ProductInput {
                product_id: next(),
                sku: next(),
                category: next(),
                name: next(),
                brand: next(),
                variant: next(),
                price: next(),
                quantity: next(),
                coupon: next(),
                position: next(),
                url: next(),
                image_url: next(),
                currency: None,
                extra: next(),
            };
            // A stored line always has its id and quantity.
            input.product_id.as_ref()?;
            input.quantity.as_ref()?;
            let line = Line::from_input(&input, Some(cur)).ok()?;
            let (id, variant) = (&line.product.product_id, line.product.variant.as_deref());
            if cart.lines.iter().any(|l| l.product.is(id, variant)) {
                return None;
            }
            cart.add(line.product, line.quantity).ok()?;
        }
        Some(cart)
    }
}

/// Appends `s` with tab, newline, carriage return and backslash escaped.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Reverses [`push_escaped`]; `None` for an unknown escape.
fn unescape(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return Some(String::from(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::Product;
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn encode_decode_round_trip() {
        let mut cart = Cart::new("cart 1\twith\\odd\nid ✓");
        assert_eq!(Cart::decode(&cart.encode()), Some(cart.clone()));
        assert_eq!(cart.encode(), "sc1 cart 1\\twith\\\\odd\\nid ✓ -");
        cart.add(Line::from_input(&full_input(), None).unwrap().product, 2)
            .unwrap();
        let mut odd = input("tab\there", "0.5");
        odd.name = Some("line\nbreak \\ back\\slash\r 😀 ünï".into());
        odd.extra = Some("{\n  \"note\": \"a\\tb\\nc \\\\ \\u00e9\",\n  \"n\": 1.5e3\n}".into());
        odd.variant = Some("-".into());
        cart.add(Product::parse(&odd, None).unwrap(), 3).unwrap();
        cart.add(product("free", "0"), 1).unwrap();
        cart.add(
            Product::parse(
                &ProductInput {
                    product_id: Some("np".into()),
                    ..ProductInput::default()
                },
                None,
            )
            .unwrap(),
            1,
        )
        .unwrap();
        let text = cart.encode();
        assert!(text.starts_with("sc1 cart 1\\twith"));
        let rows: Vec<&str> = text.split('\n').collect();
        assert_eq!(
            rows[1],
            "nw-1\tNW-MUG-01\tMugs\tEnamel \"Camp\" Mug\tNorthwind\tblue\t19.99\t2\tSPRING\t3\t\
             https://shop.example/p/nw-1\thttps://shop.example/i/nw-1.jpg\t\
             {\"color\":\"blue\",\"tags\":[\"a\",\"b\"],\"nested\":{\"x\":[1,2,{\"y\":null}]}}"
        );
        assert!(rows[2].starts_with(
            "tab\\there\t\t\tline\\nbreak \\\\ back\\\\slash\\r 😀 ünï\t\t-\t0.5\t3\t"
        ));
        assert!(rows[2].ends_with(
            "\t{\\n  \"note\": \"a\\\\tb\\\\nc \\\\\\\\ \\\\u00e9\",\\n  \"n\": 1.5e3\\n}"
        ));
        assert_eq!(text.lines().count(), 5);
        let back = Cart::decode(&text).unwrap();
        assert_eq!(back, cart);
        assert_eq!(
            back.lines()[1].product.name(),
            Some("line\nbreak \\ back\\slash\r 😀 ünï")
        );
        let extra: Value = parse(back.lines()[1].product.extra().unwrap());
        assert_eq!(extra, json!({"note":"a\tb\nc \\ é","n":1500.0}));
        // A trailing newline is harmless.
        assert_eq!(Cart::decode(&(text.clone() + "\n")), Some(cart.clone()));
        // Currencies with other exponents.
        let mut kwd = Cart::new("k");
        kwd.add(in_cur("a", "1.234", "KWD"), 2).unwrap();
        assert!(kwd.encode().ends_with("\t1.234\t2\t\t\t\t\t"));
        assert_eq!(Cart::decode(&kwd.encode()), Some(kwd));
        // An emptied cart keeps its currency.
        cart.clear();
        assert_eq!(cart.encode(), "sc1 cart 1\\twith\\\\odd\\nid ✓ USD");
        assert_eq!(Cart::decode(&cart.encode()), Some(cart));
    }

    #[test]
    fn decode_refuses_other_text() {
        let good = "sc1 c USD\nmug\t\t\t\t\t\t1.5\t2\t\t\t\t\t";
        let cart = Cart::decode(good).unwrap();
        assert_eq!(cart.value_minor(), 300);
        for bad in [
            "",
            "sc1",
            "sc1 c",
            "sc2 c USD",
            "sc1 c US",
            "sc1 c\\x USD",
            "sc1 c -\nmug\t\t\t\t\t\t1.5\t2\t\t\t\t\t",
            "sc1 c USD\nmug\t\t\t\t\t\t1.5\t2\t\t\t\t",
            "sc1 c USD\nmug\t\t\t\t\t\t1.5\t2\t\t\t\t\t\t",
            "sc1 c USD\nmug\t\t\t\t\t\t1.5\t0\t\t\t\t\t",
            "sc1 c USD\nmug\t\t\t\t\t\t1.5\t\t\t\t\t\t",
            "sc1 c USD\n\t\t\t\t\t\t1.5\t2\t\t\t\t\t",
            "sc1 c USD\nmug\t\t\t\t\t\t1.555\t2\t\t\t\t\t",
            "sc1 c USD\nmug\t\t\t\t\t\t1.5\t2\t\t\t\t\t[1]",
            "sc1 c USD\nm\\qug\t\t\t\t\t\t1.5\t2\t\t\t\t\t",
            "sc1 c USD\nmug\t\t\t\t\t\t1.5\t2\t\t\t\t\t\nmug\t\t\t\t\t\t1.5\t2\t\t\t\t\t",
        ] {
            assert_eq!(Cart::decode(bad), None, "{bad:?}");
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::super::{cart_properties, product_properties, MAX_QUANTITY};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_cart_round_trips(
            id in text_strategy(),
            products in prop::collection::vec(
                (
                    prop::collection::vec(prop::option::of(text_strategy()), 11),
                    prop::option::of(0i64..10_000_000_000),
                    1u32..=MAX_QUANTITY,
                    prop::option::of(1u32..1000),
                    prop::collection::btree_map(text_strategy(), text_strategy(), 0..3),
                ),
                0..8,
            ),
            cur in prop::sample::select(vec!["USD", "JPY", "KWD", "CLF", "EUR"]),
        ) {
            let currency = Currency::parse(cur).unwrap();
            let mut cart = Cart::new(id);
            for (texts, price, quantity, position, extra) in products {
                let mut t = texts.into_iter();
                let input = ProductInput {
                    product_id: t.next().flatten(),
                    sku: t.next().flatten(),
                    category: t.next().flatten(),
                    name: t.next().flatten(),
                    brand: t.next().flatten(),
                    variant: t.next().flatten(),
                    coupon: t.next().flatten(),
                    url: t.next().flatten(),
                    image_url: t.next().flatten(),
                    price: price.map(|p| money::amount_text(p, currency)),
                    quantity: Some(quantity.to_string()),
                    position: position.map(|p| p.to_string()),
                    currency: Some(cur.to_lowercase()),
                    extra: Some(serde_json::to_string(&extra).unwrap()),
                };
                if let Ok(line) = Line::from_input(&input, cart.currency()) {
                    let _ = cart.add(line.product, line.quantity);
                }
            }
            let text = cart.encode();
            prop_assert_eq!(Cart::decode(&text), Some(cart.clone()));
            // Every payload is valid JSON.
            let v: serde_json::Value = serde_json::from_str(&cart_properties(&cart)).unwrap();
            prop_assert_eq!(v["products"].as_array().map(Vec::len), Some(cart.len()));
            for l in cart.lines() {
                let p: serde_json::Value = serde_json::from_str(&product_properties(l, Some(cart.cart_id()))).unwrap();
                prop_assert_eq!(p["product_id"].as_str(), Some(l.product.product_id()));
            }
        }
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "(?s).{0,12}",
            "[\\t\\n\\r\\\\ a-c\\-é😀]{0,8}",
            Just(String::new()),
        ]
    }
}
