//! The Platform API (`@instantdb/platform`, spec `schema-and-platform.md` Part E):
//! temporary apps, app CRUD with a personal access token, schema pull / plan /
//! push (with indexing-job polling) and permission pull / push.
//!
//! Authentication is `Authorization: Bearer <token>`: a personal access token
//! (`per_…`), an OAuth access token (`pat_…`), or an app's admin token, which works
//! for that app's own record, schema and permissions (see [`crate::Client::platform`]).
//! Temporary apps need no token.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use instant_core::{Date, Id, JsonObject, Rules, Schema};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::transport::{put_secret_header, Repeat, Transport, VERSION};
use crate::{decode, ClientBuilder, Error, Secret};

/// An app record (the server's `apps` row; unknown columns are kept in
/// [`extra`](App::extra)). `Debug` never prints the admin token.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    /// App id.
    pub id: Id,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Date>,
    /// Owning organisation (`None` for personal apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Id>,
    /// Creating user (`None` for org apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<Id>,
    /// The admin token, on apps just created.
    #[serde(
        rename = "admin-token",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub admin_token: Option<Secret>,
    /// Permission rules, when asked for (`include=perms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perms: Option<Value>,
    /// Pulled schema (`{"refs","blobs"}`), when asked for (`include=schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Any other columns.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("id", &self.id)
            .field("title", &self.title)
            .field("created_at", &self.created_at)
            .field("org_id", &self.org_id)
            .field("creator_id", &self.creator_id)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl App {
    /// The pulled schema as an [`instant_core::Schema`], when it was included.
    ///
    /// # Errors
    /// [`Error::Core`] when it cannot be decoded.
    pub fn schema(&self) -> Result<Option<Schema>, Error> {
        self.schema
            .as_ref()
            .map(|s| Schema::from_pull(s).map_err(Error::from))
            .transpose()
    }
}

/// A temporary app (`POST /dash/apps/ephemeral`): expires 14 days after creation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemporaryApp {
    /// The app, with its admin token.
    pub app: App,
    /// Expiry, epoch milliseconds (`expires_ms`).
    #[serde(rename = "expires_ms", default)]
    pub expires_ms: Option<i64>,
}

/// What to create with [`PlatformApi::create_app`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateApp {
    /// Title (required, non-blank).
    pub title: String,
    /// Initial schema.
    pub schema: Option<Schema>,
    /// Initial permission rules.
    pub perms: Option<Rules>,
    /// Organisation to create the app in.
    pub org_id: Option<Id>,
}

/// One plan step `[op, params]` (Part C.1), e.g. `add-attr`, `index`,
/// `check-data-type`, `delete-attr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanStep {
    /// The operation.
    pub op: String,
    /// Its parameters, as sent.
    pub params: Value,
}

/// A schema push plan (`POST …/schema/push/plan`); nothing changed yet.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaPlan {
    /// The steps the server would run.
    pub steps: Vec<PlanStep>,
    /// The whole answer (`new-schema`, `current-schema`, `current-attrs`, `steps`).
    pub raw: Value,
}

/// A background indexing job (Part C.2).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct IndexingJob {
    /// Job id.
    pub id: Id,
    /// `etype.label`.
    #[serde(default)]
    pub attr_name: Option<String>,
    /// `index`, `unique`, `required`, `check-data-type`, ...
    #[serde(default)]
    pub job_type: Option<String>,
    /// `waiting`, `processing`, `completed` or `errored`.
    #[serde(default)]
    pub job_status: Option<String>,
    /// Error kind when errored (e.g. `triple-not-unique-error`).
    #[serde(default)]
    pub error: Option<String>,
    /// Estimated work units.
    #[serde(default)]
    pub work_estimate: Option<i64>,
    /// Completed work units.
    #[serde(default)]
    pub work_completed: Option<i64>,
    /// Last update time, as sent.
    #[serde(default)]
    pub updated_at: Option<Value>,
    /// Other keys (`invalid_triples_sample`, `error_data`, ...).
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl IndexingJob {
    /// True once `completed` or `errored`.
    pub fn is_done(&self) -> bool {
        matches!(self.job_status.as_deref(), Some("completed" | "errored"))
    }
    /// True when `errored`.
    pub fn is_errored(&self) -> bool {
        self.job_status.as_deref() == Some("errored")
    }
}

/// The outcome of [`PlatformApi::push_schema`].
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaPush {
    /// The steps applied.
    pub steps: Vec<PlanStep>,
    /// Indexing jobs in their final state (empty when none were needed).
    pub jobs: Vec<IndexingJob>,
    /// The schema pulled after the push.
    pub schema: Schema,
}

impl SchemaPush {
    /// Jobs that ended `errored` (e.g. a `unique` on duplicated values).
    pub fn failed_jobs(&self) -> impl Iterator<Item = &IndexingJob> {
        self.jobs.iter().filter(|j| j.is_errored())
    }
}

/// Builds a [`PlatformApi`]: token, base URL, timeouts (same defaults and URL rules
/// as [`ClientBuilder`]).
#[derive(Debug, Clone, Default)]
pub struct PlatformBuilder {
    base: ClientBuilder,
    token: Option<Secret>,
}

impl PlatformBuilder {
    /// The bearer token: a personal access token (`per_…`), an OAuth access token
    /// (`pat_…`) or an app's admin token. Optional for temporary apps.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// The API base URL (default `https://api.instantdb.com`).
    pub fn api_uri(mut self, uri: impl Into<String>) -> Self {
        self.base = self.base.api_uri(uri);
        self
    }
    /// Time budget of a whole call, retries included (default 30 s; see
    /// [`ClientBuilder::timeout`]).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.base = self.base.timeout(t);
        self
    }
    /// Bound of one attempt (default none; see [`ClientBuilder::attempt_timeout`]).
    pub fn attempt_timeout(mut self, t: Duration) -> Self {
        self.base = self.base.attempt_timeout(t);
        self
    }
    /// Largest answer body, in bytes (default 256 MiB; see
    /// [`ClientBuilder::max_response_bytes`]).
    pub fn max_response_bytes(mut self, n: u64) -> Self {
        self.base = self.base.max_response_bytes(n);
        self
    }
    /// Deepest nesting of an answer, in levels (default 1024; see
    /// [`ClientBuilder::max_json_depth`]).
    pub fn max_json_depth(mut self, n: usize) -> Self {
        self.base = self.base.max_json_depth(n);
        self
    }
    /// Retries for reads (default 2).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.base = self.base.max_retries(n);
        self
    }
    /// Share this reqwest client's connection pool.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.base = self.base.http_client(http);
        self
    }
    /// Builds the API handle.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad base URL or an empty token.
    pub fn build(self) -> Result<PlatformApi, Error> {
        if let Some(t) = &self.token {
            if t.expose().trim().is_empty() {
                return Err(Error::config("the Platform token is empty"));
            }
        }
        Ok(PlatformApi::from_parts(self.base.transport()?, self.token))
    }
}

struct PlatformInner {
    transport: Transport,
    token: Option<Secret>,
}

/// The Platform API handle. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), instant_client::Error> {
/// use instant_client::PlatformApi;
/// let platform = PlatformApi::builder().api_uri("http://127.0.0.1:8888").build()?;
/// let tmp = platform.create_temporary_app("scratch", None, None).await?;
/// let db = instant_client::Client::builder()
///     .app_id(tmp.app.id.to_string())
///     .admin_token(tmp.app.admin_token.clone().expect("new apps carry a token"))
///     .api_uri("http://127.0.0.1:8888")
///     .build()?;
/// # let _ = db; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PlatformApi {
    inner: Arc<PlatformInner>,
}

impl fmt::Debug for PlatformApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformApi")
            .field("api_uri", &self.inner.transport.api_uri)
            .field("token", &self.inner.token.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Deserialize)]
struct AppBody {
    app: App,
}
#[derive(Deserialize)]
struct AppsBody {
    #[serde(default)]
    apps: Vec<App>,
}

impl PlatformApi {
    /// A new [`PlatformBuilder`].
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder::default()
    }

    pub(crate) fn from_parts(transport: Transport, token: Option<Secret>) -> Self {
        PlatformApi {
            inner: Arc::new(PlatformInner { transport, token }),
        }
    }

    /// The API base URL.
    pub fn api_uri(&self) -> &str {
        &self.inner.transport.api_uri
    }

    /// Headers the JS Platform SDK sends (Part E.1).
    fn headers(&self, auth: bool, json_body: bool) -> Result<HeaderMap, Error> {
        let mut h = HeaderMap::new();
        if auth {
            let t = self.inner.token.as_ref().ok_or_else(|| {
                Error::config("this Platform call needs a token (PlatformBuilder::token)")
            })?;
            put_secret_header(&mut h, "authorization", &format!("Bearer {}", t.expose()))?;
        }
        h.insert(
            "instant-platform-version",
            HeaderValue::from_static(VERSION),
        );
        h.insert("instant-core-version", HeaderValue::from_static(VERSION));
        h.insert("x-instant-source", HeaderValue::from_static("platform-sdk"));
        h.insert("x-instant-version", HeaderValue::from_static(VERSION));
        h.insert(ACCEPT, HeaderValue::from_static("*/*"));
        if json_body {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(h)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        auth: bool,
        repeat: Repeat,
    ) -> Result<T, Error> {
        let t = &self.inner.transport;
        let url = t.url(path, query);
        let headers = self.headers(auth, body.is_some() || method == Method::DELETE)?;
        let body = body
            .map(|b| serde_json::to_vec(&b).map(Bytes::from))
            .transpose()
            .map_err(|e| Error::config(e.to_string()))?;
        t.send_json(repeat, || {
            let r = t.request(method.clone(), &url, headers.clone());
            match &body {
                Some(b) => r.body(b.clone()),
                None => r,
            }
        })
        .await
    }

    /// Creates a temporary app (`POST /dash/apps/ephemeral`, no token needed):
    /// optional schema and rules (sent as `rules: {code}`).
    ///
    /// # Errors
    /// [`Error::Api`] (`permission-denied` when the server disables it).
    pub async fn create_temporary_app(
        &self,
        title: &str,
        schema: Option<&Schema>,
        perms: Option<&Rules>,
    ) -> Result<TemporaryApp, Error> {
        let mut body = Map::new();
        body.insert("title".into(), json!(title));
        if let Some(s) = schema {
            body.insert("schema".into(), s.to_json());
        }
        if let Some(p) = perms {
            body.insert("rules".into(), json!({"code": p.to_json()}));
        }
        self.call(
            Method::POST,
            "/dash/apps/ephemeral",
            &[],
            Some(Value::Object(body)),
            false,
            Repeat::Never,
        )
        .await
    }

    /// Creates an app (`POST /superadmin/apps`); the answer carries its admin token.
    ///
    /// # Errors
    /// [`Error::Api`] (`validation-failed` for bad perms, role errors).
    pub async fn create_app(&self, app: &CreateApp) -> Result<App, Error> {
        let mut body = Map::new();
        body.insert("title".into(), json!(app.title));
        if let Some(s) = &app.schema {
            body.insert("schema".into(), s.to_json());
        }
        if let Some(p) = &app.perms {
            body.insert("perms".into(), p.to_json());
        }
        if let Some(o) = app.org_id {
            body.insert("org_id".into(), json!(o));
        }
        let r: AppBody = self
            .call(
                Method::POST,
                "/superadmin/apps",
                &[],
                Some(Value::Object(body)),
                true,
                Repeat::Never,
            )
            .await?;
        Ok(r.app)
    }

    /// Lists the token owner's apps (`GET /superadmin/apps[?include=perms,schema]`).
    ///
    /// # Errors
    /// [`Error::Api`].
    pub async fn list_apps(
        &self,
        include_perms: bool,
        include_schema: bool,
    ) -> Result<Vec<App>, Error> {
        let include: Vec<&str> = [("perms", include_perms), ("schema", include_schema)]
            .into_iter()
            .filter_map(|(k, on)| on.then_some(k))
            .collect();
        let inc = include.join(",");
        let q: Vec<(&str, &str)> = if inc.is_empty() {
            vec![]
        } else {
            vec![("include", &inc)]
        };
        let r: AppsBody = self
            .call(
                Method::GET,
                "/superadmin/apps",
                &q,
                None,
                true,
                Repeat::Safe,
            )
            .await?;
        Ok(r.apps)
    }

    /// One app (`GET /superadmin/apps/:id`).
    ///
    /// # Errors
    /// [`Error::Api`] (`record-not-found`, `admin-token-mismatch`).
    pub async fn get_app(&self, app_id: Id) -> Result<App, Error> {
        let r: AppBody = self
            .call(
                Method::GET,
                &format!("/superadmin/apps/{app_id}"),
                &[],
                None,
                true,
                Repeat::Safe,
            )
            .await?;
        Ok(r.app)
    }

    /// Renames an app (`POST /superadmin/apps/:id` with `{"title"}`).
    ///
    /// # Errors
    /// [`Error::Api`].
    pub async fn rename_app(&self, app_id: Id, title: &str) -> Result<App, Error> {
        let r: AppBody = self
            .call(
                Method::POST,
                &format!("/superadmin/apps/{app_id}"),
                &[],
                Some(json!({"title": title})),
                true,
                Repeat::Never,
            )
            .await?;
        Ok(r.app)
    }

    /// Deletes an app (`DELETE /superadmin/apps/:id`; marked, then removed later).
    ///
    /// # Errors
    /// [`Error::Api`] (an admin token cannot delete its app).
    pub async fn delete_app(&self, app_id: Id) -> Result<App, Error> {
        let r: AppBody = self
            .call(
                Method::DELETE,
                &format!("/superadmin/apps/{app_id}"),
                &[],
                None,
                true,
                Repeat::Never,
            )
            .await?;
        Ok(r.app)
    }

    /// The raw pulled schema `{"refs", "blobs"}` (`GET /superadmin/apps/:id/schema`).
    ///
    /// # Errors
    /// [`Error::Api`].
    pub async fn pull_schema_raw(&self, app_id: Id) -> Result<Value, Error> {
        let mut v: Value = self
            .call(
                Method::GET,
                &format!("/superadmin/apps/{app_id}/schema"),
                &[],
                None,
                true,
                Repeat::Safe,
            )
            .await?;
        Ok(v.get_mut("schema").map(Value::take).unwrap_or(v))
    }

    /// The app's schema as a client [`Schema`] (via [`Schema::from_pull`]).
    ///
    /// # Errors
    /// As [`pull_schema_raw`](Self::pull_schema_raw); [`Error::Core`] for an
    /// undecodable attr.
    pub async fn pull_schema(&self, app_id: Id) -> Result<Schema, Error> {
        let raw = self.pull_schema_raw(app_id).await?;
        Ok(Schema::from_pull(&raw)?)
    }

    fn push_body(schema: &Schema) -> Value {
        json!({"schema": schema.to_json(), "check_types": true, "supports_background_updates": true})
    }

    /// Plans a schema push without changing anything
    /// (`POST /superadmin/apps/:id/schema/push/plan`).
    ///
    /// # Errors
    /// [`Error::Api`] (`validation-failed` with data-type `schema`).
    pub async fn plan_schema_push(&self, app_id: Id, schema: &Schema) -> Result<SchemaPlan, Error> {
        let raw: Value = self
            .call(
                Method::POST,
                &format!("/superadmin/apps/{app_id}/schema/push/plan"),
                &[],
                Some(Self::push_body(schema)),
                true,
                Repeat::Safe,
            )
            .await?;
        Ok(SchemaPlan {
            steps: plan_steps(&raw)?,
            raw,
        })
    }

    /// Pushes a schema: apply (`…/schema/push/apply`), then poll the indexing jobs
    /// it started until each is completed or errored (calling `on_progress` with
    /// the jobs after each poll), then pull the schema again. Never deletes attrs.
    ///
    /// # Errors
    /// [`Error::Api`] for a rejected schema; a job poll failing 4 times in a row.
    pub async fn push_schema(
        &self,
        app_id: Id,
        schema: &Schema,
        mut on_progress: impl FnMut(&[IndexingJob]),
    ) -> Result<SchemaPush, Error> {
        let raw: Value = self
            .call(
                Method::POST,
                &format!("/superadmin/apps/{app_id}/schema/push/apply"),
                &[],
                Some(Self::push_body(schema)),
                true,
                Repeat::Never,
            )
            .await?;
        let steps = plan_steps(&raw)?;
        let mut jobs: Vec<IndexingJob> = Vec::new();
        if let Some(group) = raw
            .get("indexing-jobs")
            .and_then(|j| j.get("group-id"))
            .and_then(Value::as_str)
        {
            jobs = self.wait_for_jobs(app_id, group, &mut on_progress).await?;
        }
        let schema = self.pull_schema(app_id).await?;
        Ok(SchemaPush {
            steps,
            jobs,
            schema,
        })
    }

    /// Polls `GET /dash/apps/:id/indexing-jobs/group/:group` as the JS SDK does:
    /// 100 ms, doubling to 10 s while nothing changes, back to 100 ms on progress;
    /// up to 3 consecutive failures are tolerated.
    async fn wait_for_jobs(
        &self,
        app_id: Id,
        group: &str,
        on_progress: &mut impl FnMut(&[IndexingJob]),
    ) -> Result<Vec<IndexingJob>, Error> {
        #[derive(Deserialize)]
        struct Jobs {
            #[serde(default)]
            jobs: Vec<IndexingJob>,
        }
        let path = format!(
            "/dash/apps/{app_id}/indexing-jobs/group/{}",
            crate::transport::encode_component(group)
        );
        let mut delay = Duration::from_millis(100);
        let mut failures = 0;
        let mut last_update: Option<Value> = None;
        loop {
            match self
                .call::<Jobs>(Method::GET, &path, &[], None, true, Repeat::Never)
                .await
            {
                Ok(j) => {
                    failures = 0;
                    on_progress(&j.jobs);
                    if j.jobs.iter().all(IndexingJob::is_done) {
                        return Ok(j.jobs);
                    }
                    let newest = j
                        .jobs
                        .iter()
                        .filter_map(|x| x.updated_at.clone())
                        .max_by(|a, b| a.to_string().cmp(&b.to_string()));
                    if newest != last_update {
                        last_update = newest;
                        delay = Duration::from_millis(100);
                    } else {
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
                Err(e) => {
                    failures += 1;
                    if failures > 3 {
                        return Err(e);
                    }
                }
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// The app's permission rules (`GET /superadmin/apps/:id/perms`); `None` when
    /// none are set.
    ///
    /// # Errors
    /// [`Error::Api`]; [`Error::Core`] for rules that do not decode.
    pub async fn pull_perms(&self, app_id: Id) -> Result<Option<Rules>, Error> {
        #[derive(Deserialize)]
        struct P {
            #[serde(default)]
            perms: Value,
        }
        let p: P = self
            .call(
                Method::GET,
                &format!("/superadmin/apps/{app_id}/perms"),
                &[],
                None,
                true,
                Repeat::Safe,
            )
            .await?;
        if p.perms.is_null() {
            return Ok(None);
        }
        Ok(Some(Rules::from_json(&p.perms)?))
    }

    /// Replaces the app's permission rules (`POST /superadmin/apps/:id/perms` with
    /// `{"code": rules}`); returns the stored rules (the pushed ones when the server
    /// answers `rules: null` for unchanged rules).
    ///
    /// # Errors
    /// [`Error::Api`] (`validation-failed`, data-type `rule`, for bad CEL).
    pub async fn push_perms(&self, app_id: Id, rules: &Rules) -> Result<Rules, Error> {
        let v: Value = self
            .call(
                Method::POST,
                &format!("/superadmin/apps/{app_id}/perms"),
                &[],
                Some(json!({"code": rules.to_json()})),
                true,
                Repeat::Never,
            )
            .await?;
        match v.get("rules").and_then(|r| r.get("code")) {
            Some(code) if !code.is_null() => Ok(Rules::from_json(code)?),
            _ => Ok(rules.clone()),
        }
    }
}

fn plan_steps(raw: &Value) -> Result<Vec<PlanStep>, Error> {
    let Some(steps) = raw.get("steps") else {
        return Ok(vec![]);
    };
    let arr: Vec<(String, Value)> = decode::decode_value(steps.clone()).map_err(|e| match e {
        Error::Decode { path, message } => Error::Decode {
            path: format!(
                "steps{}",
                if path == "." {
                    String::new()
                } else {
                    format!(".{path}")
                }
            ),
            message,
        },
        other => other,
    })?;
    Ok(arr
        .into_iter()
        .map(|(op, params)| PlanStep { op, params })
        .collect())
}
