//! The CEL environment Instant rules are compiled and run in.
//!
//! Mirrors `runtime-compiler-builder` and `cel-runtime` in
//! `server/src/instant/db/cel.clj`: the standard library and macros, the
//! `bindings` extension (`cel.bind`, which `bind` expands to), the `strings`
//! and `math` extensions, and Instant's one custom function, the member
//! `ref(path)` on `data` / `auth` / `linkedData`.

use std::sync::{Arc, OnceLock};

use cel::common::ast::{ComprehensionExpr, Expr, IdedExpr, ListExpr, LiteralValue};
use cel::common::traits::Indexer;
use cel::common::types::{CelString, DYN_TYPE, MAP_TYPE, STRING_TYPE};
use cel::common::value::CowVal;
use cel::parser::{Macro, MacroExprHelper, ParseError};
use cel::{extensions, Env, ExecutionError};

use super::budget::{steps_fn, STEPS_FN};
use super::value::REF_KEY_PREFIX;

/// The shared environment (built once per process).
pub(crate) fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(build())).clone()
}

fn build() -> Env {
    let mut env = Env::stdlib();
    // Each of these registers names no other one declares: failing here is a
    // programming error caught by every test, never caused by input.
    let steps: [Result<(), cel::DeclarationError>; 5] = [
        env.add_extension(extensions::strings),
        env.add_extension(extensions::math),
        env.add_macro(Macro::receiver("bind", 3, bind_macro)),
        env.add_member_overload(
            "ref",
            "map.ref(string)",
            MAP_TYPE,
            vec![STRING_TYPE],
            ref_fn,
        ),
        env.add_overload(STEPS_FN, "rule_steps_dyn", vec![DYN_TYPE], steps_fn),
    ];
    for step in steps {
        if let Err(e) = step {
            tracing::error!("building the CEL environment for rules: {e}");
        }
    }
    env
}

/// `cel.bind(name, init, body)`, expanded like cel-go / cel-java's bindings
/// extension: a comprehension over an empty list whose accumulator is `name`.
fn bind_macro(
    helper: &mut MacroExprHelper<'_>,
    target: &mut Option<IdedExpr>,
    args: &mut Vec<IdedExpr>,
) -> Result<Option<IdedExpr>, ParseError> {
    if !matches!(target.as_ref().map(|t| &t.expr), Some(Expr::Ident(n)) if n == "cel") {
        return Ok(None);
    }
    if args.len() != 3 {
        return Ok(None);
    }
    let body = args.pop().unwrap_or_default();
    let init = args.pop().unwrap_or_default();
    let name = args.pop().unwrap_or_default();
    let name = match name.expr {
        Expr::Ident(n) => n,
        _ => {
            return Err(helper.new_error(
                name.id,
                "cel.bind() variable names must be simple identifiers",
            ))
        }
    };
    *target = None;
    let ident = helper.next_expr(Expr::Ident(name.clone()));
    let bind = ComprehensionExpr {
        iter_range: helper.next_expr(Expr::List(ListExpr::new(Vec::new()))),
        iter_var: "#unused".to_owned(),
        iter_var2: None,
        accu_var: name,
        accu_init: init,
        loop_cond: helper.next_expr(Expr::Literal(LiteralValue::Boolean(false.into()))),
        loop_step: ident,
        result: body,
    };
    Ok(Some(helper.next_expr(Expr::Comprehension(Box::new(bind)))))
}

/// `x.ref(path)`: the prefetched list of values reached from entity `x` by
/// the link path `path` (Instant's `ref-impl`).
fn ref_fn<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [target, path]: [CowVal<'b, 'v>; 2] = args
        .try_into()
        .map_err(|a: Vec<_>| ExecutionError::invalid_argument_count(2, a.len()))?;
    let path: &str =
        <&str>::try_from(path.as_ref()).map_err(|_| ExecutionError::UnexpectedType {
            got: path.get_type().name().to_owned(),
            want: "string".to_owned(),
        })?;
    let key = CelString::from(format!("{REF_KEY_PREFIX}{path}"));
    let indexer: &dyn Indexer = target
        .as_indexer()
        .ok_or_else(|| ExecutionError::function_error("ref", "ref() needs an entity"))?;
    let v = indexer.get(&key)?.into_owned();
    Ok(CowVal::Owned(v))
}
