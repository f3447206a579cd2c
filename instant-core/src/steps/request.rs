//! The body and answer of `POST /admin/transact` (spec `admin-http.md` §2.2,
//! `captured-requests.md` 1.2; server `transact-post` in
//! `server/src/instant/admin/routes.clj`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Step;
use crate::Error;

/// The body of `POST /admin/transact`:
/// `{"steps": [...], "throw-on-missing-attrs?": bool}` (`captured-requests.md`
/// 1.2; the flag is always written, as the JS SDK writes it).
#[derive(Debug, Clone, PartialEq)]
pub struct TransactRequest {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// When true the server refuses to create attributes the schema lacks (the JS
    /// SDK sets it iff it was given a schema).
    pub throw_on_missing_attrs: bool,
}

crate::json_serde!(TransactRequest);

impl TransactRequest {
    /// A request for `steps` with `throw-on-missing-attrs?` false (schemaless).
    pub fn new(steps: Vec<Step>) -> Self {
        TransactRequest {
            steps,
            throw_on_missing_attrs: false,
        }
    }

    /// Sets `throw-on-missing-attrs?`.
    pub fn with_throw_on_missing_attrs(mut self, throw: bool) -> Self {
        self.throw_on_missing_attrs = throw;
        self
    }

    /// The body JSON.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("steps".into(), steps_json(&self.steps));
        m.insert(
            "throw-on-missing-attrs?".into(),
            Value::Bool(self.throw_on_missing_attrs),
        );
        Value::Object(m)
    }

    /// Decodes a request body, naming the failing step. Unknown keys are ignored,
    /// as the server ignores them.
    ///
    /// # Errors
    /// [`Error::Decode`] when `steps` is missing or `throw-on-missing-attrs?` is
    /// not a boolean; step errors as [`Step::from_json`].
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        Ok(TransactRequest {
            steps: required_steps(v)?,
            throw_on_missing_attrs: crate::query::optional_bool(v, "throw-on-missing-attrs?")?,
        })
    }
}

/// The JSON array of `steps`.
pub(crate) fn steps_json(steps: &[Step]) -> Value {
    Value::Array(steps.iter().map(Step::to_json).collect())
}

/// Reads the required `steps` key of a request body.
pub(crate) fn required_steps(v: &Value) -> Result<Vec<Step>, Error> {
    let steps = v.get("steps").ok_or_else(|| Error::Decode {
        path: "steps".into(),
        message: "Missing parameter: [\"body\" \"steps\"]".into(),
    })?;
    Step::list_from_json(steps)
}

/// The answer of `POST /admin/transact`: `{"tx-id": <int>}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactResponse {
    /// The transaction id; increases with every transaction of an app.
    #[serde(rename = "tx-id")]
    pub tx_id: i64,
}
