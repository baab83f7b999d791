//! Cart state and the properties of Segment E-commerce spec v2 events.
//!
//! The browser layer turns a JavaScript product object into a [`ProductInput`] (strings as
//! given, numbers as `String(number)`), validates it into a [`Line`] and applies it to the
//! [`Cart`]. The payload writers produce the `properties` object text of `Product Added`,
//! `Cart Viewed`, `Checkout Started`, `Order Completed`, `Coupon Entered` and the like, with
//! every amount exact (see [`money`]).

use super::json;
use super::money::{self, Currency};

/// Most units of one product a cart line may hold.
pub const MAX_QUANTITY: u32 = 10_000;
/// Longest `product_id` (or `sku` standing in for it), in bytes.
pub const MAX_ID_BYTES: usize = 200;
/// Most lines (distinct product and variant pairs) in one cart.
pub const MAX_LINES: usize = 200;
/// Deepest nesting accepted in extra-property JSON.
const MAX_DEPTH: usize = 64;

/// Keys written for a product; the same keys in its extra properties are dropped.
pub const PRODUCT_KEYS: [&str; 14] = [
    "product_id",
    "sku",
    "category",
    "name",
    "brand",
    "variant",
    "price",
    "quantity",
    "coupon",
    "position",
    "url",
    "image_url",
    "currency",
    "cart_id",
];
/// Keys written for an order; the same keys in its extra properties are dropped.
pub const ORDER_KEYS: [&str; 11] = [
    "order_id",
    "cart_id",
    "affiliation",
    "total",
    "revenue",
    "shipping",
    "tax",
    "discount",
    "coupon",
    "currency",
    "products",
];
/// Keys written for a coupon; the same keys in its extra properties are dropped.
const COUPON_KEYS: [&str; 2] = ["coupon_id", "cart_id"];

/// The property an amount error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// An amount read by [`money::parse_amount`] without a named property.
    Amount,
    /// A product's `price`.
    Price,
    /// An order's `total`.
    Total,
    /// An order's `revenue`.
    Revenue,
    /// An order's `shipping`.
    Shipping,
    /// An order's `tax`.
    Tax,
    /// An order's `discount`.
    Discount,
}

/// Why a product, cart change or payload was refused. Each message says what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommerceError {
    /// A currency is not three ASCII letters.
    BadCurrency,
    /// An amount is not decimal number text.
    BadAmount(Field),
    /// An amount has digits below the currency's minor unit.
    TooPrecise(Field),
    /// An amount, or a total computed from amounts, does not fit in 64 bits of minor units.
    AmountTooLarge(Field),
    /// A product price is below zero.
    NegativePrice,
    /// A quantity is not a whole number from 1 to [`MAX_QUANTITY`].
    BadQuantity,
    /// Adding would make one cart line hold more than [`MAX_QUANTITY`].
    LineQuantityTooLarge,
    /// A position is not a positive whole number.
    BadPosition,
    /// Neither `product_id` nor `sku` was given.
    MissingProductId,
    /// The `product_id` (or `sku`) is longer than [`MAX_ID_BYTES`].
    ProductIdTooLong,
    /// Extra properties are not JSON object text.
    BadExtra,
    /// The product's currency differs from the currency of the products already in the cart.
    CurrencyMismatch {
        /// The product's currency.
        product: Currency,
        /// The cart's currency.
        cart: Currency,
    },
    /// The order names a currency other than its cart's.
    OrderCurrencyMismatch {
        /// The currency the order names.
        order: Currency,
        /// The cart's currency.
        cart: Currency,
    },
    /// The cart already holds [`MAX_LINES`] lines.
    CartFull,
    /// No cart line has that product id (and variant).
    NotInCart,
    /// Several variants of the product id are in the cart and no variant was given.
    AmbiguousVariant,
    /// A removal asked for more units than the line holds.
    RemoveMoreThanHeld,
    /// The cart's value would not fit in 64 bits of minor units.
    ValueTooLarge,
    /// `Order Completed` needs an `order_id`.
    MissingOrderId,
    /// A coupon event needs a coupon code.
    MissingCouponCode,
}

impl CommerceError {
    /// A sentence that tells the caller what is wrong.
    pub fn message(self) -> &'static str {
        use Field::*;
        match self {
            Self::BadCurrency => "currency must be a three-letter ISO 4217 code such as USD",
            Self::BadAmount(f) => match f {
                Amount => {
                    "amounts must be decimal numbers such as 19.99, without symbols or separators"
                }
                Price => {
                    "price must be a decimal number such as 19.99, without symbols or separators"
                }
                Total => {
                    "total must be a decimal number such as 19.99, without symbols or separators"
                }
                Revenue => {
                    "revenue must be a decimal number such as 19.99, without symbols or separators"
                }
                Shipping => {
                    "shipping must be a decimal number such as 4.99, without symbols or separators"
                }
                Tax => "tax must be a decimal number such as 1.99, without symbols or separators",
                Discount => {
                    "discount must be a decimal number such as 5.00, without symbols or separators"
                }
            },
            Self::TooPrecise(f) => match f {
                Amount => "amount has more decimal places than the currency allows",
                Price => "price has more decimal places than the currency allows",
                Total => "total has more decimal places than the currency allows",
                Revenue => "revenue has more decimal places than the currency allows",
                Shipping => "shipping has more decimal places than the currency allows",
                Tax => "tax has more decimal places than the currency allows",
                Discount => "discount has more decimal places than the currency allows",
            },
            Self::AmountTooLarge(f) => match f {
                Amount => "amount is too large to be counted exactly",
                Price => "price is too large to be counted exactly",
                Total => "total is too large to be counted exactly",
                Revenue => "revenue is too large to be counted exactly",
                Shipping => "shipping is too large to be counted exactly",
                Tax => "tax is too large to be counted exactly",
                Discount => "discount is too large to be counted exactly",
            },
            Self::NegativePrice => {
                "price must not be negative; give discounts as the order's discount"
            }
            Self::BadQuantity => "quantity must be a positive whole number of at most 10000",
            Self::LineQuantityTooLarge => "a cart holds at most 10000 of one product",
            Self::BadPosition => "position must be a positive whole number",
            Self::MissingProductId => "product_id (or sku) is required",
            Self::ProductIdTooLong => "product_id (or sku) must be at most 200 bytes",
            Self::BadExtra => "extra properties must be a JSON object",
            Self::CurrencyMismatch { .. } => {
                "a cart holds one currency: this product's currency differs from the cart's"
            }
            Self::OrderCurrencyMismatch { .. } => {
                "an order is in its cart's currency: the order names a different one"
            }
            Self::CartFull => "a cart holds at most 200 different products",
            Self::NotInCart => "that product_id (and variant) is not in the cart",
            Self::AmbiguousVariant => {
                "the cart holds several variants of that product_id: say which variant"
            }
            Self::RemoveMoreThanHeld => "cannot remove more of a product than the cart holds",
            Self::ValueTooLarge => "the cart's value would be too large to be counted exactly",
            Self::MissingOrderId => "order_id is required for Order Completed",
            Self::MissingCouponCode => "a coupon code must be a non-empty string",
        }
    }

    /// [`CommerceError::message`] with the currencies named where they matter, such as
    /// `a cart holds one currency: this product is in EUR but the cart is in USD`.
    pub fn describe(self) -> String {
        let (head, what, a, b) = match self {
            Self::CurrencyMismatch { product, cart } => (
                "a cart holds one currency: ",
                "this product is in ",
                product,
                cart,
            ),
            Self::OrderCurrencyMismatch { order, cart } => (
                "an order is in its cart's currency: ",
                "the order is in ",
                order,
                cart,
            ),
            _ => return String::from(self.message()),
        };
        let mut s = String::with_capacity(80);
        s.push_str(head);
        s.push_str(what);
        s.push_str(a.code());
        s.push_str(" but the cart is in ");
        s.push_str(b.code());
        s
    }

    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::CurrencyMismatch { .. } | Self::OrderCurrencyMismatch { .. } => {
                "currency_mismatch"
            }
            Self::NotInCart | Self::AmbiguousVariant | Self::RemoveMoreThanHeld => "not_in_cart",
            Self::CartFull | Self::LineQuantityTooLarge | Self::ValueTooLarge => "cart_limit",
            _ => "invalid_argument",
        }
    }

    /// The same amount error, about `field`; other errors are returned unchanged.
    pub fn in_field(self, field: Field) -> CommerceError {
        match self {
            Self::BadAmount(_) => Self::BadAmount(field),
            Self::TooPrecise(_) => Self::TooPrecise(field),
            Self::AmountTooLarge(_) => Self::AmountTooLarge(field),
            other => other,
        }
    }
}

/// A product as the browser layer reads it from a JavaScript object: every value as text
/// (numbers as `String(number)`), `None` when the property is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductInput {
    /// The product's id in the store's database.
    pub product_id: Option<String>,
    /// Stock keeping unit; stands in for a missing `product_id`.
    pub sku: Option<String>,
    /// Product category.
    pub category: Option<String>,
    /// Product name.
    pub name: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Variant, such as a size or colour. Lines merge on `product_id` and `variant`.
    pub variant: Option<String>,
    /// Unit price as decimal text, such as `19.99`.
    pub price: Option<String>,
    /// Quantity as decimal text of a whole number; 1 when absent.
    pub quantity: Option<String>,
    /// Coupon code associated with the product.
    pub coupon: Option<String>,
    /// Position in a product list, as decimal text of a positive whole number.
    pub position: Option<String>,
    /// URL of the product page.
    pub url: Option<String>,
    /// URL of the product image.
    pub image_url: Option<String>,
    /// ISO 4217 code of the price; the cart's currency (else USD) when absent.
    pub currency: Option<String>,
    /// Other properties, as JSON object text; merged after the known ones.
    pub extra: Option<String>,
}

/// A validated product. Built by [`Product::parse`]; empty strings read as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    product_id: String,
    sku: Option<String>,
    category: Option<String>,
    name: Option<String>,
    brand: Option<String>,
    variant: Option<String>,
    price: Option<i64>,
    currency: Currency,
    coupon: Option<String>,
    position: Option<u32>,
    url: Option<String>,
    image_url: Option<String>,
    extra: Option<String>,
}

/// A non-empty string, or `None`.
fn text(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.is_empty()).cloned()
}

/// A non-blank string, or `None`.
fn non_blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// Reads a whole number with [`money::parse_amount`] (so `3`, `3.0` and `3e0` agree).
fn whole(text: &str) -> Option<i64> {
    money::parse_amount(text, Currency::WHOLE).ok()
}

/// Reads an optional amount of `field` in `cur`.
fn amount(text: Option<&str>, cur: Currency, field: Field) -> Result<Option<i64>, CommerceError> {
    match text.filter(|t| !t.is_empty()) {
        Some(t) => money::parse_amount(t, cur)
            .map(Some)
            .map_err(|e| e.in_field(field)),
        None => Ok(None),
    }
}

/// Validates optional extra-property text: `None` for absent or `{}`, the trimmed text of a
/// non-empty object, or [`CommerceError::BadExtra`].
fn extra_text(extra: Option<&str>) -> Result<Option<String>, CommerceError> {
    let Some(t) = extra.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match object_members(t) {
        Some(m) if m.is_empty() => Ok(None),
        Some(_) => Ok(Some(String::from(t))),
        None => Err(CommerceError::BadExtra),
    }
}

/// Reads a quantity: 1 when absent or empty, otherwise a whole number from 1 to
/// [`MAX_QUANTITY`].
pub fn parse_quantity(text: Option<&str>) -> Result<u32, CommerceError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(1),
        Some(t) => whole(t)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=MAX_QUANTITY).contains(n))
            .ok_or(CommerceError::BadQuantity),
    }
}

impl Product {
    /// Validates `input`. A product without a currency takes `default_currency` (pass the
    /// cart's), else USD. The input's `quantity` is not read here (see [`Line::from_input`]).
    pub fn parse(
        input: &ProductInput,
        default_currency: Option<Currency>,
    ) -> Result<Product, CommerceError> {
        let id = non_blank(input.product_id.as_deref())
            .or(non_blank(input.sku.as_deref()))
            .ok_or(CommerceError::MissingProductId)?;
        if id.len() > MAX_ID_BYTES {
            return Err(CommerceError::ProductIdTooLong);
        }
        let currency = match input.currency.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Currency::parse(c)?,
            None => default_currency.unwrap_or(Currency::USD),
        };
        let price = amount(input.price.as_deref(), currency, Field::Price)?;
        if price.is_some_and(|p| p < 0) {
            return Err(CommerceError::NegativePrice);
        }
        let position = match input.position.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(
                whole(p)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&n| n > 0)
                    .ok_or(CommerceError::BadPosition)?,
            ),
            None => None,
        };
        Ok(Product {
            product_id: String::from(id),
            sku: text(&input.sku),
            category: text(&input.category),
            name: text(&input.name),
            brand: text(&input.brand),
            variant: text(&input.variant),
            price,
            currency,
            coupon: text(&input.coupon),
            position,
            url: text(&input.url),
            image_url: text(&input.image_url),
            extra: extra_text(input.extra.as_deref())?,
        })
    }

    /// The product id (the `sku` when the input had no `product_id`).
    pub fn product_id(&self) -> &str {
        &self.product_id
    }

    /// Stock keeping unit.
    pub fn sku(&self) -> Option<&str> {
        self.sku.as_deref()
    }

    /// Category.
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }

    /// Name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Brand.
    pub fn brand(&self) -> Option<&str> {
        self.brand.as_deref()
    }

    /// Variant.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// Unit price in minor units of [`Product::currency`].
    pub fn price_minor(&self) -> Option<i64> {
        self.price
    }

    /// The currency of the price.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Coupon code.
    pub fn coupon(&self) -> Option<&str> {
        self.coupon.as_deref()
    }

    /// Position in a product list.
    pub fn position(&self) -> Option<u32> {
        self.position
    }

    /// Product page URL.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Product image URL.
    pub fn image_url(&self) -> Option<&str> {
        self.image_url.as_deref()
    }

    /// Extra properties, as the text of a non-empty JSON object.
    pub fn extra(&self) -> Option<&str> {
        self.extra.as_deref()
    }

    fn is(&self, product_id: &str, variant: Option<&str>) -> bool {
        self.product_id == product_id && self.variant.as_deref() == variant
    }
}

/// A product and a quantity: a cart line, or what a cart change added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The product.
    pub product: Product,
    /// Units: held by the line, or added or removed by a change.
    pub quantity: u32,
}

impl Line {
    /// Validates a product and its quantity (1 when absent) from `input`; see
    /// [`Product::parse`].
    pub fn from_input(
        input: &ProductInput,
        default_currency: Option<Currency>,
    ) -> Result<Line, CommerceError> {
        let quantity = parse_quantity(input.quantity.as_deref())?;
        let product = Product::parse(input, default_currency)?;
        Ok(Line { product, quantity })
    }

    /// Price × quantity in minor units (0 without a price); `None` if it does not fit.
    pub fn value_minor(&self) -> Option<i64> {
        self.product
            .price
            .unwrap_or(0)
            .checked_mul(i64::from(self.quantity))
    }
}

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
    cart_id: String,
    currency: Option<Currency>,
    lines: Vec<Line>,
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
        std::mem::take(&mut self.lines)
    }

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
        let members = extra.and_then(object_members).unwrap_or_default();
        for m in members {
            if !reserved.iter().any(|k| key_is(m.key, k)) {
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

/// One member of a JSON object, as text slices of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Member<'a> {
    /// The key as written between its quotes (escapes not decoded).
    key: &'a str,
    /// The whole member: `"key":value`.
    text: &'a str,
}

/// Splits JSON object text into its members; `None` when the text is not exactly one valid
/// JSON object (nested no deeper than [`MAX_DEPTH`]).
fn object_members(text: &str) -> Option<Vec<Member<'_>>> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let start = i;
            let key_end = string_end(b, start)?;
            let key = text.get(start + 1..key_end.saturating_sub(1))?;
            i = ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            let end = value_end(b, i + 1)?;
            members.push(Member {
                key,
                text: text.get(start..end)?,
            });
            i = ws(b, end);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (ws(b, i) == b.len()).then_some(members)
}

/// Skips JSON whitespace.
fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The index after the JSON string that starts at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match *b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => match *b.get(j + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    if !b.get(j + 2..j + 6)?.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    j += 6;
                }
                _ => return None,
            },
            c if c < 0x20 => return None,
            _ => j += 1,
        }
    }
}

/// The index after the run of ASCII digits at `i`.
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The index after the JSON number that starts at `i`.
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits_end(b, i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let j = digits_end(b, i + 1);
        if j == i + 1 {
            return None;
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits_end(b, i);
        if j == i {
            return None;
        }
        i = j;
    }
    Some(i)
}

/// The index after `word` at `i`.
fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// The index after an object key and its colon at `i`.
fn key_colon(b: &[u8], i: usize) -> Option<usize> {
    let j = ws(b, string_end(b, i)?);
    (b.get(j) == Some(&b':')).then_some(j + 1)
}

/// The index after the JSON value that starts at or after `i` (iterative: no recursion).
fn value_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut open: Vec<u8> = Vec::new();
    loop {
        i = ws(b, i);
        match *b.get(i)? {
            b'{' => {
                i = ws(b, i + 1);
                if b.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    open.push(b'}');
                    if open.len() > MAX_DEPTH {
                        return None;
                    }
                    i = key_colon(b, i)?;
                    continue;
                }
            }
            b'[' => {
                i = ws(b, i + 1);
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    open.push(b']');
                    if open.len() > MAX_DEPTH {
                        return None;
                    }
                    continue;
                }
            }
            b'"' => i = string_end(b, i)?,
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            _ => i = number_end(b, i)?,
        }
        // A value ended at `i`: close the containers it completes, or go on to the next value.
        loop {
            let Some(&close) = open.last() else {
                return Some(i);
            };
            i = ws(b, i);
            let c = *b.get(i)?;
            if c == close {
                open.pop();
                i += 1;
            } else if c == b',' {
                i = ws(b, i + 1);
                if close == b'}' {
                    i = key_colon(b, i)?;
                }
                break;
            } else {
                return None;
            }
        }
    }
}

/// Whether the raw key text (as between its quotes) decodes to `name`.
fn key_is(raw: &str, name: &str) -> bool {
    if !raw.contains('\\') {
        return raw == name;
    }
    json_unescape(raw).is_some_and(|k| k == name)
}

/// Decodes the escapes of a JSON string's content; `None` for an unpaired surrogate.
fn json_unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = hex4(&mut chars)?;
                if (0xD800..0xDC00).contains(&hi) {
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            other => other,
        };
        out.push(decoded);
    }
    Some(out)
}

/// Reads four hex digits.
fn hex4(chars: &mut core::str::Chars) -> Option<u32> {
    let mut n = 0u32;
    for _ in 0..4 {
        n = n * 16 + chars.next()?.to_digit(16)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn input(id: &str, price: &str) -> ProductInput {
        ProductInput {
            product_id: Some(id.into()),
            price: Some(price.into()),
            ..ProductInput::default()
        }
    }

    fn product(id: &str, price: &str) -> Product {
        Product::parse(&input(id, price), None).unwrap()
    }

    fn in_cur(id: &str, price: &str, cur: &str) -> Product {
        let mut i = input(id, price);
        i.currency = Some(cur.into());
        Product::parse(&i, None).unwrap()
    }

    fn variant(id: &str, price: &str, v: &str) -> Product {
        let mut i = input(id, price);
        i.variant = Some(v.into());
        Product::parse(&i, None).unwrap()
    }

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
    }

    /// Applies `f` and checks that an error left the cart as it was.
    fn unchanged<T: std::fmt::Debug>(
        cart: &mut Cart,
        f: impl FnOnce(&mut Cart) -> Result<T, CommerceError>,
    ) -> CommerceError {
        let before = cart.clone();
        let err = f(cart).unwrap_err();
        assert_eq!(*cart, before, "{err:?} changed the cart");
        err
    }

    fn full_input() -> ProductInput {
        ProductInput {
            product_id: Some("nw-1".into()),
            sku: Some("NW-MUG-01".into()),
            category: Some("Mugs".into()),
            name: Some("Enamel \"Camp\" Mug".into()),
            brand: Some("Northwind".into()),
            variant: Some("blue".into()),
            price: Some("19.99".into()),
            quantity: Some("2".into()),
            coupon: Some("SPRING".into()),
            position: Some("3".into()),
            url: Some("https://shop.example/p/nw-1".into()),
            image_url: Some("https://shop.example/i/nw-1.jpg".into()),
            currency: Some("usd".into()),
            extra: Some(
                r#"{"color":"blue","tags":["a","b"],"nested":{"x":[1,2,{"y":null}]}}"#.into(),
            ),
        }
    }

    #[test]
    fn product_fields_are_validated() {
        let line = Line::from_input(&full_input(), None).unwrap();
        let p = &line.product;
        assert_eq!(line.quantity, 2);
        assert_eq!(p.product_id(), "nw-1");
        assert_eq!(p.sku(), Some("NW-MUG-01"));
        assert_eq!(p.price_minor(), Some(1999));
        assert_eq!(p.currency().code(), "USD");
        assert_eq!(p.position(), Some(3));
        assert_eq!(p.variant(), Some("blue"));
        assert_eq!(p.category(), Some("Mugs"));
        assert_eq!(p.name(), Some("Enamel \"Camp\" Mug"));
        assert_eq!(p.brand(), Some("Northwind"));
        assert_eq!(p.coupon(), Some("SPRING"));
        assert_eq!(p.url(), Some("https://shop.example/p/nw-1"));
        assert_eq!(p.image_url(), Some("https://shop.example/i/nw-1.jpg"));
        assert!(p.extra().unwrap().starts_with("{\"color\""));

        // The sku stands in for a missing or blank product_id.
        let mut i = input("", "1");
        i.sku = Some("SKU-9".into());
        assert_eq!(Product::parse(&i, None).unwrap().product_id(), "SKU-9");
        i.product_id = Some("  ".into());
        assert_eq!(Product::parse(&i, None).unwrap().product_id(), "SKU-9");
        i.product_id = None;
        assert_eq!(Product::parse(&i, None).unwrap().sku(), Some("SKU-9"));

        // Empty strings read as absent; price is optional.
        let p = Product::parse(
            &ProductInput {
                product_id: Some("x".into()),
                name: Some(String::new()),
                price: Some(String::new()),
                extra: Some(" {} ".into()),
                ..ProductInput::default()
            },
            None,
        )
        .unwrap();
        assert_eq!((p.name(), p.price_minor(), p.extra()), (None, None, None));
        assert_eq!(p.currency(), Currency::USD);

        // Currency: the product's, else the cart's, else USD.
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(
            Product::parse(&input("x", "1"), Some(eur))
                .unwrap()
                .currency(),
            eur
        );
        let jpy = in_cur("x", "1000", "jpy");
        assert_eq!(
            (jpy.currency().code(), jpy.price_minor()),
            ("JPY", Some(1000))
        );
        assert_eq!(in_cur("x", "1.234", "KWD").price_minor(), Some(1234));
    }

    #[test]
    fn product_errors_say_what_to_fix() {
        let err = |i: ProductInput| Line::from_input(&i, None).unwrap_err();
        let with = |f: &dyn Fn(&mut ProductInput)| {
            let mut i = input("x", "1");
            f(&mut i);
            err(i)
        };
        assert_eq!(
            err(ProductInput::default()),
            CommerceError::MissingProductId
        );
        assert_eq!(
            with(&|i| i.product_id = Some(" ".into())),
            CommerceError::MissingProductId
        );
        assert_eq!(
            with(&|i| i.product_id = Some("x".repeat(201))),
            CommerceError::ProductIdTooLong
        );
        assert!(Line::from_input(&input(&"x".repeat(200), "1"), None).is_ok());
        for q in ["0", "-1", "1.5", "10001", "abc", "NaN", "Infinity", "1e5"] {
            assert_eq!(
                with(&|i| i.quantity = Some(q.into())),
                CommerceError::BadQuantity,
                "{q}"
            );
        }
        for q in ["1", "2.0", "1e3", "10000"] {
            assert!(
                Line::from_input(
                    &ProductInput {
                        quantity: Some(q.into()),
                        ..input("x", "1")
                    },
                    None
                )
                .is_ok(),
                "{q}"
            );
        }
        for p in ["0", "-2", "1.5", "x"] {
            assert_eq!(
                with(&|i| i.position = Some(p.into())),
                CommerceError::BadPosition,
                "{p}"
            );
        }
        assert_eq!(
            with(&|i| i.price = Some("19.999".into())),
            CommerceError::TooPrecise(Field::Price)
        );
        assert_eq!(
            with(&|i| i.price = Some("$19".into())),
            CommerceError::BadAmount(Field::Price)
        );
        assert_eq!(
            with(&|i| i.price = Some("1e30".into())),
            CommerceError::AmountTooLarge(Field::Price)
        );
        assert_eq!(
            with(&|i| i.price = Some("-1".into())),
            CommerceError::NegativePrice
        );
        assert_eq!(
            with(&|i| {
                i.price = Some("1.5".into());
                i.currency = Some("JPY".into());
            }),
            CommerceError::TooPrecise(Field::Price)
        );
        assert_eq!(
            with(&|i| i.currency = Some("dollars".into())),
            CommerceError::BadCurrency
        );
        for bad in [
            "[1]",
            "null",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{}x",
            "\"s\"",
        ] {
            assert_eq!(
                with(&|i| i.extra = Some(bad.into())),
                CommerceError::BadExtra,
                "{bad}"
            );
        }
    }

    #[test]
    fn messages_name_the_property_and_the_fix() {
        assert_eq!(
            CommerceError::BadQuantity.message(),
            "quantity must be a positive whole number of at most 10000"
        );
        assert_eq!(
            CommerceError::TooPrecise(Field::Price).message(),
            "price has more decimal places than the currency allows"
        );
        assert_eq!(
            CommerceError::MissingProductId.message(),
            "product_id (or sku) is required"
        );
        let usd = Currency::USD;
        let eur = Currency::parse("EUR").unwrap();
        let mismatch = CommerceError::CurrencyMismatch {
            product: eur,
            cart: usd,
        };
        assert_eq!(
            mismatch.describe(),
            "a cart holds one currency: this product is in EUR but the cart is in USD"
        );
        assert_eq!(mismatch.code(), "currency_mismatch");
        assert_eq!(
            CommerceError::OrderCurrencyMismatch {
                order: eur,
                cart: usd
            }
            .describe(),
            "an order is in its cart's currency: the order is in EUR but the cart is in USD"
        );
        assert_eq!(
            CommerceError::NotInCart.describe(),
            CommerceError::NotInCart.message()
        );
        let fields = [
            (Field::Amount, "amount"),
            (Field::Price, "price"),
            (Field::Total, "total"),
            (Field::Revenue, "revenue"),
            (Field::Shipping, "shipping"),
            (Field::Tax, "tax"),
            (Field::Discount, "discount"),
        ];
        for (f, name) in fields {
            for e in [
                CommerceError::BadAmount(f),
                CommerceError::TooPrecise(f),
                CommerceError::AmountTooLarge(f),
            ] {
                assert!(e.message().starts_with(name), "{e:?}");
                assert_eq!(e.code(), "invalid_argument");
                assert_eq!(
                    CommerceError::BadAmount(Field::Amount).in_field(f),
                    CommerceError::BadAmount(f)
                );
            }
        }
        assert_eq!(
            CommerceError::CartFull.in_field(Field::Tax),
            CommerceError::CartFull
        );
    }

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

    #[test]
    fn json_object_scanner() {
        let m = object_members(
            r#" { "a" : 1 , "b\"c": {"d":[true,false,null,-0.5e-3,"}"]}, "e":[] ,"f":{}} "#,
        )
        .unwrap();
        let keys: Vec<_> = m.iter().map(|m| m.key).collect();
        assert_eq!(keys, ["a", "b\\\"c", "e", "f"]);
        assert_eq!(m[0].text, "\"a\" : 1");
        assert_eq!(m[1].text, r#""b\"c": {"d":[true,false,null,-0.5e-3,"}"]}"#);
        assert_eq!(object_members("{}"), Some(Vec::new()));
        for bad in [
            "",
            "{",
            "}",
            "[]",
            "{\"a\"}",
            "{\"a\":1 \"b\":2}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":tru}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":1}}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":[1}",
        ] {
            assert_eq!(object_members(bad), None, "{bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH) + "1" + &"]".repeat(MAX_DEPTH);
        assert!(object_members(&format!("{{\"a\":{deep}}}")).is_some());
        let deeper = "[".repeat(MAX_DEPTH + 1) + "1" + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(object_members(&format!("{{\"a\":{deeper}}}")), None);
        let huge = "[".repeat(100_000);
        assert_eq!(object_members(&format!("{{\"a\":{huge}}}")), None);
        assert!(key_is("pr\\u0069ce", "price"));
        assert!(key_is("\\ud83d\\ude00", "😀"));
        assert!(!key_is("\\ud83d", "price"));
        assert!(key_is("a\\/b\\n", "a/b\n"));
    }

    #[test]
    fn scanner_agrees_with_serde_json() {
        for text in [
            r#"{"a":[1,{"b":[{"c":"d"}]}],"e":"\u00e9\ud83d\ude00","f":1E+2}"#,
            r#"{"":0,"x":-0,"y":[[]],"z":{"":{}}}"#,
        ] {
            let members = object_members(text).unwrap();
            let v: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
            assert_eq!(members.len(), v.len());
            for m in members {
                let one: Value = parse(&format!("{{{}}}", m.text));
                let (k, val) = one.as_object().unwrap().iter().next().unwrap();
                assert_eq!(Some(val), v.get(k));
                assert!(key_is(m.key, k));
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
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

    fn k_of(cart: &Cart, id: &str, v: Option<&str>) -> (String, Option<String>) {
        let l = cart.get(id, v).unwrap();
        (id.to_string(), l.product.variant().map(String::from))
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "(?s).{0,12}",
            "[\\t\\n\\r\\\\ a-c\\-é😀]{0,8}",
            Just(String::new()),
        ]
    }
}
