//! The cost bound of one rule evaluation.
//!
//! The `cel` crate offers no iteration limit or evaluation hook, so every
//! comprehension (`all`, `exists`, `exists_one`, `map`, `filter`) is
//! rewritten after parsing to take its range through [`STEPS_FN`], which
//! charges the range's size to the evaluation's budget (a thread-local set by
//! [`with_budget`] around one evaluation) and asks the request's
//! [`StopSignal`] (its deadline) whether to go on. Nested comprehensions charge
//! their range every time the outer loop enters them, so the budget bounds the
//! total number of iterations of an evaluation.
//!
//! The official server runs rules on cel-java without an explicit iteration
//! limit (`cel-options` in `server/src/instant/db/cel.clj`) and bounds a
//! query's total time with its query timeout ("The query took too long to
//! complete.", `throw-query-timeout!` in `server/src/instant/util/exception.clj`);
//! here the budget is [`crate::Limits::max_rule_eval_steps`] and the time is
//! the request's deadline.

use std::cell::RefCell;

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr};
use cel::common::value::CowVal;
use cel::ExecutionError;

/// The internal function every comprehension's range goes through. Starts
/// with `@`, which no rule can write.
pub(crate) const STEPS_FN: &str = "@rule_steps";

/// Something that tells a long evaluation to stop: the request's deadline
/// passed or its client went away.
pub trait StopSignal {
    /// True once the work must stop.
    fn should_stop(&self) -> bool;
    /// An owned copy sharing the same signal (a deadline's clone).
    fn clone_signal(&self) -> Box<dyn StopSignal>;
}

/// Why an evaluation was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The step budget ran out.
    Steps(u64),
    /// The [`StopSignal`] fired.
    Stopped,
}

struct Budget {
    left: u64,
    limit: u64,
    stop: Option<Box<dyn StopSignal>>,
    cut: Option<Cut>,
}

thread_local! {
    /// The budget of the evaluation running on this thread.
    static BUDGET: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// Runs `f` (one evaluation) with a budget of `steps` iterations and the stop
/// signal `stop`; returns `f`'s result and why it was cut short, if it was.
pub(crate) fn with_budget<R>(
    steps: u64,
    stop: Option<&dyn StopSignal>,
    f: impl FnOnce() -> R,
) -> (R, Option<Cut>) {
    let stop = stop.map(StopSignal::clone_signal);
    let previous = BUDGET.with(|b| {
        b.borrow_mut().replace(Budget {
            left: steps,
            limit: steps,
            stop,
            cut: None,
        })
    });
    let r = f();
    let cut = BUDGET.with(|b| {
        let mut slot = b.borrow_mut();
        let cut = slot.as_ref().and_then(|b| b.cut);
        *slot = previous;
        cut
    });
    (r, cut)
}

/// [`STEPS_FN`]: charges the size of `range` and returns it unchanged.
pub(crate) fn steps_fn<'b, 'v>(
    mut args: Vec<CowVal<'b, 'v>>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let Some(range) = args.pop() else {
        return Err(ExecutionError::invalid_argument_count(1, 0));
    };
    let size = range
        .as_sizer()
        .map(|s| (*s.size().inner()).max(0) as u64)
        .unwrap_or(1);
    let cut = BUDGET.with(|b| {
        let mut slot = b.borrow_mut();
        let budget = slot.as_mut()?;
        if budget.cut.is_some() {
            return budget.cut;
        }
        if budget.stop.as_ref().is_some_and(|s| s.should_stop()) {
            budget.cut = Some(Cut::Stopped);
        } else if size > budget.left {
            budget.cut = Some(Cut::Steps(budget.limit));
        } else {
            budget.left -= size;
        }
        budget.cut
    });
    match cut {
        None => Ok(range),
        Some(Cut::Stopped) => Err(ExecutionError::function_error(
            "rule",
            "the request ran out of time",
        )),
        Some(Cut::Steps(limit)) => Err(ExecutionError::function_error(
            "rule",
            format!("the rule took more than {limit} evaluation steps"),
        )),
    }
}

/// The message of an evaluation cut short by its step budget.
pub(crate) fn steps_message(limit: u64) -> String {
    format!(
        "the rule took more than {limit} evaluation steps (comprehension iterations); simplify it"
    )
}

/// Wraps the range of every comprehension of `e` in [`STEPS_FN`]. Recursive:
/// run it on the rule stack (`super::stack`), on a tree whose depth the
/// bounds check limited.
pub(crate) fn meter(e: &mut IdedExpr) {
    match &mut e.expr {
        Expr::Unspecified | Expr::Literal(_) | Expr::Ident(_) => {}
        Expr::Select(s) => meter(&mut s.operand),
        Expr::List(l) => l.elements.iter_mut().for_each(meter),
        Expr::Map(m) => m
            .entries
            .iter_mut()
            .for_each(|entry| match &mut entry.expr {
                EntryExpr::MapEntry(me) => {
                    meter(&mut me.key);
                    meter(&mut me.value);
                }
                EntryExpr::StructField(f) => meter(&mut f.value),
            }),
        Expr::Struct(s) => s
            .entries
            .iter_mut()
            .for_each(|entry| match &mut entry.expr {
                EntryExpr::MapEntry(me) => {
                    meter(&mut me.key);
                    meter(&mut me.value);
                }
                EntryExpr::StructField(f) => meter(&mut f.value),
            }),
        Expr::Call(c) => {
            if let Some(t) = &mut c.target {
                meter(t);
            }
            c.args.iter_mut().for_each(meter);
        }
        Expr::Comprehension(c) => {
            meter(&mut c.iter_range);
            meter(&mut c.accu_init);
            meter(&mut c.loop_cond);
            meter(&mut c.loop_step);
            meter(&mut c.result);
            // `cel.bind` iterates over an empty list literal: nothing to meter.
            let empty_literal =
                matches!(&c.iter_range.expr, Expr::List(l) if l.elements.is_empty());
            if !empty_literal {
                let range = std::mem::take(&mut c.iter_range);
                c.iter_range = IdedExpr {
                    id: range.id,
                    expr: Expr::Call(CallExpr {
                        func_name: STEPS_FN.to_owned(),
                        target: None,
                        args: vec![range],
                    }),
                };
            }
        }
    }
}
