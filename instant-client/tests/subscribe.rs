//! Live queries against a recording SSE server: the captured request (1.6), frame
//! handling, reconnects with a stable `local_connection_id`, the server's retry
//! hint, the 5 s error grace period, permanent failures, close and drop.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use common::*;
use futures::StreamExt;
use instant_client::{Error, ReadyState};
use instant_core::{Query, QueryNode};
use serde_json::json;
use tokio::sync::mpsc;

type Conns = Arc<Mutex<Vec<mpsc::UnboundedSender<String>>>>;

/// A recorder whose `/admin/subscribe-query` answers an event stream fed by the
/// test through the connection's sender (dropping it closes the stream).
async fn sse_recorder() -> (Recorder, Conns) {
    let conns: Conns = Arc::new(Mutex::new(Vec::new()));
    let c2 = conns.clone();
    let rec = Recorder::start(move |_| {
        let (tx, rx) = mpsc::unbounded_channel::<String>();
        c2.lock().unwrap().push(tx);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|s| (Ok::<_, std::io::Error>(axum::body::Bytes::from(s)), rx))
        });
        Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .header("cache-control", "nocache")
            .body(Body::from_stream(stream))
            .unwrap()
    })
    .await;
    (rec, conns)
}

fn conn(conns: &Conns, i: usize) -> mpsc::UnboundedSender<String> {
    conns.lock().unwrap()[i].clone()
}

async fn wait_conns(conns: &Conns, n: usize) {
    let t = Instant::now();
    while conns.lock().unwrap().len() < n {
        assert!(t.elapsed() < Duration::from_secs(10), "no connection {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn frame(v: serde_json::Value) -> String {
    format!("data:{v}\n\n")
}

async fn next(sub: &mut instant_client::Subscription) -> Result<instant_client::QueryUpdate, Error> {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("an update within 10 s")
        .expect("the stream is still open")
}

#[tokio::test]
async fn subscribe_matches_capture_and_delivers_updates() {
    let (rec, conns) = sse_recorder().await;
    let db = rec.client();
    let mut sub = db
        .subscribe_query(&Query::new().ns("goals", QueryNode::new()))
        .unwrap();
    wait_conns(&conns, 1).await;
    let c = conn(&conns, 0);
    c.send("retry:50\n\n".into()).unwrap();
    c.send(frame(json!({"op": "sse-init", "machine-id": "m1", "session-id": "s1", "sse-token": "t", "trace-id": null}))).unwrap();
    c.send(frame(json!({"op": "add-query-ok", "q": {"goals": {}}, "result": {"goals": []},
        "result-meta": {"page-info": {}, "aggregate": {}}, "processed-tx-id": 1}))).unwrap();
    c.send(":\n".into()).unwrap(); // keep-alive comment
    c.send(frame(json!({"op": "refresh-ok", "computations": [{"instaql-result": {"goals": [{"id": "x"}]},
        "result-meta": {"page-info": {"goals": {"start-cursor": ["x", "a", 1, 2], "end-cursor": ["x", "a", 1, 2],
        "has-next-page?": false, "has-previous-page?": false}}}}], "attrs": []}))).unwrap();

    let u1 = next(&mut sub).await.unwrap();
    assert_eq!(u1.data, json!({"goals": []}));
    assert_eq!(u1.session.as_ref().unwrap().machine_id, "m1");
    assert_eq!(u1.session.as_ref().unwrap().session_id, "s1");
    let u2 = next(&mut sub).await.unwrap();
    assert_eq!(u2.data["goals"][0]["id"], "x");
    assert!(!u2.page_info.as_ref().unwrap()["goals"].has_next_page);
    assert_eq!(sub.ready_state(), ReadyState::Open);

    let r = rec.last();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/admin/subscribe-query");
    let q = r.query.clone().unwrap();
    let lcid = q.strip_prefix("local_connection_id=").expect("only local_connection_id");
    assert_eq!(lcid, sub.local_connection_id().to_string());
    assert!(uuid::Uuid::parse_str(lcid).is_ok());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("app-id"), Some(APP_ID));
    assert_eq!(r.header("authorization"), Some(format!("Bearer {ADMIN_TOKEN}").as_str()));
    assert_eq!(r.header("accept"), Some("*/*"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.header("instant-admin-version").is_none(), "versions travel in the body");
    assert!(r.header("instant-core-version").is_none());
    let v = instant_client::VERSION;
    assert_eq!(
        r.json(),
        json!({"query": {"goals": {}}, "inference?": false,
               "versions": {"@instantdb/admin": v, "@instantdb/core": v}})
    );
    sub.close();
}

#[tokio::test]
async fn reconnects_with_the_same_local_connection_id() {
    let (rec, conns) = sse_recorder().await;
    let mut sub = rec.client().subscribe_query_raw(json!({"goals": {}})).unwrap();
    wait_conns(&conns, 1).await;
    let c = conn(&conns, 0);
    c.send("retry:50\n\n".into()).unwrap();
    c.send(frame(json!({"op": "sse-init", "machine-id": "m1", "session-id": "s1"}))).unwrap();
    c.send(frame(json!({"op": "add-query-ok", "result": {"goals": []}}))).unwrap();
    assert_eq!(next(&mut sub).await.unwrap().data, json!({"goals": []}));

    // The server drops the stream.
    let started = Instant::now();
    drop(c);
    conns.lock().unwrap().remove(0);
    wait_conns(&conns, 1).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the 50 ms retry hint was used (took {:?})",
        started.elapsed()
    );
    let c = conn(&conns, 0);
    c.send(frame(json!({"op": "sse-init", "machine-id": "m1", "session-id": "s2"}))).unwrap();
    c.send(frame(json!({"op": "add-query-ok", "result": {"goals": [{"id": "y"}]}}))).unwrap();
    // No error within the grace period: the next item is the fresh result.
    let u = next(&mut sub).await.unwrap();
    assert_eq!(u.data["goals"][0]["id"], "y");
    assert_eq!(u.session.unwrap().session_id, "s2");

    let reqs = rec.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].query, reqs[1].query, "same local_connection_id");
    assert_eq!(reqs[0].body, reqs[1].body, "same POST body");
}

#[tokio::test]
async fn error_events_keep_the_stream_open() {
    let (rec, conns) = sse_recorder().await;
    let mut sub = rec.client().subscribe_query_raw(json!({"goals": {}})).unwrap();
    wait_conns(&conns, 1).await;
    let c = conn(&conns, 0);
    c.send(frame(json!({"op": "error", "status": 400, "type": "validation-failed",
        "message": "Validation failed for query", "hint": {"data-type": "query"}, "trace-id": "t1"}))).unwrap();
    c.send("data:{not json}\n\n".into()).unwrap();
    c.send(frame(json!({"op": "add-query-ok", "result": {"goals": []}}))).unwrap();
    let e = next(&mut sub).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.kind(), Some(&instant_client::ErrorKind::ValidationFailed));
    assert_eq!(e.trace_id(), Some("t1"));
    assert!(matches!(next(&mut sub).await, Err(Error::Decode { .. })));
    assert!(next(&mut sub).await.is_ok());
    assert_eq!(rec.count(), 1);
}

#[tokio::test]
async fn a_non_200_answer_ends_the_subscription() {
    let rec = Recorder::start(|_| {
        json_response(400, &json!({"type": "param-missing", "message": "Missing parameter: [\"headers\" \"authorization\"]",
            "hint": {"in": ["headers", "authorization"]}}))
    })
    .await;
    let mut sub = rec.client().subscribe_query_raw(json!({"goals": {}})).unwrap();
    let e = next(&mut sub).await.unwrap_err();
    assert_eq!(e.kind(), Some(&instant_client::ErrorKind::ParamMissing));
    assert!(tokio::time::timeout(Duration::from_secs(5), sub.next()).await.unwrap().is_none());
    assert_eq!(sub.ready_state(), ReadyState::Closed);
    assert_eq!(rec.count(), 1, "no reconnect after a non-200 answer");

    // 200 without text/event-stream is a permanent failure too.
    let rec = Recorder::json(json!({"goals": []})).await;
    let mut sub = rec.client().subscribe_query_raw(json!({"goals": {}})).unwrap();
    assert!(next(&mut sub).await.is_err());
    assert!(tokio::time::timeout(Duration::from_secs(5), sub.next()).await.unwrap().is_none());
}

#[tokio::test]
async fn lost_connection_is_reported_only_after_the_grace_period() {
    // A raw server: one SSE answer, then the port closes (connection refused).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<Instant>();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = s.read(&mut buf).await.unwrap();
        let body = format!(
            "retry:50\n\n{}{}",
            frame(json!({"op": "sse-init", "machine-id": "m", "session-id": "s"})),
            frame(json!({"op": "add-query-ok", "result": {"goals": []}}))
        );
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(s);
        drop(listener);
        let _ = dropped_tx.send(Instant::now());
    });
    let db = instant_client::Client::builder()
        .app_id(APP_ID)
        .admin_token(ADMIN_TOKEN)
        .api_uri(url)
        .build()
        .unwrap();
    let mut sub = db.subscribe_query_raw(json!({"goals": {}})).unwrap();
    assert!(next(&mut sub).await.is_ok());
    let e = next(&mut sub).await.unwrap_err();
    let dropped_at = dropped_rx.await.unwrap();
    let waited = dropped_at.elapsed();
    assert!(
        waited >= Duration::from_millis(4800),
        "error delivered after {waited:?}, before the 5 s grace period"
    );
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert_eq!(sub.ready_state(), ReadyState::Connecting, "still trying to reconnect");
    sub.close();
    assert!(sub.next().await.is_none());
}

#[tokio::test]
async fn close_and_drop_end_the_connection() {
    let (rec, conns) = sse_recorder().await;
    let db = rec.client();
    let mut sub = db.subscribe_query_raw(json!({"goals": {}})).unwrap();
    wait_conns(&conns, 1).await;
    let c = conn(&conns, 0);
    c.send(frame(json!({"op": "add-query-ok", "result": {"goals": []}}))).unwrap();
    next(&mut sub).await.unwrap();
    sub.close();
    assert!(sub.is_closed());
    assert!(sub.next().await.is_none());
    tokio::time::timeout(Duration::from_secs(5), c.closed())
        .await
        .expect("the server sees the connection closed");

    let sub = db.subscribe_query_raw(json!({"goals": {}})).unwrap();
    wait_conns(&conns, 2).await;
    let c = conn(&conns, 1);
    drop(sub);
    tokio::time::timeout(Duration::from_secs(5), c.closed())
        .await
        .expect("dropping the subscription closes the connection");
}

#[tokio::test]
async fn callback_form() {
    let (rec, conns) = sse_recorder().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = rec
        .client()
        .subscribe_query_callback(&Query::new().ns("goals", QueryNode::new()), move |u| {
            let _ = tx.send(u);
        })
        .unwrap();
    wait_conns(&conns, 1).await;
    let c = conn(&conns, 0);
    c.send(frame(json!({"op": "add-query-ok", "result": {"goals": []}}))).unwrap();
    c.send(frame(json!({"op": "refresh-ok", "computations": [{"instaql-result": {"goals": [{"id": "z"}]}}]}))).unwrap();
    let a = rx.recv().await.unwrap().unwrap();
    let b = rx.recv().await.unwrap().unwrap();
    assert_eq!(a.data, json!({"goals": []}));
    assert_eq!(b.data["goals"][0]["id"], "z");
    assert_eq!(handle.ready_state(), ReadyState::Open);
    handle.close();
    tokio::time::timeout(Duration::from_secs(5), c.closed())
        .await
        .expect("close ends the connection");
}
