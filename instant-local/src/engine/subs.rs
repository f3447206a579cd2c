//! Live queries (`POST /admin/subscribe-query`, spec `admin-http.md` §3): each
//! subscription remembers its query, the namespaces it reads and the hash of its
//! last result. After a commit, a per-app worker thread recomputes only the
//! subscriptions whose namespaces were touched and sends `refresh-ok` when the
//! result changed. Transactions never wait for that work.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Weak};

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::{App, Engine};

/// One open subscription.
pub struct Sub {
    /// Subscription id (unique per server).
    pub id: u64,
    /// The query as sent.
    pub raw: Value,
    /// `inference?`.
    pub inference: bool,
    /// Namespaces read by the query.
    pub topics: Mutex<HashSet<String>>,
    /// Hash of the last result sent.
    pub last_hash: Mutex<u64>,
    /// Where SSE `data` payloads go.
    pub tx: UnboundedSender<String>,
    /// Permission filtering and `$files.url` for this subscriber.
    pub view: Option<Arc<super::permissions::ResultView>>,
}

/// Hash of a result's JSON text.
pub fn hash_result(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

struct Notice {
    tx_id: i64,
    topics: HashSet<String>,
}

/// The subscriptions of one app and its refresh worker.
#[derive(Default)]
pub struct Subscriptions {
    list: Mutex<Vec<Arc<Sub>>>,
    worker: Mutex<Option<mpsc::Sender<Notice>>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh subscription id.
pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Subscriptions {
    /// Registers a subscription (call while holding the app's state read lock
    /// after computing its first result, so no commit slips in between).
    pub fn add(&self, app: &Arc<App>, sub: Arc<Sub>, engine: &Arc<Engine>) {
        self.list.lock().push(sub);
        let mut w = self.worker.lock();
        if w.is_none() {
            let (tx, rx) = mpsc::channel::<Notice>();
            let weak_app = Arc::downgrade(app);
            let weak_engine = Arc::downgrade(engine);
            let spawned = std::thread::Builder::new()
                .name("instant-local-refresh".into())
                .spawn(move || worker(rx, weak_app, weak_engine));
            if spawned.is_ok() {
                *w = Some(tx);
            }
        }
    }

    /// Removes a subscription.
    pub fn remove(&self, id: u64) {
        self.list.lock().retain(|s| s.id != id);
    }

    /// Drops every subscription (their streams end).
    pub fn close_all(&self) {
        self.list.lock().clear();
        *self.worker.lock() = None;
    }

    /// Tells the worker that `tx_id` touched `topics`. Cheap: no query runs here.
    pub fn notify(&self, _app: &App, tx_id: i64, topics: HashSet<String>, _engine: &Engine) {
        if self.list.lock().is_empty() {
            return;
        }
        if let Some(w) = self.worker.lock().as_ref() {
            let _ = w.send(Notice { tx_id, topics });
        }
    }

    fn snapshot(&self) -> Vec<Arc<Sub>> {
        self.list.lock().clone()
    }
}

fn worker(rx: mpsc::Receiver<Notice>, app: Weak<App>, engine: Weak<Engine>) {
    while let Ok(first) = rx.recv() {
        // Coalesce everything already queued.
        let mut tx_id = first.tx_id;
        let mut topics = first.topics;
        while let Ok(n) = rx.try_recv() {
            tx_id = tx_id.max(n.tx_id);
            topics.extend(n.topics);
        }
        let (Some(app), Some(engine)) = (app.upgrade(), engine.upgrade()) else {
            return;
        };
        // Keep the worker alive even if a query evaluation panics.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            refresh(&app, &engine, tx_id, &topics)
        }));
    }
}

/// Recomputes the subscriptions of `app` that read any of `topics`.
pub fn refresh(app: &Arc<App>, engine: &Engine, tx_id: i64, topics: &HashSet<String>) {
    let subs = app.subs.snapshot();
    let mut dead = Vec::new();
    let mut attrs_json: Option<Value> = None;
    for sub in subs {
        if sub.tx.is_closed() {
            dead.push(sub.id);
            continue;
        }
        let affected = sub.topics.lock().iter().any(|t| topics.contains(t));
        if !affected {
            continue;
        }
        let out = engine
            .query(app, &sub.raw, sub.inference, true)
            .and_then(|mut out| {
                if let Some(v) = &sub.view {
                    v.apply(
                        &app.state.read(),
                        &engine.storage,
                        app.id(),
                        &mut out.result,
                    )?;
                }
                Ok(out)
            });
        let msg = match out {
            Ok(out) => {
                let h = hash_result(&out.result);
                {
                    let mut last = sub.last_hash.lock();
                    if *last == h {
                        continue;
                    }
                    *last = h;
                }
                *sub.topics.lock() = out.topics.clone();
                let attrs = attrs_json
                    .get_or_insert_with(|| {
                        let st = app.state.read();
                        Value::Array(st.attrs.values().map(|a| a.to_json()).collect())
                    })
                    .clone();
                json!({
                    "op": "refresh-ok",
                    "processed-tx-id": tx_id,
                    "computations": [{
                        "instaql-query": sub.raw,
                        "instaql-query-hash": h,
                        "instaql-result": out.result,
                        "result-meta": {"page-info": out.page_info, "aggregate": out.aggregate},
                        "result-changed?": true,
                        "instaql-topic?": true,
                    }],
                    "attrs": attrs,
                    "trace-id": Value::Null,
                })
            }
            Err(e) => error_event(&e, &sub.raw),
        };
        if sub.tx.send(msg.to_string()).is_err() {
            dead.push(sub.id);
        }
    }
    for id in dead {
        app.subs.remove(id);
    }
}

/// The SSE `error` event for an error while running a subscription's query.
pub fn error_event(e: &instant_core::ApiError, q: &Value) -> Value {
    use instant_core::ErrorKind::*;
    let status = match &e.kind {
        RecordNotFound
        | RecordExpired
        | RecordNotUnique
        | RecordForeignKeyInvalid
        | RecordCheckViolation
        | SqlRaise
        | PermissionDenied
        | PermissionEvaluationFailed
        | AppReadOnly
        | AppDisabled
        | RateLimited
        | ParamMissing
        | ParamMalformed
        | ValidationFailed => 400,
        _ => 500,
    };
    let client_event_id = uuid::Uuid::new_v4().to_string();
    json!({
        "op": "error",
        "status": status,
        "type": e.kind.as_str(),
        "message": e.message,
        "hint": e.hint,
        "client-event-id": client_event_id,
        "original-event": {"op": "add-query", "q": q, "client-event-id": client_event_id, "return-type": "tree"},
        "trace-id": Value::Null,
    })
}
