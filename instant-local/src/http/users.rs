//! Auth endpoints (spec `admin-http.md` §5): refresh tokens, users, sign out,
//! guests, token verification, and presence (§6). Magic codes are in
//! [`super::magic_code`].
//!
//! All but `/runtime/auth/verify_refresh_token` require the app's admin token
//! (impersonation headers are ignored: a user refresh token, a guest or another
//! app's admin token are refused like a missing/wrong admin token).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query as QueryParams, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use instant_core::ApiError;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::admin::blocking;
use super::auth::{admin_app, app_id};
use super::body::json_body;
use super::errors::{param_malformed, param_missing, HttpError};
use crate::engine::users::{normalize_email, user_by_email_in, user_not_found};
use crate::engine::{App, Engine};

/// Answers a handler result as JSON or the error envelope.
pub fn respond(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}

/// The app of an admin-only request (admin token required, no impersonation).
pub fn admin_only(
    engine: &Engine,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Arc<App>, ApiError> {
    let id = app_id(headers, params)?;
    admin_app(engine, headers, id)
}

/// A string body/param field normalised as an email (`param-malformed` if invalid).
pub fn email_field(v: &Value, path: &[&str]) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => normalize_email(s)
            .map(Some)
            .ok_or_else(|| param_malformed(path, v.clone())),
        other => Err(param_malformed(path, other.clone())),
    }
}

/// A uuid body/param field (`param-malformed` if not a uuid).
pub fn uuid_field(v: &Value, path: &[&str]) -> Result<Option<Uuid>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Uuid::parse_str(s.trim())
            .map(Some)
            .map_err(|_| param_malformed(path, v.clone())),
        other => Err(param_malformed(path, other.clone())),
    }
}

/// `extra-fields` of a body (an object or absent).
pub fn extra_fields(body: &Value) -> Result<Option<Map<String, Value>>, ApiError> {
    match body.get("extra-fields") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(other) => Err(param_malformed(&["body", "extra-fields"], other.clone())),
    }
}

fn get<'a>(body: &'a Value, key: &str) -> &'a Value {
    body.get(key).unwrap_or(&Value::Null)
}

/// `{"user": {..., "refresh_token"}, "created"}` for a user and a fresh token.
pub fn signed_in(
    engine: &Engine,
    app: &App,
    uid: Uuid,
    created: Option<bool>,
) -> Result<Value, ApiError> {
    let token = engine.mint_refresh_token(app.id(), uid)?;
    let mut user = engine
        .user_json(app, uid)
        .ok_or_else(|| super::errors::internal("user vanished"))?;
    user["refresh_token"] = json!(token);
    Ok(match created {
        Some(c) => json!({"user": user, "created": c}),
        None => json!({ "user": user }),
    })
}

macro_rules! parse_body {
    ($headers:expr, $body:expr) => {
        match json_body(&$headers, &$body) {
            Ok(b) => b,
            Err(r) => return r,
        }
    };
}

macro_rules! admin_or_return {
    ($engine:expr, $headers:expr, $params:expr) => {
        match admin_only(&$engine, &$headers, &$params) {
            Ok(a) => a,
            Err(e) => return HttpError(e).into_response(),
        }
    };
}

/// `POST /admin/refresh_tokens`: body `{"email"}` or `{"id"}` (+ `extra-fields`).
pub async fn refresh_tokens(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body!(headers, body);
    let app = admin_or_return!(engine, headers, params);
    respond(
        blocking(move || {
            let extra = extra_fields(&body)?;
            let email = email_field(get(&body, "email"), &["body", "email"])?;
            let (uid, created) = if let Some(email) = email {
                engine.ensure_user_by_email(&app, &email, extra.as_ref())?
            } else if let Some(id) = uuid_field(get(&body, "id"), &["body", "id"])? {
                if engine.user_json(&app, id).is_some() {
                    (id, false)
                } else {
                    (
                        engine.create_user(&app, Some(id), None, false, extra.as_ref())?,
                        true,
                    )
                }
            } else {
                return Err(ApiError::validation(
                    "body",
                    body.clone(),
                    vec![json!({"message": "Please provide an `email` or `id`"})],
                ));
            };
            signed_in(&engine, &app, uid, Some(created))
        })
        .await,
    )
}

/// `POST /admin/sign_in_guest`: body `{"extra-fields"?}` → a guest user with a
/// refresh token.
pub async fn sign_in_guest(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body!(headers, body);
    let app = admin_or_return!(engine, headers, params);
    respond(
        blocking(move || {
            let extra = extra_fields(&body)?;
            let uid = engine.create_user(&app, None, None, true, extra.as_ref())?;
            signed_in(&engine, &app, uid, None)
        })
        .await,
    )
}

/// `POST /admin/sign_out`: `{"id"}` | `{"email"}` (all sessions) or
/// `{"refresh_token"}` (one session) → `{"ok": true}`.
pub async fn sign_out(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body!(headers, body);
    let app = admin_or_return!(engine, headers, params);
    respond(
        blocking(move || {
            let app_id = app.id();
            if let Some(id) = uuid_field(get(&body, "id"), &["body", "id"])? {
                engine.revoke_user_tokens(app_id, id)?;
            } else if let Some(email) = email_field(get(&body, "email"), &["body", "email"])? {
                let uid = engine
                    .user_for_email(app_id, &email)
                    .and_then(|u| u["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()))
                    .ok_or_else(|| user_not_found(json!({ "email": email })))?;
                engine.revoke_user_tokens(app_id, uid)?;
            } else if let Some(t) =
                uuid_field(get(&body, "refresh_token"), &["body", "refresh_token"])?
            {
                engine.revoke_refresh_token(app_id, t)?;
            } else {
                return Err(ApiError::validation(
                    "body",
                    body.clone(),
                    vec![json!({"message": "Please provide an `id`, `email`, or `refresh_token`"})],
                ));
            }
            Ok(json!({"ok": true}))
        })
        .await,
    )
}

/// Resolves the user of a `GET/DELETE /admin/users` query (priority email,
/// refresh_token, id).
fn lookup_user(
    engine: &Engine,
    app: &App,
    params: &HashMap<String, String>,
) -> Result<Option<Uuid>, ApiError> {
    if let Some(e) = params.get("email") {
        let email = email_field(&json!(e), &["query-params", "email"])?.unwrap_or_default();
        return Ok(user_by_email_in(&app.state.read(), &email));
    }
    if let Some(t) = params.get("refresh_token") {
        uuid_field(&json!(t), &["query-params", "refresh_token"])?;
        return engine.refresh_token_user(app.id(), t);
    }
    if let Some(i) = params.get("id") {
        let id = uuid_field(&json!(i), &["query-params", "id"])?;
        return Ok(id.filter(|id| engine.user_json(app, *id).is_some()));
    }
    Err(ApiError::validation(
        "params",
        json!(params),
        vec![json!({"message": "Please provide a user id, email, or refresh_token"})],
    ))
}

/// `GET /admin/users?email=|refresh_token=|id=` → `{"user": User | null}`.
pub async fn get_user(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let app = admin_or_return!(engine, headers, params);
    respond(
        blocking(move || {
            let uid = lookup_user(&engine, &app, &params)?;
            let user = uid.and_then(|u| engine.user_json(&app, u));
            Ok(json!({ "user": user }))
        })
        .await,
    )
}

/// `DELETE /admin/users?...` → `{"deleted": User | null}`; the user's refresh
/// tokens stop working at once.
pub async fn delete_user(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let app = admin_or_return!(engine, headers, params);
    respond(
        blocking(move || {
            let uid = lookup_user(&engine, &app, &params)?;
            let user = uid.and_then(|u| engine.user_json(&app, u));
            if let (Some(u), Some(_)) = (uid, &user) {
                engine.delete_user(&app, u)?;
            }
            Ok(json!({ "deleted": user }))
        })
        .await,
    )
}

/// `POST /runtime/auth/verify_refresh_token`: body `{"app-id", "refresh-token"}`
/// (no admin token) → `{"user": {..., "refresh_token"}}`.
pub async fn verify_refresh_token(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body!(headers, body);
    respond(
        blocking(move || {
            let app_id = match get(&body, "app-id") {
                Value::Null => match params.get("app_id") {
                    Some(a) => uuid_field(&json!(a), &["query-params", "app_id"])?,
                    None => return Err(param_missing(&["body", "app-id"])),
                },
                v => uuid_field(v, &["body", "app-id"])?,
            }
            .ok_or_else(|| param_missing(&["body", "app-id"]))?;
            let token = uuid_field(get(&body, "refresh-token"), &["body", "refresh-token"])?
                .ok_or_else(|| param_missing(&["body", "refresh-token"]))?;
            let not_found = || user_not_found(json!({"refresh-token": "***"}));
            let mut user = engine
                .user_for_refresh_token(app_id, &token.to_string())
                .ok_or_else(not_found)?;
            user["refresh_token"] = json!(token.to_string());
            Ok(json!({ "user": user }))
        })
        .await,
    )
}

/// `GET /admin/rooms/presence?room-type=..&room-id=..` → `{"sessions": {}}`: no
/// realtime (websocket) clients connect to the local server, so every room is
/// empty. Both parameters are required (`param-missing` when absent or blank).
pub async fn presence(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let _app = admin_or_return!(engine, headers, params);
    for key in ["room-type", "room-id"] {
        if params.get(key).is_none_or(|v| v.trim().is_empty()) {
            return HttpError(param_missing(&["query-params", key])).into_response();
        }
    }
    axum::Json(json!({"sessions": {}})).into_response()
}

/// `GET /admin/schema` (admin token) → `{"schema": {"refs", "blobs"}}` with the
/// dash-joined ref keys `fwdEtype-fwdLabel-revEtype-revLabel` (spec
/// `admin-http.md` §8).
pub async fn admin_schema(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    // Admin token, or a personal access token (spec: "admin or platform token").
    let platform_app = (|| {
        let raw = headers.get("authorization")?.to_str().ok()?;
        let t = raw
            .split_once("Bearer ")
            .map(|(_, t)| t)
            .unwrap_or(raw)
            .trim();
        if !engine.is_platform_token(t) {
            return None;
        }
        engine.app(app_id(&headers, &params).ok()?)
    })();
    let app = match platform_app {
        Some(a) => a,
        None => admin_or_return!(engine, headers, params),
    };
    let mut schema = engine.pull_schema(&app);
    let refs: Map<String, Value> = schema["refs"]
        .as_object()
        .map(|m| {
            m.values()
                .map(|a| {
                    let f = &a["forward-identity"];
                    let r = &a["reverse-identity"];
                    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
                    let key = format!("{}-{}-{}-{}", s(&f[1]), s(&f[2]), s(&r[1]), s(&r[2]));
                    (key, a.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    schema["refs"] = Value::Object(refs);
    axum::Json(json!({ "schema": schema })).into_response()
}
