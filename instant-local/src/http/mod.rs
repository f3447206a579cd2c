//! The HTTP layer (axum): routes, body parsing, authentication and the error
//! envelope. Handlers call into [`crate::engine`] on blocking threads.

pub mod admin;
pub mod auth;
pub mod body;
pub mod ephemeral;
pub mod errors;
pub mod impersonate;
pub mod storage;
pub mod subscribe;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
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
        .route(
            "/admin/storage/upload",
            put(storage::upload).layer(DefaultBodyLimit::max(
                crate::files::MAX_UPLOAD_BYTES as usize + 1,
            )),
        )
        .route(
            "/admin/storage/files",
            get(storage::list).delete(storage::delete_one),
        )
        .route("/admin/storage/files/delete", post(storage::delete_many))
        .route(
            "/admin/storage/signed-download-url",
            get(storage::signed_download_url),
        )
        .route(crate::files::SIGNED_DOWNLOAD_ROUTE, get(storage::download))
        .route("/dash/apps/ephemeral", post(ephemeral::create))
        .route("/dash/apps/ephemeral/{app_id}", get(ephemeral::get))
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(engine)
}
