//! One compiled rule and its evaluation.

use std::collections::BTreeSet;

use cel::common::ast::IdedExpr;
use cel::Context;
use instant_core::Id;
use serde_json::{json, Map, Value};

use super::ast::{analyse, is_builtin_name, RefUse};
use super::binds::{first_parse_message, with_binds};
use super::bounds::{check_expression, nesting_depth};
use super::budget::{meter, steps_message, with_budget, Cut, StopSignal};
use super::context::{Action, RuleContext};
use super::env::env;
use super::error::RuleError;
use super::stack::{on_rule_stack, on_rule_stack_now, stack_for};
use super::value::{EntityMap, RefTable};

/// Rules nested at most this deep (bound of the expanded code) are evaluated
/// on the caller's thread; deeper ones on the rule stack (`super::stack`).
const INLINE_DEPTH: usize = 8;

/// The bounds rules are compiled and evaluated with (from [`crate::Limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RuleBounds {
    /// Largest expression as written, in bytes.
    pub(crate) max_bytes: usize,
    /// Deepest expression as written.
    pub(crate) max_depth: usize,
    /// Most evaluation steps of one evaluation.
    pub(crate) max_steps: u64,
}

impl RuleBounds {
    /// The bounds of `limits`.
    pub(crate) fn of(limits: &crate::Limits) -> RuleBounds {
        RuleBounds {
            max_bytes: limits.max_rule_bytes,
            max_depth: limits.max_rule_depth,
            max_steps: limits.max_rule_eval_steps,
        }
    }

    /// Deepest expanded rule (the rule wrapped in the `cel.bind` of its binds):
    /// four times [`RuleBounds::max_depth`] (256 by default, about cel-java's
    /// parser limit of 250 that the official server applies to the same
    /// expanded code).
    pub(crate) fn max_expanded_depth(&self) -> usize {
        self.max_depth.saturating_mul(4)
    }

    /// The rule stack size for these bounds.
    pub(crate) fn stack(&self) -> usize {
        stack_for(self.max_expanded_depth())
    }
}

/// A rule compiled once and evaluated many times.
#[derive(Debug)]
pub(crate) struct Compiled {
    expr: IdedExpr,
    refs: BTreeSet<RefUse>,
    /// The CEL actually run (rule with binds expanded).
    pub(crate) code: String,
    /// Nesting bound of `code`.
    depth: usize,
    bounds: RuleBounds,
}

impl Compiled {
    /// Compiles `expr` for `action` with `binds`.
    ///
    /// # Errors
    /// The messages of every problem: parse errors (the CEL parser's message),
    /// cyclic binds, undeclared references, bad `ref` arguments.
    pub(crate) fn compile(
        action: &Action,
        binds: &[(String, String)],
        expr: &str,
        bounds: RuleBounds,
    ) -> Result<Compiled, Vec<String>> {
        // Nothing reaches the parser before its size and nesting are bounded.
        check_expression(expr, bounds.max_bytes, bounds.max_depth)
            .map_err(|e| vec![e.message()])?;
        for (_, body) in binds {
            check_expression(body, bounds.max_bytes, bounds.max_depth)
                .map_err(|e| vec![e.message()])?;
        }
        on_rule_stack(bounds.stack(), || {
            Self::compile_here(action, binds, expr, bounds)
        })
        .unwrap_or_else(|| Err(vec!["the rule could not be compiled".to_owned()]))
    }

    fn compile_here(
        action: &Action,
        binds: &[(String, String)],
        expr: &str,
        bounds: RuleBounds,
    ) -> Result<Compiled, Vec<String>> {
        let code = with_binds(binds, expr).map_err(|m| vec![m])?;
        let depth = nesting_depth(&code, bounds.max_expanded_depth()).map_err(|_| {
            vec![format!(
                "expression recursion limit exceeded: the rule with the binds it uses is nested deeper than {}",
                bounds.max_expanded_depth()
            )]
        })?;
        let program = env()
            .compile(&code)
            .map_err(|e| vec![first_parse_message(&e)])?;
        let analysis = analyse(program.expression());
        let mut errors = analysis.errors;
        for ident in &analysis.idents {
            let declared = action.variables().contains(&ident.as_str()) || is_builtin_name(ident);
            if ident == "rateLimit" {
                errors.push(
                    "rateLimit is not supported by instant-local: remove it from the rule"
                        .to_owned(),
                );
            } else if !declared {
                errors.push(format!(
                    "undeclared reference to '{ident}' (in container '')"
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut expr = program.expression().clone();
        meter(&mut expr);
        Ok(Compiled {
            expr,
            refs: analysis.refs,
            code,
            depth,
            bounds,
        })
    }

    /// Evaluates the rule. `null` and `false` deny; any other value allows
    /// (Instant checks `(boolean result)`).
    ///
    /// `ref` results are fetched first on the caller's thread; a deeply
    /// nested rule then runs on the rule stack. The evaluation may take
    /// [`RuleBounds::max_steps`] comprehension iterations and stops when
    /// `ctx.stop` fires.
    pub(crate) fn eval(&self, ctx: &RuleContext<'_>) -> Result<bool, RuleError> {
        let fail = |message: String| RuleError::Evaluation {
            namespace: ctx.namespace.to_owned(),
            action: ctx.action.as_str().to_owned(),
            message,
        };
        if ctx.stop.is_some_and(|s| s.should_stop()) {
            return Err(RuleError::Interrupted);
        }

        // Prefetch `ref` results (Instant's `preloaded-refs`).
        let mut data_refs = RefTable::new();
        let mut auth_refs = RefTable::new();
        let mut linked_refs = RefTable::new();
        for r in &self.refs {
            let (table, ns, entity) = match r.target.as_str() {
                "data" => (&mut data_refs, Some(ctx.namespace), ctx.data),
                "auth" => (&mut auth_refs, Some("$users"), ctx.auth),
                "linkedData" => (&mut linked_refs, ctx.linked_namespace, ctx.linked_data),
                _ => continue,
            };
            let values = match (ns, entity_id(entity)) {
                (Some(ns), Some(id)) => ctx.resolver.resolve(ns, id, &r.path),
                _ => Vec::new(),
            };
            let key = if r.target == "auth" {
                format!("$user.{}", r.path)
            } else {
                r.path.clone()
            };
            table.insert(key, values);
        }
        let inputs = Inputs {
            action: ctx.action,
            data: ctx.data,
            auth: ctx.auth,
            new_data: ctx.new_data,
            linked_data: ctx.linked_data,
            actions: ctx.actions,
            rule_params: ctx.rule_params,
            modified_fields: ctx.modified_fields,
            stop: ctx.stop,
            refs: [&data_refs, &auth_refs, &linked_refs],
        };
        let run = || self.eval_here(&inputs);
        let (result, cut) = if self.depth <= INLINE_DEPTH || on_rule_stack_now() {
            run()
        } else {
            on_rule_stack(self.bounds.stack(), run)
                .unwrap_or_else(|| (Err("the rule could not be evaluated".to_owned()), None))
        };
        match (result, cut) {
            (_, Some(Cut::Stopped)) => Err(RuleError::Interrupted),
            (_, Some(Cut::Steps(limit))) => Err(fail(steps_message(limit))),
            (Ok(b), None) => Ok(b),
            (Err(m), None) => Err(fail(m)),
        }
    }

    fn eval_here(&self, inp: &Inputs<'_>) -> (Result<bool, String>, Option<Cut>) {
        let empty = Map::new();
        let [data_refs, auth_refs, linked_refs] = inp.refs;
        let request = inp.modified_fields.map(|f| json!({"modifiedFields": f}));
        let new_data = match inp.action {
            Action::Create => inp.new_data.or(inp.data),
            _ => inp.new_data,
        };

        let mut c = Context::with_env(env());
        c.add_variable_as_val("data", entity(inp.data, Some(data_refs)));
        c.add_variable_as_val("auth", entity(inp.auth, Some(auth_refs)));
        c.add_variable_as_val(
            "ruleParams",
            Box::new(EntityMap::new(obj(inp.rule_params).unwrap_or(&empty), None)),
        );
        let vars = inp.action.variables();
        if vars.contains(&"newData") {
            c.add_variable_as_val("newData", entity(new_data, None));
        }
        if vars.contains(&"linkedData") {
            c.add_variable_as_val("linkedData", entity(inp.linked_data, Some(linked_refs)));
        }
        if vars.contains(&"actions") {
            c.add_variable_as_val("actions", entity(inp.actions, None));
        }
        if vars.contains(&"request") {
            c.add_variable_as_val("request", entity(request.as_ref(), None));
        }
        let stop = inp.stop.map(|s| s as &dyn StopSignal);
        let (r, cut) = with_budget(self.bounds.max_steps, stop, || {
            match cel::Value::resolve(&self.expr, &c) {
                Ok(cel::Value::Bool(b)) => Ok(b),
                Ok(cel::Value::Null) => Ok(false),
                Ok(_) => Ok(true),
                Err(e) => Err(e.to_string()),
            }
        });
        (r, cut)
    }
}

/// What one evaluation reads, `ref` results prefetched (all `Sync`, so that a
/// deep rule can run on the rule stack thread).
struct Inputs<'a> {
    action: &'a Action,
    data: Option<&'a Value>,
    auth: Option<&'a Value>,
    new_data: Option<&'a Value>,
    linked_data: Option<&'a Value>,
    actions: Option<&'a Value>,
    rule_params: Option<&'a Value>,
    modified_fields: Option<&'a [String]>,
    stop: Option<&'a (dyn StopSignal + Sync)>,
    refs: [&'a RefTable; 3],
}

fn obj(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

fn entity<'a>(
    v: Option<&'a Value>,
    refs: Option<&'a RefTable>,
) -> Box<dyn cel::common::value::Val + 'a> {
    match obj(v) {
        Some(m) => Box::new(EntityMap::new(m, refs)),
        None => Box::new(EntityMap::empty(refs)),
    }
}

fn entity_id(entity: Option<&Value>) -> Option<Id> {
    entity
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str)
        .and_then(|s| Id::parse(s).ok())
}
