//! Size and nesting bounds of rule expressions, checked on the text BEFORE it
//! reaches the CEL parser.
//!
//! The `cel` crate parses (ANTLR parse tree, then a recursive visitor),
//! analyses, evaluates and drops expressions recursively: a rule nested a few
//! thousand levels deep (`1 + 1 + ... + 1`, `auth.x.x.x...`, `auth[0][0]...`,
//! `((((x))))`, `a ? b : c ? d : ...`) overflows the stack and aborts the
//! process. [`nesting_depth`] computes, in one pass with an explicit stack
//! bounded by the limit (no recursion), an upper bound of the depth of the
//! tree the parser would build, and stops as soon as the bound passes the
//! limit. The official server relies on cel-java's parser limits for the same
//! purpose (`CelOptions` `maxParseRecursionDepth` 250 and
//! `maxExpressionCodePointSize` 100,000, used by `cel-options` in
//! `server/src/instant/db/cel.clj`).
//!
//! How the bound is counted, per bracket group (`(..)`, `[..]`, `{..}` and the
//! whole text) and per comma-separated element of it:
//! - every operator (`==`, `+`, `in`, `!`, unary `-`, ...) and member access
//!   `.` adds one level to its operand chain; a chain of left-associative
//!   operators is as deep as it is long;
//! - `&&` and `||` chains count as balanced trees (`ceil(log2(n))`): the
//!   parser builds them balanced;
//! - each `?` of a conditional adds one level;
//! - a bracket group adds one level plus its own depth, and a call (a group
//!   right after a name) three, for the comprehension a macro such as
//!   `all` / `exists` / `map` expands to.

/// Why an expression was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BoundError {
    /// Longer than the limit, in bytes.
    TooLong {
        /// The expression's length in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Nested deeper than the limit (the bound passed it at this point).
    TooDeep {
        /// The limit.
        limit: usize,
    },
}

impl BoundError {
    /// The message of the validation error, in the style of cel-java's parser
    /// errors.
    pub(crate) fn message(&self) -> String {
        match self {
            BoundError::TooLong { bytes, limit } => format!(
                "expression code point size exceeds limit: size: {bytes}, limit {limit} (bytes)"
            ),
            BoundError::TooDeep { limit } => {
                format!("expression recursion limit exceeded: limit {limit}")
            }
        }
    }
}

/// Checks `src` against `max_bytes` and `max_depth` (see the module docs).
///
/// # Errors
/// [`BoundError::TooLong`] or [`BoundError::TooDeep`].
pub(crate) fn check_expression(
    src: &str,
    max_bytes: usize,
    max_depth: usize,
) -> Result<usize, BoundError> {
    if src.len() > max_bytes {
        return Err(BoundError::TooLong {
            bytes: src.len(),
            limit: max_bytes,
        });
    }
    nesting_depth(src, max_depth)
}

/// One open bracket group and the state of its current element.
#[derive(Debug, Default)]
struct Group {
    /// The closing byte (`)`, `]`, `}`), 0 for the whole text.
    close: u8,
    /// Deepest element so far.
    elems_max: usize,
    /// Current element: `?` seen and not yet paired with `:` (braces only
    /// tell a map's `key: value` colon from a conditional's).
    pending_q: usize,
    /// Current element: conditionals (`?`) seen.
    q: usize,
    /// Deepest conditional branch so far (an `||` chain each).
    tern_max: usize,
    /// Current `||` chain: its `&&` chains, deepest so far.
    or_n: usize,
    or_max: usize,
    /// Current `&&` chain: its relations, deepest so far.
    and_n: usize,
    and_max: usize,
    /// Current relation (an operand chain): operators seen, deepest group.
    ops: usize,
    child: usize,
}

fn log2_ceil(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }
}

impl Group {
    fn new(close: u8) -> Group {
        Group {
            close,
            ..Group::default()
        }
    }

    fn relation(&self) -> usize {
        self.ops + 1 + self.child
    }

    fn end_relation(&mut self) {
        self.and_max = self.and_max.max(self.relation());
        self.and_n += 1;
        self.ops = 0;
        self.child = 0;
    }

    fn end_and(&mut self) {
        self.end_relation();
        self.or_max = self.or_max.max(self.and_max + log2_ceil(self.and_n));
        self.or_n += 1;
        self.and_max = 0;
        self.and_n = 0;
    }

    fn end_or(&mut self) {
        self.end_and();
        self.tern_max = self.tern_max.max(self.or_max + log2_ceil(self.or_n));
        self.or_max = 0;
        self.or_n = 0;
    }

    fn end_element(&mut self) {
        self.end_or();
        self.elems_max = self.elems_max.max(self.tern_max + self.q);
        self.tern_max = 0;
        self.q = 0;
        self.pending_q = 0;
    }

    /// The group's depth once closed.
    fn finish(&mut self) -> usize {
        self.end_element();
        self.elems_max + 1
    }

    /// The current bound of the open element (used to stop early).
    fn current(&self) -> usize {
        (self.relation() + log2_ceil(self.and_n + 1))
            .max(self.and_max)
            .max(self.or_max)
            .max(self.tern_max)
            + self.q
            + log2_ceil(self.or_n + 1)
    }
}

/// An upper bound of the nesting depth of `src` (see the module docs), or
/// [`BoundError::TooDeep`] as soon as it passes `limit`. Linear in the length
/// of `src`; memory bounded by `limit`.
pub(crate) fn nesting_depth(src: &str, limit: usize) -> Result<usize, BoundError> {
    let b = src.as_bytes();
    let too_deep = || BoundError::TooDeep { limit };
    let mut stack: Vec<Group> = vec![Group::new(0)];
    // Whether the previous token ended an operand (a name, literal or closing
    // bracket): then `(` / `[` is a call / index and `-` is binary.
    let mut after_operand = false;
    let mut after_name = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let top = stack.len() - 1;
        let mut operand = false;
        let mut name = false;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(b, i, false);
                operand = true;
            }
            b'r' | b'R' | b'b' | b'B' if string_prefix(b, i).is_some() => {
                let (start, raw) = string_prefix(b, i).unwrap_or((i, false));
                i = skip_string(b, start, raw);
                operand = true;
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
                i += 1;
                operand = true;
                name = true;
            }
            b'0'..=b'9' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    // `1.e5` / `1.5` stay one literal; `1.foo` is rare enough
                    // to over-count harmlessly.
                    if matches!(b[i], b'e' | b'E')
                        && matches!(b.get(i + 1), Some(b'+') | Some(b'-'))
                    {
                        i += 1;
                    }
                    i += 1;
                }
                operand = true;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80)
                {
                    i += 1;
                }
                if &b[start..i] == b"in" && after_operand {
                    stack[top].ops += 1;
                } else {
                    operand = true;
                    name = true;
                }
            }
            b'(' | b'[' | b'{' => {
                let g = &mut stack[top];
                // A call may be a macro: one comprehension and two more levels.
                g.ops += if c == b'(' && after_name { 3 } else { 1 };
                if stack.len() > limit {
                    return Err(too_deep());
                }
                stack.push(Group::new(match c {
                    b'(' => b')',
                    b'[' => b']',
                    _ => b'}',
                }));
                i += 1;
            }
            b')' | b']' | b'}' => {
                // A stray closing bracket is a syntax error for the parser to
                // report; only a matching one closes the group.
                if stack.len() > 1 && stack[top].close == c {
                    let mut g = stack.pop().unwrap_or_default();
                    let d = g.finish();
                    let parent = stack.len() - 1;
                    stack[parent].child = stack[parent].child.max(d);
                }
                i += 1;
                operand = true;
            }
            b',' => {
                stack[top].end_element();
                i += 1;
            }
            b'&' | b'|' if b.get(i + 1) == Some(&c) => {
                if c == b'&' {
                    stack[top].end_relation();
                } else {
                    stack[top].end_and();
                }
                i += 2;
            }
            b'?' => {
                let g = &mut stack[top];
                g.end_or();
                g.q += 1;
                g.pending_q += 1;
                i += 1;
            }
            b':' => {
                let g = &mut stack[top];
                if g.pending_q > 0 {
                    g.pending_q -= 1;
                    g.end_or();
                } else {
                    // A map entry's `key: value`: two sibling elements.
                    g.end_element();
                }
                i += 1;
            }
            _ => {
                // Any operator: `.`, `!`, `-`, `+`, `*`, `/`, `%`, `<`, `<=`,
                // `==`, `!=`, ...: one level each (two-byte operators once).
                let two = matches!(
                    (c, b.get(i + 1)),
                    (b'=', Some(b'='))
                        | (b'!', Some(b'='))
                        | (b'<', Some(b'='))
                        | (b'>', Some(b'='))
                );
                stack[top].ops += 1;
                i += if two { 2 } else { 1 };
            }
        }
        after_operand = operand;
        after_name = name;
        let top = stack.len() - 1;
        if stack[top].current() + top > limit {
            return Err(too_deep());
        }
    }
    let depth = loop {
        let mut g = stack.pop().unwrap_or_default();
        let d = g.finish();
        match stack.last_mut() {
            Some(parent) => parent.child = parent.child.max(d),
            None => break d - 1,
        }
    };
    if depth > limit {
        return Err(too_deep());
    }
    Ok(depth)
}

/// `(start of the quote, raw?)` when `b[i..]` is a string prefix (`r"`,
/// `b'`, `rb"`, `Br'`, ...).
fn string_prefix(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let is_quote = |j: usize| matches!(b.get(j), Some(b'"') | Some(b'\''));
    let lower = |j: usize| b.get(j).map(u8::to_ascii_lowercase);
    match (lower(i), lower(i + 1)) {
        (Some(b'r'), Some(b'b')) | (Some(b'b'), Some(b'r')) if is_quote(i + 2) => {
            Some((i + 2, true))
        }
        (Some(b'r'), _) if is_quote(i + 1) => Some((i + 1, true)),
        (Some(b'b'), _) if is_quote(i + 1) => Some((i + 1, false)),
        _ => None,
    }
}

/// The index just past the string literal starting at the quote `b[i]`
/// (single, triple, raw); the end of the text when unterminated.
fn skip_string(b: &[u8], i: usize, raw: bool) -> usize {
    let q = b[i];
    let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        if b[j] == b'\\' && !raw {
            j += 2;
            continue;
        }
        if b[j] == q {
            if !triple {
                return j + 1;
            }
            if b.get(j + 1) == Some(&q) && b.get(j + 2) == Some(&q) {
                return j + 3;
            }
        }
        if !triple && b[j] == b'\n' {
            return j;
        }
        j += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(s: &str) -> usize {
        nesting_depth(s, 10_000).expect("within limit")
    }

    #[test]
    fn realistic_rules_are_shallow() {
        assert!(depth("true") <= 2);
        assert!(depth("auth.id != null && auth.id == data.ownerId") <= 6);
        let long_and = (0..40)
            .map(|i| format!("data.f{i} == auth.g{i}"))
            .collect::<Vec<_>>()
            .join(" && ");
        assert!(depth(&long_and) <= 12, "{}", depth(&long_and));
        assert!(depth("data.tags.exists(t, t in auth.ref('$user.tags.name'))") <= 16);
        assert!(depth("{'a': x ? 1 : 2, 'b': [1, 2, 3]}.a == 1") <= 10);
        assert!(depth("'a)(]' + \"x\\\"(\" + r'\\' + '''(((''' == s") <= 6);
    }

    #[test]
    fn chains_count_their_length() {
        for (unit, sep) in [
            ("1", " + "),
            ("1", " * "),
            ("'a'", " + "),
            ("1", " == "),
            ("x", " ? 1 : "),
        ] {
            let s = vec![unit; 200].join(sep);
            assert_eq!(
                nesting_depth(&s, 100),
                Err(BoundError::TooDeep { limit: 100 }),
                "{unit}{sep}"
            );
        }
        let dots = format!("auth{}", ".x".repeat(200));
        assert!(nesting_depth(&dots, 100).is_err());
        let idx = format!("auth{}", "[0]".repeat(200));
        assert!(nesting_depth(&idx, 100).is_err());
        let parens = format!("{}x{}", "(".repeat(200), ")".repeat(200));
        assert!(nesting_depth(&parens, 100).is_err());
        let open = "(".repeat(200);
        assert!(nesting_depth(&open, 100).is_err());
        let nots = format!("{}x", "!".repeat(200));
        assert!(nesting_depth(&nots, 100).is_err());
    }

    #[test]
    fn balanced_logic_is_logarithmic() {
        let s = vec!["x"; 1024].join(" && ");
        assert!(depth(&s) <= 12);
        let s = vec!["x"; 1024].join(" || ");
        assert!(depth(&s) <= 12);
    }
}
