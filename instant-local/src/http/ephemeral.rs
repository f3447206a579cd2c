//! Temporary apps (spec `schema-and-platform.md` E.14): `POST /dash/apps/ephemeral`
//! (no auth; optional `schema` pushed per A.6 and `rules: {code}`) and
//! `GET /dash/apps/ephemeral/:app_id`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use instant_core::{ApiError, ErrorKind, Rules, Schema};
use serde_json::{json, Value};

use super::admin::blocking;
use super::body::json_body;
use super::errors::{param_malformed, param_missing, HttpError};
use crate::engine::{App, Engine};
use crate::store::sqlite::AppRow;

/// Formats epoch ms the way the server prints SQL timestamps (no milliseconds).
fn sql_ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn app_json(row: &AppRow, with_token: bool) -> Value {
    let mut v = json!({
        "id": row.id.to_string(),
        "title": row.title,
        "created_at": sql_ts(row.created_at),
        "creator_id": Value::Null,
        "org_id": Value::Null,
    });
    if with_token {
        v["admin-token"] = json!(row.admin_token);
    }
    v
}

/// `POST /dash/apps/ephemeral`.
pub async fn create(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let r = (|| {
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
                    Rules::from_json(code).map_err(|e| {
                        ApiError::validation(
                            "perms",
                            code.clone(),
                            vec![json!({"message": e.to_string()})],
                        )
                    })?;
                    Some(code.clone())
                }
            },
        };
        Ok::<_, ApiError>((title, schema, rules))
    })();
    let (title, schema, rules) = match r {
        Ok(x) => x,
        Err(e) => return HttpError(e).into_response(),
    };
    let r = blocking(move || {
        let creds = engine
            .create_app(&title, true, schema.as_ref(), rules.as_ref())
            .map_err(super::errors::internal)?;
        let app = engine
            .app(creds.app_id.0)
            .ok_or_else(|| super::errors::internal("app vanished"))?;
        Ok(ephemeral_json(&app, true))
    })
    .await;
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}

fn ephemeral_json(app: &App, with_token: bool) -> Value {
    let row = app.meta.read();
    json!({
        "app": app_json(&row, with_token),
        "expires_ms": row.expires_at.unwrap_or(row.created_at + 14 * 24 * 3600 * 1000),
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
        Some(app) if app.meta.read().ephemeral => {
            axum::Json(ephemeral_json(&app, true)).into_response()
        }
        _ => HttpError(not_found()).into_response(),
    }
}
