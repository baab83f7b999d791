//! shoptrail: storefront analytics for the browser, compiled to WebAssembly.
//!
//! This file is the JavaScript-facing API. It converts JavaScript values to core types and
//! hands them to the browser runtime; it holds no logic of its own. Every export accepts any
//! JavaScript value, never throws and never panics on bad input: problems are reported through
//! the `onError` option and `error` listeners.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod browser;

/// The exported JavaScript API (also callable from Rust, as the browser tests do).
#[cfg(target_arch = "wasm32")]
pub mod api {
    use crate::browser::{platform, runtime};
    use crate::core::config::{self, Value};
    use js_sys::{Function, Object, Promise};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(typescript_custom_section)]
    const TS: &'static str = r#"
/** Options for {@link init}. */
export interface ShoptrailConfig {
  /** URL that receives event batches (Segment's `/v1/batch` shape). Relative URLs resolve against the page. Required. */
  endpoint: string;
  /** Sent as `writeKey` in every batch body. */
  writeKey?: string;
  /** Queued events that start a request, 1–500. Default 20. A backlog (after `flush()` or an outage) leaves up to 500 events per request. */
  batchSize?: number;
  /** Longest time an event waits before its batch leaves, in ms, 0–60000. Default 1000. */
  flushInterval?: number;
  /** Failed attempts after which a batch is reported through `onError` (it is still kept and retried). 0–100, default 10. */
  maxRetries?: number;
  /** Log every event and error to the console. Default false. */
  debug?: boolean;
  /** Send batches gzip-compressed (CompressionStream), saying so with `compression=gzip` in the URL so that no CORS preflight is needed. Only for endpoints that accept it, such as the shoptrail collector. Default false. */
  compress?: boolean;
  /** Track a page view when `init` runs. Default true. */
  pageViews?: boolean;
  /** Track single-page-app navigations (pushState, replaceState, popstate, hashchange) as page views, with the previous URL as referrer. Default true; turn it off if the app calls `page()` on route changes itself. */
  history?: boolean;
  /** Called with a `ShoptrailError` (an `Error` with a `code`) for invalid calls and delivery problems. */
  onError?: (error: ShoptrailError) => void;
}
/** An error reported by shoptrail: `code` is one of invalid_config, invalid_argument, event_too_large, rejected, delivery_failing, queue_full, storage_unavailable. */
export interface ShoptrailError extends Error { code: string; }
/** A product, as Segment's e-commerce spec v2 names its fields. Other properties pass through. */
export interface ShoptrailProduct {
  product_id?: string; sku?: string; category?: string; name?: string; brand?: string; variant?: string;
  /** Unit price in the currency's major unit (19.99); kept exactly in minor units. */
  price?: number | string;
  quantity?: number; coupon?: string; position?: number; url?: string; image_url?: string;
  /** ISO 4217 code; defaults to the cart's, else USD. A cart holds one currency. */
  currency?: string;
  [key: string]: unknown;
}
/** An order for `checkout.start` and `order.complete`. Amounts are in the major unit. */
export interface ShoptrailOrder {
  order_id?: string; affiliation?: string; total?: number | string; revenue?: number | string;
  shipping?: number | string; tax?: number | string; discount?: number | string; coupon?: string; currency?: string;
  [key: string]: unknown;
}
/** The cart, as `cart.get()` returns it and Cart Viewed sends it. */
export interface ShoptrailCart { cart_id: string; products: ShoptrailProduct[]; value: number; currency?: string }
/** What listeners added with {@link on} receive, by name. */
export interface ShoptrailEvents {
  /** Each accepted event, exactly as it will be sent (Segment spec: type, event, properties, context, ...). */
  event: Record<string, unknown> & { type: "page" | "track" | "identify" | "alias"; messageId: string };
  /** A batch the endpoint stored. */
  delivered: { count: number };
  /** The same errors `onError` receives. */
  error: ShoptrailError;
}
/** Names accepted by {@link on} and {@link off}. */
export type ShoptrailEventName = keyof ShoptrailEvents;
"#;

    fn to_value(v: JsValue) -> Value {
        if v.is_undefined() {
            Value::Missing
        } else if let Some(s) = v.as_string() {
            Value::Str(s)
        } else if let Some(n) = v.as_f64() {
            Value::Num(n)
        } else if let Some(b) = v.as_bool() {
            Value::Bool(b)
        } else if v.is_function() {
            Value::Function
        } else {
            Value::Other
        }
    }

    fn get(obj: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn invalid(message: &str, on_error: Option<&Function>) {
        let e = runtime::error_value("invalid_config", message);
        platform::log(true, "shoptrail:", &e);
        if let Some(f) = on_error {
            let _ = f.call1(&JsValue::UNDEFINED, &e);
        }
    }

    /// Starts shoptrail. Calls made before `init` are kept and replayed once it succeeds; an
    /// invalid config is reported (console and `onError`) and leaves the SDK inert.
    #[wasm_bindgen]
    pub fn init(#[wasm_bindgen(unchecked_param_type = "ShoptrailConfig")] config: JsValue) {
        if runtime::is_live() {
            return platform::log(
                true,
                "shoptrail: init was already called; this call is ignored",
                &JsValue::UNDEFINED,
            );
        }
        if !config.is_object() {
            runtime::fail();
            return invalid("init(config): config must be an object such as { endpoint: \"https://collect.example.com/v1/batch\" }", None);
        }
        let on_error = get(&config, "onError").dyn_into::<Function>().ok();
        let keys: Vec<String> = Object::keys(config.unchecked_ref::<Object>())
            .iter()
            .filter_map(|k| k.as_string())
            .collect();
        let parsed = config::parse(&keys, |name| {
            let v = get(&config, name);
            if name == "endpoint" {
                if let (Some(s), Some(w)) = (v.as_string(), platform::window()) {
                    let base = w.location().href().unwrap_or_default();
                    if let Ok(u) = web_sys::Url::new_with_base(&s, &base) {
                        return Value::Str(u.href());
                    }
                }
            }
            to_value(v)
        });
        match parsed {
            Ok(cfg) => runtime::start(cfg, on_error),
            Err(e) => {
                runtime::fail();
                let mut m = String::from("init: option `");
                m.push_str(&e.option);
                m.push_str("` ");
                m.push_str(e.message);
                invalid(&m, on_error.as_ref());
            }
        }
    }

    fn opt_string(v: &JsValue) -> Option<String> {
        v.as_string().or_else(|| {
            v.as_f64().map(|n| {
                String::from(
                    js_sys::Number::from(n)
                        .to_string_with_radix(10)
                        .unwrap_or_default(),
                )
            })
        })
    }

    /// Serializes properties or traits: `undefined`/`null` give `{}`; anything that is not a
    /// plain object, or cannot be serialized (cycles, BigInt), gives `None`.
    fn object_json(v: &JsValue) -> Option<String> {
        if v.is_undefined() || v.is_null() {
            return Some("{}".into());
        }
        if !v.is_object() || js_sys::Array::is_array(v) || v.is_function() {
            return None;
        }
        js_sys::JSON::stringify(v).ok()?.as_string()
    }

    fn bad_object(rt: &mut runtime::Runtime, n: &mut runtime::Notices) {
        rt.enqueue_error(n)
    }

    /// Tracks a page view. `name` is optional: `page(properties)` works too.
    #[wasm_bindgen]
    pub fn page(
        #[wasm_bindgen(unchecked_optional_param_type = "string | Record<string, unknown>")]
        name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")]
        properties: JsValue,
    ) {
        let (name, props) = if name.is_object() {
            (JsValue::UNDEFINED, name)
        } else {
            (name, properties)
        };
        let name = name.as_string();
        let json = object_json(&props);
        runtime::call(move |rt, n| match json {
            Some(p) => rt.page_view(name.as_deref(), &p, n),
            None => bad_object(rt, n),
        });
    }

    /// Tracks an action, such as `track("Product Added", { product_id: "sku-1", price: 19.99 })`.
    #[wasm_bindgen]
    pub fn track(
        #[wasm_bindgen(unchecked_param_type = "string")] event: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")]
        properties: JsValue,
    ) {
        let name = event.as_string().unwrap_or_default();
        let json = object_json(&properties);
        runtime::call(move |rt, n| match json {
            Some(p) => rt.track(&name, &p, n),
            None => bad_object(rt, n),
        });
    }

    /// Ties this device to a user and records traits: `identify(userId, traits)`,
    /// `identify(traits)` or `identify(userId)`. Traits merge into those already known.
    #[wasm_bindgen]
    pub fn identify(
        #[wasm_bindgen(js_name = userId, unchecked_optional_param_type = "string | Record<string, unknown>")]
        user_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] traits: JsValue,
    ) {
        let (user_id, traits) = if user_id.is_object() {
            (JsValue::UNDEFINED, user_id)
        } else {
            (user_id, traits)
        };
        let traits = match (
            traits.is_undefined() || traits.is_null(),
            object_json(&traits),
        ) {
            (true, _) => None,
            (false, Some(t)) => Some(t),
            (false, None) => return runtime::call(bad_object),
        };
        let uid = opt_string(&user_id);
        runtime::call(move |rt, n| rt.identify(uid, traits, n));
    }

    /// Merges a previous identity into `userId`: `alias(userId, previousId?)`; the previous id
    /// defaults to the current user id, else the anonymous id.
    #[wasm_bindgen]
    pub fn alias(
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
        #[wasm_bindgen(js_name = previousId, unchecked_optional_param_type = "string")]
        previous_id: JsValue,
    ) {
        let uid = opt_string(&user_id).unwrap_or_default();
        let prev = opt_string(&previous_id);
        runtime::call(move |rt, n| rt.alias(uid, prev, n));
    }

    /// Forgets the user id and traits and starts a new anonymous id and session
    /// (for example on logout).
    #[wasm_bindgen]
    pub fn reset() {
        runtime::call(|rt, _| rt.reset());
    }

    /// Sends everything queued now. Resolves `true` once delivered, `false` if delivery is
    /// failing (the events stay queued and are retried) or a batch was refused.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn flush() -> Promise {
        let mut resolve = None;
        let p = Promise::new(&mut |res: Function, _rej: Function| resolve = Some(res));
        if let Some(res) = resolve {
            runtime::call(move |rt, n| rt.flush(res, n));
        }
        p
    }

    /// The anonymous id of this device (`undefined` before `init`).
    #[wasm_bindgen(js_name = anonymousId)]
    pub fn anonymous_id() -> Option<String> {
        runtime::read(|rt| rt.anonymous_id())
    }

    /// The user id set by `identify` or `alias`, if any.
    #[wasm_bindgen(js_name = userId)]
    pub fn user_id() -> Option<String> {
        runtime::read(|rt| rt.user_id()).flatten()
    }

    /// The current session id: the Unix time in ms at which the session started.
    #[wasm_bindgen(js_name = sessionId)]
    pub fn session_id() -> Option<f64> {
        runtime::read(|rt| rt.session_id() as f64)
    }

    /// Adds a listener: `event` (each accepted event), `delivered` ({ count }) or `error`.
    #[wasm_bindgen]
    pub fn on(
        #[wasm_bindgen(unchecked_param_type = "ShoptrailEventName")] name: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "(payload: ShoptrailEvents[ShoptrailEventName]) => void"
        )]
        callback: JsValue,
    ) {
        let name = name.as_string().unwrap_or_default();
        if let Ok(f) = callback.dyn_into::<Function>() {
            runtime::call(move |rt, n| rt.on(name, f, n));
        }
    }

    /// Removes a listener added with `on`.
    #[wasm_bindgen]
    pub fn off(
        #[wasm_bindgen(unchecked_param_type = "ShoptrailEventName")] name: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "(payload: ShoptrailEvents[ShoptrailEventName]) => void"
        )]
        callback: JsValue,
    ) {
        let name = name.as_string().unwrap_or_default();
        if let Ok(f) = callback.dyn_into::<Function>() {
            runtime::call(move |rt, _| rt.off(&name, &f));
        }
    }

    // ---- commerce: Segment e-commerce spec v2 ----

    use crate::browser::capture;
    use crate::browser::shop::Step;

    fn product_or_report(v: &JsValue) -> Option<crate::core::commerce::ProductInput> {
        if capture::is_plain_object(v) {
            Some(capture::product_input(v))
        } else {
            runtime::call(|rt, n| {
                rt.report(
                    "invalid_argument",
                    "the product must be an object such as { product_id: \"sku-1\", price: 19.99 }",
                    n,
                )
            });
            None
        }
    }

    fn props_or_report(v: &JsValue) -> Option<String> {
        let p = capture::props_json(v);
        if p.is_none() {
            runtime::call(bad_object);
        }
        p
    }

    /// For the script-tag loader: a click on `data-shoptrail` markup that happened while the
    /// wasm was still loading, replayed once `init` has run.
    #[wasm_bindgen(js_name = __markup, skip_typescript)]
    pub fn markup_click(target: JsValue) {
        if let Some(m) = capture::markup_for_target(&target) {
            runtime::call(move |rt, n| {
                if rt.capture_markup() {
                    rt.on_markup(m, n)
                }
            });
        }
    }

    /// The shopper's cart: `shoptrail.cart.add(product, quantity?)` and the rest. The cart is
    /// kept in localStorage, shared by the site's tabs, with money in exact minor units.
    #[wasm_bindgen(js_name = cart)]
    #[derive(Debug)]
    pub struct CartApi;

    #[wasm_bindgen(js_class = cart)]
    impl CartApi {
        /// Adds a product (`product_id` or `sku` required; `price`, `currency`, `name`, `brand`,
        /// `category`, `variant`, `coupon`, `position`, `url`, `image_url`, and any other
        /// properties) and tracks Product Added. `quantity` defaults to the product's, else 1.
        pub fn add(
            #[wasm_bindgen(unchecked_param_type = "ShoptrailProduct")] product: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "number")] quantity: JsValue,
        ) {
            if let Some(p) = product_or_report(&product) {
                let q = capture::text(&quantity);
                runtime::call(move |rt, n| rt.cart_add(p, q, n));
            }
        }

        /// Removes `quantity` units (default: the whole line) and tracks Product Removed.
        /// `variant` is needed only when the cart holds several variants of the product.
        pub fn remove(
            #[wasm_bindgen(js_name = productId, unchecked_param_type = "string")]
            product_id: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "number")] quantity: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "string")] variant: JsValue,
        ) {
            let id = capture::text(&product_id).unwrap_or_default();
            let (q, v) = (capture::text(&quantity), capture::text(&variant));
            runtime::call(move |rt, n| rt.cart_remove(id, q, v, n));
        }

        /// Sets a line's quantity (0 removes it) and tracks Product Added or Removed for the
        /// difference. `variant` as for `remove`.
        pub fn update(
            #[wasm_bindgen(js_name = productId, unchecked_param_type = "string")]
            product_id: JsValue,
            #[wasm_bindgen(unchecked_param_type = "number")] quantity: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "string")] variant: JsValue,
        ) {
            let id = capture::text(&product_id).unwrap_or_default();
            let (q, v) = (capture::text(&quantity), capture::text(&variant));
            runtime::call(move |rt, n| rt.cart_update(id, q, v, n));
        }

        /// Empties the cart, tracking Product Removed for each line.
        pub fn clear() {
            runtime::call(|rt, n| rt.cart_clear(n));
        }

        /// Tracks Cart Viewed with the cart's products and value.
        pub fn view() {
            runtime::call(|rt, n| rt.cart_view(n));
        }

        /// The cart: `{ cart_id, products, value, currency }` (`undefined` before `init`).
        #[wasm_bindgen(unchecked_return_type = "ShoptrailCart | undefined")]
        pub fn get() -> JsValue {
            runtime::read(|rt| rt.cart_state())
                .and_then(|t| js_sys::JSON::parse(&t).ok())
                .unwrap_or(JsValue::UNDEFINED)
        }
    }

    /// Checkout steps: `shoptrail.checkout.start(props?)`, `.step(step, props?)`, `.payment(props?)`.
    #[wasm_bindgen(js_name = checkout)]
    #[derive(Debug)]
    pub struct CheckoutApi;

    #[wasm_bindgen(js_class = checkout)]
    impl CheckoutApi {
        /// Checkout Started with the cart's products and value (`order_id`, `shipping`, `tax`,
        /// `discount`, `coupon`, `currency` and other properties optional).
        pub fn start(
            #[wasm_bindgen(unchecked_optional_param_type = "ShoptrailOrder")] props: JsValue,
        ) {
            let order = capture::order_input(&props);
            runtime::call(move |rt, n| rt.checkout_start(order, n));
        }

        /// Checkout Step Viewed for step 1, 2, ...; with `{ completed: true }`, Checkout Step
        /// Completed. Other properties (`shipping_method`, `payment_method`) pass through.
        pub fn step(
            #[wasm_bindgen(unchecked_param_type = "number")] step: JsValue,
            #[wasm_bindgen(
                unchecked_optional_param_type = "Record<string, unknown> & { completed?: boolean }"
            )]
            props: JsValue,
        ) {
            let completed = js_sys::Reflect::get(&props, &"completed".into())
                .ok()
                .and_then(|v| v.as_bool())
                == Some(true);
            // `completed` picks the event; it is not a property of it.
            let props = if completed && capture::is_plain_object(&props) {
                let copy = Object::assign(&Object::new(), props.unchecked_ref());
                let _ = js_sys::Reflect::delete_property(&copy, &"completed".into());
                copy.into()
            } else {
                props
            };
            let Some(p) = props_or_report(&props) else {
                return;
            };
            let kind = if completed {
                Step::Completed
            } else {
                Step::Viewed
            };
            let step = capture::text(&step);
            runtime::call(move |rt, n| rt.checkout_step(step, p, kind, n));
        }

        /// Payment Info Entered (`step`, `shipping_method`, `payment_method`, ...).
        pub fn payment(
            #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")]
            props: JsValue,
        ) {
            if let Some(p) = props_or_report(&props) {
                runtime::call(move |rt, n| rt.checkout_payment(p, n));
            }
        }
    }

    /// Orders: `shoptrail.order.complete(order)`.
    #[wasm_bindgen(js_name = order)]
    #[derive(Debug)]
    pub struct OrderApi;

    #[wasm_bindgen(js_class = order)]
    impl OrderApi {
        /// Order Completed (`order_id` required) with the cart's products; revenue defaults to
        /// the cart's value and total to revenue + shipping + tax − discount. The cart then empties.
        pub fn complete(#[wasm_bindgen(unchecked_param_type = "ShoptrailOrder")] order: JsValue) {
            let order = capture::order_input(&order);
            runtime::call(move |rt, n| rt.order_complete(order, n));
        }
    }

    /// Coupons: `shoptrail.coupon.apply(code, props?)`, `.deny(code, props?)`, `.remove(code, props?)`.
    #[wasm_bindgen(js_name = coupon)]
    #[derive(Debug)]
    pub struct CouponApi;

    fn coupon_call(event: &'static str, code: JsValue, props: JsValue) {
        let code = capture::text(&code).unwrap_or_default();
        let Some(p) = props_or_report(&props) else {
            return;
        };
        let extra = (p.len() > 2).then_some(p);
        runtime::call(move |rt, n| rt.coupon(event, code, extra, n));
    }

    #[wasm_bindgen(js_class = coupon)]
    impl CouponApi {
        /// Coupon Applied (`discount`, `reason` and other properties optional).
        pub fn apply(
            #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")]
            props: JsValue,
        ) {
            coupon_call("Coupon Applied", code, props)
        }

        /// Coupon Denied (give the `reason`).
        pub fn deny(
            #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")]
            props: JsValue,
        ) {
            coupon_call("Coupon Denied", code, props)
        }

        /// Coupon Removed.
        pub fn remove(
            #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")]
            props: JsValue,
        ) {
            coupon_call("Coupon Removed", code, props)
        }
    }

    /// Single products: `shoptrail.product.view(product)`, `.click(product, list?)`.
    #[wasm_bindgen(js_name = product)]
    #[derive(Debug)]
    pub struct ProductApi;

    #[wasm_bindgen(js_class = product)]
    impl ProductApi {
        /// Product Viewed.
        pub fn view(#[wasm_bindgen(unchecked_param_type = "ShoptrailProduct")] product: JsValue) {
            if let Some(p) = product_or_report(&product) {
                runtime::call(move |rt, n| rt.product("Product Viewed", p, None, n));
            }
        }

        /// Product Clicked, with the `list_id` it was clicked in.
        pub fn click(
            #[wasm_bindgen(unchecked_param_type = "ShoptrailProduct")] product: JsValue,
            #[wasm_bindgen(unchecked_optional_param_type = "string")] list: JsValue,
        ) {
            if let Some(p) = product_or_report(&product) {
                let list = capture::text(&list);
                runtime::call(move |rt, n| rt.product("Product Clicked", p, list, n));
            }
        }
    }

    /// Search: `shoptrail.products.searched(query)`.
    #[wasm_bindgen(js_name = products)]
    #[derive(Debug)]
    pub struct ProductsApi;

    #[wasm_bindgen(js_class = products)]
    impl ProductsApi {
        /// Products Searched.
        pub fn searched(#[wasm_bindgen(unchecked_param_type = "string")] query: JsValue) {
            let q = capture::text(&query).unwrap_or_default();
            runtime::call(move |rt, n| rt.searched(q, n));
        }
    }

    /// Lists: `shoptrail.productList.viewed({ list_id, category, products })`.
    #[wasm_bindgen(js_name = productList)]
    #[derive(Debug)]
    pub struct ProductListApi;

    #[wasm_bindgen(js_class = productList)]
    impl ProductListApi {
        /// Product List Viewed.
        pub fn viewed(
            #[wasm_bindgen(
                unchecked_param_type = "{ list_id?: string; category?: string; products: ShoptrailProduct[] }"
            )]
            list: JsValue,
        ) {
            let get =
                |k: &str| js_sys::Reflect::get(&list, &k.into()).unwrap_or(JsValue::UNDEFINED);
            let products = get("products");
            if !capture::is_plain_object(&list) || !js_sys::Array::is_array(&products) {
                return runtime::call(|rt, n| {
                    rt.report("invalid_argument", "productList.viewed(list): list must be { list_id, category, products: [...] }", n)
                });
            }
            let items: Vec<_> = js_sys::Array::from(&products)
                .iter()
                .map(|p| capture::product_input(&p))
                .collect();
            let (id, cat) = (
                capture::text(&get("list_id")),
                capture::text(&get("category")),
            );
            runtime::call(move |rt, n| rt.list_viewed(id, cat, items, n));
        }
    }
}
