//! Value kinds: which Rust field types are Instant attributes, and which Rust
//! values can be written to or compared with an attribute.
//!
//! Instant attributes have one of five checked types (`string`, `number`,
//! `boolean`, `date`, `json`; `schema-and-platform.md`). [`AttrType`] maps a field
//! type of a `#[derive(Entity)]` struct to its kind; [`IntoValue`] says which
//! values may be given for it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::Json;
use crate::{AttrValue, Date, Error, Id, ValueType};

/// A kind of attribute value (a zero-sized tag type).
pub trait Kind: 'static {
    /// The schema value type (`None` for the `id` attribute).
    const VALUE_TYPE: Option<ValueType>;
}

/// The `string` kind.
pub enum StringKind {}
/// The `number` kind.
pub enum NumberKind {}
/// The `boolean` kind.
pub enum BooleanKind {}
/// The `date` kind (stored as an ISO string or epoch milliseconds).
pub enum DateKind {}
/// The `json` kind (any JSON; not comparable, mergeable).
pub enum JsonKind {}
/// The kind of the implicit `id` attribute.
pub enum IdKind {}

impl Kind for StringKind {
    const VALUE_TYPE: Option<ValueType> = Some(ValueType::String);
}
impl Kind for NumberKind {
    const VALUE_TYPE: Option<ValueType> = Some(ValueType::Number);
}
impl Kind for BooleanKind {
    const VALUE_TYPE: Option<ValueType> = Some(ValueType::Boolean);
}
impl Kind for DateKind {
    const VALUE_TYPE: Option<ValueType> = Some(ValueType::Date);
}
impl Kind for JsonKind {
    const VALUE_TYPE: Option<ValueType> = Some(ValueType::Json);
}
impl Kind for IdKind {
    const VALUE_TYPE: Option<ValueType> = None;
}

/// Kinds that `$gt`/`$gte`/`$lt`/`$lte` and `order` accept (the server needs a
/// checked data type: not `json`).
#[diagnostic::on_unimplemented(
    message = "comparisons and `order` need a string, number, boolean or date attribute, not `{Self}`",
    label = "this attribute's kind cannot be compared",
    note = "Instant compares only attributes with a checked data type (json attributes are not)"
)]
pub trait Comparable: Kind {}
impl Comparable for StringKind {}
impl Comparable for NumberKind {}
impl Comparable for BooleanKind {}
impl Comparable for DateKind {}

/// Kinds that `$like`/`$ilike` accept (only `string`).
#[diagnostic::on_unimplemented(
    message = "`like`/`ilike` need a string attribute, but this one is `{Self}`",
    label = "not a string attribute"
)]
pub trait Textual: Kind {}
impl Textual for StringKind {}

/// Kinds that `merge` accepts (only `json`).
#[diagnostic::on_unimplemented(
    message = "`merge` only applies to json attributes, but this one is `{Self}`",
    label = "not a json attribute",
    note = "declare the field as `Json<T>` or `serde_json::Value`, or use `update` instead"
)]
pub trait Mergeable: Kind {}
impl Mergeable for JsonKind {}

/// A Rust field type usable as an Instant attribute in `#[derive(Entity)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported Instant attribute type",
    label = "unsupported attribute type",
    note = "use String, i8..i64, u8..u64, f32, f64, bool, instant_core::Date, chrono::DateTime<Utc>, Json<T>, serde_json::Value, or Option<_> of one of them"
)]
pub trait AttrType {
    /// The value kind.
    type Kind: Kind;
    /// The type without `Option` (what setters and filters take).
    type Inner;
    /// True for `Option<T>`: the attribute is optional (`required: false`).
    const OPTIONAL: bool;
    /// The value used when the attribute is absent from a result: `Some(None)` for
    /// `Option`, `None` (an error) otherwise.
    fn missing() -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

macro_rules! attr_type {
    ($kind:ty: $($t:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl AttrType for $t {
            type Kind = $kind;
            type Inner = $t;
            const OPTIONAL: bool = false;
        }
    )*};
}
attr_type!(StringKind: String);
attr_type!(NumberKind: i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
attr_type!(BooleanKind: bool);
attr_type!(DateKind: Date, DateTime<Utc>);
attr_type!(JsonKind: Value);

#[diagnostic::do_not_recommend]
impl<T> AttrType for Json<T> {
    type Kind = JsonKind;
    type Inner = Json<T>;
    const OPTIONAL: bool = false;
}

#[diagnostic::do_not_recommend]
impl<T: AttrType> AttrType for Option<T> {
    type Kind = T::Kind;
    type Inner = T::Inner;
    const OPTIONAL: bool = true;
    fn missing() -> Option<Self> {
        Some(None)
    }
}

/// A Rust value that can be written to (or compared with) an attribute whose
/// Rust type is `V`.
///
/// `String` attributes take `&str`/`String`; integer attributes take any integer;
/// float attributes any number; `Date` attributes `Date` or `DateTime<Utc>`;
/// `Json<T>` attributes a `T`; `serde_json::Value` attributes anything serializable.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a value of type `{V}`",
    label = "expected a value convertible to `{V}`"
)]
pub trait IntoValue<V> {
    /// The JSON value.
    ///
    /// # Errors
    /// [`Error::NonFiniteNumber`] for NaN/infinite floats; [`Error::InvalidValue`]
    /// when a JSON value fails to serialize.
    fn into_value(self) -> Result<Value, Error>;
}

#[diagnostic::do_not_recommend]
impl IntoValue<String> for String {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::String(self))
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<String> for &str {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::String(self.to_string()))
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<String> for &String {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::String(self.clone()))
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<bool> for bool {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::Bool(self))
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<Id> for Id {
    fn into_value(self) -> Result<Value, Error> {
        self.to_attr_json()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<Date> for Date {
    fn into_value(self) -> Result<Value, Error> {
        self.to_attr_json()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<Date> for DateTime<Utc> {
    fn into_value(self) -> Result<Value, Error> {
        self.to_attr_json()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<DateTime<Utc>> for DateTime<Utc> {
    fn into_value(self) -> Result<Value, Error> {
        self.to_attr_json()
    }
}
#[diagnostic::do_not_recommend]
impl IntoValue<DateTime<Utc>> for Date {
    fn into_value(self) -> Result<Value, Error> {
        self.to_attr_json()
    }
}

/// Integer Rust types (sealed).
#[diagnostic::on_unimplemented(message = "`{Self}` is not an integer")]
pub trait Integer: AttrValue {}
/// Number Rust types, integers and floats (sealed).
#[diagnostic::on_unimplemented(message = "`{Self}` is not a number")]
pub trait Number: AttrValue {}
macro_rules! numbers {
    (int: $($i:ty),*; float: $($f:ty),*) => {
        $(impl Integer for $i {} impl Number for $i {})*
        $(impl Number for $f {})*
        $(#[diagnostic::do_not_recommend] impl<N: Integer> IntoValue<$i> for N {
            fn into_value(self) -> Result<Value, Error> { self.to_attr_json() }
        })*
        $(#[diagnostic::do_not_recommend] impl<N: Number> IntoValue<$f> for N {
            fn into_value(self) -> Result<Value, Error> { self.to_attr_json() }
        })*
    };
}
numbers!(int: i8, i16, i32, i64, u8, u16, u32, u64; float: f32, f64);

#[diagnostic::do_not_recommend]
impl<T: Serialize> IntoValue<Value> for T {
    fn into_value(self) -> Result<Value, Error> {
        serde_json::to_value(self).map_err(|e| Error::InvalidValue(e.to_string()))
    }
}

#[diagnostic::do_not_recommend]
impl<T: Serialize> IntoValue<Json<T>> for T {
    fn into_value(self) -> Result<Value, Error> {
        serde_json::to_value(self).map_err(|e| Error::InvalidValue(e.to_string()))
    }
}
