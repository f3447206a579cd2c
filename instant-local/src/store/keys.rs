//! Integer keys for apps and attrs (`app_keys`, `attr_keys`): `triples` rows use
//! them instead of 16-byte ids. The cache here mirrors the two tables; a key missing
//! from it is read back from (or added to) the database, so clearing the cache is
//! always safe.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::LocalError;

/// The key cache.
#[derive(Default)]
pub struct Keys {
    apps: HashMap<Uuid, i64>,
    attrs: HashMap<(i64, Uuid), i64>,
    by_key: HashMap<i64, Uuid>,
}

fn uuid_of(v: &[u8]) -> Result<Uuid, LocalError> {
    Uuid::from_slice(v).map_err(|_| LocalError::Db("corrupt id blob in key table".into()))
}

impl Keys {
    /// Reads both key tables.
    pub fn load(conn: &Connection) -> Result<Keys, LocalError> {
        let mut k = Keys::default();
        let mut stmt = conn.prepare("SELECT key, app_id FROM app_keys")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id = uuid_of(&r.get::<_, Vec<u8>>(1)?)?;
            k.apps.insert(id, r.get(0)?);
        }
        let mut stmt = conn.prepare("SELECT key, app_key, attr_id FROM attr_keys")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id = uuid_of(&r.get::<_, Vec<u8>>(2)?)?;
            let key: i64 = r.get(0)?;
            k.attrs.insert((r.get(1)?, id), key);
            k.by_key.insert(key, id);
        }
        Ok(k)
    }

    /// Drops every cached key (after a failed write that may have rolled back
    /// keys added during it).
    pub fn clear(&mut self) {
        *self = Keys::default();
    }

    /// Drops the cached keys of one app (it was deleted).
    pub fn forget_app(&mut self, app_id: Uuid) {
        if let Some(k) = self.apps.remove(&app_id) {
            self.attrs.retain(|(a, _), _| *a != k);
        }
        self.by_key.clear();
    }

    /// The key of `app_id`, added if new.
    pub fn app(&mut self, conn: &Connection, app_id: Uuid) -> Result<i64, LocalError> {
        if let Some(k) = self.apps.get(&app_id) {
            return Ok(*k);
        }
        let id = app_id.as_bytes().as_slice();
        let found: Option<i64> = conn
            .query_row(
                "SELECT key FROM app_keys WHERE app_id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        let k = match found {
            Some(k) => k,
            None => {
                conn.execute("INSERT INTO app_keys (app_id) VALUES (?1)", params![id])?;
                conn.last_insert_rowid()
            }
        };
        self.apps.insert(app_id, k);
        Ok(k)
    }

    /// The key of attr `attr_id` of the app with key `app`, added if new.
    pub fn attr(&mut self, conn: &Connection, app: i64, attr_id: Uuid) -> Result<i64, LocalError> {
        if let Some(k) = self.attrs.get(&(app, attr_id)) {
            return Ok(*k);
        }
        let id = attr_id.as_bytes().as_slice();
        let found: Option<i64> = conn
            .query_row(
                "SELECT key FROM attr_keys WHERE app_key = ?1 AND attr_id = ?2",
                params![app, id],
                |r| r.get(0),
            )
            .optional()?;
        let k = match found {
            Some(k) => k,
            None => {
                conn.execute(
                    "INSERT INTO attr_keys (app_key, attr_id) VALUES (?1, ?2)",
                    params![app, id],
                )?;
                conn.last_insert_rowid()
            }
        };
        self.attrs.insert((app, attr_id), k);
        self.by_key.insert(k, attr_id);
        Ok(k)
    }

    /// The attr id of attr key `key`, read back from the database if not cached.
    pub fn attr_id(&mut self, conn: &Connection, key: i64) -> Result<Uuid, LocalError> {
        if let Some(id) = self.by_key.get(&key) {
            return Ok(*id);
        }
        let (app, blob): (i64, Vec<u8>) = conn.query_row(
            "SELECT app_key, attr_id FROM attr_keys WHERE key = ?1",
            params![key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let id = uuid_of(&blob)?;
        self.attrs.insert((app, id), key);
        self.by_key.insert(key, id);
        Ok(id)
    }
}
