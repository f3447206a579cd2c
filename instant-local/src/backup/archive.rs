//! Uniform access to the two shapes a backup comes in: the zip a user downloads
//! (`instant-backup-<ts>.zip`) or the folder `unzip` makes of it.
//!
//! Entry names are always the archive-relative names of backup-format.md §1.2
//! (`config.json`, `entities/<ns>.jsonl`, `files/<locationId>`).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::BackupError;

/// An opened backup: zip (read through its central directory, so zip64 and data
/// descriptors work) or unpacked folder.
pub(crate) enum Archive {
    /// A zip file; `prefix` is a single top-level folder the backup sits in
    /// (empty when `config.json` is at the root).
    Zip {
        path: PathBuf,
        zip: zip::ZipArchive<BufReader<File>>,
        prefix: String,
    },
    /// An unpacked folder.
    Dir { root: PathBuf },
}

/// Entries the official archive never contains but zip tools add; skipped.
fn is_junk(name: &str) -> bool {
    name.ends_with('/')
        || name.starts_with("__MACOSX/")
        || name.rsplit('/').next().is_some_and(|f| f == ".DS_Store")
}

impl Archive {
    /// Opens `path` as a folder or a zip file.
    pub(crate) fn open(path: &Path) -> Result<Self, BackupError> {
        let meta = std::fs::metadata(path).map_err(|source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            return Ok(Archive::Dir {
                root: path.to_path_buf(),
            });
        }
        if !meta.is_file() {
            return Err(BackupError::NotABackup {
                path: path.to_path_buf(),
                reason: "neither a regular file nor a folder".into(),
            });
        }
        let file = File::open(path).map_err(|source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // The file is open, so any error here is about its content (a truncated
        // zip fails with an unexpected end of file).
        let zip =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| BackupError::NotABackup {
                path: path.to_path_buf(),
                reason: format!("not a readable zip archive ({e})"),
            })?;
        let names: Vec<&str> = zip.file_names().collect();
        let prefix = if names.contains(&"config.json") {
            String::new()
        } else {
            // A backup zipped together with its folder: `backup/config.json`, ...
            let tops: Vec<&str> = names
                .iter()
                .filter(|n| !is_junk(n))
                .filter_map(|n| n.strip_suffix("/config.json"))
                .filter(|p| !p.contains('/'))
                .collect();
            match tops.as_slice() {
                [one] => format!("{one}/"),
                _ => String::new(),
            }
        };
        Ok(Archive::Zip {
            path: path.to_path_buf(),
            zip,
            prefix,
        })
    }

    /// The backup's entry names (prefix removed, junk skipped), in archive order
    /// for zips and sorted for folders.
    pub(crate) fn names(&self) -> Result<Vec<String>, BackupError> {
        match self {
            Archive::Zip { zip, prefix, .. } => Ok(zip
                .file_names()
                .filter(|n| !is_junk(n))
                .filter_map(|n| n.strip_prefix(prefix.as_str()))
                .map(str::to_string)
                .collect()),
            Archive::Dir { root } => {
                let mut out = Vec::new();
                if root.join("config.json").is_file() {
                    out.push("config.json".to_string());
                }
                for sub in ["entities", "files"] {
                    let dir = root.join(sub);
                    if !dir.is_dir() {
                        continue;
                    }
                    let rd = std::fs::read_dir(&dir).map_err(|source| BackupError::Io {
                        path: dir.clone(),
                        source,
                    })?;
                    let mut names = Vec::new();
                    for ent in rd {
                        let ent = ent.map_err(|source| BackupError::Io {
                            path: dir.clone(),
                            source,
                        })?;
                        let is_file = ent.file_type().map(|t| t.is_file()).unwrap_or(false);
                        if let (true, Some(n)) = (is_file, ent.file_name().to_str()) {
                            let full = format!("{sub}/{n}");
                            if !is_junk(&full) {
                                names.push(full);
                            }
                        }
                    }
                    names.sort();
                    out.extend(names);
                }
                Ok(out)
            }
        }
    }

    /// The whole content of entry `name` (decompressed, CRC checked).
    pub(crate) fn read(&mut self, name: &str) -> Result<Vec<u8>, BackupError> {
        match self {
            Archive::Zip { zip, prefix, .. } => {
                let full = format!("{prefix}{name}");
                let mut entry = zip.by_name(&full).map_err(|e| BackupError::BadEntry {
                    entry: name.to_string(),
                    reason: e.to_string(),
                })?;
                let mut buf =
                    Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 26));
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| BackupError::BadEntry {
                        entry: name.to_string(),
                        reason: e.to_string(),
                    })?;
                Ok(buf)
            }
            Archive::Dir { root } => {
                let p = root.join(name);
                std::fs::read(&p).map_err(|source| BackupError::Io { path: p, source })
            }
        }
    }

    /// The path the archive was opened from.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Archive::Zip { path, .. } => path,
            Archive::Dir { root } => root,
        }
    }
}
