//! # instant-local: a local Instant-compatible server
//!
//! An in-process (or standalone, see the `instant-local` binary) server that speaks
//! Instant's Admin HTTP API: `POST /admin/query`, `POST /admin/transact`,
//! `POST /admin/subscribe-query` (live queries over SSE) and the temporary-app
//! endpoints `POST /dash/apps/ephemeral` / `GET /dash/apps/ephemeral/:app_id`.
//! Data lives in SQLite (in memory by default, or a file) as Instant-style attributes
//! and triples; many apps share one database.
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

// `ApiError` (the wire error envelope) is large; errors are the cold path, so the
// engine returns it unboxed.
#![allow(clippy::result_large_err)]

pub mod backup;
mod engine;
mod error;
mod http;
mod server;
mod store;

pub use error::LocalError;
pub use server::{AppCredentials, LocalServer, LocalServerBuilder};
