//! The code `#[derive(Select)]` emits.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::model::Select;
use crate::common::crate_path::core_path;
use crate::common::decode::{decode_fn, DecodeField};

/// Emits `Selection`, `HasField` and `query()`.
pub fn expand(s: &Select) -> TokenStream {
    let core = core_path(s.crate_path.as_ref());
    let ident = &s.ident;
    let entity = &s.entity;

    let mut selects = Vec::new();
    let mut has_fields = Vec::new();
    let mut decoded = Vec::new();
    let mut seeds = Vec::new();
    for f in &s.fields {
        let ty = &f.ty;
        let marker_ident = &f.marker;
        // The marker path carries the field's span, so a typo gets rustc's
        // "similar name" help at the field.
        let marker = quote!(#entity::#marker_ident);
        // Every use of the check carries the field name's span, so a wrong type
        // (or a typo) is reported once, at the field.
        let fspan = f.ident.span();
        let sf = respan(quote!(<#marker as #core::typed::SelectField<#ty>>), fspan);
        selects.push(quote_spanned! {fspan=> #sf::select(&mut __b); });
        if f.order.is_some() || f.filter.is_some() {
            let span = f.option_span.unwrap_or_else(|| f.ident.span());
            let spanned_marker = respan(marker.clone(), span);
            let helper = respan(
                quote!(#core::typed::__private::link_options::<#spanned_marker>),
                span,
            );
            let order = f.order.as_ref().map(|o| quote!(.order(#o)));
            let filter = f.filter.as_ref().map(|w| quote!(.filter(#w)));
            selects.push(quote_spanned! {span=>
                __b.child_options(#sf::NAME, #helper(|__o| __o #filter #order));
            });
        }
        let has_field = respan(
            quote! {
                #[automatically_derived]
                impl #core::typed::HasField<#marker> for #ident {
                    type Nested = #sf::Nested;
                }
            },
            fspan,
        );
        has_fields.push(has_field);
        let seed = quote::format_ident!("__instant_seed_{}", decoded.len());
        seeds.push(quote! {
            struct #seed;
            impl<'de> #core::typed::__private::serde::de::DeserializeSeed<'de> for #seed {
                type Value = #ty;
                fn deserialize<__D: #core::typed::__private::serde::Deserializer<'de>>(
                    self,
                    __d: __D,
                ) -> ::core::result::Result<#ty, __D::Error> {
                    #sf::decode(__d)
                }
            }
        });
        decoded.push(DecodeField {
            ident: f.ident.clone(),
            ty: ty.clone(),
            name: quote!(#sf::NAME),
            next_value: quote!(__map.next_value_seed(#seed)?),
            missing: quote!(#sf::missing()),
        });
    }
    let decode = decode_fn(
        &core,
        ident,
        &format!("an entity object for `{ident}`"),
        &decoded,
        &[],
    );
    let query_doc = format!("A typed query shaped by [`{ident}`].");
    quote! {
        #[allow(non_camel_case_types, non_upper_case_globals, clippy::all)]
        const _: () = {
            #(#seeds)*
            #[automatically_derived]
            impl #core::typed::Selection for #ident {
                type Entity = #entity::Entity;
                #[inline]
                fn node() -> #core::QueryNode {
                    let mut __b = #core::typed::__private::SelectBuilder::new();
                    #(#selects)*
                    __b.finish(true)
                }
                #decode
            }
            #(#has_fields)*
            #[automatically_derived]
            impl #ident {
                #[doc = #query_doc]
                #[allow(dead_code)]
                #[inline]
                pub fn query() -> #core::typed::Query<#ident> {
                    #core::typed::Query::new()
                }
            }
        };
    }
}

/// `ts` with every token spanned at `span`.
fn respan(ts: TokenStream, span: proc_macro2::Span) -> TokenStream {
    ts.into_iter()
        .map(|mut t| {
            if let proc_macro2::TokenTree::Group(g) = &t {
                let mut ng = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                t = proc_macro2::TokenTree::Group(ng);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}
