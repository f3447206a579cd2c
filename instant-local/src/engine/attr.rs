//! The attribute model (Instant's `attrs` rows): forward/reverse identities, value
//! type, cardinality, unique/indexed/required flags, checked data type and cascade
//! settings; plus the system catalog (`$users`, `$files`) and schema-to-attr
//! conversion (spec `schema-and-platform.md` A.6, B.1).

use instant_core::{Schema, ValueType};
use serde_json::{json, Value};
use uuid::Uuid;

/// One attribute of an app.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// Attribute id.
    pub id: Uuid,
    /// Id of the forward identity.
    pub fwd_ident: Uuid,
    /// Namespace owning the attribute.
    pub ns: String,
    /// Label on the owning namespace.
    pub label: String,
    /// For links: (identity id, reverse namespace, reverse label).
    pub rev: Option<(Uuid, String, String)>,
    /// `value-type: ref`.
    pub is_ref: bool,
    /// `cardinality: many`.
    pub many: bool,
    /// `unique?`.
    pub unique: bool,
    /// `index?`.
    pub indexed: bool,
    /// `required?`.
    pub required: bool,
    /// `checked-data-type` (never `Json`).
    pub checked: Option<ValueType>,
    /// `on-delete: cascade` (deleting the reverse-side entity deletes forward-side ones).
    pub on_delete: bool,
    /// `on-delete-reverse: cascade`.
    pub on_delete_reverse: bool,
    /// System catalog attr (`$users`, `$files`).
    pub system: bool,
    /// JSON types seen in writes (bit set, see [`inferred_bit`]).
    pub inferred: u8,
}

/// Days a soft-deleted attribute is kept (and listed by
/// `GET /admin/soft_deleted_attrs`) before it is gone for good: the official
/// `grace-period-days` (`server/src/instant/hard_deletion_sweeper.clj`).
pub const SOFT_DELETE_GRACE_PERIOD_DAYS: i64 = 2;

/// The marker between an attr id and the original name of a soft-deleted
/// attribute's namespace or label (`<attr id>_deleted$<name>`).
pub const DELETED_MARKER: &str = "_deleted$";

/// The `inferred-types` bit for a value.
pub fn inferred_bit(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 4,
        _ => 8,
    }
}

impl Attr {
    /// A plain blob attr (cardinality one, not unique/indexed, untyped).
    pub fn blob(ns: &str, label: &str) -> Attr {
        Attr {
            id: Uuid::new_v4(),
            fwd_ident: Uuid::new_v4(),
            ns: ns.to_string(),
            label: label.to_string(),
            rev: None,
            is_ref: false,
            many: false,
            unique: false,
            indexed: false,
            required: false,
            checked: None,
            on_delete: false,
            on_delete_reverse: false,
            system: false,
            inferred: 0,
        }
    }

    /// The `id` attr of a namespace (unique blob).
    pub fn id_attr(ns: &str) -> Attr {
        Attr {
            unique: true,
            ..Attr::blob(ns, "id")
        }
    }

    /// A ref attr `ns.label` ↔ `rev_ns.rev_label`.
    pub fn link(ns: &str, label: &str, rev_ns: &str, rev_label: &str) -> Attr {
        Attr {
            rev: Some((Uuid::new_v4(), rev_ns.to_string(), rev_label.to_string())),
            is_ref: true,
            many: true,
            ..Attr::blob(ns, label)
        }
    }

    /// True for the `id` attr of its namespace.
    pub fn is_id(&self) -> bool {
        self.label == "id" && !self.is_ref
    }

    /// Reverse namespace (links only).
    pub fn rev_ns(&self) -> Option<&str> {
        self.rev.as_ref().map(|r| r.1.as_str())
    }

    /// The server's JSON form (`InstantDBAttr`, spec B.1).
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert(
            "forward-identity".into(),
            json!([self.fwd_ident.to_string(), self.ns, self.label]),
        );
        if let Some((id, ns, label)) = &self.rev {
            m.insert(
                "reverse-identity".into(),
                json!([id.to_string(), ns, label]),
            );
        }
        m.insert(
            "value-type".into(),
            json!(if self.is_ref { "ref" } else { "blob" }),
        );
        m.insert(
            "cardinality".into(),
            json!(if self.many { "many" } else { "one" }),
        );
        m.insert("unique?".into(), json!(self.unique));
        m.insert("index?".into(), json!(self.indexed));
        m.insert("required?".into(), json!(self.required));
        if let Some(t) = self.checked {
            m.insert("checked-data-type".into(), json!(t.as_str()));
        }
        if self.on_delete {
            m.insert("on-delete".into(), json!("cascade"));
        }
        if self.on_delete_reverse {
            m.insert("on-delete-reverse".into(), json!("cascade"));
        }
        let mut inferred = Vec::new();
        for (bit, name) in [(1u8, "number"), (2, "string"), (4, "boolean"), (8, "json")] {
            if self.inferred & bit != 0 {
                inferred.push(json!(name));
            }
        }
        m.insert(
            "inferred-types".into(),
            if inferred.is_empty() {
                Value::Null
            } else {
                Value::Array(inferred)
            },
        );
        m.insert(
            "catalog".into(),
            json!(if self.system { "system" } else { "user" }),
        );
        Value::Object(m)
    }

    /// The attribute as Instant keeps it once soft-deleted
    /// (`server/src/instant/db/model/attr.clj` soft-delete-multi!): namespaces
    /// and labels (forward and reverse) prefixed with `<attr id>_deleted$`, not
    /// indexed and not required, with `metadata.soft_delete_snapshot` holding
    /// `is_indexed`, `is_required` before deletion and `id_attr_id`, the `id`
    /// attribute of its namespace (`None` when it has none). The server's
    /// `deletion-marked-at` is added by the caller.
    pub fn soft_deleted_json(&self, id_attr_id: Option<Uuid>) -> Value {
        let brand = |s: &str| format!("{}{DELETED_MARKER}{s}", self.id);
        let deleted = Attr {
            ns: brand(&self.ns),
            label: brand(&self.label),
            rev: self.rev.as_ref().map(|(i, n, l)| (*i, brand(n), brand(l))),
            indexed: false,
            required: false,
            ..self.clone()
        };
        let mut v = deleted.to_json();
        v["metadata"] = json!({"soft_delete_snapshot": {
            "is_indexed": self.indexed,
            "is_required": self.required,
            "id_attr_id": id_attr_id.map(|u| u.to_string()),
        }});
        v
    }

    /// Decodes a server attr object (an `add-attr` step or a stored row).
    pub fn from_server_json(v: &Value) -> Result<Attr, String> {
        let a = instant_core::schema::ServerAttr::from_json(v).map_err(|e| e.to_string())?;
        let is_ref = match a.value_type.as_str() {
            "ref" => true,
            "blob" => false,
            other => return Err(format!("unknown value-type {other}")),
        };
        let many = match a.cardinality.as_str() {
            "many" => true,
            "one" => false,
            other => return Err(format!("unknown cardinality {other}")),
        };
        if is_ref && a.reverse_identity.is_none() {
            return Err("a ref attr needs a reverse-identity".into());
        }
        let checked = match a.checked_data_type.as_deref() {
            None => None,
            Some(s) => match ValueType::parse(s) {
                Some(ValueType::Json) => None,
                Some(t) => Some(t),
                None => return Err(format!("unknown checked-data-type {s}")),
            },
        };
        Ok(Attr {
            id: a.id.0,
            fwd_ident: a.forward_identity.0 .0,
            ns: a.forward_identity.1.clone(),
            label: a.forward_identity.2.clone(),
            rev: a
                .reverse_identity
                .as_ref()
                .map(|r| (r.0 .0, r.1.clone(), r.2.clone())),
            is_ref,
            many,
            unique: a.unique,
            indexed: a.index,
            required: a.required,
            checked,
            on_delete: a.on_delete.is_some(),
            on_delete_reverse: a.on_delete_reverse.is_some(),
            system: false,
            inferred: 0,
        })
    }
}

fn sys_id(name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("instant-local:system:{name}").as_bytes(),
    )
}

fn sys_blob(
    ns: &str,
    label: &str,
    t: Option<ValueType>,
    unique: bool,
    indexed: bool,
    required: bool,
) -> Attr {
    Attr {
        id: sys_id(&format!("{ns}.{label}")),
        fwd_ident: sys_id(&format!("{ns}.{label}/ident")),
        checked: t,
        unique,
        indexed,
        required,
        system: true,
        ..Attr::blob(ns, label)
    }
}

/// The system catalog attributes every app has (spec `instaql.md` §10): `$users`
/// (`id`, `email`, `type`, `imageURL`, `linkedPrimaryUser`) and `$files` (`id`,
/// `path`, `size`, `content-type`, `content-disposition`, `location-id`,
/// `key-version`, `url`). Their ids are fixed.
pub fn system_attrs() -> Vec<Attr> {
    use ValueType::*;
    let mut v = vec![
        sys_blob("$users", "id", None, true, true, false),
        sys_blob("$users", "email", Some(String), true, true, false),
        sys_blob("$users", "type", Some(String), false, false, false),
        sys_blob("$users", "imageURL", Some(String), false, false, false),
        sys_blob("$files", "id", None, true, true, false),
        sys_blob("$files", "path", Some(String), true, true, true),
        sys_blob("$files", "size", Some(Number), false, true, true),
        sys_blob("$files", "content-type", Some(String), false, true, false),
        sys_blob(
            "$files",
            "content-disposition",
            Some(String),
            false,
            true,
            false,
        ),
        sys_blob("$files", "location-id", Some(String), true, false, true),
        sys_blob("$files", "key-version", Some(Number), false, false, false),
        sys_blob("$files", "url", Some(String), false, false, false),
    ];
    let mut link = Attr {
        id: sys_id("$users.linkedPrimaryUser"),
        fwd_ident: sys_id("$users.linkedPrimaryUser/ident"),
        system: true,
        many: false,
        on_delete: true,
        ..Attr::link("$users", "linkedPrimaryUser", "$users", "linkedGuestUsers")
    };
    if let Some(r) = link.rev.as_mut() {
        r.0 = sys_id("$users.linkedGuestUsers/ident");
    }
    v.push(link);
    v
}

/// Attributes of `$files` that transactions may not write (all but `path` and `id`).
pub fn is_readonly_system_column(a: &Attr) -> bool {
    a.system && a.ns == "$files" && a.label != "path" && a.label != "id"
}

/// Reserved system labels a schema push silently drops.
pub fn is_reserved(ns: &str, label: &str) -> bool {
    system_attrs().iter().any(|a| {
        (a.ns == ns && a.label == label)
            || a.rev.as_ref().is_some_and(|r| r.1 == ns && r.2 == label)
    }) || (ns == "$streams" && label == "$files")
        || (ns == "$files" && label == "$stream")
}

/// Converts a client schema into attrs (A.6): blob attrs for entity attrs (typed
/// unless json/any), ref attrs for links; reserved system attrs are dropped; a
/// namespace with no attrs gets no `id` attr.
pub fn attrs_from_schema(schema: &Schema) -> Vec<Attr> {
    let mut out = Vec::new();
    for (ns, def) in &schema.entities {
        let mut any = false;
        for (label, a) in &def.attrs {
            if label == "id" || is_reserved(ns, label) {
                continue;
            }
            any = true;
            out.push(Attr {
                unique: a.unique,
                indexed: a.indexed,
                required: a.required,
                checked: if a.value_type.is_checked() {
                    Some(a.value_type)
                } else {
                    None
                },
                ..Attr::blob(ns, label)
            });
        }
        if any && !ns.starts_with('$') {
            out.push(Attr::id_attr(ns));
        }
    }
    for l in schema.links.values() {
        if is_reserved(&l.forward.on, &l.forward.label) {
            continue;
        }
        out.push(Attr {
            many: l.forward.has == instant_core::Has::Many,
            unique: l.reverse.has == instant_core::Has::One,
            required: l.forward.required,
            on_delete: l.forward.on_delete.is_some(),
            on_delete_reverse: l.reverse.on_delete.is_some(),
            ..Attr::link(
                &l.forward.on,
                &l.forward.label,
                &l.reverse.on,
                &l.reverse.label,
            )
        });
    }
    out
}
