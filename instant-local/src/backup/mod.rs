//! Reading an Instant backup: the zip a user downloads from Instant
//! (`instant-backup-<timestamp>.zip`, made by `instant-cli backup download` or the
//! dashboard) or the folder `unzip` makes of it.
//!
//! Format: `/work/shared/spec/backup-format.md` (mirrors upstream
//! `server/src/instant/backup.clj`, the writer, and `restore.clj`, the official
//! restore). [`read`] decodes `config.json`, every `entities/<namespace>.jsonl`
//! line and every `files/<locationId>` blob, and runs the official restore's
//! checks up front, so an importer can rely on the result:
//!
//! - `config.json` present, an object, with a `schema` (unknown keys ignored; old
//!   backups without `appId`/`rules` accepted);
//! - each shard's namespace is in the schema or a built-in system namespace;
//! - each line is `{"entity": {...}, "createdAt": <ms>}` with a UUID `entity.id`;
//!   every key is an attribute or forward link label of its namespace ("Missing
//!   attr for ns.key"); link values are ids (has-one) or arrays of ids (has-many);
//! - typed attributes hold values of their type (null allowed; dates: epoch ms or
//!   a timestamp string), unique attributes hold each non-null value once;
//! - line counts equal `config.counts`, triples equal `config.tripleCount`;
//! - every `$files` line has a `location-id` with a `files/<location-id>` blob,
//!   and every blob belongs to a `$files` line.
//!
//! Deliberately more lenient than upstream (backup-format.md §5.1): entry order
//! inside the zip is not enforced, directory entries and `__MACOSX/` / `.DS_Store`
//! are skipped, a zip whose entries all sit in one top-level folder is accepted.
//! Structural problems (unreadable archive, bad `config.json`, a line that is not
//! JSON, an unknown namespace) stop reading at once; content problems (unknown
//! keys, bad values, unique conflicts, duplicate ids, missing or orphan blobs) are
//! all collected and returned together as [`BackupError::Problems`] (a single one
//! as itself), as backup-format.md §5.1 recommends. Counts are compared only when
//! no content problem was found.
//!
//! System namespaces: as the official restore does, the `schema` of the returned
//! [`Backup`] has the built-in system attributes and links removed (the target
//! server provides them; see [`system::catalog`]), while `$users`, `$files`, ...
//! entity lines are kept and restored like any other line.
//!
//! ```no_run
//! let backup = instant_local::backup::read(std::path::Path::new("instant-backup-2026-08-21T03-00-00-482Z.zip"))?;
//! for e in &backup.entities {
//!     let parts = e.split(&backup);
//!     println!("{} {} attrs={} links={}", e.namespace, e.id, parts.attrs.len(), parts.links.len());
//! }
//! # Ok::<(), instant_local::backup::BackupError>(())
//! ```

mod archive;
mod config;
mod entities;
mod error;
mod keys;
pub mod system;

use std::collections::BTreeMap;
use std::path::Path;

use instant_core::{Id, JsonObject, Rules, Schema};

pub use config::{EmailTemplate, RedirectOrigin, Webhook, WebhookSink};
pub use error::BackupError;
pub use keys::{EntityLink, EntityParts, KeyKind};

/// A decoded, checked Instant backup.
#[derive(Debug, Clone)]
pub struct Backup {
    /// `config.title` (empty when the app had none). The official restore names
    /// the new app `title + " (Restored)"` unless told otherwise.
    pub title: String,
    /// `config.appId`, the backed-up app's id (absent in backups made before
    /// 2026-08-12).
    pub app_id: Option<Id>,
    /// `config.schema` without the built-in system attributes and links (custom
    /// attributes on `$users` etc. and user links touching system namespaces are
    /// kept). Untyped attributes are [`instant_core::ValueType::Json`].
    pub schema: Schema,
    /// `config.rules` (`None` when the app had none, and always for old backups).
    pub rules: Option<Rules>,
    /// Every entity line, shard by shard (shards in name order, lines in file
    /// order = entity id order).
    pub entities: Vec<BackupEntity>,
    /// Every `$files` blob, paired with its `$files` entity.
    pub files: Vec<BackupFile>,
    /// `config.counts`: entities per namespace, as the backup announced them
    /// (already checked against the shards).
    pub counts: BTreeMap<String, u64>,
    /// `config.tripleCount` (already checked), if present.
    pub triple_count: Option<u64>,
    /// `config.emailTemplates`.
    pub email_templates: Vec<EmailTemplate>,
    /// `config.authorizedRedirectOrigins`.
    pub redirect_origins: Vec<RedirectOrigin>,
    /// `config.webhooks` (informational: the official restore does not restore
    /// webhooks).
    pub webhooks: Vec<Webhook>,
    /// `config.backupAt`: snapshot time, ISO-8601 text as written.
    pub backup_at: Option<String>,
    /// `config.isn`: the snapshot's sequence number (nightly backups only).
    pub isn: Option<String>,
    /// `config.description` (`"Automated Daily Snapshot"`, `"On-demand backup"`, ...).
    pub description: Option<String>,
    /// Entries of the archive that are no part of the format and were skipped.
    pub ignored_entries: Vec<String>,
}

/// One entity line of `entities/<namespace>.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupEntity {
    /// The namespace (the shard's file name).
    pub namespace: String,
    /// `entity.id`.
    pub id: Id,
    /// Every key of the line except `id`: attribute values verbatim and forward
    /// links (a target id string for has-one, an array of id strings for
    /// has-many). Use [`BackupEntity::split`] or [`Backup::key_kind`] to tell them
    /// apart.
    pub attrs: JsonObject,
    /// `createdAt`: epoch milliseconds of the entity's creation (its
    /// `$serverCreatedAt`; 0 when the source had no `id` triple).
    pub created_at_ms: i64,
}

/// The bytes of one stored file (`files/<locationId>`), read eagerly.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupFile {
    /// The `location-id` of the `$files` entity (the entry name without `files/`).
    pub location_id: String,
    /// The `$files` entity the blob belongs to.
    pub entity_id: Id,
    /// The raw object bytes, exactly as uploaded.
    pub bytes: Vec<u8>,
}

/// Reads and checks the backup at `path`: a zip file (any name) or an unpacked
/// backup folder.
///
/// # Errors
/// [`BackupError`] naming the entry and line at fault: `Io` (unreadable path),
/// `NotABackup` (not a zip/folder, truncated zip), `MissingConfig`, `BadConfig`,
/// `BadLine`, `UnknownNamespace`, `UnknownAttr`, `BadValue`, `UniqueConflict`,
/// `DuplicateEntity`, `CountMismatch`, `TripleCountMismatch`, `MissingLocationId`,
/// `MissingFileBlob`, `OrphanFileBlob`, `BadEntry` (corrupt zip data), or
/// `Problems` wrapping several content problems.
pub fn read(path: &Path) -> Result<Backup, BackupError> {
    let mut archive = archive::Archive::open(path)?;
    let names = archive.names()?;
    if !names.iter().any(|n| n == "config.json") {
        return match archive {
            archive::Archive::Dir { .. } if !path.join("entities").is_dir() && names.is_empty() => {
                Err(BackupError::NotABackup {
                    path: archive.path().to_path_buf(),
                    reason: "the folder has no config.json and no entities/".into(),
                })
            }
            _ => Err(BackupError::MissingConfig),
        };
    }
    let config = config::Config::parse(&archive.read("config.json")?)?;
    entities::load(&mut archive, &names, config)
}
