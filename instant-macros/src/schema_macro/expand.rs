//! The code `schema!` emits.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};

use super::model::{EntityEntry, Schema, Side};
use crate::common::crate_path::core_path;
use crate::common::names::snake;
use crate::entity::attrs_module;

/// `p` as written from a child module of the `schema!` module.
fn child_path(p: &syn::Path) -> TokenStream {
    if p.leading_colon.is_some() {
        return p.to_token_stream();
    }
    let first = p.segments.first().map(|s| s.ident.to_string());
    match first.as_deref() {
        Some("crate") => p.to_token_stream(),
        Some("self") => {
            let rest = p.segments.iter().skip(1);
            quote!(super #(:: #rest)*)
        }
        _ => quote!(super::#p),
    }
}

/// The marker module of the entity struct at `p`, spanned at the struct's name
/// (so a struct without `#[derive(Entity)]` is reported there).
fn attrs_path(p: &syn::Path) -> syn::Path {
    let mut p = p.clone();
    if let Some(last) = p.segments.last_mut() {
        let span = last.ident.span();
        let (mut outer, mut inner) = attrs_module(&last.ident);
        outer.set_span(span);
        inner.set_span(span);
        last.ident = outer;
        last.arguments = syn::PathArguments::None;
        p.segments.push(syn::PathSegment::from(inner));
    }
    p
}

/// Emits the namespace modules, `tx`, `Schema` and the impls.
pub fn expand(s: &Schema) -> TokenStream {
    let core = core_path(s.crate_path.as_ref());
    let entity_of =
        |m: &syn::Ident| -> Option<&EntityEntry> { s.entities.iter().find(|e| e.module == *m) };

    // Link markers per namespace module.
    let mut link_markers: Vec<(syn::Ident, TokenStream)> = Vec::new();
    let mut impls = Vec::new();
    let mut link_defs = Vec::new();
    for l in &s.links {
        let (Some(fe), Some(re)) = (entity_of(&l.forward.module), entity_of(&l.reverse.module))
        else {
            continue;
        };
        for (side, from, to, other) in [
            (&l.forward, fe, re, &l.reverse),
            (&l.reverse, re, fe, &l.forward),
        ] {
            let (tokens, imp) = link_side(&core, side, from, to, other);
            link_markers.push((side.module.clone(), tokens));
            impls.push(imp);
        }
        let name = &l.name;
        let side_tokens = |side: &Side, e: &EntityEntry| {
            let ns = &e.namespace;
            let label = side.label.to_string();
            let has = if side.many {
                quote!(#core::Has::Many)
            } else {
                quote!(#core::Has::One)
            };
            let required = side.required;
            let on_delete = if side.cascade.is_some() {
                quote!(::core::option::Option::Some(#core::OnDelete::Cascade))
            } else {
                quote!(::core::option::Option::None)
            };
            quote! {
                #core::LinkSide {
                    on: ::std::string::String::from(#ns),
                    has: #has,
                    label: ::std::string::String::from(#label),
                    required: #required,
                    on_delete: #on_delete,
                }
            }
        };
        let f = side_tokens(&l.forward, fe);
        let r = side_tokens(&l.reverse, re);
        link_defs.push(quote! {
            __s.links.insert(::std::string::String::from(#name), #core::LinkDef::new(#f, #r));
        });
    }

    let mut modules = Vec::new();
    let mut tx_fns = Vec::new();
    let mut entity_defs = Vec::new();
    for e in &s.entities {
        let module = &e.module;
        let path = &e.path;
        let child = child_path(path);
        let attrs = child_path(&attrs_path(path));
        let ns = &e.namespace;
        let links = link_markers
            .iter()
            .filter(|(m, _)| m == module)
            .map(|(_, t)| t);
        let doc = format!(
            "Namespace `{ns}`: attribute and link markers of [`{}`] (`{module}::<name>`).",
            path.to_token_stream().to_string().replace(' ', "")
        );
        let entity_doc = format!("The entity struct of namespace `{ns}`.");
        modules.push(quote! {
            #[doc = #doc]
            #[allow(non_camel_case_types, non_upper_case_globals, unused_imports)]
            pub mod #module {
                pub use #attrs::*;
                #[doc = #entity_doc]
                pub type Entity = #child;
                #(#links)*
            }
        });
        let tx_doc = format!("Starts a transaction chain on an entity of `{ns}`, addressed by id or by a lookup (`{module}::<unique attr>.lookup(v)`).");
        tx_fns.push(quote! {
            #[doc = #tx_doc]
            pub fn #module(target: impl #core::typed::IntoTarget<#child>) -> #core::typed::Chunk<#child> {
                #core::typed::Chunk::new(target)
            }
        });
        impls.push(quote_spanned! {path_span(path)=>
            #[automatically_derived]
            impl #core::typed::Entity for #path {
                const NAMESPACE: &'static str = #ns;
            }
        });
        entity_defs.push(quote! {
            __s.entities.insert(
                ::std::string::String::from(#ns),
                #core::EntityDef {
                    attrs: <#path as #core::typed::EntityAttrs>::attr_defs()
                        .into_iter()
                        .map(|(k, v)| (::std::string::String::from(k), v))
                        .collect(),
                },
            );
        });
    }

    quote! {
        #(#modules)*

        /// Typed transaction chains, one function per namespace (generated by `schema!`).
        pub mod tx {
            #(#tx_fns)*
        }

        /// The schema declared by `schema!`: exports Instant's schema JSON.
        #[derive(Debug, Clone, Copy, Default)]
        pub struct Schema;

        #[allow(non_camel_case_types, non_upper_case_globals, clippy::all)]
        const _: () = {
            #(#impls)*

            #[automatically_derived]
            impl #core::typed::SchemaDef for Schema {
                #[inline]
                fn instant_schema() -> #core::Schema {
                    let mut __s = #core::Schema::new();
                    #(#entity_defs)*
                    #(#link_defs)*
                    __s
                }
            }

            #[automatically_derived]
            impl Schema {
                /// The schema as the wire model (`instant_core::Schema`).
                #[allow(dead_code)]
                pub fn instant_schema() -> #core::Schema {
                    <Schema as #core::typed::SchemaDef>::instant_schema()
                }
                /// Instant's schema JSON (`{"entities", "links", "rooms"}`), as pushed
                /// with the Platform API.
                #[allow(dead_code)]
                pub fn to_json() -> #core::serde_json::Value {
                    Self::instant_schema().to_json()
                }
            }
        };
    }
}

fn path_span(p: &syn::Path) -> proc_macro2::Span {
    p.segments
        .last()
        .map(|s| s.ident.span())
        .unwrap_or_else(proc_macro2::Span::call_site)
}

/// The marker of one side (inside its namespace module) and its impls.
fn link_side(
    core: &TokenStream,
    side: &Side,
    from: &EntityEntry,
    to: &EntityEntry,
    other: &Side,
) -> (TokenStream, TokenStream) {
    let label = side.label.to_string();
    let marker = format_ident!("{}", snake(&label), span = side.label.span());
    let module = &side.module;
    let from_path = &from.path;
    let to_path = &to.path;
    let card = if side.many {
        quote!(#core::typed::Many)
    } else {
        quote!(#core::typed::One)
    };
    let doc = format!(
        "Link `{}.{label}` → `{}` (has {}; reverse label `{}`).",
        from.namespace,
        to.namespace,
        if side.many { "many" } else { "one" },
        other.label
    );
    let tokens = quote! {
        #[doc = #doc]
        pub enum #marker {}
        #[doc = #doc]
        pub const #marker: #core::typed::LinkField<#marker> = #core::typed::LinkField::new();
    };
    let select = if side.many {
        quote! {
            #[diagnostic::do_not_recommend]
            impl<S: #core::typed::Selection<Entity = #to_path>> #core::typed::SelectField<::std::vec::Vec<S>> for #module::#marker {
                const NAME: &'static str = #label;
                type Nested = S;
                fn select(__b: &mut #core::typed::__private::SelectBuilder) {
                    __b.child(#label, <S as #core::typed::Selection>::node());
                }
                fn decode<'de, __D: #core::typed::__private::serde::Deserializer<'de>>(
                    __d: __D,
                ) -> ::core::result::Result<::std::vec::Vec<S>, __D::Error> {
                    #core::typed::__private::serde::de::DeserializeSeed::deserialize(
                        #core::typed::__private::ManySeed::<S>::default(), __d)
                }
                fn missing() -> ::core::option::Option<::std::vec::Vec<S>> {
                    ::core::option::Option::Some(::std::vec::Vec::new())
                }
            }
        }
    } else {
        quote! {
            #[diagnostic::do_not_recommend]
            impl<S: #core::typed::Selection<Entity = #to_path>> #core::typed::SelectField<::core::option::Option<S>> for #module::#marker {
                const NAME: &'static str = #label;
                type Nested = S;
                fn select(__b: &mut #core::typed::__private::SelectBuilder) {
                    __b.child(#label, <S as #core::typed::Selection>::node());
                }
                fn decode<'de, __D: #core::typed::__private::serde::Deserializer<'de>>(
                    __d: __D,
                ) -> ::core::result::Result<::core::option::Option<S>, __D::Error> {
                    #core::typed::__private::serde::de::DeserializeSeed::deserialize(
                        #core::typed::__private::HasOneSeed::<S>::default(), __d)
                }
                fn missing() -> ::core::option::Option<::core::option::Option<S>> {
                    ::core::option::Option::Some(::core::option::Option::None)
                }
            }
        }
    };
    let attr_msg = format!(
        "instant schema: link label `{label}` on `{}` collides with an attribute of the entity struct; rename the label or the attribute",
        from.namespace
    );
    let marker_str = marker.to_string();
    let marker_msg = format!(
        "instant schema: the marker `{}::{marker_str}` of link label `{label}` collides with an attribute field of the same name; rename the label or the field",
        side.module
    );
    let span = side.label.span();
    let imp = quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #core::typed::Link for #module::#marker {
            type From = #from_path;
            type To = #to_path;
            type Card = #card;
            const LABEL: &'static str = #label;
        }
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #core::typed::LinkOf<#from_path> for #module::#marker {}
        #select
    };
    let checks = quote_spanned! {span=>
        const _: () = ::core::assert!(
            !#core::typed::__private::contains(<#from_path as #core::typed::EntityAttrs>::ATTRS, #label),
            #attr_msg
        );
        const _: () = ::core::assert!(
            #core::typed::__private::contains(<#from_path as #core::typed::EntityAttrs>::ATTRS, #label)
                || !#core::typed::__private::contains(<#from_path as #core::typed::EntityAttrs>::MARKERS, #marker_str),
            #marker_msg
        );
    };
    (tokens, quote!(#imp #checks))
}
