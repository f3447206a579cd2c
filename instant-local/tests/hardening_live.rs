//! Hardening of live queries (`POST /admin/subscribe-query`, spec
//! `admin-http.md` §3): a subscriber that never reads cannot grow the server
//! (each queue is bounded by `Limits::subscriber_queue` and keeps the latest
//! result), a subscriber that leaves frees its subscription and queue, the
//! subscriptions of an app are bounded by `Limits::max_subscriptions_per_app`,
//! and `refresh-ok` frames carry what the clients read, not the app's attrs.
//!
//! Memory is asserted by counting (`LocalServer::live_query_stats`), never by
//! RSS or wall time.
mod common;
use common::env::*;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn env_with(limits: instant_local::Limits) -> Env {
    let server = instant_local::LocalServer::builder()
        .limits(limits)
        .sse_keep_alive(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let app = server.create_app("live").await.unwrap();
    Env {
        server,
        app,
        http: reqwest::Client::new(),
    }
}

/// The app's live-query stats (`LocalServer::live_query_stats`).
macro_rules! stats {
    ($env:expr) => {
        $env.server.live_query_stats($env.app.app_id).unwrap()
    };
}

/// Waits (generously: 30 s) until `$cond` holds for the stats bound to `$s`.
macro_rules! wait_stats {
    ($env:expr, $what:expr, |$s:ident| $cond:expr) => {{
        let mut ok = false;
        for _ in 0..300 {
            let $s = stats!($env);
            if $cond {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ok, "{}: never reached; stats {:?}", $what, stats!($env));
    }};
}

/// A subscriber on a raw socket with a tiny receive buffer that sends the
/// subscribe request and then reads nothing (until asked to).
async fn raw_subscriber(env: &Env, query: Value) -> tokio::net::TcpStream {
    let addr: std::net::SocketAddr = env
        .server
        .url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut s = sock.connect(addr).await.unwrap();
    let body = json!({ "query": query }).to_string();
    let req = format!(
        "POST /admin/subscribe-query HTTP/1.1\r\nhost: {addr}\r\napp-id: {}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        env.app.app_id,
        env.app.admin_token,
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

/// A todo whose result is ~1 MB, so that a few unread results fill the
/// socket buffers; returns its id.
async fn big_todo(env: &Env) -> String {
    let t = id();
    env.tx_ok(json!([["update", "todos", t, {"blob": "x".repeat(1024 * 1024), "n": -1}]]))
        .await;
    t
}

/// Transactions `0..n` setting the big todo's `n`, each changing the result
/// and each waited for until its refresh is done (so that every one sends a
/// `refresh-ok` instead of being coalesced with the next); returns the last tx id.
async fn churn(env: &Env, todo: &str, n: i64) -> i64 {
    let mut last = 0;
    for k in 0..n {
        last = env
            .tx_ok(json!([["update", "todos", todo, {"n": k}]]))
            .await;
        wait_stats!(env, "refresh settled", |s| s.settled_tx_id >= last);
    }
    last
}

/// One frame of the big result, in bytes (an upper bound used by the checks).
const FRAME: usize = 1024 * 1024 + 4096;

// Finding: ten subscribers that never read grew the server by 5.5 MB per
// transaction. The official server hands each event to Undertow's SSE
// connection (`server/src/instant/reactive/session.clj` undertow-sse-admin-config,
// `instant.reactive.sse`); here each subscriber's queue is bounded and a slow
// subscriber only gets the latest of the results it missed (every `refresh-ok`
// is a full snapshot, `admin-http.md` §3.3).
#[tokio::test]
async fn unread_subscriber_queue_is_bounded_and_ends_on_the_latest_result() {
    let mut limits = instant_local::Limits::default();
    limits.subscriber_queue = 4;
    let env = env_with(limits).await;
    let todo = big_todo(&env).await;
    let mut s = raw_subscriber(&env, json!({"todos": {}})).await;
    wait_stats!(env, "subscribed", |s| s.subscriptions == 1);

    let txs = 60;
    let last = churn(&env, &todo, txs).await;
    wait_stats!(env, "refresh settled", |s| s.settled_tx_id >= last);
    let st = stats!(env);
    assert!(st.queued_frames <= 4, "queue grew past the bound: {st:?}");
    assert!(st.queued_bytes <= 4 * FRAME, "queued bytes: {st:?}");
    assert!(st.superseded_frames > 0, "nothing was superseded: {st:?}");

    // Reading now delivers the latest result (never dropped), after fewer
    // refreshes than transactions.
    let want = format!("\"n\":{}", txs - 1);
    let mut text = String::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !text.contains(&want) {
        let n = tokio::time::timeout_at(deadline, s.read(&mut buf))
            .await
            .expect("latest result never arrived")
            .unwrap();
        assert!(n > 0, "stream ended before the latest result");
        // Keep only the small parts: drop the big blob strings as they come.
        text.push_str(&String::from_utf8_lossy(&buf[..n]).replace('x', ""));
    }
    let refreshes = text.matches("\"op\":\"refresh-ok\"").count();
    assert!(
        refreshes < txs as usize,
        "{refreshes} refreshes for {txs} transactions: nothing was coalesced"
    );
    assert!(text.contains("\"op\":\"sse-init\"") && text.contains("\"op\":\"add-query-ok\""));
}

// Finding: 600 MB stayed after the slow subscribers left. A subscriber that
// disconnects without ever reading frees its subscription and its queue.
#[tokio::test]
async fn subscribers_that_leave_without_reading_free_their_queues() {
    let mut limits = instant_local::Limits::default();
    limits.subscriber_queue = 4;
    let env = env_with(limits).await;
    let todo = big_todo(&env).await;
    let mut socks = Vec::new();
    for _ in 0..10 {
        socks.push(raw_subscriber(&env, json!({"todos": {}})).await);
    }
    wait_stats!(env, "subscribed", |s| s.subscriptions == 10);
    let last = churn(&env, &todo, 30).await;
    wait_stats!(env, "refresh settled", |s| s.settled_tx_id >= last);
    let st = stats!(env);
    assert!(st.queued_frames <= 10 * 4, "{st:?}");
    assert!(st.queued_bytes <= 10 * 4 * FRAME, "{st:?}");

    drop(socks);
    // One more change makes the server write to the dead sockets; keep-alives
    // (200 ms here) would too.
    churn(&env, &todo, 1).await;
    wait_stats!(env, "subscriptions freed", |s| s.subscriptions == 0
        && s.live_queries == 0
        && s.queued_frames == 0
        && s.queued_bytes == 0);
}

// `Limits::max_subscriptions_per_app` refuses further subscriptions with a
// JSON error before any stream starts (spec §3.1: pre-stream failures are
// normal JSON error responses); a slot is free again once one leaves.
#[tokio::test]
async fn subscriptions_per_app_are_bounded() {
    let mut limits = instant_local::Limits::default();
    limits.max_subscriptions_per_app = 2;
    let env = env_with(limits).await;
    let mut a = Sse::open(&env, json!({"query": {"todos": {}}}))
        .await
        .unwrap();
    let b = Sse::open(&env, json!({"query": {"goals": {}}}))
        .await
        .unwrap();
    assert_eq!(a.next_event(5).await.unwrap()["op"], "sse-init");
    assert_eq!(a.next_event(5).await.unwrap()["op"], "add-query-ok");
    let (status, body) = match Sse::open(&env, json!({"query": {"todos": {}}})).await {
        Err(e) => e,
        Ok(_) => panic!("a third subscription was accepted"),
    };
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["type"], "rate-limited", "{body}");
    assert_eq!(body["hint"]["limit"], 2, "{body}");
    assert_eq!(stats!(env).subscriptions, 2);

    drop(b);
    wait_stats!(env, "one left", |s| s.subscriptions == 1);
    let mut c = Sse::open(&env, json!({"query": {"todos": {}}}))
        .await
        .unwrap();
    assert_eq!(c.next_event(5).await.unwrap()["op"], "sse-init");
    assert_eq!(c.next_event(5).await.unwrap()["op"], "add-query-ok");
}

// Finding: `refresh-ok` carried every attribute of the app (13 MB after
// 50,000 attributes). The official JS admin SDK reads only `op`,
// `computations[0]["instaql-result"]` and `computations[0]["result-meta"]
// ["page-info"]` of a `refresh-ok` (`client/packages/admin/src/subscribe.ts`
// handleMessage); the `attrs` the official server attaches for sessions without
// the `skip-attrs` feature (`server/src/instant/reactive/session.clj`
// handle-refresh!) are read by no admin client, so they are not sent.
#[tokio::test]
async fn refresh_ok_does_not_carry_the_app_attributes() {
    let env = env_with(instant_local::Limits::default()).await;
    // 2,000 attributes in another namespace.
    let wide: serde_json::Map<String, Value> =
        (0..2000).map(|i| (format!("f{i}"), json!(i))).collect();
    env.tx_ok(json!([["update", "wide", id(), wide]])).await;
    let mut sse = Sse::open(&env, json!({"query": {"todos": {}}}))
        .await
        .unwrap();
    assert_eq!(sse.next_event(5).await.unwrap()["op"], "sse-init");
    let ok = sse.next_event(5).await.unwrap();
    assert_eq!(ok["op"], "add-query-ok");
    assert!(ok.get("attrs").is_none());

    let t = id();
    let tx = env
        .tx_ok(json!([["update", "todos", t, {"title": "a"}]]))
        .await;
    let r = sse.next_event(5).await.unwrap();
    assert_eq!(r["op"], "refresh-ok");
    assert!(r.get("attrs").is_none(), "refresh-ok carries attrs");
    assert!(
        r.to_string().len() < 2048,
        "refresh-ok of one todo is {} bytes",
        r.to_string().len()
    );
    // What the clients read is all there.
    assert_eq!(r["processed-tx-id"], tx);
    let c = &r["computations"][0];
    assert_eq!(
        c["instaql-result"],
        json!({"todos": [{"id": t, "title": "a"}]})
    );
    assert_eq!(c["result-meta"]["page-info"], json!({}));
    assert_eq!(c["instaql-query"], json!({"todos": {}}));
    assert!(c["instaql-query-hash"].is_number());
}
