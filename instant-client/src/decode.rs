//! JSON decoding of answers with path-aware errors.
//!
//! The fast path is plain `serde_json::from_slice`; only when it fails is the body
//! decoded a second time through `serde_path_to_error` to name the JSON path of the
//! problem. Successful decodes therefore cost the same as `serde_json` alone.

use serde::de::DeserializeOwned;

use crate::Error;

/// Decodes `bytes` into `T`, or an [`Error::Decode`] naming the failing JSON path.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(v) => Ok(v),
        Err(_) => Err(decode_error::<T>(bytes)),
    }
}

/// Decodes an already-parsed value into `T`, naming the failing path.
pub(crate) fn decode_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, Error> {
    match serde_path_to_error::deserialize::<_, T>(v) {
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
        assert!(matches!(e, Error::Decode { ref path, .. } if path == "goals[0]"), "{e:?}");
    }

    #[test]
    fn fast_path_ok() {
        let r: Res = decode(br#"{"goals":[{"title":"a"}]}"#).unwrap();
        assert_eq!(r.goals.len(), 1);
    }
}
