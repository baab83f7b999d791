//! JavaScript values as a [`Source`] for the strict campaign reader: arrays, objects and absent
//! values for [`Strict`](crate::engage_core::strict::Strict), and booleans, numbers and strings
//! here ([`Value`]), with errors worded as serde words them.
//!
//! Not serde-wasm-bindgen: its errors are written by serde's default `invalid_type`, which
//! formats serde's `Unexpected` and with it floats (Grisu and Dragon4 with their tables) and
//! `Debug` escapes. Reading the few primitive kinds here, with a number written by JavaScript,
//! keeps all of that out: 9,036 B brotli of the module (`cargo xtask build`, before and after).

use crate::engage_core::strict::Source;
use js_sys::{Array, Number, Object, Reflect};
use serde::de::{self, Expected, IntoDeserializer, Unexpected, Visitor};
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

/// Integers up to 2^53 are exact in a JavaScript number.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// A campaign definition's error, as serde words it.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A number as JavaScript writes it (`1.5`, `NaN`).
pub(super) fn number_text(n: f64) -> String {
    String::from(Number::from(n).to_string_with_radix(10).unwrap_or_default())
}

/// What serde's `Unexpected` says of a value, without its float and `Debug` formatting.
#[inline(never)]
fn describe(u: Unexpected) -> String {
    match u {
        Unexpected::Bool(b) => format!("boolean `{b}`"),
        Unexpected::Unsigned(n) => format!("integer `{n}`"),
        Unexpected::Signed(n) => format!("integer `{n}`"),
        Unexpected::Float(f) => format!("floating point `{}`", number_text(f)),
        Unexpected::Char(c) => format!("character `{c}`"),
        Unexpected::Str(s) => format!(
            "string \"{}\"",
            s.replace('\\', "\\\\").replace('"', "\\\"")
        ),
        Unexpected::Unit => "unit value".into(),
        Unexpected::Option => "Option value".into(),
        Unexpected::Seq => "sequence".into(),
        Unexpected::Map => "map".into(),
        Unexpected::Other(s) => s.into(),
        _ => "a value".into(),
    }
}

impl de::Error for Error {
    #[inline(never)]
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }

    fn invalid_type(u: Unexpected, expected: &dyn Expected) -> Self {
        Error(format!(
            "invalid type: {}, expected {expected}",
            describe(u)
        ))
    }

    fn invalid_value(u: Unexpected, expected: &dyn Expected) -> Self {
        Error(format!(
            "invalid value: {}, expected {expected}",
            describe(u)
        ))
    }
}

/// A boolean, number or string (or `null`, `undefined`) for serde.
#[derive(Debug)]
pub struct Value(JsValue);

/// What a primitive value is, read once (not in every visitor's copy of `deserialize_any`).
enum Kind {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Str(String),
    Unit,
    Other,
}

#[inline(never)]
fn kind(v: &JsValue) -> Kind {
    if let Some(b) = v.as_bool() {
        Kind::Bool(b)
    } else if let Some(n) = v.as_f64() {
        // Whole numbers as integers, as JSON readers give them.
        if n.fract() == 0.0 && (0.0..EXACT).contains(&n) {
            Kind::Unsigned(n as u64)
        } else if n.fract() == 0.0 && n > -EXACT && n < 0.0 {
            Kind::Signed(n as i64)
        } else {
            Kind::Float(n)
        }
    } else if let Some(s) = v.as_string() {
        Kind::Str(s)
    } else if v.is_null() || v.is_undefined() {
        Kind::Unit
    } else {
        Kind::Other
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match kind(&self.0) {
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Unsigned(n) => visitor.visit_u64(n),
            Kind::Signed(n) => visitor.visit_i64(n),
            Kind::Float(n) => visitor.visit_f64(n),
            Kind::Str(s) => visitor.visit_string(s),
            Kind::Unit => visitor.visit_unit(),
            Kind::Other => Err(self.0.invalid(&visitor)),
        }
    }

    /// A unit variant, named by a string (`"exit"`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0.as_string() {
            Some(s) => visitor.visit_enum(IntoDeserializer::<Error>::into_deserializer(s)),
            None => Err(self.0.invalid(&visitor)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl Source for JsValue {
    type Error = Error;
    type Prim = Value;

    fn prim(self) -> Value {
        Value(self)
    }

    fn is_null(&self) -> bool {
        self.loose_eq(&JsValue::NULL)
    }

    fn items(self) -> Result<Vec<JsValue>, JsValue> {
        match self.dyn_into::<Array>() {
            Ok(items) => Ok(items.iter().collect()),
            Err(v) => Err(v),
        }
    }

    fn entries(self) -> Result<Vec<(String, JsValue)>, JsValue> {
        if !self.is_object() || Array::is_array(&self) {
            return Err(self);
        }
        let obj: Object = self.unchecked_into();
        Ok(Object::keys(&obj)
            .iter()
            .filter_map(|k| {
                let value = Reflect::get(&obj, &k).ok().filter(|v| !v.is_undefined())?;
                Some((k.as_string()?, value))
            })
            .collect())
    }

    #[inline(never)]
    fn invalid(&self, expected: &dyn Expected) -> Error {
        let text;
        let unexpected = if self.is_null() {
            Unexpected::Unit
        } else if let Some(b) = self.as_bool() {
            Unexpected::Bool(b)
        } else if let Some(n) = self.as_f64() {
            Unexpected::Float(n)
        } else if let Some(s) = self.as_string() {
            text = s;
            Unexpected::Str(&text)
        } else if Array::is_array(self) {
            Unexpected::Seq
        } else if self.is_object() {
            Unexpected::Map
        } else {
            Unexpected::Other("a JavaScript value")
        };
        de::Error::invalid_type(unexpected, expected)
    }
}
