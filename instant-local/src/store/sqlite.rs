//! The SQLite database: schema migration and the row-level reads and writes.

use std::path::Path;

use rusqlite::{params, Connection};

use crate::engine::attr::Attr;
use crate::engine::state::{vkey, AppState, Change};
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
    } else {
        // An in-memory database cannot outlive the process, and every write reaches
        // SQLite only after the transaction was fully validated in memory, so the
        // rollback journal (a copy of each touched page) buys nothing here.
        conn.pragma_update(None, "journal_mode", "OFF")?;
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // 64 MB page cache.
    conn.pragma_update(None, "cache_size", -65536)?;
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

/// Blob form of a uuid.
fn b(u: &uuid::Uuid) -> &[u8] {
    u.as_bytes().as_slice()
}

fn uuid_of(v: Vec<u8>) -> uuid::Uuid {
    uuid::Uuid::from_slice(&v).unwrap_or_default()
}

/// Writes one transaction's changes (and the app's new tx id) atomically.
pub fn write_changes(
    conn: &mut Connection,
    app_id: uuid::Uuid,
    changes: &[Change],
    attrs: &std::collections::HashMap<uuid::Uuid, Attr>,
    last_tx_id: i64,
) -> Result<(), LocalError> {
    let tx = conn.transaction()?;
    write_changes_in(&tx, app_id, changes, attrs, last_tx_id)?;
    tx.commit()?;
    Ok(())
}

/// Like [`write_changes`] but inside the caller's open SQLite transaction.
pub fn write_changes_in(
    tx: &Connection,
    app_id: uuid::Uuid,
    changes: &[Change],
    attrs: &std::collections::HashMap<uuid::Uuid, Attr>,
    last_tx_id: i64,
) -> Result<(), LocalError> {
    {
        let mut ins = tx.prepare_cached(
            "INSERT OR REPLACE INTO triples (app_id, entity_id, attr_id, value, value_ref, av, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut del = tx.prepare_cached(
            "DELETE FROM triples WHERE app_id = ?1 AND entity_id = ?2 AND attr_id = ?3 AND value = ?4",
        )?;
        let mut attr_flags: std::collections::HashMap<uuid::Uuid, (bool, bool)> =
            Default::default();
        // Write triples in key order (entity, attr) for B-tree locality; the sort is
        // stable, so changes to the same triple keep their order, and attr
        // changes (sorted first) precede the triples that use them.
        let mut ordered: Vec<&Change> = changes.iter().collect();
        ordered.sort_by_key(|c| match c {
            Change::AddAttr(_) | Change::UpdateAttr(..) => (0u8, [0u8; 16], [0u8; 16]),
            Change::Add(e, a, _) | Change::Remove(e, a, _) => (1, *e.as_bytes(), *a.as_bytes()),
            Change::RemoveAttr(_) => (2, [0u8; 16], [0u8; 16]),
        });
        for c in ordered {
            match c {
                Change::AddAttr(a) | Change::UpdateAttr(_, a) => {
                    attr_flags.insert(a.id, (a.is_ref, a.unique || a.indexed));
                    upsert_attr(tx, app_id, a)?;
                }
                Change::RemoveAttr(a) => {
                    tx.execute(
                        "DELETE FROM attrs WHERE app_id = ?1 AND id = ?2",
                        params![b(&app_id), b(&a.id)],
                    )?;
                }
                Change::Add(e, a, t) => {
                    let (is_ref, av) = attr_flags
                        .get(a)
                        .copied()
                        .or_else(|| attrs.get(a).map(|x| (x.is_ref, x.unique || x.indexed)))
                        .unwrap_or((false, false));
                    let vref = if is_ref {
                        crate::engine::state::ref_id(&t.v).map(|u| u.as_bytes().to_vec())
                    } else {
                        None
                    };
                    ins.execute(params![
                        b(&app_id),
                        b(e),
                        b(a),
                        vkey(&t.v),
                        vref,
                        av as i64,
                        t.ca
                    ])?;
                }
                Change::Remove(e, a, t) => {
                    del.execute(params![b(&app_id), b(e), b(a), vkey(&t.v)])?;
                }
            }
        }
    }
    tx.execute(
        "UPDATE apps SET last_tx_id = ?2 WHERE id = ?1",
        params![b(&app_id), last_tx_id],
    )?;
    Ok(())
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
    conn.execute(
        "INSERT OR REPLACE INTO attrs (app_id, id, forward_ident, forward_ns, forward_label, reverse_ident, reverse_ns, reverse_label, value_type, cardinality, is_unique, is_indexed, is_required, checked_data_type, on_delete, on_delete_reverse) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
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
        ],
    )?;
    Ok(())
}

/// Loads one app's attrs and triples into a fresh state.
pub fn load_app_state(conn: &Connection, app_id: uuid::Uuid) -> Result<AppState, LocalError> {
    let mut st = AppState::new();
    let mut stmt = conn.prepare(
        "SELECT id, forward_ident, forward_ns, forward_label, reverse_ident, reverse_ns, reverse_label, value_type, cardinality, is_unique, is_indexed, is_required, checked_data_type, on_delete, on_delete_reverse FROM attrs WHERE app_id = ?1",
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
            inferred: 0,
        })
    })?;
    for a in rows {
        st.insert_attr(a?);
    }
    let mut stmt = conn
        .prepare("SELECT entity_id, attr_id, value, created_at FROM triples WHERE app_id = ?1")?;
    let rows = stmt.query_map(params![b(&app_id)], |r| {
        Ok((
            uuid_of(r.get(0)?),
            uuid_of(r.get(1)?),
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (e, a, v, ca) = row?;
        let v: serde_json::Value = serde_json::from_str(&v)
            .map_err(|err| LocalError::Db(format!("corrupt triple value: {err}")))?;
        st.add_triple(e, a, v, ca);
    }
    Ok(st)
}
