//! `POST /admin/query_perms_check` and `POST /admin/transact_perms_check`
//! (spec `admin-http.md` §2.3, §2.4, `db.debugQuery` / `db.debugTransact`):
//! run a query or transaction as an impersonated user and report every rule
//! evaluated. Both need the admin token **and** an impersonation header.

use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use instant_core::ApiError;
use serde_json::{json, Value};
use uuid::Uuid;

use super::admin::{body_object, inference_flag, throw_flag};
use super::auth::{check_status, Access, AdminCtx, AdminRequest, Who};
use super::body::steps_param;
use super::errors::param_malformed;
use super::impersonate::{app_perms, auth_for};
use crate::engine::deadline::Deadline;
use crate::engine::permissions::{entity_json, validate_rules, Checker, ResultView};
use crate::engine::query::plan::resolve_link;
use crate::engine::state::AppState;
use crate::engine::{App, Engine};
use crate::perms::{Action, Permissions};

/// The rules to check with: `rules-override` when given (validated like a
/// perms push, `admin/routes.clj`), else the app's.
fn rules_for(engine: &Engine, app: &App, body: &Value) -> Result<Arc<Permissions>, ApiError> {
    match body.get("rules-override") {
        None | Some(Value::Null) => app_perms(engine, app),
        Some(o @ Value::Object(_)) => validate_rules(o, &engine.limits, "rule").map(Arc::new),
        Some(other) => Err(param_malformed(&["body", "rules-override"], other.clone())),
    }
}

/// One `view` check result per entity of an (unfiltered) result tree.
fn view_checks(c: &Checker<'_>, st: &AppState, result: &Value) -> Result<Vec<Value>, ApiError> {
    fn walk(
        c: &Checker<'_>,
        st: &AppState,
        ns: &str,
        v: &Value,
        out: &mut Vec<Value>,
    ) -> Result<(), ApiError> {
        match v {
            Value::Array(a) => {
                for x in a {
                    walk(c, st, ns, x, out)?;
                }
            }
            Value::Object(m) => {
                if let Some(e) = m
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
                {
                    let rec =
                        entity_json(st, ns, e).unwrap_or_else(|| json!({"id": e.to_string()}));
                    let ok = c.can_view(ns, e, &rec)?;
                    let program = c.perms.program_info(ns, &Action::View).ok().flatten().map(|p| {
                        json!({"etype": ns, "action": "view", "code": p.code, "display-code": p.display_code})
                    });
                    out.push(json!({
                        "id": e.to_string(),
                        "entity": ns,
                        "label": null,
                        "record": rec,
                        "program": program,
                        "check": ok,
                    }));
                    if !ok {
                        return Ok(());
                    }
                }
                for (k, child) in m {
                    if let Some((_, _, next)) = resolve_link(st, ns, k).filter(|(a, _, _)| a.is_ref)
                    {
                        walk(c, st, &next, child, out)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
    let mut out = Vec::new();
    if let Value::Object(m) = result {
        for (ns, v) in m {
            walk(c, st, ns, v, &mut out)?;
        }
    }
    Ok(out)
}

/// `POST /admin/query_perms_check` → `{"result", "check-results", "rule-wheres"}`.
///
/// Bounded like `POST /admin/query` (query timeout, result rows and bytes; a
/// client that disconnects cancels the work).
pub async fn query_perms_check(ctx: AdminCtx, body: Bytes) -> Response {
    let origin = super::storage::origin(&ctx.headers);
    let deadline = Deadline::after(ctx.engine.limits.query_timeout);
    let _cancel = deadline.cancel_on_drop();
    ctx.call(
        (Who::Impersonated, Access::Read),
        Some(body),
        |req| Ok((body_object(&req.body, "query")?, inference_flag(&req.body))),
        move |engine,
              AdminRequest {
                  app, actor, body, ..
              },
              (q, inference)| {
            let auth = auth_for(engine, &app, &actor)?.flatten();
            let perms = rules_for(engine, &app, &body)?;
            let mut result = engine.query(&app, &q, inference, false, &deadline)?.result;
            let st = app.state.read();
            let checks = {
                let c = Checker {
                    st: &st,
                    perms: &perms,
                    auth: auth.as_ref(),
                    rule_params: q.get("$$ruleParams"),
                    deadline: Some(&deadline),
                };
                perms
                    .on_rule_stack(|| view_checks(&c, &st, &result))
                    .unwrap_or_else(|| Err(super::errors::internal("rule thread")))?
            };
            ResultView::for_query(Some((perms, auth)), &q, origin)
                .with_deadline(deadline.clone())
                .apply(&st, &engine.storage, app.id(), &mut result)?;
            Ok(json!({"result": result, "check-results": checks, "rule-wheres": null}))
        },
    )
    .await
}

/// `POST /admin/transact_perms_check` → `{"tx-id", "all-checks-ok?",
/// "committed?", "check-results"}`. A dry run unless `dangerously-commit-tx`
/// is true, and then only committed when every check passed (a commit is a
/// write: refused on a read-only app).
pub async fn transact_perms_check(ctx: AdminCtx, body: Bytes) -> Response {
    let deadline = Deadline::after(ctx.engine.limits.query_timeout);
    let _cancel = deadline.cancel_on_drop();
    ctx.call(
        (Who::Impersonated, Access::Read),
        Some(body),
        |req| {
            let commit = req
                .body
                .get("dangerously-commit-tx")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let throw = throw_flag(&req.body);
            Ok((steps_param(&mut req.body)?, throw, commit))
        },
        move |engine,
              AdminRequest {
                  app, actor, body, ..
              },
              (steps, throw, commit)| {
            let auth = auth_for(engine, &app, &actor)?.flatten();
            let perms = rules_for(engine, &app, &body)?;
            let parsed = crate::engine::transact::parse_steps(&steps)?;
            let mut checks = Vec::new();
            let all_ok = {
                let st = app.state.read();
                Checker {
                    st: &st,
                    perms: &perms,
                    auth: auth.as_ref(),
                    rule_params: None,
                    deadline: Some(&deadline),
                }
                .check_steps(&parsed, Some(&mut checks))
                .is_ok()
            };
            let mut tx_id = Value::Null;
            let mut committed = false;
            if commit && all_ok {
                check_status(engine, &app, Access::Write)?;
                let guard = |st: &AppState, p: &[instant_core::Step]| {
                    super::impersonate::check_tx(&perms, st, auth.as_ref(), p)
                };
                // The engine removes the blobs of deleted `$files` rows.
                tx_id = json!(engine.transact_guarded(&app, &steps, throw, Some(&guard))?);
                committed = true;
            }
            Ok(json!({
                "tx-id": tx_id,
                "all-checks-ok?": all_ok,
                "committed?": committed,
                "check-results": checks,
            }))
        },
    )
    .await
}
