//! Permission rules JSON (spec `schema-and-platform.md` Part D): per-namespace CEL
//! rules for `view`/`create`/`update`/`delete`, `$default` fallbacks, `bind`
//! aliases and `fields` rules.
//!
//! ```
//! use instant_core::{Rules, NamespaceRules};
//! let rules = Rules::new().namespace("todos", NamespaceRules::new()
//!     .allow("view", "true")
//!     .allow("update", "isOwner")
//!     .bind("isOwner", "auth.id == data.ownerId"));
//! let json = rules.to_json();
//! assert_eq!(json["todos"]["allow"]["update"], "isOwner");
//! assert_eq!(Rules::from_json(&json).unwrap(), rules);
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::Error;

/// The rules of one namespace (or of `$default` / `attrs`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamespaceRules {
    /// `allow`: action (`view`, `create`, `update`, `delete`, `$default`) → CEL.
    pub allow: BTreeMap<String, String>,
    /// `allow.link` / `allow.unlink` per-label maps and any other non-string
    /// `allow` entries, kept as JSON.
    pub allow_extra: Map<String, Value>,
    /// `bind`: named expressions, in order.
    pub bind: Vec<(String, String)>,
    /// `fields`: attribute → CEL view rule.
    pub fields: BTreeMap<String, String>,
}

impl NamespaceRules {
    /// No rules.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the rule of `action`.
    pub fn allow(mut self, action: impl Into<String>, cel: impl Into<String>) -> Self {
        self.allow.insert(action.into(), cel.into());
        self
    }
    /// Adds a `bind` alias.
    pub fn bind(mut self, name: impl Into<String>, cel: impl Into<String>) -> Self {
        self.bind.push((name.into(), cel.into()));
        self
    }
    /// Adds a field rule.
    pub fn field(mut self, attr: impl Into<String>, cel: impl Into<String>) -> Self {
        self.fields.insert(attr.into(), cel.into());
        self
    }

    /// The rule for `action` (`allow.<action>`, then `allow.$default`), if set.
    pub fn rule_for(&self, action: &str) -> Option<&str> {
        self.allow
            .get(action)
            .or_else(|| self.allow.get("$default"))
            .map(String::as_str)
    }

    /// `{"allow"?, "bind"?, "fields"?}`; empty parts are left out and `bind` is
    /// written in its array form `[name, expr, name, expr, ...]`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut allow: Map<String, Value> = self
            .allow
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        allow.extend(self.allow_extra.clone());
        if !allow.is_empty() {
            m.insert("allow".into(), Value::Object(allow));
        }
        if !self.bind.is_empty() {
            m.insert(
                "bind".into(),
                Value::Array(
                    self.bind
                        .iter()
                        .flat_map(|(k, v)| [Value::String(k.clone()), Value::String(v.clone())])
                        .collect(),
                ),
            );
        }
        if !self.fields.is_empty() {
            m.insert(
                "fields".into(),
                self.fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<Map<_, _>>()
                    .into(),
            );
        }
        Value::Object(m)
    }

    /// Decodes the rules of namespace `ns` (used in error paths). `allow` values
    /// may be CEL strings, booleans (kept as `"true"`/`"false"`) or `null`
    /// (unset); other `allow` entries (`link`, `unlink` maps) go to
    /// [`NamespaceRules::allow_extra`]. `bind` may be an array of pairs or an
    /// object.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`]: a non-object, odd-length or non-string `bind`,
    /// repeated bind names, non-string field rules, a field rule on `id`.
    pub fn from_json(ns: &str, v: &Value) -> Result<Self, Error> {
        let p = |s: &str| format!("{ns}.{s}");
        let m = v
            .as_object()
            .ok_or_else(|| Error::schema(ns, "namespace rules must be an object"))?;
        let mut r = NamespaceRules::new();
        if let Some(a) = m.get("allow").filter(|a| !a.is_null()) {
            let a = a
                .as_object()
                .ok_or_else(|| Error::schema(p("allow"), "must be an object"))?;
            for (k, x) in a {
                match x {
                    Value::String(s) => {
                        r.allow.insert(k.clone(), s.clone());
                    }
                    Value::Bool(b) => {
                        r.allow.insert(k.clone(), b.to_string());
                    }
                    Value::Null => {}
                    other => {
                        r.allow_extra.insert(k.clone(), other.clone());
                    }
                }
            }
        }
        match m.get("bind") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                if a.len() % 2 != 0 {
                    return Err(Error::schema(
                        p("bind"),
                        "bind must have an even number of elements",
                    ));
                }
                for pair in a.chunks(2) {
                    match (&pair[0], &pair[1]) {
                        (Value::String(k), Value::String(v)) => r.bind.push((k.clone(), v.clone())),
                        _ => return Err(Error::schema(p("bind"), "bind entries must be strings")),
                    }
                }
            }
            Some(Value::Object(o)) => {
                for (k, x) in o {
                    let s = x
                        .as_str()
                        .ok_or_else(|| Error::schema(p("bind"), "bind entries must be strings"))?;
                    r.bind.push((k.clone(), s.to_string()));
                }
            }
            Some(_) => return Err(Error::schema(p("bind"), "bind must be an array or object")),
        }
        let mut names = std::collections::BTreeSet::new();
        for (k, _) in &r.bind {
            if !names.insert(k) {
                return Err(Error::schema(
                    p("bind"),
                    format!("bind name `{k}` is repeated"),
                ));
            }
        }
        let fields = match m.get("fields") {
            None | Some(Value::Null) => None,
            Some(Value::Object(f)) => Some(f),
            Some(_) => return Err(Error::schema(p("fields"), "fields must be an object")),
        };
        if let Some(f) = fields {
            for (k, x) in f {
                let s = x
                    .as_str()
                    .ok_or_else(|| Error::schema(p("fields"), "field rules must be strings"))?;
                if k == "id" {
                    return Err(Error::schema(
                        p("fields"),
                        "field rules are not allowed for `id`",
                    ));
                }
                r.fields.insert(k.clone(), s.to_string());
            }
        }
        Ok(r)
    }
}

/// A whole rules document: namespaces (plus `$default`, `attrs`) and
/// `$rateLimits` (kept as JSON).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rules {
    /// Rules by namespace; `$default` and `attrs` included.
    pub namespaces: BTreeMap<String, NamespaceRules>,
    /// `$rateLimits`, as sent.
    pub rate_limits: Option<Value>,
}

impl Rules {
    /// No rules (everything allowed for user namespaces).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the rules of `ns`.
    pub fn namespace(mut self, ns: impl Into<String>, r: NamespaceRules) -> Self {
        self.namespaces.insert(ns.into(), r);
        self
    }

    /// The rule for `action` on `ns`, following Instant's lookup order:
    /// `ns.allow.<action>` → `ns.allow.$default` → `$default.allow.<action>` →
    /// `$default.allow.$default`. `None` means "use the built-in default".
    pub fn rule_for(&self, ns: &str, action: &str) -> Option<&str> {
        self.namespaces
            .get(ns)
            .and_then(|r| r.rule_for(action))
            .or_else(|| {
                self.namespaces
                    .get("$default")
                    .and_then(|r| r.rule_for(action))
            })
    }

    /// Checks the document-level rules the server enforces on a permissions push
    /// (`schema-and-platform.md` D.1): `$users.allow.delete` must be absent or
    /// `"false"`, and no `$` namespace other than `$users`, `$files`, `$streams`
    /// and `$default` may have rules. CEL expressions are not checked here.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] naming the namespace (and action).
    pub fn validate(&self) -> Result<(), Error> {
        for ns in self.namespaces.keys() {
            if ns.starts_with('$')
                && !["$users", "$files", "$streams", "$default"].contains(&ns.as_str())
            {
                return Err(Error::schema(
                    ns,
                    format!("The {ns} namespace is a system namespace and can't have rules."),
                ));
            }
        }
        match self
            .namespaces
            .get("$users")
            .and_then(|r| r.allow.get("delete"))
        {
            Some(rule) if rule != "false" => Err(Error::schema(
                "$users.allow.delete",
                "The $users namespace does not support delete rules; use \"false\" or leave it out.",
            )),
            _ => Ok(()),
        }
    }

    /// The rules JSON: namespaces in name order, then `$rateLimits`.
    pub fn to_json(&self) -> Value {
        let mut m: Map<String, Value> = self
            .namespaces
            .iter()
            .map(|(k, r)| (k.clone(), r.to_json()))
            .collect();
        if let Some(rl) = &self.rate_limits {
            m.insert("$rateLimits".into(), rl.clone());
        }
        Value::Object(m)
    }

    /// Decodes a rules document (`null` = no rules).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] naming the namespace and key: odd `bind` arrays,
    /// repeated bind names, non-string rules, a field rule on `id`.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let mut r = Rules::new();
        let m = match v {
            Value::Null => return Ok(r),
            Value::Object(m) => m,
            _ => return Err(Error::schema("", "rules must be an object")),
        };
        for (k, x) in m {
            if k == "$rateLimits" {
                r.rate_limits = Some(x.clone());
            } else {
                r.namespaces
                    .insert(k.clone(), NamespaceRules::from_json(k, x)?);
            }
        }
        Ok(r)
    }
}

crate::json_serde!(Rules);
