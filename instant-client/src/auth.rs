//! App-user auth (`db.auth` in `@instantdb/admin`, spec `admin-http.md` §5):
//! refresh tokens, users, sign-out and magic codes. Always admin-authenticated.

use std::fmt;

use instant_core::{Date, Id, JsonObject};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::add_common_headers;
use crate::transport::Repeat;
use crate::{Client, Error, Secret};

/// An app user (`$users` entity) as the auth endpoints return it (§1.8).
///
/// `Debug` never prints the refresh token.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: Id,
    /// The app the user belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<Id>,
    /// Email (lower-cased by the server); absent for guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the user was created (`created_at`, ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Date>,
    /// `"user"` or `"guest"` (older users may lack it).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// `imageURL`.
    #[serde(rename = "imageURL", default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// `isGuest` (`type == "guest"`).
    #[serde(rename = "isGuest", default)]
    pub is_guest: bool,
    /// `linkedPrimaryUser`: for a guest upgraded or linked to a full user.
    #[serde(
        rename = "linkedPrimaryUser",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub linked_primary_user: Option<Id>,
    /// The refresh token, only on answers that mint or verify one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Custom `$users` attributes and any other keys, as sent.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("app_id", &self.app_id)
            .field("email", &self.email)
            .field("created_at", &self.created_at)
            .field("user_type", &self.user_type)
            .field("image_url", &self.image_url)
            .field("is_guest", &self.is_guest)
            .field("linked_primary_user", &self.linked_primary_user)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("extra", &self.extra)
            .finish()
    }
}

/// A user picked by email or id (for [`Auth::create_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    /// By email (created if unknown).
    Email(String),
    /// By id (created with that id if unknown).
    Id(Id),
}

impl From<&str> for UserKey {
    fn from(s: &str) -> Self {
        UserKey::Email(s.to_string())
    }
}
impl From<String> for UserKey {
    fn from(s: String) -> Self {
        UserKey::Email(s)
    }
}
impl From<Id> for UserKey {
    fn from(id: Id) -> Self {
        UserKey::Id(id)
    }
}

/// A user looked up by email, id or one of their refresh tokens (get, delete,
/// sign out). `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub enum UserLookup {
    /// By email.
    Email(String),
    /// By id.
    Id(Id),
    /// By refresh token.
    RefreshToken(Secret),
}

impl UserLookup {
    /// By email.
    pub fn email(e: impl Into<String>) -> Self {
        UserLookup::Email(e.into())
    }
    /// By id.
    pub fn id(id: Id) -> Self {
        UserLookup::Id(id)
    }
    /// By refresh token.
    pub fn refresh_token(t: impl Into<Secret>) -> Self {
        UserLookup::RefreshToken(t.into())
    }

    fn param(&self) -> (&'static str, String) {
        match self {
            UserLookup::Email(e) => ("email", e.clone()),
            UserLookup::Id(i) => ("id", i.to_string()),
            UserLookup::RefreshToken(t) => ("refresh_token", t.expose().to_string()),
        }
    }
}

impl fmt::Debug for UserLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserLookup::Email(e) => f.debug_tuple("Email").field(e).finish(),
            UserLookup::Id(i) => f.debug_tuple("Id").field(i).finish(),
            UserLookup::RefreshToken(_) => f.write_str("RefreshToken(***)"),
        }
    }
}

impl From<&str> for UserLookup {
    fn from(s: &str) -> Self {
        UserLookup::Email(s.to_string())
    }
}
impl From<Id> for UserLookup {
    fn from(id: Id) -> Self {
        UserLookup::Id(id)
    }
}

/// A sign-in result: the user (with `refresh_token` set) and whether the call
/// created them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignIn {
    /// The user, with a fresh refresh token.
    pub user: User,
    /// True when the user did not exist before.
    #[serde(default)]
    pub created: bool,
}

impl SignIn {
    /// The refresh token of the sign-in.
    ///
    /// # Errors
    /// [`Error::Decode`] when the server's answer carried none.
    pub fn refresh_token(&self) -> Result<&Secret, Error> {
        self.user.refresh_token.as_ref().ok_or_else(|| Error::Decode {
            path: "user.refresh_token".into(),
            message: "missing refresh token".into(),
        })
    }
}

#[derive(Deserialize)]
struct UserBody {
    user: Option<User>,
}
#[derive(Deserialize)]
struct DeletedBody {
    deleted: Option<User>,
}
#[derive(Deserialize)]
struct CodeBody {
    code: String,
}

/// The auth API of a [`Client`] (from [`Client::auth`]). Every call needs the
/// admin token except [`verify_token`](Auth::verify_token); impersonation is
/// ignored (the official SDK does the same).
#[derive(Debug, Clone)]
pub struct Auth {
    client: Client,
}

impl Client {
    /// The auth API (`db.auth`).
    pub fn auth(&self) -> Auth {
        Auth {
            client: self.clone(),
        }
    }
}

impl Auth {
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Value,
    ) -> Result<T, Error> {
        self.client
            .call(Method::POST, path, &[], Some(&body), false, Repeat::Never)
            .await
    }

    /// Mints a refresh token for the user with this email or id, creating the user
    /// if needed (`POST /admin/refresh_tokens`, `auth.createToken`). Returns the
    /// token.
    ///
    /// # Errors
    /// [`Error::Api`] (`param-malformed` for a bad email), config/transport errors.
    pub async fn create_token(&self, key: impl Into<UserKey>) -> Result<Secret, Error> {
        let s = self.create_token_with(key, None).await?;
        s.refresh_token().cloned()
    }

    /// [`create_token`](Self::create_token) returning the whole [`SignIn`], with
    /// optional `extra-fields` (custom `$users` attributes applied only when the
    /// user is created).
    ///
    /// # Errors
    /// As [`create_token`](Self::create_token); unknown extra fields → 400.
    pub async fn create_token_with(
        &self,
        key: impl Into<UserKey>,
        extra_fields: Option<JsonObject>,
    ) -> Result<SignIn, Error> {
        let mut body = match key.into() {
            UserKey::Email(e) => json!({"email": e}),
            UserKey::Id(id) => json!({"id": id}),
        };
        if let Some(x) = extra_fields {
            body["extra-fields"] = Value::Object(x);
        }
        self.post("/admin/refresh_tokens", body).await
    }

    /// Checks a refresh token and returns its user
    /// (`POST /runtime/auth/verify_refresh_token`, `auth.verifyToken`). Sends no
    /// admin token and no `app-id` header, as the official SDK.
    ///
    /// # Errors
    /// [`Error::Api`] `record-not-found` for an unknown token, `param-malformed` for
    /// a non-UUID one.
    pub async fn verify_token(&self, refresh_token: &str) -> Result<User, Error> {
        let c = &self.client;
        let url = c.admin_url("/runtime/auth/verify_refresh_token", &[]);
        let mut headers = HeaderMap::new();
        add_common_headers(&mut headers);
        let body = serde_json::to_vec(&json!({
            "app-id": c.app_id(),
            "refresh-token": refresh_token,
        }))
        .map_err(|e| Error::config(e.to_string()))?;
        let t = c.transport();
        let r: UserBody = t
            .send_json(Repeat::Safe, || {
                t.request(Method::POST, &url, headers.clone())
                    .body(body.clone())
            })
            .await?;
        r.user.ok_or_else(|| Error::Decode {
            path: "user".into(),
            message: "missing user".into(),
        })
    }

    /// Finds a user by email, id or refresh token (`GET /admin/users`,
    /// `auth.getUser`); `None` when there is no such user.
    ///
    /// # Errors
    /// [`Error::Api`] `param-malformed` for a malformed key.
    pub async fn get_user(&self, lookup: impl Into<UserLookup>) -> Result<Option<User>, Error> {
        let (k, v) = lookup.into().param();
        let r: UserBody = self
            .client
            .call(Method::GET, "/admin/users", &[(k, &v)], None, false, Repeat::Safe)
            .await?;
        Ok(r.user)
    }

    /// Deletes a user's `$users` entity (and refresh tokens; not their app data)
    /// (`DELETE /admin/users`, `auth.deleteUser`). Returns the user as it was, or
    /// `None` when there was none.
    ///
    /// # Errors
    /// As [`get_user`](Self::get_user).
    pub async fn delete_user(
        &self,
        lookup: impl Into<UserLookup>,
    ) -> Result<Option<User>, Error> {
        let (k, v) = lookup.into().param();
        let r: DeletedBody = self
            .client
            .call(
                Method::DELETE,
                "/admin/users",
                &[(k, &v)],
                None,
                false,
                Repeat::Never,
            )
            .await?;
        Ok(r.deleted)
    }

    /// Signs a user out (`POST /admin/sign_out`, `auth.signOut`): by id or email all
    /// their sessions, by refresh token that one session.
    ///
    /// # Errors
    /// [`Error::Api`] `record-not-found` for an unknown email.
    pub async fn sign_out(&self, lookup: impl Into<UserLookup>) -> Result<(), Error> {
        let (k, v) = lookup.into().param();
        let mut body = serde_json::Map::new();
        body.insert(k.into(), Value::String(v));
        let _: Value = self.post("/admin/sign_out", Value::Object(body)).await?;
        Ok(())
    }

    /// Creates a magic code for `email` without sending mail
    /// (`POST /admin/magic_code`, `auth.generateMagicCode`).
    ///
    /// # Errors
    /// [`Error::Api`] (`param-malformed` for a bad email).
    pub async fn generate_magic_code(&self, email: &str) -> Result<String, Error> {
        let r: CodeBody = self
            .post("/admin/magic_code", json!({"email": email}))
            .await?;
        Ok(r.code)
    }

    /// Creates a magic code and mails it through the server's provider
    /// (`POST /admin/send_magic_code`, `auth.sendMagicCode`); returns the code.
    ///
    /// # Errors
    /// [`Error::Api`]: 429 `rate-limited` per email, 500 `email-send-failed`.
    pub async fn send_magic_code(&self, email: &str) -> Result<String, Error> {
        let r: CodeBody = self
            .post("/admin/send_magic_code", json!({"email": email}))
            .await?;
        Ok(r.code)
    }

    /// Checks a magic code and signs the user in, creating them if needed
    /// (`POST /admin/verify_magic_code`, `auth.checkMagicCode`).
    ///
    /// # Errors
    /// [`Error::Api`] `record-not-found` for a wrong code, `record-expired`, 429.
    pub async fn verify_magic_code(&self, email: &str, code: &str) -> Result<SignIn, Error> {
        self.post(
            "/admin/verify_magic_code",
            json!({"email": email, "code": code}),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_decodes_and_hides_refresh_token() {
        let u: User = serde_json::from_value(json!({
            "app_id": "7d3b1c8e-0000-4000-8000-000000000000",
            "id": "0b1c1c8e-0000-4000-8000-000000000000",
            "email": "alyssa@example.com",
            "created_at": "2024-11-26T15:25:00Z",
            "type": "user",
            "imageURL": "https://x/y.png",
            "isGuest": false,
            "refresh_token": "5e1a1c8e-0000-4000-8000-000000000000",
            "nickname": "al"
        }))
        .unwrap();
        assert_eq!(u.email.as_deref(), Some("alyssa@example.com"));
        assert_eq!(u.extra["nickname"], "al");
        assert_eq!(
            u.refresh_token.as_ref().unwrap().expose(),
            "5e1a1c8e-0000-4000-8000-000000000000"
        );
        let dbg = format!("{u:?} {:?}", UserLookup::refresh_token("5e1a-secret"));
        assert!(!dbg.contains("5e1a"), "{dbg}");
    }
}
