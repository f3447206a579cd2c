//! The HTTP layer (axum): routes, body parsing, authentication and the error
//! envelope. Handlers call into [`crate::engine`] on blocking threads.

pub mod admin;
pub mod auth;
pub mod body;
pub mod ephemeral;
pub mod errors;
pub mod impersonate;
pub mod subscribe;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::engine::Engine;

/// Largest accepted request body (bulk imports send big transactions).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Builds the router for all endpoints.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/admin/query", post(admin::query))
        .route("/admin/transact", post(admin::transact))
        .route("/admin/subscribe-query", post(subscribe::subscribe_query))
        .route("/dash/apps/ephemeral", post(ephemeral::create))
        .route("/dash/apps/ephemeral/{app_id}", get(ephemeral::get))
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(engine)
}
