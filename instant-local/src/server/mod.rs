//! [`LocalServer`] and its builder: start the HTTP server on a loopback port, create
//! apps, shut down.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use instant_core::Id;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::error::LocalError;
use conn::{serve, ConnLimits};

mod conn;

/// The credentials of an app created on a local server: its app id and admin token.
///
/// Serialises as `{"app_id": "...", "admin_token": "..."}` (what the CLI prints).
/// `Debug` does not print the admin token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCredentials {
    /// The app id (send it as the `app-id` header).
    pub app_id: Id,
    /// The admin token (send it as `Authorization: Bearer <token>`).
    pub admin_token: String,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("admin_token", &"<redacted>")
            .finish()
    }
}

/// Configures and starts a [`LocalServer`]. Defaults: in-memory SQLite, host
/// `127.0.0.1`, a free port.
#[derive(Debug, Clone, Default)]
pub struct LocalServerBuilder {
    db_path: Option<PathBuf>,
    host: Option<IpAddr>,
    port: u16,
    keep_alive: Option<std::time::Duration>,
    platform_tokens: Vec<String>,
    sweep_interval: Option<std::time::Duration>,
    limits: crate::Limits,
}

/// Default interval of the sweeper of expired temporary apps (Instant sweeps
/// once a day; the local server checks hourly).
pub const DEFAULT_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

impl LocalServerBuilder {
    /// Stores data in the SQLite file at `path` (created if absent, WAL mode) so it
    /// survives restarts. `":memory:"` means in memory (the default).
    pub fn db_path(mut self, path: impl AsRef<Path>) -> Self {
        let p = path.as_ref();
        self.db_path = if p.as_os_str() == ":memory:" {
            None
        } else {
            Some(p.to_path_buf())
        };
        self
    }

    /// Listens on `port` (0, the default, picks a free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Listens on `host` (default `127.0.0.1`, loopback only).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = Some(host);
        self
    }

    /// Interval of the SSE keep-alive comments (`:`) on live-query streams
    /// (default 15 s, as Instant).
    pub fn sse_keep_alive(mut self, every: std::time::Duration) -> Self {
        self.keep_alive = Some(every);
        self
    }

    /// Largest accepted `PUT /admin/storage/upload` body, in bytes (default
    /// [`crate::files::MAX_UPLOAD_BYTES`], 1 GiB; larger values are capped to
    /// it). Bigger uploads fail with 400 `validation-failed` ("File is too large").
    pub fn max_upload_bytes(mut self, bytes: u64) -> Self {
        self.limits.max_upload_bytes = bytes.min(crate::files::MAX_UPLOAD_BYTES);
        self
    }

    /// Accepts `token` as a personal access token on the Platform API
    /// (`/superadmin/...`, spec `schema-and-platform.md` Part E). May be called
    /// several times; tokens are stored in the database (they persist with a file
    /// database). Without any, only app admin tokens work there.
    pub fn platform_token(mut self, token: impl Into<String>) -> Self {
        self.platform_tokens.push(token.into());
        self
    }

    /// How often the background sweeper deletes expired temporary apps (those
    /// past `expires_ms` plus one day, spec `schema-and-platform.md` E.14; see
    /// [`LocalServer::sweep_expired_apps`]). Default [`DEFAULT_SWEEP_INTERVAL`]
    /// (one hour); a zero duration is raised to one millisecond.
    pub fn sweep_interval(mut self, every: std::time::Duration) -> Self {
        self.sweep_interval = Some(every.max(std::time::Duration::from_millis(1)));
        self
    }

    /// Replaces every resource bound at once (see [`crate::Limits`] for each
    /// bound and its default; the upload limit is capped to
    /// [`crate::files::MAX_UPLOAD_BYTES`]).
    pub fn limits(mut self, limits: crate::Limits) -> Self {
        self.limits = limits;
        self.limits.max_upload_bytes = self
            .limits
            .max_upload_bytes
            .min(crate::files::MAX_UPLOAD_BYTES);
        self
    }

    /// Opens the database and starts serving HTTP on a background task.
    ///
    /// Errors: [`LocalError::Db`] when the database cannot be opened or migrated,
    /// [`LocalError::Io`] when the address cannot be bound.
    pub async fn start(self) -> Result<LocalServer, LocalError> {
        let db_path = self.db_path.clone();
        let keep_alive = self
            .keep_alive
            .unwrap_or(std::time::Duration::from_secs(15));
        let engine =
            tokio::task::spawn_blocking(move || Engine::open(db_path.as_deref(), keep_alive))
                .await
                .map_err(|_| LocalError::NotRunning)??;
        let mut engine = engine;
        engine.storage.set_max_upload(self.limits.max_upload_bytes);
        engine.limits = self.limits.clone();
        for t in &self.platform_tokens {
            engine.add_platform_token(t).map_err(LocalError::Api)?;
        }
        let engine = Arc::new(engine);
        let host = self.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(host, self.port)).await?;
        let addr = listener.local_addr()?;
        let router = crate::http::router(engine.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let conn_limits = ConnLimits {
            header_read_timeout: self.limits.header_read_timeout,
            idle_timeout: self.limits.idle_timeout,
            max_connections: self.limits.max_connections,
        };
        let task = tokio::spawn(serve(listener, router, conn_limits, rx));
        let sweeper = tokio::spawn(sweep_loop(
            engine.clone(),
            self.sweep_interval.unwrap_or(DEFAULT_SWEEP_INTERVAL),
        ));
        let host_str = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        Ok(LocalServer {
            url: format!("http://{host_str}:{}", addr.port()),
            addr,
            engine,
            shutdown: Some(tx),
            task: Some(task),
            sweeper: Some(sweeper),
        })
    }
}

/// Every `every`, deletes the expired temporary apps, until the engine closes.
async fn sweep_loop(engine: Arc<Engine>, every: std::time::Duration) {
    let mut closed = engine.closed.subscribe();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = closed.changed() => return,
        }
        let e = engine.clone();
        let now = crate::engine::now_ms();
        match tokio::task::spawn_blocking(move || e.sweep_expired_apps(now)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("swept {n} expired temporary app(s)"),
            Err(e) => tracing::warn!("temporary-app sweeper failed: {e}"),
        }
    }
}

/// A running local Instant-compatible server. Dropping it shuts it down.
#[derive(Debug)]
pub struct LocalServer {
    url: String,
    addr: SocketAddr,
    engine: Arc<Engine>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    sweeper: Option<JoinHandle<()>>,
}

impl LocalServer {
    /// A builder with the defaults (in-memory database, free loopback port).
    pub fn builder() -> LocalServerBuilder {
        LocalServerBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). Use it as
    /// the client's API URI.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Creates a new, empty app titled `title` and returns its id and admin token.
    ///
    /// Errors: [`LocalError::Db`] when the database write fails.
    pub async fn create_app(&self, title: &str) -> Result<AppCredentials, LocalError> {
        let engine = self.engine.clone();
        let title = title.to_string();
        tokio::task::spawn_blocking(move || engine.create_app(&title, false, None, None))
            .await
            .map_err(|_| LocalError::NotRunning)?
    }

    /// Restores an Instant backup (a zip file or an unpacked folder, see spec
    /// `backup-format.md`) into a NEW app titled `title`, keeping entity ids,
    /// values, links, schema, rules and each entity's created-at time.
    ///
    /// Errors: [`LocalError::Backup`] when the backup cannot be read,
    /// [`LocalError::Api`]/[`LocalError::Db`] when loading fails (no app is left behind).
    pub async fn restore(
        &self,
        title: &str,
        path: impl AsRef<Path>,
    ) -> Result<AppCredentials, LocalError> {
        let engine = self.engine.clone();
        let title = title.to_string();
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || crate::engine::restore::restore(&engine, &title, &path))
            .await
            .map_err(|_| LocalError::NotRunning)?
    }

    /// The magic-code outbox: the last code "sent" by `POST /admin/send_magic_code`
    /// for `email` (normalised: trimmed, lower case) in app `app_id`, or `None`.
    /// The local server never mails codes and never logs them (a code is a
    /// secret); it keeps them here so tests can complete a sign-in. Blocking SQLite read (tiny).
    pub fn last_magic_code(&self, app_id: instant_core::Id, email: &str) -> Option<String> {
        self.engine.last_sent_magic_code(app_id.0, email)
    }

    /// Live-query worker counters of app `app_id` (refresh passes, query
    /// recomputations, shared live queries, open subscriptions), or `None` for an
    /// unknown app. For tests of the live-query invalidation; not a stable API.
    #[doc(hidden)]
    pub fn live_query_stats(
        &self,
        app_id: instant_core::Id,
    ) -> Option<crate::engine::subs::LiveStats> {
        self.engine.app(app_id.0).map(|a| a.subs.stats())
    }

    /// Waits until every committed transaction has reached SQLite. With a
    /// database file transactions are written before they are answered, so this
    /// returns at once; with the in-memory database they are written by a
    /// background writer (see the `store::writer` module), and this waits for it.
    pub async fn flush(&self) {
        let engine = self.engine.clone();
        let _ = tokio::task::spawn_blocking(move || engine.flush()).await;
    }

    /// Deletes every temporary app whose `expires_ms` lies more than one day
    /// before `now_ms` (epoch milliseconds) - from SQLite (attrs, triples, app
    /// row, refresh tokens, magic codes, indexing jobs, status), its `$files`
    /// blobs and memory, closing its live queries - and returns how many were
    /// deleted. The background sweeper calls it with the current time (see
    /// [`LocalServerBuilder::sweep_interval`]); tests pass a future time.
    /// Permanent apps are never swept.
    pub async fn sweep_expired_apps(&self, now_ms: i64) -> usize {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.sweep_expired_apps(now_ms))
            .await
            .unwrap_or(0)
    }

    /// Stops accepting connections, closes live-query streams and waits for the
    /// server task to finish.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(mut task) = self.task.take() {
            // Connections get a few seconds to finish, then are cut.
            if tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    fn stop(&mut self) {
        self.engine.close_subscriptions();
        if let Some(sweeper) = self.sweeper.take() {
            sweeper.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
