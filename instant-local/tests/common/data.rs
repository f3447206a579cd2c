//! The raw dataset files of /work/shared/data (read directly, so expectations are
//! computed independently from the server).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value};

/// `/work/shared/data/<ds>` (overridable with `INSTANT_RS_DATA`).
pub fn dataset_dir(ds: &str) -> PathBuf {
    let root = std::env::var("INSTANT_RS_DATA").unwrap_or_else(|_| "/work/shared/data".into());
    PathBuf::from(root).join(ds)
}

/// Parses `/work/shared/data/<ds>/<file>`.
pub fn json(ds: &str, file: &str) -> Value {
    let p = dataset_dir(ds).join(file);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
}

/// The entity objects of `<ds>/<ns>.json`, in file order (= creation order).
pub fn entities(ds: &str, ns: &str) -> Vec<Map<String, Value>> {
    json(ds, &format!("{ns}.json"))
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_object().expect("object").clone())
        .collect()
}

/// One row of `links.json`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkRow {
    /// Link name (`bookshelvesBooks`).
    pub link: String,
    /// Forward-side entity id.
    pub from: String,
    /// Forward namespace.
    pub from_ns: String,
    /// Forward label.
    pub forward_label: String,
    /// Target id.
    pub to: String,
    /// Target namespace.
    pub to_ns: String,
    /// Reverse label.
    pub reverse_label: String,
}

/// `<ds>/links.json`.
pub fn links(ds: &str) -> Vec<LinkRow> {
    json(ds, "links.json")
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().expect("string").to_string();
            LinkRow {
                link: s("link"),
                from: s("from"),
                from_ns: s("fromNamespace"),
                forward_label: s("forwardLabel"),
                to: s("to"),
                to_ns: s("toNamespace"),
                reverse_label: s("reverseLabel"),
            }
        })
        .collect()
}

/// `(from, to)` pairs of one link.
pub fn link_pairs(ds: &str, link: &str) -> BTreeSet<(String, String)> {
    links(ds)
        .into_iter()
        .filter(|r| r.link == link)
        .map(|r| (r.from, r.to))
        .collect()
}

/// `<ds>/created_at.json`.
pub fn created_at(ds: &str) -> BTreeMap<String, i64> {
    json(ds, "created_at.json")
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().expect("ms")))
        .collect()
}

/// The ids of `rows`, as strings.
pub fn ids(rows: &[Map<String, Value>]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}
