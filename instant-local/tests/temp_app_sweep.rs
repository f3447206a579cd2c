//! Sweeping expired temporary apps (spec `schema-and-platform.md` E.14: an app
//! is swept about one day after its `expires_ms`). Instant's sweeper
//! (`server/src/instant/dash/ephemeral_app.clj`, `handle-sweep`) runs daily
//! and deletes the temporary apps created more than 14 + 1 days ago ("give 1
//! extra day as a grace period"); the local server deletes those whose
//! `expires_ms` (created + 14 days) lies more than a day in the past, with all
//! their rows, blobs and live queries, and never touches permanent apps.

mod common;

use std::time::Duration;

use common::env::{AppClient, TempApp};
use common::fixtures::TempDir;
use instant_local::files::FileStore;
use instant_local::LocalServer;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// `expires_ms` of a temporary app, from `GET /dash/apps/ephemeral/:id`.
async fn expires_ms(app: &AppClient) -> i64 {
    let (s, b) = get_ephemeral(app, &app.app_id).await;
    assert_eq!(s, 200, "{b}");
    b["expires_ms"].as_i64().expect("expires_ms")
}

async fn get_ephemeral(app: &AppClient, id: &str) -> (u16, Value) {
    let r = app
        .http
        .get(format!("{}/dash/apps/ephemeral/{id}", app.url))
        .send()
        .await
        .expect("send");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Rows of app `id` in each per-app table of the SQLite file at `db`.
fn rows_of(db: &std::path::Path, id: &str) -> Vec<(&'static str, i64)> {
    let conn = Connection::open(db).expect("open db");
    let key = uuid::Uuid::parse_str(id).expect("uuid");
    let key = key.as_bytes().as_slice();
    let mut out = Vec::new();
    for (table, sql) in [
        ("apps", "SELECT count(*) FROM apps WHERE id = ?1"),
        ("attrs", "SELECT count(*) FROM attrs WHERE app_id = ?1"),
        ("app_keys", "SELECT count(*) FROM app_keys WHERE app_id = ?1"),
        // Triples are keyed by the app's integer key; triples whose key has no
        // `app_keys` row (left behind by a deletion) count here too.
        (
            "triples",
            "SELECT (SELECT count(*) FROM triples t JOIN app_keys k ON k.key = t.app_key WHERE k.app_id = ?1)
                  + (SELECT count(*) FROM triples WHERE app_key NOT IN (SELECT key FROM app_keys))",
        ),
        ("local_refresh_tokens", "SELECT count(*) FROM local_refresh_tokens WHERE app_id = ?1"),
        ("local_magic_codes", "SELECT count(*) FROM local_magic_codes WHERE app_id = ?1"),
        ("local_app_status", "SELECT count(*) FROM local_app_status WHERE app_id = ?1"),
    ] {
        let n: i64 = conn
            .query_row(sql, params![key], |r| r.get(0))
            .unwrap_or_else(|e| panic!("count {table}: {e}"));
        out.push((table, n));
    }
    out
}

/// Asserts that the app answers queries and holds the one note [`fill`] wrote.
async fn assert_one_note(app: &AppClient) {
    let (s, b) = app
        .post("/admin/query", true, &[], json!({"query": {"notes": {}}}))
        .await;
    assert_eq!(
        (s, b["notes"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{b}"
    );
}

async fn fill(app: &AppClient) {
    let (s, b) = app
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["update", "notes", uuid::Uuid::new_v4().to_string(), {"text": "x"}]]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post(
            "/admin/refresh_tokens",
            true,
            &[],
            json!({"email": "u@x.com"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post("/admin/magic_code", true, &[], json!({"email": "u@x.com"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app.upload("a.txt", b"abc").await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn expired_temporary_apps_are_swept_from_memory_sqlite_and_disk() {
    let dir = TempDir::new("sweep");
    let db = dir.join("sweep.db");
    let blobs = FileStore::dir_for_database(&db);
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("start");
    let url = server.url();
    let creds = server.create_app("permanent").await.expect("app");
    let perm = AppClient::new(&url, &creds.app_id.to_string(), &creds.admin_token);
    let old = AppClient::create_temp(
        &url,
        json!({"title": "old", "schema": {"entities": {"notes": {"attrs": {}}}}}),
    )
    .await;
    fill(&old).await;
    let r = old
        .http
        .post(format!("{url}/dash/apps/ephemeral/{}/status", old.app_id))
        .json(&json!({"admin-token": old.token, "status": "read-only"}))
        .send()
        .await
        .expect("status");
    assert_eq!(r.status(), 200);
    // A second temporary app, created later, expires later.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let young = AppClient::create_temp(&url, json!({"title": "young"})).await;
    fill(&young).await;
    fill(&perm).await;

    let old_expires = expires_ms(&old).await;
    let young_expires = expires_ms(&young).await;
    assert!(young_expires > old_expires);
    assert!(blobs.join(&old.app_id).exists(), "old app's blobs on disk");

    // Before the grace day is over nothing is swept.
    assert_eq!(server.sweep_expired_apps(old_expires).await, 0);
    assert_eq!(server.sweep_expired_apps(old_expires + DAY_MS - 1).await, 0);
    assert_eq!(get_ephemeral(&old, &old.app_id).await.0, 200);

    // One day after its expiry: the old app goes, the young one stays.
    assert_eq!(server.sweep_expired_apps(old_expires + DAY_MS).await, 1);
    assert_eq!(server.sweep_expired_apps(old_expires + DAY_MS).await, 0);
    assert_eq!(get_ephemeral(&old, &old.app_id).await.0, 400);
    assert!(!blobs.join(&old.app_id).exists(), "old app's blobs removed");
    assert!(blobs.join(&young.app_id).exists(), "young app's blobs kept");
    assert!(
        blobs.join(&perm.app_id).exists(),
        "permanent app's blobs kept"
    );
    let (s, b) = old
        .post("/admin/query", true, &[], json!({"query": {"notes": {}}}))
        .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("Record not found: app-admin-token")),
        "{b}"
    );
    for app in [&young, &perm] {
        assert_one_note(app).await;
    }
    server.shutdown().await;

    // The SQLite file: nothing of the old app is left, the others are whole.
    for (table, n) in rows_of(&db, &old.app_id) {
        assert_eq!(n, 0, "{table} rows of the swept app");
    }
    for app in [&young, &perm] {
        let rows = rows_of(&db, &app.app_id);
        for (table, n) in &rows {
            if *table != "local_app_status" {
                assert!(*n > 0, "{table} rows of a kept app: {rows:?}");
            }
        }
    }

    // After a restart the old app stays gone and the others are intact.
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("restart");
    let url = server.url();
    let young = AppClient::new(&url, &young.app_id, &young.token);
    let perm = AppClient::new(&url, &perm.app_id, &perm.token);
    assert_eq!(get_ephemeral(&young, &old.app_id).await.0, 400);
    assert_eq!(get_ephemeral(&young, &young.app_id).await.0, 200);
    for app in [&young, &perm] {
        assert_one_note(app).await;
    }
    // Permanent apps are never swept, however late it is.
    assert_eq!(server.sweep_expired_apps(i64::MAX).await, 1);
    assert_eq!(get_ephemeral(&young, &young.app_id).await.0, 400);
    assert_one_note(&perm).await;
    server.shutdown().await;
}

#[tokio::test]
async fn background_sweeper_runs_on_its_interval() {
    // The sweeper only deletes apps a day past expiry, which a live clock never
    // reaches in a test; this checks that a short interval neither disturbs
    // live temporary apps nor stops the server from shutting down.
    let server = LocalServer::builder()
        .sweep_interval(Duration::from_millis(5))
        .start()
        .await
        .expect("start");
    let app = TempApp::on(server, json!({"title": "t"})).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (s, b) = app
        .post("/admin/query", true, &[], json!({"query": {"notes": {}}}))
        .await;
    assert_eq!(s, 200, "{b}");
    tokio::time::timeout(Duration::from_secs(10), app.server.shutdown())
        .await
        .expect("shutdown with the sweeper running");
}

/// A live query of a swept app ends (its SSE stream closes) instead of
/// idling with keep-alives.
#[tokio::test]
async fn live_queries_of_a_swept_app_end() {
    use futures::StreamExt;
    let server = LocalServer::builder()
        .sse_keep_alive(Duration::from_millis(50))
        .start()
        .await
        .expect("start");
    let app = TempApp::on(server, json!({"title": "t"})).await;
    let r = app.subscribe(json!({"notes": {}})).await;
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("add-query-ok") {
        let chunk = stream.next().await.expect("event").expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(app.server.sweep_expired_apps(i64::MAX).await, 1);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream of a swept app stays open");
}
