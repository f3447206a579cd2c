//! The client's one error type, [`Error`].
//!
//! Server answers map to [`Error::Api`] (the envelope `{"type", "message", "hint",
//! "trace-id"}` decoded exactly as the official JS SDK's `InstantAPIError`, spec
//! `admin-http.md` §1.6); everything that goes wrong on this side of the wire has its
//! own variant.

use std::time::Duration;

pub use instant_core::{ApiError, ErrorKind};

/// A boxed error source kept for [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-200 status (or sent an `error` event on a
    /// subscription). `kind` is the envelope's `type`; a rate limit is
    /// [`ErrorKind::RateLimited`] (HTTP 429), a server-side query or transaction
    /// timeout is [`ErrorKind::Timeout`] (also HTTP 429). A body that is not JSON keeps
    /// its text as the message and has kind `Other("")`.
    #[error("Instant API error: {0}")]
    Api(ApiError),

    /// A 200 answer whose JSON does not have the expected shape. `path` is the JSON
    /// path of the problem (e.g. `goals[3].title`, `.` for the root), found with
    /// `serde_path_to_error`.
    #[error("could not decode the server's answer at `{path}`: {message}")]
    Decode {
        /// JSON path of the value that failed to decode.
        path: String,
        /// What serde reported.
        message: String,
    },

    /// The request could not be sent or the answer could not be read (connection
    /// refused or reset, TLS, DNS, a broken stream).
    #[error("transport error: {message}")]
    Transport {
        /// What went wrong.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The call did not complete within the configured timeout (client side; see
    /// [`crate::ClientBuilder::timeout`]). The server's own timeouts arrive as
    /// [`Error::Api`] with kind [`ErrorKind::Timeout`].
    #[error("request timed out after {0:?}")]
    Timeout(Duration),

    /// The client is not configured for this call: missing app id or admin token, an
    /// invalid or half-configured base URL, a blocking call made inside an async
    /// runtime.
    #[error("configuration error: {0}")]
    Config(String),

    /// A value could not be built or encoded (invalid lookup, non-finite number, a
    /// typed query that failed to build).
    #[error(transparent)]
    Core(#[from] instant_core::Error),

    /// [`crate::Client::transact_batched`] failed part way: the first
    /// `committed_batches` batches (with transaction ids `tx_ids`, `committed_steps`
    /// steps in all) were committed and stay committed; the failing batch and the
    /// ones after it were not. Nothing is retried.
    #[error("batch {failed_batch} of the transaction failed after {committed_steps} steps were committed: {source}")]
    Batch {
        /// Index (0-based) of the batch that failed.
        failed_batch: usize,
        /// Number of batches committed before the failure.
        committed_batches: usize,
        /// Number of steps in the committed batches.
        committed_steps: usize,
        /// Transaction ids of the committed batches, in order.
        tx_ids: Vec<i64>,
        /// Why the batch failed.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The server error, when this is [`Error::Api`] (or a [`Error::Batch`] that
    /// failed with one).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::Batch { source, .. } => source.api(),
            _ => None,
        }
    }

    /// The HTTP status of a server error.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// The server error's kind.
    pub fn kind(&self) -> Option<&ErrorKind> {
        self.api().map(|e| &e.kind)
    }

    /// True for HTTP 429 `rate-limited` answers.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self.kind(), Some(ErrorKind::RateLimited))
    }

    /// True for a client-side [`Error::Timeout`] or a server `timeout` answer
    /// ("The query took too long to complete.").
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_)) || matches!(self.kind(), Some(ErrorKind::Timeout))
    }

    /// The server's `hint`, when it sent one.
    pub fn hint(&self) -> Option<&serde_json::Value> {
        self.api().and_then(|e| e.hint.as_ref())
    }

    /// The server's `trace-id`, when it sent one.
    pub fn trace_id(&self) -> Option<&str> {
        self.api().and_then(|e| e.trace_id.as_deref())
    }

    /// Seconds the server asked to wait before retrying (`hint.retry-after` of a
    /// rate-limited answer).
    pub fn retry_after(&self) -> Option<Duration> {
        self.hint()
            .and_then(|h| h.get("retry-after"))
            .and_then(serde_json::Value::as_f64)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
    }

    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }

    pub(crate) fn transport(message: impl Into<String>, source: Option<BoxError>) -> Self {
        Error::Transport {
            message: message.into(),
            source,
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error, timeout: Duration) -> Self {
        if e.is_timeout() {
            Error::Timeout(timeout)
        } else {
            let message = describe_reqwest(&e);
            Error::transport(message, Some(Box::new(e)))
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(e)
    }
}

/// reqwest's Display hides the root cause ("error sending request"); add it.
fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
