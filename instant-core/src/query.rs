//! The InstaQL query tree (spec `instaql.md`; server `server/src/instant/db/instaql.clj`,
//! client `client/packages/core/src/queryTypes.ts`).
//!
//! A [`Query`] maps namespaces to [`QueryNode`]s; a node carries `$` options
//! ([`QueryOptions`]) and nested link labels. `$$ruleParams` travels as a top-level
//! key. [`QueryRequest`] is the body of `POST /admin/query`.
//!
//! ```
//! use instant_core::{Query, QueryNode, Where, Order};
//! use serde_json::json;
//!
//! let q = Query::new()
//!     .ns("goals", QueryNode::new()
//!         .filter(Where::eq("title", "Get fit"))
//!         .limit(10)
//!         .order(Order::desc("serverCreatedAt"))
//!         .child("todos", QueryNode::new()));
//! assert_eq!(q.to_json(), json!({"goals": {
//!     "$": {"where": {"title": "Get fit"}, "limit": 10, "order": {"serverCreatedAt": "desc"}},
//!     "todos": {}}}));
//! assert_eq!(Query::from_json(&q.to_json()).unwrap(), q);
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{Error, JsonObject, Where};

/// Sort direction.
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

/// `order: {field: direction}`; `field` is `serverCreatedAt` or an indexed, typed
/// attribute.
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

/// A pagination cursor: the opaque 4-element array
/// `[entityId, attrId, value, createdAtMillis]` a server returns in page info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub Value);

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

/// The `$` options of one query level.
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
    /// `aggregate` (admin only; `"count"`).
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

    /// The `$` object. Key order follows the JS SDK's usual spelling (where, order,
    /// limit, ...); order is not significant to servers.
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

    /// Decodes a `$` object at `path` (`top_level` enables the top-level-only keys),
    /// with the server's validation messages.
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] with the server's message (e.g. "The limit field must
    /// be a positive integer. Got 0."), or where-decoding errors.
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
                    let c = Some(Cursor(x.clone()));
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

/// One level of a query: `$` options plus nested link labels, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryNode {
    /// The `$` options.
    pub options: QueryOptions,
    /// Nested link labels (forward or reverse) and their sub-queries.
    pub children: Vec<(String, QueryNode)>,
}

impl QueryNode {
    /// An empty node (`{}`): all entities, all attributes.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `where` (replacing any earlier filter; combine with `&`/`|`).
    pub fn filter(mut self, w: Where) -> Self {
        self.options.filter = Some(w);
        self
    }
    /// Sets `order`.
    pub fn order(mut self, o: Order) -> Self {
        self.options.order = Some(o);
        self
    }
    /// Sets `limit`.
    pub fn limit(mut self, n: u64) -> Self {
        self.options.limit = Some(n);
        self
    }
    /// Sets `first`.
    pub fn first(mut self, n: u64) -> Self {
        self.options.first = Some(n);
        self
    }
    /// Sets `last`.
    pub fn last(mut self, n: u64) -> Self {
        self.options.last = Some(n);
        self
    }
    /// Sets `offset`.
    pub fn offset(mut self, n: u64) -> Self {
        self.options.offset = Some(n);
        self
    }
    /// Sets `after` (and `afterInclusive` when `inclusive`).
    pub fn after(mut self, c: Cursor, inclusive: bool) -> Self {
        self.options.after = Some(c);
        self.options.after_inclusive = inclusive.then_some(true);
        self
    }
    /// Sets `before` (and `beforeInclusive` when `inclusive`).
    pub fn before(mut self, c: Cursor, inclusive: bool) -> Self {
        self.options.before = Some(c);
        self.options.before_inclusive = inclusive.then_some(true);
        self
    }
    /// Sets `fields`.
    pub fn fields<S: Into<String>>(mut self, f: impl IntoIterator<Item = S>) -> Self {
        self.options.fields = Some(f.into_iter().map(Into::into).collect());
        self
    }
    /// Adds a nested link label.
    pub fn child(mut self, label: impl Into<String>, node: QueryNode) -> Self {
        self.children.push((label.into(), node));
        self
    }

    /// The node as JSON (`{"$": {...}, "<label>": {...}}`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.options.is_empty() {
            m.insert("$".into(), self.options.to_json());
        }
        for (k, n) in &self.children {
            m.insert(k.clone(), n.to_json());
        }
        Value::Object(m)
    }

    fn from_json_at(path: &[String], v: &Value, top_level: bool) -> Result<Self, Error> {
        let m = v
            .as_object()
            .ok_or_else(|| Error::query(path, "expected map?"))?;
        let mut node = QueryNode::new();
        for (k, x) in m {
            let mut p = path.to_vec();
            p.push(k.clone());
            if k == "$" {
                node.options = QueryOptions::from_json(&p, x, top_level)?;
            } else {
                node.children
                    .push((k.clone(), QueryNode::from_json_at(&p, x, false)?));
            }
        }
        Ok(node)
    }

    fn validate(&self) -> Result<(), Error> {
        if let Some(w) = &self.options.filter {
            w.validate()?;
        }
        self.children.iter().try_for_each(|(_, n)| n.validate())
    }
}

/// A whole InstaQL query: namespaces in order, plus optional `$$ruleParams`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// Top-level namespaces and their nodes.
    pub namespaces: Vec<(String, QueryNode)>,
    /// `$$ruleParams`, for permission rules when impersonating.
    pub rule_params: Option<JsonObject>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a top-level namespace.
    pub fn ns(mut self, ns: impl Into<String>, node: QueryNode) -> Self {
        self.namespaces.push((ns.into(), node));
        self
    }
    /// Sets `$$ruleParams`.
    pub fn rule_params(mut self, params: JsonObject) -> Self {
        self.rule_params = Some(params);
        self
    }

    /// The query JSON (`$$ruleParams` first when set, as the JS SDK spreads it).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(rp) = &self.rule_params {
            m.insert("$$ruleParams".into(), Value::Object(rp.clone()));
        }
        for (k, n) in &self.namespaces {
            m.insert(k.clone(), n.to_json());
        }
        Value::Object(m)
    }

    /// Decodes a query with the server's validation rules (`instaql.md` §1–§2).
    ///
    /// # Errors
    /// [`Error::InvalidQuery`] naming the path (e.g. `["goals", "$", "limit"]`),
    /// [`Error::UnknownOperator`] for unknown where operators.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let m = v
            .as_object()
            .ok_or_else(|| Error::query(&[], "expected map?"))?;
        let mut q = Query::new();
        for (k, x) in m {
            if k == "$$ruleParams" {
                q.rule_params = Some(
                    x.as_object()
                        .cloned()
                        .ok_or_else(|| Error::query(std::slice::from_ref(k), "expected map?"))?,
                );
                continue;
            }
            q.namespaces.push((
                k.clone(),
                QueryNode::from_json_at(std::slice::from_ref(k), x, true)?,
            ));
        }
        Ok(q)
    }

    /// Checks what the builders could not: non-finite operands, empty `and`/`or`.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), Error> {
        self.namespaces.iter().try_for_each(|(_, n)| n.validate())
    }
}

impl Serialize for Query {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Query::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// The body of `POST /admin/query` (and `/admin/query_perms_check`):
/// `{"query": {...}, "inference?": bool}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRequest {
    /// The query.
    pub query: Query,
    /// `inference?`: when true, has-one links come back as an object or `null`
    /// (the JS SDK sets it iff it was given a schema).
    #[serde(rename = "inference?", default)]
    pub inference: bool,
}

impl QueryRequest {
    /// A request with `inference?` false.
    pub fn new(query: Query) -> Self {
        QueryRequest {
            query,
            inference: false,
        }
    }
}
