//! `$files` on the engine (spec `admin-http.md` §7, `instaql.md` §10.2): the
//! blob store and URL signer of a server, writing `$files` rows for uploads,
//! deleting them (rows and blobs), and the `url` computed at query time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use instant_core::{ApiError, EntityRef, Id, Step};
use serde_json::{json, Value};
use uuid::Uuid;

use super::query::plan::resolve_link;
use super::state::AppState;
use super::{now_ms, App, Engine};
use crate::files::{default_expiry, FileError, FileStore, UrlSigner, MAX_UPLOAD_BYTES};

/// A blob written to the store whose `$files` row is not written yet
/// ([`Engine::record_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its location id.
    pub location: String,
    /// Its size, in bytes.
    pub size: u64,
}

/// The blob store, URL signer and upload limit of a server.
pub struct Storage {
    /// Blob bytes by (app, location id).
    pub store: FileStore,
    /// Signs `$files.url` links.
    pub signer: UrlSigner,
    max_upload: AtomicU64,
}

impl Storage {
    /// In memory (in-memory database) or next to the database file.
    ///
    /// # Errors
    /// I/O errors creating the blob folder or the signing key file.
    pub fn open(db_path: Option<&std::path::Path>) -> Result<Storage, FileError> {
        let (store, signer) = match db_path {
            None => (FileStore::in_memory(), UrlSigner::random()),
            Some(p) => {
                let store = FileStore::next_to_database(p)?;
                let key = FileStore::dir_for_database(p).join("url-signing.key");
                (
                    store,
                    UrlSigner::load_or_create(&key).map_err(FileError::Io)?,
                )
            }
        };
        Ok(Storage {
            store,
            signer,
            max_upload: AtomicU64::new(MAX_UPLOAD_BYTES),
        })
    }

    /// Sets the largest accepted upload, in bytes.
    pub fn set_max_upload(&self, bytes: u64) {
        self.max_upload.store(bytes, Ordering::Relaxed);
    }

    /// The largest accepted upload, in bytes.
    pub fn max_upload(&self) -> u64 {
        self.max_upload.load(Ordering::Relaxed)
    }

    /// Fails with `validation-failed` ("File is too large") above the limit.
    pub fn check_size(&self, size: u64) -> Result<(), ApiError> {
        let limit = self.max_upload();
        if size > limit {
            return Err(FileError::TooLarge { size, limit }.to_api_error());
        }
        Ok(())
    }
}

/// One message from the reader of an upload to its blob writer.
enum Chunk {
    Data(bytes::Bytes),
    End,
}

impl Engine {
    /// Streams `body` (the chunks of an upload) into a new blob of app `app_id`, never holding more
    /// than a few chunks of it in memory (a disk store writes them to a
    /// temporary file on a blocking thread), and stops reading as soon as it
    /// passes [`Storage::max_upload`]. Nothing is stored when it fails.
    ///
    /// # Errors
    /// `validation-failed` ("File is too large") past the limit; the body's
    /// own error (`validation-failed`, data type `body`) when it cannot be
    /// read to its end (a client gone, the body-read timeout); `internal` on
    /// I/O errors.
    pub async fn receive_upload<E: std::fmt::Display>(
        self: &Arc<Self>,
        app_id: Id,
        mut stream: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    ) -> Result<StoredBlob, ApiError> {
        use futures::StreamExt;
        let limit = self.storage.max_upload();
        let location = FileStore::new_location_id();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
        let engine = self.clone();
        let loc = location.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = engine.storage.store.writer(app_id, &loc)?;
            while let Some(msg) = rx.blocking_recv() {
                match msg {
                    Chunk::Data(b) => w.write_chunk(&b)?,
                    Chunk::End => return w.commit().map(Some),
                }
            }
            // The reader gave up: nothing is stored.
            Ok::<_, FileError>(None)
        });
        let mut size: u64 = 0;
        let read: Result<(), ApiError> = loop {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    size = size.saturating_add(chunk.len() as u64);
                    if size > limit {
                        break Err(FileError::TooLarge { size, limit }.to_api_error());
                    }
                    if tx.send(Chunk::Data(chunk)).await.is_err() {
                        break Ok(()); // the writer failed: its error follows
                    }
                }
                Some(Err(e)) => {
                    break Err(ApiError::validation(
                        "body",
                        Value::Null,
                        vec![json!({"message": format!("The upload could not be read: {e}")})],
                    ))
                }
                None => {
                    let _ = tx.send(Chunk::End).await;
                    break Ok(());
                }
            }
        };
        drop(tx);
        let written = writer
            .await
            .map_err(crate::http::errors::internal)?
            .map_err(|e| e.to_api_error())?;
        read?;
        match written {
            Some(size) => Ok(StoredBlob { location, size }),
            None => Err(crate::http::errors::internal("upload writer ended early")),
        }
    }
}

fn attr_id(st: &AppState, label: &str) -> Result<Uuid, ApiError> {
    st.fwd_attr("$files", label)
        .map(|a| a.id)
        .ok_or_else(|| crate::http::errors::internal(format!("missing $files.{label}")))
}

/// The `$files` entity with this path.
pub fn file_by_path(st: &AppState, path: &str) -> Option<Uuid> {
    let a = st.fwd_attr("$files", "path")?;
    st.lookup_av(a.id, &json!(path)).first().copied()
}

/// A `$files` row's location id.
pub fn location_of(st: &AppState, e: Uuid) -> Option<String> {
    let a = st.fwd_attr("$files", "location-id")?;
    st.value(e, a.id)
        .and_then(|t| t.v.as_str().map(str::to_string))
}

impl Engine {
    /// Applies `f` to the app state as one committed, persisted change set
    /// (system writes that bypass InstaML validation, e.g. `$files` columns).
    fn apply_direct<T>(
        &self,
        app: &Arc<App>,
        f: impl FnOnce(&mut AppState) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let (out, tx_id, topics) = {
            let mut st = app.state.write();
            st.begin();
            let out = match f(&mut st) {
                Ok(o) => o,
                Err(e) => {
                    st.rollback();
                    return Err(e);
                }
            };
            let (tx_id, topics) = self.commit(app, st)?;
            (out, tx_id, topics)
        };
        app.subs.notify(app, tx_id, topics, self);
        Ok(out)
    }

    /// Writes the `$files` row of a blob already in the store (`file`) at
    /// `path`, replacing the file there (same `$files` id; the old blob is
    /// deleted), and returns `{"id","location-id","size"}`. On failure the
    /// new blob is deleted.
    ///
    /// # Errors
    /// `internal` when the `$files` attrs are missing or the write fails.
    pub fn record_file(
        &self,
        app: &Arc<App>,
        path: &str,
        file: StoredBlob,
        content_type: Option<&str>,
        content_disposition: Option<&str>,
    ) -> Result<Value, ApiError> {
        let app_id = Id(app.id());
        let StoredBlob { location, size } = file;
        let now = now_ms();
        let res = self.apply_direct(app, |st| {
            let old = file_by_path(st, path);
            let old_loc = old.and_then(|e| location_of(st, e));
            let e = old.unwrap_or_else(Uuid::new_v4);
            let set = |st: &mut AppState, label: &str, v: Value| -> Result<(), ApiError> {
                let a = attr_id(st, label)?;
                st.set_one(e, a, v, now);
                Ok(())
            };
            set(st, "id", json!(e.to_string()))?;
            set(st, "path", json!(path))?;
            set(st, "size", json!(size))?;
            set(
                st,
                "content-type",
                json!(content_type.unwrap_or("application/octet-stream")),
            )?;
            if let Some(cd) = content_disposition {
                set(st, "content-disposition", json!(cd))?;
            }
            set(st, "location-id", json!(location))?;
            set(st, "key-version", json!(1))?;
            Ok((e, old_loc))
        });
        match res {
            Ok((e, old_loc)) => {
                if let Some(l) = old_loc {
                    let _ = self.storage.store.delete(app_id, &l);
                }
                Ok(json!({"id": e.to_string(), "location-id": location, "size": size}))
            }
            Err(err) => {
                let _ = self.storage.store.delete(app_id, &location);
                Err(err)
            }
        }
    }

    /// Deletes the `$files` rows with these paths and their blobs; returns
    /// the deleted ids (`None` for a path with no file). `guard` checks
    /// permissions for impersonated requests.
    ///
    /// # Errors
    /// Those of the guard (`permission-denied`); `internal` on database errors.
    pub fn delete_files(
        &self,
        app: &Arc<App>,
        paths: &[String],
        guard: Option<&super::TxGuard<'_>>,
    ) -> Result<Vec<Option<Uuid>>, ApiError> {
        let steps: Vec<Value> = paths
            .iter()
            .map(|p| json!(["delete", "$files", ["path", p]]))
            .collect();
        let ids: Vec<Option<Uuid>> = {
            let st = app.state.read();
            paths.iter().map(|p| file_by_path(&st, p)).collect()
        };
        let locs = {
            let st = app.state.read();
            ids.iter()
                .flatten()
                .filter_map(|e| location_of(&st, *e))
                .collect::<Vec<_>>()
        };
        let live: Vec<Value> = steps
            .into_iter()
            .zip(&ids)
            .filter(|(_, id)| id.is_some())
            .map(|(s, _)| s)
            .collect();
        if !live.is_empty() {
            self.transact_guarded(app, &Value::Array(live), false, guard)?;
        }
        self.gc_blobs(app, locs);
        Ok(ids)
    }

    /// Deletes the blobs of these location ids that no `$files` row uses.
    pub fn gc_blobs(&self, app: &App, locations: Vec<String>) {
        let st = app.state.read();
        let Some(a) = st.fwd_attr("$files", "location-id") else {
            return;
        };
        for l in locations {
            if st.lookup_av(a.id, &json!(l)).is_empty() {
                let _ = self.storage.store.delete(Id(app.id()), &l);
            }
        }
    }
}

/// Location ids of the `$files` rows that `steps` delete (so their blobs can
/// be removed after the transaction commits).
pub fn locations_deleted_by(st: &AppState, steps: &[Step]) -> Vec<String> {
    let mut out = Vec::new();
    for s in steps {
        if let Step::Delete { ns, entity } = s {
            if ns != "$files" {
                continue;
            }
            let e = match entity {
                EntityRef::Id(id) => Some(id.0),
                EntityRef::Lookup(l) => st
                    .fwd_attr("$files", l.attr())
                    .and_then(|a| st.lookup_av(a.id, l.value()).first().copied()),
            };
            if let Some(l) = e.and_then(|e| location_of(st, e)) {
                out.push(l);
            }
        }
    }
    out
}

/// Adds the signed `url` to every `$files` row of a query result (top level
/// and nested links); `base` is the server's origin, e.g. `http://127.0.0.1:8888`.
pub fn add_file_urls(
    st: &AppState,
    storage: &Storage,
    app_id: Id,
    base: &str,
    query: &Value,
    result: &mut Value,
) {
    // `url` is computed only when the level's `fields` is absent or names `url`
    // (instaql.md §7).
    fn wants_url(node: Option<&Value>) -> bool {
        match node
            .and_then(|n| n.get("$"))
            .and_then(|o| o.get("fields"))
            .and_then(Value::as_array)
        {
            None => true,
            Some(f) => f.iter().any(|x| x == "url"),
        }
    }
    fn walk(
        st: &AppState,
        s: &Storage,
        app: Id,
        base: &str,
        ns: &str,
        node: Option<&Value>,
        v: &mut Value,
    ) {
        match v {
            Value::Array(a) => {
                for x in a {
                    walk(st, s, app, base, ns, node, x);
                }
            }
            Value::Object(m) => {
                if ns == "$files" && wants_url(node) {
                    let loc = m
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|i| Uuid::parse_str(i).ok())
                        .and_then(|e| location_of(st, e));
                    if let Some(loc) = loc {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs())
                            .unwrap_or(0);
                        let route = format!("{base}{}", crate::files::SIGNED_DOWNLOAD_ROUTE);
                        let url = s.signer.sign(&route, app, &loc, default_expiry(now));
                        m.insert("url".into(), json!(url));
                    }
                }
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    if let Some((_, _, next)) =
                        resolve_link(st, ns, &k).filter(|(a, _, _)| a.is_ref)
                    {
                        if let Some(c) = m.get_mut(&k) {
                            walk(st, s, app, base, &next, node.and_then(|n| n.get(&k)), c);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if let Value::Object(m) = result {
        for (ns, v) in m.iter_mut() {
            walk(st, storage, app_id, base, ns, query.get(ns), v);
        }
    }
}
