//! Campaign objects read strictly. serde-wasm-bindgen reads a struct by asking the object for
//! each field the struct declares, so a key it does not declare is never seen and
//! `deny_unknown_fields` never fires: `{ copun: "SAVE10" }` would pass as a popup without a
//! coupon. [`Strict`] reads structs, options and arrays itself and hands every key of the
//! object to the struct's field visitor, which names the one it does not know (with its path,
//! through serde_path_to_error, and the message the host tests check against serde_json);
//! everything else (numbers, strings, enums) is serde-wasm-bindgen's.

use js_sys::{Array, Object, Reflect};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde_wasm_bindgen::{Deserializer as Js, Error};
use wasm_bindgen::{JsCast, JsValue};

/// A JavaScript value to deserialize, unknown keys included.
#[derive(Debug)]
pub struct Strict(pub JsValue);

macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            Js::from(self.0).$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Strict {
    type Error = Error;

    forward!(
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_map
        deserialize_identifier deserialize_ignored_any
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        Js::from(self.0).deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        Js::from(self.0).deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        Js::from(self.0).deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        Js::from(self.0).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.loose_eq(&JsValue::NULL) {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.dyn_into::<Array>() {
            Ok(items) => visitor.visit_seq(Items { items, next: 0 }),
            Err(v) => Err(invalid(&v, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let map = Fields::new(self.0, fields, &visitor)?;
        visitor.visit_map(map)
    }
}

/// serde's "invalid type" error for `v` where `expected` was wanted. Not handed to
/// serde-wasm-bindgen: its struct and array readers would bring a second copy of every
/// campaign type's deserializer into the module.
#[inline(never)]
fn invalid(v: &JsValue, expected: &dyn de::Expected) -> Error {
    let text;
    let unexpected = if v.loose_eq(&JsValue::NULL) {
        de::Unexpected::Unit
    } else if let Some(b) = v.as_bool() {
        de::Unexpected::Bool(b)
    } else if let Some(n) = v.as_f64() {
        de::Unexpected::Float(n)
    } else if let Some(s) = v.as_string() {
        text = s;
        de::Unexpected::Str(&text)
    } else if Array::is_array(v) {
        de::Unexpected::Seq
    } else {
        de::Unexpected::Other("a JavaScript value")
    };
    de::Error::invalid_type(unexpected, expected)
}

/// A struct's keys and values; an `undefined` value is a missing field. (The work is in
/// non-generic functions: the generic ones are copied for every campaign type.)
struct Fields {
    obj: Object,
    keys: std::vec::IntoIter<String>,
    value: JsValue,
}

impl Fields {
    /// The keys of `v`, an object: first those the struct does not declare, so that a
    /// misspelt field is named before anything that follows from it.
    #[inline(never)]
    fn new(v: JsValue, fields: &[&str], expected: &dyn de::Expected) -> Result<Fields, Error> {
        if !v.is_object() || Array::is_array(&v) {
            return Err(invalid(&v, expected));
        }
        let obj: Object = v.unchecked_into();
        let mut keys: Vec<String> = Object::keys(&obj)
            .iter()
            .filter_map(|k| k.as_string())
            .collect();
        keys.sort_by_key(|k| fields.contains(&k.as_str()));
        Ok(Fields {
            obj,
            keys: keys.into_iter(),
            value: JsValue::UNDEFINED,
        })
    }

    /// The next key with a value, the value kept for `next_value_seed`.
    #[inline(never)]
    fn next(&mut self) -> Option<String> {
        for key in self.keys.by_ref() {
            let value =
                Reflect::get(&self.obj, &JsValue::from_str(&key)).unwrap_or(JsValue::UNDEFINED);
            if !value.is_undefined() {
                self.value = value;
                return Some(key);
            }
        }
        None
    }
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.next() {
            Some(key) => {
                let key: de::value::StringDeserializer<Error> = key.into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(Strict(core::mem::take(&mut self.value)))
    }
}

/// An array's items.
struct Items {
    items: Array,
    next: u32,
}

impl Items {
    #[inline(never)]
    fn next(&mut self) -> Option<JsValue> {
        if self.next >= self.items.length() {
            return None;
        }
        self.next += 1;
        Some(self.items.get(self.next - 1))
    }
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.next() {
            Some(item) => seed.deserialize(Strict(item)).map(Some),
            None => Ok(None),
        }
    }
}
