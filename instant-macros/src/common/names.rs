//! Name conversions and did-you-mean suggestions.

/// The closest of `candidates` to `word`, when close enough to suggest.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(_, c)| c)
}

/// `unknown <what> `word``, with a suggestion when one is close.
pub fn unknown(what: &str, word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates) {
        Some(s) => format!("unknown {what} `{word}`; did you mean `{s}`?"),
        None => format!(
            "unknown {what} `{word}`; expected one of: {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Splits an identifier (snake_case or camelCase) into lowercase words.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn cap(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// snake_case.
pub fn snake(s: &str) -> String {
    words(s).join("_")
}

/// The `rename_all` rules (serde's spellings).
pub const RENAME_RULES: &[&str] = &[
    "camelCase",
    "snake_case",
    "PascalCase",
    "kebab-case",
    "SCREAMING_SNAKE_CASE",
    "lowercase",
    "UPPERCASE",
];

/// Applies a `rename_all` rule (one of [`RENAME_RULES`]) to a field name.
pub fn apply_rule(rule: &str, field: &str) -> String {
    let w = words(field);
    match rule {
        "camelCase" => w
            .iter()
            .enumerate()
            .map(|(i, x)| if i == 0 { x.clone() } else { cap(x) })
            .collect(),
        "PascalCase" => w.iter().map(|x| cap(x)).collect(),
        "kebab-case" => w.join("-"),
        "SCREAMING_SNAKE_CASE" => w.join("_").to_uppercase(),
        "lowercase" => field.to_lowercase(),
        "UPPERCASE" => field.to_uppercase(),
        _ => w.join("_"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(apply_rule("camelCase", "created_at"), "createdAt");
        assert_eq!(apply_rule("PascalCase", "created_at"), "CreatedAt");
        assert_eq!(apply_rule("kebab-case", "created_at"), "created-at");
        assert_eq!(apply_rule("snake_case", "created_at"), "created_at");
        assert_eq!(snake("TodoItem"), "todo_item");
        assert_eq!(snake("ownedTodos"), "owned_todos");
        assert_eq!(snake("URL"), "url");
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("indexd", &["indexed", "unique"]), Some("indexed"));
        assert_eq!(suggest("zzz", &["indexed", "unique"]), None);
    }
}
