//! Cart state and the properties of Segment E-commerce spec v2 events.
//!
//! The browser layer turns a JavaScript product object into a [`ProductInput`] (strings as
//! given, numbers as `String(number)`), validates it into a [`Line`] and applies it to the
//! [`Cart`]. The payload writers produce the `properties` object text of `Product Added`,
//! `Cart Viewed`, `Checkout Started`, `Order Completed`, `Coupon Entered` and the like, with
//! every amount exact (see [`money`](crate::tracker_core::money)).
//!
//! The parts, each with its tests:
//!
//! - `error`: [`CommerceError`], its messages and codes, and the [`Field`] an amount error is
//!   about;
//! - `product`: [`ProductInput`], [`Product`], [`Line`] and [`parse_quantity`];
//! - `cart`: [`Cart`] and its changes ([`Change`]);
//! - `codec`: the cart's persisted form ([`Cart::encode`], [`Cart::decode`]);
//! - `payload`: [`OrderInput`] and the event properties ([`product_properties`],
//!   [`cart_properties`], [`checkout_properties`], [`order_properties`],
//!   [`coupon_properties`]).

mod cart;
mod codec;
mod error;
#[cfg(test)]
mod fixtures;
mod payload;
mod product;

pub use cart::{Cart, Change};
pub use error::{CommerceError, Field};
pub use payload::{
    cart_properties, checkout_properties, coupon_properties, order_properties, product_properties,
    OrderInput,
};
pub use product::{parse_quantity, Line, Product, ProductInput};

/// Most units of one product a cart line may hold.
pub const MAX_QUANTITY: u32 = 10_000;
/// Longest `product_id` (or `sku` standing in for it), in bytes.
pub const MAX_ID_BYTES: usize = 200;
/// Most lines (distinct product and variant pairs) in one cart.
pub const MAX_LINES: usize = 200;

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
