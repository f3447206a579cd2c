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

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::Error;

pub mod attr;
pub use attr::{Identity, ServerAttr};

/// An attribute's value type (`valueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `string`.
    String,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
    /// `date` (ISO string or epoch ms).
    Date,
    /// `json` (untyped; the server's `any`).
    Json,
}

impl ValueType {
    /// The wire name (`"string"`, ..., `"json"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::Date => "date",
            ValueType::Json => "json",
        }
    }

    /// Parses a wire name; `"any"` (what servers report for untyped attributes) is
    /// [`ValueType::Json`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => ValueType::String,
            "number" => ValueType::Number,
            "boolean" => ValueType::Boolean,
            "date" => ValueType::Date,
            "json" | "any" => ValueType::Json,
            _ => return None,
        })
    }

    /// True for the types the server checks (`checked-data-type`): all but json.
    pub fn is_checked(self) -> bool {
        self != ValueType::Json
    }
}

/// One attribute definition (`DataAttrDef`).
#[derive(Debug, Clone, PartialEq)]
pub struct AttrDef {
    /// The value type.
    pub value_type: ValueType,
    /// `required` (attributes are required by default, as with `i.string()`).
    pub required: bool,
    /// `config.indexed`.
    pub indexed: bool,
    /// `config.unique`.
    pub unique: bool,
    /// `metadata` (ignored by servers).
    pub metadata: Option<Value>,
}

impl AttrDef {
    /// A required attribute of type `t`, not indexed, not unique.
    pub fn new(t: ValueType) -> Self {
        AttrDef {
            value_type: t,
            required: true,
            indexed: false,
            unique: false,
            metadata: None,
        }
    }
    /// `i.string()`.
    pub fn string() -> Self {
        Self::new(ValueType::String)
    }
    /// `i.number()`.
    pub fn number() -> Self {
        Self::new(ValueType::Number)
    }
    /// `i.boolean()`.
    pub fn boolean() -> Self {
        Self::new(ValueType::Boolean)
    }
    /// `i.date()`.
    pub fn date() -> Self {
        Self::new(ValueType::Date)
    }
    /// `i.json()`.
    pub fn json() -> Self {
        Self::new(ValueType::Json)
    }
    /// `.optional()`.
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    /// `.indexed()`.
    pub fn indexed(mut self) -> Self {
        self.indexed = true;
        self
    }
    /// `.unique()`.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// `{"valueType", "required", "isIndexed", "config": {"indexed", "unique"}, "metadata"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "valueType": self.value_type.as_str(),
            "required": self.required,
            "isIndexed": self.indexed,
            "config": {"indexed": self.indexed, "unique": self.unique},
            "metadata": self.metadata.clone().unwrap_or_else(|| json!({})),
        })
    }

    /// Decodes a `DataAttrDef` at `path`.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] for a missing or unknown `valueType`.
    pub fn from_json(path: &str, v: &Value) -> Result<Self, Error> {
        let vt = v
            .get("valueType")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::schema(path, "missing valueType"))?;
        let value_type = ValueType::parse(vt)
            .ok_or_else(|| Error::schema(path, format!("unknown valueType `{vt}`")))?;
        let config = v.get("config");
        let flag = |k: &str| config.and_then(|c| c.get(k)).and_then(Value::as_bool);
        Ok(AttrDef {
            value_type,
            required: v.get("required").and_then(Value::as_bool).unwrap_or(false),
            indexed: flag("indexed")
                .or_else(|| v.get("isIndexed").and_then(Value::as_bool))
                .unwrap_or(false),
            unique: flag("unique").unwrap_or(false),
            metadata: v
                .get("metadata")
                .filter(|m| !m.is_null() && m.as_object().is_none_or(|o| !o.is_empty()))
                .cloned(),
        })
    }
}

/// One entity (namespace) definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntityDef {
    /// Attributes by label (never `id`).
    pub attrs: BTreeMap<String, AttrDef>,
}

impl EntityDef {
    /// An entity with no attributes yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an attribute.
    pub fn attr(mut self, label: impl Into<String>, def: AttrDef) -> Self {
        self.attrs.insert(label.into(), def);
        self
    }
}

/// `has`: how many of the other side one entity of this side links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Has {
    /// `"one"`.
    One,
    /// `"many"`.
    Many,
}

impl Has {
    /// `"one"` or `"many"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Has::One => "one",
            Has::Many => "many",
        }
    }
}

/// `onDelete` of a link side (only `cascade` exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// `"cascade"`.
    Cascade,
}

/// One side of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSide {
    /// The namespace this side is on.
    pub on: String,
    /// How many of the other side it links to.
    pub has: Has,
    /// The label seen from this namespace.
    pub label: String,
    /// `required: true` (forward side only).
    pub required: bool,
    /// `onDelete: "cascade"` (only where `has` is one).
    pub on_delete: Option<OnDelete>,
}

impl LinkSide {
    /// A side on `on` labelled `label` with `has: "one"`.
    pub fn one(on: impl Into<String>, label: impl Into<String>) -> Self {
        LinkSide {
            on: on.into(),
            has: Has::One,
            label: label.into(),
            required: false,
            on_delete: None,
        }
    }
    /// A side with `has: "many"`.
    pub fn many(on: impl Into<String>, label: impl Into<String>) -> Self {
        LinkSide {
            has: Has::Many,
            ..Self::one(on, label)
        }
    }
    /// `required: true`.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// `onDelete: "cascade"`.
    pub fn cascade(mut self) -> Self {
        self.on_delete = Some(OnDelete::Cascade);
        self
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("on".into(), self.on.clone().into());
        m.insert("has".into(), self.has.as_str().into());
        m.insert("label".into(), self.label.clone().into());
        if self.required {
            m.insert("required".into(), true.into());
        }
        if self.on_delete.is_some() {
            m.insert("onDelete".into(), "cascade".into());
        }
        Value::Object(m)
    }

    fn from_json(path: &str, v: &Value) -> Result<Self, Error> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| Error::schema(path, format!("missing `{k}`")))
        };
        let has = match s("has")?.as_str() {
            "one" => Has::One,
            "many" => Has::Many,
            other => {
                return Err(Error::schema(
                    path,
                    format!("`has` must be one or many, got {other}"),
                ))
            }
        };
        let on_delete = match v.get("onDelete") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "cascade" => Some(OnDelete::Cascade),
            Some(other) => return Err(Error::schema(path, format!("unknown onDelete {other}"))),
        };
        Ok(LinkSide {
            on: s("on")?,
            has,
            label: s("label")?,
            required: v.get("required").and_then(Value::as_bool).unwrap_or(false),
            on_delete,
        })
    }
}

/// A link, declared once with both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDef {
    /// The forward side (owns the link attribute).
    pub forward: LinkSide,
    /// The reverse side.
    pub reverse: LinkSide,
}

impl LinkDef {
    /// A link from `forward` to `reverse`.
    pub fn new(forward: LinkSide, reverse: LinkSide) -> Self {
        LinkDef { forward, reverse }
    }

    /// The link name the Platform SDK derives from a pulled schema:
    /// `forward.on + Capitalized(forward.label)` (e.g. `postsAuthor`).
    pub fn derived_name(&self) -> String {
        let mut c = self.forward.label.chars();
        let cap: String = match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        };
        format!("{}{}", self.forward.on, cap)
    }
}

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

    /// The schema JSON the Platform API takes. Each entity also lists its links
    /// (`{"entityName", "cardinality"}` per label), as `i.schema` derives them.
    pub fn to_json(&self) -> Value {
        let mut entities = Map::new();
        let mut names: Vec<&String> = self.entities.keys().collect();
        for l in self.links.values() {
            for side in [&l.forward.on, &l.reverse.on] {
                if !names.contains(&side) {
                    names.push(side);
                }
            }
        }
        for ns in names {
            let attrs: Map<String, Value> = self
                .entities
                .get(ns)
                .map(|e| {
                    e.attrs
                        .iter()
                        .map(|(k, a)| (k.clone(), a.to_json()))
                        .collect()
                })
                .unwrap_or_default();
            let mut links = Map::new();
            for l in self.links.values() {
                if &l.forward.on == ns {
                    links.insert(
                        l.forward.label.clone(),
                        json!({"entityName": l.reverse.on, "cardinality": l.forward.has.as_str()}),
                    );
                }
                if &l.reverse.on == ns {
                    links.insert(
                        l.reverse.label.clone(),
                        json!({"entityName": l.forward.on, "cardinality": l.reverse.has.as_str()}),
                    );
                }
            }
            if self.entities.contains_key(ns) {
                entities.insert(ns.clone(), json!({"attrs": attrs, "links": links}));
            }
        }
        let links: Map<String, Value> = self
            .links
            .iter()
            .map(|(k, l)| {
                (
                    k.clone(),
                    json!({"forward": l.forward.to_json(), "reverse": l.reverse.to_json()}),
                )
            })
            .collect();
        json!({"entities": entities, "links": links, "rooms": self.rooms})
    }

    /// Decodes a client schema.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] naming the path of the first bad entry.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::schema("", "the schema must be an object"))?;
        let mut s = Schema::new();
        if let Some(ents) = obj.get("entities") {
            let ents = ents
                .as_object()
                .ok_or_else(|| Error::schema("entities", "must be an object"))?;
            for (ns, e) in ents {
                let mut def = EntityDef::new();
                if let Some(attrs) = e.get("attrs") {
                    let attrs = attrs.as_object().ok_or_else(|| {
                        Error::schema(format!("entities.{ns}.attrs"), "must be an object")
                    })?;
                    for (label, a) in attrs {
                        def.attrs.insert(
                            label.clone(),
                            AttrDef::from_json(&format!("entities.{ns}.attrs.{label}"), a)?,
                        );
                    }
                }
                s.entities.insert(ns.clone(), def);
            }
        }
        if let Some(links) = obj.get("links") {
            let links = links
                .as_object()
                .ok_or_else(|| Error::schema("links", "must be an object"))?;
            for (name, l) in links {
                let p = format!("links.{name}");
                let side = |k: &str| {
                    l.get(k)
                        .ok_or_else(|| Error::schema(&p, format!("missing `{k}`")))
                        .and_then(|x| LinkSide::from_json(&format!("{p}.{k}"), x))
                };
                s.links.insert(
                    name.clone(),
                    LinkDef::new(side("forward")?, side("reverse")?),
                );
            }
        }
        if let Some(Value::Object(r)) = obj.get("rooms") {
            s.rooms = r.clone();
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

    /// Converts a pulled schema (`{"blobs", "refs"}`, Part B.2) to a client schema
    /// the way the Platform SDK does: untyped attrs become `json`, `required?`
    /// false becomes optional, link names are derived from the forward side.
    /// System namespaces are kept only when they carry user attributes or links.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when an attr cannot be decoded.
    pub fn from_pull(v: &Value) -> Result<Self, Error> {
        let v = v.get("schema").unwrap_or(v);
        let mut s = Schema::new();
        if let Some(Value::Object(blobs)) = v.get("blobs") {
            for (ns, attrs) in blobs {
                let mut def = EntityDef::new();
                if let Value::Object(attrs) = attrs {
                    for (label, a) in attrs {
                        if label == "id" {
                            continue;
                        }
                        let attr = ServerAttr::from_json(a)?;
                        if attr.is_system() {
                            continue;
                        }
                        def.attrs.insert(label.clone(), attr.to_attr_def());
                    }
                }
                if !ns.starts_with('$') || !def.attrs.is_empty() {
                    s.entities.insert(ns.clone(), def);
                }
            }
        }
        if let Some(Value::Object(refs)) = v.get("refs") {
            for a in refs.values() {
                let attr = ServerAttr::from_json(a)?;
                if attr.is_system() {
                    continue;
                }
                if let Some(l) = attr.to_link_def() {
                    s.links.insert(l.derived_name(), l);
                }
            }
        }
        Ok(s)
    }
}

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Schema::from_json(&v).map_err(serde::de::Error::custom)
    }
}
