//! `bind` expansion: wraps a rule in `cel.bind(name, expr, body)` for every
//! bind it uses, directly or through other binds, dependencies outermost.
//!
//! Mirrors `with-binds` and `sort-binds` in `server/src/instant/model/rule.clj`:
//! binds of `$default` and of the namespace are merged (the namespace wins on
//! a repeated name), unused binds are left out, and a cycle is an error
//! "The binds have a cyclic dependency a -> b -> a".

use std::collections::{HashMap, HashSet};

use super::ast::analyse;
use super::env::env;

/// Expands `expr` with the binds `binds` (in order; later entries override
/// earlier ones with the same name).
///
/// # Errors
/// The message of the first problem: a bind or the rule does not parse, or
/// the used binds form a cycle.
pub(crate) fn with_binds(binds: &[(String, String)], expr: &str) -> Result<String, String> {
    if binds.is_empty() {
        return Ok(expr.to_owned());
    }
    let bind_map: HashMap<&str, &str> = binds
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let used_in = |code: &str| -> Result<Vec<String>, String> {
        let program = env().compile(code).map_err(|e| first_parse_message(&e))?;
        Ok(analyse(program.expression())
            .idents
            .into_iter()
            .filter(|i| bind_map.contains_key(i.as_str()))
            .collect())
    };

    let mut seen: HashSet<String> = HashSet::new();
    let mut usages: Vec<String> = Vec::new();
    let mut references: HashMap<String, Vec<String>> = HashMap::new();
    let mut queue: std::collections::VecDeque<(Option<String>, String)> =
        std::collections::VecDeque::from([(None, expr.to_owned())]);
    while let Some((source, code)) = queue.pop_front() {
        let used = used_in(&code)?;
        let new: Vec<String> = used
            .iter()
            .filter(|u| !seen.contains(*u))
            .cloned()
            .collect();
        seen.extend(used.iter().cloned());
        if let Some(s) = source {
            references.insert(s, used.clone());
        }
        for n in new {
            let body = bind_map
                .get(n.as_str())
                .copied()
                .unwrap_or("null")
                .to_owned();
            usages.push(n.clone());
            queue.push_back((Some(n), body));
        }
    }
    if usages.is_empty() {
        return Ok(expr.to_owned());
    }

    // Topological sort, dependencies first (Instant's `sort-binds`).
    let mut done: HashSet<String> = HashSet::new();
    let mut visiting: HashSet<String> = HashSet::new();
    let mut order: Vec<String> = Vec::new();
    fn visit(
        local_path: &mut Vec<String>,
        v: &str,
        refs: &HashMap<String, Vec<String>>,
        done: &mut HashSet<String>,
        visiting: &mut HashSet<String>,
        order: &mut Vec<String>,
    ) -> Result<(), String> {
        if done.contains(v) {
            return Ok(());
        }
        if visiting.contains(v) {
            return Err(format!(
                "The binds have a cyclic dependency {}",
                local_path.join(" -> ")
            ));
        }
        visiting.insert(v.to_owned());
        for r in refs.get(v).map(Vec::as_slice).unwrap_or(&[]) {
            local_path.push(r.clone());
            visit(local_path, r, refs, done, visiting, order)?;
            local_path.pop();
        }
        done.insert(v.to_owned());
        order.push(v.to_owned());
        Ok(())
    }
    for v in &usages {
        let mut path = vec![v.clone()];
        visit(
            &mut path,
            v,
            &references,
            &mut done,
            &mut visiting,
            &mut order,
        )?;
    }
    // `order` lists dependencies before dependents; wrap dependents first so
    // that dependencies end up outermost.
    let mut body = expr.to_owned();
    for v in order.iter().rev() {
        let bound = bind_map.get(v.as_str()).copied().unwrap_or("null");
        body = format!("cel.bind({v}, {bound}, {body})");
    }
    Ok(body)
}

/// The message of the first parse error (without cel-rust's position prefix).
pub(crate) fn first_parse_message(e: &cel::ParseErrors) -> String {
    e.errors
        .first()
        .map(|p| p.msg.clone())
        .unwrap_or_else(|| e.to_string())
}
