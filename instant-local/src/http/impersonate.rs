//! Running requests as an app user (spec `admin-http.md` §1.5): resolves the
//! [`Actor`] to the `auth` value rules see and applies the app's rules through
//! [`crate::engine::permissions`].

use std::sync::Arc;

use instant_core::{ApiError, ErrorKind, Step};
use serde_json::{json, Value};

use super::auth::Actor;
use crate::engine::permissions::{Checker, ResultView};
use crate::engine::state::AppState;
use crate::engine::{App, Engine};
use crate::perms::Permissions;

/// The `auth` of an impersonated actor: `Ok(None)` for the admin (rules
/// bypassed), `Ok(Some(None))` for a guest, `Ok(Some(Some(user)))` for a user
/// (the `$users` JSON of spec §1.8). Call it before taking the app's state
/// lock (it reads the state itself).
///
/// `as-email` is matched exactly as sent (Instant's `get-by-email!` in
/// `server/src/instant/admin/routes.clj` `get-perms!`): `Bob@x.com` does not
/// find the user stored as `bob@x.com`.
///
/// # Errors
/// `record-not-found` (`app-user`, hint `args: [{"app-id", "email"}]`) when
/// `as-email` names no `$users` row;
/// `record-not-found` (`app-user`, as admin-http.md §1.5 says) when `as-token`
/// matches no live refresh token.
pub fn auth_for(
    engine: &Engine,
    app: &App,
    actor: &Actor,
) -> Result<Option<Option<Value>>, ApiError> {
    match actor {
        Actor::Admin => Ok(None),
        Actor::Guest => Ok(Some(None)),
        Actor::Email(email) => match engine.user_for_email(app.id(), email) {
            Some(u) => Ok(Some(Some(u))),
            None => Err(
                ApiError::new(ErrorKind::RecordNotFound, "Record not found: app-user").with_hint(
                    json!({
                        "record-type": "app-user",
                        "args": [{"app-id": app.id().to_string(), "email": email}],
                    }),
                ),
            ),
        },
        Actor::Token(t) => match engine.user_for_refresh_token(app.id(), &t.to_string()) {
            Some(u) => Ok(Some(Some(u))),
            None => Err(
                ApiError::new(ErrorKind::RecordNotFound, "Record not found: app-user")
                    .with_hint(json!({"record-type": "app-user"})),
            ),
        },
    }
}

/// The app's compiled rules, validated with the engine's [`crate::Limits`]
/// (compiled once per stored rules text, see
/// [`crate::engine::permissions::RulesCache`]).
///
/// # Errors
/// `validation-failed` when the stored rules do not compile (see
/// [`crate::engine::permissions::compile_rules_with`]).
pub fn app_perms(engine: &Engine, app: &App) -> Result<Arc<Permissions>, ApiError> {
    let raw = app.meta.read().rules.clone();
    app.rules.get(raw.as_deref(), &engine.limits)
}

/// How a query result is shown to `actor` (the one post-processing of
/// `/admin/query`, `/admin/query_perms_check` and live queries): the app's
/// rules and the actor's `auth` (none for the admin), the query's
/// `$$ruleParams`, and `origin` for `$files.url`. Call it before taking the
/// app's state lock (it reads the state itself).
///
/// # Errors
/// Those of [`auth_for`] and [`app_perms`].
pub fn result_view(
    engine: &Engine,
    app: &App,
    actor: &Actor,
    query: &Value,
    origin: String,
) -> Result<ResultView, ApiError> {
    let perms = match auth_for(engine, app, actor)? {
        None => None,
        Some(auth) => Some((app_perms(engine, app)?, auth)),
    };
    Ok(ResultView::for_query(perms, query, origin))
}

/// Checks a transaction's steps for a user (`auth`) or guest (`None`).
///
/// # Errors
/// `validation-failed` when a step writes a system entity or column (see
/// [`crate::engine::transact::check_system_writes`], run before any rule);
/// `permission-denied` for the first forbidden step.
pub fn check_tx(
    perms: &Permissions,
    st: &AppState,
    auth: Option<&Value>,
    steps: &[Step],
) -> Result<(), ApiError> {
    crate::engine::transact::check_system_writes(st, steps)?;
    Checker {
        st,
        perms,
        auth,
        rule_params: None,
        deadline: None,
    }
    .check_steps(steps, None)
}
