//! Unit tests of [`Date`]: epoch milliseconds, arithmetic, chrono conversions,
//! millisecond precision.

use std::time::Duration;

use chrono::{FixedOffset, NaiveDate, TimeDelta, TimeZone, Utc};

use super::Date;
use crate::Error;

#[test]
fn from_millis_and_try_from_i64() {
    let d = Date::from_millis(1_733_280_000_123).unwrap();
    assert_eq!(d.to_iso(), "2024-12-04T02:40:00.123Z");
    assert_eq!(d.millis(), 1_733_280_000_123);
    assert_eq!(Date::try_from(1_733_280_000_123_i64).unwrap(), d);
    assert_eq!(
        Date::from_millis(-1).unwrap().to_iso(),
        "1969-12-31T23:59:59.999Z"
    );
    assert!(matches!(
        Date::try_from(i64::MIN),
        Err(Error::InvalidDate(_))
    ));
    assert!(matches!(
        Date::from_millis(i64::MAX),
        Err(Error::InvalidDate(_))
    ));
}

#[test]
fn adds_and_subtracts_durations() {
    let d = Date::from_millis(10_000).unwrap();
    assert_eq!((d + Duration::from_millis(1_500)).millis(), 11_500);
    assert_eq!((d - Duration::from_millis(1_500)).millis(), 8_500);
    assert_eq!((d + TimeDelta::milliseconds(-20_000)).millis(), -10_000);
    assert_eq!((d - TimeDelta::seconds(1)).millis(), 9_000);
    let mut m = d;
    m += Duration::from_secs(1);
    m -= TimeDelta::milliseconds(250);
    m += TimeDelta::milliseconds(50);
    m -= Duration::from_millis(800);
    assert_eq!(m, d);
}

#[test]
fn difference_of_dates_is_signed() {
    let a = Date::from_millis(1_000).unwrap();
    let b = Date::from_millis(4_500).unwrap();
    assert_eq!(b - a, TimeDelta::milliseconds(3_500));
    assert_eq!(a - b, TimeDelta::milliseconds(-3_500));
    assert_eq!(b.since(a), b - a);
    assert_eq!(a + (b - a), b);
}

#[test]
fn checked_arithmetic_reports_overflow() {
    let max = Date(chrono::DateTime::<Utc>::MAX_UTC);
    assert_eq!(max.checked_add(TimeDelta::milliseconds(1)), None);
    let min = Date(chrono::DateTime::<Utc>::MIN_UTC);
    assert_eq!(min.checked_sub(TimeDelta::milliseconds(1)), None);
    assert!(Date::from_millis(0)
        .unwrap()
        .checked_add(TimeDelta::days(1))
        .is_some());
}

#[test]
#[should_panic(expected = "overflow")]
fn adding_a_huge_std_duration_panics_like_system_time() {
    let _ = Date::from_millis(0).unwrap() + Duration::from_secs(u64::MAX);
}

#[test]
fn converts_from_and_to_chrono() {
    let paris = FixedOffset::east_opt(3600).unwrap();
    let p = paris
        .with_ymd_and_hms(2025, 1, 15, 21, 0, 0)
        .unwrap()
        .checked_add_signed(TimeDelta::microseconds(123_456))
        .unwrap();
    let d = Date::from(p);
    assert_eq!(d.to_iso(), "2025-01-15T20:00:00.123Z");
    assert_eq!(d.0.timestamp_subsec_nanos(), 123_000_000, "sub-ms dropped");
    let back: chrono::DateTime<Utc> = d.into();
    assert_eq!(back, d.to_chrono());
    let naive = NaiveDate::from_ymd_opt(2025, 1, 15)
        .unwrap()
        .and_hms_milli_opt(20, 0, 0, 123)
        .unwrap();
    assert_eq!(Date::from(naive), d);
    // Before 1970 the truncation rounds towards the past, as `millis()` does.
    let early = Utc.timestamp_opt(-1, 999_999_999).unwrap();
    assert_eq!(Date::from(early).millis(), -1);
    assert_eq!(Date::from(early), Date::from_millis(-1).unwrap());
}

#[test]
fn now_has_millisecond_precision_and_round_trips_through_json() {
    for _ in 0..100 {
        let now = Date::now();
        assert_eq!(now.0.timestamp_subsec_nanos() % 1_000_000, 0);
        let text = serde_json::to_string(&now).unwrap();
        let back: Date = serde_json::from_str(&text).unwrap();
        assert_eq!(back, now);
        let back: Date = serde_json::from_value(now.millis().into()).unwrap();
        assert_eq!(back, now);
    }
}

#[test]
fn parse_keeps_sub_millisecond_digits_for_the_server() {
    let d = Date::parse("2021-01-07 18:51:23.742637").unwrap();
    assert_eq!(d.0.timestamp_subsec_micros(), 742_637);
    assert_eq!(d.to_iso(), "2021-01-07T18:51:23.742Z");
}
