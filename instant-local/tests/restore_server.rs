//! `LocalServer::restore` with the Instant backup fixtures: the restored app answers
//! queries exactly like the source data (ids, values, links, schema flags, and each
//! entity's `createdAt`, which drives default order and cursors).
//!
//! Spec: backup-format.md §5 (what the official restore keeps), semantics.md §4.

mod common;

use std::collections::BTreeMap;

use common::data;
use common::fixtures::{copy_backup, zip_folder, TempDir};
use common::server::{id_set, result_ids, without_nulls, App};
use instant_local::LocalServer;
use serde_json::{json, Value};

fn fixture(ds: &str) -> std::path::PathBuf {
    data::dataset_dir(ds).join("backup")
}

/// Ids of `ns` in default order: createdAt (created_at.json) then id.
fn created_order(ds: &str, ns: &str) -> Vec<String> {
    let created = data::created_at(ds);
    let mut ids = data::ids(&data::entities(ds, ns));
    ids.sort_by(|a, b| created[a].cmp(&created[b]).then_with(|| a.cmp(b)));
    ids
}

#[tokio::test]
async fn restored_zeneca_matches_the_dataset() {
    let server = LocalServer::builder().start().await.expect("start");
    let creds = server
        .restore("zeneca restored", fixture("zeneca"))
        .await
        .expect("restore zeneca");
    let app = App::at(&server.url(), &creds);
    let r = app
        .query_ok(json!({"users": {}, "bookshelves": {"books": {}}, "books": {}}))
        .await;
    for (ns, n) in [("users", 4), ("bookshelves", 45), ("books", 392)] {
        assert_eq!(r[ns].as_array().unwrap().len(), n, "{ns}");
        let rows = data::entities("zeneca", ns);
        let by_id: BTreeMap<String, _> = rows
            .iter()
            .map(|o| (o["id"].as_str().unwrap().to_string(), o.clone()))
            .collect();
        for e in r[ns].as_array().unwrap() {
            let mut got = without_nulls(e);
            got.remove("books");
            assert_eq!(
                Some(&got),
                by_id.get(e["id"].as_str().unwrap()),
                "{ns} values"
            );
        }
        // Default order = the backup's createdAt, then id.
        assert_eq!(
            result_ids(&r[ns]),
            created_order("zeneca", ns),
            "{ns} default order"
        );
    }
    let pairs = data::link_pairs("zeneca", "bookshelvesBooks");
    let mut n = 0;
    for s in r["bookshelves"].as_array().unwrap() {
        let sid = s["id"].as_str().unwrap();
        let exp: Vec<String> = pairs
            .iter()
            .filter(|(a, _)| a == sid)
            .map(|(_, b)| b.clone())
            .collect();
        n += exp.len();
        assert_eq!(id_set(&s["books"]), exp);
    }
    assert_eq!(n, 446);
    // The schema came back typed and indexed: comparisons and ordering work.
    let r = app.query_ok(json!({"books": {"$": {"where": {"pageCount": {"$gt": 900}}, "order": {"pageCount": "asc"}}}})).await;
    assert_eq!(r["books"].as_array().unwrap().len(), 3);
    // Cascade settings came back: deleting a prequel target deletes its sequel.
    let (p, s) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    app.tx_ok(json!([["update", "books", p, {"title": "P"}], ["update", "books", s, {"title": "S"}], ["link", "books", s, {"prequel": p}]])).await;
    app.tx_ok(json!([["delete", "books", p]])).await;
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"id": s}}}}))
        .await;
    assert_eq!(r["books"], json!([]));
    server.shutdown().await;
}

#[tokio::test]
async fn restored_created_at_drives_cursors() {
    let server = LocalServer::builder().start().await.expect("start");
    let creds = server
        .restore("movies", fixture("movies"))
        .await
        .expect("restore movies");
    let app = App::at(&server.url(), &creds);
    let created = data::created_at("movies");
    let ev = app
        .subscribe_first(json!({"movie": {"$": {"limit": 5}}}), false)
        .await;
    assert_eq!(ev["op"], "add-query-ok", "{ev}");
    let order = created_order("movies", "movie");
    assert_eq!(result_ids(&ev["result"]["movie"]), order[..5]);
    let end = &ev["result-meta"]["page-info"]["movie"]["end-cursor"];
    assert_eq!(end[0], order[4].as_str());
    assert_eq!(
        end[3],
        json!(created[&order[4]]),
        "cursor carries the backup's createdAt"
    );
    let r = app
        .query_ok(json!({"movie": {"$": {"after": end, "first": 5}}}))
        .await;
    assert_eq!(result_ids(&r["movie"]), order[5..10]);
    server.shutdown().await;
}

#[tokio::test]
async fn restored_movies_zip_keeps_has_one_links_and_types() {
    let tmp = TempDir::new("restore-zip");
    let zip = tmp.join("instant-backup-2026-08-21T17-42-05-913784Z.zip");
    zip_folder(&fixture("movies"), &zip);
    let server = LocalServer::builder().start().await.expect("start");
    let creds = server
        .restore("movies", &zip)
        .await
        .expect("restore movies zip");
    let app = App::at(&server.url(), &creds);
    let r = app
        .query_inf(json!({"movie": {"director": {}, "sequel": {}}}), true)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let director: BTreeMap<String, String> = data::link_pairs("movies", "movieDirector")
        .into_iter()
        .collect();
    let sequel: BTreeMap<String, String> = data::link_pairs("movies", "movieSequel")
        .into_iter()
        .collect();
    for m in r.body["movie"].as_array().unwrap() {
        let mid = m["id"].as_str().unwrap();
        assert_eq!(m["director"]["id"], director[mid].as_str());
        match sequel.get(mid) {
            Some(s) => assert_eq!(m["sequel"]["id"], s.as_str()),
            None => assert_eq!(m["sequel"], Value::Null),
        }
    }
    let movies = data::entities("movies", "movie");
    let mut exp: Vec<(i64, String)> = movies
        .iter()
        .map(|m| {
            (
                m["year"].as_i64().unwrap(),
                m["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    exp.sort();
    let r = app
        .query_ok(json!({"movie": {"$": {"order": {"year": "asc"}}}}))
        .await;
    assert_eq!(
        result_ids(&r["movie"]),
        exp.into_iter().map(|(_, i)| i).collect::<Vec<_>>()
    );
    // A typed attr rejects wrong types after restore.
    app.transact(json!([["update", "movie", uuid::Uuid::new_v4().to_string(), {"year": "1999"}]]), false)
        .await
        .assert_error(
            "validation-failed",
            "Invalid value type for movie.year. Value must be a number but the provided value type is string.",
        );
    server.shutdown().await;
}

#[tokio::test]
async fn restored_system_users_are_queryable() {
    let tmp = TempDir::new("restore-users");
    copy_backup(&fixture("movies"), &tmp.0);
    let (u1, u2) = (
        "0a000000-0000-4000-8000-000000000001",
        "0a000000-0000-4000-8000-000000000002",
    );
    let lines = [
        json!({"entity": {"id": u1, "email": "a@example.com", "type": "user"}, "createdAt": 1755000000000i64}),
        json!({"entity": {"id": u2, "type": "guest", "linkedPrimaryUser": u1}, "createdAt": 1755000001000i64}),
    ];
    std::fs::write(
        tmp.join("entities/$users.jsonl"),
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let cfg_path = tmp.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["counts"]["$users"] = json!(2);
    cfg["tripleCount"] = json!(301 + 6);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();

    let server = LocalServer::builder().start().await.expect("start");
    let creds = server.restore("with users", &tmp.0).await.expect("restore");
    let app = App::at(&server.url(), &creds);
    let r = app
        .query_ok(json!({"$users": {"linkedPrimaryUser": {}}}))
        .await;
    assert_eq!(result_ids(&r["$users"]), [u1, u2]);
    let guest = &r["$users"][1];
    assert_eq!(guest["type"], "guest");
    assert_eq!(result_ids(&guest["linkedPrimaryUser"]), [u1]);
    let r = app
        .query_ok(json!({"$users": {"$": {"where": {"email": "a@example.com"}}}}))
        .await;
    assert_eq!(result_ids(&r["$users"]), [u1]);
    server.shutdown().await;
}

#[tokio::test]
async fn broken_backups_are_refused() {
    let server = LocalServer::builder().start().await.expect("start");
    let tmp = TempDir::new("restore-bad");
    copy_backup(&fixture("zeneca"), &tmp.0);
    std::fs::write(tmp.join("entities/books.jsonl"), "{\"entity\":\n").unwrap();
    let e = server
        .restore("bad", &tmp.0)
        .await
        .expect_err("bad JSON line");
    assert!(matches!(e, instant_local::LocalError::Backup(_)), "{e:?}");
    assert!(e.to_string().contains("entities/books.jsonl line 1"), "{e}");
    let e = server
        .restore("missing", tmp.join("nope.zip"))
        .await
        .expect_err("no such file");
    assert!(matches!(e, instant_local::LocalError::Backup(_)), "{e:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn restored_files_entities_are_queryable() {
    let tmp = TempDir::new("restore-files");
    copy_backup(&fixture("movies"), &tmp.0);
    let fid = "0b000000-0000-4000-8000-000000000001";
    let loc = "11111111-2222-4333-8444-555555555555";
    let line = json!({"entity": {"id": fid, "path": "posters/t2.png", "size": 4,
        "content-type": "image/png", "content-disposition": "inline",
        "location-id": loc, "key-version": 1}, "createdAt": 1755000000000i64});
    std::fs::write(tmp.join("entities/$files.jsonl"), format!("{line}\n")).unwrap();
    std::fs::create_dir_all(tmp.join("files")).unwrap();
    std::fs::write(tmp.join(&format!("files/{loc}")), b"\x89PNG").unwrap();
    let cfg_path = tmp.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["counts"]["$files"] = json!(1);
    cfg["tripleCount"] = json!(301 + 7);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let zip = tmp.join("b.zip");
    zip_folder(&tmp.0, &zip);

    let server = LocalServer::builder().start().await.expect("start");
    let creds = server
        .restore("files", &zip)
        .await
        .expect("restore with $files");
    let app = App::at(&server.url(), &creds);
    let r = app
        .query_ok(json!({"$files": {"$": {"where": {"path": "posters/t2.png"}}}}))
        .await;
    assert_eq!(result_ids(&r["$files"]), [fid]);
    let f = &r["$files"][0];
    assert_eq!(f["size"], 4);
    assert_eq!(f["content-type"], "image/png");
    server.shutdown().await;
}
