//! The inputs of one rule evaluation.

use instant_core::Id;
use serde_json::Value;

use super::budget::StopSignal;

/// What is being done to an entity; picks the rule (`allow.<action>`) and
/// the CEL variables it may use.
///
/// Mirrors `action->compiler` in `server/src/instant/db/cel.clj`: `view` and
/// `delete` rules see `data`, `auth`, `ruleParams`; `create`/`update` also
/// `newData` and `request`; `link` also `newData`, `linkedData`, `actions`;
/// `unlink` also `newData`, `linkedData`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Reading an entity (queries).
    View,
    /// Creating an entity.
    Create,
    /// Updating an existing entity.
    Update,
    /// Deleting an entity.
    Delete,
    /// Linking through the given link label (rule `allow.link.<label>`).
    Link(String),
    /// Unlinking through the given link label (rule `allow.unlink.<label>`).
    Unlink(String),
}

impl Action {
    /// The rule key: `view`, `create`, `update`, `delete`, `link`, `unlink`.
    pub fn as_str(&self) -> &str {
        match self {
            Action::View => "view",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Link(_) => "link",
            Action::Unlink(_) => "unlink",
        }
    }

    /// Parses `view`/`create`/`update`/`delete` (link actions need a label).
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "view" => Some(Action::View),
            "create" => Some(Action::Create),
            "update" => Some(Action::Update),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }

    /// The CEL variables a rule for this action may use (besides bind names).
    pub(crate) fn variables(&self) -> &'static [&'static str] {
        match self {
            Action::View | Action::Delete => &["data", "auth", "ruleParams"],
            Action::Create | Action::Update => {
                &["data", "auth", "ruleParams", "newData", "request"]
            }
            Action::Link(_) => &[
                "data",
                "auth",
                "ruleParams",
                "newData",
                "linkedData",
                "actions",
            ],
            Action::Unlink(_) => &["data", "auth", "ruleParams", "newData", "linkedData"],
        }
    }
}

/// Resolves `data.ref("a.b.attr")`: the values of `attr` on the entities
/// reached from entity `id` of namespace `ns` by following the link labels
/// `a`, then `b` (forward or reverse labels). Mirrors `get-ref` in
/// `server/src/instant/db/cel.clj`.
///
/// `auth.ref("$user.x.y")` is resolved as `resolve("$users", auth.id, "x.y")`.
/// The store implements this; an unknown path yields an empty list.
pub trait RefResolver {
    /// The values reached from `(ns, id)` by `path` (may contain duplicates;
    /// order is not significant).
    fn resolve(&self, ns: &str, id: Id, path: &str) -> Vec<Value>;
}

/// A [`RefResolver`] that finds nothing (every `ref` is `[]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRefs;

impl RefResolver for NoRefs {
    fn resolve(&self, _ns: &str, _id: Id, _path: &str) -> Vec<Value> {
        Vec::new()
    }
}

/// The inputs of one rule evaluation.
///
/// Which entity snapshots go where mirrors `permissioned_transaction.clj`:
/// - view / delete: `data` = the stored entity;
/// - create: `data` = `newData` = the entity as created (if `new_data` is not
///   given, `data` is used for both);
/// - update: `data` = the entity before, `newData` = after the steps;
/// - link / unlink: `data` = this side before, `newData` after,
///   `linkedData` = the other side (`linked_namespace` names its namespace,
///   for `linkedData.ref`).
///
/// Entities are JSON objects of attribute → value and should include `"id"`
/// (needed by `ref`). `auth` is the acting `$users` entity, `None` for a guest
/// (then `auth.id == null`).
///
/// ```
/// use instant_local::perms::{Action, NoRefs, RuleContext};
/// use serde_json::json;
/// let todo = json!({"id": "3c9e0b8a-1111-4111-8111-111111111111", "ownerId": "u1"});
/// let user = json!({"id": "u1", "email": "a@b.c"});
/// let ctx = RuleContext::new("todos", &Action::View, &NoRefs)
///     .auth(Some(&user))
///     .data(&todo);
/// assert_eq!(ctx.namespace, "todos");
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct RuleContext<'a> {
    /// The entity's namespace, e.g. `"todos"`.
    pub namespace: &'a str,
    /// The action checked.
    pub action: &'a Action,
    /// The acting user (`$users` entity JSON) or `None` for guests.
    pub auth: Option<&'a Value>,
    /// The entity (before the change, for update/delete/link).
    pub data: Option<&'a Value>,
    /// The entity after the change (create/update/link/unlink).
    pub new_data: Option<&'a Value>,
    /// The other side of a link (link/unlink).
    pub linked_data: Option<&'a Value>,
    /// Namespace of `linked_data`.
    pub linked_namespace: Option<&'a str>,
    /// `actions` of a link rule: `{"data": "create"|"update", "linkedData": ...}`.
    pub actions: Option<&'a Value>,
    /// Rule params (`$$ruleParams` of a query, `ruleParams` steps of a transaction).
    pub rule_params: Option<&'a Value>,
    /// `request.modifiedFields` for create/update: the attributes written.
    pub modified_fields: Option<&'a [String]>,
    /// Resolves `data.ref(...)` / `auth.ref(...)` / `linkedData.ref(...)`.
    pub resolver: &'a dyn RefResolver,
    /// Stops a long evaluation (the request's deadline); `None` = never.
    pub stop: Option<&'a (dyn StopSignal + Sync)>,
}

impl std::fmt::Debug for RuleContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleContext")
            .field("namespace", &self.namespace)
            .field("action", &self.action)
            .field("auth", &self.auth)
            .field("data", &self.data)
            .field("new_data", &self.new_data)
            .field("linked_data", &self.linked_data)
            .field("rule_params", &self.rule_params)
            .finish_non_exhaustive()
    }
}

impl<'a> RuleContext<'a> {
    /// A context for `action` on `namespace`, as a guest, with no entity.
    pub fn new(namespace: &'a str, action: &'a Action, resolver: &'a dyn RefResolver) -> Self {
        RuleContext {
            namespace,
            action,
            auth: None,
            data: None,
            new_data: None,
            linked_data: None,
            linked_namespace: None,
            actions: None,
            rule_params: None,
            modified_fields: None,
            resolver,
            stop: None,
        }
    }
    /// Sets the acting user (`None` = guest).
    pub fn auth(mut self, user: Option<&'a Value>) -> Self {
        self.auth = user;
        self
    }
    /// Sets `data`.
    pub fn data(mut self, entity: &'a Value) -> Self {
        self.data = Some(entity);
        self
    }
    /// Sets `newData`.
    pub fn new_data(mut self, entity: &'a Value) -> Self {
        self.new_data = Some(entity);
        self
    }
    /// Sets `linkedData` and its namespace.
    pub fn linked_data(mut self, namespace: &'a str, entity: &'a Value) -> Self {
        self.linked_namespace = Some(namespace);
        self.linked_data = Some(entity);
        self
    }
    /// Sets the link rule's `actions` object.
    pub fn actions(mut self, actions: &'a Value) -> Self {
        self.actions = Some(actions);
        self
    }
    /// Sets `ruleParams`.
    pub fn rule_params(mut self, params: Option<&'a Value>) -> Self {
        self.rule_params = params;
        self
    }
    /// Sets the signal that stops a long evaluation (the request's deadline):
    /// once it fires, evaluation ends with [`super::RuleError::Interrupted`].
    pub fn stop(mut self, signal: &'a (dyn StopSignal + Sync)) -> Self {
        self.stop = Some(signal);
        self
    }
    /// Sets `request.modifiedFields`.
    pub fn modified_fields(mut self, fields: &'a [String]) -> Self {
        self.modified_fields = Some(fields);
        self
    }
}
