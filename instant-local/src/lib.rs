//! # instant-local: a local Instant-compatible server
//!
//! An in-process (or standalone, see the `instant-local` binary) server that speaks
//! Instant's Admin HTTP API, for tests, examples and offline development:
//!
//! | endpoint | spec |
//! |---|---|
//! | `POST /admin/query` | InstaQL (`instaql.md`, `semantics.md` §2-§4) |
//! | `POST /admin/transact` | InstaML steps (`instaml-steps.md`, `semantics.md` §5) |
//! | `POST /admin/subscribe-query` | live queries over SSE (`admin-http.md` §3) |
//! | `POST /dash/apps/ephemeral`, `GET /dash/apps/ephemeral/:app_id`, `POST /dash/apps/ephemeral/:app_id/status` | temporary apps and their maintenance mode (`active` / `read-only` / `disabled`) (`schema-and-platform.md` E.14); only the creation answer carries the admin token; creation may be rate limited per client address ([`Limits::temp_apps_per_minute`]); expired ones are gone at once and swept a day after `expires_ms` ([`LocalServer::sweep_expired_apps`], [`LocalServerBuilder::sweep_interval`]) |
//! | `POST /admin/refresh_tokens`, `POST /admin/sign_in_guest`, `POST /admin/sign_out`, `GET`/`DELETE /admin/users` | app users (`$users`) and refresh tokens (`admin-http.md` §1.8, §5) |
//! | `POST /runtime/auth/verify_refresh_token` | token check, no admin token (`admin-http.md` §5.9) |
//! | `POST /admin/magic_code`, `/admin/send_magic_code`, `/admin/verify_magic_code` | magic codes (§5.2-5.4): never mailed and never logged; "sent" codes are kept for [`LocalServer::last_magic_code`]; checks and sends limited per email (20 an hour, as Instant) |
//! | `GET /admin/rooms/presence` | presence (§6): always `{"sessions": {}}` because no realtime (websocket) clients connect to the local server |
//! | `/superadmin/apps[...]` (list, create, get, rename, delete, `schema` pull, `perms` pull/push) | Platform API (`schema-and-platform.md` Part E); personal access tokens from [`LocalServerBuilder::platform_token`] or `serve --platform-token` |
//!
//! Every bound (body sizes per route, upload size, header/body/idle timeouts,
//! connection count, rate limits) comes from [`Limits`]; a request's
//! credentials are checked from its headers before its body is read.
//!
//! Errors use Instant's envelope and statuses (`admin-http.md` §1.6); the app id
//! comes from the `app-id` header or `app_id` query parameter and the admin token
//! from `Authorization: Bearer`. The impersonation headers (`as-email`,
//! `as-token`, `as-guest`) make the request run as that user under the app's
//! permission rules (CEL, see [`perms`]): hidden rows and fields are left out of
//! results and a transaction a rule refuses is refused whole.
//!
//! ## Storage
//!
//! Data is modelled like Instant's: attributes (forward/reverse identities, value
//! type, cardinality, unique, indexed, required, checked data type, cascade flags)
//! and triples `(entity, attr, value, created_at)`, many apps in one SQLite
//! database (in memory by default, or a file in WAL mode). Each app is also held
//! in memory with Instant's indexes (by entity, by attribute + value for
//! unique/indexed attributes, sorted by value for indexed attributes, by reverse
//! reference, and namespace members by created-at); queries run on those. A
//! transaction is validated and applied in memory, then written to SQLite in one
//! SQLite transaction: with a database file before it is acknowledged (a failed
//! write rolls both back); with the in-memory database by a background writer in
//! commit order (nothing is durable there, so the next request need not wait;
//! `LocalServer::flush` waits for it).
//! Opening a file database rebuilds the in-memory indexes from its triples.
//!
//! ```no_run
//! # async fn demo() -> Result<(), instant_local::LocalError> {
//! use instant_local::{AppCredentials, LocalServer};
//! let server = LocalServer::builder().start().await?;
//! let app: AppCredentials = server.create_app("my app").await?;
//! println!("{} app {}", server.url(), app.app_id);
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Command line: `instant-local serve --host 127.0.0.1 --port 8888 --db PATH`
//! (`--db :memory:` allowed; bounds: `--temp-apps-per-minute` (default 60,
//! 0 = off), `--max-json-body-bytes`, `--max-upload-bytes`,
//! `--max-connections`, `--header-read-timeout-secs`,
//! `--body-read-timeout-secs`, `--idle-timeout-secs`), `instant-local create-app --db PATH --title T` and
//! `instant-local restore --db PATH --title T BACKUP` (both print
//! `{"app_id", "admin_token"}`).

// `ApiError` (the wire error envelope) is large; errors are the cold path, so the
// engine returns it unboxed.
#![allow(clippy::result_large_err)]

pub mod backup;
mod engine;
mod error;
pub mod files;
mod http;
mod limits;
pub mod perms;
mod server;
mod store;

pub use error::LocalError;
pub use limits::Limits;
pub use server::{AppCredentials, LocalServer, LocalServerBuilder, DEFAULT_SWEEP_INTERVAL};
