//! Live-query invalidation at attribute level: what a committed transaction
//! touched ([`Touched`]) and what a subscribed query reads ([`ReadSet`]). A
//! subscription is recomputed only when [`ReadSet::affected_by`] says its
//! result could have changed.
//!
//! The read set is computed from the parsed query and the current attributes
//! (never from data), conservatively:
//! - every namespace node reads its `id` attribute (membership, created-at
//!   order and cursors), the attrs named by `fields` or, without `fields`, every
//!   attribute of the namespace, its `order` attribute, and each attribute on a
//!   `where` path (plus the link attrs and the `id` attrs of the namespaces the
//!   path walks through);
//! - a nested link reads its link attribute, then the child node as above;
//! - any attribute added, removed or changed in a namespace the query mentions
//!   refreshes it (labels resolve differently afterwards);
//! - system namespaces (`$users`, `$files`, ...) are read as a whole, including
//!   links pointing at them;
//! - a subscription filtered by permission rules (which may read any namespace)
//!   is refreshed by every transaction.

use std::collections::{HashMap, HashSet};

use instant_core::{Query, QueryNode, Where};
use serde_json::Value;
use uuid::Uuid;

use crate::engine::attr::Attr;
use crate::engine::query::eval;
use crate::engine::query::plan::{resolve_link, Planner, W};
use crate::engine::state::{AppState, Change, FastMap};

/// What one (or several coalesced) committed transactions touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Attribute ids of added or removed triples.
    pub attrs: HashSet<Uuid>,
    /// Owning namespaces of those attributes.
    pub namespaces: HashSet<String>,
    /// Owning and reverse (link target) namespaces of those attributes.
    pub namespaces_any_side: HashSet<String>,
    /// Namespaces (either side of links) whose attributes were added, removed or
    /// changed.
    pub schema: HashSet<String>,
    /// Something whose attribute is unknown changed: refresh everything.
    pub all: bool,
    /// `(entity, attribute)` of each added or removed triple, for
    /// [`EntityFilter::unchanged`]; `None` when there were more than
    /// [`MAX_TRACKED_CHANGES`] (bulk writes are not worth the bookkeeping).
    pub entities: Option<Vec<(Uuid, Uuid)>>,
}

/// Above this many triple changes, [`Touched::entities`] is not recorded.
pub const MAX_TRACKED_CHANGES: usize = 512;

impl Touched {
    /// The touched set of a transaction's `changes`; `attrs` are the app's
    /// attributes after the commit.
    pub fn from_changes(changes: &[Change], attrs: &FastMap<Uuid, Attr>) -> Touched {
        let mut t = Touched {
            entities: (changes.len() <= MAX_TRACKED_CHANGES).then(Vec::new),
            ..Touched::default()
        };
        for c in changes {
            match c {
                Change::Add(e, a, _) | Change::Remove(e, a, _) => {
                    if let Some(v) = &mut t.entities {
                        v.push((*e, *a));
                    }
                    t.attrs.insert(*a);
                    match attrs.get(a) {
                        Some(attr) => {
                            if !t.namespaces.contains(&attr.ns) {
                                t.namespaces.insert(attr.ns.clone());
                            }
                            if !t.namespaces_any_side.contains(&attr.ns) {
                                t.namespaces_any_side.insert(attr.ns.clone());
                            }
                            if let Some((_, rns, _)) = &attr.rev {
                                if !t.namespaces_any_side.contains(rns) {
                                    t.namespaces_any_side.insert(rns.clone());
                                }
                            }
                        }
                        // Removed in the same transaction: its RemoveAttr change
                        // names the namespaces; stay safe anyway.
                        None => t.all = true,
                    }
                }
                Change::AddAttr(a) | Change::RemoveAttr(a) => t.schema_attr(a),
                Change::UpdateAttr(a, b) => {
                    t.schema_attr(a);
                    t.schema_attr(b);
                }
                // New inferred types show in the attrs and may change how
                // untyped values compare: treat like a schema change.
                Change::Inferred(a, _, _) => match attrs.get(a) {
                    Some(attr) => t.schema_attr(attr),
                    None => t.all = true,
                },
            }
        }
        t
    }

    fn schema_attr(&mut self, a: &Attr) {
        self.schema.insert(a.ns.clone());
        if let Some((_, rns, _)) = &a.rev {
            self.schema.insert(rns.clone());
        }
    }

    /// Adds everything `other` touched (coalescing queued notices).
    pub fn merge(&mut self, other: Touched) {
        self.attrs.extend(other.attrs);
        self.namespaces.extend(other.namespaces);
        self.namespaces_any_side.extend(other.namespaces_any_side);
        self.schema.extend(other.schema);
        self.all |= other.all;
        self.entities = match (self.entities.take(), other.entities) {
            (Some(mut a), Some(b)) if a.len() + b.len() <= MAX_TRACKED_CHANGES => {
                a.extend(b);
                Some(a)
            }
            _ => None,
        };
    }

    /// Nothing was touched.
    pub fn is_empty(&self) -> bool {
        !self.all && self.attrs.is_empty() && self.schema.is_empty()
    }
}

/// What a subscribed query reads, for [`ReadSet::affected_by`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSet {
    /// Attribute ids read.
    pub attrs: HashSet<Uuid>,
    /// Namespaces all of whose (owned) attributes are read (entity bodies
    /// without `fields`).
    pub whole_namespaces: HashSet<String>,
    /// Namespaces read through any attribute on either side (system
    /// namespaces).
    pub any_side: HashSet<String>,
    /// Every namespace the query mentions (schema changes there refresh it).
    pub namespaces: HashSet<String>,
    /// Every change refreshes (permission rules may read anything).
    pub all: bool,
}

impl ReadSet {
    /// The read set of everything: used for subscriptions filtered by rules.
    pub fn everything() -> ReadSet {
        ReadSet {
            all: true,
            ..ReadSet::default()
        }
    }

    /// The read set of `q` against the attributes of `st`.
    pub fn of_query(st: &AppState, q: &Query) -> ReadSet {
        let mut rs = ReadSet::default();
        for (ns, node) in &q.namespaces {
            rs.node(st, ns, node, 0);
        }
        rs
    }

    /// Could a transaction that touched `t` change the result of a query with
    /// this read set?
    pub fn affected_by(&self, t: &Touched) -> bool {
        if self.all || t.all {
            return true;
        }
        t.schema.iter().any(|ns| self.namespaces.contains(ns))
            || intersects(&t.attrs, &self.attrs)
            || t.namespaces
                .iter()
                .any(|ns| self.whole_namespaces.contains(ns))
            || t.namespaces_any_side
                .iter()
                .any(|ns| self.any_side.contains(ns))
    }

    fn id_of(&mut self, st: &AppState, ns: &str) {
        if let Some(a) = st.id_attr(ns) {
            self.attrs.insert(a.id);
        }
    }

    fn mention(&mut self, st: &AppState, ns: &str) {
        if !self.namespaces.contains(ns) {
            self.namespaces.insert(ns.to_string());
        }
        if ns.starts_with('$') && !self.any_side.contains(ns) {
            self.any_side.insert(ns.to_string());
        }
        self.id_of(st, ns);
    }

    fn node(&mut self, st: &AppState, ns: &str, node: &QueryNode, depth: usize) {
        // Queries are finite trees, but stay bounded on pathological input.
        if depth > 64 {
            self.all = true;
            return;
        }
        self.mention(st, ns);
        let o = &node.options;
        match &o.fields {
            None => {
                if !self.whole_namespaces.contains(ns) {
                    self.whole_namespaces.insert(ns.to_string());
                }
            }
            Some(fields) => {
                for f in fields {
                    if let Some(a) = st.fwd_attr(ns, f) {
                        self.attrs.insert(a.id);
                    }
                }
            }
        }
        if let Some(order) = &o.order {
            if let Some(a) = st.fwd_attr(ns, &order.field) {
                self.attrs.insert(a.id);
            }
        }
        if let Some(w) = &o.filter {
            let mut keys = Vec::new();
            where_paths(w, &mut keys);
            for k in keys {
                self.where_path(st, ns, k);
            }
        }
        for (label, child) in &node.children {
            // An unknown label reads nothing: only a schema change in `ns`
            // (which is mentioned) can make it resolve.
            if let Some((a, _, next)) = resolve_link(st, ns, label) {
                self.attrs.insert(a.id);
                self.node(st, &next, child, depth + 1);
            }
        }
    }

    fn where_path(&mut self, st: &AppState, ns: &str, key: &str) {
        let segs: Vec<&str> = key.split('.').collect();
        let mut cur = ns.to_string();
        for (i, seg) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            if last && *seg == "id" {
                self.id_of(st, &cur);
                return;
            }
            match resolve_link(st, &cur, seg) {
                Some((a, _, next)) => {
                    self.attrs.insert(a.id);
                    if a.is_ref {
                        self.mention(st, &next);
                        cur = next;
                    } else {
                        return;
                    }
                }
                None => return,
            }
        }
    }
}

/// Entity-level check for plain filter queries: every top-level form has no
/// nested links, no pagination or aggregate, and a `where` (if any) on its own
/// attributes only, so its result is exactly the entities of the namespace
/// that match. Such a result cannot change when every touched entity neither
/// was in the last result nor matches now.
pub struct EntityFilter {
    /// (namespace, raw `where` object) per top-level form.
    tops: Vec<(String, Option<Value>)>,
}

impl EntityFilter {
    /// The filter of `q` (`raw` as sent), or `None` when `q` is not a plain
    /// filter query.
    pub fn of_query(q: &Query, raw: &Value) -> Option<EntityFilter> {
        let mut tops = Vec::new();
        for (ns, node) in &q.namespaces {
            let o = &node.options;
            let paginated = o.limit.is_some()
                || o.first.is_some()
                || o.last.is_some()
                || o.offset.is_some()
                || o.after.is_some()
                || o.before.is_some();
            if ns.starts_with('$')
                || !node.children.is_empty()
                || paginated
                || o.aggregate.is_some()
            {
                return None;
            }
            let raw_where = match &o.filter {
                None => None,
                Some(w) => {
                    let mut keys = Vec::new();
                    where_paths(w, &mut keys);
                    if keys.iter().any(|k| k.contains('.')) {
                        return None;
                    }
                    Some(raw.get(ns)?.get("$")?.get("where")?.clone())
                }
            };
            tops.push((ns.clone(), raw_where));
        }
        Some(EntityFilter { tops })
    }

    /// Top-level entity ids per namespace of a result, `None` if the result
    /// does not have the expected shape.
    pub fn ids_of(&self, result: &Value) -> Option<HashMap<String, HashSet<Uuid>>> {
        let mut out = HashMap::new();
        for (ns, _) in &self.tops {
            let mut ids = HashSet::new();
            for item in result.get(ns)?.as_array()? {
                ids.insert(Uuid::parse_str(item.get("id")?.as_str()?).ok()?);
            }
            out.insert(ns.clone(), ids);
        }
        Some(out)
    }

    /// True when the changes in `t` provably leave the result unchanged:
    /// `last` holds the entity ids of the last result (computed after every
    /// earlier notice), `reads` the query's read set, `st` the current state.
    pub fn unchanged(
        &self,
        st: &AppState,
        raw: &Value,
        last: &HashMap<String, HashSet<Uuid>>,
        reads: &ReadSet,
        t: &Touched,
    ) -> bool {
        let Some(entities) = &t.entities else {
            return false;
        };
        if t.all || t.schema.iter().any(|ns| reads.namespaces.contains(ns)) {
            return false;
        }
        let mut planned: HashMap<&str, Option<W>> = HashMap::new();
        for (e, a) in entities {
            let Some(attr) = st.attrs.get(a) else {
                return false;
            };
            let read = reads.attrs.contains(a)
                || reads.whole_namespaces.contains(&attr.ns)
                || reads.any_side.contains(&attr.ns)
                || attr
                    .rev
                    .as_ref()
                    .is_some_and(|(_, rns, _)| reads.any_side.contains(rns));
            if !read {
                continue;
            }
            let Some((ns, raw_where)) = self.tops.iter().find(|(ns, _)| *ns == attr.ns) else {
                return false;
            };
            if last.get(ns).is_none_or(|ids| ids.contains(e)) {
                return false;
            }
            let Some(id_attr) = st.id_attr(ns) else {
                return false;
            };
            if !st.exists(*e, id_attr.id) {
                continue;
            }
            let w = match planned.get(ns.as_str()) {
                Some(w) => w,
                None => {
                    let w = match raw_where {
                        None => None,
                        Some(rw) => {
                            // A where key on a link compares link values,
                            // which the entity's own triples do not decide.
                            let on_link = where_has_link(st, ns, rw);
                            if on_link {
                                return false;
                            }
                            let path = [ns.clone(), "$".to_string(), "where".to_string()];
                            match (Planner { st, input: raw }).plan_raw(ns, rw, &path) {
                                Ok(w) => Some(w),
                                Err(_) => return false,
                            }
                        }
                    };
                    planned.entry(ns.as_str()).or_insert(w)
                }
            };
            match w {
                // No where: an existing entity is in the result.
                None => return false,
                Some(w) => {
                    if eval::matches(st, w, *e) {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// Does any key of a raw where object (at any `and`/`or` depth) name a link?
fn where_has_link(st: &AppState, ns: &str, w: &Value) -> bool {
    match w {
        Value::Object(m) => m.iter().any(|(k, v)| match k.as_str() {
            "and" | "or" => v
                .as_array()
                .is_none_or(|xs| xs.iter().any(|x| where_has_link(st, ns, x))),
            _ => resolve_link(st, ns, k).is_some_and(|(a, _, _)| a.is_ref),
        }),
        _ => true,
    }
}

fn intersects(a: &HashSet<Uuid>, b: &HashSet<Uuid>) -> bool {
    let (small, big) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small.iter().any(|x| big.contains(x))
}

fn where_paths<'a>(w: &'a Where, out: &mut Vec<&'a str>) {
    match w {
        Where::Cond(c) => out.push(c.path.as_str()),
        Where::And(v) | Where::Or(v) => v.iter().for_each(|x| where_paths(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::Tri;
    use serde_json::json;

    fn state() -> AppState {
        let mut st = AppState::new();
        for a in [
            Attr::id_attr("todos"),
            Attr::blob("todos", "title"),
            Attr::blob("todos", "done"),
            Attr::blob("todos", "prio"),
            Attr::id_attr("goals"),
            Attr::blob("goals", "name"),
            Attr::link("todos", "goal", "goals", "todos"),
        ] {
            st.insert_attr(a);
        }
        st
    }

    fn id(st: &AppState, ns: &str, label: &str) -> Uuid {
        st.fwd_attr(ns, label).expect("attr").id
    }

    fn reads(st: &AppState, q: serde_json::Value) -> ReadSet {
        ReadSet::of_query(st, &Query::from_json(&q).expect("query"))
    }

    fn tri() -> Tri {
        Tri { v: json!(1), ca: 0 }
    }

    #[test]
    fn fields_where_and_order_name_the_attrs_read() {
        let st = state();
        let rs = reads(
            &st,
            json!({"todos": {"$": {"fields": ["title"], "where": {"done": true}, "order": {"prio": "asc"}}}}),
        );
        let want: HashSet<Uuid> = ["id", "title", "done", "prio"]
            .iter()
            .map(|l| id(&st, "todos", l))
            .collect();
        assert_eq!(rs.attrs, want);
        assert!(rs.whole_namespaces.is_empty() && !rs.all);
        // A change to goals.name does not affect it; todos.title does.
        let e = Uuid::new_v4();
        let name = Change::Add(e, id(&st, "goals", "name"), tri());
        assert!(!rs.affected_by(&Touched::from_changes(&[name], &st.attrs)));
        let title = Change::Add(e, id(&st, "todos", "title"), tri());
        assert!(rs.affected_by(&Touched::from_changes(&[title], &st.attrs)));
    }

    #[test]
    fn links_and_dotted_where_paths_read_through() {
        let st = state();
        let rs = reads(
            &st,
            json!({"goals": {"$": {"fields": ["name"]}, "todos": {"$": {"where": {"goal.name": "x"}}}}}),
        );
        for (ns, l) in [
            ("goals", "id"),
            ("goals", "name"),
            ("todos", "goal"),
            ("todos", "id"),
        ] {
            assert!(rs.attrs.contains(&id(&st, ns, l)), "{ns}.{l}");
        }
        // The nested node has no fields: all of `todos` is read.
        assert!(rs.whole_namespaces.contains("todos"));
        assert!(!rs.whole_namespaces.contains("goals"));
        // Schema changes in a mentioned namespace always count.
        let t = Touched {
            schema: ["goals".to_string()].into(),
            ..Touched::default()
        };
        assert!(rs.affected_by(&t));
    }

    #[test]
    fn entity_lists_are_capped_and_merged() {
        let st = state();
        let a = id(&st, "todos", "title");
        let few: Vec<Change> = (0..3)
            .map(|_| Change::Add(Uuid::new_v4(), a, tri()))
            .collect();
        let many: Vec<Change> = (0..MAX_TRACKED_CHANGES + 1)
            .map(|_| Change::Add(Uuid::new_v4(), a, tri()))
            .collect();
        let mut t = Touched::from_changes(&few, &st.attrs);
        assert_eq!(t.entities.as_ref().map(Vec::len), Some(3));
        t.merge(Touched::from_changes(&few, &st.attrs));
        assert_eq!(t.entities.as_ref().map(Vec::len), Some(6));
        assert!(Touched::from_changes(&many, &st.attrs).entities.is_none());
        t.merge(Touched::from_changes(&many, &st.attrs));
        assert!(t.entities.is_none());
        // An attribute unknown after the commit refreshes everything.
        let gone = Touched::from_changes(
            &[Change::Remove(Uuid::new_v4(), Uuid::new_v4(), tri())],
            &st.attrs,
        );
        assert!(gone.all && ReadSet::default().affected_by(&gone));
    }
}
