//! Magic codes (spec `admin-http.md` §5.2-5.4). The local server does not send
//! mail: `/admin/send_magic_code` writes the code to the log (tracing, info level)
//! and to an outbox read by [`crate::LocalServer::last_magic_code`].

use axum::response::Response;
use bytes::Bytes;
use instant_core::ApiError;
use serde_json::{json, Value};

use super::auth::{Access, AdminCtx, AdminRequest, Who};
use super::errors::{param_malformed, param_missing};
use super::users::{email_field, extra_fields, signed_in};
use crate::engine::users::user_by_email_in;

fn required_email(body: &Value) -> Result<String, ApiError> {
    email_field(
        body.get("email").unwrap_or(&Value::Null),
        &["body", "email"],
    )?
    .ok_or_else(|| param_missing(&["body", "email"]))
}

async fn generate(ctx: AdminCtx, body: Bytes, send: bool) -> Response {
    ctx.call(
        (Who::AdminToken, Access::Write),
        Some(body),
        |req| required_email(&req.body),
        move |engine, AdminRequest { app, .. }, email| {
            let code = engine.create_magic_code(app.id(), &email, send)?;
            if send {
                // The code is a secret: it is never logged. It is answered to
                // the admin (as the official route does) and kept in the
                // outbox, `LocalServer::last_magic_code`.
                tracing::info!(app_id = %app.id(), "magic code created (local server: not mailed)");
            }
            Ok(json!({ "code": code }))
        },
    )
    .await
}

/// `POST /admin/magic_code`: `{"email"}` → `{"code"}` (not sent).
pub async fn magic_code(ctx: AdminCtx, body: Bytes) -> Response {
    generate(ctx, body, false).await
}

/// `POST /admin/send_magic_code`: `{"email"}` → `{"code"}`, "sent" to the log and
/// the outbox.
pub async fn send_magic_code(ctx: AdminCtx, body: Bytes) -> Response {
    generate(ctx, body, true).await
}

/// `POST /admin/verify_magic_code`: `{"email", "code", "extra-fields"?}` →
/// `{"user": {..., "refresh_token"}, "created"}`. Codes are single use; a wrong
/// code is `record-not-found` (`app-user-magic-code`), an expired one
/// `record-expired`.
pub async fn verify_magic_code(ctx: AdminCtx, body: Bytes) -> Response {
    ctx.call(
        (Who::AdminToken, Access::Write),
        Some(body),
        |req| required_email(&req.body),
        |engine, AdminRequest { app, body, .. }, email| {
            let code = match body.get("code") {
                None | Some(Value::Null) => return Err(param_missing(&["body", "code"])),
                Some(Value::String(s)) => s.trim().to_string(),
                Some(other) => return Err(param_malformed(&["body", "code"], other.clone())),
            };
            let extra = extra_fields(&body)?;
            engine.consume_magic_code(app.id(), &email, &code)?;
            let existing = user_by_email_in(&app.state.read(), &email);
            let (uid, created) = match existing {
                Some(u) => (u, false),
                None => (
                    engine.create_user(&app, None, Some(&email), false, extra.as_ref())?,
                    true,
                ),
            };
            signed_in(engine, &app, uid, Some(created))
        },
    )
    .await
}
