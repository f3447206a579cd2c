//! Hardening of the HTTP layer and server: no route leaks a secret, expired
//! temporary apps are gone everywhere, bodies are bounded and read only after
//! authentication, connections are timed out and bounded, temporary-app
//! creation is rate limited, and every error (413, 405, signed downloads)
//! comes back in Instant's envelope `{"type", "message", "hint"}`.

mod common;

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
        .post(
            "/admin/refresh_tokens",
            true,
            &[],
            json!({"email": "a@x.com"}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let user_token = u["user"]["refresh_token"].as_str().unwrap().to_string();
    let (s, c) = app
        .post(
            "/admin/send_magic_code",
            true,
            &[],
            json!({"email": "a@x.com"}),
        )
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
            assert!(
                !text.contains(s.as_str()),
                "{route} leaks the {what}: {text}"
            );
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
        "/admin/users?email=a@x.com".to_string(),
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
    let (_, b) = json_of(
        get(
            "/admin/users?email=a@x.com".into(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .await
        .unwrap(),
    )
    .await;
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
    let schema =
        json!({"schema": {"entities": {"notes": {"attrs": {"t": {"valueType": "string"}}}}}});
    let reqs = [
        http.get(format!("{}/superadmin/apps/{id}", app.url)),
        http.get(format!("{}/superadmin/apps/{id}/schema", app.url)),
        http.get(format!("{}/superadmin/apps/{id}/perms", app.url)),
        http.post(format!("{}/superadmin/apps/{id}/perms", app.url))
            .json(&json!({"code": {"notes": {"allow": {"view": "true"}}}})),
        http.post(format!("{}/superadmin/apps/{id}", app.url))
            .json(&json!({"title": "renamed"})),
        http.post(format!(
            "{}/superadmin/apps/{id}/schema/push/apply",
            app.url
        ))
        .json(&schema),
    ];
    for r in reqs {
        let (s, b) = json_of(r.header("authorization", &auth).send().await.unwrap()).await;
        assert_eq!(s, 400, "{b}");
        assert_envelope(&b, "record-not-found");
    }
    // And the Admin API agrees.
    let (s, b) = app
        .post("/admin/query", true, &[], json!({"query": {"notes": {}}}))
        .await;
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
    let (s, b) = app
        .get("/admin/rooms/presence?room-type=chat&room-id=")
        .await;
    assert_eq!(s, 400);
    assert_envelope(&b, "param-malformed");
    assert_eq!(b["hint"]["in"], json!(["query-params", "room-id"]));
    let (s, b) = app.get("/admin/rooms/presence?room-type=chat").await;
    assert_eq!(s, 400);
    assert_envelope(&b, "param-missing");
}

// ---- finding 3: credentials before bodies, bounded bodies ---------------

/// A raw HTTP/1.1 exchange: sends `head` (and `body`), then reads until the
/// server closes or `secs` pass; returns what was read (empty when nothing
/// came in time).
async fn raw(addr: std::net::SocketAddr, head: &str, body: &[u8], secs: u64) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                // One complete response is enough.
                let text = String::from_utf8_lossy(&out);
                if let Some((h, b)) = text.split_once("\r\n\r\n") {
                    let len = h.lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    });
                    if len.is_some_and(|n| b.len() >= n) {
                        break;
                    }
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The status and JSON body of a raw response.
fn parse_raw(resp: &str) -> (u16, Value) {
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.into())),
    )
}

/// A request announcing a 50 MB JSON body with a wrong admin token is
/// refused from its headers: the answer comes without one byte of the body
/// sent. Same for a 50 MB upload, and for an oversize body with the right
/// token (413 in the envelope).
#[tokio::test]
async fn credentials_and_size_are_checked_before_the_body_is_read() {
    let app = TempApp::new(json!({"title": "bodies"})).await;
    let addr = app.server.addr();
    let wrong = uuid::Uuid::new_v4();
    for (method, path) in [
        ("POST", "/admin/transact"),
        ("POST", "/admin/query"),
        ("POST", "/admin/subscribe-query"),
        ("POST", "/admin/refresh_tokens"),
        ("PUT", "/admin/storage/upload"),
    ] {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\napp-id: {}\r\nauthorization: Bearer {wrong}\r\npath: a.bin\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n",
            app.app_id
        );
        let (s, b) = parse_raw(&raw(addr, &head, b"", 20).await);
        assert_eq!(s, 400, "{method} {path}: {b}");
        assert_envelope(&b, "record-not-found");
    }
    // A refresh token that is not live is refused the same way.
    let head = format!(
        "POST /admin/transact HTTP/1.1\r\nhost: x\r\napp-id: {}\r\nas-token: {wrong}\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n",
        app.app_id
    );
    let (s, b) = parse_raw(&raw(addr, &head, b"", 20).await);
    assert_eq!(s, 400, "{b}");
    assert_envelope(&b, "record-not-found");
    // The admin token alone is enough: auth routes ignore impersonation
    // headers, so a stale `as-token` next to it does not refuse the request.
    let (s, b) = app
        .post(
            "/admin/refresh_tokens",
            true,
            &[("as-token", &wrong.to_string())],
            json!({"email": "x@y.com"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // The right token, a body past the limit (64 MiB by default): 413.
    let head = format!(
        "POST /admin/transact HTTP/1.1\r\nhost: x\r\napp-id: {}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        app.app_id,
        app.token,
        65 * 1024 * 1024
    );
    let (s, b) = parse_raw(&raw(addr, &head, b"", 20).await);
    assert_eq!(s, 413, "{b}");
    assert_envelope(&b, "validation-failed");
    // An upload announcing more than the limit (1 GiB): refused at once.
    let head = format!(
        "PUT /admin/storage/upload HTTP/1.1\r\nhost: x\r\napp-id: {}\r\nauthorization: Bearer {}\r\npath: big.bin\r\ncontent-length: {}\r\n\r\n",
        app.app_id,
        app.token,
        2u64 << 30
    );
    let (s, b) = parse_raw(&raw(addr, &head, b"", 20).await);
    assert_eq!(s, 400, "{b}");
    assert_envelope(&b, "validation-failed");
}

/// Small limits: a chunked JSON body past `max_json_body_bytes` and a small
/// route's body past `max_small_body_bytes` get 413 in the envelope; a
/// chunked upload past `max_upload_bytes` is cut while it streams and
/// nothing is stored.
#[tokio::test]
async fn bodies_past_their_route_limit_get_413_envelopes() {
    let mut limits = Limits::default();
    limits.max_json_body_bytes = 4096;
    limits.max_small_body_bytes = 512;
    limits.max_upload_bytes = 10_000;
    let server = LocalServer::builder().limits(limits).start().await.unwrap();
    let app = AppClient::create_temp(&server.url(), json!({"title": "limits"})).await;
    let big = "x".repeat(8192);
    let chunked = |path: &str, body: String| {
        let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(body.into_bytes())]);
        app.http
            .post(format!("{}{path}", app.url))
            .header("app-id", &app.app_id)
            .header("authorization", format!("Bearer {}", app.token))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
    };
    let steps =
        json!({"steps": [["update", "notes", uuid::Uuid::new_v4().to_string(), {"t": big}]]});
    let (s, b) = json_of(chunked("/admin/transact", steps.to_string()).await.unwrap()).await;
    assert_eq!(s, 413, "{b}");
    assert_envelope(&b, "validation-failed");
    let (s, b) = app.post("/admin/transact", true, &[], steps.clone()).await;
    assert_eq!(s, 413, "{b}");
    assert_envelope(&b, "validation-failed");
    assert_eq!(b["hint"]["input"]["limit"], 4096);
    let (s, b) = app
        .post(
            "/admin/refresh_tokens",
            true,
            &[],
            json!({"email": "a@x.com", "extra-fields": {"pad": "y".repeat(1024)}}),
        )
        .await;
    assert_eq!(s, 413, "{b}");
    assert_envelope(&b, "validation-failed");
    // Under the limits everything still works.
    let (s, b) = app
        .post(
            "/admin/refresh_tokens",
            true,
            &[],
            json!({"email": "a@x.com"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // A chunked upload past the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![7u8; 1000])).collect();
    let (s, b) = json_of(
        app.http
            .put(format!("{}/admin/storage/upload", app.url))
            .header("app-id", &app.app_id)
            .header("authorization", format!("Bearer {}", app.token))
            .header("path", "big.bin")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_envelope(&b, "validation-failed");
    let (s, b) = app.get("/admin/storage/files").await;
    assert_eq!(s, 200);
    assert_eq!(b["data"], json!([]), "nothing stored: {b}");
    // A chunked upload under it is stored whole.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..9).map(|i| Ok(vec![i as u8; 1000])).collect();
    let (s, b) = json_of(
        app.http
            .put(format!("{}/admin/storage/upload", app.url))
            .header("app-id", &app.app_id)
            .header("authorization", format!("Bearer {}", app.token))
            .header("path", "ok.bin")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["size"], 9000);
    server.shutdown().await;
}

/// A streamed upload to a disk store is cut as soon as it passes the limit
/// (without waiting for the rest of the body), leaves no temporary file
/// behind then, and stores the exact bytes when it fits.
#[tokio::test]
async fn disk_uploads_stream_to_a_file() {
    let dir = TempDir::new("upload-stream");
    let db = dir.join("u.db");
    let mut limits = Limits::default();
    limits.max_upload_bytes = 300_000;
    let server = LocalServer::builder()
        .db_path(&db)
        .limits(limits)
        .start()
        .await
        .unwrap();
    let app = AppClient::create_temp(&server.url(), json!({"title": "disk"})).await;
    let put = |path: &'static str, n: usize| {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..n)
            .map(|i| Ok(vec![(i % 251) as u8; 64 * 1024]))
            .collect();
        app.http
            .put(format!("{}/admin/storage/upload", app.url))
            .header("app-id", &app.app_id)
            .header("authorization", format!("Bearer {}", app.token))
            .header("path", path)
            .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            .send()
    };
    let (s, b) = json_of(put("big.bin", 10).await.unwrap()).await;
    assert_eq!(s, 400, "{b}");
    // The limit is enforced while the upload streams: a chunked upload that
    // passes it and then stalls (never ends its body) is answered at once,
    // not after the whole body was buffered.
    let head = format!(
        "PUT /admin/storage/upload HTTP/1.1\r\nhost: x\r\napp-id: {}\r\nauthorization: Bearer {}\r\npath: stall.bin\r\ntransfer-encoding: chunked\r\n\r\n",
        app.app_id, app.token
    );
    let mut chunk = format!("{:x}\r\n", 400_000).into_bytes();
    chunk.extend(std::iter::repeat_n(b'z', 400_000));
    chunk.extend_from_slice(b"\r\n");
    let (s, b) = parse_raw(&raw(server.addr(), &head, &chunk, 30).await);
    assert_eq!(s, 400, "{b}");
    assert_envelope(&b, "validation-failed");
    let (s, b) = json_of(put("ok.bin", 4).await.unwrap()).await;
    assert_eq!(s, 200, "{b}");
    let blobs = instant_local::files::FileStore::dir_for_database(&db).join(&app.app_id);
    let names: Vec<String> = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "one blob, no temporary file: {names:?}");
    let bytes = std::fs::read(blobs.join(&names[0])).unwrap();
    assert_eq!(bytes.len(), 4 * 64 * 1024);
    assert!(bytes[64 * 1024..2 * 64 * 1024].iter().all(|b| *b == 1));
    server.shutdown().await;
}

// ---- finding 5: the envelope everywhere ----------------------------------

/// An unknown method on a known route is 405 in the envelope (with `Allow`);
/// malformed JSON keeps the official plain-text 400; a refused signed
/// download has a hint.
#[tokio::test]
async fn method_not_allowed_and_download_errors_are_envelopes() {
    let app = TempApp::new(json!({"title": "envelopes"})).await;
    let r = app
        .http
        .put(format!("{}/admin/query", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    let (s, b) = json_of(r).await;
    assert_eq!(s, 405);
    assert_envelope(&b, "validation-failed");
    let (s, b) = json_of(
        app.http
            .delete(format!("{}/superadmin/apps", app.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 405);
    assert_envelope(&b, "validation-failed");
    // Malformed JSON: plain text, as ring-json answers.
    let r = app
        .http
        .post(format!("{}/admin/query", app.url))
        .header("app-id", &app.app_id)
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.text().await.unwrap(), "Malformed JSON in request body.");
    // Signed downloads.
    let (s, _) = app.upload("d.txt", b"abc").await;
    assert_eq!(s, 200);
    let (s, b) = app
        .get("/admin/storage/signed-download-url?filename=d.txt")
        .await;
    assert_eq!(s, 200, "{b}");
    let url = b["data"].as_str().unwrap().to_string();
    let tampered = url.replace("signature=", "signature=00");
    for (u, status) in [
        (tampered, 403),
        (
            format!("{}/storage/signed-download?app_id={}", app.url, app.app_id),
            403,
        ),
    ] {
        let (s, b) = json_of(app.http.get(u).send().await.unwrap()).await;
        assert_eq!(s, status, "{b}");
        assert_envelope(&b, "permission-denied");
        assert!(b["hint"].is_object(), "{b}");
    }
    let (s, b) = json_of(app.http.get(url).send().await.unwrap()).await;
    assert_eq!(s, 200, "{b}");
}

// ---- finding 2: connections are timed out and bounded --------------------

/// Limits with small connection timeouts (`header`, `idle`, `body` in ms).
fn conn_limits(header: u64, idle: u64, body: u64, max_connections: usize) -> Limits {
    let mut l = Limits::default();
    l.header_read_timeout = Duration::from_millis(header);
    l.idle_timeout = Duration::from_millis(idle);
    l.body_read_timeout = Duration::from_millis(body);
    l.max_connections = max_connections;
    l
}

/// Reads `s` until the server closes it (EOF or reset), at most `secs`
/// seconds; `true` when it was closed.
async fn closed_by_server(s: &mut tokio::net::TcpStream, secs: u64) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// How many of `socks` the server closes within `secs` seconds (all read at
/// once).
async fn count_closed(socks: &mut [tokio::net::TcpStream], secs: u64) -> usize {
    futures::future::join_all(socks.iter_mut().map(|s| closed_by_server(s, secs)))
        .await
        .into_iter()
        .filter(|c| *c)
        .count()
}

/// Clients that send half a request head are disconnected after the
/// header-read timeout; the server goes on answering.
#[tokio::test]
async fn half_sent_headers_are_disconnected() {
    use tokio::io::AsyncWriteExt;
    let server = LocalServer::builder()
        .limits(conn_limits(300, 60_000, 60_000, 1024))
        .start()
        .await
        .unwrap();
    let mut socks = Vec::new();
    for _ in 0..5 {
        let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"POST /admin/query HTTP/1.1\r\nhost: x\r\napp-id: ")
            .await
            .unwrap();
        socks.push(s);
    }
    let closed = count_closed(&mut socks, 30).await;
    assert_eq!(closed, 5, "every slow client is disconnected");
    let r = reqwest::get(format!("{}/nope", server.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.shutdown().await;
}

/// With `max_connections = N`, N idle connections hold every slot: the
/// next client waits (in the backlog) and is answered once one closes.
#[tokio::test]
async fn the_connection_limit_queues_clients_until_one_closes() {
    let server = LocalServer::builder()
        .limits(conn_limits(60_000, 60_000, 60_000, 2))
        .start()
        .await
        .unwrap();
    let a = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let _b = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let url = format!("{}/nope", server.url());
    let waiting = tokio::spawn(async move {
        let http = reqwest::Client::builder().build().unwrap();
        http.get(url).send().await.map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third client is not served while two hold the slots"
    );
    drop(a);
    let status = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("answered once a slot frees")
        .unwrap()
        .unwrap();
    assert_eq!(status, 404);
    server.shutdown().await;
}

/// Idle keep-alive connections are closed after the idle timeout, and a
/// flood of slow clients larger than the connection limit is worked off:
/// each is cut after the header-read timeout, then a normal client is served.
#[tokio::test]
async fn idle_and_slow_connections_are_closed_and_the_server_recovers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = LocalServer::builder()
        .limits(conn_limits(300, 300, 60_000, 4))
        .start()
        .await
        .unwrap();
    // Idle after one answered request.
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"GET /nope HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 404"));
        idle.push(s);
    }
    let closed = count_closed(&mut idle, 30).await;
    assert_eq!(closed, 3, "idle keep-alive connections are closed");
    // 12 slow clients for 4 slots.
    let mut slow = Vec::new();
    for _ in 0..12 {
        let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"GET /nope HTTP/1.1\r\nhost").await.unwrap();
        slow.push(s);
    }
    let closed = count_closed(&mut slow, 60).await;
    assert_eq!(closed, 12, "every slow client is cut");
    let r = reqwest::get(format!("{}/nope", server.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.shutdown().await;
}

/// A body that does not arrive within the body-read timeout is answered
/// 408 `timeout` in the envelope and the connection is closed.
#[tokio::test]
async fn a_stalled_body_is_cut_with_408() {
    let server = LocalServer::builder()
        .limits(conn_limits(60_000, 60_000, 300, 1024))
        .start()
        .await
        .unwrap();
    let app = AppClient::create_temp(&server.url(), json!({"title": "slow body"})).await;
    let head = format!(
        "POST /admin/transact HTTP/1.1\r\nhost: x\r\napp-id: {}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
        app.app_id, app.token
    );
    let (s, b) = parse_raw(&raw(server.addr(), &head, b"{\"steps\": [", 30).await);
    assert_eq!(s, 408, "{b}");
    assert_envelope(&b, "timeout");
    server.shutdown().await;
}

// ---- finding 6: temporary-app creation is rate limited --------------------

/// `temp_apps_per_minute = 3`: the fourth creation from one address within a
/// minute is 429 `rate-limited`; the library default has no limit.
#[tokio::test]
async fn temporary_app_creation_is_rate_limited_per_address() {
    let mut limits = Limits::default();
    limits.temp_apps_per_minute = Some(3);
    let server = LocalServer::builder().limits(limits).start().await.unwrap();
    let http = reqwest::Client::new();
    let create = || {
        http.post(format!("{}/dash/apps/ephemeral", server.url()))
            .json(&json!({"title": "t"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(create().await.unwrap().status(), 200);
    }
    let (s, b) = json_of(create().await.unwrap()).await;
    assert_eq!(s, 429, "{b}");
    assert_envelope(&b, "rate-limited");
    server.shutdown().await;
    let server = LocalServer::builder().start().await.unwrap();
    for _ in 0..8 {
        let r = http
            .post(format!("{}/dash/apps/ephemeral", server.url()))
            .json(&json!({"title": "t"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    server.shutdown().await;
}

// ---- follow-ups of the merge ------------------------------------------

/// A request without the admin token (`as-guest`, `as-token`) needs only the
/// app id, so its JSON body is bounded by `max_impersonated_body_bytes`
/// (a transaction costs ~30x its body while it is parsed and applied: a 50 MB
/// guest body peaked at 1.5 GB): a `Content-Length` above it and a chunked
/// body past it both get the 413 envelope, while the admin may still send a
/// body up to the route's own bound.
#[tokio::test]
async fn bodies_without_the_admin_token_have_a_lower_bound() {
    let mut limits = Limits::default();
    limits.max_json_body_bytes = 64 * 1024;
    limits.max_impersonated_body_bytes = 4096;
    let server = LocalServer::builder().limits(limits).start().await.unwrap();
    let app = AppClient::create_temp(&server.url(), json!({"title": "guest bodies"})).await;
    let steps = json!({"steps": [["update", "notes", uuid::Uuid::new_v4().to_string(), {"t": "x".repeat(8192)}]]});
    let guest = [("as-guest", "true")];
    let (s, b) = app
        .post("/admin/transact", false, &guest, steps.clone())
        .await;
    assert_eq!(s, 413, "{b}");
    assert_envelope(&b, "validation-failed");
    assert_eq!(b["hint"]["input"]["limit"], 4096);
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(
        steps.to_string().into_bytes(),
    )]);
    let (s, b) = json_of(
        app.http
            .post(format!("{}/admin/transact", app.url))
            .header("app-id", &app.app_id)
            .header("as-guest", "true")
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 413, "chunked: {b}");
    assert_envelope(&b, "validation-failed");
    let (s, b) = app.post("/admin/transact", true, &[], steps).await;
    assert_eq!(s, 200, "the admin's bound is the route's: {b}");
    let small =
        json!({"steps": [["update", "notes", uuid::Uuid::new_v4().to_string(), {"t": "y"}]]});
    let (s, b) = app.post("/admin/transact", false, &guest, small).await;
    assert_eq!(s, 200, "a small guest body still works: {b}");
    server.shutdown().await;
}

/// Compiled rules are kept per app between requests and compiled again when
/// the stored rules change: a push takes effect on the next impersonated
/// query, both ways.
#[tokio::test]
async fn pushed_rules_replace_the_compiled_ones_at_once() {
    let app = TempApp::new(json!({"title": "rules cache"})).await;
    let c = AppClient::new(&app.url, &app.app_id, &app.token);
    let id = uuid::Uuid::new_v4().to_string();
    let (s, b) = c
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["update", "notes", id, {"t": "a"}]]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let push = |view: &'static str| {
        let c = &c;
        async move {
            let (s, b) = c
                .post(
                    &format!("/superadmin/apps/{}/perms", c.app_id),
                    true,
                    &[],
                    json!({"code": {"notes": {"allow": {"view": view}}}}),
                )
                .await;
            assert_eq!(s, 200, "push {view}: {b}");
        }
    };
    let guest_sees = || {
        let c = &c;
        async move {
            let (s, b) = c
                .post(
                    "/admin/query",
                    false,
                    &[("as-guest", "true")],
                    json!({"query": {"notes": {}}}),
                )
                .await;
            assert_eq!(s, 200, "{b}");
            b["notes"].as_array().map_or(0, Vec::len)
        }
    };
    push("true").await;
    assert_eq!(guest_sees().await, 1);
    push("false").await;
    assert_eq!(guest_sees().await, 0);
    push("true").await;
    assert_eq!(guest_sees().await, 1);
}
