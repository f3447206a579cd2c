//! # instant-client: the Instant Admin and Platform client
//!
//! Talk to any Instant server (Instant's cloud, a self-hosted server, or
//! `instant-local`) from a Rust backend: everything `@instantdb/admin` and
//! `@instantdb/platform` do, with Rust conventions. Requests are byte-compatible
//! with the official client's (pinned by this crate's tests against the captured
//! requests of `@instantdb/admin` 1.0.67).
//!
//! - [`Client`]: queries ([`Client::query_raw`], [`Client::query`],
//!   [`Client::query_as`], [`Client::query_typed`], and
//!   [`Client::query_typed_page`] → [`Page`] with cursors), transactions
//!   ([`Client::transact`], [`Client::transact_batched`]), live queries
//!   ([`Client::subscribe_query`] → [`Subscription`], a `Stream`; typed:
//!   [`Client::subscribe_typed`] → [`TypedSubscription`] of decoded pages, see
//!   [`typed_live`]), impersonation
//!   ([`Client::as_user`]), [`auth`](Client::auth), [`rooms`](Client::rooms),
//!   [`storage`](Client::storage), permission debugging ([`Client::debug_query`]).
//! - [`PlatformApi`]: temporary apps, app CRUD, schema pull/push, perms pull/push.
//! - `blocking` (feature `blocking`): the same API without async.
//!
//! ```no_run
//! # async fn demo() -> Result<(), instant_client::Error> {
//! use instant_client::{AsUser, Client};
//! use instant_core::{tx, Id, Query, QueryNode, Where};
//! use serde_json::json;
//!
//! // INSTANT_APP_ID, INSTANT_APP_ADMIN_TOKEN, INSTANT_API_URI
//! let db = Client::from_env()?;
//! db.transact(tx::entity("goals", Id::new()).update(json!({"title": "Get fit"})))
//!     .await?;
//! let q = Query::new().ns("goals", QueryNode::new().filter(Where::eq("title", "Get fit")));
//! let goals = db.query(&q).await?;
//! let as_alyssa = db.as_user(AsUser::email("alyssa@example.com"));
//! let visible = as_alyssa.query(&q).await?;
//! # let _ = (goals, visible); Ok(()) }
//! ```
//!
//! ## Version headers
//! Every Admin call carries `instant-admin-version` and `instant-core-version`
//! set to [`VERSION`]: this crate's version with a leading `v` (e.g. `v0.1.0`),
//! where the official SDK sends its npm version (`v1.0.67`). The server only
//! records them. Live queries carry them in the body's `versions` instead, as the
//! official client does. The `user-agent` is [`USER_AGENT`].
//!
//! ## Retries, timeouts and limits
//! Every call has one time budget (30 s by default, [`ClientBuilder::timeout`])
//! that covers all its attempts and the waits between them: a server that never
//! answers costs 30 s and an [`Error::CallTimeout`] saying how many attempts were
//! made. Calls that are safe to repeat (queries, reads, plans) are retried with
//! exponential backoff on transport errors, timeouts, 429 and 502/503/504, within
//! that budget ([`ClientBuilder::attempt_timeout`] bounds each attempt so a hung
//! one leaves room for a retry). Transactions, uploads and other writes are never
//! retried silently.
//!
//! What a server sends is bounded: answers at most 256 MiB
//! ([`ClientBuilder::max_response_bytes`], [`Error::ResponseTooLarge`]), live-query
//! lines and events at most 64 MiB ([`ClientBuilder::max_event_bytes`],
//! [`Error::EventTooLarge`]), nesting at most 1024 levels
//! ([`ClientBuilder::max_json_depth`], [`Error::NestingTooDeep`]; deeper than
//! `serde_json`'s 128 levels decodes without risk to the stack). Live queries
//! reconnect with a floored, jittered, doubling backoff and give up after 20
//! reconnects in a row without an answer ([`Error::ReconnectsExhausted`]); see
//! [`subscribe`].

// `Error::Api` carries the server's envelope (`instant_core::ApiError`, ~150 bytes)
// unboxed, as the API contract asks; errors are on the cold path of network calls,
// so the larger `Result` costs nothing measurable.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod batch;
mod body;
mod client;
mod config;
pub mod debug;
mod decode;
mod error;
pub mod platform;
mod reconnect;
pub mod rooms;
mod secret;
pub mod soft_deleted;
mod sse_limit;
pub mod storage;
pub mod subscribe;
mod transport;
pub mod typed_live;

#[cfg(feature = "blocking")]
pub mod blocking;

pub use auth::{Auth, SignIn, User, UserKey, UserLookup};
pub use batch::{BatchOptions, BatchProgress, BatchReport};
pub use client::{AsUser, Client, TransactOptions};
pub use config::{ClientBuilder, ENV_ADMIN_TOKEN, ENV_API_URI, ENV_APP_ID};
pub use debug::{DebugOptions, DebugQueryResult, DebugTransactResult};
pub use decode::decode_json;
pub use error::{ApiError, BoxError, Error, ErrorKind, Result};
pub use platform::{
    App, CreateApp, IndexingJob, PlanStep, PlatformApi, PlatformBuilder, SchemaPlan, SchemaPush,
    TemporaryApp,
};
pub use rooms::{PresenceSession, Rooms};
pub use secret::Secret;
pub use soft_deleted::{SoftDeletedAttr, SoftDeletedAttrs};
pub use storage::{FileRecord, LegacyFileInfo, Storage, UploadOptions, UploadedFile};
pub use subscribe::{QueryUpdate, ReadyState, SessionInfo, Subscription, SubscriptionHandle};
pub use transport::{DEFAULT_API_URI, USER_AGENT, VERSION};
pub use typed_live::{Page, TypedSubscription};

/// Re-export of `instant-core`, the wire model this client speaks.
pub use instant_core as core;
