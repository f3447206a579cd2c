//! One app's data in memory: attributes and triples with the indexes Instant keeps
//! (`ea`: by entity, `av`: by attribute + value for unique/indexed attrs, a sorted
//! index for indexed typed attrs, `vae`: reverse references), plus the change log
//! that makes a transaction undoable and is written to SQLite on commit.

use std::collections::BTreeSet;

/// The hash map of the engine's indexes: keys are ids and values chosen by
/// clients, so the hasher is foldhash's fast one with a per-process random seed
/// (several times faster than SipHash on 16-byte ids, still seeded).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use serde_json::Value;
use uuid::Uuid;

use super::attr::{inferred_bit, system_attrs, Attr};
use super::value::{sort_key, SortKey};

/// A stored triple value with its `created_at` (epoch ms).
#[derive(Debug, Clone, PartialEq)]
pub struct Tri {
    /// The JSON value (for refs: the target id as a string).
    pub v: Value,
    /// When the triple was first written.
    pub ca: i64,
}

/// One primitive change, as logged for undo and persistence.
#[derive(Debug, Clone)]
pub enum Change {
    /// A triple was added.
    Add(Uuid, Uuid, Tri),
    /// A triple was removed.
    Remove(Uuid, Uuid, Tri),
    /// An attribute was added (boxed, like the other attr changes, so that the
    /// common triple changes stay small).
    AddAttr(Box<Attr>),
    /// An attribute was removed.
    RemoveAttr(Box<Attr>),
    /// An attribute changed (old, new).
    UpdateAttr(Box<Attr>, Box<Attr>),
    /// An attribute's `inferred-types` bits changed (attr, old bits, new bits).
    Inferred(Uuid, u8, u8),
}

/// Canonical text of a JSON value (index key, SQLite value column).
pub fn vkey(v: &Value) -> String {
    match v {
        Value::Number(n) => {
            // 1 and 1.0 are the same jsonb number.
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0
                    && f.abs() < 9.0e15
                    && n.as_i64().is_none()
                    && n.as_u64().is_none()
                {
                    return format!("{}", f as i64);
                }
            }
            n.to_string()
        }
        other => other.to_string(),
    }
}

/// Parses a ref triple value.
pub fn ref_id(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

/// All data of one app.
#[derive(Default)]
pub struct AppState {
    /// Attributes by id.
    pub attrs: FastMap<Uuid, Attr>,
    /// namespace → label → attr id, forward side.
    pub fwd: FastMap<String, FastMap<String, Uuid>>,
    /// namespace → label → attr id, reverse side of links.
    pub rev: FastMap<String, FastMap<String, Uuid>>,
    /// Triples by entity then attr.
    pub ents: FastMap<Uuid, Vec<(Uuid, Vec<Tri>)>>,
    /// Namespace members by the `id` attr: (created_at, entity id), sorted.
    pub members: FastMap<Uuid, BTreeSet<(i64, Uuid)>>,
    /// Attr+value index for unique/indexed blob attrs: attr → value key → entities.
    pub av: FastMap<Uuid, FastMap<String, Vec<Uuid>>>,
    /// Sorted index for indexed blob attrs: attr → (sort key, entity).
    pub sorted: FastMap<Uuid, BTreeSet<(SortKey, Uuid)>>,
    /// Reverse references: target → (attr, source).
    pub vae: FastMap<Uuid, Vec<(Uuid, Uuid)>>,
    /// Logged changes of the running transaction.
    pub log: Vec<Change>,
    /// Whether changes are logged.
    pub logging: bool,
    /// The latest creation stamp of any triple (see [`AppState::stamp`]).
    pub last_stamp: i64,
}

impl AppState {
    /// An empty app with the system catalog attrs.
    pub fn new() -> AppState {
        let mut s = AppState::default();
        for a in system_attrs() {
            s.insert_attr(a);
        }
        s
    }

    /// Forward attr `ns.label`.
    pub fn fwd_attr(&self, ns: &str, label: &str) -> Option<&Attr> {
        self.fwd
            .get(ns)
            .and_then(|m| m.get(label))
            .and_then(|id| self.attrs.get(id))
    }

    /// Reverse attr whose reverse identity is `ns.label`.
    pub fn rev_attr(&self, ns: &str, label: &str) -> Option<&Attr> {
        self.rev
            .get(ns)
            .and_then(|m| m.get(label))
            .and_then(|id| self.attrs.get(id))
    }

    /// The `id` attr of a namespace.
    pub fn id_attr(&self, ns: &str) -> Option<&Attr> {
        self.fwd_attr(ns, "id")
    }

    /// Attrs owned by a namespace (forward side), in no particular order.
    pub fn ns_attrs<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a Attr> + 'a {
        self.fwd
            .get(ns)
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(move |id| self.attrs.get(id))
    }

    fn index_attr(&mut self, a: &Attr) {
        self.fwd
            .entry(a.ns.clone())
            .or_default()
            .insert(a.label.clone(), a.id);
        if let Some((_, rns, rl)) = &a.rev {
            self.rev
                .entry(rns.clone())
                .or_default()
                .insert(rl.clone(), a.id);
        }
        if a.is_id() {
            self.members.entry(a.id).or_default();
        }
    }

    fn unindex_names(&mut self, a: &Attr) {
        if let Some(m) = self.fwd.get_mut(&a.ns) {
            if m.get(&a.label) == Some(&a.id) {
                m.remove(&a.label);
            }
        }
        if let Some((_, rns, rl)) = &a.rev {
            if let Some(m) = self.rev.get_mut(rns) {
                if m.get(rl) == Some(&a.id) {
                    m.remove(rl);
                }
            }
        }
    }

    fn wants_av(a: &Attr) -> bool {
        !a.is_ref && !a.is_id() && (a.unique || a.indexed)
    }

    fn wants_sorted(a: &Attr) -> bool {
        !a.is_ref && !a.is_id() && a.indexed
    }

    /// Adds an attribute (indexes existing triples if any).
    pub fn insert_attr(&mut self, a: Attr) {
        self.index_attr(&a);
        if self.logging {
            self.log.push(Change::AddAttr(Box::new(a.clone())));
        }
        self.attrs.insert(a.id, a);
    }

    /// Replaces an attribute's definition and rebuilds its indexes.
    pub fn update_attr(&mut self, new: Attr) {
        let Some(old) = self.attrs.get(&new.id).cloned() else {
            return;
        };
        self.unindex_names(&old);
        self.av.remove(&old.id);
        self.sorted.remove(&old.id);
        self.index_attr(&new);
        if self.logging {
            self.log
                .push(Change::UpdateAttr(Box::new(old), Box::new(new.clone())));
        }
        let id = new.id;
        self.attrs.insert(id, new);
        self.reindex_values(id);
    }

    fn reindex_values(&mut self, attr_id: Uuid) {
        let Some(a) = self.attrs.get(&attr_id).cloned() else {
            return;
        };
        if !Self::wants_av(&a) && !Self::wants_sorted(&a) {
            return;
        }
        let mut pairs = Vec::new();
        for (e, avs) in &self.ents {
            for (aid, tris) in avs {
                if *aid == attr_id {
                    for t in tris {
                        pairs.push((*e, t.v.clone()));
                    }
                }
            }
        }
        for (e, v) in pairs {
            self.index_value(&a, e, &v, true);
        }
    }

    /// Removes an attribute and all its triples.
    pub fn remove_attr(&mut self, attr_id: Uuid) {
        let Some(a) = self.attrs.get(&attr_id).cloned() else {
            return;
        };
        let ents: Vec<Uuid> = self
            .ents
            .iter()
            .filter(|(_, avs)| avs.iter().any(|(aid, _)| *aid == attr_id))
            .map(|(e, _)| *e)
            .collect();
        for e in ents {
            for t in self.values(e, attr_id).to_vec() {
                self.remove_triple(e, attr_id, &t.v);
            }
        }
        self.unindex_names(&a);
        self.av.remove(&attr_id);
        self.sorted.remove(&attr_id);
        self.members.remove(&attr_id);
        self.attrs.remove(&attr_id);
        if self.logging {
            self.log.push(Change::RemoveAttr(Box::new(a)));
        }
    }

    fn index_value(&mut self, a: &Attr, e: Uuid, v: &Value, add: bool) {
        if Self::wants_av(a) {
            let m = self.av.entry(a.id).or_default();
            let k = vkey(v);
            if add {
                m.entry(k).or_default().push(e);
            } else if let Some(list) = m.get_mut(&k) {
                if let Some(i) = list.iter().position(|x| *x == e) {
                    list.swap_remove(i);
                }
                if list.is_empty() {
                    m.remove(&k);
                }
            }
        }
        if Self::wants_sorted(a) {
            let s = self.sorted.entry(a.id).or_default();
            let k = (sort_key(Some(v), a.checked), e);
            if add {
                s.insert(k);
            } else {
                s.remove(&k);
            }
        }
    }

    /// The values of `e` for `attr`.
    pub fn values(&self, e: Uuid, attr: Uuid) -> &[Tri] {
        self.ents
            .get(&e)
            .and_then(|avs| avs.iter().find(|(a, _)| *a == attr))
            .map(|(_, t)| t.as_slice())
            .unwrap_or(&[])
    }

    /// The single value of a cardinality-one attr.
    pub fn value(&self, e: Uuid, attr: Uuid) -> Option<&Tri> {
        self.values(e, attr).first()
    }

    /// Does `e` exist in the namespace whose `id` attr is `id_attr`?
    pub fn exists(&self, e: Uuid, id_attr: Uuid) -> bool {
        !self.values(e, id_attr).is_empty()
    }

    /// Does `e` exist in namespace `ns`?
    pub fn exists_in(&self, e: Uuid, ns: &str) -> bool {
        self.id_attr(ns).is_some_and(|a| self.exists(e, a.id))
    }

    /// Entity's serverCreatedAt in `ns`.
    pub fn created_at(&self, e: Uuid, id_attr: Uuid) -> Option<i64> {
        self.value(e, id_attr).map(|t| t.ca)
    }

    /// Entities holding value `v` for a unique/indexed attr.
    pub fn lookup_av(&self, attr: Uuid, v: &Value) -> &[Uuid] {
        self.av
            .get(&attr)
            .and_then(|m| m.get(&vkey(v)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Sources linking to `target` through `attr`.
    pub fn sources(&self, target: Uuid, attr: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.vae
            .get(&target)
            .into_iter()
            .flatten()
            .filter(move |(a, _)| *a == attr)
            .map(|(_, s)| *s)
    }

    /// The creation stamp (epoch ms) of a transaction committing at `now_ms`:
    /// `now_ms`, or one past the latest stamp of the app when that is not
    /// earlier, so that successive transactions sort in commit order by
    /// `serverCreatedAt` (the official server's `default-order`,
    /// `server/src/instant/db/instaql.clj:909`) even when several commit within
    /// one millisecond. Stamps run ahead of the clock only while an app commits
    /// more than one transaction per millisecond; they are loaded back with the
    /// triples, so the order survives a restart.
    pub fn stamp(&mut self, now_ms: i64) -> i64 {
        let s = now_ms.max(self.last_stamp.saturating_add(1));
        self.last_stamp = s;
        s
    }

    /// Adds a triple (no checks). For an existing identical value nothing happens.
    pub fn add_triple(&mut self, e: Uuid, attr: Uuid, v: Value, ca: i64) {
        self.last_stamp = self.last_stamp.max(ca);
        let Some(a) = self.attrs.get_mut(&attr) else {
            return;
        };
        let old_bits = a.inferred;
        a.inferred |= inferred_bit(&v);
        if a.inferred != old_bits && self.logging {
            self.log.push(Change::Inferred(attr, old_bits, a.inferred));
        }
        let (is_id, is_ref) = (a.is_id(), a.is_ref);
        let (av, sorted, checked) = (Self::wants_av(a), Self::wants_sorted(a), a.checked);
        let avs = self.ents.entry(e).or_default();
        let tris = match avs.iter().position(|(x, _)| *x == attr) {
            Some(i) => &mut avs[i].1,
            None => {
                avs.push((attr, Vec::with_capacity(1)));
                &mut avs.last_mut().expect("pushed").1
            }
        };
        if tris.iter().any(|t| t.v == v) {
            return;
        }
        if is_id {
            self.members.entry(attr).or_default().insert((ca, e));
        }
        if is_ref {
            if let Some(t) = ref_id(&v) {
                self.vae.entry(t).or_default().push((attr, e));
            }
        }
        if av {
            self.av
                .entry(attr)
                .or_default()
                .entry(vkey(&v))
                .or_default()
                .push(e);
        }
        if sorted {
            self.sorted
                .entry(attr)
                .or_default()
                .insert((sort_key(Some(&v), checked), e));
        }
        if self.logging {
            tris.push(Tri { v: v.clone(), ca });
            self.log.push(Change::Add(e, attr, Tri { v, ca }));
        } else {
            tris.push(Tri { v, ca });
        }
    }

    /// Removes one triple; returns it if it existed.
    pub fn remove_triple(&mut self, e: Uuid, attr: Uuid, v: &Value) -> Option<Tri> {
        let a = self.attrs.get(&attr).cloned()?;
        let avs = self.ents.get_mut(&e)?;
        let ai = avs.iter().position(|(x, _)| *x == attr)?;
        let ti = avs[ai].1.iter().position(|t| &t.v == v)?;
        let tri = avs[ai].1.remove(ti);
        if avs[ai].1.is_empty() {
            avs.swap_remove(ai);
        }
        if avs.is_empty() {
            self.ents.remove(&e);
        }
        if a.is_id() {
            if let Some(m) = self.members.get_mut(&attr) {
                m.remove(&(tri.ca, e));
            }
        }
        if a.is_ref {
            if let Some(t) = ref_id(&tri.v) {
                if let Some(list) = self.vae.get_mut(&t) {
                    if let Some(i) = list.iter().position(|x| *x == (attr, e)) {
                        list.swap_remove(i);
                    }
                    if list.is_empty() {
                        self.vae.remove(&t);
                    }
                }
            }
        }
        self.index_value(&a, e, &tri.v, false);
        if self.logging {
            self.log.push(Change::Remove(e, attr, tri.clone()));
        }
        Some(tri)
    }

    /// Sets a cardinality-one value, keeping the old triple's created_at.
    pub fn set_one(&mut self, e: Uuid, attr: Uuid, v: Value, now: i64) {
        let old: Vec<Tri> = self.values(e, attr).to_vec();
        let mut ca = now;
        for t in &old {
            if t.v == v && old.len() == 1 {
                return;
            }
            ca = ca.min(t.ca);
        }
        for t in old {
            self.remove_triple(e, attr, &t.v);
        }
        self.add_triple(e, attr, v, ca);
    }

    /// Starts logging changes for a transaction.
    pub fn begin(&mut self) {
        self.log.clear();
        self.logging = true;
    }

    /// Ends logging and returns the changes.
    pub fn commit(&mut self) -> Vec<Change> {
        self.logging = false;
        std::mem::take(&mut self.log)
    }

    /// Undoes every logged change (transaction failure).
    pub fn rollback(&mut self) {
        self.logging = false;
        let log = std::mem::take(&mut self.log);
        for c in log.into_iter().rev() {
            match c {
                Change::Add(e, a, t) => {
                    self.remove_triple(e, a, &t.v);
                }
                Change::Remove(e, a, t) => self.add_triple(e, a, t.v, t.ca),
                Change::AddAttr(a) => {
                    self.remove_attr(a.id);
                }
                Change::RemoveAttr(a) => self.insert_attr(*a),
                Change::UpdateAttr(old, _) => self.update_attr(*old),
                Change::Inferred(a, old, _) => {
                    if let Some(a) = self.attrs.get_mut(&a) {
                        a.inferred = old;
                    }
                }
            }
        }
    }

    /// Entities touched by a set of changes, with the namespaces/attrs involved
    /// (for live-query invalidation).
    pub fn touched_topics(
        changes: &[Change],
        attrs: &FastMap<Uuid, Attr>,
    ) -> super::subs::topics::Touched {
        super::subs::topics::Touched::from_changes(changes, attrs)
    }
}
