//! Bodies of the permission debugging endpoints `POST /admin/query_perms_check`
//! (`db.debugQuery`) and `POST /admin/transact_perms_check` (`db.debugTransact`),
//! spec `admin-http.md` §2.3–§2.4 and `captured-requests.md` 1.5.
//!
//! Both endpoints need an admin token *and* an impersonation header; the server
//! refuses admin context ("Cannot test perms as admin").
//!
//! ```
//! use instant_core::{Query, QueryNode, perms_check::QueryPermsCheckRequest};
//! use serde_json::json;
//!
//! let body = QueryPermsCheckRequest::new(Query::new().ns("goals", QueryNode::new()));
//! assert_eq!(body.to_json(), json!({"query": {"goals": {}}, "inference?": false}));
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::query::optional_bool;
use crate::steps::{required_steps, steps_json};
use crate::{Error, Query, Rules, Step};

/// Optional keys shared by both debug bodies.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PermsCheckOverrides {
    /// `rules-override`: rules used instead of the app's (validated like a
    /// permissions document).
    pub rules_override: Option<Rules>,
    /// `ip-override`: the client IP the rules see (non-blank).
    pub ip_override: Option<String>,
    /// `origin-override`: the request origin the rules see (non-blank).
    pub origin_override: Option<String>,
}

impl PermsCheckOverrides {
    fn write(&self, m: &mut Map<String, Value>) {
        if let Some(r) = &self.rules_override {
            m.insert("rules-override".into(), r.to_json());
        }
        if let Some(ip) = &self.ip_override {
            m.insert("ip-override".into(), Value::String(ip.clone()));
        }
        if let Some(o) = &self.origin_override {
            m.insert("origin-override".into(), Value::String(o.clone()));
        }
    }

    fn read(v: &Value) -> Result<Self, Error> {
        let text = |k: &str| match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::Decode {
                path: k.into(),
                message: format!("expected a string, got {other}"),
            }),
        };
        Ok(PermsCheckOverrides {
            rules_override: match v.get("rules-override") {
                None | Some(Value::Null) => None,
                Some(r) => Some(Rules::from_json(r)?),
            },
            ip_override: text("ip-override")?,
            origin_override: text("origin-override")?,
        })
    }
}

/// Body of `POST /admin/query_perms_check`:
/// `{"query", "inference?", "rules-override"?, "ip-override"?, "origin-override"?}`.
/// Rule params go inside `query` as `$$ruleParams`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPermsCheckRequest {
    /// The query to check.
    pub query: Query,
    /// `inference?` (the JS SDK sends its `cardinalityInference` option, default
    /// "has a schema").
    pub inference: bool,
    /// Optional overrides.
    pub overrides: PermsCheckOverrides,
}

impl QueryPermsCheckRequest {
    /// A body for `query` with `inference?` false and no overrides.
    pub fn new(query: Query) -> Self {
        QueryPermsCheckRequest {
            query,
            inference: false,
            overrides: PermsCheckOverrides::default(),
        }
    }

    /// The body JSON (unset overrides are left out, as the JS SDK drops
    /// `undefined`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("query".into(), self.query.to_json());
        m.insert("inference?".into(), Value::Bool(self.inference));
        self.overrides.write(&mut m);
        Value::Object(m)
    }

    /// Decodes a body.
    ///
    /// # Errors
    /// [`Error::Decode`] for a missing `query` or mistyped keys; query and rules
    /// errors as [`Query::from_json`] and [`Rules::from_json`].
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let q = crate::QueryRequest::from_json(v)?;
        Ok(QueryPermsCheckRequest {
            query: q.query,
            inference: q.inference,
            overrides: PermsCheckOverrides::read(v)?,
        })
    }
}

/// Body of `POST /admin/transact_perms_check`: `{"steps", "rules-override"?,
/// "dangerously-commit-tx"?, "ip-override"?, "origin-override"?,
/// "throw-on-missing-attrs?"?}`. Without `dangerously-commit-tx: true` the
/// transaction is rolled back (a dry run).
#[derive(Debug, Clone, PartialEq)]
pub struct TransactPermsCheckRequest {
    /// The steps to check.
    pub steps: Vec<Step>,
    /// `dangerously-commit-tx`: commit the transaction when all checks pass.
    pub dangerously_commit_tx: Option<bool>,
    /// `throw-on-missing-attrs?`, when given.
    pub throw_on_missing_attrs: Option<bool>,
    /// Optional overrides.
    pub overrides: PermsCheckOverrides,
}

impl TransactPermsCheckRequest {
    /// A dry-run body for `steps` (`{"steps": [...]}`, as `db.debugTransact`
    /// sends it).
    pub fn new(steps: Vec<Step>) -> Self {
        TransactPermsCheckRequest {
            steps,
            dangerously_commit_tx: None,
            throw_on_missing_attrs: None,
            overrides: PermsCheckOverrides::default(),
        }
    }

    /// The body JSON; unset options are left out.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("steps".into(), steps_json(&self.steps));
        if let Some(c) = self.dangerously_commit_tx {
            m.insert("dangerously-commit-tx".into(), Value::Bool(c));
        }
        if let Some(t) = self.throw_on_missing_attrs {
            m.insert("throw-on-missing-attrs?".into(), Value::Bool(t));
        }
        self.overrides.write(&mut m);
        Value::Object(m)
    }

    /// Decodes a body.
    ///
    /// # Errors
    /// [`Error::Decode`] for missing `steps` or mistyped keys; step and rules
    /// errors as [`Step::from_json`] and [`Rules::from_json`].
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let flag = |k: &str| -> Result<Option<bool>, Error> {
            match v.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(_) => optional_bool(v, k).map(Some),
            }
        };
        Ok(TransactPermsCheckRequest {
            steps: required_steps(v)?,
            dangerously_commit_tx: flag("dangerously-commit-tx")?,
            throw_on_missing_attrs: flag("throw-on-missing-attrs?")?,
            overrides: PermsCheckOverrides::read(v)?,
        })
    }
}

/// Answer of `POST /admin/query_perms_check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryPermsCheckResponse {
    /// The query result tree, as the impersonated user sees it.
    pub result: Value,
    /// One entry per rule evaluated: `{"id", "entity", "label", "record",
    /// "program": {"code", "display-code", "etype", "action"}, "check"}`.
    #[serde(rename = "check-results", default)]
    pub check_results: Vec<Value>,
    /// `rule-wheres`, as sent.
    #[serde(
        rename = "rule-wheres",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rule_wheres: Option<Value>,
}

/// Answer of `POST /admin/transact_perms_check`. Permission failures are
/// reported here, not raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactPermsCheckResponse {
    /// The transaction id (`null` for a dry run that was rolled back before one
    /// was assigned).
    #[serde(rename = "tx-id", default)]
    pub tx_id: Option<i64>,
    /// `all-checks-ok?`.
    #[serde(rename = "all-checks-ok?")]
    pub all_checks_ok: bool,
    /// `committed?`.
    #[serde(rename = "committed?")]
    pub committed: bool,
    /// One entry per check: the check fields plus `"program"`,
    /// `"check-result"` and `"check-pass?"`.
    #[serde(rename = "check-results", default)]
    pub check_results: Vec<Value>,
}

crate::json_serde!(QueryPermsCheckRequest, TransactPermsCheckRequest);
