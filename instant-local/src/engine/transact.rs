//! InstaML transactions (spec `instaml-steps.md`, `semantics.md` §5): step parsing
//! with the server's errors, attribute inference, lookups, expansion into internal
//! ops grouped by kind in order of first appearance, constraint checks (types,
//! uniqueness, sizes, required attrs), cascading deletes, all-or-nothing.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use instant_core::{ApiError, EntityRef, Error, ErrorKind, LinkTargets, Lookup, Step, ValueType};
use serde_json::{json, Value};
use uuid::Uuid;

use super::attr::{is_readonly_system_column, Attr};
use super::state::{ref_id, vkey, AppState};
use super::value::{deep_merge, fits_type, has_null_byte};

pub mod step_spec;

/// Largest JSON text (bytes) of a unique/indexed value or a ref.
const MAX_INDEXED_VALUE: usize = 1024;

fn steps_error(input: &Value, errors: Vec<Value>) -> ApiError {
    ApiError::validation("steps", input.clone(), errors)
}

fn tx_step_error(input: Value, msg: String) -> ApiError {
    ApiError::validation("tx-step", input, vec![json!({"message": msg})])
}

fn lookup_error(input: Value, msg: impl Into<String>) -> ApiError {
    ApiError::validation("lookup", input, vec![json!({"message": msg.into()})])
}

const DATA_ACTIONS: &[&str] = &[
    "create",
    "update",
    "merge",
    "link",
    "unlink",
    "delete",
    "ruleParams",
];

/// Rewrites link values the core parser does not take (`[attr, value]` pairs inside
/// arrays, `{attr: value}` objects) into encoded lookup strings.
fn normalize_links(step: &Value) -> std::borrow::Cow<'_, Value> {
    use std::borrow::Cow;
    let Some(arr) = step.as_array() else {
        return Cow::Borrowed(step);
    };
    let action = arr.first().and_then(Value::as_str).unwrap_or("");
    if !matches!(action, "link" | "unlink") {
        return Cow::Borrowed(step);
    }
    let mut out = arr.clone();
    if let Some(Value::Object(args)) = arr.get(3) {
        let mut m = serde_json::Map::new();
        for (k, v) in args {
            let enc = |attr: &str, val: &Value| -> Value {
                match Lookup::new(attr, val.clone()) {
                    Ok(l) => Value::String(l.encode()),
                    Err(_) => json!([attr, val]),
                }
            };
            let nv = match v {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|it| match it {
                            Value::Array(p) if p.len() == 2 && p[0].is_string() => {
                                enc(p[0].as_str().unwrap_or(""), &p[1])
                            }
                            Value::Object(o) if o.len() == 1 => {
                                let (ok, ov) = o.iter().next().expect("len 1");
                                enc(ok, ov)
                            }
                            other => other.clone(),
                        })
                        .collect(),
                ),
                Value::Object(o) if !o.is_empty() => {
                    let list: Vec<Value> = o.iter().map(|(ok, ov)| enc(ok, ov)).collect();
                    if list.len() == 1 {
                        list.into_iter().next().expect("len 1")
                    } else {
                        Value::Array(list)
                    }
                }
                other => other.clone(),
            };
            m.insert(k.clone(), nv);
        }
        out[3] = Value::Object(m);
    }
    Cow::Owned(Value::Array(out))
}

/// `parse-lookup` of an encoded lookup string (`server/src/instant/admin/model.clj`
/// lines 35-45): Java's `split("__")` (trailing empty parts dropped), the
/// attribute is the second part and the rest, joined with `__`, must be JSON.
/// `Some` with the server's error when that JSON does not parse, else `None`
/// (other problems are left to [`Step::from_json`]).
fn lookup_string_error(k: &str) -> Option<ApiError> {
    if !Lookup::is_encoded(k) {
        return None;
    }
    let mut parts: Vec<&str> = k.split("__").collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let attr = parts.get(1).copied().unwrap_or("");
    let json_text = parts.get(2..).unwrap_or(&[]).join("__");
    if json_text.is_empty() || serde_json::from_str::<Value>(&json_text).is_ok() {
        return None;
    }
    Some(ApiError::validation(
        "lookup",
        json!(k),
        vec![json!({
            "message": "lookup value is invalid",
            "hint": {"attribute": attr, "value": json_text},
        })],
    ))
}

/// The encoded lookup strings of a step, in the order the server parses them:
/// the entity slot, then link/unlink values.
fn lookup_strings(step: &[Value]) -> Vec<&str> {
    let mut out: Vec<&str> = step.get(2).and_then(Value::as_str).into_iter().collect();
    let action = step.first().and_then(Value::as_str).unwrap_or("");
    if matches!(action, "link" | "unlink") {
        for v in step
            .get(3)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            match v {
                Value::String(s) => out.push(s),
                Value::Array(items) => out.extend(items.iter().filter_map(Value::as_str)),
                _ => {}
            }
        }
    }
    out
}

/// `invalid-eid?` of `check-for-invalid-entity-ids!` (`model.clj` lines 402-427):
/// the error for the first data step whose entity slot is not a uuid, a lookup
/// string, an array or an object.
fn invalid_entity_id(raw: &Value, arr: &[Value]) -> Option<ApiError> {
    for (i, s) in arr.iter().enumerate() {
        let Some(sa) = s.as_array() else { continue };
        let action = sa.first().and_then(Value::as_str).unwrap_or("");
        if !DATA_ACTIONS.contains(&action) {
            continue;
        }
        let Some(slot) = sa.get(2) else { continue };
        let fine = match slot {
            Value::String(x) => Lookup::is_encoded(x) || Uuid::parse_str(x).is_ok(),
            Value::Array(_) | Value::Object(_) => true,
            _ => false,
        };
        if !fine {
            let shown = match slot {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            let msg = format!(
                "Invalid entity ID '{shown}'. Entity IDs must be UUIDs or lookup references."
            );
            return Some(steps_error(
                raw,
                vec![json!({"message": msg, "in": [i, 2]})],
            ));
        }
    }
    None
}

/// An `{"upsert": v}` option with a non-boolean `v` passes the server's spec
/// (checked with string keys) and is read for its truthiness (`convert-opts`,
/// `model.clj` lines 164-167): rewrite it to the boolean it stands for.
fn normalize_opts(step: &Value) -> std::borrow::Cow<'_, Value> {
    use std::borrow::Cow;
    let Some(arr) = step.as_array() else {
        return Cow::Borrowed(step);
    };
    let action = arr.first().and_then(Value::as_str).unwrap_or("");
    match arr.get(4) {
        Some(Value::Object(o)) if matches!(action, "update" | "merge") => match o.get("upsert") {
            Some(Value::Bool(_) | Value::Null) | None => Cow::Borrowed(step),
            Some(_) => {
                let mut out = arr.clone();
                out[4] = json!({"upsert": true});
                Cow::Owned(Value::Array(out))
            }
        },
        _ => Cow::Borrowed(step),
    }
}

/// Parses and validates `steps` with the server's error shapes, in the
/// server's order (`->tx-steps!`, `model.clj` lines 497-511): the spec of every
/// step (on failure "Invalid entity ID" first, else the best spec problem, see
/// [`step_spec`]), then the encoded lookups, then the actions.
pub fn parse_steps(raw: &Value) -> Result<Vec<Step>, ApiError> {
    let arr: &[Value] = raw.as_array().map(Vec::as_slice).unwrap_or(&[]);
    if !arr.iter().all(step_spec::step_ok) {
        if let Some(e) = invalid_entity_id(raw, arr) {
            return Err(e);
        }
        let errors = match step_spec::best_problem(arr) {
            Some(p) => vec![json!({"expected": p.expected, "in": p.at})],
            None => vec![],
        };
        return Err(steps_error(raw, errors));
    }
    for s in arr {
        let lookups = s.as_array().map(|a| lookup_strings(a)).unwrap_or_default();
        if let Some(e) = lookups.into_iter().find_map(lookup_string_error) {
            return Err(e);
        }
    }
    let mut steps = Vec::with_capacity(arr.len());
    for (i, s) in arr.iter().enumerate() {
        if let Some("update-attr") = s.get(0).and_then(Value::as_str) {
            // Passes the spec, refused when expanded (`to-tx-steps`, `model.clj`
            // lines 220-236).
            return Err(ApiError::validation(
                "action",
                json!("update-attr"),
                vec![
                    json!({"message": "Unsupported action update-attr", "hint": {"value": "update-attr"}}),
                ],
            ));
        }
        let data_step = s
            .get(0)
            .and_then(Value::as_str)
            .is_some_and(|a| DATA_ACTIONS.contains(&a));
        if let Some(slot) = s.get(2).filter(|_| data_step) {
            if let Err(Error::InvalidLookup(m)) = EntityRef::from_slot_json(slot) {
                return Err(lookup_error(slot.clone(), m));
            }
        }
        let opts = normalize_opts(s);
        let norm = normalize_links(&opts);
        match Step::from_json(i, &norm) {
            Ok(st) => steps.push(st),
            Err(Error::InvalidId(_)) => {
                return Err(ApiError::validation(
                    "tx-step",
                    s.clone(),
                    vec![json!({"message": "Linked value must be a valid uuid.", "in": [i, 3]})],
                ))
            }
            Err(Error::InvalidLookup(m)) => return Err(lookup_error(s.clone(), m)),
            Err(_) => {
                return Err(steps_error(
                    raw,
                    vec![json!({"expected": "valid-step?", "in": [i]})],
                ))
            }
        }
    }
    Ok(steps)
}

/// System attributes a user's transaction may still write
/// (`editable-triple-ident-names`, `server/src/instant/system_catalog.clj`
/// lines 426-443).
fn editable_system_attr(ns: &str, label: &str) -> bool {
    matches!(
        (ns, label),
        ("$users", "id") | ("$files", "id") | ("$files", "path") | ("$streams", "id")
    )
}

/// The entity slot as the server's internal tx-step shows it: the id, or
/// `[attr id, value]` for a lookup whose attribute exists.
fn tx_step_eid(st: &AppState, ns: &str, e: &EntityRef) -> Value {
    match e {
        EntityRef::Id(id) => json!(id.to_string()),
        EntityRef::Lookup(l) => match st.fwd_attr(ns, l.attr()) {
            Some(a) => json!([a.id.to_string(), l.value()]),
            None => l.to_pair(),
        },
    }
}

/// True when `e` names an existing entity of `ns` in `st`.
fn entity_exists(st: &AppState, ns: &str, e: &EntityRef) -> bool {
    let Some(id_attr) = st.id_attr(ns).map(|a| a.id) else {
        return false;
    };
    match e {
        EntityRef::Id(id) => st.exists(id.0, id_attr),
        EntityRef::Lookup(l) => st.fwd_attr(ns, l.attr()).is_some_and(|a| {
            st.lookup_av(a.id, l.value())
                .iter()
                .any(|x| st.exists(*x, id_attr))
        }),
    }
}

/// The checks a user's (not the admin's) transaction passes before any
/// permission rule runs, as Instant's permissioned transaction has them
/// (`server/src/instant/db/permissioned_transaction.clj`):
/// 1. `prevent-system-column-updates` (lines 44-110, run first, in step order):
///    deleting an entity of a `$` namespace other than `$files` is "`<ns>` is a
///    system entity. You aren't allowed to delete this directly."; writing a
///    system attribute other than `$users.id`, `$files.id`, `$files.path`,
///    `$streams.id` is "`<ns>.<label>` is a system column. You aren't allowed to
///    change this directly.";
/// 2. creating a `$users` row (writing to a `$users` id that does not exist) is
///    "$users is a system entity. You aren't allowed to create this directly."
///    (lines 589-595; the server finds it while building the create checks,
///    after the update/delete rules of the same transaction ran, the local
///    server before any rule).
///
/// # Errors
/// 400 `validation-failed` (data-type `tx-step`, input the server's internal
/// tx-step) for the first such step.
pub fn check_system_writes(st: &AppState, steps: &[Step]) -> Result<(), ApiError> {
    let column_err = |op: &str, eid: Value, a: &Attr, v: &Value| {
        tx_step_error(
            json!([op, eid, a.id.to_string(), v, null]),
            format!(
                "{}.{} is a system column. You aren't allowed to change this directly.",
                a.ns, a.label
            ),
        )
    };
    for step in steps {
        match step {
            Step::Delete { ns, entity } if ns.starts_with('$') && ns != "$files" => {
                return Err(tx_step_error(
                    json!(["delete-entity", tx_step_eid(st, ns, entity), ns]),
                    format!("{ns} is a system entity. You aren't allowed to delete this directly."),
                ));
            }
            Step::Create { ns, entity, attrs }
            | Step::Update {
                ns, entity, attrs, ..
            }
            | Step::Merge {
                ns, entity, attrs, ..
            } if ns.starts_with('$') => {
                let op = if matches!(step, Step::Merge { .. }) {
                    "deep-merge-triple"
                } else {
                    "add-triple"
                };
                for (label, v) in attrs {
                    let Some(a) = st.fwd_attr(ns, label) else {
                        continue;
                    };
                    if a.system && label != "id" && !editable_system_attr(ns, label) {
                        return Err(column_err(op, tx_step_eid(st, ns, entity), a, v));
                    }
                }
            }
            Step::Link { ns, entity, links } | Step::Unlink { ns, entity, links } => {
                let op = if matches!(step, Step::Link { .. }) {
                    "add-triple"
                } else {
                    "retract-triple"
                };
                for (label, targets) in links {
                    let a = st.fwd_attr(ns, label).or_else(|| st.rev_attr(ns, label));
                    let Some(a) = a.filter(|a| a.system && a.ns.starts_with('$')) else {
                        continue;
                    };
                    if !editable_system_attr(&a.ns, &a.label) {
                        let v = targets_iter(targets)
                            .first()
                            .map(|t| t.to_link_json())
                            .unwrap_or(Value::Null);
                        return Err(column_err(op, tx_step_eid(st, ns, entity), a, &v));
                    }
                }
            }
            _ => {}
        }
    }
    for step in steps {
        if let Step::Create { ns, entity, .. }
        | Step::Update { ns, entity, .. }
        | Step::Merge { ns, entity, .. } = step
        {
            if ns == "$users" && !entity_exists(st, ns, entity) {
                let eid = tx_step_eid(st, ns, entity);
                let id_attr = st.id_attr(ns).map(|a| a.id.to_string());
                return Err(tx_step_error(
                    json!(["add-triple", eid, id_attr, eid, null]),
                    "$users is a system entity. You aren't allowed to create this directly.".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Which way a label goes from a namespace.
#[derive(Clone, Copy)]
struct LinkRef {
    attr: Uuid,
    forward: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    AddAttr,
    DeleteAttr,
    AddTriple,
    Merge,
    Retract,
    Delete,
    RuleParams,
}

#[derive(Debug, Clone)]
enum TxOp {
    AddAttr(Box<Attr>),
    DeleteAttr(Uuid),
    /// (namespace, entity).
    IdWrite(Arc<str>, Uuid),
    /// (entity, attr, value).
    Write(Uuid, Uuid, Value),
    /// (source, attr, target).
    Link(Uuid, Uuid, Uuid),
    /// (entity, attr, patch).
    Merge(Uuid, Uuid, Value),
    /// (source, attr, target).
    Retract(Uuid, Uuid, Uuid),
    /// (namespace, entity).
    Delete(String, Uuid),
    RuleParams,
}

impl TxOp {
    fn kind(&self) -> Kind {
        match self {
            TxOp::AddAttr(_) => Kind::AddAttr,
            TxOp::DeleteAttr(_) => Kind::DeleteAttr,
            TxOp::IdWrite(..) | TxOp::Write(..) | TxOp::Link(..) => Kind::AddTriple,
            TxOp::Merge(..) => Kind::Merge,
            TxOp::Retract(..) => Kind::Retract,
            TxOp::Delete(..) => Kind::Delete,
            TxOp::RuleParams => Kind::RuleParams,
        }
    }
}

/// Runs one transaction against `st` (which must be in logging mode; the caller
/// commits or rolls back).
pub struct Tx<'a> {
    st: &'a mut AppState,
    now: i64,
    throw_on_missing: bool,
    missing: Vec<String>,
    /// Lookups resolved to new entities in this transaction: (ns, attr, value key) → id.
    new_lookups: HashMap<(String, Uuid, String), Uuid>,
    created: Vec<(Arc<str>, Uuid)>,
    touched: Vec<(Arc<str>, Uuid)>,
    /// Namespace names handed out by [`Tx::intern`].
    names: Vec<Arc<str>>,
}

impl<'a> Tx<'a> {
    /// A transaction at time `now` (epoch ms).
    pub fn new(st: &'a mut AppState, now: i64, throw_on_missing: bool) -> Self {
        Tx {
            st,
            now,
            throw_on_missing,
            missing: Vec::new(),
            new_lookups: HashMap::new(),
            created: Vec::new(),
            touched: Vec::new(),
            names: Vec::new(),
        }
    }

    /// A shared copy of namespace name `ns` (a transaction names few namespaces,
    /// each op refers to one: no allocation per op).
    fn intern(&mut self, ns: &str) -> Arc<str> {
        if let Some(n) = self.names.iter().find(|n| &***n == ns) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(ns);
        self.names.push(n.clone());
        n
    }

    // ---- attribute resolution / inference -------------------------------------

    fn ensure_attr(&mut self, a: Attr) -> Uuid {
        // A namespace's `id` attr is created silently even with
        // `throw-on-missing-attrs?` (a schema push makes none for link-only
        // namespaces, yet clients write their entities).
        let name = format!("{}.{}", a.ns, a.label);
        if !a.is_id() && !self.missing.contains(&name) {
            self.missing.push(name);
        }
        let id = a.id;
        self.st.insert_attr(a);
        id
    }

    fn id_attr(&mut self, ns: &str) -> Uuid {
        match self.st.id_attr(ns) {
            Some(a) => a.id,
            None => self.ensure_attr(Attr::id_attr(ns)),
        }
    }

    fn blob_attr(&mut self, ns: &str, label: &str) -> Uuid {
        match self.st.fwd_attr(ns, label) {
            Some(a) => a.id,
            None => self.ensure_attr(Attr::blob(ns, label)),
        }
    }

    fn link_ref(&mut self, ns: &str, label: &str) -> LinkRef {
        if let Some(a) = self.st.fwd_attr(ns, label) {
            return LinkRef {
                attr: a.id,
                forward: true,
            };
        }
        if let Some(a) = self.st.rev_attr(ns, label) {
            return LinkRef {
                attr: a.id,
                forward: false,
            };
        }
        let id = self.ensure_attr(Attr::link(ns, label, label, ns));
        LinkRef {
            attr: id,
            forward: true,
        }
    }

    /// The namespace at the other end of a label.
    fn target_ns(&self, l: LinkRef) -> String {
        let a = &self.st.attrs[&l.attr];
        if l.forward {
            a.rev.as_ref().map(|r| r.1.clone()).unwrap_or_default()
        } else {
            a.ns.clone()
        }
    }

    /// Resolves (creating if missing) the attribute of a lookup in `ns`.
    /// Returns `Ok(None)` for ref lookups (`label.id`) with the link ref instead.
    fn lookup_attr(&mut self, ns: &str, l: &Lookup) -> Result<LookupAttr, ApiError> {
        let name = l.attr();
        if let Some(a) = self.st.fwd_attr(ns, name) {
            if !a.unique {
                return Err(lookup_error(
                    l.to_pair(),
                    format!("{name} is not a unique attribute on {ns}"),
                ));
            }
            if a.is_id() {
                let ok = l
                    .value()
                    .as_str()
                    .is_some_and(|s| Uuid::parse_str(s).is_ok());
                if !ok {
                    return Err(lookup_error(
                        l.to_pair(),
                        format!("Invalid lookup '{}'. The lookup attribute is '{ns}.id', but the lookup value is not a valid UUID.", l.value()),
                    ));
                }
            }
            return Ok(LookupAttr::Blob(a.id));
        }
        if let Some((label, rest)) = name.split_once('.') {
            if rest != "id" || label.contains('.') {
                return Err(lookup_error(
                    l.to_pair(),
                    format!("{name} is not a valid lookup attribute."),
                ));
            }
            let lr = match self.st.fwd_attr(ns, label) {
                Some(a) if a.is_ref => LinkRef {
                    attr: a.id,
                    forward: true,
                },
                Some(_) => {
                    return Err(lookup_error(
                        l.to_pair(),
                        format!("{name} is not a valid lookup attribute."),
                    ))
                }
                None => {
                    let id = self.ensure_attr(Attr {
                        many: false,
                        unique: true,
                        indexed: true,
                        ..Attr::link(ns, label, label, ns)
                    });
                    LinkRef {
                        attr: id,
                        forward: true,
                    }
                }
            };
            if !self.st.attrs[&lr.attr].unique {
                return Err(lookup_error(
                    l.to_pair(),
                    format!("{name} is not a unique attribute on {ns}"),
                ));
            }
            let target = l
                .value()
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| lookup_error(l.to_pair(), "lookup value is invalid"))?;
            return Ok(LookupAttr::Ref(lr.attr, target));
        }
        let id = self.ensure_attr(Attr {
            unique: true,
            indexed: true,
            ..Attr::blob(ns, name)
        });
        Ok(LookupAttr::Blob(id))
    }

    fn find_lookup(&self, ns: &str, la: &LookupAttr, value: &Value) -> Option<Uuid> {
        let id_attr = self.st.id_attr(ns)?.id;
        let key = match la {
            LookupAttr::Blob(a) => (ns.to_string(), *a, vkey(value)),
            LookupAttr::Ref(a, t) => (ns.to_string(), *a, t.to_string()),
        };
        if let Some(e) = self.new_lookups.get(&key) {
            return Some(*e);
        }
        match la {
            LookupAttr::Blob(a) => {
                let a = &self.st.attrs[a];
                if a.is_id() {
                    let e = value.as_str().and_then(|s| Uuid::parse_str(s).ok())?;
                    return self.st.exists(e, id_attr).then_some(e);
                }
                self.st
                    .lookup_av(a.id, value)
                    .iter()
                    .copied()
                    .find(|e| self.st.exists(*e, id_attr))
            }
            LookupAttr::Ref(a, t) => self
                .st
                .sources(*t, *a)
                .find(|e| self.st.exists(*e, id_attr)),
        }
    }

    // ---- expansion --------------------------------------------------------------

    fn expand(&mut self, steps: &[Step], raw: &Value) -> Result<Vec<TxOp>, ApiError> {
        let mut ops = Vec::new();
        let pre_exists = |st: &AppState, ns: &str, e: Uuid| st.exists_in(e, ns);
        for (i, step) in steps.iter().enumerate() {
            let null = Value::Null;
            let raw_step = raw.get(i).unwrap_or(&null);
            match step {
                Step::AddAttr(v) => {
                    let a = Attr::from_server_json(v).map_err(|m| {
                        ApiError::validation("attr", v.clone(), vec![json!({"message": m})])
                    })?;
                    if self.st.attrs.contains_key(&a.id)
                        || self.st.fwd_attr(&a.ns, &a.label).is_some()
                    {
                        return Err(ApiError::validation(
                            "attr",
                            v.clone(),
                            vec![
                                json!({"message": format!("An attribute `{}.{}` already exists.", a.ns, a.label)}),
                            ],
                        ));
                    }
                    ops.push(TxOp::AddAttr(Box::new(a)));
                }
                Step::DeleteAttr(id) => ops.push(TxOp::DeleteAttr(id.0)),
                Step::RuleParams { .. } => ops.push(TxOp::RuleParams),
                Step::Delete { ns, entity } => {
                    if self.st.id_attr(ns).is_none() {
                        continue;
                    }
                    let e = match entity {
                        EntityRef::Id(id) => Some(id.0),
                        EntityRef::Lookup(l) => {
                            let la = self.lookup_attr(ns, l)?;
                            self.find_lookup(ns, &la, l.value())
                        }
                    };
                    if let Some(e) = e {
                        ops.push(TxOp::Delete(ns.clone(), e));
                    }
                }
                Step::Create { ns, entity, attrs }
                | Step::Update {
                    ns, entity, attrs, ..
                }
                | Step::Merge {
                    ns, entity, attrs, ..
                } => {
                    let is_create = matches!(step, Step::Create { .. });
                    let is_merge = matches!(step, Step::Merge { .. });
                    let strict = match step {
                        Step::Update { opts, .. } | Step::Merge { opts, .. } => {
                            opts.and_then(|o| o.upsert) == Some(false)
                        }
                        _ => false,
                    };
                    if is_create && ns == "$users" {
                        return Err(tx_step_error(
                            raw_step.clone(),
                            "$users is a system entity. You aren't allowed to create this directly.".into(),
                        ));
                    }
                    self.id_attr(ns);
                    let (e, existed, lookup_write) = self.subject(ns, entity, attrs, raw_step)?;
                    if is_create && existed {
                        return Err(tx_step_error(
                            raw_step.clone(),
                            format!("Creating entities that exist: {e}"),
                        ));
                    }
                    if strict && !existed && !pre_exists(self.st, ns, e) {
                        return Err(tx_step_error(
                            raw_step.clone(),
                            format!("Updating entities that don't exist: {e}"),
                        ));
                    }
                    ops.push(TxOp::IdWrite(self.intern(ns), e));
                    if let Some(op) = lookup_write {
                        ops.push(op);
                    }
                    for (k, v) in attrs {
                        if k == "id" {
                            continue;
                        }
                        let existing = self.st.fwd_attr(ns, k).map(|a| (a.is_ref, a.id));
                        match existing {
                            Some((true, ref_attr)) => {
                                if is_merge {
                                    return Err(ApiError::new(
                                        ErrorKind::SqlRaise,
                                        "Raised Exception: merge operation is not supported for links",
                                    )
                                    .with_hint(json!({"condition": "raise_exception"})));
                                }
                                let targets: Vec<&Value> = match v {
                                    Value::Array(a) => a.iter().collect(),
                                    Value::Null => vec![],
                                    other => vec![other],
                                };
                                for t in targets {
                                    let tid = t
                                        .as_str()
                                        .and_then(|s| Uuid::parse_str(s).ok())
                                        .ok_or_else(|| {
                                            ApiError::validation(
                                                "tx-step",
                                                raw_step.clone(),
                                                vec![json!({"message": "Linked value must be a valid uuid."})],
                                            )
                                        })?;
                                    ops.push(TxOp::Link(e, ref_attr, tid));
                                }
                            }
                            _ => {
                                let aid = self.blob_attr(ns, k);
                                if is_merge {
                                    ops.push(TxOp::Merge(e, aid, v.clone()));
                                } else {
                                    ops.push(TxOp::Write(e, aid, v.clone()));
                                }
                            }
                        }
                    }
                }
                Step::Link { ns, entity, links } | Step::Unlink { ns, entity, links } => {
                    let is_link = matches!(step, Step::Link { .. });
                    self.id_attr(ns);
                    let (e, _existed, lookup_write) =
                        self.subject(ns, entity, &Default::default(), raw_step)?;
                    if matches!(entity, EntityRef::Lookup(_)) {
                        ops.push(TxOp::IdWrite(self.intern(ns), e));
                        if let Some(op) = lookup_write {
                            ops.push(op);
                        }
                    }
                    for (label, targets) in links {
                        if label == "id" {
                            continue;
                        }
                        let lr = self.link_ref(ns, label);
                        let tns = self.target_ns(lr);
                        for t in targets_iter(targets) {
                            let tid = match t {
                                EntityRef::Id(id) => id.0,
                                EntityRef::Lookup(l) => {
                                    self.id_attr(&tns);
                                    let la = self.lookup_attr(&tns, l)?;
                                    match self.find_lookup(&tns, &la, l.value()) {
                                        Some(x) => x,
                                        None => {
                                            let aid = match &la {
                                                LookupAttr::Blob(a) | LookupAttr::Ref(a, _) => *a,
                                            };
                                            return Err(lookup_error(
                                                json!({"attribute-id": aid.to_string(), "namespace": tns, "label": l.attr(), "value": l.value()}),
                                                "The entity for the lookup does not exist.",
                                            ));
                                        }
                                    }
                                }
                            };
                            let (src, dst) = if lr.forward { (e, tid) } else { (tid, e) };
                            ops.push(if is_link {
                                TxOp::Link(src, lr.attr, dst)
                            } else {
                                TxOp::Retract(src, lr.attr, dst)
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(ops)
    }

    /// Resolves a step's subject: (entity id, existed before, lookup attr write).
    fn subject(
        &mut self,
        ns: &str,
        entity: &EntityRef,
        attrs: &instant_core::JsonObject,
        raw_step: &Value,
    ) -> Result<(Uuid, bool, Option<TxOp>), ApiError> {
        match entity {
            EntityRef::Id(id) => Ok((id.0, self.st.exists_in(id.0, ns), None)),
            EntityRef::Lookup(l) => {
                let la = self.lookup_attr(ns, l)?;
                if let Some(e) = self.find_lookup(ns, &la, l.value()) {
                    let existed = self.st.exists_in(e, ns);
                    return Ok((e, existed, None));
                }
                if attrs.contains_key(l.attr()) {
                    return Err(lookup_error(
                        raw_step.clone(),
                        "Updates with lookups can only update the lookup attribute if an entity with the unique attribute value already exists.",
                    ));
                }
                let (e, write, key) = match &la {
                    LookupAttr::Blob(a) => {
                        let is_id = self.st.attrs[a].is_id();
                        let e = if is_id {
                            l.value()
                                .as_str()
                                .and_then(|s| Uuid::parse_str(s).ok())
                                .unwrap_or_else(Uuid::new_v4)
                        } else {
                            Uuid::new_v4()
                        };
                        let w = (!is_id).then(|| TxOp::Write(e, *a, l.value().clone()));
                        (e, w, (ns.to_string(), *a, vkey(l.value())))
                    }
                    LookupAttr::Ref(a, t) => {
                        let e = Uuid::new_v4();
                        (
                            e,
                            Some(TxOp::Link(e, *a, *t)),
                            (ns.to_string(), *a, t.to_string()),
                        )
                    }
                };
                self.new_lookups.insert(key, e);
                Ok((e, false, write))
            }
        }
    }

    // ---- execution -------------------------------------------------------------

    /// Runs the steps. On error the caller rolls back.
    pub fn run(mut self, steps: &[Step], raw: &Value) -> Result<(), ApiError> {
        let ops = self.expand(steps, raw)?;
        if self.throw_on_missing && !self.missing.is_empty() {
            let msg = "Attributes are missing in your schema";
            return Err(ApiError::validation(
                "steps",
                raw.clone(),
                vec![json!({"message": msg, "hint": {"attributes": self.missing}})],
            ));
        }
        // Group by kind in order of first appearance.
        let mut order: Vec<Kind> = Vec::new();
        let mut groups: HashMap<Kind, Vec<TxOp>> = HashMap::new();
        for op in ops {
            let k = op.kind();
            if !order.contains(&k) {
                order.push(k);
            }
            groups.entry(k).or_default().push(op);
        }
        for k in order {
            let ops = groups.remove(&k).unwrap_or_default();
            match k {
                Kind::Delete => self.exec_deletes(ops)?,
                _ => {
                    for op in ops {
                        self.exec(op)?;
                    }
                }
            }
        }
        self.write_indexed_nulls();
        self.check_required()?;
        Ok(())
    }

    fn exec(&mut self, op: TxOp) -> Result<(), ApiError> {
        match op {
            TxOp::AddAttr(a) => self.st.insert_attr(*a),
            TxOp::DeleteAttr(id) => self.st.remove_attr(id),
            TxOp::RuleParams | TxOp::Delete(..) => {}
            TxOp::IdWrite(ns, e) => {
                let Some(id_attr) = self.st.id_attr(&ns).map(|a| a.id) else {
                    return Ok(());
                };
                if !self.st.exists(e, id_attr) {
                    self.st
                        .add_triple(e, id_attr, Value::String(e.to_string()), self.now);
                    self.created.push((ns.clone(), e));
                }
                self.touched.push((ns, e));
            }
            TxOp::Write(e, attr, v) => {
                self.check_value(e, attr, &v)?;
                self.check_unique(e, attr, &v)?;
                self.st.set_one(e, attr, v, self.now);
            }
            TxOp::Merge(e, attr, patch) => {
                let old = self.st.value(e, attr).map(|t| t.v.clone());
                let v = deep_merge(old.as_ref(), &patch);
                self.check_value(e, attr, &v)?;
                self.check_unique(e, attr, &v)?;
                self.st.set_one(e, attr, v, self.now);
            }
            TxOp::Link(src, attr, dst) => self.link(src, attr, dst)?,
            TxOp::Retract(src, attr, dst) => {
                self.st
                    .remove_triple(src, attr, &Value::String(dst.to_string()));
                let ns = self.attr(attr)?.ns.clone();
                let ns = self.intern(&ns);
                self.touched.push((ns, src));
            }
        }
        Ok(())
    }

    fn link(&mut self, src: Uuid, attr: Uuid, dst: Uuid) -> Result<(), ApiError> {
        let a = self.attr(attr)?.clone();
        let v = Value::String(dst.to_string());
        if self.st.values(src, attr).iter().any(|t| t.v == v) {
            return Ok(());
        }
        if a.unique {
            if let Some(other) = self.st.sources(dst, attr).find(|s| *s != src) {
                let rns = a.rev.as_ref().map(|r| r.1.clone()).unwrap_or_default();
                return Err(ApiError::new(
                    ErrorKind::RecordNotUnique,
                    format!(
                        "`{}` is a unique attribute on `{}` and an entity already exists with `{}.{}` = {}",
                        a.label, a.ns, a.ns, a.label, v
                    ),
                )
                .with_hint(json!({
                    "record-type": "triple",
                    "attr-id": a.id.to_string(),
                    "etype": a.ns,
                    "label": a.label,
                    "value": v,
                    "entity-id": other.to_string(),
                    "reverse-etype": rns,
                })));
            }
        }
        if !a.many {
            for t in self.st.values(src, attr).to_vec() {
                self.st.remove_triple(src, attr, &t.v);
            }
        }
        self.st.add_triple(src, attr, v, self.now);
        let ns = self.intern(&a.ns);
        self.touched.push((ns, src));
        Ok(())
    }

    /// The attr `id`, or an error when a `delete-attr` of this transaction
    /// removed it before a later write that uses it.
    fn attr(&self, id: Uuid) -> Result<&Attr, ApiError> {
        self.st.attrs.get(&id).ok_or_else(|| {
            ApiError::validation(
                "tx-step",
                json!({"attr-id": id.to_string()}),
                vec![json!({"message": format!("The attribute {id} was deleted earlier in this transaction.")})],
            )
        })
    }

    fn check_value(&self, e: Uuid, attr: Uuid, v: &Value) -> Result<(), ApiError> {
        let a = self.attr(attr)?;
        let ns = a.ns.as_str();
        if has_null_byte(v) {
            return Err(ApiError::validation(
                "tx-step",
                v.clone(),
                vec![json!({"message": "A value in the transaction contains null bytes, which cannot be stored."})],
            )
            .with_message_only("A value in the transaction contains null bytes, which cannot be stored."));
        }
        if is_readonly_system_column(a) {
            return Err(tx_step_error(
                v.clone(),
                format!(
                    "{}.{} is a system column. You aren't allowed to change this directly.",
                    a.ns, a.label
                ),
            ));
        }
        if let Some(t) = a.checked {
            if !fits_type(v, t) {
                let tn = match t {
                    ValueType::Date => "date",
                    other => other.as_str(),
                };
                return Err(ApiError::new(
                    ErrorKind::ValidationFailed,
                    format!(
                        "Invalid value type for {ns}.{}. Value must be a {tn} but the provided value type is {}.",
                        a.label,
                        instant_core::value::json_type_name(v)
                    ),
                )
                .with_hint(json!({
                    "namespace": ns,
                    "attribute": a.label,
                    "value": v,
                    "checked-data-type": t.as_str(),
                    "attr-id": a.id.to_string(),
                    "entity-id": e.to_string(),
                })));
            }
        }
        if (a.unique || a.indexed) && !v.is_null() && vkey(v).len() > MAX_INDEXED_VALUE {
            let which = if a.unique { "unique" } else { "indexed" };
            return Err(ApiError::validation(
                "tx-step",
                json!({"namespace": ns, "attribute": a.label}),
                vec![json!({"message": format!("Value is too large for an {which} attribute.")})],
            )
            .with_message_only(&format!("Value is too large for an {which} attribute.")));
        }
        Ok(())
    }

    fn check_unique(&self, e: Uuid, attr: Uuid, v: &Value) -> Result<(), ApiError> {
        let a = self.attr(attr)?;
        if !a.unique || v.is_null() || a.is_id() {
            return Ok(());
        }
        if self.st.lookup_av(attr, v).iter().any(|x| *x != e) {
            return Err(ApiError::new(
                ErrorKind::RecordNotUnique,
                format!(
                    "`{}` is a unique attribute on `{}` and an entity already exists with `{}.{}` = {}",
                    a.label, a.ns, a.ns, a.label, v
                ),
            )
            .with_hint(json!({
                "record-type": "triple",
                "attr-id": a.id.to_string(),
                "etype": a.ns,
                "label": a.label,
                "value": v,
            })));
        }
        Ok(())
    }

    fn exec_deletes(&mut self, ops: Vec<TxOp>) -> Result<(), ApiError> {
        // Cascade closure computed before deleting.
        let mut queue: VecDeque<(String, Uuid)> = VecDeque::new();
        let mut seen: HashSet<(String, Uuid)> = HashSet::new();
        for op in ops {
            if let TxOp::Delete(ns, e) = op {
                if seen.insert((ns.clone(), e)) {
                    queue.push_back((ns, e));
                }
            }
        }
        let mut all = Vec::new();
        while let Some((ns, e)) = queue.pop_front() {
            let mut next = Vec::new();
            for a in self.st.attrs.values() {
                if !a.is_ref {
                    continue;
                }
                if a.on_delete && a.rev_ns() == Some(ns.as_str()) {
                    for s in self.st.sources(e, a.id) {
                        next.push((a.ns.clone(), s));
                    }
                }
                if a.on_delete_reverse && a.ns == ns {
                    if let Some(rns) = a.rev_ns() {
                        for t in self.st.values(e, a.id) {
                            if let Some(t) = ref_id(&t.v) {
                                next.push((rns.to_string(), t));
                            }
                        }
                    }
                }
            }
            for n in next {
                if self.st.exists_in(n.1, &n.0) && seen.insert(n.clone()) {
                    queue.push_back(n);
                }
            }
            all.push((ns, e));
        }
        for (ns, e) in all {
            self.delete_entity(&ns, e);
        }
        Ok(())
    }

    fn delete_entity(&mut self, ns: &str, e: Uuid) {
        let own: Vec<(Uuid, Vec<Value>)> = self
            .st
            .ents
            .get(&e)
            .map(|avs| {
                avs.iter()
                    .filter(|(a, _)| self.st.attrs.get(a).is_some_and(|x| x.ns == ns))
                    .map(|(a, tris)| (*a, tris.iter().map(|t| t.v.clone()).collect()))
                    .collect()
            })
            .unwrap_or_default();
        for (a, vals) in own {
            for v in vals {
                self.st.remove_triple(e, a, &v);
            }
        }
        let incoming: Vec<(Uuid, Uuid)> = self
            .st
            .vae
            .get(&e)
            .map(|l| {
                l.iter()
                    .filter(|(a, _)| self.st.attrs.get(a).and_then(|x| x.rev_ns()) == Some(ns))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        let v = Value::String(e.to_string());
        for (a, s) in incoming {
            self.st.remove_triple(s, a, &v);
        }
    }

    fn write_indexed_nulls(&mut self) {
        let created = std::mem::take(&mut self.created);
        let mut by_ns: BTreeMap<Arc<str>, Vec<Uuid>> = BTreeMap::new();
        for (ns, e) in created {
            by_ns.entry(ns).or_default().push(e);
        }
        for (ns, es) in by_ns {
            let idx: Vec<Uuid> = self
                .st
                .ns_attrs(&ns)
                .filter(|a| a.indexed && !a.is_ref && !a.is_id() && !a.system)
                .map(|a| a.id)
                .collect();
            for e in es {
                if !self.st.exists_in(e, &ns) {
                    continue;
                }
                for a in &idx {
                    if self.st.values(e, *a).is_empty() {
                        self.st.add_triple(e, *a, Value::Null, self.now);
                    }
                }
            }
        }
    }

    fn check_required(&self) -> Result<(), ApiError> {
        let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let mut seen = HashSet::new();
        let mut records = Vec::new();
        let mut required: HashMap<&str, Vec<&Attr>> = HashMap::new();
        for (ns, e) in &self.touched {
            let req = required.entry(&**ns).or_insert_with(|| {
                let mut v: Vec<&Attr> = self
                    .st
                    .ns_attrs(ns)
                    .filter(|a| a.required && !a.system)
                    .collect();
                v.sort_by(|a, b| a.label.cmp(&b.label));
                v
            });
            if req.is_empty() || !seen.insert((&**ns, *e)) || !self.st.exists_in(*e, ns) {
                continue;
            }
            for a in req.iter() {
                let ok = if a.is_ref {
                    !self.st.values(*e, a.id).is_empty()
                } else {
                    self.st.value(*e, a.id).is_some_and(|t| !t.v.is_null())
                };
                if !ok {
                    groups
                        .entry((ns.to_string(), a.label.clone()))
                        .or_default()
                        .push(e.to_string());
                    records.push(json!({"etype": &**ns, "label": a.label, "entity_id": e.to_string(), "attr_id": a.id.to_string()}));
                }
            }
        }
        if groups.is_empty() {
            return Ok(());
        }
        let msgs: Vec<String> = groups
            .iter()
            .map(|((ns, label), ids)| {
                if ids.len() == 1 {
                    format!("Missing required attribute `{ns}/{label}`: {}", ids[0])
                } else {
                    format!(
                        "Missing required attributes `{ns}/{label}`: {}",
                        ids.join(", ")
                    )
                }
            })
            .collect();
        Err(ApiError::new(ErrorKind::ValidationFailed, msgs.join(". "))
            .with_hint(json!({"records": records})))
    }
}

enum LookupAttr {
    Blob(Uuid),
    Ref(Uuid, Uuid),
}

fn targets_iter(t: &LinkTargets) -> Vec<&EntityRef> {
    t.iter().collect()
}

trait MessageOnly {
    fn with_message_only(self, msg: &str) -> Self;
}

impl MessageOnly for ApiError {
    /// Keeps the hint but uses `msg` verbatim as the message.
    fn with_message_only(mut self, msg: &str) -> Self {
        self.message = msg.to_string();
        self
    }
}
