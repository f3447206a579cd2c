//! [`Date`]: a point in time as an Instant `date` attribute holds it, with
//! epoch-millisecond input, arithmetic with durations, and conversions from and
//! to `chrono` (and `time` 0.3 behind the optional `time` feature).
//!
//! Instant's clients send dates as ISO-8601 UTC with milliseconds
//! (`instaml-steps.md` §2, JS `Date.toJSON()`), so a date written from Rust and
//! read back is equal only at millisecond precision: [`Date::now`],
//! [`Date::from_millis`] and every `From`/`TryFrom` conversion give
//! millisecond-precise values (sub-millisecond digits are dropped, rounding
//! towards the past). [`Date::parse`] alone keeps sub-millisecond digits of a
//! stored string, because the server compares dates at its `timestamptz`
//! precision (microseconds, `server/src/instant/db/model/triple.clj`).

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::Error;

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
///
/// Arithmetic: `Date ± chrono::TimeDelta`, `Date ± std::time::Duration`, and
/// `Date - Date` giving a signed `chrono::TimeDelta` (negative when the right
/// side is later). Sub-millisecond parts of a duration are kept in the sum; the
/// value is written with milliseconds.
///
/// ```
/// use std::time::Duration;
/// use chrono::TimeDelta;
/// use instant_core::Date;
///
/// let start = Date::from_millis(1_700_000_000_000).unwrap();
/// let due = start + Duration::from_secs(3600);
/// assert_eq!(due.millis(), 1_700_003_600_000);
/// assert_eq!(due - start, TimeDelta::hours(1));
/// assert_eq!(start - due, TimeDelta::hours(-1));
/// assert_eq!(due - TimeDelta::minutes(30), start + TimeDelta::minutes(30));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub DateTime<Utc>);

impl Date {
    /// The current time, truncated to milliseconds, so that the value written
    /// equals the value read back.
    ///
    /// ```
    /// use instant_core::Date;
    /// let now = Date::now();
    /// assert_eq!(now.0.timestamp_subsec_nanos() % 1_000_000, 0);
    /// assert_eq!(Date::from_millis(now.millis()).unwrap(), now);
    /// ```
    pub fn now() -> Self {
        Date::from_chrono(Utc::now())
    }

    /// From epoch milliseconds (what JS `Date.now()` and `getTime()` give; a
    /// `date` attribute may hold such a number).
    ///
    /// ```
    /// use instant_core::Date;
    /// let d = Date::from_millis(86_400_000).unwrap();
    /// assert_eq!(d.to_iso(), "1970-01-02T00:00:00.000Z");
    /// assert!(Date::from_millis(i64::MAX).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when out of chrono's range (about ±262,000 years).
    pub fn from_millis(ms: i64) -> Result<Self, Error> {
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(Date)
            .ok_or_else(|| Error::InvalidDate(ms.to_string()))
    }

    /// Epoch milliseconds (rounded towards the past).
    pub fn millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The `chrono` value.
    pub fn to_chrono(&self) -> DateTime<Utc> {
        self.0
    }

    /// A `chrono` date-time of any time zone, truncated to milliseconds.
    ///
    /// ```
    /// use chrono::{FixedOffset, TimeZone};
    /// use instant_core::Date;
    /// let paris = FixedOffset::east_opt(3600).unwrap();
    /// let d = Date::from_chrono(paris.with_ymd_and_hms(2025, 1, 15, 21, 0, 0).unwrap());
    /// assert_eq!(d.to_iso(), "2025-01-15T20:00:00.000Z");
    /// ```
    pub fn from_chrono<Tz: TimeZone>(d: DateTime<Tz>) -> Self {
        let d = d.with_timezone(&Utc);
        // Dropping sub-millisecond nanoseconds keeps `d` inside chrono's range.
        let sub_ms = i64::from(d.timestamp_subsec_nanos() % 1_000_000);
        Date(
            d.checked_sub_signed(TimeDelta::nanoseconds(sub_ms))
                .unwrap_or(d),
        )
    }

    /// ISO-8601 UTC with milliseconds and `Z`, as the JS SDK sends dates.
    pub fn to_iso(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// `self + d`, or `None` past chrono's range.
    pub fn checked_add(self, d: TimeDelta) -> Option<Date> {
        self.0.checked_add_signed(d).map(Date)
    }

    /// `self - d`, or `None` past chrono's range.
    pub fn checked_sub(self, d: TimeDelta) -> Option<Date> {
        self.0.checked_sub_signed(d).map(Date)
    }

    /// The signed time from `earlier` to `self` (same as `self - earlier`).
    pub fn since(self, earlier: Date) -> TimeDelta {
        self.0.signed_duration_since(earlier.0)
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

/// A std `Duration` as a `TimeDelta`; `None` above `i64::MAX` milliseconds.
fn std_delta(d: std::time::Duration) -> Option<TimeDelta> {
    TimeDelta::from_std(d).ok()
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

/// Any `chrono` zone; see [`Date::from_chrono`] (milliseconds kept).
impl<Tz: TimeZone> From<DateTime<Tz>> for Date {
    fn from(d: DateTime<Tz>) -> Self {
        Date::from_chrono(d)
    }
}

impl From<Date> for DateTime<Utc> {
    fn from(d: Date) -> Self {
        d.0
    }
}

/// A naive date-time is read as UTC (as the server reads zone-less strings).
impl From<NaiveDateTime> for Date {
    fn from(d: NaiveDateTime) -> Self {
        Date::from_chrono(d.and_utc())
    }
}

/// Epoch milliseconds; see [`Date::from_millis`]. `TryFrom`, not `From`: an
/// `i64` of milliseconds reaches past chrono's range.
///
/// ```
/// use instant_core::Date;
/// let d = Date::try_from(1_000_i64).unwrap();
/// assert_eq!(d.millis(), 1000);
/// ```
impl TryFrom<i64> for Date {
    type Error = Error;
    fn try_from(ms: i64) -> Result<Self, Error> {
        Date::from_millis(ms)
    }
}

/// # Panics
/// Past chrono's range (as `DateTime + TimeDelta` does); see [`Date::checked_add`].
impl Add<TimeDelta> for Date {
    type Output = Date;
    fn add(self, d: TimeDelta) -> Date {
        Date(self.0 + d)
    }
}

/// # Panics
/// Past chrono's range; see [`Date::checked_sub`].
impl Sub<TimeDelta> for Date {
    type Output = Date;
    fn sub(self, d: TimeDelta) -> Date {
        Date(self.0 - d)
    }
}

/// # Panics
/// Past chrono's range (as `std::time::SystemTime + Duration` does).
impl Add<std::time::Duration> for Date {
    type Output = Date;
    fn add(self, d: std::time::Duration) -> Date {
        std_delta(d)
            .and_then(|d| self.checked_add(d))
            .expect("overflow when adding a duration to a Date")
    }
}

/// # Panics
/// Past chrono's range.
impl Sub<std::time::Duration> for Date {
    type Output = Date;
    fn sub(self, d: std::time::Duration) -> Date {
        std_delta(d)
            .and_then(|d| self.checked_sub(d))
            .expect("overflow when subtracting a duration from a Date")
    }
}

/// The signed time between two dates (never overflows: chrono's range is far
/// inside `TimeDelta`'s).
impl Sub<Date> for Date {
    type Output = TimeDelta;
    fn sub(self, earlier: Date) -> TimeDelta {
        self.since(earlier)
    }
}

impl AddAssign<TimeDelta> for Date {
    fn add_assign(&mut self, d: TimeDelta) {
        *self = *self + d;
    }
}

impl SubAssign<TimeDelta> for Date {
    fn sub_assign(&mut self, d: TimeDelta) {
        *self = *self - d;
    }
}

impl AddAssign<std::time::Duration> for Date {
    fn add_assign(&mut self, d: std::time::Duration) {
        *self = *self + d;
    }
}

impl SubAssign<std::time::Duration> for Date {
    fn sub_assign(&mut self, d: std::time::Duration) {
        *self = *self - d;
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

#[cfg(feature = "time")]
mod time_conv;

#[cfg(test)]
mod tests;
