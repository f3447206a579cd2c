//! One compiled rule and its evaluation.

use std::collections::BTreeSet;

use cel::Context;
use instant_core::Id;
use serde_json::{json, Map, Value};

use super::ast::{analyse, is_builtin_name, RefUse};
use super::binds::{first_parse_message, with_binds};
use super::context::{Action, RuleContext};
use super::env::env;
use super::error::RuleError;
use super::value::{EntityMap, RefTable};

/// A rule compiled once and evaluated many times.
#[derive(Debug)]
pub(crate) struct Compiled {
    program: cel::Program,
    refs: BTreeSet<RefUse>,
    /// The CEL actually run (rule with binds expanded).
    pub(crate) code: String,
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
    ) -> Result<Compiled, Vec<String>> {
        let code = with_binds(binds, expr).map_err(|m| vec![m])?;
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
        Ok(Compiled {
            program,
            refs: analysis.refs,
            code,
        })
    }

    /// Evaluates the rule. `null` and `false` deny; any other value allows
    /// (Instant checks `(boolean result)`).
    pub(crate) fn eval(&self, ctx: &RuleContext<'_>) -> Result<bool, RuleError> {
        let fail = |message: String| RuleError::Evaluation {
            namespace: ctx.namespace.to_owned(),
            action: ctx.action.as_str().to_owned(),
            message,
        };
        let empty = Map::new();

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

        let request = ctx.modified_fields.map(|f| json!({"modifiedFields": f}));
        let new_data = match ctx.action {
            Action::Create => ctx.new_data.or(ctx.data),
            _ => ctx.new_data,
        };

        let mut c = Context::with_env(env());
        c.add_variable_as_val("data", entity(ctx.data, Some(&data_refs)));
        c.add_variable_as_val("auth", entity(ctx.auth, Some(&auth_refs)));
        c.add_variable_as_val(
            "ruleParams",
            Box::new(EntityMap::new(obj(ctx.rule_params).unwrap_or(&empty), None)),
        );
        let vars = ctx.action.variables();
        if vars.contains(&"newData") {
            c.add_variable_as_val("newData", entity(new_data, None));
        }
        if vars.contains(&"linkedData") {
            c.add_variable_as_val("linkedData", entity(ctx.linked_data, Some(&linked_refs)));
        }
        if vars.contains(&"actions") {
            c.add_variable_as_val("actions", entity(ctx.actions, None));
        }
        if vars.contains(&"request") {
            c.add_variable_as_val("request", entity(request.as_ref(), None));
        }
        match self.program.execute(&c) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(cel::Value::Null) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) => Err(fail(e.to_string())),
        }
    }
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
