//! Storage tests that need the crate's internals: the layout-1 migration,
//! `inferred-types` persistence, the in-memory background writer.

use std::time::Duration;

use serde_json::json;

use crate::engine::Engine;

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data.db");
    (dir, path)
}

/// The `todos` of app `app` (admin query).
fn todos(engine: &Engine, app: uuid::Uuid) -> serde_json::Value {
    let a = engine.app(app).expect("app");
    let r = engine.query(
        &a,
        &json!({"todos": {}}),
        false,
        true,
        &crate::engine::deadline::Deadline::none(),
    );
    r.expect("query").result["todos"].clone()
}

fn count(engine: &Engine, sql: &str) -> i64 {
    engine.db().query_row(sql, [], |r| r.get(0)).expect("count")
}

/// The first layout (blob app/attr ids in `triples`, SQLite `av`/`vae` indexes,
/// no `inferred_types`) is migrated on open with every triple kept.
#[test]
fn layout1_database_is_migrated() {
    let (_dir, path) = temp_db();
    let app = uuid::Uuid::new_v4();
    let (id_attr, title_attr) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let e = uuid::Uuid::new_v4();
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(
            r#"CREATE TABLE apps (id BLOB PRIMARY KEY, title TEXT NOT NULL, admin_token TEXT NOT NULL,
                 created_at INTEGER NOT NULL, ephemeral INTEGER NOT NULL DEFAULT 0, expires_at INTEGER,
                 rules TEXT, last_tx_id INTEGER NOT NULL DEFAULT 0);
               CREATE TABLE attrs (app_id BLOB NOT NULL, id BLOB NOT NULL, forward_ident BLOB NOT NULL,
                 forward_ns TEXT NOT NULL, forward_label TEXT NOT NULL, reverse_ident BLOB, reverse_ns TEXT,
                 reverse_label TEXT, value_type TEXT NOT NULL, cardinality TEXT NOT NULL,
                 is_unique INTEGER NOT NULL, is_indexed INTEGER NOT NULL, is_required INTEGER NOT NULL,
                 checked_data_type TEXT, on_delete TEXT, on_delete_reverse TEXT,
                 PRIMARY KEY (app_id, id)) WITHOUT ROWID;
               CREATE TABLE triples (app_id BLOB NOT NULL, entity_id BLOB NOT NULL, attr_id BLOB NOT NULL,
                 value TEXT NOT NULL, value_ref BLOB, av INTEGER NOT NULL DEFAULT 0,
                 created_at INTEGER NOT NULL, PRIMARY KEY (app_id, entity_id, attr_id, value)) WITHOUT ROWID;
               CREATE INDEX triples_av ON triples (app_id, attr_id, value) WHERE av = 1;
               CREATE INDEX triples_vae ON triples (app_id, value_ref, attr_id) WHERE value_ref IS NOT NULL;"#,
        )
        .expect("layout 1");
        let b = |u: &uuid::Uuid| u.as_bytes().to_vec();
        c.execute(
            "INSERT INTO apps (id, title, admin_token, created_at, last_tx_id) VALUES (?1, 'old', 'tok', 5, 7)",
            [b(&app)],
        )
        .expect("app");
        for (id, label, unique) in [(id_attr, "id", 1), (title_attr, "title", 0)] {
            c.execute(
                "INSERT INTO attrs VALUES (?1, ?2, ?3, 'todos', ?4, NULL, NULL, NULL, 'blob', 'one', ?5, 0, 0, NULL, NULL, NULL)",
                rusqlite::params![b(&app), b(&id), b(&uuid::Uuid::new_v4()), label, unique],
            )
            .expect("attr");
        }
        for (a, v) in [
            (id_attr, format!("\"{e}\"")),
            (title_attr, "\"migrated\"".into()),
        ] {
            c.execute(
                "INSERT INTO triples (app_id, entity_id, attr_id, value, created_at) VALUES (?1, ?2, ?3, ?4, 1000)",
                rusqlite::params![b(&app), b(&e), b(&a), v],
            )
            .expect("triple");
        }
    }
    let engine = Engine::open(Some(&path), Duration::from_secs(30)).expect("migrating open");
    let a = engine.app(app).expect("app kept");
    let r = todos(&engine, app);
    assert_eq!(r[0]["title"], "migrated");
    assert_eq!(r[0]["id"], e.to_string());
    assert_eq!(
        count(&engine, "PRAGMA user_version"),
        super::sqlite::LAYOUT_VERSION
    );
    let old_tables = count(
        &engine,
        "SELECT count(*) FROM sqlite_master WHERE name IN ('triples_layout1', 'triples_av', 'triples_vae')",
    );
    assert_eq!(old_tables, 0);
    // A write after the migration lands in the new table and survives a reopen.
    engine
        .transact(
            &a,
            &json!([["update", "todos", e.to_string(), {"title": "again"}]]),
            false,
        )
        .expect("tx");
    drop(a);
    drop(engine);
    let engine = Engine::open(Some(&path), Duration::from_secs(30)).expect("reopen");
    assert_eq!(todos(&engine, app)[0]["title"], "again");
}

/// A database of a newer layout is refused instead of misread.
#[test]
fn newer_layout_is_refused() {
    let (_dir, path) = temp_db();
    rusqlite::Connection::open(&path)
        .expect("open")
        .pragma_update(None, "user_version", 99)
        .expect("version");
    let err = Engine::open(Some(&path), Duration::from_secs(30)).expect_err("refused");
    assert!(err.to_string().contains("layout version 99"), "{err}");
}

/// `inferred-types` bits are stored with the attr, survive a restart, and a
/// rolled-back transaction leaves them as they were.
#[test]
fn inferred_types_persist_and_roll_back() {
    let (_dir, path) = temp_db();
    let engine = Engine::open(Some(&path), Duration::from_secs(30)).expect("open");
    let schema = instant_core::Schema::from_json(&json!({"entities": {"things": {"attrs": {
        "v": {"valueType": "any", "config": {"unique": false, "indexed": false}, "required": false},
        "code": {"valueType": "string", "config": {"unique": true, "indexed": true}, "required": false}
    }}}}))
    .expect("schema");
    let creds = engine
        .create_app("t", false, Some(&schema), None)
        .expect("app");
    let app = engine.app(creds.app_id.0).expect("app");
    let e = uuid::Uuid::new_v4().to_string();
    engine
        .transact(
            &app,
            &json!([["update", "things", e, {"v": 1, "code": "taken"}]]),
            false,
        )
        .expect("number");
    engine
        .transact(&app, &json!([["update", "things", e, {"v": "one"}]]), false)
        .expect("string");
    // Writes a boolean, then fails on the unique `code`: rolled back.
    let failed = engine.transact(
        &app,
        &json!([["update", "things", uuid::Uuid::new_v4().to_string(), {"v": true, "code": "taken"}]]),
        false,
    );
    let err = failed.expect_err("unique violation");
    assert!(err.message.contains("unique"), "{err:?}");
    let bits = |engine: &Engine| {
        let app = engine.app(creds.app_id.0).expect("app");
        let st = app.state.read();
        st.fwd_attr("things", "v").expect("attr").inferred
    };
    assert_eq!(bits(&engine), 1 | 2);
    drop(app);
    drop(engine);
    let engine = Engine::open(Some(&path), Duration::from_secs(30)).expect("reopen");
    assert_eq!(bits(&engine), 1 | 2);
}

/// With an in-memory database transactions reach SQLite through the background
/// writer, in order, and `flush` waits for them.
#[test]
fn memory_writer_writes_in_order() {
    let engine = Engine::open(None, Duration::from_secs(30)).expect("open");
    let creds = engine.create_app("t", false, None, None).expect("app");
    let app = engine.app(creds.app_id.0).expect("app");
    let e = uuid::Uuid::new_v4().to_string();
    for i in 0..50 {
        engine
            .transact(&app, &json!([["update", "things", e, {"n": i}], ["update", "things", uuid::Uuid::new_v4().to_string(), {"n": i}]]), false)
            .expect("tx");
    }
    engine.flush();
    // 51 entities: 51 id triples + 51 n triples; e's n is the last write.
    assert_eq!(count(&engine, "SELECT count(*) FROM triples"), 102);
    let last: String = engine
        .db()
        .query_row(
            "SELECT t.value FROM triples t JOIN attr_keys k ON k.key = t.attr_key
             WHERE t.entity_id = ?1 AND k.attr_id = ?2",
            rusqlite::params![
                uuid::Uuid::parse_str(&e).expect("uuid").as_bytes().to_vec(),
                app.state
                    .read()
                    .fwd_attr("things", "n")
                    .expect("n")
                    .id
                    .as_bytes()
                    .to_vec()
            ],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(last, "49");
    let tx: i64 = count(&engine, "SELECT last_tx_id FROM apps");
    assert_eq!(tx, app.meta.read().last_tx_id);
}
