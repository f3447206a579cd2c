//! Pulled schema (`{"blobs", "refs"}`, spec `schema-and-platform.md` B.2) to
//! client schema, following the Platform SDK's conversion
//! (`client/packages/platform/src/api.ts`, `apiSchemaToInstantSchemaDef`), minus
//! the system catalog.

use serde_json::Value;

use super::{object_at, EntityDef, Schema, ServerAttr};
use crate::Error;

impl Schema {
    /// Converts a pulled schema to a client schema. Accepts the pull response
    /// `{"schema": {"blobs", "refs"}}` or the inner `{"blobs", "refs"}` object.
    ///
    /// Like the Platform SDK: entities come from `blobs` (skipping `id`), an
    /// attribute's type is its `checked-data-type` or `json` when unchecked,
    /// `required?` false becomes optional, links come from `refs` named
    /// `forwardNs + Capitalized(forwardLabel)` with `(cardinality, unique?)` mapped
    /// to `(forward.has, reverse.has)`; `refs` keys are ignored (they are opaque).
    ///
    /// Unlike the SDK, attributes and links of the system catalog
    /// (`"catalog": "system"`, e.g. `$users.email`, `$files.path`) are left out, so
    /// a schema pushed and pulled back compares equal to itself. A `$` namespace
    /// is kept when it has user attributes or is a side of a user link.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] naming the path of a non-object or an attr that
    /// does not decode as a [`ServerAttr`].
    pub fn from_pull(v: &Value) -> Result<Self, Error> {
        let v = match v.get("schema") {
            Some(inner) => inner,
            None => v,
        };
        let root = object_at("schema", v)?;
        let mut s = Schema::new();
        if let Some(refs) = root.get("refs") {
            for (key, a) in object_at("refs", refs)? {
                let attr = decode_attr(&format!("refs.{key}"), a)?;
                if attr.is_system() {
                    continue;
                }
                if let Some(l) = attr.to_link_def() {
                    s.links.insert(l.derived_name(), l);
                }
            }
        }
        if let Some(blobs) = root.get("blobs") {
            for (ns, attrs) in object_at("blobs", blobs)? {
                let mut def = EntityDef::new();
                for (label, a) in object_at(&format!("blobs.{ns}"), attrs)? {
                    let attr = decode_attr(&format!("blobs.{ns}.{label}"), a)?;
                    if label == "id" || attr.is_system() || attr.is_ref() {
                        continue;
                    }
                    def.attrs.insert(label.clone(), attr.to_attr_def());
                }
                let linked = s
                    .links
                    .values()
                    .any(|l| &l.forward.on == ns || &l.reverse.on == ns);
                if !ns.starts_with('$') || !def.attrs.is_empty() || linked {
                    s.entities.insert(ns.clone(), def);
                }
            }
        }
        Ok(s)
    }
}

fn decode_attr(path: &str, v: &Value) -> Result<ServerAttr, Error> {
    ServerAttr::from_json(v).map_err(|e| Error::schema(path, e.to_string()))
}
