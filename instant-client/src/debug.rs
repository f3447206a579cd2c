//! Permission debugging (`db.debugQuery` / `db.debugTransact`, spec
//! `admin-http.md` §2.3–2.4): run a query or a dry-run transaction as a user and
//! see every rule check. Needs the admin token *and* an impersonating handle
//! ([`crate::Client::as_user`]); as admin the server answers 400
//! "Cannot test perms as admin".

use instant_core::{IntoSteps, Query, Step};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::transport::Repeat;
use crate::{Client, Error};

/// Options of [`Client::debug_query`] and [`Client::debug_transact`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DebugOptions {
    /// `rules-override`: permission rules to evaluate instead of the app's.
    pub rules_override: Option<Value>,
    /// `ip-override`: the client IP rules see.
    pub ip_override: Option<String>,
    /// `origin-override`: the origin rules see.
    pub origin_override: Option<String>,
    /// `inference?` for queries (default: the client's).
    pub inference: Option<bool>,
    /// `dangerously-commit-tx` for transactions: actually commit (default: a dry
    /// run that is rolled back).
    pub commit: bool,
}

/// The answer of [`Client::debug_query`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DebugQueryResult {
    /// The result tree the user would see.
    #[serde(default)]
    pub result: Value,
    /// One entry per rule evaluated (`{"id", "entity", "record", "program", "check"}`).
    #[serde(rename = "check-results", default)]
    pub check_results: Vec<Value>,
}

/// The answer of [`Client::debug_transact`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DebugTransactResult {
    /// The tx id (when the server ran the transaction to the end).
    #[serde(rename = "tx-id", default)]
    pub tx_id: Option<i64>,
    /// True when every permission check passed.
    #[serde(rename = "all-checks-ok?", default)]
    pub all_checks_ok: bool,
    /// True when the transaction was committed (only with [`DebugOptions::commit`]).
    #[serde(rename = "committed?", default)]
    pub committed: bool,
    /// One entry per rule evaluated (`{"program", "check-result", "check-pass?", ...}`).
    #[serde(rename = "check-results", default)]
    pub check_results: Vec<Value>,
}

fn add_overrides(body: &mut Map<String, Value>, opts: &DebugOptions) {
    if let Some(r) = &opts.rules_override {
        body.insert("rules-override".into(), r.clone());
    }
    if let Some(ip) = &opts.ip_override {
        body.insert("ip-override".into(), Value::String(ip.clone()));
    }
    if let Some(o) = &opts.origin_override {
        body.insert("origin-override".into(), Value::String(o.clone()));
    }
}

impl Client {
    /// Runs `query` as this handle's user and reports every permission check
    /// (`POST /admin/query_perms_check`).
    ///
    /// # Errors
    /// [`Error::Api`] (`validation-failed` "Cannot test perms as admin" on an admin
    /// handle), config errors without an admin token.
    pub async fn debug_query(
        &self,
        query: &Query,
        opts: &DebugOptions,
    ) -> Result<DebugQueryResult, Error> {
        query.validate()?;
        let mut body = Map::new();
        body.insert("query".into(), query.to_json());
        body.insert(
            "inference?".into(),
            json!(opts.inference.unwrap_or(self.default_inference())),
        );
        add_overrides(&mut body, opts);
        self.call(
            Method::POST,
            "/admin/query_perms_check",
            &[],
            Some(&Value::Object(body)),
            true,
            Repeat::Safe,
        )
        .await
    }

    /// Runs `steps` as this handle's user, as a dry run unless
    /// [`DebugOptions::commit`], and reports every permission check
    /// (`POST /admin/transact_perms_check`). Failing rules do not raise; see
    /// [`DebugTransactResult::all_checks_ok`].
    ///
    /// # Errors
    /// As [`debug_query`](Self::debug_query); [`Error::Core`] for steps that
    /// cannot be built.
    pub async fn debug_transact(
        &self,
        steps: impl IntoSteps,
        opts: &DebugOptions,
    ) -> Result<DebugTransactResult, Error> {
        let steps = steps.into_steps()?;
        let mut body = Map::new();
        body.insert(
            "steps".into(),
            Value::Array(steps.iter().map(Step::to_json).collect()),
        );
        add_overrides(&mut body, opts);
        if opts.commit {
            body.insert("dangerously-commit-tx".into(), Value::Bool(true));
        }
        self.call(
            Method::POST,
            "/admin/transact_perms_check",
            &[],
            Some(&Value::Object(body)),
            true,
            Repeat::Never,
        )
        .await
    }
}
