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

use super::auth::{Access, AdminCtx, AdminRequest, Route, Who};
use super::body::json_call;
use super::errors::{param_malformed, param_missing, HttpError};
use crate::engine::users::{normalize_email, user_by_email_in, user_not_found};
use crate::engine::{App, Engine};

/// Auth routes that write: the admin token, refused on read-only apps.
const WRITE: Route = (Who::AdminToken, Access::Write);
/// Auth routes that read: the admin token, refused on disabled apps.
const READ: Route = (Who::AdminToken, Access::Read);
/// Sign-out: the admin token, allowed in every app status.
const SIGN_OUT: Route = (Who::AdminToken, Access::SignOut);

/// The prelude of the auth routes (see [`AdminRequest::parse`]): the app's
/// admin token is required and impersonation headers are ignored; `body` is
/// parsed when given; the app's status is checked for `access`.
///
/// # Errors
/// The ready error response.
pub fn admin_request(
    engine: &Engine,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    body: Option<&Bytes>,
    access: Access,
) -> Result<AdminRequest, Response> {
    AdminRequest::parse(engine, headers, params, body, Who::AdminToken, access)
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

/// `admin_request(..)` or return its error response.
macro_rules! admin_or_return {
    ($engine:expr, $headers:expr, $params:expr, $body:expr, $access:expr) => {
        match admin_request(&$engine, &$headers, &$params, $body, $access) {
            Ok(r) => r,
            Err(r) => return r,
        }
    };
}

/// The user a request names: by email, by id or by one of its refresh tokens.
enum UserRef {
    Email(String),
    Id(Uuid),
    RefreshToken(Uuid),
}

impl UserRef {
    /// The first of `keys` (`"email"`, `"id"`, `"refresh_token"`) present (not
    /// null) in `src` (a body, or query params as a JSON object), parsed;
    /// `place` prefixes the error path (`"body"` / `"query-params"`).
    fn find(src: &Value, place: &str, keys: &[&str]) -> Result<Option<UserRef>, ApiError> {
        for &key in keys {
            let v = get(src, key);
            let path = [place, key];
            let found = match key {
                "email" => email_field(v, &path)?.map(UserRef::Email),
                "id" => uuid_field(v, &path)?.map(UserRef::Id),
                _ => uuid_field(v, &path)?.map(UserRef::RefreshToken),
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The id of the existing user this names, if any.
    fn resolve(&self, engine: &Engine, app: &App) -> Result<Option<Uuid>, ApiError> {
        match self {
            UserRef::Email(email) => Ok(user_by_email_in(&app.state.read(), email)),
            UserRef::Id(id) => Ok(engine.user_json(app, *id).is_some().then_some(*id)),
            UserRef::RefreshToken(t) => engine.refresh_token_user(app.id(), &t.to_string()),
        }
    }
}

/// `POST /admin/refresh_tokens`: body `{"email"}` or `{"id"}` (+ `extra-fields`).
pub async fn refresh_tokens(ctx: AdminCtx, body: Bytes) -> Response {
    ctx.run(
        WRITE,
        Some(body),
        move |engine, AdminRequest { app, body, .. }| {
            let extra = extra_fields(&body)?;
            let (uid, created) = match UserRef::find(&body, "body", &["email", "id"])? {
                Some(UserRef::Email(email)) => {
                    engine.ensure_user_by_email(&app, &email, extra.as_ref())?
                }
                Some(r @ UserRef::Id(id)) => match r.resolve(engine, &app)? {
                    Some(id) => (id, false),
                    None => (
                        engine.create_user(&app, Some(id), None, false, extra.as_ref())?,
                        true,
                    ),
                },
                _ => {
                    return Err(ApiError::validation(
                        "body",
                        body.clone(),
                        vec![json!({"message": "Please provide an `email` or `id`"})],
                    ))
                }
            };
            signed_in(engine, &app, uid, Some(created))
        },
    )
    .await
}

/// `POST /admin/sign_in_guest`: body `{"extra-fields"?}` → a guest user with a
/// refresh token.
pub async fn sign_in_guest(ctx: AdminCtx, body: Bytes) -> Response {
    ctx.run(
        WRITE,
        Some(body),
        move |engine, AdminRequest { app, body, .. }| {
            let extra = extra_fields(&body)?;
            let uid = engine.create_user(&app, None, None, true, extra.as_ref())?;
            signed_in(engine, &app, uid, None)
        },
    )
    .await
}

/// `POST /admin/sign_out`: `{"id"}` | `{"email"}` (all sessions) or
/// `{"refresh_token"}` (one session) → `{"ok": true}`.
pub async fn sign_out(ctx: AdminCtx, body: Bytes) -> Response {
    ctx.run(SIGN_OUT, Some(body), move |engine, AdminRequest { app, body, .. }| {
        let app_id = app.id();
        match UserRef::find(&body, "body", &["id", "email", "refresh_token"])? {
            Some(UserRef::Id(id)) => engine.revoke_user_tokens(app_id, id)?,
            Some(UserRef::Email(email)) => {
                let uid = UserRef::Email(email.clone())
                    .resolve(engine, &app)?
                    .ok_or_else(|| user_not_found(json!({ "email": email })))?;
                engine.revoke_user_tokens(app_id, uid)?;
            }
            Some(UserRef::RefreshToken(t)) => engine.revoke_refresh_token(app_id, t)?,
            None => {
                return Err(ApiError::validation(
                    "body",
                    body.clone(),
                    vec![json!({"message": "Please provide an `id`, `email`, or `refresh_token`"})],
                ))
            }
        }
        Ok(json!({"ok": true}))
        },
    )
    .await
}

/// Resolves the user of a `GET/DELETE /admin/users` query (priority email,
/// refresh_token, id).
fn lookup_user(
    engine: &Engine,
    app: &App,
    params: &HashMap<String, String>,
) -> Result<Option<Uuid>, ApiError> {
    let src = json!(params);
    match UserRef::find(&src, "query-params", &["email", "refresh_token", "id"])? {
        Some(r) => r.resolve(engine, app),
        None => Err(ApiError::validation(
            "params",
            src,
            vec![json!({"message": "Please provide a user id, email, or refresh_token"})],
        )),
    }
}

/// `GET /admin/users?email=|refresh_token=|id=` → `{"user": User | null}`.
pub async fn get_user(ctx: AdminCtx) -> Response {
    ctx.run(READ, None, |engine, AdminRequest { app, query, .. }| {
        let uid = lookup_user(engine, &app, &query)?;
        let user = uid.and_then(|u| engine.user_json(&app, u));
        Ok(json!({ "user": user }))
    })
    .await
}

/// `DELETE /admin/users?...` → `{"deleted": User | null}`; the user's refresh
/// tokens stop working at once.
pub async fn delete_user(ctx: AdminCtx) -> Response {
    ctx.run(WRITE, None, |engine, AdminRequest { app, query, .. }| {
        let uid = lookup_user(engine, &app, &query)?;
        let user = uid.and_then(|u| engine.user_json(&app, u));
        if let (Some(u), Some(_)) = (uid, &user) {
            engine.delete_user(&app, u)?;
        }
        Ok(json!({ "deleted": user }))
    })
    .await
}

/// `POST /runtime/auth/verify_refresh_token`: body `{"app-id", "refresh-token"}`
/// (no admin token) → `{"user": {..., "refresh_token"}}`.
pub async fn verify_refresh_token(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    json_call(&headers, &body, move |body| {
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
    .await
}

/// `GET /admin/rooms/presence?room-type=..&room-id=..` → `{"sessions": {}}`: no
/// realtime (websocket) clients connect to the local server, so every room is
/// empty. Both parameters are required (`param-missing` when absent,
/// `param-malformed` when blank).
pub async fn presence(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    admin_or_return!(engine, headers, params, None, Access::Read);
    // Absent is `param-missing`, blank `param-malformed` (`ex/get-param!` with
    // `coerce-non-blank-str`, `server/src/instant/admin/routes.clj`).
    for key in ["room-type", "room-id"] {
        match params.get(key) {
            None => return HttpError(param_missing(&["query-params", key])).into_response(),
            Some(v) if v.trim().is_empty() => {
                return HttpError(param_malformed(&["query-params", key], json!(v))).into_response()
            }
            Some(_) => {}
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
    let app = match super::auth::admin_or_platform_app(&engine, &headers, &params) {
        Ok(a) => a,
        Err(r) => return r,
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
