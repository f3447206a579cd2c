//! `POST /admin/subscribe-query`: live queries over Server-Sent Events (spec
//! `admin-http.md` §3): `retry:500`, `sse-init`, `add-query-ok` (or an `error`
//! event, stream kept open), then `refresh-ok` after each commit that changes the
//! result, with `:` keep-alive comments in between.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query as QueryParams, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::admin::{body_object, inference_flag};
use super::auth::authenticate;
use super::body::json_body;
use super::errors::HttpError;
use crate::engine::subs::{error_event, hash_result, next_id, Sub};
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
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
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
    let _ = tx.send(init.to_string());

    // How results are shown to this subscriber (rules of an impersonated actor).
    let view = {
        let r = (|| {
            let auth = super::impersonate::auth_for(&engine, &app, &actor)?;
            let perms = match auth {
                None => None,
                Some(a) => Some((super::impersonate::app_perms(&app)?, a)),
            };
            Ok::<_, instant_core::ApiError>(Arc::new(crate::engine::permissions::ResultView {
                perms,
                rule_params: q.get("$$ruleParams").cloned(),
                origin: super::storage::origin(&headers),
                query: q.clone(),
            }))
        })();
        match r {
            Ok(v) => v,
            Err(e) => return super::errors::HttpError(e).into_response(),
        }
    };
    // First result, computed and registered under the state read lock.
    {
        let engine2 = engine.clone();
        let app2 = app.clone();
        let q2 = q.clone();
        let tx2 = tx.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let st = app2.state.read();
            let parsed = query::parse_query(&st, &q2)
                .and_then(|pq| query::run(&st, &pq, &q2, inference, true))
                .and_then(|mut out| {
                    view.apply(&st, &engine2.storage, app2.id(), &mut out.result)?;
                    Ok(out)
                });
            match parsed {
                Ok(out) => {
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
                        raw: q2.clone(),
                        inference,
                        topics: Mutex::new(out.topics.clone()),
                        last_hash: Mutex::new(hash_result(&out.result)),
                        tx: tx2.clone(),
                        view: Some(view.clone()),
                    });
                    let _ = tx2.send(msg.to_string());
                    app2.subs.add(&app2, sub, &engine2);
                }
                Err(e) => {
                    let _ = tx2.send(error_event(&e, &q2).to_string());
                }
            }
            drop(st);
            let _: HashSet<String> = HashSet::new();
        })
        .await;
    }
    drop(tx);

    let keep_alive = engine.keep_alive;
    let mut closed = engine.closed.subscribe();
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
                    Some(m) => yield Ok(Bytes::from(format!("data:{m}\n\n"))),
                    None => {
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
