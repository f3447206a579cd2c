//! The `schema!` grammar.

use syn::parse::{Parse, ParseStream};
use syn::{braced, parenthesized, Token};

use super::model::{EntityEntry, LinkEntry, Schema, Side};
use crate::common::ctxt::Ctxt;
use crate::common::names::unknown;

/// The raw input.
pub struct Input {
    crate_path: Option<syn::Path>,
    entities: Vec<RawEntity>,
    links: Vec<RawLink>,
}

struct RawEntity {
    module: syn::Ident,
    path: syn::Path,
    ns: Option<syn::LitStr>,
}

struct RawSide {
    module: syn::Ident,
    label: syn::Ident,
    opts: Vec<syn::Ident>,
    paren_span: proc_macro2::Span,
}

struct RawLink {
    name: Option<syn::Ident>,
    forward: RawSide,
    reverse: RawSide,
}

mod kw {
    syn::custom_keyword!(entities);
    syn::custom_keyword!(links);
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut crate_path = None;
        if input.peek(Token![crate]) && input.peek2(Token![=]) {
            input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            crate_path = Some(input.parse()?);
            input.parse::<Token![;]>()?;
        }
        let mut entities = Vec::new();
        let mut links = Vec::new();
        let mut seen_entities = false;
        while !input.is_empty() {
            let look = input.lookahead1();
            if look.peek(kw::entities) {
                let k: kw::entities = input.parse()?;
                if seen_entities {
                    return Err(syn::Error::new(
                        k.span,
                        "instant schema: `entities` given twice",
                    ));
                }
                seen_entities = true;
                let content;
                braced!(content in input);
                while !content.is_empty() {
                    let module: syn::Ident = content.parse()?;
                    content.parse::<Token![:]>()?;
                    let path: syn::Path = content.parse()?;
                    let ns = if content.peek(Token![=]) {
                        content.parse::<Token![=]>()?;
                        Some(content.parse::<syn::LitStr>()?)
                    } else {
                        None
                    };
                    entities.push(RawEntity { module, path, ns });
                    if content.is_empty() {
                        break;
                    }
                    content.parse::<Token![,]>()?;
                }
            } else if look.peek(kw::links) {
                input.parse::<kw::links>()?;
                let content;
                braced!(content in input);
                while !content.is_empty() {
                    let name = if content.peek(syn::Ident) && content.peek2(Token![:]) {
                        let n: syn::Ident = content.parse()?;
                        content.parse::<Token![:]>()?;
                        Some(n)
                    } else {
                        None
                    };
                    let forward = parse_side(&content)?;
                    content.parse::<Token![<]>()?;
                    content.parse::<Token![-]>()?;
                    content.parse::<Token![>]>()?;
                    let reverse = parse_side(&content)?;
                    links.push(RawLink {
                        name,
                        forward,
                        reverse,
                    });
                    if content.is_empty() {
                        break;
                    }
                    content.parse::<Token![,]>()?;
                }
            } else {
                return Err(look.error());
            }
        }
        Ok(Input {
            crate_path,
            entities,
            links,
        })
    }
}

fn parse_side(input: ParseStream) -> syn::Result<RawSide> {
    let module: syn::Ident = input.parse()?;
    input.parse::<Token![.]>()?;
    let label: syn::Ident = syn::ext::IdentExt::parse_any(input)?;
    let content;
    let paren = parenthesized!(content in input);
    let opts = content.parse_terminated(syn::Ident::parse, Token![,])?;
    Ok(RawSide {
        module,
        label,
        opts: opts.into_iter().collect(),
        paren_span: paren.span.join(),
    })
}

const SIDE_OPTS: &[&str] = &["one", "many", "cascade", "required"];

fn side(cx: &Ctxt, raw: RawSide) -> Side {
    let mut many = None;
    let mut cascade = None;
    let mut required = false;
    for o in raw.opts {
        match o.to_string().as_str() {
            "one" | "many" => {
                if many.is_some() {
                    cx.error_spanned_by(&o, "instant schema: give `one` or `many` once");
                }
                many = Some(o == "many");
            }
            "cascade" => cascade = Some(o),
            "required" => required = true,
            other => cx.error_spanned_by(
                &o,
                format!(
                    "instant schema: {}; a link side is `(one)` or `(many)`, optionally with `cascade` and `required`",
                    unknown("link option", other, SIDE_OPTS)
                ),
            ),
        }
    }
    if many.is_none() {
        cx.push(syn::Error::new(
            raw.paren_span,
            "instant schema: expected `one` or `many` (the cardinality of this side)",
        ));
    }
    Side {
        module: raw.module,
        label: raw.label,
        many: many.unwrap_or(true),
        cascade,
        required,
    }
}

impl Input {
    /// Converts to the model, recording mistakes in `cx`.
    pub fn into_model(self, cx: &Ctxt) -> Option<Schema> {
        let entities = self
            .entities
            .into_iter()
            .map(|e| EntityEntry {
                namespace: e
                    .ns
                    .as_ref()
                    .map(|s| s.value())
                    .unwrap_or_else(|| e.module.to_string()),
                namespace_lit: e.ns,
                module: e.module,
                path: e.path,
            })
            .collect::<Vec<_>>();
        let mut links = Vec::new();
        for l in self.links {
            let forward = side(cx, l.forward);
            let reverse = side(cx, l.reverse);
            let (name, name_span) = match &l.name {
                Some(n) => (n.to_string(), n.span()),
                None => {
                    let fwd_ns = entities
                        .iter()
                        .find(|e| e.module == forward.module)
                        .map(|e| e.namespace.clone())
                        .unwrap_or_else(|| forward.module.to_string());
                    let label = forward.label.to_string();
                    let mut c = label.chars();
                    let cap: String = c
                        .next()
                        .map(|f| f.to_uppercase().chain(c).collect())
                        .unwrap_or_default();
                    (format!("{fwd_ns}{cap}"), forward.label.span())
                }
            };
            links.push(LinkEntry {
                name,
                name_span,
                forward,
                reverse,
            });
        }
        Some(Schema {
            crate_path: self.crate_path,
            entities,
            links,
        })
    }
}
