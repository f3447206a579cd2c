//! `#[instant(..)]` on an entity struct and its fields.

use syn::spanned::Spanned;

use super::model::{Entity, Field, Role};
use crate::common::attr::{is_option, key, set_once, skip_value};
use crate::common::ctxt::Ctxt;
use crate::common::names::{apply_rule, unknown, RENAME_RULES};

const CONTAINER_KEYS: &[&str] = &["rename_all", "crate"];
const FIELD_KEYS: &[&str] = &["indexed", "unique", "rename", "skip"];

/// Builds the model, recording every mistake in `cx`.
pub fn parse(cx: &Ctxt, input: &syn::DeriveInput) -> Option<Entity> {
    let mut rename_all: Option<String> = None;
    let mut crate_path: Option<syn::Path> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("instant")) {
        let r = attr.parse_nested_meta(|meta| {
            match key(&meta).as_str() {
                "rename_all" => {
                    let s: syn::LitStr = meta.value()?.parse()?;
                    if !RENAME_RULES.contains(&s.value().as_str()) {
                        cx.error_spanned_by(
                            &s,
                            unknown("rename_all rule", &s.value(), RENAME_RULES),
                        );
                    }
                    set_once(cx, &mut rename_all, s.value(), &meta, "entity");
                }
                "crate" => {
                    let p: syn::Path = meta.value()?.parse()?;
                    set_once(cx, &mut crate_path, p, &meta, "entity");
                }
                other => {
                    cx.error_spanned_by(
                        &meta.path,
                        unknown("instant entity attribute", other, CONTAINER_KEYS),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            cx.push(e);
        }
    }

    let fields = match &input.data {
        syn::Data::Struct(syn::DataStruct {
            fields: syn::Fields::Named(named),
            ..
        }) => &named.named,
        syn::Data::Struct(s) => {
            cx.error_spanned_by(
                &s.fields,
                "instant entity: #[derive(Entity)] needs a struct with named fields (one per attribute)",
            );
            return None;
        }
        syn::Data::Enum(e) => {
            cx.push(syn::Error::new(
                e.enum_token.span(),
                "instant entity: #[derive(Entity)] needs a struct with named fields, not an enum",
            ));
            return None;
        }
        syn::Data::Union(u) => {
            cx.push(syn::Error::new(
                u.union_token.span(),
                "instant entity: #[derive(Entity)] needs a struct with named fields, not a union",
            ));
            return None;
        }
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "instant entity: generic entity structs are not supported",
        );
    }

    let mut out = Vec::new();
    for f in fields {
        let Some(ident) = f.ident.clone() else {
            continue;
        };
        let mut indexed: Option<()> = None;
        let mut unique: Option<()> = None;
        let mut rename: Option<String> = None;
        let mut skip: Option<()> = None;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("instant")) {
            let r = attr.parse_nested_meta(|meta| {
                match key(&meta).as_str() {
                    "indexed" => set_once(cx, &mut indexed, (), &meta, "field"),
                    "unique" => set_once(cx, &mut unique, (), &meta, "field"),
                    "skip" => set_once(cx, &mut skip, (), &meta, "field"),
                    "rename" => {
                        let s: syn::LitStr = meta.value()?.parse()?;
                        if s.value().is_empty() {
                            cx.error_spanned_by(
                                &s,
                                "instant entity: an attribute name cannot be empty",
                            );
                        }
                        set_once(cx, &mut rename, s.value(), &meta, "field");
                    }
                    other => {
                        cx.error_spanned_by(
                            &meta.path,
                            unknown("instant field attribute", other, FIELD_KEYS),
                        );
                        skip_value(&meta)?;
                    }
                }
                Ok(())
            });
            if let Err(e) = r {
                cx.push(e);
            }
        }
        let raw = ident.to_string();
        let raw = raw.strip_prefix("r#").unwrap_or(&raw).to_string();
        let role = if skip.is_some() {
            Role::Skip
        } else if raw == "id" {
            Role::Id
        } else {
            Role::Attr
        };
        let name = rename.unwrap_or_else(|| match &rename_all {
            Some(rule) => apply_rule(rule, &raw),
            None => raw.clone(),
        });
        out.push(Field {
            optional: is_option(&f.ty),
            ident,
            ty: f.ty.clone(),
            role,
            name,
            indexed: indexed.is_some(),
            unique: unique.is_some(),
        });
    }
    Some(Entity {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        crate_path,
        fields: out,
    })
}
