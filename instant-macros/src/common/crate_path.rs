//! Where the generated code finds its runtime: `::instantdb::__core` when the
//! user depends on the `instantdb` facade, else `::instant_core`, unless
//! `#[instant(crate = path)]` overrides it (as serde's `crate = ".."`).

use proc_macro2::{Span, TokenStream};
use proc_macro_crate::{crate_name, FoundCrate};
use quote::quote;

/// The path of the instant-core crate as seen from the user's crate.
pub fn core_path(override_path: Option<&syn::Path>) -> TokenStream {
    if let Some(p) = override_path {
        return quote!(#p);
    }
    if let Ok(found) = crate_name("instantdb") {
        let name = match found {
            FoundCrate::Itself => "instantdb".to_string(),
            FoundCrate::Name(n) => n,
        };
        let ident = syn::Ident::new(&name, Span::call_site());
        return quote!(::#ident::__core);
    }
    match crate_name("instant-core") {
        Ok(FoundCrate::Name(n)) => {
            let ident = syn::Ident::new(&n, Span::call_site());
            quote!(::#ident)
        }
        _ => quote!(::instant_core),
    }
}
