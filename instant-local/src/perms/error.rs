//! Errors of rule compilation and evaluation.

use instant_core::{ApiError, ErrorKind};
use serde_json::{json, Value};

/// One problem found while validating a rules document.
///
/// Serialises (with [`RuleIssue::to_json`]) to the `{"message", "in"}` entries
/// of Instant's `validation-failed` hint, see `validation-errors` in
/// `server/src/instant/model/rule.clj`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleIssue {
    /// Human message; CEL syntax errors carry the CEL parser's message.
    pub message: String,
    /// Where the problem is, e.g. `["todos", "allow", "view"]`,
    /// `["todos", "bind", "isOwner"]` or `["todos", "fields", "email"]`.
    pub path: Vec<String>,
}

impl RuleIssue {
    /// A new issue at `path`.
    pub fn new(message: impl Into<String>, path: &[&str]) -> Self {
        RuleIssue {
            message: message.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `{"message": …, "in": [...]}`, the server's error entry.
    pub fn to_json(&self) -> Value {
        json!({"message": self.message, "in": self.path})
    }
}

/// Why rules could not be compiled or a rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The rules document is invalid (bad CEL, bad `bind`, a rule on a
    /// reserved namespace, ...). Every issue found is listed.
    #[error("Validation failed for rules: {}", join_messages(.0))]
    Invalid(Vec<RuleIssue>),
    /// A rule failed at run time (e.g. comparing a string with `<` to a map).
    /// Instant answers `permission-evaluation-failed`
    /// (`throw-permission-evaluation-failed!` in `util/exception.clj`).
    #[error("Could not evaluate permission rule for `{namespace}.{action}`. {message}. Debug this in the sandbox and then update your permission rules.")]
    Evaluation {
        /// Namespace of the rule.
        namespace: String,
        /// Action of the rule (`view`, `create`, ..., `link`).
        action: String,
        /// The CEL runtime message.
        message: String,
    },
    /// Evaluation was stopped by the request's stop signal (its deadline
    /// passed or the client went away). Instant answers 429 `timeout`
    /// (`throw-query-timeout!` in `util/exception.clj`).
    #[error("{}", TIMEOUT_MESSAGE)]
    Interrupted,
}

/// The official message of a query that ran out of time.
const TIMEOUT_MESSAGE: &str = "The query took too long to complete.";

fn join_messages(issues: &[RuleIssue]) -> String {
    issues
        .iter()
        .map(|i| i.message.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl RuleError {
    /// The issues of an [`RuleError::Invalid`] error (empty otherwise).
    pub fn issues(&self) -> &[RuleIssue] {
        match self {
            RuleError::Invalid(i) => i,
            RuleError::Evaluation { .. } | RuleError::Interrupted => &[],
        }
    }

    /// The Instant error body for this error.
    ///
    /// `data_type` is the `validation-failed` data type: `"rule"` for a perms
    /// push, `"perms"` at app creation (spec Part D); `input` is echoed as
    /// `hint.input`. Evaluation errors become `permission-evaluation-failed`
    /// with hint `{"rule": [ns, action], "error": {...}}`; an interrupted
    /// evaluation is 429 `timeout`.
    pub fn to_api_error(&self, data_type: &str, input: Value) -> ApiError {
        match self {
            RuleError::Invalid(issues) => ApiError::validation(
                data_type,
                input,
                issues.iter().map(RuleIssue::to_json).collect(),
            ),
            RuleError::Evaluation {
                namespace,
                action,
                message,
            } => ApiError::new(ErrorKind::PermissionEvaluationFailed, self.to_string()).with_hint(
                json!({
                    "rule": [namespace, action],
                    "error": {"type": "cel-evaluation", "message": message, "hint": message},
                }),
            ),
            RuleError::Interrupted => {
                ApiError::new(ErrorKind::Timeout, TIMEOUT_MESSAGE).with_hint(json!({}))
            }
        }
    }
}
