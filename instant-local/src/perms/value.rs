//! JSON → CEL values with Instant's null-safe map semantics.
//!
//! Mirrors `CelMap`, `CelList` and `stringify` in `server/src/instant/db/cel.clj`:
//! reading a key that an entity does not have yields `null` instead of a CEL
//! "no such key" error (Instant's `containsKey` always answers `true`), nested
//! objects behave the same way, and integers are 64-bit ints. `data.ref(...)`
//! results are looked up in a table filled before evaluation (Instant's
//! `preloaded-refs`), so evaluation itself never does I/O.

use std::collections::HashMap;

use cel::common::traits::{Container, Indexer, Sizer};
use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelNull, CelString, Type, MAP_TYPE};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;
use serde_json::{Map, Value};

/// Internal key prefix under which an entity map hands out its prefetched
/// `ref` results to the `ref` member function. Starts with a NUL byte, which
/// no attribute name written in a CEL rule can contain.
pub(crate) const REF_KEY_PREFIX: &str = "\u{0}ref\u{0}";

/// Prefetched `ref(path)` results of one entity: path → values.
pub(crate) type RefTable = HashMap<String, Vec<Value>>;

/// Converts a JSON value into a boxed CEL value borrowing from it.
pub(crate) fn json_to_val(v: &Value) -> Box<dyn Val + '_> {
    match v {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(a) => Box::new(CelList::from(a.iter().map(json_to_val).collect::<Vec<_>>())),
        Value::Object(m) => Box::new(EntityMap::new(m, None)),
    }
}

/// A CEL `map` backed by a JSON object, returning `null` for missing keys.
///
/// `data`, `newData`, `auth`, `linkedData`, `ruleParams` and every nested JSON
/// object are exposed to rules as this type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntityMap<'a> {
    map: Option<&'a Map<String, Value>>,
    refs: Option<&'a RefTable>,
}

impl<'a> EntityMap<'a> {
    /// A map over `map` (`None` = the empty map, e.g. `auth` for a guest),
    /// with the prefetched `ref` results `refs`.
    pub(crate) fn new(map: &'a Map<String, Value>, refs: Option<&'a RefTable>) -> Self {
        EntityMap {
            map: Some(map),
            refs,
        }
    }

    /// The empty map (every key reads as `null`).
    pub(crate) fn empty(refs: Option<&'a RefTable>) -> Self {
        EntityMap { map: None, refs }
    }

    fn lookup(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key))
    }
}

impl<'a> Val for EntityMap<'a> {
    fn get_type(&self) -> &Type {
        &MAP_TYPE
    }

    fn cel_type() -> &'static Type
    where
        Self: Sized,
    {
        &MAP_TYPE
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn equals(&self, other: &dyn Val) -> bool {
        // Two entity maps are equal when they hold the same JSON.
        match other.as_indexer() {
            None => false,
            Some(_) => {
                let Some(m) = self.map else {
                    return other.as_sizer().is_some_and(|s| *s.size().inner() == 0);
                };
                let same_size = other
                    .as_sizer()
                    .is_some_and(|s| *s.size().inner() == m.len() as i64);
                same_size
                    && m.iter().all(|(k, v)| {
                        let key = CelString::from(k.as_str());
                        other
                            .as_indexer()
                            .and_then(|ix| ix.get(&key).ok())
                            .is_some_and(|ov| json_to_val(v).equals(ov.as_ref()))
                    })
            }
        }
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        Box::new(*self)
    }
}

impl<'a> Indexer for EntityMap<'a> {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        let key: &str = <&str>::try_from(idx).map_err(|_| ExecutionError::UnexpectedType {
            got: idx.get_type().name().to_owned(),
            want: "string".to_owned(),
        })?;
        if let Some(path) = key.strip_prefix(REF_KEY_PREFIX) {
            let values = self.refs.and_then(|r| r.get(path)).ok_or_else(|| {
                ExecutionError::function_error(
                    "ref",
                    format!("`{path}` was not prefetched; ref arguments must be string literals"),
                )
            })?;
            let list: Vec<Box<dyn Val + 'v>> = values.iter().map(json_to_val).collect();
            return Ok(CowVal::owned(CelList::from(list)));
        }
        Ok(match self.lookup(key) {
            None => CowVal::owned(CelNull),
            Some(v) => CowVal::Owned(json_to_val(v)),
        })
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

impl Container for EntityMap<'_> {
    fn contains(&self, value: &dyn Val) -> Result<bool, ExecutionError> {
        // Instant's CelMap answers `true` to every key-presence question
        // (`containsKey` is overridden); mirror that for string keys.
        Ok(<&str>::try_from(value).is_ok())
    }
}

impl Sizer for EntityMap<'_> {
    fn size(&self) -> CelInt {
        CelInt::from(self.map.map_or(0, |m| m.len() as i64))
    }
}
