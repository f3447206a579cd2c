//! Entity shards (`entities/<ns>.jsonl`, backup-format.md §3) and `$files` blobs
//! (§4): parsing and the official restore's checks.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use instant_core::{AttrDef, Date, Has, Id, ValueType};
use serde_json::Value;

use super::archive::Archive;
use super::config::Config;
use super::keys::{link_targets, KeyKind};
use super::{system, Backup, BackupEntity, BackupError, BackupFile};

/// Content problems found so far (bad values, unknown keys, conflicts, missing
/// blobs): collected so one read reports them all (backup-format.md §5.1), up to
/// [`MAX_PROBLEMS`].
#[derive(Default)]
struct Problems(Vec<BackupError>);

/// Reading stops after this many content problems.
const MAX_PROBLEMS: usize = 50;

impl Problems {
    /// Records `e`; fails once [`MAX_PROBLEMS`] are collected.
    fn push(&mut self, e: BackupError) -> Result<(), BackupError> {
        self.0.push(e);
        if self.0.len() >= MAX_PROBLEMS {
            return Err(self.take());
        }
        Ok(())
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn take(&mut self) -> BackupError {
        let mut all = std::mem::take(&mut self.0);
        if all.len() == 1 {
            if let Some(one) = all.pop() {
                return one;
            }
        }
        BackupError::Problems(all)
    }
    /// `Ok` when nothing was found, else the one problem or all of them.
    fn finish(mut self) -> Result<(), BackupError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.take())
        }
    }
}

/// An owned [`KeyKind`], cached per shard.
#[derive(Clone)]
enum Kind {
    Attr(AttrDef),
    Link(Has),
    Unknown,
}

/// Checks a value against its attribute's type (null always allowed).
fn check_type(def: &AttrDef, v: &Value) -> Result<(), String> {
    let ok = match (def.value_type, v) {
        (_, Value::Null) | (ValueType::Json, _) => true,
        (ValueType::String, Value::String(_))
        | (ValueType::Number, Value::Number(_))
        | (ValueType::Boolean, Value::Bool(_))
        | (ValueType::Date, Value::Number(_)) => true,
        (ValueType::Date, Value::String(_)) => Date::from_json(v).is_ok(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected a {} value, got {}",
            def.value_type.as_str(),
            v
        ))
    }
}

/// A location id the SDK accepts as a file name (no `/`, `\`, control
/// characters, not `.`/`..`).
fn valid_location_id(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// Parses every shard and blob of `archive` and assembles the [`Backup`].
pub(crate) fn load(
    archive: &mut Archive,
    names: &[String],
    config: Config,
) -> Result<Backup, BackupError> {
    let mut backup = Backup {
        title: config.title,
        app_id: config.app_id,
        schema: system::strip_system(&config.schema),
        rules: config.rules,
        entities: Vec::new(),
        files: Vec::new(),
        counts: config.counts.clone().unwrap_or_default(),
        triple_count: config.triple_count,
        email_templates: config.email_templates,
        redirect_origins: config.redirect_origins,
        webhooks: config.webhooks,
        backup_at: config.backup_at,
        isn: config.isn,
        description: config.description,
        ignored_entries: Vec::new(),
    };

    let mut shards: Vec<(String, String)> = Vec::new();
    let mut blobs: BTreeSet<String> = BTreeSet::new();
    for n in names {
        if n == "config.json" {
            continue;
        }
        if let Some(ns) = n
            .strip_prefix("entities/")
            .and_then(|r| r.strip_suffix(".jsonl"))
            .filter(|ns| !ns.is_empty() && !ns.contains('/'))
        {
            shards.push((n.clone(), ns.to_string()));
        } else if let Some(loc) = n.strip_prefix("files/").filter(|l| valid_location_id(l)) {
            blobs.insert(loc.to_string());
        } else {
            backup.ignored_entries.push(n.clone());
        }
    }
    shards.sort();

    let mut problems = Problems::default();
    let mut triples: u64 = 0;
    let mut found_counts: BTreeMap<String, u64> = BTreeMap::new();
    // $files entity id -> location id, in line order.
    let mut file_lines: Vec<(Id, String)> = Vec::new();

    for (entry, ns) in &shards {
        if !backup.knows_namespace(ns) {
            return Err(BackupError::UnknownNamespace {
                entry: entry.clone(),
                namespace: ns.clone(),
            });
        }
        let bytes = archive.read(entry)?;
        let mut seen_ids: HashMap<Id, usize> = HashMap::new();
        let mut unique_seen: HashMap<(String, String), Id> = HashMap::new();
        let mut count: u64 = 0;
        // key -> what it is, resolved once per shard (key_kind scans the schema).
        let mut kinds: HashMap<String, Kind> = HashMap::new();
        for (idx, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = idx + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let bad = |reason: String| BackupError::BadLine {
                entry: entry.clone(),
                line,
                reason,
            };
            let v: Value = serde_json::from_slice(raw).map_err(|e| bad(e.to_string()))?;
            let Value::Object(mut outer) = v else {
                return Err(bad("a line must be a JSON object".into()));
            };
            let Some(Value::Object(mut ent)) = outer.remove("entity") else {
                return Err(bad("missing `entity` object".into()));
            };
            let created_at_ms = match outer.get("createdAt") {
                Some(Value::Number(n)) => n
                    .as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                    .ok_or_else(|| {
                        bad(format!("`createdAt` must be epoch milliseconds, got {n}"))
                    })?,
                Some(other) => {
                    return Err(bad(format!(
                        "`createdAt` must be epoch milliseconds, got {other}"
                    )))
                }
                None => return Err(bad("missing `createdAt`".into())),
            };
            let id = match ent.remove("id") {
                Some(Value::String(s)) => {
                    Id::parse(&s).map_err(|_| bad(format!("entity.id `{s}` is not a UUID")))?
                }
                Some(other) => {
                    return Err(bad(format!("entity.id must be a UUID string, got {other}")))
                }
                None => return Err(bad("the entity has no `id`".into())),
            };
            if seen_ids.insert(id, line).is_some() {
                problems.push(BackupError::DuplicateEntity {
                    entry: entry.clone(),
                    line,
                    id: id.to_string(),
                })?;
                continue;
            }
            triples += 1; // the id triple
            for (k, v) in &ent {
                let bad_value = |reason: String| BackupError::BadValue {
                    entry: entry.clone(),
                    line,
                    namespace: ns.clone(),
                    key: k.clone(),
                    reason,
                };
                let kind = match kinds.get(k) {
                    Some(kind) => kind.clone(),
                    None => {
                        let kind = match backup.key_kind(ns, k) {
                            KeyKind::Unknown => Kind::Unknown,
                            KeyKind::Link(l) => Kind::Link(l.forward.has),
                            KeyKind::Attr(a) => Kind::Attr(a.clone()),
                        };
                        kinds.insert(k.clone(), kind.clone());
                        kind
                    }
                };
                match kind {
                    Kind::Unknown => {
                        problems.push(BackupError::UnknownAttr {
                            entry: entry.clone(),
                            line,
                            namespace: ns.clone(),
                            key: k.clone(),
                        })?;
                    }
                    Kind::Link(has) => match link_targets(has, v) {
                        Ok(targets) => {
                            triples += match has {
                                Has::One => 1,
                                Has::Many => targets.len() as u64,
                            }
                        }
                        Err(reason) => problems.push(bad_value(reason))?,
                    },
                    Kind::Attr(def) => {
                        if let Err(reason) = check_type(&def, v) {
                            problems.push(bad_value(reason))?;
                        }
                        triples += 1;
                        if def.unique && !v.is_null() {
                            let key = (k.clone(), v.to_string());
                            if let Some(other) = unique_seen.get(&key) {
                                problems.push(BackupError::UniqueConflict {
                                    line,
                                    namespace: ns.clone(),
                                    key: k.clone(),
                                    value: v.to_string(),
                                    other: other.to_string(),
                                })?;
                            } else {
                                unique_seen.insert(key, id);
                            }
                        }
                    }
                }
            }
            if ns == "$files" {
                match ent.get("location-id") {
                    Some(Value::String(loc)) if valid_location_id(loc) => {
                        file_lines.push((id, loc.clone()))
                    }
                    Some(Value::String(loc)) => problems.push(BackupError::BadValue {
                        entry: entry.clone(),
                        line,
                        namespace: ns.clone(),
                        key: "location-id".into(),
                        reason: format!("`{loc}` cannot be a file name"),
                    })?,
                    _ => problems.push(BackupError::MissingLocationId {
                        entry: entry.clone(),
                        line,
                        id: id.to_string(),
                    })?,
                }
            }
            count += 1;
            backup.entities.push(BackupEntity {
                namespace: ns.clone(),
                id,
                attrs: ent,
                created_at_ms,
            });
        }
        found_counts.insert(ns.clone(), count);
    }

    // Counts are only compared when every line was fine: a bad line usually
    // explains a count difference by itself.
    let counts_checked = problems.is_empty();
    if !counts_checked {
        if config.counts.is_none() {
            backup.counts = found_counts;
        }
    } else if let Some(expected) = &config.counts {
        let all: BTreeSet<&String> = expected.keys().chain(found_counts.keys()).collect();
        for ns in all {
            let e = expected.get(ns).copied().unwrap_or(0);
            let f = found_counts.get(ns).copied().unwrap_or(0);
            if e != f {
                return Err(BackupError::CountMismatch {
                    entry: format!("entities/{ns}.jsonl"),
                    namespace: ns.clone(),
                    expected: e,
                    found: f,
                });
            }
        }
    } else {
        backup.counts = found_counts;
    }
    if let (true, Some(expected)) = (counts_checked, config.triple_count) {
        if expected != triples {
            return Err(BackupError::TripleCountMismatch {
                expected,
                found: triples,
            });
        }
    }

    let mut used: BTreeSet<&str> = BTreeSet::new();
    for (id, loc) in &file_lines {
        if !blobs.contains(loc) {
            problems.push(BackupError::MissingFileBlob {
                id: id.to_string(),
                location_id: loc.clone(),
            })?;
        } else if used.insert(loc.as_str()) {
            let bytes = archive.read(&format!("files/{loc}"))?;
            backup.files.push(BackupFile {
                location_id: loc.clone(),
                entity_id: *id,
                bytes,
            });
        }
    }
    for orphan in blobs.iter().filter(|b| !used.contains(b.as_str())) {
        problems.push(BackupError::OrphanFileBlob {
            entry: format!("files/{orphan}"),
        })?;
    }
    problems.finish()?;
    Ok(backup)
}
