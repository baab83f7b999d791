//! The cart: lines of one currency, each a distinct product id and variant, changed whole or
//! not at all. Its persisted form is in [`codec`](super::codec), its payloads in
//! [`payload`](super::payload).

use super::{CommerceError, Line, Product, MAX_LINES, MAX_QUANTITY};
use crate::prelude::*;
use crate::tracker_core::money::Currency;

/// Which way a [`Cart::update`] moved a line's quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Units were added (`Product Added`).
    Added,
    /// Units were removed (`Product Removed`).
    Removed,
}

/// A shopping cart: lines of one currency, each a distinct product id and variant.
///
/// Every change is checked first and applied whole: on error the cart is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub(super) cart_id: String,
    pub(super) currency: Option<Currency>,
    pub(super) lines: Vec<Line>,
}

impl Cart {
    /// An empty cart with no currency yet.
    pub fn new(cart_id: impl Into<String>) -> Cart {
        Cart {
            cart_id: cart_id.into(),
            currency: None,
            lines: Vec::new(),
        }
    }

    /// The cart id.
    pub fn cart_id(&self) -> &str {
        &self.cart_id
    }

    /// The currency of the lines, or of the last lines held, or the one set.
    pub fn currency(&self) -> Option<Currency> {
        self.currency
    }

    /// Sets the currency that products without one take. Refused while the cart holds
    /// products in another currency.
    pub fn set_currency(&mut self, currency: Currency) -> Result<(), CommerceError> {
        match self.currency {
            Some(cart) if cart != currency && !self.lines.is_empty() => {
                Err(CommerceError::CurrencyMismatch {
                    product: currency,
                    cart,
                })
            }
            _ => {
                self.currency = Some(currency);
                Ok(())
            }
        }
    }

    /// The lines, in the order they were first added.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the cart holds nothing.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The line for `product_id` and `variant` (see [`Cart::remove`] for how a missing variant
    /// is matched).
    pub fn get(&self, product_id: &str, variant: Option<&str>) -> Option<&Line> {
        self.find(product_id, variant)
            .ok()
            .and_then(|i| self.lines.get(i))
    }

    /// Units held, over all lines.
    pub fn quantity(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// Σ price × quantity, in minor units of [`Cart::currency`]. Every change checks that it
    /// fits, so this is exact.
    pub fn value_minor(&self) -> i64 {
        self.lines.iter().fold(0i64, |acc, l| {
            acc.saturating_add(l.value_minor().unwrap_or(i64::MAX))
        })
    }

    /// Index of the line for `product_id` and `variant`. Without a variant, the one line of
    /// `product_id` matches even when it has a variant.
    fn find(&self, product_id: &str, variant: Option<&str>) -> Result<usize, CommerceError> {
        let variant = variant.filter(|v| !v.is_empty());
        if let Some(i) = self
            .lines
            .iter()
            .position(|l| l.product.is(product_id, variant))
        {
            return Ok(i);
        }
        if variant.is_some() {
            return Err(CommerceError::NotInCart);
        }
        let mut same_id = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.product.product_id == product_id)
            .map(|(i, _)| i);
        match (same_id.next(), same_id.next()) {
            (Some(i), None) => Ok(i),
            (Some(_), Some(_)) => Err(CommerceError::AmbiguousVariant),
            _ => Err(CommerceError::NotInCart),
        }
    }

    /// The cart's value with line `skip` left out and `line` added, if it fits.
    fn value_with(&self, skip: Option<usize>, line: &Line) -> Option<i64> {
        self.lines
            .iter()
            .enumerate()
            .filter(|&(i, _)| Some(i) != skip)
            .try_fold(0i64, |acc, (_, l)| acc.checked_add(l.value_minor()?))?
            .checked_add(line.value_minor()?)
    }

    /// Adds `quantity` units of `product`, merging with the line of the same product id and
    /// variant (whose product details are replaced by these). An empty cart takes the
    /// product's currency. Returns what was added: the product with `quantity`.
    pub fn add(&mut self, product: Product, quantity: u32) -> Result<Line, CommerceError> {
        if quantity == 0 || quantity > MAX_QUANTITY {
            return Err(CommerceError::BadQuantity);
        }
        if let Some(cart) = self.currency.filter(|_| !self.lines.is_empty()) {
            if product.currency != cart {
                return Err(CommerceError::CurrencyMismatch {
                    product: product.currency,
                    cart,
                });
            }
        }
        let index = self.lines.iter().position(|l| {
            l.product
                .is(&product.product_id, product.variant.as_deref())
        });
        let held = index
            .and_then(|i| self.lines.get(i))
            .map_or(0, |l| l.quantity);
        let total = held
            .checked_add(quantity)
            .filter(|&q| q <= MAX_QUANTITY)
            .ok_or(CommerceError::LineQuantityTooLarge)?;
        if index.is_none() && self.lines.len() >= MAX_LINES {
            return Err(CommerceError::CartFull);
        }
        let added = Line { product, quantity };
        let line = Line {
            product: added.product.clone(),
            quantity: total,
        };
        if self.value_with(index, &line).is_none() {
            return Err(CommerceError::ValueTooLarge);
        }
        self.currency = Some(line.product.currency);
        match index.and_then(|i| self.lines.get_mut(i)) {
            Some(slot) => *slot = line,
            None => self.lines.push(line),
        }
        Ok(added)
    }

    /// Removes `quantity` units (all of them when `None`) of the line for `product_id` and
    /// `variant`. Without a variant, the one line of `product_id` matches whatever its variant.
    /// Returns what was removed.
    pub fn remove(
        &mut self,
        product_id: &str,
        variant: Option<&str>,
        quantity: Option<u32>,
    ) -> Result<Line, CommerceError> {
        let i = self.find(product_id, variant)?;
        let held = self.lines.get(i).map_or(0, |l| l.quantity);
        let take = quantity.unwrap_or(held);
        if take == 0 {
            return Err(CommerceError::BadQuantity);
        }
        if take > held {
            return Err(CommerceError::RemoveMoreThanHeld);
        }
        self.take(i, take).ok_or(CommerceError::NotInCart)
    }

    /// Takes `count` units (at most what it holds) from line `i`, removing it when emptied.
    fn take(&mut self, i: usize, count: u32) -> Option<Line> {
        let line = self.lines.get_mut(i)?;
        if count >= line.quantity {
            return Some(self.lines.remove(i));
        }
        line.quantity -= count;
        Some(Line {
            product: line.product.clone(),
            quantity: count,
        })
    }

    /// Sets the quantity of the line for `product_id` and `variant`; 0 removes the line.
    /// Returns the change as a delta, or `None` when the quantity was already `quantity`.
    pub fn update(
        &mut self,
        product_id: &str,
        variant: Option<&str>,
        quantity: u32,
    ) -> Result<Option<(Change, Line)>, CommerceError> {
        if quantity > MAX_QUANTITY {
            return Err(CommerceError::BadQuantity);
        }
        let i = self.find(product_id, variant)?;
        let Some(line) = self.lines.get(i) else {
            return Err(CommerceError::NotInCart);
        };
        let held = line.quantity;
        if quantity == held {
            return Ok(None);
        }
        if quantity < held {
            let removed = self
                .take(i, held - quantity)
                .ok_or(CommerceError::NotInCart)?;
            return Ok(Some((Change::Removed, removed)));
        }
        let grown = Line {
            product: line.product.clone(),
            quantity,
        };
        if self.value_with(Some(i), &grown).is_none() {
            return Err(CommerceError::ValueTooLarge);
        }
        let added = Line {
            product: grown.product.clone(),
            quantity: quantity - held,
        };
        if let Some(slot) = self.lines.get_mut(i) {
            *slot = grown;
        }
        Ok(Some((Change::Added, added)))
    }

    /// Empties the cart (keeping its id and currency) and returns the lines it held.
    pub fn clear(&mut self) -> Vec<Line> {
        core::mem::take(&mut self.lines)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::tracker_core::json;

    #[test]
    fn add_merges_lines_of_the_same_product_and_variant() {
        let mut cart = Cart::new("c-1");
        assert_eq!(cart.currency(), None);
        let added = cart.add(product("mug", "12.50"), 2).unwrap();
        assert_eq!((added.product.product_id(), added.quantity), ("mug", 2));
        assert_eq!(cart.currency(), Some(Currency::USD));
        let added = cart.add(product("mug", "12.50"), 3).unwrap();
        assert_eq!(added.quantity, 3);
        assert_eq!(cart.len(), 1);
        assert_eq!(cart.get("mug", None).unwrap().quantity, 5);
        cart.add(variant("tee", "20", "S"), 1).unwrap();
        cart.add(variant("tee", "20", "M"), 1).unwrap();
        cart.add(variant("tee", "20", "S"), 1).unwrap();
        assert_eq!(cart.len(), 3);
        assert_eq!(cart.get("tee", Some("S")).unwrap().quantity, 2);
        assert_eq!(cart.get("tee", Some("M")).unwrap().quantity, 1);
        assert!(cart.get("tee", None).is_none());
        assert_eq!(cart.quantity(), 8);
        assert_eq!(cart.value_minor(), 5 * 1250 + 3 * 2000);
        assert_eq!(cart.cart_id(), "c-1");
        assert!(!cart.is_empty());
        // Merging takes the newer details, including the price.
        cart.add(product("mug", "10"), 1).unwrap();
        assert_eq!(
            cart.get("mug", None).unwrap().product.price_minor(),
            Some(1000)
        );
        assert_eq!(cart.value_minor(), 6 * 1000 + 3 * 2000);
        assert_eq!(cart.lines()[0].product.product_id(), "mug");
    }

    #[test]
    fn add_errors_leave_the_cart_unchanged() {
        let mut cart = Cart::new("c");
        cart.add(product("mug", "12.50"), 9_999).unwrap();
        assert_eq!(
            unchanged(&mut cart, |c| c.add(product("tee", "1"), 0)),
            CommerceError::BadQuantity
        );
        assert_eq!(
            unchanged(&mut cart, |c| c.add(product("tee", "1"), 10_001)),
            CommerceError::BadQuantity
        );
        assert_eq!(
            unchanged(&mut cart, |c| c.add(product("mug", "12.50"), 2)),
            CommerceError::LineQuantityTooLarge
        );
        let err = unchanged(&mut cart, |c| c.add(in_cur("tee", "1", "EUR"), 1));
        assert_eq!(
            err.describe(),
            "a cart holds one currency: this product is in EUR but the cart is in USD"
        );
        assert_eq!(
            unchanged(&mut cart, |c| c
                .add(product("big", "900000000000000"), 10_000)),
            CommerceError::ValueTooLarge
        );
        for i in 1..MAX_LINES {
            let mut id = String::from("p");
            json::push_u64(&mut id, i as u64);
            cart.add(product(&id, "0.01"), 1).unwrap();
        }
        assert_eq!(
            unchanged(&mut cart, |c| c.add(product("one-more", "1"), 1)),
            CommerceError::CartFull
        );
        // A line already in a full cart can still grow.
        cart.add(product("p1", "0.01"), 1).unwrap();
    }

    #[test]
    fn an_empty_cart_takes_any_currency() {
        let mut cart = Cart::new("c");
        cart.add(in_cur("a", "1", "EUR"), 1).unwrap();
        cart.clear();
        assert_eq!(cart.currency().map(|c| c.exponent()), Some(2));
        cart.add(in_cur("b", "1000", "JPY"), 1).unwrap();
        assert_eq!(cart.currency().unwrap().code(), "JPY");
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(
            unchanged(&mut cart, |c| c.set_currency(eur)),
            CommerceError::CurrencyMismatch {
                product: eur,
                cart: Currency::parse("JPY").unwrap()
            }
        );
        cart.set_currency(Currency::parse("jpy").unwrap()).unwrap();
        cart.clear();
        cart.set_currency(eur).unwrap();
        // Products without a currency take the cart's.
        let p = Product::parse(&input("c", "2.50"), cart.currency()).unwrap();
        cart.add(p, 1).unwrap();
        assert_eq!(cart.lines()[0].product.currency(), eur);
    }

    #[test]
    fn remove_takes_part_or_all_of_a_line() {
        let mut cart = Cart::new("c");
        cart.add(product("mug", "12.50"), 5).unwrap();
        cart.add(variant("tee", "20", "S"), 2).unwrap();
        cart.add(variant("tee", "20", "M"), 1).unwrap();
        let r = cart.remove("mug", None, Some(2)).unwrap();
        assert_eq!((r.product.product_id(), r.quantity), ("mug", 2));
        assert_eq!(cart.get("mug", None).unwrap().quantity, 3);
        let r = cart.remove("mug", None, None).unwrap();
        assert_eq!(r.quantity, 3);
        assert!(cart.get("mug", None).is_none());
        assert_eq!(cart.value_minor(), 3 * 2000);

        assert_eq!(
            unchanged(&mut cart, |c| c.remove("mug", None, None)),
            CommerceError::NotInCart
        );
        assert_eq!(
            unchanged(&mut cart, |c| c.remove("tee", None, Some(1))),
            CommerceError::AmbiguousVariant
        );
        assert_eq!(
            unchanged(&mut cart, |c| c.remove("tee", Some("XL"), Some(1))),
            CommerceError::NotInCart
        );
        assert_eq!(
            unchanged(&mut cart, |c| c.remove("tee", Some("S"), Some(3))),
            CommerceError::RemoveMoreThanHeld
        );
        assert_eq!(
            unchanged(&mut cart, |c| c.remove("tee", Some("S"), Some(0))),
            CommerceError::BadQuantity
        );
        let r = cart.remove("tee", Some("S"), Some(2)).unwrap();
        assert_eq!((r.product.variant(), r.quantity), (Some("S"), 2));
        // One line left for "tee": no variant needed.
        let r = cart.remove("tee", None, Some(1)).unwrap();
        assert_eq!(r.product.variant(), Some("M"));
        assert!(cart.is_empty());
        assert_eq!(cart.value_minor(), 0);
    }

    #[test]
    fn update_sets_a_quantity_and_reports_the_delta() {
        let mut cart = Cart::new("c");
        cart.add(product("mug", "0.10"), 3).unwrap();
        assert_eq!(cart.update("mug", None, 3), Ok(None));
        let (change, line) = cart.update("mug", None, 7).unwrap().unwrap();
        assert_eq!((change, line.quantity), (Change::Added, 4));
        let (change, line) = cart.update("mug", None, 2).unwrap().unwrap();
        assert_eq!((change, line.quantity), (Change::Removed, 5));
        assert_eq!(cart.value_minor(), 20);
        assert_eq!(
            unchanged(&mut cart, |c| c.update("mug", None, 10_001)),
            CommerceError::BadQuantity
        );
        assert_eq!(
            unchanged(&mut cart, |c| c.update("tee", None, 1)),
            CommerceError::NotInCart
        );
        cart.add(product("big", "900000000000000"), 1).unwrap();
        assert_eq!(
            unchanged(&mut cart, |c| c.update("big", None, 10_000)),
            CommerceError::ValueTooLarge
        );
        let (change, line) = cart.update("mug", None, 0).unwrap().unwrap();
        assert_eq!((change, line.quantity), (Change::Removed, 2));
        assert!(cart.get("mug", None).is_none());
        assert_eq!(cart.len(), 1);
    }

    #[test]
    fn clear_returns_the_lines() {
        let mut cart = Cart::new("c");
        cart.add(product("a", "1"), 1).unwrap();
        cart.add(product("b", "2"), 2).unwrap();
        let lines = cart.clear();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].quantity, 2);
        assert!(cart.is_empty());
        assert!(cart.clear().is_empty());
        assert_eq!(cart.cart_id(), "c");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::super::ProductInput;
    use super::*;
    use crate::tracker_core::money;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Add(usize, u32),
        Remove(usize, Option<u32>),
        Update(usize, u32),
        Clear,
    }

    /// Products 0..6: ids "p0".."p2", each with no variant and with variant "v".
    fn pool_product(i: usize, price: i64) -> Product {
        let mut input = ProductInput {
            product_id: Some(format!("p{}", i % 3)),
            ..ProductInput::default()
        };
        if i >= 3 {
            input.variant = Some("v".into());
        }
        input.price = Some(money::amount_text(price, Currency::USD));
        Product::parse(&input, None).unwrap()
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0usize..6, 0u32..30).prop_map(|(i, q)| Op::Add(i, q)),
            3 => (0usize..6, prop::option::of(0u32..30)).prop_map(|(i, q)| Op::Remove(i, q)),
            3 => (0usize..6, 0u32..30).prop_map(|(i, q)| Op::Update(i, q)),
            1 => Just(Op::Clear),
        ]
    }

    fn key(i: usize) -> (String, Option<String>) {
        (format!("p{}", i % 3), (i >= 3).then(|| "v".to_string()))
    }

    proptest! {
        #[test]
        fn cart_operations_keep_value_and_quantities_consistent(
            prices in prop::collection::vec(0i64..1_000_000, 6),
            ops in prop::collection::vec(op(), 0..60),
        ) {
            let mut cart = Cart::new("c");
            let mut model: BTreeMap<(String, Option<String>), u32> = BTreeMap::new();
            for op in ops {
                let before = cart.clone();
                let ok = match op {
                    Op::Add(i, q) => {
                        let r = cart.add(pool_product(i, prices[i]), q);
                        if let Ok(l) = &r {
                            prop_assert_eq!(l.quantity, q);
                            *model.entry(key(i)).or_default() += q;
                        }
                        r.is_ok()
                    }
                    Op::Remove(i, q) => {
                        let (id, v) = key(i);
                        let r = cart.remove(&id, v.as_deref(), q);
                        if let Ok(l) = &r {
                            let k = (id, l.product.variant().map(String::from));
                            let held = model.get_mut(&k).unwrap();
                            prop_assert!(q.is_none_or(|q| q == l.quantity));
                            *held -= l.quantity;
                            if *held == 0 {
                                model.remove(&k);
                            }
                        }
                        r.is_ok()
                    }
                    Op::Update(i, q) => {
                        let (id, v) = key(i);
                        let r = cart.update(&id, v.as_deref(), q);
                        if let Ok(change) = &r {
                            let k = match change {
                                Some((_, l)) => (id, l.product.variant().map(String::from)),
                                None => k_of(&cart, &id, v.as_deref()),
                            };
                            if q == 0 {
                                model.remove(&k);
                            } else {
                                model.insert(k, q);
                            }
                        }
                        r.is_ok()
                    }
                    Op::Clear => {
                        let lines = cart.clear();
                        prop_assert_eq!(lines.len(), model.len());
                        model.clear();
                        true
                    }
                };
                if !ok {
                    prop_assert_eq!(&cart, &before);
                }
                let recomputed: i64 = cart
                    .lines()
                    .iter()
                    .map(|l| l.product.price_minor().unwrap_or(0) * i64::from(l.quantity))
                    .sum();
                prop_assert_eq!(cart.value_minor(), recomputed);
                prop_assert!(cart.lines().iter().all(|l| l.quantity >= 1 && l.quantity <= MAX_QUANTITY));
                let state: BTreeMap<_, _> = cart
                    .lines()
                    .iter()
                    .map(|l| ((l.product.product_id().to_string(), l.product.variant().map(String::from)), l.quantity))
                    .collect();
                prop_assert_eq!(state.len(), cart.len(), "duplicate lines");
                prop_assert_eq!(&state, &model);
                let back = Cart::decode(&cart.encode());
                prop_assert_eq!(back.as_ref(), Some(&cart));
            }
        }
    }

    fn k_of(cart: &Cart, id: &str, v: Option<&str>) -> (String, Option<String>) {
        let l = cart.get(id, v).unwrap();
        (id.to_string(), l.product.variant().map(String::from))
    }
}
