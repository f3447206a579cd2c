//! Entity ids: UUIDs, lowercase and hyphenated on the wire.
//!
//! Mirrors `client/packages/core/src/utils/id.ts` (`id()` = random UUID v4) and the
//! server's id validation in `server/src/instant/admin/model.clj`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::Error;

/// An entity id: a UUID, sent as a lowercase hyphenated string.
///
/// `Id::new()` makes a random v4 id, like the JS SDK's `id()` (the SDK never asks
/// the server for ids; clients choose them, `instaml-steps.md` §3.1). Parsing
/// accepts what the server accepts (hyphenated, any case) and fails with
/// [`Error::InvalidId`] otherwise. Serde reads and writes the string form.
///
/// ```
/// use instant_core::Id;
/// let id: Id = "3C9E0B8A-1111-4111-8111-111111111111".parse().unwrap();
/// assert_eq!(id.to_string(), "3c9e0b8a-1111-4111-8111-111111111111");
/// assert!("abc".parse::<Id>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(pub Uuid);

impl Id {
    /// A new random (v4) id.
    pub fn new() -> Self {
        Id(Uuid::new_v4())
    }

    /// The nil id (`00000000-0000-0000-0000-000000000000`).
    pub const fn nil() -> Self {
        Id(Uuid::nil())
    }

    /// Wraps an existing [`Uuid`].
    pub const fn from_uuid(u: Uuid) -> Self {
        Id(u)
    }

    /// The inner [`Uuid`].
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// Parses a UUID string the way the server does (`instant.util.uuid/coerce`:
    /// trim, then Clojure's `parse-uuid`): the canonical hyphenated 8-4-4-4-12 form,
    /// any case, surrounding whitespace ignored. Any UUID version is accepted (ids
    /// made by other clients need not be v4). The simple 32-digit, braced and
    /// `urn:uuid:` forms are refused, as `java.util.UUID` refuses them.
    ///
    /// # Errors
    /// [`Error::InvalidId`] naming the input when it is not a UUID.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        if t.len() != 36 {
            return Err(Error::InvalidId(s.to_string()));
        }
        // A 36-character input can only be the hyphenated form for `uuid`.
        Uuid::try_parse(t)
            .map(Id)
            .map_err(|_| Error::InvalidId(s.to_string()))
    }

    /// A deterministic id derived from a name (UUID v5 in a fixed namespace). Useful
    /// for fixtures that need stable ids.
    pub fn from_name(name: &str) -> Self {
        Id(Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes()))
    }
}

impl Default for Id {
    fn default() -> Self {
        Id::new()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0.hyphenated())
    }
}

impl FromStr for Id {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Id::parse(s)
    }
}

impl From<Uuid> for Id {
    fn from(u: Uuid) -> Self {
        Id(u)
    }
}

impl From<Id> for Uuid {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl From<Id> for serde_json::Value {
    fn from(id: Id) -> Self {
        serde_json::Value::String(id.to_string())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.hyphenated())
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Id::parse(&s).map_err(serde::de::Error::custom)
    }
}
