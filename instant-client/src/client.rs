//! [`Client`]: the Admin API handle, its impersonation ([`AsUser`]), queries and
//! transactions. Other Admin calls live in their own modules ([`crate::auth`],
//! [`crate::storage`], [`crate::rooms`], [`crate::debug`], [`crate::subscribe`],
//! [`crate::batch`]).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use instant_core::{Id, IntoSteps, Query, Step, TransactResponse, TypedQuery};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::transport::{put_header, put_secret_header, Repeat, Transport, VERSION};
use crate::{ClientBuilder, Error, Secret};

/// Who a call acts as (spec `admin-http.md` §1.5).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AsUser {
    /// The app user with this email (header `as-email`; needs the admin token).
    Email(String),
    /// The app user holding this refresh token (header `as-token`; works without
    /// an admin token).
    Token(Secret),
    /// An unauthenticated guest (header `as-guest: true`; works without an admin
    /// token).
    Guest,
}

impl AsUser {
    /// Act as the user with this email.
    pub fn email(email: impl Into<String>) -> Self {
        AsUser::Email(email.into())
    }
    /// Act as the user holding this refresh token.
    pub fn token(refresh_token: impl Into<Secret>) -> Self {
        AsUser::Token(refresh_token.into())
    }
    /// Act as an unauthenticated guest.
    pub fn guest() -> Self {
        AsUser::Guest
    }
}

impl fmt::Debug for AsUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsUser::Email(e) => f.debug_tuple("Email").field(e).finish(),
            AsUser::Token(_) => f.write_str("Token(***)"),
            AsUser::Guest => f.write_str("Guest"),
        }
    }
}

/// Admin (no impersonation) or a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Actor {
    Admin,
    User(AsUser),
}

pub(crate) struct ClientInner {
    pub transport: Transport,
    pub app_id: Id,
    pub admin_token: Option<Secret>,
    pub inference: bool,
    pub throw_on_missing_attrs: bool,
}

/// A handle on one Instant app through the Admin HTTP API (the Rust counterpart
/// of `@instantdb/admin`'s `init({appId, adminToken, apiURI})`).
///
/// Cheap to clone (an `Arc` inside); clones share the connection pool. Build it with
/// [`Client::builder`] or [`Client::from_env`]. `Debug` never prints tokens.
///
/// ```no_run
/// # async fn demo() -> Result<(), instant_client::Error> {
/// use instant_client::Client;
/// use instant_core::{tx, Id};
/// use serde_json::json;
///
/// let db = Client::builder()
///     .app_id("11111111-1111-4111-8111-111111111111")
///     .admin_token("22222222-2222-4222-8222-222222222222")
///     .api_uri("http://127.0.0.1:8888")
///     .build()?;
/// let tx_id = db
///     .transact(tx::entity("goals", Id::new()).update(json!({"title": "Get fit"})))
///     .await?;
/// let goals = db.query_raw(json!({"goals": {}})).await?;
/// # let _ = (tx_id, goals); Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
    pub(crate) actor: Actor,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("app_id", &self.inner.app_id)
            .field("api_uri", &self.inner.transport.api_uri)
            .field(
                "admin_token",
                &self.inner.admin_token.as_ref().map(|_| "***"),
            )
            .field("actor", &self.actor)
            .finish()
    }
}

/// Options of [`Client::transact_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactOptions {
    /// `throw-on-missing-attrs?`: refuse steps that would create attributes the
    /// app's schema lacks (400 `validation-failed`, "Attributes are missing in your
    /// schema"). `None` uses the client default (false unless
    /// [`ClientBuilder::throw_on_missing_attrs`] was set).
    pub throw_on_missing_attrs: Option<bool>,
}

impl TransactOptions {
    /// Options with `throw-on-missing-attrs?` true (what typed code and a JS client
    /// initialised with a schema send).
    pub fn strict() -> Self {
        TransactOptions {
            throw_on_missing_attrs: Some(true),
        }
    }
}

impl Client {
    /// A new [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `INSTANT_APP_ID`, `INSTANT_APP_ADMIN_TOKEN` and
    /// `INSTANT_API_URI` (see [`ClientBuilder::from_env`]).
    ///
    /// # Errors
    /// [`Error::Config`] when the app id is missing or the URL is half-configured.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The app id.
    pub fn app_id(&self) -> Id {
        self.inner.app_id
    }

    /// The API base URL every call derives from (no trailing slash).
    pub fn api_uri(&self) -> &str {
        &self.inner.transport.api_uri
    }

    /// True when an admin token is configured.
    pub fn has_admin_token(&self) -> bool {
        self.inner.admin_token.is_some()
    }

    /// Who this handle acts as: `None` for admin.
    pub fn acting_as(&self) -> Option<&AsUser> {
        match &self.actor {
            Actor::Admin => None,
            Actor::User(u) => Some(u),
        }
    }

    /// A handle that acts as `user` (permission rules apply); `self` stays admin.
    /// Mirrors `db.asUser({email} | {token} | {guest: true})`. Shares the pool.
    ///
    /// With an email the admin token is required (checked when a call is made);
    /// a refresh token or guest works without one.
    pub fn as_user(&self, user: AsUser) -> Client {
        Client {
            inner: self.inner.clone(),
            actor: Actor::User(user),
        }
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// `?app_id=<id>` plus `extra`, on `path`.
    pub(crate) fn admin_url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let app_id = self.inner.app_id.to_string();
        let mut q: Vec<(&str, &str)> = Vec::with_capacity(extra.len() + 1);
        q.push(("app_id", &app_id));
        q.extend_from_slice(extra);
        self.inner.transport.url(path, &q)
    }

    fn require_admin_token(&self) -> Result<&Secret, Error> {
        self.inner.admin_token.as_ref().ok_or_else(|| {
            Error::config(
                "Admin token required. Without one only as_user(AsUser::token(..)) and \
                 as_user(AsUser::guest()) can make calls.",
            )
        })
    }

    /// The auth headers of a data call: `app-id`, `authorization` when a token is
    /// configured, and the impersonation header. Checks locally what the JS SDK
    /// checks: without an admin token only `as-token` / `as-guest` may call.
    pub(crate) fn auth_headers(&self, impersonate: bool) -> Result<HeaderMap, Error> {
        let mut h = HeaderMap::new();
        put_header(&mut h, "app-id", &self.inner.app_id.to_string())?;
        let actor = if impersonate {
            &self.actor
        } else {
            &Actor::Admin
        };
        match actor {
            Actor::Admin | Actor::User(AsUser::Email(_)) => {
                self.require_admin_token()?;
            }
            _ => {}
        }
        if let Some(t) = &self.inner.admin_token {
            put_secret_header(&mut h, "authorization", &format!("Bearer {}", t.expose()))?;
        }
        match actor {
            Actor::Admin => {}
            Actor::User(AsUser::Email(e)) => put_header(&mut h, "as-email", e)?,
            Actor::User(AsUser::Token(t)) => put_secret_header(&mut h, "as-token", t.expose())?,
            Actor::User(AsUser::Guest) => {
                h.insert("as-guest", HeaderValue::from_static("true"));
            }
        }
        Ok(h)
    }

    /// Headers of an Admin JSON call: auth headers plus `content-type`, `accept` and
    /// the two version headers (`admin-http.md` §1.4, `captured-requests.md`).
    pub(crate) fn json_headers(&self, impersonate: bool) -> Result<HeaderMap, Error> {
        let mut h = self.auth_headers(impersonate)?;
        add_common_headers(&mut h);
        Ok(h)
    }

    /// Sends a JSON Admin call and returns the raw answer body.
    pub(crate) async fn call_bytes(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        impersonate: bool,
        repeat: Repeat,
    ) -> Result<Bytes, Error> {
        let url = self.admin_url(path, query);
        let headers = self.json_headers(impersonate)?;
        let body = match body {
            Some(b) => Some(Bytes::from(
                serde_json::to_vec(b).map_err(|e| Error::config(e.to_string()))?,
            )),
            None => None,
        };
        let t = self.transport();
        t.send(repeat, || {
            let r = t.request(method.clone(), &url, headers.clone());
            match &body {
                Some(b) => r.body(b.clone()),
                None => r,
            }
        })
        .await
    }

    /// [`call_bytes`](Self::call_bytes) decoded into `T`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        impersonate: bool,
        repeat: Repeat,
    ) -> Result<T, Error> {
        let b = self
            .call_bytes(method, path, query, body, impersonate, repeat)
            .await?;
        self.transport().decode(&b)
    }

    // ---- queries ----------------------------------------------------------------

    async fn query_bytes(&self, query: Value, inference: bool) -> Result<Bytes, Error> {
        if !query.is_object() {
            return Err(Error::Core(instant_core::Error::InvalidQuery {
                path: vec![],
                message: "a query must be a JSON object".into(),
            }));
        }
        let body = json!({"query": query, "inference?": inference});
        self.call_bytes(
            Method::POST,
            "/admin/query",
            &[],
            Some(&body),
            true,
            Repeat::Safe,
        )
        .await
    }

    /// Runs an InstaQL query given as JSON (`POST /admin/query`, mirrors
    /// `db.query`) and returns the result tree, e.g. `{"goals": [...]}`.
    /// `$$ruleParams` may be a top-level key of `query`. Sends the client's default
    /// `inference?`. Retried on transient failures.
    ///
    /// # Errors
    /// [`Error::Api`] for server errors (`validation-failed` for malformed queries,
    /// `permission-denied`, 429 `rate-limited`/`timeout`), [`Error::Core`] when
    /// `query` is not an object, transport, timeout and config errors.
    pub async fn query_raw(&self, query: Value) -> Result<Value, Error> {
        let b = self.query_bytes(query, self.inner.inference).await?;
        self.transport().decode(&b)
    }

    /// Runs an InstaQL query given as JSON and decodes the result tree into `T`.
    ///
    /// # Errors
    /// As [`query_raw`](Self::query_raw), plus [`Error::Decode`] naming the JSON
    /// path that does not fit `T`.
    pub async fn query_raw_as<T: DeserializeOwned>(&self, query: Value) -> Result<T, Error> {
        let b = self.query_bytes(query, self.inner.inference).await?;
        self.transport().decode(&b)
    }

    /// Runs a [`Query`] built with instant-core's builders and returns the result
    /// tree. Rule params set with [`Query::rule_params`] travel as `$$ruleParams`.
    ///
    /// # Errors
    /// As [`query_raw`](Self::query_raw).
    pub async fn query(&self, query: &Query) -> Result<Value, Error> {
        self.query_as(query).await
    }

    /// Runs a [`Query`] and decodes the result tree into `T`.
    ///
    /// # Errors
    /// As [`query_raw`](Self::query_raw), plus [`Error::Decode`] naming the JSON
    /// path that does not fit `T`.
    pub async fn query_as<T: DeserializeOwned>(&self, query: &Query) -> Result<T, Error> {
        query.validate()?;
        let b = self
            .query_bytes(query.to_json(), self.inner.inference)
            .await?;
        self.transport().decode(&b)
    }

    /// Runs a typed query (from `derive(Select)` or any [`TypedQuery`]) with
    /// `inference?: true`, so has-one links arrive as an object or `null`, and
    /// decodes into `Q::Output`.
    ///
    /// # Errors
    /// As [`query_as`](Self::query_as); [`Error::Core`] when the query cannot be
    /// built.
    pub async fn query_typed<Q: TypedQuery>(&self, query: &Q) -> Result<Q::Output, Error> {
        let q = query.to_query()?;
        q.validate()?;
        let b = self.query_bytes(q.to_json(), true).await?;
        self.transport().decode(&b)
    }

    /// [`query_raw`](Self::query_raw) with `$$ruleParams` added to the query
    /// (mirrors `db.query(q, {ruleParams})`).
    ///
    /// # Errors
    /// As [`query_raw`](Self::query_raw).
    pub async fn query_with_rule_params(
        &self,
        mut query: Value,
        rule_params: instant_core::JsonObject,
    ) -> Result<Value, Error> {
        if let Value::Object(m) = &mut query {
            m.insert("$$ruleParams".into(), Value::Object(rule_params));
        }
        self.query_raw(query).await
    }

    // ---- transactions ------------------------------------------------------------

    /// Applies a transaction (`POST /admin/transact`, mirrors `db.transact`) and
    /// returns its tx id. Accepts anything [`IntoSteps`]: a `tx::entity(..)` chain,
    /// a `Vec` of them, a [`Step`], typed chains. Sends the client's default
    /// `throw-on-missing-attrs?` (false unless configured). Never retried.
    ///
    /// # Errors
    /// [`Error::Core`] when a step cannot be built; [`Error::Api`] for server
    /// errors (`validation-failed`, `record-not-unique`, `permission-denied`, ...);
    /// transport/timeout errors (the transaction may or may not have been applied).
    pub async fn transact(&self, steps: impl IntoSteps) -> Result<i64, Error> {
        self.transact_with(steps, TransactOptions::default()).await
    }

    /// [`transact`](Self::transact) with `throw-on-missing-attrs?: true` (the typed
    /// path: attributes must exist in the app's schema).
    ///
    /// # Errors
    /// As [`transact`](Self::transact).
    pub async fn transact_strict(&self, steps: impl IntoSteps) -> Result<i64, Error> {
        self.transact_with(steps, TransactOptions::strict()).await
    }

    /// [`transact`](Self::transact) with explicit [`TransactOptions`].
    ///
    /// # Errors
    /// As [`transact`](Self::transact).
    pub async fn transact_with(
        &self,
        steps: impl IntoSteps,
        opts: TransactOptions,
    ) -> Result<i64, Error> {
        let steps = steps.into_steps()?;
        self.transact_steps(&steps, opts).await
    }

    /// Sends already-encoded steps (`[["update", "goals", id, {...}], ...]`).
    ///
    /// # Errors
    /// As [`transact`](Self::transact).
    pub async fn transact_raw(&self, steps: Value) -> Result<i64, Error> {
        if !steps.is_array() {
            return Err(Error::Core(instant_core::Error::InvalidStep {
                index: 0,
                message: "steps must be an array".into(),
            }));
        }
        self.transact_value(steps, self.inner.throw_on_missing_attrs)
            .await
    }

    pub(crate) async fn transact_steps(
        &self,
        steps: &[Step],
        opts: TransactOptions,
    ) -> Result<i64, Error> {
        let steps = Value::Array(steps.iter().map(Step::to_json).collect());
        let strict = opts
            .throw_on_missing_attrs
            .unwrap_or(self.inner.throw_on_missing_attrs);
        self.transact_value(steps, strict).await
    }

    async fn transact_value(&self, steps: Value, strict: bool) -> Result<i64, Error> {
        let body = json!({"steps": steps, "throw-on-missing-attrs?": strict});
        let r: TransactResponse = self
            .call(
                Method::POST,
                "/admin/transact",
                &[],
                Some(&body),
                true,
                Repeat::Never,
            )
            .await?;
        Ok(r.tx_id)
    }

    /// The Platform API with this app's admin token, on the same base URL and
    /// connection pool: enough for this app's schema and permissions
    /// (pull/push) and its app record.
    ///
    /// # Errors
    /// [`Error::Config`] without an admin token.
    pub fn platform(&self) -> Result<crate::PlatformApi, Error> {
        let token = self.require_admin_token()?.clone();
        Ok(crate::PlatformApi::from_parts(
            self.inner.transport.clone(),
            Some(token),
        ))
    }

    /// Inference default for subscriptions.
    pub(crate) fn default_inference(&self) -> bool {
        self.inner.inference
    }
}

/// `content-type: application/json`, `accept: */*`, the version headers.
pub(crate) fn add_common_headers(h: &mut HeaderMap) {
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(ACCEPT, HeaderValue::from_static("*/*"));
    h.insert("instant-admin-version", HeaderValue::from_static(VERSION));
    h.insert("instant-core-version", HeaderValue::from_static(VERSION));
}
