//! Rules of an entity that the derive can see by itself.

use std::collections::BTreeMap;

use super::model::{Entity, Role};
use crate::common::ctxt::Ctxt;

/// Records every rule broken by the entity.
pub fn check(cx: &Ctxt, e: &Entity) {
    if !matches!(e.vis, syn::Visibility::Public(_)) {
        cx.error_spanned_by(
            &e.ident,
            "instant entity: an entity struct must be `pub`: its attribute markers and the `schema!` modules name it in public trait impls (put it in a private module to hide it)",
        );
    }
    let mut seen: BTreeMap<&str, &syn::Ident> = BTreeMap::new();
    for f in &e.fields {
        if f.role == Role::Id && (f.indexed || f.unique) {
            cx.error_spanned_by(
                &f.ident,
                "instant entity: `id` is always indexed and unique; remove the attribute",
            );
        }
        if f.role != Role::Attr {
            continue;
        }
        if f.name == "id" {
            cx.error_spanned_by(
                &f.ident,
                "instant entity: the attribute name `id` is reserved for the entity id",
            );
        }
        if f.name.contains('.') || f.name.starts_with('$') {
            cx.error_spanned_by(
                &f.ident,
                format!(
                    "instant entity: `{}` is not a valid attribute name (no `.`, no leading `$`)",
                    f.name
                ),
            );
        }
        if let Some(prev) = seen.insert(&f.name, &f.ident) {
            cx.error_spanned_by(
                &f.ident,
                format!(
                    "instant entity: attribute name `{}` is used twice (also by field `{prev}`)",
                    f.name
                ),
            );
        }
    }
}
