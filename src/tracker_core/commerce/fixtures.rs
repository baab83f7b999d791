//! Products, carts and JSON checks shared by the commerce tests.

use super::{Cart, CommerceError, Product, ProductInput};
use serde_json::Value;

pub(super) fn input(id: &str, price: &str) -> ProductInput {
    ProductInput {
        product_id: Some(id.into()),
        price: Some(price.into()),
        ..ProductInput::default()
    }
}

pub(super) fn product(id: &str, price: &str) -> Product {
    Product::parse(&input(id, price), None).unwrap()
}

pub(super) fn in_cur(id: &str, price: &str, cur: &str) -> Product {
    let mut i = input(id, price);
    i.currency = Some(cur.into());
    Product::parse(&i, None).unwrap()
}

pub(super) fn variant(id: &str, price: &str, v: &str) -> Product {
    let mut i = input(id, price);
    i.variant = Some(v.into());
    Product::parse(&i, None).unwrap()
}

pub(super) fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// Applies `f` and checks that an error left the cart as it was.
pub(super) fn unchanged<T: std::fmt::Debug>(
    cart: &mut Cart,
    f: impl FnOnce(&mut Cart) -> Result<T, CommerceError>,
) -> CommerceError {
    let before = cart.clone();
    let err = f(cart).unwrap_err();
    assert_eq!(*cart, before, "{err:?} changed the cart");
    err
}

pub(super) fn full_input() -> ProductInput {
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
        extra: Some(r#"{"color":"blue","tags":["a","b"],"nested":{"x":[1,2,{"y":null}]}}"#.into()),
    }
}
