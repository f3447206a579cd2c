//! Where file bytes live.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use instant_core::Id;

use super::location::validate_location_id;
use super::FileError;

/// Default upload limit: 1 GiB. The official server's snapshot we read
/// (`server/src/instant/storage/*.clj`) states no cap of its own (S3 takes
/// up to 5 GB in one PUT); a local server keeps a bound so that a runaway
/// upload cannot fill the disk. Change it with [`FileStore::with_max_size`].
pub const MAX_UPLOAD_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Debug)]
enum Backend {
    Disk(PathBuf),
    Memory(RwLock<HashMap<(Id, String), Vec<u8>>>),
}

/// File bytes keyed by app id + location id (Instant's S3 object key
/// `<app-id>/<bin>/<location-id>`, `->object-key` in `storage/s3.clj`).
///
/// On disk the layout is `<dir>/<app id>/<location id>`; writes go to a
/// temporary file first and are renamed into place, so a reader never sees a
/// half-written file. Location ids are validated
/// ([`validate_location_id`](super::validate_location_id)), so no id can
/// name a path outside the directory.
#[derive(Debug)]
pub struct FileStore {
    backend: Backend,
    max_size: u64,
}

impl FileStore {
    /// A store keeping bytes in memory (for in-memory servers).
    pub fn in_memory() -> Self {
        FileStore {
            backend: Backend::Memory(RwLock::new(HashMap::new())),
            max_size: MAX_UPLOAD_BYTES,
        }
    }

    /// A store keeping bytes under `dir` (created if missing).
    ///
    /// # Errors
    /// [`FileError::Io`] if the directory cannot be created.
    pub fn on_disk(dir: impl Into<PathBuf>) -> Result<Self, FileError> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(FileStore {
            backend: Backend::Disk(dir),
            max_size: MAX_UPLOAD_BYTES,
        })
    }

    /// The directory used for the SQLite database at `db_path`:
    /// `<db_path>.files` (e.g. `app.db` → `app.db.files`).
    pub fn dir_for_database(db_path: &Path) -> PathBuf {
        let mut name = db_path.as_os_str().to_owned();
        name.push(".files");
        PathBuf::from(name)
    }

    /// A disk store in [`FileStore::dir_for_database`]`(db_path)`.
    ///
    /// # Errors
    /// [`FileError::Io`] if the directory cannot be created.
    pub fn next_to_database(db_path: &Path) -> Result<Self, FileError> {
        FileStore::on_disk(FileStore::dir_for_database(db_path))
    }

    /// Sets the upload limit in bytes.
    pub fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// The upload limit in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// The directory of a disk store (`None` in memory).
    pub fn dir(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Disk(d) => Some(d),
            Backend::Memory(_) => None,
        }
    }

    /// A fresh location id (a random UUID, as current Instant servers use).
    pub fn new_location_id() -> String {
        Id::new().to_string()
    }

    /// Fails with [`FileError::TooLarge`] if `size` exceeds the limit; call
    /// it with a request's `content-length` before reading the body.
    ///
    /// # Errors
    /// [`FileError::TooLarge`].
    pub fn check_size(&self, size: u64) -> Result<(), FileError> {
        if size > self.max_size {
            Err(FileError::TooLarge {
                size,
                limit: self.max_size,
            })
        } else {
            Ok(())
        }
    }

    /// Stores `bytes` under (`app_id`, `location_id`), replacing any previous
    /// content, and returns the size in bytes.
    ///
    /// # Errors
    /// [`FileError::InvalidLocationId`], [`FileError::TooLarge`],
    /// [`FileError::Io`].
    pub fn put(&self, app_id: Id, location_id: &str, bytes: &[u8]) -> Result<u64, FileError> {
        validate_location_id(location_id)?;
        self.check_size(bytes.len() as u64)?;
        self.write(app_id, location_id, |w| {
            w.write_all(bytes).map(|_| bytes.len() as u64)
        })
    }

    /// Stores what `reader` yields, stopping with [`FileError::TooLarge`] as
    /// soon as it passes the limit (nothing is stored then). Returns the size.
    ///
    /// # Errors
    /// [`FileError::InvalidLocationId`], [`FileError::TooLarge`],
    /// [`FileError::Io`].
    pub fn put_reader(
        &self,
        app_id: Id,
        location_id: &str,
        reader: impl Read,
    ) -> Result<u64, FileError> {
        validate_location_id(location_id)?;
        // Read at most one byte past the limit: enough to know it was passed.
        let mut limited = reader.take(self.max_size.saturating_add(1));
        let mut buf = Vec::new();
        limited.read_to_end(&mut buf)?;
        self.check_size(buf.len() as u64)?;
        self.write(app_id, location_id, |w| {
            w.write_all(&buf).map(|_| buf.len() as u64)
        })
    }

    /// Starts storing a blob under (`app_id`, `location_id`) chunk by chunk
    /// ([`BlobWriter::write_chunk`]), so an upload never has to be held in
    /// memory whole (on disk it goes to a temporary file renamed into place by
    /// [`BlobWriter::commit`]; dropped uncommitted, nothing is stored). The
    /// store's limit is enforced on every chunk.
    ///
    /// # Errors
    /// [`FileError::InvalidLocationId`], [`FileError::Io`].
    pub fn writer(&self, app_id: Id, location_id: &str) -> Result<BlobWriter<'_>, FileError> {
        validate_location_id(location_id)?;
        let sink = match &self.backend {
            Backend::Memory(_) => Sink::Memory(Vec::new()),
            Backend::Disk(dir) => {
                let app_dir = dir.join(app_id.to_string());
                fs::create_dir_all(&app_dir)?;
                let tmp = app_dir.join(format!(".tmp-{}", Id::new()));
                let file = fs::File::create(&tmp)?;
                Sink::Disk {
                    file: std::io::BufWriter::new(file),
                    tmp,
                    dest: app_dir.join(location_id),
                }
            }
        };
        Ok(BlobWriter {
            store: self,
            app_id,
            location_id: location_id.to_owned(),
            sink: Some(sink),
            size: 0,
        })
    }

    fn write(
        &self,
        app_id: Id,
        location_id: &str,
        body: impl FnOnce(&mut dyn Write) -> std::io::Result<u64>,
    ) -> Result<u64, FileError> {
        match &self.backend {
            Backend::Memory(m) => {
                let mut buf = Vec::new();
                let n = body(&mut buf)?;
                let mut map = m.write().unwrap_or_else(|e| e.into_inner());
                map.insert((app_id, location_id.to_owned()), buf);
                Ok(n)
            }
            Backend::Disk(dir) => {
                let app_dir = dir.join(app_id.to_string());
                fs::create_dir_all(&app_dir)?;
                let tmp = app_dir.join(format!(".tmp-{}", Id::new()));
                let result = (|| {
                    let mut f = fs::File::create(&tmp)?;
                    let n = body(&mut f)?;
                    f.sync_all()?;
                    fs::rename(&tmp, app_dir.join(location_id))?;
                    Ok::<u64, std::io::Error>(n)
                })();
                if result.is_err() {
                    let _ = fs::remove_file(&tmp);
                }
                Ok(result?)
            }
        }
    }

    /// The bytes stored under (`app_id`, `location_id`), `None` if there are
    /// none.
    ///
    /// # Errors
    /// [`FileError::InvalidLocationId`], [`FileError::Io`].
    pub fn get(&self, app_id: Id, location_id: &str) -> Result<Option<Vec<u8>>, FileError> {
        validate_location_id(location_id)?;
        match &self.backend {
            Backend::Memory(m) => {
                let map = m.read().unwrap_or_else(|e| e.into_inner());
                Ok(map.get(&(app_id, location_id.to_owned())).cloned())
            }
            Backend::Disk(dir) => match fs::read(dir.join(app_id.to_string()).join(location_id)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Deletes the bytes under (`app_id`, `location_id`); `true` if there were
    /// any.
    ///
    /// # Errors
    /// [`FileError::InvalidLocationId`], [`FileError::Io`].
    pub fn delete(&self, app_id: Id, location_id: &str) -> Result<bool, FileError> {
        validate_location_id(location_id)?;
        match &self.backend {
            Backend::Memory(m) => {
                let mut map = m.write().unwrap_or_else(|e| e.into_inner());
                Ok(map.remove(&(app_id, location_id.to_owned())).is_some())
            }
            Backend::Disk(dir) => {
                match fs::remove_file(dir.join(app_id.to_string()).join(location_id)) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Deletes every file of `app_id` (when an app is deleted).
    ///
    /// # Errors
    /// [`FileError::Io`].
    pub fn delete_app(&self, app_id: Id) -> Result<(), FileError> {
        match &self.backend {
            Backend::Memory(m) => {
                let mut map = m.write().unwrap_or_else(|e| e.into_inner());
                map.retain(|(a, _), _| *a != app_id);
                Ok(())
            }
            Backend::Disk(dir) => match fs::remove_dir_all(dir.join(app_id.to_string())) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
        }
    }
}

enum Sink {
    Memory(Vec<u8>),
    Disk {
        file: std::io::BufWriter<fs::File>,
        tmp: PathBuf,
        dest: PathBuf,
    },
}

/// A blob being stored chunk by chunk ([`FileStore::writer`]).
pub struct BlobWriter<'a> {
    store: &'a FileStore,
    app_id: Id,
    location_id: String,
    sink: Option<Sink>,
    size: u64,
}

impl std::fmt::Debug for BlobWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("location_id", &self.location_id)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl BlobWriter<'_> {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `chunk`.
    ///
    /// # Errors
    /// [`FileError::TooLarge`] as soon as the blob passes the store's limit
    /// (the caller should stop reading then), [`FileError::Io`].
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), FileError> {
        let size = self.size.saturating_add(chunk.len() as u64);
        self.store.check_size(size)?;
        match self.sink.as_mut() {
            Some(Sink::Memory(buf)) => buf.extend_from_slice(chunk),
            Some(Sink::Disk { file, .. }) => file.write_all(chunk)?,
            None => return Err(FileError::Io(std::io::Error::other("writer closed"))),
        }
        self.size = size;
        Ok(())
    }

    /// Stores the blob (on disk: flushed, synced and renamed into place) and
    /// returns its size.
    ///
    /// # Errors
    /// [`FileError::Io`].
    pub fn commit(mut self) -> Result<u64, FileError> {
        match (self.sink.take(), &self.store.backend) {
            (Some(Sink::Memory(buf)), Backend::Memory(m)) => {
                let mut map = m.write().unwrap_or_else(|e| e.into_inner());
                map.insert((self.app_id, self.location_id.clone()), buf);
            }
            (Some(Sink::Disk { file, tmp, dest }), _) => {
                let done = (|| {
                    let f = file.into_inner().map_err(|e| e.into_error())?;
                    f.sync_all()?;
                    fs::rename(&tmp, &dest)
                })();
                if let Err(e) = done {
                    let _ = fs::remove_file(&tmp);
                    return Err(e.into());
                }
            }
            _ => return Err(FileError::Io(std::io::Error::other("writer closed"))),
        }
        Ok(self.size)
    }
}

impl Drop for BlobWriter<'_> {
    fn drop(&mut self) {
        if let Some(Sink::Disk { tmp, .. }) = self.sink.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}
