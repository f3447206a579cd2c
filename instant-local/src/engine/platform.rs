//! Platform API support (spec `schema-and-platform.md` Part E): personal access
//! tokens, listing / renaming / deleting apps, the pulled schema (B.2) and stored
//! permission rules.
//!
//! Accessor for the permission layer: [`Engine::rules`] returns an app's stored
//! rules JSON (the `code` of the last perms push / create / restore).

use std::sync::Arc;

use instant_core::ApiError;
use rusqlite::params;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{App, Engine};
use crate::http::errors::internal;
use crate::store::apps::AppStatus;

/// How long after its `expires_ms` a temporary app is swept (Instant: one day).
pub const TEMP_APP_SWEEP_GRACE_MS: i64 = 24 * 3600 * 1000;

const DDL: &str =
    "CREATE TABLE IF NOT EXISTS local_platform_tokens (token TEXT PRIMARY KEY, created_at INTEGER NOT NULL);";

/// System namespaces and attrs hidden from schema pulls (B.2).
fn hidden(ns: &str, label: &str) -> bool {
    match ns {
        "$users" => false,
        "$files" => matches!(
            label,
            "content-type" | "content-disposition" | "size" | "location-id" | "key-version"
        ),
        "$streams" => matches!(label, "machineId" | "hashedReconnectToken"),
        _ => ns.starts_with('$'),
    }
}

impl Engine {
    /// Registers a personal access token (accepted on every `/superadmin` route).
    pub fn add_platform_token(&self, token: &str) -> Result<(), ApiError> {
        let conn = self.db();
        conn.execute_batch(DDL).map_err(internal)?;
        conn.execute(
            "INSERT OR IGNORE INTO local_platform_tokens (token, created_at) VALUES (?1, ?2)",
            params![token, super::now_ms()],
        )
        .map_err(internal)?;
        Ok(())
    }

    /// Whether `token` is a registered personal access token.
    pub fn is_platform_token(&self, token: &str) -> bool {
        let conn = self.db();
        if conn.execute_batch(DDL).is_err() {
            return false;
        }
        conn.query_row(
            "SELECT 1 FROM local_platform_tokens WHERE token = ?1",
            params![token],
            |_| Ok(()),
        )
        .is_ok()
    }

    /// The app whose admin token is `token`, if any. A temporary app past its
    /// `expires_ms` is treated as gone (as by [`Engine::app`]), so its admin
    /// token stops working on the Platform API too.
    pub fn app_by_admin_token(&self, token: &str) -> Option<Arc<App>> {
        let t = Uuid::parse_str(token.trim()).ok()?;
        let id = self
            .apps
            .read()
            .values()
            .find(|a| Uuid::parse_str(&a.meta.read().admin_token).ok() == Some(t))
            .map(|a| a.id())?;
        self.app(id)
    }

    /// All non-temporary apps, oldest first.
    pub fn list_apps(&self) -> Vec<Arc<App>> {
        let mut v: Vec<Arc<App>> = self
            .apps
            .read()
            .values()
            .filter(|a| !a.meta.read().ephemeral)
            .cloned()
            .collect();
        v.sort_by_key(|a| a.meta.read().created_at);
        v
    }

    /// For the permission layer: the stored rules of app `app_id` (the JSON
    /// object of the last perms push, app creation or restore), or `None` when the
    /// app is unknown or has no rules.
    pub fn rules(&self, app_id: Uuid) -> Option<Value> {
        let app = self.app(app_id)?;
        let raw = app.meta.read().rules.clone()?;
        serde_json::from_str(&raw).ok()
    }

    /// Stores new rules for an app (already validated by the caller).
    pub fn set_rules(&self, app: &App, rules: &Value) -> Result<(), ApiError> {
        let text = rules.to_string();
        {
            let conn = self.db();
            conn.execute(
                "UPDATE apps SET rules = ?1 WHERE id = ?2",
                params![text, app.id().as_bytes().as_slice()],
            )
            .map_err(internal)?;
        }
        app.meta.write().rules = Some(text);
        Ok(())
    }

    /// Renames an app.
    pub fn rename_app(&self, app: &App, title: &str) -> Result<(), ApiError> {
        {
            let conn = self.db();
            conn.execute(
                "UPDATE apps SET title = ?1 WHERE id = ?2",
                params![title, app.id().as_bytes().as_slice()],
            )
            .map_err(internal)?;
        }
        app.meta.write().title = title.to_string();
        Ok(())
    }

    /// Deletes an app with all its data, users, tokens, indexing jobs, status
    /// and `$files` blobs (the local server deletes at once instead of marking
    /// for later deletion), and closes its live queries. Shared by the Platform
    /// API delete and [`Engine::sweep_expired_apps`].
    pub fn delete_app(&self, app: &App) -> Result<(), ApiError> {
        let id = app.id();
        self.db()
            .in_transaction(|tx, keys| crate::store::apps::delete_app_rows(tx, keys, id))
            .map_err(internal)?;
        // Gone from the map first: a live-query stream that sees its
        // subscription closed checks whether its app still exists.
        self.apps.write().remove(&id);
        app.subs.close_all();
        if let Err(e) = self.storage.store.delete_app(instant_core::Id(id)) {
            // The rows are gone; leftover blobs are unreachable, only logged.
            tracing::warn!("deleting the files of app {id}: {e}");
        }
        Ok(())
    }

    /// The operational status of an app (`Active` unless set with
    /// `POST /dash/apps/ephemeral/:app_id/status`, which only temporary apps
    /// accept, so other apps skip the SQLite read). Read once per app and then
    /// kept in memory: every admin request asks.
    pub fn app_status(&self, app: &App) -> AppStatus {
        if !app.meta.read().ephemeral {
            return AppStatus::Active;
        }
        let mut cached = app.status.lock();
        if let Some(s) = *cached {
            return s;
        }
        let read = crate::store::apps::status(&self.conn.lock(), app.id());
        match read {
            Ok(s) => {
                *cached = Some(s);
                s
            }
            Err(e) => {
                tracing::warn!("reading the status of app {}: {e}", app.id());
                AppStatus::Active
            }
        }
    }

    /// Stores a new operational status for an app.
    pub fn set_app_status(&self, app: &App, status: AppStatus) -> Result<(), ApiError> {
        let mut cached = app.status.lock();
        crate::store::apps::set_status(&self.conn.lock(), app.id(), status).map_err(internal)?;
        *cached = Some(status);
        Ok(())
    }

    /// Deletes every temporary app whose `expires_ms` lies more than
    /// [`TEMP_APP_SWEEP_GRACE_MS`] (one day) before `now_ms` (epoch ms), as
    /// Instant's daily sweeper does (`server/src/instant/dash/ephemeral_app.clj`,
    /// `handle-sweep`: apps created more than 14 + 1 days ago). Returns how
    /// many apps were deleted; an app whose deletion fails is logged and kept.
    pub fn sweep_expired_apps(&self, now_ms: i64) -> usize {
        let doomed: Vec<Arc<App>> = self
            .apps
            .read()
            .values()
            .filter(|a| {
                let m = a.meta.read();
                m.ephemeral
                    && m.expires_at
                        .is_some_and(|t| t.saturating_add(TEMP_APP_SWEEP_GRACE_MS) <= now_ms)
            })
            .cloned()
            .collect();
        let mut swept = 0;
        for app in doomed {
            match self.delete_app(&app) {
                Ok(()) => swept += 1,
                Err(e) => tracing::warn!("sweeping app {}: {}", app.id(), e.message),
            }
        }
        swept
    }

    /// The pulled schema `{"refs", "blobs"}` (B.2) of an app.
    pub fn pull_schema(&self, app: &App) -> Value {
        let st = app.state.read();
        pull_format(st.attrs.values())
    }
}

/// Attrs in the pull format `{"refs", "blobs"}` (B.2), hidden ones left out.
pub fn pull_format<'a>(attrs: impl Iterator<Item = &'a super::attr::Attr>) -> Value {
    {
        let mut blobs: Map<String, Value> = Map::new();
        let mut refs: Map<String, Value> = Map::new();
        let mut attrs: Vec<_> = attrs.collect();
        attrs.sort_by(|a, b| (&a.ns, &a.label).cmp(&(&b.ns, &b.label)));
        for a in attrs {
            if hidden(&a.ns, &a.label) {
                continue;
            }
            let mut j = a.to_json();
            if a.is_ref {
                let Some((_, rns, rlabel)) = &a.rev else {
                    continue;
                };
                if rns.starts_with('$') && rns != "$users" && rns != "$files" {
                    continue;
                }
                let key = format!("[{:?} {:?} {:?} {:?}]", a.ns, a.label, rns, rlabel);
                refs.insert(key, j);
            } else {
                if a.ns == "$files" && a.label == "url" {
                    j["required?"] = json!(true);
                }
                blobs
                    .entry(a.ns.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .map(|m| m.insert(a.label.clone(), j));
            }
        }
        json!({"refs": refs, "blobs": blobs})
    }
}
