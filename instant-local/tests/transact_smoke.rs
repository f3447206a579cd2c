//! Smoke test: a transaction followed by a nested query.
mod common;
use common::env::*;
use serde_json::json;

#[tokio::test]
async fn update_then_query() {
    let env = Env::new().await;
    let g = uuid::Uuid::new_v4().to_string();
    let t = uuid::Uuid::new_v4().to_string();
    env.tx_ok(json!([["update", "goals", g, {"title": "Get fit"}], ["update", "todos", t, {"title": "Run"}], ["link", "goals", g, {"todos": t}]])).await;
    let r = env.query(json!({"goals": {"todos": {}}})).await;
    assert_eq!(
        r,
        json!({"goals": [{"id": g, "title": "Get fit", "todos": [{"id": t, "title": "Run"}]}]})
    );
    let r = env.query(json!({"todos": {"goals": {}}})).await;
    assert_eq!(r["todos"][0]["goals"][0]["id"], g);
}
