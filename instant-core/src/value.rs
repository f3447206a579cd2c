//! Attribute values: how Rust values become the JSON Instant stores, and dates.
//!
//! Instant stores any JSON value in an attribute; typed attributes (`string`,
//! `number`, `boolean`, `date`) are checked by the server. The JS SDK sends `Date`s
//! through `JSON.stringify`, i.e. as ISO-8601 UTC with milliseconds and `Z`
//! (`instaml-steps.md` §2); the server returns dates as stored (a string or epoch
//! milliseconds), so [`Date`] reads both.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::{Error, Id};

/// A point in time as an Instant `date` attribute holds it.
///
/// Serialises as ISO-8601 UTC with milliseconds and `Z`
/// (`"2024-01-01T00:00:00.000Z"`), like the JS SDK. Deserialises from such strings,
/// other ISO-8601 forms (with an offset, or without a zone = UTC, e.g.
/// `"2021-01-07 18:51:23.742637"`), a plain date (`"2024-01-01"`), or epoch
/// milliseconds (a JSON number).
///
/// ```
/// use instant_core::Date;
/// let d: Date = serde_json::from_str("0").unwrap();
/// assert_eq!(serde_json::to_string(&d).unwrap(), "\"1970-01-01T00:00:00.000Z\"");
/// let d: Date = serde_json::from_str("\"2021-01-07 18:51:23.742637\"").unwrap();
/// assert_eq!(d.to_iso(), "2021-01-07T18:51:23.742Z");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub DateTime<Utc>);

impl Date {
    /// The current time.
    pub fn now() -> Self {
        Date(Utc::now())
    }

    /// From epoch milliseconds.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when out of chrono's range.
    pub fn from_millis(ms: i64) -> Result<Self, Error> {
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(Date)
            .ok_or_else(|| Error::InvalidDate(ms.to_string()))
    }

    /// Epoch milliseconds.
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// ISO-8601 UTC with milliseconds and `Z`, as the JS SDK sends dates.
    pub fn to_iso(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Parses a date string the way the server accepts date strings for `date`
    /// attributes (`semantics.md` §3.3): RFC 3339 / ISO-8601 with or without
    /// offset (no offset = UTC), with `T` or a space, a bare `YYYY-MM-DD`, or
    /// RFC 1123/2822 (`Wed, 15 Jan 2025 20:53:08 GMT`). Relative words (`now`,
    /// `today`, `tomorrow`, `yesterday`) are rejected as the server rejects them.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when the text is no date.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        // A string holding a JSON-quoted date (`"\"2025-01-15\""`) is tried too,
        // as upstream `triple.clj` does.
        if let Some(inner) = t
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .filter(|r| !r.contains('"'))
        {
            return Date::parse(inner).map_err(|_| Error::InvalidDate(s.to_string()));
        }
        if let Ok(d) = DateTime::parse_from_rfc3339(t) {
            return Ok(Date(d.with_timezone(&Utc)));
        }
        if let Ok(d) = DateTime::parse_from_rfc2822(t) {
            return Ok(Date(d.with_timezone(&Utc)));
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f%#z",
            "%Y-%m-%dT%H:%M:%S%.f%#z",
        ] {
            if let Ok(d) = DateTime::parse_from_str(t, fmt) {
                return Ok(Date(d.with_timezone(&Utc)));
            }
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(d) = NaiveDateTime::parse_from_str(t, fmt) {
                return Ok(Date(Utc.from_utc_datetime(&d)));
            }
        }
        // JS `Date.prototype.toString()` / `toDateString()` forms:
        // "Wed Jul 09 2025 12:00:00 GMT+0200 (Central European Summer Time)", "Wed Jul 09 2025".
        let js = t.split(" (").next().unwrap_or(t);
        if let Ok(d) = DateTime::parse_from_str(js, "%a %b %d %Y %H:%M:%S GMT%z") {
            return Ok(Date(d.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, "%a %b %d %Y") {
            if let Some(dt) = d.and_hms_opt(0, 0, 0) {
                return Ok(Date(Utc.from_utc_datetime(&dt)));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            if let Some(dt) = d.and_hms_opt(0, 0, 0) {
                return Ok(Date(Utc.from_utc_datetime(&dt)));
            }
        }
        Err(Error::InvalidDate(s.to_string()))
    }

    /// Reads a stored date value: a string ([`Date::parse`]) or epoch milliseconds.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] for other JSON or unparseable text.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        match v {
            Value::String(s) => Date::parse(s),
            Value::Number(n) => match n.as_i64() {
                Some(ms) => Date::from_millis(ms),
                None => match n.as_f64() {
                    Some(f) if f.is_finite() => Date::from_millis(f as i64),
                    _ => Err(Error::InvalidDate(n.to_string())),
                },
            },
            other => Err(Error::InvalidDate(other.to_string())),
        }
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({})", self.to_iso())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl From<DateTime<Utc>> for Date {
    fn from(d: DateTime<Utc>) -> Self {
        Date(d)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_iso())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Date::from_json(&v).map_err(serde::de::Error::custom)
    }
}

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
