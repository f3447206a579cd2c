//! The SQLite database: opening and migrating it, the [`Db`] handle (a connection
//! plus the integer-key cache of [`super::keys`]) and the `apps` rows.

use std::ops::{Deref, DerefMut};
use std::path::Path;

use rusqlite::{params, Connection};

use super::keys::Keys;
use crate::error::LocalError;

pub use super::triples::{load_app_state, write_changes, write_changes_in};

/// Tables. Ids are stored as 16-byte blobs. `triples` is keyed like Instant's `ea`
/// index, `(app, entity, attr, value)`, with small integer keys for the app and
/// the attr (`app_keys`, `attr_keys`) so that rows and comparisons stay short;
/// `triples.value` is the JSON text of the value. Lookups by attribute + value and
/// by reverse reference are served by the engine's in-memory `av` and `vae`
/// indexes (see `engine::state`), which are rebuilt from these rows at start-up, so
/// SQLite keeps no secondary index that nothing would read.
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
    forward_ident BLOB NOT NULL,
    forward_ns TEXT NOT NULL,
    forward_label TEXT NOT NULL,
    reverse_ident BLOB,
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
    inferred_types INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS app_keys (
    key INTEGER PRIMARY KEY,
    app_id BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS attr_keys (
    key INTEGER PRIMARY KEY,
    app_key INTEGER NOT NULL,
    attr_id BLOB NOT NULL,
    UNIQUE (app_key, attr_id)
);
CREATE TABLE IF NOT EXISTS triples (
    app_key INTEGER NOT NULL,
    entity_id BLOB NOT NULL,
    attr_key INTEGER NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, entity_id, attr_key, value)
) WITHOUT ROWID;
"#;

/// The layout version written to `PRAGMA user_version` (1: the first layout with
/// blob app/attr ids in `triples` and SQLite `av`/`vae` indexes; 2: integer keys).
pub const LAYOUT_VERSION: i64 = 2;

/// A connection with the key cache of its `app_keys` / `attr_keys` tables. Derefs
/// to the [`Connection`] for plain SQL.
pub struct Db {
    conn: Connection,
    /// Integer keys of apps and attrs.
    pub keys: Keys,
}

impl Deref for Db {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Db {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Db {
    /// Splits into the connection and the key cache (to use both mutably).
    pub fn parts(&mut self) -> (&mut Connection, &mut Keys) {
        (&mut self.conn, &mut self.keys)
    }

    /// Runs `f` in one SQLite transaction, committed when `f` succeeds. On any
    /// error nothing is written and the key cache is cleared (keys added during
    /// the failed transaction were rolled back with it).
    ///
    /// # Errors
    /// `f`'s error, or [`LocalError::Db`] when SQLite cannot begin or commit.
    pub fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&Connection, &mut Keys) -> Result<T, LocalError>,
    ) -> Result<T, LocalError> {
        let Db { conn, keys } = self;
        let res = (|| {
            let tx = conn.transaction()?;
            let out = f(&tx, keys)?;
            tx.commit()?;
            Ok(out)
        })();
        if res.is_err() {
            keys.clear();
        }
        res
    }
}

/// Opens (creating if needed) the database at `path`, or an in-memory one for
/// `None`, migrates it to [`LAYOUT_VERSION`] and loads the key cache.
///
/// # Errors
/// [`LocalError::Db`] when SQLite cannot open, migrate or read the file.
pub fn open(path: Option<&Path>) -> Result<Db, LocalError> {
    let mut conn = match path {
        Some(p) => Connection::open(p)?,
        None => Connection::open_in_memory()?,
    };
    if path.is_some() {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    } else {
        // An in-memory database cannot outlive the process, and every write reaches
        // SQLite only after the transaction was fully validated in memory, so the
        // rollback journal (a copy of each touched page) buys nothing here.
        conn.pragma_update(None, "journal_mode", "OFF")?;
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // 64 MB page cache.
    conn.pragma_update(None, "cache_size", -65536)?;
    super::migrate::migrate(&mut conn, DDL)?;
    let keys = Keys::load(&conn)?;
    Ok(Db { conn, keys })
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

/// Deletes an app's attrs, triples and keys inside the caller's open transaction
/// `tx` (the `apps` row and the per-app tables of other modules are the caller's).
/// Forgetting the cached keys is safe even if `tx` later rolls back: a missing key
/// is read back from the database.
pub fn delete_app_data(
    tx: &Connection,
    keys: &mut Keys,
    app_id: uuid::Uuid,
) -> Result<(), LocalError> {
    let id = app_id.as_bytes().as_slice();
    tx.execute(
        "DELETE FROM triples WHERE app_key = (SELECT key FROM app_keys WHERE app_id = ?1)",
        params![id],
    )?;
    tx.execute(
        "DELETE FROM attr_keys WHERE app_key = (SELECT key FROM app_keys WHERE app_id = ?1)",
        params![id],
    )?;
    tx.execute("DELETE FROM app_keys WHERE app_id = ?1", params![id])?;
    tx.execute("DELETE FROM attrs WHERE app_id = ?1", params![id])?;
    keys.forget_app(app_id);
    Ok(())
}
