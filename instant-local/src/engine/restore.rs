//! Restoring an Instant backup into a new app (spec `backup-format.md` §5): the
//! backup's schema becomes attrs, every entity line becomes its `id` triple plus
//! attribute and forward-link triples, all stamped with the line's `createdAt`
//! (so default order and cursors match the source); rules are kept. Everything is
//! written in one SQLite transaction.

use std::path::Path;

use serde_json::Value;

use super::attr::{attrs_from_schema, Attr};
use super::state::AppState;
use super::{now_ms, Engine};
use crate::error::LocalError;
use crate::server::AppCredentials;
use crate::store::sqlite::AppRow;

/// Reads the backup at `path` and loads it into a new app titled `title`.
pub fn restore(engine: &Engine, title: &str, path: &Path) -> Result<AppCredentials, LocalError> {
    let backup = crate::backup::read(path).map_err(|e| LocalError::Backup(e.to_string()))?;
    // The rules go through the same validation as a perms push.
    if let Some(rules) = &backup.rules {
        crate::perms::Permissions::compile_with(rules, &engine.limits)
            .map_err(|e| LocalError::Backup(format!("`rules`: {e}")))?;
    }
    let mut st = AppState::new();
    st.begin();
    for a in attrs_from_schema(&backup.schema) {
        if st.fwd_attr(&a.ns, &a.label).is_none() {
            st.insert_attr(a);
        }
    }
    for e in &backup.entities {
        let ns = e.namespace.as_str();
        let id_attr = match st.id_attr(ns) {
            Some(a) => a.id,
            None => {
                let a = Attr::id_attr(ns);
                let id = a.id;
                st.insert_attr(a);
                id
            }
        };
        let eid = e.id.0;
        let ca = e.created_at_ms;
        st.add_triple(eid, id_attr, Value::String(eid.to_string()), ca);
        let parts = e.split(&backup);
        for (k, v) in parts.attrs {
            if k == "id" {
                continue;
            }
            let aid = match st.fwd_attr(ns, &k) {
                Some(a) => a.id,
                None => {
                    let a = Attr::blob(ns, &k);
                    let id = a.id;
                    st.insert_attr(a);
                    id
                }
            };
            st.add_triple(eid, aid, v, ca);
        }
        for l in parts.links {
            let aid = match st.fwd_attr(ns, &l.label) {
                Some(a) if a.is_ref => a.id,
                _ => {
                    return Err(LocalError::Backup(format!(
                        "link {ns}.{} is not a link in the restored schema",
                        l.label
                    )))
                }
            };
            for t in l.targets {
                st.add_triple(eid, aid, Value::String(t.to_string()), ca);
            }
        }
    }
    let changes = st.commit();
    let row = AppRow {
        id: uuid::Uuid::new_v4(),
        title: title.to_string(),
        admin_token: uuid::Uuid::new_v4().to_string(),
        created_at: now_ms(),
        ephemeral: false,
        expires_at: None,
        rules: backup.rules.as_ref().map(|r| r.to_json().to_string()),
        last_tx_id: 0,
    };
    engine.insert_app_with(row, st, changes)
}
