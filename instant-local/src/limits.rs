//! [`Limits`]: every resource bound of the local server in one place (request
//! bodies, connections, query cost, rule size and cost, live-query queues, rate
//! limits). A server meant to be exposed keeps the defaults or lowers them; tests
//! may raise or lower any of them through [`crate::LocalServerBuilder::limits`].

use std::time::Duration;

/// The resource bounds of a [`crate::LocalServer`]. `Limits::default()` holds the
/// defaults documented on each field; change fields on a default value:
///
/// ```
/// let mut limits = instant_local::Limits::default();
/// limits.query_timeout = std::time::Duration::from_secs(5);
/// let builder = instant_local::LocalServer::builder().limits(limits);
/// # drop(builder);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    // ---- request bodies -------------------------------------------------
    /// Largest JSON request body, in bytes (default 64 MiB: bulk imports send big
    /// transactions). Larger bodies get 413 in Instant's error envelope.
    pub max_json_body_bytes: usize,
    /// Largest `PUT /admin/storage/upload` body, in bytes (default 1 GiB, the
    /// official limit). Enforced while the upload streams to disk.
    pub max_upload_bytes: u64,
    /// Largest body of the routes whose bodies are small (refresh tokens,
    /// sign-in / sign-out, magic codes, token verification, file deletion, app
    /// status), in bytes (default 1 MiB). Larger bodies get 413.
    pub max_small_body_bytes: usize,
    /// Largest body of app creation (`POST /dash/apps/ephemeral`,
    /// `POST /superadmin/apps`) and of schema and rules pushes, in bytes
    /// (default 4 MiB: a schema plus rules). Larger bodies get 413.
    pub max_app_body_bytes: usize,
    /// Largest body of a request made without the admin token (`as-guest`,
    /// `as-token`: anyone who knows the app id can send one), in bytes
    /// (default 4 MiB; the route's own bound applies when it is lower). A
    /// transaction costs about 30 times its body in memory while it is parsed
    /// and applied, so this bounds what an unauthenticated client can make the
    /// server hold. Larger bodies get 413.
    pub max_impersonated_body_bytes: usize,

    // ---- connections ----------------------------------------------------
    /// Time a client has to send a request's headers, from the first byte of
    /// the request (default 10 s); past it the connection is closed.
    pub header_read_timeout: Duration,
    /// Time a client has to send a whole request body once the headers are in
    /// (default 60 s); past it the request is answered 408 `timeout` and the
    /// connection closed.
    pub body_read_timeout: Duration,
    /// A connection on which no request is being handled is closed after this
    /// long without a byte read or written (default 75 s): idle keep-alive
    /// connections, and clients that stopped reading a response. Keep it above
    /// the live-query keep-alive interval (15 s).
    pub idle_timeout: Duration,
    /// Open connections at most; further ones wait in the kernel's backlog until
    /// one closes (default 1,024).
    pub max_connections: usize,

    // ---- queries --------------------------------------------------------
    /// Longest a query (with its permission rules) may run before it ends with
    /// 429 `timeout` (default 30 s, the official server's query timeout).
    pub query_timeout: Duration,
    /// Most entity rows one query result may hold, counted over every level of
    /// nesting while the result is built (default 1,000,000).
    pub max_result_rows: usize,
    /// Largest serialized query result, in bytes, estimated while the result is
    /// built (default 256 MiB).
    pub max_result_bytes: usize,

    // ---- permission rules -----------------------------------------------
    /// Largest single rule expression (a `view`, `bind` value, ...), in bytes
    /// (default 16 KiB).
    pub max_rule_bytes: usize,
    /// Largest rules document of an app, in bytes (default 1 MiB).
    pub max_rules_doc_bytes: usize,
    /// Deepest nesting of a rule expression (operators, calls, member access,
    /// parentheses; default 64). Deeper rules are refused when stored.
    pub max_rule_depth: usize,
    /// Most evaluation steps one rule evaluation may take (comprehension
    /// iterations and calls; default 100,000). Past it the rule is an error
    /// (the request is refused, never allowed).
    pub max_rule_eval_steps: u64,

    // ---- live queries ---------------------------------------------------
    /// Results queued for one live-query subscriber that does not read (default
    /// 4). A subscriber that falls behind gets only the latest result: results
    /// are full snapshots.
    pub subscriber_queue: usize,
    /// Live-query subscriptions per app at most (default 10,000); past it
    /// `POST /admin/subscribe-query` answers 429 `rate-limited`.
    pub max_subscriptions_per_app: usize,

    // ---- rate limits ----------------------------------------------------
    /// Temporary apps (`POST /dash/apps/ephemeral`) one client address may create
    /// per minute; past it 429 `rate-limited` (`Some(0)` is unlimited too).
    /// `None` is unlimited: the library
    /// default, since test suites create many apps from loopback. The
    /// `instant-local serve` binary defaults to 60 (`--temp-apps-per-minute`).
    pub temp_apps_per_minute: Option<u32>,
    /// Magic codes one email of an app may have sent (`/admin/send_magic_code`)
    /// per hour, and, counted apart, codes it may have checked
    /// (`/admin/verify_magic_code`, right or wrong) per hour (default 20,
    /// Instant's `magic-code-rate-limit-per-hour`). Past it 429 `rate-limited`;
    /// the counts persist with a database file.
    pub magic_code_attempts_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_json_body_bytes: 64 * 1024 * 1024,
            max_upload_bytes: 1024 * 1024 * 1024,
            max_small_body_bytes: 1024 * 1024,
            max_app_body_bytes: 4 * 1024 * 1024,
            max_impersonated_body_bytes: 4 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(75),
            max_connections: 1024,
            query_timeout: Duration::from_secs(30),
            max_result_rows: 1_000_000,
            max_result_bytes: 256 * 1024 * 1024,
            max_rule_bytes: 16 * 1024,
            max_rules_doc_bytes: 1024 * 1024,
            max_rule_depth: 64,
            max_rule_eval_steps: 100_000,
            subscriber_queue: 4,
            max_subscriptions_per_app: 10_000,
            temp_apps_per_minute: None,
            magic_code_attempts_per_hour: 20,
        }
    }
}
