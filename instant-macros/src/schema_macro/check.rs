//! Rules of a schema that `schema!` can see by itself. Rules that span items
//! (a link label colliding with an attribute) are const assertions in the
//! expansion.

use std::collections::BTreeMap;

use quote::ToTokens;

use super::model::Schema;
use crate::common::ctxt::Ctxt;
use crate::common::names::{snake, unknown};

const SYSTEM_NAMESPACES: &[&str] = &["$users", "$files"];

/// Records every rule broken by the schema.
pub fn check(cx: &Ctxt, s: &Schema) {
    let mut modules: BTreeMap<String, &syn::Ident> = BTreeMap::new();
    let mut namespaces: BTreeMap<String, &syn::Ident> = BTreeMap::new();
    let mut types: BTreeMap<String, &syn::Ident> = BTreeMap::new();
    for e in &s.entities {
        let m = e.module.to_string();
        if m == "tx" {
            cx.error_spanned_by(
                &e.module,
                "instant schema: a namespace module cannot be named `tx` (the generated transaction module); write e.g. `tx_: Path = \"tx\"`",
            );
        }
        if let Some(prev) = modules.insert(m.clone(), &e.module) {
            let _ = prev;
            cx.error_spanned_by(
                &e.module,
                format!("instant schema: duplicate namespace `{m}`"),
            );
        } else if let Some(prev) = namespaces.insert(e.namespace.clone(), &e.module) {
            cx.error_spanned_by(
                &e.module,
                format!(
                    "instant schema: duplicate namespace `{}` (also declared by `{prev}`)",
                    e.namespace
                ),
            );
        }
        let ty = e.path.to_token_stream().to_string();
        if let Some(prev) = types.insert(ty.clone(), &e.module) {
            cx.error_spanned_by(
                &e.path,
                format!(
                    "instant schema: `{}` is already registered as namespace `{prev}`; an entity struct belongs to one namespace",
                    ty.replace(' ', "")
                ),
            );
        }
        if let Some(lit) = &e.namespace_lit {
            let ns = e.namespace.as_str();
            if ns.is_empty() || ns.contains('.') {
                cx.error_spanned_by(lit, "instant schema: invalid namespace name");
            } else if ns.starts_with('$') && !SYSTEM_NAMESPACES.contains(&ns) {
                cx.error_spanned_by(
                    lit,
                    format!(
                        "instant schema: {}",
                        unknown("system namespace", ns, SYSTEM_NAMESPACES)
                    ),
                );
            }
        }
    }

    let module_names: Vec<String> = s.entities.iter().map(|e| e.module.to_string()).collect();
    let module_refs: Vec<&str> = module_names.iter().map(String::as_str).collect();
    let mut labels: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut link_names: BTreeMap<String, ()> = BTreeMap::new();
    for l in &s.links {
        if link_names.insert(l.name.clone(), ()).is_some() {
            cx.push(syn::Error::new(
                l.name_span,
                format!("instant schema: duplicate link name `{}`", l.name),
            ));
        }
        for side in [&l.forward, &l.reverse] {
            let m = side.module.to_string();
            if !modules.contains_key(&m) {
                cx.error_spanned_by(
                    &side.module,
                    format!(
                        "instant schema: link `{}`: {}",
                        l.name,
                        unknown("namespace", &m, &module_refs)
                    )
                    .replace("; expected one of:", "; declared namespaces:"),
                );
                continue;
            }
            let label = side.label.to_string();
            if label == "id" {
                cx.error_spanned_by(&side.label, "instant schema: `id` cannot be a link label");
            }
            if let Some(c) = &side.cascade {
                if side.many {
                    cx.error_spanned_by(
                        c,
                        "instant schema: cascade delete is only possible on a `one` side (Instant: \"Cascade delete is only possible on links with `has: 'one'`\")",
                    );
                }
            }
            if let Some(prev) = labels.insert((m.clone(), snake(&label)), label.clone()) {
                cx.error_spanned_by(
                    &side.label,
                    format!(
                        "instant schema: duplicate link label `{label}` on `{m}`{}",
                        if prev != label {
                            format!(" (its marker `{}` clashes with `{prev}`)", snake(&label))
                        } else {
                            String::new()
                        }
                    ),
                );
            }
        }
    }
}
