//! Telling a backup line's keys apart: attributes vs forward links.

use instant_core::{AttrDef, Has, Id, JsonObject, LinkDef};
use serde_json::Value;

use super::{system, Backup, BackupEntity};

/// What a key of an entity line is, for one namespace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyKind<'a> {
    /// An attribute (a custom one from the backup's schema or a built-in system
    /// attribute); the value is stored as-is, even when it is a JSON array.
    Attr(&'a AttrDef),
    /// The forward label of a link: the value is a target id (`forward.has ==
    /// "one"`) or an array of target ids (`"many"`).
    Link(&'a LinkDef),
    /// Neither (the official restore fails with "Missing attr for ns.key").
    Unknown,
}

/// One forward link of an entity, with its decoded targets.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityLink {
    /// The forward label (the key in the line).
    pub label: String,
    /// The link definition (forward side = this entity's namespace).
    pub link: LinkDef,
    /// Target entity ids (one element for has-one links).
    pub targets: Vec<Id>,
}

/// A [`BackupEntity`] split into plain attributes and forward links.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntityParts {
    /// Attribute label → value (no `id`, no links).
    pub attrs: JsonObject,
    /// Forward links.
    pub links: Vec<EntityLink>,
}

impl Backup {
    /// Classifies `key` of an entity line of `namespace`: a forward link label
    /// (from the backup schema's `links[*].forward` or the system catalog), an
    /// attribute (backup schema or system catalog), or unknown.
    pub fn key_kind(&self, namespace: &str, key: &str) -> KeyKind<'_> {
        if let Some(l) = self
            .schema
            .links
            .values()
            .find(|l| l.forward.on == namespace && l.forward.label == key)
        {
            return KeyKind::Link(l);
        }
        if let Some(l) = system::forward_link(namespace, key) {
            return KeyKind::Link(l);
        }
        let attr = self
            .schema
            .entities
            .get(namespace)
            .and_then(|e| e.attrs.get(key))
            .or_else(|| {
                system::catalog()
                    .entities
                    .get(namespace)
                    .and_then(|e| e.attrs.get(key))
            });
        match attr {
            Some(a) => KeyKind::Attr(a),
            None => KeyKind::Unknown,
        }
    }

    /// True when entities of `namespace` may appear in this backup: it is in the
    /// backup's schema or is a built-in system namespace.
    pub fn knows_namespace(&self, namespace: &str) -> bool {
        self.schema.entities.contains_key(namespace)
            || system::catalog().entities.contains_key(namespace)
    }
}

impl BackupEntity {
    /// Splits the entity's keys into attributes and forward links using `backup`'s
    /// schema (the backup it was read from). [`read`](super::read) has already
    /// checked every key and link value, so nothing is dropped for an entity of
    /// that backup; keys unknown to `backup` (an entity of another backup) are
    /// returned as attributes.
    pub fn split(&self, backup: &Backup) -> EntityParts {
        let mut parts = EntityParts::default();
        for (k, v) in &self.attrs {
            match backup.key_kind(&self.namespace, k) {
                KeyKind::Link(l) => parts.links.push(EntityLink {
                    label: k.clone(),
                    link: l.clone(),
                    targets: link_targets(l.forward.has, v).unwrap_or_default(),
                }),
                KeyKind::Attr(_) | KeyKind::Unknown => {
                    parts.attrs.insert(k.clone(), v.clone());
                }
            }
        }
        parts
    }
}

/// Decodes a link value: an id string for has-one, an array of id strings for
/// has-many.
///
/// # Errors
/// A message saying what is wrong.
pub(crate) fn link_targets(has: Has, v: &Value) -> Result<Vec<Id>, String> {
    let one = |x: &Value| match x {
        Value::String(s) => {
            Id::parse(s).map_err(|_| format!("link target `{s}` is not an entity id"))
        }
        other => Err(format!(
            "link target must be an entity id string, got {other}"
        )),
    };
    match (has, v) {
        (Has::One, Value::Array(_)) => Err("has-one link holds an array".into()),
        (Has::One, x) => Ok(vec![one(x)?]),
        (Has::Many, Value::Array(xs)) => xs.iter().map(one).collect(),
        (Has::Many, other) => Err(format!(
            "has-many link must be an array of ids, got {other}"
        )),
    }
}
