//! The server's error envelope `{"type", "message", "hint", "trace-id"}` and its
//! typed kind (`server/src/instant/util/exception.clj`, status mapping of
//! `wrap-errors` in `server/src/instant/util/http.clj`; spec `admin-http.md`
//! §1.6).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! error_kinds {
    ($( $(#[$m:meta])* $variant:ident => $wire:literal ),* $(,)?) => {
        /// The `type` of an Instant error envelope.
        ///
        /// Unknown types decode to [`ErrorKind::Other`] with the string kept.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[$m])* $variant, )*
            /// Any other `type` string.
            Other(String),
        }

        impl ErrorKind {
            /// The wire string (`"validation-failed"`, ...).
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorKind::$variant => $wire, )*
                    ErrorKind::Other(s) => s,
                }
            }

            /// Parses a wire `type` string; never fails (unknown → [`ErrorKind::Other`]).
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $wire => ErrorKind::$variant, )*
                    other => ErrorKind::Other(other.to_string()),
                }
            }
        }
    };
}

error_kinds! {
    /// `validation-failed`: bad input (query, steps, schema, lookup, ...).
    ValidationFailed => "validation-failed",
    /// `record-not-found` (also a wrong admin token).
    RecordNotFound => "record-not-found",
    /// `record-expired` (e.g. an expired magic code or token).
    RecordExpired => "record-expired",
    /// `record-not-unique`: a unique attribute already holds the value.
    RecordNotUnique => "record-not-unique",
    /// `record-foreign-key-invalid`.
    RecordForeignKeyInvalid => "record-foreign-key-invalid",
    /// `record-check-violation`.
    RecordCheckViolation => "record-check-violation",
    /// `sql-raise` (e.g. merge on a link).
    SqlRaise => "sql-raise",
    /// `param-missing`: a required parameter is absent.
    ParamMissing => "param-missing",
    /// `param-malformed`: a parameter has the wrong shape.
    ParamMalformed => "param-malformed",
    /// `permission-denied`: a rule refused the operation.
    PermissionDenied => "permission-denied",
    /// `permission-evaluation-failed`: a rule errored.
    PermissionEvaluationFailed => "permission-evaluation-failed",
    /// `parameter-limit-exceeded`: too many parameters in one transaction or query.
    ParameterLimitExceeded => "parameter-limit-exceeded",
    /// `rate-limited` (HTTP 429).
    RateLimited => "rate-limited",
    /// `timeout` (HTTP 429): the query or transaction took too long.
    Timeout => "timeout",
    /// `app-read-only`.
    AppReadOnly => "app-read-only",
    /// `app-disabled`.
    AppDisabled => "app-disabled",
    /// `app-creation-disabled`.
    AppCreationDisabled => "app-creation-disabled",
    /// `signups-closed`.
    SignupsClosed => "signups-closed",
    /// `billing-closed`.
    BillingClosed => "billing-closed",
    /// `session-missing`.
    SessionMissing => "session-missing",
    /// `member-missing`.
    MemberMissing => "member-missing",
    /// `connection-closed`.
    ConnectionClosed => "connection-closed",
    /// `oauth-error` (its message travels under `error`).
    OauthError => "oauth-error",
    /// `unknown`: the server crashed.
    Unknown => "unknown",
}

impl ErrorKind {
    /// The HTTP status the server uses for this kind (`wrap-errors`): 429 for
    /// `rate-limited`/`timeout`, 500 for `unknown` and unlisted kinds, else 400.
    pub fn default_status(&self) -> u16 {
        match self {
            ErrorKind::RateLimited | ErrorKind::Timeout => 429,
            ErrorKind::Unknown | ErrorKind::Other(_) => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ErrorKind::parse(&s))
    }
}

/// An error answered by an Instant server: HTTP status plus the envelope
/// `{"type", "message", "hint", "trace-id"}` (spec `admin-http.md` §1.6).
///
/// Decoding follows the JS SDK: a body that is not JSON keeps its text as the
/// message and has no kind ([`ErrorKind::Other`] with an empty string).
///
/// Displays as `<type> (<status>): <message>`, or `HTTP <status>: <message>` when
/// the body had no `type`. The hint is not part of the display text.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (400, 401, 429, 500, ...).
    pub status: u16,
    /// The envelope's `type`.
    pub kind: ErrorKind,
    /// The envelope's `message` (or `error` for `oauth-error`), or
    /// `"API Error (<status>)"` when absent.
    pub message: String,
    /// The envelope's `hint`, as sent.
    pub hint: Option<Value>,
    /// `trace-id` (or `traceId`) when the server sent one.
    pub trace_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind.as_str() {
            "" => write!(f, "HTTP {}: {}", self.status, self.message),
            kind => write!(f, "{kind} ({}): {}", self.status, self.message),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Builds an error of `kind` with the kind's default status and no hint.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status: kind.default_status(),
            kind,
            message: message.into(),
            hint: None,
            trace_id: None,
        }
    }

    /// Adds a `hint`.
    pub fn with_hint(mut self, hint: Value) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Overrides the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Decodes a non-200 response `body` with HTTP `status`, as the JS SDK's
    /// `jsonReject` does (`client/packages/core/src/utils/fetch.ts`): a JSON object
    /// gives `type` (missing → `ErrorKind::Other("")`), `message` (or `error` for
    /// `oauth-error`; missing → `"API Error (<status>)"`), `hint` and `trace-id`
    /// (or `traceId`). Any other body (plain text such as the server's
    /// `Malformed JSON in request body.`, JSON that is not an object, invalid
    /// UTF-8) keeps its trimmed text as the message. Never fails or panics.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => {
                let kind = match map.get("type") {
                    Some(Value::String(s)) => ErrorKind::parse(s),
                    _ => ErrorKind::Other(String::new()),
                };
                let message = map
                    .get("message")
                    .or_else(|| map.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("API Error ({status})"));
                let trace_id = map
                    .get("trace-id")
                    .or_else(|| map.get("traceId"))
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Null => None,
                        other => Some(other.to_string()),
                    });
                let hint = map.get("hint").filter(|h| !h.is_null()).cloned();
                ApiError {
                    status,
                    kind,
                    message,
                    hint,
                    trace_id,
                }
            }
            _ => {
                let text = String::from_utf8_lossy(body).trim().to_string();
                ApiError {
                    status,
                    kind: ErrorKind::Other(String::new()),
                    message: if text.is_empty() {
                        format!("API Error ({status})")
                    } else {
                        text
                    },
                    hint: None,
                    trace_id: None,
                }
            }
        }
    }

    /// The envelope as JSON (`type`, `message`, `hint` when set, `trace-id` when set),
    /// as a server sends it. `oauth-error` carries its text under `error` instead
    /// of `message` (`admin-http.md` §1.6).
    pub fn to_body(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), Value::String(self.kind.as_str().to_string()));
        let text_key = if self.kind == ErrorKind::OauthError {
            "error"
        } else {
            "message"
        };
        m.insert(text_key.into(), Value::String(self.message.clone()));
        if let Some(h) = &self.hint {
            m.insert("hint".into(), h.clone());
        }
        if let Some(t) = &self.trace_id {
            m.insert("trace-id".into(), Value::String(t.clone()));
        }
        Value::Object(m)
    }

    /// True for errors worth retrying later: `rate-limited` and `timeout`.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::RateLimited | ErrorKind::Timeout)
    }

    /// A `validation-failed` error in the server's shape: message
    /// `"Validation failed for <data_type>: <messages joined by ', '>"` and hint
    /// `{"data-type", "input", "errors"}`.
    pub fn validation(data_type: &str, input: Value, errors: Vec<Value>) -> Self {
        let msgs: Vec<&str> = errors
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect();
        let mut message = format!("Validation failed for {data_type}");
        if !msgs.is_empty() {
            message.push_str(": ");
            message.push_str(&msgs.join(", "));
        }
        ApiError::new(ErrorKind::ValidationFailed, message).with_hint(serde_json::json!({
            "data-type": data_type,
            "input": input,
            "errors": errors,
        }))
    }
}
