//! Signed, expiring download URLs (HMAC-SHA256 with a per-server secret).

use std::collections::HashMap;
use std::fmt;

use hmac::{Hmac, Mac};
use instant_core::Id;
use sha2::Sha256;

use super::location::validate_location_id;
use super::SignError;

type HmacSha256 = Hmac<Sha256>;

/// How long a download URL stays valid: 7 days, as Instant's presigned S3
/// URLs (`location-id-url` in `server/src/instant/storage/s3.clj`:
/// `(Duration/ofDays 7)`).
pub const DEFAULT_URL_EXPIRY_SECS: u64 = 7 * 24 * 60 * 60;

/// Suggested route for signed downloads on the local server (the signed URL
/// carries everything else in its query string).
pub const SIGNED_DOWNLOAD_ROUTE: &str = "/storage/signed-download";

/// The expiry Instant gives a URL signed at `now` (Unix seconds): the start
/// of `now`'s UTC day plus [`DEFAULT_URL_EXPIRY_SECS`]. Instant buckets the
/// signing instant to the start of the day so that URLs are stable for a day
/// and browsers can cache the file (`bucketed-signing-instant`).
pub fn default_expiry(now: u64) -> u64 {
    now - now % 86_400 + DEFAULT_URL_EXPIRY_SECS
}

/// Signs and verifies download URLs with HMAC-SHA256.
///
/// The signed message is `v1\n<app id>\n<location id>\n<expires>`; the URL's
/// query carries `app_id`, `location_id` (percent-encoded), `expires` (Unix
/// seconds) and `signature` (lowercase hex).
#[derive(Clone)]
pub struct UrlSigner {
    secret: Vec<u8>,
}

impl fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UrlSigner { secret: <redacted> }")
    }
}

impl UrlSigner {
    /// A signer with the given secret (any length; keep it private).
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        UrlSigner {
            secret: secret.as_ref().to_vec(),
        }
    }

    /// A signer with a random 244-bit secret (two v4 UUIDs), for a server
    /// whose URLs need not survive a restart.
    pub fn random() -> Self {
        let mut secret = Vec::with_capacity(32);
        secret.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        UrlSigner { secret }
    }

    /// The signer whose secret is stored in the file `path`, creating the
    /// file with a random secret (mode 0600 on Unix) if it does not exist, so
    /// that URLs stay valid across restarts of a server with a file database.
    ///
    /// # Errors
    /// I/O errors reading or creating the file, and an empty file
    /// ([`std::io::ErrorKind::InvalidData`]).
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<Self> {
        match std::fs::read(path) {
            Ok(secret) if secret.is_empty() => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the URL signing key file is empty",
            )),
            Ok(secret) => Ok(UrlSigner { secret }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let signer = UrlSigner::random();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                match options.open(path) {
                    Ok(mut f) => {
                        use std::io::Write;
                        f.write_all(&signer.secret)?;
                        f.sync_all()?;
                        Ok(signer)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        UrlSigner::load_or_create(path)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn mac(&self, app_id: Id, location_id: &str, expires_at: u64) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => unreachable_mac(),
        };
        mac.update(format!("v1\n{app_id}\n{location_id}\n{expires_at}").as_bytes());
        mac
    }

    /// The signed URL: `base_url` (e.g. `http://127.0.0.1:8888/storage/signed-download`)
    /// plus `?app_id=…&location_id=…&expires=…&signature=…` (`&` instead of
    /// `?` if `base_url` already has a query). `expires_at` is Unix seconds;
    /// see [`default_expiry`].
    pub fn sign(&self, base_url: &str, app_id: Id, location_id: &str, expires_at: u64) -> String {
        let sig = hex(&self
            .mac(app_id, location_id, expires_at)
            .finalize()
            .into_bytes());
        let sep = if base_url.contains('?') { '&' } else { '?' };
        format!(
            "{base_url}{sep}app_id={app_id}&location_id={}&expires={expires_at}&signature={sig}",
            percent_encode(location_id)
        )
    }

    /// Verifies decoded query parameters (e.g. axum's
    /// `Query<HashMap<String, String>>`) against the current time.
    ///
    /// # Errors
    /// See [`UrlSigner::verify_at`].
    pub fn verify(&self, query: &HashMap<String, String>) -> Result<(Id, String), SignError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.verify_at(query, now)
    }

    /// Verifies decoded query parameters at time `now` (Unix seconds) and
    /// returns the app id and location id they name.
    ///
    /// # Errors
    /// [`SignError::MissingParam`] / [`SignError::Malformed`] for absent or
    /// unparsable parameters (a location id that is not a safe file name is
    /// malformed), [`SignError::BadSignature`] when the signature does not
    /// match (checked in constant time, before the expiry, so a tampered
    /// `expires` is a bad signature), [`SignError::Expired`] when
    /// `now > expires`.
    pub fn verify_at(
        &self,
        query: &HashMap<String, String>,
        now: u64,
    ) -> Result<(Id, String), SignError> {
        let get = |k: &'static str| query.get(k).ok_or(SignError::MissingParam(k));
        let app_id =
            Id::parse(get("app_id")?).map_err(|_| SignError::Malformed { param: "app_id" })?;
        let location_id = get("location_id")?.clone();
        validate_location_id(&location_id).map_err(|_| SignError::Malformed {
            param: "location_id",
        })?;
        let expires_at: u64 = get("expires")?
            .parse()
            .map_err(|_| SignError::Malformed { param: "expires" })?;
        let sig = unhex(get("signature")?).ok_or(SignError::Malformed { param: "signature" })?;
        self.mac(app_id, &location_id, expires_at)
            .verify_slice(&sig)
            .map_err(|_| SignError::BadSignature)?;
        if now > expires_at {
            return Err(SignError::Expired { expires_at });
        }
        Ok((app_id, location_id))
    }
}

#[cold]
fn unreachable_mac() -> HmacSha256 {
    // `Hmac::new_from_slice` only fails for fixed-size-key MACs; for HMAC it
    // never does. Fall back to an empty key rather than panic.
    <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
