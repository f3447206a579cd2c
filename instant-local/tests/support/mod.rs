//! Shared helpers for instant-local integration tests: a server with an app, JSON
//! POST helpers, the dataset directory and dataset loaders.
#![allow(dead_code)]

use std::path::PathBuf;

use instant_local::{AppCredentials, LocalServer};
use serde_json::{json, Value};

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

/// `/work/shared/data`, found by walking up from the crate dir.
pub fn data_dir() -> Option<PathBuf> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared").join("data");
        if cand.join("README.md").exists() {
            return Some(cand);
        }
        if !dir.pop() {
            return None;
        }
    }
}

pub fn read_json(p: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json")
}

/// Loads a dataset (zeneca, movies) into a new temporary app created with its
/// schema, through `/admin/transact`. Returns None (skips) when the data is absent.
pub async fn load_dataset(name: &str) -> Option<Env> {
    let Some(dir) = data_dir() else {
        eprintln!(
            "SKIP: shared/data not found above {}",
            env!("CARGO_MANIFEST_DIR")
        );
        return None;
    };
    let dir = dir.join(name);
    let schema = read_json(dir.join("schema.json"));
    let env = Env::with_schema(schema.clone()).await;
    let mut steps = Vec::new();
    for ns in schema["entities"].as_object().unwrap().keys() {
        let ents = read_json(dir.join(format!("{ns}.json")));
        for e in ents.as_array().unwrap() {
            let mut attrs = e.as_object().unwrap().clone();
            let id = attrs.remove("id").unwrap();
            steps.push(json!(["update", ns, id, attrs]));
        }
    }
    for l in read_json(dir.join("links.json")).as_array().unwrap() {
        steps.push(json!(["link", l["fromNamespace"], l["from"], {l["forwardLabel"].as_str().unwrap(): l["to"]}]));
    }
    for chunk in steps.chunks(500) {
        env.tx_ok(Value::Array(chunk.to_vec())).await;
    }
    Some(env)
}

/// Ids of a result array.
pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
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
