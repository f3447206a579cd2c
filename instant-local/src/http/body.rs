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

/// The largest body a route accepts, in bytes (a request extension set by
/// [`limit_layer`], read by handlers that stream their body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// 413 in Instant's envelope for a body larger than `limit` bytes:
/// `validation-failed` (data type `body`, input `{"limit"}`), status 413.
/// The official server sets no JSON body limit of its own; the local server
/// bounds bodies (see [`crate::Limits::max_json_body_bytes`]) and answers
/// the envelope every Instant client already decodes.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::validation(
        "body",
        serde_json::json!({ "limit": limit }),
        vec![serde_json::json!({
            "message": format!("The request body is larger than the limit of {limit} bytes.")
        })],
    )
    .with_status(413)
}

/// The request's `Content-Length`, when sent and valid.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
}

/// Route middleware bounding the body to `limit` bytes: a `Content-Length`
/// above it is refused with [`too_large`] before any byte is read; a chunked
/// body that passes it is cut by axum's `DefaultBodyLimit` (set next to this
/// layer) and its plain-text 413 replaced by the envelope.
pub async fn enforce_limit(
    limit: usize,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::response::IntoResponse;
    if content_length(req.headers()).is_some_and(|n| n > limit as u64) {
        return super::errors::HttpError(too_large(limit)).into_response();
    }
    req.extensions_mut().insert(BodyLimit(limit));
    let resp = next.run(req).await;
    if resp.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !is_json(resp.headers()) {
        return super::errors::HttpError(too_large(limit)).into_response();
    }
    resp
}

/// Whether a response carries JSON.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"))
}

pin_project_lite::pin_project! {
    /// A request body that fails once `deadline` passes before it has been
    /// read to its end (the body-read timeout, [`crate::Limits::body_read_timeout`]).
    /// When it fires it sets `fired`, which [`body_deadline`] turns into a
    /// 408 answer.
    pub struct DeadlineBody {
        #[pin]
        inner: axum::body::Body,
        #[pin]
        sleep: tokio::time::Sleep,
        fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }
}

/// The error a [`DeadlineBody`] yields when its deadline passes.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        use std::future::Future;
        use std::task::Poll;
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(f) => Poll::Ready(f.map(|r| r.map_err(Into::into))),
            Poll::Pending => match this.sleep.poll(cx) {
                Poll::Ready(()) => {
                    this.fired.store(true, std::sync::atomic::Ordering::Relaxed);
                    Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Router middleware: the body of every request must arrive within
/// `timeout` of its headers; past it the request is answered 408 `timeout`
/// (Instant's envelope, hint `{"timeout-ms"}`) and the connection closes.
pub async fn body_deadline(
    timeout: std::time::Duration,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::response::IntoResponse;
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(DeadlineBody {
        inner: body,
        sleep: tokio::time::sleep(timeout),
        fired: fired.clone(),
    });
    let resp = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    if fired.load(std::sync::atomic::Ordering::Relaxed) {
        let e = ApiError::new(
            instant_core::ErrorKind::Timeout,
            "The request body was not received in time.",
        )
        .with_hint(serde_json::json!({ "timeout-ms": timeout.as_millis() as u64 }))
        .with_status(408);
        let mut r = super::errors::HttpError(e).into_response();
        r.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return r;
    }
    resp
}
