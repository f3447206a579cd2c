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

    /// A single wait ran out (client side): a live subscription's connect or idle
    /// timeout ([`crate::ClientBuilder::idle_timeout`]), or
    /// `blocking::Subscription::next_timeout`. A whole call that ran out of time is
    /// [`Error::CallTimeout`]. The server's own timeouts arrive as [`Error::Api`] with
    /// kind [`ErrorKind::Timeout`].
    #[error("timed out after {0:?}")]
    Timeout(Duration),

    /// A call (all its attempts, retries and backoff waits included) did not
    /// complete within the configured [`crate::ClientBuilder::timeout`] (or its last
    /// allowed attempt hit [`crate::ClientBuilder::attempt_timeout`]).
    #[error(
        "request timed out after {elapsed:?} ({attempts} attempt(s); call timeout {timeout:?})"
    )]
    CallTimeout {
        /// The configured time budget of the whole call.
        timeout: Duration,
        /// How long the call actually ran.
        elapsed: Duration,
        /// How many attempts were sent (1 = no retry).
        attempts: u32,
    },

    /// The server's answer is larger than [`crate::ClientBuilder::max_response_bytes`]:
    /// refused from its `Content-Length`, or while reading it. The connection is
    /// dropped; the call is not retried.
    #[error("the server's answer exceeds the {limit}-byte limit{}", content_length.map(|n| format!(" (content-length {n})")).unwrap_or_default())]
    ResponseTooLarge {
        /// The configured limit, in bytes.
        limit: u64,
        /// The answer's `Content-Length`, when it declared one over the limit.
        content_length: Option<u64>,
    },

    /// A live query's event stream sent a line or an event larger than
    /// [`crate::ClientBuilder::max_event_bytes`]. The subscription ends with this
    /// error (the same result would arrive again on a reconnect).
    #[error("a live-query event exceeds the {limit}-byte limit")]
    EventTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },

    /// An answer nests arrays and objects deeper than
    /// [`crate::ClientBuilder::max_json_depth`]; it is refused before decoding.
    #[error("the server's answer nests deeper than {limit} levels")]
    NestingTooDeep {
        /// The configured limit, in levels of arrays and objects.
        limit: usize,
    },

    /// A live query gave up: `attempts` reconnects in a row failed without the server
    /// opening a session (`sse-init`) or sending a result
    /// ([`crate::ClientBuilder::max_reconnect_attempts`]). The subscription ends.
    #[error(
        "the live query gave up after {attempts} reconnect(s) in a row without an answer: {source}"
    )]
    ReconnectsExhausted {
        /// Reconnects tried in a row.
        attempts: u32,
        /// Why the last connection failed.
        #[source]
        source: Box<Error>,
    },

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

    /// True for a client-side [`Error::Timeout`] or [`Error::CallTimeout`], or a
    /// server `timeout` answer ("The query took too long to complete.").
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_) | Error::CallTimeout { .. })
            || matches!(self.kind(), Some(ErrorKind::Timeout))
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
