//! Transaction `steps` (InstaML): the tuples sent to `POST /admin/transact`.
//!
//! `[action, namespace, entity, args, opts?]`, exactly as the JS builder records them
//! (`client/packages/core/src/instatx.ts`) and the server validates them
//! (`server/src/instant/admin/model.clj`, spec `instaml-steps.md` §2–§5).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::{EntityRef, Error, Id, JsonObject, LinkTargets};

mod request;
pub(crate) use request::{required_steps, steps_json};
pub use request::{TransactRequest, TransactResponse};

/// Options of `update` and `merge` (the optional fifth tuple element,
/// `UpdateOpts = {upsert?: boolean}` in `client/packages/core/src/schemaTypes.ts`).
///
/// Absent or `{"upsert": null}`: plain upsert; `{"upsert": true}`: upsert;
/// `{"upsert": false}`: the entity must exist ("Updating entities that don't
/// exist"). Unknown keys are ignored when decoding, as by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOpts {
    /// `Some(false)`: fail when the entity does not exist instead of creating it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upsert: Option<bool>,
}

impl UpdateOpts {
    /// `{"upsert": false}`: update only an existing entity.
    pub const NO_UPSERT: UpdateOpts = UpdateOpts {
        upsert: Some(false),
    };
}

/// One transaction step: the tuple `[action, namespace, entity, args, opts?]`
/// (`instaml-steps.md` §2) or one of the two schema-level admin steps.
///
/// Build entity steps with the [`crate::tx`] builder; decode with
/// [`Step::from_json`]. The server groups execution by internal op kind, not by
/// step order (`instaml-steps.md` §7): split transactions whose meaning depends on
/// interleaving different kinds of steps.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// `["create", ns, id, {attrs}]`: create; fails if the entity exists.
    Create {
        /// Namespace.
        ns: String,
        /// Entity id or lookup.
        entity: EntityRef,
        /// Attribute values.
        attrs: JsonObject,
    },
    /// `["update", ns, id, {attrs}, opts?]`: upsert (or update only, with
    /// `upsert: false`).
    Update {
        /// Namespace.
        ns: String,
        /// Entity id or lookup.
        entity: EntityRef,
        /// Attribute values (`null` clears).
        attrs: JsonObject,
        /// `{"upsert": …}` when given.
        opts: Option<UpdateOpts>,
    },
    /// `["merge", ns, id, {attrs}, opts?]`: deep-merge into JSON attributes.
    Merge {
        /// Namespace.
        ns: String,
        /// Entity id or lookup.
        entity: EntityRef,
        /// Values to deep-merge (`null` deletes a key).
        attrs: JsonObject,
        /// `{"upsert": …}` when given.
        opts: Option<UpdateOpts>,
    },
    /// `["link", ns, id, {label: target(s)}]`.
    Link {
        /// Namespace.
        ns: String,
        /// Entity id or lookup.
        entity: EntityRef,
        /// Link label (from this namespace) to targets, in order.
        links: Vec<(String, LinkTargets)>,
    },
    /// `["unlink", ns, id, {label: target(s)}]`.
    Unlink {
        /// Namespace.
        ns: String,
        /// Entity id or lookup.
        entity: EntityRef,
        /// Link label to targets, in order.
        links: Vec<(String, LinkTargets)>,
    },
    /// `["delete", ns, id, null]`.
    Delete {
        /// Namespace.
        ns: String,
        /// Entity id or lookup.
        entity: EntityRef,
    },
    /// `["ruleParams", ns, id, {params}]`: rule params for permission checks.
    RuleParams {
        /// Namespace.
        ns: String,
        /// Entity id or lookup.
        entity: EntityRef,
        /// The params (`ruleParams.<key>` in rules).
        params: JsonObject,
    },
    /// `["add-attr", {attr}]`: schema-level admin step (server attr format).
    AddAttr(Value),
    /// `["delete-attr", "<attr id>"]`: schema-level admin step.
    DeleteAttr(Id),
}

impl Step {
    /// The action string (`"update"`, `"link"`, ...).
    pub fn action(&self) -> &'static str {
        match self {
            Step::Create { .. } => "create",
            Step::Update { .. } => "update",
            Step::Merge { .. } => "merge",
            Step::Link { .. } => "link",
            Step::Unlink { .. } => "unlink",
            Step::Delete { .. } => "delete",
            Step::RuleParams { .. } => "ruleParams",
            Step::AddAttr(_) => "add-attr",
            Step::DeleteAttr(_) => "delete-attr",
        }
    }

    /// The namespace, for entity steps.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Step::Create { ns, .. }
            | Step::Update { ns, .. }
            | Step::Merge { ns, .. }
            | Step::Link { ns, .. }
            | Step::Unlink { ns, .. }
            | Step::Delete { ns, .. }
            | Step::RuleParams { ns, .. } => Some(ns),
            Step::AddAttr(_) | Step::DeleteAttr(_) => None,
        }
    }

    /// The entity slot, for entity steps.
    pub fn entity(&self) -> Option<&EntityRef> {
        match self {
            Step::Create { entity, .. }
            | Step::Update { entity, .. }
            | Step::Merge { entity, .. }
            | Step::Link { entity, .. }
            | Step::Unlink { entity, .. }
            | Step::Delete { entity, .. }
            | Step::RuleParams { entity, .. } => Some(entity),
            Step::AddAttr(_) | Step::DeleteAttr(_) => None,
        }
    }

    /// The step as its JSON tuple.
    pub fn to_json(&self) -> Value {
        let head = |ns: &str, e: &EntityRef| {
            vec![
                Value::String(self.action().into()),
                Value::String(ns.into()),
                e.to_slot_json(),
            ]
        };
        let links_obj = |links: &[(String, LinkTargets)]| {
            Value::Object(
                links
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect(),
            )
        };
        let v = match self {
            Step::Create { ns, entity, attrs } => {
                let mut v = head(ns, entity);
                v.push(Value::Object(attrs.clone()));
                v
            }
            Step::Update {
                ns,
                entity,
                attrs,
                opts,
            }
            | Step::Merge {
                ns,
                entity,
                attrs,
                opts,
            } => {
                let mut v = head(ns, entity);
                v.push(Value::Object(attrs.clone()));
                if let Some(o) = opts {
                    v.push(serde_json::to_value(o).unwrap_or(Value::Null));
                }
                v
            }
            Step::Link { ns, entity, links } | Step::Unlink { ns, entity, links } => {
                let mut v = head(ns, entity);
                v.push(links_obj(links));
                v
            }
            Step::Delete { ns, entity } => {
                let mut v = head(ns, entity);
                v.push(Value::Null);
                v
            }
            Step::RuleParams { ns, entity, params } => {
                let mut v = head(ns, entity);
                v.push(Value::Object(params.clone()));
                v
            }
            Step::AddAttr(a) => vec![Value::String("add-attr".into()), a.clone()],
            Step::DeleteAttr(id) => vec![Value::String("delete-attr".into()), (*id).into()],
        };
        Value::Array(v)
    }

    /// Decodes one step tuple; `index` is its position (used in errors).
    ///
    /// # Errors
    /// [`Error::InvalidId`] when the entity slot is not a UUID or lookup,
    /// [`Error::InvalidLookup`] for malformed lookups, [`Error::InvalidStep`] for any
    /// other shape problem (unknown action, missing or non-object args, bad opts).
    pub fn from_json(index: usize, v: &Value) -> Result<Self, Error> {
        let arr = v
            .as_array()
            .ok_or_else(|| Error::step(index, "a step must be an array"))?;
        let action = arr
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| Error::step(index, "a step must start with an action string"))?;
        match action {
            "add-attr" => {
                return match arr.get(1) {
                    Some(a @ Value::Object(_)) if arr.len() == 2 => Ok(Step::AddAttr(a.clone())),
                    _ => Err(Error::step(index, "add-attr takes one attr object")),
                }
            }
            "delete-attr" => {
                return match arr.get(1).and_then(Value::as_str) {
                    Some(s) if arr.len() == 2 => Id::parse(s)
                        .map(Step::DeleteAttr)
                        .map_err(|_| Error::step(index, "delete-attr takes an attr uuid")),
                    _ => Err(Error::step(index, "delete-attr takes an attr uuid")),
                }
            }
            "create" | "update" | "merge" | "link" | "unlink" | "delete" | "ruleParams" => {}
            other => return Err(Error::step(index, format!("unknown action `{other}`"))),
        }
        let ns = arr
            .get(1)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::step(index, "the namespace must be a string"))?
            .to_string();
        let entity = EntityRef::from_slot_json(
            arr.get(2)
                .ok_or_else(|| Error::step(index, "the entity id is missing"))?,
        )?;
        if action == "delete" {
            return Ok(Step::Delete { ns, entity });
        }
        let args = match arr.get(3) {
            Some(Value::Object(m)) => m.clone(),
            _ => {
                return Err(Error::step(
                    index,
                    format!("`{action}` needs an args object"),
                ))
            }
        };
        let opts = match arr.get(4) {
            None | Some(Value::Null) => None,
            Some(o @ Value::Object(_)) if matches!(action, "update" | "merge") => Some(
                serde_json::from_value::<UpdateOpts>(o.clone())
                    .map_err(|_| Error::step(index, "opts must be {\"upsert\": boolean|null}"))?,
            ),
            Some(_) => return Err(Error::step(index, format!("`{action}` takes no opts"))),
        };
        if arr.len() > 5 || (arr.len() == 5 && !matches!(action, "update" | "merge")) {
            return Err(Error::step(index, "too many elements in the step"));
        }
        let links = |args: JsonObject| -> Result<Vec<(String, LinkTargets)>, Error> {
            args.into_iter()
                .map(|(k, v)| LinkTargets::from_json(&v).map(|t| (k, t)))
                .collect()
        };
        Ok(match action {
            "create" => Step::Create {
                ns,
                entity,
                attrs: args,
            },
            "update" => Step::Update {
                ns,
                entity,
                attrs: args,
                opts,
            },
            "merge" => Step::Merge {
                ns,
                entity,
                attrs: args,
                opts,
            },
            "link" => Step::Link {
                ns,
                entity,
                links: links(args)?,
            },
            "unlink" => Step::Unlink {
                ns,
                entity,
                links: links(args)?,
            },
            _ => Step::RuleParams {
                ns,
                entity,
                params: args,
            },
        })
    }

    /// Decodes a whole `steps` array.
    ///
    /// # Errors
    /// The first step's error, as [`Step::from_json`]; [`Error::InvalidStep`] when
    /// `v` is not an array.
    pub fn list_from_json(v: &Value) -> Result<Vec<Step>, Error> {
        v.as_array()
            .ok_or_else(|| Error::step(0, "steps must be an array"))?
            .iter()
            .enumerate()
            .map(|(i, s)| Step::from_json(i, s))
            .collect()
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Step::from_json(0, &v).map_err(serde::de::Error::custom)
    }
}
