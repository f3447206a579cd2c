//! [`BackupError`]: everything that can be wrong with an Instant backup, each
//! naming the archive entry (and line) at fault.

use std::path::PathBuf;

/// Why an Instant backup could not be read.
///
/// Messages name the entry (`config.json`, `entities/books.jsonl`,
/// `files/<locationId>`) and, for entity lines, the 1-based line number, so a user
/// can open the archive and find the problem. Where the official restore
/// (`server/src/instant/restore.clj`) has a message for the same problem, the
/// message text is reused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Reading the file or folder failed.
    #[error("I/O error reading {path}: {source}")]
    Io {
        /// The file or folder being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The path is neither a zip archive nor a folder (or the zip is truncated or
    /// corrupt).
    #[error("{path} is not an Instant backup (expected a .zip file or an unpacked backup folder): {reason}")]
    NotABackup {
        /// The path given.
        path: PathBuf,
        /// What was found instead (zip error text, "no such file", ...).
        reason: String,
    },
    /// A zip entry could not be decompressed (corrupt or truncated data).
    #[error("cannot read zip entry {entry}: {reason}")]
    BadEntry {
        /// The entry name.
        entry: String,
        /// The zip library's error text.
        reason: String,
    },
    /// There is no `config.json` at the root of the archive.
    #[error("the backup has no config.json (expected first entry in zip file to be config.json)")]
    MissingConfig,
    /// `config.json` is not valid JSON, not an object, or a key has the wrong shape.
    #[error("bad config.json: {0}")]
    BadConfig(String),
    /// A line of an entity shard is not valid JSON or not of the form
    /// `{"entity": {...}, "createdAt": <ms>}`.
    #[error("bad JSON at {entry} line {line}: {reason}")]
    BadLine {
        /// The shard, e.g. `entities/books.jsonl`.
        entry: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A shard's namespace is neither in `config.schema` nor a system namespace.
    #[error("{entry}: namespace `{namespace}` is not in the backup's schema")]
    UnknownNamespace {
        /// The shard.
        entry: String,
        /// The namespace (file name between `entities/` and `.jsonl`).
        namespace: String,
    },
    /// A line has a key that is no attribute or forward link label of its
    /// namespace (official restore: "Missing attr for `<etype>.<key>`").
    #[error("{entry} line {line}: Missing attr for {namespace}.{key}")]
    UnknownAttr {
        /// The shard.
        entry: String,
        /// 1-based line number.
        line: usize,
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// A value does not fit its attribute: a typed attribute holding a value of
    /// another type, a link value that is not an entity id (or array of them).
    #[error("{entry} line {line}: invalid value for {namespace}.{key}: {reason}")]
    BadValue {
        /// The shard.
        entry: String,
        /// 1-based line number.
        line: usize,
        /// The namespace.
        namespace: String,
        /// The attribute or link label.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Two entities of one namespace share a value of a unique attribute (the
    /// official restore's bulk copy aborts on this).
    #[error("entities/{namespace}.jsonl line {line}: value {value} of unique attribute {namespace}.{key} is already used by entity {other}")]
    UniqueConflict {
        /// 1-based line number of the second entity.
        line: usize,
        /// The namespace.
        namespace: String,
        /// The attribute.
        key: String,
        /// The value, as JSON text.
        value: String,
        /// The entity that has the value first.
        other: String,
    },
    /// The same entity id appears twice in one shard.
    #[error("{entry} line {line}: entity {id} appears more than once")]
    DuplicateEntity {
        /// The shard.
        entry: String,
        /// 1-based line number of the repeat.
        line: usize,
        /// The entity id.
        id: String,
    },
    /// A shard's line count differs from `config.counts`.
    #[error("{entry}: config.json counts {expected} entities of `{namespace}` but the backup has {found}")]
    CountMismatch {
        /// The shard (or `entities/<ns>.jsonl` when the shard is missing).
        entry: String,
        /// The namespace.
        namespace: String,
        /// `config.counts[namespace]` (0 when absent).
        expected: u64,
        /// Lines found.
        found: u64,
    },
    /// The number of triples the lines describe differs from `config.tripleCount`.
    #[error("config.json tripleCount is {expected} but the entity shards hold {found} triples")]
    TripleCountMismatch {
        /// `config.tripleCount`.
        expected: u64,
        /// Σ over lines of single-valued keys + array lengths.
        found: u64,
    },
    /// A `$files` line without `location-id` (official restore: "Backup is
    /// missing the location-id for a $files entity").
    #[error("{entry} line {line}: Backup is missing the location-id for a $files entity ({id})")]
    MissingLocationId {
        /// The shard (`entities/$files.jsonl`).
        entry: String,
        /// 1-based line number.
        line: usize,
        /// The `$files` entity id.
        id: String,
    },
    /// A `$files` line whose `files/<location-id>` blob is not in the archive
    /// (official restore: "Backup is missing the file blob for a $files entity").
    #[error(
        "Backup is missing the file blob for a $files entity: files/{location_id} (entity {id})"
    )]
    MissingFileBlob {
        /// The `$files` entity id.
        id: String,
        /// Its `location-id`.
        location_id: String,
    },
    /// Several content problems (each one of the variants above), in the order
    /// found; at most 50 are collected before reading stops. A single problem is
    /// returned as itself, never wrapped.
    #[error("{} problems in the backup: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Problems(Vec<BackupError>),
    /// A `files/<id>` blob that no `$files` line refers to (official restore:
    /// "Files in the zip are missing in the $files entities").
    #[error("Files in the zip are missing in the $files entities: {entry}")]
    OrphanFileBlob {
        /// The blob entry.
        entry: String,
    },
}
