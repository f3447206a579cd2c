//! Storage (spec `admin-http.md` §7, `instaql.md` §10.2): upload → `$files`
//! row → download through the signed `url` → delete (transaction and the
//! older endpoints), replacement on the same path, the size limit, and
//! admin-only routes.

use instant_local::LocalServer;
use serde_json::{json, Value};

struct S {
    server: LocalServer,
    app_id: String,
    token: String,
    http: reqwest::Client,
}

async fn setup(max: Option<u64>) -> S {
    let mut b = LocalServer::builder();
    if let Some(m) = max {
        b = b.max_upload_bytes(m);
    }
    let server = b.start().await.unwrap();
    let app = server.create_app("files").await.unwrap();
    S {
        app_id: app.app_id.to_string(),
        token: app.admin_token.clone(),
        server,
        http: reqwest::Client::new(),
    }
}

impl S {
    fn req(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(m, format!("{}{}", self.server.url(), path))
            .header("app-id", &self.app_id)
            .header("authorization", format!("Bearer {}", self.token))
    }
    async fn upload(&self, path: &str, bytes: &[u8], ct: &str) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::PUT, "/admin/storage/upload")
            .header("path", path)
            .header("content-type", ct)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
    async fn files(&self) -> Vec<Value> {
        let r = self
            .req(reqwest::Method::POST, "/admin/query")
            .json(&json!({"query": {"$files": {}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["$files"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn upload_query_download_replace_delete() {
    let s = setup(None).await;
    let (st, up) = s.upload("photos/a.txt", b"hello world", "text/plain").await;
    assert_eq!(st, 200, "{up}");
    let id = up["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(up["data"]["size"], 11);
    let files = s.files().await;
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(f["id"], id);
    assert_eq!(f["path"], "photos/a.txt");
    assert_eq!(f["size"], 11);
    assert_eq!(f["content-type"], "text/plain");
    assert!(f["location-id"].is_string());
    let url = f["url"].as_str().unwrap().to_string();
    let r = s.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"hello world");
    // tampered signature → 403
    let bad = url.replace("signature=", "signature=00");
    assert_eq!(s.http.get(&bad).send().await.unwrap().status(), 403);

    // re-upload the same path: same id, new content
    let (st, up2) = s.upload("photos/a.txt", b"second", "text/plain").await;
    assert_eq!(st, 200, "{up2}");
    assert_eq!(up2["data"]["id"], id);
    let files = s.files().await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["size"], 6);
    let r = s
        .http
        .get(files[0]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"second");
    // the old URL's blob is gone
    assert_eq!(s.http.get(&url).send().await.unwrap().status(), 404);

    // delete through a transaction: row and blob gone
    let url2 = files[0]["url"].as_str().unwrap().to_string();
    let r = s
        .req(reqwest::Method::POST, "/admin/transact")
        .json(&json!({"steps": [["delete", "$files", ["path", "photos/a.txt"]]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(s.files().await.is_empty());
    assert_eq!(s.http.get(&url2).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn older_endpoints_list_signed_url_delete() {
    let s = setup(None).await;
    for p in ["a.png", "b.png", "c.png"] {
        assert_eq!(s.upload(p, p.as_bytes(), "image/png").await.0, 200);
    }
    let list: Value = s
        .req(reqwest::Method::GET, "/admin/storage/files")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a.png", "b.png", "c.png"]);
    assert!(list["data"][0]["key"]
        .as_str()
        .unwrap()
        .starts_with(&s.app_id));

    let r: Value = s
        .req(
            reqwest::Method::GET,
            "/admin/storage/signed-download-url?filename=b.png",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = s
        .http
        .get(r["data"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(body.bytes().await.unwrap().as_ref(), b"b.png");

    let r: Value = s
        .req(
            reqwest::Method::DELETE,
            "/admin/storage/files?filename=a.png",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["data"]["id"].is_string(), "{r}");
    let r: Value = s
        .req(
            reqwest::Method::DELETE,
            "/admin/storage/files?filename=nope.png",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["data"]["id"].is_null(), "{r}");
    let r: Value = s
        .req(reqwest::Method::POST, "/admin/storage/files/delete")
        .json(&json!({"filenames": ["b.png", "c.png", "zzz"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["ids"].as_array().unwrap().len(), 2, "{r}");
    assert!(s.files().await.is_empty());
}

#[tokio::test]
async fn size_limit_and_missing_path() {
    let s = setup(Some(10)).await;
    let (st, b) = s
        .upload("big.bin", &[0u8; 11], "application/octet-stream")
        .await;
    assert_eq!(st, 400, "{b}");
    assert!(b["message"].as_str().unwrap().contains("too large"), "{b}");
    assert!(s.files().await.is_empty());
    assert_eq!(
        s.upload("ok.bin", &[0u8; 10], "application/octet-stream")
            .await
            .0,
        200
    );
    let r = s
        .req(reqwest::Method::PUT, "/admin/storage/upload")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["type"], "param-missing");
}

#[tokio::test]
async fn admin_only_routes_refuse_others() {
    let s = setup(None).await;
    assert_eq!(s.upload("a.txt", b"x", "text/plain").await.0, 200);
    let other = s.server.create_app("other").await.unwrap();
    let url = format!("{}/admin/storage/files", s.server.url());
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("no token", s.http.get(&url).header("app-id", &s.app_id)),
        (
            "guest",
            s.http
                .get(&url)
                .header("app-id", &s.app_id)
                .header("as-guest", "true"),
        ),
        (
            "user token",
            s.http
                .get(&url)
                .header("app-id", &s.app_id)
                .header("as-token", uuid::Uuid::new_v4().to_string()),
        ),
        (
            "wrong app's token",
            s.http
                .get(&url)
                .header("app-id", &s.app_id)
                .header("authorization", format!("Bearer {}", other.admin_token)),
        ),
    ];
    for (what, rb) in cases {
        let r = rb.send().await.unwrap();
        assert_ne!(r.status(), 200, "{what}");
        let b: Value = r.json().await.unwrap();
        assert!(b.get("data").is_none(), "{what}: {b}");
    }
    // guests cannot upload or delete ($files rules default to false)
    let r = s
        .http
        .put(format!("{}/admin/storage/upload", s.server.url()))
        .header("app-id", &s.app_id)
        .header("as-guest", "true")
        .header("path", "g.txt")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["type"], "permission-denied");
    let r = s
        .http
        .post(format!("{}/admin/transact", s.server.url()))
        .header("app-id", &s.app_id)
        .header("as-guest", "true")
        .json(&json!({"steps": [["delete", "$files", ["path", "a.txt"]]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(s.files().await.len(), 1);
}

/// `url` is computed only when `fields` is absent or names it (instaql.md §7);
/// found by the official `@instantdb/admin` suite in tests/js.
#[tokio::test]
async fn files_url_follows_fields() {
    let s = setup(None).await;
    let (status, _) = s.upload("proj/p.txt", b"p", "text/plain").await;
    assert_eq!(status, 200);
    let query = |fields: Value| {
        let s = &s;
        async move {
            let r = s
                .req(reqwest::Method::POST, "/admin/query")
                .json(&json!({"query": {"$files": {"$": {"fields": fields}}}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            v["$files"][0].clone()
        }
    };
    let without = query(json!(["path", "size"])).await;
    assert_eq!(without["path"], "proj/p.txt");
    assert!(without.get("url").is_none(), "{without}");
    let with = query(json!(["path", "url"])).await;
    assert!(
        with["url"]
            .as_str()
            .is_some_and(|u| u.contains("signature=")),
        "{with}"
    );
    let all = &s.files().await[0];
    assert!(all["url"].is_string(), "{all}");
}
