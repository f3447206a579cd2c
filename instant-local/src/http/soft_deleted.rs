//! `GET /admin/soft_deleted_attrs` (spec `admin-http.md` §8): the app's
//! attributes deleted by `delete-attr` steps within the grace period, as
//! `{"attrs": [<attr>...], "grace-period-days": 2}`
//! (`server/src/instant/admin/routes.clj` soft-deleted-attrs-get; the stored
//! rows are described in [`crate::store::deleted_attrs`]).
//!
//! Auth is the official `req->app-id-authed!`: the app's admin token
//! (impersonation headers play no part) or a platform (personal access) token.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query as QueryParams, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{app_id, Access, AdminRequest, Who};
use super::errors::{internal, HttpError};
use crate::engine::attr::SOFT_DELETE_GRACE_PERIOD_DAYS;
use crate::engine::Engine;

/// The handler.
pub async fn soft_deleted_attrs(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    // A personal access token names the app by id alone (like `/admin/schema`).
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
        None => match AdminRequest::parse(
            &engine,
            &headers,
            &params,
            None,
            Who::AdminToken,
            Access::Read,
        ) {
            Ok(r) => r.app,
            Err(r) => return r,
        },
    };
    let app_id = app.id();
    let listed = tokio::task::spawn_blocking(move || {
        // `db()` first writes every queued transaction (in-memory database).
        crate::store::deleted_attrs::list(&engine.db(), app_id, crate::engine::now_ms())
    })
    .await;
    match listed {
        Ok(Ok(attrs)) => axum::Json(json!({
            "attrs": attrs,
            "grace-period-days": SOFT_DELETE_GRACE_PERIOD_DAYS,
        }))
        .into_response(),
        Ok(Err(e)) => HttpError(internal(e)).into_response(),
        Err(_) => HttpError(internal("listing soft-deleted attrs panicked")).into_response(),
    }
}
