//! Live queries over Server-Sent Events (`db.subscribeQuery`, spec `admin-http.md`
//! §3; behaviour of `client/packages/admin/src/subscribe.ts`).
//!
//! [`Client::subscribe_query`] returns a [`Subscription`], a `futures::Stream` of
//! `Result<QueryUpdate, Error>`: every `add-query-ok` / `refresh-ok` carries the full
//! current result; server `error` events and lost connections arrive as `Err` items
//! and the stream goes on. Reconnection follows the official client:
//! - the same `POST` is sent again with the same `local_connection_id`;
//! - the wait before reconnecting is 3 s until the server sends its `retry:` hint
//!   (500 ms on Instant), then the hint; unlike the official client the hint is
//!   raised to a floor ([`ClientBuilder::reconnect_min_delay`], 250 ms), doubled
//!   for each reconnect in a row that gets no answer (up to
//!   [`ClientBuilder::reconnect_max_delay`], 30 s) and jittered, so a server that
//!   sends `retry: 0` and closes cannot cause a reconnect storm;
//! - a connection counts as answered once the server opens the session
//!   (`sse-init`) or sends a result; a lost connection is reported as an error only
//!   if no connection is answered within the 5 s grace period (an event stream that
//!   opens but stays silent is not "back": it is reported too, and dropped after
//!   [`ClientBuilder::idle_timeout`]);
//! - after [`ClientBuilder::max_reconnect_attempts`] (20) reconnects in a row
//!   without an answer the subscription ends with [`Error::ReconnectsExhausted`];
//! - a non-200 answer (or one that is not `text/event-stream`) ends the
//!   subscription with that error, without retrying; so does a line or event over
//!   [`ClientBuilder::max_event_bytes`] ([`Error::EventTooLarge`]: a reconnect
//!   would bring the same result again), and results nested deeper than
//!   [`ClientBuilder::max_json_depth`] arrive as [`Error::NestingTooDeep`] items.
//!
//! The stream ends (`None`) after [`Subscription::close`] or a permanent failure;
//! dropping the subscription closes the connection. Up to 100 items are buffered
//! for a slow consumer; past that the connection waits for it (the JS async
//! iterator drops the oldest instead; every update carries the full result, so
//! nothing is lost by reading late).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use instant_core::{PageInfo, Query, TypedQuery};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::sse_limit::EventLimit;
use crate::transport::{Transport, VERSION};
#[cfg(doc)]
use crate::ClientBuilder;
use crate::{body, decode, ApiError, Client, Error, ErrorKind};

/// Grace period before a lost connection is reported (`subscribe.ts`: 5000 ms).
pub const ERROR_GRACE: Duration = Duration::from_secs(5);
/// Reconnect delay before the server's `retry:` hint is known (eventsource v4
/// default).
pub const DEFAULT_RETRY: Duration = Duration::from_millis(3000);
/// Updates buffered for a slow consumer before the connection waits for it.
const BUFFER: usize = 100;

/// Debug information about the server session (`sse-init`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// `machine-id`.
    pub machine_id: String,
    /// `session-id` (new on every reconnect).
    pub session_id: String,
}

/// One result of a live query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryUpdate {
    /// The full current result tree (same shape as [`Client::query_raw`]).
    pub data: Value,
    /// Page info per paginated top-level namespace, when the server sent
    /// `result-meta.page-info`.
    pub page_info: Option<BTreeMap<String, PageInfo>>,
    /// The session that produced this update.
    pub session: Option<SessionInfo>,
}

impl QueryUpdate {
    /// Decodes [`data`](Self::data) into `T`.
    ///
    /// # Errors
    /// [`Error::Decode`] naming the JSON path.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        decode::decode_value(self.data.clone())
    }
}

/// Connection state of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// Connecting or waiting to reconnect.
    Connecting,
    /// The event stream is open.
    Open,
    /// Closed for good.
    Closed,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<(ReadyState, Option<SessionInfo>)>,
    local_connection_id: Uuid,
}

impl Shared {
    fn set_state(&self, s: ReadyState) {
        if let Ok(mut g) = self.state.lock() {
            g.0 = s;
        }
    }
    fn set_session(&self, s: Option<SessionInfo>) {
        if let Ok(mut g) = self.state.lock() {
            g.1 = s;
        }
    }
    fn snapshot(&self) -> (ReadyState, Option<SessionInfo>) {
        self.state
            .lock()
            .map(|g| g.clone())
            .unwrap_or((ReadyState::Closed, None))
    }
}

/// A live query: a `Stream` of `Result<QueryUpdate, Error>` (see the module docs).
///
/// ```no_run
/// # async fn demo(db: instant_client::Client) -> Result<(), instant_client::Error> {
/// use futures::StreamExt;
/// let mut sub = db.subscribe_query_raw(serde_json::json!({"goals": {}}))?;
/// while let Some(update) = sub.next().await {
///     match update {
///         Ok(u) => println!("{} goals", u.data["goals"].as_array().map_or(0, Vec::len)),
///         Err(e) => eprintln!("subscription error: {e}"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Result<QueryUpdate, Error>>,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    closed: bool,
}

impl Subscription {
    /// Stops the subscription and closes the connection; the stream then ends.
    pub fn close(&mut self) {
        self.closed = true;
        self.task.abort();
        self.rx.close();
        self.shared.set_state(ReadyState::Closed);
    }

    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        if self.closed {
            ReadyState::Closed
        } else {
            self.shared.snapshot().0
        }
    }

    /// True once closed (by [`close`](Self::close) or a permanent failure).
    pub fn is_closed(&self) -> bool {
        self.ready_state() == ReadyState::Closed
    }

    /// The current server session, `None` while connecting.
    pub fn session_info(&self) -> Option<SessionInfo> {
        self.shared.snapshot().1
    }

    /// The client-chosen id sent as `?local_connection_id=`, the same across
    /// reconnects.
    pub fn local_connection_id(&self) -> Uuid {
        self.shared.local_connection_id
    }
}

impl Stream for Subscription {
    type Item = Result<QueryUpdate, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.closed {
            return Poll::Ready(None);
        }
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The callback form of a subscription (from
/// [`Client::subscribe_query_callback`]). Closing or dropping it stops the
/// subscription.
#[derive(Debug)]
pub struct SubscriptionHandle {
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl SubscriptionHandle {
    /// Feeds every item of `sub` to `callback` on a spawned task (a panicking
    /// callback is caught and logged, as the JS SDK catches callback errors).
    pub(crate) fn spawn(
        mut sub: Subscription,
        mut callback: impl FnMut(Result<QueryUpdate, Error>) + Send + 'static,
    ) -> SubscriptionHandle {
        let shared = sub.shared.clone();
        let task = tokio::spawn(async move {
            while let Some(item) = sub.next().await {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(item)));
                if r.is_err() {
                    tracing::error!("panic in a subscription callback");
                }
            }
        });
        SubscriptionHandle { task, shared }
    }

    /// Stops the subscription; the callback is not called again.
    pub fn close(&self) {
        self.task.abort();
        self.shared.set_state(ReadyState::Closed);
    }
    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        if self.task.is_finished() {
            ReadyState::Closed
        } else {
            self.shared.snapshot().0
        }
    }
    /// The current server session.
    pub fn session_info(&self) -> Option<SessionInfo> {
        self.shared.snapshot().1
    }
}

impl Drop for SubscriptionHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Conn {
    client: Client,
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Client {
    /// Subscribes to a live query given as JSON (`POST /admin/subscribe-query`).
    /// Sends the client's default `inference?`. Must be called inside a Tokio
    /// runtime (the connection runs on a spawned task).
    ///
    /// # Errors
    /// [`Error::Config`] outside a Tokio runtime or without the needed token;
    /// [`Error::Core`] when `query` is not an object. Connection and server errors
    /// arrive on the stream.
    pub fn subscribe_query_raw(&self, query: Value) -> Result<Subscription, Error> {
        let inference = self.default_inference();
        self.subscribe_inner(query, inference)
    }

    /// Subscribes to a [`Query`] (see [`subscribe_query_raw`](Self::subscribe_query_raw)).
    ///
    /// # Errors
    /// As [`subscribe_query_raw`](Self::subscribe_query_raw).
    pub fn subscribe_query(&self, query: &Query) -> Result<Subscription, Error> {
        query.validate()?;
        self.subscribe_inner(query.to_json(), self.default_inference())
    }

    /// Subscribes to a typed query with `inference?: true` but yields untyped
    /// [`QueryUpdate`]s (the escape hatch; decode one with
    /// [`QueryUpdate::data_as::<Q::Output>`](QueryUpdate::data_as)).
    /// [`subscribe_typed`](Self::subscribe_typed) yields decoded pages.
    ///
    /// # Errors
    /// As [`subscribe_query_raw`](Self::subscribe_query_raw); [`Error::Core`]
    /// when the query cannot be built.
    pub fn subscribe_typed_raw<Q: TypedQuery>(&self, query: &Q) -> Result<Subscription, Error> {
        let q = query.to_query()?;
        q.validate()?;
        self.subscribe_inner(q.to_json(), true)
    }

    /// The callback form: calls `callback` with every update or error until the
    /// returned handle is closed or dropped. A panicking callback is caught and
    /// logged (as the JS SDK catches callback errors).
    ///
    /// # Errors
    /// As [`subscribe_query`](Self::subscribe_query).
    pub fn subscribe_query_callback(
        &self,
        query: &Query,
        callback: impl FnMut(Result<QueryUpdate, Error>) + Send + 'static,
    ) -> Result<SubscriptionHandle, Error> {
        let sub = self.subscribe_query(query)?;
        Ok(SubscriptionHandle::spawn(sub, callback))
    }

    fn subscribe_inner(&self, query: Value, inference: bool) -> Result<Subscription, Error> {
        if !query.is_object() {
            return Err(Error::Core(instant_core::Error::InvalidQuery {
                path: vec![],
                message: "a query must be a JSON object".into(),
            }));
        }
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::config("subscribe_query must be called inside a Tokio runtime"))?;
        let local_connection_id = Uuid::new_v4();
        let url = self.transport().url(
            "/admin/subscribe-query",
            &[("local_connection_id", &local_connection_id.to_string())],
        );
        let mut headers = self.auth_headers(true)?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let body = serde_json::to_vec(&json!({
            "query": query,
            "inference?": inference,
            "versions": {"@instantdb/admin": VERSION, "@instantdb/core": VERSION},
        }))
        .map_err(|e| Error::config(e.to_string()))?;
        let shared = Arc::new(Shared {
            state: Mutex::new((ReadyState::Connecting, None)),
            local_connection_id,
        });
        let (tx, rx) = mpsc::channel(BUFFER);
        let conn = Conn {
            client: self.clone(),
            url,
            headers,
            body: Bytes::from(body),
        };
        let task = rt.spawn(run(conn, tx, shared.clone()));
        Ok(Subscription {
            rx,
            shared,
            task,
            closed: false,
        })
    }
}

type Tx = mpsc::Sender<Result<QueryUpdate, Error>>;

/// A pending "connection lost" error, delivered at `deadline` unless the stream
/// is open again by then.
struct Grace {
    deadline: Instant,
    error: Error,
}

/// Awaits `fut`, delivering the grace error if its deadline passes first.
/// `None` when the consumer is gone.
async fn with_grace<F: std::future::Future>(
    fut: F,
    grace: &mut Option<Grace>,
    tx: &Tx,
) -> Option<F::Output> {
    tokio::pin!(fut);
    loop {
        let Some(deadline) = grace.as_ref().map(|g| g.deadline) else {
            return Some(fut.await);
        };
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = tokio::time::sleep_until(deadline) => {
                if let Some(g) = grace.take() {
                    if tx.send(Err(g.error)).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

fn arm(grace: &mut Option<Grace>, error: Error) {
    if grace.is_none() {
        *grace = Some(Grace {
            deadline: Instant::now() + ERROR_GRACE,
            error,
        });
    }
}

async fn run(conn: Conn, tx: Tx, shared: Arc<Shared>) {
    let retry_ms = Arc::new(AtomicU64::new(DEFAULT_RETRY.as_millis() as u64));
    let mut grace: Option<Grace> = None;
    let t = conn.client.transport();
    // Connections lost in a row without the server establishing the session.
    let mut failures = 0u32;
    loop {
        shared.set_state(ReadyState::Connecting);
        let send = t
            .http
            .request(Method::POST, &conn.url)
            .headers(conn.headers.clone())
            .body(conn.body.clone())
            .send();
        let connect = tokio::time::timeout(t.timeout, send);
        let Some(res) = with_grace(connect, &mut grace, &tx).await else {
            return;
        };
        let mut established = false;
        let lost = match res {
            Err(_) => Error::Timeout(t.timeout),
            Ok(Err(e)) => Error::from_reqwest(e, t.timeout),
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                let is_sse = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
                if status != 200 || !is_sse {
                    // Permanent failure, as eventsource does for a bad answer.
                    let read = body::read_limited(resp, t.limits.max_response_bytes, t.timeout);
                    let body = tokio::time::timeout(t.timeout, read)
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or_default();
                    shared.set_state(ReadyState::Closed);
                    let _ = tx
                        .send(Err(Error::Api(ApiError::from_response(status, &body))))
                        .await;
                    return;
                }
                shared.set_state(ReadyState::Open);
                let mut state = StreamState {
                    tx: &tx,
                    shared: &shared,
                    grace: &mut grace,
                    established: &mut established,
                };
                match read_stream(resp, &mut state, &retry_ms, t).await {
                    Broke::Lost(e) => e,
                    Broke::Gone => return,
                    Broke::Fatal(e) => {
                        shared.set_state(ReadyState::Closed);
                        shared.set_session(None);
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        };
        tracing::debug!(error = %lost, "subscription connection lost; reconnecting");
        shared.set_state(ReadyState::Connecting);
        shared.set_session(None);
        if established {
            failures = 0;
        }
        failures += 1;
        if t.reconnect.exhausted(failures) {
            shared.set_state(ReadyState::Closed);
            let _ = tx
                .send(Err(Error::ReconnectsExhausted {
                    attempts: failures - 1,
                    source: Box::new(lost),
                }))
                .await;
            return;
        }
        arm(&mut grace, lost);
        let hint = Duration::from_millis(retry_ms.load(Ordering::Relaxed));
        let wait = t.reconnect.delay(hint, failures);
        if with_grace(tokio::time::sleep(wait), &mut grace, &tx)
            .await
            .is_none()
        {
            return;
        }
    }
}

/// Why [`read_stream`] stopped.
enum Broke {
    /// The connection was lost or went silent: reconnect.
    Lost(Error),
    /// The subscription cannot go on (an event over the size limit).
    Fatal(Error),
    /// The consumer is gone.
    Gone,
}

/// What [`read_stream`] updates while reading.
struct StreamState<'a> {
    tx: &'a Tx,
    shared: &'a Shared,
    grace: &'a mut Option<Grace>,
    /// Set once the server opened the session (`sse-init`) or sent a result.
    established: &'a mut bool,
}

/// The byte stream's error: the connection's, or a line/event over the limit.
#[derive(Debug)]
enum ReadError {
    Http(reqwest::Error),
    TooLarge,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Http(e) => e.fmt(f),
            ReadError::TooLarge => f.write_str("event over the size limit"),
        }
    }
}

/// Reads events until the stream breaks, delivering the pending grace error if
/// the server does not establish the session in time.
async fn read_stream(
    resp: reqwest::Response,
    st: &mut StreamState<'_>,
    retry_ms: &Arc<AtomicU64>,
    t: &Transport,
) -> Broke {
    let idle = t.idle_timeout;
    let max_event = t.limits.max_event_bytes;
    let mut scan = RetryScan::new(retry_ms.clone());
    let mut limit = EventLimit::new(max_event);
    let bytes = resp.bytes_stream().map(move |chunk| match chunk {
        Ok(c) if limit.feed(&c) => {
            scan.feed(&c);
            Ok(c)
        }
        Ok(_) => Err(ReadError::TooLarge),
        Err(e) => Err(ReadError::Http(e)),
    });
    let mut events = bytes.eventsource();
    loop {
        let next = tokio::time::timeout(idle, events.next());
        let Some(next) = with_grace(next, st.grace, st.tx).await else {
            return Broke::Gone;
        };
        let ev = match next {
            Err(_) => return Broke::Lost(Error::Timeout(idle)),
            Ok(None) => {
                return Broke::Lost(Error::transport("the server closed the event stream", None))
            }
            Ok(Some(Err(EventStreamError::Transport(ReadError::TooLarge)))) => {
                return Broke::Fatal(Error::EventTooLarge { limit: max_event })
            }
            Ok(Some(Err(e))) => {
                return Broke::Lost(Error::transport(format!("event stream broke: {e}"), None))
            }
            Ok(Some(Ok(ev))) => ev,
        };
        if let Some(r) = ev.retry {
            retry_ms.store(r.as_millis() as u64, Ordering::Relaxed);
        }
        let (items, established) =
            handle_data(ev.data.as_bytes(), st.shared, t.limits.max_json_depth);
        if established {
            *st.established = true;
            *st.grace = None;
        }
        for item in items {
            if st.tx.send(item).await.is_err() {
                return Broke::Gone;
            }
        }
    }
}

#[derive(Deserialize)]
struct ResultMeta {
    #[serde(rename = "page-info", default)]
    page_info: Option<BTreeMap<String, PageInfo>>,
}

#[derive(Deserialize)]
struct Computation {
    #[serde(rename = "instaql-result", default)]
    result: Value,
    #[serde(rename = "result-meta", default)]
    meta: Option<ResultMeta>,
}

#[derive(Deserialize)]
struct Msg {
    #[serde(default)]
    op: String,
    #[serde(rename = "machine-id", default)]
    machine_id: Option<String>,
    #[serde(rename = "session-id", default)]
    session_id: Option<String>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(rename = "result-meta", default)]
    meta: Option<ResultMeta>,
    #[serde(default)]
    computations: Option<Vec<Computation>>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    hint: Option<Value>,
    #[serde(rename = "trace-id", default)]
    trace_id: Option<Value>,
}

/// Turns one `data:` payload (a JSON object, or an array of them) into updates;
/// also says whether it established the session (`sse-init` or a result).
fn handle_data(
    data: &[u8],
    shared: &Shared,
    max_depth: usize,
) -> (Vec<Result<QueryUpdate, Error>>, bool) {
    // One object per event on Instant; the generic SSE code also accepts an array.
    let is_array = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let msgs = if is_array {
        decode::decode_limited::<Vec<Msg>>(data, max_depth)
    } else {
        decode::decode_limited::<Msg>(data, max_depth).map(|m| vec![m])
    };
    let msgs = match msgs {
        Ok(m) => m,
        Err(e) => return (vec![Err(e)], false),
    };
    let mut out = Vec::new();
    let mut established = false;
    for m in msgs {
        if matches!(m.op.as_str(), "sse-init" | "add-query-ok" | "refresh-ok") {
            established = true;
        }
        match m.op.as_str() {
            "sse-init" => shared.set_session(Some(SessionInfo {
                machine_id: m.machine_id.unwrap_or_default(),
                session_id: m.session_id.unwrap_or_default(),
            })),
            "add-query-ok" => out.push(Ok(QueryUpdate {
                data: m.result.unwrap_or(Value::Null),
                page_info: m.meta.and_then(|x| x.page_info),
                session: shared.snapshot().1,
            })),
            "refresh-ok" => {
                if let Some(c) = m.computations.and_then(|c| c.into_iter().next()) {
                    out.push(Ok(QueryUpdate {
                        data: c.result,
                        page_info: c.meta.and_then(|x| x.page_info),
                        session: shared.snapshot().1,
                    }));
                }
            }
            "error" => {
                let status = m.status.unwrap_or(500);
                let kind = ErrorKind::parse(m.kind.as_deref().unwrap_or(""));
                let message = m.message.unwrap_or_else(|| format!("API Error ({status})"));
                let mut e = ApiError::new(kind, message).with_status(status);
                e.hint = m.hint.filter(|h| !h.is_null());
                e.trace_id = match m.trace_id {
                    Some(Value::String(s)) => Some(s),
                    Some(Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                };
                out.push(Err(Error::Api(e)));
            }
            _ => {}
        }
    }
    (out, established)
}

/// Watches the raw bytes for `retry:<ms>` lines: `eventsource-stream` drops events
/// without data, and Undertow sends the hint on its own (`retry:500\n\n`).
struct RetryScan {
    line: Vec<u8>,
    overflow: bool,
    retry: Arc<AtomicU64>,
}

impl RetryScan {
    fn new(retry: Arc<AtomicU64>) -> Self {
        RetryScan {
            line: Vec::with_capacity(32),
            overflow: false,
            retry,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while !rest.is_empty() {
            match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(i) => {
                    self.push(&rest[..i]);
                    self.end_line();
                    rest = &rest[i + 1..];
                }
                None => {
                    self.push(rest);
                    rest = &[];
                }
            }
        }
    }

    fn push(&mut self, b: &[u8]) {
        if self.overflow {
            return;
        }
        if self.line.len() + b.len() > 32 {
            self.overflow = true;
        } else {
            self.line.extend_from_slice(b);
        }
    }

    fn end_line(&mut self) {
        if !self.overflow {
            if let Some(v) = self.line.strip_prefix(b"retry:") {
                let v = v.strip_prefix(b" ").unwrap_or(v);
                if let Some(ms) = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    self.retry.store(ms, Ordering::Relaxed);
                }
            }
        }
        self.line.clear();
        self.overflow = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            state: Mutex::new((ReadyState::Open, None)),
            local_connection_id: Uuid::new_v4(),
        }
    }

    fn hd(data: &[u8], sh: &Shared) -> Vec<Result<QueryUpdate, Error>> {
        handle_data(data, sh, 1024).0
    }

    #[test]
    fn results_and_init_establish_the_session() {
        let sh = shared();
        assert!(
            handle_data(
                br#"{"op":"sse-init","machine-id":"m","session-id":"s"}"#,
                &sh,
                64
            )
            .1
        );
        assert!(handle_data(br#"{"op":"add-query-ok","result":{}}"#, &sh, 64).1);
        assert!(!handle_data(br#"{"op":"error","status":400}"#, &sh, 64).1);
        assert!(!handle_data(b"nope", &sh, 64).1);
    }

    #[test]
    fn scans_retry_across_chunks() {
        let r = Arc::new(AtomicU64::new(3000));
        let mut s = RetryScan::new(r.clone());
        s.feed(b"ret");
        s.feed(b"ry:5");
        s.feed(b"00\n\ndata:{\"op\":\"x\"}\n\n");
        assert_eq!(r.load(Ordering::Relaxed), 500);
        s.feed(b"data: retry:7\n");
        assert_eq!(r.load(Ordering::Relaxed), 500);
    }

    #[test]
    fn handles_ops() {
        let sh = shared();
        assert!(hd(
            br#"{"op":"sse-init","machine-id":"m1","session-id":"s1"}"#,
            &sh
        )
        .is_empty());
        let u = hd(
            br#"{"op":"add-query-ok","result":{"goals":[]},"result-meta":{"page-info":{"goals":{"start-cursor":["a","b",1,2],"end-cursor":null,"has-next-page?":true,"has-previous-page?":false}}}}"#,
            &sh,
        );
        let u = u[0].as_ref().unwrap();
        assert_eq!(u.data, json!({"goals": []}));
        assert!(u.page_info.as_ref().unwrap()["goals"].has_next_page);
        assert_eq!(u.session.as_ref().unwrap().session_id, "s1");
        let u = hd(
            br#"{"op":"refresh-ok","computations":[{"instaql-result":{"goals":[{"id":"x"}]}}],"attrs":[1,2]}"#,
            &sh,
        );
        assert_eq!(u[0].as_ref().unwrap().data["goals"][0]["id"], "x");
        assert!(hd(br#"{"op":"refresh-ok","computations":[]}"#, &sh).is_empty());
        let e = hd(
            br#"{"op":"error","status":400,"type":"validation-failed","message":"bad","hint":{"x":1},"trace-id":"t"}"#,
            &sh,
        );
        match &e[0] {
            Err(Error::Api(a)) => {
                assert_eq!(a.status, 400);
                assert_eq!(a.kind, instant_core::ErrorKind::ValidationFailed);
                assert_eq!(a.trace_id.as_deref(), Some("t"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(hd(b"not json", &sh)[0], Err(Error::Decode { .. })));
        let two = hd(
            br#"[{"op":"add-query-ok","result":{"a":[]}},{"op":"add-query-exists"}]"#,
            &sh,
        );
        assert_eq!(two.len(), 1);
    }
}
