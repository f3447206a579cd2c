//! One where operator and its operand (spec `instaql.md` §3.2–§3.3; server
//! `where-value-valid-keys?` and `::where-args-map` in
//! `server/src/instant/db/instaql.clj`).

use serde_json::{Map, Value};

use crate::Error;

/// The operator keys the server accepts in an operator object
/// (`where-value-valid-keys?`, plus `$ne`, which the server rewrites to `$not`).
pub const OPERATOR_KEYS: [&str; 11] = [
    "$in", "in", "$not", "$ne", "$isNull", "$gt", "$gte", "$lt", "$lte", "$like", "$ilike",
];

/// A where operator and its operand.
///
/// Operands are JSON scalars (string, number, boolean; UUIDs are strings); the
/// server refuses `null`, arrays and objects as literals. The builders on
/// [`crate::Where`] can only make scalars from Rust values, except through
/// `serde_json::Value`; [`crate::Where::validate`] reports a non-scalar operand.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// Equality with a literal (string, number, boolean, uuid): `{path: value}`.
    Eq(Value),
    /// `$in`: equals any of the values; `[]` matches nothing (`null` elements are
    /// allowed on indexed attributes only).
    In(Vec<Value>),
    /// `$ne` (alias `$not`): differs, or is missing/null.
    Ne(Value),
    /// `$isNull`: `true` = missing or null; `false` = present and non-null.
    IsNull(bool),
    /// `$gt` (the server requires an indexed attribute with a checked type).
    Gt(Value),
    /// `$gte` (indexed, typed attributes only).
    Gte(Value),
    /// `$lt` (indexed, typed attributes only).
    Lt(Value),
    /// `$lte` (indexed, typed attributes only).
    Lte(Value),
    /// `$like`: case-sensitive SQL LIKE (`%` any run, `_` one character); indexed
    /// `string` attributes only.
    Like(String),
    /// `$ilike`: case-insensitive LIKE; indexed `string` attributes only.
    Ilike(String),
}

impl Op {
    /// The wire key of the operator (`"$gt"`, ...), or `None` for equality, which
    /// is written as a bare literal.
    pub fn key(&self) -> Option<&'static str> {
        Some(match self {
            Op::Eq(_) => return None,
            Op::In(_) => "$in",
            Op::Ne(_) => "$ne",
            Op::IsNull(_) => "$isNull",
            Op::Gt(_) => "$gt",
            Op::Gte(_) => "$gte",
            Op::Lt(_) => "$lt",
            Op::Lte(_) => "$lte",
            Op::Like(_) => "$like",
            Op::Ilike(_) => "$ilike",
        })
    }

    /// The value written under the path: the literal for [`Op::Eq`], else a
    /// single-key operator object (`{"$gt": 1}`).
    pub fn to_json(&self) -> Value {
        let operand = match self {
            Op::Eq(v) => return v.clone(),
            Op::In(vs) => Value::Array(vs.clone()),
            Op::Ne(v) | Op::Gt(v) | Op::Gte(v) | Op::Lt(v) | Op::Lte(v) => v.clone(),
            Op::IsNull(b) => Value::Bool(*b),
            Op::Like(s) | Op::Ilike(s) => Value::String(s.clone()),
        };
        let mut m = Map::new();
        if let Some(k) = self.key() {
            m.insert(k.to_string(), operand);
        }
        Value::Object(m)
    }

    /// Checks the operand the way the server's spec does: scalars only (`null`
    /// allowed inside `$in`). `path` is used in the error.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] for a `null`, array or object operand.
    pub fn validate(&self, path: &[String]) -> Result<(), Error> {
        let check = |v: &Value, what: &str| {
            if is_scalar(v) {
                Ok(())
            } else {
                Err(Error::query(
                    path,
                    format!("{what} takes a string, number or boolean, got {v}"),
                ))
            }
        };
        match self {
            Op::Eq(v) => check(v, "equality"),
            Op::Ne(v) => check(v, "$ne"),
            Op::Gt(v) => check(v, "$gt"),
            Op::Gte(v) => check(v, "$gte"),
            Op::Lt(v) => check(v, "$lt"),
            Op::Lte(v) => check(v, "$lte"),
            Op::In(vs) => vs
                .iter()
                .filter(|v| !v.is_null())
                .try_for_each(|v| check(v, "$in")),
            Op::IsNull(_) | Op::Like(_) | Op::Ilike(_) => Ok(()),
        }
    }

    /// Decodes the value under a where key, as the server reads it: a literal is
    /// equality; in an operator object every key must be a known operator, then
    /// `$isNull`, then `$not`/`$ne`, are found anywhere in the object, and
    /// otherwise the first key wins (the server honours one operator per object).
    ///
    /// # Errors
    /// [`Error::UnknownOperator`] for a key the server does not know (e.g.
    /// `$regex`, or the dashboard-only `$entityIdStartsWith`);
    /// [`Error::InvalidQuery`] for `null`/array literals, empty operator objects,
    /// or operands of the wrong JSON type (`$in` not an array: "expected
    /// vector?"; `$isNull` not a boolean: "expected boolean?").
    pub fn from_json(path: &[String], v: &Value) -> Result<Self, Error> {
        let bad = |m: String| Error::query(path, m);
        let m = match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => return Ok(Op::Eq(v.clone())),
            Value::Null => {
                return Err(bad(
                    "null is not a valid where value; use {\"$isNull\": true}".into(),
                ))
            }
            Value::Array(_) => {
                return Err(bad(
                    "an array is not a valid where value; use {\"$in\": [...]}".into(),
                ))
            }
            Value::Object(m) => m,
        };
        if let Some(k) = m.keys().find(|k| !OPERATOR_KEYS.contains(&k.as_str())) {
            return Err(Error::UnknownOperator {
                op: k.clone(),
                path: path.join("."),
            });
        }
        if let Some(b) = m.get("$isNull") {
            return b
                .as_bool()
                .map(Op::IsNull)
                .ok_or_else(|| bad(format!("expected boolean? for $isNull, got {b}")));
        }
        if let Some(x) = m.get("$ne").or_else(|| m.get("$not")) {
            return scalar(x)
                .map(Op::Ne)
                .ok_or_else(|| bad(format!("$ne takes a string, number or boolean, got {x}")));
        }
        let Some((k, x)) = m.iter().next() else {
            return Err(bad("an operator object needs one operator".into()));
        };
        match k.as_str() {
            "$in" | "in" => {
                let a = x
                    .as_array()
                    .ok_or_else(|| bad(format!("expected vector? for $in, got {x}")))?;
                if let Some(e) = a.iter().find(|e| !e.is_null() && !is_scalar(e)) {
                    return Err(bad(format!("$in values must be scalars, got {e}")));
                }
                Ok(Op::In(a.clone()))
            }
            "$like" | "$ilike" => {
                let s = x.as_str().ok_or_else(|| {
                    bad(format!(
                        "The {k} value for `{}` must be a string, but the query got the value `{x}`.",
                        path.last().map(String::as_str).unwrap_or("")
                    ))
                })?;
                Ok(if k == "$like" {
                    Op::Like(s.to_string())
                } else {
                    Op::Ilike(s.to_string())
                })
            }
            cmp => {
                let x = scalar(x).ok_or_else(|| bad(format!("{cmp} takes a scalar, got {x}")))?;
                Ok(match cmp {
                    "$gt" => Op::Gt(x),
                    "$gte" => Op::Gte(x),
                    "$lt" => Op::Lt(x),
                    _ => Op::Lte(x),
                })
            }
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn scalar(v: &Value) -> Option<Value> {
    is_scalar(v).then(|| v.clone())
}
