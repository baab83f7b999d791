//! Products: as the browser layer reads them ([`ProductInput`]), validated ([`Product`]) and
//! with a quantity ([`Line`]), and the readers of quantities, positions and amounts.

use super::{CommerceError, Field, MAX_ID_BYTES, MAX_QUANTITY};
use crate::prelude::*;
use crate::tracker_core::json::scan;
use crate::tracker_core::money::{self, Currency};

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
    pub(super) product_id: String,
    pub(super) sku: Option<String>,
    pub(super) category: Option<String>,
    pub(super) name: Option<String>,
    pub(super) brand: Option<String>,
    pub(super) variant: Option<String>,
    pub(super) price: Option<i64>,
    pub(super) currency: Currency,
    pub(super) coupon: Option<String>,
    pub(super) position: Option<u32>,
    pub(super) url: Option<String>,
    pub(super) image_url: Option<String>,
    pub(super) extra: Option<String>,
}

/// A non-empty string, or `None`.
fn text(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.is_empty()).cloned()
}

/// A non-blank string, or `None`.
pub(super) fn non_blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// Reads a whole number with [`money::parse_amount`] (so `3`, `3.0` and `3e0` agree).
fn whole(text: &str) -> Option<i64> {
    money::parse_amount(text, Currency::WHOLE).ok()
}

/// Reads an optional amount of `field` in `cur`.
pub(super) fn amount(
    text: Option<&str>,
    cur: Currency,
    field: Field,
) -> Result<Option<i64>, CommerceError> {
    match text.filter(|t| !t.is_empty()) {
        Some(t) => money::parse_amount(t, cur)
            .map(Some)
            .map_err(|e| CommerceError::from(e).in_field(field)),
        None => Ok(None),
    }
}

/// Validates optional extra-property text: `None` for absent or `{}`, the trimmed text of a
/// non-empty object, or [`CommerceError::BadExtra`].
pub(super) fn extra_text(extra: Option<&str>) -> Result<Option<String>, CommerceError> {
    let Some(t) = extra.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match scan::object_members(t) {
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

    /// Whether this is the product `product_id` with exactly `variant`.
    pub(super) fn is(&self, product_id: &str, variant: Option<&str>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

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
}
