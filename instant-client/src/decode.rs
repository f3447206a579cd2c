//! JSON decoding of answers with path-aware errors.
//!
//! The fast path is plain `serde_json::from_slice`; only when it fails is the body
//! decoded a second time through `serde_path_to_error` to name the JSON path of the
//! problem. Successful decodes therefore cost the same as `serde_json` alone.
//!
//! Answers nested deeper than `serde_json`'s 128-level recursion limit (a link
//! query 64 links deep) fail the fast path; they are measured with a byte scan,
//! refused with [`Error::NestingTooDeep`] past the configured depth, and otherwise
//! decoded with the recursion limit off and `serde_stacker` growing the stack on the
//! heap, so no depth can overflow the stack.

use serde::de::DeserializeOwned;

use crate::Error;

/// Default deepest nesting of arrays and objects accepted in an answer (see
/// [`crate::ClientBuilder::max_json_depth`]).
pub(crate) const DEFAULT_MAX_JSON_DEPTH: usize = 1024;

/// Decodes a JSON answer (e.g. a stored query result) into `T` exactly as every
/// client call does: plain `serde_json` speed on success, and on failure an
/// [`Error::Decode`] whose `path` names the offending value (`goals[3].title`).
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct Goal { title: String }
/// #[derive(serde::Deserialize, Debug)]
/// struct Out { goals: Vec<Goal> }
/// let ok: Out = instant_client::decode_json(br#"{"goals":[{"title":"a"}]}"#).unwrap();
/// assert_eq!(ok.goals[0].title, "a");
/// let err = instant_client::decode_json::<Out>(br#"{"goals":[{"title":1}]}"#).unwrap_err();
/// assert!(matches!(err, instant_client::Error::Decode { ref path, .. } if path == "goals[0].title"));
/// ```
///
/// Values nested up to 1024 levels decode (see
/// [`ClientBuilder::max_json_depth`](crate::ClientBuilder::max_json_depth)).
///
/// # Errors
/// [`Error::Decode`] when `bytes` is not JSON of the shape `T`;
/// [`Error::NestingTooDeep`] when it nests deeper than 1024 levels.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    decode(bytes)
}

/// Decodes `bytes` into `T` within the default depth, or an [`Error::Decode`]
/// naming the failing JSON path.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    decode_limited(bytes, DEFAULT_MAX_JSON_DEPTH)
}

/// Decodes `bytes` into `T`; nesting deeper than `max_depth` levels is
/// [`Error::NestingTooDeep`].
pub(crate) fn decode_limited<T: DeserializeOwned>(
    bytes: &[u8],
    max_depth: usize,
) -> Result<T, Error> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(v) => Ok(v),
        Err(_) => decode_slow::<T>(bytes, max_depth),
    }
}

/// serde_json's own recursion limit: past it the fast path fails.
const SERDE_JSON_DEPTH: usize = 128;

/// The cold path after the fast path failed: a deep answer within `max_depth`
/// decodes here; anything else becomes the right error.
#[cold]
fn decode_slow<T: DeserializeOwned>(bytes: &[u8], max_depth: usize) -> Result<T, Error> {
    let depth = nesting_depth(bytes, max_depth.max(SERDE_JSON_DEPTH));
    if depth > max_depth {
        return Err(Error::NestingTooDeep { limit: max_depth });
    }
    if depth < SERDE_JSON_DEPTH {
        return Err(decode_error::<T>(bytes));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let v = serde_path_to_error::deserialize::<_, T>(serde_stacker::Deserializer::new(&mut de))
        .map_err(|e| Error::Decode {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        })?;
    de.end().map_err(|_| Error::Decode {
        path: ".".into(),
        message: "trailing characters after the JSON value".into(),
    })?;
    Ok(v)
}

/// The deepest nesting of arrays and objects in `bytes` (strings skipped), counted
/// up to `stop + 1` (the scan ends there). Not a validator: malformed JSON gets
/// some depth and fails in the decoder.
fn nesting_depth(bytes: &[u8], stop: usize) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut in_str = false;
    let mut escaped = false;
    for &b in bytes {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    max = depth;
                    if max > stop {
                        break;
                    }
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Decodes an already-parsed value into `T`, naming the failing path. Deep values
/// (from [`decode_limited`]) are safe: the stack grows on the heap as needed.
pub(crate) fn decode_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, Error> {
    match serde_path_to_error::deserialize::<_, T>(serde_stacker::Deserializer::new(v)) {
        Ok(v) => Ok(v),
        Err(e) => Err(Error::Decode {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        }),
    }
}

#[cold]
fn decode_error<T: DeserializeOwned>(bytes: &[u8]) -> Error {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(_) => Error::Decode {
            path: ".".into(),
            message: "trailing characters after the JSON value".into(),
        },
        Err(e) => Error::Decode {
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Goal {
        title: String,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Res {
        goals: Vec<Goal>,
    }

    #[test]
    fn names_the_path() {
        let e = decode::<Res>(br#"{"goals":[{"title":"a"},{"title":5}]}"#).unwrap_err();
        match e {
            Error::Decode { path, message } => {
                assert_eq!(path, "goals[1].title");
                assert!(message.contains("invalid type"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn value_path() {
        let e = decode_value::<Res>(serde_json::json!({"goals": [{"nope": 1}]})).unwrap_err();
        assert!(
            matches!(e, Error::Decode { ref path, .. } if path == "goals[0]"),
            "{e:?}"
        );
    }

    #[test]
    fn measures_nesting_outside_strings() {
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":"[[[{{"}]}"#, 100), 3);
        assert_eq!(nesting_depth(br#"["\"[[", []]"#, 100), 2);
        assert_eq!(nesting_depth(b"[[[[[[[[[[", 3), 4, "stops past the limit");
    }

    #[test]
    fn fast_path_ok() {
        let r: Res = decode(br#"{"goals":[{"title":"a"}]}"#).unwrap();
        assert_eq!(r.goals.len(), 1);
    }
}
