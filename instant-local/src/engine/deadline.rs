//! [`Deadline`]: the time budget of one request's engine work (query evaluation,
//! result building, permission rules). Long loops call [`Deadline::check`]; it
//! fails with Instant's 429 `timeout` once the query timeout
//! ([`crate::Limits::query_timeout`]) has passed or the client has gone away
//! (the HTTP layer cancels the deadline when a request's future is dropped).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use instant_core::{ApiError, ErrorKind};

/// The message the official server sends when a query runs out of time
/// (`admin-http.md` §1.6).
pub const QUERY_TIMEOUT_MESSAGE: &str = "The query took too long to complete.";

/// When one request's engine work must stop: a point in time and a
/// cancellation flag shared with the request's HTTP future. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Deadline {
    until: Option<Instant>,
    cancelled: Arc<AtomicBool>,
}

impl Deadline {
    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline {
            until: Instant::now().checked_add(timeout),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A deadline that never passes and is never cancelled (tests and internal
    /// work).
    #[allow(dead_code)]
    pub fn none() -> Deadline {
        Deadline {
            until: None,
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Cancels the work (the client went away): every later [`Deadline::check`]
    /// fails.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// A guard that cancels this deadline when dropped, unless
    /// [`CancelOnDrop::disarm`] was called: hold it in the request's future so
    /// that a client that disconnects stops the blocking work it started.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(Some(self.clone()))
    }

    /// True once the deadline has passed or was cancelled.
    pub fn is_over(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.until.is_some_and(|t| Instant::now() >= t)
    }

    /// `Ok` while there is time left; otherwise the 429 `timeout` error
    /// ("The query took too long to complete.").
    pub fn check(&self) -> Result<(), ApiError> {
        if self.is_over() {
            Err(timeout_error())
        } else {
            Ok(())
        }
    }
}

/// The 429 `timeout` envelope of a query that ran out of time.
pub fn timeout_error() -> ApiError {
    ApiError::new(ErrorKind::Timeout, QUERY_TIMEOUT_MESSAGE).with_hint(serde_json::json!({}))
}

/// Cancels a [`Deadline`] when dropped (see [`Deadline::cancel_on_drop`]).
#[derive(Debug)]
pub struct CancelOnDrop(Option<Deadline>);

impl CancelOnDrop {
    /// The work finished: dropping the guard no longer cancels anything.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            d.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_then_times_out() {
        let d = Deadline::after(Duration::from_millis(20));
        assert!(d.check().is_ok());
        std::thread::sleep(Duration::from_millis(30));
        let e = d.check().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert_eq!(e.status, 429);
    }

    #[test]
    fn dropped_guard_cancels_disarmed_does_not() {
        let d = Deadline::none();
        d.cancel_on_drop().disarm();
        assert!(d.check().is_ok());
        drop(d.cancel_on_drop());
        assert!(d.check().is_err());
    }
}
