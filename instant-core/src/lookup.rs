//! Lookups: addressing an entity by a unique attribute instead of its id.
//!
//! Wire forms (`instaml-steps.md` §3, `client/packages/core/src/instatx.ts`,
//! `server/src/instant/admin/model.clj`):
//! - in a step's entity slot the JS SDK sends the pair `["email", "a@b.co"]`; the
//!   server also accepts `{"email": "a@b.co"}` and the encoded string;
//! - inside link/unlink values (where an array means "several ids") the encoded
//!   string `lookup__email__"a@b.co"` (attribute, `__`, the value's JSON text).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::{AttrValue, Error, Id};

const PREFIX: &str = "lookup__";

/// "The entity of this namespace whose unique attribute `attr` equals `value`."
///
/// ```
/// use instant_core::Lookup;
/// let l = Lookup::new("email", "a@b.co").unwrap();
/// assert_eq!(l.encode(), r#"lookup__email__"a@b.co""#);
/// assert_eq!(Lookup::decode(&l.encode()).unwrap(), l);
/// assert!(Lookup::new("", "x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    attr: String,
    value: Value,
}

impl Lookup {
    /// A lookup on `attr` (a unique attribute, or `<link>.id` for a ref lookup) for
    /// `value` (a string, number or boolean).
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] when `attr` is empty, contains `__` or ends with
    /// `_` (which the encoded form cannot carry), or `value` is null, an object or
    /// an array;
    /// [`Error::NonFiniteNumber`] for NaN/infinite floats.
    pub fn new(attr: impl Into<String>, value: impl AttrValue) -> Result<Self, Error> {
        let attr = attr.into();
        let value = value.to_attr_json()?;
        Self::from_parts(attr, value)
    }

    fn from_parts(attr: String, value: Value) -> Result<Self, Error> {
        if attr.is_empty() {
            return Err(Error::InvalidLookup("the lookup attribute is empty".into()));
        }
        // The encoded form `lookup__<attr>__<json>` is split at the first `__`
        // after the prefix (the server's `parse-lookup`), so an attribute that
        // contains `__` or ends with `_` cannot survive it.
        if attr.contains("__") || attr.ends_with('_') {
            return Err(Error::InvalidLookup(format!(
                "lookup attribute `{attr}` contains `__` or ends with `_`, which the encoded form `lookup__<attr>__<json>` cannot carry"
            )));
        }
        match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(Lookup { attr, value }),
            other => Err(Error::InvalidLookup(format!(
                "lookup value for `{attr}` must be a string, number or boolean, got {other}"
            ))),
        }
    }

    /// The attribute label (`email`, or `owner.id` for a ref lookup).
    pub fn attr(&self) -> &str {
        &self.attr
    }

    /// The value looked up: a JSON string, number or boolean.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The encoded string form used inside link values: `lookup__<attr>__<json>`.
    pub fn encode(&self) -> String {
        format!("{PREFIX}{}__{}", self.attr, self.value)
    }

    /// True when `s` starts with the encoded-lookup prefix `lookup__` (the server's
    /// `lookup?`).
    pub fn is_encoded(s: &str) -> bool {
        s.starts_with(PREFIX)
    }

    /// Parses the encoded string form.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] when the prefix, attribute or JSON value is missing
    /// or invalid ("lookup value is invalid", as the server says).
    pub fn decode(s: &str) -> Result<Self, Error> {
        let rest = s
            .strip_prefix(PREFIX)
            .ok_or_else(|| Error::InvalidLookup(format!("`{s}` is not an encoded lookup")))?;
        let (attr, json) = rest
            .split_once("__")
            .ok_or_else(|| Error::InvalidLookup("lookup value is invalid".into()))?;
        let value: Value = serde_json::from_str(json)
            .map_err(|_| Error::InvalidLookup("lookup value is invalid".into()))?;
        Self::from_parts(attr.to_string(), value)
    }

    /// The pair form `[attr, value]` the JS SDK sends in a step's entity slot.
    pub fn to_pair(&self) -> Value {
        Value::Array(vec![Value::String(self.attr.clone()), self.value.clone()])
    }
}

/// What a step's entity slot or a link value points at: an id or a lookup.
///
/// The two positions have different wire forms for lookups:
/// [`EntityRef::to_slot_json`] gives `["email", "a@b.co"]` (what the JS SDK puts
/// in index 2 of a step), [`EntityRef::to_link_json`] gives
/// `"lookup__email__\"a@b.co\""`. Serde uses the slot form.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityRef {
    /// A plain entity id.
    Id(Id),
    /// A lookup by unique attribute.
    Lookup(Lookup),
}

impl EntityRef {
    /// JSON for the entity slot (index 2 of a step): id string or `[attr, value]`.
    pub fn to_slot_json(&self) -> Value {
        match self {
            EntityRef::Id(id) => Value::String(id.to_string()),
            EntityRef::Lookup(l) => l.to_pair(),
        }
    }

    /// JSON for a link value: id string or `lookup__…` string.
    pub fn to_link_json(&self) -> Value {
        match self {
            EntityRef::Id(id) => Value::String(id.to_string()),
            EntityRef::Lookup(l) => Value::String(l.encode()),
        }
    }

    /// Decodes an entity slot: a UUID string, `[attr, value]`, `{attr: value}` or an
    /// encoded lookup string (the server's `::lookup` spec in
    /// `server/src/instant/admin/model.clj`).
    ///
    /// # Errors
    /// [`Error::InvalidId`] for anything else (the server's "Invalid entity ID"),
    /// [`Error::InvalidLookup`] for malformed lookups (empty attribute, null or
    /// structured value, an object without exactly one entry: "lookup must be an
    /// object with a single unique attr and value.").
    pub fn from_slot_json(v: &Value) -> Result<Self, Error> {
        match v {
            Value::String(s) if Lookup::is_encoded(s) => Lookup::decode(s).map(EntityRef::Lookup),
            Value::String(s) => Id::parse(s).map(EntityRef::Id),
            Value::Array(a) => match a.as_slice() {
                [Value::String(attr), value] => {
                    Lookup::from_parts(attr.clone(), value.clone()).map(EntityRef::Lookup)
                }
                _ => Err(Error::InvalidId(v.to_string())),
            },
            Value::Object(m) => single_entry_lookup(m).map(EntityRef::Lookup),
            other => Err(Error::InvalidId(other.to_string())),
        }
    }

    /// Decodes one link target: a UUID string, an encoded lookup string, or (as an
    /// element of a target array) a `[attr, value]` pair or a single-entry
    /// `{attr: value}` object — the forms `expand-link` in
    /// `server/src/instant/admin/model.clj` resolves.
    ///
    /// # Errors
    /// [`Error::InvalidId`] / [`Error::InvalidLookup`].
    pub fn from_link_json(v: &Value) -> Result<Self, Error> {
        match v {
            Value::String(_) | Value::Array(_) | Value::Object(_) => Self::from_slot_json(v),
            other => Err(Error::InvalidId(other.to_string())),
        }
    }

    /// The id, when this is not a lookup.
    pub fn as_id(&self) -> Option<Id> {
        match self {
            EntityRef::Id(id) => Some(*id),
            EntityRef::Lookup(_) => None,
        }
    }
}

impl From<Id> for EntityRef {
    fn from(id: Id) -> Self {
        EntityRef::Id(id)
    }
}

impl From<Lookup> for EntityRef {
    fn from(l: Lookup) -> Self {
        EntityRef::Lookup(l)
    }
}

impl Serialize for EntityRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_slot_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for EntityRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        EntityRef::from_slot_json(&v).map_err(serde::de::Error::custom)
    }
}

/// The value of one label in a link/unlink step: one target (sent as a scalar) or
/// several (sent as an array), exactly as given — the JS SDK keeps the shape
/// (`captured-requests.md` 1.2: "A single link id stays a scalar; an array stays an
/// array"). Lookups travel as `lookup__…` strings here, because an array in a link
/// value always means "several targets" (`instaml-steps.md` §3.3).
#[derive(Debug, Clone, PartialEq)]
pub enum LinkTargets {
    /// A single target (`"todos": "<id>"`).
    One(EntityRef),
    /// Several targets (`"todos": ["<id>", ...]`).
    Many(Vec<EntityRef>),
}

impl LinkTargets {
    /// JSON for the link value.
    pub fn to_json(&self) -> Value {
        match self {
            LinkTargets::One(r) => r.to_link_json(),
            LinkTargets::Many(rs) => Value::Array(rs.iter().map(EntityRef::to_link_json).collect()),
        }
    }

    /// Decodes a link value: a scalar target, an array of targets (ids, encoded
    /// lookups, `[attr, value]` pairs or single-entry objects), or an object whose
    /// every entry is one lookup (`{"email": "x"}`, as the server reads it). A
    /// one-entry object decodes to [`LinkTargets::One`], any other object to
    /// [`LinkTargets::Many`]; encoding then uses the canonical `lookup__` strings.
    ///
    /// # Errors
    /// As [`EntityRef::from_link_json`].
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        match v {
            Value::Array(a) => a
                .iter()
                .map(EntityRef::from_link_json)
                .collect::<Result<Vec<_>, _>>()
                .map(LinkTargets::Many),
            Value::Object(m) => {
                let mut refs = m
                    .iter()
                    .map(|(k, x)| Lookup::from_parts(k.clone(), x.clone()).map(EntityRef::Lookup))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(match refs.pop() {
                    Some(only) if refs.is_empty() => LinkTargets::One(only),
                    Some(last) => {
                        refs.push(last);
                        LinkTargets::Many(refs)
                    }
                    None => LinkTargets::Many(refs),
                })
            }
            other => EntityRef::from_link_json(other).map(LinkTargets::One),
        }
    }

    /// All targets, in order.
    pub fn iter(&self) -> impl Iterator<Item = &EntityRef> {
        let s: &[EntityRef] = match self {
            LinkTargets::One(r) => std::slice::from_ref(r),
            LinkTargets::Many(rs) => rs,
        };
        s.iter()
    }
}

impl From<Id> for LinkTargets {
    fn from(id: Id) -> Self {
        LinkTargets::One(EntityRef::Id(id))
    }
}

impl From<Lookup> for LinkTargets {
    fn from(l: Lookup) -> Self {
        LinkTargets::One(EntityRef::Lookup(l))
    }
}

impl From<EntityRef> for LinkTargets {
    fn from(r: EntityRef) -> Self {
        LinkTargets::One(r)
    }
}

impl From<Vec<Id>> for LinkTargets {
    fn from(ids: Vec<Id>) -> Self {
        LinkTargets::Many(ids.into_iter().map(EntityRef::Id).collect())
    }
}

impl From<&[Id]> for LinkTargets {
    fn from(ids: &[Id]) -> Self {
        LinkTargets::Many(ids.iter().copied().map(EntityRef::Id).collect())
    }
}

impl<const N: usize> From<[Id; N]> for LinkTargets {
    fn from(ids: [Id; N]) -> Self {
        LinkTargets::Many(ids.into_iter().map(EntityRef::Id).collect())
    }
}

impl From<Vec<EntityRef>> for LinkTargets {
    fn from(rs: Vec<EntityRef>) -> Self {
        LinkTargets::Many(rs)
    }
}

/// The lookup of a `{attr: value}` object, which must have exactly one entry.
fn single_entry_lookup(m: &serde_json::Map<String, Value>) -> Result<Lookup, Error> {
    let mut entries = m.iter();
    match (entries.next(), entries.next()) {
        (Some((k, x)), None) => Lookup::from_parts(k.clone(), x.clone()),
        _ => Err(Error::InvalidLookup(
            "lookup must be an object with a single unique attr and value.".into(),
        )),
    }
}
