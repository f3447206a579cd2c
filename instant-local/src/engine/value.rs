//! Value helpers: JSON equality the way Postgres `jsonb` compares (numbers by value),
//! typed sort keys, date parsing, SQL `LIKE` matching and deep merge.

use std::cmp::Ordering;

use instant_core::{Date, ValueType};
use serde_json::{Map, Value};

/// JSON equality with numbers compared numerically (`1` = `1.0`), as `jsonb` does.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i == j
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A total-ordered `f64`.
#[derive(Debug, Clone, Copy)]
pub struct F(pub f64);
impl PartialEq for F {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for F {}
impl PartialOrd for F {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for F {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// A sort key: missing/null first, then booleans, numbers (and dates as epoch µs),
/// strings (code-point order), then anything else by its JSON text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    /// Missing or null.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number, or a date (epoch µs).
    Num(F),
    /// A string.
    Str(String),
    /// An array or object (by JSON text).
    Other(String),
}

/// [`parse_date_us`] in epoch milliseconds (rounded down).
pub fn parse_date_str(s: &str) -> Option<i64> {
    parse_date_us(s).map(|us| us.div_euclid(1000))
}

/// Parses a date string the way the server's `date-parsers` do
/// (`server/src/instant/db/model/triple.clj`): ISO-8601 zoned (offset may be
/// `-08`), ISO local and `yyyy-MM-dd HH:mm:ss[.n]` (UTC), ISO date, RFC-1123,
/// `EEE MMM dd yyyy`; a JSON-quoted date string is unquoted first.
/// Returns epoch microseconds (the precision of the server's `timestamptz`).
pub fn parse_date_us(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(d) = Date::parse(t) {
        return Some(d.0.timestamp_micros());
    }
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        if let Ok(Value::String(inner)) = serde_json::from_str::<Value>(t) {
            return parse_date_us(&inner);
        }
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(t) {
        return Some(d.timestamp_micros());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%a %b %d %Y") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|dt| dt.and_utc().timestamp_micros());
    }
    // An hour-only offset (`-08`, `+0530` is handled by the ISO parser).
    let b = t.as_bytes();
    if b.len() > 3 && (b[b.len() - 3] == b'+' || b[b.len() - 3] == b'-') && t.contains('T') {
        if let Ok(d) = Date::parse(&format!("{t}:00")) {
            return Some(d.0.timestamp_micros());
        }
    }
    None
}

/// Epoch microseconds of a date value (a number is epoch ms; a parseable
/// string keeps its sub-millisecond digits): dates compare and sort at the
/// server's `timestamptz` precision (`triples_extract_date_value`).
pub fn date_us(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().map(|ms| ms * 1000.0),
        Value::String(s) => parse_date_us(s).map(|us| us as f64),
        _ => None,
    }
}

/// Epoch milliseconds of a date value (number or parseable string).
pub fn date_ms(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_date_str(s).map(|ms| ms as f64),
        _ => None,
    }
}

/// The sort key of a stored value for an attr of checked type `t` (dates become
/// instants; values not of the type sort like untyped JSON).
pub fn sort_key(v: Option<&Value>, t: Option<ValueType>) -> SortKey {
    let Some(v) = v else { return SortKey::Null };
    if t == Some(ValueType::Date) {
        if let Some(us) = date_us(v) {
            return SortKey::Num(F(us));
        }
    }
    match v {
        Value::Null => SortKey::Null,
        Value::Bool(b) => SortKey::Bool(*b),
        Value::Number(n) => SortKey::Num(F(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => SortKey::Str(s.clone()),
        other => SortKey::Other(other.to_string()),
    }
}

/// One element of a `LIKE` pattern.
#[derive(Clone, Copy, PartialEq)]
enum LikeTok {
    /// A character that must match itself.
    Lit(char),
    /// `_`: any one character.
    One,
    /// `%`: any run of characters, including none.
    Any,
}

/// SQL `LIKE` (Postgres, as the official server runs it: `datalog.clj`'s
/// `:like`/`:ilike`): `%` any run (including none), `_` one character,
/// whole-value match, and `\` the escape character (`\%`, `\_`, `\\` match
/// the character itself). A trailing lone `\` matches a backslash (Postgres
/// rejects such a pattern; instant-local is lenient).
pub fn like(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (pattern, text) = if case_insensitive {
        (pattern.to_lowercase(), text.to_lowercase())
    } else {
        (pattern.to_string(), text.to_string())
    };
    let mut p: Vec<LikeTok> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            '\\' => LikeTok::Lit(chars.next().unwrap_or('\\')),
            '%' => LikeTok::Any,
            '_' => LikeTok::One,
            c => LikeTok::Lit(c),
        });
    }
    let t: Vec<char> = text.chars().collect();
    // Iterative wildcard matching with backtracking on the last `%`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut mark = 0usize;
    while ti < t.len() {
        let step = p.get(pi).copied();
        if step == Some(LikeTok::One) || step == Some(LikeTok::Lit(t[ti])) {
            pi += 1;
            ti += 1;
        } else if step == Some(LikeTok::Any) {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while p.get(pi) == Some(&LikeTok::Any) {
        pi += 1;
    }
    pi == p.len()
}

/// Deep merge (`jsonb_deep_merge`): objects merge recursively, a `null` in the patch
/// deletes the key, anything else replaces. A missing/non-object old value or a
/// non-object patch is replaced by the patch verbatim.
pub fn deep_merge(old: Option<&Value>, patch: &Value) -> Value {
    match (old, patch) {
        (Some(Value::Object(o)), Value::Object(p)) => Value::Object(merge_obj(o, p)),
        _ => patch.clone(),
    }
}

fn merge_obj(o: &Map<String, Value>, p: &Map<String, Value>) -> Map<String, Value> {
    let mut out = o.clone();
    for (k, v) in p {
        match v {
            Value::Null => {
                out.remove(k);
            }
            Value::Object(pv) => match out.get(k) {
                Some(Value::Object(ov)) => {
                    let merged = merge_obj(ov, pv);
                    out.insert(k.clone(), Value::Object(merged));
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            },
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// True when a string anywhere in `v` contains a NUL character.
pub fn has_null_byte(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\u{0}'),
        Value::Array(a) => a.iter().any(has_null_byte),
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.contains('\u{0}') || has_null_byte(x)),
        _ => false,
    }
}

/// Does `v` fit checked type `t` (null always does)?
pub fn fits_type(v: &Value, t: ValueType) -> bool {
    match (t, v) {
        (_, Value::Null) => true,
        (ValueType::String, Value::String(_)) => true,
        (ValueType::Number, Value::Number(_)) => true,
        (ValueType::Boolean, Value::Bool(_)) => true,
        (ValueType::Date, Value::Number(_)) => true,
        (ValueType::Date, Value::String(s)) => parse_date_str(s).is_some(),
        (ValueType::Json, _) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn like_patterns() {
        assert!(like("Get%", "Get fit", false));
        assert!(like("%fit%", "Get fit now", false));
        assert!(like("%done", "all done", false));
        assert!(!like("%done", "all done!", false));
        assert!(like("a_c", "abc", false));
        assert!(!like("a_c", "abbc", false));
        assert!(like("abc", "abc", false));
        assert!(!like("ABC", "abc", false));
        assert!(like("ABC", "abc", true));
        assert!(like("%", "", false));
        assert!(like("%a%b%", "xxaxxbxx", false));
    }

    #[test]
    fn merge_rules() {
        let old = json!({"a": {"b": 1, "c": 2}, "d": 3});
        let m = deep_merge(Some(&old), &json!({"a": {"b": null, "e": 4}, "d": [1]}));
        assert_eq!(m, json!({"a": {"c": 2, "e": 4}, "d": [1]}));
        assert_eq!(deep_merge(None, &json!({"x": null})), json!({"x": null}));
        assert_eq!(
            deep_merge(Some(&json!(5)), &json!({"x": 1})),
            json!({"x": 1})
        );
    }

    #[test]
    fn date_formats() {
        let ms = |s: &str| parse_date_str(s);
        assert_eq!(ms("Sat, 05 Apr 2025 18:00:31 GMT"), Some(1743876031000));
        assert_eq!(ms("Wed Jul 09 2025"), Some(1752019200000));
        assert_eq!(ms("2025-01-02T00:00:00-08"), Some(1735804800000));
        assert_eq!(ms("\"2025-01-15 20:53:08\""), Some(1736974388000));
        assert_eq!(ms("2025-01-15 20:53:09.5"), Some(1736974389500));
        assert_eq!(ms("2025-01-01"), Some(1735689600000));
        assert_eq!(ms("tomorrow"), None);
    }

    #[test]
    fn eq_numbers() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(2013), &json!("2013")));
    }
}
