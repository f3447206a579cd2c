//! Helpers for `#[instant(..)]` attributes (syn 2 `parse_nested_meta`).

use syn::meta::ParseNestedMeta;

/// Skips whatever follows an unknown key (`= value` or `( .. )`), so that parsing
/// can go on and report every mistake at once.
pub fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

/// The key of a nested meta as a string (`indexed`, `rename`, ...).
pub fn key(meta: &ParseNestedMeta) -> String {
    meta.path
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| quote::ToTokens::to_token_stream(&meta.path).to_string())
}

/// True for `Option<..>` (syntactically, as serde does).
pub fn is_option(ty: &syn::Type) -> bool {
    inner_of(ty, "Option").is_some()
}

/// `T` of `Wrapper<T>` when `ty` is syntactically that wrapper.
pub fn inner_of<'a>(ty: &'a syn::Type, wrapper: &str) -> Option<&'a syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(t)) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

/// Records a duplicate-key error at the second occurrence.
pub fn set_once<T>(
    cx: &super::ctxt::Ctxt,
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta,
    what: &str,
) {
    if slot.is_some() {
        cx.error_spanned_by(
            &meta.path,
            format!("duplicate instant {what} attribute `{}`", key(meta)),
        );
    } else {
        *slot = Some(value);
    }
}
