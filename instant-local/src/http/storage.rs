//! Storage routes (spec `admin-http.md` §7): `PUT /admin/storage/upload`,
//! `DELETE /admin/storage/files?filename=`, `POST /admin/storage/files/delete`,
//! `GET /admin/storage/files`, `GET /admin/storage/signed-download-url`, and the
//! local server's own `GET /storage/signed-download` that serves the bytes of a
//! signed `$files.url`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query as QueryParams, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use instant_core::{ApiError, ErrorKind, Id, Step};
use serde_json::{json, Value};

use super::admin::blocking;
use super::auth::{Access, Actor, AdminCtx, AdminRequest, Route, Who};
use super::errors::{param_malformed, param_missing, HttpError};
use super::impersonate::{app_perms, auth_for, check_tx};
use crate::engine::files::{file_by_path, location_of};
use crate::engine::state::AppState;
use crate::engine::{App, Engine};

/// Admin-only storage reads (no impersonation).
const ADMIN_READ: Route = (Who::Admin, Access::Read);
/// Storage writes: admin or impersonated, refused on read-only apps.
const WRITE: Route = (Who::Actor, Access::Write);

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "null" && *s != "undefined")
}

/// The origin clients reached this server at (`Host` header), for `$files.url`.
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// Runs `f` with a permission guard for impersonated actors (none for admin).
fn with_guard<T>(
    engine: &Engine,
    app: &Arc<App>,
    actor: &Actor,
    f: impl FnOnce(Option<&crate::engine::TxGuard<'_>>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    if *actor == Actor::Admin {
        return f(None);
    }
    let auth = auth_for(engine, app, actor)?.flatten();
    let perms = app_perms(engine, app)?;
    let guard = |st: &AppState, steps: &[Step]| check_tx(&perms, st, auth.as_ref(), steps);
    f(Some(&guard))
}

/// The required `filename` query parameter.
fn filename(query: &HashMap<String, String>) -> Result<String, ApiError> {
    query
        .get("filename")
        .cloned()
        .ok_or_else(|| param_missing(&["query-params", "filename"]))
}

/// The `path` header of an upload: `param-missing` when absent (or `null` /
/// `undefined`, what JS clients send for no value), `param-malformed` when
/// blank or not text (`ex/get-param!` with `coerce-non-blank-str`,
/// `server/src/instant/util/exception.clj`).
fn upload_path(headers: &HeaderMap) -> Result<String, ApiError> {
    let missing = || {
        ApiError::new(ErrorKind::ParamMissing, "Missing parameter: [\"path\"]")
            .with_hint(json!({"in": ["path"]}))
    };
    let Some(raw) = headers.get("path") else {
        return Err(missing());
    };
    let text = raw.to_str().map(str::trim);
    match text {
        Ok("null" | "undefined") => Err(missing()),
        Ok(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err(param_malformed(
            &["path"],
            json!(String::from_utf8_lossy(raw.as_bytes())),
        )),
    }
}

/// `PUT /admin/storage/upload`: header `path` (required), optional
/// `content-type` / `content-disposition`, raw body → `{"data": {"id",
/// "location-id", "size"}}`. Impersonated uploads need `$files` create
/// (or update, when replacing) permission. The credentials, the path, the
/// permission and a `Content-Length` past the upload limit are all checked
/// before the body is read; the body then streams to the blob store with the
/// limit enforced while it is read ([`Engine::receive_upload`]).
pub async fn upload(ctx: AdminCtx, body: axum::body::Body) -> Response {
    let ct = header_str(&ctx.headers, "content-type").map(str::to_string);
    let cd = header_str(&ctx.headers, "content-disposition").map(str::to_string);
    let AdminCtx {
        engine,
        params,
        headers,
    } = ctx;
    let req = match AdminRequest::parse(&engine, &headers, &params, None, WRITE.0, WRITE.1) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let path = match upload_path(&req.headers) {
        Ok(p) => p,
        Err(e) => return HttpError(e).into_response(),
    };
    if let Some(n) = super::body::content_length(&headers) {
        if let Err(e) = engine.storage.check_size(n) {
            return HttpError(e).into_response();
        }
    }
    let AdminRequest { app, actor, .. } = req;
    if actor != Actor::Admin {
        let (e, a, p) = (engine.clone(), app.clone(), path.clone());
        let checked = blocking(move || {
            let auth = auth_for(&e, &a, &actor)?.flatten();
            let perms = app_perms(&e, &a)?;
            let st = a.state.read();
            let id = file_by_path(&st, &p).unwrap_or_else(uuid::Uuid::new_v4);
            let step =
                Step::from_json(0, &json!(["update", "$files", id.to_string(), {"path": p}]))
                    .map_err(|e| param_malformed(&["path"], json!(e.to_string())))?;
            check_tx(&perms, &st, auth.as_ref(), &[step])
        })
        .await;
        if let Err(e) = checked {
            return HttpError(e).into_response();
        }
    }
    let blob = match engine
        .receive_upload(Id(app.id()), body.into_data_stream())
        .await
    {
        Ok(b) => b,
        Err(e) => return HttpError(e).into_response(),
    };
    super::errors::respond(
        blocking(move || {
            let data = engine.record_file(&app, &path, blob, ct.as_deref(), cd.as_deref())?;
            Ok(json!({ "data": data }))
        })
        .await,
    )
}

/// `DELETE /admin/storage/files?filename=<path>` → `{"data": {"id": id|null}}`.
pub async fn delete_one(ctx: AdminCtx) -> Response {
    ctx.call(
        WRITE,
        None,
        |req| filename(&req.query),
        |engine, AdminRequest { app, actor, .. }, name| {
            let ids = with_guard(engine, &app, &actor, |g| {
                engine.delete_files(&app, &[name], g)
            })?;
            let id = ids.first().copied().flatten().map(|u| u.to_string());
            Ok(json!({"data": {"id": id}}))
        },
    )
    .await
}

/// `POST /admin/storage/files/delete` body `{"filenames": [..]}` →
/// `{"data": {"ids": [..]}}` (ids of the files that existed).
pub async fn delete_many(ctx: AdminCtx, body: Bytes) -> Response {
    ctx.call(
        WRITE,
        Some(body),
        |req| match req.body.get("filenames") {
            None | Some(Value::Null) => Err(param_missing(&["body", "filenames"])),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect::<Vec<_>>()),
            Some(other) => Err(param_malformed(&["body", "filenames"], other.clone())),
        },
        |engine, AdminRequest { app, actor, .. }, names| {
            let ids = with_guard(engine, &app, &actor, |g| {
                engine.delete_files(&app, &names, g)
            })?;
            let ids: Vec<String> = ids.into_iter().flatten().map(|u| u.to_string()).collect();
            Ok(json!({"data": {"ids": ids}}))
        },
    )
    .await
}

/// `GET /admin/storage/files` (admin only) → `{"data": [{"key", "name",
/// "size", "etag": null, "last_modified": null}]}`.
pub async fn list(ctx: AdminCtx) -> Response {
    ctx.run(ADMIN_READ, None, |_, AdminRequest { app, .. }| {
        let st = app.state.read();
        let mut out = Vec::new();
        if let (Some(path_a), Some(id_a)) = (st.fwd_attr("$files", "path"), st.id_attr("$files")) {
            let size_a = st.fwd_attr("$files", "size").map(|a| a.id);
            if let Some(members) = st.members.get(&id_a.id) {
                for (_, e) in members {
                    let name = st.value(*e, path_a.id).map(|t| t.v.clone());
                    let size = size_a
                        .and_then(|a| st.value(*e, a))
                        .map(|t| t.v.clone())
                        .unwrap_or(Value::Null);
                    let loc = location_of(&st, *e).unwrap_or_default();
                    out.push(json!({
                        "key": format!("{}/1/{loc}", app.id()),
                        "name": name,
                        "size": size,
                        "etag": null,
                        "last_modified": null,
                    }));
                }
            }
        }
        Ok(json!({ "data": out }))
    })
    .await
}

/// `GET /admin/storage/signed-download-url?filename=<path>` (admin only) →
/// `{"data": "<signed url>"}`; `record-not-found` when no file has that path.
pub async fn signed_download_url(ctx: AdminCtx) -> Response {
    let route = format!(
        "{}{}",
        origin(&ctx.headers),
        crate::files::SIGNED_DOWNLOAD_ROUTE
    );
    ctx.call(
        ADMIN_READ,
        None,
        |req| filename(&req.query),
        move |engine, AdminRequest { app, .. }, name| {
            let st = app.state.read();
            let loc = file_by_path(&st, &name)
                .and_then(|e| location_of(&st, e))
                .ok_or_else(|| {
                    ApiError::new(ErrorKind::RecordNotFound, "Record not found: file")
                        .with_hint(json!({"record-type": "file", "args": [{"path": name}]}))
                })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let url = engine.storage.signer.sign(
                &route,
                Id(app.id()),
                &loc,
                crate::files::default_expiry(now),
            );
            Ok(json!({ "data": url }))
        },
    )
    .await
}

/// `GET /storage/signed-download?app_id&location_id&expires&signature`: the
/// file's bytes with its content type (403 on a bad or expired signature,
/// 404 when the file is gone).
pub async fn download(
    State(engine): State<Arc<Engine>>,
    QueryParams(params): QueryParams<HashMap<String, String>>,
) -> Response {
    let (app_id, loc) = match engine.storage.signer.verify(&params) {
        Ok(x) => x,
        Err(e) => {
            return HttpError(
                ApiError::new(ErrorKind::PermissionDenied, e.to_string())
                    .with_hint(e.hint())
                    .with_status(403),
            )
            .into_response();
        }
    };
    let not_found = || {
        HttpError(
            ApiError::new(ErrorKind::RecordNotFound, "Record not found: file")
                .with_hint(json!({"record-type": "file"}))
                .with_status(404),
        )
        .into_response()
    };
    let Some(app) = engine.app(app_id.0) else {
        return not_found();
    };
    let (ct, cd) = {
        let st = app.state.read();
        let e = st
            .fwd_attr("$files", "location-id")
            .and_then(|a| st.lookup_av(a.id, &json!(loc)).first().copied());
        let Some(e) = e else {
            return not_found();
        };
        let get = |label: &str| {
            st.fwd_attr("$files", label)
                .and_then(|a| st.value(e, a.id))
                .and_then(|t| t.v.as_str().map(str::to_string))
        };
        (get("content-type"), get("content-disposition"))
    };
    let engine2 = engine.clone();
    let bytes = match blocking(move || {
        engine2
            .storage
            .store
            .get(app_id, &loc)
            .map_err(|e| e.to_api_error())
    })
    .await
    {
        Ok(Some(b)) => b,
        Ok(None) => return not_found(),
        Err(e) => return HttpError(e).into_response(),
    };
    let mut h = HeaderMap::new();
    if let Ok(v) = ct
        .unwrap_or_else(|| "application/octet-stream".into())
        .parse()
    {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = cd.and_then(|c| c.parse().ok()) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    (StatusCode::OK, h, bytes).into_response()
}
