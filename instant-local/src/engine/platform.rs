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

    /// The app whose admin token is `token`, if any.
    pub fn app_by_admin_token(&self, token: &str) -> Option<Arc<App>> {
        let t = Uuid::parse_str(token.trim()).ok()?;
        self.apps
            .read()
            .values()
            .find(|a| Uuid::parse_str(&a.meta.read().admin_token).ok() == Some(t))
            .cloned()
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

    /// Deletes an app with all its data, users and tokens (the local server
    /// deletes at once instead of marking for later deletion).
    pub fn delete_app(&self, app: &App) -> Result<(), ApiError> {
        let id = app.id();
        {
            let mut db = self.db();
            let (conn, keys) = db.parts();
            let tx = conn.transaction().map_err(internal)?;
            let key = id.as_bytes().as_slice();
            crate::store::sqlite::delete_app_data(&tx, keys, id).map_err(internal)?;
            tx.execute("DELETE FROM apps WHERE id = ?1", params![key])
                .map_err(internal)?;
            for table in ["local_refresh_tokens", "local_magic_codes"] {
                // These tables exist once an auth endpoint ran.
                let _ = tx.execute(
                    &format!("DELETE FROM {table} WHERE app_id = ?1"),
                    params![key],
                );
            }
            tx.commit().map_err(internal)?;
        }
        app.subs.close_all();
        self.apps.write().remove(&id);
        Ok(())
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
