//! Concurrency and durability: many concurrent writers lose nothing; a file
//! database survives a restart (apps, attrs, triples, created-at order, tx ids).
mod common;
use common::env::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_nothing() {
    let env = std::sync::Arc::new(Env::new().await);
    let mut tasks = Vec::new();
    for t in 0..16 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let id = uuid::Uuid::new_v4().to_string();
                env.tx_ok(json!([["update", "events", id, {"task": t, "i": i}], ["merge", "counters", "00000000-0000-4000-8000-000000000001", {"seen": {format!("{t}-{i}"): true}}]])).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = env.query(json!({"events": {}, "counters": {}})).await;
    assert_eq!(r["events"].as_array().unwrap().len(), 16 * 25);
    // Every merge landed (merges on one entity serialise).
    assert_eq!(r["counters"][0]["seen"].as_object().unwrap().len(), 16 * 25);
}

#[tokio::test]
async fn file_database_survives_restart() {
    let dir = std::env::temp_dir().join(format!("instant-local-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("data.db");
    let ids: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let (creds, last_tx) = {
        let server = instant_local::LocalServer::builder()
            .db_path(&db)
            .start()
            .await
            .unwrap();
        let app = server.create_app("durable").await.unwrap();
        let env = Env {
            server,
            app: app.clone(),
            http: reqwest::Client::new(),
        };
        let schema_attr = json!(["add-attr", {"id": uuid::Uuid::new_v4().to_string(), "forward-identity": [uuid::Uuid::new_v4().to_string(), "notes", "rank"], "value-type": "blob", "cardinality": "one", "unique?": true, "index?": true, "checked-data-type": "number"}]);
        env.tx_ok(json!([schema_attr])).await;
        let mut last = 0;
        for (i, id) in ids.iter().enumerate() {
            last = env.tx_ok(json!([["update", "notes", id, {"rank": i, "text": format!("n{i}")}], ["link", "notes", id, {"tags": ids[0]}]])).await;
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        env.tx_ok(json!([["update", "tags", ids[0], {"name": "t"}]]))
            .await;
        env.server.shutdown().await;
        (app, last)
    };
    let server = instant_local::LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .unwrap();
    let env = Env {
        server,
        app: creds,
        http: reqwest::Client::new(),
    };
    let r = env.query(json!({"notes": {"tags": {}}})).await;
    assert_eq!(ids_of(&r["notes"]), ids);
    assert_eq!(r["notes"][2]["text"], "n2");
    assert_eq!(r["notes"][1]["tags"][0]["name"], "t");
    // Attr flags survived: unique + typed + indexed.
    env.tx_err(
        json!([["update", "notes", uuid::Uuid::new_v4().to_string(), {"rank": 1}]]),
        "`rank` is a unique attribute on `notes` and an entity already exists with `notes.rank` = 1",
    )
    .await;
    let r = env
        .query(json!({"notes": {"$": {"where": {"rank": {"$gte": 1}}, "order": {"rank": "desc"}}}}))
        .await;
    assert_eq!(ids_of(&r["notes"]), vec![ids[2].clone(), ids[1].clone()]);
    // tx ids keep increasing across restarts
    let t = env
        .tx_ok(json!([["update", "notes", ids[0], {"text": "x"}]]))
        .await;
    assert!(t > last_tx);
    env.server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn ids_of(v: &serde_json::Value) -> Vec<String> {
    ids(v)
}
