//! Running requests as an app user (spec `admin-http.md` §1.5): resolves the
//! [`Actor`] to the `auth` value rules see and applies the app's rules through
//! [`crate::engine::permissions`].

use instant_core::{ApiError, ErrorKind, Step};
use serde_json::{json, Value};

use super::auth::Actor;
use crate::engine::permissions::{compile_rules, user_by_email, Checker};
use crate::engine::state::AppState;
use crate::engine::App;
use crate::perms::Permissions;

/// The `auth` of an impersonated actor: `Ok(None)` for the admin (rules
/// bypassed), `Ok(Some(None))` for a guest, `Ok(Some(Some(user)))` for a user.
///
/// # Errors
/// `record-not-found` (`app-user`) when `as-email` names no `$users` row;
/// `record-not-found` (`app-user-refresh-token`) when `as-token` matches no
/// refresh token.
pub fn auth_for(st: &AppState, actor: &Actor) -> Result<Option<Option<Value>>, ApiError> {
    match actor {
        Actor::Admin => Ok(None),
        Actor::Guest => Ok(Some(None)),
        Actor::Email(email) => match user_by_email(st, email) {
            Some(u) => Ok(Some(Some(u))),
            None => Err(
                ApiError::new(ErrorKind::RecordNotFound, "Record not found: app-user")
                    .with_hint(json!({"record-type": "app-user", "args": [{"email": email}]})),
            ),
        },
        Actor::Token(_) => Err(ApiError::new(
            ErrorKind::RecordNotFound,
            "Record not found: app-user-refresh-token",
        )
        .with_hint(json!({"record-type": "app-user-refresh-token"}))),
    }
}

/// The app's compiled rules.
///
/// # Errors
/// `validation-failed` when the stored rules do not compile.
pub fn app_perms(app: &App) -> Result<Permissions, ApiError> {
    let raw = app.meta.read().rules.clone();
    compile_rules(raw.as_deref())
}

/// Filters a query result for `actor` (no-op for the admin). `rule_params`
/// is the query's `$$ruleParams`.
///
/// # Errors
/// Those of [`auth_for`], [`app_perms`] and rule evaluation.
pub fn filter_query_result(
    app: &App,
    st: &AppState,
    actor: &Actor,
    rule_params: Option<&Value>,
    result: &mut Value,
) -> Result<(), ApiError> {
    let Some(auth) = auth_for(st, actor)? else {
        return Ok(());
    };
    let perms = app_perms(app)?;
    Checker {
        st,
        perms: &perms,
        auth: auth.as_ref(),
        rule_params,
    }
    .filter_result(result)
}

/// Checks a transaction's steps for `actor` (no-op for the admin).
///
/// # Errors
/// `permission-denied` for the first forbidden step, plus those of
/// [`auth_for`] and [`app_perms`].
pub fn check_tx(
    perms: &Permissions,
    st: &AppState,
    actor: &Actor,
    steps: &[Step],
) -> Result<(), ApiError> {
    let Some(auth) = auth_for(st, actor)? else {
        return Ok(());
    };
    Checker {
        st,
        perms,
        auth: auth.as_ref(),
        rule_params: None,
    }
    .check_steps(steps, None)
}
