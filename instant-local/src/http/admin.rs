//! `POST /admin/query` and `POST /admin/transact` (spec `admin-http.md` §2.1, §2.2).

use axum::response::Response;
use bytes::Bytes;
use instant_core::ApiError;
use serde_json::{json, Value};

use super::auth::{Access, Actor, AdminCtx, AdminRequest, Who};
use super::body::steps_param;
use super::errors::{internal, param_malformed, param_missing};
use super::impersonate::result_view;
use crate::engine::deadline::Deadline;

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

/// `POST /admin/query`: body `{"query": {...}, "inference?": bool}` → the result tree.
///
/// The query runs within the server's `query_timeout` (429 `timeout`) and result
/// bounds; a client that disconnects cancels it (the deadline's
/// [`Deadline::cancel_on_drop`] guard lives in this future).
pub async fn query(ctx: AdminCtx, body: Bytes) -> Response {
    let origin = super::storage::origin(&ctx.headers);
    let deadline = Deadline::after(ctx.engine.limits.query_timeout);
    let gone = deadline.cancel_on_drop();
    let resp = ctx
        .call(
            (Who::Actor, Access::Read),
            Some(body),
            |req| Ok((body_object(&req.body, "query")?, inference_flag(&req.body))),
            move |engine, AdminRequest { app, actor, .. }, (q, inference)| {
                let view =
                    result_view(engine, &app, &actor, &q, origin)?.with_deadline(deadline.clone());
                let admin = actor == Actor::Admin;
                let mut result = engine.query(&app, &q, inference, admin, &deadline)?.result;
                view.apply(&app.state.read(), &engine.storage, app.id(), &mut result)?;
                Ok(result)
            },
        )
        .await;
    gone.disarm();
    resp
}

/// The `throw-on-missing-attrs?` flag of a transact body (default false).
pub fn throw_flag(body: &Value) -> bool {
    body.get("throw-on-missing-attrs?")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// `POST /admin/transact`: body `{"steps": [...], "throw-on-missing-attrs?": bool}`
/// → `{"tx-id": n}`.
pub async fn transact(ctx: AdminCtx, body: Bytes) -> Response {
    ctx.call(
        (Who::Actor, Access::Write),
        Some(body),
        |req| {
            let throw = throw_flag(&req.body);
            Ok((steps_param(&mut req.body)?, throw))
        },
        |engine, AdminRequest { app, actor, .. }, (steps, throw)| {
            // `$files` blobs of deleted rows are removed by the engine.
            let tx_id = if actor == Actor::Admin {
                engine.transact(&app, &steps, throw)?
            } else {
                let auth = super::impersonate::auth_for(engine, &app, &actor)?.flatten();
                let perms = super::impersonate::app_perms(engine, &app)?;
                let guard = |st: &crate::engine::state::AppState, parsed: &[instant_core::Step]| {
                    super::impersonate::check_tx(&perms, st, auth.as_ref(), parsed)
                };
                engine.transact_guarded(&app, &steps, throw, Some(&guard))?
            };
            Ok(json!({ "tx-id": tx_id }))
        },
    )
    .await
}
