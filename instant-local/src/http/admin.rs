//! `POST /admin/query` and `POST /admin/transact` (spec `admin-http.md` §2.1, §2.2).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query as QueryParams, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use instant_core::ApiError;
use serde_json::{json, Value};

use super::auth::authenticate;
use super::body::{json_body, steps_param};
use super::errors::{internal, param_malformed, param_missing, HttpError};
use crate::engine::Engine;

/// Runs blocking engine work off the async executor.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(internal(e)),
    }
}

/// Reads the required object `key` of a body (`param-missing` / `param-malformed`).
pub fn body_object(body: &Value, key: &str) -> Result<Value, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Err(param_missing(&["body", key])),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(other) => Err(param_malformed(&["body", key], other.clone())),
    }
}

/// The `inference?` flag of a body (default false).
pub fn inference_flag(body: &Value) -> bool {
    body.get("inference?")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn respond(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}

/// `POST /admin/query`: body `{"query": {...}, "inference?": bool}` → the result tree.
pub async fn query(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let pre = (|| {
        let q = body_object(&body, "query")?;
        let (app, actor) = authenticate(&engine, &headers, &params)?;
        Ok::<_, ApiError>((q, app, actor))
    })();
    let (q, app, actor) = match pre {
        Ok(x) => x,
        Err(e) => return HttpError(e).into_response(),
    };
    let inference = inference_flag(&body);
    let origin = super::storage::origin(&headers);
    let r = blocking(move || {
        let admin = actor == super::auth::Actor::Admin;
        let auth = super::impersonate::auth_for(&engine, &app, &actor)?;
        let mut result = engine.query(&app, &q, inference, admin)?.result;
        let st = app.state.read();
        if let Some(auth) = &auth {
            let perms = super::impersonate::app_perms(&app)?;
            let params = q.get("$$ruleParams");
            super::impersonate::filter_query_result(
                &perms,
                &st,
                auth.as_ref(),
                params,
                &mut result,
            )?;
        }
        let app_id = instant_core::Id(app.id());
        crate::engine::files::add_file_urls(&st, &engine.storage, app_id, &origin, &q, &mut result);
        Ok(result)
    })
    .await;
    respond(r)
}

/// `POST /admin/transact`: body `{"steps": [...], "throw-on-missing-attrs?": bool}`
/// → `{"tx-id": n}`.
pub async fn transact(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let pre = (|| {
        let (app, actor) = authenticate(&engine, &headers, &params)?;
        let steps = steps_param(&mut body)?;
        Ok::<_, ApiError>((app, actor, steps))
    })();
    let (app, actor, steps) = match pre {
        Ok(x) => x,
        Err(e) => return HttpError(e).into_response(),
    };
    let throw = body
        .get("throw-on-missing-attrs?")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let r = blocking(move || {
        let tx_id = if actor == super::auth::Actor::Admin {
            engine.transact(&app, &steps, throw)?
        } else {
            let auth = super::impersonate::auth_for(&engine, &app, &actor)?.flatten();
            let perms = super::impersonate::app_perms(&app)?;
            let guard = |st: &crate::engine::state::AppState, parsed: &[instant_core::Step]| {
                super::impersonate::check_tx(&perms, st, auth.as_ref(), parsed)
            };
            engine.transact_guarded(&app, &steps, throw, Some(&guard))?
        };
        Ok(json!({ "tx-id": tx_id }))
    })
    .await;
    respond(r)
}
