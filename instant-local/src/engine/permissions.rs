//! Permission rules applied to impersonated requests (spec `admin-http.md`
//! §1.5, §2.3, §2.4; `schema-and-platform.md` Part D).
//!
//! Admin requests bypass rules. For `as-email` / `as-token` / `as-guest` the
//! app's stored rules are compiled with [`crate::perms::Permissions`] and:
//! - query results are filtered after evaluation: rows whose `view` rule fails
//!   are removed (top level and nested links) and attributes whose `fields`
//!   rule fails are dropped ([`filter_result`]);
//! - transaction steps are checked before anything is written
//!   ([`check_steps`]): `create` / `update` (with `newData`) / `delete`
//!   (with `data`), and for `link` / `unlink` either the namespace's link rule
//!   or `update` on the forward entity plus `view` on the linked one, as
//!   Instant does (`server/src/instant/db/permissioned_transaction.clj`).
//!
//! `data.ref(path)` is resolved by [`EngineRefs`] over the engine's triples.

use std::collections::HashMap;
use std::sync::Arc;

use instant_core::{ApiError, EntityRef, ErrorKind, Id, LinkTargets, Step};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::deadline::{timeout_error, Deadline};
use super::query::plan::resolve_link;
use super::state::{ref_id, AppState};
use crate::perms::{Action, Permissions, RefResolver, RuleContext, RuleError, StopSignal};
use crate::Limits;

impl StopSignal for Deadline {
    fn should_stop(&self) -> bool {
        self.is_over()
    }
    fn clone_signal(&self) -> Box<dyn StopSignal> {
        Box::new(self.clone())
    }
}

/// Validates a rules document about to be stored or used (temporary-app and
/// Platform app creation, perms push, the perms-check routes'
/// `rules-override`, backup restore): [`Permissions::from_json_with`] with
/// the rule bounds of `limits`. `data_type` is the `validation-failed` data
/// type the route reports (`rule` for a push, an override and a temporary
/// app, `perms` for a Platform app; spec Part D, `rule.clj` routes).
///
/// # Errors
/// 400 `validation-failed` whose hint `errors` list each problem with its
/// path (`{"message", "in": [ns, "allow", action]}`).
pub fn validate_rules(
    rules: &Value,
    limits: &Limits,
    data_type: &str,
) -> Result<Permissions, ApiError> {
    Permissions::from_json_with(rules, limits).map_err(|e| e.to_api_error(data_type, rules.clone()))
}

/// The compiled rules of an app (`rules` stored with the app; `None` / `{}`
/// means the default rules: everything allowed on user namespaces), validated
/// with `limits` as when they are stored. Rules stored by an older version that no longer pass (a rule too
/// large or too deeply nested, `"view": 5`) or that are not JSON are never
/// ignored: every impersonated request of the app is refused with the
/// validation error until new rules are pushed (admin requests, which bypass
/// rules, still work).
///
/// # Errors
/// `validation-failed` (data type `perms`) when the stored rules do not
/// compile or are not JSON.
pub fn compile_rules_with(raw: Option<&str>, limits: &Limits) -> Result<Permissions, ApiError> {
    let v: Value = match raw {
        None => Value::Object(Map::new()),
        Some(s) => serde_json::from_str(s).map_err(|_| {
            ApiError::validation(
                "perms",
                Value::Null,
                vec![json!({"message": "the stored rules are not JSON", "in": []})],
            )
        })?,
    };
    validate_rules(&v, limits, "perms")
}

/// An app's compiled rules, kept between requests: compiled again only when
/// the stored rules text changes (a perms push, a restore), so an
/// impersonated request does not recompile (and revalidate) the rules on
/// every call. Failures are not kept: stored rules that do not pass are
/// refused on every request, as [`compile_rules_with`] says.
#[derive(Default)]
pub struct RulesCache(parking_lot::Mutex<Option<(Option<String>, Arc<Permissions>)>>);

impl RulesCache {
    /// The compiled form of `raw` (the app's stored rules), from the cache when
    /// `raw` is the text it was compiled from.
    ///
    /// # Errors
    /// Those of [`compile_rules_with`].
    pub fn get(&self, raw: Option<&str>, limits: &Limits) -> Result<Arc<Permissions>, ApiError> {
        if let Some((text, perms)) = &*self.0.lock() {
            if text.as_deref() == raw {
                return Ok(perms.clone());
            }
        }
        let perms = Arc::new(compile_rules_with(raw, limits)?);
        *self.0.lock() = Some((raw.map(str::to_owned), perms.clone()));
        Ok(perms)
    }
}

/// The attributes of entity `e` in `ns` as the JSON object rules see as
/// `data`: `id` plus every non-link attribute (cardinality-many as arrays).
pub fn entity_json(st: &AppState, ns: &str, e: Uuid) -> Option<Value> {
    let id_attr = st.id_attr(ns)?;
    if !st.exists(e, id_attr.id) {
        return None;
    }
    let mut m = Map::new();
    m.insert("id".into(), json!(e.to_string()));
    for a in st.ns_attrs(ns) {
        if a.is_ref || a.is_id() {
            continue;
        }
        let vals = st.values(e, a.id);
        if vals.is_empty() {
            continue;
        }
        let v = if a.many {
            Value::Array(vals.iter().map(|t| t.v.clone()).collect())
        } else {
            vals[0].v.clone()
        };
        m.insert(a.label.clone(), v);
    }
    Some(Value::Object(m))
}

/// Resolves `data.ref("label.label.attr")` by walking links in the engine.
pub struct EngineRefs<'a> {
    /// The app state.
    pub st: &'a AppState,
}

impl RefResolver for EngineRefs<'_> {
    fn resolve(&self, ns: &str, id: Id, path: &str) -> Vec<Value> {
        let segs: Vec<&str> = path.split('.').collect();
        let Some((last, links)) = segs.split_last() else {
            return Vec::new();
        };
        let mut cur_ns = ns.to_string();
        let mut ents = vec![id.0];
        for label in links {
            let Some((a, fwd, next)) =
                resolve_link(self.st, &cur_ns, label).filter(|(a, _, _)| a.is_ref)
            else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for e in &ents {
                if fwd {
                    out.extend(self.st.values(*e, a.id).iter().filter_map(|t| ref_id(&t.v)));
                } else {
                    out.extend(self.st.sources(*e, a.id));
                }
            }
            ents = out;
            cur_ns = next;
        }
        let mut vals = Vec::new();
        for e in ents {
            if *last == "id" {
                vals.push(json!(e.to_string()));
                continue;
            }
            if let Some(a) = self.st.fwd_attr(&cur_ns, last) {
                vals.extend(self.st.values(e, a.id).iter().map(|t| t.v.clone()));
            }
        }
        vals
    }
}

fn eval_err(ns: &str, action: &str, e: RuleError) -> ApiError {
    if matches!(e, RuleError::Interrupted) {
        return timeout_error();
    }
    if let RuleError::Evaluation { .. } = &e {
        return e.to_api_error("perms", Value::Null);
    }
    ApiError::new(
        ErrorKind::PermissionEvaluationFailed,
        format!("Could not evaluate permission rule for `{ns}.{action}`."),
    )
    .with_hint(
        json!({"rule": [ns, action], "error": {"type": "rule-error", "message": e.to_string()}}),
    )
}

/// The `permission-denied` error (spec `admin-http.md` §1.6).
pub fn denied(ns: &str, action: &str) -> ApiError {
    ApiError::new(
        ErrorKind::PermissionDenied,
        "Permission denied: not perms-pass?",
    )
    .with_hint(json!({"input": [ns, action], "expected": "perms-pass?"}))
}

/// What a permission-checked request runs with.
pub struct Checker<'a> {
    /// The app state.
    pub st: &'a AppState,
    /// Compiled rules.
    pub perms: &'a Permissions,
    /// The `$users` row of the acting user (`auth`), `None` for a guest.
    pub auth: Option<&'a Value>,
    /// Query-level `$$ruleParams`.
    pub rule_params: Option<&'a Value>,
    /// The request's time budget, checked before each row and inside long
    /// rule evaluations (429 `timeout` once over); `None` = no time limit
    /// (rule evaluations are still bounded by
    /// [`Limits::max_rule_eval_steps`]).
    pub deadline: Option<&'a Deadline>,
}

/// The internal error of a rule thread that could not run.
fn rule_thread_error() -> ApiError {
    tracing::error!("permission rules could not be evaluated: the rule thread did not run");
    ApiError::new(
        ErrorKind::Unknown,
        "Something went wrong. Sorry about this!",
    )
    .with_hint(json!({}))
}

impl Checker<'_> {
    /// A rule context for `action` on `ns` with this checker's `auth`,
    /// `$$ruleParams` and deadline.
    fn ctx<'c>(
        &'c self,
        ns: &'c str,
        act: &'c Action,
        refs: &'c EngineRefs<'c>,
    ) -> RuleContext<'c> {
        let ctx = RuleContext::new(ns, act, refs)
            .auth(self.auth)
            .rule_params(self.rule_params);
        match self.deadline {
            Some(d) => ctx.stop(d),
            None => ctx,
        }
    }

    fn check_deadline(&self) -> Result<(), ApiError> {
        self.deadline.map_or(Ok(()), Deadline::check)
    }

    /// Whether `view` passes on entity `e` of `ns`.
    ///
    /// # Errors
    /// `permission-evaluation-failed` when the rule fails (or runs out of
    /// evaluation steps); 429 `timeout` once the deadline is over.
    pub fn can_view(&self, ns: &str, e: Uuid, data: &Value) -> Result<bool, ApiError> {
        self.check_deadline()?;
        let refs = EngineRefs { st: self.st };
        let act = Action::View;
        let _ = e;
        let ctx = self.ctx(ns, &act, &refs).data(data);
        self.perms
            .check(&ctx)
            .map_err(|err| eval_err(ns, "view", err))
    }

    /// Filters a query result tree in place (see module docs), on the rule
    /// stack (one thread for all rows).
    ///
    /// # Errors
    /// As [`Checker::can_view`].
    pub fn filter_result(&self, result: &mut Value) -> Result<(), ApiError> {
        self.perms
            .on_rule_stack(|| {
                if let Value::Object(m) = result {
                    for (ns, items) in m.iter_mut() {
                        self.filter_items(ns, items)?;
                    }
                }
                Ok(())
            })
            .unwrap_or_else(|| Err(rule_thread_error()))
    }

    fn filter_items(&self, ns: &str, items: &mut Value) -> Result<(), ApiError> {
        match items {
            Value::Array(arr) => {
                let mut kept = Vec::with_capacity(arr.len());
                for mut item in std::mem::take(arr) {
                    if self.filter_entity(ns, &mut item)? {
                        kept.push(item);
                    }
                }
                *arr = kept;
            }
            Value::Object(_) => {
                // A has-one link: hidden becomes absent (null).
                let visible = self.filter_entity(ns, items)?;
                if !visible {
                    *items = Value::Null;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Returns false when the entity must be hidden.
    fn filter_entity(&self, ns: &str, item: &mut Value) -> Result<bool, ApiError> {
        let Some(e) = item
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            return Ok(true);
        };
        let data = entity_json(self.st, ns, e).unwrap_or_else(|| json!({"id": e.to_string()}));
        if !self.can_view(ns, e, &data)? {
            return Ok(false);
        }
        let refs = EngineRefs { st: self.st };
        let act = Action::View;
        let ctx = self.ctx(ns, &act, &refs).data(&data);
        let Value::Object(m) = item else {
            return Ok(true);
        };
        let keys: Vec<String> = m.keys().cloned().collect();
        for k in keys {
            if let Some((_, _, next)) = resolve_link(self.st, ns, &k).filter(|(a, _, _)| a.is_ref) {
                if let Some(child) = m.get_mut(&k) {
                    self.filter_items(&next, child)?;
                }
                continue;
            }
            if k != "id"
                && self.perms.has_field_rules(ns)
                && !self
                    .perms
                    .field_visible(&k, &ctx)
                    .map_err(|err| eval_err(ns, &k, err))?
            {
                m.remove(&k);
            }
        }
        Ok(true)
    }

    fn resolve_entity(&self, ns: &str, r: &EntityRef) -> Option<Uuid> {
        match r {
            EntityRef::Id(id) => Some(id.0),
            EntityRef::Lookup(l) => {
                let a = self.st.fwd_attr(ns, l.attr())?;
                self.st.lookup_av(a.id, l.value()).first().copied()
            }
        }
    }

    fn check(
        &self,
        ns: &str,
        action: &Action,
        data: Option<&Value>,
        new_data: Option<&Value>,
        params: Option<&Value>,
        linked: Option<(&str, &Value)>,
    ) -> Result<(), ApiError> {
        self.check_deadline()?;
        let refs = EngineRefs { st: self.st };
        let mut ctx = self
            .ctx(ns, action, &refs)
            .rule_params(params.or(self.rule_params));
        if let Some(d) = data {
            ctx = ctx.data(d);
        }
        if let Some(d) = new_data {
            ctx = ctx.new_data(d);
        }
        if let Some((lns, ld)) = linked {
            ctx = ctx.linked_data(lns, ld);
        }
        let ok = self
            .perms
            .check(&ctx)
            .map_err(|e| eval_err(ns, action.as_str(), e))?;
        if ok {
            Ok(())
        } else {
            Err(denied(ns, action.as_str()))
        }
    }

    /// Checks every step of a transaction against the rules before anything
    /// is written; the first failing step's `permission-denied` is returned.
    /// Also returns one `{"entity","action","allowed"}` report per check for
    /// `transact_perms_check` when `report` is given.
    ///
    /// # Errors
    /// The first failing check's error: `permission-denied`,
    /// `permission-evaluation-failed`, or 429 `timeout` once the deadline is
    /// over.
    pub fn check_steps(
        &self,
        steps: &[Step],
        report: Option<&mut Vec<Value>>,
    ) -> Result<(), ApiError> {
        self.perms
            .on_rule_stack(|| self.check_steps_here(steps, report))
            .unwrap_or_else(|| Err(rule_thread_error()))
    }

    fn check_steps_here(
        &self,
        steps: &[Step],
        mut report: Option<&mut Vec<Value>>,
    ) -> Result<(), ApiError> {
        // ruleParams steps apply to their entity for the whole transaction.
        let mut params: HashMap<(String, Uuid), Value> = HashMap::new();
        for s in steps {
            if let Step::RuleParams {
                ns,
                entity,
                params: p,
            } = s
            {
                if let Some(e) = self.resolve_entity(ns, entity) {
                    params.insert((ns.clone(), e), Value::Object(p.clone()));
                }
            }
        }
        let mut first_err = None;
        let perms = self.perms;
        let mut record =
            |ns: &str, e: Option<Uuid>, action: &Action, rec: &Value, r: Result<(), ApiError>| {
                if let Some(rep) = report.as_deref_mut() {
                    let program = perms.program_info(ns, action).ok().flatten().map(|p| {
                        json!({
                            "etype": ns,
                            "action": action.as_str(),
                            "code": p.code,
                            "display-code": p.display_code,
                        })
                    });
                    rep.push(json!({
                        "id": e.map(|e| e.to_string()),
                        "entity": ns,
                        "action": action.as_str(),
                        "record": rec,
                        "program": program,
                        "check-result": r.is_ok(),
                        "check-pass?": r.is_ok(),
                    }));
                }
                if let Err(err) = r {
                    if first_err.is_none() {
                        first_err = Some(err);
                    }
                }
            };
        for s in steps {
            match s {
                Step::Create { ns, entity, attrs }
                | Step::Update {
                    ns, entity, attrs, ..
                }
                | Step::Merge {
                    ns, entity, attrs, ..
                } => {
                    let e = self.resolve_entity(ns, entity);
                    let old = e.and_then(|e| entity_json(self.st, ns, e));
                    let mut new = old.clone().unwrap_or_else(
                        || json!({"id": e.map(|e| e.to_string()).unwrap_or_default()}),
                    );
                    if let Value::Object(m) = &mut new {
                        for (k, v) in attrs {
                            if resolve_link(self.st, ns, k).is_some_and(|(a, _, _)| a.is_ref) {
                                continue;
                            }
                            m.insert(k.clone(), v.clone());
                        }
                    }
                    let p = e.and_then(|e| params.get(&(ns.clone(), e)));
                    let (act, r) = match &old {
                        None => (
                            Action::Create,
                            self.check(ns, &Action::Create, Some(&new), Some(&new), p, None),
                        ),
                        Some(o) => (
                            Action::Update,
                            self.check(ns, &Action::Update, Some(o), Some(&new), p, None),
                        ),
                    };
                    record(ns, e, &act, &new, r);
                }
                Step::Delete { ns, entity } => {
                    let e = self.resolve_entity(ns, entity);
                    if let Some(old) = e.and_then(|e| entity_json(self.st, ns, e)) {
                        let p = e.and_then(|e| params.get(&(ns.clone(), e)));
                        let r = self.check(ns, &Action::Delete, Some(&old), None, p, None);
                        record(ns, e, &Action::Delete, &old, r);
                    }
                }
                Step::Link { ns, entity, links } | Step::Unlink { ns, entity, links } => {
                    let unlink = matches!(s, Step::Unlink { .. });
                    let e = self.resolve_entity(ns, entity);
                    let p = e.and_then(|e| params.get(&(ns.clone(), e)));
                    let data = e
                        .and_then(|e| entity_json(self.st, ns, e))
                        .unwrap_or_else(|| json!({"id": e.map(|e| e.to_string())}));
                    for (label, targets) in links {
                        let Some((_, _, next)) =
                            resolve_link(self.st, ns, label).filter(|(a, _, _)| a.is_ref)
                        else {
                            continue;
                        };
                        let ids: Vec<EntityRef> = match targets {
                            LinkTargets::One(t) => vec![t.clone()],
                            LinkTargets::Many(v) => v.clone(),
                        };
                        for t in ids {
                            let te = self.resolve_entity(&next, &t);
                            let tdata = te
                                .and_then(|te| entity_json(self.st, &next, te))
                                .unwrap_or_else(|| json!({"id": te.map(|e| e.to_string())}));
                            if self.perms.has_link_rule(ns, label, unlink) {
                                let act = if unlink {
                                    Action::Unlink(label.clone())
                                } else {
                                    Action::Link(label.clone())
                                };
                                let r = self.check(
                                    ns,
                                    &act,
                                    Some(&data),
                                    Some(&data),
                                    p,
                                    Some((&next, &tdata)),
                                );
                                record(ns, e, &act, &data, r);
                            } else {
                                let r = self.check(
                                    ns,
                                    &Action::Update,
                                    Some(&data),
                                    Some(&data),
                                    p,
                                    None,
                                );
                                record(ns, e, &Action::Update, &data, r);
                                let tp = te.and_then(|te| params.get(&(next.clone(), te)));
                                let r =
                                    self.check(&next, &Action::View, Some(&tdata), None, tp, None);
                                record(&next, te, &Action::View, &tdata, r);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// How a result is shown to one requester: the rules and `auth` of an
/// impersonated request (`None` for the admin), the query's `$$ruleParams`,
/// and the origin `$files.url` links point at. Kept with a live query so each
/// refresh is filtered the same way as the first result.
pub struct ResultView {
    /// Compiled rules and `auth` (`None` = admin, rules bypassed).
    pub perms: Option<(Arc<Permissions>, Option<Value>)>,
    /// The query's `$$ruleParams`.
    pub rule_params: Option<Value>,
    /// Server origin for `$files.url`, e.g. `http://127.0.0.1:8888`.
    pub origin: String,
    /// The query as sent (its `fields` decide where `$files.url` is computed).
    pub query: Value,
    /// The time budget of the request the view filters a result for (`None`:
    /// bounded by rule evaluation steps only; live queries pass one per
    /// recomputation to [`ResultView::apply_within`]).
    pub deadline: Option<Deadline>,
}

impl ResultView {
    /// The view of `query` (its `$$ruleParams` and `fields`) for a requester:
    /// `perms` = compiled rules and `auth` (`None` for the admin), `origin` =
    /// the server origin `$files.url` links point at.
    pub fn for_query(
        perms: Option<(Arc<Permissions>, Option<Value>)>,
        query: &Value,
        origin: String,
    ) -> ResultView {
        ResultView {
            perms,
            rule_params: query.get("$$ruleParams").cloned(),
            origin,
            query: query.clone(),
            deadline: None,
        }
    }

    /// This view with the request's deadline (see [`ResultView::deadline`]).
    pub fn with_deadline(mut self, deadline: Deadline) -> ResultView {
        self.deadline = Some(deadline);
        self
    }

    /// Filters `result` (hidden rows/fields) and adds `$files.url`.
    ///
    /// # Errors
    /// Rule evaluation errors; 429 `timeout` once [`ResultView::deadline`]
    /// is over.
    pub fn apply(
        &self,
        st: &AppState,
        storage: &super::files::Storage,
        app_id: Uuid,
        result: &mut Value,
    ) -> Result<(), ApiError> {
        self.apply_within(self.deadline.as_ref(), st, storage, app_id, result)
    }

    /// [`ResultView::apply`] within `deadline` instead of the view's own (a
    /// shared live-query view, bounded per recomputation).
    ///
    /// # Errors
    /// Those of [`ResultView::apply`].
    pub fn apply_within(
        &self,
        deadline: Option<&Deadline>,
        st: &AppState,
        storage: &super::files::Storage,
        app_id: Uuid,
        result: &mut Value,
    ) -> Result<(), ApiError> {
        if let Some((perms, auth)) = &self.perms {
            Checker {
                st,
                perms,
                auth: auth.as_ref(),
                rule_params: self.rule_params.as_ref(),
                deadline,
            }
            .filter_result(result)?;
        }
        super::files::add_file_urls(st, storage, Id(app_id), &self.origin, &self.query, result);
        Ok(())
    }
}
