//! Live queries (`POST /admin/subscribe-query`, spec `admin-http.md` §3).
//!
//! Subscriptions with the same query, `inference?` and result view (admin, or
//! the same impersonated user under the same rules) share one [`LiveQuery`]:
//! after a commit it is recomputed once, its result serialized once, and the
//! same `refresh-ok` frame is sent to every member whose last result differs.
//! A live query is recomputed only when the transaction touched an attribute
//! it reads ([`topics::ReadSet::affected_by`]). The work runs on one refresh
//! thread per app; transactions only queue a notice and never wait for it.
//!
//! Each subscriber's frames wait in a bounded [`outbox::Outbox`]
//! ([`crate::Limits::subscriber_queue`] frames): a subscriber that does not read
//! gets only the latest of the results it missed (older `refresh-ok` frames are
//! dropped as superseded, never the latest) and is not disconnected; its queue
//! is emptied the moment its connection goes. An app holds at most
//! [`crate::Limits::max_subscriptions_per_app`] subscriptions.

pub mod outbox;
pub mod topics;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Weak};

use bytes::Bytes;
use instant_core::{ApiError, Query};
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::deadline::Deadline;
use super::permissions::ResultView;
use super::query::{self, QueryOutput};
use super::state::AppState;
use super::{App, Engine};
use outbox::{FrameKind, Outbox};
use topics::{EntityFilter, ReadSet, Touched};

/// Top-level entity ids per namespace of a live query's last result.
type LastIds = std::collections::HashMap<String, std::collections::HashSet<uuid::Uuid>>;

/// One open subscription (one SSE stream).
pub struct Sub {
    /// Subscription id (unique per server, from [`next_id`]).
    pub id: u64,
    /// Hash ([`hash_text`]) of the serialized result last sent to this stream.
    pub last_hash: AtomicU64,
    /// Where ready-to-write SSE frames (`data:...\n\n`) go: a queue bounded by
    /// [`crate::Limits::subscriber_queue`] (see [`outbox`]).
    pub out: Arc<Outbox>,
}

impl Drop for Sub {
    /// The subscription is gone (unregistered, app deleted, server shut down):
    /// its stream ends once the queued frames are written.
    fn drop(&mut self) {
        self.out.finish();
    }
}

/// What a subscription asks for; subscriptions with equal [`LiveSpec::share_key`]
/// (and equal query text and `inference?`) share their recomputation.
pub struct LiveSpec {
    /// The query as sent.
    pub raw: Value,
    /// The parsed query.
    pub parsed: Query,
    /// `inference?`.
    pub inference: bool,
    /// Permission filtering and `$files.url` for these subscribers.
    pub view: Arc<ResultView>,
    /// Identity of `view` (e.g. origin, rules text and `auth`); `None` = never
    /// shared with another subscription.
    pub share_key: Option<String>,
}

/// Subscriptions sharing one query evaluation.
pub struct LiveQuery {
    key: String,
    raw: Value,
    raw_text: String,
    parsed: Query,
    inference: bool,
    view: Arc<ResultView>,
    reads: Mutex<ReadSet>,
    /// Set for plain filter queries (entity-level invalidation).
    filter: Option<EntityFilter>,
    /// With `filter`: the entity ids of the last result.
    last_ids: Mutex<Option<LastIds>>,
    members: Mutex<Vec<Arc<Sub>>>,
}

impl LiveQuery {
    fn read_set(&self, st: &AppState) -> ReadSet {
        if self.view.perms.is_some() {
            // Rules may read any namespace.
            ReadSet::everything()
        } else {
            ReadSet::of_query(st, &self.parsed)
        }
    }

    fn compute(
        &self,
        st: &AppState,
        engine: &Engine,
        app_id: uuid::Uuid,
    ) -> Result<QueryOutput, ApiError> {
        // A recomputation is bounded like `/admin/query`: the query timeout
        // and the result bounds, for the query and for its rules.
        let deadline = Deadline::after(engine.limits.query_timeout);
        let budget = query::budget::Budget::new(&deadline, &engine.limits);
        let mut out = query::run_within(st, &self.parsed, &self.raw, self.inference, true, budget)?;
        self.view.apply_within(
            Some(&deadline),
            st,
            &engine.storage,
            app_id,
            &mut out.result,
        )?;
        Ok(out)
    }
}

/// Hash of a serialized result (the `instaql-query-hash` of `refresh-ok` and
/// what decides whether a subscriber gets one).
pub fn hash_text(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Compact JSON text of `v` (through serde_json's byte writer, faster than
/// `Display`; the same text).
pub fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
}

/// An SSE `data` frame (`data:<text>\n\n`) for one event.
pub fn sse_frame(text: &str) -> Bytes {
    let mut s = String::with_capacity(text.len() + 7);
    s.push_str("data:");
    s.push_str(text);
    s.push_str("\n\n");
    Bytes::from(s)
}

struct Notice {
    tx_id: i64,
    touched: Touched,
}

/// Counters of the refresh worker (diagnostics and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Refresh passes finished (one per batch of coalesced commits).
    pub passes: u64,
    /// Live-query evaluations in those passes (one per affected shared query).
    pub recomputes: u64,
    /// Open shared live queries.
    pub live_queries: usize,
    /// Open subscriptions.
    pub subscriptions: usize,
    /// Highest transaction id whose refresh work is done (or that needed none).
    pub settled_tx_id: i64,
    /// SSE frames queued for the open subscriptions and not yet taken by their
    /// connections (each queue holds at most [`crate::Limits::subscriber_queue`]).
    pub queued_frames: usize,
    /// Total bytes of those frames (a frame shared by several subscribers of
    /// one live query counts once per subscriber).
    pub queued_bytes: usize,
    /// `refresh-ok` frames of the open subscriptions dropped because a newer
    /// result superseded them while the subscriber was not reading.
    pub superseded_frames: u64,
}

/// The subscriptions of one app and its refresh worker.
#[derive(Default)]
pub struct Subscriptions {
    groups: Mutex<Vec<Arc<LiveQuery>>>,
    worker: Mutex<Option<mpsc::Sender<Notice>>>,
    passes: AtomicU64,
    recomputes: AtomicU64,
    settled: AtomicI64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh subscription id.
pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Subscriptions {
    /// Registers subscription `sub` for `spec`. Call while holding the app's
    /// state read lock `st`, after computing its first result `first_result`
    /// (whose hash is in `sub.last_hash`), so no commit slips in between.
    ///
    /// # Errors
    /// 429 `rate-limited` when the app already has
    /// [`crate::Limits::max_subscriptions_per_app`] open subscriptions (nothing
    /// is registered then).
    pub fn add(
        &self,
        app: &Arc<App>,
        st: &AppState,
        spec: LiveSpec,
        first_result: &Value,
        sub: Arc<Sub>,
        engine: &Arc<Engine>,
    ) -> Result<(), ApiError> {
        let raw_text = json_text(&spec.raw);
        let key = match &spec.share_key {
            Some(k) => format!("{}\u{0}{}\u{0}{raw_text}", spec.inference, k),
            None => format!("#{}", sub.id),
        };
        {
            let mut groups = self.groups.lock();
            let max = engine.limits.max_subscriptions_per_app;
            let open: usize = groups
                .iter()
                .map(|g| {
                    g.members
                        .lock()
                        .iter()
                        .filter(|s| !s.out.is_closed())
                        .count()
                })
                .sum();
            if open >= max {
                return Err(too_many_subscriptions(max));
            }
            match groups.iter().find(|g| g.key == key) {
                Some(g) => {
                    *g.reads.lock() = g.read_set(st);
                    g.members.lock().push(sub);
                }
                None => {
                    let filter = if spec.view.perms.is_none() {
                        EntityFilter::of_query(&spec.parsed, &spec.raw)
                    } else {
                        None
                    };
                    let last_ids = filter.as_ref().and_then(|f| f.ids_of(first_result));
                    let g = LiveQuery {
                        key,
                        filter,
                        last_ids: Mutex::new(last_ids),
                        raw: spec.raw,
                        raw_text,
                        parsed: spec.parsed,
                        inference: spec.inference,
                        view: spec.view,
                        reads: Mutex::new(ReadSet::default()),
                        members: Mutex::new(vec![sub]),
                    };
                    *g.reads.lock() = g.read_set(st);
                    groups.push(Arc::new(g));
                }
            }
        }
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
        Ok(())
    }

    /// Removes a subscription (and its live query when it was the last member).
    pub fn remove(&self, id: u64) {
        self.groups.lock().retain(|g| {
            let mut m = g.members.lock();
            m.retain(|s| s.id != id);
            !m.is_empty()
        });
    }

    /// Drops every subscription (their streams end).
    pub fn close_all(&self) {
        self.groups.lock().clear();
        *self.worker.lock() = None;
    }

    /// Tells the worker that `tx_id` touched `touched`. Cheap: no query runs here.
    pub fn notify(&self, _app: &App, tx_id: i64, touched: Touched, _engine: &Engine) {
        if touched.is_empty() || self.groups.lock().is_empty() {
            self.settled.fetch_max(tx_id, Ordering::SeqCst);
            return;
        }
        match self.worker.lock().as_ref() {
            Some(w) => {
                let _ = w.send(Notice { tx_id, touched });
            }
            None => {
                self.settled.fetch_max(tx_id, Ordering::SeqCst);
            }
        }
    }

    /// Worker counters and open subscriptions.
    pub fn stats(&self) -> LiveStats {
        let groups = self.groups.lock();
        let mut stats = LiveStats {
            passes: self.passes.load(Ordering::SeqCst),
            recomputes: self.recomputes.load(Ordering::SeqCst),
            live_queries: groups.len(),
            settled_tx_id: self.settled.load(Ordering::SeqCst),
            ..LiveStats::default()
        };
        for g in groups.iter() {
            for m in g.members.lock().iter() {
                let c = m.out.counts();
                stats.subscriptions += 1;
                stats.queued_frames += c.frames;
                stats.queued_bytes += c.bytes;
                stats.superseded_frames += c.superseded;
            }
        }
        stats
    }

    fn snapshot(&self) -> Vec<Arc<LiveQuery>> {
        self.groups.lock().clone()
    }
}

fn worker(rx: mpsc::Receiver<Notice>, app: Weak<App>, engine: Weak<Engine>) {
    while let Ok(first) = rx.recv() {
        // Coalesce everything already queued.
        let mut tx_id = first.tx_id;
        let mut touched = first.touched;
        while let Ok(n) = rx.try_recv() {
            tx_id = tx_id.max(n.tx_id);
            touched.merge(n.touched);
        }
        let (Some(app), Some(engine)) = (app.upgrade(), engine.upgrade()) else {
            return;
        };
        // Keep the worker alive even if a query evaluation panics.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            refresh(&app, &engine, tx_id, &touched)
        }));
    }
}

/// Recomputes the live queries of `app` that read anything in `touched` and
/// sends `refresh-ok` to each member whose result changed.
pub fn refresh(app: &Arc<App>, engine: &Engine, tx_id: i64, touched: &Touched) {
    let subs = &app.subs;
    let app_id = app.id();
    let mut emptied = false;
    for g in subs.snapshot() {
        let members: Vec<Arc<Sub>> = {
            let mut m = g.members.lock();
            m.retain(|s| !s.out.is_closed());
            m.clone()
        };
        if members.is_empty() {
            emptied = true;
            continue;
        }
        if !g.reads.lock().affected_by(touched) {
            continue;
        }
        // Evaluate under one read lock (the result and the tx id
        // it reflects are consistent), then serialize and send without it.
        let (res, processed) = {
            let st = app.state.read();
            if let Some(f) = &g.filter {
                let last = g.last_ids.lock();
                if let Some(last) = &*last {
                    if f.unchanged(&st, &g.raw, last, &g.reads.lock(), touched) {
                        continue;
                    }
                }
            }
            subs.recomputes.fetch_add(1, Ordering::SeqCst);
            let processed = tx_id.max(app.meta.read().last_tx_id);
            let res = g.compute(&st, engine, app_id);
            *g.reads.lock() = g.read_set(&st);
            if let Some(f) = &g.filter {
                *g.last_ids.lock() = res.as_ref().ok().and_then(|o| f.ids_of(&o.result));
            }
            (res, processed)
        };
        match res {
            Ok(out) => {
                let result = json_text(&out.result);
                let h = hash_text(&result);
                let mut frame: Option<Bytes> = None;
                for m in &members {
                    if m.last_hash.swap(h, Ordering::SeqCst) == h {
                        continue;
                    }
                    let f = frame.get_or_insert_with(|| {
                        refresh_frame(&g.raw_text, processed, h, &result, &out)
                    });
                    m.out.push(FrameKind::Result, f.clone());
                }
            }
            Err(e) => {
                let f = sse_frame(&error_event(&e, &g.raw).to_string());
                for m in &members {
                    // The next successful result is sent even if it equals the
                    // one before the error.
                    m.last_hash.store(0, Ordering::SeqCst);
                    m.out.push(FrameKind::Result, f.clone());
                }
            }
        }
    }
    if emptied {
        subs.groups.lock().retain(|g| !g.members.lock().is_empty());
    }
    // Counted when done, so a test that sees the pass also sees its recomputes.
    subs.passes.fetch_add(1, Ordering::SeqCst);
    subs.settled.fetch_max(tx_id, Ordering::SeqCst);
}

/// The `refresh-ok` frame, written directly around the already serialized
/// query and result.
///
/// The official server also attaches `"attrs"` (every attribute of the app) for
/// sessions without the `skip-attrs` feature, which includes every admin SSE
/// session (`server/src/instant/reactive/session.clj`, handle-refresh! and
/// admin-init!). No admin client reads it: the JS admin SDK reads `op`,
/// `computations[0]["instaql-result"]` and `computations[0]["result-meta"]
/// ["page-info"]` (`client/packages/admin/src/subscribe.ts`, handleMessage),
/// and the Rust client the same. So it is not sent: a frame's size depends on
/// the result only, not on the app's schema.
fn refresh_frame(
    query_text: &str,
    processed: i64,
    hash: u64,
    result: &str,
    out: &QueryOutput,
) -> Bytes {
    let meta = json!({"page-info": out.page_info, "aggregate": out.aggregate}).to_string();
    let mut s = String::with_capacity(result.len() + query_text.len() + 256);
    s.push_str("data:{\"op\":\"refresh-ok\",\"processed-tx-id\":");
    s.push_str(&processed.to_string());
    s.push_str(",\"computations\":[{\"instaql-query\":");
    s.push_str(query_text);
    s.push_str(",\"instaql-query-hash\":");
    s.push_str(&hash.to_string());
    s.push_str(",\"instaql-result\":");
    s.push_str(result);
    s.push_str(",\"result-meta\":");
    s.push_str(&meta);
    s.push_str(",\"result-changed?\":true,\"instaql-topic?\":true}],\"trace-id\":null}\n\n");
    Bytes::from(s)
}

/// 429 `rate-limited`: the app has `max` open live-query subscriptions
/// ([`crate::Limits::max_subscriptions_per_app`]). The official server has no
/// such bound; the type is the one Instant uses for "too many requests".
pub fn too_many_subscriptions(max: usize) -> ApiError {
    ApiError::new(
        instant_core::ErrorKind::RateLimited,
        format!("Too many live queries: this app already has {max} open subscriptions."),
    )
    .with_hint(json!({"limit": max}))
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
