//! Temporary apps (spec `schema-and-platform.md` E.14): `POST /dash/apps/ephemeral`
//! (no auth; optional `schema` pushed per A.6 and `rules: {code}`) and
//! `GET /dash/apps/ephemeral/:app_id`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use instant_core::{ApiError, ErrorKind, Schema};
use serde_json::{json, Value};

use super::auth::{app_not_found, check_admin_token};
use super::body::json_call;
use super::errors::{param_malformed, param_missing, HttpError};
use crate::engine::{App, Engine};
use crate::store::apps::AppStatus;

/// `POST /dash/apps/ephemeral`.
pub async fn create(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    json_call(&headers, &body, move |body| {
        let title = match body.get("title") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            None | Some(Value::Null) => return Err(param_missing(&["body", "title"])),
            Some(other) => return Err(param_malformed(&["body", "title"], other.clone())),
        };
        let schema = match body.get("schema") {
            None | Some(Value::Null) => None,
            Some(s) => {
                let schema = Schema::from_json(s)
                    .and_then(|sc| sc.validate().map(|_| sc))
                    .map_err(|e| {
                        let msg = match &e {
                            instant_core::Error::InvalidSchema { message, .. } => message.clone(),
                            other => other.to_string(),
                        };
                        ApiError::validation("schema", s.clone(), vec![json!({"message": msg})])
                    })?;
                Some(schema)
            }
        };
        let rules = match body.get("rules") {
            None | Some(Value::Null) => None,
            Some(r) => match r.get("code") {
                None | Some(Value::Null) => None,
                Some(code) => {
                    // `ephemeral_app.clj`: `(ex/assert-valid! :rule ...)`.
                    crate::engine::permissions::validate_rules(code, &engine.limits, "rule")?;
                    Some(code.clone())
                }
            },
        };
        let creds = engine
            .create_app(&title, true, schema.as_ref(), rules.as_ref())
            .map_err(super::errors::internal)?;
        let app = engine
            .app(creds.app_id.0)
            .ok_or_else(|| super::errors::internal("app vanished"))?;
        Ok(ephemeral_json(&app, true))
    })
    .await
}

/// `{"app": row, "expires_ms"}`; the row carries `admin-token` only when
/// `with_token` (the creation answer, as `app-model/create!` returns it).
fn ephemeral_json(app: &App, with_token: bool) -> Value {
    let mut row = super::platform::app_row(app);
    let meta = app.meta.read();
    if with_token {
        row["admin-token"] = json!(meta.admin_token);
    }
    json!({
        "app": row,
        "expires_ms": meta.expires_at.unwrap_or(meta.created_at + 14 * 24 * 3600 * 1000),
    })
}

/// `GET /dash/apps/ephemeral/:app_id`.
pub async fn get(State(engine): State<Arc<Engine>>, Path(app_id): Path<String>) -> Response {
    let not_found = || {
        ApiError::new(ErrorKind::RecordNotFound, "Record not found: app")
            .with_hint(json!({"record-type": "app", "args": [{"id": app_id}]}))
    };
    let id = match uuid::Uuid::parse_str(app_id.trim()) {
        Ok(id) => id,
        Err(_) => {
            return HttpError(param_malformed(&["params", "app_id"], json!(app_id))).into_response()
        }
    };
    match engine.app(id) {
        // The app row only: the official `http-get-handler` answers
        // `app-model/get-by-id!` (`SELECT * FROM apps`; the admin token lives
        // in `app_admin_tokens`), so anyone who learns an app id learns no
        // credential (`server/src/instant/dash/ephemeral_app.clj`).
        Some(app) if app.meta.read().ephemeral => {
            axum::Json(ephemeral_json(&app, false)).into_response()
        }
        _ => HttpError(not_found()).into_response(),
    }
}

/// `POST /dash/apps/ephemeral/:app_id/status`: body `{"admin-token", "status":
/// "active" | "read-only" | "disabled"}` → `{"status"}`. Sets the app's
/// maintenance mode (persisted): `read-only` refuses writes with
/// `app-read-only`, `disabled` refuses reads and writes with `app-disabled`
/// (sign-out keeps working). Mirrors `http-status-post-handler` in
/// `server/src/instant/dash/ephemeral_app.clj`.
///
/// Errors (all 400): `param-malformed` for a non-uuid app id, admin token or
/// an unknown status; `record-not-found` (`app`) for an unknown or expired app;
/// `permission-denied` (`Permission denied: not ephemeral-app?`) for an app
/// that is not temporary; `param-missing` for a missing admin token or
/// status; `record-not-found` (`app-admin-token`) for a wrong admin token.
pub async fn set_status(
    State(engine): State<Arc<Engine>>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    json_call(&headers, &body, move |body| {
        let id = uuid::Uuid::parse_str(app_id.trim())
            .map_err(|_| param_malformed(&["params", "app_id"], json!(app_id)))?;
        let app = engine.app(id).ok_or_else(|| app_not_found(id))?;
        if !app.meta.read().ephemeral {
            return Err(ApiError::new(
                ErrorKind::PermissionDenied,
                "Permission denied: not ephemeral-app?",
            )
            .with_hint(json!({"input": id.to_string(), "expected": "ephemeral-app?"})));
        }
        let token = match body.get("admin-token") {
            None | Some(Value::Null) => return Err(param_missing(&["body", "admin-token"])),
            Some(v) => v
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
                .ok_or_else(|| param_malformed(&["body", "admin-token"], v.clone()))?,
        };
        check_admin_token(&app, token)?;
        let status = match body.get("status") {
            None | Some(Value::Null) => return Err(param_missing(&["body", "status"])),
            Some(v) => v
                .as_str()
                .and_then(AppStatus::parse)
                .ok_or_else(|| param_malformed(&["body", "status"], v.clone()))?,
        };
        engine.set_app_status(&app, status)?;
        Ok(json!({ "status": status.as_str() }))
    })
    .await
}

/// Most client addresses the temporary-app rate limiter tracks at once. An
/// address's entry expires a minute after its window opened; when the table
/// is full even after dropping expired entries, new addresses are refused
/// (429) until entries expire, so the limiter's memory stays bounded.
pub const MAX_TRACKED_ADDRESSES: usize = 65_536;

/// The per-address rate limit of `POST /dash/apps/ephemeral`
/// ([`crate::Limits::temp_apps_per_minute`]): a fixed one-minute window per
/// client address.
#[derive(Debug)]
pub struct TempAppLimiter {
    per_minute: u32,
    capacity: usize,
    windows:
        parking_lot::Mutex<std::collections::HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
}

/// The window of [`TempAppLimiter`].
const WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

impl TempAppLimiter {
    /// A limiter allowing `per_minute` creations per address and tracking at
    /// most `capacity` addresses.
    pub fn new(per_minute: u32, capacity: usize) -> TempAppLimiter {
        TempAppLimiter {
            per_minute,
            capacity: capacity.max(1),
            windows: parking_lot::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Counts one creation by `addr` at `now`; `false` when it is over the
    /// limit (or the table is full of live entries).
    pub fn allow(&self, addr: std::net::IpAddr, now: std::time::Instant) -> bool {
        let mut w = self.windows.lock();
        if !w.contains_key(&addr) && w.len() >= self.capacity {
            w.retain(|_, (start, _)| now.saturating_duration_since(*start) < WINDOW);
            if w.len() >= self.capacity {
                return false;
            }
        }
        let entry = w.entry(addr).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Addresses currently tracked (for tests of the memory bound).
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.windows.lock().len()
    }
}

/// Route middleware applying `limiter` to temporary-app creation before the
/// body is read: the client address comes from the connection
/// (`ConnectInfo`, set by the server); over the limit →
/// 429 `rate-limited` in the envelope.
pub async fn rate_limit(
    limiter: Arc<TempAppLimiter>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let addr = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(addr) = addr {
        if !limiter.allow(addr, std::time::Instant::now()) {
            return HttpError(
                ApiError::new(
                    ErrorKind::RateLimited,
                    "Too many temporary apps created from this address; try again in a minute.",
                )
                .with_hint(json!({"limit-per-minute": limiter.per_minute})),
            )
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::{Duration, Instant};

    #[test]
    fn limiter_counts_per_address_and_its_entries_expire() {
        let l = TempAppLimiter::new(2, 3);
        let t0 = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert!(l.allow(a, t0));
        assert!(l.allow(a, t0));
        assert!(!l.allow(a, t0 + Duration::from_secs(59)));
        assert!(l.allow(b, t0));
        // A new window a minute later.
        assert!(l.allow(a, t0 + Duration::from_secs(60)));
        // The table holds at most 3 addresses; expired entries make room.
        let c = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
        let d = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4));
        assert!(l.allow(c, t0 + Duration::from_secs(1)));
        assert!(
            !l.allow(d, t0 + Duration::from_secs(30)),
            "table full of live entries"
        );
        assert_eq!(l.tracked(), 3);
        assert!(l.allow(d, t0 + Duration::from_secs(200)));
        assert_eq!(l.tracked(), 1, "expired entries dropped");
    }
}
