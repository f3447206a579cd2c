//! `GET /admin/soft_deleted_attrs` (spec `admin-http.md` §8): attributes deleted
//! by `delete-attr` steps are listed with the grace period, in the official
//! server's shape (`server/src/instant/admin/routes.clj` soft-deleted-attrs-get,
//! `server/src/instant/db/model/attr.clj` soft-delete-multi! and
//! get-soft-deleted-by-app-id, `server/src/instant/hard_deletion_sweeper.clj`
//! grace-period-days), kept across a restart of a file database, and read by
//! `instant_client::Client::soft_deleted_attrs`.
mod common;
use common::env::*;
use common::fixtures::TempDir;
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// GET `/admin/soft_deleted_attrs` with `headers` (name, value).
async fn get(env: &Env, headers: &[(&str, String)]) -> (u16, Value) {
    let mut r = env
        .http
        .get(format!("{}/admin/soft_deleted_attrs", env.server.url()));
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

async fn list(env: &Env) -> Value {
    let (s, b) = get(
        env,
        &[
            ("app-id", env.app.app_id.to_string()),
            ("authorization", format!("Bearer {}", env.app.admin_token)),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b
}

/// Ids of (the `title` attr, the `todos.owner` link, the `todos` id attr) of
/// an app where `todos.title` is indexed and required-free and `todos.owner`
/// links to `users`.
async fn setup(env: &Env) -> (String, String, String) {
    let (title, link) = (id(), id());
    env.tx_ok(json!([
        ["add-attr", {"id": title, "forward-identity": [id(), "todos", "title"],
                      "value-type": "blob", "cardinality": "one", "unique?": false, "index?": true}],
        ["add-attr", {"id": link, "forward-identity": [id(), "todos", "owner"],
                      "reverse-identity": [id(), "users", "todos"],
                      "value-type": "ref", "cardinality": "one", "unique?": false, "index?": false}],
    ]))
    .await;
    env.tx_ok(json!([["update", "todos", id(), {"title": "a"}]]))
        .await;
    let id_attr = id_attr_of(env, "todos").await;
    (title, link, id_attr)
}

/// The id of the `id` attribute of namespace `ns` (from `GET /admin/schema`).
async fn id_attr_of(env: &Env, ns: &str) -> String {
    let r: Value = env
        .http
        .get(format!("{}/admin/schema", env.server.url()))
        .header("app-id", env.app.app_id.to_string())
        .header("authorization", format!("Bearer {}", env.app.admin_token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["schema"]["blobs"][ns]["id"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id attr for {ns}: {r}"))
        .to_string()
}

#[tokio::test]
async fn deleted_attrs_are_listed_with_the_grace_period() {
    let env = Env::new().await;
    assert_eq!(
        list(&env).await,
        json!({"attrs": [], "grace-period-days": 2})
    );
    let (title, link, id_attr) = setup(&env).await;
    env.tx_ok(json!([["delete-attr", title], ["delete-attr", link]]))
        .await;

    let body = list(&env).await;
    assert_eq!(body["grace-period-days"], 2);
    let attrs = body["attrs"].as_array().unwrap();
    assert_eq!(attrs.len(), 2, "{body}");
    // Ordered by attr id, like the official `ORDER BY id ASC`.
    let ids: Vec<&str> = attrs.iter().map(|a| a["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    let t = attrs.iter().find(|a| a["id"] == title.as_str()).unwrap();
    assert_eq!(t["forward-identity"][1], format!("{title}_deleted$todos"));
    assert_eq!(t["forward-identity"][2], format!("{title}_deleted$title"));
    assert_eq!(t["value-type"], "blob");
    assert_eq!(t["cardinality"], "one");
    // Soft-deleted attrs are neither indexed nor required; the snapshot keeps
    // what they were and the namespace's id attr.
    assert_eq!(t["index?"], false);
    assert_eq!(t["required?"], false);
    assert_eq!(t["catalog"], "user");
    let snap = &t["metadata"]["soft_delete_snapshot"];
    assert_eq!(snap["is_indexed"], true, "{t}");
    assert_eq!(snap["is_required"], false, "{t}");
    assert_eq!(snap["id_attr_id"], id_attr.as_str(), "{t}");
    let at = t["deletion-marked-at"].as_str().unwrap();
    assert_eq!(at.len(), 20, "{at}");
    assert!(at.ends_with('Z') && at.as_bytes()[10] == b'T', "{at}");

    let l = attrs.iter().find(|a| a["id"] == link.as_str()).unwrap();
    assert_eq!(l["value-type"], "ref");
    assert_eq!(l["forward-identity"][2], format!("{link}_deleted$owner"));
    assert_eq!(l["reverse-identity"][1], format!("{link}_deleted$users"));
    assert_eq!(l["reverse-identity"][2], format!("{link}_deleted$todos"));

    // The attrs are gone from the app.
    let q = env.query(json!({"todos": {}})).await;
    assert!(q["todos"][0].get("title").is_none(), "{q}");
}

#[tokio::test]
async fn a_rolled_back_delete_attr_is_not_listed() {
    let env = Env::new().await;
    let (title, _, _) = setup(&env).await;
    // The later step writes the attr the first one deleted: the whole
    // transaction fails and nothing is deleted.
    let (s, b) = env
        .transact(json!([
            ["delete-attr", title],
            ["add-triple", id(), title, "x"]
        ]))
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(list(&env).await["attrs"], json!([]));
}

// Same auth as the official `req->app-id-authed!`: the app's admin token
// (impersonation headers play no part).
#[tokio::test]
async fn the_admin_token_is_required() {
    let env = Env::new().await;
    let app = ("app-id", env.app.app_id.to_string());
    let (s, b) = get(&env, std::slice::from_ref(&app)).await;
    assert_eq!((s, b["type"].as_str()), (400, Some("param-missing")), "{b}");
    let (s, b) = get(
        &env,
        &[app.clone(), ("authorization", format!("Bearer {}", id()))],
    )
    .await;
    assert_eq!(
        (s, b["type"].as_str()),
        (400, Some("record-not-found")),
        "{b}"
    );
    let (s, b) = get(&env, &[app, ("as-guest", "true".into())]).await;
    assert_eq!(s, 400, "{b}");
}

#[tokio::test]
async fn soft_deleted_attrs_survive_a_restart() {
    let dir = TempDir::new("soft-deleted");
    let path = dir.join("db.sqlite");
    let server = instant_local::LocalServer::builder()
        .db_path(&path)
        .start()
        .await
        .unwrap();
    let app = server.create_app("restart").await.unwrap();
    let env = Env {
        server,
        app,
        http: reqwest::Client::new(),
    };
    let (title, _, _) = setup(&env).await;
    env.tx_ok(json!([["delete-attr", title]])).await;
    let before = list(&env).await;
    assert_eq!(before["attrs"].as_array().unwrap().len(), 1);
    let Env { server, app, http } = env;
    server.shutdown().await;

    let server = instant_local::LocalServer::builder()
        .db_path(&path)
        .start()
        .await
        .unwrap();
    let env = Env { server, app, http };
    assert_eq!(list(&env).await, before);
}

#[tokio::test]
async fn the_client_lists_soft_deleted_attrs() {
    let env = Env::new().await;
    let (title, _, _) = setup(&env).await;
    env.tx_ok(json!([["delete-attr", title]])).await;
    let db = instant_client::Client::builder()
        .app_id(env.app.app_id.to_string())
        .admin_token(env.app.admin_token.as_str())
        .api_uri(env.server.url())
        .build()
        .unwrap();
    let r = db.soft_deleted_attrs().await.unwrap();
    assert_eq!(r.grace_period_days, 2);
    assert_eq!(r.attrs.len(), 1);
    let a = &r.attrs[0];
    assert_eq!(a.attr.id.to_string(), title);
    assert_eq!((a.original_etype(), a.original_label()), ("todos", "title"));
    assert_eq!(a.flags_before_deletion(), Some((true, false)));
    assert!(a.deletion_marked_at.is_some());

    let wrong = instant_client::Client::builder()
        .app_id(env.app.app_id.to_string())
        .admin_token(id())
        .api_uri(env.server.url())
        .build()
        .unwrap();
    match wrong.soft_deleted_attrs().await {
        Err(instant_client::Error::Api(e)) => {
            assert_eq!(e.kind, instant_client::ErrorKind::RecordNotFound)
        }
        other => panic!("expected record-not-found, got {other:?}"),
    }
}
