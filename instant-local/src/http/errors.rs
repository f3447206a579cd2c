//! Turning [`ApiError`]s into HTTP responses (spec `admin-http.md` §1.6), plus the
//! non-JSON answers (malformed JSON body, unmatched route).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use instant_core::{ApiError, ErrorKind};
use serde_json::{json, Value};

/// An [`ApiError`] as an axum response: its status and `to_body()` JSON.
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = if self.0.kind == ErrorKind::OauthError {
            json!({"type": "oauth-error", "error": self.0.message})
        } else {
            self.0.to_body()
        };
        (status, axum::Json(body)).into_response()
    }
}

/// Answers a handler result as JSON (200) or the error envelope.
pub fn respond(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}

/// `400 Malformed JSON in request body.` as plain text (ring-json's answer).
pub fn malformed_json() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Malformed JSON in request body.",
    )
        .into_response()
}

/// 404 `{"message": "Oops! We couldn't match this route."}`.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": "Oops! We couldn't match this route."})),
    )
        .into_response()
}

/// Formats a parameter path the way Clojure prints a vector of strings:
/// `["body" "query"]`.
pub fn clj_path(path: &[&str]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|p| serde_json::to_string(p).unwrap_or_default())
        .collect();
    format!("[{}]", parts.join(" "))
}

/// `param-missing` for `path`.
pub fn param_missing(path: &[&str]) -> ApiError {
    ApiError::new(
        ErrorKind::ParamMissing,
        format!("Missing parameter: {}", clj_path(path)),
    )
    .with_hint(json!({ "in": path }))
}

/// `param-malformed` for `path` with the offending input.
pub fn param_malformed(path: &[&str], input: Value) -> ApiError {
    ApiError::new(
        ErrorKind::ParamMalformed,
        format!("Malformed parameter: {}", clj_path(path)),
    )
    .with_hint(json!({ "in": path, "original-input": input }))
}

/// A crash turned into the server's generic 500 body.
pub fn internal(msg: impl std::fmt::Display) -> ApiError {
    tracing::error!("internal error: {msg}");
    ApiError::new(
        ErrorKind::Unknown,
        "Something went wrong. Sorry about this!",
    )
    .with_hint(json!({}))
}

/// Router middleware giving Instant's envelope to the answers axum makes
/// itself as plain text or with no body: 405 (a known route with another
/// method; axum adds `Allow`), 413 (a body past its route's limit) and the
/// 400 of a body that could not be read. `400 Malformed JSON in request
/// body.` stays plain text, as the official server sends it (ring-json).
pub async fn envelope_plain_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = req.method().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    if !matches!(
        status,
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST
    ) || super::body::is_json(resp.headers())
    {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    };
    if status == StatusCode::BAD_REQUEST && text == "Malformed JSON in request body." {
        return Response::from_parts(parts, axum::body::Body::from(text));
    }
    let err = match status {
        // The `Allow` header is added by axum's method router around this
        // answer, so the allowed methods are not known here.
        StatusCode::METHOD_NOT_ALLOWED => ApiError::validation(
            "method",
            json!(method.as_str()),
            vec![json!({
                "message": format!(
                    "Method {method} is not allowed on this route (see the Allow header)."
                ),
            })],
        )
        .with_status(405),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::validation(
            "body",
            json!(null),
            vec![json!({"message": "The request body is too large."})],
        )
        .with_status(413),
        _ => ApiError::validation(
            "body",
            json!(null),
            vec![
                json!({"message": if text.is_empty() { "The request body could not be read.".to_string() } else { text }}),
            ],
        ),
    };
    HttpError(err).into_response()
}
