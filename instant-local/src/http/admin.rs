//! `POST /admin/query` and `POST /admin/transact` (spec `admin-http.md` §2.1, §2.2).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query as QueryParams, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use instant_core::{ApiError, ErrorKind};
use serde_json::Value;

use super::auth::authenticate;
use super::body::json_body;
use super::errors::{param_malformed, param_missing, HttpError};
use crate::engine::Engine;

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
    let result = (|| -> Result<Value, ApiError> {
        let (_app, _actor) = authenticate(&engine, &headers, &params)?;
        match body.get("query") {
            None | Some(Value::Null) => return Err(param_missing(&["body", "query"])),
            Some(Value::Object(_)) => {}
            Some(other) => return Err(param_malformed(&["body", "query"], other.clone())),
        }
        Err(ApiError::new(
            ErrorKind::Other("not-implemented".into()),
            "queries are not implemented yet",
        ))
    })();
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}

/// `POST /admin/transact`: body `{"steps": [...], "throw-on-missing-attrs?": bool}`
/// → `{"tx-id": n}`.
pub async fn transact(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let result = (|| -> Result<Value, ApiError> {
        let (_app, _actor) = authenticate(&engine, &headers, &params)?;
        match body.get("steps") {
            None | Some(Value::Null) => return Err(param_missing(&["body", "steps"])),
            Some(Value::Array(_)) => {}
            Some(other) => return Err(param_malformed(&["body", "steps"], other.clone())),
        }
        Err(ApiError::new(
            ErrorKind::Other("not-implemented".into()),
            "transactions are not implemented yet",
        ))
    })();
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}
