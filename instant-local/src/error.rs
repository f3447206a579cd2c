//! [`LocalError`]: what the instant-local library API (starting a server, creating
//! or restoring apps) can fail with. HTTP-level errors are [`instant_core::ApiError`]s.

/// An error from the `instant-local` library API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// Binding the listening socket or another I/O operation failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The SQLite database could not be opened, migrated or written.
    #[error("database error: {0}")]
    Db(String),
    /// A stored or supplied document (schema, rules, backup) is invalid.
    #[error("invalid data: {0}")]
    Invalid(String),
    /// An Instant-level error (e.g. a transaction failed while restoring a backup).
    #[error("{0}")]
    Api(#[from] instant_core::ApiError),
    /// The backup archive could not be read.
    #[error("backup error: {0}")]
    Backup(String),
    /// The server task is gone (it was shut down or panicked).
    #[error("the local server is not running")]
    NotRunning,
}

impl From<rusqlite::Error> for LocalError {
    fn from(e: rusqlite::Error) -> Self {
        LocalError::Db(e.to_string())
    }
}
