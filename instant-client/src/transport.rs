//! The HTTP layer shared by [`crate::Client`] and [`crate::PlatformApi`]: base URL,
//! connection pool, timeouts, retries, and mapping of answers to [`Error`]s.

use std::time::Duration;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;

use crate::reconnect::ReconnectPolicy;
use crate::{body, decode, ApiError, Error, ErrorKind};

/// The cloud's API base URL (the JS SDK's default `apiURI`).
pub const DEFAULT_API_URI: &str = "https://api.instantdb.com";

/// The version string sent in `instant-admin-version` / `instant-core-version`
/// (and the Platform headers): this crate's version with a leading `v`, e.g.
/// `v0.1.0`. The official SDK sends its npm version the same way (`v1.0.67`); the
/// server only records it.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// The `user-agent` header: `instant-rs/<crate version>`.
pub const USER_AGENT: &str = concat!("instant-rs/", env!("CARGO_PKG_VERSION"));

/// `encodeURIComponent`'s set: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Percent-encodes a query-string value the way JS `encodeURIComponent` does (what
/// the official SDK uses, e.g. `photos/a.txt` → `photos%2Fa.txt`).
pub(crate) fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// Checks and normalises a base URL: http(s), a host, no query or fragment, no
/// trailing slash.
pub(crate) fn normalize_api_uri(uri: &str) -> Result<String, Error> {
    let trimmed = uri.trim();
    if trimmed.is_empty() {
        return Err(Error::config(
            "the API base URL is empty; set a full URL such as http://127.0.0.1:8888 \
             (the client never falls back to the Instant cloud silently)",
        ));
    }
    let url = Url::parse(trimmed)
        .map_err(|e| Error::config(format!("invalid API base URL `{trimmed}`: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::config(format!(
            "API base URL `{trimmed}` must use http or https"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(format!(
            "API base URL `{trimmed}` has no host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "API base URL `{trimmed}` must not carry a query string or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Retry policy for calls that are safe to repeat.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Extra attempts after the first (0 = never retry).
    pub max_retries: u32,
    /// First backoff; doubles per attempt.
    pub base_delay: Duration,
    /// Longest single wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32, err: &Error) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        match err.retry_after() {
            Some(d) => d.min(self.max_delay).max(backoff),
            None => backoff,
        }
    }
}

/// Whether a failed attempt of a repeatable call should be tried again.
fn is_retryable(e: &Error) -> bool {
    match e {
        Error::Transport { .. } | Error::Timeout(_) => true,
        Error::Api(a) => {
            matches!(a.kind, ErrorKind::RateLimited | ErrorKind::Timeout)
                || matches!(a.status, 429 | 502 | 503 | 504)
                || (a.status >= 500 && a.kind == ErrorKind::Other(String::new()))
        }
        _ => false,
    }
}

/// Shared HTTP state (one per builder; clones of clients share it).
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub api_uri: String,
    /// Budget of a whole call, retries included.
    pub timeout: Duration,
    /// Bound of one attempt (none: what is left of `timeout`).
    pub attempt_timeout: Option<Duration>,
    pub idle_timeout: Duration,
    pub retry: RetryPolicy,
    pub limits: ReadLimits,
    pub reconnect: ReconnectPolicy,
}

/// Bounds on what the client reads from a server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadLimits {
    /// Largest answer body, in bytes.
    pub max_response_bytes: u64,
    /// Largest line or event of a live query's event stream, in bytes.
    pub max_event_bytes: usize,
    /// Deepest nesting of arrays and objects in an answer.
    pub max_json_depth: usize,
}

/// Default of [`ReadLimits::max_response_bytes`]: 256 MiB.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 << 20;
/// Default of [`ReadLimits::max_event_bytes`]: 64 MiB.
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = 64 << 20;

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_json_depth: decode::DEFAULT_MAX_JSON_DEPTH,
        }
    }
}

/// How a call may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Safe to repeat (queries, reads): retried with backoff.
    Safe,
    /// Never repeated silently (transactions, writes).
    Never,
}

impl Transport {
    /// Builds a reqwest client with this crate's defaults.
    pub fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, Error> {
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))
    }

    /// `<api_uri><path>?<k=v&...>` with values `encodeURIComponent`-encoded.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut s = String::with_capacity(self.api_uri.len() + path.len() + 64);
        s.push_str(&self.api_uri);
        s.push_str(path);
        for (i, (k, v)) in query.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(k);
            s.push('=');
            s.push_str(&encode_component(v));
        }
        s
    }

    /// A request with `headers` (timeouts are applied by [`send`](Self::send)).
    pub fn request(&self, method: Method, url: &str, headers: HeaderMap) -> RequestBuilder {
        self.http.request(method, url).headers(headers)
    }

    /// Sends the request built by `make` (called again for each retry), returns the
    /// body of a 200 answer; any other status becomes [`Error::Api`].
    ///
    /// The whole call, retries and backoff waits included, runs within
    /// `self.timeout`; each attempt within `attempt_timeout` too when set. A retry
    /// whose backoff would end past the call's deadline is not made. A client-side
    /// timeout ends the call as [`Error::CallTimeout`] with the attempts made.
    pub async fn send(
        &self,
        repeat: Repeat,
        make: impl Fn() -> RequestBuilder,
    ) -> Result<Bytes, Error> {
        let started = tokio::time::Instant::now();
        // A budget too large for the clock (e.g. `Duration::MAX`) means "no limit".
        let deadline = started
            .checked_add(self.timeout)
            .unwrap_or_else(|| started + Duration::from_secs(100 * 365 * 86_400));
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let budget = self.attempt_timeout.map_or(left, |a| a.min(left));
            let res = match tokio::time::timeout(budget, self.send_once(make(), budget)).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout(budget)),
            };
            let e = match res {
                Ok(b) => return Ok(b),
                Err(e) => e,
            };
            let retry =
                repeat == Repeat::Safe && attempts <= self.retry.max_retries && is_retryable(&e);
            if retry {
                let wait = self.retry.delay(attempts - 1, &e);
                if tokio::time::Instant::now() + wait < deadline {
                    tracing::debug!(attempts, ?wait, error = %e, "retrying Instant call");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(match e {
                Error::Timeout(_) => Error::CallTimeout {
                    timeout: self.timeout,
                    elapsed: started.elapsed(),
                    attempts,
                },
                e => e,
            });
        }
    }

    /// Sends and decodes a JSON answer.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        repeat: Repeat,
        make: impl Fn() -> RequestBuilder,
    ) -> Result<T, Error> {
        let bytes = self.send(repeat, make).await?;
        self.decode(&bytes)
    }

    /// Decodes a JSON answer within the configured nesting limit.
    pub fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        decode::decode_limited(bytes, self.limits.max_json_depth)
    }

    /// One attempt: `budget` only labels a timeout reported by reqwest itself (a
    /// custom client's own timeout, or the connect timeout).
    async fn send_once(&self, req: RequestBuilder, budget: Duration) -> Result<Bytes, Error> {
        let resp = req
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, budget))?;
        let status = resp.status().as_u16();
        let body = body::read_limited(resp, self.limits.max_response_bytes, budget).await?;
        if status == 200 {
            Ok(body)
        } else {
            Err(Error::Api(ApiError::from_response(status, &body)))
        }
    }
}

/// Inserts a header whose value came from the caller, refusing values HTTP cannot
/// carry (newlines, non-visible bytes) with a clear error instead of a panic.
pub(crate) fn put_header(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
) -> Result<(), Error> {
    let v = HeaderValue::from_str(value)
        .map_err(|_| Error::config(format!("value for header `{name}` is not a valid header")))?;
    headers.insert(HeaderName::from_static(name), v);
    Ok(())
}

/// Same as [`put_header`], marking the value sensitive (hidden from hyper's debug
/// output).
pub(crate) fn put_secret_header(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
) -> Result<(), Error> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| Error::config(format!("value for header `{name}` is not a valid header")))?;
    v.set_sensitive(true);
    headers.insert(HeaderName::from_static(name), v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(encode_component("photos/a.txt"), "photos%2Fa.txt");
        assert_eq!(encode_component("a@b.co"), "a%40b.co");
        assert_eq!(encode_component("a b+c"), "a%20b%2Bc");
        assert_eq!(encode_component("x-_.!~*'()"), "x-_.!~*'()");
    }

    #[test]
    fn normalizes_base_urls() {
        assert_eq!(
            normalize_api_uri("http://127.0.0.1:8888/").unwrap(),
            "http://127.0.0.1:8888"
        );
        assert_eq!(
            normalize_api_uri("https://x.example/instant/").unwrap(),
            "https://x.example/instant"
        );
        for bad in [
            "",
            "  ",
            "127.0.0.1:8888",
            "ftp://x",
            "http://x?y=1",
            "http://",
        ] {
            assert!(
                matches!(normalize_api_uri(bad), Err(Error::Config(_))),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn retries_only_transient_errors() {
        assert!(is_retryable(&Error::Timeout(Duration::from_secs(1))));
        assert!(is_retryable(&Error::Api(ApiError::new(
            ErrorKind::RateLimited,
            "slow down"
        ))));
        assert!(!is_retryable(&Error::Api(ApiError::new(
            ErrorKind::ValidationFailed,
            "bad"
        ))));
        assert!(!is_retryable(&Error::config("x")));
    }
}
