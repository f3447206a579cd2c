//! What `schema!` understood.

/// The whole schema.
pub struct Schema {
    pub crate_path: Option<syn::Path>,
    pub entities: Vec<EntityEntry>,
    pub links: Vec<LinkEntry>,
}

/// `todos: crate::model::Todo` or `users: crate::model::User = "$users"`.
pub struct EntityEntry {
    /// The module name.
    pub module: syn::Ident,
    /// The entity struct.
    pub path: syn::Path,
    /// The namespace (the module name unless given).
    pub namespace: String,
    /// Where the namespace string was written, if it was.
    pub namespace_lit: Option<syn::LitStr>,
}

/// One side of a link: `todos.owner (one, cascade)`.
pub struct Side {
    /// The namespace module.
    pub module: syn::Ident,
    /// The label on the wire.
    pub label: syn::Ident,
    /// True for `many`.
    pub many: bool,
    pub cascade: Option<syn::Ident>,
    pub required: bool,
}

/// `name: forward <-> reverse`.
pub struct LinkEntry {
    /// The link name (derived as Instant does when omitted).
    pub name: String,
    pub name_span: proc_macro2::Span,
    pub forward: Side,
    pub reverse: Side,
}
