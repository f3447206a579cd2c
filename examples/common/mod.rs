//! Shared by the examples: connect to a real Instant app when the environment
//! names one, otherwise start an in-process `instant-local` server and create a
//! fresh app on it, so every example runs with no setup.
//!
//! Environment (the same variables the official SDKs read):
//! `INSTANT_APP_ID`, `INSTANT_APP_ADMIN_TOKEN`, and optionally `INSTANT_API_URI`
//! (defaults to `https://api.instantdb.com`).

#![allow(dead_code)]

use instantdb::{Client, LocalServer};

/// The error type of the examples: anything printable.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A connected client plus, when running locally, the server that backs it
/// (kept alive for as long as this value lives).
pub struct Backend {
    /// The admin client for the app.
    pub db: Client,
    /// The in-process server, when no real app was configured.
    pub local: Option<LocalServer>,
}

impl Backend {
    /// `"instant-local at http://127.0.0.1:PORT"` or `"Instant at URI"`.
    pub fn describe(&self) -> String {
        match &self.local {
            Some(s) => format!("instant-local (in-process) at {}", s.url()),
            None => format!("Instant at {}", self.db.api_uri()),
        }
    }

    /// Stops the local server, if any.
    pub async fn shutdown(self) {
        if let Some(s) = self.local {
            s.shutdown().await;
        }
    }
}

/// True when `INSTANT_APP_ID` is set (the examples then use that app).
pub fn remote_configured() -> bool {
    std::env::var("INSTANT_APP_ID")
        .map(|v| !v.is_empty())
        .unwrap_or(false)
}

/// Connects to the app in the environment, or starts `instant-local` and creates
/// an app titled `title` on it.
pub async fn connect(title: &str) -> Result<Backend, BoxError> {
    if remote_configured() {
        return Ok(Backend {
            db: Client::from_env()?,
            local: None,
        });
    }
    let server = LocalServer::builder().start().await?;
    let app = server.create_app(title).await?;
    let db = client_for(&server, &app)?;
    Ok(Backend {
        db,
        local: Some(server),
    })
}

/// An admin client for `app` on `server`.
pub fn client_for(
    server: &LocalServer,
    app: &instantdb::AppCredentials,
) -> Result<Client, BoxError> {
    Ok(Client::builder()
        .app_id(app.app_id.to_string())
        .admin_token(app.admin_token.as_str())
        .api_uri(server.url())
        .build()?)
}
