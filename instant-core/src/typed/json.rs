//! [`Json<T>`]: a typed `json` attribute.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `json` attribute whose value is the serde form of `T` (Instant's `i.json<T>()`).
///
/// On the wire it is exactly `T`'s JSON (no wrapper). Use `serde_json::Value` for
/// untyped JSON attributes.
///
/// ```
/// use instant_core::Json;
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Meta { tags: Vec<String> }
/// let m = Json(Meta { tags: vec!["a".into()] });
/// assert_eq!(serde_json::to_value(&m).unwrap(), serde_json::json!({"tags": ["a"]}));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The inner value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(v: T) -> Self {
        Json(v)
    }
}

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Json)
    }
}
