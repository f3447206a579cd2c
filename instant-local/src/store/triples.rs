//! Writing a transaction's changes to the `attrs` and `triples` tables, and
//! loading an app's attrs and triples back into memory.

use rusqlite::{params, Connection};

use super::keys::Keys;
use super::sqlite::Db;
use crate::engine::attr::Attr;
use crate::engine::state::{vkey, AppState, Change};
use crate::error::LocalError;

/// Blob form of a uuid.
fn b(u: &uuid::Uuid) -> &[u8] {
    u.as_bytes().as_slice()
}

fn uuid_of(v: Vec<u8>) -> uuid::Uuid {
    uuid::Uuid::from_slice(&v).unwrap_or_default()
}

/// Writes one transaction's changes (and the app's new tx id) atomically. On
/// failure nothing is written and the key cache is cleared (keys added during the
/// failed transaction were rolled back with it).
///
/// # Errors
/// [`LocalError::Db`] when SQLite fails.
pub fn write_changes(
    db: &mut Db,
    app_id: uuid::Uuid,
    changes: &[Change],
    last_tx_id: i64,
) -> Result<(), LocalError> {
    db.in_transaction(|tx, keys| write_changes_in(tx, keys, app_id, changes, last_tx_id))
}

/// Like [`write_changes`] but inside the caller's open SQLite transaction `tx`
/// (see [`Db::in_transaction`], which clears `keys` if that transaction fails).
pub fn write_changes_in(
    tx: &Connection,
    keys: &mut Keys,
    app_id: uuid::Uuid,
    changes: &[Change],
    last_tx_id: i64,
) -> Result<(), LocalError> {
    let app = keys.app(tx, app_id)?;
    {
        let mut ins = Inserts::new(tx, app);
        let mut del = tx.prepare_cached(
            "DELETE FROM triples WHERE app_key = ?1 AND entity_id = ?2 AND attr_key = ?3 AND value = ?4",
        )?;
        // Write triples in key order (entity, attr) for B-tree locality; the sort is
        // stable, so changes to the same triple keep their order, and attr
        // changes (sorted first) precede the triples that use them.
        let mut ordered: Vec<&Change> = changes.iter().collect();
        ordered.sort_by_key(|c| match c {
            Change::AddAttr(_) | Change::UpdateAttr(..) | Change::Inferred(..) => {
                (0u8, [0u8; 16], [0u8; 16])
            }
            Change::Add(e, a, _) | Change::Remove(e, a, _) => (1, *e.as_bytes(), *a.as_bytes()),
            Change::RemoveAttr(_) => (2, [0u8; 16], [0u8; 16]),
        });
        // `id` attrs removed by this transaction, for the soft-delete snapshot
        // of the other attrs of their namespace (see `deleted_attrs`).
        let removed_id_attrs: Vec<(String, uuid::Uuid)> = changes
            .iter()
            .filter_map(|c| match c {
                Change::RemoveAttr(a) if a.is_id() => Some((a.ns.clone(), a.id)),
                _ => None,
            })
            .collect();
        // The last attr seen, to skip the key lookup for runs of the same attr.
        let mut last: Option<(uuid::Uuid, i64)> = None;
        for c in ordered {
            match c {
                Change::AddAttr(a) | Change::UpdateAttr(_, a) => upsert_attr(tx, app_id, a)?,
                Change::Inferred(a, _, bits) => {
                    tx.prepare_cached(
                        "UPDATE attrs SET inferred_types = ?3 WHERE app_id = ?1 AND id = ?2",
                    )?
                    .execute(params![b(&app_id), b(a), *bits as i64])?;
                }
                Change::RemoveAttr(a) => {
                    ins.flush()?;
                    let id_attr =
                        super::deleted_attrs::id_attr_of(tx, app_id, a, &removed_id_attrs)?;
                    super::deleted_attrs::record(tx, app_id, a, id_attr, crate::engine::now_ms())?;
                    tx.execute(
                        "DELETE FROM attrs WHERE app_id = ?1 AND id = ?2",
                        params![b(&app_id), b(&a.id)],
                    )?;
                }
                Change::Add(e, a, t) | Change::Remove(e, a, t) => {
                    let ak = match last {
                        Some((id, k)) if id == *a => k,
                        _ => {
                            let k = keys.attr(tx, app, *a)?;
                            last = Some((*a, k));
                            k
                        }
                    };
                    if matches!(c, Change::Add(..)) {
                        ins.push(*e, ak, vkey(&t.v), t.ca)?;
                    } else {
                        // Queued inserts go first: they may be of this triple.
                        ins.flush()?;
                        del.execute(params![app, b(e), ak, vkey(&t.v)])?;
                    }
                }
            }
        }
        ins.flush()?;
    }
    tx.prepare_cached("UPDATE apps SET last_tx_id = ?2 WHERE id = ?1")?
        .execute(params![b(&app_id), last_tx_id])?;
    Ok(())
}

/// Rows per multi-row `INSERT` (SQLite runs one statement for many rows faster
/// than one per row; 32 rows x 5 values stays far below the bound-parameter limit).
const ROWS_PER_INSERT: usize = 32;

/// Triple inserts of one app, queued and written [`ROWS_PER_INSERT`] rows per
/// statement, in the order they were pushed.
struct Inserts<'c> {
    tx: &'c Connection,
    app: i64,
    rows: Vec<(uuid::Uuid, i64, String, i64)>,
}

impl<'c> Inserts<'c> {
    fn new(tx: &'c Connection, app: i64) -> Self {
        Inserts {
            tx,
            app,
            rows: Vec::with_capacity(ROWS_PER_INSERT),
        }
    }

    fn push(&mut self, e: uuid::Uuid, attr: i64, value: String, ca: i64) -> Result<(), LocalError> {
        self.rows.push((e, attr, value, ca));
        if self.rows.len() == ROWS_PER_INSERT {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the queued rows.
    fn flush(&mut self) -> Result<(), LocalError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.rows.len();
        let mut sql = String::from(
            "INSERT OR REPLACE INTO triples (app_key, entity_id, attr_key, value, created_at) VALUES ",
        );
        for i in 0..n {
            sql.push_str(if i == 0 {
                "(?,?,?,?,?)"
            } else {
                ",(?,?,?,?,?)"
            });
        }
        let mut stmt = self.tx.prepare_cached(&sql)?;
        for (i, (e, a, v, ca)) in self.rows.iter().enumerate() {
            let at = i * 5;
            stmt.raw_bind_parameter(at + 1, self.app)?;
            stmt.raw_bind_parameter(at + 2, b(e))?;
            stmt.raw_bind_parameter(at + 3, *a)?;
            stmt.raw_bind_parameter(at + 4, v.as_str())?;
            stmt.raw_bind_parameter(at + 5, *ca)?;
        }
        stmt.raw_execute()?;
        self.rows.clear();
        Ok(())
    }
}

fn upsert_attr(conn: &Connection, app_id: uuid::Uuid, a: &Attr) -> Result<(), LocalError> {
    if a.system {
        return Ok(());
    }
    let (rid, rns, rl) = match &a.rev {
        Some((i, n, l)) => (
            Some(i.as_bytes().to_vec()),
            Some(n.clone()),
            Some(l.clone()),
        ),
        None => (None, None, None),
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO attrs (app_id, id, forward_ident, forward_ns, forward_label, reverse_ident, reverse_ns, reverse_label, value_type, cardinality, is_unique, is_indexed, is_required, checked_data_type, on_delete, on_delete_reverse, inferred_types) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        b(&app_id),
        b(&a.id),
        b(&a.fwd_ident),
        a.ns,
        a.label,
        rid,
        rns,
        rl,
        if a.is_ref { "ref" } else { "blob" },
        if a.many { "many" } else { "one" },
        a.unique as i64,
        a.indexed as i64,
        a.required as i64,
        a.checked.map(|t| t.as_str()),
        a.on_delete.then_some("cascade"),
        a.on_delete_reverse.then_some("cascade"),
        a.inferred as i64,
    ])?;
    Ok(())
}

/// Loads one app's attrs and triples into a fresh state.
///
/// # Errors
/// [`LocalError::Db`] when SQLite fails or a stored value is not JSON.
pub fn load_app_state(db: &mut Db, app_id: uuid::Uuid) -> Result<AppState, LocalError> {
    let mut st = AppState::new();
    let (conn, keys) = db.parts();
    let mut stmt = conn.prepare(
        "SELECT id, forward_ident, forward_ns, forward_label, reverse_ident, reverse_ns, reverse_label, value_type, cardinality, is_unique, is_indexed, is_required, checked_data_type, on_delete, on_delete_reverse, inferred_types FROM attrs WHERE app_id = ?1",
    )?;
    let rows = stmt.query_map(params![b(&app_id)], |r| {
        let rid: Option<Vec<u8>> = r.get(4)?;
        let rns: Option<String> = r.get(5)?;
        let rl: Option<String> = r.get(6)?;
        let checked: Option<String> = r.get(12)?;
        Ok(Attr {
            id: uuid_of(r.get(0)?),
            fwd_ident: uuid_of(r.get(1)?),
            ns: r.get(2)?,
            label: r.get(3)?,
            rev: match (rid, rns, rl) {
                (Some(i), Some(n), Some(l)) => Some((uuid_of(i), n, l)),
                _ => None,
            },
            is_ref: r.get::<_, String>(7)? == "ref",
            many: r.get::<_, String>(8)? == "many",
            unique: r.get::<_, i64>(9)? != 0,
            indexed: r.get::<_, i64>(10)? != 0,
            required: r.get::<_, i64>(11)? != 0,
            checked: checked.as_deref().and_then(instant_core::ValueType::parse),
            on_delete: r.get::<_, Option<String>>(13)?.is_some(),
            on_delete_reverse: r.get::<_, Option<String>>(14)?.is_some(),
            system: false,
            inferred: r.get::<_, i64>(15)? as u8,
        })
    })?;
    for a in rows {
        st.insert_attr(a?);
    }
    drop(stmt);
    let app = keys.app(conn, app_id)?;
    let mut stmt = conn
        .prepare("SELECT entity_id, attr_key, value, created_at FROM triples WHERE app_key = ?1")?;
    let mut rows = stmt.query(params![app])?;
    while let Some(r) = rows.next()? {
        let e = uuid_of(r.get(0)?);
        let a = keys.attr_id(conn, r.get(1)?)?;
        let text: String = r.get(2)?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|err| LocalError::Db(format!("corrupt triple value: {err}")))?;
        st.add_triple(e, a, v, r.get(3)?);
    }
    Ok(st)
}
