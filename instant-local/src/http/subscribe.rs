//! `POST /admin/subscribe-query`: live queries over Server-Sent Events (spec
//! `admin-http.md` §3): `retry:500`, `sse-init`, `add-query-ok` (or an `error`
//! event, stream kept open), then `refresh-ok` after each commit that changes the
//! result, with `:` keep-alive comments in between. Frames wait in the
//! subscriber's bounded queue (`engine::subs::outbox`); past
//! `Limits::max_subscriptions_per_app` the request is answered 429
//! `rate-limited` before any stream starts.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query as QueryParams, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};

use super::admin::{body_object, inference_flag};
use super::auth::authenticate;
use super::body::json_body;
use super::errors::HttpError;
use crate::engine::deadline::Deadline;
use crate::engine::subs::outbox::{FrameKind, Outbox};
use crate::engine::subs::{error_event, hash_text, json_text, next_id, sse_frame, LiveSpec, Sub};
use crate::engine::{query, App, Engine};

/// Removes the subscription when the response body (the client connection) drops.
struct Guard {
    app: Arc<App>,
    id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.app.subs.remove(self.id);
    }
}

/// The handler.
pub async fn subscribe_query(
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
        let (app, actor) = authenticate(&engine, &headers, &params)?;
        let q = body_object(&body, "query")?;
        Ok::<_, instant_core::ApiError>((app, actor, q))
    })();
    let (app, actor, q) = match pre {
        Ok(x) => x,
        Err(e) => return HttpError(e).into_response(),
    };
    let inference = inference_flag(&body);
    // The subscriber's bounded frame queue (see `engine::subs::outbox`).
    let out = Outbox::new(engine.limits.subscriber_queue);
    let mut rx = out.reader();
    let sub_id = next_id();
    let machine_id = uuid::Uuid::new_v4();
    let session_id = uuid::Uuid::new_v4();
    let init = json!({
        "op": "sse-init",
        "machine-id": machine_id.to_string(),
        "session-id": session_id.to_string(),
        "sse-token": uuid::Uuid::new_v4().to_string(),
        "trace-id": Value::Null,
    });
    out.push(FrameKind::Opening, sse_frame(&init.to_string()));

    // How results are shown to this subscriber (rules of an impersonated actor),
    // and the identity of that view: subscriptions with the same query and view
    // share their recomputation.
    let (view, share_key) = {
        let r = (|| {
            let origin = super::storage::origin(&headers);
            let view = super::impersonate::result_view(&engine, &app, &actor, &q, origin.clone())?;
            let share_key = match &view.perms {
                None => format!("admin\u{0}{origin}"),
                Some((_, auth)) => format!(
                    "as\u{0}{origin}\u{0}{}\u{0}{}",
                    app.meta.read().rules.clone().unwrap_or_default(),
                    auth.as_ref().map(Value::to_string).unwrap_or_default()
                ),
            };
            Ok::<_, instant_core::ApiError>((Arc::new(view), share_key))
        })();
        match r {
            Ok(v) => v,
            Err(e) => return super::errors::HttpError(e).into_response(),
        }
    };
    // First result, computed and registered under the state read lock.
    let registered = {
        let engine2 = engine.clone();
        let app2 = app.clone();
        let q2 = q.clone();
        let out2 = out.clone();
        tokio::task::spawn_blocking(move || {
            let st = app2.state.read();
            let parsed = query::parse_query(&st, &q2).and_then(|pq| {
                let deadline = Deadline::after(engine2.limits.query_timeout);
                let budget = query::budget::Budget::new(&deadline, &engine2.limits);
                let mut out = query::run_within(&st, &pq, &q2, inference, true, budget)?;
                view.apply_within(
                    Some(&deadline),
                    &st,
                    &engine2.storage,
                    app2.id(),
                    &mut out.result,
                )?;
                Ok((pq, out))
            });
            match parsed {
                Ok((pq, out)) => {
                    let result_text = json_text(&out.result);
                    let first_result = out.result.clone();
                    let msg = json!({
                        "op": "add-query-ok",
                        "q": q2,
                        "result": out.result,
                        "result-meta": {"page-info": out.page_info, "aggregate": out.aggregate},
                        "processed-tx-id": app2.meta.read().last_tx_id,
                        "client-event-id": uuid::Uuid::new_v4().to_string(),
                        "trace-id": Value::Null,
                    });
                    let sub = Arc::new(Sub {
                        id: sub_id,
                        last_hash: AtomicU64::new(hash_text(&result_text)),
                        out: out2.clone(),
                    });
                    let spec = LiveSpec {
                        raw: q2,
                        parsed: pq,
                        inference,
                        view,
                        share_key: Some(share_key),
                    };
                    // Registered first (it may be refused), then the first result
                    // queued: both under `st`, so no refresh can come before it.
                    app2.subs
                        .add(&app2, &st, spec, &first_result, sub, &engine2)?;
                    out2.push(FrameKind::Opening, sse_frame(&msg.to_string()));
                }
                Err(e) => {
                    out2.push(
                        FrameKind::Opening,
                        sse_frame(&error_event(&e, &q2).to_string()),
                    );
                    // No subscription: the stream ends its frames here.
                    out2.finish();
                }
            }
            drop(st);
            Ok::<_, instant_core::ApiError>(())
        })
        .await
    };
    match registered {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return HttpError(e).into_response(),
        Err(_) => {
            return HttpError(super::errors::internal("subscription setup panicked"))
                .into_response()
        }
    }
    drop(out);

    let keep_alive = engine.keep_alive;
    let mut closed = engine.closed.subscribe();
    let (live_engine, app_id) = (engine.clone(), app.id());
    let guard = Guard {
        app: app.clone(),
        id: sub_id,
    };
    let stream = async_stream::stream! {
        let _guard = guard;
        yield Ok::<Bytes, Infallible>(Bytes::from_static(b"retry:500\n\n"));
        let mut ka = tokio::time::interval(keep_alive);
        ka.tick().await;
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => yield Ok(m),
                    None => {
                        // The app was deleted (or swept): the stream ends.
                        if live_engine.app(app_id).is_none() {
                            break;
                        }
                        // No subscription is registered (invalid query): keep the
                        // stream open with keep-alives until the client leaves.
                        loop {
                            tokio::select! {
                                _ = ka.tick() => yield Ok(Bytes::from_static(b":\n")),
                                _ = closed.changed() => break,
                            }
                        }
                        break;
                    }
                },
                _ = ka.tick() => yield Ok(Bytes::from_static(b":\n")),
                _ = closed.changed() => break,
            }
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "nocache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
