//! The blob store behind `$files`: file bytes kept on disk next to the SQLite
//! database (or in memory for in-memory servers), and signed, expiring
//! download URLs.
//!
//! Mirrors Instant's storage (spec `admin-http.md` §7, `instaql.md` §10.2,
//! `backup-format.md` §4): objects are keyed by app id + location id
//! (`server/src/instant/storage/s3.clj`, `->object-key`), and `$files.url` is a
//! signed URL valid for 7 days from the start of the current UTC day
//! (`location-id-url`, `bucketed-signing-instant`), so repeated queries on the
//! same day return the same URL.
//!
//! ```
//! use instant_core::Id;
//! use instant_local::files::{FileStore, UrlSigner};
//!
//! let store = FileStore::in_memory();
//! let app = Id::new();
//! let location = FileStore::new_location_id();
//! store.put(app, &location, b"hello").unwrap();
//! assert_eq!(store.get(app, &location).unwrap().as_deref(), Some(&b"hello"[..]));
//!
//! let signer = UrlSigner::new(b"server secret");
//! let url = signer.sign("http://127.0.0.1:8888/storage/signed-download", app, &location, 4_102_444_800);
//! let query: std::collections::HashMap<String, String> = url
//!     .split_once('?').unwrap().1
//!     .split('&')
//!     .filter_map(|kv| kv.split_once('='))
//!     .map(|(k, v)| (k.to_string(), v.to_string()))
//!     .collect();
//! assert_eq!(signer.verify_at(&query, 1_700_000_000).unwrap(), (app, location));
//! ```

mod error;
mod location;
mod sign;
mod store;

pub use error::{FileError, SignError};
pub use location::validate_location_id;
pub use sign::{default_expiry, UrlSigner, DEFAULT_URL_EXPIRY_SECS, SIGNED_DOWNLOAD_ROUTE};
pub use store::{BlobWriter, FileStore, MAX_UPLOAD_BYTES};
