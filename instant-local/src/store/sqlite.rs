//! The SQLite database: schema migration and the row-level reads and writes.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::LocalError;

/// Tables and indexes. Ids are stored as 16-byte blobs. `triples.value` is the JSON
/// text of the value; `value_ref` holds the target entity id for reference attrs
/// (the `vae` index, Instant's reverse-reference lookup); `av` marks values of unique
/// or indexed attrs (the `av` index, lookups by attribute + value).
const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS apps (
    id BLOB PRIMARY KEY,
    title TEXT NOT NULL,
    admin_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ephemeral INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    rules TEXT,
    last_tx_id INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS attrs (
    app_id BLOB NOT NULL,
    id BLOB NOT NULL,
    forward_ns TEXT NOT NULL,
    forward_label TEXT NOT NULL,
    reverse_ns TEXT,
    reverse_label TEXT,
    value_type TEXT NOT NULL,
    cardinality TEXT NOT NULL,
    is_unique INTEGER NOT NULL,
    is_indexed INTEGER NOT NULL,
    is_required INTEGER NOT NULL,
    checked_data_type TEXT,
    on_delete TEXT,
    on_delete_reverse TEXT,
    PRIMARY KEY (app_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS triples (
    app_id BLOB NOT NULL,
    entity_id BLOB NOT NULL,
    attr_id BLOB NOT NULL,
    value TEXT NOT NULL,
    value_ref BLOB,
    av INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, entity_id, attr_id, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS triples_av ON triples (app_id, attr_id, value) WHERE av = 1;
CREATE INDEX IF NOT EXISTS triples_vae ON triples (app_id, value_ref, attr_id) WHERE value_ref IS NOT NULL;
"#;

/// Opens (creating if needed) the database at `path`, or an in-memory one for
/// `None`, and migrates it.
pub fn open(path: Option<&Path>) -> Result<Connection, LocalError> {
    let conn = match path {
        Some(p) => Connection::open(p)?,
        None => Connection::open_in_memory()?,
    };
    if path.is_some() {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.execute_batch(DDL)?;
    Ok(conn)
}

/// One row of `apps`.
#[derive(Clone)]
pub struct AppRow {
    pub id: uuid::Uuid,
    pub title: String,
    pub admin_token: String,
    pub created_at: i64,
    pub ephemeral: bool,
    pub expires_at: Option<i64>,
    pub rules: Option<String>,
    pub last_tx_id: i64,
}

/// Inserts an app row.
pub fn insert_app(conn: &Connection, app: &AppRow) -> Result<(), LocalError> {
    conn.execute(
        "INSERT INTO apps (id, title, admin_token, created_at, ephemeral, expires_at, rules, last_tx_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            app.id.as_bytes().as_slice(),
            app.title,
            app.admin_token,
            app.created_at,
            app.ephemeral as i64,
            app.expires_at,
            app.rules,
            app.last_tx_id
        ],
    )?;
    Ok(())
}

/// Reads all app rows.
pub fn load_apps(conn: &Connection) -> Result<Vec<AppRow>, LocalError> {
    let mut stmt = conn.prepare(
        "SELECT id, title, admin_token, created_at, ephemeral, expires_at, rules, last_tx_id FROM apps",
    )?;
    let rows = stmt.query_map([], |r| {
        let id: Vec<u8> = r.get(0)?;
        Ok(AppRow {
            id: uuid::Uuid::from_slice(&id).unwrap_or_default(),
            title: r.get(1)?,
            admin_token: r.get(2)?,
            created_at: r.get(3)?,
            ephemeral: r.get::<_, i64>(4)? != 0,
            expires_at: r.get(5)?,
            rules: r.get(6)?,
            last_tx_id: r.get(7)?,
        })
    })?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}
