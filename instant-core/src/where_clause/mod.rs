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

use serde_json::{Map, Value};

use crate::{AttrValue, Error};

mod op;
pub use op::Op;

/// One condition: an attribute path (`"title"`, `"id"`, a link label, or a dotted
/// path such as `"owner.email"`) and an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    /// The path, dot-separated.
    pub path: String,
    /// The operator.
    pub op: Op,
}

/// A where filter: the value of `where` in a query level's `$` options.
///
/// Build with [`Where::eq`], [`Where::gt`], ... and combine with `&` (and) and `|`
/// (or); decode with [`Where::from_json`]. `Where` has no `Eq` impl because
/// operands are JSON numbers.
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
    /// All of `items` (`Where::all([])` matches everything and encodes as `{}`).
    pub fn all(items: impl IntoIterator<Item = Where>) -> Self {
        Where::And(items.into_iter().collect())
    }
    /// Any of `items` (`"or": [...]`; must not be empty, see [`Where::validate`]).
    pub fn any(items: impl IntoIterator<Item = Where>) -> Self {
        Where::Or(items.into_iter().collect())
    }

    /// Reports what the server would refuse and the builders could not rule out:
    /// a filter built from a non-finite number ([`Where::Invalid`]), a `null`,
    /// array or object operand (only possible through `serde_json::Value`), and an
    /// empty `or` (which matches nothing the server can express: "The list of `or`
    /// conditions can't be empty."). An empty `and` is fine: it encodes as `{}`,
    /// which matches everything.
    ///
    /// # Errors
    /// The first problem found: the error kept in a [`Where::Invalid`] node, or
    /// [`Error::InvalidQuery`] with the path `["where", <path>]`.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Where::Cond(c) => c.op.validate(&["where".to_string(), c.path.clone()]),
            Where::Or(v) if v.is_empty() => Err(Error::query(
                &["where".to_string(), "or".to_string()],
                "The list of `or` conditions can't be empty.",
            )),
            Where::And(v) | Where::Or(v) => v.iter().try_for_each(Where::validate),
            Where::Invalid(e) => Err(e.clone()),
        }
    }

    /// The where object sent on the wire.
    ///
    /// Conditions joined by `and` share one object while their paths differ; a
    /// second condition on a path already used (the server reads only one operator
    /// per path), a second `or`, and conditions on paths literally named `and` or
    /// `or` go into an `"and": [...]` array. [`Where::Invalid`] nodes are left out
    /// (validate first).
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

    /// Decodes a where object (`{}` decodes to an empty [`Where::And`]). Keys `and`
    /// and `or` with an array value are the combinators; with any other value they
    /// are attribute paths, as on the server.
    ///
    /// # Errors
    /// As [`Op::from_json`]; also empty `and`/`or` lists ("The list of `or`
    /// conditions can't be empty."), non-object where values or list elements
    /// ("expected map?").
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
        Ok(match items.pop() {
            Some(only) if items.is_empty() => only,
            Some(last) => {
                items.push(last);
                Where::And(items)
            }
            None => Where::And(items),
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

crate::json_serde!(Where);
