//! The client schema JSON (`i.schema(...)` serialised; spec
//! `schema-and-platform.md` Part A): entities with typed attributes, and links
//! declared once with a forward and a reverse side.
//!
//! ```
//! use instant_core::{Schema, EntityDef, AttrDef, LinkDef, LinkSide};
//! let schema = Schema::new()
//!     .entity("goals", EntityDef::new().attr("title", AttrDef::string().indexed()))
//!     .entity("todos", EntityDef::new().attr("done", AttrDef::boolean().optional()))
//!     .link("goalsTodos", LinkDef::new(
//!         LinkSide::many("goals", "todos"),
//!         LinkSide::many("todos", "goals")));
//! let json = schema.to_json();
//! assert_eq!(json["entities"]["goals"]["attrs"]["title"]["config"]["indexed"], true);
//! assert_eq!(Schema::from_json(&json).unwrap(), schema);
//! ```

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::Error;

pub mod attr;
mod attr_def;
mod link;
mod pull;
pub use attr::{Identity, ServerAttr};
pub use attr_def::{AttrDef, EntityDef, ValueType};
pub use link::{Has, LinkDef, LinkSide, OnDelete};

/// A whole client schema: `{"entities", "links", "rooms"}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    /// Entities by namespace.
    pub entities: BTreeMap<String, EntityDef>,
    /// Links by name.
    pub links: BTreeMap<String, LinkDef>,
    /// Rooms (client-only; kept as JSON).
    pub rooms: Map<String, Value>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an entity.
    pub fn entity(mut self, ns: impl Into<String>, def: EntityDef) -> Self {
        self.entities.insert(ns.into(), def);
        self
    }
    /// Adds a link.
    pub fn link(mut self, name: impl Into<String>, def: LinkDef) -> Self {
        self.links.insert(name.into(), def);
        self
    }

    /// The schema JSON the Platform API takes (`schema-and-platform.md` A.1): every
    /// entity with its `attrs` and the `links` map `i.schema` derives for it
    /// (`{"entityName", "cardinality"}` per label, both directions; informational,
    /// servers ignore it), the top-level `links`, and `rooms`.
    pub fn to_json(&self) -> Value {
        let entities: Map<String, Value> = self
            .entities
            .iter()
            .map(|(ns, e)| {
                let attrs: Map<String, Value> = e
                    .attrs
                    .iter()
                    .map(|(k, a)| (k.clone(), a.to_json()))
                    .collect();
                (
                    ns.clone(),
                    json!({"attrs": attrs, "links": self.entity_links(ns)}),
                )
            })
            .collect();
        let links: Map<String, Value> = self
            .links
            .iter()
            .map(|(k, l)| (k.clone(), l.to_json()))
            .collect();
        json!({"entities": entities, "links": links, "rooms": self.rooms})
    }

    /// The `links` map of entity `ns`: every label seen from `ns`.
    fn entity_links(&self, ns: &str) -> Map<String, Value> {
        let mut links = Map::new();
        for l in self.links.values() {
            for (this, other) in [(&l.forward, &l.reverse), (&l.reverse, &l.forward)] {
                if this.on == ns {
                    links.insert(
                        this.label.clone(),
                        json!({"entityName": other.on, "cardinality": this.has.as_str()}),
                    );
                }
            }
        }
        links
    }

    /// Decodes a client schema. `links` and `rooms` may be absent; entity `links`
    /// maps are ignored (they are derived from the top-level `links`).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] naming the path of the first bad entry (a
    /// non-object where an object belongs, a missing or unknown `valueType`, a
    /// malformed link side).
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let obj = object_at("", v)?;
        let mut s = Schema::new();
        if let Some(ents) = obj.get("entities") {
            for (ns, e) in object_at("entities", ents)? {
                let p = format!("entities.{ns}");
                let mut def = EntityDef::new();
                if let Some(attrs) = object_at(&p, e)?.get("attrs") {
                    for (label, a) in object_at(&format!("{p}.attrs"), attrs)? {
                        let attr = AttrDef::from_json(&format!("{p}.attrs.{label}"), a)?;
                        def.attrs.insert(label.clone(), attr);
                    }
                }
                s.entities.insert(ns.clone(), def);
            }
        }
        if let Some(links) = obj.get("links") {
            for (name, l) in object_at("links", links)? {
                let link = LinkDef::from_json(&format!("links.{name}"), l)?;
                s.links.insert(name.clone(), link);
            }
        }
        match obj.get("rooms") {
            None | Some(Value::Null) => {}
            Some(r) => s.rooms = object_at("rooms", r)?.clone(),
        }
        Ok(s)
    }

    /// Checks the rules the server enforces on a pushed schema: cascade only on a
    /// `has: "one"` side, no label defined twice on one namespace.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] with the server's wording.
    pub fn validate(&self) -> Result<(), Error> {
        let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
        for (ns, e) in &self.entities {
            for label in e.attrs.keys() {
                seen.insert(
                    (ns.clone(), label.clone()),
                    format!("entities.{ns}.attrs.{label}"),
                );
            }
        }
        for (name, l) in &self.links {
            for (side, which) in [(&l.forward, "forward"), (&l.reverse, "reverse")] {
                if side.on_delete.is_some() && side.has != Has::One {
                    return Err(Error::schema(
                        format!("links.{name}.{which}"),
                        "Cascade delete is only possible on links with `has: 'one'`",
                    ));
                }
                let key = (side.on.clone(), side.label.clone());
                if let Some(prev) = seen.insert(key, format!("links.{name}.{which}")) {
                    return Err(Error::schema(
                        format!("links.{name}.{which}"),
                        format!(
                            "{}->{}: Duplicate entry found for attribute (also at {prev})",
                            side.on, side.label
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

crate::json_serde!(Schema);

/// `v` as an object, or an [`Error::InvalidSchema`] at `path`.
pub(crate) fn object_at<'a>(path: &str, v: &'a Value) -> Result<&'a Map<String, Value>, Error> {
    v.as_object()
        .ok_or_else(|| Error::schema(path, format!("expected an object, got {v}")))
}
