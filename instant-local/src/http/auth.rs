//! Who is acting on a request (spec `admin-http.md` §1.5): the app id from the
//! `app-id` header or `app_id` query parameter, the admin token from
//! `Authorization: Bearer`, and the impersonation headers `as-email`, `as-token`,
//! `as-guest`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderMap;
use instant_core::{ApiError, ErrorKind};
use serde_json::json;

use super::errors::{param_malformed, param_missing};
use crate::engine::{App, Engine};

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
/// with `as-token` / `as-guest`.
pub fn authenticate(
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
        return Ok((app, Actor::Email(email.trim().to_lowercase())));
    }
    Ok((app, Actor::Admin))
}

fn app_not_found(app_id: uuid::Uuid) -> ApiError {
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
    let not_found = || {
        ApiError::new(
            ErrorKind::RecordNotFound,
            "Record not found: app-admin-token",
        )
        .with_hint(json!({
            "record-type": "app-admin-token",
            "message": "This admin token may be expired or invalid. Or you may have provided an incorrect app ID.",
            "args": [{"app-id": app_id.to_string()}],
        }))
    };
    let app = engine.app(app_id).ok_or_else(not_found)?;
    let ok = uuid::Uuid::parse_str(&app.meta.read().admin_token)
        .map(|t| t == token_uuid)
        .unwrap_or(false);
    if !ok {
        return Err(not_found());
    }
    Ok(app)
}
