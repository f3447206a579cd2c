//! The `$files` blob store and signed download URLs.
//!
//! Instant facts pinned here: download URLs last 7 days from the start of the
//! UTC day they are signed (`location-id-url` / `bucketed-signing-instant` in
//! `server/src/instant/storage/s3.clj`); blobs are keyed by app id + location
//! id (`->object-key`); location ids with `/`, `\`, control characters, `.`
//! or `..` are refused (`backup-format.md` §4).

use std::collections::HashMap;

use instant_core::Id;
use instant_local::files::{
    default_expiry, validate_location_id, FileError, FileStore, SignError, UrlSigner,
    DEFAULT_URL_EXPIRY_SECS, MAX_UPLOAD_BYTES,
};

fn query_of(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').expect("has a query").1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let h = u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex");
            out.push(h);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf8")
}

fn round_trip(store: &FileStore) {
    let app = Id::new();
    let other_app = Id::new();
    let loc = FileStore::new_location_id();
    assert_eq!(store.get(app, &loc).unwrap(), None);
    assert_eq!(store.put(app, &loc, b"first").unwrap(), 5);
    assert_eq!(
        store.get(app, &loc).unwrap().as_deref(),
        Some(&b"first"[..])
    );
    // replacing content
    assert_eq!(store.put(app, &loc, b"second!").unwrap(), 7);
    assert_eq!(
        store.get(app, &loc).unwrap().as_deref(),
        Some(&b"second!"[..])
    );
    // keyed by app id too
    assert_eq!(store.get(other_app, &loc).unwrap(), None);
    store.put(other_app, &loc, b"other").unwrap();
    assert!(store.delete(app, &loc).unwrap());
    assert!(!store.delete(app, &loc).unwrap());
    assert_eq!(store.get(app, &loc).unwrap(), None);
    assert_eq!(
        store.get(other_app, &loc).unwrap().as_deref(),
        Some(&b"other"[..])
    );
    // empty files are files
    let empty = FileStore::new_location_id();
    store.put(app, &empty, b"").unwrap();
    assert_eq!(store.get(app, &empty).unwrap(), Some(Vec::new()));
    store.delete_app(app).unwrap();
    assert_eq!(store.get(app, &empty).unwrap(), None);
    assert!(store.get(other_app, &loc).unwrap().is_some());
    store.delete_app(Id::new()).unwrap();
}

#[test]
fn round_trip_in_memory() {
    round_trip(&FileStore::in_memory());
}

#[test]
fn round_trip_on_disk_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let store = FileStore::next_to_database(&db).unwrap();
    assert_eq!(store.dir().unwrap(), dir.path().join("app.db.files"));
    round_trip(&store);
    let app = Id::new();
    store.put(app, "photo-1", b"bytes").unwrap();
    assert!(dir
        .path()
        .join("app.db.files")
        .join(app.to_string())
        .join("photo-1")
        .is_file());
    drop(store);
    let reopened = FileStore::next_to_database(&db).unwrap();
    assert_eq!(
        reopened.get(app, "photo-1").unwrap().as_deref(),
        Some(&b"bytes"[..])
    );
}

#[test]
fn path_traversal_location_ids_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::on_disk(dir.path().join("files")).unwrap();
    let app = Id::new();
    for bad in [
        "",
        ".",
        "..",
        "../x",
        "../../etc/passwd",
        "a/b",
        "a\\b",
        "/abs",
        "nul\0byte",
        "tab\t",
        &"x".repeat(256),
    ] {
        assert!(validate_location_id(bad).is_err(), "{bad:?}");
        assert!(
            matches!(
                store.put(app, bad, b"x"),
                Err(FileError::InvalidLocationId(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(store.get(app, bad), Err(FileError::InvalidLocationId(_))),
            "{bad:?}"
        );
        assert!(
            matches!(store.delete(app, bad), Err(FileError::InvalidLocationId(_))),
            "{bad:?}"
        );
    }
    // nothing escaped the store's directory
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    for ok in [
        "3c9e0b8a-1111-4111-8111-111111111111",
        "..x",
        "a..b",
        "file name.png",
        ".hidden",
    ] {
        store.put(app, ok, b"ok").unwrap();
        assert_eq!(
            store.get(app, ok).unwrap().as_deref(),
            Some(&b"ok"[..]),
            "{ok:?}"
        );
    }
}

#[test]
fn size_limit() {
    assert_eq!(MAX_UPLOAD_BYTES, 1024 * 1024 * 1024);
    let store = FileStore::in_memory().with_max_size(4);
    let app = Id::new();
    assert_eq!(store.put(app, "a", b"1234").unwrap(), 4);
    match store.put(app, "b", b"12345") {
        Err(FileError::TooLarge { size, limit }) => assert_eq!((size, limit), (5, 4)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(store.get(app, "b").unwrap(), None);
    assert!(store.check_size(4).is_ok());
    assert!(matches!(
        store.check_size(5),
        Err(FileError::TooLarge { .. })
    ));
    // streaming: stops one byte past the limit, stores nothing
    let big = std::io::repeat(7u8);
    match store.put_reader(app, "c", big) {
        Err(FileError::TooLarge { size, limit }) => assert_eq!((size, limit), (5, 4)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(store.get(app, "c").unwrap(), None);
    assert_eq!(store.put_reader(app, "d", &b"abc"[..]).unwrap(), 3);
    let err = store.put(app, "e", b"toolong").unwrap_err();
    assert_eq!(
        err.to_string(),
        "File is too large: 7 bytes; the limit is 4 bytes."
    );
}

#[test]
fn signed_url_round_trip() {
    let signer = UrlSigner::new(b"secret");
    let app = Id::new();
    let url = signer.sign(
        "http://127.0.0.1:1234/storage/signed-download",
        app,
        "photo 1.png",
        2_000,
    );
    assert!(url.starts_with("http://127.0.0.1:1234/storage/signed-download?app_id="));
    assert!(url.contains("location_id=photo%201.png"));
    let q = query_of(&url);
    assert_eq!(
        signer.verify_at(&q, 1_000).unwrap(),
        (app, "photo 1.png".to_string())
    );
    assert_eq!(
        signer.verify_at(&q, 2_000).unwrap().0,
        app,
        "valid up to expiry"
    );
    // base URLs with a query get `&`
    let url = signer.sign("http://h/x?a=1", app, "loc", 2_000);
    assert!(url.starts_with("http://h/x?a=1&app_id="));
    // same inputs, same URL (stable for caching)
    assert_eq!(
        signer.sign("http://h/x", app, "loc", 9),
        signer.sign("http://h/x", app, "loc", 9)
    );
    // the debug form hides the secret
    assert!(!format!("{signer:?}").contains("secret\""));
    assert!(format!("{signer:?}").contains("redacted"));
    // the wall-clock variant accepts a far-future link
    let url = UrlSigner::random().sign("http://h/x", app, "loc", u64::MAX);
    assert!(matches!(
        signer.verify(&query_of(&url)),
        Err(SignError::BadSignature)
    ));
}

#[test]
fn wrong_signature_rejected() {
    let signer = UrlSigner::new(b"secret");
    let app = Id::new();
    let url = signer.sign("http://h/d", app, "loc-1", 5_000);
    let good = query_of(&url);
    let tamper = |k: &str, v: String| {
        let mut q = good.clone();
        q.insert(k.to_string(), v);
        signer.verify_at(&q, 1_000)
    };
    assert_eq!(
        tamper("location_id", "loc-2".into()),
        Err(SignError::BadSignature)
    );
    assert_eq!(
        tamper("app_id", Id::new().to_string()),
        Err(SignError::BadSignature)
    );
    assert_eq!(
        tamper("expires", "9999999999".into()),
        Err(SignError::BadSignature)
    );
    let mut sig = good["signature"].clone();
    let last = if sig.ends_with('0') { '1' } else { '0' };
    sig.pop();
    sig.push(last);
    assert_eq!(tamper("signature", sig), Err(SignError::BadSignature));
    assert_eq!(
        tamper("signature", "zz".into()),
        Err(SignError::Malformed { param: "signature" })
    );
    assert_eq!(
        tamper("app_id", "nope".into()),
        Err(SignError::Malformed { param: "app_id" })
    );
    assert_eq!(
        tamper("expires", "-1".into()),
        Err(SignError::Malformed { param: "expires" })
    );
    assert_eq!(
        tamper("location_id", "../etc/passwd".into()),
        Err(SignError::Malformed {
            param: "location_id"
        })
    );
    // another server's secret
    assert_eq!(
        UrlSigner::new(b"other").verify_at(&good, 1_000),
        Err(SignError::BadSignature)
    );
    let mut missing = good.clone();
    missing.remove("signature");
    assert_eq!(
        signer.verify_at(&missing, 1_000),
        Err(SignError::MissingParam("signature"))
    );
}

#[test]
fn expired_link_rejected() {
    let signer = UrlSigner::new(b"secret");
    let app = Id::new();
    let q = query_of(&signer.sign("http://h/d", app, "loc", 5_000));
    assert_eq!(
        signer.verify_at(&q, 5_001),
        Err(SignError::Expired { expires_at: 5_000 })
    );
    let q = query_of(&signer.sign("http://h/d", app, "loc", 1));
    assert!(matches!(
        signer.verify(&q),
        Err(SignError::Expired { expires_at: 1 })
    ));
}

#[test]
fn default_expiry_is_seven_days_from_start_of_utc_day() {
    assert_eq!(DEFAULT_URL_EXPIRY_SECS, 604_800);
    // 2023-11-14T22:13:20Z → start of day 2023-11-14T00:00:00Z = 1_699_920_000
    assert_eq!(default_expiry(1_700_000_000), 1_699_920_000 + 604_800);
    assert_eq!(default_expiry(1_699_920_000), 1_699_920_000 + 604_800);
    // stable through the day
    assert_eq!(
        default_expiry(1_699_920_001),
        default_expiry(1_699_920_000 + 86_399)
    );
}

#[test]
fn signing_key_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("app.db.files").join("signing.key");
    let first = UrlSigner::load_or_create(&key).unwrap();
    let app = Id::new();
    let url = first.sign("http://h/d", app, "loc", 5_000);
    let again = UrlSigner::load_or_create(&key).unwrap();
    assert_eq!(
        again.verify_at(&query_of(&url), 1).unwrap(),
        (app, "loc".to_string())
    );
    assert!(std::fs::metadata(&key).unwrap().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    std::fs::write(&key, b"").unwrap();
    assert!(UrlSigner::load_or_create(&key).is_err());
}

#[test]
fn errors_render_as_instant_bodies() {
    let too_large = FileError::TooLarge { size: 10, limit: 4 }
        .to_api_error()
        .to_body();
    assert_eq!(too_large["type"], "validation-failed");
    assert_eq!(too_large["hint"]["data-type"], "file");
    assert_eq!(too_large["hint"]["input"]["limit"], 4);
    let bad = FileError::InvalidLocationId("../x".into())
        .to_api_error()
        .to_body();
    assert_eq!(bad["type"], "param-malformed");
    assert_eq!(bad["hint"]["original-input"], "../x");
}
