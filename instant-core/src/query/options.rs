//! The `$` options of one query level (spec `instaql.md` §2, §5, §6; server
//! `coerce-option-map!`, `assert-cursor!` and `coerce-order` in
//! `server/src/instant/db/instaql.clj`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Id, Where};

/// Sort direction of an [`Order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderDirection {
    /// `"asc"` (nulls first).
    Asc,
    /// `"desc"` (nulls last).
    Desc,
}

impl OrderDirection {
    /// `"asc"` or `"desc"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderDirection::Asc => "asc",
            OrderDirection::Desc => "desc",
        }
    }
}

/// `order: {field: direction}` (exactly one key on the wire). `field` is
/// `serverCreatedAt` or, at the top level, an indexed, typed, cardinality-one
/// attribute (`instaql.md` §5). Missing values sort first in `asc`, last in
/// `desc`; ties are broken by entity id in the same direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The sort field.
    pub field: String,
    /// The direction.
    pub direction: OrderDirection,
}

impl Order {
    /// Ascending by `field`.
    pub fn asc(field: impl Into<String>) -> Self {
        Order {
            field: field.into(),
            direction: OrderDirection::Asc,
        }
    }
    /// Descending by `field`.
    pub fn desc(field: impl Into<String>) -> Self {
        Order {
            field: field.into(),
            direction: OrderDirection::Desc,
        }
    }
    /// `{field: "asc"|"desc"}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            self.field.clone(),
            Value::String(self.direction.as_str().into()),
        );
        Value::Object(m)
    }
}

/// A pagination cursor: the 4-element array `[entityId, attrId, value,
/// createdAtMillis]` a server returns in page info (`instaql.md` §6). Treat it as
/// opaque: take it from [`PageInfo`] and hand it back in `after`/`before`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub Value);

impl Cursor {
    /// Checks a cursor the way the server's `assert-cursor!` does: an array of 3
    /// or 4 items whose second item is a UUID and whose fourth item, when present
    /// and not null, is an integer. `path` (e.g. `["goals", "$", "after"]`) is
    /// used in the error.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] with the server's message ("Expected a join row for
    /// the cursor, got 10.", "Expected a join row with 4 items for the cursor,
    /// got …", ...).
    pub fn from_json(path: &[String], v: &Value) -> Result<Self, Error> {
        let err = |m: String| Err(Error::query(path, m));
        let Some(items) = v.as_array() else {
            return err(format!("Expected a join row for the cursor, got {v}."));
        };
        if !(3..=4).contains(&items.len()) {
            return err(format!(
                "Expected a join row with 4 items for the cursor, got {v}."
            ));
        }
        let attr_is_uuid = items[1].as_str().is_some_and(|s| Id::parse(s).is_ok());
        if !attr_is_uuid {
            return err(format!(
                "Expected a join row with a uuid attribute id in the second position, got {}.",
                items[1]
            ));
        }
        match items.get(3) {
            Some(t) if !(t.is_null() || t.is_i64() || t.is_u64()) => err(format!(
                "Expected a join row with an integer created_at in the last position, got {t}."
            )),
            _ => Ok(Cursor(v.clone())),
        }
    }
}

/// Page info for a paginated top-level namespace (only sent over SSE, under
/// `result-meta.page-info`; keys are kebab-case with `?` on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PageInfo {
    /// Cursor of the first returned entity (`null` for an empty page).
    #[serde(rename = "start-cursor", default)]
    pub start_cursor: Option<Cursor>,
    /// Cursor of the last returned entity.
    #[serde(rename = "end-cursor", default)]
    pub end_cursor: Option<Cursor>,
    /// More entities follow the page.
    #[serde(rename = "has-next-page?", default)]
    pub has_next_page: bool,
    /// Entities precede the page.
    #[serde(rename = "has-previous-page?", default)]
    pub has_previous_page: bool,
}

/// The `$` options of one query level (`instaql.md` §2).
///
/// `offset`, `after` and `before` are top-level only (the decoder refuses them
/// below); `limit`/`first`/`last` are ignored by the server below the top level;
/// at most one of `limit`/`first`/`last` may be set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryOptions {
    /// `where`.
    pub filter: Option<Where>,
    /// `order`.
    pub order: Option<Order>,
    /// `limit` (top level; ignored by the server when nested).
    pub limit: Option<u64>,
    /// `first` (top level).
    pub first: Option<u64>,
    /// `last` (top level).
    pub last: Option<u64>,
    /// `offset` (top level only).
    pub offset: Option<u64>,
    /// `after` cursor (top level only).
    pub after: Option<Cursor>,
    /// `afterInclusive`.
    pub after_inclusive: Option<bool>,
    /// `before` cursor (top level only).
    pub before: Option<Cursor>,
    /// `beforeInclusive`.
    pub before_inclusive: Option<bool>,
    /// `fields`: attribute projection (`id` always included).
    pub fields: Option<Vec<String>>,
    /// `aggregate` (admin only, top level, no children; only `"count"`).
    pub aggregate: Option<String>,
}

impl QueryOptions {
    /// True when no option is set (the node encodes without a `$` key).
    pub fn is_empty(&self) -> bool {
        *self == QueryOptions::default()
    }

    /// True when the options ask for pagination (`limit`, `first`, `last`,
    /// `offset`, `before`, `after` or `order`); the server then produces page info.
    pub fn is_paginated(&self) -> bool {
        self.limit.is_some()
            || self.first.is_some()
            || self.last.is_some()
            || self.offset.is_some()
            || self.before.is_some()
            || self.after.is_some()
            || self.order.is_some()
    }

    /// The `$` object. Only set options are written; key order is `where`,
    /// `limit`, `order`, then the rest (not significant to servers).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(w) = &self.filter {
            m.insert("where".into(), w.to_json());
        }
        if let Some(l) = self.limit {
            m.insert("limit".into(), l.into());
        }
        if let Some(o) = &self.order {
            m.insert("order".into(), o.to_json());
        }
        if let Some(l) = self.first {
            m.insert("first".into(), l.into());
        }
        if let Some(l) = self.last {
            m.insert("last".into(), l.into());
        }
        if let Some(l) = self.offset {
            m.insert("offset".into(), l.into());
        }
        if let Some(c) = &self.after {
            m.insert("after".into(), c.0.clone());
        }
        if let Some(b) = self.after_inclusive {
            m.insert("afterInclusive".into(), b.into());
        }
        if let Some(c) = &self.before {
            m.insert("before".into(), c.0.clone());
        }
        if let Some(b) = self.before_inclusive {
            m.insert("beforeInclusive".into(), b.into());
        }
        if let Some(f) = &self.fields {
            m.insert("fields".into(), f.clone().into());
        }
        if let Some(a) = &self.aggregate {
            m.insert("aggregate".into(), a.clone().into());
        }
        Value::Object(m)
    }

    /// Decodes a `$` object at `path` (e.g. `["goals", "$"]`; `top_level` allows
    /// the top-level-only keys), with the server's validation messages.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] with the server's message (e.g. "The limit field must
    /// be a positive integer. Got 0.", "Only provide one of `limit` or `first`.",
    /// a bad cursor, an unknown key), or where-decoding errors
    /// ([`Error::UnknownOperator`], ...).
    pub fn from_json(path: &[String], v: &Value, top_level: bool) -> Result<Self, Error> {
        let m = v
            .as_object()
            .ok_or_else(|| Error::query(path, "expected map?"))?;
        let at = |k: &str| {
            let mut p = path.to_vec();
            p.push(k.to_string());
            p
        };
        let mut o = QueryOptions::default();
        let pos_int = |k: &str, x: &Value| -> Result<u64, Error> {
            match x.as_u64() {
                Some(n) if n > 0 => Ok(n),
                _ => Err(Error::query(
                    &at(k),
                    format!("The {k} field must be a positive integer. Got {x}."),
                )),
            }
        };
        for (k, x) in m {
            match k.as_str() {
                "where" => o.filter = Some(Where::from_json_at(&at(k), x)?),
                "order" => o.order = Some(order_from_json(&at(k), x)?),
                "limit" => o.limit = Some(pos_int(k, x)?),
                "first" => o.first = Some(pos_int(k, x)?),
                "last" => o.last = Some(pos_int(k, x)?),
                "offset" => {
                    o.offset = Some(x.as_u64().ok_or_else(|| {
                        Error::query(
                            &at(k),
                            format!("The offset field must be a non-negative integer. Got {x}."),
                        )
                    })?)
                }
                "after" | "before" => {
                    let c = Some(Cursor::from_json(&at(k), x)?);
                    if k == "after" {
                        o.after = c
                    } else {
                        o.before = c
                    }
                }
                "afterInclusive" | "beforeInclusive" => {
                    let b = x
                        .as_bool()
                        .ok_or_else(|| Error::query(&at(k), "expected boolean?"))?;
                    if k == "afterInclusive" {
                        o.after_inclusive = Some(b)
                    } else {
                        o.before_inclusive = Some(b)
                    }
                }
                "fields" => {
                    let arr = x.as_array().ok_or_else(|| {
                        Error::query(
                            &at(k),
                            "The `fields` property should be an array of field names.",
                        )
                    })?;
                    o.fields = Some(
                        arr.iter()
                            .map(|f| {
                                f.as_str().map(str::to_string).ok_or_else(|| {
                                    Error::query(
                                        &at(k),
                                        "The `fields` property should be an array of field names.",
                                    )
                                })
                            })
                            .collect::<Result<_, _>>()?,
                    );
                }
                "aggregate" => match x.as_str() {
                    Some("count") => o.aggregate = Some("count".into()),
                    _ => {
                        return Err(Error::query(
                            &at(k),
                            format!("The aggregate field only accepts \"count\", got {x}."),
                        ))
                    }
                },
                _ => {
                    return Err(Error::query(
                        &at(k),
                        "We only support `where`, `order`, `limit`, `offset`, `before`, and `after` clauses.",
                    ))
                }
            }
        }
        let sizes: Vec<&str> = [("limit", o.limit), ("first", o.first), ("last", o.last)]
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| *k)
            .collect();
        if sizes.len() > 1 {
            let names: Vec<String> = sizes.iter().map(|k| format!("`{k}`")).collect();
            return Err(Error::query(
                path,
                format!("Only provide one of {}.", names.join(" or ")),
            ));
        }
        if !top_level && (o.offset.is_some() || o.before.is_some() || o.after.is_some()) {
            return Err(Error::query(
                path,
                "We currently only support `offset`, `before`, and `after` clauses on the top-level field. Limit fields will be ignored",
            ));
        }
        Ok(o)
    }
}

fn order_from_json(path: &[String], v: &Value) -> Result<Order, Error> {
    let m = v
        .as_object()
        .ok_or_else(|| Error::query(path, "expected map?"))?;
    if m.len() != 1 {
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        return Err(Error::query(
            path,
            format!(
                "We only support a single key in the `order` clause. Got {}.",
                keys.join(",")
            ),
        ));
    }
    let (field, dir) = m.iter().next().expect("len 1");
    let direction = match dir.as_str() {
        Some("asc") => OrderDirection::Asc,
        Some("desc") => OrderDirection::Desc,
        _ => {
            return Err(Error::query(
                path,
                format!("We only support \"asc\" or \"desc\" in the `order` clause. Got {dir}."),
            ))
        }
    };
    Ok(Order {
        field: field.clone(),
        direction,
    })
}
