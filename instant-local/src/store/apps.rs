//! App lifecycle rows in SQLite: the operational status of an app (maintenance
//! mode, `active` / `read-only` / `disabled`, set with
//! `POST /dash/apps/ephemeral/:app_id/status`) and the deletion of everything an
//! app owns (Platform API delete, and the sweeper of expired temporary apps).
//!
//! Instant keeps the status in a `status` column of its `apps` table
//! (`server/src/instant/model/app_status.clj`); the local server keeps it in a
//! table of its own, `local_app_status`, so the `apps` DDL stays untouched. A
//! missing row means `active`.

use rusqlite::{params, Connection, OptionalExtension};

/// Creates `local_app_status` when absent.
const DDL: &str = "CREATE TABLE IF NOT EXISTS local_app_status (
    app_id BLOB PRIMARY KEY,
    status TEXT NOT NULL
);";

/// Per-app tables that may not exist yet (each is created by the module that
/// uses it on first use) and whose rows are keyed by `app_id`.
const OPTIONAL_APP_TABLES: [&str; 6] = [
    "local_refresh_tokens",
    "local_magic_codes",
    "local_magic_code_attempts",
    "local_indexing_jobs",
    "local_app_status",
    "local_deleted_attrs",
];

/// The operational status of an app (Instant's maintenance mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppStatus {
    /// Everything works (the default).
    #[default]
    Active,
    /// Reads keep working; writes fail with `app-read-only`.
    ReadOnly,
    /// Reads and writes fail with `app-disabled` (sign-out still works).
    Disabled,
}

impl AppStatus {
    /// The wire name: `active`, `read-only` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Active => "active",
            AppStatus::ReadOnly => "read-only",
            AppStatus::Disabled => "disabled",
        }
    }

    /// Parses a wire name (`None` for anything else, like Instant's
    /// `coerce-status`).
    pub fn parse(s: &str) -> Option<AppStatus> {
        match s {
            "active" => Some(AppStatus::Active),
            "read-only" => Some(AppStatus::ReadOnly),
            "disabled" => Some(AppStatus::Disabled),
            _ => None,
        }
    }
}

/// The stored status of app `app_id` (`Active` when none was set).
///
/// # Errors
/// SQLite errors.
pub fn status(conn: &Connection, app_id: uuid::Uuid) -> rusqlite::Result<AppStatus> {
    conn.execute_batch(DDL)?;
    let raw: Option<String> = conn
        .query_row(
            "SELECT status FROM local_app_status WHERE app_id = ?1",
            params![app_id.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(raw
        .as_deref()
        .and_then(AppStatus::parse)
        .unwrap_or_default())
}

/// Stores the status of app `app_id`.
///
/// # Errors
/// SQLite errors.
pub fn set_status(
    conn: &Connection,
    app_id: uuid::Uuid,
    status: AppStatus,
) -> rusqlite::Result<()> {
    conn.execute_batch(DDL)?;
    conn.execute(
        "INSERT INTO local_app_status (app_id, status) VALUES (?1, ?2)
         ON CONFLICT (app_id) DO UPDATE SET status = excluded.status",
        params![app_id.as_bytes().as_slice(), status.as_str()],
    )?;
    Ok(())
}

/// Deletes every row app `app_id` owns: triples, attrs, the app row, refresh
/// tokens, magic codes, indexing jobs, soft-deleted attrs and its status. Runs inside the caller's
/// transaction so nothing is left half-deleted. (`$files` blobs live outside
/// SQLite; the caller removes them.)
///
/// # Errors
/// SQLite errors.
pub fn delete_app_rows(
    tx: &Connection,
    keys: &mut super::keys::Keys,
    app_id: uuid::Uuid,
) -> Result<(), crate::error::LocalError> {
    let key = app_id.as_bytes().as_slice();
    super::sqlite::delete_app_data(tx, keys, app_id)?;
    tx.execute("DELETE FROM apps WHERE id = ?1", params![key])?;
    for table in OPTIONAL_APP_TABLES {
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                params![table],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if exists {
            tx.execute(
                &format!("DELETE FROM {table} WHERE app_id = ?1"),
                params![key],
            )?;
        }
    }
    Ok(())
}
