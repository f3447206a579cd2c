//! How long a live query waits before reconnecting: the server's `retry:` hint,
//! raised to a floor, doubled per reconnect in a row without an answer, capped, and
//! jittered; and how many such reconnects it tries before giving up.

use std::time::Duration;

/// Reconnect policy of live queries (set through the `reconnect_*` options of
/// [`crate::ClientBuilder`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReconnectPolicy {
    /// Shortest wait; the server's hint is raised to at least this.
    pub min_delay: Duration,
    /// Longest wait.
    pub max_delay: Duration,
    /// Reconnects in a row without an answer before giving up.
    pub max_attempts: u32,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_attempts: 20,
        }
    }
}

impl ReconnectPolicy {
    /// The wait before reconnect number `failures` (1 = first reconnect after the
    /// connection was lost) given the server's hint: `max(hint, min) * 2^(failures-1)`
    /// capped at `max`, then "equal jitter" (between half and all of it), never
    /// below `min`.
    pub fn delay(&self, hint: Duration, failures: u32) -> Duration {
        let max = self.max_delay.max(self.min_delay);
        let base = hint.max(self.min_delay);
        let exp = failures.saturating_sub(1).min(20);
        let full = base.saturating_mul(1u32 << exp).min(max);
        let half = full / 2;
        let half_ns = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(fastrand::u64(0..=half_ns));
        (half + jitter).max(self.min_delay)
    }

    /// True once `failures` reconnects in a row exceed the cap.
    pub fn exhausted(&self, failures: u32) -> bool {
        failures > self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_doubles_caps_and_jitters() {
        let p = ReconnectPolicy::default();
        for _ in 0..200 {
            // `retry: 0` is raised to the floor.
            let d = p.delay(Duration::ZERO, 1);
            assert!(d >= Duration::from_millis(250), "{d:?}");
            assert!(d <= Duration::from_millis(250), "{d:?}");
            // The 500 ms hint: 250..=500 ms first, doubling after.
            let d = p.delay(Duration::from_millis(500), 1);
            assert!((Duration::from_millis(250)..=Duration::from_millis(500)).contains(&d));
            let d = p.delay(Duration::from_millis(500), 3);
            assert!((Duration::from_millis(1000)..=Duration::from_millis(2000)).contains(&d));
            let d = p.delay(Duration::from_millis(500), 40);
            assert!((Duration::from_secs(15)..=Duration::from_secs(30)).contains(&d));
        }
        // Absurd settings do not panic.
        let huge = ReconnectPolicy {
            min_delay: Duration::MAX,
            max_delay: Duration::MAX,
            max_attempts: u32::MAX,
        };
        assert!(huge.delay(Duration::MAX, u32::MAX) >= Duration::from_secs(1));
        assert!(!huge.exhausted(u32::MAX));
        assert!(!p.exhausted(20));
        assert!(p.exhausted(21));
    }
}
