//! Maintenance mode of temporary apps: `POST /dash/apps/ephemeral/:app_id/status`
//! (spec `schema-and-platform.md` E.14) and what each status does to the admin
//! endpoints.
//!
//! Facts from the official source (repository instantdb/instant):
//! - `server/src/instant/dash/ephemeral_app.clj`, `http-status-post-handler`:
//!   `app_id` coerced to a uuid; the app fetched with `get-by-id!` (unknown →
//!   `record-not-found` app); `assert-permitted! :ephemeral-app?` (an app not
//!   created as a temporary app → `permission-denied`, "Permission denied: not
//!   ephemeral-app?"); `get-param! [:body :admin-token]` coerced to a uuid
//!   (missing → `param-missing`, not a uuid → `param-malformed`); the token
//!   checked with `app-admin-token-model/fetch!` (wrong → `record-not-found`
//!   app-admin-token); `get-param! [:body :status]` with `coerce-status`
//!   (missing → `param-missing`, unknown → `param-malformed`); the answer is
//!   `{"status": <name>}`.
//! - `server/src/instant/model/app_status.clj`: `active` = everything works;
//!   `read-only` = reads keep working, durable writes are rejected
//!   (`throw-app-read-only!`); `disabled` = reads are rejected too
//!   (`assert-read-allowed!` → `throw-app-disabled!`), while sign-out stays
//!   available (the one exempt write: deleting `$userRefreshTokens`).
//! - Error bodies: spec `admin-http.md` §1.6 / `instaml-steps.md` §8:
//!   `app-read-only` "This app is in read-only mode." hint
//!   `{"status": "read-only"}`; `app-disabled` hint `{"status": "disabled"}`.
//!   The disabled message "This app is currently disabled." is quoted from
//!   `util/exception.clj` by a port of the server (the file itself is not in
//!   the searchable index).

mod common;

use common::env::{AppClient, TempApp};
use common::fixtures::TempDir;
use instant_local::LocalServer;
use serde_json::{json, Value};

const NOTE: &str = "f0000000-0000-4000-8000-000000000001";
const NOTE2: &str = "f0000000-0000-4000-8000-000000000002";

async fn temp_app(server: LocalServer) -> TempApp {
    TempApp::on(server, json!({"title": "maintenance"})).await
}

async fn set_status(app: &TempApp, body: Value) -> (u16, Value) {
    let r = app
        .http
        .post(format!(
            "{}/dash/apps/ephemeral/{}/status",
            app.url, app.app_id
        ))
        .json(&body)
        .send()
        .await
        .expect("send");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn status_ok(app: &TempApp, status: &str) {
    let (s, b) = set_status(app, json!({"admin-token": app.token, "status": status})).await;
    assert_eq!((s, b), (200, json!({ "status": status })));
}

async fn tx(app: &TempApp, id: &str) -> (u16, Value) {
    app.post(
        "/admin/transact",
        true,
        &[],
        json!({"steps": [["update", "notes", id, {"text": "hi"}]]}),
    )
    .await
}

async fn notes(app: &TempApp) -> (u16, Value) {
    app.post("/admin/query", true, &[], json!({"query": {"notes": {}}}))
        .await
}

#[track_caller]
fn assert_read_only(r: (u16, Value)) {
    assert_eq!(r.0, 400, "{}", r.1);
    assert_eq!(r.1["type"], "app-read-only", "{}", r.1);
    assert_eq!(r.1["message"], "This app is in read-only mode.");
    assert_eq!(r.1["hint"], json!({"status": "read-only"}));
}

#[track_caller]
fn assert_disabled(r: (u16, Value)) {
    assert_eq!(r.0, 400, "{}", r.1);
    assert_eq!(r.1["type"], "app-disabled", "{}", r.1);
    assert_eq!(r.1["message"], "This app is currently disabled.");
    assert_eq!(r.1["hint"], json!({"status": "disabled"}));
}

#[tokio::test]
async fn status_endpoint_checks_app_token_and_status() {
    let server = LocalServer::builder().start().await.expect("start");
    let permanent = server.create_app("permanent").await.expect("app");
    let app = temp_app(server).await;
    let url = |id: &str| format!("{}/dash/apps/ephemeral/{id}/status", app.url);
    let post = |id: String, body: Value| {
        let req = app.http.post(url(&id)).json(&body);
        async move {
            let r = req.send().await.expect("send");
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let good = json!({"admin-token": app.token, "status": "read-only"});

    let (s, b) = post("not-a-uuid".into(), good.clone()).await;
    assert_eq!(
        (s, b["type"].as_str()),
        (400, Some("param-malformed")),
        "{b}"
    );

    let (s, b) = post(uuid::Uuid::new_v4().to_string(), good.clone()).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("Record not found: app")),
        "{b}"
    );
    assert_eq!(b["hint"]["record-type"], "app");

    let (s, b) = post(
        permanent.app_id.to_string(),
        json!({"admin-token": permanent.admin_token, "status": "read-only"}),
    )
    .await;
    assert_eq!(
        (s, b["type"].as_str()),
        (400, Some("permission-denied")),
        "{b}"
    );
    assert_eq!(b["message"], "Permission denied: not ephemeral-app?");

    let (s, b) = post(app.app_id.clone(), json!({"status": "read-only"})).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("Missing parameter: [\"body\" \"admin-token\"]")),
        "{b}"
    );
    let (s, b) = post(
        app.app_id.clone(),
        json!({"admin-token": "nope", "status": "read-only"}),
    )
    .await;
    assert_eq!(
        (s, b["type"].as_str()),
        (400, Some("param-malformed")),
        "{b}"
    );
    let (s, b) = post(
        app.app_id.clone(),
        json!({"admin-token": uuid::Uuid::new_v4().to_string(), "status": "read-only"}),
    )
    .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("Record not found: app-admin-token")),
        "{b}"
    );
    // Another app's admin token is wrong too.
    let (s, b) = post(
        app.app_id.clone(),
        json!({"admin-token": permanent.admin_token, "status": "read-only"}),
    )
    .await;
    assert_eq!(
        (s, b["hint"]["record-type"].as_str()),
        (400, Some("app-admin-token"))
    );

    let (s, b) = post(app.app_id.clone(), json!({"admin-token": app.token})).await;
    assert_eq!(
        (s, b["message"].as_str()),
        (400, Some("Missing parameter: [\"body\" \"status\"]")),
        "{b}"
    );
    for bad in [json!("paused"), json!("READ-ONLY"), json!(1)] {
        let (s, b) = post(
            app.app_id.clone(),
            json!({"admin-token": app.token, "status": bad}),
        )
        .await;
        assert_eq!(
            (s, b["message"].as_str()),
            (400, Some("Malformed parameter: [\"body\" \"status\"]")),
            "{b}"
        );
    }
    // Nothing above changed the status: writes still work.
    assert_eq!(tx(&app, NOTE).await.0, 200);

    let (s, b) = post(app.app_id.clone(), good).await;
    assert_eq!((s, b), (200, json!({"status": "read-only"})));
}

#[tokio::test]
async fn read_only_refuses_writes_and_keeps_reads() {
    let app = temp_app(LocalServer::builder().start().await.expect("start")).await;
    assert_eq!(tx(&app, NOTE).await.0, 200);
    let (s, b) = app
        .post(
            "/admin/refresh_tokens",
            true,
            &[],
            json!({"email": "a@x.com"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let refresh = b["user"]["refresh_token"].as_str().unwrap().to_string();

    status_ok(&app, "read-only").await;

    // Writes: transact (admin and impersonated), committing perms checks,
    // uploads, file deletes, new users and tokens, user deletion, magic codes.
    assert_read_only(tx(&app, NOTE2).await);
    assert_read_only(
        app.post(
            "/admin/transact",
            false,
            &[("as-guest", "true")],
            json!({"steps": [["update", "notes", NOTE2, {"text": "x"}]]}),
        )
        .await,
    );
    assert_read_only(
        app.post(
            "/admin/transact_perms_check",
            true,
            &[("as-email", "a@x.com")],
            json!({"steps": [["update", "notes", NOTE2, {"text": "x"}]], "dangerously-commit-tx": true}),
        )
        .await,
    );
    assert_read_only(app.upload("a.txt", b"abc").await);
    assert_read_only(
        app.post(
            "/admin/storage/files/delete",
            true,
            &[],
            json!({"filenames": ["a.txt"]}),
        )
        .await,
    );
    assert_read_only(
        app.post(
            "/admin/refresh_tokens",
            true,
            &[],
            json!({"email": "b@x.com"}),
        )
        .await,
    );
    assert_read_only(app.post("/admin/sign_in_guest", true, &[], json!({})).await);
    assert_read_only(
        app.post(
            "/admin/send_magic_code",
            true,
            &[],
            json!({"email": "c@x.com"}),
        )
        .await,
    );

    // Nothing was written.
    let (s, b) = notes(&app).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["notes"].as_array().map(Vec::len), Some(1), "{b}");

    // Reads keep working: queries, dry-run perms checks, live queries, users.
    let (s, b) = app
        .post(
            "/admin/query_perms_check",
            true,
            &[("as-guest", "true")],
            json!({"query": {"notes": {}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post(
            "/admin/transact_perms_check",
            true,
            &[("as-guest", "true")],
            json!({"steps": [["update", "notes", NOTE2, {"text": "x"}]]}),
        )
        .await;
    assert_eq!((s, &b["committed?"]), (200, &json!(false)), "{b}");
    let sub = app.subscribe(json!({"notes": {}})).await;
    assert_eq!(sub.status(), 200);
    drop(sub);

    // Sign-out is the one write allowed in every status.
    let (s, b) = app
        .post(
            "/admin/sign_out",
            true,
            &[],
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!((s, b), (200, json!({"ok": true})));

    // Back to active: writes work again.
    status_ok(&app, "active").await;
    assert_eq!(tx(&app, NOTE2).await.0, 200);
    assert_eq!(
        notes(&app).await.1["notes"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn disabled_refuses_reads_and_writes() {
    let app = temp_app(LocalServer::builder().start().await.expect("start")).await;
    assert_eq!(tx(&app, NOTE).await.0, 200);
    status_ok(&app, "disabled").await;

    assert_disabled(notes(&app).await);
    assert_disabled(tx(&app, NOTE2).await);
    // Impersonated reads too (as-guest needs no admin token).
    assert_disabled(
        app.post(
            "/admin/query",
            false,
            &[("as-guest", "true")],
            json!({"query": {"notes": {}}}),
        )
        .await,
    );
    assert_disabled(
        app.post(
            "/admin/query_perms_check",
            true,
            &[("as-guest", "true")],
            json!({"query": {"notes": {}}}),
        )
        .await,
    );
    // Live queries are refused before any stream starts.
    assert_disabled(
        app.post(
            "/admin/subscribe-query",
            true,
            &[],
            json!({"query": {"notes": {}}}),
        )
        .await,
    );
    assert_disabled(app.get("/admin/storage/files").await);
    assert_disabled(app.get("/admin/users?email=a@x.com").await);

    // Sign-out still works; a wrong admin token is still a wrong admin token.
    let (s, b) = app
        .post(
            "/admin/sign_out",
            true,
            &[],
            json!({"id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!((s, b), (200, json!({"ok": true})));
    let (s, b) = set_status(
        &app,
        json!({"admin-token": uuid::Uuid::new_v4().to_string(), "status": "active"}),
    )
    .await;
    assert_eq!(
        (s, b["hint"]["record-type"].as_str()),
        (400, Some("app-admin-token"))
    );

    // The status endpoint itself works in every status.
    status_ok(&app, "active").await;
    let (s, b) = notes(&app).await;
    assert_eq!(
        (s, b["notes"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{b}"
    );
}

#[tokio::test]
async fn status_survives_a_restart() {
    let dir = TempDir::new("status");
    let db = dir.join("status.db");
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("start");
    let app = temp_app(server).await;
    assert_eq!(tx(&app, NOTE).await.0, 200);
    status_ok(&app, "read-only").await;
    let TempApp { server, client } = app;
    server.shutdown().await;

    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("restart");
    let app = TempApp {
        client: AppClient::new(&server.url(), &client.app_id, &client.token),
        server,
    };
    assert_read_only(tx(&app, NOTE2).await);
    let (s, b) = notes(&app).await;
    assert_eq!(
        (s, b["notes"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{b}"
    );
    status_ok(&app, "disabled").await;
    assert_disabled(notes(&app).await);
    app.server.shutdown().await;
}
