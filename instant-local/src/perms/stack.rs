//! A thread stack of known size for rule compilation and evaluation.
//!
//! The `cel` crate's parser (an ANTLR parse tree and a recursive visitor) and
//! interpreter recurse once or more per nesting level, with large frames in
//! unoptimised builds (measured: over 100 KiB per parenthesis level when
//! parsing, tens of KiB per operator level when evaluating). The bounds check
//! (`super::bounds`) limits the depth; [`on_rule_stack`] gives that depth a
//! stack sized for it, whatever thread the request runs on (tokio's threads
//! have 2 MiB).

use std::cell::Cell;

/// Stack reserved per level of nesting allowed (the expanded rule's depth
/// bound): measured need in unoptimised builds, with a margin.
const STACK_PER_LEVEL: usize = 256 * 1024;

/// The smallest and largest rule stack, in bytes.
const MIN_STACK: usize = 16 * 1024 * 1024;
const MAX_STACK: usize = 1024 * 1024 * 1024;

thread_local! {
    /// Set on a thread started by [`on_rule_stack`].
    static ON_RULE_STACK: Cell<bool> = const { Cell::new(false) };
}

/// The stack size for rules whose expanded depth is at most `depth`.
pub(crate) fn stack_for(depth: usize) -> usize {
    depth
        .saturating_mul(STACK_PER_LEVEL)
        .clamp(MIN_STACK, MAX_STACK)
}

/// Whether the current thread is a rule stack thread.
pub(crate) fn on_rule_stack_now() -> bool {
    ON_RULE_STACK.with(Cell::get)
}

/// Runs `f` on a thread with a `stack`-byte stack (directly when already on
/// one), waiting for it. `None` when the thread could not be started or `f`
/// panicked.
pub(crate) fn on_rule_stack<R: Send>(stack: usize, f: impl FnOnce() -> R + Send) -> Option<R> {
    if on_rule_stack_now() {
        return Some(f());
    }
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("instant-rules".into())
            .stack_size(stack)
            .spawn_scoped(s, || {
                ON_RULE_STACK.with(|c| c.set(true));
                f()
            })
            .ok()?;
        handle.join().ok()
    })
}
