//! Recently deleted attributes: `GET /admin/soft_deleted_attrs`
//! ([`Client::soft_deleted_attrs`]).
//!
//! Instant does not drop an attribute at once when a transaction's
//! `delete-attr` step (or an overwriting schema push) deletes it: the attribute
//! is *soft-deleted* (marked, renamed `<attr id>_deleted$<name>`, no longer
//! indexed or required) and only removed for good by a sweeper after a grace
//! period (`server/src/instant/db/model/attr.clj` soft-delete-multi!,
//! `server/src/instant/hard_deletion_sweeper.clj`). This call lists those
//! attributes (`server/src/instant/admin/routes.clj` soft-deleted-attrs-get).

use instant_core::schema::ServerAttr;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transport::Repeat;
use crate::{Client, Error};

/// The marker Instant puts between an attr id and the original name of a
/// soft-deleted attribute's namespace and label.
pub const DELETED_MARKER: &str = "_deleted$";

/// The answer of `GET /admin/soft_deleted_attrs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SoftDeletedAttrs {
    /// The soft-deleted attributes of the app, by attr id (ascending).
    pub attrs: Vec<SoftDeletedAttr>,
    /// Days a soft-deleted attribute is kept before it is deleted for good
    /// (2 on the official server).
    #[serde(rename = "grace-period-days")]
    pub grace_period_days: u32,
}

/// One soft-deleted attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SoftDeletedAttr {
    /// The attribute as the server keeps it now: its namespace and label (and
    /// the reverse ones of a link) carry the `<attr id>_deleted$` prefix, and
    /// `index?` / `required?` are false (see [`SoftDeletedAttr::original_etype`]
    /// and [`SoftDeletedAttr::metadata`] for what they were).
    #[serde(flatten)]
    pub attr: ServerAttr,
    /// When it was deleted: a UTC timestamp, `yyyy-MM-ddTHH:mm:ssZ`.
    #[serde(rename = "deletion-marked-at", default)]
    pub deletion_marked_at: Option<String>,
    /// The server's metadata of the attribute; `soft_delete_snapshot` holds
    /// `is_indexed`, `is_required` (the flags before deletion) and `id_attr_id`
    /// (the `id` attribute of its namespace).
    #[serde(default)]
    pub metadata: Option<Value>,
}

fn strip_marker(name: &str) -> &str {
    match name.find(DELETED_MARKER) {
        Some(i) => &name[i + DELETED_MARKER.len()..],
        None => name,
    }
}

impl SoftDeletedAttr {
    /// The namespace the attribute belonged to (the forward namespace without
    /// the `<attr id>_deleted$` prefix).
    pub fn original_etype(&self) -> &str {
        strip_marker(self.attr.forward_identity.etype())
    }

    /// The attribute's label before deletion (without the prefix).
    pub fn original_label(&self) -> &str {
        strip_marker(self.attr.forward_identity.label())
    }

    /// `(index?, required?)` before deletion, from the soft-delete snapshot;
    /// `None` when the server sent none.
    pub fn flags_before_deletion(&self) -> Option<(bool, bool)> {
        let snap = self.metadata.as_ref()?.get("soft_delete_snapshot")?;
        Some((
            snap.get("is_indexed")?.as_bool()?,
            snap.get("is_required")?.as_bool()?,
        ))
    }
}

impl Client {
    /// Lists the app's soft-deleted attributes and the grace period before they
    /// are deleted for good (`GET /admin/soft_deleted_attrs`; the official
    /// dashboard's "recently deleted" view reads the same list). Needs the
    /// admin token (impersonation is not used). Retried on transient failures.
    ///
    /// # Errors
    /// [`Error::Api`] `record-not-found` for a wrong admin token or app id,
    /// [`Error::Config`] without an admin token, [`Error::Decode`] for an
    /// unexpected answer, transport and timeout errors.
    pub async fn soft_deleted_attrs(&self) -> Result<SoftDeletedAttrs, Error> {
        self.call(
            Method::GET,
            "/admin/soft_deleted_attrs",
            &[],
            None,
            false,
            Repeat::Safe,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_official_answer() {
        let id = "0d8a2d0e-2b5f-4d55-8a2b-6f9a6c3a1b11";
        let v = json!({
            "attrs": [{
                "id": id,
                "forward-identity": ["5c9e3c34-1f5c-4a0b-9f0e-3d2f7d1c0a22",
                                     format!("{id}_deleted$todos"), format!("{id}_deleted$title")],
                "value-type": "blob", "cardinality": "one",
                "unique?": false, "index?": false, "required?": false,
                "inferred-types": ["string"], "catalog": "user",
                "deletion-marked-at": "2024-11-26T15:25:00Z",
                "metadata": {"soft_delete_snapshot": {"is_indexed": true, "is_required": false,
                                                      "id_attr_id": null}}
            }],
            "grace-period-days": 2
        });
        let r: SoftDeletedAttrs = serde_json::from_value(v).unwrap();
        assert_eq!(r.grace_period_days, 2);
        let a = &r.attrs[0];
        assert_eq!((a.original_etype(), a.original_label()), ("todos", "title"));
        assert_eq!(a.flags_before_deletion(), Some((true, false)));
        assert_eq!(
            a.deletion_marked_at.as_deref(),
            Some("2024-11-26T15:25:00Z")
        );
    }
}
