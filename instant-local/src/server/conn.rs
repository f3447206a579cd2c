//! The accept loop of [`super::LocalServer`]: HTTP/1.1 and h2c connections
//! served by hyper-util with TCP_NODELAY, bounded in number
//! ([`crate::Limits::max_connections`]) and watched for slow or idle clients
//! ([`crate::Limits::header_read_timeout`], [`crate::Limits::idle_timeout`]),
//! with graceful shutdown.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

/// The connection bounds of the accept loop (from [`crate::Limits`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnLimits {
    pub(super) header_read_timeout: std::time::Duration,
    pub(super) idle_timeout: std::time::Duration,
    pub(super) max_connections: usize,
}

/// What one connection has been doing, shared by its IO ([`TrackedIo`]), its
/// service (handler starts and ends) and its watchdog ([`watchdog`]).
/// Times are milliseconds since the connection was accepted.
struct ConnActivity {
    born: std::time::Instant,
    /// Last time bytes were read or written.
    last_io_ms: AtomicU64,
    /// Handlers running (a request whose response head is not out yet).
    handlers: AtomicUsize,
    /// When bytes of a new request first arrived while no handler ran (plus
    /// one; 0 = none pending): the start of the header-read timeout.
    head_since_ms: AtomicU64,
}

impl ConnActivity {
    fn new() -> ConnActivity {
        ConnActivity {
            born: std::time::Instant::now(),
            last_io_ms: AtomicU64::new(0),
            handlers: AtomicUsize::new(0),
            head_since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.born.elapsed().as_millis() as u64
    }

    fn touch(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn on_read(&self) {
        self.touch();
        if self.handlers.load(Ordering::Relaxed) == 0 {
            let _ = self.head_since_ms.compare_exchange(
                0,
                self.now_ms() + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn handler_started(&self) {
        self.handlers.fetch_add(1, Ordering::Relaxed);
        self.head_since_ms.store(0, Ordering::Relaxed);
    }

    fn handler_ended(&self) {
        self.touch();
        self.handlers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Marks a handler as ended when its future completes or is dropped.
struct HandlerGuard(Arc<ConnActivity>);

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        self.0.handler_ended();
    }
}

/// A TCP stream that records its reads and writes in a [`ConnActivity`].
struct TrackedIo {
    inner: tokio::net::TcpStream,
    act: Arc<ConnActivity>,
}

impl tokio::io::AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.act.on_read();
        }
        r
    }
}

impl tokio::io::AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves when the connection must be closed: no handler runs and either
/// a request head has been arriving for longer than the header-read timeout
/// (a slow or stalled client), or nothing was read or written for the idle
/// timeout (an idle keep-alive connection, or a client that stopped reading
/// its response). Polls a few times per timeout.
async fn watchdog(act: Arc<ConnActivity>, limits: ConnLimits) -> &'static str {
    let header_ms = limits.header_read_timeout.as_millis() as u64;
    let idle_ms = limits.idle_timeout.as_millis() as u64;
    let tick = (limits.header_read_timeout.min(limits.idle_timeout) / 4).clamp(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_secs(1),
    );
    loop {
        tokio::time::sleep(tick).await;
        if act.handlers.load(Ordering::Relaxed) > 0 {
            continue;
        }
        let now = act.now_ms();
        let head = act.head_since_ms.load(Ordering::Relaxed);
        if head != 0 && now.saturating_sub(head - 1) >= header_ms {
            return "the request head did not arrive in time";
        }
        if now.saturating_sub(act.last_io_ms.load(Ordering::Relaxed)) >= idle_ms {
            return "idle";
        }
    }
}

/// The accept loop: at most `limits.max_connections` connections at once
/// (further clients wait in the kernel's backlog until one closes), each
/// served over HTTP/1.1 or h2c (prior knowledge) with TCP_NODELAY, its
/// client address as `ConnectInfo<SocketAddr>`, and a [`watchdog`]. When
/// `stop` fires (or is dropped) it stops accepting, asks every connection
/// to finish its requests and close, and returns once they have.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: ConnLimits,
    stop: oneshot::Receiver<()>,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    // Connections watch `closing`; each holds a `done` receiver, so
    // `done_tx.closed()` resolves when the last one ends.
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(());
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut stop => break,
        };
        let (tcp, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then retry.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Answers and live-query events are small writes that must leave at
        // once: without TCP_NODELAY, Nagle's algorithm holds a write back
        // until the peer acknowledges the previous one (~40 ms with delayed
        // ACKs).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("setting TCP_NODELAY: {e}");
        }
        tokio::spawn(serve_connection(
            tcp,
            remote,
            router.clone(),
            limits,
            (permit, closing_rx.clone(), done_rx.clone()),
        ));
    }
    drop(listener);
    drop(closing_tx);
    drop(done_rx);
    done_tx.closed().await;
}

/// What a connection task holds until it ends: its connection permit, the
/// shutdown signal and its share of the "all done" channel.
type ConnTicket = (
    tokio::sync::OwnedSemaphorePermit,
    tokio::sync::watch::Receiver<()>,
    tokio::sync::watch::Receiver<()>,
);

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    router: axum::Router,
    limits: ConnLimits,
    (_permit, mut closing, _done): ConnTicket,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let act = Arc::new(ConnActivity::new());
    let io = TokioIo::new(TrackedIo {
        inner: tcp,
        act: act.clone(),
    });
    let service_act = act.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        service_act.handler_started();
        let guard = HandlerGuard(service_act.clone());
        let mut router = router.clone();
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(remote));
        async move {
            let _guard = guard;
            tower::Service::call(&mut router, req).await
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // The header-read timeout is the watchdog's (hyper's own would also cut
    // idle keep-alive connections after it).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let dog = watchdog(act, limits);
    tokio::pin!(dog);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::trace!("connection from {remote}: {e}");
                }
                break;
            }
            why = &mut dog => {
                tracing::debug!("closing the connection from {remote}: {why}");
                break;
            }
            _ = closing.changed(), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
