//! The arguments of API calls, as the JavaScript host hands them over: one JSON array per call
//! (`JSON.stringify([...arguments])`, with `undefined` as `null` and a top-level function as
//! [`FUNCTION`]), and the shop data read from the page (markup records and JSON-LD texts).
//! Everything here turns that text into typed inputs; no decision about events is made here.

use super::commerce::{OrderInput, ProductInput, ORDER_KEYS, PRODUCT_KEYS};
use super::json::scan;
use crate::prelude::*;

/// How the host writes a function argument (JSON has none): a string no caller passes.
pub const FUNCTION: &str = "\u{0}f";

/// The arguments of one call.
#[derive(Debug, Clone, Default)]
pub struct Args<'a> {
    items: Vec<&'a str>,
}

impl<'a> Args<'a> {
    /// Reads the JSON array the host sent; anything else reads as no arguments.
    pub fn parse(text: &'a str) -> Args<'a> {
        Args {
            items: scan::array_items(text).unwrap_or_default(),
        }
    }

    /// The raw JSON text of argument `i`; `None` when absent or `null`.
    pub fn raw(&self, i: usize) -> Option<&'a str> {
        self.items.get(i).copied().filter(|r| *r != "null")
    }

    /// Argument `i` as text: a string's content, or a number as written.
    pub fn text(&self, i: usize) -> Option<String> {
        self.raw(i).and_then(text)
    }

    /// Argument `i` if it is a string (numbers are not names).
    pub fn string(&self, i: usize) -> Option<String> {
        self.raw(i).and_then(scan::string_value)
    }

    /// Whether argument `i` is an object (`{...}`).
    pub fn is_object(&self, i: usize) -> bool {
        self.raw(i).is_some_and(|r| r.starts_with('{'))
    }

    /// Whether argument `i` is absent or `null`.
    pub fn is_missing(&self, i: usize) -> bool {
        self.raw(i).is_none()
    }

    /// Argument `i` as JSON object text for properties or traits: absent gives `{}`, anything
    /// that is not an object gives `None`.
    pub fn object(&self, i: usize) -> Option<String> {
        match self.raw(i) {
            None => Some("{}".into()),
            Some(r) if r.starts_with('{') => Some(r.to_string()),
            Some(_) => None,
        }
    }

    /// Argument `i` is `true`.
    pub fn is_true(&self, i: usize) -> bool {
        self.raw(i) == Some("true")
    }

    /// How many arguments were passed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no argument was passed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A raw JSON value as text: a string's content, or a number as written (the host writes
/// numbers of shop data through 15 significant digits, which drops binary noise such as
/// `0.30000000000000004`). Anything else is `None`.
pub fn text(raw: &str) -> Option<String> {
    let first = *raw.as_bytes().first()?;
    if first == b'"' {
        scan::string_value(raw)
    } else if first == b'-' || first.is_ascii_digit() {
        Some(raw.to_string())
    } else {
        None
    }
}

fn field(obj: &str, key: &str) -> Option<String> {
    scan::member(obj, key).and_then(text)
}

/// The members of `obj` whose names `known` does not claim, as JSON object text.
fn extra(obj: &str, known: &dyn Fn(&str) -> bool) -> Option<String> {
    let members = scan::object_members(obj)?;
    let mut out = String::new();
    for m in members {
        let name = scan::unescape(m.key)?;
        if !known(&name) {
            out.push(if out.is_empty() { '{' } else { ',' });
            out.push_str(m.text);
        }
    }
    if out.is_empty() {
        return None;
    }
    out.push('}');
    Some(out)
}

/// A product from an object's JSON text (the API's product argument, or `data-product`).
pub fn product(obj: &str) -> ProductInput {
    ProductInput {
        product_id: field(obj, "product_id").or_else(|| field(obj, "id")),
        sku: field(obj, "sku"),
        category: field(obj, "category"),
        name: field(obj, "name"),
        brand: field(obj, "brand"),
        variant: field(obj, "variant"),
        price: field(obj, "price"),
        quantity: field(obj, "quantity"),
        coupon: field(obj, "coupon"),
        position: field(obj, "position"),
        url: field(obj, "url"),
        image_url: field(obj, "image_url"),
        currency: field(obj, "currency"),
        // `id` is read as the product_id when that is missing.
        extra: extra(obj, &|k| k == "id" || PRODUCT_KEYS.contains(&k)),
    }
}

/// An order or checkout from an object's JSON text; absent or not an object gives an empty one.
pub fn order(obj: Option<&str>) -> OrderInput {
    let Some(obj) = obj.filter(|o| o.starts_with('{')) else {
        return OrderInput::default();
    };
    OrderInput {
        order_id: field(obj, "order_id"),
        affiliation: field(obj, "affiliation"),
        total: field(obj, "total"),
        revenue: field(obj, "revenue"),
        shipping: field(obj, "shipping"),
        tax: field(obj, "tax"),
        discount: field(obj, "discount"),
        coupon: field(obj, "coupon"),
        currency: field(obj, "currency"),
        extra: extra(obj, &|k| ORDER_KEYS.contains(&k)),
    }
}

/// `obj` without its member `key` (JSON object text).
pub fn without(obj: &str, key: &str) -> String {
    let mut out = String::from("{");
    for m in scan::object_members(obj).unwrap_or_default() {
        if !scan::key_is(m.key, key) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(m.text);
        }
    }
    out.push('}');
    out
}

/// `base` with the members of `update` assigned over it, as `Object.assign` does: a key keeps
/// its place and takes the new value; new keys follow. `None` if either is not an object.
pub fn assign(base: &str, update: &str) -> Option<String> {
    let old = scan::object_members(base)?;
    let new = scan::object_members(update)?;
    let mut out = String::from("{");
    let mut push = |text: &str| {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(text);
    };
    let decoded: Vec<Option<String>> = new.iter().map(|m| scan::unescape(m.key)).collect();
    for m in &old {
        let key = scan::unescape(m.key);
        match new.iter().zip(&decoded).rev().find(|(_, k)| **k == key) {
            Some((n, _)) => push(n.text),
            None => push(m.text),
        }
    }
    let old_keys: Vec<Option<String>> = old.iter().map(|m| scan::unescape(m.key)).collect();
    for (i, (m, k)) in new.iter().zip(&decoded).enumerate() {
        let later = decoded.get(i + 1..).unwrap_or_default().contains(k);
        if !old_keys.contains(k) && !later {
            push(m.text);
        }
    }
    out.push('}');
    Some(out)
}

// ---- data-shoptrail markup ----

/// What a `data-shoptrail` element asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Markup {
    /// `add`: Product Added (`data-product`, optional `data-quantity`).
    Add(ProductInput),
    /// `remove`: Product Removed.
    Remove(ProductInput),
    /// `view`: Product Viewed (when the page is read, not on click).
    View(ProductInput),
    /// `click`: Product Clicked (optional `data-list`).
    Click(ProductInput, Option<String>),
    /// `checkout`: Checkout Started with the cart (optional `data-order` properties).
    Checkout(OrderInput),
    /// `order`: Order Completed (`data-order` with at least `order_id`).
    Order(OrderInput),
    /// The markup is wrong; the message says how.
    Invalid(&'static str),
}

/// Reads one element's markup, sent by the host as the JSON array
/// `[action, data-product, data-order, data-quantity, data-list]` of attribute texts (`null`
/// for an absent attribute).
pub fn markup(record: &str) -> Markup {
    let a = Args::parse(record);
    let action = a.text(0).unwrap_or_default();
    let attr_object = |i: usize| -> Result<Option<String>, ()> {
        match a.text(i) {
            None => Ok(None),
            Some(t) => match scan::object_members(&t) {
                Some(_) => Ok(Some(t)),
                None => Err(()),
            },
        }
    };
    let product = || -> Result<ProductInput, &'static str> {
        let v = attr_object(1).map_err(|_| {
            "data-product must be a JSON object, such as {\"product_id\":\"sku-1\",\"price\":19.99}"
        })?;
        let Some(v) = v else {
            return Err("data-shoptrail add, remove, view and click need a data-product attribute");
        };
        let mut p = product(&v);
        if let Some(q) = a.text(3) {
            p.quantity = Some(q);
        }
        Ok(p)
    };
    let order_attr = || -> Result<OrderInput, &'static str> {
        let v = attr_object(2)
            .map_err(|_| "data-order must be a JSON object, such as {\"order_id\":\"1001\"}")?;
        Ok(order(v.as_deref()))
    };
    let result = match action.trim() {
        "add" => product().map(Markup::Add),
        "remove" => product().map(Markup::Remove),
        "view" => product().map(Markup::View),
        "click" => product().map(|p| Markup::Click(p, a.text(4))),
        "checkout" => order_attr().map(Markup::Checkout),
        "order" => order_attr().map(Markup::Order),
        _ => Err("data-shoptrail must be add, remove, view, click, checkout or order"),
    };
    result.unwrap_or_else(Markup::Invalid)
}

// ---- schema.org JSON-LD ----

/// Most products read from one page.
const MAX_LD_PRODUCTS: usize = 20;

fn first(raw: &str) -> &str {
    if raw.starts_with('[') {
        scan::array_items(raw)
            .and_then(|v| v.first().copied())
            .unwrap_or("null")
    } else {
        raw
    }
}

fn has_type(obj: &str, wanted: &str) -> bool {
    let Some(t) = scan::member(obj, "@type") else {
        return false;
    };
    let is = |raw: &str| {
        scan::string_value(raw).is_some_and(|s| {
            s == wanted
                || s.strip_suffix(wanted)
                    .is_some_and(|p| p.ends_with('/') || p.ends_with('#'))
        })
    };
    if t.starts_with('[') {
        scan::array_items(t).unwrap_or_default().into_iter().any(is)
    } else {
        is(t)
    }
}

fn collect_products<'a>(raw: &'a str, out: &mut Vec<&'a str>) {
    // Iterative walk of arrays and `@graph`s, at most 4 levels deep.
    let mut stack = vec![(raw, 0u32)];
    while let Some((v, depth)) = stack.pop() {
        if depth > 4 || out.len() >= MAX_LD_PRODUCTS {
            continue;
        }
        if v.starts_with('[') {
            let items = scan::array_items(v).unwrap_or_default();
            for item in items.into_iter().rev() {
                stack.push((item, depth + 1));
            }
        } else if v.starts_with('{') {
            if has_type(v, "Product") {
                out.push(v);
            } else if let Some(g) = scan::member(v, "@graph") {
                stack.push((g, depth + 1));
            }
        }
    }
}

/// A schema.org `Product` as a product: name, sku, productID/mpn/gtin, brand (text or Brand),
/// category, image (text, list or ImageObject), url, and price and currency from its first
/// offer (Offer or AggregateOffer's lowPrice).
fn from_schema(p: &str) -> ProductInput {
    fn get<'a>(obj: &'a str, k: &str) -> &'a str {
        scan::member(obj, k).map(first).unwrap_or("null")
    }
    let brand = get(p, "brand");
    let brand = text(brand).or_else(|| field(brand, "name"));
    let image = get(p, "image");
    let image = text(image).or_else(|| field(image, "url"));
    let offer = get(p, "offers");
    let spec = get(offer, "priceSpecification");
    let price = field(offer, "price")
        .or_else(|| field(offer, "lowPrice"))
        .or_else(|| field(spec, "price"));
    let currency = field(offer, "priceCurrency").or_else(|| field(spec, "priceCurrency"));
    let sku = field(p, "sku");
    ProductInput {
        product_id: field(p, "productID")
            .or_else(|| sku.clone())
            .or_else(|| field(p, "mpn"))
            .or_else(|| field(p, "gtin13"))
            .or_else(|| field(p, "gtin"))
            .or_else(|| field(p, "@id")),
        sku,
        category: field(p, "category"),
        name: field(p, "name"),
        brand,
        price,
        currency,
        image_url: image,
        url: field(p, "url"),
        ..ProductInput::default()
    }
}

/// Products described by the texts of a page's `<script type="application/ld+json">` blocks.
/// Texts that are not valid JSON are skipped (they are the theme's, not ours to report).
pub fn jsonld_products(texts: &[String]) -> Vec<ProductInput> {
    let mut found = Vec::new();
    for t in texts {
        let t = t.trim();
        if !scan::is_valid(t) {
            continue;
        }
        let mut raw = Vec::new();
        collect_products(t, &mut raw);
        found.extend(raw.into_iter().map(from_schema));
        if found.len() >= MAX_LD_PRODUCTS {
            break;
        }
    }
    found.truncate(MAX_LD_PRODUCTS);
    found
}

/// What the host read from the page for a scan, sent as
/// `{"m":[markup record, ...],"j":["json-ld text", ...]}`.
pub fn scan_record(text: &str) -> (Vec<Markup>, Vec<ProductInput>) {
    let list = |k: &str| {
        scan::member(text, k)
            .and_then(scan::array_items)
            .unwrap_or_default()
    };
    let markups = list("m")
        .into_iter()
        .filter_map(scan::string_value)
        .map(|r| markup(&r))
        .collect();
    let texts: Vec<String> = list("j")
        .into_iter()
        .filter_map(scan::string_value)
        .collect();
    (markups, jsonld_products(&texts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_read_text_numbers_objects_and_missing() {
        let a = Args::parse(r#"["Product Added",{"a":1},null,42,"\u0000f"]"#);
        assert_eq!(a.text(0).as_deref(), Some("Product Added"));
        assert_eq!(a.object(1).as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(a.object(2).as_deref(), Some("{}"));
        assert!(a.is_missing(2) && a.is_missing(9));
        assert_eq!(a.text(3).as_deref(), Some("42"));
        assert_eq!(a.text(4).as_deref(), Some(FUNCTION));
        assert_eq!(a.object(0), None);
        assert!(Args::parse("not json").is_empty());
    }

    #[test]
    fn products_take_known_fields_and_keep_the_rest() {
        let p = product(
            r#"{"id":"nw-1","price":19.99,"name":"Mug \"Blue\"","colour":"blue","tags":[1,2],"quantity":"2"}"#,
        );
        assert_eq!(p.product_id.as_deref(), Some("nw-1"));
        assert_eq!(p.price.as_deref(), Some("19.99"));
        assert_eq!(p.name.as_deref(), Some("Mug \"Blue\""));
        assert_eq!(p.quantity.as_deref(), Some("2"));
        assert_eq!(
            p.extra.as_deref(),
            Some(r#"{"colour":"blue","tags":[1,2]}"#)
        );
        let p = product(r#"{"product_id":"a","price":true}"#);
        assert_eq!(p.price, None);
        assert_eq!(p.extra, None);
    }

    #[test]
    fn orders_and_without() {
        let o = order(Some(r#"{"order_id":1001,"shipping":"5.95","gift":true}"#));
        assert_eq!(o.order_id.as_deref(), Some("1001"));
        assert_eq!(o.shipping.as_deref(), Some("5.95"));
        assert_eq!(o.extra.as_deref(), Some(r#"{"gift":true}"#));
        assert_eq!(order(Some("[1]")), OrderInput::default());
        assert_eq!(
            without(r#"{"completed":true,"shipping_method":"std"}"#, "completed"),
            r#"{"shipping_method":"std"}"#
        );
    }

    #[test]
    fn assign_behaves_like_object_assign() {
        assert_eq!(
            assign(r#"{"a":1,"b":{"c":2}}"#, r#"{"b":3,"d":"x"}"#).as_deref(),
            Some(r#"{"a":1,"b":3,"d":"x"}"#)
        );
        assert_eq!(assign("{}", "{}").as_deref(), Some("{}"));
        assert_eq!(assign("{}", "[]"), None);
        // An escaped key is the same key.
        assert_eq!(
            assign(r#"{"\u0061":1}"#, r#"{"a":2}"#).as_deref(),
            Some(r#"{"a":2}"#)
        );
    }

    #[test]
    fn markup_records() {
        let add = markup(r#"["add","{\"product_id\":\"nw-1\",\"price\":24}",null,"2",null]"#);
        match add {
            Markup::Add(p) => {
                assert_eq!(p.product_id.as_deref(), Some("nw-1"));
                assert_eq!(p.quantity.as_deref(), Some("2"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            markup(r#"["add","{oops",null,null,null]"#),
            Markup::Invalid(m) if m.starts_with("data-product must be")
        ));
        assert!(matches!(
            markup(r#"["view",null,null,null,null]"#),
            Markup::Invalid(m) if m.contains("need a data-product")
        ));
        assert!(matches!(
            markup(r#"["order",null,"{\"order_id\":\"9\"}",null,null]"#),
            Markup::Order(o) if o.order_id.as_deref() == Some("9")
        ));
        assert!(matches!(
            markup(r#"["click","{\"product_id\":\"a\"}",null,null,"home"]"#),
            Markup::Click(_, Some(l)) if l == "home"
        ));
        assert!(matches!(
            markup(r#"["dance",null,null,null,null]"#),
            Markup::Invalid(_)
        ));
    }

    #[test]
    fn jsonld_products_from_graphs_offers_and_brands() {
        let page = [
            r#"{"@context":"https://schema.org","@graph":[{"@type":"BreadcrumbList"},{"@type":["Thing","Product"],"sku":"SKU-1","name":"Mug","brand":{"@type":"Brand","name":"Northwind"},"image":["https://x/1.jpg"],"offers":{"@type":"AggregateOffer","lowPrice":"19.5","priceCurrency":"EUR"}}]}"#.to_string(),
            "not json".to_string(),
            r#"[{"@type":"http://schema.org/Product","productID":"p-2","offers":[{"price":5,"priceCurrency":"USD"}],"image":{"url":"https://x/2.jpg"}}]"#.to_string(),
        ];
        let found = jsonld_products(&page);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].product_id.as_deref(), Some("SKU-1"));
        assert_eq!(found[0].brand.as_deref(), Some("Northwind"));
        assert_eq!(found[0].price.as_deref(), Some("19.5"));
        assert_eq!(found[0].currency.as_deref(), Some("EUR"));
        assert_eq!(found[0].image_url.as_deref(), Some("https://x/1.jpg"));
        assert_eq!(found[1].product_id.as_deref(), Some("p-2"));
        assert_eq!(found[1].price.as_deref(), Some("5"));
        assert_eq!(found[1].image_url.as_deref(), Some("https://x/2.jpg"));
    }

    #[test]
    fn scan_records_hold_markup_and_jsonld() {
        let (m, p) = scan_record(
            r#"{"m":["[\"view\",\"{\\\"product_id\\\":\\\"v1\\\"}\",null,null,null]"],"j":["{\"@type\":\"Product\",\"sku\":\"s\"}"]}"#,
        );
        assert!(matches!(&m[..], [Markup::View(v)] if v.product_id.as_deref() == Some("v1")));
        assert_eq!(p[0].product_id.as_deref(), Some("s"));
    }
}
