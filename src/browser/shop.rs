//! The commerce calls of the runtime: the persisted cart and the Segment e-commerce v2 events.
//! The cart is read from storage before every change and written after it, so every tab of the
//! site sees one cart.

use super::capture::{self, Markup};
use super::runtime::{Notices, Runtime};
use crate::core::commerce::{self, Cart, Change, CommerceError, Line, OrderInput, ProductInput};
use crate::core::json;

/// Where the cart is kept (cleared by `reset()`: a cart id would link the two identities).
pub(crate) const K_CART: &str = "shoptrail:cart";

/// A change to the cart: the Product Added or Removed it gives, or nothing.
type CartChange<'a> = &'a mut dyn FnMut(&mut Cart) -> Result<Option<(Change, Line)>, CommerceError>;

/// What `checkout.step` records.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Checkout Step Viewed.
    Viewed,
    /// Checkout Step Completed.
    Completed,
}

impl Runtime {
    /// The stored cart, or a new one, saved at once so that its id stays the same on every
    /// event until the order completes or `reset()`.
    fn load_cart(&mut self) -> Cart {
        match self.store().get(K_CART).and_then(|t| Cart::decode(&t)) {
            Some(c) => c,
            None => {
                let cart = Cart::new(self.new_id());
                self.save_cart(&cart);
                cart
            }
        }
    }

    /// `{"cart_id":"…"` then the members of `props` (JSON object text).
    fn with_cart_id(&mut self, props: &str) -> String {
        let cart = self.load_cart();
        let mut p = String::from("{");
        json::push_key(&mut p, "cart_id", true);
        json::push_str(&mut p, cart.cart_id());
        if props.len() > 2 {
            p.push(',');
            p.push_str(props.get(1..).unwrap_or("}"));
        } else {
            p.push('}');
        }
        p
    }

    /// `checkout.payment(props?)`: Payment Info Entered.
    pub fn checkout_payment(&mut self, props: String, notices: &mut Notices) {
        let p = self.with_cart_id(&props);
        self.track("Payment Info Entered", &p, notices);
    }

    fn save_cart(&self, cart: &Cart) {
        self.store().set(K_CART, &cart.encode());
    }

    fn commerce_error(&mut self, e: CommerceError, notices: &mut Notices) {
        self.report(e.code(), &e.describe(), notices);
    }

    /// The cart as `cart.get()` returns it: Cart Viewed's properties.
    pub fn cart_state(&self) -> String {
        let cart = self.store().get(K_CART).and_then(|t| Cart::decode(&t));
        commerce::cart_properties(&cart.unwrap_or_else(|| Cart::new("")))
    }

    fn product_event(&mut self, name: &str, line: &Line, cart_id: &str, notices: &mut Notices) {
        let props = commerce::product_properties(line, Some(cart_id));
        self.track(name, &props, notices);
    }

    /// One cart change: load the cart, `apply` the change, and on success save it and track the
    /// Product Added or Removed it gives; on error report it (the saved cart stays as it was).
    fn change_cart(&mut self, notices: &mut Notices, apply: CartChange) {
        let mut cart = self.load_cart();
        match apply(&mut cart) {
            Ok(Some((change, line))) => {
                self.save_cart(&cart);
                let name = match change {
                    Change::Added => "Product Added",
                    Change::Removed => "Product Removed",
                };
                self.product_event(name, &line, cart.cart_id(), notices);
            }
            Ok(None) => {}
            Err(e) => self.commerce_error(e, notices),
        }
    }

    /// `cart.add(product, quantity?)`: Product Added.
    pub fn cart_add(
        &mut self,
        input: ProductInput,
        quantity: Option<String>,
        notices: &mut Notices,
    ) {
        let quantity = quantity.or_else(|| input.quantity.clone());
        self.change_cart(notices, &mut |cart| {
            let q = commerce::parse_quantity(quantity.as_deref())?;
            let product = commerce::Product::parse(&input, cart.currency())?;
            Ok(Some((Change::Added, cart.add(product, q)?)))
        });
    }

    /// `cart.remove(productId, quantity?, variant?)`: Product Removed. The variant is needed
    /// only when the cart holds several variants of the product.
    pub fn cart_remove(
        &mut self,
        product_id: String,
        quantity: Option<String>,
        variant: Option<String>,
        notices: &mut Notices,
    ) {
        self.change_cart(notices, &mut |cart| {
            let q = match &quantity {
                None => None,
                Some(q) => Some(commerce::parse_quantity(Some(q))?),
            };
            Ok(Some((
                Change::Removed,
                cart.remove(&product_id, variant.as_deref(), q)?,
            )))
        });
    }

    /// `cart.update(productId, quantity, variant?)`: Product Added or Removed for the difference.
    pub fn cart_update(
        &mut self,
        product_id: String,
        quantity: Option<String>,
        variant: Option<String>,
        notices: &mut Notices,
    ) {
        self.change_cart(notices, &mut |cart| {
            let q = match quantity.as_deref().map(str::trim) {
                Some("0") => 0,
                Some(q) if !q.is_empty() => commerce::parse_quantity(Some(q))?,
                _ => return Err(CommerceError::BadQuantity),
            };
            cart.update(&product_id, variant.as_deref(), q)
        });
    }

    /// `cart.clear()`: Product Removed for each line.
    pub fn cart_clear(&mut self, notices: &mut Notices) {
        let mut cart = self.load_cart();
        let removed = cart.clear();
        self.save_cart(&cart);
        for line in &removed {
            self.product_event("Product Removed", line, cart.cart_id(), notices);
        }
    }

    /// `cart.view()`: Cart Viewed.
    pub fn cart_view(&mut self, notices: &mut Notices) {
        let cart = self.load_cart();
        self.save_cart(&cart);
        self.track("Cart Viewed", &commerce::cart_properties(&cart), notices);
    }

    /// `checkout.start(props?)`: Checkout Started with the cart.
    pub fn checkout_start(&mut self, order: OrderInput, notices: &mut Notices) {
        let cart = self.load_cart();
        match commerce::checkout_properties(&cart, &order) {
            Ok(p) => self.track("Checkout Started", &p, notices),
            Err(e) => self.commerce_error(e, notices),
        }
    }

    /// `checkout.step(step, props?)`: Checkout Step Viewed, or Completed with `completed: true`.
    pub fn checkout_step(
        &mut self,
        step: Option<String>,
        props: String,
        kind: Step,
        notices: &mut Notices,
    ) {
        let step = step.filter(|s| {
            !s.is_empty() && s.len() < 6 && s.bytes().all(|b| b.is_ascii_digit()) && s != "0"
        });
        let Some(step) = step else {
            return self.report(
                "invalid_argument",
                "checkout.step(step, props): step must be a positive whole number",
                notices,
            );
        };
        let mut p = self.with_cart_id(&props);
        p.pop();
        if p.len() > 1 {
            p.push(',');
        }
        p.push_str("\"step\":");
        p.push_str(step.trim_start_matches('0'));
        p.push('}');
        let name = match kind {
            Step::Viewed => "Checkout Step Viewed",
            Step::Completed => "Checkout Step Completed",
        };
        self.track(name, &p, notices);
    }

    /// `order.complete(order)`: Order Completed with the cart's products; the cart then empties
    /// and a new cart id starts.
    pub fn order_complete(&mut self, order: OrderInput, notices: &mut Notices) {
        let cart = self.load_cart();
        match commerce::order_properties(&cart, &order) {
            Ok(p) => {
                self.track("Order Completed", &p, notices);
                let fresh = Cart::new(self.new_id());
                self.save_cart(&fresh);
            }
            Err(e) => self.commerce_error(e, notices),
        }
    }

    /// `coupon.apply/deny/remove(code, props?)`: Coupon Applied, Denied or Removed.
    pub fn coupon(
        &mut self,
        event: &str,
        code: String,
        extra: Option<String>,
        notices: &mut Notices,
    ) {
        let cart = self.load_cart();
        match commerce::coupon_properties(&code, Some(cart.cart_id()), extra.as_deref()) {
            Ok(p) => self.track(event, &p, notices),
            Err(e) => self.commerce_error(e, notices),
        }
    }

    /// `product.view(product)` and `product.click(product, list?)`.
    pub fn product(
        &mut self,
        event: &str,
        input: ProductInput,
        list: Option<String>,
        notices: &mut Notices,
    ) {
        let cart = self.load_cart();
        match Line::from_input(&input, cart.currency()) {
            Ok(mut line) => {
                // Viewed or clicked, not held: a quantity only when the caller gave one.
                if input.quantity.is_none() {
                    line.quantity = 0;
                }
                let mut p = commerce::product_properties(&line, Some(cart.cart_id()));
                if let Some(list) = list {
                    p.pop();
                    json::push_key(&mut p, "list_id", false);
                    json::push_str(&mut p, &list);
                    p.push('}');
                }
                self.track(event, &p, notices);
            }
            Err(e) => self.commerce_error(e, notices),
        }
    }

    /// `products.searched(query)`: Products Searched.
    pub fn searched(&mut self, query: String, notices: &mut Notices) {
        let mut p = String::from("{");
        json::push_key(&mut p, "query", true);
        json::push_str(&mut p, &query);
        p.push('}');
        self.track("Products Searched", &p, notices);
    }

    /// `productList.viewed(list)`: Product List Viewed with `list_id`, `category` and products.
    pub fn list_viewed(
        &mut self,
        list_id: Option<String>,
        category: Option<String>,
        products: Vec<ProductInput>,
        notices: &mut Notices,
    ) {
        let cart = self.load_cart();
        let mut p = String::from("{");
        let mut first = true;
        for (k, v) in [("list_id", &list_id), ("category", &category)] {
            if let Some(v) = v {
                json::push_key(&mut p, k, first);
                json::push_str(&mut p, v);
                first = false;
            }
        }
        json::push_key(&mut p, "products", first);
        p.push('[');
        for (i, input) in products.iter().enumerate() {
            match Line::from_input(input, cart.currency()) {
                Ok(mut line) => {
                    if input.quantity.is_none() {
                        line.quantity = 0;
                    }
                    if i > 0 {
                        p.push(',');
                    }
                    p.push_str(&commerce::product_properties(&line, None));
                }
                Err(e) => return self.commerce_error(e, notices),
            }
        }
        p.push_str("]}");
        self.track("Product List Viewed", &p, notices);
    }

    /// A click on `data-shoptrail` markup.
    pub fn on_markup(&mut self, m: Markup, notices: &mut Notices) {
        match m {
            Markup::Add(p) => self.cart_add(p, None, notices),
            Markup::Remove(p) => {
                let id = p
                    .product_id
                    .clone()
                    .or_else(|| p.sku.clone())
                    .unwrap_or_default();
                self.cart_remove(id, p.quantity, p.variant, notices)
            }
            Markup::View(p) => self.product("Product Viewed", p, None, notices),
            Markup::Click(p, list) => self.product("Product Clicked", p, list, notices),
            Markup::Checkout(o) => self.checkout_start(o, notices),
            Markup::Order(o) => self.order_complete(o, notices),
            Markup::Invalid(message) => self.report("invalid_markup", message, notices),
        }
    }

    /// Reads the page: `data-shoptrail="view"` elements, then schema.org Product JSON-LD for
    /// products no markup already reported. Each gives Product Viewed, once per page view. Runs
    /// when the DOM is parsed and again shortly after each in-app navigation; a product that the
    /// previous page view already reported is skipped then, since a single-page app may not
    /// have replaced the old page's markup yet.
    pub fn scan_page(&mut self, notices: &mut Notices) {
        let mut found: Vec<(String, Option<Markup>, Option<ProductInput>)> = Vec::new();
        if self.capture_markup() {
            for m in capture::markup_views() {
                let id = match &m {
                    Markup::View(p) => p
                        .product_id
                        .clone()
                        .or_else(|| p.sku.clone())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                found.push((id, Some(m), None));
            }
        }
        if self.capture_jsonld() {
            for p in capture::jsonld_products() {
                let id = p
                    .product_id
                    .clone()
                    .or_else(|| p.sku.clone())
                    .unwrap_or_default();
                found.push((id, None, Some(p)));
            }
        }
        for (id, markup, product) in found {
            if !self.first_view_of(&id) {
                continue;
            }
            match (markup, product) {
                (Some(m), _) => self.on_markup(m, notices),
                (None, Some(p)) => self.product("Product Viewed", p, None, notices),
                _ => {}
            }
        }
    }
}
