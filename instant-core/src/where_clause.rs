//! InstaQL `where` filters (spec `instaql.md` §3, `semantics.md` §3).
//!
//! A [`Where`] is a tree of conditions on attribute paths, combined with `and` /
//! `or`. The server honours only one operator per operator object, so the encoder
//! never puts two conditions on one path in one object: it wraps them in `and`.
//!
//! ```
//! use instant_core::Where;
//! use serde_json::json;
//!
//! let w = Where::gt("n", 1) & Where::lt("n", 5) & Where::eq("done", false);
//! assert_eq!(
//!     w.to_json(),
//!     json!({"n": {"$gt": 1}, "done": false, "and": [{"n": {"$lt": 5}}]})
//! );
//! let w = Where::eq("title", "A") | Where::is_null("owner", true);
//! assert_eq!(w.to_json(), json!({"or": [{"title": "A"}, {"owner": {"$isNull": true}}]}));
//! assert!(Where::from_json(&json!({"n": {"$regex": "x"}})).is_err());
//! ```

use std::ops::{BitAnd, BitOr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{AttrValue, Error};

/// A where operator and its operand.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// Equality with a literal (string, number, boolean, uuid).
    Eq(Value),
    /// `$in`: equals any of the values (`null` allowed on indexed attrs).
    In(Vec<Value>),
    /// `$ne` (alias `$not`): differs, or is missing/null.
    Ne(Value),
    /// `$isNull`: `true` = missing or null; `false` = present and non-null.
    IsNull(bool),
    /// `$gt` (indexed, typed attrs only).
    Gt(Value),
    /// `$gte`.
    Gte(Value),
    /// `$lt`.
    Lt(Value),
    /// `$lte`.
    Lte(Value),
    /// `$like`: case-sensitive SQL LIKE (`%`, `_`); indexed string attrs only.
    Like(String),
    /// `$ilike`: case-insensitive LIKE.
    Ilike(String),
}

impl Op {
    /// The operand as the wire sends it for this path.
    pub fn to_json(&self) -> Value {
        let one = |k: &str, v: Value| {
            let mut m = Map::new();
            m.insert(k.to_string(), v);
            Value::Object(m)
        };
        match self {
            Op::Eq(v) => v.clone(),
            Op::In(vs) => one("$in", Value::Array(vs.clone())),
            Op::Ne(v) => one("$ne", v.clone()),
            Op::IsNull(b) => one("$isNull", Value::Bool(*b)),
            Op::Gt(v) => one("$gt", v.clone()),
            Op::Gte(v) => one("$gte", v.clone()),
            Op::Lt(v) => one("$lt", v.clone()),
            Op::Lte(v) => one("$lte", v.clone()),
            Op::Like(s) => one("$like", Value::String(s.clone())),
            Op::Ilike(s) => one("$ilike", Value::String(s.clone())),
        }
    }

    /// Decodes the value under a where key, as the server reads it: a literal is
    /// equality; an operator object is read by its operator (`$isNull`, then
    /// `$not`/`$ne`, are found anywhere in the object; otherwise the first key wins).
    ///
    /// # Errors
    /// [`Error::UnknownOperator`] for an operator the server does not know,
    /// [`Error::InvalidQuery`] for `null`/array literals, empty objects, or operands
    /// of the wrong JSON type.
    pub fn from_json(path: &[String], v: &Value) -> Result<Self, Error> {
        let bad = |m: String| Error::query(path, m);
        match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(Op::Eq(v.clone())),
            Value::Null => Err(bad(
                "null is not a valid where value; use {\"$isNull\": true}".into(),
            )),
            Value::Array(_) => Err(bad(
                "an array is not a valid where value; use {\"$in\": [...]}".into(),
            )),
            Value::Object(m) => {
                if let Some(b) = m.get("$isNull") {
                    return b
                        .as_bool()
                        .map(Op::IsNull)
                        .ok_or_else(|| bad(format!("$isNull must be a boolean, got {b}")));
                }
                if let Some(x) = m.get("$ne").or_else(|| m.get("$not")) {
                    return scalar(x).map(Op::Ne).map_err(|_| {
                        bad(format!("$ne must be a string, number or boolean, got {x}"))
                    });
                }
                let (k, x) = m
                    .iter()
                    .next()
                    .ok_or_else(|| bad("an empty operator object".into()))?;
                match k.as_str() {
                    "$in" | "in" => match x {
                        Value::Array(a) => {
                            for e in a {
                                if !e.is_null() {
                                    scalar(e).map_err(|_| {
                                        bad(format!("$in values must be scalars, got {e}"))
                                    })?;
                                }
                            }
                            Ok(Op::In(a.clone()))
                        }
                        other => Ok(Op::In(vec![scalar(other)
                            .map_err(|_| bad(format!("$in takes an array, got {other}")))?])),
                    },
                    "$gt" | "$gte" | "$lt" | "$lte" => {
                        let x =
                            scalar(x).map_err(|_| bad(format!("{k} takes a scalar, got {x}")))?;
                        Ok(match k.as_str() {
                            "$gt" => Op::Gt(x),
                            "$gte" => Op::Gte(x),
                            "$lt" => Op::Lt(x),
                            _ => Op::Lte(x),
                        })
                    }
                    "$like" | "$ilike" => {
                        let s = x.as_str().ok_or_else(|| {
                            bad(format!(
                                "The {k} value for `{}` must be a string, but the query got the value {x}",
                                path.last().map(String::as_str).unwrap_or("")
                            ))
                        })?;
                        Ok(if k == "$like" {
                            Op::Like(s.to_string())
                        } else {
                            Op::Ilike(s.to_string())
                        })
                    }
                    other => Err(Error::UnknownOperator {
                        op: other.to_string(),
                        path: path.join("."),
                    }),
                }
            }
        }
    }
}

fn scalar(v: &Value) -> Result<Value, ()> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(v.clone()),
        _ => Err(()),
    }
}

/// One condition: an attribute path (`"title"`, `"id"`, a link label, or a dotted
/// path such as `"owner.email"`) and an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    /// The path, dot-separated.
    pub path: String,
    /// The operator.
    pub op: Op,
}

/// A where filter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Where {
    /// A single condition.
    Cond(Cond),
    /// All must match (a where object with several keys, or `"and": [...]`).
    And(Vec<Where>),
    /// At least one must match (`"or": [...]`).
    Or(Vec<Where>),
    /// A filter that could not be built (e.g. from a NaN operand); reported by
    /// [`Where::validate`] and by query validation before anything is sent.
    Invalid(Error),
}

fn cond_with(path: impl Into<String>, v: impl AttrValue, f: impl FnOnce(Value) -> Op) -> Where {
    match v.to_attr_json() {
        Ok(v) => Where::Cond(Cond {
            path: path.into(),
            op: f(v),
        }),
        Err(e) => Where::Invalid(e),
    }
}

impl Where {
    /// `{path: value}`: equality.
    pub fn eq(path: impl Into<String>, value: impl AttrValue) -> Self {
        cond_with(path, value, Op::Eq)
    }
    /// `{path: {"$ne": value}}`: differs or is missing.
    pub fn ne(path: impl Into<String>, value: impl AttrValue) -> Self {
        cond_with(path, value, Op::Ne)
    }
    /// `{path: {"$in": [values]}}`.
    pub fn is_in<V: AttrValue>(
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        match values
            .into_iter()
            .map(|v| v.to_attr_json())
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(vs) => Where::Cond(Cond {
                path: path.into(),
                op: Op::In(vs),
            }),
            Err(e) => Where::Invalid(e),
        }
    }
    /// `{path: {"$isNull": is_null}}`.
    pub fn is_null(path: impl Into<String>, is_null: bool) -> Self {
        Where::Cond(Cond {
            path: path.into(),
            op: Op::IsNull(is_null),
        })
    }
    /// `{path: {"$gt": value}}`.
    pub fn gt(path: impl Into<String>, value: impl AttrValue) -> Self {
        cond_with(path, value, Op::Gt)
    }
    /// `{path: {"$gte": value}}`.
    pub fn gte(path: impl Into<String>, value: impl AttrValue) -> Self {
        cond_with(path, value, Op::Gte)
    }
    /// `{path: {"$lt": value}}`.
    pub fn lt(path: impl Into<String>, value: impl AttrValue) -> Self {
        cond_with(path, value, Op::Lt)
    }
    /// `{path: {"$lte": value}}`.
    pub fn lte(path: impl Into<String>, value: impl AttrValue) -> Self {
        cond_with(path, value, Op::Lte)
    }
    /// `{path: {"$like": pattern}}` (case-sensitive; `%` any run, `_` one char).
    pub fn like(path: impl Into<String>, pattern: impl Into<String>) -> Self {
        Where::Cond(Cond {
            path: path.into(),
            op: Op::Like(pattern.into()),
        })
    }
    /// `{path: {"$ilike": pattern}}` (case-insensitive).
    pub fn ilike(path: impl Into<String>, pattern: impl Into<String>) -> Self {
        Where::Cond(Cond {
            path: path.into(),
            op: Op::Ilike(pattern.into()),
        })
    }
    /// All of `items`.
    pub fn all(items: impl IntoIterator<Item = Where>) -> Self {
        Where::And(items.into_iter().collect())
    }
    /// Any of `items`.
    pub fn any(items: impl IntoIterator<Item = Where>) -> Self {
        Where::Or(items.into_iter().collect())
    }

    /// Reports the first filter that could not be built.
    ///
    /// # Errors
    /// The error kept in a [`Where::Invalid`] node; [`Error::InvalidQuery`] for an
    /// empty `and`/`or`.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Where::Cond(_) => Ok(()),
            Where::And(v) | Where::Or(v) if v.is_empty() => Err(Error::query(
                &["where".to_string()],
                format!(
                    "The list of `{}` conditions can't be empty.",
                    if matches!(self, Where::And(_)) {
                        "and"
                    } else {
                        "or"
                    }
                ),
            )),
            Where::And(v) | Where::Or(v) => v.iter().try_for_each(Where::validate),
            Where::Invalid(e) => Err(e.clone()),
        }
    }

    /// The where object sent on the wire. Two conditions on one path (or anything
    /// that cannot share one object) go into an `and` array.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        let mut rest: Vec<Value> = Vec::new();
        match self {
            Where::And(items) => {
                let mut flat = Vec::new();
                flatten_and(items, &mut flat);
                if flat.is_empty() {
                    return Value::Object(obj);
                }
                for item in flat {
                    place(item, &mut obj, &mut rest);
                }
            }
            other => place(other, &mut obj, &mut rest),
        }
        if !rest.is_empty() {
            obj.insert("and".into(), Value::Array(rest));
        }
        Value::Object(obj)
    }

    /// Decodes a where object.
    ///
    /// # Errors
    /// As [`Op::from_json`]; also empty `and`/`or` lists ("The list of `or`
    /// conditions can't be empty.") and non-object where values.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        Self::from_json_at(&["where".to_string()], v)
    }

    /// [`Where::from_json`] with `path` as the location used in errors.
    ///
    /// # Errors
    /// As [`Where::from_json`].
    pub fn from_json_at(path: &[String], v: &Value) -> Result<Self, Error> {
        let m = v
            .as_object()
            .ok_or_else(|| Error::query(path, "expected map?"))?;
        let mut items = Vec::with_capacity(m.len());
        for (k, x) in m {
            let mut p = path.to_vec();
            p.push(k.clone());
            match (k.as_str(), x) {
                ("and" | "or", Value::Array(list)) => {
                    if list.is_empty() {
                        return Err(Error::query(
                            &p,
                            format!("The list of `{k}` conditions can't be empty."),
                        ));
                    }
                    let children = list
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let mut cp = p.clone();
                            cp.push(i.to_string());
                            Where::from_json_at(&cp, c)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    items.push(if k == "and" {
                        Where::And(children)
                    } else {
                        Where::Or(children)
                    });
                }
                _ => items.push(Where::Cond(Cond {
                    path: k.clone(),
                    op: Op::from_json(&p, x)?,
                })),
            }
        }
        Ok(if items.len() == 1 {
            items.pop().expect("len 1")
        } else {
            Where::And(items)
        })
    }
}

fn flatten_and<'a>(items: &'a [Where], out: &mut Vec<&'a Where>) {
    for i in items {
        match i {
            Where::And(inner) => flatten_and(inner, out),
            other => out.push(other),
        }
    }
}

fn place(item: &Where, obj: &mut Map<String, Value>, rest: &mut Vec<Value>) {
    match item {
        Where::Cond(c) if c.path != "and" && c.path != "or" && !obj.contains_key(&c.path) => {
            obj.insert(c.path.clone(), c.op.to_json());
        }
        Where::Or(items) if !obj.contains_key("or") => {
            obj.insert(
                "or".into(),
                Value::Array(items.iter().map(Where::to_json).collect()),
            );
        }
        Where::And(items) => {
            let mut flat = Vec::new();
            flatten_and(items, &mut flat);
            for i in flat {
                place(i, obj, rest);
            }
        }
        Where::Invalid(_) => {}
        Where::Cond(c) => {
            let mut single = Map::new();
            single.insert(c.path.clone(), c.op.to_json());
            rest.push(Value::Object(single));
        }
        Where::Or(_) => rest.push(item.to_json()),
    }
}

impl BitAnd for Where {
    type Output = Where;
    fn bitand(self, rhs: Where) -> Where {
        match self {
            Where::And(mut v) => {
                v.push(rhs);
                Where::And(v)
            }
            other => Where::And(vec![other, rhs]),
        }
    }
}

impl BitOr for Where {
    type Output = Where;
    fn bitor(self, rhs: Where) -> Where {
        match self {
            Where::Or(mut v) => {
                v.push(rhs);
                Where::Or(v)
            }
            other => Where::Or(vec![other, rhs]),
        }
    }
}

impl Serialize for Where {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Where {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Where::from_json(&v).map_err(serde::de::Error::custom)
    }
}
