//! Typed `where` filters and orders.
//!
//! A [`Filter<E>`] is a plain runtime value (a [`Where`] tree) typed only by its
//! root entity `E`, so filters compose dynamically (`f = f & todos::done.eq(false)`)
//! without changing type. Each operator checks its capability at one site:
//! `gt`/`gte`/`lt`/`lte`/`order` need [`Indexed`] and a comparable kind, `like`
//! needs [`Indexed`] and a string, `is_null` needs [`Optional`] (InstaQL rules,
//! `instaql.md` §3.3).

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr};

use serde_json::Value;

use super::kind::{Comparable, IntoValue, Textual};
use super::marker::{Attr, AttrOf, Field, Indexed, Link, LinkField, Optional};
use crate::{Cond, Error, Id, Op, Order, OrderDirection, Where};

/// A `where` clause on entities of `E`.
///
/// ```
/// use instant_core::typed::Filter;
/// struct Todo;
/// let f = Filter::<Todo>::raw(serde_json::json!({"done": false}));
/// assert_eq!(f.to_json(), serde_json::json!({"done": false}));
/// assert_eq!(Filter::<Todo>::all().to_json(), serde_json::json!({}));
/// ```
pub struct Filter<E> {
    clause: Option<Where>,
    _e: PhantomData<fn() -> E>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Filter {
            clause: self.clause.clone(),
            _e: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Filter").field(&self.clause).finish()
    }
}

impl<E> Default for Filter<E> {
    fn default() -> Self {
        Self::all()
    }
}

impl<E> Filter<E> {
    /// Matches every entity (no condition); the neutral element of `&`.
    pub fn all() -> Self {
        Filter {
            clause: None,
            _e: PhantomData,
        }
    }

    /// Wraps an untyped [`Where`] (escape hatch).
    pub fn from_where(w: Where) -> Self {
        Filter {
            clause: Some(w),
            _e: PhantomData,
        }
    }

    /// An untyped `where` object spliced verbatim, e.g. for operators the typed
    /// layer does not know. An invalid object makes the query fail when built.
    pub fn raw(v: Value) -> Self {
        Self::from_where(Where::from_json(&v).unwrap_or_else(Where::Invalid))
    }

    /// `{"or": [..]}` of the given filters (an empty list is rejected when the query
    /// is built, as the server does).
    pub fn any(items: impl IntoIterator<Item = Filter<E>>) -> Self {
        let mut out = Vec::new();
        for f in items {
            match f.clause {
                Some(w) => out.push(w),
                // `all() | x` matches everything.
                None => return Self::all(),
            }
        }
        Self::from_where(Where::Or(out))
    }

    /// The untyped clause (`None` for [`Filter::all`]).
    pub fn into_where(self) -> Option<Where> {
        self.clause
    }

    /// The clause as InstaQL JSON (`{}` for [`Filter::all`]).
    pub fn to_json(&self) -> Value {
        match &self.clause {
            Some(w) => w.to_json(),
            None => Value::Object(Default::default()),
        }
    }

    fn cond(path: String, op: Result<Op, Error>) -> Self {
        Self::from_where(match op {
            Ok(op) => Where::Cond(Cond { path, op }),
            Err(e) => Where::Invalid(e),
        })
    }
}

impl<E> BitAnd for Filter<E> {
    type Output = Filter<E>;
    fn bitand(self, rhs: Filter<E>) -> Filter<E> {
        match (self.clause, rhs.clause) {
            (None, c) | (c, None) => Filter {
                clause: c,
                _e: PhantomData,
            },
            (Some(a), Some(b)) => Self::from_where(a & b),
        }
    }
}

impl<E> BitOr for Filter<E> {
    type Output = Filter<E>;
    fn bitor(self, rhs: Filter<E>) -> Filter<E> {
        match (self.clause, rhs.clause) {
            (None, _) | (_, None) => Self::all(),
            (Some(a), Some(b)) => Self::from_where(a | b),
        }
    }
}

/// A typed `order` of entities of `E`: `todos::created_at.desc()`.
pub struct OrderBy<E> {
    order: Order,
    _e: PhantomData<fn() -> E>,
}

impl<E> Clone for OrderBy<E> {
    fn clone(&self) -> Self {
        OrderBy {
            order: self.order.clone(),
            _e: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for OrderBy<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OrderBy").field(&self.order).finish()
    }
}

impl<E> OrderBy<E> {
    /// Order by `serverCreatedAt` (the default order, ascending).
    pub fn server_created_at(direction: OrderDirection) -> Self {
        OrderBy {
            order: Order {
                field: "serverCreatedAt".into(),
                direction,
            },
            _e: PhantomData,
        }
    }

    /// The untyped order.
    pub fn into_order(self) -> Order {
        self.order
    }
}

fn values<V, T: IntoValue<V>>(vs: impl IntoIterator<Item = T>) -> Result<Vec<Value>, Error> {
    vs.into_iter().map(IntoValue::into_value).collect()
}

macro_rules! filter_ops {
    ($root:ty, $attr:ident) => {
        /// `{path: v}`: equality.
        pub fn eq(self, v: impl IntoValue<$attr::Value>) -> Filter<$root> {
            Filter::cond(self.path(), v.into_value().map(Op::Eq))
        }
        /// `{"$ne": v}`: not equal (entities lacking the attribute match too).
        pub fn ne(self, v: impl IntoValue<$attr::Value>) -> Filter<$root> {
            Filter::cond(self.path(), v.into_value().map(Op::Ne))
        }
        /// `{"$in": [..]}`: equal to any of the values (`[]` matches nothing).
        pub fn is_in<T: IntoValue<$attr::Value>>(
            self,
            vs: impl IntoIterator<Item = T>,
        ) -> Filter<$root> {
            Filter::cond(self.path(), values(vs).map(Op::In))
        }
        /// `{"$isNull": b}`; the attribute must be optional.
        pub fn is_null(self, b: bool) -> Filter<$root>
        where
            $attr: Optional,
        {
            Filter::cond(self.path(), Ok(Op::IsNull(b)))
        }
        /// `{"$gt": v}`; the attribute must be indexed and comparable.
        pub fn gt(self, v: impl IntoValue<$attr::Value>) -> Filter<$root>
        where
            $attr: Indexed,
            $attr::Kind: Comparable,
        {
            Filter::cond(self.path(), v.into_value().map(Op::Gt))
        }
        /// `{"$gte": v}`; the attribute must be indexed and comparable.
        pub fn gte(self, v: impl IntoValue<$attr::Value>) -> Filter<$root>
        where
            $attr: Indexed,
            $attr::Kind: Comparable,
        {
            Filter::cond(self.path(), v.into_value().map(Op::Gte))
        }
        /// `{"$lt": v}`; the attribute must be indexed and comparable.
        pub fn lt(self, v: impl IntoValue<$attr::Value>) -> Filter<$root>
        where
            $attr: Indexed,
            $attr::Kind: Comparable,
        {
            Filter::cond(self.path(), v.into_value().map(Op::Lt))
        }
        /// `{"$lte": v}`; the attribute must be indexed and comparable.
        pub fn lte(self, v: impl IntoValue<$attr::Value>) -> Filter<$root>
        where
            $attr: Indexed,
            $attr::Kind: Comparable,
        {
            Filter::cond(self.path(), v.into_value().map(Op::Lte))
        }
        /// `{"$like": pattern}` (case-sensitive; `%` any run, `_` one char); the
        /// attribute must be an indexed string.
        pub fn like(self, pattern: impl Into<String>) -> Filter<$root>
        where
            $attr: Indexed,
            $attr::Kind: Textual,
        {
            Filter::cond(self.path(), Ok(Op::Like(pattern.into())))
        }
        /// `{"$ilike": pattern}` (case-insensitive); the attribute must be an
        /// indexed string.
        pub fn ilike(self, pattern: impl Into<String>) -> Filter<$root>
        where
            $attr: Indexed,
            $attr::Kind: Textual,
        {
            Filter::cond(self.path(), Ok(Op::Ilike(pattern.into())))
        }
    };
}

impl<A: Attr> Field<A> {
    fn path(self) -> String {
        A::NAME.to_string()
    }

    filter_ops!(A::Entity, A);

    /// `order: {attr: "asc"}`; the attribute must be indexed and comparable.
    pub fn asc(self) -> OrderBy<A::Entity>
    where
        A: Indexed,
        A::Kind: Comparable,
    {
        OrderBy {
            order: Order::asc(A::NAME),
            _e: PhantomData,
        }
    }

    /// `order: {attr: "desc"}`; the attribute must be indexed and comparable.
    pub fn desc(self) -> OrderBy<A::Entity>
    where
        A: Indexed,
        A::Kind: Comparable,
    {
        OrderBy {
            order: Order::desc(A::NAME),
            _e: PhantomData,
        }
    }
}

/// A dotted path from root entity `E` through links to attribute `A`
/// (`"todos.title"`), built by [`LinkField::dot`].
pub struct Path<E, A> {
    path: String,
    _p: PhantomData<fn() -> (E, A)>,
}

impl<E, A: Attr> Path<E, A> {
    fn path(self) -> String {
        self.path
    }

    filter_ops!(E, A);
}

/// A path of links from root entity `E` ending in link `L`
/// (`goals::todos.then(todos::owner)`).
pub struct LinkPath<E, L> {
    path: String,
    _p: PhantomData<fn() -> (E, L)>,
}

impl<L: Link> LinkField<L> {
    /// The dotted path `label.attr`: filter parents by an attribute of linked
    /// entities (`goals::todos.dot(todos::title).like("%fit%")`).
    pub fn dot<A: AttrOf<L::To>>(self, _attr: Field<A>) -> Path<L::From, A> {
        Path {
            path: format!("{}.{}", L::LABEL, A::NAME),
            _p: PhantomData,
        }
    }

    /// Continues the path through another link of the target entity.
    pub fn then<L2: Link<From = L::To>>(self, _next: LinkField<L2>) -> LinkPath<L::From, L2> {
        LinkPath {
            path: format!("{}.{}", L::LABEL, L2::LABEL),
            _p: PhantomData,
        }
    }

    /// `{label: id}`: entities linked to the entity `id`.
    pub fn has(self, id: Id) -> Filter<L::From> {
        Filter::cond(L::LABEL.to_string(), Ok(Op::Eq(id.to_string().into())))
    }

    /// `{label: {"$isNull": b}}`: entities with (`false`) or without (`true`) a
    /// linked entity.
    pub fn is_null(self, b: bool) -> Filter<L::From> {
        Filter::cond(L::LABEL.to_string(), Ok(Op::IsNull(b)))
    }
}

impl<E, L: Link> LinkPath<E, L> {
    /// Ends the path on an attribute of the last link's target.
    pub fn dot<A: AttrOf<L::To>>(self, _attr: Field<A>) -> Path<E, A> {
        Path {
            path: format!("{}.{}", self.path, A::NAME),
            _p: PhantomData,
        }
    }

    /// Continues the path through another link.
    pub fn then<L2: Link<From = L::To>>(self, _next: LinkField<L2>) -> LinkPath<E, L2> {
        LinkPath {
            path: format!("{}.{}", self.path, L2::LABEL),
            _p: PhantomData,
        }
    }

    /// `{path: id}`: entities whose path reaches the entity `id`.
    pub fn has(self, id: Id) -> Filter<E> {
        Filter::cond(self.path, Ok(Op::Eq(id.to_string().into())))
    }
}
