//! Attribute definitions of the client schema (`DataAttrDef`, spec
//! `schema-and-platform.md` A.2–A.3; `client/packages/core/src/schemaTypes.ts`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::Error;

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

    /// Checks a value the way the server checks a typed attribute on write
    /// (`semantics.md` §5 "Type checking"): `string`/`number`/`boolean` accept
    /// that JSON type or `null`; `date` accepts `null`, epoch milliseconds or a
    /// date string [`crate::Date::parse`] reads; `json` accepts anything.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] with the server's wording, e.g. "Value must be a
    /// string but the provided value type is number."
    pub fn check(self, v: &Value) -> Result<(), Error> {
        let ok = match (self, v) {
            (ValueType::Json, _) | (_, Value::Null) => true,
            (ValueType::String, Value::String(_))
            | (ValueType::Number, Value::Number(_))
            | (ValueType::Boolean, Value::Bool(_))
            | (ValueType::Date, Value::Number(_)) => true,
            (ValueType::Date, Value::String(s)) => crate::Date::parse(s).is_ok(),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidValue(format!(
                "Value must be a {} but the provided value type is {}.",
                self.as_str(),
                crate::value::json_type_name(v)
            )))
        }
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
