//! The server's attribute model (`InstantDBAttr`, spec `schema-and-platform.md`
//! B.1), as schema pulls, backups and `add-attr` steps carry it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AttrDef, Has, LinkDef, LinkSide, OnDelete, ValueType};
use crate::{Error, Id};

/// `[identId, etype, label]`: one name of an attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity(pub Id, pub String, pub String);

impl Identity {
    /// The namespace (etype).
    pub fn etype(&self) -> &str {
        &self.1
    }
    /// The label.
    pub fn label(&self) -> &str {
        &self.2
    }
}

/// One server attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerAttr {
    /// Attribute id.
    pub id: Id,
    /// `[identId, etype, label]` of the forward name.
    #[serde(rename = "forward-identity")]
    pub forward_identity: Identity,
    /// The reverse name, for refs (links).
    #[serde(
        rename = "reverse-identity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reverse_identity: Option<Identity>,
    /// `"blob"` (a value) or `"ref"` (a link).
    #[serde(rename = "value-type")]
    pub value_type: String,
    /// `"one"` or `"many"`.
    pub cardinality: String,
    /// `unique?`.
    #[serde(rename = "unique?", default)]
    pub unique: bool,
    /// `index?`.
    #[serde(rename = "index?", default)]
    pub index: bool,
    /// `required?`.
    #[serde(rename = "required?", default)]
    pub required: bool,
    /// `checked-data-type`: `string|number|boolean|date` when typed.
    #[serde(
        rename = "checked-data-type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub checked_data_type: Option<String>,
    /// `on-delete` (`cascade`).
    #[serde(rename = "on-delete", default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
    /// `on-delete-reverse` (`cascade`).
    #[serde(
        rename = "on-delete-reverse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub on_delete_reverse: Option<String>,
    /// `inferred-types`.
    #[serde(rename = "inferred-types", default)]
    pub inferred_types: Option<Vec<String>>,
    /// `catalog`: `system` or `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
}

impl ServerAttr {
    /// Decodes one attr object.
    ///
    /// # Errors
    /// [`Error::Decode`] naming the problem.
    pub fn from_json(v: &Value) -> Result<Self, Error> {
        serde_json::from_value(v.clone()).map_err(|e| Error::Decode {
            path: "attr".into(),
            message: e.to_string(),
        })
    }

    /// True for a link attribute.
    pub fn is_ref(&self) -> bool {
        self.value_type == "ref"
    }

    /// True for attributes of the system catalog.
    pub fn is_system(&self) -> bool {
        self.catalog.as_deref() == Some("system")
    }

    /// The client attr definition of a blob attr.
    pub fn to_attr_def(&self) -> AttrDef {
        AttrDef {
            value_type: self
                .checked_data_type
                .as_deref()
                .and_then(ValueType::parse)
                .unwrap_or(ValueType::Json),
            required: self.required,
            indexed: self.index,
            unique: self.unique,
            metadata: None,
        }
    }

    /// The link definition of a ref attr: `(cardinality, unique?)` →
    /// `(forward.has, reverse.has)` as in spec B.2.
    pub fn to_link_def(&self) -> Option<LinkDef> {
        let rev = self.reverse_identity.as_ref()?;
        let fwd_has = if self.cardinality == "one" {
            Has::One
        } else {
            Has::Many
        };
        let rev_has = if self.unique { Has::One } else { Has::Many };
        let cascade = |s: &Option<String>| s.as_deref().map(|_| OnDelete::Cascade);
        Some(LinkDef {
            forward: LinkSide {
                on: self.forward_identity.1.clone(),
                has: fwd_has,
                label: self.forward_identity.2.clone(),
                required: self.required,
                on_delete: cascade(&self.on_delete),
            },
            reverse: LinkSide {
                on: rev.1.clone(),
                has: rev_has,
                label: rev.2.clone(),
                required: false,
                on_delete: cascade(&self.on_delete_reverse),
            },
        })
    }
}
