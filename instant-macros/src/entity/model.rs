//! What `#[derive(Entity)]` understood of the struct.

/// The entity struct.
pub struct Entity {
    pub ident: syn::Ident,
    pub vis: syn::Visibility,
    pub crate_path: Option<syn::Path>,
    pub fields: Vec<Field>,
}

/// What a field is.
#[derive(PartialEq, Eq)]
pub enum Role {
    /// The implicit `id` attribute.
    Id,
    /// An attribute.
    Attr,
    /// `#[instant(skip)]`: not stored; `Default` when decoded.
    Skip,
}

/// One field.
pub struct Field {
    pub ident: syn::Ident,
    pub ty: syn::Type,
    pub role: Role,
    /// The attribute name on the wire.
    pub name: String,
    pub indexed: bool,
    pub unique: bool,
    pub optional: bool,
}
