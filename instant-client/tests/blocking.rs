//! The blocking API (feature `blocking`) sends the same requests as the async one;
//! subscriptions are iterators.

#![cfg(feature = "blocking")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use common::*;
use instant_client::blocking;
use instant_core::{tx, Id, Query, QueryNode};
use serde_json::json;
use tokio::sync::mpsc;

fn server_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn client(url: &str) -> blocking::Client {
    blocking::Client::builder()
        .app_id(APP_ID)
        .admin_token(ADMIN_TOKEN)
        .api_uri(url)
        .build()
        .unwrap()
}

#[test]
fn blocking_query_transact_auth() {
    let rt = server_rt();
    let rec = rt.block_on(Recorder::start(|r| {
        let body = match r.path.as_str() {
            "/admin/query" => json!({"goals": [{"id": GOAL}]}),
            "/admin/transact" => json!({"tx-id": 9}),
            "/admin/magic_code" => json!({"code": "654321"}),
            _ => json!({}),
        };
        json_response(200, &body)
    }));
    let db = client(&rec.url);
    let v = db.query(&Query::new().ns("goals", QueryNode::new())).unwrap();
    assert_eq!(v["goals"][0]["id"], GOAL);
    let r = rec.last();
    assert_eq!(r.target(), format!("/admin/query?{}", app_q()));
    assert_admin_headers(&r);
    assert_eq!(r.json(), json!({"query": {"goals": {}}, "inference?": false}));

    let id = db
        .transact(tx::entity("goals", Id::parse(GOAL).unwrap()).update(json!({"title": "x"})))
        .unwrap();
    assert_eq!(id, 9);
    assert_eq!(db.auth().generate_magic_code("a@b.co").unwrap(), "654321");
    assert_eq!(rec.last().json(), json!({"email": "a@b.co"}));

    // Clones share the runtime; dropping them is fine.
    let c2 = db.clone();
    drop(db);
    assert!(c2.query_raw(json!({"goals": {}})).is_ok());
}

#[test]
fn blocking_errors_map_the_same() {
    let rt = server_rt();
    let rec = rt.block_on(Recorder::start(|_| {
        json_response(429, &json!({"type": "rate-limited", "message": "slow down"}))
    }));
    let db = blocking::Client::builder()
        .app_id(APP_ID)
        .admin_token(ADMIN_TOKEN)
        .api_uri(&rec.url)
        .max_retries(0)
        .build()
        .unwrap();
    let e = db.query_raw(json!({})).unwrap_err();
    assert!(e.is_rate_limited());
}

#[test]
fn blocking_inside_a_runtime_is_a_config_error() {
    let rt = server_rt();
    let rec = rt.block_on(Recorder::json(json!({})));
    let db = client(&rec.url);
    let e = rt.block_on(async { db.query_raw(json!({})) }).unwrap_err();
    assert!(matches!(e, instant_client::Error::Config(_)), "{e:?}");
    // Dropping a blocking client inside a runtime does not panic.
    rt.block_on(async move { drop(db) });
}

#[test]
fn blocking_subscription_is_an_iterator() {
    let rt = server_rt();
    let conns: Arc<Mutex<Vec<mpsc::UnboundedSender<String>>>> = Arc::default();
    let c2 = conns.clone();
    let rec = rt.block_on(Recorder::start(move |_| {
        let (tx, rx) = mpsc::unbounded_channel::<String>();
        tx.send("data:{\"op\":\"add-query-ok\",\"result\":{\"goals\":[]}}\n\n".into())
            .unwrap();
        tx.send("data:{\"op\":\"refresh-ok\",\"computations\":[{\"instaql-result\":{\"goals\":[{\"id\":\"a\"}]}}]}\n\n".into())
            .unwrap();
        c2.lock().unwrap().push(tx);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|s| (Ok::<_, std::io::Error>(axum::body::Bytes::from(s)), rx))
        });
        Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap()
    }));
    let db = client(&rec.url);
    let mut sub = db.subscribe_query_raw(json!({"goals": {}})).unwrap();
    let updates: Vec<_> = sub.by_ref().take(2).map(|u| u.unwrap().data).collect();
    assert_eq!(updates[0], json!({"goals": []}));
    assert_eq!(updates[1]["goals"][0]["id"], "a");
    // Nothing more arrives: next_timeout reports a timeout.
    assert!(matches!(
        sub.next_timeout(Duration::from_millis(100)),
        Some(Err(instant_client::Error::Timeout(_)))
    ));
    sub.close();
    assert!(sub.next().is_none());
}

#[test]
fn blocking_platform_temporary_app() {
    let rt = server_rt();
    let rec = rt.block_on(Recorder::json(json!({"app": {"id": APP_ID, "title": "t",
        "admin-token": ADMIN_TOKEN}, "expires_ms": 1})));
    let p = blocking::PlatformApi::builder().api_uri(&rec.url).build().unwrap();
    let t = p.create_temporary_app("t", None, None).unwrap();
    assert_eq!(t.app.id.to_string(), APP_ID);
    assert_eq!(rec.last().path, "/dash/apps/ephemeral");
}
