//! Campaign objects read strictly, with the path of what is wrong.
//!
//! A reader that asks an object for each field a struct declares never sees a key the struct
//! does not declare, and `deny_unknown_fields` never fires: `{ copun: "SAVE10" }` would pass as
//! a popup without a coupon. [`Strict`] reads structs, options and arrays itself and hands every
//! key of an object to the struct's field visitor, which names the one it does not know;
//! numbers, strings, booleans and enums are the source's own deserializer's (`browser/strict.rs`
//! in the browser, serde_json's in host tests).
//!
//! The path (`variants[0].content.copun`) is put together as an error travels out of the
//! objects and arrays it was in ([`Located`]), so the derived visitors are not wrapped in a
//! second, path-tracking copy each (what serde_path_to_error does, at about 4 KB brotli).

use serde::de::{self, DeserializeSeed, Expected, IntoDeserializer, Visitor};
use std::fmt;

/// A value [`Strict`] reads: a JavaScript value in the browser, a `serde_json::Value` in tests.
pub trait Source: Sized {
    /// The errors of the source's own deserializer.
    type Error: de::Error;
    /// The source's own deserializer, for numbers, strings, booleans and enums.
    type Prim: for<'de> de::Deserializer<'de, Error = Self::Error>;

    /// This value for its own deserializer.
    fn prim(self) -> Self::Prim;
    /// Whether this is `null` (or `undefined`): an absent option.
    fn is_null(&self) -> bool;
    /// An array's items, or the value back if it is not an array.
    fn items(self) -> Result<Vec<Self>, Self>;
    /// An object's keys and values, leaving out keys whose value is `undefined` (a missing
    /// field), or the value back if it is not a plain object.
    fn entries(self) -> Result<Vec<(String, Self)>, Self>;
    /// serde's "invalid type" error for this value where `expected` was wanted.
    fn invalid(&self, expected: &dyn Expected) -> Self::Error;
}

/// A value to deserialize, unknown keys included.
#[derive(Debug)]
pub struct Strict<S>(pub S);

/// One step of a path: an object's key or an array's index.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// An error of the source's deserializer and where it happened: its steps from the innermost
/// out. (Boxed: a `Result` that carries it stays as small as one carrying a JavaScript error,
/// which keeps every campaign type's reader smaller.)
#[derive(Debug)]
pub struct Located<E>(Box<(Vec<Step>, E)>);

impl<E> Located<E> {
    fn at(mut self, step: Step) -> Self {
        self.0 .0.push(step);
        self
    }

    /// The error as the source's deserializer wrote it.
    pub fn inner(&self) -> &E {
        &self.0 .1
    }

    /// The path from the value read: `trigger.grace`, `variants[0].id`, `""` for the value itself.
    pub fn path(&self) -> String {
        let mut path = String::new();
        for step in self.0 .0.iter().rev() {
            match step {
                Step::Key(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                }
                Step::Index(i) => {
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                }
            }
        }
        path
    }
}

impl<E> From<E> for Located<E> {
    #[inline(never)]
    fn from(inner: E) -> Self {
        Located(Box::new((Vec::new(), inner)))
    }
}

impl<E: fmt::Display> fmt::Display for Located<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner().fmt(f)
    }
}

impl<E: de::Error> std::error::Error for Located<E> {}

impl<E: de::Error> de::Error for Located<E> {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        E::custom(msg).into()
    }

    // The source's own wording (serde's defaults would format `Unexpected` here, floats and
    // all, even where the source's error does not).
    fn invalid_type(u: de::Unexpected, expected: &dyn Expected) -> Self {
        E::invalid_type(u, expected).into()
    }

    fn invalid_value(u: de::Unexpected, expected: &dyn Expected) -> Self {
        E::invalid_value(u, expected).into()
    }
}

macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            Ok(self.0.prim().$method(visitor)?)
        }
    )*};
}

impl<'de, S: Source> de::Deserializer<'de> for Strict<S> {
    type Error = Located<S::Error>;

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
    ) -> Result<V::Value, Self::Error> {
        Ok(self.0.prim().deserialize_unit_struct(name, visitor)?)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Ok(self.0.prim().deserialize_tuple(len, visitor)?)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Ok(self.0.prim().deserialize_tuple_struct(name, len, visitor)?)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        Ok(self.0.prim().deserialize_enum(name, variants, visitor)?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.0.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0.items() {
            Ok(items) => visitor.visit_seq(Items {
                items: items.into_iter(),
                index: 0,
            }),
            Err(v) => Err(v.invalid(&visitor).into()),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let map = Fields::new(self.0, fields, &visitor)?;
        visitor.visit_map(map)
    }
}

/// A struct's keys and values. (The work is in functions generic over the source only: those
/// generic over the seed are copied for every campaign type.)
struct Fields<S> {
    entries: std::vec::IntoIter<(String, S)>,
    key: String,
    value: Option<S>,
}

impl<S: Source> Fields<S> {
    /// The entries of `v`, an object: first those the struct does not declare, so that a
    /// misspelt field is named before anything that follows from it.
    #[inline(never)]
    fn new(v: S, fields: &[&str], expected: &dyn Expected) -> Result<Self, S::Error> {
        let mut entries = v.entries().map_err(|v| v.invalid(expected))?;
        entries.sort_by_key(|(k, _)| fields.contains(&k.as_str()));
        Ok(Fields {
            entries: entries.into_iter(),
            key: String::new(),
            value: None,
        })
    }

    /// The next key, its value kept for `next_value_seed`.
    #[inline(never)]
    fn next(&mut self) -> Option<String> {
        let (key, value) = self.entries.next()?;
        self.key.clone_from(&key);
        self.value = Some(value);
        Some(key)
    }

    /// `e`, one key further in.
    #[inline(never)]
    fn locate(&mut self, e: Located<S::Error>) -> Located<S::Error> {
        e.at(Step::Key(core::mem::take(&mut self.key)))
    }
}

impl<'de, S: Source> de::MapAccess<'de> for Fields<S> {
    type Error = Located<S::Error>;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.next() {
            Some(key) => {
                let key: de::value::StringDeserializer<Self::Error> = key.into_deserializer();
                seed.deserialize(key).map(Some).map_err(|e| self.locate(e))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Strict(value)).map_err(|e| self.locate(e)),
            None => Err(de::Error::custom("a value asked for before its key")),
        }
    }
}

/// An array's items.
struct Items<S> {
    items: std::vec::IntoIter<S>,
    index: usize,
}

impl<'de, S: Source> de::SeqAccess<'de> for Items<S> {
    type Error = Located<S::Error>;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        match self.items.next() {
            Some(item) => {
                let index = self.index;
                self.index += 1;
                seed.deserialize(Strict(item))
                    .map(Some)
                    .map_err(|e| e.at(Step::Index(index)))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod json {
    //! serde_json's values as a [`Source`], for host tests.
    use super::Source;
    use serde::de::{self, Expected, Unexpected};
    use serde_json::{Error, Value};

    impl Source for Value {
        type Error = Error;
        type Prim = Value;

        fn prim(self) -> Value {
            self
        }

        fn is_null(&self) -> bool {
            self.is_null()
        }

        fn items(self) -> Result<Vec<Value>, Value> {
            match self {
                Value::Array(items) => Ok(items),
                v => Err(v),
            }
        }

        fn entries(self) -> Result<Vec<(String, Value)>, Value> {
            match self {
                Value::Object(map) => Ok(map.into_iter().collect()),
                v => Err(v),
            }
        }

        fn invalid(&self, expected: &dyn Expected) -> Error {
            let unexpected = match self {
                Value::Null => Unexpected::Unit,
                Value::Bool(b) => Unexpected::Bool(*b),
                Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => Unexpected::Unsigned(u),
                    (_, Some(i)) => Unexpected::Signed(i),
                    _ => Unexpected::Float(n.as_f64().unwrap_or_default()),
                },
                Value::String(s) => Unexpected::Str(s),
                Value::Array(_) => Unexpected::Seq,
                Value::Object(_) => Unexpected::Map,
            };
            de::Error::invalid_type(unexpected, expected)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        list: Vec<Inner>,
        one: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    fn error(json: &str) -> (String, String) {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let e = Outer::deserialize(Strict(v)).unwrap_err();
        (e.path(), e.inner().to_string())
    }

    #[test]
    fn errors_carry_the_path_they_travelled() {
        let (path, msg) = error(r#"{"list":[{"n":1},{"n":"x"}],"one":null}"#);
        assert_eq!(path, "list[1].n");
        assert!(msg.starts_with("invalid type: string \"x\""), "{msg}");
        let (path, msg) = error(r#"{"list":[],"one":{"n":1,"m":2}}"#);
        assert_eq!(path, "one.m");
        assert!(msg.starts_with("unknown field `m`"), "{msg}");
        let (path, msg) = error(r#"{"one":null}"#);
        assert_eq!(path, "");
        assert_eq!(msg, "missing field `list`");
        let (path, msg) = error(r#"{"list":{"n":1},"one":null}"#);
        assert_eq!(path, "list");
        assert!(
            msg.starts_with("invalid type: map, expected a sequence"),
            "{msg}"
        );
    }

    #[test]
    fn an_unknown_key_is_named_before_a_bad_value() {
        let (path, msg) = error(r#"{"list":[],"one":{"n":"x","typo":1}}"#);
        assert_eq!(path, "one.typo");
        assert!(msg.starts_with("unknown field `typo`"), "{msg}");
    }
}
