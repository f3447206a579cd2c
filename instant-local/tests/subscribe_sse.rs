//! Live queries over SSE (`POST /admin/subscribe-query`, spec `admin-http.md` §3):
//! event sequence, refresh after transactions, only-when-changed, error events that
//! keep the stream open, page info, keep-alives, pre-stream errors.
mod common;
use common::env::*;
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn ks_env() -> Env {
    // Short keep-alive so the test can see `:` comments.
    let server = instant_local::LocalServer::builder()
        .sse_keep_alive(std::time::Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let app = server.create_app("sse").await.unwrap();
    Env {
        server,
        app,
        http: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn init_add_query_ok_and_refreshes() {
    let env = ks_env().await;
    let a = id();
    env.tx_ok(json!([["update", "todos", a, {"title": "a"}]]))
        .await;
    let mut sse = Sse::open(&env, json!({"query": {"todos": {}}}))
        .await
        .unwrap();
    let init = sse.next_event(5).await.unwrap();
    assert_eq!(init["op"], "sse-init");
    assert!(
        init["machine-id"].is_string()
            && init["session-id"].is_string()
            && init["sse-token"].is_string()
    );
    assert!(init.as_object().unwrap().contains_key("trace-id"));
    assert_eq!(sse.retry.as_deref(), Some("500"));
    let ok = sse.next_event(5).await.unwrap();
    assert_eq!(ok["op"], "add-query-ok");
    assert_eq!(ok["q"], json!({"todos": {}}));
    assert_eq!(ok["result"], json!({"todos": [{"id": a, "title": "a"}]}));
    assert_eq!(ok["result-meta"]["page-info"], json!({}));

    // A transaction that changes the result → refresh-ok with the full new result.
    let b = id();
    let tx = env
        .tx_ok(json!([["update", "todos", b, {"title": "b"}]]))
        .await;
    let r = sse.next_event(5).await.unwrap();
    assert_eq!(r["op"], "refresh-ok");
    assert_eq!(r["processed-tx-id"], tx);
    let res = &r["computations"][0]["instaql-result"];
    assert_eq!(ids(&res["todos"]).len(), 2);
    // No `attrs`: no admin client reads them (see hardening_live.rs).
    assert!(r.get("attrs").is_none());

    // Transactions on other namespaces or without a visible change send nothing;
    // the next event is the refresh for the later real change.
    env.tx_ok(json!([["update", "other", id(), {"x": 1}]]))
        .await;
    env.tx_ok(json!([["update", "todos", a, {"title": "a"}]]))
        .await;
    env.tx_ok(json!([["delete", "todos", a]])).await;
    let r = sse.next_event(5).await.unwrap();
    assert_eq!(r["op"], "refresh-ok");
    assert_eq!(
        r["computations"][0]["instaql-result"],
        json!({"todos": [{"id": b, "title": "b"}]})
    );

    // Keep-alive comments arrive while idle.
    assert!(sse.next_event(1).await.is_none());
    assert!(sse.comments > 0, "no keep-alive seen");
}

#[tokio::test]
async fn linked_namespaces_trigger_refresh() {
    let env = ks_env().await;
    let (g, t) = (id(), id());
    env.tx_ok(json!([["update", "goals", g, {"title": "g"}]]))
        .await;
    let mut sse = Sse::open(
        &env,
        json!({"query": {"goals": {"todos": {}}}, "inference?": true}),
    )
    .await
    .unwrap();
    sse.next_event(5).await.unwrap();
    let ok = sse.next_event(5).await.unwrap();
    assert_eq!(ok["result"]["goals"][0]["todos"], json!([]));
    env.tx_ok(json!([["update", "todos", t, {"title": "t"}], ["link", "goals", g, {"todos": t}]]))
        .await;
    let r = sse.next_event(5).await.unwrap();
    assert_eq!(
        r["computations"][0]["instaql-result"]["goals"][0]["todos"][0]["id"],
        t
    );
    // Changing the nested entity refreshes too.
    env.tx_ok(json!([["update", "todos", t, {"title": "t2"}]]))
        .await;
    let r = sse.next_event(5).await.unwrap();
    assert_eq!(
        r["computations"][0]["instaql-result"]["goals"][0]["todos"][0]["title"],
        "t2"
    );
}

#[tokio::test]
async fn page_info_for_paginated_queries() {
    let env = ks_env().await;
    for i in 0..3 {
        env.tx_ok(json!([["update", "items", id(), {"i": i}]]))
            .await;
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let mut sse = Sse::open(&env, json!({"query": {"items": {"$": {"limit": 2}}}}))
        .await
        .unwrap();
    sse.next_event(5).await.unwrap();
    let ok = sse.next_event(5).await.unwrap();
    let pi = &ok["result-meta"]["page-info"]["items"];
    assert_eq!(pi["has-next-page?"], true);
    assert_eq!(pi["has-previous-page?"], false);
    let start = pi["start-cursor"].as_array().unwrap();
    assert_eq!(start.len(), 4);
    assert_eq!(start[0], ok["result"]["items"][0]["id"]);
    assert_eq!(start[2], ok["result"]["items"][0]["id"]);
    // The end cursor pages forward through /admin/query.
    let end = pi["end-cursor"].clone();
    let r = env
        .query(json!({"items": {"$": {"after": end, "first": 2}}}))
        .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["items"][0]["i"], 2);
    let r = env
        .query(json!({"items": {"$": {"before": pi["end-cursor"], "beforeInclusive": true}}}))
        .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn invalid_query_sends_error_event_and_stays_open() {
    let env = ks_env().await;
    let mut sse = Sse::open(&env, json!({"query": {"todos": {"$": {"limit": -1}}}}))
        .await
        .unwrap();
    assert_eq!(sse.next_event(5).await.unwrap()["op"], "sse-init");
    let e = sse.next_event(5).await.unwrap();
    assert_eq!(e["op"], "error");
    assert_eq!(e["status"], 400);
    assert_eq!(e["type"], "validation-failed");
    assert_eq!(
        e["message"],
        "Validation failed for query: The limit field must be a positive integer. Got -1."
    );
    assert_eq!(e["original-event"]["op"], "add-query");
    // Still open: keep-alives keep coming.
    assert!(sse.next_event(1).await.is_none());
    assert!(sse.comments > 0);
}

#[tokio::test]
async fn pre_stream_errors_are_plain_json() {
    let env = ks_env().await;
    let err = Sse::open(&env, json!({"nope": 1})).await.err().unwrap();
    assert_eq!(err.0, 400);
    assert_eq!(err.1["message"], "Missing parameter: [\"body\" \"query\"]");
    let r = env
        .http
        .post(format!("{}/admin/subscribe-query", env.server.url()))
        .header("app-id", env.app.app_id.to_string())
        .header("authorization", format!("Bearer {}", uuid::Uuid::new_v4()))
        .json(&json!({"query": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["type"], "record-not-found");
}

#[tokio::test]
async fn many_subscribers_all_get_refreshed() {
    let env = ks_env().await;
    let mut subs = Vec::new();
    for i in 0..50 {
        let ns = if i % 2 == 0 { "even" } else { "odd" };
        let mut s = Sse::open(&env, json!({"query": {ns: {}}})).await.unwrap();
        s.next_event(5).await.unwrap();
        s.next_event(5).await.unwrap();
        subs.push((ns, s));
    }
    env.tx_ok(json!([["update", "even", id(), {"v": 1}]])).await;
    for (ns, s) in subs.iter_mut() {
        if *ns == "even" {
            let r = s.next_event(5).await.unwrap();
            assert_eq!(r["op"], "refresh-ok");
        }
    }
    env.tx_ok(json!([["update", "odd", id(), {"v": 1}]])).await;
    for (ns, s) in subs.iter_mut() {
        if *ns == "odd" {
            let r = s.next_event(5).await.unwrap();
            assert_eq!(
                r["computations"][0]["instaql-result"]["odd"]
                    .as_array()
                    .unwrap()
                    .len(),
                1
            );
        }
    }
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let env = ks_env().await;
    let mut ok = Sse::open(&env, json!({"query": {"todos": {}}}))
        .await
        .unwrap();
    let mut bad = Sse::open(&env, json!({"query": {"todos": {"$": {"limit": 0}}}}))
        .await
        .unwrap();
    ok.next_event(5).await.unwrap();
    bad.next_event(5).await.unwrap();
    let t = std::time::Instant::now();
    env.server.shutdown().await;
    assert!(
        t.elapsed() < std::time::Duration::from_secs(4),
        "shutdown hung"
    );
    // Both streams end.
    while ok.next_event(2).await.is_some() {}
    while bad.next_event(2).await.is_some() {}
}
