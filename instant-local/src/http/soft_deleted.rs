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

use super::auth::admin_or_platform_app;
use super::errors::{internal, HttpError};
use crate::engine::attr::SOFT_DELETE_GRACE_PERIOD_DAYS;
use crate::engine::Engine;

/// The handler.
pub async fn soft_deleted_attrs(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let app = match admin_or_platform_app(&engine, &headers, &params) {
        Ok(a) => a,
        Err(r) => return r,
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
