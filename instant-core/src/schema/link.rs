//! Link definitions of the client schema (`LinkDef`, spec
//! `schema-and-platform.md` A.4; `client/packages/core/src/schemaTypes.ts`).

use serde_json::{Map, Value};

use crate::Error;

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

    /// `{"on", "has", "label", "required"?, "onDelete"?}` (`required` and
    /// `onDelete` only when set, as `i.schema` writes them).
    pub fn to_json(&self) -> Value {
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

    /// Decodes one side at `path` (used in errors).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] for a missing `on`/`has`/`label`, a `has` other
    /// than `one`/`many`, or an `onDelete` other than `cascade`.
    pub fn from_json(path: &str, v: &Value) -> Result<Self, Error> {
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

    /// `{"forward": {...}, "reverse": {...}}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("forward".into(), self.forward.to_json());
        m.insert("reverse".into(), self.reverse.to_json());
        Value::Object(m)
    }

    /// Decodes a link at `path` (used in errors).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when a side is missing or malformed.
    pub fn from_json(path: &str, v: &Value) -> Result<Self, Error> {
        let side = |k: &str| {
            v.get(k)
                .ok_or_else(|| Error::schema(path, format!("missing `{k}`")))
                .and_then(|x| LinkSide::from_json(&format!("{path}.{k}"), x))
        };
        Ok(LinkDef::new(side("forward")?, side("reverse")?))
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
