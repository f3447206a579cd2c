//! Static analysis of parsed rules: identifiers used, `ref` calls, and
//! undeclared references.
//!
//! Mirrors `ident-usages`, `collect-ref-uses` / `expr->ref-uses` and the
//! `auth-ref-validator` of `server/src/instant/db/cel.clj`, and the
//! "undeclared reference" check cel-java's type checker performs.

use std::collections::BTreeSet;

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};

/// Function namespaces of the environment: `math.greatest(..)` parses as a
/// call on the identifier `math`, which is not a variable.
const FUNCTION_NAMESPACES: &[&str] = &["math", "strings", "base64", "lists", "cel", "optional"];

/// Type names usable as values, e.g. `type(x) == string`.
const TYPE_NAMES: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

/// One `x.ref("path")` call found in a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RefUse {
    /// The variable the call is made on: `data`, `auth` or `linkedData`.
    pub(crate) target: String,
    /// The path argument (for `auth`, with the `$user.` prefix removed).
    pub(crate) path: String,
}

/// What a walk over an expression found.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// Free identifiers (not bound by a comprehension), in first-use order.
    pub(crate) idents: Vec<String>,
    /// `ref` calls with a literal argument.
    pub(crate) refs: BTreeSet<RefUse>,
    /// Problems: messages in cel-java's wording where one exists.
    pub(crate) errors: Vec<String>,
}

/// Walks `expr`, collecting free identifiers, `ref` uses and ref errors.
pub(crate) fn analyse(expr: &IdedExpr) -> Analysis {
    let mut a = Analysis::default();
    let mut scope = Vec::new();
    walk(expr, &mut scope, &mut a);
    a
}

/// Whether `name` is a type name or namespace rather than a variable.
pub(crate) fn is_builtin_name(name: &str) -> bool {
    TYPE_NAMES.contains(&name) || FUNCTION_NAMESPACES.contains(&name)
}

fn push_ident(a: &mut Analysis, name: &str) {
    if !a.idents.iter().any(|n| n == name) {
        a.idents.push(name.to_owned());
    }
}

fn walk(e: &IdedExpr, scope: &mut Vec<String>, a: &mut Analysis) {
    match &e.expr {
        Expr::Unspecified | Expr::Literal(_) => {}
        Expr::Ident(name) => {
            if !scope.iter().any(|s| s == name) && !name.starts_with('@') && !name.starts_with('#')
            {
                push_ident(a, name);
            }
        }
        Expr::Select(s) => walk(&s.operand, scope, a),
        Expr::List(l) => l.elements.iter().for_each(|x| walk(x, scope, a)),
        Expr::Map(m) => {
            for entry in &m.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(me) => {
                        walk(&me.key, scope, a);
                        walk(&me.value, scope, a);
                    }
                    EntryExpr::StructField(f) => walk(&f.value, scope, a),
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                match &entry.expr {
                    EntryExpr::MapEntry(me) => {
                        walk(&me.key, scope, a);
                        walk(&me.value, scope, a);
                    }
                    EntryExpr::StructField(f) => walk(&f.value, scope, a),
                }
            }
        }
        Expr::Comprehension(c) => {
            walk(&c.iter_range, scope, a);
            walk(&c.accu_init, scope, a);
            let before = scope.len();
            scope.push(c.accu_var.clone());
            scope.push(c.iter_var.clone());
            if let Some(v2) = &c.iter_var2 {
                scope.push(v2.clone());
            }
            walk(&c.loop_cond, scope, a);
            walk(&c.loop_step, scope, a);
            // Only the accumulator is visible in the result.
            scope.truncate(before);
            scope.push(c.accu_var.clone());
            walk(&c.result, scope, a);
            scope.truncate(before);
        }
        Expr::Call(call) => {
            if let Some(t) = &call.target {
                let target_name = match &t.expr {
                    Expr::Ident(n) if !scope.iter().any(|s| s == n) => Some(n.as_str()),
                    _ => None,
                };
                if call.func_name == "ref" {
                    if let Some(obj) = target_name {
                        record_ref(obj, &call.args, a);
                    }
                }
                match target_name {
                    Some(n) if FUNCTION_NAMESPACES.contains(&n) => {}
                    _ => walk(t, scope, a),
                }
            }
            call.args.iter().for_each(|x| walk(x, scope, a));
        }
    }
}

fn record_ref(obj: &str, args: &[IdedExpr], a: &mut Analysis) {
    let literal = match args {
        [IdedExpr {
            expr: Expr::Literal(LiteralValue::String(s)),
            ..
        }] => Some(s.inner().to_owned()),
        _ => None,
    };
    if obj == "auth" {
        match literal.as_deref().and_then(|p| p.strip_prefix("$user.")) {
            Some(path) => {
                a.refs.insert(RefUse {
                    target: obj.to_owned(),
                    path: path.to_owned(),
                });
            }
            None => a
                .errors
                .push("auth.ref arg must start with `$user.`".to_owned()),
        }
        return;
    }
    match literal {
        Some(path) => {
            a.refs.insert(RefUse {
                target: obj.to_owned(),
                path,
            });
        }
        None => a.errors.push(format!(
            "the argument of {obj}.ref must be a string literal, e.g. {obj}.ref('owner.id')"
        )),
    }
}
