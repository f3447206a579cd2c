//! The server's spec of transaction steps and where it says a step fails.
//!
//! Instant checks `steps` with a clojure.spec (`server/src/instant/admin/model.clj`
//! lines 429-492, `::ops` = `(s/coll-of ::op)`, `::op` an `s/or` over one `s/cat`
//! per action) and reports the single "best" problem of `s/explain-data`
//! (`server/src/instant/util/exception.clj` `best-problem`, lines 542-573: the
//! problem with the longest spec path, then the longest `in`, then the largest
//! last `in` element; ties go to the later problem) as
//! `hint.errors = [{"expected": <predicate>, "in": <path into steps>}]`.
//!
//! This module reproduces those problems for the step grammar: every `s/or`
//! branch of a failing step contributes its problems, in branch order, with the
//! length of its spec path, so the same problem wins. Two quirks of the server
//! are kept because they decide which problem wins:
//! - validity is decided on the steps with string map keys, but the explanation
//!   runs on the request body as Ring parsed it, with keyword keys
//!   (`server/src/instant/core.clj` line 96, `wrap-json-body {:keywords? true}`):
//!   there every key of a `link`/`unlink` map fails `string?`, and an
//!   `{"upsert": …}` option is checked against `(s/nilable boolean?)`;
//! - the explanation covers every failing step, so a later step can win.

use serde_json::{json, Value};
use uuid::Uuid;

/// One problem of the explanation: the length of its spec path, its `in` path
/// and its predicate as the server prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    path_len: usize,
    /// Where in `steps` the value that failed is (`[step, position, …]`).
    pub at: Vec<Value>,
    /// The predicate (`"string?"`, `["create"]`, …).
    pub expected: Value,
}

/// The parts of a step after its action (`::create-op` … in `model.clj`).
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Op(&'static str),
    Etype,
    Eid,
    Args,
    LinkMap,
    Opts,
    Rest,
    AttrMap,
    AttrId,
}

impl Part {
    /// Length of the spec path of this part inside its `s/or` branch: `[branch
    /// :op]`, `[branch :args <key>]` (nested `s/cat`), `[branch :attr]`.
    fn path_len(self) -> usize {
        match self {
            Part::Op(_) | Part::AttrMap | Part::AttrId => 2,
            _ => 3,
        }
    }

    fn optional(self) -> bool {
        matches!(self, Part::Opts | Part::Rest)
    }

    /// The predicate named in an "Insufficient input" problem.
    fn form(self) -> Value {
        match self {
            Part::Op(op) => json!([op]),
            Part::Etype => json!("string?"),
            Part::Eid => json!("instant.admin.model/lookup"),
            Part::Args | Part::AttrMap => json!("map?"),
            Part::LinkMap => json!("instant.admin.model/link-map"),
            Part::Opts => json!("instant.admin.model/update-opts"),
            Part::Rest => json!(["constantly", true]),
            Part::AttrId => json!("instant.admin.model/coercible-uuid?"),
        }
    }
}

use Part::*;

/// The `s/or` branches of `::op`, in order (`model.clj` lines 480-490).
const BRANCHES: &[&[Part]] = &[
    &[Op("create"), Etype, Eid, Args],
    &[Op("update"), Etype, Eid, Args, Opts],
    &[Op("merge"), Etype, Eid, Args, Opts],
    &[Op("link"), Etype, Eid, LinkMap],
    &[Op("unlink"), Etype, Eid, LinkMap],
    &[Op("delete"), Etype, Eid, Rest],
    &[Op("ruleParams"), Etype, Eid, Args],
    &[Op("add-attr"), AttrMap],
    &[Op("update-attr"), AttrMap],
    &[Op("delete-attr"), AttrId],
];

/// `coercible-uuid?`.
fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok())
}

/// `::lookup`: a uuid, `[string, value]`, an object or a `lookup__…` string.
fn lookup_ok(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with("lookup__") || is_uuid(v),
        Value::Object(_) => true,
        Value::Array(a) => a.len() == 2 && a[0].is_string(),
        _ => false,
    }
}

/// `::link-value`: a lookup or a collection of lookups.
fn link_value_ok(v: &Value) -> bool {
    lookup_ok(v) || v.as_array().is_some_and(|a| a.iter().all(lookup_ok))
}

/// The `{"upsert": …}` option, seen with keyword keys (`raw`) or string keys.
fn opts_ok(v: &Value, raw: bool) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => {
            !raw || m
                .get("upsert")
                .is_none_or(|u| u.is_boolean() || u.is_null())
        }
        _ => false,
    }
}

fn part_ok(p: Part, v: &Value, raw: bool) -> bool {
    match p {
        Op(op) => v.as_str() == Some(op),
        Etype => v.is_string(),
        Eid => lookup_ok(v),
        Args | AttrMap => v.is_object(),
        LinkMap => v
            .as_object()
            .is_some_and(|m| m.values().all(link_value_ok) && (!raw || m.is_empty())),
        Opts => opts_ok(v, raw),
        Rest => true,
        AttrId => is_uuid(v),
    }
}

struct Explainer {
    out: Vec<Problem>,
}

impl Explainer {
    fn push(&mut self, path_len: usize, at: &[Value], expected: Value) {
        self.out.push(Problem {
            path_len,
            at: at.to_vec(),
            expected,
        });
    }

    /// `::lookup` (an `s/or` of `:entity-id` and `:lookup-ref`, itself an `s/or`
    /// of `:vec`, `:map`, `:encoded-lookup`); `p` is the length of its path.
    fn lookup(&mut self, v: &Value, p: usize, at: &[Value]) {
        self.push(p + 1, at, json!("instant.admin.model/coercible-uuid?"));
        match v.as_array() {
            None => self.push(p + 2, at, json!("vector?")),
            Some(a) if a.len() != 2 => self.push(p + 2, at, json!(["=", ["count", "%"], 2])),
            Some(a) => {
                if !a[0].is_string() {
                    self.push(p + 3, &[at, &[json!(0)]].concat(), json!("string?"));
                }
            }
        }
        self.push(p + 2, at, json!("map?"));
        self.push(p + 2, at, json!("instant.admin.model/lookup?"));
    }

    /// `::link-map` = `(s/map-of string? ::link-value)` at path length 3.
    fn link_map(&mut self, v: &Value, at: &[Value], raw: bool) {
        let Some(m) = v.as_object() else {
            self.push(3, at, json!("map?"));
            return;
        };
        for (k, val) in m {
            let entry = [at, &[json!(k)]].concat();
            if raw {
                self.push(4, &[&entry[..], &[json!(0)]].concat(), json!("string?"));
            }
            if link_value_ok(val) {
                continue;
            }
            let at_v = [&entry[..], &[json!(1)]].concat();
            // `:eid` branch, then `:eids` (`s/coll-of ::lookup`).
            self.lookup(val, 5, &at_v);
            match val.as_array() {
                Some(items) => {
                    for (j, it) in items.iter().enumerate() {
                        if !lookup_ok(it) {
                            self.lookup(it, 5, &[&at_v[..], &[json!(j)]].concat());
                        }
                    }
                }
                None if val.is_object() => {}
                None => self.push(5, &at_v, json!("coll?")),
            }
        }
    }

    /// `(s/? ::update-opts)`, `::update-opts` = `(s/nilable (s/keys :opt-un
    /// [::upsert]))`.
    fn opts(&mut self, v: &Value, at: &[Value]) {
        match v.as_object() {
            None => {
                self.push(4, at, json!("map?"));
                self.push(4, at, json!("nil?"));
            }
            Some(_) => {
                let at_u = [at, &[json!("upsert")]].concat();
                self.push(6, &at_u, json!("boolean?"));
                self.push(6, &at_u, json!("nil?"));
            }
        }
    }

    fn part(&mut self, p: Part, v: &Value, at: &[Value], raw: bool) {
        match p {
            Eid => self.lookup(v, 3, at),
            LinkMap => self.link_map(v, at, raw),
            Opts => self.opts(v, at),
            Op(_) | Etype | Args | AttrMap | AttrId | Rest => self.push(p.path_len(), at, p.form()),
        }
    }

    /// One `s/cat` branch over step `i` (clojure.spec's `re-explain`).
    fn branch(&mut self, parts: &[Part], step: &Value, i: usize, raw: bool) {
        let here = [json!(i)];
        let items: &[Value] = match step {
            Value::Array(a) => a,
            Value::Null => &[],
            _ => {
                let form = json!(["fn", ["%"], ["or", ["nil?", "%"], ["sequential?", "%"]]]);
                self.push(1, &here, form);
                return;
            }
        };
        for (j, p) in parts.iter().enumerate() {
            if *p == Rest {
                return;
            }
            let Some(v) = items.get(j) else {
                if !parts[j..].iter().all(|p| p.optional()) {
                    self.push(p.path_len(), &here, p.form());
                }
                return;
            };
            if !part_ok(*p, v, raw) {
                self.part(*p, v, &[json!(i), json!(j)], raw);
                return;
            }
        }
        if items.len() > parts.len() {
            // "Extra input": its spec path is the branch alone, so it never wins
            // over another branch's failed action; its predicate is not needed.
            self.push(1, &[json!(i), json!(parts.len())], Value::Null);
        }
    }

    fn step(&mut self, step: &Value, i: usize, raw: bool) {
        for parts in BRANCHES {
            self.branch(parts, step, i, raw);
        }
    }
}

/// True when `step` passes the server's `::op` spec (string keys).
pub fn step_ok(step: &Value) -> bool {
    let mut e = Explainer { out: Vec::new() };
    for parts in BRANCHES {
        e.out.clear();
        e.branch(parts, step, 0, false);
        if e.out.is_empty() {
            return true;
        }
    }
    false
}

/// The problem the server reports for `steps` (some of which fail the spec):
/// every step failing the spec with keyword keys is explained, and the best
/// problem wins as in `best-problem`.
pub fn best_problem(steps: &[Value]) -> Option<Problem> {
    let mut e = Explainer { out: Vec::new() };
    for (i, s) in steps.iter().enumerate() {
        let mut probe = Explainer { out: Vec::new() };
        let raw_ok = BRANCHES.iter().any(|parts| {
            probe.out.clear();
            probe.branch(parts, s, i, true);
            probe.out.is_empty()
        });
        if !raw_ok {
            e.step(s, i, true);
        }
    }
    // `(sort-by (fn [{:keys [in path]}] [(count path) (count in) (last in)]))`
    // then `last`: the greatest key, the later problem on ties. `in` ends in an
    // index, or a map key (never compared with an index in these specs).
    let mut best: Option<Problem> = None;
    for p in e.out {
        if best.as_ref().is_none_or(|b| compare(&p, b).is_ge()) {
            best = Some(p);
        }
    }
    best
}

/// The order of `best-problem` on two problems.
fn compare(a: &Problem, b: &Problem) -> std::cmp::Ordering {
    let last = |p: &Problem| match p.at.last() {
        Some(Value::Number(n)) => (0, n.as_u64().unwrap_or(0), String::new()),
        Some(Value::String(s)) => (1, 0, s.clone()),
        _ => (0, 0, String::new()),
    };
    (a.path_len, a.at.len(), last(a)).cmp(&(b.path_len, b.at.len(), last(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(steps: Value) -> Value {
        let p = best_problem(steps.as_array().unwrap()).expect("a problem");
        json!({"expected": p.expected, "in": p.at})
    }

    const ID: &str = "c0ffee00-0000-4000-8000-000000000001";

    #[test]
    fn each_part_of_a_step() {
        assert_eq!(
            best(json!([["update", 1, ID, {"title": "moop"}]])),
            json!({"expected": "string?", "in": [0, 1]})
        );
        assert_eq!(
            best(json!([["update", "goals", ID, "moop"]])),
            json!({"expected": "map?", "in": [0, 3]})
        );
        assert_eq!(
            best(json!([["frob", "goals", ID, {}]])),
            json!({"expected": ["delete-attr"], "in": [0, 0]})
        );
        assert_eq!(
            best(json!([["update", "goals"]])),
            json!({"expected": "instant.admin.model/lookup", "in": [0]})
        );
        assert_eq!(
            best(json!([["update", "goals", ["email"], {}]])),
            json!({"expected": "instant.admin.model/lookup?", "in": [0, 2]})
        );
        assert_eq!(
            best(json!([["update", "goals", ID, {}, 5]])),
            json!({"expected": "nil?", "in": [0, 4]})
        );
        assert_eq!(
            best(json!([["delete-attr", "nope"]])),
            json!({"expected": "instant.admin.model/coercible-uuid?", "in": [0, 1]})
        );
    }

    #[test]
    fn link_keys_fail_with_keyword_keys() {
        // A valid link step after a broken one is explained too: its key is a
        // keyword in the body Ring parsed, so `string?` fails deeper.
        assert_eq!(
            best(json!([["update", 1, ID, {}], ["link", "goals", ID, {"todos": ID}]])),
            json!({"expected": "string?", "in": [1, 3, "todos", 0]})
        );
        assert!(step_ok(&json!(["link", "goals", ID, {"todos": ID}])));
        assert_eq!(
            best(json!([["link", "goals", ID, {"todos": 1}]])),
            json!({"expected": "instant.admin.model/lookup?", "in": [0, 3, "todos", 1]})
        );
    }
}
