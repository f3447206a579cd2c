//! Who is acting on a request (spec `admin-http.md` §1.5): the app id from the
//! `app-id` header or `app_id` query parameter, the admin token from
//! `Authorization: Bearer`, and the impersonation headers `as-email`, `as-token`,
//! `as-guest`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use instant_core::{ApiError, ErrorKind};
use serde_json::{json, Value};

use super::body::json_body;
use super::errors::{param_malformed, param_missing, HttpError};
use crate::engine::{App, Engine};
use crate::store::apps::AppStatus;

/// The acting identity. Permission rules are not evaluated yet: every actor is
/// allowed everything, but handlers receive the actor so a permission layer can be
/// inserted between authentication and execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Admin token: rules bypassed.
    Admin,
    /// `as-email`: the app user with this email (admin token checked).
    Email(String),
    /// `as-token`: the app user owning this refresh token (admin token not checked).
    Token(uuid::Uuid),
    /// `as-guest`: an unauthenticated user.
    Guest,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the app id: header `app-id` first, then query parameter `app_id`.
pub fn app_id(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<uuid::Uuid, ApiError> {
    let raw = header_str(headers, "app-id")
        .map(|s| ("headers", "app-id", s))
        .or_else(|| {
            query
                .get("app_id")
                .map(|s| ("query-params", "app_id", s.as_str()))
        });
    match raw {
        None => Err(ApiError::new(
            ErrorKind::ParamMissing,
            "Missing parameter: [\"headers\" \"app-id\"]",
        )
        .with_hint(
            json!({"in": ["headers", "app-id"], "possible-ins": [["query-params", "app_id"]]}),
        )),
        Some((place, name, s)) => {
            uuid::Uuid::parse_str(s.trim()).map_err(|_| param_malformed(&[place, name], json!(s)))
        }
    }
}

/// Resolves the app and the actor; checks the admin token unless impersonating
/// with `as-token` / `as-guest`, and refuses a disabled app (`app-disabled`).
pub fn authenticate(
    engine: &Engine,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<(Arc<App>, Actor), ApiError> {
    let (app, actor) = resolve_actor(engine, headers, query)?;
    check_status(engine, &app, Access::Read)?;
    Ok((app, actor))
}

fn resolve_actor(
    engine: &Engine,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<(Arc<App>, Actor), ApiError> {
    let app_id = app_id(headers, query)?;
    if let Some(tok) = header_str(headers, "as-token") {
        let t = uuid::Uuid::parse_str(tok.trim()).map_err(|_| {
            ApiError::new(
                ErrorKind::ParamMalformed,
                "Malformed parameter: [\"asUser\" \"token\"]",
            )
            .with_hint(json!({"in": ["asUser", "token"], "original-input": tok}))
        })?;
        let app = engine.app(app_id).ok_or_else(|| app_not_found(app_id))?;
        return Ok((app, Actor::Token(t)));
    }
    if let Some(g) = header_str(headers, "as-guest") {
        if !g.is_empty() {
            let app = engine.app(app_id).ok_or_else(|| app_not_found(app_id))?;
            return Ok((app, Actor::Guest));
        }
    }
    let app = admin_app(engine, headers, app_id)?;
    if let Some(email) = header_str(headers, "as-email") {
        // As sent: Instant looks `as-email` up without lower-casing it
        // (`admin/routes.clj` `get-perms!`).
        return Ok((app, Actor::Email(email.to_string())));
    }
    Ok((app, Actor::Admin))
}

/// `record-not-found` (record type `app`) for `app_id`.
pub fn app_not_found(app_id: uuid::Uuid) -> ApiError {
    ApiError::new(ErrorKind::RecordNotFound, "Record not found: app")
        .with_hint(json!({"record-type": "app", "args": [{"id": app_id.to_string()}]}))
}

/// Checks `Authorization: Bearer <admin token>` against the app `app_id`.
pub fn admin_app(
    engine: &Engine,
    headers: &HeaderMap,
    app_id: uuid::Uuid,
) -> Result<Arc<App>, ApiError> {
    let raw = match headers.get("authorization") {
        None => return Err(param_missing(&["headers", "authorization"])),
        Some(v) => v.to_str().unwrap_or(""),
    };
    let token = match raw.split_once("Bearer ") {
        Some((_, t)) => t.trim(),
        None => raw.trim(),
    };
    let token_uuid = uuid::Uuid::parse_str(token)
        .map_err(|_| param_malformed(&["headers", "authorization"], json!(raw)))?;
    let app = engine
        .app(app_id)
        .ok_or_else(|| admin_token_not_found(app_id))?;
    check_admin_token(&app, token_uuid)?;
    Ok(app)
}

/// Checks that `token` is the admin token of `app`.
///
/// # Errors
/// `record-not-found` (record type `app-admin-token`) when it is not.
pub fn check_admin_token(app: &App, token: uuid::Uuid) -> Result<(), ApiError> {
    let ok = uuid::Uuid::parse_str(&app.meta.read().admin_token)
        .map(|t| t == token)
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(admin_token_not_found(app.id()))
    }
}

fn admin_token_not_found(app_id: uuid::Uuid) -> ApiError {
    ApiError::new(
        ErrorKind::RecordNotFound,
        "Record not found: app-admin-token",
    )
    .with_hint(json!({
        "record-type": "app-admin-token",
        "message": "This admin token may be expired or invalid. Or you may have provided an incorrect app ID.",
        "args": [{"app-id": app_id.to_string()}],
    }))
}

/// What a request does with an app's data, which decides the app statuses
/// that refuse it (Instant's maintenance mode,
/// `server/src/instant/model/app_status.clj`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads data: refused when the app is `disabled`.
    Read,
    /// Writes data: refused when the app is `read-only` or `disabled`.
    Write,
    /// Signs a user out: allowed in every status.
    SignOut,
}

/// Refuses `access` to `app` when its status forbids it.
///
/// # Errors
/// `app-read-only` (400, message `This app is in read-only mode.`, hint
/// `{"status": "read-only"}`) for a write on a read-only app; `app-disabled`
/// (400, `This app is currently disabled.`, hint `{"status": "disabled"}`)
/// for a read or write on a disabled app.
pub fn check_status(engine: &Engine, app: &App, access: Access) -> Result<(), ApiError> {
    match (engine.app_status(app), access) {
        (_, Access::SignOut) | (AppStatus::Active, _) | (AppStatus::ReadOnly, Access::Read) => {
            Ok(())
        }
        (AppStatus::ReadOnly, _) => Err(ApiError::new(
            ErrorKind::AppReadOnly,
            "This app is in read-only mode.",
        )
        .with_hint(json!({"status": "read-only"}))),
        (AppStatus::Disabled, _) => Err(ApiError::new(
            ErrorKind::AppDisabled,
            "This app is currently disabled.",
        )
        .with_hint(json!({"status": "disabled"}))),
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The admin token, or an impersonation header (`as-email` with the admin
    /// token; `as-token` / `as-guest` alone), see [`authenticate`].
    Actor,
    /// The admin token without impersonation: an impersonation header is
    /// refused with `permission-denied` (`Permission denied: not admin?`).
    Admin,
    /// The app's admin token; impersonation headers are ignored (auth routes).
    AdminToken,
    /// The admin token **and** an impersonation header (`*_perms_check`); the
    /// admin context is refused with `validation-failed` (data type
    /// `non-admin`).
    Impersonated,
}

/// An admin-API request after the prelude every handler shares: the JSON
/// body parsed, the app and actor authenticated, the app's status checked.
pub struct AdminRequest {
    /// The app the request is for.
    pub app: Arc<App>,
    /// Who acts (always [`Actor::Admin`] for [`Who::Admin`] / [`Who::AdminToken`]).
    pub actor: Actor,
    /// The JSON body (`{}` when there is none or it is not JSON).
    pub body: Value,
    /// The query parameters.
    pub query: HashMap<String, String>,
    /// The request headers.
    pub headers: HeaderMap,
}

impl AdminRequest {
    /// Runs the prelude: parses `body` (when given) with [`json_body`], then
    /// authenticates per `who` and checks the app's status for `access`.
    ///
    /// # Errors
    /// The ready error response: `400 Malformed JSON in request body.` (plain
    /// text), or the JSON envelope of the authentication / status error.
    pub fn parse(
        engine: &Engine,
        headers: &HeaderMap,
        params: &HashMap<String, String>,
        body: Option<&Bytes>,
        who: Who,
        access: Access,
    ) -> Result<AdminRequest, Response> {
        let body = match body {
            Some(b) => json_body(headers, b)?,
            None => Value::Object(Default::default()),
        };
        Self::authorize(engine, headers, params, who, access)
            .map(|(app, actor)| AdminRequest {
                app,
                actor,
                body,
                query: params.clone(),
                headers: headers.clone(),
            })
            .map_err(|e| HttpError(e).into_response())
    }

    fn authorize(
        engine: &Engine,
        headers: &HeaderMap,
        params: &HashMap<String, String>,
        who: Who,
        access: Access,
    ) -> Result<(Arc<App>, Actor), ApiError> {
        let (app, actor) = match who {
            Who::Actor => resolve_actor(engine, headers, params)?,
            Who::Admin => match resolve_actor(engine, headers, params)? {
                (app, Actor::Admin) => (app, Actor::Admin),
                _ => {
                    return Err(ApiError::new(
                        ErrorKind::PermissionDenied,
                        "Permission denied: not admin?",
                    )
                    .with_hint(json!({"expected": "admin?"})))
                }
            },
            Who::AdminToken => (
                admin_app(engine, headers, app_id(headers, params)?)?,
                Actor::Admin,
            ),
            Who::Impersonated => {
                admin_app(engine, headers, app_id(headers, params)?)?;
                match resolve_actor(engine, headers, params)? {
                    (_, Actor::Admin) => {
                        return Err(ApiError::new(
                            ErrorKind::ValidationFailed,
                            "Validation failed for non-admin: Cannot test perms as admin",
                        )
                        .with_hint(json!({
                            "data-type": "non-admin",
                            "input": null,
                            "errors": [{"message": "Cannot test perms as admin"}],
                        })))
                    }
                    pair => pair,
                }
            }
        };
        check_status(engine, &app, access)?;
        Ok((app, actor))
    }
}

/// What an admin handler receives besides its body: the engine, the query
/// parameters and the headers (an axum extractor).
pub struct AdminCtx {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Query parameters (`app_id`, `filename`, `email`, ...).
    pub params: HashMap<String, String>,
    /// Request headers (`app-id`, `authorization`, impersonation, ...).
    pub headers: HeaderMap,
}

impl axum::extract::FromRequestParts<Arc<Engine>> for AdminCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        engine: &Arc<Engine>,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(params) =
            axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, engine)
                .await
                .map_err(IntoResponse::into_response)?;
        Ok(AdminCtx {
            engine: engine.clone(),
            params,
            headers: parts.headers.clone(),
        })
    }
}

/// Who may call a route and what it does with the app's data.
pub type Route = (Who, Access);

impl AdminCtx {
    /// [`AdminCtx::call`] for a route that reads no parameters of its own
    /// before the blocking `run`.
    pub async fn run(
        self,
        route: Route,
        body: Option<Bytes>,
        run: impl FnOnce(&Engine, AdminRequest) -> Result<Value, ApiError> + Send + 'static,
    ) -> Response {
        self.call(route, body, |_| Ok(()), move |e, req, ()| run(e, req))
            .await
    }

    /// The whole life of an admin-API request, shared by the handlers: the
    /// prelude ([`AdminRequest::parse`] with `who` / `access`, parsing `body`
    /// when given), then `params` (reads the request's parameters, and may take
    /// large ones out of the body instead of copying them; its error
    /// is answered at once), then `run` on a blocking thread, answered as JSON
    /// or the error envelope.
    pub async fn call<P: Send + 'static>(
        self,
        (who, access): Route,
        body: Option<Bytes>,
        params: impl FnOnce(&mut AdminRequest) -> Result<P, ApiError>,
        run: impl FnOnce(&Engine, AdminRequest, P) -> Result<Value, ApiError> + Send + 'static,
    ) -> Response {
        let AdminCtx {
            engine,
            params: query,
            headers,
        } = self;
        let mut req =
            match AdminRequest::parse(&engine, &headers, &query, body.as_ref(), who, access) {
                Ok(r) => r,
                Err(r) => return r,
            };
        let p = match params(&mut req) {
            Ok(p) => p,
            Err(e) => return HttpError(e).into_response(),
        };
        super::errors::respond(super::admin::blocking(move || run(&engine, req, p)).await)
    }
}

/// The query parameters of a request URI (`app_id`, ...), decoded; `{}`
/// when they do not parse.
fn query_params(uri: &axum::http::Uri) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|axum::extract::Query(m)| m)
        .unwrap_or_default()
}

/// The app of a read-only request authenticated by the app's admin token or
/// by a personal access token (the official `req->app-id-authed!`, for
/// `GET /admin/schema` and `GET /admin/soft_deleted_attrs`): a platform
/// token names the app by its id alone; otherwise the admin prelude
/// ([`AdminRequest::parse`] with [`Who::AdminToken`]) runs.
///
/// # Errors
/// The ready error response of [`AdminRequest::parse`].
pub fn admin_or_platform_app(
    engine: &Engine,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Arc<crate::engine::App>, Response> {
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
        engine.app(app_id(headers, params).ok()?)
    })();
    match platform_app {
        Some(a) => Ok(a),
        None => AdminRequest::parse(engine, headers, params, None, Who::AdminToken, Access::Read)
            .map(|r| r.app),
    }
}

/// Checks the credentials of a request from its headers alone, before its
/// body is read: the app id, then the admin token (enough on its own), or
/// else `as-token` (a live refresh token of the app) or `as-guest` (the app
/// exists). Each failure is the error the handler itself would answer
/// ([`AdminRequest::parse`], [`super::impersonate::auth_for`]); the
/// route-specific rules (who may call it, the app's status) stay with the
/// handler.
///
/// # Errors
/// `param-missing` / `param-malformed` (app id, authorization, `as-token`),
/// `record-not-found` (`app`, `app-admin-token`, `app-user`).
///
/// Returns whether the request carries the app's admin token.
pub async fn check_credentials(
    engine: &Arc<Engine>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<bool, ApiError> {
    // A valid admin token is enough whatever impersonation headers come
    // with it (the auth routes ignore them).
    if headers.contains_key("authorization")
        && admin_app(engine, headers, app_id(headers, query)?).is_ok()
    {
        return Ok(true);
    }
    let (app, actor) = resolve_actor(engine, headers, query)?;
    if let Actor::Token(t) = actor {
        let engine = engine.clone();
        let app_id = app.id();
        super::admin::blocking(move || {
            engine
                .refresh_token_user(app_id, &t.to_string())?
                .map(|_| ())
                .ok_or_else(|| {
                    ApiError::new(ErrorKind::RecordNotFound, "Record not found: app-user")
                        .with_hint(json!({"record-type": "app-user"}))
                })
        })
        .await?;
    }
    Ok(false)
}

/// Route middleware refusing a request whose credentials do not hold
/// ([`check_credentials`]) before one byte of its body is read, so an
/// unauthenticated client cannot make the server buffer or parse a body.
/// The upload route uses it; its body is bounded while it streams to disk.
pub async fn require_credentials(
    axum::extract::State(engine): axum::extract::State<Arc<Engine>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    guard(&engine, req, next, None).await
}

/// [`require_credentials`] for the JSON routes, which also bounds the body of
/// a request made without the admin token (`as-guest`, `as-token`) to
/// [`crate::Limits::max_impersonated_body_bytes`]: such a request needs no
/// secret, and a JSON body costs many times its size to parse and apply. A
/// `Content-Length` above the bound is refused before any byte is read, a
/// chunked body is cut where it passes it; both get 413 in the envelope.
pub async fn require_credentials_json(
    axum::extract::State(engine): axum::extract::State<Arc<Engine>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let bound = engine.limits.max_impersonated_body_bytes;
    guard(&engine, req, next, Some(bound)).await
}

/// Checks the credentials of `req`, then runs it; without the admin token its
/// body is bounded to `impersonated_bound` bytes when one is given.
async fn guard(
    engine: &Arc<Engine>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
    impersonated_bound: Option<usize>,
) -> Response {
    let query = query_params(req.uri());
    match (
        check_credentials(engine, req.headers(), &query).await,
        impersonated_bound,
    ) {
        (Err(e), _) => HttpError(e).into_response(),
        (Ok(true), _) | (Ok(false), None) => next.run(req).await,
        (Ok(false), Some(limit)) => {
            if super::body::content_length(req.headers()).is_some_and(|n| n > limit as u64) {
                return HttpError(super::body::too_large(limit)).into_response();
            }
            let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)));
            let resp = next.run(req).await;
            if resp.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                return HttpError(super::body::too_large(limit)).into_response();
            }
            resp
        }
    }
}
