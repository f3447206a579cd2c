//! `#[derive(Select)]`: the result struct is the query. parse -> model -> check
//! -> expand.
//!
//! Each field is checked against its marker (`<goals::title as SelectField<T>>`),
//! so one bound covers the attribute's type, `Option` for optional attributes and
//! `Vec`/`Option` for link cardinality; the derive never needs to know which
//! fields are links.

mod check;
mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::common::ctxt::Ctxt;

/// Expands the derive.
pub fn derive(input: syn::DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let model = parse::parse(&cx, &input);
    if let Some(m) = &model {
        check::check(&cx, m);
    }
    cx.check()?;
    let model = model.ok_or_else(|| syn::Error::new_spanned(&input.ident, "invalid selection"))?;
    Ok(expand::expand(&model))
}
