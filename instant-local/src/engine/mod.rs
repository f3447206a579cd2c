//! The engine: apps held in memory (attributes, triples and their indexes, see
//! [`state`]) on top of the SQLite store, the InstaQL evaluator ([`query`]), the
//! InstaML transaction processor ([`transact`]) and live-query subscriptions
//! ([`subs`]). All methods here are blocking; the HTTP layer calls them on blocking
//! threads.

pub mod attr;
pub mod deadline;
pub mod files;
pub mod permissions;
pub mod platform;
pub mod query;
pub mod restore;
pub mod schema_push;
pub mod state;
pub mod subs;
pub mod transact;
pub mod users;
pub mod value;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use instant_core::{ApiError, Id, Schema};
use parking_lot::{Mutex, MutexGuard, RwLock, RwLockWriteGuard};
use serde_json::Value;

use crate::error::LocalError;
use crate::server::AppCredentials;
use crate::store::sqlite::{self, AppRow, Db};
use crate::store::writer::Writer;
use state::{AppState, Change};

/// A permission check run on a transaction's parsed steps before they apply.
pub type TxGuard<'a> = dyn Fn(&AppState, &[instant_core::Step]) -> Result<(), ApiError> + 'a;

/// One app: its metadata, data and live queries.
pub struct App {
    /// The app row.
    pub meta: RwLock<AppRow>,
    /// Attributes and triples.
    pub state: RwLock<AppState>,
    /// Live-query subscriptions.
    pub subs: subs::Subscriptions,
    /// The app's operational status once read from SQLite (see
    /// [`Engine::app_status`]); `None` until then.
    pub status: Mutex<Option<crate::store::apps::AppStatus>>,
    /// The app's live refresh tokens, served from memory (see
    /// [`users::RefreshTokens`]).
    pub refresh_tokens: users::RefreshTokens,
    /// The app's rules, compiled once per stored rules text (see
    /// [`permissions::RulesCache`]).
    pub rules: permissions::RulesCache,
}

impl App {
    fn new(row: AppRow, state: AppState) -> Arc<App> {
        Arc::new(App {
            meta: RwLock::new(row),
            state: RwLock::new(state),
            subs: subs::Subscriptions::default(),
            status: Mutex::new(None),
            refresh_tokens: users::RefreshTokens::default(),
            rules: permissions::RulesCache::default(),
        })
    }

    /// The app id.
    pub fn id(&self) -> uuid::Uuid {
        self.meta.read().id
    }
}

/// Shared server state.
pub struct Engine {
    conn: Arc<Mutex<Db>>,
    /// The background writer of an in-memory database (`None` with a file: then
    /// every transaction is written before it is answered).
    writer: Option<Writer>,
    apps: RwLock<HashMap<uuid::Uuid, Arc<App>>>,
    tx_counter: AtomicI64,
    /// Interval of SSE keep-alive comments.
    pub keep_alive: Duration,
    /// Flips to true on shutdown; live-query streams end when it does.
    pub closed: tokio::sync::watch::Sender<bool>,
    /// `$files` blobs and URL signing.
    pub storage: files::Storage,
    /// The server's resource bounds (set by the builder after [`Engine::open`]).
    pub limits: crate::Limits,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Engine {
    /// Opens the database and loads every app.
    pub fn open(path: Option<&Path>, keep_alive: Duration) -> Result<Engine, LocalError> {
        let mut db = sqlite::open(path)?;
        let mut apps = HashMap::new();
        let mut max_tx = 0;
        for row in sqlite::load_apps(&db)? {
            let st = sqlite::load_app_state(&mut db, row.id)?;
            max_tx = max_tx.max(row.last_tx_id);
            let tokens = users::load_refresh_tokens(&db, row.id)?;
            let app = App::new(row, st);
            app.refresh_tokens.replace(tokens);
            apps.insert(app.id(), app);
        }
        let conn = Arc::new(Mutex::new(db));
        let writer = match path {
            Some(_) => None,
            None => Some(Writer::start(conn.clone())?),
        };
        Ok(Engine {
            conn,
            writer,
            apps: RwLock::new(apps),
            tx_counter: AtomicI64::new(max_tx),
            keep_alive,
            closed: tokio::sync::watch::channel(false).0,
            storage: files::Storage::open(path)
                .map_err(|e| LocalError::Io(std::io::Error::other(e.to_string())))?,
            limits: crate::Limits::default(),
        })
    }

    /// Creates an app (blocking). `schema` attrs (A.6) and `rules` are stored with it.
    pub fn create_app(
        &self,
        title: &str,
        ephemeral: bool,
        schema: Option<&Schema>,
        rules: Option<&Value>,
    ) -> Result<AppCredentials, LocalError> {
        let created_at = now_ms();
        let row = AppRow {
            id: uuid::Uuid::new_v4(),
            title: title.to_string(),
            admin_token: uuid::Uuid::new_v4().to_string(),
            created_at,
            ephemeral,
            expires_at: ephemeral.then_some(created_at + 14 * 24 * 3600 * 1000),
            rules: rules.map(|r| r.to_string()),
            last_tx_id: 0,
        };
        let mut st = AppState::new();
        st.begin();
        if let Some(s) = schema {
            for a in attr::attrs_from_schema(s) {
                if st.fwd_attr(&a.ns, &a.label).is_none() {
                    st.insert_attr(a);
                }
            }
        }
        let changes = st.commit();
        self.insert_app_with(row, st, changes)
    }

    /// The app with this id, if any. A temporary app past its `expires_ms` is
    /// treated as gone.
    pub fn app(&self, id: uuid::Uuid) -> Option<Arc<App>> {
        let app = self.apps.read().get(&id).cloned()?;
        let expired = {
            let m = app.meta.read();
            m.ephemeral && m.expires_at.is_some_and(|t| t <= now_ms())
        };
        (!expired).then_some(app)
    }

    /// Runs a query (blocking) within the server's [`crate::Limits`]: it ends
    /// with 429 `timeout` ("The query took too long to complete.", the official
    /// server's `ex/throw-query-timeout!`) once `deadline` passes or is cancelled,
    /// and with 400 `validation-failed` once its result grows past
    /// `max_result_rows` rows (every nesting level counted) or about
    /// `max_result_bytes` bytes, checked while the result is built. Request
    /// paths pass `Deadline::after(limits.query_timeout)`; internal work
    /// [`deadline::Deadline::none`].
    ///
    /// # Errors
    /// The query's validation errors, and the bounds above.
    pub fn query(
        &self,
        app: &App,
        raw: &Value,
        inference: bool,
        admin: bool,
        deadline: &deadline::Deadline,
    ) -> Result<query::QueryOutput, ApiError> {
        let st = app.state.read();
        let q = query::parse_query(&st, raw)?;
        let budget = query::budget::Budget::new(deadline, &self.limits);
        query::run_within(&st, &q, raw, inference, admin, budget)
    }

    /// Runs a transaction (blocking) and returns its tx id.
    pub fn transact(
        &self,
        app: &Arc<App>,
        raw_steps: &Value,
        throw_on_missing: bool,
    ) -> Result<i64, ApiError> {
        self.transact_guarded(app, raw_steps, throw_on_missing, None)
    }

    /// [`Engine::transact`] with a `guard` (permission checks) run on the
    /// parsed steps under the write lock, before anything is applied: an
    /// error from it aborts the transaction with nothing written. The blobs of
    /// `$files` rows the transaction deletes are removed after it commits.
    pub fn transact_guarded(
        &self,
        app: &Arc<App>,
        raw_steps: &Value,
        throw_on_missing: bool,
        guard: Option<&TxGuard<'_>>,
    ) -> Result<i64, ApiError> {
        let t0 = std::time::Instant::now();
        let steps = transact::parse_steps(raw_steps)?;
        let t1 = std::time::Instant::now();
        let doomed_blobs;
        let tx = {
            let mut st = app.state.write();
            if let Some(g) = guard {
                g(&st, &steps)?;
            }
            doomed_blobs = files::locations_deleted_by(&st, &steps);
            st.begin();
            // A bug must not leave a half-applied transaction behind: a panic is
            // caught, rolled back and answered as an internal error.
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let stamp = st.stamp(now_ms());
                transact::Tx::new(&mut st, stamp, throw_on_missing).run(&steps, raw_steps)
            }))
            .unwrap_or_else(|_| Err(crate::http::errors::internal("transaction panicked")));
            if let Err(e) = res {
                st.rollback();
                return Err(e);
            }
            let t2 = std::time::Instant::now();
            let r = self.commit(app, st);
            tracing::debug!(
                parse = ?(t1 - t0),
                apply = ?(t2 - t1),
                persist = ?t2.elapsed(),
                "transaction timings"
            );
            r
        };
        let (tx_id, topics) = tx?;
        app.subs.notify(app, tx_id, topics, self);
        if !doomed_blobs.is_empty() {
            self.gc_blobs(app, doomed_blobs);
        }
        Ok(tx_id)
    }

    /// Ends the transaction logged in `st` (see [`AppState::begin`]): gives it the
    /// next tx id, persists its changes (with a database file before returning;
    /// with an in-memory one through the background writer) and returns the tx id
    /// with the live-query topics it touched. The caller releases `st` and then
    /// calls `app.subs.notify` with them.
    ///
    /// # Errors
    /// An internal error when the database write fails; the changes are then
    /// rolled back in memory too.
    pub fn commit(
        &self,
        app: &App,
        mut st: RwLockWriteGuard<'_, AppState>,
    ) -> Result<(i64, subs::topics::Touched), ApiError> {
        let changes = st.commit();
        let tx_id = self.tx_counter.fetch_add(1, Ordering::SeqCst) + 1;
        let app_id = app.id();
        let topics = AppState::touched_topics(&changes, &st.attrs);
        match &self.writer {
            Some(w) => {
                if let Err(e) = w.send(app_id, changes, tx_id) {
                    return Err(crate::http::errors::internal(e));
                }
            }
            None => {
                let persisted =
                    sqlite::write_changes(&mut self.conn.lock(), app_id, &changes, tx_id);
                if let Err(e) = persisted {
                    st.log = changes;
                    st.rollback();
                    return Err(crate::http::errors::internal(e));
                }
            }
        }
        app.meta.write().last_tx_id = tx_id;
        Ok((tx_id, topics))
    }

    /// The database, after every queued transaction was written (so that direct
    /// SQL sees them and runs after them).
    pub fn db(&self) -> MutexGuard<'_, Db> {
        self.flush();
        self.conn.lock()
    }

    /// Waits until every committed transaction is written to SQLite (only an
    /// in-memory database writes in the background). A write error is logged by
    /// the writer; it is not returned here.
    pub fn flush(&self) {
        if let Some(w) = &self.writer {
            let _ = w.flush();
        }
    }

    /// Stores a new app row with its initial attrs/triples in ONE SQLite
    /// transaction (nothing is left behind on error) and makes it live.
    pub fn insert_app_with(
        &self,
        row: AppRow,
        st: AppState,
        changes: Vec<Change>,
    ) -> Result<AppCredentials, LocalError> {
        self.db().in_transaction(|tx, keys| {
            sqlite::insert_app(tx, &row)?;
            sqlite::write_changes_in(tx, keys, row.id, &changes, row.last_tx_id)
        })?;
        let creds = AppCredentials {
            app_id: Id(row.id),
            admin_token: row.admin_token.clone(),
        };
        self.apps.write().insert(row.id, App::new(row, st));
        Ok(creds)
    }

    /// Ends every live-query stream (server shutdown).
    pub fn close_subscriptions(&self) {
        self.flush();
        self.closed.send_replace(true);
        for app in self.apps.read().values() {
            app.subs.close_all();
        }
    }
}
