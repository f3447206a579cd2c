//! The engine: apps held in memory (attributes, triples and their indexes) on top of
//! the SQLite store, the InstaQL evaluator, the InstaML transaction processor and
//! live-query subscriptions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use instant_core::Id;
use parking_lot::{Mutex, RwLock};
use rusqlite::Connection;

use crate::error::LocalError;
use crate::server::AppCredentials;
use crate::store::sqlite::{self, AppRow};

/// One app: its metadata and (later) its data.
pub struct App {
    /// The app row.
    pub meta: RwLock<AppRow>,
}

/// Shared server state.
pub struct Engine {
    conn: Mutex<Connection>,
    apps: RwLock<HashMap<uuid::Uuid, Arc<App>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Engine {
    /// Opens the database and loads every app.
    pub fn open(path: Option<&Path>) -> Result<Engine, LocalError> {
        let conn = sqlite::open(path)?;
        let mut apps = HashMap::new();
        for row in sqlite::load_apps(&conn)? {
            apps.insert(
                row.id,
                Arc::new(App {
                    meta: RwLock::new(row),
                }),
            );
        }
        Ok(Engine {
            conn: Mutex::new(conn),
            apps: RwLock::new(apps),
        })
    }

    /// Creates an app (blocking).
    pub fn create_app(
        &self,
        title: &str,
        ephemeral: bool,
        expires_at: Option<i64>,
    ) -> Result<AppCredentials, LocalError> {
        let row = AppRow {
            id: uuid::Uuid::new_v4(),
            title: title.to_string(),
            admin_token: uuid::Uuid::new_v4().to_string(),
            created_at: now_ms(),
            ephemeral,
            expires_at,
            rules: None,
            last_tx_id: 0,
        };
        sqlite::insert_app(&self.conn.lock(), &row)?;
        let creds = AppCredentials {
            app_id: Id(row.id),
            admin_token: row.admin_token.clone(),
        };
        self.apps.write().insert(
            row.id,
            Arc::new(App {
                meta: RwLock::new(row),
            }),
        );
        Ok(creds)
    }

    /// The app with this id, if any.
    pub fn app(&self, id: uuid::Uuid) -> Option<Arc<App>> {
        self.apps.read().get(&id).cloned()
    }

    /// Ends every live-query stream (server shutdown).
    pub fn close_subscriptions(&self) {}
}
