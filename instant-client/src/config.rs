//! [`ClientBuilder`]: app id, admin token, base URL, timeouts, retries, inference.

use std::sync::Arc;
use std::time::Duration;

use instant_core::Id;

use crate::client::{Actor, Client, ClientInner};
use crate::reconnect::ReconnectPolicy;
use crate::transport::{normalize_api_uri, ReadLimits, RetryPolicy, Transport, DEFAULT_API_URI};
use crate::{Error, Secret};

/// Environment variable holding the app id (read by [`ClientBuilder::from_env`]).
pub const ENV_APP_ID: &str = "INSTANT_APP_ID";
/// Environment variable holding the admin token.
pub const ENV_ADMIN_TOKEN: &str = "INSTANT_APP_ADMIN_TOKEN";
/// Environment variable holding the API base URL (e.g. `http://127.0.0.1:8888`).
pub const ENV_API_URI: &str = "INSTANT_API_URI";

/// Builds a [`Client`].
///
/// Defaults: base URL `https://api.instantdb.com` (Instant's cloud; set
/// [`api_uri`](Self::api_uri) for a self-hosted server or `instant-local`), a 30 s
/// timeout for each whole call (retries included; no separate per-attempt bound), a
/// 10 s connect timeout, 60 s idle timeout on live subscriptions, 2 retries with
/// exponential backoff for calls that are safe to repeat, answers of at most 256 MiB
/// nested at most 1024 levels, live-query events of at most 64 MiB, live-query
/// reconnects backed off from 250 ms to 30 s with jitter and given up after 20 in a
/// row without an answer, `inference?` false and `throw-on-missing-attrs?` false
/// (what the official SDK sends without a schema).
///
/// ```
/// use instant_client::Client;
/// let client = Client::builder()
///     .app_id("11111111-1111-4111-8111-111111111111")
///     .admin_token("22222222-2222-4222-8222-222222222222")
///     .api_uri("http://127.0.0.1:8888")
///     .build()
///     .unwrap();
/// // The token never shows up in Debug output:
/// assert!(!format!("{client:?}").contains("22222222"));
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    app_id: Option<String>,
    admin_token: Option<Secret>,
    api_uri: Option<String>,
    timeout: Duration,
    attempt_timeout: Option<Duration>,
    connect_timeout: Duration,
    idle_timeout: Duration,
    retry: RetryPolicy,
    limits: ReadLimits,
    reconnect: ReconnectPolicy,
    inference: bool,
    throw_on_missing_attrs: bool,
    http: Option<reqwest::Client>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("app_id", &self.app_id)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .field("api_uri", &self.api_uri)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            app_id: None,
            admin_token: None,
            api_uri: None,
            timeout: Duration::from_secs(30),
            attempt_timeout: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            limits: ReadLimits::default(),
            reconnect: ReconnectPolicy::default(),
            inference: false,
            throw_on_missing_attrs: false,
            http: None,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults above and nothing configured.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from the environment: `INSTANT_APP_ID` (required),
    /// `INSTANT_APP_ADMIN_TOKEN` (optional), `INSTANT_API_URI` (optional; unset means
    /// Instant's cloud).
    ///
    /// # Errors
    /// [`Error::Config`] when `INSTANT_APP_ID` is unset or empty, or when
    /// `INSTANT_API_URI` is set but empty or not a URL (a half-configured
    /// self-hosted setup never falls back to the cloud).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) with a custom variable lookup (for tests and for
    /// configuration read from elsewhere).
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let app_id = lookup(ENV_APP_ID)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Error::config(format!("{ENV_APP_ID} is not set")))?;
        let mut b = ClientBuilder::new().app_id(app_id);
        if let Some(t) = lookup(ENV_ADMIN_TOKEN).filter(|s| !s.trim().is_empty()) {
            b = b.admin_token(t.trim());
        }
        if let Some(u) = lookup(ENV_API_URI) {
            // Validate now: set-but-empty is an error, not "use the cloud".
            normalize_api_uri(&u).map_err(|e| Error::config(format!("{ENV_API_URI}: {e}")))?;
            b = b.api_uri(u);
        }
        Ok(b)
    }

    /// The app id (a UUID, checked by [`build`](Self::build)).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The app's admin token. Optional: without it only
    /// [`Client::as_user`] with a refresh token or as a guest can make calls.
    pub fn admin_token(mut self, token: impl Into<Secret>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// The API base URL, e.g. `http://127.0.0.1:8888` for `instant-local` or your
    /// self-hosted server. Every URL the client calls derives from it. Default:
    /// `https://api.instantdb.com`.
    pub fn api_uri(mut self, uri: impl Into<String>) -> Self {
        self.api_uri = Some(uri.into());
        self
    }

    /// Time budget of a whole call: every attempt (request and full answer), the
    /// backoff waits between retries, all of it. Default 30 s. When it runs out the
    /// call fails with [`Error::CallTimeout`] naming the budget, the time taken and
    /// the attempts made; a retry whose backoff would end past the budget is not
    /// tried (the call fails with the last attempt's error). A call to a server that
    /// never answers therefore takes this long, never more. Also bounds how long a
    /// live subscription waits for its event stream to open; once open, the stream
    /// is bounded by [`idle_timeout`](Self::idle_timeout) instead.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Bound of one attempt of a call, so that a hung attempt leaves time for a
    /// retry within [`timeout`](Self::timeout). Default: none (an attempt may use
    /// whatever is left of the call's budget; Instant's own query timeout is 30 s, so
    /// a shorter bound can cut slow but healthy queries). Writes are never retried,
    /// so for them this simply caps the one attempt.
    pub fn attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = Some(t);
        self
    }

    /// Largest answer body accepted, in bytes. Default 256 MiB. An answer whose
    /// `Content-Length` is larger is refused before its body is read; one without it
    /// is counted while streaming. Either way the call fails with
    /// [`Error::ResponseTooLarge`] and nothing more is buffered.
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.limits.max_response_bytes = n;
        self
    }

    /// Largest line, and largest event (all its lines but comments), of a live
    /// query's event stream, in bytes. Default 64 MiB. A larger one ends the
    /// subscription with [`Error::EventTooLarge`] (the parser buffers at most this
    /// much plus one network chunk).
    pub fn max_event_bytes(mut self, n: usize) -> Self {
        self.limits.max_event_bytes = n;
        self
    }

    /// Deepest nesting of arrays and objects accepted in an answer (query results,
    /// live-query events), in levels. Default 1024 (a link query 500 links deep).
    /// Deeper answers fail with [`Error::NestingTooDeep`]; answers within the limit
    /// decode without risk to the stack (past `serde_json`'s own 128 levels the
    /// decoder grows its stack on the heap).
    pub fn max_json_depth(mut self, n: usize) -> Self {
        self.limits.max_json_depth = n;
        self
    }

    /// Shortest wait before a live query reconnects. Default 250 ms. The server's
    /// `retry:` hint (500 ms on Instant; 3 s until one arrives) is raised to at
    /// least this, so a server sending `retry: 0` cannot cause a reconnect storm.
    pub fn reconnect_min_delay(mut self, d: Duration) -> Self {
        self.reconnect.min_delay = d;
        self
    }

    /// Longest wait between two live-query reconnects. Default 30 s. Each reconnect
    /// in a row without an answer doubles the wait (from the server's hint), up to
    /// this; every wait is jittered to between half and all of it (never below
    /// [`reconnect_min_delay`](Self::reconnect_min_delay)).
    pub fn reconnect_max_delay(mut self, d: Duration) -> Self {
        self.reconnect.max_delay = d;
        self
    }

    /// How many reconnects in a row a live query tries without the server opening
    /// a session (`sse-init`) or sending a result before it gives up and ends with
    /// [`Error::ReconnectsExhausted`]. Default 20 (several minutes of backoff);
    /// `u32::MAX` reconnects for ever, as the official client does.
    pub fn max_reconnect_attempts(mut self, n: u32) -> Self {
        self.reconnect.max_attempts = n;
        self
    }

    /// TCP/TLS connect timeout. Default 10 s.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// A live subscription whose stream stays silent this long is treated as dropped
    /// and reconnected (the server sends a keep-alive every 15 s). Default 60 s. A
    /// connection lost (or silent) and not answering again within the 5 s grace
    /// period is reported on the stream.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = t;
        self
    }

    /// How many times a call that is safe to repeat (queries, reads) is retried after
    /// a transport error, a client timeout, a 429 or a 502/503/504, within the call's
    /// [`timeout`](Self::timeout). Default 2; 0 disables retries. Transactions and
    /// other writes are never retried.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// First retry delay (doubles per attempt, capped at 10 s; a server
    /// `retry-after` hint is honoured). Default 200 ms.
    pub fn retry_base_delay(mut self, d: Duration) -> Self {
        self.retry.base_delay = d;
        self
    }

    /// Default `inference?` for untyped queries and subscriptions (the JS SDK sends
    /// true iff it was given a schema). Typed queries always send true.
    pub fn inference(mut self, on: bool) -> Self {
        self.inference = on;
        self
    }

    /// Default `throw-on-missing-attrs?` for [`Client::transact`] (the JS SDK sends
    /// true iff it was given a schema): when true the server refuses steps that would
    /// create attributes missing from the schema.
    pub fn throw_on_missing_attrs(mut self, on: bool) -> Self {
        self.throw_on_missing_attrs = on;
        self
    }

    /// What the JS SDK does when initialised with a schema: `inference?` and
    /// `throw-on-missing-attrs?` both true.
    pub fn schema_mode(self) -> Self {
        self.inference(true).throw_on_missing_attrs(true)
    }

    /// Use this reqwest client (and its connection pool) instead of building one.
    /// Timeouts and limits set here still apply to every call.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    fn api_uri_checked(&self) -> Result<String, Error> {
        match &self.api_uri {
            Some(u) => normalize_api_uri(u),
            None => Ok(DEFAULT_API_URI.to_string()),
        }
    }

    pub(crate) fn transport(&self) -> Result<Transport, Error> {
        let http = match &self.http {
            Some(h) => h.clone(),
            None => Transport::http_client(self.connect_timeout)?,
        };
        Ok(Transport {
            http,
            api_uri: self.api_uri_checked()?,
            timeout: self.timeout,
            attempt_timeout: self.attempt_timeout,
            idle_timeout: self.idle_timeout,
            retry: self.retry,
            limits: self.limits,
            reconnect: self.reconnect,
        })
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] when the app id is missing or not a UUID, the admin token is
    /// empty, or the base URL is empty, not http(s), or carries a query string.
    pub fn build(self) -> Result<Client, Error> {
        let app_id = self
            .app_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config("an app id is required (ClientBuilder::app_id)"))?;
        let app_id = Id::parse(app_id)
            .map_err(|_| Error::config(format!("app id `{app_id}` is not a UUID")))?;
        if let Some(t) = &self.admin_token {
            if t.expose().trim().is_empty() {
                return Err(Error::config("the admin token is empty"));
            }
        }
        let transport = self.transport()?;
        Ok(Client {
            inner: Arc::new(ClientInner {
                transport,
                app_id,
                admin_token: self.admin_token.map(|t| Secret::new(t.expose().trim())),
                inference: self.inference,
                throw_on_missing_attrs: self.throw_on_missing_attrs,
            }),
            actor: Actor::Admin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    const APP: &str = "11111111-1111-4111-8111-111111111111";

    #[test]
    fn from_env_reads_all_three() {
        let c = ClientBuilder::from_lookup(env(&[
            (ENV_APP_ID, APP),
            (ENV_ADMIN_TOKEN, "22222222-2222-4222-8222-222222222222"),
            (ENV_API_URI, "http://127.0.0.1:8888/"),
        ]))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(c.api_uri(), "http://127.0.0.1:8888");
        assert_eq!(c.app_id().to_string(), APP);
        assert!(c.has_admin_token());
    }

    #[test]
    fn from_env_defaults_to_cloud_only_when_unset() {
        let c = ClientBuilder::from_lookup(env(&[(ENV_APP_ID, APP)]))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.api_uri(), DEFAULT_API_URI);
        assert!(!c.has_admin_token());
        // Set but empty: refuse rather than silently talk to the cloud.
        let e =
            ClientBuilder::from_lookup(env(&[(ENV_APP_ID, APP), (ENV_API_URI, " ")])).unwrap_err();
        assert!(
            matches!(e, Error::Config(ref m) if m.contains("INSTANT_API_URI")),
            "{e}"
        );
        let e =
            ClientBuilder::from_lookup(env(&[(ENV_APP_ID, APP), (ENV_API_URI, "localhost:8888")]))
                .unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
    }

    #[test]
    fn missing_app_id_is_a_config_error() {
        assert!(matches!(
            ClientBuilder::from_lookup(env(&[])),
            Err(Error::Config(_))
        ));
        assert!(matches!(Client::builder().build(), Err(Error::Config(_))));
        assert!(matches!(
            Client::builder().app_id("nope").build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Client::builder().app_id(APP).api_uri("").build(),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn debug_never_prints_tokens() {
        let b = Client::builder()
            .app_id(APP)
            .admin_token("22222222-2222-4222-8222-222222222222");
        assert!(!format!("{b:?}").contains("2222"));
        let c = b.build().unwrap();
        let u = c.as_user(crate::AsUser::token("33333333-3333-4333-8333-333333333333"));
        for s in [format!("{c:?}"), format!("{u:?}"), format!("{c:#?}")] {
            assert!(!s.contains("2222"), "{s}");
            assert!(!s.contains("3333"), "{s}");
        }
    }
}
