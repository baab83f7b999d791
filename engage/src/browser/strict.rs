//! JavaScript values as a [`Source`] for the strict campaign reader: arrays, objects and
//! absent values are read here, everything else by serde-wasm-bindgen.

use crate::engage_core::strict::Source;
use js_sys::{Array, Object, Reflect};
use serde::de::{self, Expected};
use serde_wasm_bindgen::{Deserializer as Js, Error};
use wasm_bindgen::{JsCast, JsValue};

impl Source for JsValue {
    type Error = Error;
    type Prim = Js;

    fn prim(self) -> Js {
        Js::from(self)
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

    /// Put together here rather than handed to serde-wasm-bindgen: its struct and array readers
    /// would bring a second copy of every campaign type's deserializer into the module.
    #[inline(never)]
    fn invalid(&self, expected: &dyn Expected) -> Error {
        let text;
        let unexpected = if self.is_null() {
            de::Unexpected::Unit
        } else if let Some(b) = self.as_bool() {
            de::Unexpected::Bool(b)
        } else if let Some(n) = self.as_f64() {
            de::Unexpected::Float(n)
        } else if let Some(s) = self.as_string() {
            text = s;
            de::Unexpected::Str(&text)
        } else if Array::is_array(self) {
            de::Unexpected::Seq
        } else {
            de::Unexpected::Other("a JavaScript value")
        };
        de::Error::invalid_type(unexpected, expected)
    }
}
