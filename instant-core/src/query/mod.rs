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

use serde_json::{Map, Value};

use crate::{Error, JsonObject, Where};

mod options;
pub use options::{Cursor, Order, OrderDirection, PageInfo, QueryOptions};

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
    /// Sets `aggregate: "count"` (admin only; top level; no children).
    pub fn count(mut self) -> Self {
        self.options.aggregate = Some("count".into());
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
        if node.options.aggregate.is_some() && !node.children.is_empty() {
            return Err(Error::query(
                path,
                "You can not combine aggregates with child queries at this time.",
            ));
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

    /// Checks what the builders cannot rule out, before anything is sent: every
    /// rule [`Query::from_json`] enforces (positive `limit`, one of
    /// `limit`/`first`/`last`, top-level-only `offset`/`after`/`before`, cursor
    /// shape, no `aggregate` with children) plus [`Where::validate`] on every
    /// filter (non-finite or non-scalar operands, empty `or`).
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), Error> {
        self.namespaces.iter().try_for_each(|(_, n)| n.validate())?;
        Query::from_json(&self.to_json()).map(|_| ())
    }
}

crate::json_serde!(Query);

/// The body of `POST /admin/query`: `{"query": {...}, "inference?": bool}`
/// (`captured-requests.md` 1.1; the SSE `subscribe-query` body adds only an
/// informational `versions` object, which the client crate writes).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    /// The query.
    pub query: Query,
    /// `inference?`: when true, has-one links come back as an object or `null`
    /// (the JS SDK sets it iff it was given a schema).
    pub inference: bool,
}

crate::json_serde!(QueryRequest);

impl QueryRequest {
    /// A request with `inference?` false.
    pub fn new(query: Query) -> Self {
        QueryRequest {
            query,
            inference: false,
        }
    }

    /// Sets `inference?`.
    pub fn with_inference(mut self, inference: bool) -> Self {
        self.inference = inference;
        self
    }

    /// The body JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("query".into(), self.query.to_json());
        m.insert("inference?".into(), Value::Bool(self.inference));
        Value::Object(m)
    }

    /// Decodes a body as the server reads it: `query` required (an object),
    /// `inference?` optional (default false); other keys (`versions`, ...) are
    /// ignored.
    ///
    /// # Errors
    /// [`Error::Decode`] when `query` is missing or `inference?` is not a boolean;
    /// query errors as [`Query::from_json`].
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let query = v.get("query").ok_or_else(|| Error::Decode {
            path: "query".into(),
            message: "Missing parameter: [\"body\" \"query\"]".into(),
        })?;
        Ok(QueryRequest {
            query: Query::from_json(query)?,
            inference: optional_bool(v, "inference?")?,
        })
    }
}

/// Reads an optional boolean body key (`null` or absent = false).
pub(crate) fn optional_bool(v: &Value, key: &str) -> Result<bool, Error> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Error::Decode {
            path: key.into(),
            message: format!("expected a boolean, got {other}"),
        }),
    }
}
