//! Schema migrations, driven by `PRAGMA user_version`
//! (see [`super::sqlite::LAYOUT_VERSION`]).
//!
//! - 0 → 2: a new database (or one of layout 1, which never set the version):
//!   create the tables; if a layout-1 `triples` table (blob `app_id`/`attr_id`
//!   columns, SQLite `av`/`vae` indexes) is there, its rows are copied into the
//!   integer-keyed table and the old table is dropped; a missing
//!   `attrs.inferred_types` column is added.

use rusqlite::Connection;

use super::sqlite::LAYOUT_VERSION;
use crate::error::LocalError;

fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, LocalError> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if r.get::<_, String>(1)? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Brings the database to [`LAYOUT_VERSION`] in one SQLite transaction; `ddl`
/// creates the current tables (`IF NOT EXISTS`).
///
/// # Errors
/// [`LocalError::Db`] for a database of a newer layout than this build knows, or
/// when SQLite fails.
pub fn migrate(conn: &mut Connection, ddl: &str) -> Result<(), LocalError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > LAYOUT_VERSION {
        return Err(LocalError::Db(format!(
            "the database has layout version {version}; this instant-local reads up to {LAYOUT_VERSION}"
        )));
    }
    if version == LAYOUT_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let layout1 = has_column(&tx, "triples", "app_id")?;
    if layout1 {
        tx.execute_batch(
            "DROP INDEX IF EXISTS triples_av; DROP INDEX IF EXISTS triples_vae;
             ALTER TABLE triples RENAME TO triples_layout1;",
        )?;
    }
    if has_column(&tx, "attrs", "id")? && !has_column(&tx, "attrs", "inferred_types")? {
        tx.execute_batch(
            "ALTER TABLE attrs ADD COLUMN inferred_types INTEGER NOT NULL DEFAULT 0;",
        )?;
    }
    tx.execute_batch(ddl)?;
    if layout1 {
        tx.execute_batch(
            "INSERT OR IGNORE INTO app_keys (app_id) SELECT DISTINCT app_id FROM triples_layout1;
             INSERT OR IGNORE INTO attr_keys (app_key, attr_id)
                 SELECT DISTINCT k.key, t.attr_id FROM triples_layout1 t JOIN app_keys k ON k.app_id = t.app_id;
             INSERT INTO triples (app_key, entity_id, attr_key, value, created_at)
                 SELECT ak.key, t.entity_id, tk.key, t.value, t.created_at
                 FROM triples_layout1 t
                 JOIN app_keys ak ON ak.app_id = t.app_id
                 JOIN attr_keys tk ON tk.app_key = ak.key AND tk.attr_id = t.attr_id;
             DROP TABLE triples_layout1;",
        )?;
    }
    tx.pragma_update(None, "user_version", LAYOUT_VERSION)?;
    tx.commit()?;
    Ok(())
}
