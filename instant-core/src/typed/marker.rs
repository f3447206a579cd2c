//! Entities, attribute and link markers, and their capabilities.
//!
//! `#[derive(Entity)]` emits one marker type per attribute (`todos::title`) and
//! `schema!` one per link label (`goals::todos`), each with the impls below. The
//! markers are uninhabited types; the values users write (`todos::title`) are
//! constants of type [`Field<M>`] / [`LinkField<L>`], whose methods build typed
//! filters, orders, lookups and paths.

use std::marker::PhantomData;

use super::kind::Kind;
use crate::{AttrDef, Error, JsonObject};

/// An entity registered in a `schema!`: the namespace it lives in.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not registered in a `schema!`",
    label = "not an entity of any schema",
    note = "list it under `entities {{ .. }}` of a `schema!` in the same crate"
)]
pub trait Entity: EntityAttrs + 'static {
    /// The namespace (`"todos"`, `"$users"`).
    const NAMESPACE: &'static str;
}

/// What `#[derive(Entity)]` knows about a struct: its attributes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an Instant entity",
    label = "missing `#[derive(Entity)]`",
    note = "add `#[derive(instantdb::Entity)]` to the struct"
)]
pub trait EntityAttrs: Sized {
    /// Wire names of the attributes (without `id`), in field order.
    const ATTRS: &'static [&'static str];
    /// Marker names (Rust field names) of the attributes, in field order.
    const MARKERS: &'static [&'static str];
    /// The schema definition of each attribute (wire name, definition).
    fn attr_defs() -> Vec<(&'static str, AttrDef)>;
    /// All attribute values of this struct (for whole-struct writes).
    ///
    /// # Errors
    /// When a value cannot be encoded (non-finite number, failing serializer).
    fn to_attrs(&self) -> Result<JsonObject, Error>;
}

/// An attribute marker (`todos::title`'s type).
pub trait Attr: 'static {
    /// The entity struct that owns the attribute.
    type Entity;
    /// The Rust type without `Option` (what setters and filters take).
    type Value;
    /// The value kind.
    type Kind: Kind;
    /// The attribute's name on the wire.
    const NAME: &'static str;
}

/// "This attribute belongs to entity `E`": the bound of every typed builder that
/// takes an attribute.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an attribute of `{E}`",
    label = "an attribute of another entity",
    note = "use an attribute from the module of `{E}`'s namespace"
)]
pub trait AttrOf<E>: Attr<Entity = E> {}

/// An attribute with an index (`#[instant(indexed)]`): needed by comparisons,
/// `like`, and `order`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not indexed",
    label = "this attribute is not indexed",
    note = "add `#[instant(indexed)]` to this field of the entity struct: Instant compares, orders and pattern-matches only indexed attributes"
)]
pub trait Indexed: Attr {}

/// A unique attribute (`#[instant(unique)]`): needed by lookups.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not unique, so it cannot be used in a lookup",
    label = "not a unique attribute",
    note = "add `#[instant(unique)]` to this field of the entity struct, or address the entity by id"
)]
pub trait Unique: Attr {}

/// An optional attribute (an `Option<T>` field).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is required, so `is_null` / `unset` cannot apply",
    label = "a required attribute",
    note = "declare the field as `Option<_>` to make the attribute optional"
)]
pub trait Optional: Attr {}

/// Has-one cardinality.
pub enum One {}
/// Has-many cardinality.
pub enum Many {}

/// A link marker (`goals::todos`'s type), seen from its `From` side.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a link",
    label = "not a link",
    note = "link options (`order`, `filter`) and `.nested` apply only to link fields declared in `schema! {{ links {{ .. }} }}`"
)]
pub trait Link: 'static {
    /// The entity the label is on.
    type From;
    /// The entity it points to.
    type To;
    /// [`One`] or [`Many`].
    type Card;
    /// The label on the wire.
    const LABEL: &'static str;
}

/// "This link label is on entity `E`": the bound of `link`/`unlink`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a link of `{E}`",
    label = "a link label of another namespace",
    note = "links are written from the side that owns the label: use the label from `{E}`'s namespace module, or start the chain on the other entity"
)]
pub trait LinkOf<E>: Link<From = E> {}

/// The value of an attribute marker, e.g. `todos::title`: builds filters
/// (`todos::title.eq("Run")`), orders (`todos::created_at.desc()`) and lookups
/// (`users::email.lookup("a@b.co")`).
pub struct Field<A>(PhantomData<fn() -> A>);

impl<A> Field<A> {
    /// The marker value (used by generated code).
    pub const fn new() -> Self {
        Field(PhantomData)
    }
}

impl<A> Clone for Field<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for Field<A> {}
impl<A> Default for Field<A> {
    fn default() -> Self {
        Self::new()
    }
}
impl<A: Attr> std::fmt::Debug for Field<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Field({})", A::NAME)
    }
}

impl<A: Attr> Field<A> {
    /// The attribute's wire name.
    pub fn name(self) -> &'static str {
        A::NAME
    }
}

/// The value of a link marker, e.g. `goals::todos`: link targets in
/// transactions, dotted filter paths (`goals::todos.dot(todos::title)`) and
/// nested query options.
pub struct LinkField<L>(PhantomData<fn() -> L>);

impl<L> LinkField<L> {
    /// The marker value (used by generated code).
    pub const fn new() -> Self {
        LinkField(PhantomData)
    }
}
impl<L> Clone for LinkField<L> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<L> Copy for LinkField<L> {}
impl<L> Default for LinkField<L> {
    fn default() -> Self {
        Self::new()
    }
}
impl<L: Link> std::fmt::Debug for LinkField<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkField({})", L::LABEL)
    }
}

impl<L: Link> LinkField<L> {
    /// The link label on the wire.
    pub fn label(self) -> &'static str {
        L::LABEL
    }
}

/// The schema definition of attribute `A` with the given flags (used by
/// generated code).
pub fn attr_def<A: Attr>(optional: bool, indexed: bool, unique: bool) -> AttrDef {
    let mut d = AttrDef::new(<A::Kind as Kind>::VALUE_TYPE.unwrap_or(crate::ValueType::String));
    d.required = !optional;
    d.indexed = indexed;
    d.unique = unique;
    d
}

/// The type of an entity struct's `id` field (used by generated code).
#[diagnostic::on_unimplemented(
    message = "the `id` field of an entity must be `Id`, not `{Self}`",
    label = "expected `Id`",
    note = "declare it as `id: Id` (instant_core::Id), or remove the field: every entity has an id"
)]
pub trait IsId {}
impl IsId for crate::Id {}
