//! `schema! { entities { .. } links { .. } }`: parse -> model -> check -> expand.
//!
//! Names the entities (one public module per namespace, re-exporting the
//! attribute markers of `#[derive(Entity)]`), declares each link once with both
//! directions, and builds the `tx` module and the `Schema` type.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::common::ctxt::Ctxt;

/// Expands the macro.
pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let model = match syn::parse2::<parse::Input>(input) {
        Ok(i) => i.into_model(&cx),
        Err(e) => {
            cx.push(e);
            None
        }
    };
    if let Some(m) = &model {
        check::check(&cx, m);
    }
    cx.check()?;
    match model {
        Some(m) => Ok(expand::expand(&m)),
        None => Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "invalid schema",
        )),
    }
}
