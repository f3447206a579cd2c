//! JSON request bodies: parsed only for a JSON content type (like ring-json),
//! malformed JSON answered with the plain-text 400.

use axum::http::{header, HeaderMap};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use instant_core::ApiError;

use super::errors::{malformed_json, param_malformed, param_missing};

/// Parses `body` as JSON when the content type is `application/json` or
/// `application/*+json`; other content types (or an empty body) give an empty object.
pub fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    let is_json =
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    if !is_json || body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|_| malformed_json())
}

/// The `steps` array of a transact body (`/admin/transact`,
/// `/admin/transact_perms_check`), taken out of `body` (left `null` there).
///
/// # Errors
/// `param-missing` (`["body" "steps"]`) when absent or null, `param-malformed`
/// when not an array.
pub fn steps_param(body: &mut Value) -> Result<Value, ApiError> {
    match body.get_mut("steps") {
        None | Some(Value::Null) => Err(param_missing(&["body", "steps"])),
        Some(v @ Value::Array(_)) => Ok(v.take()),
        Some(other) => Err(param_malformed(&["body", "steps"], other.clone())),
    }
}

/// The life of a JSON request without the admin prelude (temporary apps,
/// token verification): parses the body with [`json_body`] (malformed JSON →
/// the plain-text 400), runs `f` with it on a blocking thread, and answers its
/// JSON or the error envelope.
pub async fn json_call(
    headers: &HeaderMap,
    body: &Bytes,
    f: impl FnOnce(Value) -> Result<Value, ApiError> + Send + 'static,
) -> Response {
    match json_body(headers, body) {
        Ok(v) => super::errors::respond(super::admin::blocking(move || f(v)).await),
        Err(r) => r,
    }
}
