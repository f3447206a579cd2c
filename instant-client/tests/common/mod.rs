//! A recording test server: an axum app on 127.0.0.1:0 that stores every request
//! (method, path, query string, headers, body) and answers with a per-test
//! responder.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::Value;

pub const APP_ID: &str = "11111111-1111-4111-8111-111111111111";
pub const ADMIN_TOKEN: &str = "22222222-2222-4222-8222-222222222222";
pub const GOAL: &str = "33333333-3333-4333-8333-333333333333";
pub const TODO: &str = "44444444-4444-4444-8444-444444444444";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
    /// `path?query`.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }
}

pub type Responder = Arc<dyn Fn(&Recorded) -> Response + Send + Sync>;

#[derive(Clone)]
struct AppState {
    log: Arc<Mutex<Vec<Recorded>>>,
    responder: Responder,
}

pub struct Recorder {
    pub url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Starts a recorder answering with `responder`.
    pub async fn start(responder: impl Fn(&Recorded) -> Response + Send + Sync + 'static) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = AppState {
            log: log.clone(),
            responder: Arc::new(responder),
        };
        let app = Router::new().fallback(handle).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Recorder {
            url: format!("http://{addr}"),
            log,
            _task: task,
        }
    }

    /// A recorder answering every request with 200 and `body`.
    pub async fn json(body: Value) -> Self {
        Self::start(move |_| json_response(200, &body)).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("a request was recorded")
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn client(&self) -> instant_client::Client {
        instant_client::Client::builder()
            .app_id(APP_ID)
            .admin_token(ADMIN_TOKEN)
            .api_uri(&self.url)
            .retry_base_delay(std::time::Duration::from_millis(5))
            .build()
            .unwrap()
    }
}

async fn handle(
    State(st): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rec = Recorded {
        method,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        body,
    };
    st.log.lock().unwrap().push(rec.clone());
    (st.responder)(&rec)
}

pub fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

pub fn text_response(status: u16, body: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "text/plain")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Asserts the headers every Admin JSON call carries (captured-requests.md).
pub fn assert_admin_headers(r: &Recorded) {
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    assert_eq!(r.header("app-id"), Some(APP_ID));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {ADMIN_TOKEN}").as_str())
    );
    assert_eq!(r.header("instant-admin-version"), Some(instant_client::VERSION));
    assert_eq!(r.header("instant-core-version"), Some(instant_client::VERSION));
    assert!(instant_client::VERSION.starts_with('v'));
    assert_eq!(r.header("accept"), Some("*/*"));
    assert!(r
        .header("user-agent")
        .is_some_and(|u| u.starts_with("instant-rs/")));
    for h in ["as-email", "as-token", "as-guest"] {
        assert!(r.header(h).is_none(), "unexpected {h}");
    }
}

pub fn app_q() -> String {
    format!("app_id={APP_ID}")
}
