//! [`Secret`]: a string (admin token, refresh token, personal access token) that
//! never shows up in `Debug` output or logs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string: an admin token, an app user's refresh token, or a Platform
/// access token.
///
/// `Debug` prints `Secret(***)`; there is deliberately no `Display`. Read the value
/// with [`Secret::expose`]. Serialises as the plain string (it has to travel on the
/// wire).
///
/// ```
/// use instant_client::Secret;
/// let s = Secret::new("22222222-2222-4222-8222-222222222222");
/// assert_eq!(format!("{s:?}"), "Secret(***)");
/// assert_eq!(s.expose(), "22222222-2222-4222-8222-222222222222");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<&String> for Secret {
    fn from(s: &String) -> Self {
        Secret(s.clone())
    }
}
