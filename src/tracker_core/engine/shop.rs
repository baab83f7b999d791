//! The commerce calls: the persisted cart and the Segment e-commerce v2 events they give.
//!
//! [`Shop`] is the narrow handle the engine lends to them: the storage port (the cart is read
//! before every change and written after it, so every tab sees one cart) and new ids. It
//! returns the events to track; the engine tracks them.

use super::{Host, Port};
use crate::prelude::*;
use crate::tracker_core::args::Markup;
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::commerce::{
    self, Cart, Change, CommerceError, Line, OrderInput, ProductInput,
};
use crate::tracker_core::{id, json, store};

/// An event to track: its name and properties (JSON object text).
pub type Tracked = (&'static str, String);

/// What a call gives: events to track, or an error to report (code, message).
pub type ShopResult = Result<Vec<Tracked>, (ErrorCode, String)>;

fn failed(e: CommerceError) -> (ErrorCode, String) {
    (e.code(), e.describe())
}

/// What `checkout.step` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Checkout Step Viewed.
    Viewed,
    /// Checkout Step Completed.
    Completed,
}

/// The cart's access to storage and ids.
#[derive(Debug)]
pub struct Shop<'a, H: Host> {
    store: &'a mut Port<H>,
}

impl<'a, H: Host> Shop<'a, H> {
    /// A handle on `store`.
    pub fn new(store: &'a mut Port<H>) -> Shop<'a, H> {
        Shop { store }
    }

    fn new_id(&self) -> String {
        id::uuid_v4(self.store.backend().random())
    }

    /// The stored cart, or a new one, saved at once so that its id stays the same on every
    /// event until the order completes or `reset()`.
    fn load(&mut self) -> Cart {
        match self.store.get(store::K_CART).and_then(|t| Cart::decode(&t)) {
            Some(c) => c,
            None => {
                let cart = Cart::new(self.new_id());
                self.save(&cart);
                cart
            }
        }
    }

    fn save(&mut self, cart: &Cart) {
        self.store.set(store::K_CART, &cart.encode());
    }

    /// The cart as `cart.get()` returns it: Cart Viewed's properties.
    pub fn state(&self) -> String {
        let cart = self.store.get(store::K_CART).and_then(|t| Cart::decode(&t));
        commerce::cart_properties(&cart.unwrap_or_else(|| Cart::new("")))
    }

    /// One cart change: load the cart, apply it, and on success save it and give the Product
    /// Added or Removed it makes; on error the saved cart stays as it was.
    fn change(
        &mut self,
        apply: impl FnOnce(&mut Cart) -> Result<Option<(Change, Line)>, CommerceError>,
    ) -> ShopResult {
        let mut cart = self.load();
        match apply(&mut cart).map_err(failed)? {
            Some((change, line)) => {
                self.save(&cart);
                let name = match change {
                    Change::Added => "Product Added",
                    Change::Removed => "Product Removed",
                };
                Ok(vec![(
                    name,
                    commerce::product_properties(&line, Some(cart.cart_id())),
                )])
            }
            None => Ok(Vec::new()),
        }
    }

    /// `cart.add(product, quantity?)`: Product Added (quantity: the argument, the product's,
    /// else 1).
    pub fn add(&mut self, input: ProductInput, quantity: Option<String>) -> ShopResult {
        let quantity = quantity.or_else(|| input.quantity.clone());
        self.change(|cart| {
            let q = commerce::parse_quantity(quantity.as_deref())?;
            let product = commerce::Product::parse(&input, cart.currency())?;
            Ok(Some((Change::Added, cart.add(product, q)?)))
        })
    }

    /// `cart.remove(productId, quantity?, variant?)`: Product Removed (the whole line when no
    /// quantity).
    pub fn remove(
        &mut self,
        product_id: &str,
        quantity: Option<String>,
        variant: Option<String>,
    ) -> ShopResult {
        self.change(|cart| {
            let q = match &quantity {
                None => None,
                Some(q) => Some(commerce::parse_quantity(Some(q))?),
            };
            Ok(Some((
                Change::Removed,
                cart.remove(product_id, variant.as_deref(), q)?,
            )))
        })
    }

    /// `cart.update(productId, quantity, variant?)`: Product Added or Removed for the
    /// difference; 0 removes the line.
    pub fn update(
        &mut self,
        product_id: &str,
        quantity: Option<String>,
        variant: Option<String>,
    ) -> ShopResult {
        self.change(|cart| {
            let q = match quantity.as_deref().map(str::trim) {
                Some("0") => 0,
                Some(q) if !q.is_empty() => commerce::parse_quantity(Some(q))?,
                _ => return Err(CommerceError::BadQuantity),
            };
            cart.update(product_id, variant.as_deref(), q)
        })
    }

    /// `cart.clear()`: Product Removed for each line.
    pub fn clear(&mut self) -> ShopResult {
        let mut cart = self.load();
        let removed = cart.clear();
        self.save(&cart);
        Ok(removed
            .iter()
            .map(|l| {
                (
                    "Product Removed",
                    commerce::product_properties(l, Some(cart.cart_id())),
                )
            })
            .collect())
    }

    /// `cart.view()`: Cart Viewed.
    pub fn view(&mut self) -> ShopResult {
        let cart = self.load();
        Ok(vec![("Cart Viewed", commerce::cart_properties(&cart))])
    }

    /// `{"cart_id":"…"` then the members of `props` (JSON object text).
    fn with_cart_id(&mut self, props: &str) -> String {
        let cart = self.load();
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

    /// `checkout.start(props?)`: Checkout Started with the cart.
    pub fn checkout_start(&mut self, order: &OrderInput) -> ShopResult {
        let cart = self.load();
        let p = commerce::checkout_properties(&cart, order).map_err(failed)?;
        Ok(vec![("Checkout Started", p)])
    }

    /// `checkout.step(step, props?)`: Checkout Step Viewed, or Completed.
    pub fn checkout_step(&mut self, step: Option<String>, props: &str, kind: Step) -> ShopResult {
        let step = step.filter(|s| {
            !s.is_empty() && s.len() < 6 && s.bytes().all(|b| b.is_ascii_digit()) && s != "0"
        });
        let Some(step) = step else {
            return Err((
                ErrorCode::InvalidArgument,
                "checkout.step(step, props): step must be a positive whole number".into(),
            ));
        };
        let mut p = self.with_cart_id(props);
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
        Ok(vec![(name, p)])
    }

    /// `checkout.payment(props?)`: Payment Info Entered.
    pub fn payment(&mut self, props: &str) -> ShopResult {
        Ok(vec![("Payment Info Entered", self.with_cart_id(props))])
    }

    /// `order.complete(order)`: Order Completed with the cart's products; the cart then
    /// empties and a new cart id starts.
    pub fn order_complete(&mut self, order: &OrderInput) -> ShopResult {
        let cart = self.load();
        let p = commerce::order_properties(&cart, order).map_err(failed)?;
        let fresh = Cart::new(self.new_id());
        self.save(&fresh);
        Ok(vec![("Order Completed", p)])
    }

    /// `coupon.apply/deny/remove(code, props?)`.
    pub fn coupon(&mut self, event: &'static str, code: &str, extra: Option<&str>) -> ShopResult {
        let cart = self.load();
        let p = commerce::coupon_properties(code, Some(cart.cart_id()), extra).map_err(failed)?;
        Ok(vec![(event, p)])
    }

    /// A product viewed or clicked, not held: a quantity only when the caller gave one.
    fn product_line(&mut self, input: &ProductInput) -> Result<(Line, Cart), CommerceError> {
        let cart = self.load();
        let mut line = Line::from_input(input, cart.currency())?;
        if input.quantity.is_none() {
            line.quantity = 0;
        }
        Ok((line, cart))
    }

    /// `product.view(product)` and `product.click(product, list?)`.
    pub fn product(
        &mut self,
        event: &'static str,
        input: &ProductInput,
        list: Option<&str>,
    ) -> ShopResult {
        let (line, cart) = self.product_line(input).map_err(failed)?;
        let mut p = commerce::product_properties(&line, Some(cart.cart_id()));
        if let Some(list) = list {
            p.pop();
            json::push_key(&mut p, "list_id", false);
            json::push_str(&mut p, list);
            p.push('}');
        }
        Ok(vec![(event, p)])
    }

    /// `products.searched(query)`: Products Searched.
    pub fn searched(&mut self, query: &str) -> ShopResult {
        let mut p = String::from("{");
        json::push_key(&mut p, "query", true);
        json::push_str(&mut p, query);
        p.push('}');
        Ok(vec![("Products Searched", p)])
    }

    /// `productList.viewed(list)`: Product List Viewed with `list_id`, `category`, products.
    pub fn list_viewed(
        &mut self,
        list_id: Option<String>,
        category: Option<String>,
        products: &[ProductInput],
    ) -> ShopResult {
        let cart = self.load();
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
            let mut line = Line::from_input(input, cart.currency()).map_err(failed)?;
            if input.quantity.is_none() {
                line.quantity = 0;
            }
            if i > 0 {
                p.push(',');
            }
            p.push_str(&commerce::product_properties(&line, None));
        }
        p.push_str("]}");
        Ok(vec![("Product List Viewed", p)])
    }

    /// A `data-shoptrail` element acted on.
    pub fn markup(&mut self, m: Markup) -> ShopResult {
        match m {
            Markup::Add(p) => self.add(p, None),
            Markup::Remove(p) => {
                let id = p
                    .product_id
                    .clone()
                    .or_else(|| p.sku.clone())
                    .unwrap_or_default();
                self.remove(&id, p.quantity, p.variant)
            }
            Markup::View(p) => self.product("Product Viewed", &p, None),
            Markup::Click(p, list) => self.product("Product Clicked", &p, list.as_deref()),
            Markup::Checkout(o) => self.checkout_start(&o),
            Markup::Order(o) => self.order_complete(&o),
            Markup::Invalid(message) => Err((ErrorCode::InvalidMarkup, message.into())),
        }
    }
}
