//! Rules of a selection that the derive can see by itself.

use std::collections::BTreeMap;

use super::model::Select;
use crate::common::ctxt::Ctxt;

/// Records every rule broken by the selection.
pub fn check(cx: &Ctxt, s: &Select) {
    let mut seen: BTreeMap<String, &syn::Ident> = BTreeMap::new();
    for f in &s.fields {
        if let Some(prev) = seen.insert(f.marker.to_string(), &f.ident) {
            cx.error_spanned_by(
                &f.ident,
                format!(
                    "instant select: `{}` is selected twice (also by field `{prev}`)",
                    f.marker
                ),
            );
        }
    }
}
