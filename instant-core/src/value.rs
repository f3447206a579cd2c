//! Attribute values: how Rust values become the JSON Instant stores, and dates.
//!
//! Instant stores any JSON value in an attribute; typed attributes (`string`,
//! `number`, `boolean`, `date`) are checked by the server. The JS SDK sends `Date`s
//! through `JSON.stringify`, i.e. as ISO-8601 UTC with milliseconds and `Z`
//! (`instaml-steps.md` §2); the server returns dates as stored (a string or epoch
//! milliseconds), so [`Date`] reads both.

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use crate::date::Date;
use crate::{Error, Id};

/// A Rust value that can be stored in an Instant attribute.
///
/// Implemented for strings, integers, finite floats, `bool`, [`Date`],
/// `chrono::DateTime<Utc>`, [`Id`], `serde_json::Value`, and `Option<T>` (`None` =
/// JSON `null`). Conversion fails only for non-finite floats.
pub trait AttrValue {
    /// Converts to the JSON sent in a step's args.
    ///
    /// # Errors
    /// [`Error::NonFiniteNumber`] for NaN or infinite floats.
    fn to_attr_json(&self) -> Result<Value, Error>;
}

macro_rules! int_attr {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            fn to_attr_json(&self) -> Result<Value, Error> { Ok(Value::from(*self)) }
        }
    )*};
}
int_attr!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl AttrValue for f64 {
    fn to_attr_json(&self) -> Result<Value, Error> {
        finite_number(*self)
    }
}

impl AttrValue for f32 {
    fn to_attr_json(&self) -> Result<Value, Error> {
        finite_number(f64::from(*self))
    }
}

impl AttrValue for bool {
    fn to_attr_json(&self) -> Result<Value, Error> {
        Ok(Value::Bool(*self))
    }
}

impl AttrValue for str {
    fn to_attr_json(&self) -> Result<Value, Error> {
        Ok(Value::String(self.to_string()))
    }
}

impl AttrValue for String {
    fn to_attr_json(&self) -> Result<Value, Error> {
        Ok(Value::String(self.clone()))
    }
}

impl AttrValue for Date {
    fn to_attr_json(&self) -> Result<Value, Error> {
        Ok(Value::String(self.to_iso()))
    }
}

impl AttrValue for DateTime<Utc> {
    fn to_attr_json(&self) -> Result<Value, Error> {
        Date(*self).to_attr_json()
    }
}

impl AttrValue for Id {
    fn to_attr_json(&self) -> Result<Value, Error> {
        Ok(Value::String(self.to_string()))
    }
}

impl AttrValue for Value {
    fn to_attr_json(&self) -> Result<Value, Error> {
        // serde_json cannot hold NaN or infinities, so any `Value` is storable.
        Ok(self.clone())
    }
}

impl<T: AttrValue + ?Sized> AttrValue for &T {
    fn to_attr_json(&self) -> Result<Value, Error> {
        (**self).to_attr_json()
    }
}

impl<T: AttrValue> AttrValue for Option<T> {
    fn to_attr_json(&self) -> Result<Value, Error> {
        match self {
            Some(v) => v.to_attr_json(),
            None => Ok(Value::Null),
        }
    }
}

/// A JSON number from an `f64`, refusing NaN and infinities.
///
/// # Errors
/// [`Error::NonFiniteNumber`].
pub fn finite_number(f: f64) -> Result<Value, Error> {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or(Error::NonFiniteNumber(f))
}

/// The JSON type name the server uses in messages: `string`, `number`, `boolean`,
/// `null`, `object` (JSON objects) or `array`.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
