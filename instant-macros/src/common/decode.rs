//! The generated decoder shared by `derive(Entity)` and `derive(Select)`: one
//! map visitor per struct that reads the response bytes directly (no
//! `serde_json::Value` tree), ignores unknown keys, and reports missing and
//! duplicate keys by their wire name.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// One decoded field.
pub struct DecodeField {
    /// The struct field.
    pub ident: syn::Ident,
    /// Its type.
    pub ty: syn::Type,
    /// A const expression of type `&'static str`: the key on the wire.
    pub name: TokenStream,
    /// An expression reading the value from `__map` (a `MapAccess`), with `?`.
    pub next_value: TokenStream,
    /// An expression of type `Option<ty>`: the value when the key is absent.
    pub missing: TokenStream,
}

/// The body of `fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>`.
pub fn decode_fn(
    core: &TokenStream,
    ty_ident: &syn::Ident,
    expecting: &str,
    fields: &[DecodeField],
    defaulted: &[syn::Ident],
) -> TokenStream {
    let names = fields.iter().map(|f| &f.name);
    let slots: Vec<_> = (0..fields.len())
        .map(|i| format_ident!("__f{}", i))
        .collect();
    let tys = fields.iter().map(|f| &f.ty);
    let idx: Vec<usize> = (0..fields.len()).collect();
    let next = fields.iter().map(|f| &f.next_value);
    let idents = fields.iter().map(|f| &f.ident);
    let missing = fields.iter().map(|f| &f.missing);
    quote! {
        fn decode<'de, __D: #core::typed::__private::serde::Deserializer<'de>>(
            __d: __D,
        ) -> ::core::result::Result<Self, __D::Error> {
            use #core::typed::__private::serde::de as __de;
            struct __V;
            impl<'de> __de::Visitor<'de> for __V {
                type Value = #ty_ident;
                fn expecting(&self, __f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
                    __f.write_str(#expecting)
                }
                fn visit_map<__A: __de::MapAccess<'de>>(
                    self,
                    mut __map: __A,
                ) -> ::core::result::Result<#ty_ident, __A::Error> {
                    const __NAMES: &[&str] = &[#(#names),*];
                    #( let mut #slots: ::core::option::Option<#tys> = ::core::option::Option::None; )*
                    while let ::core::option::Option::Some(__k) =
                        __map.next_key_seed(#core::typed::__private::KeyIndex(__NAMES))?
                    {
                        match __k {
                            #(
                                ::core::option::Option::Some(#idx) => {
                                    if #slots.is_some() {
                                        return ::core::result::Result::Err(
                                            <__A::Error as __de::Error>::duplicate_field(__NAMES[#idx]),
                                        );
                                    }
                                    #slots = ::core::option::Option::Some(#next);
                                }
                            )*
                            _ => {
                                __map.next_value::<__de::IgnoredAny>()?;
                            }
                        }
                    }
                    ::core::result::Result::Ok(#ty_ident {
                        #(
                            #idents: match #slots {
                                ::core::option::Option::Some(__v) => __v,
                                ::core::option::Option::None => match #missing {
                                    ::core::option::Option::Some(__v) => __v,
                                    ::core::option::Option::None => {
                                        return ::core::result::Result::Err(
                                            <__A::Error as __de::Error>::missing_field(__NAMES[#idx]),
                                        )
                                    }
                                },
                            },
                        )*
                        #( #defaulted: ::core::default::Default::default(), )*
                    })
                }
            }
            __d.deserialize_map(__V)
        }
    }
}
