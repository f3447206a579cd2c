//! `instant_local::backup::read` against the zeneca and movies backup fixtures
//! (/work/shared/data/*/backup, format: spec backup-format.md) and against
//! malformed archives built here.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::data;
use common::fixtures::{copy_backup, folder_entries, write_zip, zip_folder, TempDir};
use instant_core::{Has, Id, ValueType};
use instant_local::backup::{self, Backup, BackupEntity, BackupError, KeyKind};
use serde_json::{json, Value};

fn fixture(ds: &str) -> std::path::PathBuf {
    data::dataset_dir(ds).join("backup")
}

fn read_ok(p: &Path) -> Backup {
    match backup::read(p) {
        Ok(b) => b,
        Err(e) => panic!("reading {} failed: {e}", p.display()),
    }
}

fn of_ns<'a>(b: &'a Backup, ns: &str) -> Vec<&'a BackupEntity> {
    b.entities.iter().filter(|e| e.namespace == ns).collect()
}

/// (from, to) pairs of forward label `label` on `ns`, decoded with `split`.
fn pairs(b: &Backup, ns: &str, label: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for e in of_ns(b, ns) {
        for l in e.split(b).links {
            if l.label == label {
                for t in l.targets {
                    out.insert((e.id.to_string(), t.to_string()));
                }
            }
        }
    }
    out
}

/// Every entity's attributes (links removed) equal the dataset file's object
/// without `id`, and `createdAt` equals created_at.json.
fn assert_matches_dataset(b: &Backup, ds: &str, namespaces: &[&str]) {
    let created = data::created_at(ds);
    for ns in namespaces {
        let rows = data::entities(ds, ns);
        let by_id: BTreeMap<String, &BackupEntity> = of_ns(b, ns)
            .into_iter()
            .map(|e| (e.id.to_string(), e))
            .collect();
        assert_eq!(by_id.len(), rows.len(), "{ds}.{ns} entity count");
        for row in rows {
            let id = row["id"].as_str().unwrap();
            let e = by_id.get(id).unwrap_or_else(|| panic!("{ns} {id} missing"));
            let mut expected = row.clone();
            expected.remove("id");
            assert_eq!(e.split(b).attrs, expected, "{ns} {id} attrs");
            assert_eq!(
                Some(&e.created_at_ms),
                created.get(id),
                "{ns} {id} createdAt"
            );
        }
    }
}

#[test]
fn zeneca_folder_reads_with_counts_links_and_values() {
    let b = read_ok(&fixture("zeneca"));
    assert_eq!(b.title, "zeneca");
    assert_eq!(
        b.app_id,
        Some(Id::parse("fb031d47-ca89-5c5a-9198-dccdee5b622f").unwrap())
    );
    assert!(b.rules.is_none(), "zeneca backup has rules: null");
    assert_eq!(b.triple_count, Some(2642));
    assert_eq!(b.isn.as_deref(), Some("0/1B/6A3C2F10"));
    assert_eq!(b.description.as_deref(), Some("Automated Daily Snapshot"));
    assert_eq!(b.backup_at.as_deref(), Some("2026-08-21T03:00:00.482Z"));
    assert!(b.files.is_empty() && b.webhooks.is_empty() && b.email_templates.is_empty());
    assert!(b.ignored_entries.is_empty());

    assert_eq!(of_ns(&b, "users").len(), 4);
    assert_eq!(of_ns(&b, "bookshelves").len(), 45);
    assert_eq!(of_ns(&b, "books").len(), 392);
    assert_eq!(b.entities.len(), 441);
    assert_eq!(
        b.counts,
        BTreeMap::from([
            ("books".to_string(), 392),
            ("bookshelves".to_string(), 45),
            ("users".to_string(), 4)
        ])
    );

    // Schema: user namespaces and links kept, system ones stripped (as the
    // official restore does before applying the schema).
    let ents: Vec<&str> = b.schema.entities.keys().map(String::as_str).collect();
    assert_eq!(ents, ["books", "bookshelves", "users"]);
    let links: Vec<&str> = b.schema.links.keys().map(String::as_str).collect();
    assert_eq!(
        links,
        [
            "booksNext",
            "booksPrequel",
            "bookshelvesBooks",
            "usersBookshelves"
        ]
    );
    assert_eq!(
        b.schema.entities["bookshelves"].attrs["name"].value_type,
        ValueType::Json,
        "`any` is untyped"
    );
    assert!(b.schema.entities["books"].attrs["isbn13"].unique);
    assert!(b.schema.links["booksPrequel"].forward.on_delete.is_some());
    assert!(b.schema.links["booksNext"].reverse.on_delete.is_some());

    // Links as in data/README.md and links.json.
    let shelves_books = pairs(&b, "bookshelves", "books");
    assert_eq!(shelves_books.len(), 446);
    assert_eq!(
        shelves_books,
        data::link_pairs("zeneca", "bookshelvesBooks")
    );
    let users_shelves = pairs(&b, "users", "bookshelves");
    assert_eq!(users_shelves.len(), 45);
    assert_eq!(
        users_shelves,
        data::link_pairs("zeneca", "usersBookshelves")
    );
    assert!(pairs(&b, "books", "prequel").is_empty());
    assert!(pairs(&b, "books", "next").is_empty());

    assert_matches_dataset(&b, "zeneca", &["users", "bookshelves", "books"]);
}

#[test]
fn movies_folder_reads_with_has_one_links_rules_and_metadata() {
    let b = read_ok(&fixture("movies"));
    assert_eq!(b.title, "movies");
    assert_eq!(of_ns(&b, "movie").len(), 20);
    assert_eq!(of_ns(&b, "person").len(), 50);
    assert_eq!(b.triple_count, Some(301));
    assert!(b.isn.is_none());
    assert_eq!(b.description.as_deref(), Some("On-demand backup"));

    let rules = b.rules.as_ref().expect("movies backup carries rules");
    assert_eq!(rules.rule_for("movie", "view"), Some("true"));
    assert_eq!(rules.rule_for("person", "delete"), Some("true"));
    assert_eq!(b.email_templates.len(), 1);
    assert_eq!(b.email_templates[0].template_type, "magic-code");
    assert_eq!(
        b.email_templates[0].email.as_deref(),
        Some("noreply@example.com")
    );
    assert_eq!(b.redirect_origins.len(), 1);
    assert_eq!(b.redirect_origins[0].service, "generic");
    assert_eq!(b.redirect_origins[0].params, ["movies.example.com"]);
    assert_eq!(b.webhooks.len(), 1);
    assert_eq!(
        b.webhooks[0].sink.url,
        "https://example.com/instant-webhook"
    );

    for (label, link) in [
        ("director", "movieDirector"),
        ("cast", "movieCast"),
        ("sequel", "movieSequel"),
    ] {
        assert_eq!(
            pairs(&b, "movie", label),
            data::link_pairs("movies", link),
            "{link}"
        );
    }
    assert_eq!(pairs(&b, "movie", "director").len(), 20);
    assert_eq!(pairs(&b, "movie", "cast").len(), 59);
    assert_eq!(pairs(&b, "movie", "sequel").len(), 10);

    // has-one links are single id strings in the line, has-many are arrays.
    let m = of_ns(&b, "movie")[0];
    assert!(m.attrs["director"].is_string());
    assert!(m.attrs["cast"].is_array());
    match b.key_kind("movie", "director") {
        KeyKind::Link(l) => {
            assert_eq!(l.forward.has, Has::One);
            assert_eq!(l.reverse.label, "directedMovies");
        }
        other => panic!("director should be a link, got {other:?}"),
    }
    assert!(
        matches!(b.key_kind("movie", "title"), KeyKind::Attr(a) if a.value_type == ValueType::String)
    );
    assert_eq!(
        b.key_kind("person", "directedMovies"),
        KeyKind::Unknown,
        "reverse labels never appear"
    );
    assert_eq!(b.key_kind("movie", "nope"), KeyKind::Unknown);
    // System catalog keys are known even though config.schema hides them.
    assert!(matches!(
        b.key_kind("$files", "location-id"),
        KeyKind::Attr(_)
    ));
    assert!(matches!(
        b.key_kind("$users", "linkedPrimaryUser"),
        KeyKind::Link(_)
    ));
    assert!(matches!(b.key_kind("$streams", "$files"), KeyKind::Link(_)));

    assert_matches_dataset(&b, "movies", &["movie", "person"]);
}

#[test]
fn zip_of_the_fixture_reads_the_same_as_the_folder() {
    for ds in ["zeneca", "movies"] {
        let folder = read_ok(&fixture(ds));
        let tmp = TempDir::new("zip");
        for deflate in [true, false] {
            let zip = tmp.join(&format!(
                "instant-backup-2026-08-21T03-00-00-482Z-{deflate}.zip"
            ));
            write_zip(&zip, &folder_entries(&fixture(ds)), deflate);
            let z = read_ok(&zip);
            assert_eq!(z.entities, folder.entities, "{ds} deflate={deflate}");
            assert_eq!(z.schema, folder.schema);
            assert_eq!(z.rules, folder.rules);
            assert_eq!(z.counts, folder.counts);
            assert_eq!(z.title, folder.title);
        }
    }
}

#[test]
fn zip_with_a_top_folder_and_junk_entries_is_accepted() {
    let tmp = TempDir::new("zip-prefixed");
    let mut entries = vec![("backup/".to_string(), Vec::new())];
    for (n, bytes) in folder_entries(&fixture("movies")) {
        entries.push((format!("backup/{n}"), bytes));
    }
    entries.push(("__MACOSX/backup/._config.json".into(), b"junk".to_vec()));
    entries.push(("backup/.DS_Store".into(), b"junk".to_vec()));
    entries.push(("backup/README.txt".into(), b"hello".to_vec()));
    let zip = tmp.join("b.zip");
    write_zip(&zip, &entries, true);
    let b = read_ok(&zip);
    assert_eq!(b.entities.len(), 70);
    assert_eq!(b.ignored_entries, ["README.txt"]);
}

#[test]
fn files_blobs_are_paired_with_their_files_entities() {
    let tmp = TempDir::new("files");
    copy_backup(&fixture("movies"), &tmp.0);
    let fid = "0a1b2c3d-0000-4000-8000-000000000001";
    let loc = "11111111-2222-4333-8444-555555555555";
    let line = json!({"entity": {"id": fid, "path": "posters/t2.png", "size": 4,
        "content-type": "image/png", "content-disposition": "inline",
        "location-id": loc, "key-version": 1}, "createdAt": 1755000000000i64});
    std::fs::write(tmp.join("entities/$files.jsonl"), format!("{line}\n")).unwrap();
    std::fs::create_dir_all(tmp.join("files")).unwrap();
    std::fs::write(tmp.join(&format!("files/{loc}")), b"\x89PNG").unwrap();
    patch_config(&tmp, |c| {
        c["counts"]["$files"] = json!(1);
        c["tripleCount"] = json!(301 + 7);
    });
    for p in [tmp.0.clone(), {
        let z = tmp.join("b.zip");
        zip_folder(&tmp.0, &z);
        z
    }] {
        let b = read_ok(&p);
        assert_eq!(b.files.len(), 1);
        assert_eq!(b.files[0].location_id, loc);
        assert_eq!(b.files[0].entity_id.to_string(), fid);
        assert_eq!(b.files[0].bytes, b"\x89PNG");
        let f = of_ns(&b, "$files")[0];
        assert_eq!(f.attrs["path"], "posters/t2.png");
        assert!(
            !b.schema.entities.contains_key("$files"),
            "built-in attrs stripped"
        );
    }
    // Without the blob: the official restore's message.
    std::fs::remove_file(tmp.join(&format!("files/{loc}"))).unwrap();
    let e = backup::read(&tmp.0).unwrap_err();
    assert!(
        matches!(&e, BackupError::MissingFileBlob { location_id, .. } if location_id == loc),
        "{e}"
    );
    assert!(e
        .to_string()
        .contains("Backup is missing the file blob for a $files entity"));
    // A blob nobody refers to.
    std::fs::write(tmp.join(&format!("files/{loc}")), b"\x89PNG").unwrap();
    std::fs::write(tmp.join("files/99999999-2222-4333-8444-555555555555"), b"x").unwrap();
    let e = backup::read(&tmp.0).unwrap_err();
    assert!(matches!(e, BackupError::OrphanFileBlob { .. }), "{e}");
}

// ---- malformed archives -------------------------------------------------------

fn patch_config(dir: &TempDir, f: impl FnOnce(&mut Value)) {
    let p = dir.join("config.json");
    let mut c: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    f(&mut c);
    std::fs::write(&p, serde_json::to_vec(&c).unwrap()).unwrap();
}

fn edit_lines(dir: &TempDir, ns: &str, f: impl FnOnce(&mut Vec<String>)) {
    let p = dir.join(&format!("entities/{ns}.jsonl"));
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    f(&mut lines);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
}

/// A copy of a fixture folder, and the same as a zip; `check` runs on both.
fn both_forms(ds: &str, prepare: impl FnOnce(&TempDir), check: impl Fn(BackupError)) {
    let tmp = TempDir::new("bad");
    let dir = TempDir(tmp.join("folder"));
    copy_backup(&fixture(ds), &dir.0);
    prepare(&dir);
    let z = tmp.join("b.zip");
    zip_folder(&dir.0, &z);
    for p in [&dir.0, &z] {
        match backup::read(p) {
            Ok(_) => panic!("{} should not read", p.display()),
            Err(e) => check(e),
        }
    }
}

#[test]
fn bad_json_line_names_entry_and_line() {
    both_forms(
        "zeneca",
        |d| edit_lines(d, "books", |l| l[6] = "{\"entity\": {\"id\": ".into()),
        |e| {
            assert!(
                matches!(&e, BackupError::BadLine { entry, line: 7, .. } if entry == "entities/books.jsonl"),
                "{e:?}"
            );
            assert!(e.to_string().contains("entities/books.jsonl line 7"), "{e}");
        },
    );
    both_forms(
        "zeneca",
        |d| edit_lines(d, "users", |l| l[0] = "[1,2]".into()),
        |e| assert!(matches!(e, BackupError::BadLine { line: 1, .. }), "{e:?}"),
    );
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "person", |l| {
                l[2] = json!({"entity": {"name": "x"}, "createdAt": 1}).to_string()
            })
        },
        |e| {
            assert!(
                matches!(e, BackupError::BadLine { line: 3, ref reason, .. } if reason.contains("no `id`")),
                "{e:?}"
            )
        },
    );
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "person", |l| {
                l[0] = l[0].replace("\"createdAt\":", "\"createdAt\":\"yesterday\",\"x\":")
            })
        },
        |e| {
            assert!(
                matches!(e, BackupError::BadLine { line: 1, ref reason, .. } if reason.contains("createdAt")),
                "{e:?}"
            )
        },
    );
}

#[test]
fn missing_config_is_reported() {
    both_forms(
        "movies",
        |d| std::fs::remove_file(d.join("config.json")).unwrap(),
        |e| assert!(matches!(e, BackupError::MissingConfig), "{e:?}"),
    );
    both_forms(
        "movies",
        |d| std::fs::write(d.join("config.json"), "{\"counts\":").unwrap(),
        |e| assert!(matches!(e, BackupError::BadConfig(_)), "{e:?}"),
    );
    both_forms(
        "movies",
        |d| patch_config(d, |c| c["schema"] = Value::Null),
        |e| {
            assert!(
                matches!(&e, BackupError::BadConfig(m) if m.contains("schema")),
                "{e:?}"
            )
        },
    );
}

#[test]
fn entity_count_mismatch_is_reported() {
    both_forms(
        "zeneca",
        |d| {
            edit_lines(d, "books", |l| {
                l.pop();
            })
        },
        |e| {
            assert!(
                matches!(&e, BackupError::CountMismatch { namespace, expected: 392, found: 391, .. } if namespace == "books"),
                "{e:?}"
            );
        },
    );
    both_forms(
        "zeneca",
        |d| patch_config(d, |c| c["counts"]["authors"] = json!(3)),
        |e| {
            assert!(
                matches!(&e, BackupError::CountMismatch { namespace, expected: 3, found: 0, .. } if namespace == "authors"),
                "{e:?}"
            )
        },
    );
    both_forms(
        "zeneca",
        |d| patch_config(d, |c| c["tripleCount"] = json!(2641)),
        |e| {
            assert!(
                matches!(
                    e,
                    BackupError::TripleCountMismatch {
                        expected: 2641,
                        found: 2642
                    }
                ),
                "{e:?}"
            )
        },
    );
}

#[test]
fn counts_and_optional_keys_may_be_absent_in_old_configs() {
    let tmp = TempDir::new("old");
    copy_backup(&fixture("zeneca"), &tmp.0);
    patch_config(&tmp, |c| {
        let m = c.as_object_mut().unwrap();
        for k in [
            "counts",
            "tripleCount",
            "appId",
            "backupAt",
            "isn",
            "description",
            "authorizedRedirectOrigins",
        ] {
            m.remove(k);
        }
        m.insert("futureKey".into(), json!({"x": 1}));
    });
    let b = read_ok(&tmp.0);
    assert_eq!(b.app_id, None);
    assert_eq!(b.counts["books"], 392, "counts derived from the shards");
}

#[test]
fn unknown_namespace_and_unknown_attr_are_reported() {
    both_forms(
        "movies",
        |d| {
            std::fs::write(
                d.join("entities/studio.jsonl"),
                json!({"entity": {"id": Id::new()}, "createdAt": 1}).to_string() + "\n",
            )
            .unwrap()
        },
        |e| {
            assert!(
                matches!(&e, BackupError::UnknownNamespace { namespace, .. } if namespace == "studio"),
                "{e:?}"
            );
        },
    );
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "movie", |l| {
                l[4] = l[4].replacen("\"title\"", "\"rating\":5,\"title\"", 1)
            })
        },
        |e| {
            assert!(
                matches!(&e, BackupError::UnknownAttr { line: 5, key, .. } if key == "rating"),
                "{e:?}"
            );
            assert!(
                e.to_string().contains("Missing attr for movie.rating"),
                "{e}"
            );
        },
    );
}

#[test]
fn values_that_the_official_bulk_copy_rejects_are_reported() {
    // A number in a string attribute.
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "person", |l| {
                let mut v: Value = serde_json::from_str(&l[1]).unwrap();
                v["entity"]["name"] = json!(42);
                l[1] = v.to_string();
            })
        },
        |e| {
            assert!(
                matches!(&e, BackupError::BadValue { line: 2, key, .. } if key == "name"),
                "{e:?}"
            )
        },
    );
    // Unparseable date text.
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "person", |l| {
                let mut v: Value = serde_json::from_str(&l[0]).unwrap();
                v["entity"]["born"] = json!("the seventies");
                l[0] = v.to_string();
            })
        },
        |e| {
            assert!(
                matches!(&e, BackupError::BadValue { key, .. } if key == "born"),
                "{e:?}"
            )
        },
    );
    // A has-one link holding an array, a has-many link holding a non-id.
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "movie", |l| {
                let mut v: Value = serde_json::from_str(&l[0]).unwrap();
                let dir = v["entity"]["director"].clone();
                v["entity"]["director"] = json!([dir]);
                l[0] = v.to_string();
            })
        },
        |e| {
            assert!(
                matches!(&e, BackupError::BadValue { key, .. } if key == "director"),
                "{e:?}"
            )
        },
    );
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "movie", |l| {
                let mut v: Value = serde_json::from_str(&l[0]).unwrap();
                v["entity"]["cast"] = json!(["not-an-id"]);
                l[0] = v.to_string();
            })
        },
        |e| {
            assert!(
                matches!(&e, BackupError::BadValue { key, .. } if key == "cast"),
                "{e:?}"
            )
        },
    );
    // A unique value used twice (users.email is unique).
    both_forms(
        "zeneca",
        |d| {
            edit_lines(d, "users", |l| {
                let first: Value = serde_json::from_str(&l[0]).unwrap();
                let mut v: Value = serde_json::from_str(&l[1]).unwrap();
                v["entity"]["email"] = first["entity"]["email"].clone();
                l[1] = v.to_string();
            })
        },
        |e| {
            assert!(
                matches!(&e, BackupError::UniqueConflict { line: 2, key, .. } if key == "email"),
                "{e:?}"
            )
        },
    );
    // The same entity twice in one shard.
    both_forms(
        "zeneca",
        |d| edit_lines(d, "users", |l| l[1] = l[0].clone()),
        |e| {
            assert!(
                matches!(
                    e,
                    BackupError::DuplicateEntity { line: 2, .. }
                        | BackupError::UniqueConflict { line: 2, .. }
                ),
                "{e:?}"
            )
        },
    );
}

#[test]
fn truncated_or_foreign_files_are_not_a_backup_and_never_panic() {
    let tmp = TempDir::new("trunc");
    let zip = tmp.join("full.zip");
    zip_folder(&fixture("zeneca"), &zip);
    let bytes = std::fs::read(&zip).unwrap();
    // Cut at many points: every result is an error, never a panic.
    for cut in [
        0,
        1,
        4,
        22,
        100,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 30,
        bytes.len() - 1,
    ] {
        let p = tmp.join(&format!("cut-{cut}.zip"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let e = backup::read(&p).expect_err("truncated zip must not read");
        assert!(
            matches!(
                e,
                BackupError::NotABackup { .. } | BackupError::BadEntry { .. }
            ),
            "cut {cut}: {e:?}"
        );
    }
    // Corrupted deflate data in the middle (central directory intact).
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let p = tmp.join("corrupt.zip");
    std::fs::write(&p, &bad).unwrap();
    let e = backup::read(&p).expect_err("corrupt zip must not read");
    assert!(
        matches!(
            e,
            BackupError::BadEntry { .. }
                | BackupError::BadLine { .. }
                | BackupError::NotABackup { .. }
        ),
        "{e:?}"
    );

    let txt = tmp.join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    assert!(matches!(
        backup::read(&txt),
        Err(BackupError::NotABackup { .. })
    ));
    let empty = TempDir::new("empty");
    assert!(matches!(
        backup::read(&empty.0),
        Err(BackupError::NotABackup { .. })
    ));
    assert!(matches!(
        backup::read(&tmp.join("does-not-exist.zip")),
        Err(BackupError::Io { .. })
    ));
}

#[test]
fn system_namespace_lines_are_kept_and_split_with_the_catalog() {
    let tmp = TempDir::new("sys");
    copy_backup(&fixture("movies"), &tmp.0);
    let u1 = Id::new();
    let u2 = Id::new();
    let mut lines = [
        json!({"entity": {"id": u1, "email": "a@example.com", "type": "user"}, "createdAt": 5}),
        json!({"entity": {"id": u2, "type": "guest", "linkedPrimaryUser": u1}, "createdAt": 6}),
    ];
    lines.sort_by_key(|l| l["entity"]["id"].as_str().unwrap().to_string());
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(tmp.join("entities/$users.jsonl"), text).unwrap();
    patch_config(&tmp, |c| {
        c["counts"]["$users"] = json!(2);
        c["tripleCount"] = json!(301 + 6);
    });
    let b = read_ok(&tmp.0);
    let users = of_ns(&b, "$users");
    assert_eq!(users.len(), 2);
    let guest = users.iter().find(|e| e.id == u2).unwrap();
    let parts = guest.split(&b);
    assert_eq!(
        parts.attrs,
        json!({"type": "guest"}).as_object().unwrap().clone()
    );
    assert_eq!(parts.links.len(), 1);
    assert_eq!(parts.links[0].label, "linkedPrimaryUser");
    assert_eq!(parts.links[0].targets, [u1]);
    assert!(!b.schema.links.contains_key("$usersLinkedPrimaryUser"));
    assert!(!b.schema.entities.contains_key("$users"));
}

#[test]
fn several_content_problems_are_reported_together() {
    both_forms(
        "movies",
        |d| {
            edit_lines(d, "movie", |l| {
                let mut v: Value = serde_json::from_str(&l[2]).unwrap();
                v["entity"]["year"] = json!("nineteen");
                l[2] = v.to_string();
                l[7] = l[7].replacen("\"title\"", "\"rating\":5,\"title\"", 1);
            })
        },
        |e| {
            let BackupError::Problems(all) = &e else {
                panic!("expected Problems, got {e:?}");
            };
            assert_eq!(all.len(), 2, "{e}");
            assert!(
                matches!(&all[0], BackupError::BadValue { line: 3, key, .. } if key == "year"),
                "{e}"
            );
            assert!(
                matches!(&all[1], BackupError::UnknownAttr { line: 8, key, .. } if key == "rating"),
                "{e}"
            );
            assert!(
                e.to_string().starts_with("2 problems in the backup: "),
                "{e}"
            );
        },
    );
}
