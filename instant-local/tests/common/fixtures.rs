//! Temporary folders and zips for backup tests.

use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// A folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh empty folder named after `tag`.
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("instant-local-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    /// `self/rel`.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a backup folder (config.json, entities/, files/) into `dst`.
pub fn copy_backup(src: &Path, dst: &Path) {
    for sub in ["", "entities", "files"] {
        let from = src.join(sub);
        if !from.is_dir() {
            continue;
        }
        std::fs::create_dir_all(dst.join(sub)).expect("mkdir");
        for e in std::fs::read_dir(&from).expect("read_dir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_file() {
                std::fs::copy(e.path(), dst.join(sub).join(e.file_name())).expect("copy");
            }
        }
    }
}

/// The entries of a backup folder in official archive order: config.json, then
/// entities/* sorted, then files/* sorted; `(name, bytes)`.
pub fn folder_entries(src: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(c) = std::fs::read(src.join("config.json")) {
        out.push(("config.json".to_string(), c));
    }
    for sub in ["entities", "files"] {
        let dir = src.join(sub);
        if !dir.is_dir() {
            continue;
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
            .collect();
        names.sort();
        for n in names {
            let bytes = std::fs::read(dir.join(&n)).expect("read");
            out.push((format!("{sub}/{n}"), bytes));
        }
    }
    out
}

/// Writes `entries` to a zip at `dst` (DEFLATE + zip64 like zip.js, or STORED).
pub fn write_zip(dst: &Path, entries: &[(String, Vec<u8>)], deflate: bool) {
    let f = std::fs::File::create(dst).expect("create zip");
    let mut z = zip::ZipWriter::new(f);
    let opts = SimpleFileOptions::default()
        .compression_method(if deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        })
        .large_file(true);
    for (name, bytes) in entries {
        if name.ends_with('/') {
            z.add_directory(name.trim_end_matches('/'), opts)
                .expect("dir");
        } else {
            z.start_file(name.as_str(), opts).expect("start");
            z.write_all(bytes).expect("write");
        }
    }
    z.finish().expect("finish zip");
}

/// Zips a backup folder the way `instant-cli backup download` does.
pub fn zip_folder(src: &Path, dst: &Path) {
    write_zip(dst, &folder_entries(src), true);
}
