//! Errors: the wire model's own decode/validation [`Error`], and the server's error
//! envelope [`ApiError`] with its typed [`ErrorKind`].
//!
//! The envelope mirrors `server/src/instant/util/exception.clj` and the status mapping
//! of `wrap-errors` (spec `admin-http.md` §1.6); client-side decoding mirrors the JS
//! SDK's `InstantAPIError`.

mod api;
pub use api::{ApiError, ErrorKind};

/// An error building or decoding a wire value (no I/O involved).
///
/// Every decoder in this crate returns this instead of panicking on bad input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string that should be a UUID is not one.
    #[error("Invalid entity ID '{0}'. Entity IDs must be UUIDs or lookup references.")]
    InvalidId(String),
    /// A lookup with an empty attribute name, or a malformed lookup form.
    #[error("invalid lookup: {0}")]
    InvalidLookup(String),
    /// A number that JSON cannot carry (NaN or infinite).
    #[error("number {0} is not finite; Instant only stores finite numbers")]
    NonFiniteNumber(f64),
    /// A where operator the server does not know (e.g. `$regex`).
    #[error("unknown where operator `{op}` at {path}")]
    UnknownOperator {
        /// The operator as written.
        op: String,
        /// JSON path of the operator object.
        path: String,
    },
    /// A malformed InstaQL query; `path` is the JSON path into the query, as the
    /// server reports it in `hint.errors[].in` (e.g. `["goals", "$", "limit"]`).
    #[error("invalid query at {}: {message}", path.join("."))]
    InvalidQuery {
        /// Where in the query.
        path: Vec<String>,
        /// What is wrong.
        message: String,
    },
    /// A malformed transaction step; `index` is the step's position.
    #[error("invalid step {index}: {message}")]
    InvalidStep {
        /// Position of the step in `steps`.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// A malformed schema or permission-rules document.
    #[error("invalid schema at {path}: {message}")]
    InvalidSchema {
        /// Where in the document.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A value that does not fit the attribute's value type.
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// A date that could not be parsed.
    #[error("invalid date: {0}")]
    InvalidDate(String),
    /// JSON that does not have the expected shape (`path` names where).
    #[error("decode error at {path}: {message}")]
    Decode {
        /// JSON path of the problem.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn query(path: &[String], message: impl Into<String>) -> Self {
        Error::InvalidQuery {
            path: path.to_vec(),
            message: message.into(),
        }
    }
    pub(crate) fn step(index: usize, message: impl Into<String>) -> Self {
        Error::InvalidStep {
            index,
            message: message.into(),
        }
    }
    pub(crate) fn schema(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidSchema {
            path: path.into(),
            message: message.into(),
        }
    }
}
