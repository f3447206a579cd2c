//! A server of its own per test ([`Env`]) with one app, JSON POST helpers,
//! live-query reading ([`Sse`]) and a dataset loader. (The shared server of a
//! whole test binary is in [`super::server`]; dataset files in [`super::data`].)

use instant_local::{AppCredentials, LocalServer};
use serde_json::{json, Value};

use super::data;
pub use super::server::result_ids as ids;

/// A running server plus one app.
pub struct Env {
    pub server: LocalServer,
    pub app: AppCredentials,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn new() -> Env {
        let server = LocalServer::builder().start().await.expect("start");
        let app = server.create_app("test").await.expect("create app");
        Env {
            server,
            app,
            http: reqwest::Client::new(),
        }
    }

    /// An env whose app is a temporary app created with `schema`.
    pub async fn with_schema(schema: Value) -> Env {
        let server = LocalServer::builder().start().await.expect("start");
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{}/dash/apps/ephemeral", server.url()))
            .json(&json!({"title": "t", "schema": schema}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.expect("json");
        let app = AppCredentials {
            app_id: instant_core::Id::parse(body["app"]["id"].as_str().unwrap()).unwrap(),
            admin_token: body["app"]["admin-token"].as_str().unwrap().to_string(),
        };
        Env { server, app, http }
    }

    /// POST `path` with admin auth; returns (status, JSON body or text as string).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{}", self.server.url(), path))
            .header("app-id", self.app.app_id.to_string())
            .header("authorization", format!("Bearer {}", self.app.admin_token))
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.expect("text");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn transact(&self, steps: Value) -> (u16, Value) {
        self.post("/admin/transact", json!({ "steps": steps }))
            .await
    }

    /// Transacts and asserts success.
    pub async fn tx_ok(&self, steps: Value) -> i64 {
        let (s, b) = self.transact(steps).await;
        assert_eq!(s, 200, "transact failed: {b}");
        b["tx-id"].as_i64().expect("tx-id")
    }

    /// Transacts and asserts a 400 with `message`; returns the body.
    pub async fn tx_err(&self, steps: Value, message: &str) -> Value {
        let (s, b) = self.transact(steps).await;
        assert_eq!(s, 400, "expected failure, got {b}");
        assert_eq!(b["message"], message, "body: {b}");
        b
    }

    pub async fn query(&self, q: Value) -> Value {
        let (s, b) = self.post("/admin/query", json!({ "query": q })).await;
        assert_eq!(s, 200, "query failed: {b}");
        b
    }

    pub async fn query_inf(&self, q: Value) -> Value {
        let (s, b) = self
            .post("/admin/query", json!({ "query": q, "inference?": true }))
            .await;
        assert_eq!(s, 200, "query failed: {b}");
        b
    }

    pub async fn query_err(&self, q: Value) -> Value {
        let (s, b) = self.post("/admin/query", json!({ "query": q })).await;
        assert_eq!(s, 400, "expected failure, got {b}");
        b
    }
}

/// Loads a dataset (zeneca, movies) into a new temporary app created with its
/// schema, through `/admin/transact`. Returns None (skips) when the data is absent.
pub async fn load_dataset(name: &str) -> Option<Env> {
    if !data::dataset_dir(name).join("schema.json").exists() {
        eprintln!("SKIP: dataset {name} not found");
        return None;
    }
    let schema = data::json(name, "schema.json");
    let env = Env::with_schema(schema.clone()).await;
    let mut steps = Vec::new();
    for ns in schema["entities"].as_object().unwrap().keys() {
        for mut attrs in data::entities(name, ns) {
            let id = attrs.remove("id").unwrap();
            steps.push(json!(["update", ns, id, attrs]));
        }
    }
    for l in data::json(name, "links.json").as_array().unwrap() {
        steps.push(json!(["link", l["fromNamespace"], l["from"], {l["forwardLabel"].as_str().unwrap(): l["to"]}]));
    }
    for chunk in steps.chunks(500) {
        env.tx_ok(Value::Array(chunk.to_vec())).await;
    }
    Some(env)
}

/// A field of each item.
pub fn field(v: &Value, f: &str) -> Vec<Value> {
    v.as_array().unwrap().iter().map(|e| e[f].clone()).collect()
}

/// Reads an SSE response: `next_event` returns the next `data:` JSON payload;
/// comments and `retry:` lines are recorded.
pub struct Sse {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
    pub comments: usize,
    pub retry: Option<String>,
}

impl Sse {
    /// Opens a subscription; `Err((status, body))` when the server answers
    /// without a stream.
    pub async fn open(env: &Env, body: Value) -> Result<Sse, (u16, Value)> {
        let r = env
            .http
            .post(format!("{}/admin/subscribe-query", env.server.url()))
            .header("app-id", env.app.app_id.to_string())
            .header("authorization", format!("Bearer {}", env.app.admin_token))
            .json(&body)
            .send()
            .await
            .expect("send");
        if r.status() != 200 {
            let s = r.status().as_u16();
            let t = r.text().await.unwrap_or_default();
            return Err((s, serde_json::from_str(&t).unwrap_or(Value::String(t))));
        }
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(ct, "text/event-stream");
        Ok(Sse {
            stream: Box::pin(r.bytes_stream()),
            buf: String::new(),
            comments: 0,
            retry: None,
        })
    }

    /// Next data event within `secs` seconds.
    pub async fn next_event(&mut self, secs: u64) -> Option<Value> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            while let Some(pos) = self.buf.find('\n') {
                let line: String = self.buf.drain(..=pos).collect();
                let line = line.trim_end_matches('\n');
                if let Some(d) = line.strip_prefix("data:") {
                    return Some(serde_json::from_str(d.trim_start()).expect("event json"));
                } else if line.starts_with(':') {
                    self.comments += 1;
                } else if let Some(r) = line.strip_prefix("retry:") {
                    self.retry = Some(r.to_string());
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk.ok()?));
        }
    }
}

/// A client for one app: base URL, app id, admin token, and a request helper
/// that sends the admin token or not plus any impersonation headers.
#[derive(Clone)]
pub struct AppClient {
    /// Base URL of the server.
    pub url: String,
    /// The app id.
    pub app_id: String,
    /// The admin token.
    pub token: String,
    /// HTTP client.
    pub http: reqwest::Client,
}

impl AppClient {
    /// A client for app `app_id` with admin token `token` on the server at `url`.
    pub fn new(url: &str, app_id: &str, token: &str) -> AppClient {
        AppClient {
            url: url.to_string(),
            app_id: app_id.to_string(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Opens `POST /admin/subscribe-query` for `query` with the admin token
    /// (the response streams the SSE events).
    pub async fn subscribe(&self, query: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/admin/subscribe-query", self.url))
            .header("app-id", &self.app_id)
            .header("authorization", format!("Bearer {}", self.token))
            .json(&json!({"query": query}))
            .send()
            .await
            .expect("send")
    }

    /// POSTs `body` to `path` with the `app-id` header, the admin token when
    /// `admin`, and `hdrs`; returns the status and the JSON body (`null` when
    /// not JSON).
    pub async fn post(
        &self,
        path: &str,
        admin: bool,
        hdrs: &[(&str, &str)],
        body: Value,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .post(format!("{}{}", self.url, path))
            .header("app-id", &self.app_id)
            .json(&body);
        if admin {
            r = r.header("authorization", format!("Bearer {}", self.token));
        }
        for (k, v) in hdrs {
            r = r.header(*k, *v);
        }
        let resp = r.send().await.expect("send");
        let s = resp.status().as_u16();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path` (with its query string) with the `app-id` header and the
    /// admin token; returns the status and the JSON body (`null` when not JSON).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{}", self.url, path))
            .header("app-id", &self.app_id)
            .header("authorization", format!("Bearer {}", self.token))
            .send()
            .await
            .expect("send");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// `PUT /admin/storage/upload` of `bytes` at `path` with the admin token.
    pub async fn upload(&self, path: &str, bytes: &'static [u8]) -> (u16, Value) {
        let r = self
            .http
            .put(format!("{}/admin/storage/upload", self.url))
            .header("app-id", &self.app_id)
            .header("authorization", format!("Bearer {}", self.token))
            .header("path", path)
            .body(bytes)
            .send()
            .await
            .expect("send");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates a temporary app with `create_body` (`{"title", "rules"?:
    /// {"code"}, "schema"?}`) on the server at `url`.
    pub async fn create_temp(url: &str, create_body: Value) -> AppClient {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{url}/dash/apps/ephemeral"))
            .json(&create_body)
            .send()
            .await
            .expect("POST /dash/apps/ephemeral");
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.expect("json");
        AppClient {
            url: url.to_string(),
            app_id: body["app"]["id"].as_str().expect("app.id").to_string(),
            token: body["app"]["admin-token"]
                .as_str()
                .expect("app.admin-token")
                .to_string(),
            http,
        }
    }
}

/// A server of its own with one temporary app created by
/// `POST /dash/apps/ephemeral` (so it can carry `rules` and a `schema`);
/// derefs to the app's [`AppClient`].
pub struct TempApp {
    /// The app's client.
    pub client: AppClient,
    /// The server (kept alive with the app).
    pub server: LocalServer,
}

impl std::ops::Deref for TempApp {
    type Target = AppClient;
    fn deref(&self) -> &AppClient {
        &self.client
    }
}

impl TempApp {
    /// Starts a server and creates a temporary app with `create_body`
    /// (`{"title", "rules"?: {"code"}, "schema"?}`).
    pub async fn new(create_body: Value) -> TempApp {
        TempApp::on(
            LocalServer::builder().start().await.expect("start"),
            create_body,
        )
        .await
    }

    /// Creates a temporary app with `create_body` on `server`.
    pub async fn on(server: LocalServer, create_body: Value) -> TempApp {
        TempApp {
            client: AppClient::create_temp(&server.url(), create_body).await,
            server,
        }
    }
}
