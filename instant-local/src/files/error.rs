//! Errors of the blob store and of signed URLs.

/// Why a blob could not be stored, read or deleted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The upload is larger than the store's limit
    /// ([`MAX_UPLOAD_BYTES`](super::MAX_UPLOAD_BYTES) by default).
    #[error("File is too large: {size} bytes; the limit is {limit} bytes.")]
    TooLarge {
        /// Bytes received (at least; reading stops past the limit).
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The location id is empty, too long, `.`/`..`, or contains `/`, `\` or
    /// a control character (the rule Instant's backup code applies).
    #[error("Invalid location id {0:?}.")]
    InvalidLocationId(String),
    /// The disk could not be read or written.
    #[error("File storage error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a signed download URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A query parameter is missing (`app_id`, `location_id`, `expires`,
    /// `signature`).
    #[error("Missing parameter `{0}` in the signed URL.")]
    MissingParam(&'static str),
    /// A query parameter does not parse.
    #[error("Malformed parameter `{param}` in the signed URL.")]
    Malformed {
        /// Its name.
        param: &'static str,
    },
    /// The signature does not match (tampered URL or another server's secret).
    #[error("The signature of this URL is invalid.")]
    BadSignature,
    /// The URL expired at `expires_at` (Unix seconds).
    #[error("This URL expired at {expires_at} (Unix seconds).")]
    Expired {
        /// Expiry, Unix seconds.
        expires_at: u64,
    },
}

impl FileError {
    /// The Instant error body the HTTP layer should answer with:
    /// `TooLarge` → 400 `validation-failed` (data type `file`, input
    /// `{"size", "limit"}`), `InvalidLocationId` → 400 `param-malformed`
    /// (`in: ["location-id"]`), `Io` → 500 `unknown`.
    pub fn to_api_error(&self) -> instant_core::ApiError {
        use instant_core::{ApiError, ErrorKind};
        match self {
            FileError::TooLarge { size, limit } => ApiError::validation(
                "file",
                serde_json::json!({"size": size, "limit": limit}),
                vec![serde_json::json!({"message": self.to_string()})],
            ),
            FileError::InvalidLocationId(id) => ApiError::new(
                ErrorKind::ParamMalformed,
                "Malformed parameter: [\"location-id\"]",
            )
            .with_hint(serde_json::json!({"in": ["location-id"], "original-input": id})),
            FileError::Io(_) => ApiError::new(
                ErrorKind::Unknown,
                "Something went wrong. Sorry about this!",
            )
            .with_status(500),
        }
    }
}

impl SignError {
    /// The `hint` of the error envelope a refused download answers with:
    /// `{"in": ["query-params", name]}` for a missing or malformed parameter,
    /// `{"reason": "bad-signature"}`, or `{"reason": "expired", "expires-at"}`
    /// (Unix seconds).
    pub fn hint(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            SignError::MissingParam(p) | SignError::Malformed { param: p } => {
                json!({"in": ["query-params", p]})
            }
            SignError::BadSignature => json!({"reason": "bad-signature"}),
            SignError::Expired { expires_at } => {
                json!({"reason": "expired", "expires-at": expires_at})
            }
        }
    }
}
