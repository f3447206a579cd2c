//! One `LocalServer` per test binary, running on its own thread and runtime so that
//! every `#[tokio::test]` can use it, plus a small HTTP client for the Admin API
//! (`/admin/query`, `/admin/transact`, `/admin/subscribe-query`,
//! `/dash/apps/ephemeral`) and dataset loaders.

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use instant_local::{AppCredentials, LocalServer};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot, OnceCell};

use super::data;

type Reply = oneshot::Sender<Result<AppCredentials, String>>;

struct Shared {
    url: String,
    create: mpsc::UnboundedSender<(String, Reply)>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let server = LocalServer::builder()
                    .start()
                    .await
                    .expect("LocalServer::start");
                let (ctx, mut crx) = mpsc::unbounded_channel::<(String, Reply)>();
                tx.send((server.url(), ctx)).expect("send url");
                while let Some((title, reply)) = crx.recv().await {
                    let r = server.create_app(&title).await.map_err(|e| e.to_string());
                    let _ = reply.send(r);
                }
            });
        });
        let (url, create) = rx.recv().expect("server thread started");
        Shared { url, create }
    })
}

/// The shared server's base URL.
pub fn url() -> String {
    shared().url.clone()
}

/// A response: HTTP status and JSON body (`{"_text": ...}` when not JSON).
#[derive(Debug, Clone)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Value,
}

impl Resp {
    /// `body.message` (or "").
    pub fn message(&self) -> String {
        self.body["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    /// `body.type` (or "").
    pub fn kind(&self) -> String {
        self.body["type"].as_str().unwrap_or_default().to_string()
    }
    /// Asserts a 400 with `type` and a message equal to `message`.
    #[track_caller]
    pub fn assert_error(&self, kind: &str, message: &str) {
        assert_eq!(
            (self.status, self.kind().as_str(), self.message().as_str()),
            (400, kind, message),
            "full body: {}",
            self.body
        );
    }
    /// Asserts a 400 with `type` and a message containing `part`.
    #[track_caller]
    pub fn assert_error_contains(&self, kind: &str, part: &str) {
        assert_eq!(
            (self.status, self.kind().as_str()),
            (400, kind),
            "full body: {}",
            self.body
        );
        assert!(
            self.message().contains(part),
            "message {:?} should contain {part:?}",
            self.message()
        );
    }
}

/// An app on the shared server and a client for it.
#[derive(Clone)]
pub struct App {
    /// Base URL.
    pub url: String,
    /// App id.
    pub app_id: String,
    /// Admin token.
    pub token: String,
    http: reqwest::Client,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("reqwest client")
}

async fn to_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "_text": text }));
    Resp { status, body }
}

impl App {
    /// A new empty app without a schema (attrs are inferred by transactions),
    /// created with `LocalServer::create_app`.
    pub async fn plain(title: &str) -> App {
        let (reply, rx) = oneshot::channel();
        shared()
            .create
            .send((title.to_string(), reply))
            .expect("server thread alive");
        let creds = rx.await.expect("reply").expect("create_app");
        App {
            url: url(),
            app_id: creds.app_id.to_string(),
            token: creds.admin_token,
            http: client(),
        }
    }

    /// A new app created through `POST /dash/apps/ephemeral` with `schema` (the
    /// client schema JSON of schema-and-platform.md Part A) and no rules.
    pub async fn with_schema(title: &str, schema: Value) -> App {
        let http = client();
        let r = http
            .post(format!("{}/dash/apps/ephemeral", url()))
            .json(&json!({"title": title, "schema": schema}))
            .send()
            .await
            .expect("POST /dash/apps/ephemeral");
        let r = to_resp(r).await;
        assert_eq!(r.status, 200, "ephemeral app: {}", r.body);
        let app = &r.body["app"];
        App {
            url: url(),
            app_id: app["id"].as_str().expect("app.id").to_string(),
            token: app["admin-token"]
                .as_str()
                .expect("app.admin-token")
                .to_string(),
            http,
        }
    }

    /// An existing app by credentials, on the server at `base` (e.g. a server a
    /// test started itself).
    pub fn at(base: &str, creds: &AppCredentials) -> App {
        App {
            url: base.to_string(),
            app_id: creds.app_id.to_string(),
            token: creds.admin_token.clone(),
            http: client(),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Resp {
        let r = self
            .http
            .post(format!("{}{path}?app_id={}", self.url, self.app_id))
            .header("app-id", &self.app_id)
            .header("authorization", format!("Bearer {}", self.token))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        to_resp(r).await
    }

    /// `POST /admin/query` with `inference?` false.
    pub async fn query(&self, q: Value) -> Resp {
        self.post("/admin/query", &json!({ "query": q })).await
    }

    /// `POST /admin/query` with `inference?` set.
    pub async fn query_inf(&self, q: Value, inference: bool) -> Resp {
        self.post(
            "/admin/query",
            &json!({"query": q, "inference?": inference}),
        )
        .await
    }

    /// `POST /admin/query`, asserting 200; returns the result tree.
    #[track_caller]
    pub fn query_ok(&self, q: Value) -> impl std::future::Future<Output = Value> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            let r = self.query(q.clone()).await;
            assert_eq!(r.status, 200, "query {q} at {caller}: {}", r.body);
            r.body
        }
    }

    /// `POST /admin/transact`.
    pub async fn transact(&self, steps: Value, throw_on_missing_attrs: bool) -> Resp {
        self.post(
            "/admin/transact",
            &json!({"steps": steps, "throw-on-missing-attrs?": throw_on_missing_attrs}),
        )
        .await
    }

    /// `POST /admin/transact` without the throw flag, asserting 200.
    #[track_caller]
    pub fn tx_ok(&self, steps: Value) -> impl std::future::Future<Output = Value> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            let r = self.transact(steps.clone(), false).await;
            assert_eq!(r.status, 200, "transact {steps} at {caller}: {}", r.body);
            assert!(r.body["tx-id"].is_i64(), "tx-id: {}", r.body);
            r.body
        }
    }

    /// Opens `POST /admin/subscribe-query` (asserting HTTP 200) and returns the
    /// open stream.
    pub async fn subscribe(&self, q: Value, inference: bool) -> Subscription {
        let r = self
            .http
            .post(format!(
                "{}/admin/subscribe-query?local_connection_id={}",
                self.url,
                uuid::Uuid::new_v4()
            ))
            .header("app-id", &self.app_id)
            .header("authorization", format!("Bearer {}", self.token))
            .json(&json!({"query": q, "inference?": inference}))
            .send()
            .await
            .expect("subscribe-query");
        assert_eq!(r.status().as_u16(), 200, "subscribe-query status");
        Subscription {
            stream: Box::pin(r.bytes_stream()),
            buf: String::new(),
            pending: Vec::new(),
        }
    }

    /// Opens `POST /admin/subscribe-query` and returns the first `add-query-ok` or
    /// `error` event (the stream is then dropped).
    pub async fn subscribe_first(&self, q: Value, inference: bool) -> Value {
        let mut sub = self.subscribe(q, inference).await;
        loop {
            let ev = sub.next_event().await;
            if ev["op"] == "add-query-ok" || ev["op"] == "error" {
                return ev;
            }
        }
    }

    /// Loads dataset `ds` (entities from `<ns>.json` in file order, then every link
    /// of links.json) through `/admin/transact` in batches. Entity steps are
    /// `update` (upsert); link steps use the forward label.
    pub async fn load_dataset(&self, ds: &str, namespaces: &[&str], throw: bool) {
        let mut steps: Vec<Value> = Vec::new();
        for ns in namespaces {
            for row in data::entities(ds, ns) {
                let id = row["id"].clone();
                let mut attrs: Map<String, Value> = row.clone();
                attrs.remove("id");
                steps.push(json!(["update", ns, id, attrs]));
            }
        }
        for l in data::links(ds) {
            steps.push(json!(["link", l.from_ns, l.from, { l.forward_label: l.to }]));
        }
        for chunk in steps.chunks(250) {
            let r = self.transact(Value::Array(chunk.to_vec()), throw).await;
            assert_eq!(r.status, 200, "loading {ds}: {}", r.body);
        }
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// An open live query (SSE).
pub struct Subscription {
    stream: ByteStream,
    buf: String,
    pending: Vec<Value>,
}

impl Subscription {
    /// The next `data:` event (JSON object; arrays are split), waiting at most
    /// 30 s. Comment lines and `retry:` are skipped.
    pub async fn next_event(&mut self) -> Value {
        let read = async {
            loop {
                if !self.pending.is_empty() {
                    return self.pending.remove(0);
                }
                if let Some(pos) = self.buf.find('\n') {
                    let line = self.buf[..pos].trim_end_matches('\r').to_string();
                    self.buf.drain(..=pos);
                    if let Some(data) = line.strip_prefix("data:") {
                        let v: Value = serde_json::from_str(data.trim_start()).expect("sse json");
                        match v {
                            Value::Array(a) => self.pending.extend(a),
                            other => self.pending.push(other),
                        }
                    }
                    continue;
                }
                match self.stream.next().await {
                    Some(chunk) => self
                        .buf
                        .push_str(&String::from_utf8_lossy(&chunk.expect("sse chunk"))),
                    None => panic!("SSE stream ended"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("an SSE event within 30 s")
    }
}

/// The zeneca schema (data/zeneca/schema.json).
pub fn zeneca_schema() -> Value {
    data::json("zeneca", "schema.json")
}

/// The movies schema (data/movies/schema.json).
pub fn movies_schema() -> Value {
    data::json("movies", "schema.json")
}

/// The app loaded once per test binary into `cell` by `init`, with a fresh
/// client (apps are shared between tests: they only read).
async fn shared_app<F, Fut>(cell: &'static OnceCell<(String, String)>, init: F) -> App
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = App>,
{
    let (id, token) = cell
        .get_or_init(|| async {
            let app = init().await;
            (app.app_id.clone(), app.token.clone())
        })
        .await
        .clone();
    App {
        url: url(),
        app_id: id,
        token,
        http: client(),
    }
}

/// One app per test binary with zeneca loaded on top of its schema (pushed via
/// `/dash/apps/ephemeral`, so typed + indexed attrs allow comparisons and ordering;
/// transactions sent with `throw-on-missing-attrs?` true to prove the schema took).
/// Read-only: tests must not write to it.
pub async fn zeneca() -> App {
    static APP: OnceCell<(String, String)> = OnceCell::const_new();
    shared_app(&APP, || async {
        let app = App::with_schema("zeneca", zeneca_schema()).await;
        app.load_dataset("zeneca", &["users", "bookshelves", "books"], true)
            .await;
        app
    })
    .await
}

/// Like [`zeneca`] for movies (schema with has-one `movie.director`).
pub async fn movies() -> App {
    static APP: OnceCell<(String, String)> = OnceCell::const_new();
    shared_app(&APP, || async {
        let app = App::with_schema("movies", movies_schema()).await;
        app.load_dataset("movies", &["person", "movie"], true).await;
        app
    })
    .await
}

/// zeneca loaded into a schema-less app: every attr inferred (untyped, unindexed).
pub async fn zeneca_inferred() -> App {
    static APP: OnceCell<(String, String)> = OnceCell::const_new();
    shared_app(&APP, || async {
        let app = App::plain("zeneca-inferred").await;
        app.load_dataset("zeneca", &["users", "bookshelves", "books"], false)
            .await;
        app
    })
    .await
}

/// The ids of a result array, in order.
#[track_caller]
pub fn result_ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect()
}

/// Sorted ids of a result array.
#[track_caller]
pub fn id_set(v: &Value) -> Vec<String> {
    let mut ids = result_ids(v);
    ids.sort();
    ids
}

/// An entity object with `null` values removed (absent and null are equivalent,
/// semantics.md §2.1).
pub fn without_nulls(o: &Value) -> Map<String, Value> {
    o.as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}
