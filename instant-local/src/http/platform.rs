//! Platform API routes (spec `schema-and-platform.md` Part E): apps (list,
//! create, get, rename, delete), schema pull and perms pull/push.
//!
//! Auth: a personal access token registered with
//! [`crate::LocalServerBuilder::platform_token`] works everywhere; an app's admin
//! token works on its own single-app routes only (another app →
//! 400 `validation-failed` hint `{"reason": "admin-token-mismatch"}`); anything
//! else → 400 `record-not-found` (record-type `instant-user`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query as QueryParams};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use instant_core::{ApiError, ErrorKind, Schema};
use serde_json::{json, Value};

use super::admin::blocking;
use super::body::json_body;
use super::errors::{param_malformed, param_missing, respond};
use crate::engine::{App, Engine};

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let raw = headers
        .get("authorization")
        .ok_or_else(|| param_missing(&["headers", "authorization"]))?
        .to_str()
        .unwrap_or("");
    Ok(match raw.split_once("Bearer ") {
        Some((_, t)) => t.trim().to_string(),
        None => raw.trim().to_string(),
    })
}

fn unknown_user() -> ApiError {
    ApiError::new(ErrorKind::RecordNotFound, "Record not found: instant-user")
        .with_hint(json!({"record-type": "instant-user", "args": [{}]}))
}

fn app_not_found(id: &str) -> ApiError {
    ApiError::new(ErrorKind::RecordNotFound, "Record not found: app")
        .with_hint(json!({"record-type": "app", "args": [{"id": id}]}))
}

/// Requires a personal access token (list/create/delete).
fn platform_only(engine: &Engine, headers: &HeaderMap) -> Result<(), ApiError> {
    let t = bearer(headers)?;
    if engine.is_platform_token(&t) {
        Ok(())
    } else {
        Err(unknown_user())
    }
}

/// Resolves the app of a single-app route: personal token, or that app's admin token.
fn app_scoped(engine: &Engine, headers: &HeaderMap, app_id: &str) -> Result<Arc<App>, ApiError> {
    let t = bearer(headers)?;
    let id = uuid::Uuid::parse_str(app_id.trim())
        .map_err(|_| param_malformed(&["params", "app_id"], json!(app_id)))?;
    if engine.is_platform_token(&t) {
        return engine.app(id).ok_or_else(|| app_not_found(app_id));
    }
    match engine.app_by_admin_token(&t) {
        Some(app) if app.id() == id => Ok(app),
        Some(_) => Err(ApiError::new(
            ErrorKind::ValidationFailed,
            "Validation failed for admin-token",
        )
        .with_hint(json!({"reason": "admin-token-mismatch"}))),
        None => Err(unknown_user()),
    }
}

fn sql_ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The app row JSON (E.1): `id`, `title`, `created_at`, `creator_id`, `org_id`.
pub fn app_row(app: &App) -> Value {
    let row = app.meta.read();
    json!({
        "id": row.id.to_string(),
        "title": row.title,
        "created_at": sql_ts(row.created_at),
        "creator_id": Value::Null,
        "org_id": Value::Null,
    })
}

fn title_of(body: &Value) -> Result<String, ApiError> {
    match body.get("title") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        None | Some(Value::Null) => Err(param_missing(&["body", "title"])),
        Some(other) => Err(param_malformed(&["body", "title"], other.clone())),
    }
}

/// [`crate::engine::permissions::validate_rules`] with the engine's limits;
/// `data_type` is `perms` at app creation and `rule` for a push
/// (`superadmin/routes.clj`).
fn validate_perms(engine: &Engine, code: &Value, data_type: &str) -> Result<(), ApiError> {
    crate::engine::permissions::validate_rules(code, &engine.limits, data_type).map(|_| ())
}

/// How a Platform route authenticates.
enum Scope {
    /// A personal access token.
    Platform,
    /// The app of the path: a personal access token or that app's admin token.
    App(String),
    /// The app of the path, with a personal access token only.
    PlatformApp(String),
}

/// What a Platform handler receives besides its path and body: the engine
/// and the headers (an axum extractor).
pub struct PlatformCtx {
    engine: Arc<Engine>,
    headers: HeaderMap,
}

impl axum::extract::FromRequestParts<Arc<Engine>> for PlatformCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        engine: &Arc<Engine>,
    ) -> Result<Self, Self::Rejection> {
        Ok(PlatformCtx {
            engine: engine.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl PlatformCtx {
    /// [`platform_call`] with this request's engine and headers.
    async fn call(
        self,
        scope: Scope,
        body: Option<Bytes>,
        f: impl FnOnce(&Engine, Option<Arc<App>>, Value) -> Result<Value, ApiError> + Send + 'static,
    ) -> Response {
        platform_call(self.engine, self.headers, body, scope, f).await
    }

    /// [`app_call`] with this request's engine and headers.
    async fn app(
        self,
        scope: Scope,
        body: Option<Bytes>,
        f: impl FnOnce(&Engine, Arc<App>, Value) -> Result<Value, ApiError> + Send + 'static,
    ) -> Response {
        app_call(self.engine, self.headers, body, scope, f).await
    }
}

/// The prelude every Platform handler shares: parses the JSON body (when
/// given), authenticates per `scope`, runs `f` (engine, the app for
/// app-scoped routes, the body) on a blocking thread and answers its JSON.
async fn platform_call(
    engine: Arc<Engine>,
    headers: HeaderMap,
    body: Option<Bytes>,
    scope: Scope,
    f: impl FnOnce(&Engine, Option<Arc<App>>, Value) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    let body = match body {
        Some(b) => match json_body(&headers, &b) {
            Ok(v) => v,
            Err(r) => return r,
        },
        None => Value::Null,
    };
    respond(
        blocking(move || {
            let app = match &scope {
                Scope::Platform => {
                    platform_only(&engine, &headers)?;
                    None
                }
                Scope::App(id) => Some(app_scoped(&engine, &headers, id)?),
                Scope::PlatformApp(id) => {
                    platform_only(&engine, &headers)?;
                    Some(app_scoped(&engine, &headers, id)?)
                }
            };
            f(&engine, app, body)
        })
        .await,
    )
}

/// [`platform_call`] for a single-app route (the app is always resolved).
async fn app_call(
    engine: Arc<Engine>,
    headers: HeaderMap,
    body: Option<Bytes>,
    scope: Scope,
    f: impl FnOnce(&Engine, Arc<App>, Value) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    platform_call(engine, headers, body, scope, |engine, app, body| {
        let app = app.ok_or_else(|| super::errors::internal("app-scoped route without an app"))?;
        f(engine, app, body)
    })
    .await
}

/// `GET /superadmin/apps[?include=perms,schema]` → `{"apps": [...]}`.
pub async fn list(
    ctx: PlatformCtx,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Response {
    let include = params.get("include").cloned().unwrap_or_default();
    let (perms, schema) = (
        include.split(',').any(|s| s.trim() == "perms"),
        include.split(',').any(|s| s.trim() == "schema"),
    );
    ctx.call(Scope::Platform, None, move |engine, _, _| {
        let apps: Vec<Value> = engine
            .list_apps()
            .iter()
            .map(|a| {
                let mut v = app_row(a);
                if perms {
                    v["perms"] = engine.rules(a.id()).unwrap_or(Value::Null);
                }
                if schema {
                    v["schema"] = engine.pull_schema(a);
                }
                v
            })
            .collect();
        Ok(json!({ "apps": apps }))
    })
    .await
}

/// `POST /superadmin/apps`: `{"title", "schema"?, "perms"?}` → `{"app": {..., "admin-token", "perms", "schema"}}`.
pub async fn create(ctx: PlatformCtx, body: Bytes) -> Response {
    ctx.call(Scope::Platform, Some(body), |engine, _, body| {
        let title = title_of(&body)?;
        let schema = match body.get("schema") {
            None | Some(Value::Null) => None,
            Some(s) => Some(
                Schema::from_json(s)
                    .and_then(|sc| sc.validate().map(|_| sc))
                    .map_err(|e| {
                        ApiError::validation(
                            "schema",
                            s.clone(),
                            vec![json!({"message": e.to_string()})],
                        )
                    })?,
            ),
        };
        let perms = match body.get("perms") {
            None | Some(Value::Null) => None,
            Some(p) => {
                validate_perms(engine, p, "perms")?;
                Some(p.clone())
            }
        };
        let creds = engine
            .create_app(&title, false, schema.as_ref(), perms.as_ref())
            .map_err(super::errors::internal)?;
        let app = engine
            .app(creds.app_id.0)
            .ok_or_else(|| super::errors::internal("app vanished"))?;
        let mut v = app_row(&app);
        v["admin-token"] = json!(creds.admin_token);
        v["perms"] = perms.unwrap_or(Value::Null);
        v["schema"] = engine.pull_schema(&app);
        Ok(json!({ "app": v }))
    })
    .await
}

/// `GET /superadmin/apps/:app_id` → `{"app": row}`.
pub async fn get(ctx: PlatformCtx, Path(app_id): Path<String>) -> Response {
    ctx.app(Scope::App(app_id), None, |_, app, _| {
        Ok(json!({"app": app_row(&app)}))
    })
    .await
}

/// `POST /superadmin/apps/:app_id` `{"title"}` → `{"app": row}`.
pub async fn rename(ctx: PlatformCtx, Path(app_id): Path<String>, body: Bytes) -> Response {
    ctx.app(Scope::App(app_id), Some(body), |engine, app, body| {
        let title = title_of(&body)?;
        engine.rename_app(&app, &title)?;
        Ok(json!({"app": app_row(&app)}))
    })
    .await
}

/// `DELETE /superadmin/apps/:app_id` (personal token only) → `{"app": row}`.
pub async fn delete(ctx: PlatformCtx, Path(app_id): Path<String>) -> Response {
    ctx.app(Scope::PlatformApp(app_id), None, |engine, app, _| {
        let row = app_row(&app);
        engine.delete_app(&app)?;
        Ok(json!({ "app": row }))
    })
    .await
}

/// `GET /superadmin/apps/:app_id/schema` → `{"schema": {"refs", "blobs"}}`.
pub async fn schema(ctx: PlatformCtx, Path(app_id): Path<String>) -> Response {
    ctx.app(Scope::App(app_id), None, |engine, app, _| {
        Ok(json!({"schema": engine.pull_schema(&app)}))
    })
    .await
}

/// `GET /superadmin/apps/:app_id/perms` → `{"perms": rules | null}`.
pub async fn get_perms(ctx: PlatformCtx, Path(app_id): Path<String>) -> Response {
    ctx.app(Scope::App(app_id), None, |engine, app, _| {
        Ok(json!({"perms": engine.rules(app.id()).unwrap_or(Value::Null)}))
    })
    .await
}

/// `POST /superadmin/apps/:app_id/perms` `{"code"}` → `{"rules": {"app_id", "code", "version"}}`.
pub async fn push_perms(ctx: PlatformCtx, Path(app_id): Path<String>, body: Bytes) -> Response {
    ctx.app(Scope::App(app_id), Some(body), |engine, app, body| {
        let code = match body.get("code") {
            None | Some(Value::Null) => return Err(param_missing(&["body", "code"])),
            Some(c @ Value::Object(_)) => c.clone(),
            Some(other) => return Err(param_malformed(&["body", "code"], other.clone())),
        };
        validate_perms(engine, &code, "rule")?;
        engine.set_rules(&app, &code)?;
        Ok(json!({"rules": {"app_id": app.id().to_string(), "code": code, "version": 1}}))
    })
    .await
}

/// Parses a push body `{"schema", ...}` into a validated client schema.
fn push_schema_of(body: &Value) -> Result<Schema, ApiError> {
    let s = match body.get("schema") {
        None | Some(Value::Null) => return Err(param_missing(&["body", "schema"])),
        Some(s) => s,
    };
    Schema::from_json(s)
        .and_then(|sc| sc.validate().map(|_| sc))
        .map_err(|e| {
            let msg = match &e {
                instant_core::Error::InvalidSchema { message, .. } => message.clone(),
                other => other.to_string(),
            };
            ApiError::validation(
                "schema",
                s.clone(),
                vec![json!({"in": ["schema"], "message": msg})],
            )
        })
}

/// The plan response keys (E.7).
fn plan_json(app: &App, steps: &[crate::engine::schema_push::PlanStep]) -> Value {
    use crate::engine::platform::pull_format;
    let st = app.state.read();
    let mut next = st.attrs.clone();
    for s in steps {
        next.insert(s.attr.id, s.attr.clone());
    }
    let mut current_attrs: Vec<Value> = st.attrs.values().map(|a| a.to_json()).collect();
    current_attrs.sort_by_key(|v| v["id"].to_string());
    json!({
        "new-schema": pull_format(next.values()),
        "current-schema": pull_format(st.attrs.values()),
        "current-attrs": current_attrs,
        "steps": steps.iter().map(|s| json!([s.op, s.params])).collect::<Vec<_>>(),
    })
}

async fn push(ctx: PlatformCtx, app_id: String, body: Bytes, apply: bool) -> Response {
    ctx.app(Scope::App(app_id), Some(body), move |engine, app, body| {
        let schema = push_schema_of(&body)?;
        let steps = crate::engine::schema_push::plan(&app.state.read(), &schema);
        let mut out = plan_json(&app, &steps);
        if apply {
            let (tx, steps, jobs) = engine.apply_plan(&app, &steps)?;
            out["transaction"] = tx;
            out["steps"] = json!(steps);
            out["indexing-jobs"] = jobs;
        }
        Ok(out)
    })
    .await
}

/// `POST /superadmin/apps/:app_id/schema/push/plan` (E.7): no changes made.
pub async fn push_plan(ctx: PlatformCtx, Path(app_id): Path<String>, body: Bytes) -> Response {
    push(ctx, app_id, body, false).await
}

/// `POST /superadmin/apps/:app_id/schema/push/apply` (E.8): attrs added in one
/// transaction, flag changes run as indexing jobs (finished on return).
pub async fn push_apply(ctx: PlatformCtx, Path(app_id): Path<String>, body: Bytes) -> Response {
    push(ctx, app_id, body, true).await
}

/// `GET /dash/apps/:app_id/indexing-jobs/group/:group_id` → `{"jobs": [...]}` (C.2).
pub async fn indexing_jobs(
    ctx: PlatformCtx,
    Path((app_id, group_id)): Path<(String, String)>,
) -> Response {
    ctx.app(Scope::App(app_id), None, move |engine, app, _| {
        let jobs = engine.indexing_jobs(app.id(), &group_id)?;
        Ok(json!({ "jobs": jobs }))
    })
    .await
}

/// Route middleware refusing a Platform request before its body is read
/// unless its bearer token is a personal access token or the admin token of
/// a live app (the route's own scope is checked by the handler).
pub async fn require_credentials(
    axum::extract::State(engine): axum::extract::State<Arc<Engine>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers().clone();
    let e = engine.clone();
    let checked = blocking(move || {
        let t = bearer(&headers)?;
        if e.is_platform_token(&t) || e.app_by_admin_token(&t).is_some() {
            Ok(())
        } else {
            Err(unknown_user())
        }
    })
    .await;
    match checked {
        Ok(()) => next.run(req).await,
        Err(e) => respond(Err(e)),
    }
}
