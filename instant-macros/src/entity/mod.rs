//! `#[derive(Entity)]`: parse -> model -> check -> expand.
//!
//! The derive describes one entity's attributes: a hidden marker module
//! (`__instant_attrs_<struct>`) with one marker per attribute, and the impls that
//! make the struct a selection and a source of whole-struct writes. The
//! namespace is given by `schema!`.

mod check;
pub(crate) mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

pub use expand::attrs_module;

use crate::common::ctxt::Ctxt;

/// Expands the derive.
pub fn derive(input: syn::DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let model = parse::parse(&cx, &input);
    if let Some(m) = &model {
        check::check(&cx, m);
    }
    cx.check()?;
    let model = model.ok_or_else(|| syn::Error::new_spanned(&input.ident, "invalid entity"))?;
    Ok(expand::expand(&model))
}
