//! Reading shop data from JavaScript values and from the page itself: product and order
//! objects passed to the API, `data-shoptrail` markup (one delegated click listener) and
//! schema.org `Product` JSON-LD, which most shop themes already print for search engines.

use crate::core::commerce::{OrderInput, ProductInput, ORDER_KEYS, PRODUCT_KEYS};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A string, or a finite number as decimal text. Numbers go through 15 significant digits, which
/// drops binary float noise (`0.1 + 0.2` is `0.3`, `19.99 * 3` is `59.97`) while keeping every
/// price a person can type.
pub fn text(v: &JsValue) -> Option<String> {
    if let Some(s) = v.as_string() {
        return Some(s);
    }
    let n = v.as_f64().filter(|n| n.is_finite())?;
    let t: String = js_sys::Number::from(n).to_precision(15).ok()?.into();
    let (mantissa, exp) = match t.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (t.as_str(), None),
    };
    let mut out = if mantissa.contains('.') {
        mantissa
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        mantissa.to_string()
    };
    if let Some(e) = exp {
        out.push('e');
        out.push_str(e);
    }
    Some(out)
}

fn field(obj: &JsValue, key: &str) -> Option<String> {
    text(&get(obj, key))
}

/// The properties of `obj` whose names `known` does not claim, as JSON object text (`None` if
/// none, or if they cannot be serialized).
fn extra(obj: &JsValue, known: &dyn Fn(&str) -> bool) -> Option<String> {
    let o = obj.dyn_ref::<Object>()?;
    let rest = Object::new();
    let mut any = false;
    for key in Object::keys(o).iter() {
        let Some(k) = key.as_string() else { continue };
        if !known(&k) {
            let _ = Reflect::set(&rest, &key, &get(obj, &k));
            any = true;
        }
    }
    if !any {
        return None;
    }
    js_sys::JSON::stringify(&rest).ok()?.as_string()
}

/// Whether `v` is a plain object (not null, an array or a function).
pub fn is_plain_object(v: &JsValue) -> bool {
    v.is_object() && !Array::is_array(v) && !v.is_function()
}

/// A product object from the API or markup.
pub fn product_input(obj: &JsValue) -> ProductInput {
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

/// An order or checkout object from the API or markup.
pub fn order_input(obj: &JsValue) -> OrderInput {
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

/// Properties passed through as they are (JSON object text), or `{}`.
pub fn props_json(v: &JsValue) -> Option<String> {
    if v.is_undefined() || v.is_null() {
        return Some("{}".into());
    }
    if !is_plain_object(v) {
        return None;
    }
    js_sys::JSON::stringify(v).ok()?.as_string()
}

// ---- schema.org JSON-LD ----

fn has_type(v: &JsValue, wanted: &str) -> bool {
    let t = get(v, "@type");
    match t.as_string() {
        Some(s) => s == wanted || s.ends_with(&["/", wanted].concat()),
        None => {
            Array::is_array(&t)
                && Array::from(&t)
                    .iter()
                    .any(|x| x.as_string().as_deref() == Some(wanted))
        }
    }
}

fn first(v: JsValue) -> JsValue {
    if Array::is_array(&v) {
        Array::from(&v).get(0)
    } else {
        v
    }
}

fn collect_products(v: &JsValue, out: &mut Vec<JsValue>, depth: u32) {
    if depth > 4 || out.len() >= 20 {
        return;
    }
    if Array::is_array(v) {
        for item in Array::from(v).iter() {
            collect_products(&item, out, depth + 1);
        }
    } else if v.is_object() {
        if has_type(v, "Product") {
            out.push(v.clone());
        } else {
            collect_products(&get(v, "@graph"), out, depth + 1);
        }
    }
}

/// A schema.org `Product` as a product: name, sku, productID/mpn/gtin, brand (text or Brand),
/// category, image (text, list or ImageObject), url, and price and currency from its first
/// offer (Offer or AggregateOffer's lowPrice).
fn from_schema(p: &JsValue) -> ProductInput {
    let brand = get(p, "brand");
    let brand = brand.as_string().or_else(|| field(&first(brand), "name"));
    let image = first(get(p, "image"));
    let image = image.as_string().or_else(|| field(&image, "url"));
    let offer = first(get(p, "offers"));
    let price = field(&offer, "price")
        .or_else(|| field(&offer, "lowPrice"))
        .or_else(|| field(&first(get(&offer, "priceSpecification")), "price"));
    let currency = field(&offer, "priceCurrency")
        .or_else(|| field(&first(get(&offer, "priceSpecification")), "priceCurrency"));
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

/// Products described by the page's `<script type="application/ld+json">` blocks. Blocks that
/// are not valid JSON are skipped (they are the theme's, not ours to report).
pub fn jsonld_products() -> Vec<ProductInput> {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return Vec::new();
    };
    let Ok(scripts) = doc.query_selector_all("script[type=\"application/ld+json\"]") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for i in 0..scripts.length().min(50) {
        let Some(text) = scripts.item(i).and_then(|n| n.text_content()) else {
            continue;
        };
        if let Ok(v) = js_sys::JSON::parse(&text) {
            collect_products(&v, &mut found, 0);
        }
    }
    found.iter().map(from_schema).collect()
}

// ---- data-shoptrail markup ----

/// What a `data-shoptrail` element asks for.
#[derive(Debug)]
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

fn parse_attr(el: &web_sys::Element, name: &str) -> Result<JsValue, ()> {
    match el.get_attribute(name) {
        None => Ok(JsValue::UNDEFINED),
        Some(t) => js_sys::JSON::parse(&t).map_err(|_| ()).and_then(|v| {
            if is_plain_object(&v) {
                Ok(v)
            } else {
                Err(())
            }
        }),
    }
}

fn read_markup(el: &web_sys::Element) -> Markup {
    let action = el.get_attribute("data-shoptrail").unwrap_or_default();
    let product = || -> Result<ProductInput, &'static str> {
        let v = parse_attr(el, "data-product").map_err(|_| {
            "data-product must be a JSON object, such as {\"product_id\":\"sku-1\",\"price\":19.99}"
        })?;
        if v.is_undefined() {
            return Err("data-shoptrail add, remove, view and click need a data-product attribute");
        }
        let mut p = product_input(&v);
        if let Some(q) = el.get_attribute("data-quantity") {
            p.quantity = Some(q);
        }
        Ok(p)
    };
    let order = || -> Result<OrderInput, &'static str> {
        let v = parse_attr(el, "data-order")
            .map_err(|_| "data-order must be a JSON object, such as {\"order_id\":\"1001\"}")?;
        Ok(if v.is_undefined() {
            OrderInput::default()
        } else {
            order_input(&v)
        })
    };
    let result = match action.trim() {
        "add" => product().map(Markup::Add),
        "remove" => product().map(Markup::Remove),
        "view" => product().map(Markup::View),
        "click" => product().map(|p| Markup::Click(p, el.get_attribute("data-list"))),
        "checkout" => order().map(Markup::Checkout),
        "order" => order().map(Markup::Order),
        _ => Err("data-shoptrail must be add, remove, view, click, checkout or order"),
    };
    result.unwrap_or_else(Markup::Invalid)
}

/// The markup action for a click, if the click landed in a `data-shoptrail` element
/// (other than `view`, which is read with the page).
pub fn markup_for_click(event: &web_sys::Event) -> Option<Markup> {
    markup_for_target(&event.target()?.into())
}

/// The markup action for a click on `target` (an element, or anything else for none).
pub fn markup_for_target(target: &JsValue) -> Option<Markup> {
    let target = target.dyn_ref::<web_sys::Element>()?;
    let el = target.closest("[data-shoptrail]").ok()??;
    if el.get_attribute("data-shoptrail").as_deref().map(str::trim) == Some("view") {
        return None;
    }
    Some(read_markup(&el))
}

/// Every `data-shoptrail="view"` element on the page.
pub fn markup_views() -> Vec<Markup> {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return Vec::new();
    };
    let Ok(list) = doc.query_selector_all("[data-shoptrail=\"view\"]") else {
        return Vec::new();
    };
    (0..list.length().min(50))
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::Element>().ok())
        .map(|el| read_markup(&el))
        .collect()
}
