//! The `instant-local` binary: `create-app` and `restore` print credentials JSON,
//! `serve` prints its base URL and serves the apps of the same database file.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_instant-local")
}

fn temp_db() -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("instant-local-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    (dir.join("cli.db"), dir)
}

fn backup_fixture() -> Option<std::path::PathBuf> {
    let mut dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared/data/movies/backup");
        if cand.join("config.json").exists() {
            return Some(cand);
        }
        if !dir.pop() {
            return None;
        }
    }
}

#[tokio::test]
async fn create_app_restore_then_serve() {
    let (db, dir) = temp_db();
    let out = Command::new(bin())
        .args(["create-app", "--db"])
        .arg(&db)
        .args(["--title", "cli app"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(creds["app_id"].is_string() && creds["admin_token"].is_string());

    let restored = backup_fixture().map(|b| {
        let out = Command::new(bin())
            .args(["restore", "--db"])
            .arg(&db)
            .args(["--title", "movies"])
            .arg(b)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    });
    // A broken backup path fails with a message and a non-zero status.
    let out = Command::new(bin())
        .args(["restore", "--db"])
        .arg(&db)
        .args(["--title", "x", "/nonexistent/backup.zip"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!out.stderr.is_empty());

    let mut child = Command::new(bin())
        .args(["serve", "--port", "0", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let http = reqwest::Client::new();
    let q = |app: &Value, query: Value| {
        http.post(format!("{url}/admin/query"))
            .header("app-id", app["app_id"].as_str().unwrap())
            .header(
                "authorization",
                format!("Bearer {}", app["admin_token"].as_str().unwrap()),
            )
            .json(&json!({ "query": query }))
            .send()
    };
    let r = q(&creds, json!({"x": {}})).await.unwrap();
    assert_eq!(r.status(), 200);
    if let Some(m) = restored {
        let r: Value = q(&m, json!({"movie": {}}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["movie"].as_array().unwrap().len(), 20);
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
}
