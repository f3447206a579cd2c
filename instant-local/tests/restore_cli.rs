//! `instant-local restore --db PATH --title T BACKUP` (the binary) and restoring
//! into a file database: the restored app survives a restart.

mod common;

use std::process::Command;

use common::data;
use common::fixtures::{zip_folder, TempDir};
use common::server::{result_ids, App};
use instant_local::{AppCredentials, LocalServer};
use serde_json::json;

#[tokio::test]
async fn cli_restore_prints_credentials_and_the_app_persists() {
    let tmp = TempDir::new("cli-restore");
    let db = tmp.join("local.db");
    let zip = tmp.join("instant-backup-2026-08-21T03-00-00-482Z.zip");
    zip_folder(&data::dataset_dir("zeneca").join("backup"), &zip);
    let out = Command::new(env!("CARGO_BIN_EXE_instant-local"))
        .args(["restore", "--db"])
        .arg(&db)
        .args(["--title", "zeneca (Restored)"])
        .arg(&zip)
        .output()
        .expect("run instant-local restore");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: AppCredentials =
        serde_json::from_slice(&out.stdout).expect("credentials JSON on stdout");

    // A broken backup: non-zero exit, message on stderr naming the problem.
    let bad = tmp.join("bad.zip");
    std::fs::write(&bad, b"not a zip").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_instant-local"))
        .args(["restore", "--db"])
        .arg(&db)
        .args(["--title", "bad"])
        .arg(&bad)
        .output()
        .expect("run instant-local restore");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an Instant backup"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Open the same database in-process: the restored app is there.
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("start on file db");
    let app = App::at(&server.url(), &creds);
    let r = app
        .query_ok(json!({"users": {}, "bookshelves": {}, "books": {}}))
        .await;
    assert_eq!(r["users"].as_array().unwrap().len(), 4);
    assert_eq!(r["bookshelves"].as_array().unwrap().len(), 45);
    assert_eq!(r["books"].as_array().unwrap().len(), 392);
    server.shutdown().await;

    // Restore in-process into the file database too, then restart.
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("start");
    let movies = server
        .restore("movies", data::dataset_dir("movies").join("backup"))
        .await
        .expect("restore movies");
    server.shutdown().await;
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("restart");
    let app = App::at(&server.url(), &movies);
    let r = app.query_ok(json!({"movie": {"$": {"limit": 3}}})).await;
    let created = data::created_at("movies");
    let mut order = data::ids(&data::entities("movies", "movie"));
    order.sort_by(|a, b| created[a].cmp(&created[b]).then_with(|| a.cmp(b)));
    assert_eq!(result_ids(&r["movie"]), order[..3]);
    server.shutdown().await;
}
