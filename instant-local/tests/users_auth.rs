//! Auth endpoints (spec `admin-http.md` §1.8, §5): refresh tokens, users, sign
//! out, guests, token verification, magic codes, presence, and the security of
//! admin-only routes.

use instant_local::{AppCredentials, LocalServer};
use reqwest::Method;
use serde_json::{json, Value};

struct Env {
    server: LocalServer,
    app: AppCredentials,
    http: reqwest::Client,
}

impl Env {
    async fn new() -> Env {
        let server = LocalServer::builder().start().await.expect("start");
        let app = server.create_app("auth").await.expect("app");
        Env {
            server,
            app,
            http: reqwest::Client::new(),
        }
    }

    /// Admin request to `path` with `body` (POST) or none (GET/DELETE).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.server.url(), path))
            .header("app-id", self.app.app_id.to_string());
        if let Some(t) = token {
            rb = rb.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let t = self.app.admin_token.clone();
        self.call(Method::POST, path, Some(&t), Some(body)).await
    }

    async fn admin_get(&self, path: &str) -> (u16, Value) {
        let t = self.app.admin_token.clone();
        self.call(Method::GET, path, Some(&t), None).await
    }

    async fn verify(&self, token: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!(
                "{}/runtime/auth/verify_refresh_token?app_id={}",
                self.server.url(),
                self.app.app_id
            ))
            .json(&json!({"app-id": self.app.app_id.to_string(), "refresh-token": token}))
            .send()
            .await
            .expect("send");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn query_users(&self) -> Value {
        let (s, b) = self
            .admin_post("/admin/query", json!({"query": {"$users": {}}}))
            .await;
        assert_eq!(s, 200, "{b}");
        b["$users"].clone()
    }
}

#[tokio::test]
async fn refresh_token_by_email_creates_then_reuses_user() {
    let env = Env::new().await;
    let (s, b) = env
        .admin_post(
            "/admin/refresh_tokens",
            json!({"email": "  Alyssa@Example.COM "}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["created"], json!(true));
    let user = &b["user"];
    assert_eq!(user["email"], json!("alyssa@example.com"));
    assert_eq!(user["type"], json!("user"));
    assert_eq!(user["isGuest"], json!(false));
    assert_eq!(user["app_id"], json!(env.app.app_id.to_string()));
    assert!(user["created_at"]
        .as_str()
        .is_some_and(|c| c.ends_with('Z')));
    let t1 = user["refresh_token"].as_str().expect("token").to_string();
    assert!(uuid::Uuid::parse_str(&t1).is_ok());

    let (s, b2) = env
        .admin_post(
            "/admin/refresh_tokens",
            json!({"email": "alyssa@example.com"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b2["created"], json!(false));
    assert_eq!(b2["user"]["id"], user["id"]);
    assert_ne!(b2["user"]["refresh_token"], json!(t1));

    // $users is a real namespace.
    let users = env.query_users().await;
    assert_eq!(users.as_array().map(Vec::len), Some(1));
    assert_eq!(users[0]["email"], json!("alyssa@example.com"));
    assert_eq!(users[0]["id"], user["id"]);
}

#[tokio::test]
async fn refresh_token_by_id_and_errors() {
    let env = Env::new().await;
    let id = uuid::Uuid::new_v4().to_string();
    let (s, b) = env
        .admin_post("/admin/refresh_tokens", json!({"id": id}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["created"], json!(true));
    assert_eq!(b["user"]["id"], json!(id));
    assert!(b["user"].get("email").is_none());
    let (_, b) = env
        .admin_post("/admin/refresh_tokens", json!({"id": id}))
        .await;
    assert_eq!(b["created"], json!(false));

    let (s, b) = env.admin_post("/admin/refresh_tokens", json!({})).await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("validation-failed"));
    assert_eq!(
        b["message"],
        json!("Validation failed for body: Please provide an `email` or `id`")
    );
    let (s, b) = env
        .admin_post("/admin/refresh_tokens", json!({"email": "not-an-email"}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("param-malformed"));
    let (s, b) = env
        .admin_post("/admin/refresh_tokens", json!({"id": "nope"}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("param-malformed"));
    // extra-fields must be in the $users schema.
    let (s, b) = env
        .admin_post(
            "/admin/refresh_tokens",
            json!({"email": "x@y.io", "extra-fields": {"nickname": "x"}}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("validation-failed"));
    assert!(b["message"]
        .as_str()
        .is_some_and(|m| m.contains("Unknown field: nickname")));
    let (s, b) = env
        .admin_post(
            "/admin/refresh_tokens",
            json!({"email": "x@y.io", "extra-fields": {"type": "admin"}}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(b["message"]
        .as_str()
        .is_some_and(|m| m.contains("Cannot set system field: type")));
}

#[tokio::test]
async fn get_user_by_email_id_and_token() {
    let env = Env::new().await;
    let (_, b) = env
        .admin_post("/admin/refresh_tokens", json!({"email": "a@b.co"}))
        .await;
    let id = b["user"]["id"].as_str().expect("id").to_string();
    let token = b["user"]["refresh_token"].as_str().expect("t").to_string();
    for q in [
        "email=A%40B.co".to_string(),
        format!("id={id}"),
        format!("refresh_token={token}"),
    ] {
        let (s, u) = env.admin_get(&format!("/admin/users?{q}")).await;
        assert_eq!(s, 200, "{q}: {u}");
        assert_eq!(u["user"]["id"], json!(id), "{q}");
        assert_eq!(u["user"]["email"], json!("a@b.co"));
        assert!(u["user"].get("refresh_token").is_none());
    }
    let (s, u) = env.admin_get("/admin/users?email=nobody%40b.co").await;
    assert_eq!(s, 200);
    assert_eq!(u, json!({"user": null}));
    let (s, u) = env
        .admin_get(&format!("/admin/users?id={}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!((s, u), (200, json!({"user": null})));
    let (s, u) = env.admin_get("/admin/users").await;
    assert_eq!(s, 400);
    assert_eq!(u["type"], json!("validation-failed"));
    assert_eq!(u["hint"]["data-type"], json!("params"));
    let (s, u) = env.admin_get("/admin/users?id=zzz").await;
    assert_eq!(s, 400);
    assert_eq!(u["type"], json!("param-malformed"));
}

#[tokio::test]
async fn verify_refresh_token_needs_no_admin_token() {
    let env = Env::new().await;
    let (_, b) = env
        .admin_post("/admin/refresh_tokens", json!({"email": "v@b.co"}))
        .await;
    let token = b["user"]["refresh_token"].as_str().expect("t").to_string();
    let (s, v) = env.verify(&token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["user"]["email"], json!("v@b.co"));
    assert_eq!(v["user"]["refresh_token"], json!(token));
    let (s, v) = env.verify(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(s, 400);
    assert_eq!(v["type"], json!("record-not-found"));
    assert_eq!(v["hint"]["record-type"], json!("app-user"));
    let (s, v) = env.verify("garbage").await;
    assert_eq!(s, 400);
    assert_eq!(v["type"], json!("param-malformed"));
}

#[tokio::test]
async fn sign_out_all_sessions_or_one() {
    let env = Env::new().await;
    let mint = |email: &'static str| {
        let env = &env;
        async move {
            let (_, b) = env
                .admin_post("/admin/refresh_tokens", json!({ "email": email }))
                .await;
            (
                b["user"]["id"].as_str().expect("id").to_string(),
                b["user"]["refresh_token"].as_str().expect("t").to_string(),
            )
        }
    };
    // One session.
    let (_, t1) = mint("s@b.co").await;
    let (_, t2) = mint("s@b.co").await;
    let (s, b) = env
        .admin_post("/admin/sign_out", json!({"refresh_token": t1}))
        .await;
    assert_eq!((s, b), (200, json!({"ok": true})));
    assert_eq!(env.verify(&t1).await.0, 400);
    assert_eq!(env.verify(&t2).await.0, 200);
    // All sessions by email.
    let (_, t3) = mint("s@b.co").await;
    let (s, _) = env
        .admin_post("/admin/sign_out", json!({"email": "S@b.co"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(env.verify(&t2).await.0, 400);
    assert_eq!(env.verify(&t3).await.0, 400);
    // All sessions by id.
    let (id, t4) = mint("s@b.co").await;
    let (s, _) = env.admin_post("/admin/sign_out", json!({ "id": id })).await;
    assert_eq!(s, 200);
    assert_eq!(env.verify(&t4).await.0, 400);
    // Errors.
    let (s, b) = env
        .admin_post("/admin/sign_out", json!({"email": "nobody@b.co"}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("record-not-found"));
    let (s, b) = env.admin_post("/admin/sign_out", json!({})).await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("validation-failed"));
    assert!(b["message"]
        .as_str()
        .is_some_and(|m| m.contains("Please provide an `id`, `email`, or `refresh_token`")));
}

#[tokio::test]
async fn delete_user_cascades_and_kills_tokens() {
    let env = Env::new().await;
    let (_, b) = env
        .admin_post("/admin/refresh_tokens", json!({"email": "d@b.co"}))
        .await;
    let id = b["user"]["id"].as_str().expect("id").to_string();
    let token = b["user"]["refresh_token"].as_str().expect("t").to_string();
    let t = env.app.admin_token.clone();
    let (s, d) = env
        .call(
            Method::DELETE,
            "/admin/users?email=d%40b.co",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["deleted"]["id"], json!(id));
    assert_eq!(d["deleted"]["email"], json!("d@b.co"));
    assert_eq!(env.verify(&token).await.0, 400);
    assert_eq!(env.query_users().await, json!([]));
    let (s, d) = env
        .call(
            Method::DELETE,
            &format!("/admin/users?id={id}"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!((s, d), (200, json!({"deleted": null})));
    // Deleting by refresh token.
    let (_, b) = env
        .admin_post("/admin/refresh_tokens", json!({"email": "e@b.co"}))
        .await;
    let token = b["user"]["refresh_token"].as_str().expect("t").to_string();
    let (s, d) = env
        .call(
            Method::DELETE,
            &format!("/admin/users?refresh_token={token}"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(d["deleted"]["email"], json!("e@b.co"));
    assert_eq!(env.verify(&token).await.0, 400);
}

#[tokio::test]
async fn guest_sign_in() {
    let env = Env::new().await;
    let (s, b) = env.admin_post("/admin/sign_in_guest", json!({})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["type"], json!("guest"));
    assert_eq!(b["user"]["isGuest"], json!(true));
    assert!(b.get("created").is_none());
    let token = b["user"]["refresh_token"].as_str().expect("t").to_string();
    let (s, v) = env.verify(&token).await;
    assert_eq!(s, 200);
    assert_eq!(v["user"]["isGuest"], json!(true));
}

#[tokio::test]
async fn presence_is_empty_and_checks_params() {
    let env = Env::new().await;
    let (s, b) = env
        .admin_get("/admin/rooms/presence?room-type=chat&room-id=r1")
        .await;
    assert_eq!((s, b), (200, json!({"sessions": {}})));
    let (s, b) = env.admin_get("/admin/rooms/presence?room-type=chat").await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("param-missing"));
    let (s, b) = env
        .call(
            Method::GET,
            "/admin/rooms/presence?room-type=chat&room-id=r1",
            None,
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("param-missing"));
}

#[tokio::test]
async fn magic_code_flow() {
    let env = Env::new().await;
    let (s, b) = env
        .admin_post("/admin/magic_code", json!({"email": "M@b.co"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let code = b["code"].as_str().expect("code").to_string();
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    // Generated codes are not "sent".
    assert_eq!(env.server.last_magic_code(env.app.app_id, "m@b.co"), None);

    let (s, b) = env
        .admin_post(
            "/admin/verify_magic_code",
            json!({"email": "m@b.co", "code": "bad"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("record-not-found"));
    assert_eq!(b["hint"]["record-type"], json!("app-user-magic-code"));

    let (s, b) = env
        .admin_post(
            "/admin/verify_magic_code",
            json!({"email": "m@b.co", "code": format!(" {code} ")}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["created"], json!(true));
    assert_eq!(b["user"]["email"], json!("m@b.co"));
    let token = b["user"]["refresh_token"].as_str().expect("t").to_string();
    assert_eq!(env.verify(&token).await.0, 200);
    // Single use.
    let (s, b) = env
        .admin_post(
            "/admin/verify_magic_code",
            json!({"email": "m@b.co", "code": code}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("record-not-found"));

    // Sent codes land in the outbox; the existing user is reused.
    let (s, b) = env
        .admin_post("/admin/send_magic_code", json!({"email": "m@b.co"}))
        .await;
    assert_eq!(s, 200);
    let sent = b["code"].as_str().expect("code").to_string();
    assert_eq!(
        env.server.last_magic_code(env.app.app_id, " M@B.co"),
        Some(sent.clone())
    );
    let (s, b) = env
        .admin_post(
            "/admin/verify_magic_code",
            json!({"email": "m@b.co", "code": sent}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["created"], json!(false));

    let (s, b) = env
        .admin_post("/admin/magic_code", json!({"email": "nope"}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("param-malformed"));
    let (s, b) = env
        .admin_post("/admin/verify_magic_code", json!({"email": "m@b.co"}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("param-missing"));
}

#[tokio::test]
async fn magic_code_expires() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("x.db");
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("start");
    let app = server.create_app("exp").await.expect("app");
    let env = Env {
        server,
        app,
        http: reqwest::Client::new(),
    };
    let (_, b) = env
        .admin_post("/admin/magic_code", json!({"email": "old@b.co"}))
        .await;
    let code = b["code"].as_str().expect("code").to_string();
    // Age the code past its 24 h lifetime through the database file.
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy");
    let n = conn
        .execute(
            "UPDATE local_magic_codes SET created_at = created_at - 25 * 3600 * 1000",
            [],
        )
        .expect("update");
    assert_eq!(n, 1);
    drop(conn);
    let (s, b) = env
        .admin_post(
            "/admin/verify_magic_code",
            json!({"email": "old@b.co", "code": code}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], json!("record-expired"));
}

#[tokio::test]
async fn admin_only_routes_refuse_non_admins() {
    let env = Env::new().await;
    let other = env.server.create_app("other").await.expect("app");
    let (_, b) = env
        .admin_post("/admin/refresh_tokens", json!({"email": "u@b.co"}))
        .await;
    let user_token = b["user"]["refresh_token"].as_str().expect("t").to_string();
    let (_, g) = env.admin_post("/admin/sign_in_guest", json!({})).await;
    let guest_token = g["user"]["refresh_token"].as_str().expect("t").to_string();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/admin/refresh_tokens".into(),
            Some(json!({"email": "h@b.co"})),
        ),
        (Method::POST, "/admin/sign_in_guest".into(), Some(json!({}))),
        (
            Method::POST,
            "/admin/sign_out".into(),
            Some(json!({"email": "u@b.co"})),
        ),
        (Method::GET, "/admin/users?email=u%40b.co".into(), None),
        (Method::DELETE, "/admin/users?email=u%40b.co".into(), None),
        (
            Method::POST,
            "/admin/magic_code".into(),
            Some(json!({"email": "u@b.co"})),
        ),
        (
            Method::POST,
            "/admin/send_magic_code".into(),
            Some(json!({"email": "u@b.co"})),
        ),
        (
            Method::POST,
            "/admin/verify_magic_code".into(),
            Some(json!({"email": "u@b.co", "code": "123456"})),
        ),
        (
            Method::GET,
            "/admin/rooms/presence?room-type=a&room-id=b".into(),
            None,
        ),
    ];
    for (m, path, body) in routes {
        // No token.
        let (s, b) = env.call(m.clone(), &path, None, body.clone()).await;
        assert_eq!(
            (s, b["type"].clone()),
            (400, json!("param-missing")),
            "{path}"
        );
        // A user refresh token / a guest token / another app's admin token.
        for t in [&user_token, &guest_token, &other.admin_token] {
            let (s, b) = env.call(m.clone(), &path, Some(t), body.clone()).await;
            assert_eq!(s, 400, "{path}");
            assert_eq!(b["type"], json!("record-not-found"), "{path}");
            assert_eq!(b["hint"]["record-type"], json!("app-admin-token"), "{path}");
        }
        // Impersonation headers do not bypass the admin token.
        let r = env
            .http
            .request(m.clone(), format!("{}{}", env.server.url(), path))
            .header("app-id", env.app.app_id.to_string())
            .header("as-token", &user_token)
            .header("as-guest", "true")
            .json(&body.clone().unwrap_or(json!({})))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 400, "{path}");
    }
    // The user still exists and its token still works (nothing above acted).
    assert_eq!(env.verify(&user_token).await.0, 200);
}
