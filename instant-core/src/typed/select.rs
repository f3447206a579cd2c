//! Typed queries: the result struct is the query.
//!
//! A [`Selection`] (a `#[derive(Select)]` struct, or an entity struct) knows its
//! InstaQL node (`fields` and nested links) and how to decode one entity of the
//! result. [`Query<S>`] adds the top-level `$` options (where, order, pagination)
//! and implements [`TypedQuery`]; tuples of queries fetch several namespaces in
//! one round trip.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::filter::{Filter, OrderBy};
use super::marker::{Entity, Link, LinkField};
use super::TypedQuery;
use crate::{Cursor, Error, JsonObject, Query as UntypedQuery, QueryNode};

/// A result shape: the InstaQL node it selects and how to decode one entity.
///
/// Implemented by `#[derive(Select)]` and `#[derive(Entity)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a selection",
    label = "not a `#[derive(Select)]` or `#[derive(Entity)]` struct",
    note = "add `#[derive(Select)]` with `#[instant(entity = <namespace module>)]`"
)]
pub trait Selection: Sized {
    /// The root entity.
    type Entity;
    /// The node: `$.fields` and nested links (no filters).
    fn node() -> QueryNode;
    /// Decodes one entity object.
    ///
    /// # Errors
    /// The deserializer's error when the JSON does not have the shape.
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// "Field type `T` fits marker `Self`": implemented by the attribute markers of
/// `#[derive(Entity)]` (for the field's type) and by the link markers of
/// `schema!` (`Vec<S>` for has-many, `Option<S>` for has-one).
#[diagnostic::on_unimplemented(
    message = "field type `{T}` does not match `{Self}`",
    label = "wrong type for this field",
    note = "an attribute field must have the entity's type (with `Option<_>` exactly when the attribute is optional); a link field is `Vec<S>` (has many) or `Option<S>` (has one) with `S` a selection of the linked entity"
)]
pub trait SelectField<T> {
    /// The key on the wire.
    const NAME: &'static str;
    /// The nested selection for links, `()` for attributes.
    type Nested;
    /// Adds this field to the node being built.
    fn select(b: &mut SelectBuilder);
    /// Decodes the field's value.
    ///
    /// # Errors
    /// The deserializer's error.
    fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<T, D::Error>;
    /// The value when the key is absent (`None`: a missing-field error).
    fn missing() -> Option<T>;
}

/// "Selection `Self` selects link `L`": needed by [`Query::nested`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not select the link `{L}`",
    label = "this selection has no field for the link",
    note = "add a field for the link to the struct (`Vec<_>` for has many, `Option<_>` for has one)"
)]
pub trait HasField<L> {
    /// The nested selection.
    type Nested;
}

/// Builds a node from selected fields (used by generated code).
#[derive(Debug, Default)]
pub struct SelectBuilder {
    fields: Vec<&'static str>,
    children: Vec<(String, QueryNode)>,
}

impl SelectBuilder {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }
    /// Selects an attribute (`$.fields`).
    pub fn field(&mut self, name: &'static str) {
        self.fields.push(name);
    }
    /// Selects a link with its nested node.
    pub fn child(&mut self, label: &'static str, node: QueryNode) {
        self.children.push((label.to_string(), node));
    }
    /// Applies static options to a selected link's node.
    pub fn child_options(&mut self, label: &'static str, patch: QueryNode) {
        if let Some((_, n)) = self.children.iter_mut().find(|(k, _)| k == label) {
            merge_patch(n, patch);
        }
    }
    /// The node. `with_fields`: send `$.fields` (a partial selection); `id` is
    /// always returned by the server.
    pub fn finish(self, with_fields: bool) -> QueryNode {
        let mut n = QueryNode::new();
        if with_fields {
            let mut f: Vec<String> = self.fields.iter().map(|s| s.to_string()).collect();
            if f.is_empty() {
                f.push("id".into());
            }
            n.options.fields = Some(f);
        }
        n.children = self.children;
        n
    }
}

/// Merges runtime options into a node: filters are ANDed, an order replaces,
/// children merge by label.
fn merge_patch(node: &mut QueryNode, patch: QueryNode) {
    let QueryNode { options, children } = patch;
    if let Some(w) = options.filter {
        node.options.filter = Some(match node.options.filter.take() {
            Some(old) => old & w,
            None => w,
        });
    }
    if let Some(order) = options.order {
        // The server sorts the entities it returns by the order attribute's
        // value in the result (`server/src/instant/util/instaql.clj`
        // `sort-entries`): an attribute left out of `fields` would come back
        // in id order. A typed selection that orders by an attribute fetches it.
        if let Some(fields) = node.options.fields.as_mut() {
            if order.field != "serverCreatedAt" && !fields.contains(&order.field) {
                fields.push(order.field.clone());
            }
        }
        node.options.order = Some(order);
    }
    macro_rules! take {
        ($($f:ident),*) => {$( if options.$f.is_some() { node.options.$f = options.$f; } )*};
    }
    take!(
        limit,
        first,
        last,
        offset,
        after,
        after_inclusive,
        before,
        before_inclusive
    );
    for (label, child) in children {
        match node.children.iter_mut().find(|(k, _)| *k == label) {
            Some((_, n)) => merge_patch(n, child),
            None => node.children.push((label, child)),
        }
    }
}

/// Options of a nested link level, typed by the nested selection `S`: `where`
/// and `order` (InstaQL ignores or rejects pagination below the top level, so
/// there is no `limit` here).
pub struct Nested<S> {
    patch: QueryNode,
    _s: PhantomData<fn() -> S>,
}

impl<S> Default for Nested<S> {
    fn default() -> Self {
        Nested {
            patch: QueryNode::new(),
            _s: PhantomData,
        }
    }
}

impl<S: Selection> Nested<S> {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// ANDs a filter on the nested entities (the parents are not filtered).
    pub fn filter(mut self, f: Filter<S::Entity>) -> Self {
        add_filter(&mut self.patch, f);
        self
    }

    /// Orders the nested entities.
    pub fn order(mut self, o: OrderBy<S::Entity>) -> Self {
        self.patch.options.order = Some(o.into_order());
        self
    }

    /// Options for a deeper link level.
    pub fn nested<L: Link>(
        mut self,
        _link: LinkField<L>,
        f: impl FnOnce(Nested<S::Nested>) -> Nested<S::Nested>,
    ) -> Self
    where
        S: HasField<L>,
        S::Nested: Selection,
    {
        let inner = f(Nested::new());
        self.patch
            .children
            .push((L::LABEL.to_string(), inner.patch));
        self
    }

    /// The options as an untyped node patch (used by generated code).
    pub fn into_patch(self) -> QueryNode {
        self.patch
    }
}

/// Static options of a link field in a `#[derive(Select)]` struct
/// (`#[instant(order(..), filter(..))]`), typed by the link's target entity `E`.
pub struct LinkOptions<E> {
    patch: QueryNode,
    _e: PhantomData<fn() -> E>,
}

impl<E> Default for LinkOptions<E> {
    fn default() -> Self {
        LinkOptions {
            patch: QueryNode::new(),
            _e: PhantomData,
        }
    }
}

impl<E> LinkOptions<E> {
    /// ANDs a filter.
    pub fn filter(mut self, f: Filter<E>) -> Self {
        add_filter(&mut self.patch, f);
        self
    }
    /// Sets the order.
    pub fn order(mut self, o: OrderBy<E>) -> Self {
        self.patch.options.order = Some(o.into_order());
        self
    }
    /// The untyped patch.
    pub fn into_patch(self) -> QueryNode {
        self.patch
    }
}

fn add_filter<E>(n: &mut QueryNode, f: Filter<E>) {
    if let Some(w) = f.into_where() {
        n.options.filter = Some(match n.options.filter.take() {
            Some(old) => old & w,
            None => w,
        });
    }
}

/// A typed query of the namespace of `S::Entity`, decoding into [`Rows<S>`].
///
/// Built by `S::query()` (generated) or `Query::<S>::new()`.
pub struct Query<S> {
    patch: QueryNode,
    rule_params: Option<JsonObject>,
    _s: PhantomData<fn() -> S>,
}

impl<S> Clone for Query<S> {
    fn clone(&self) -> Self {
        Query {
            patch: self.patch.clone(),
            rule_params: self.rule_params.clone(),
            _s: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Query<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("patch", &self.patch)
            .field("rule_params", &self.rule_params)
            .finish()
    }
}

impl<S: Selection> Default for Query<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Selection> Query<S> {
    /// All entities of the namespace, shaped by `S`.
    pub fn new() -> Self {
        Query {
            patch: QueryNode::new(),
            rule_params: None,
            _s: PhantomData,
        }
    }

    /// ANDs a `where` filter (typed by the root entity).
    pub fn filter(mut self, f: Filter<S::Entity>) -> Self {
        add_filter(&mut self.patch, f);
        self
    }

    /// Sets the order (an indexed attribute, or `serverCreatedAt`).
    pub fn order(mut self, o: OrderBy<S::Entity>) -> Self {
        self.patch.options.order = Some(o.into_order());
        self
    }

    /// `limit`: at most `n` entities (`n` ≥ 1).
    pub fn limit(mut self, n: u64) -> Self {
        self.patch.options.limit = Some(n);
        self
    }

    /// `first`: the first `n` entities (use with `after`).
    pub fn first(mut self, n: u64) -> Self {
        self.patch.options.first = Some(n);
        self
    }

    /// `last`: the last `n` entities (use with `before`).
    pub fn last(mut self, n: u64) -> Self {
        self.patch.options.last = Some(n);
        self
    }

    /// `offset`: skips `n` entities.
    pub fn offset(mut self, n: u64) -> Self {
        self.patch.options.offset = Some(n);
        self
    }

    /// `after` a cursor (from page info); `inclusive` sets `afterInclusive`.
    pub fn after(mut self, c: Cursor, inclusive: bool) -> Self {
        self.patch.options.after = Some(c);
        self.patch.options.after_inclusive = inclusive.then_some(true);
        self
    }

    /// `before` a cursor; `inclusive` sets `beforeInclusive`.
    pub fn before(mut self, c: Cursor, inclusive: bool) -> Self {
        self.patch.options.before = Some(c);
        self.patch.options.before_inclusive = inclusive.then_some(true);
        self
    }

    /// `$$ruleParams` for permission rules when impersonating (a JSON object;
    /// anything else is reported when the query is built).
    pub fn rule_params(mut self, params: Value) -> Self {
        self.rule_params = Some(match params {
            Value::Object(m) => m,
            other => {
                let mut m = JsonObject::new();
                m.insert("$$invalid".into(), other);
                m
            }
        });
        self
    }

    /// Runtime options (`where`, `order`) of a selected link.
    pub fn nested<L: Link>(
        mut self,
        _link: LinkField<L>,
        f: impl FnOnce(Nested<S::Nested>) -> Nested<S::Nested>,
    ) -> Self
    where
        S: HasField<L>,
        S::Nested: Selection,
    {
        let inner = f(Nested::new());
        self.patch
            .children
            .push((L::LABEL.to_string(), inner.patch));
        self
    }

    /// The query's node: the selection with the options applied.
    pub fn to_node(&self) -> QueryNode {
        let mut n = S::node();
        merge_patch(&mut n, self.patch.clone());
        n
    }
}

fn check_rule_params(rp: &Option<JsonObject>) -> Result<(), Error> {
    match rp {
        Some(m) if m.contains_key("$$invalid") => Err(Error::InvalidQuery {
            path: vec!["$$ruleParams".into()],
            message: "rule params must be a JSON object".into(),
        }),
        _ => Ok(()),
    }
}

impl<S> TypedQuery for Query<S>
where
    S: Selection,
    S::Entity: Entity,
{
    type Output = Rows<S>;

    fn to_query(&self) -> Result<UntypedQuery, Error> {
        check_rule_params(&self.rule_params)?;
        let mut q = UntypedQuery::new().ns(<S::Entity as Entity>::NAMESPACE, self.to_node());
        q.rule_params = self.rule_params.clone();
        q.validate()?;
        Ok(q)
    }
}

/// The entities of one namespace, decoded from `{"<ns>": [..]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<S>(pub Vec<S>);

impl<S> Rows<S> {
    /// The entities.
    pub fn into_vec(self) -> Vec<S> {
        self.0
    }
}

impl<S> std::ops::Deref for Rows<S> {
    type Target = Vec<S>;
    fn deref(&self) -> &Vec<S> {
        &self.0
    }
}

impl<S> IntoIterator for Rows<S> {
    type Item = S;
    type IntoIter = std::vec::IntoIter<S>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<S> From<Rows<S>> for Vec<S> {
    fn from(r: Rows<S>) -> Vec<S> {
        r.0
    }
}

/// Decodes a `Vec<S>` from a JSON array (used by generated code).
pub struct ManySeed<S>(PhantomData<fn() -> S>);

impl<S> Default for ManySeed<S> {
    fn default() -> Self {
        ManySeed(PhantomData)
    }
}

impl<'de, S: Selection> DeserializeSeed<'de> for ManySeed<S> {
    type Value = Vec<S>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<S>, D::Error> {
        struct V<S>(PhantomData<fn() -> S>);
        impl<'de, S: Selection> Visitor<'de> for V<S> {
            type Value = Vec<S>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of entities")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<S>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(x) = seq.next_element_seed(OneSeed::<S>(PhantomData))? {
                    out.push(x);
                }
                Ok(out)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Vec<S>, E> {
                Ok(Vec::new())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Decodes one `S` (used by generated code).
pub struct OneSeed<S>(PhantomData<fn() -> S>);

impl<S> Default for OneSeed<S> {
    fn default() -> Self {
        OneSeed(PhantomData)
    }
}

impl<'de, S: Selection> DeserializeSeed<'de> for OneSeed<S> {
    type Value = S;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S, D::Error> {
        S::decode(d)
    }
}

/// Decodes a has-one link: an object, `null`, or (without `inference?`) an
/// array of zero or one object (used by generated code).
pub struct HasOneSeed<S>(PhantomData<fn() -> S>);

impl<S> Default for HasOneSeed<S> {
    fn default() -> Self {
        HasOneSeed(PhantomData)
    }
}

impl<'de, S: Selection> DeserializeSeed<'de> for HasOneSeed<S> {
    type Value = Option<S>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<S>, D::Error> {
        struct V<S>(PhantomData<fn() -> S>);
        impl<'de, S: Selection> Visitor<'de> for V<S> {
            type Value = Option<S>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an entity object, null, or an array of at most one entity")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Option<S>, E> {
                Ok(None)
            }
            fn visit_none<E: de::Error>(self) -> Result<Option<S>, E> {
                Ok(None)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<S>, A::Error> {
                S::decode(de::value::MapAccessDeserializer::new(map)).map(Some)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<S>, A::Error> {
                let first = seq.next_element_seed(OneSeed::<S>(PhantomData))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(first)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, S: Selection> Deserialize<'de> for Rows<S>
where
    S::Entity: Entity,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        decode_rows::<D, S>(d)
    }
}

fn decode_rows<'de, D: Deserializer<'de>, S: Selection>(d: D) -> Result<Rows<S>, D::Error>
where
    S::Entity: Entity,
{
    struct V<S>(PhantomData<fn() -> S>);
    impl<'de, S: Selection> Visitor<'de> for V<S>
    where
        S::Entity: Entity,
    {
        type Value = Rows<S>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(
                f,
                "a query result with `{}`",
                <S::Entity as Entity>::NAMESPACE
            )
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Rows<S>, A::Error> {
            let ns = <S::Entity as Entity>::NAMESPACE;
            let mut out = None;
            let names = [ns];
            while let Some(k) = map.next_key_seed(KeyIndex(&names))? {
                match k {
                    Some(_) => out = Some(map.next_value_seed(ManySeed::<S>::default())?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            out.map(Rows)
                .ok_or_else(|| de::Error::custom(format!("missing namespace `{ns}`")))
        }
    }
    d.deserialize_map(V(PhantomData))
}

/// Several namespaces in one result: `Multi((Vec<A>, Vec<B>))`, the output of a
/// tuple of [`Query`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct Multi<T>(pub T);

impl<T> Multi<T> {
    /// The tuple of entity vectors.
    pub fn into_inner(self) -> T {
        self.0
    }
}

macro_rules! tuple_query {
    ($($S:ident $i:tt),+) => {
        impl<$($S),+> TypedQuery for ($(Query<$S>,)+)
        where $($S: Selection, $S::Entity: Entity),+
        {
            type Output = Multi<($(Vec<$S>,)+)>;
            fn to_query(&self) -> Result<UntypedQuery, Error> {
                let mut q = UntypedQuery::new();
                let mut rp: Option<JsonObject> = None;
                $(
                    let ns = <$S::Entity as Entity>::NAMESPACE;
                    if q.namespaces.iter().any(|(k, _)| k == ns) {
                        return Err(Error::InvalidQuery {
                            path: vec![ns.to_string()],
                            message: format!("namespace `{ns}` appears twice in one query; use one query per namespace"),
                        });
                    }
                    check_rule_params(&self.$i.rule_params)?;
                    if let Some(p) = &self.$i.rule_params {
                        rp.get_or_insert_with(JsonObject::new).extend(p.clone());
                    }
                    q = q.ns(ns, self.$i.to_node());
                )+
                q.rule_params = rp;
                q.validate()?;
                Ok(q)
            }
        }

        impl<'de, $($S),+> Deserialize<'de> for Multi<($(Vec<$S>,)+)>
        where $($S: Selection, $S::Entity: Entity),+
        {
            fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
                struct V<$($S),+>(PhantomData<fn() -> ($($S,)+)>);
                impl<'de, $($S),+> Visitor<'de> for V<$($S),+>
                where $($S: Selection, $S::Entity: Entity),+
                {
                    type Value = Multi<($(Vec<$S>,)+)>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a query result object")
                    }
                    #[allow(non_snake_case)]
                    fn visit_map<Ma: MapAccess<'de>>(self, mut map: Ma) -> Result<Self::Value, Ma::Error> {
                        let names = [$(<$S::Entity as Entity>::NAMESPACE),+];
                        $( let mut $S: Option<Vec<$S>> = None; )+
                        while let Some(k) = map.next_key_seed(KeyIndex(&names))? {
                            match k {
                                $( Some($i) => $S = Some(map.next_value_seed(ManySeed::<$S>::default())?), )+
                                _ => { map.next_value::<IgnoredAny>()?; }
                            }
                        }
                        Ok(Multi(($(
                            $S.ok_or_else(|| de::Error::custom(format!(
                                "missing namespace `{}`", names[$i])))?,
                        )+)))
                    }
                }
                d.deserialize_map(V(PhantomData))
            }
        }
    };
}
tuple_query!(S0 0, S1 1);
tuple_query!(S0 0, S1 1, S2 2);
tuple_query!(S0 0, S1 1, S2 2, S3 3);
tuple_query!(S0 0, S1 1, S2 2, S3 3, S4 4);
tuple_query!(S0 0, S1 1, S2 2, S3 3, S4 4, S5 5);

/// Matches a map key against known names: `Some(index)` or `None` for an
/// unknown key (used by generated code).
pub struct KeyIndex<'a>(pub &'a [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyIndex<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        struct V<'a>(&'a [&'static str]);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = Option<usize>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<usize>, E> {
                Ok(self.0.iter().position(|n| *n == s))
            }
        }
        d.deserialize_str(V(self.0))
    }
}

/// Decodes a field through its [`SelectField`] impl (used by generated code).
pub struct FieldSeed<M, T>(PhantomData<fn() -> (M, T)>);

impl<M, T> Default for FieldSeed<M, T> {
    fn default() -> Self {
        FieldSeed(PhantomData)
    }
}

impl<'de, M: SelectField<T>, T> DeserializeSeed<'de> for FieldSeed<M, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        M::decode(d)
    }
}

/// Decodes a typed query's output from the response bytes, with the JSON path
/// of the first problem (`goals[3].todos[0].title: invalid type: null, expected
/// a string`).
///
/// The fast path is plain `serde_json`; only a failing body is decoded a second
/// time through `serde_path_to_error` to name the path, so a successful decode
/// costs what `serde_json` alone costs.
///
/// # Errors
/// [`Error::Decode`] with `path` (as `serde_path_to_error` spells it) and the
/// serde message.
pub fn decode<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(v) => Ok(v),
        Err(_) => Err(decode_error::<T>(bytes)),
    }
}

#[cold]
fn decode_error<T: de::DeserializeOwned>(bytes: &[u8]) -> Error {
    let mut d = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut d) {
        Ok(_) => Error::Decode {
            path: ".".into(),
            message: "trailing characters after the JSON value".into(),
        },
        Err(e) => Error::Decode {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        },
    }
}

/// [`decode`] from an already-parsed JSON value.
///
/// # Errors
/// As [`decode`].
pub fn decode_value<T: de::DeserializeOwned>(v: &Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(v).map_err(|e| Error::Decode {
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

/// Static options of a link field, typed by the link's target (used by generated
/// code; the `L: Link` bound is the one place a non-link field is reported).
pub fn link_options<L: Link>(
    f: impl FnOnce(LinkOptions<L::To>) -> LinkOptions<L::To>,
) -> QueryNode {
    f(LinkOptions::default()).into_patch()
}
