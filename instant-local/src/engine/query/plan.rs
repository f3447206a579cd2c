//! Resolving and validating a `where` clause against an app's attributes
//! (spec `semantics.md` §3, `instaql.md` §3): dotted paths become link hops,
//! operators are checked for index/type requirements with the server's messages.

use instant_core::{ApiError, Op, ValueType};
use serde_json::{json, Value};
use uuid::Uuid;

use super::super::attr::Attr;
use super::super::state::AppState;
use super::super::value::date_ms;

/// One link hop of a path.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The ref attr.
    pub attr: Uuid,
    /// True when following the attr forward (owner → target).
    pub forward: bool,
    /// Namespace reached by the hop.
    pub ns: String,
    /// Whether the reached entity is a join variable (`?<ns>-<level>`) shared with
    /// the other conditions of the same where object. False for the final hop of
    /// `{"label": uuid}`, which compares with a constant.
    pub binds: bool,
}

/// What the last segment of a path names.
#[derive(Debug, Clone)]
pub enum Last {
    /// The entity id.
    Id,
    /// A blob attr (its id, checked type and whether it is indexed).
    Blob {
        /// Attr id.
        attr: Uuid,
        /// Checked data type.
        checked: Option<ValueType>,
        /// Indexed.
        indexed: bool,
    },
}

/// A resolved condition.
#[derive(Debug, Clone)]
pub struct CondP {
    /// Link hops from the form's entity.
    pub hops: Vec<Hop>,
    /// The final segment.
    pub last: Last,
    /// The operator (values already validated).
    pub op: Op,
}

/// A resolved where tree.
#[derive(Debug, Clone)]
pub enum W {
    /// The keys of the top-level where object: all must hold, and dotted paths
    /// reaching the same namespace at the same depth share their entity (Instant
    /// names join variables `?<etype>-<level>`).
    Scope(Vec<W>),
    /// All must hold, each binding its own chains: an `and` list, and the
    /// keys of an object nested in `and`/`or`.
    And(Vec<W>),
    /// One must hold.
    Or(Vec<W>),
    /// A condition.
    Cond(CondP),
    /// Matches nothing (an unknown attribute, link or namespace anywhere in
    /// the where).
    False,
}

/// A `validation-failed` query error at `path` with `message`.
pub fn query_err(path: &[String], message: impl Into<String>, input: &Value) -> ApiError {
    let message = message.into();
    ApiError::validation(
        "query",
        input.clone(),
        vec![json!({"expected": "valid-query?", "in": path, "message": message})],
    )
}

fn type_name(v: &Value) -> &'static str {
    instant_core::value::json_type_name(v)
}

/// Resolves a label of `ns`: (attr, forward?, next namespace).
pub fn resolve_link<'a>(
    st: &'a AppState,
    ns: &str,
    label: &str,
) -> Option<(&'a Attr, bool, String)> {
    if let Some(a) = st.fwd_attr(ns, label) {
        let next = a.rev.as_ref().map(|r| r.1.clone()).unwrap_or_default();
        return Some((a, true, next));
    }
    if let Some(a) = st.rev_attr(ns, label) {
        return Some((a, false, a.ns.clone()));
    }
    None
}

/// Context for planning: the app state and the raw query (for error hints).
pub struct Planner<'a> {
    /// App state.
    pub st: &'a AppState,
    /// The raw query JSON.
    pub input: &'a Value,
}

impl<'a> Planner<'a> {
    /// Plans the raw where object `v` (already validated by instant-core's
    /// parser) for namespace `ns`; `path` is its JSON path.
    ///
    /// As on the official server, an unknown attribute or link anywhere in the
    /// where (any `and`/`or` branch) makes the whole where [`W::False`]: the
    /// attr lookup throws `record-not-found` and `guarded-where-query` answers
    /// an empty form (`server/src/instant/db/instaql.clj:890-902`,
    /// `server/src/instant/db/model/attr_pat.clj:103-108`). Only the keys of
    /// the top-level object share path variables ([`W::Scope`]); every
    /// condition inside `and`/`or` binds its own (`level-sym-gen`,
    /// `instaql.clj:645-652,798-842`).
    pub fn plan_raw(&self, ns: &str, v: &Value, path: &[String]) -> Result<W, ApiError> {
        let mut missing = false;
        let w = self.plan_obj(ns, v, path, false, &mut missing)?;
        Ok(if missing { W::False } else { w })
    }

    fn plan_obj(
        &self,
        ns: &str,
        v: &Value,
        path: &[String],
        nested: bool,
        missing: &mut bool,
    ) -> Result<W, ApiError> {
        let Some(m) = v.as_object() else {
            return Err(ApiError::validation(
                "query",
                self.input.clone(),
                vec![json!({"expected": "map?", "in": path})],
            ));
        };
        let mut items = Vec::with_capacity(m.len());
        for (k, x) in m {
            let mut p = path.to_vec();
            p.push(k.clone());
            match (k.as_str(), x) {
                ("and" | "or", Value::Array(list)) => {
                    if list.is_empty() {
                        return Err(query_err(
                            &p,
                            format!("The list of `{k}` conditions can't be empty."),
                            self.input,
                        ));
                    }
                    let mut children = Vec::with_capacity(list.len());
                    for (i, c) in list.iter().enumerate() {
                        let mut cp = p.clone();
                        cp.push(i.to_string());
                        if k == "or" {
                            if let Some(w) = self.or_is_null(ns, c, &cp, missing)? {
                                children.push(w);
                                continue;
                            }
                        }
                        children.push(self.plan_obj(ns, c, &cp, true, missing)?);
                    }
                    items.push(if k == "and" {
                        W::And(children)
                    } else {
                        W::Or(children)
                    });
                }
                _ => {
                    let op = Op::from_json(&p, x)
                        .map_err(|e| query_err(&p, e.to_string(), self.input))?;
                    items.push(self.plan_cond(ns, k, &op, &p, missing)?);
                }
            }
        }
        Ok(if nested {
            W::And(items)
        } else {
            W::Scope(items)
        })
    }

    /// An `or` element `{path: {"$isNull": true}}` whose path ends on an
    /// indexed attribute is planned as `{path: {"$in": [null]}}`, as the
    /// server's `combine-or-where-conds` rewrites it
    /// (`server/src/instant/db/instaql.clj:192-235`): a dotted path then needs
    /// the linked entity to exist. `None` for any other element.
    fn or_is_null(
        &self,
        ns: &str,
        c: &Value,
        path: &[String],
        missing: &mut bool,
    ) -> Result<Option<W>, ApiError> {
        let Some(m) = c.as_object() else {
            return Ok(None);
        };
        let Some((k, v)) = m.iter().next().filter(|_| m.len() == 1) else {
            return Ok(None);
        };
        if *v != json!({"$isNull": true}) || !self.indexed_path(ns, k) {
            return Ok(None);
        }
        let mut p = path.to_vec();
        p.push(k.clone());
        let op = Op::In(vec![Value::Null]);
        self.plan_cond(ns, k, &op, &p, missing).map(Some)
    }

    /// The server's `indexed-attr?` (`instaql.clj:192-205`): the path's links
    /// resolve and its last segment is an indexed forward attribute.
    fn indexed_path(&self, ns: &str, key: &str) -> bool {
        let segs: Vec<&str> = key.split('.').collect();
        let mut cur = ns.to_string();
        for seg in &segs[..segs.len() - 1] {
            match resolve_link(self.st, &cur, seg) {
                Some((_, _, next)) => cur = next,
                None => return false,
            }
        }
        self.st
            .fwd_attr(&cur, segs[segs.len() - 1])
            .is_some_and(|a| a.indexed)
    }

    fn plan_cond(
        &self,
        ns: &str,
        key: &str,
        op: &Op,
        path: &[String],
        missing: &mut bool,
    ) -> Result<W, ApiError> {
        let st = self.st;
        if st.id_attr(ns).is_none() {
            *missing = true;
            return Ok(W::False);
        }
        let segs: Vec<&str> = key.split('.').collect();
        let mut cur = ns.to_string();
        let mut hops = Vec::new();
        for seg in &segs[..segs.len() - 1] {
            match resolve_link(st, &cur, seg) {
                None => {
                    *missing = true;
                    return Ok(W::False);
                }
                Some((a, _, _)) if !a.is_ref => {
                    return Err(ApiError::validation(
                        "attr",
                        a.to_json(),
                        vec![json!({"message": format!("{cur}.{seg} needs to be a link")})],
                    ))
                }
                Some((a, fwd, next)) => {
                    hops.push(Hop {
                        attr: a.id,
                        forward: fwd,
                        ns: next.clone(),
                        binds: true,
                    });
                    cur = next;
                }
            }
        }
        let last = segs[segs.len() - 1];
        let last_p = if last == "id" {
            Last::Id
        } else if let Some((a, fwd, next)) = resolve_link(st, &cur, last) {
            if a.is_ref {
                // `{"label": uuid}` = `{"label.id": uuid}` (a constant, not a join).
                self.check_uuid_op(last, op, path)?;
                hops.push(Hop {
                    attr: a.id,
                    forward: fwd,
                    ns: next,
                    binds: false,
                });
                return Ok(W::Cond(CondP {
                    hops,
                    last: Last::Id,
                    op: op.clone(),
                }));
            }
            Last::Blob {
                attr: a.id,
                checked: a.checked,
                indexed: a.indexed,
            }
        } else {
            *missing = true;
            return Ok(W::False);
        };
        if let Last::Id = last_p {
            self.check_uuid_op(last, op, path)?;
        }
        if let Last::Blob {
            checked, indexed, ..
        } = &last_p
        {
            self.check_blob_op(&cur, last, *checked, *indexed, op, path)?;
        }
        Ok(W::Cond(CondP {
            hops,
            last: last_p,
            op: op.clone(),
        }))
    }

    fn check_uuid_op(&self, label: &str, op: &Op, path: &[String]) -> Result<(), ApiError> {
        let is_uuid = |v: &Value| v.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok());
        match op {
            Op::Eq(v) | Op::Ne(v) if !is_uuid(v) => {
                return Err(query_err(
                    path,
                    format!("Expected {label} to be a uuid, got {v}"),
                    self.input,
                ));
            }
            Op::In(vs) => {
                if let Some(bad) = vs.iter().find(|v| !v.is_null() && !is_uuid(v)) {
                    return Err(query_err(
                        path,
                        format!(
                            "Expected {label} to match on a uuid, found {bad} in {}",
                            Value::Array(vs.clone())
                        ),
                        self.input,
                    ));
                }
            }
            Op::IsNull(_) => {}
            Op::Gt(_) | Op::Gte(_) | Op::Lt(_) | Op::Lte(_) | Op::Like(_) | Op::Ilike(_) => {
                return Err(query_err(
                    path,
                    format!("The `{label}` attribute must be indexed to use comparison operators."),
                    self.input,
                ))
            }
            _ => {}
        }
        Ok(())
    }

    fn check_typed_literal(
        &self,
        ns: &str,
        label: &str,
        t: ValueType,
        v: &Value,
        path: &[String],
    ) -> Result<(), ApiError> {
        let ok = match (t, v) {
            (ValueType::String, Value::String(_))
            | (ValueType::Number, Value::Number(_))
            | (ValueType::Boolean, Value::Bool(_))
            | (ValueType::Json, _) => true,
            (ValueType::Date, Value::Number(_)) => true,
            (ValueType::Date, Value::String(s)) => {
                let l = s.trim().to_ascii_lowercase();
                !matches!(l.as_str(), "now" | "today" | "tomorrow" | "yesterday")
                    && date_ms(v).is_some()
            }
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let msg = if t == ValueType::Date {
            format!(
                "The data type of `{ns}.{label}` is `date`, but the query got value `{v}` of type `{}`.",
                type_name(v)
            )
        } else {
            format!(
                "The data type of `{ns}.{label}` is `{}`, but the query got the value `{v}` of type `{}`.",
                t.as_str(),
                type_name(v)
            )
        };
        Err(query_err(path, msg, self.input))
    }

    fn check_blob_op(
        &self,
        ns: &str,
        label: &str,
        checked: Option<ValueType>,
        indexed: bool,
        op: &Op,
        path: &[String],
    ) -> Result<(), ApiError> {
        let typed = |v: &Value| match checked {
            Some(t) => self.check_typed_literal(ns, label, t, v, path),
            None => Ok(()),
        };
        match op {
            Op::Eq(v) | Op::Ne(v) => typed(v),
            Op::In(vs) => {
                for v in vs {
                    if v.is_null() {
                        if !indexed {
                            return Err(query_err(
                                path,
                                format!("Only indexed attrs can check for `nil` in `$in`. {ns}.{label} is not indexed."),
                                self.input,
                            ));
                        }
                    } else {
                        typed(v)?;
                    }
                }
                Ok(())
            }
            Op::IsNull(_) => Ok(()),
            Op::Gt(v) | Op::Gte(v) | Op::Lt(v) | Op::Lte(v) => {
                self.require_comparable(ns, label, checked, indexed, path)?;
                typed(v)
            }
            Op::Like(s) | Op::Ilike(s) => {
                self.require_comparable(ns, label, checked, indexed, path)?;
                if checked != Some(ValueType::String) {
                    let opname = if matches!(op, Op::Like(_)) {
                        "$like"
                    } else {
                        "$ilike"
                    };
                    return Err(query_err(
                        path,
                        format!(
                            "The `{ns}.{label}` attribute must have type `string` to use {opname}, but it has type `{}`.",
                            checked.map(|t| t.as_str()).unwrap_or("any")
                        ),
                        self.input,
                    ));
                }
                let _ = s;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn require_comparable(
        &self,
        ns: &str,
        label: &str,
        checked: Option<ValueType>,
        indexed: bool,
        path: &[String],
    ) -> Result<(), ApiError> {
        if !indexed {
            return Err(query_err(
                path,
                format!(
                    "The `{ns}.{label}` attribute must be indexed to use comparison operators."
                ),
                self.input,
            ));
        }
        if checked.is_none() {
            return Err(query_err(
                path,
                format!("The `{ns}.{label}` attribute must have an enforced type to use comparison operators."),
                self.input,
            ));
        }
        Ok(())
    }
}
