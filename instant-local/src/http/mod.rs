//! The HTTP layer (axum): routes, body parsing, authentication and the error
//! envelope. Handlers call into [`crate::engine`] on blocking threads.

pub mod admin;
pub mod auth;
pub mod body;
pub mod ephemeral;
pub mod errors;
pub mod impersonate;
pub mod magic_code;
pub mod perms_check;
pub mod platform;
pub mod soft_deleted;
pub mod storage;
pub mod subscribe;
pub mod users;

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
            "/admin/query_perms_check",
            post(perms_check::query_perms_check),
        )
        .route(
            "/admin/transact_perms_check",
            post(perms_check::transact_perms_check),
        )
        .route(
            "/admin/storage/signed-download-url",
            get(storage::signed_download_url),
        )
        .route(crate::files::SIGNED_DOWNLOAD_ROUTE, get(storage::download))
        .route("/dash/apps/ephemeral", post(ephemeral::create))
        .route("/dash/apps/ephemeral/{app_id}", get(ephemeral::get))
        .route(
            "/dash/apps/ephemeral/{app_id}/status",
            post(ephemeral::set_status),
        )
        .merge(auth_routes())
        .merge(platform_routes())
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(engine)
}

/// Auth, magic-code and presence routes (spec `admin-http.md` §5, §6).
fn auth_routes() -> Router<Arc<Engine>> {
    use axum::routing::delete;
    Router::new()
        .route("/admin/refresh_tokens", post(users::refresh_tokens))
        .route("/admin/sign_in_guest", post(users::sign_in_guest))
        .route("/admin/sign_out", post(users::sign_out))
        .route(
            "/admin/users",
            get(users::get_user).merge(delete(users::delete_user)),
        )
        .route(
            "/runtime/auth/verify_refresh_token",
            post(users::verify_refresh_token),
        )
        .route("/admin/rooms/presence", get(users::presence))
        .route("/admin/schema", get(users::admin_schema))
        .route(
            "/admin/soft_deleted_attrs",
            get(soft_deleted::soft_deleted_attrs),
        )
        .route("/admin/magic_code", post(magic_code::magic_code))
        .route("/admin/send_magic_code", post(magic_code::send_magic_code))
        .route(
            "/admin/verify_magic_code",
            post(magic_code::verify_magic_code),
        )
}

/// Platform API routes (spec `schema-and-platform.md` Part E).
fn platform_routes() -> Router<Arc<Engine>> {
    use axum::routing::delete;
    Router::new()
        .route(
            "/superadmin/apps",
            get(platform::list).post(platform::create),
        )
        .route(
            "/superadmin/apps/{app_id}",
            get(platform::get)
                .post(platform::rename)
                .merge(delete(platform::delete)),
        )
        .route("/superadmin/apps/{app_id}/schema", get(platform::schema))
        .route(
            "/superadmin/apps/{app_id}/schema/push/plan",
            post(platform::push_plan),
        )
        .route(
            "/superadmin/apps/{app_id}/schema/push/apply",
            post(platform::push_apply),
        )
        .route(
            "/dash/apps/{app_id}/indexing-jobs/group/{group_id}",
            get(platform::indexing_jobs),
        )
        .route(
            "/superadmin/apps/{app_id}/perms",
            get(platform::get_perms).post(platform::push_perms),
        )
}
