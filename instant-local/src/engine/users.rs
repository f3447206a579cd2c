//! App users (`$users`), refresh tokens and magic codes (spec `admin-http.md` §1.8,
//! §5). Users are real `$users` entities in the app's data (system attrs `id`,
//! `email`, `type`, `imageURL`, `linkedPrimaryUser`); refresh tokens and magic
//! codes live in two SQLite tables of their own (`local_refresh_tokens`,
//! `local_magic_codes`), so they persist with a file database.
//!
//! Refresh tokens are also held in memory per app ([`RefreshTokens`], loaded
//! at start, kept in step by every write): an `as-token` request resolves its
//! user without touching SQLite. Magic-code verification and sending are
//! rate-limited per app and email ([`crate::Limits::magic_code_attempts_per_hour`]),
//! with the counts in a third table, `local_magic_code_attempts`.
//!
//! Accessors for the permission layer: [`Engine::user_for_refresh_token`] and
//! [`Engine::user_for_email`] return the §1.8 user JSON (without `refresh_token`).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use instant_core::{ApiError, ErrorKind};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::state::AppState;
use super::{now_ms, App, Engine};
use crate::http::errors::internal;

/// How long a magic code stays valid (Instant: 24 hours).
pub const MAGIC_CODE_TTL_MS: i64 = 24 * 3600 * 1000;

const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS local_refresh_tokens (
    token TEXT PRIMARY KEY,
    app_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS local_magic_codes (
    app_id BLOB NOT NULL,
    email TEXT NOT NULL,
    code TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS local_magic_code_attempts (
    app_id BLOB NOT NULL,
    email TEXT NOT NULL,
    kind TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (app_id, email, kind)
);
"#;

/// The window of the magic-code rate limits: Instant refills its buckets
/// every hour (`server/src/instant/rate_limit.clj` `create-rate-limit-config`,
/// `refillIntervally capacity (Duration/ofHours 1)`).
const ATTEMPT_WINDOW_MS: i64 = 3600 * 1000;

/// An app's live refresh tokens (token → (`$users` id, minted at, epoch ms)),
/// the in-memory copy of its `local_refresh_tokens` rows. Writers change it
/// while holding the database lock, after the SQLite write succeeded, so the
/// two never differ.
#[derive(Debug, Default)]
pub struct RefreshTokens(RwLock<HashMap<Uuid, (Uuid, i64)>>);

impl RefreshTokens {
    /// The user owning `token` and when the token was minted, if it is live.
    pub fn user(&self, token: Uuid) -> Option<(Uuid, i64)> {
        self.0.read().get(&token).copied()
    }

    /// Replaces every token (loading at start).
    pub fn replace(&self, tokens: HashMap<Uuid, (Uuid, i64)>) {
        *self.0.write() = tokens;
    }
}

/// The refresh tokens of app `app_id` stored in SQLite (token → (user id,
/// minted at)), for
/// [`RefreshTokens::replace`] when the engine opens.
///
/// # Errors
/// [`crate::LocalError::Db`] when the table cannot be read.
pub fn load_refresh_tokens(
    conn: &Connection,
    app_id: Uuid,
) -> Result<HashMap<Uuid, (Uuid, i64)>, crate::LocalError> {
    let db = |e: rusqlite::Error| crate::LocalError::Db(e.to_string());
    conn.execute_batch(DDL).map_err(db)?;
    let mut stmt = conn
        .prepare("SELECT token, user_id, created_at FROM local_refresh_tokens WHERE app_id = ?1")
        .map_err(db)?;
    let rows = stmt
        .query_map(params![app_id.as_bytes().as_slice()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(db)?;
    let mut out = HashMap::new();
    for row in rows {
        let (t, u, minted) = row.map_err(db)?;
        if let (Ok(t), Ok(u)) = (Uuid::parse_str(&t), Uuid::from_slice(&u)) {
            out.insert(t, (u, minted));
        }
    }
    Ok(out)
}

/// 429 `rate-limited` for too many magic codes sent or checked for one email
/// (`throw-record-email-rate-limited!`, `server/src/instant/util/exception.clj`
/// lines 480-482).
pub fn magic_code_rate_limited() -> ApiError {
    ApiError::new(
        ErrorKind::RateLimited,
        "Too many verification codes requested for this email. Please try again later.",
    )
}

/// Takes one of the `limit` attempts of `kind` (`"create"`: codes sent,
/// `"consume"`: codes checked) allowed per hour for (`app_id`, `email`); the
/// count is persisted. Mirrors `try-consume-create-magic-code` /
/// `try-consume-consume-magic-code` (`rate_limit.clj`).
fn take_attempt(
    conn: &Connection,
    app_id: Uuid,
    email: &str,
    kind: &str,
    limit: u32,
    now: i64,
) -> Result<(), ApiError> {
    let key = params![app_id.as_bytes().as_slice(), email, kind];
    let row: Option<(i64, i64)> = conn
        .query_row(
            "SELECT window_start, count FROM local_magic_code_attempts WHERE app_id = ?1 AND email = ?2 AND kind = ?3",
            key,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(internal)?;
    let (start, count) = match row {
        Some((start, count)) if now < start + ATTEMPT_WINDOW_MS => (start, count),
        _ => (now, 0),
    };
    if count >= i64::from(limit) {
        return Err(magic_code_rate_limited());
    }
    conn.execute(
        "INSERT INTO local_magic_code_attempts (app_id, email, kind, window_start, count) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (app_id, email, kind) DO UPDATE SET window_start = excluded.window_start, count = excluded.count",
        params![app_id.as_bytes().as_slice(), email, kind, start, count + 1],
    )
    .map_err(internal)?;
    Ok(())
}

fn ensure_tables(conn: &Connection) -> Result<(), ApiError> {
    conn.execute_batch(DDL).map_err(internal)
}

/// Normalises an email the way the server does (trimmed, lower case) and checks
/// its syntax; `None` when it is not an email address.
pub fn normalize_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(char::is_whitespace);
    ok.then_some(e)
}

/// Formats epoch ms as the server prints SQL timestamps (`2024-11-26T15:25:00Z`).
fn sql_ts(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The user JSON (§1.8, without `refresh_token`) of entity `user_id`, if it is a
/// `$users` member of this state.
pub fn user_json_in(st: &AppState, app_id: Uuid, user_id: Uuid) -> Option<Value> {
    let id_attr = st.id_attr("$users")?;
    let created = st.created_at(user_id, id_attr.id)?;
    let mut out = Map::new();
    out.insert("app_id".into(), json!(app_id.to_string()));
    out.insert("id".into(), json!(user_id.to_string()));
    out.insert("created_at".into(), json!(sql_ts(created)));
    let mut guest = false;
    for a in st.ns_attrs("$users") {
        if a.is_id() {
            continue;
        }
        let vals = st.values(user_id, a.id);
        let Some(t) = vals.first() else { continue };
        if a.label == "type" && t.v == json!("guest") {
            guest = true;
        }
        out.insert(a.label.clone(), t.v.clone());
    }
    out.insert("isGuest".into(), json!(guest));
    Some(Value::Object(out))
}

/// The `$users` entity with this (normalised) email.
pub fn user_by_email_in(st: &AppState, email: &str) -> Option<Uuid> {
    let id_attr = st.id_attr("$users")?.id;
    let email_attr = st.fwd_attr("$users", "email")?.id;
    st.lookup_av(email_attr, &json!(email))
        .iter()
        .copied()
        .find(|e| st.exists(*e, id_attr))
}

/// `record-not-found` for an app user.
pub fn user_not_found(args: Value) -> ApiError {
    ApiError::new(ErrorKind::RecordNotFound, "Record not found: app-user")
        .with_hint(json!({"record-type": "app-user", "args": [args]}))
}

impl Engine {
    /// The user JSON (§1.8, no `refresh_token`) of `$users` entity `user_id`.
    pub fn user_json(&self, app: &App, user_id: Uuid) -> Option<Value> {
        user_json_in(&app.state.read(), app.id(), user_id)
    }

    /// For the permission layer: the user (§1.8 JSON, no `refresh_token`) owning
    /// refresh token `token` in app `app_id`; `None` when the app or token is
    /// unknown, the token was signed out, or the user was deleted.
    pub fn user_for_refresh_token(&self, app_id: Uuid, token: &str) -> Option<Value> {
        let app = self.app(app_id)?;
        let uid = self.refresh_token_user(app_id, token).ok()??;
        self.user_json(&app, uid)
    }

    /// For the permission layer (`as-email`): the user (§1.8 JSON) whose email
    /// is exactly `email` in app `app_id`, if any. Looked up as sent, like
    /// Instant's `get-by-email!` (`server/src/instant/admin/routes.clj`
    /// `get-perms!`, `model/app_user.clj` `get-by-email`): stored emails are
    /// lower case, so another case matches no user.
    pub fn user_for_email(&self, app_id: Uuid, email: &str) -> Option<Value> {
        let app = self.app(app_id)?;
        let st = app.state.read();
        let uid = user_by_email_in(&st, email)?;
        user_json_in(&st, app_id, uid)
    }

    /// The user id owning a live refresh token (`Ok(None)`: unknown/revoked, or
    /// no such app). Served from memory ([`RefreshTokens`]).
    ///
    /// A token minted before its user's `$users` row was (re)created is dead:
    /// Instant's refresh tokens are linked to their user with `on-delete:
    /// cascade` (`server/src/instant/system_catalog.clj`
    /// `$user-refresh-token-attrs`), so deleting the user by transaction ends
    /// its sessions, and re-creating the id must not bring them back.
    pub fn refresh_token_user(&self, app_id: Uuid, token: &str) -> Result<Option<Uuid>, ApiError> {
        let Ok(t) = Uuid::parse_str(token.trim()) else {
            return Ok(None);
        };
        let Some(app) = self.app(app_id) else {
            return Ok(None);
        };
        let Some((uid, minted)) = app.refresh_tokens.user(t) else {
            return Ok(None);
        };
        let st = app.state.read();
        let created = st.id_attr("$users").and_then(|a| st.created_at(uid, a.id));
        Ok(created.filter(|c| *c <= minted).map(|_| uid))
    }

    /// Mints a refresh token for `user_id` (stored, then indexed in memory).
    pub fn mint_refresh_token(&self, app_id: Uuid, user_id: Uuid) -> Result<String, ApiError> {
        let token = Uuid::new_v4();
        let minted = now_ms();
        let conn = self.db();
        ensure_tables(&conn)?;
        conn.execute(
            "INSERT INTO local_refresh_tokens (token, app_id, user_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![token.to_string(), app_id.as_bytes().as_slice(), user_id.as_bytes().as_slice(), minted],
        )
        .map_err(internal)?;
        if let Some(app) = self.app(app_id) {
            app.refresh_tokens
                .0
                .write()
                .insert(token, (user_id, minted));
        }
        drop(conn);
        Ok(token.to_string())
    }

    /// Revokes every refresh token of `user_id` (sign out of all sessions).
    pub fn revoke_user_tokens(&self, app_id: Uuid, user_id: Uuid) -> Result<(), ApiError> {
        let conn = self.db();
        ensure_tables(&conn)?;
        conn.execute(
            "DELETE FROM local_refresh_tokens WHERE app_id = ?1 AND user_id = ?2",
            params![app_id.as_bytes().as_slice(), user_id.as_bytes().as_slice()],
        )
        .map_err(internal)?;
        if let Some(app) = self.app(app_id) {
            app.refresh_tokens
                .0
                .write()
                .retain(|_, (u, _)| *u != user_id);
        }
        drop(conn);
        Ok(())
    }

    /// Revokes one refresh token (sign out of one session).
    pub fn revoke_refresh_token(&self, app_id: Uuid, token: Uuid) -> Result<(), ApiError> {
        let conn = self.db();
        ensure_tables(&conn)?;
        conn.execute(
            "DELETE FROM local_refresh_tokens WHERE app_id = ?1 AND token = ?2",
            params![app_id.as_bytes().as_slice(), token.to_string()],
        )
        .map_err(internal)?;
        if let Some(app) = self.app(app_id) {
            app.refresh_tokens.0.write().remove(&token);
        }
        drop(conn);
        Ok(())
    }

    /// Creates a `$users` entity (id given or random) with `email`, `type`
    /// (`"guest"` or `"user"`) and `extra` custom `$users` attrs, which must exist
    /// in the schema and not be system attrs (400 `validation-failed` otherwise).
    pub fn create_user(
        &self,
        app: &Arc<App>,
        id: Option<Uuid>,
        email: Option<&str>,
        guest: bool,
        extra: Option<&Map<String, Value>>,
    ) -> Result<Uuid, ApiError> {
        let uid = id.unwrap_or_else(Uuid::new_v4);
        let now = now_ms();
        let (tx_id, topics) = {
            let mut st = app.state.write();
            let mut writes: Vec<(Uuid, Value)> = Vec::new();
            let sys = |st: &AppState, label: &str| {
                st.fwd_attr("$users", label)
                    .map(|a| a.id)
                    .ok_or_else(|| internal(format!("missing $users.{label}")))
            };
            let id_attr = sys(&st, "id")?;
            if st.exists(uid, id_attr) {
                return Ok(uid);
            }
            writes.push((id_attr, json!(uid.to_string())));
            if let Some(e) = email {
                writes.push((sys(&st, "email")?, json!(e)));
            }
            writes.push((
                sys(&st, "type")?,
                json!(if guest { "guest" } else { "user" }),
            ));
            for (k, v) in extra.into_iter().flatten() {
                let a = st.fwd_attr("$users", k).filter(|a| !a.is_ref);
                let msg = match a {
                    None => Some(format!(
                        "Unknown field: {k}. It must be defined in your $users schema."
                    )),
                    Some(a) if a.system => Some(format!("Cannot set system field: {k}")),
                    Some(_) => None,
                };
                if let Some(m) = msg {
                    return Err(ApiError::validation(
                        "extra-fields",
                        json!(extra),
                        vec![json!({"message": m})],
                    ));
                }
                if let Some(a) = a {
                    writes.push((a.id, v.clone()));
                }
            }
            st.begin();
            for (a, v) in writes {
                st.add_triple(uid, a, v, now);
            }
            self.commit(app, st)?
        };
        app.subs.notify(app, tx_id, topics, self);
        Ok(uid)
    }

    /// Finds the user by email (creating a `"user"` when missing); returns
    /// `(user id, created)`.
    pub fn ensure_user_by_email(
        &self,
        app: &Arc<App>,
        email: &str,
        extra: Option<&Map<String, Value>>,
    ) -> Result<(Uuid, bool), ApiError> {
        if let Some(uid) = user_by_email_in(&app.state.read(), email) {
            return Ok((uid, false));
        }
        Ok((
            self.create_user(app, None, Some(email), false, extra)?,
            true,
        ))
    }

    /// Deletes a `$users` entity (links to it cascade as transactions do) and
    /// revokes its refresh tokens at once.
    pub fn delete_user(&self, app: &Arc<App>, user_id: Uuid) -> Result<(), ApiError> {
        self.revoke_user_tokens(app.id(), user_id)?;
        self.transact(
            app,
            &json!([["delete", "$users", user_id.to_string()]]),
            false,
        )?;
        Ok(())
    }

    /// Generates a 6-digit magic code for `email`; `sent` marks it as sent
    /// (written to the outbox, see [`Engine::last_sent_magic_code`]).
    ///
    /// # Errors
    /// With `sent`, 429 `rate-limited` past
    /// [`crate::Limits::magic_code_attempts_per_hour`] codes sent to `email` in
    /// the hour (Instant's `check-send-rate-limit!`, `runtime/magic_code_auth.clj`;
    /// `/admin/magic_code`, which does not send, is not limited there either).
    pub fn create_magic_code(
        &self,
        app_id: Uuid,
        email: &str,
        sent: bool,
    ) -> Result<String, ApiError> {
        let r = Uuid::new_v4();
        let b = r.as_bytes();
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) % 1_000_000;
        let code = format!("{n:06}");
        let conn = self.db();
        ensure_tables(&conn)?;
        if sent {
            let limit = self.limits.magic_code_attempts_per_hour;
            take_attempt(&conn, app_id, email, "create", limit, now_ms())?;
        }
        conn.execute(
            "INSERT INTO local_magic_codes (app_id, email, code, created_at, sent) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![app_id.as_bytes().as_slice(), email, code, now_ms(), sent as i64],
        )
        .map_err(internal)?;
        Ok(code)
    }

    /// The most recently sent (`/admin/send_magic_code`) code for `email`.
    pub fn last_sent_magic_code(&self, app_id: Uuid, email: &str) -> Option<String> {
        let email = normalize_email(email)?;
        let conn = self.db();
        ensure_tables(&conn).ok()?;
        conn.query_row(
            "SELECT code FROM local_magic_codes WHERE app_id = ?1 AND email = ?2 AND sent = 1 ORDER BY rowid DESC LIMIT 1",
            params![app_id.as_bytes().as_slice(), email],
            |r| r.get(0),
        )
        .optional()
        .ok()?
    }

    /// Consumes a magic code (single use). Wrong code → 400 `record-not-found`
    /// (record-type `app-user-magic-code`); older than [`MAGIC_CODE_TTL_MS`] →
    /// 400 `record-expired`.
    ///
    /// Every check, right or wrong, takes one of the
    /// [`crate::Limits::magic_code_attempts_per_hour`] attempts (default 20)
    /// allowed per app and email in an hour; past them every check is 429
    /// `rate-limited` ("Too many verification codes requested for this email.
    /// Please try again later.") without looking at the code, which stays valid
    /// for when the hour is over. This is Instant's `check-verify-rate-limit!`
    /// (`server/src/instant/runtime/magic_code_auth.clj` `verify!`, bucket of
    /// `magic-code-rate-limit-per-hour` = 20 in `flags.clj`, refilled hourly).
    pub fn consume_magic_code(
        &self,
        app_id: Uuid,
        email: &str,
        code: &str,
    ) -> Result<(), ApiError> {
        let conn = self.db();
        ensure_tables(&conn)?;
        let limit = self.limits.magic_code_attempts_per_hour;
        take_attempt(&conn, app_id, email, "consume", limit, now_ms())?;
        let row: Option<(i64, i64)> = conn
            .query_row(
                "SELECT rowid, created_at FROM local_magic_codes WHERE app_id = ?1 AND email = ?2 AND code = ?3 ORDER BY rowid DESC LIMIT 1",
                params![app_id.as_bytes().as_slice(), email, code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(internal)?;
        let args = json!({"email": email, "app-id": app_id.to_string()});
        let Some((rowid, created)) = row else {
            return Err(ApiError::new(
                ErrorKind::RecordNotFound,
                "Record not found: app-user-magic-code",
            )
            .with_hint(json!({"record-type": "app-user-magic-code", "args": [args]})));
        };
        conn.execute(
            "DELETE FROM local_magic_codes WHERE rowid = ?1",
            params![rowid],
        )
        .map_err(internal)?;
        if now_ms() - created > MAGIC_CODE_TTL_MS {
            return Err(ApiError::new(
                ErrorKind::RecordExpired,
                "Record expired: app-user-magic-code",
            )
            .with_hint(json!({"record-type": "app-user-magic-code", "args": [args]})));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// `as-token` lookups are served from memory: one answers while another
    /// thread holds the global SQLite lock (before, it waited for it).
    #[test]
    fn refresh_token_lookup_does_not_wait_for_the_database() {
        let engine = Arc::new(Engine::open(None, Duration::from_secs(30)).unwrap());
        let creds = engine.create_app("t", false, None, None).unwrap();
        let app_id = creds.app_id.0;
        let app = engine.app(app_id).unwrap();
        let uid = engine
            .create_user(&app, None, Some("a@x.com"), false, None)
            .unwrap();
        let token = engine.mint_refresh_token(app_id, uid).unwrap();
        let held = engine.db();
        let (tx, rx) = std::sync::mpsc::channel();
        let e2 = engine.clone();
        std::thread::spawn(move || {
            let _ = tx.send(e2.refresh_token_user(app_id, &token).ok().flatten());
        });
        let got = rx.recv_timeout(Duration::from_secs(20));
        drop(held);
        assert_eq!(
            got.expect("answered while the database lock is held"),
            Some(uid)
        );
    }
}
