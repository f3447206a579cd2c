//! Conversions between [`Date`] and the `time` 0.3 crate (feature `time`).
//!
//! Both directions are `TryFrom`: `time` with its `large-dates` feature reaches
//! ±999,999 years, past chrono's ±262,143, and chrono reaches past `time`'s
//! default ±9,999 years.

use time::{OffsetDateTime, PrimitiveDateTime};

use super::Date;
use crate::Error;

const NANOS_PER_MS: i128 = 1_000_000;

/// Any offset; sub-millisecond digits are dropped (rounding towards the past).
///
/// ```
/// use instant_core::Date;
/// let t = time::OffsetDateTime::from_unix_timestamp(86_400).unwrap();
/// assert_eq!(Date::try_from(t).unwrap().to_iso(), "1970-01-02T00:00:00.000Z");
/// ```
impl TryFrom<OffsetDateTime> for Date {
    type Error = Error;
    fn try_from(t: OffsetDateTime) -> Result<Self, Error> {
        let ms = t.unix_timestamp_nanos().div_euclid(NANOS_PER_MS);
        let ms = i64::try_from(ms).map_err(|_| Error::InvalidDate(t.to_string()))?;
        Date::from_millis(ms).map_err(|_| Error::InvalidDate(t.to_string()))
    }
}

/// A `PrimitiveDateTime` (no offset) is read as UTC, as the server reads
/// zone-less date strings.
impl TryFrom<PrimitiveDateTime> for Date {
    type Error = Error;
    fn try_from(t: PrimitiveDateTime) -> Result<Self, Error> {
        Date::try_from(t.assume_utc())
    }
}

/// In UTC.
///
/// ```
/// use instant_core::Date;
/// let d = Date::from_millis(1_500).unwrap();
/// let t = time::OffsetDateTime::try_from(d).unwrap();
/// assert_eq!(t.unix_timestamp_nanos(), 1_500_000_000);
/// ```
impl TryFrom<Date> for OffsetDateTime {
    type Error = Error;
    fn try_from(d: Date) -> Result<Self, Error> {
        let nanos =
            i128::from(d.0.timestamp()) * 1_000_000_000 + i128::from(d.0.timestamp_subsec_nanos());
        OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| Error::InvalidDate(d.to_iso()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_time() {
        let d = Date::from_millis(1_733_280_000_123).unwrap();
        let t = OffsetDateTime::try_from(d).unwrap();
        assert_eq!(t.millisecond(), 123);
        assert_eq!(Date::try_from(t).unwrap(), d);
    }

    #[test]
    fn drops_sub_millisecond_digits_towards_the_past() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(-1).unwrap();
        assert_eq!(Date::try_from(t).unwrap().millis(), -1);
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_999_999).unwrap();
        assert_eq!(Date::try_from(t).unwrap().millis(), 1);
    }

    #[test]
    fn offsets_and_primitive_date_times() {
        let p = time::Date::from_calendar_date(2025, time::Month::January, 15)
            .unwrap()
            .with_hms(21, 0, 0)
            .unwrap();
        assert_eq!(
            Date::try_from(p).unwrap().to_iso(),
            "2025-01-15T21:00:00.000Z"
        );
        let paris = p.assume_offset(time::UtcOffset::from_hms(1, 0, 0).unwrap());
        assert_eq!(
            Date::try_from(paris).unwrap().to_iso(),
            "2025-01-15T20:00:00.000Z"
        );
    }

    #[test]
    fn out_of_range_is_a_typed_error() {
        let far = Date::from_millis(200_000 * 365 * 86_400_000).unwrap();
        assert!(matches!(
            OffsetDateTime::try_from(far),
            Err(Error::InvalidDate(_))
        ));
    }
}
