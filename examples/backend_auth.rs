//! Auth in your own backend: an axum server that signs users in with its own
//! check and mints Instant refresh tokens (`auth().create_token`), protects
//! routes with an extractor that verifies the token (`auth().verify_token`),
//! signs users in with magic codes, and reads data *as the user*
//! (`as_user(AsUser::token(..))`) so Instant's permission rules apply.
//!
//! ```sh
//! cargo run --example backend_auth
//! ```
//!
//! The example serves on a loopback port, drives its own endpoints with an HTTP
//! client and prints each exchange. Runs against an in-process `instant-local`
//! unless `INSTANT_APP_ID` / `INSTANT_APP_ADMIN_TOKEN` name a real app.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::BoxError;
use instantdb::client::User;
use instantdb::{tx, AsUser, Client, Id};
use serde::Deserialize;
use serde_json::{json, Value};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The admin client.
    pub db: Client,
    /// Your own credential check (a real app has a password hash table or an
    /// identity provider here).
    pub passwords: Arc<HashMap<String, String>>,
    /// Sent emails (a real app hands magic codes to its mailer).
    pub outbox: Arc<Mutex<Vec<(String, String)>>>,
}

/// An error response `{ "error": message }`.
pub struct ApiErr(StatusCode, String);

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<instantdb::client::Error> for ApiErr {
    fn from(e: instantdb::client::Error) -> Self {
        ApiErr(StatusCode::BAD_GATEWAY, e.to_string())
    }
}

/// The signed-in Instant user, from `Authorization: Bearer <refresh token>`.
/// Rejects with 401 when the header is missing or Instant does not know the token.
pub struct AuthUser {
    /// The user as Instant returned it.
    pub user: User,
    /// The refresh token that authenticated the request.
    pub token: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiErr> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiErr(StatusCode::UNAUTHORIZED, "missing bearer token".into()))?;
        match state.db.auth().verify_token(token).await {
            Ok(user) => Ok(AuthUser {
                user,
                token: token.to_string(),
            }),
            Err(_) => Err(ApiErr(StatusCode::UNAUTHORIZED, "invalid token".into())),
        }
    }
}

#[derive(Deserialize)]
struct SignInBody {
    email: String,
    password: String,
}

/// `POST /sign-in {email, password}`: your check, then an Instant token.
async fn sign_in(
    State(s): State<AppState>,
    Json(b): Json<SignInBody>,
) -> Result<Json<Value>, ApiErr> {
    if s.passwords.get(&b.email) != Some(&b.password) {
        return Err(ApiErr(
            StatusCode::UNAUTHORIZED,
            "wrong email or password".into(),
        ));
    }
    let token = s.db.auth().create_token(b.email.as_str()).await?;
    Ok(Json(json!({ "refresh_token": token.expose() })))
}

#[derive(Deserialize)]
struct EmailBody {
    email: String,
}

/// `POST /magic-code/send {email}`: generates a code and "emails" it.
async fn send_code(
    State(s): State<AppState>,
    Json(b): Json<EmailBody>,
) -> Result<StatusCode, ApiErr> {
    let code = s.db.auth().generate_magic_code(&b.email).await?;
    s.outbox
        .lock()
        .map_err(|_| ApiErr(StatusCode::INTERNAL_SERVER_ERROR, "outbox poisoned".into()))?
        .push((b.email, code));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct VerifyBody {
    email: String,
    code: String,
}

/// `POST /magic-code/verify {email, code}`: the code for a token.
async fn verify_code(
    State(s): State<AppState>,
    Json(b): Json<VerifyBody>,
) -> Result<Json<Value>, ApiErr> {
    match s.db.auth().verify_magic_code(&b.email, &b.code).await {
        Ok(sign_in) => {
            let token = sign_in.refresh_token()?;
            Ok(Json(
                json!({ "refresh_token": token.expose(), "created": sign_in.created }),
            ))
        }
        Err(_) => Err(ApiErr(StatusCode::UNAUTHORIZED, "invalid code".into())),
    }
}

/// `GET /me`: who the token belongs to.
async fn me(u: AuthUser) -> Json<Value> {
    Json(json!({ "id": u.user.id, "email": u.user.email }))
}

/// `POST /notes {text}` then `GET /notes`: data written by the admin client,
/// linked to the user, and read back *as the user*.
async fn add_note(
    State(s): State<AppState>,
    u: AuthUser,
    Json(b): Json<Value>,
) -> Result<Json<Value>, ApiErr> {
    let text = b["text"].as_str().unwrap_or_default().to_string();
    let id = Id::new();
    s.db.transact(tx::entity("notes", id).update(json!({ "text": text, "owner": u.user.id })))
        .await?;
    Ok(Json(json!({ "id": id })))
}

async fn list_notes(State(s): State<AppState>, u: AuthUser) -> Result<Json<Value>, ApiErr> {
    let as_user = s.db.as_user(AsUser::token(u.token.as_str()));
    let r = as_user
        .query_raw(json!({ "notes": { "$": { "where": { "owner": u.user.id } } } }))
        .await?;
    Ok(Json(r))
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/sign-in", post(sign_in))
        .route("/magic-code/send", post(send_code))
        .route("/magic-code/verify", post(verify_code))
        .route("/me", get(me))
        .route("/notes", post(add_note).get(list_notes))
        .with_state(state)
}

/// Starts everything, drives the endpoints, checks the answers.
pub async fn run() -> Result<(), BoxError> {
    let backend = common::connect("backend-auth").await?;
    println!("Connected to {}", backend.describe());
    let state = AppState {
        db: backend.db.clone(),
        passwords: Arc::new(HashMap::from([(
            "alyssa@example.com".to_string(),
            "correct horse".to_string(),
        )])),
        outbox: Arc::new(Mutex::new(Vec::new())),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("Backend listening on {base}");

    let http = reqwest::Client::new();
    // Wrong password: refused by your check, Instant is never asked.
    let r = http
        .post(format!("{base}/sign-in"))
        .json(&json!({"email": "alyssa@example.com", "password": "nope"}))
        .send()
        .await?;
    println!("POST /sign-in (wrong password) -> {}", r.status());
    expect(r.status() == 401, "wrong password must be refused")?;
    // Right password: an Instant refresh token.
    let r: Value = http
        .post(format!("{base}/sign-in"))
        .json(&json!({"email": "alyssa@example.com", "password": "correct horse"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = r["refresh_token"]
        .as_str()
        .ok_or("no refresh_token")?
        .to_string();
    println!("POST /sign-in -> a refresh token ({} chars)", token.len());
    // The token opens /me; no token or a bad one does not.
    let me: Value = http
        .get(format!("{base}/me"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("GET /me -> {me}");
    expect(me["email"] == "alyssa@example.com", "me is alyssa")?;
    let r = http.get(format!("{base}/me")).send().await?;
    println!("GET /me without a token -> {}", r.status());
    expect(r.status() == 401, "no token must be refused")?;
    let r = http
        .get(format!("{base}/me"))
        .bearer_auth("not-a-token")
        .send()
        .await?;
    println!("GET /me with a bad token -> {}", r.status());
    expect(r.status() == 401, "a bad token must be refused")?;

    // Data written for the user, read back as the user.
    http.post(format!("{base}/notes"))
        .bearer_auth(&token)
        .json(&json!({"text": "buy milk"}))
        .send()
        .await?
        .error_for_status()?;
    let notes: Value = http
        .get(format!("{base}/notes"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("GET /notes (queried as the user) -> {}", notes["notes"]);
    expect(
        notes["notes"][0]["text"] == "buy milk",
        "the note comes back",
    )?;

    // Magic codes: send, read the "email", verify.
    let email = "ben@example.com";
    let r = http
        .post(format!("{base}/magic-code/send"))
        .json(&json!({ "email": email }))
        .send()
        .await?;
    expect(r.status().is_success(), "send code")?;
    let code = state
        .outbox
        .lock()
        .map_err(|_| "outbox poisoned")?
        .iter()
        .rev()
        .find(|(to, _)| to == email)
        .map(|(_, c)| c.clone())
        .ok_or("no code was sent")?;
    println!(
        "POST /magic-code/send -> emailed a {}-digit code",
        code.len()
    );
    let r = http
        .post(format!("{base}/magic-code/verify"))
        .json(&json!({ "email": email, "code": "000000x" }))
        .send()
        .await?;
    println!("POST /magic-code/verify (wrong code) -> {}", r.status());
    expect(r.status() == 401, "a wrong code must be refused")?;
    let r: Value = http
        .post(format!("{base}/magic-code/verify"))
        .json(&json!({ "email": email, "code": code }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!(
        "POST /magic-code/verify -> token, created: {}",
        r["created"]
    );
    let ben_token = r["refresh_token"].as_str().ok_or("no refresh_token")?;
    let me: Value = http
        .get(format!("{base}/me"))
        .bearer_auth(ben_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    expect(me["email"] == email, "me is ben")?;
    println!("GET /me with ben's token -> {me}");

    server.abort();
    backend.shutdown().await;
    Ok(())
}

fn expect(ok: bool, what: &str) -> Result<(), BoxError> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run().await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn backend_auth_runs() {
        if let Err(e) = super::run().await {
            panic!("backend_auth failed: {e}");
        }
    }
}
