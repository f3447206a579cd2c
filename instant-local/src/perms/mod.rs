//! Instant permission rules, evaluated as CEL.
//!
//! [`Permissions`] compiles an app's rules document (spec
//! `schema-and-platform.md` Part D) once, validating it the way
//! `validation-errors` in `server/src/instant/model/rule.clj` does, and then
//! answers "may this user do that to this entity?" ([`Permissions::check`])
//! and "may this user see this attribute?" ([`Permissions::field_visible`])
//! cheaply for every row. Rules run on the maintained [`cel`] crate, extended
//! only with what Instant adds: null-safe entity maps, `cel.bind` (which
//! `bind` expands to), and `data.ref(path)` / `auth.ref("$user.path")` /
//! `linkedData.ref(path)`, resolved through a [`RefResolver`].
//!
//! ```
//! use instant_core::{NamespaceRules, Rules};
//! use instant_local::perms::{Action, NoRefs, Permissions, RuleContext};
//! use serde_json::json;
//!
//! let rules = Rules::new().namespace(
//!     "todos",
//!     NamespaceRules::new()
//!         .allow("view", "isOwner")
//!         .bind("isOwner", "auth.id != null && auth.id == data.ownerId"),
//! );
//! let perms = Permissions::compile(&rules).unwrap();
//! let user = json!({"id": "u1"});
//! let todo = json!({"id": "3c9e0b8a-1111-4111-8111-111111111111", "ownerId": "u1"});
//! let view = Action::View;
//! let ctx = RuleContext::new("todos", &view, &NoRefs).auth(Some(&user)).data(&todo);
//! assert!(perms.check(&ctx).unwrap());
//! let guest = RuleContext::new("todos", &view, &NoRefs).data(&todo);
//! assert!(!perms.check(&guest).unwrap());
//! ```
//!
//! Rules cannot crash or burn the server ([`Permissions::from_json_with`],
//! the one validation every entry point uses): each expression's size and
//! nesting are bounded on the text before the CEL parser sees it
//! ([`crate::Limits::max_rule_bytes`], [`crate::Limits::max_rule_depth`],
//! [`crate::Limits::max_rules_doc_bytes`]); compilation and deep evaluations
//! run on a thread whose stack is sized for that bound; every comprehension
//! is metered ([`crate::Limits::max_rule_eval_steps`] iterations per
//! evaluation) and stops when the request's [`StopSignal`] (its deadline)
//! fires.
//!
//! Not supported (documented differences from Instant): `$rateLimits` is
//! accepted by [`Permissions::from_json`] but a rule using `rateLimit` is
//! rejected ("rateLimit is not supported by instant-local"); `request.time`, `request.ip`,
//! `request.origin` and `timestamp()` are absent (only
//! `request.modifiedFields`); type errors that cel-java's checker finds at
//! compile time (e.g. `!10`) surface as evaluation errors; the argument of
//! `ref` must be a string literal; `$rooms` rules are accepted and ignored.

mod ast;
mod binds;
mod bounds;
mod budget;
mod context;
mod env;
mod error;
mod program;
mod stack;
mod value;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use instant_core::{NamespaceRules, Rules};
use serde_json::{Map, Value};

pub use budget::StopSignal;
pub use context::{Action, NoRefs, RefResolver, RuleContext};
pub use error::{RuleError, RuleIssue};

use bounds::check_expression;
use program::{Compiled, RuleBounds};

/// The four entity actions every namespace's rules are validated for.
const ENTITY_ACTIONS: [&str; 4] = ["view", "create", "update", "delete"];

/// `$`-namespaces that may carry rules (spec Part D; `rule.clj`
/// `system-attribute-validation-errors`, plus `$rooms`, `$streams`).
const RULE_NAMESPACES: [&str; 5] = ["$users", "$files", "$default", "$streams", "$rooms"];

/// The built-in `$users` view/update rule (`fallback-program` in `rule.clj`).
pub const USERS_SELF_RULE: &str =
    "auth.id == data.id || (data.linkedPrimaryUser != null && auth.id == data.linkedPrimaryUser)";

/// Where the rule that decides an action comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgramInfo {
    /// Rules path of the expression: `[ns, "allow", action]`,
    /// `[ns, "allow", "$default"]`, `["$default", "allow", action]`,
    /// `["$default", "allow", "$default"]`, `[ns, "allow", "link", label]`,
    /// `[ns, "fields", attr]`, or `[ns, "fallback", action]` for a system
    /// namespace's built-in rule.
    pub path: Vec<String>,
    /// The expression as written.
    pub display_code: String,
    /// The expression run: `display_code` wrapped in `cel.bind(..)` for the
    /// binds it uses.
    pub code: String,
}

/// Resolved programs by (namespace, action); `None` = no rule (allowed).
type ProgramCache = HashMap<String, HashMap<Action, Option<Arc<Resolved>>>>;

#[derive(Debug)]
struct Resolved {
    info: ProgramInfo,
    compiled: Compiled,
}

/// Compiled permission rules of one app.
///
/// Build it with [`Permissions::compile`] (from [`instant_core::Rules`]) or
/// [`Permissions::from_json`] (from the raw rules JSON, with Instant's exact
/// `bind` validation messages); share it (`Arc<Permissions>`) between
/// requests: each expression is compiled once and evaluation never parses.
///
/// Rule lookup for entity actions, first hit wins (`get-program!` in
/// `rule.clj`): `ns.allow.<action>` → `ns.allow.$default` →
/// `$default.allow.<action>` → `$default.allow.$default` → built-in
/// fallback. The fallback allows everything on user namespaces; on system
/// namespaces (any name starting with `$`) it is: `$users` view/update only
/// yourself ([`USERS_SELF_RULE`]), everything else `false` (`$files` included).
#[derive(Debug)]
pub struct Permissions {
    rules: Rules,
    cache: RwLock<ProgramCache>,
    fields: HashMap<(String, String), Arc<Resolved>>,
    bounds: RuleBounds,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            rules: Rules::default(),
            cache: RwLock::default(),
            fields: HashMap::new(),
            bounds: RuleBounds::of(&crate::Limits::default()),
        }
    }
}

/// The message of a rules document larger than
/// [`crate::Limits::max_rules_doc_bytes`].
fn doc_too_large(bytes: usize, limit: usize) -> RuleError {
    RuleError::Invalid(vec![RuleIssue::new(
        format!("the rules document is too large: {bytes} bytes, at most {limit}"),
        &[],
    )])
}

/// Every expression of `rules` with its path: `allow` rules, `link` /
/// `unlink` rules, `bind` bodies and `fields` rules.
fn expressions(rules: &Rules) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let p = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for (ns, r) in &rules.namespaces {
        for (action, code) in &r.allow {
            out.push((p(&[ns, "allow", action]), code.clone()));
        }
        for kind in ["link", "unlink"] {
            if let Some(Value::Object(labels)) = r.allow_extra.get(kind) {
                for (label, code) in labels {
                    if let Some(code) = rule_string(code) {
                        out.push((p(&[ns, "allow", kind, label]), code));
                    }
                }
            }
        }
        for (name, code) in &r.bind {
            out.push((p(&[ns, "bind", name]), code.clone()));
        }
        for (attr, code) in &r.fields {
            out.push((p(&[ns, "fields", attr]), code.clone()));
        }
    }
    out
}

impl Permissions {
    /// Compiles and validates `rules`.
    ///
    /// # Errors
    /// [`RuleError::Invalid`] listing every issue, with Instant's messages and
    /// paths: CEL syntax errors (the parser's message) at `[ns, "allow",
    /// action]` / `[ns, "fields", attr]` / `[ns, "allow", "link", label]`;
    /// repeated bind names at `[ns, "bind", name]`; cyclic binds ("The binds
    /// have a cyclic dependency a -> b -> a"); undeclared variables
    /// ("undeclared reference to 'x' (in container '')"); `auth.ref` without
    /// the `$user.` prefix; `$users.allow.create`/`delete` other than
    /// `"false"`; any rule on a reserved `$` namespace; a field rule on `id`.
    pub fn compile(rules: &Rules) -> Result<Permissions, RuleError> {
        Permissions::compile_with(rules, &crate::Limits::default())
    }

    /// [`Permissions::compile`] with the rule bounds of `limits`: the rules
    /// document at most [`crate::Limits::max_rules_doc_bytes`] (as JSON),
    /// every expression at most [`crate::Limits::max_rule_bytes`] and nested
    /// at most [`crate::Limits::max_rule_depth`] deep (checked on the text,
    /// before any parsing), the expanded rule (with its binds) at most four
    /// times that; evaluations take at most
    /// [`crate::Limits::max_rule_eval_steps`] comprehension iterations.
    ///
    /// # Errors
    /// As [`Permissions::compile`]; an expression over a bound is refused at
    /// its path with "expression code point size exceeds limit: ..." or
    /// "expression recursion limit exceeded: ...".
    pub fn compile_with(rules: &Rules, limits: &crate::Limits) -> Result<Permissions, RuleError> {
        let bounds = RuleBounds::of(limits);
        let size = rules.to_json().to_string().len();
        if size > limits.max_rules_doc_bytes {
            return Err(doc_too_large(size, limits.max_rules_doc_bytes));
        }
        let mut issues = Vec::new();
        for (path, code) in expressions(rules) {
            if let Err(e) = check_expression(&code, bounds.max_bytes, bounds.max_depth) {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                issues.push(RuleIssue::new(e.message(), &path));
            }
        }
        for (ns, r) in &rules.namespaces {
            for (k, v) in &r.allow_extra {
                let link_map = (k == "link" || k == "unlink") && v.is_object();
                if !link_map && !v.is_null() {
                    issues.push(RuleIssue::new(UNEXPECTED, &[ns, "allow", k]));
                }
            }
        }
        if !issues.is_empty() {
            return Err(RuleError::Invalid(issues));
        }
        // Compile everything on one rule stack thread.
        stack::on_rule_stack(bounds.stack(), || Self::compile_here(rules, bounds)).unwrap_or_else(
            || {
                Err(RuleError::Invalid(vec![RuleIssue::new(
                    "There was an unexpected error evaluating the rules",
                    &[],
                )]))
            },
        )
    }

    fn compile_here(rules: &Rules, bounds: RuleBounds) -> Result<Permissions, RuleError> {
        let mut issues = Vec::new();
        let mut fields = HashMap::new();
        for (ns, r) in &rules.namespaces {
            let mut seen = std::collections::HashSet::new();
            if let Some((name, _)) = r.bind.iter().find(|(n, _)| !seen.insert(n.as_str())) {
                issues.push(RuleIssue::new(
                    "bind should only contain a given variable name once",
                    &[ns, "bind", name],
                ));
            }
        }
        if !issues.is_empty() {
            return Err(RuleError::Invalid(issues));
        }
        for (ns, r) in &rules.namespaces {
            if ns == "$rooms" {
                continue;
            }
            for action in ENTITY_ACTIONS {
                if ns == "$users" && (action == "create" || action == "delete") {
                    if let Some(code) = r.allow.get(action) {
                        if code != "false" {
                            issues.push(RuleIssue::new(
                                format!("The $users namespace doesn't support permissions for {action}. Set `$users.allow.{action}` to `\"false\"`."),
                                &["$users", "allow", action],
                            ));
                        }
                    }
                    continue;
                }
                if ns.starts_with('$') && !RULE_NAMESPACES.contains(&ns.as_str()) {
                    issues.push(RuleIssue::new(
                        format!("The {ns} namespace is a reserved internal namespace that does not yet support rules."),
                        &[ns, "allow", action],
                    ));
                    continue;
                }
                if let Some(code) = r.allow.get(action) {
                    let act = Action::parse(action).unwrap_or(Action::View);
                    if let Err(msgs) = Compiled::compile(&act, &binds_for(rules, ns), code, bounds)
                    {
                        push_all(&mut issues, msgs, &[ns, "allow", action]);
                    }
                }
            }
            // `allow.$default` is not checked by Instant when rules are saved
            // (only when used); check its syntax now, in the widest entity
            // environment (`create`, which has `newData` and `request`).
            let reserved = ns.starts_with('$') && !RULE_NAMESPACES.contains(&ns.as_str());
            if let (false, Some(code)) = (reserved, r.allow.get("$default")) {
                if let Err(msgs) =
                    Compiled::compile(&Action::Create, &binds_for(rules, ns), code, bounds)
                {
                    push_all(&mut issues, msgs, &[ns, "allow", "$default"]);
                }
            }
            for (kind, make) in [
                ("link", Action::Link as fn(String) -> Action),
                ("unlink", Action::Unlink as fn(String) -> Action),
            ] {
                match r.allow_extra.get(kind) {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(labels)) => {
                        for (label, code) in labels {
                            let Some(code) = rule_string(code) else {
                                issues.push(RuleIssue::new(
                                    "rules must be CEL strings",
                                    &[ns, "allow", kind, label],
                                ));
                                continue;
                            };
                            let act = make(label.clone());
                            if let Err(msgs) =
                                Compiled::compile(&act, &binds_for(rules, ns), &code, bounds)
                            {
                                push_all(&mut issues, msgs, &[ns, "allow", kind, label]);
                            }
                        }
                    }
                    Some(_) => issues.push(RuleIssue::new(
                        format!("allow.{kind} must be an object of link label to rule"),
                        &[ns, "allow", kind],
                    )),
                }
            }
            for (attr, code) in &r.fields {
                if attr == "id" {
                    issues.push(RuleIssue::new(
                        format!("You cannot set field rules for `id`. Use {ns} -> allow -> view instead"),
                        &[ns, "fields"],
                    ));
                    continue;
                }
                match Compiled::compile(&Action::View, &binds_for(rules, ns), code, bounds) {
                    Ok(compiled) => {
                        let info = ProgramInfo {
                            path: vec![ns.clone(), "fields".into(), attr.clone()],
                            display_code: code.clone(),
                            code: compiled.code.clone(),
                        };
                        fields.insert(
                            (ns.clone(), attr.clone()),
                            Arc::new(Resolved { info, compiled }),
                        );
                    }
                    Err(msgs) => push_all(&mut issues, msgs, &[ns, "fields", attr]),
                }
            }
        }
        if !issues.is_empty() {
            return Err(RuleError::Invalid(issues));
        }
        Ok(Permissions {
            rules: rules.clone(),
            cache: RwLock::new(HashMap::new()),
            fields,
            bounds,
        })
    }

    /// Decodes and compiles a raw rules document (`null` = no rules).
    ///
    /// Accepts both `bind` forms (array of alternating names and expressions,
    /// or object) and JSON booleans wherever a rule is expected (converted to
    /// `"true"`/`"false"`, Instant's `patch-code`).
    ///
    /// # Errors
    /// As [`Permissions::compile`], plus "bind should have an even number of
    /// elements" at `[ns, "bind"]` and shape errors (a namespace or `allow`
    /// that is not an object, a non-string rule).
    pub fn from_json(rules: &Value) -> Result<Permissions, RuleError> {
        Permissions::from_json_with(rules, &crate::Limits::default())
    }

    /// [`Permissions::from_json`] with the rule bounds of `limits` (see
    /// [`Permissions::compile_with`]). This is the one validation every rules
    /// entry point uses: temporary-app and Platform app creation, perms push,
    /// the perms-check routes' `rules-override`, backup restore, and the
    /// rules stored with an app when a request uses them.
    ///
    /// # Errors
    /// As [`Permissions::from_json`] and [`Permissions::compile_with`]; a rule
    /// that is not a CEL string or boolean (e.g. `"view": 5`) is refused at
    /// its path with "There was an unexpected error evaluating the rules"
    /// (`expr-validation-errors` in `rule.clj`).
    pub fn from_json_with(rules: &Value, limits: &crate::Limits) -> Result<Permissions, RuleError> {
        let size = rules.to_string().len();
        if size > limits.max_rules_doc_bytes {
            return Err(doc_too_large(size, limits.max_rules_doc_bytes));
        }
        let normalized = normalize(rules)?;
        let rules = Rules::from_json(&normalized)
            .map_err(|e| RuleError::Invalid(vec![RuleIssue::new(e.to_string(), &[])]))?;
        Permissions::compile_with(&rules, limits)
    }

    /// Runs `f` (many evaluations of these rules, e.g. every row of a result)
    /// on a thread whose stack is sized for these rules' nesting bound
    /// (directly when already on one). `None` if that thread could not start
    /// or `f` panicked.
    pub fn on_rule_stack<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Option<R> {
        stack::on_rule_stack(self.bounds.stack(), f)
    }

    /// The rules these permissions were compiled from.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Whether `ctx.action` on `ctx.namespace` is allowed.
    ///
    /// For [`Action::Link`]/[`Action::Unlink`] only `ns.allow.link.<label>` →
    /// `ns.allow.link.$default` are consulted (no `$default` namespace
    /// fallback) and the answer is `true` when neither exists; Instant then
    /// checks `update` on the forward entity and `view` on the linked one
    /// instead, see [`Permissions::has_link_rule`].
    ///
    /// # Errors
    /// [`RuleError::Evaluation`] when the rule fails at run time;
    /// [`RuleError::Invalid`] if a `$default` rule cannot be compiled with
    /// this namespace's binds.
    pub fn check(&self, ctx: &RuleContext<'_>) -> Result<bool, RuleError> {
        match self.resolve(ctx.namespace, ctx.action)? {
            None => Ok(true),
            Some(r) => r.compiled.eval(ctx),
        }
    }

    /// Whether the attribute `attr` of the entity in `ctx` (`ctx.data`) may be
    /// seen: the rule `ns.fields.<attr>` (no `$default` chain, evaluated as a
    /// `view` rule), `true` when there is none. The `id` attribute is always
    /// visible.
    ///
    /// # Errors
    /// [`RuleError::Evaluation`] when the rule fails at run time.
    pub fn field_visible(&self, attr: &str, ctx: &RuleContext<'_>) -> Result<bool, RuleError> {
        match self
            .fields
            .get(&(ctx.namespace.to_owned(), attr.to_owned()))
        {
            None => Ok(true),
            Some(r) => {
                let view = Action::View;
                let mut c = *ctx;
                c.action = &view;
                r.compiled.eval(&c)
            }
        }
    }

    /// Whether namespace `ns` has any `fields` rule (so callers can skip
    /// per-attribute checks).
    pub fn has_field_rules(&self, ns: &str) -> bool {
        self.rules
            .namespaces
            .get(ns)
            .is_some_and(|r| !r.fields.is_empty())
    }

    /// Whether `ns` has a `link`/`unlink` rule for `label` (or a
    /// `link.$default`/`unlink.$default`). `unlink` selects which.
    pub fn has_link_rule(&self, ns: &str, label: &str, unlink: bool) -> bool {
        link_rule(
            self.rules.namespaces.get(ns),
            ns,
            if unlink { "unlink" } else { "link" },
            label,
        )
        .is_some()
    }

    /// Which rule decides `action` on `ns` (`None`: no rule, allowed).
    ///
    /// # Errors
    /// [`RuleError::Invalid`] if that rule cannot be compiled with `ns`'s binds.
    pub fn program_info(
        &self,
        ns: &str,
        action: &Action,
    ) -> Result<Option<ProgramInfo>, RuleError> {
        Ok(self.resolve(ns, action)?.map(|r| r.info.clone()))
    }

    fn resolve(&self, ns: &str, action: &Action) -> Result<Option<Arc<Resolved>>, RuleError> {
        if let Ok(cache) = self.cache.read() {
            if let Some(hit) = cache.get(ns).and_then(|by_action| by_action.get(action)) {
                return Ok(hit.clone());
            }
        }
        let resolved = self.lookup(ns, action)?.map(Arc::new);
        if let Ok(mut cache) = self.cache.write() {
            cache
                .entry(ns.to_owned())
                .or_default()
                .insert(action.clone(), resolved.clone());
        }
        Ok(resolved)
    }

    fn lookup(&self, ns: &str, action: &Action) -> Result<Option<Resolved>, RuleError> {
        let own = self.rules.namespaces.get(ns);
        let (path, code): (Vec<String>, String) = match action {
            Action::Link(label) | Action::Unlink(label) => {
                match link_rule(own, ns, action.as_str(), label) {
                    Some(found) => found,
                    None => return Ok(None),
                }
            }
            _ => {
                let a = action.as_str();
                let dflt = self.rules.namespaces.get("$default");
                let hit = [
                    (own, ns, a),
                    (own, ns, "$default"),
                    (dflt, "$default", a),
                    (dflt, "$default", "$default"),
                ]
                .into_iter()
                .find_map(|(r, n, k)| {
                    r.and_then(|r| r.allow.get(k)).map(|code| {
                        (
                            vec![n.to_owned(), "allow".to_owned(), k.to_owned()],
                            code.clone(),
                        )
                    })
                });
                match hit {
                    Some(found) => found,
                    None if ns.starts_with('$') => {
                        let code =
                            if ns == "$users" && matches!(action, Action::View | Action::Update) {
                                USERS_SELF_RULE
                            } else {
                                "false"
                            };
                        (
                            vec![ns.to_owned(), "fallback".to_owned(), a.to_owned()],
                            code.to_owned(),
                        )
                    }
                    None => return Ok(None),
                }
            }
        };
        let binds = if path.get(1).map(String::as_str) == Some("fallback") {
            Vec::new()
        } else {
            binds_for(&self.rules, ns)
        };
        let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let compiled = Compiled::compile(action, &binds, &code, self.bounds).map_err(|msgs| {
            let mut issues = Vec::new();
            push_all(&mut issues, msgs, &path_refs);
            RuleError::Invalid(issues)
        })?;
        Ok(Some(Resolved {
            info: ProgramInfo {
                path,
                display_code: code,
                code: compiled.code.clone(),
            },
            compiled,
        }))
    }
}

/// `$default.bind` then `ns.bind` (Instant's `with-binds`).
fn binds_for(rules: &Rules, ns: &str) -> Vec<(String, String)> {
    let mut binds = Vec::new();
    if let Some(d) = rules.namespaces.get("$default") {
        binds.extend(d.bind.iter().cloned());
    }
    if ns != "$default" {
        if let Some(r) = rules.namespaces.get(ns) {
            binds.extend(r.bind.iter().cloned());
        }
    }
    binds
}

fn link_rule(
    own: Option<&NamespaceRules>,
    ns: &str,
    kind: &str,
    label: &str,
) -> Option<(Vec<String>, String)> {
    let labels = own?.allow_extra.get(kind)?.as_object()?;
    [label, "$default"].into_iter().find_map(|l| {
        labels.get(l).and_then(rule_string).map(|code| {
            let path = [ns, "allow", kind, l].map(str::to_owned).to_vec();
            (path, code)
        })
    })
}

fn rule_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn push_all(issues: &mut Vec<RuleIssue>, msgs: Vec<String>, path: &[&str]) {
    issues.extend(msgs.into_iter().map(|m| RuleIssue::new(m, path)));
}

/// The official message for a rule that is not CEL text
/// (`expr-validation-errors` in `rule.clj`).
const UNEXPECTED: &str = "There was an unexpected error evaluating the rules";

/// Validates bind shapes with Instant's messages and turns JSON booleans
/// into rule strings, so that `Rules::from_json` accepts the document.
fn normalize(rules: &Value) -> Result<Value, RuleError> {
    let top = match rules {
        Value::Null => return Ok(Value::Null),
        Value::Object(m) => m,
        _ => {
            return Err(RuleError::Invalid(vec![RuleIssue::new(
                "rules must be an object",
                &[],
            )]))
        }
    };
    let mut issues = Vec::new();
    let mut out = Map::new();
    for (ns, body) in top {
        if ns == "$rateLimits" || ns == "$rooms" {
            if ns == "$rateLimits" {
                out.insert(ns.clone(), body.clone());
            }
            continue;
        }
        let Some(body) = body.as_object() else {
            issues.push(RuleIssue::new("namespace rules must be an object", &[ns]));
            continue;
        };
        let mut body = body.clone();
        if let Some(Value::Object(allow)) = body.get_mut("allow") {
            for (k, v) in allow.iter_mut() {
                booleans_to_strings(v);
                let is_link_map = (k == "link" || k == "unlink") && v.is_object();
                if !is_link_map && !matches!(v, Value::String(_) | Value::Null) {
                    issues.push(RuleIssue::new(UNEXPECTED, &[ns, "allow", k]));
                }
            }
        }
        if let Some(Value::Object(fields)) = body.get_mut("fields") {
            fields.retain(|_, v| !v.is_null());
            for (k, v) in fields.iter_mut() {
                booleans_to_strings(v);
                if !v.is_string() {
                    issues.push(RuleIssue::new(UNEXPECTED, &[ns, "fields", k]));
                }
            }
            if fields.contains_key("id") {
                issues.push(RuleIssue::new(
                    format!(
                        "You cannot set field rules for `id`. Use {ns} -> allow -> view instead"
                    ),
                    &[ns, "fields"],
                ));
            }
        }
        if let Some(bind) = body.get_mut("bind") {
            let names: Vec<String> = match bind {
                Value::Array(a) => {
                    if a.len() % 2 != 0 {
                        issues.push(RuleIssue::new(
                            "bind should have an even number of elements",
                            &[ns, "bind"],
                        ));
                    }
                    a.iter_mut().for_each(booleans_to_strings);
                    a.iter()
                        .step_by(2)
                        .map(|n| n.as_str().unwrap_or_default().to_owned())
                        .collect()
                }
                Value::Object(o) => {
                    o.iter_mut().for_each(|(_, v)| booleans_to_strings(v));
                    o.keys().cloned().collect()
                }
                _ => Vec::new(),
            };
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
                issues.push(RuleIssue::new(
                    "bind should only contain a given variable name once",
                    &[ns, "bind", dup],
                ));
            }
        }
        out.insert(ns.clone(), Value::Object(body));
    }
    if issues.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(RuleError::Invalid(issues))
    }
}

fn booleans_to_strings(v: &mut Value) {
    match v {
        Value::Bool(b) => *v = Value::String(b.to_string()),
        Value::Object(m) => m.iter_mut().for_each(|(_, x)| booleans_to_strings(x)),
        _ => {}
    }
}
