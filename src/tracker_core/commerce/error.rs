//! Why a product, cart change or payload was refused: [`CommerceError`], its messages and
//! codes, and the [`Field`] an amount error is about.

use crate::prelude::*;
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::money::{Currency, MoneyError};

/// The property an amount error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// An amount read by [`money::parse_amount`](crate::tracker_core::money::parse_amount) without a
    /// named property.
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

impl Field {
    /// The property's name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Amount => "amount",
            Field::Price => "price",
            Field::Total => "total",
            Field::Revenue => "revenue",
            Field::Shipping => "shipping",
            Field::Tax => "tax",
            Field::Discount => "discount",
        }
    }

    /// A valid amount of the property, for messages.
    fn example(self) -> &'static str {
        match self {
            Field::Shipping => "4.99",
            Field::Tax => "1.99",
            Field::Discount => "5.00",
            _ => "19.99",
        }
    }
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
    /// A quantity is not a whole number from 1 to [`MAX_QUANTITY`](super::MAX_QUANTITY).
    BadQuantity,
    /// Adding would make one cart line hold more than [`MAX_QUANTITY`](super::MAX_QUANTITY).
    LineQuantityTooLarge,
    /// A position is not a positive whole number.
    BadPosition,
    /// Neither `product_id` nor `sku` was given.
    MissingProductId,
    /// The `product_id` (or `sku`) is longer than [`MAX_ID_BYTES`](super::MAX_ID_BYTES).
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
    /// The cart already holds [`MAX_LINES`](super::MAX_LINES) lines.
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
                    "amount must be a decimal number such as 19.99, without symbols or separators"
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
    /// `a cart holds one currency: this product is in EUR but the cart is in USD`. The amount
    /// errors about a named property are put together from the property's name here (the
    /// same sentences as [`CommerceError::message`], without a copy of each in the tracker).
    pub fn describe(self) -> String {
        let (f, tail) = match self {
            Self::BadAmount(f) => (f, " must be a decimal number such as "),
            Self::TooPrecise(f) => (f, " has more decimal places than the currency allows"),
            Self::AmountTooLarge(f) => (f, " is too large to be counted exactly"),
            _ => return self.describe_other(),
        };
        let mut s = String::from(f.name());
        s.push_str(tail);
        if let Self::BadAmount(_) = self {
            s.push_str(f.example());
            s.push_str(", without symbols or separators");
        }
        s
    }

    fn describe_other(self) -> String {
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
    pub fn code(self) -> ErrorCode {
        match self {
            Self::CurrencyMismatch { .. } | Self::OrderCurrencyMismatch { .. } => {
                ErrorCode::CurrencyMismatch
            }
            Self::NotInCart | Self::AmbiguousVariant | Self::RemoveMoreThanHeld => {
                ErrorCode::NotInCart
            }
            Self::CartFull | Self::LineQuantityTooLarge | Self::ValueTooLarge => {
                ErrorCode::CartLimit
            }
            _ => ErrorCode::InvalidArgument,
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

/// Money's errors are commerce errors about no named property: [`Field::Amount`], with the
/// same message. [`CommerceError::in_field`] then names the property.
impl From<MoneyError> for CommerceError {
    fn from(e: MoneyError) -> CommerceError {
        match e {
            MoneyError::BadCurrency => CommerceError::BadCurrency,
            MoneyError::BadAmount => CommerceError::BadAmount(Field::Amount),
            MoneyError::TooPrecise => CommerceError::TooPrecise(Field::Amount),
            MoneyError::AmountTooLarge => CommerceError::AmountTooLarge(Field::Amount),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(mismatch.code(), ErrorCode::CurrencyMismatch);
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
                assert_eq!(e.describe(), e.message());
                assert_eq!(e.code(), ErrorCode::InvalidArgument);
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
    fn money_errors_keep_their_messages_and_codes() {
        for (money, commerce) in [
            (MoneyError::BadCurrency, CommerceError::BadCurrency),
            (
                MoneyError::BadAmount,
                CommerceError::BadAmount(Field::Amount),
            ),
            (
                MoneyError::TooPrecise,
                CommerceError::TooPrecise(Field::Amount),
            ),
            (
                MoneyError::AmountTooLarge,
                CommerceError::AmountTooLarge(Field::Amount),
            ),
        ] {
            let e = CommerceError::from(money);
            assert_eq!(e, commerce);
            assert_eq!(e.message(), money.message());
            assert_eq!(e.describe(), money.message());
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
        }
        assert_eq!(
            CommerceError::from(MoneyError::TooPrecise).in_field(Field::Price),
            CommerceError::TooPrecise(Field::Price)
        );
    }
}
