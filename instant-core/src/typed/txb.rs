//! Typed transactions: `tx::todos(id).update(|a| a.set(todos::title, "Run"))`.
//!
//! A [`Chunk<E>`] is a chain of steps on one entity of `E`, with Instant's verbs
//! (`create`, `update`, `merge`, `link`, `unlink`, `delete`, `rule_params`;
//! `client/packages/core/src/instatx.ts`). It compiles to the untyped
//! [`crate::tx::EntityTx`], so typed and untyped chains produce the same steps.

use std::marker::PhantomData;

use serde_json::Value;

use super::kind::{IntoValue, Mergeable};
use super::marker::{AttrOf, Entity, EntityAttrs, Field, LinkField, LinkOf, Optional, Unique};
use super::IntoSteps;
use crate::tx::EntityTx;
use crate::{EntityRef, Error, Id, JsonObject, LinkTargets, Lookup, Step, UpdateOpts};

/// A lookup of an entity of `E` by a unique attribute:
/// `users::email.lookup("a@b.co")`. Usable as a chain's entity and as a link
/// target.
pub struct EntityLookup<E> {
    lookup: Result<Lookup, Error>,
    _e: PhantomData<fn() -> E>,
}

impl<E> Clone for EntityLookup<E> {
    fn clone(&self) -> Self {
        EntityLookup {
            lookup: self.lookup.clone(),
            _e: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for EntityLookup<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EntityLookup").field(&self.lookup).finish()
    }
}

impl<E> EntityLookup<E> {
    /// The untyped lookup.
    ///
    /// # Errors
    /// [`Error::InvalidLookup`] / [`Error::NonFiniteNumber`] for a bad value.
    pub fn into_lookup(self) -> Result<Lookup, Error> {
        self.lookup
    }
}

impl<A: super::marker::Attr> Field<A> {
    /// A lookup of the entity whose (unique) attribute equals `v`.
    pub fn lookup(self, v: impl IntoValue<A::Value>) -> EntityLookup<A::Entity>
    where
        A: Unique,
    {
        EntityLookup {
            lookup: v.into_value().and_then(|v| Lookup::new(A::NAME, v)),
            _e: PhantomData,
        }
    }
}

/// What can address one entity of `E`: an [`Id`] or an [`EntityLookup<E>`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot address an entity of `{E}`",
    label = "expected an `Id` or a lookup on a unique attribute of `{E}`"
)]
pub trait IntoTarget<E> {
    /// The untyped reference.
    ///
    /// # Errors
    /// A lookup's error.
    fn into_target(self) -> Result<EntityRef, Error>;
}

impl<E> IntoTarget<E> for Id {
    fn into_target(self) -> Result<EntityRef, Error> {
        Ok(EntityRef::Id(self))
    }
}

impl<E> IntoTarget<E> for &Id {
    fn into_target(self) -> Result<EntityRef, Error> {
        Ok(EntityRef::Id(*self))
    }
}

impl<E> IntoTarget<E> for EntityLookup<E> {
    fn into_target(self) -> Result<EntityRef, Error> {
        self.lookup.map(EntityRef::Lookup)
    }
}

/// The targets of `link`/`unlink` on a link to `E`: one target (sent as a scalar)
/// or a collection (sent as an array).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as link targets of type `{E}`",
    label = "expected an `Id`, a lookup of `{E}`, or a collection of them"
)]
pub trait IntoTargets<E> {
    /// The untyped targets.
    ///
    /// # Errors
    /// A lookup's error.
    fn into_targets(self) -> Result<LinkTargets, Error>;
}

impl<E> IntoTargets<E> for Id {
    fn into_targets(self) -> Result<LinkTargets, Error> {
        Ok(LinkTargets::One(EntityRef::Id(self)))
    }
}

impl<E> IntoTargets<E> for EntityLookup<E> {
    fn into_targets(self) -> Result<LinkTargets, Error> {
        self.lookup.map(|l| LinkTargets::One(EntityRef::Lookup(l)))
    }
}

impl<E, T: IntoTarget<E>> IntoTargets<E> for Vec<T> {
    fn into_targets(self) -> Result<LinkTargets, Error> {
        self.into_iter()
            .map(IntoTarget::into_target)
            .collect::<Result<Vec<_>, _>>()
            .map(LinkTargets::Many)
    }
}

impl<E, T: IntoTarget<E>, const N: usize> IntoTargets<E> for [T; N] {
    fn into_targets(self) -> Result<LinkTargets, Error> {
        self.into_iter()
            .map(IntoTarget::into_target)
            .collect::<Result<Vec<_>, _>>()
            .map(LinkTargets::Many)
    }
}

impl<E> IntoTargets<E> for &[Id] {
    fn into_targets(self) -> Result<LinkTargets, Error> {
        Ok(LinkTargets::Many(
            self.iter().copied().map(EntityRef::Id).collect(),
        ))
    }
}

/// Attribute values of an entity of `E`, built with [`Attrs::set`] and
/// [`Attrs::unset`]; the argument of `create` and `update`.
pub struct Attrs<E> {
    map: Result<JsonObject, Error>,
    _e: PhantomData<fn() -> E>,
}

impl<E> Default for Attrs<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Attrs<E> {
    /// No values.
    pub fn new() -> Self {
        Attrs {
            map: Ok(JsonObject::new()),
            _e: PhantomData,
        }
    }

    fn put(mut self, name: &'static str, v: Result<Value, Error>) -> Self {
        if let Ok(m) = &mut self.map {
            match v {
                Ok(v) => {
                    m.insert(name.to_string(), v);
                }
                Err(e) => self.map = Err(e),
            }
        }
        self
    }

    /// Sets attribute `attr` (of `E`) to `v` (of the attribute's type).
    pub fn set<A: AttrOf<E>>(self, _attr: Field<A>, v: impl IntoValue<A::Value>) -> Self {
        self.put(A::NAME, v.into_value())
    }

    /// Clears an optional attribute (sends `null`).
    pub fn unset<A: AttrOf<E> + Optional>(self, _attr: Field<A>) -> Self {
        self.put(A::NAME, Ok(Value::Null))
    }

    /// All attributes of an entity struct (whole-struct write).
    pub fn from_entity(e: &E) -> Self
    where
        E: EntityAttrs,
    {
        Attrs {
            map: e.to_attrs(),
            _e: PhantomData,
        }
    }

    /// The JSON object.
    ///
    /// # Errors
    /// The first value that failed to encode.
    pub fn into_object(self) -> Result<JsonObject, Error> {
        self.map
    }
}

/// Values to deep-merge into json attributes of `E`; the argument of `merge`.
pub struct MergeAttrs<E> {
    inner: Attrs<E>,
}

impl<E> Default for MergeAttrs<E> {
    fn default() -> Self {
        MergeAttrs {
            inner: Attrs::new(),
        }
    }
}

impl<E> MergeAttrs<E> {
    /// Deep-merges `v` into json attribute `attr` (`null` values delete keys).
    pub fn set<A: AttrOf<E>>(self, _attr: Field<A>, v: impl serde::Serialize) -> Self
    where
        A::Kind: Mergeable,
    {
        let v = serde_json::to_value(v).map_err(|e| Error::InvalidValue(e.to_string()));
        MergeAttrs {
            inner: self.inner.put(A::NAME, v),
        }
    }
}

/// A chain of steps on one entity of `E`. Start one with the `tx::<ns>(target)`
/// function that `schema!` generates.
#[must_use = "a transaction chain does nothing until it is sent"]
pub struct Chunk<E> {
    tx: EntityTx,
    error: Option<Error>,
    _e: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Chunk<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("tx", &self.tx)
            .field("error", &self.error)
            .finish()
    }
}

impl<E> Clone for Chunk<E> {
    fn clone(&self) -> Self {
        Chunk {
            tx: self.tx.clone(),
            error: self.error.clone(),
            _e: PhantomData,
        }
    }
}

impl<E: Entity> Chunk<E> {
    /// A chain on the entity of `E` addressed by `target` (an [`Id`] or a lookup).
    pub fn new(target: impl IntoTarget<E>) -> Self {
        match target.into_target() {
            Ok(r) => Chunk {
                tx: crate::tx::entity(E::NAMESPACE, r),
                error: None,
                _e: PhantomData,
            },
            Err(e) => Chunk {
                tx: crate::tx::entity(E::NAMESPACE, Id::nil()),
                error: Some(e),
                _e: PhantomData,
            },
        }
    }
}

impl<E> Chunk<E> {
    fn with(mut self, f: impl FnOnce(EntityTx) -> EntityTx) -> Self {
        self.tx = f(self.tx);
        self
    }

    fn with_attrs(
        mut self,
        attrs: Result<JsonObject, Error>,
        f: impl FnOnce(EntityTx, Value) -> EntityTx,
    ) -> Self {
        match attrs {
            Ok(m) => self.tx = f(self.tx, Value::Object(m)),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// `create(attrs)`: creates the entity (the server fails if it exists).
    pub fn create(self, attrs: impl FnOnce(Attrs<E>) -> Attrs<E>) -> Self {
        let a = attrs(Attrs::new()).into_object();
        self.with_attrs(a, EntityTx::create)
    }

    /// `create` with every attribute of an entity struct.
    pub fn create_from(self, entity: &E) -> Self
    where
        E: EntityAttrs,
    {
        self.with_attrs(entity.to_attrs(), EntityTx::create)
    }

    /// `update(attrs)`: upserts attribute values.
    pub fn update(self, attrs: impl FnOnce(Attrs<E>) -> Attrs<E>) -> Self {
        let a = attrs(Attrs::new()).into_object();
        self.with_attrs(a, EntityTx::update)
    }

    /// `update(attrs, opts)`, e.g. [`UpdateOpts::NO_UPSERT`] (`{"upsert": false}`:
    /// fail when the entity does not exist).
    pub fn update_with(self, attrs: impl FnOnce(Attrs<E>) -> Attrs<E>, opts: UpdateOpts) -> Self {
        let a = attrs(Attrs::new()).into_object();
        self.with_attrs(a, |tx, v| tx.update_with(v, opts))
    }

    /// `update` with every attribute of an entity struct.
    pub fn update_from(self, entity: &E) -> Self
    where
        E: EntityAttrs,
    {
        self.with_attrs(entity.to_attrs(), EntityTx::update)
    }

    /// `merge(attrs)`: deep-merges into json attributes.
    pub fn merge(self, attrs: impl FnOnce(MergeAttrs<E>) -> MergeAttrs<E>) -> Self {
        let a = attrs(MergeAttrs::default()).inner.into_object();
        self.with_attrs(a, EntityTx::merge)
    }

    /// `merge(attrs, opts)`.
    pub fn merge_with(
        self,
        attrs: impl FnOnce(MergeAttrs<E>) -> MergeAttrs<E>,
        opts: UpdateOpts,
    ) -> Self {
        let a = attrs(MergeAttrs::default()).inner.into_object();
        self.with_attrs(a, |tx, v| tx.merge_with(v, opts))
    }

    /// `link({label: targets})` through a link label of `E`.
    pub fn link<L: LinkOf<E>>(
        mut self,
        _link: LinkField<L>,
        targets: impl IntoTargets<L::To>,
    ) -> Self {
        match targets.into_targets() {
            Ok(t) => self.with(|tx| tx.link(L::LABEL, t)),
            Err(e) => {
                self.error.get_or_insert(e);
                self
            }
        }
    }

    /// `unlink({label: targets})` through a link label of `E`.
    pub fn unlink<L: LinkOf<E>>(
        mut self,
        _link: LinkField<L>,
        targets: impl IntoTargets<L::To>,
    ) -> Self {
        match targets.into_targets() {
            Ok(t) => self.with(|tx| tx.unlink(L::LABEL, t)),
            Err(e) => {
                self.error.get_or_insert(e);
                self
            }
        }
    }

    /// `delete()`: deletes the entity and its links (cascading per the schema).
    pub fn delete(self) -> Self {
        self.with(EntityTx::delete)
    }

    /// `ruleParams(params)`: rule params for permission checks on this entity
    /// (`params` must be a JSON object).
    pub fn rule_params(self, params: Value) -> Self {
        self.with(|tx| tx.rule_params(params))
    }

    /// The untyped chain (escape hatch).
    ///
    /// # Errors
    /// A lookup or value error met while chaining.
    pub fn into_untyped(self) -> Result<EntityTx, Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.tx),
        }
    }
}

impl<E> IntoSteps for Chunk<E> {
    fn into_steps(self) -> Result<Vec<Step>, Error> {
        self.into_untyped()?.into_steps()
    }
}

impl<E> IntoSteps for Vec<Chunk<E>> {
    fn into_steps(self) -> Result<Vec<Step>, Error> {
        let mut out = Vec::new();
        for c in self {
            out.extend(c.into_steps()?);
        }
        Ok(out)
    }
}

/// Chains on entities of different namespaces, sent as one transaction:
/// `Transaction::new().add(tx::goals(g).create(..)).add(tx::todos(t).link(..))`.
#[derive(Debug, Default)]
#[must_use = "a transaction does nothing until it is sent"]
pub struct Transaction {
    steps: Vec<Step>,
    error: Option<Error>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the steps of a typed chain (or anything [`IntoSteps`]).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, chain: impl IntoSteps) -> Self {
        if self.error.is_none() {
            match chain.into_steps() {
                Ok(s) => self.steps.extend(s),
                Err(e) => self.error = Some(e),
            }
        }
        self
    }

    /// Appends an untyped step given as its JSON tuple (escape hatch).
    pub fn push_raw(mut self, step: Value) -> Self {
        if self.error.is_none() {
            match Step::from_json(self.steps.len(), &step) {
                Ok(s) => self.steps.push(s),
                Err(e) => self.error = Some(e),
            }
        }
        self
    }

    /// The steps as their JSON array (for debugging and snapshots).
    ///
    /// # Errors
    /// The first error met while building.
    pub fn to_json(&self) -> Result<Value, Error> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(Value::Array(self.steps.iter().map(Step::to_json).collect())),
        }
    }
}

impl IntoSteps for Transaction {
    fn into_steps(self) -> Result<Vec<Step>, Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.steps),
        }
    }
}
