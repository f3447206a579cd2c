//! Hardening of the HTTP layer and server: no route leaks a secret, expired
//! temporary apps are gone everywhere, bodies are bounded and read only after
//! authentication, connections are timed out and bounded, temporary-app
//! creation is rate limited, and every error (413, 405, signed downloads)
//! comes back in Instant's envelope `{"type", "message", "hint"}`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::env::{AppClient, TempApp};
use common::fixtures::TempDir;
use instant_local::{Limits, LocalServer};
use serde_json::{json, Value};

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    let t = r.text().await.unwrap_or_default();
    (s, serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

/// Asserts `body` is an Instant error envelope of `kind`.
#[track_caller]
fn assert_envelope(body: &Value, kind: &str) {
    assert_eq!(body["type"], kind, "body: {body}");
    assert!(body["message"].is_string(), "message in {body}");
    assert!(body.get("hint").is_some(), "hint in {body}");
}

// ---- finding 1: no secret in any response ------------------------------

/// `GET /dash/apps/ephemeral/:id` answers the app row without its admin token:
/// the official `http-get-handler` (`server/src/instant/dash/ephemeral_app.clj`)
/// returns `(app-model/get-by-id! ...)`, a `SELECT * FROM apps` row (the
/// token lives in `app_admin_tokens`), while `POST` answers `create!`'s row,
/// which joins the token in.
#[tokio::test]
async fn ephemeral_get_does_not_hand_out_the_admin_token() {
    let app = TempApp::new(json!({"title": "secret"})).await;
    let (s, b) = json_of(
        app.http
            .get(format!("{}/dash/apps/ephemeral/{}", app.url, app.app_id))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["app"]["id"], app.app_id.as_str());
    assert!(b["expires_ms"].is_i64());
    assert!(b["app"].get("admin-token").is_none(), "leaked: {b}");
    assert!(!b.to_string().contains(&app.token), "leaked: {b}");
}

/// Every route a client can reach with an app's credentials, checked for
/// secrets it must not return: the admin token (outside app creation), the
/// platform token, another user's refresh token, a magic code outside the
/// code routes, the URL-signing key.
#[tokio::test]
async fn no_route_echoes_a_secret_it_was_not_asked_for() {
    let platform = "per_hardening_platform_token";
    let server = LocalServer::builder()
        .platform_token(platform)
        .start()
        .await
        .unwrap();
    let app = AppClient::create_temp(&server.url(), json!({"title": "audit"})).await;
    // A user with a refresh token and a pending magic code.
    let (s, u) = app
        .post("/admin/refresh_tokens", true, &[], json!({"email": "a@x.com"}))
        .await;
    assert_eq!(s, 200, "{u}");
    let user_token = u["user"]["refresh_token"].as_str().unwrap().to_string();
    let (s, c) = app
        .post("/admin/send_magic_code", true, &[], json!({"email": "a@x.com"}))
        .await;
    assert_eq!(s, 200, "{c}");
    let code = c["code"].as_str().unwrap().to_string();
    let (s, _) = app.upload("f.txt", b"abc").await;
    assert_eq!(s, 200);
    let secrets = [
        ("admin token", app.token.clone()),
        ("platform token", platform.to_string()),
        ("refresh token", user_token.clone()),
        ("magic code", format!("\"{code}\"")),
    ];
    let check = |route: &str, b: &Value, allowed: &[&str]| {
        let text = b.to_string();
        for (what, s) in &secrets {
            if allowed.contains(what) {
                continue;
            }
            assert!(!text.contains(s.as_str()), "{route} leaks the {what}: {text}");
        }
    };
    let http = reqwest::Client::new();
    let get = |path: String, token: &str| {
        http.get(format!("{}{path}", app.url))
            .header("app-id", &app.app_id)
            .header("authorization", format!("Bearer {token}"))
            .send()
    };
    for path in [
        format!("/admin/users?email=a@x.com"),
        format!("/admin/users?refresh_token={user_token}"),
        "/admin/storage/files".into(),
        "/admin/schema".into(),
        "/admin/rooms/presence?room-type=t&room-id=r".into(),
        format!("/dash/apps/ephemeral/{}", app.app_id),
    ] {
        let (_, b) = json_of(get(path.clone(), &app.token).await.unwrap()).await;
        check(&path, &b, &[]);
    }
    for path in [
        "/superadmin/apps?include=perms,schema".to_string(),
        format!("/superadmin/apps/{}", app.app_id),
        format!("/superadmin/apps/{}/schema", app.app_id),
        format!("/superadmin/apps/{}/perms", app.app_id),
    ] {
        let (_, b) = json_of(get(path.clone(), platform).await.unwrap()).await;
        check(&path, &b, &[]);
        let (_, b) = json_of(get(path.clone(), &app.token).await.unwrap()).await;
        check(&path, &b, &[]);
    }
    let (s, b) = app
        .post(
            "/admin/query",
            true,
            &[],
            json!({"query": {"$users": {}, "$files": {}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    check("/admin/query", &b, &[]);
    // Impersonated as the user: the user's own refresh token is not in `$users`.
    let (s, b) = app
        .post(
            "/admin/query",
            false,
            &[("as-token", &user_token)],
            json!({"query": {"$users": {}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    check("/admin/query as-token", &b, &[]);
    // Token verification answers only the token it was given.
    let (s, b) = json_of(
        http.post(format!("{}/runtime/auth/verify_refresh_token", app.url))
            .json(&json!({"app-id": app.app_id, "refresh-token": user_token}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    check("verify_refresh_token", &b, &["refresh token"]);
    // Errors with wrong credentials do not echo the expected token.
    let (_, b) = json_of(get("/admin/users?email=a@x.com".into(), &uuid::Uuid::new_v4().to_string()).await.unwrap()).await;
    check("wrong token", &b, &[]);
}

// ---- finding 4: expired temporary apps are gone on Platform routes --------

/// Sets `expires_at` of app `id` in the SQLite file `db` to `ms`.
fn set_expiry(db: &std::path::Path, id: &str, ms: i64) {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let key = uuid::Uuid::parse_str(id).unwrap();
    let n = conn
        .execute(
            "UPDATE apps SET expires_at = ?1 WHERE id = ?2",
            rusqlite::params![ms, key.as_bytes().as_slice()],
        )
        .expect("update");
    assert_eq!(n, 1);
}

/// An expired temporary app (past `expires_ms`, not yet swept) is gone for
/// its own admin token on the six app-scoped Platform routes, as it is on the
/// Admin API (`Engine::app`).
#[tokio::test]
async fn expired_temp_app_admin_token_is_refused_on_platform_routes() {
    let dir = TempDir::new("expired-platform");
    let db = dir.join("x.db");
    let server = LocalServer::builder().db_path(&db).start().await.unwrap();
    let app = AppClient::create_temp(&server.url(), json!({"title": "old"})).await;
    server.shutdown().await;
    let now = chrono::Utc::now().timestamp_millis();
    set_expiry(&db, &app.app_id, now - 60_000);
    let server = LocalServer::builder().db_path(&db).start().await.unwrap();
    let app = AppClient::new(&server.url(), &app.app_id, &app.token);
    let id = &app.app_id;
    let auth = format!("Bearer {}", app.token);
    let http = reqwest::Client::new();
    let schema = json!({"schema": {"entities": {"notes": {"attrs": {"t": {"valueType": "string"}}}}}});
    let reqs = [
        http.get(format!("{}/superadmin/apps/{id}", app.url)),
        http.get(format!("{}/superadmin/apps/{id}/schema", app.url)),
        http.get(format!("{}/superadmin/apps/{id}/perms", app.url)),
        http.post(format!("{}/superadmin/apps/{id}/perms", app.url))
            .json(&json!({"code": {"notes": {"allow": {"view": "true"}}}})),
        http.post(format!("{}/superadmin/apps/{id}", app.url))
            .json(&json!({"title": "renamed"})),
        http.post(format!("{}/superadmin/apps/{id}/schema/push/apply", app.url))
            .json(&schema),
    ];
    for r in reqs {
        let (s, b) = json_of(r.header("authorization", &auth).send().await.unwrap()).await;
        assert_eq!(s, 400, "{b}");
        assert_envelope(&b, "record-not-found");
    }
    // And the Admin API agrees.
    let (s, b) = app.post("/admin/query", true, &[], json!({"query": {"notes": {}}})).await;
    assert_eq!(s, 400, "{b}");
    server.shutdown().await;
}

// ---- finding 7: empty values are malformed, absent ones missing -----------

/// An empty `path` header on upload and an empty `room-id` on presence are
/// `param-malformed`; absent ones stay `param-missing`.
#[tokio::test]
async fn empty_path_and_room_id_are_malformed() {
    let app = TempApp::new(json!({"title": "params"})).await;
    let put = |path: Option<&str>| {
        let mut r = app
            .http
            .put(format!("{}/admin/storage/upload", app.url))
            .header("app-id", &app.app_id)
            .header("authorization", format!("Bearer {}", app.token))
            .body("abc");
        if let Some(p) = path {
            r = r.header("path", p);
        }
        r.send()
    };
    let (s, b) = json_of(put(Some("")).await.unwrap()).await;
    assert_eq!(s, 400);
    assert_envelope(&b, "param-malformed");
    let (s, b) = json_of(put(None).await.unwrap()).await;
    assert_eq!(s, 400);
    assert_envelope(&b, "param-missing");
    let (s, b) = app.get("/admin/rooms/presence?room-type=chat&room-id=").await;
    assert_eq!(s, 400);
    assert_envelope(&b, "param-malformed");
    assert_eq!(b["hint"]["in"], json!(["query-params", "room-id"]));
    let (s, b) = app.get("/admin/rooms/presence?room-type=chat").await;
    assert_eq!(s, 400);
    assert_envelope(&b, "param-missing");
}
