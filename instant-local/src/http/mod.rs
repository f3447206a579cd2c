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
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post, put, MethodRouter};
use axum::Router;

use crate::engine::Engine;

type Route = MethodRouter<Arc<Engine>>;

/// Bounds the body of `r` to `limit` bytes (see [`body::enforce_limit`]).
fn bounded(r: Route, limit: usize) -> Route {
    r.route_layer(DefaultBodyLimit::max(limit))
        .route_layer(from_fn(move |req, next| {
            body::enforce_limit(limit, req, next)
        }))
}

/// The routes of the Admin API, each bounded and authenticated from its
/// headers before its body is read.
struct Guards {
    engine: Arc<Engine>,
}

impl Guards {
    /// `r` with its body bounded to `limit` bytes (less without the admin
    /// token) and the app's credentials checked first
    /// ([`auth::require_credentials_json`]).
    fn admin(&self, r: Route, limit: usize) -> Route {
        bounded(r, limit).route_layer(from_fn_with_state(
            self.engine.clone(),
            auth::require_credentials_json,
        ))
    }

    /// `r` with its body bounded to `limit` bytes and a Platform credential
    /// required first ([`platform::require_credentials`]).
    fn platform(&self, r: Route, limit: usize) -> Route {
        bounded(r, limit).route_layer(from_fn_with_state(
            self.engine.clone(),
            platform::require_credentials,
        ))
    }
}

/// Builds the router for all endpoints, with the body bounds and timeouts of
/// `engine.limits`: `max_json_body_bytes` for queries, transactions, live
/// queries and permission checks; `max_small_body_bytes` for the auth,
/// magic-code, user, token and file-deletion routes;
/// `max_app_body_bytes` for app creation and schema / rules pushes.
pub fn router(engine: Arc<Engine>) -> Router {
    let limits = engine.limits.clone();
    let (json, small, app) = (
        limits.max_json_body_bytes,
        limits.max_small_body_bytes,
        limits.max_app_body_bytes,
    );
    let g = Guards {
        engine: engine.clone(),
    };
    let body_timeout = limits.body_read_timeout;
    Router::new()
        .route("/admin/query", g.admin(post(admin::query), json))
        .route("/admin/transact", g.admin(post(admin::transact), json))
        .route(
            "/admin/subscribe-query",
            g.admin(post(subscribe::subscribe_query), json),
        )
        // The upload streams to the blob store, bounded by `max_upload_bytes`
        // while it is read (see `storage::upload`).
        .route(
            "/admin/storage/upload",
            put(storage::upload).route_layer(from_fn_with_state(
                engine.clone(),
                auth::require_credentials,
            )),
        )
        .route(
            "/admin/storage/files",
            get(storage::list).delete(storage::delete_one),
        )
        .route(
            "/admin/storage/files/delete",
            g.admin(post(storage::delete_many), small),
        )
        .route(
            "/admin/query_perms_check",
            g.admin(post(perms_check::query_perms_check), json),
        )
        .route(
            "/admin/transact_perms_check",
            g.admin(post(perms_check::transact_perms_check), json),
        )
        .route(
            "/admin/storage/signed-download-url",
            get(storage::signed_download_url),
        )
        .route(crate::files::SIGNED_DOWNLOAD_ROUTE, get(storage::download))
        .route("/dash/apps/ephemeral", temp_app_route(&limits))
        .route("/dash/apps/ephemeral/{app_id}", get(ephemeral::get))
        .route(
            "/dash/apps/ephemeral/{app_id}/status",
            bounded(post(ephemeral::set_status), small),
        )
        .merge(auth_routes(&g, small))
        .merge(platform_routes(&g, app))
        .fallback(errors::not_found)
        .layer(from_fn(move |req, next| {
            body::body_deadline(body_timeout, req, next)
        }))
        .layer(from_fn(errors::envelope_plain_errors))
        .with_state(engine)
}

/// `POST /dash/apps/ephemeral`: no credentials (anyone may create a
/// temporary app), so it is bounded by `max_app_body_bytes` and, when
/// `temp_apps_per_minute` is set, rate limited per client address before the
/// body is read ([`ephemeral::rate_limit`]).
fn temp_app_route(limits: &crate::Limits) -> Route {
    let r = bounded(post(ephemeral::create), limits.max_app_body_bytes);
    match limits.temp_apps_per_minute {
        Some(n) if n > 0 => {
            let limiter = Arc::new(ephemeral::TempAppLimiter::new(
                n,
                ephemeral::MAX_TRACKED_ADDRESSES,
            ));
            r.route_layer(from_fn(move |req, next| {
                ephemeral::rate_limit(limiter.clone(), req, next)
            }))
        }
        _ => r,
    }
}

/// Auth, magic-code and presence routes (spec `admin-http.md` §5, §6);
/// bodies bounded to `small` bytes.
fn auth_routes(g: &Guards, small: usize) -> Router<Arc<Engine>> {
    use axum::routing::delete;
    Router::new()
        .route(
            "/admin/refresh_tokens",
            g.admin(post(users::refresh_tokens), small),
        )
        .route(
            "/admin/sign_in_guest",
            g.admin(post(users::sign_in_guest), small),
        )
        .route("/admin/sign_out", g.admin(post(users::sign_out), small))
        .route(
            "/admin/users",
            get(users::get_user).merge(delete(users::delete_user)),
        )
        .route(
            "/runtime/auth/verify_refresh_token",
            bounded(post(users::verify_refresh_token), small),
        )
        .route("/admin/rooms/presence", get(users::presence))
        .route("/admin/schema", get(users::admin_schema))
        .route(
            "/admin/soft_deleted_attrs",
            get(soft_deleted::soft_deleted_attrs),
        )
        .route(
            "/admin/magic_code",
            g.admin(post(magic_code::magic_code), small),
        )
        .route(
            "/admin/send_magic_code",
            g.admin(post(magic_code::send_magic_code), small),
        )
        .route(
            "/admin/verify_magic_code",
            g.admin(post(magic_code::verify_magic_code), small),
        )
}

/// Platform API routes (spec `schema-and-platform.md` Part E); bodies
/// bounded to `app` bytes.
fn platform_routes(g: &Guards, app: usize) -> Router<Arc<Engine>> {
    use axum::routing::delete;
    Router::new()
        .route(
            "/superadmin/apps",
            get(platform::list).merge(g.platform(post(platform::create), app)),
        )
        .route(
            "/superadmin/apps/{app_id}",
            get(platform::get)
                .merge(g.platform(post(platform::rename), app))
                .merge(delete(platform::delete)),
        )
        .route("/superadmin/apps/{app_id}/schema", get(platform::schema))
        .route(
            "/superadmin/apps/{app_id}/schema/push/plan",
            g.platform(post(platform::push_plan), app),
        )
        .route(
            "/superadmin/apps/{app_id}/schema/push/apply",
            g.platform(post(platform::push_apply), app),
        )
        .route(
            "/dash/apps/{app_id}/indexing-jobs/group/{group_id}",
            get(platform::indexing_jobs),
        )
        .route(
            "/superadmin/apps/{app_id}/perms",
            get(platform::get_perms).merge(g.platform(post(platform::push_perms), app)),
        )
}
