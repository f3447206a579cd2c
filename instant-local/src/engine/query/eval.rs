//! Evaluating a planned where tree on entities (existential dotted paths, `$not`
//! and `$isNull` counting missing links and values), and narrowing candidates
//! through the indexes.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use instant_core::{Op, ValueType};
use serde_json::Value;
use uuid::Uuid;

use super::super::deadline::Deadline;
use super::super::state::{ref_id, AppState};
use super::super::value::{date_us, json_eq, like, sort_key, SortKey, F};
use super::plan::{CondP, Hop, Last, W};

/// Entities reached from `e` through one hop.
pub fn follow(st: &AppState, e: Uuid, hop: &Hop) -> Vec<Uuid> {
    if hop.forward {
        st.values(e, hop.attr)
            .iter()
            .filter_map(|t| ref_id(&t.v))
            .collect()
    } else {
        st.sources(e, hop.attr).collect()
    }
}

/// Does entity `e` satisfy `w`? (No time limit: see [`matches_within`].)
pub fn matches(st: &AppState, w: &W, e: Uuid) -> bool {
    test(st, w, e, None)
}

/// [`matches`] that gives up (answers false) once `deadline` is over; the
/// caller then checks the deadline and fails with its `timeout` error.
pub fn matches_within(st: &AppState, w: &W, e: Uuid, deadline: &Deadline) -> bool {
    test(st, w, e, Some(deadline))
}

/// A deadline that may be absent.
type Dl<'a> = Option<&'a Deadline>;

fn over(dl: Dl<'_>) -> bool {
    dl.is_some_and(Deadline::is_over)
}

fn test(st: &AppState, w: &W, e: Uuid, dl: Dl<'_>) -> bool {
    match w {
        W::And(items) => items.iter().all(|i| test(st, i, e, dl)),
        W::Scope(items) => scope_matches(st, items, e, dl),
        W::Or(items) => items.iter().any(|i| test(st, i, e, dl)),
        W::False => false,
        W::Cond(c) => {
            let missing_counts = matches!(c.op, Op::Ne(_) | Op::IsNull(true));
            walk(st, c, e, 0, missing_counts, dl)
        }
    }
}

fn is_positive(c: &CondP) -> bool {
    !matches!(c.op, Op::Ne(_) | Op::IsNull(true))
}

/// One where object: every item must hold; positive dotted conditions are joined
/// on shared `(namespace, depth)` variables.
fn scope_matches(st: &AppState, items: &[W], e: Uuid, dl: Dl<'_>) -> bool {
    let mut pos: Vec<&CondP> = Vec::new();
    for i in items {
        match i {
            W::Cond(c) if is_positive(c) && !c.hops.is_empty() => pos.push(c),
            other => {
                if !test(st, other, e, dl) {
                    return false;
                }
            }
        }
    }
    // Each positive condition must hold on its own.
    if !pos.iter().all(|c| walk(st, c, e, 0, false, dl)) {
        return false;
    }
    if pos.len() < 2 {
        return true;
    }
    // Only conditions sharing a variable need the joint search.
    let vars = |c: &CondP| -> Vec<(String, usize)> {
        c.hops
            .iter()
            .enumerate()
            .filter(|(_, h)| h.binds)
            .map(|(i, h)| (h.ns.clone(), i + 1))
            .collect()
    };
    let all: Vec<Vec<(String, usize)>> = pos.iter().map(|c| vars(c)).collect();
    let shared = (0..all.len())
        .any(|i| (0..all.len()).any(|j| i != j && all[i].iter().any(|v| all[j].contains(v))));
    if !shared {
        return true;
    }
    let mut bindings: HashMap<(String, usize), Uuid> = HashMap::new();
    join(st, &pos, 0, e, &mut bindings, dl)
}

fn join(
    st: &AppState,
    pos: &[&CondP],
    k: usize,
    root: Uuid,
    b: &mut HashMap<(String, usize), Uuid>,
    dl: Dl<'_>,
) -> bool {
    if k == pos.len() {
        return true;
    }
    walk_bind(st, pos, k, root, root, 0, b, dl)
}

#[allow(clippy::too_many_arguments)]
fn walk_bind(
    st: &AppState,
    pos: &[&CondP],
    k: usize,
    root: Uuid,
    node: Uuid,
    i: usize,
    b: &mut HashMap<(String, usize), Uuid>,
    dl: Dl<'_>,
) -> bool {
    if over(dl) {
        return false;
    }
    let c = pos[k];
    if i == c.hops.len() {
        return final_test(st, c, node) && join(st, pos, k + 1, root, b, dl);
    }
    let hop = &c.hops[i];
    let targets = follow(st, node, hop);
    if !hop.binds {
        return targets
            .into_iter()
            .any(|t| walk_bind(st, pos, k, root, t, i + 1, b, dl));
    }
    let var = (hop.ns.clone(), i + 1);
    if let Some(bound) = b.get(&var).copied() {
        return targets.contains(&bound) && walk_bind(st, pos, k, root, bound, i + 1, b, dl);
    }
    for t in targets {
        b.insert(var.clone(), t);
        if walk_bind(st, pos, k, root, t, i + 1, b, dl) {
            b.remove(&var);
            return true;
        }
        b.remove(&var);
    }
    false
}

fn walk(st: &AppState, c: &CondP, node: Uuid, i: usize, missing_counts: bool, dl: Dl<'_>) -> bool {
    if over(dl) {
        return false;
    }
    if i == c.hops.len() {
        return final_test(st, c, node);
    }
    let next = follow(st, node, &c.hops[i]);
    if next.is_empty() {
        return missing_counts;
    }
    next.into_iter()
        .any(|n| walk(st, c, n, i + 1, missing_counts, dl))
}

fn typed_eq(stored: &Value, lit: &Value, checked: Option<ValueType>, indexed: bool) -> bool {
    if checked == Some(ValueType::Date) && indexed {
        return match (date_us(stored), date_us(lit)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
    }
    json_eq(stored, lit)
}

fn compare(stored: &Value, lit: &Value, checked: Option<ValueType>) -> Option<Ordering> {
    if stored.is_null() {
        return None;
    }
    let a = sort_key(Some(stored), checked);
    let b = sort_key(Some(lit), checked);
    match (&a, &b) {
        (SortKey::Num(_), SortKey::Num(_))
        | (SortKey::Str(_), SortKey::Str(_))
        | (SortKey::Bool(_), SortKey::Bool(_)) => Some(a.cmp(&b)),
        _ => None,
    }
}

fn final_test(st: &AppState, c: &CondP, node: Uuid) -> bool {
    match &c.last {
        Last::Id => {
            let id = Value::String(node.to_string());
            let same = |v: &Value| v.as_str().and_then(|s| Uuid::parse_str(s).ok()) == Some(node);
            match &c.op {
                Op::Eq(v) => same(v),
                Op::In(vs) => vs.iter().any(same),
                Op::Ne(v) => !same(v),
                Op::IsNull(b) => !*b,
                _ => {
                    let _ = id;
                    false
                }
            }
        }
        Last::Blob {
            attr,
            checked,
            indexed,
        } => {
            let stored = st.value(node, *attr).map(|t| &t.v);
            let present = stored.filter(|v| !v.is_null());
            match &c.op {
                Op::Eq(v) => present.is_some_and(|s| typed_eq(s, v, *checked, *indexed)),
                Op::In(vs) => vs.iter().any(|v| {
                    if v.is_null() {
                        present.is_none()
                    } else {
                        present.is_some_and(|s| typed_eq(s, v, *checked, *indexed))
                    }
                }),
                Op::Ne(v) => match present {
                    None => true,
                    Some(s) => !typed_eq(s, v, *checked, *indexed),
                },
                Op::IsNull(b) => present.is_none() == *b,
                Op::Gt(v) => present
                    .and_then(|s| compare(s, v, *checked))
                    .is_some_and(|o| o == Ordering::Greater),
                Op::Gte(v) => present
                    .and_then(|s| compare(s, v, *checked))
                    .is_some_and(|o| o != Ordering::Less),
                // A missing or null indexed string is a `jsonb` null on the
                // server, below every string (see `null_below_strings`).
                Op::Lt(_) | Op::Lte(_)
                    if present.is_none() && null_below_strings(*checked, *indexed) =>
                {
                    true
                }
                Op::Lt(v) => present
                    .and_then(|s| compare(s, v, *checked))
                    .is_some_and(|o| o == Ordering::Less),
                Op::Lte(v) => present
                    .and_then(|s| compare(s, v, *checked))
                    .is_some_and(|o| o != Ordering::Greater),
                Op::Like(p) => present
                    .and_then(Value::as_str)
                    .is_some_and(|s| like(p, s, false)),
                Op::Ilike(p) => present
                    .and_then(Value::as_str)
                    .is_some_and(|s| like(p, s, true)),
                _ => false,
            }
        }
    }
}

/// True when `$lt`/`$lte` match a missing or null value: on an indexed
/// string attribute the server compares raw `jsonb` values (`extract-value-fn`
/// has no string extractor for comparisons,
/// `server/src/instant/db/datalog.clj:594-601,624-627`), `null` sorts below every
/// string, and the server stores a `null` triple for each indexed attribute an
/// entity lacks.
fn null_below_strings(checked: Option<ValueType>, indexed: bool) -> bool {
    indexed && checked == Some(ValueType::String)
}

/// Candidate entities for `w` found through indexes, or `None` when `w` needs a
/// full scan. Candidates are a superset of the matches (callers still run
/// [`matches`]).
pub fn candidates(st: &AppState, w: &W) -> Option<HashSet<Uuid>> {
    match w {
        W::False => Some(HashSet::new()),
        W::And(items) | W::Scope(items) => items
            .iter()
            .filter_map(|i| candidates(st, i))
            .min_by_key(HashSet::len),
        W::Or(items) => {
            let mut out = HashSet::new();
            for i in items {
                out.extend(candidates(st, i)?);
            }
            Some(out)
        }
        W::Cond(c) => cond_candidates(st, c),
    }
}

fn cond_candidates(st: &AppState, c: &CondP) -> Option<HashSet<Uuid>> {
    // Targets at the end of the path, then walk back through the hops.
    let mut set: HashSet<Uuid> = match (&c.last, &c.op) {
        (Last::Id, Op::Eq(v)) => v
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .into_iter()
            .collect(),
        (Last::Id, Op::In(vs)) => vs
            .iter()
            .filter_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
            .collect(),
        (
            Last::Blob {
                checked, indexed, ..
            },
            Op::Lt(_) | Op::Lte(_),
        ) if null_below_strings(*checked, *indexed) => return None,
        (Last::Blob { attr, checked, .. }, op) => {
            let sorted = st.sorted.get(attr)?;
            let key = |v: &Value| sort_key(Some(v), *checked);
            let range = |lo: std::ops::Bound<SortKey>, hi: std::ops::Bound<SortKey>| {
                use std::ops::Bound::*;
                let lo2 = match lo {
                    Included(k) => Included((k, Uuid::nil())),
                    Excluded(k) => Excluded((k, Uuid::max())),
                    Unbounded => Excluded((SortKey::Null, Uuid::max())),
                };
                let hi2 = match hi {
                    Included(k) => Included((k, Uuid::max())),
                    Excluded(k) => Excluded((k, Uuid::nil())),
                    Unbounded => Unbounded,
                };
                sorted
                    .range((lo2, hi2))
                    .map(|(_, e)| *e)
                    .collect::<HashSet<Uuid>>()
            };
            use std::ops::Bound::*;
            match op {
                Op::Eq(v) => range(Included(key(v)), Included(key(v))),
                Op::In(vs) if vs.iter().all(|v| !v.is_null()) => {
                    let mut s = HashSet::new();
                    for v in vs {
                        s.extend(range(Included(key(v)), Included(key(v))));
                    }
                    s
                }
                Op::Gt(v) => range(Excluded(key(v)), Unbounded),
                Op::Gte(v) => range(Included(key(v)), Unbounded),
                Op::Lt(v) => range(Unbounded, Excluded(key(v))),
                Op::Lte(v) => range(Unbounded, Included(key(v))),
                Op::Like(p) if !p.starts_with(['%', '_', '\\']) => {
                    let prefix: String = p
                        .chars()
                        .take_while(|c| !matches!(c, '%' | '_' | '\\'))
                        .collect();
                    let mut hi = prefix.clone();
                    hi.push(char::MAX);
                    range(Included(SortKey::Str(prefix)), Excluded(SortKey::Str(hi)))
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let _ = F(0.0);
    for hop in c.hops.iter().rev() {
        let mut prev = HashSet::new();
        for t in &set {
            if hop.forward {
                prev.extend(st.sources(*t, hop.attr));
            } else {
                prev.extend(st.values(*t, hop.attr).iter().filter_map(|x| ref_id(&x.v)));
            }
        }
        set = prev;
    }
    Some(set)
}

type KeyBound = std::ops::Bound<(SortKey, Uuid)>;

/// Index bounds implied by the top-level range conditions (`$gt`, `$gte`, `$lt`,
/// `$lte`, equality) of `w` on the blob attribute `attr` (no link hops). Other
/// conditions are ignored: callers still run [`matches`] on every entity.
pub fn range_on(w: &W, attr: Uuid, checked: Option<ValueType>) -> (KeyBound, KeyBound) {
    use std::ops::Bound::*;
    let mut lo: KeyBound = Unbounded;
    let mut hi: KeyBound = Unbounded;
    let items: Vec<&W> = match w {
        W::Scope(v) | W::And(v) => v.iter().collect(),
        other => vec![other],
    };
    for i in items {
        let W::Cond(c) = i else { continue };
        let Last::Blob { attr: a, .. } = &c.last else {
            continue;
        };
        if *a != attr || !c.hops.is_empty() {
            continue;
        }
        let key = |v: &Value| sort_key(Some(v), checked);
        let (l, h): (KeyBound, KeyBound) = match &c.op {
            Op::Gt(v) => (Excluded((key(v), Uuid::max())), Unbounded),
            Op::Gte(v) => (Included((key(v), Uuid::nil())), Unbounded),
            Op::Lt(v) => (Unbounded, Excluded((key(v), Uuid::nil()))),
            Op::Lte(v) => (Unbounded, Included((key(v), Uuid::max()))),
            Op::Eq(v) => (
                Included((key(v), Uuid::nil())),
                Included((key(v), Uuid::max())),
            ),
            _ => continue,
        };
        // Keep the tighter bound (a single range condition is the common case).
        if !matches!(l, Unbounded) {
            lo = l;
        }
        if !matches!(h, Unbounded) {
            hi = h;
        }
    }
    // An inverted range would make BTreeSet::range panic: fall back to a full walk.
    let inverted = match (&lo, &hi) {
        (Included(a) | Excluded(a), Included(b) | Excluded(b)) => {
            a > b || (a == b && (matches!(lo, Excluded(_)) || matches!(hi, Excluded(_))))
        }
        _ => false,
    };
    if inverted {
        return (Unbounded, Unbounded);
    }
    (lo, hi)
}
