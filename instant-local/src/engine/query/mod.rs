//! InstaQL evaluation (spec `instaql.md`, `semantics.md` §2–§4): top-level forms
//! with where/order/pagination/cursors/fields, nested links to any depth, result
//! trees with optional cardinality inference, and page info for subscriptions.

pub mod budget;
pub mod eval;
pub mod plan;

use std::cmp::Ordering;
use std::collections::HashSet;

use instant_core::{ApiError, Error, Order, OrderDirection, Query, QueryNode, ValueType};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::state::AppState;
use super::value::{sort_key, SortKey};
use budget::{estimate, Budget};
use plan::{query_err, resolve_link, Planner, W};

/// The outcome of a query: the result tree plus the subscription metadata.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    /// `{ns: [entities]}`.
    pub result: Value,
    /// `{ns: page-info}` for paginated/ordered top-level forms.
    pub page_info: Map<String, Value>,
    /// `{ns: {"count": n}}` for `aggregate: "count"` forms.
    pub aggregate: Map<String, Value>,
}

/// Parses a raw query with instant-core and maps decode errors onto the server's
/// error shapes.
pub fn parse_query(st: &AppState, raw: &Value) -> Result<Query, ApiError> {
    let q = Query::from_json(raw).map_err(|e| core_query_error(st, raw, e))?;
    q.validate().map_err(|e| core_query_error(st, raw, e))?;
    Ok(q)
}

/// Maps an instant-core query decode error onto the server's envelope.
pub fn core_query_error(st: &AppState, raw: &Value, e: Error) -> ApiError {
    match e {
        Error::InvalidQuery { path, message } => {
            if let Some(expected) = message.strip_prefix("expected ") {
                return ApiError::validation(
                    "query",
                    raw.clone(),
                    vec![json!({"expected": expected, "in": path})],
                );
            }
            if message.starts_with("The $like value") || message.starts_with("The $ilike value") {
                let op = if message.starts_with("The $like") {
                    "$like"
                } else {
                    "$ilike"
                };
                let v = value_at(raw, &path)
                    .and_then(|o| o.get(op))
                    .cloned()
                    .unwrap_or(Value::Null);
                let (ns, label) = ns_label_at(st, &path);
                return query_err(
                    &path,
                    format!(
                        "The {op} value for `{ns}.{label}` must be a string, but the query got the value `{v}` of type `{}`.",
                        instant_core::value::json_type_name(&v)
                    ),
                    raw,
                );
            }
            let coerced = [
                "null is not",
                "an array is not",
                "$isNull must",
                "$ne must",
                "$in values",
                "$in takes",
                "an empty operator",
            ]
            .iter()
            .any(|p| message.starts_with(p))
                || message.contains(" takes a scalar");
            if coerced {
                let expected = if message.starts_with("$isNull") {
                    "boolean?"
                } else {
                    "where-value-valid?"
                };
                return ApiError::validation(
                    "coerced-query",
                    raw.clone(),
                    vec![json!({"expected": expected, "in": path})],
                );
            }
            query_err(&path, message, raw)
        }
        Error::UnknownOperator { path, .. } => ApiError::validation(
            "coerced-query",
            raw.clone(),
            vec![
                json!({"expected": "where-value-valid-keys?", "in": path.split('.').collect::<Vec<_>>()}),
            ],
        ),
        other => query_err(&[], other.to_string(), raw),
    }
}

fn value_at<'a>(raw: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = raw;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// For a path `[ns, link.., "$", "where", key]`, the namespace and final label.
fn ns_label_at(st: &AppState, path: &[String]) -> (String, String) {
    let mut ns = path.first().cloned().unwrap_or_default();
    let mut i = 1;
    while i < path.len() && path[i] != "$" {
        if let Some((_, _, next)) = resolve_link(st, &ns, &path[i]) {
            ns = next;
        }
        i += 1;
    }
    let key = path.last().cloned().unwrap_or_default();
    let segs: Vec<&str> = key.split('.').collect();
    for seg in &segs[..segs.len().saturating_sub(1)] {
        if let Some((_, _, next)) = resolve_link(st, &ns, seg) {
            ns = next;
        }
    }
    (ns, segs.last().map(|s| s.to_string()).unwrap_or_default())
}

struct Ctx<'a> {
    st: &'a AppState,
    raw: &'a Value,
    inference: bool,
    admin: bool,
    budget: Budget,
}

/// Sort entry: (key, entity).
struct Row {
    e: Uuid,
    key: SortKey,
}

/// Runs a parsed query, charging `budget` while the result is built.
///
/// # Errors
/// The query's validation errors; 429 `timeout` once the budget's deadline
/// passes (checked inside the evaluator's loops); 400 `validation-failed` once
/// the result holds more rows or estimated bytes than the budget allows (see
/// [`budget::too_large`]).
pub fn run_within(
    st: &AppState,
    q: &Query,
    raw: &Value,
    inference: bool,
    admin: bool,
    budget: Budget,
) -> Result<QueryOutput, ApiError> {
    let mut ctx = Ctx {
        st,
        raw,
        inference,
        admin,
        budget,
    };
    let mut result = Map::new();
    let mut page_info = Map::new();
    let mut aggregate = Map::new();
    for (ns, node) in &q.namespaces {
        let path = vec![ns.clone()];
        let (items, pi, count) = ctx.top_level(ns, node, &path)?;
        result.insert(ns.clone(), Value::Array(items));
        if let Some(pi) = pi {
            page_info.insert(ns.clone(), pi);
        }
        if let Some(c) = count {
            aggregate.insert(ns.clone(), json!({"count": c}));
        }
    }
    Ok(QueryOutput {
        result: Value::Object(result),
        page_info,
        aggregate,
    })
}

fn at(path: &[String], k: &str) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(k.to_string());
    p
}

impl Ctx<'_> {
    /// Does `e` satisfy `w` (no `w`: yes)? Fails with `timeout` once the
    /// budget's deadline is over.
    fn test(&self, w: Option<&W>, e: Uuid) -> Result<bool, ApiError> {
        let Some(w) = w else {
            self.budget.check_time()?;
            return Ok(true);
        };
        let m = eval::matches_within(self.st, w, e, self.budget.deadline());
        self.budget.check_time()?;
        Ok(m)
    }

    fn plan_where(
        &self,
        ns: &str,
        node: &QueryNode,
        path: &[String],
    ) -> Result<Option<W>, ApiError> {
        if node.options.filter.is_none() {
            return Ok(None);
        }
        let planner = Planner {
            st: self.st,
            input: self.raw,
        };
        let wpath = at(&at(path, "$"), "where");
        match value_at(self.raw, &wpath) {
            Some(raw_where) => planner.plan_raw(ns, raw_where, &wpath).map(Some),
            None => Err(query_err(&wpath, "where clause not found", self.raw)),
        }
    }

    /// Validates a top-level order and returns (attr id or None for serverCreatedAt, checked type).
    fn top_order(
        &self,
        ns: &str,
        order: &Order,
        path: &[String],
    ) -> Result<Option<(Uuid, Option<ValueType>)>, ApiError> {
        if order.field == "serverCreatedAt" {
            return Ok(None);
        }
        let p = at(&at(path, "$"), "order");
        let Some(a) = self.st.fwd_attr(ns, &order.field) else {
            if self.st.id_attr(ns).is_none() {
                // Unknown namespace: nothing to order.
                return Ok(None);
            }
            return Err(query_err(
                &p,
                format!("There is no `{}` attribute for {ns}.", order.field),
                self.raw,
            ));
        };
        let mut errs = Vec::new();
        if !a.indexed || a.is_ref {
            errs.push(format!("The `{ns}.{}` attribute is not indexed. Only indexed and typed attributes can be used to order by.", a.label));
        }
        if a.checked.is_none() {
            errs.push(format!("The `{ns}.{}` attribute is not typed. Only typed and indexed attributes can be used to order by.", a.label));
        }
        if a.many {
            errs.push(format!("The `{ns}.{}` attribute has cardinality `many`. Only attributes with cardinality `one` can be used to order by.", a.label));
        }
        if !errs.is_empty() {
            return Err(query_err(&p, errs.join(", "), self.raw));
        }
        Ok(Some((a.id, a.checked)))
    }

    fn rows(
        &self,
        ids: impl Iterator<Item = Uuid>,
        id_attr: Uuid,
        order: Option<(Uuid, Option<ValueType>)>,
    ) -> Vec<Row> {
        ids.map(|e| match order {
            None => Row {
                e,
                key: SortKey::Num(super::value::F(
                    self.st.created_at(e, id_attr).unwrap_or(0) as f64
                )),
            },
            Some((attr, checked)) => Row {
                e,
                key: sort_key(self.st.value(e, attr).map(|t| &t.v), checked),
            },
        })
        .collect()
    }

    fn cursor(&self, e: Uuid, id_attr: Uuid, order: Option<(Uuid, Option<ValueType>)>) -> Value {
        let ca = self.st.created_at(e, id_attr).unwrap_or(0);
        match order {
            None => json!([e.to_string(), id_attr.to_string(), e.to_string(), ca]),
            Some((attr, _)) => {
                let t = self.st.value(e, attr);
                let v = t.map(|t| t.v.clone()).unwrap_or(Value::Null);
                json!([
                    e.to_string(),
                    attr.to_string(),
                    v,
                    t.map(|t| t.ca).unwrap_or(ca)
                ])
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn top_level(
        &mut self,
        ns: &str,
        node: &QueryNode,
        path: &[String],
    ) -> Result<(Vec<Value>, Option<Value>, Option<usize>), ApiError> {
        let o = &node.options;
        if o.aggregate.is_some() {
            if !self.admin {
                return Err(query_err(
                    path,
                    "Aggregates are currently only available for admin queries.",
                    self.raw,
                ));
            }
            if !node.children.is_empty() {
                return Err(query_err(
                    path,
                    "You can not combine aggregates with child queries at this time.",
                    self.raw,
                ));
            }
        }
        let w = self.plan_where(ns, node, path)?;
        let order_spec = match &o.order {
            Some(ord) => self.top_order(ns, ord, path)?,
            None => None,
        };
        let dir = o
            .order
            .as_ref()
            .map(|x| x.direction)
            .unwrap_or(OrderDirection::Asc);
        // Cursor validation needs the order attr id.
        let Some(id_attr) = self.st.id_attr(ns).map(|a| a.id) else {
            // Children must still be valid even on unknown namespaces.
            self.check_children(ns, node, path)?;
            let pi = o
                .is_paginated()
                .then(|| page_info_json(None, None, false, false));
            return Ok((vec![], pi, o.aggregate.as_ref().map(|_| 0)));
        };
        let order_attr = order_spec.map(|x| x.0).unwrap_or(id_attr);
        let after = o
            .after
            .as_ref()
            .map(|c| self.cursor_key(&c.0, "after", order_attr, order_spec, ns, path))
            .transpose()?;
        let before = o
            .before
            .as_ref()
            .map(|c| self.cursor_key(&c.0, "before", order_attr, order_spec, ns, path))
            .transpose()?;

        let members = &self.st.members[&id_attr];
        // Fast path: a first page (limit, optional offset, no cursors, no `last`)
        // in default order or ordered by a fully indexed attribute walks the
        // sorted index and stops once the page (plus one row) is found.
        let limit_opt = o.limit.or(o.first).map(|n| n as usize);
        if let (Some(limit), None, None, None, None) =
            (limit_opt, o.last, &after, &before, &o.aggregate)
        {
            let offset = o.offset.unwrap_or(0) as usize;
            let want = offset.saturating_add(limit).saturating_add(1);
            let desc = dir == OrderDirection::Desc;
            let ordered: Option<Box<dyn Iterator<Item = Uuid> + '_>> = match order_spec {
                None if desc => Some(Box::new(members.iter().rev().map(|(_, e)| *e))),
                None => Some(Box::new(members.iter().map(|(_, e)| *e))),
                Some((attr, checked)) => match self.st.sorted.get(&attr) {
                    Some(idx) if idx.len() == members.len() => {
                        let st = self.st;
                        // Start (and stop) the walk at a range condition on the
                        // order attribute itself, when the where has one.
                        let (lo, hi) = w
                            .as_ref()
                            .map(|w| eval::range_on(w, attr, checked))
                            .unwrap_or((std::ops::Bound::Unbounded, std::ops::Bound::Unbounded));
                        let range = idx.range((lo, hi));
                        let it: Box<dyn Iterator<Item = Uuid>> = if desc {
                            Box::new(range.rev().map(|(_, e)| *e))
                        } else {
                            Box::new(range.map(|(_, e)| *e))
                        };
                        Some(Box::new(it.filter(move |e| st.exists(*e, id_attr))))
                    }
                    _ => None,
                },
            };
            if let Some(ordered) = ordered {
                let mut found: Vec<Uuid> = Vec::new();
                for e in ordered {
                    if found.len() >= want {
                        break;
                    }
                    if self.test(w.as_ref(), e)? {
                        found.push(e);
                    }
                }
                let more_after = found.len() > offset + limit;
                let window: Vec<Uuid> = found.into_iter().skip(offset).take(limit).collect();
                let page_info = o.is_paginated().then(|| {
                    page_info_json(
                        window.first().map(|e| self.cursor(*e, id_attr, order_spec)),
                        window.last().map(|e| self.cursor(*e, id_attr, order_spec)),
                        more_after,
                        offset > 0,
                    )
                });
                let mut window = window;
                if let Some(d) = id_order(node) {
                    sort_ids(&mut window, |e| *e, d);
                }
                let mut items = Vec::with_capacity(window.len());
                for e in &window {
                    items.push(self.entity_json(ns, *e, node, path)?);
                }
                if window.is_empty() {
                    self.check_children(ns, node, path)?;
                }
                return Ok((items, page_info, None));
            }
        }
        // Candidates.
        let mut rows: Vec<Row> = match &w {
            None => {
                if order_spec.is_none() {
                    // Already sorted by (created_at, id).
                    let it = members.iter().map(|(_, e)| *e);
                    self.rows(it, id_attr, None)
                } else {
                    self.rows(members.iter().map(|(_, e)| *e), id_attr, order_spec)
                }
            }
            Some(w) => {
                let mut ids: Vec<Uuid> = Vec::new();
                match eval::candidates(self.st, w) {
                    Some(c) => {
                        for e in c {
                            if self.st.exists(e, id_attr) && self.test(Some(w), e)? {
                                ids.push(e);
                            }
                        }
                    }
                    None => {
                        for (_, e) in members.iter() {
                            if self.test(Some(w), *e)? {
                                ids.push(*e);
                            }
                        }
                    }
                }
                self.rows(ids.into_iter(), id_attr, order_spec)
            }
        };
        let cmp = |a: &(SortKey, Uuid), b: &(SortKey, Uuid)| -> Ordering {
            let c = a.cmp(b);
            if dir == OrderDirection::Desc {
                c.reverse()
            } else {
                c
            }
        };
        rows.sort_by(|a, b| {
            let c = a.key.cmp(&b.key).then(a.e.cmp(&b.e));
            if dir == OrderDirection::Desc {
                c.reverse()
            } else {
                c
            }
        });
        // Cursor filtering.
        let after_incl = o.after_inclusive.unwrap_or(false);
        let before_incl = o.before_inclusive.unwrap_or(false);
        let full: Vec<(SortKey, Uuid)> = if o.is_paginated()
            && (before.is_some() || o.last.is_some() || after.is_some() || offset_given(o))
        {
            rows.iter().map(|r| (r.key.clone(), r.e)).collect()
        } else {
            Vec::new()
        };
        let mut window: Vec<Row> = rows
            .into_iter()
            .filter(|r| {
                let k = (r.key.clone(), r.e);
                let ok_after = match &after {
                    None => true,
                    Some(c) => {
                        let ord = cmp(&k, c);
                        ord == Ordering::Greater || (after_incl && ord == Ordering::Equal)
                    }
                };
                let ok_before = match &before {
                    None => true,
                    Some(c) => {
                        let ord = cmp(&k, c);
                        ord == Ordering::Less || (before_incl && ord == Ordering::Equal)
                    }
                };
                ok_after && ok_before
            })
            .collect();
        let count = o.aggregate.as_ref().map(|_| window.len());
        let offset = o.offset.unwrap_or(0) as usize;
        let limit = o.limit.or(o.first).map(|n| n as usize);
        let mut more_after = false;
        let mut more_before = false;
        if let Some(n) = o.last.map(|n| n as usize) {
            // Last n (offset counted from the end), in normal order.
            let len = window.len();
            let end = len.saturating_sub(offset);
            let start = end.saturating_sub(n);
            more_before = start > 0;
            window = window.into_iter().skip(start).take(end - start).collect();
        } else {
            let len = window.len();
            let start = offset.min(len);
            let end = match limit {
                Some(n) => (start + n).min(len),
                None => len,
            };
            more_after = end < len;
            window = window.into_iter().skip(start).take(end - start).collect();
        }
        let page_info = if o.is_paginated() {
            let first = window.first().map(|r| (r.key.clone(), r.e));
            let last_row = window.last().map(|r| (r.key.clone(), r.e));
            let has_next = if limit.is_none() && before.is_none() && o.last.is_none() {
                false
            } else if limit.is_some() && before.is_none() && o.last.is_none() {
                more_after
            } else {
                match &last_row {
                    Some(l) => full.iter().any(|k| cmp(k, l) == Ordering::Greater),
                    None => false,
                }
            };
            let mut has_prev = if after.is_none() && offset == 0 && o.last.is_none() {
                false
            } else if o.last.is_some() && after.is_none() {
                more_before
                    || offset > 0
                        && !window.is_empty()
                        && full
                            .iter()
                            .any(|k| first.as_ref().is_some_and(|f| cmp(k, f) == Ordering::Less))
            } else {
                match &first {
                    Some(f) => full.iter().any(|k| cmp(k, f) == Ordering::Less),
                    None => false,
                }
            };
            if window.is_empty() && (offset > 0 || after.is_some()) {
                has_prev = true;
            }
            Some(page_info_json(
                window
                    .first()
                    .map(|r| self.cursor(r.e, id_attr, order_spec)),
                window.last().map(|r| self.cursor(r.e, id_attr, order_spec)),
                has_next,
                has_prev,
            ))
        } else {
            None
        };
        if let Some(d) = id_order(node) {
            sort_ids(&mut window, |r| r.e, d);
        }
        let mut items = Vec::with_capacity(window.len());
        for r in &window {
            items.push(self.entity_json(ns, r.e, node, path)?);
        }
        if window.is_empty() {
            self.check_children(ns, node, path)?;
        }
        Ok((items, page_info, count))
    }

    fn cursor_key(
        &self,
        c: &Value,
        which: &str,
        order_attr: Uuid,
        order_spec: Option<(Uuid, Option<ValueType>)>,
        ns: &str,
        path: &[String],
    ) -> Result<(SortKey, Uuid), ApiError> {
        let p = at(&at(path, "$"), which);
        let arr = c.as_array().ok_or_else(|| {
            query_err(
                &p,
                format!("Expected a join row for the cursor, got {c}."),
                self.raw,
            )
        })?;
        if arr.len() != 4 && arr.len() != 3 {
            return Err(query_err(
                &p,
                format!("Expected a join row with 4 items for the cursor, got {c}."),
                self.raw,
            ));
        }
        let e = arr[0].as_str().and_then(|s| Uuid::parse_str(s).ok());
        let a = arr[1].as_str().and_then(|s| Uuid::parse_str(s).ok());
        let (Some(e), Some(a)) = (e, a) else {
            return Err(query_err(
                &p,
                format!("Expected a join row for the cursor, got {c}."),
                self.raw,
            ));
        };
        if arr.len() == 4 && !arr[3].is_i64() && !arr[3].is_u64() {
            return Err(query_err(
                &p,
                format!("Expected a join row for the cursor, got {c}."),
                self.raw,
            ));
        }
        if a != order_attr {
            let name = |id: Uuid| -> String {
                match self.st.attrs.get(&id) {
                    Some(x) if x.is_id() => "serverCreatedAt".into(),
                    Some(x) => x.label.clone(),
                    None => id.to_string(),
                }
            };
            return Err(query_err(
                &p,
                format!(
                    "Invalid {which} cursor. The query orders by `{}`, but the query that returned the cursor orders by `{}`.",
                    name(order_attr),
                    name(a)
                ),
                self.raw,
            ));
        }
        let _ = ns;
        let key = match order_spec {
            None => SortKey::Num(super::value::F(
                arr.get(3).and_then(Value::as_f64).unwrap_or(0.0),
            )),
            Some((_, checked)) => sort_key(Some(&arr[2]), checked),
        };
        Ok((key, e))
    }

    fn check_children(
        &mut self,
        ns: &str,
        node: &QueryNode,
        path: &[String],
    ) -> Result<(), ApiError> {
        for (label, child) in &node.children {
            let cp = at(path, label);
            match resolve_link(self.st, ns, label) {
                Some((a, _, _)) if !a.is_ref => {
                    return Err(ApiError::validation(
                        "attr",
                        a.to_json(),
                        vec![json!({"message": format!("{ns}.{label} needs to be a link")})],
                    ))
                }
                Some((_, _, next)) => {
                    self.plan_where(&next, child, &cp)?;
                    self.check_children(&next, child, &cp)?;
                }
                None => {}
            }
        }
        Ok(())
    }

    fn entity_json(
        &mut self,
        ns: &str,
        e: Uuid,
        node: &QueryNode,
        path: &[String],
    ) -> Result<Value, ApiError> {
        let st = self.st;
        // `{"id": "<uuid>"}` plus a separator.
        self.budget.row(48)?;
        let mut m = Map::new();
        m.insert("id".into(), Value::String(e.to_string()));
        let fields: Option<HashSet<&str>> = node
            .options
            .fields
            .as_ref()
            .map(|f| f.iter().map(String::as_str).collect());
        if let Some(avs) = st.ents.get(&e) {
            for (aid, tris) in avs {
                let Some(a) = st.attrs.get(aid) else { continue };
                if a.ns != ns || a.many || a.is_id() {
                    continue;
                }
                if let Some(f) = &fields {
                    if !f.contains(a.label.as_str()) {
                        continue;
                    }
                }
                if let Some(t) = tris.first() {
                    self.budget.add_bytes(a.label.len() + 4 + estimate(&t.v))?;
                    m.insert(a.label.clone(), t.v.clone());
                }
            }
        }
        for (label, child) in &node.children {
            let cp = at(path, label);
            let v = self.child_json(ns, e, label, child, &cp)?;
            m.insert(label.clone(), v);
        }
        Ok(Value::Object(m))
    }

    fn child_json(
        &mut self,
        ns: &str,
        e: Uuid,
        label: &str,
        node: &QueryNode,
        path: &[String],
    ) -> Result<Value, ApiError> {
        let st = self.st;
        let Some((a, fwd, next)) = resolve_link(st, ns, label) else {
            return Ok(Value::Array(vec![]));
        };
        if !a.is_ref {
            return Err(ApiError::validation(
                "attr",
                a.to_json(),
                vec![json!({"message": format!("{ns}.{label} needs to be a link")})],
            ));
        }
        let singular = if fwd { !a.many } else { a.unique };
        let hop = plan::Hop {
            attr: a.id,
            forward: fwd,
            ns: next.clone(),
            binds: true,
        };
        let w = self.plan_where(&next, node, path)?;
        let Some(id_attr) = st.id_attr(&next).map(|x| x.id) else {
            return Ok(if self.inference && singular {
                Value::Null
            } else {
                Value::Array(vec![])
            });
        };
        let mut seen = HashSet::new();
        let mut ids: Vec<Uuid> = Vec::new();
        for t in eval::follow(st, e, &hop) {
            if seen.insert(t) && st.exists(t, id_attr) && self.test(w.as_ref(), t)? {
                ids.push(t);
            }
        }
        // Order: nested order by field (no checks), else serverCreatedAt.
        let (field_attr, dir) = match &node.options.order {
            Some(o) if o.field != "serverCreatedAt" => (
                st.fwd_attr(&next, &o.field).map(|x| (x.id, x.checked)),
                o.direction,
            ),
            Some(o) => (None, o.direction),
            None => (None, OrderDirection::Asc),
        };
        let mut keyed: Vec<((SortKey, Uuid), Uuid)> = ids
            .drain(..)
            .map(|t| {
                let k = match (&node.options.order, field_attr) {
                    (Some(o), None) if o.field != "serverCreatedAt" => SortKey::Null,
                    (_, Some((fa, checked))) => sort_key(st.value(t, fa).map(|x| &x.v), checked),
                    _ => SortKey::Num(super::value::F(
                        st.created_at(t, id_attr).unwrap_or(0) as f64
                    )),
                };
                ((k, t), t)
            })
            .collect();
        keyed.sort_by(|a, b| {
            let c = a.0.cmp(&b.0);
            if dir == OrderDirection::Desc {
                c.reverse()
            } else {
                c
            }
        });
        if let Some(d) = id_order(node) {
            sort_ids(&mut keyed, |k| k.1, d);
        }
        let mut items = Vec::with_capacity(keyed.len());
        for (_, t) in keyed {
            items.push(self.entity_json(&next, t, node, path)?);
        }
        if items.is_empty() {
            self.check_children(&next, node, path)?;
        }
        if self.inference && singular {
            return Ok(items.into_iter().next().unwrap_or(Value::Null));
        }
        Ok(Value::Array(items))
    }
}

/// The direction of an `order` on an attribute that `fields` leaves out. The
/// server sorts the result tree on the fetched entity maps (`sort-entries`,
/// `server/src/instant/util/instaql.clj:64-82`): without the attribute every
/// key is `nil` and entities come back in id order, descending for `desc`
/// (`make-sort-key-compare`, same file 41-54). The page itself is still chosen
/// by the order.
fn id_order(node: &QueryNode) -> Option<OrderDirection> {
    let o = node.options.order.as_ref()?;
    if o.field == "serverCreatedAt" {
        return None;
    }
    let fields = node.options.fields.as_ref()?;
    (!fields.contains(&o.field)).then_some(o.direction)
}

/// Sorts `v` by entity id (Postgres uuid order: bytes, as [`Uuid`]'s `Ord`).
fn sort_ids<T>(v: &mut [T], id: impl Fn(&T) -> Uuid, dir: OrderDirection) {
    v.sort_by(|a, b| {
        let c = id(a).cmp(&id(b));
        if dir == OrderDirection::Desc {
            c.reverse()
        } else {
            c
        }
    });
}

fn offset_given(o: &instant_core::QueryOptions) -> bool {
    o.offset.is_some_and(|n| n > 0)
}

fn page_info_json(start: Option<Value>, end: Option<Value>, next: bool, prev: bool) -> Value {
    json!({
        "start-cursor": start,
        "end-cursor": end,
        "has-next-page?": next,
        "has-previous-page?": prev,
    })
}
