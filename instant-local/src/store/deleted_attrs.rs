//! Soft-deleted attributes (`local_deleted_attrs`): what
//! `GET /admin/soft_deleted_attrs` lists.
//!
//! Instant soft-deletes an attribute removed by a `delete-attr` step: the row
//! stays, marked with `deletion_marked_at` and renamed, until a sweeper deletes
//! it for good after the grace period (`server/src/instant/db/model/attr.clj`
//! soft-delete-multi!, `server/src/instant/hard_deletion_sweeper.clj`). The local
//! server removes the attribute and its triples at once (there is no
//! `restore-attr`), and remembers here, in the same SQLite transaction as the
//! removal, the soft-deleted form of each removed attribute
//! ([`crate::engine::attr::Attr::soft_deleted_json`]) and when it was removed.
//! Rows older than the grace period are not listed and are pruned on the next
//! deletion in the app; the app's rows go with the app.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use uuid::Uuid;

use crate::engine::attr::{system_attrs, Attr, SOFT_DELETE_GRACE_PERIOD_DAYS};
use crate::error::LocalError;

/// Creates `local_deleted_attrs` when absent.
const DDL: &str = "CREATE TABLE IF NOT EXISTS local_deleted_attrs (
    app_id BLOB NOT NULL,
    attr_id BLOB NOT NULL,
    deleted_at INTEGER NOT NULL,
    attr TEXT NOT NULL,
    PRIMARY KEY (app_id, attr_id)
) WITHOUT ROWID;";

/// The grace period in milliseconds.
const GRACE_MS: i64 = SOFT_DELETE_GRACE_PERIOD_DAYS * 24 * 60 * 60 * 1000;

/// The `id` attribute of `a`'s namespace: one removed in the same transaction
/// (`removed_id_attrs`), else the stored one, else the system catalog's.
pub fn id_attr_of(
    tx: &Connection,
    app_id: Uuid,
    a: &Attr,
    removed_id_attrs: &[(String, Uuid)],
) -> Result<Option<Uuid>, LocalError> {
    if let Some((_, id)) = removed_id_attrs.iter().find(|(ns, _)| *ns == a.ns) {
        return Ok(Some(*id));
    }
    let stored: Option<Vec<u8>> = tx
        .prepare_cached(
            "SELECT id FROM attrs WHERE app_id = ?1 AND forward_ns = ?2 AND forward_label = 'id' AND reverse_ident IS NULL LIMIT 1",
        )?
        .query_row(params![app_id.as_bytes().as_slice(), a.ns], |r| r.get(0))
        .optional()?;
    if let Some(b) = stored {
        return Ok(Uuid::from_slice(&b).ok());
    }
    Ok(system_attrs()
        .into_iter()
        .find(|s| s.ns == a.ns && s.is_id())
        .map(|s| s.id))
}

/// Remembers that `a` was deleted at `deleted_at` (epoch ms), inside the
/// caller's transaction `tx`; `id_attr` is its namespace's `id` attribute.
/// Prunes the app's rows older than the grace period.
///
/// # Errors
/// [`LocalError::Db`] when SQLite fails.
pub fn record(
    tx: &Connection,
    app_id: Uuid,
    a: &Attr,
    id_attr: Option<Uuid>,
    deleted_at: i64,
) -> Result<(), LocalError> {
    tx.execute_batch(DDL)?;
    let app = app_id.as_bytes().as_slice();
    tx.execute(
        "DELETE FROM local_deleted_attrs WHERE app_id = ?1 AND deleted_at <= ?2",
        params![app, deleted_at - GRACE_MS],
    )?;
    tx.execute(
        "INSERT INTO local_deleted_attrs (app_id, attr_id, deleted_at, attr) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (app_id, attr_id) DO UPDATE SET deleted_at = excluded.deleted_at, attr = excluded.attr",
        params![
            app,
            a.id.as_bytes().as_slice(),
            deleted_at,
            a.soft_deleted_json(id_attr).to_string()
        ],
    )?;
    Ok(())
}

/// The app's attributes soft-deleted within the grace period before `now`
/// (epoch ms), ordered by attr id (the official `ORDER BY id ASC`), each with
/// `deletion-marked-at` (`yyyy-MM-ddTHH:mm:ssZ`, UTC, as Instant encodes SQL
/// timestamps).
///
/// # Errors
/// [`LocalError::Db`] when SQLite fails or a stored row is not JSON.
pub fn list(conn: &Connection, app_id: Uuid, now: i64) -> Result<Vec<Value>, LocalError> {
    conn.execute_batch(DDL)?;
    let mut stmt = conn.prepare(
        "SELECT attr, deleted_at FROM local_deleted_attrs WHERE app_id = ?1 AND deleted_at > ?2 ORDER BY attr_id",
    )?;
    let rows = stmt.query_map(params![app_id.as_bytes().as_slice(), now - GRACE_MS], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (text, at) = row?;
        let mut v: Value = serde_json::from_str(&text)
            .map_err(|e| LocalError::Db(format!("corrupt soft-deleted attr row: {e}")))?;
        let ts = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        v["deletion-marked-at"] = Value::String(ts);
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_past_the_grace_period_are_not_listed_and_are_pruned() {
        let conn = Connection::open_in_memory().unwrap();
        let app = Uuid::new_v4();
        let (old, new) = (Attr::blob("todos", "a"), Attr::blob("todos", "b"));
        let t0 = 1_700_000_000_000;
        record(&conn, app, &old, None, t0).unwrap();
        assert_eq!(list(&conn, app, t0 + GRACE_MS - 1).unwrap().len(), 1);
        assert!(list(&conn, app, t0 + GRACE_MS).unwrap().is_empty());
        record(&conn, app, &new, None, t0 + GRACE_MS).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM local_deleted_attrs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "the expired row was pruned");
        let l = list(&conn, app, t0 + GRACE_MS).unwrap();
        assert_eq!(l[0]["id"], new.id.to_string());
        assert_eq!(l[0]["deletion-marked-at"], "2023-11-16T22:13:20Z");
        assert!(list(&conn, Uuid::new_v4(), t0).unwrap().is_empty());
    }
}
