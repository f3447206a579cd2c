//! The instant-client crate against the local server: auth, magic codes,
//! presence and the Platform API answer exactly what the client sends/expects.

use instant_client::{Client, CreateApp, Error, ErrorKind, PlatformApi, UserLookup};
use instant_core::{Id, Rules, Schema};
use instant_local::LocalServer;
use serde_json::json;

const PAT: &str = "per_client_e2e";

fn client(url: &str, app: &instant_local::AppCredentials) -> Client {
    Client::builder()
        .app_id(app.app_id.to_string())
        .admin_token(app.admin_token.as_str())
        .api_uri(url)
        .build()
        .expect("client")
}

fn api_kind(e: &Error) -> Option<ErrorKind> {
    match e {
        Error::Api(a) => Some(a.kind.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn client_auth_flow() {
    let server = LocalServer::builder().start().await.expect("start");
    let app = server.create_app("c").await.expect("app");
    let db = client(&server.url(), &app);
    let auth = db.auth();

    let token = auth.create_token("Joe@Example.com").await.expect("token");
    let user = auth.verify_token(token.expose()).await.expect("verify");
    assert_eq!(user.email.as_deref(), Some("joe@example.com"));
    assert!(!user.is_guest);
    let got = auth
        .get_user(UserLookup::email("joe@example.com"))
        .await
        .expect("get")
        .expect("some");
    assert_eq!(got.id, user.id);
    let by_token = auth
        .get_user(UserLookup::refresh_token(token.expose()))
        .await
        .expect("get")
        .expect("some");
    assert_eq!(by_token.id, user.id);
    assert!(auth
        .get_user(UserLookup::id(Id::new()))
        .await
        .expect("get")
        .is_none());

    auth.sign_out(UserLookup::id(user.id))
        .await
        .expect("sign out");
    let err = auth
        .verify_token(token.expose())
        .await
        .expect_err("revoked");
    assert_eq!(api_kind(&err), Some(ErrorKind::RecordNotFound));

    // Magic codes.
    let code = auth.send_magic_code("new@example.com").await.expect("send");
    assert_eq!(
        server.last_magic_code(app.app_id, "new@example.com"),
        Some(code.clone())
    );
    let err = auth
        .verify_magic_code("new@example.com", "000000x")
        .await
        .expect_err("wrong");
    assert_eq!(api_kind(&err), Some(ErrorKind::RecordNotFound));
    let signed = auth
        .verify_magic_code("new@example.com", &code)
        .await
        .expect("verify");
    assert_eq!(signed.user.email.as_deref(), Some("new@example.com"));
    assert!(signed.user.refresh_token.is_some());

    let deleted = auth
        .delete_user(UserLookup::email("new@example.com"))
        .await
        .expect("delete")
        .expect("was there");
    assert_eq!(deleted.id, signed.user.id);

    let presence = db
        .rooms()
        .get_presence("chat", "room-1")
        .await
        .expect("presence");
    assert!(presence.is_empty());
}

#[tokio::test]
async fn client_platform_flow() {
    let server = LocalServer::builder()
        .platform_token(PAT)
        .start()
        .await
        .expect("start");
    let api = PlatformApi::builder()
        .token(PAT)
        .api_uri(server.url())
        .build()
        .expect("api");
    let schema = Schema::from_json(&json!({
        "entities": {"goals": {"attrs": {"title": {"valueType": "string", "config": {"indexed": false, "unique": false}, "required": false}}}},
        "links": {}
    }))
    .expect("schema");
    let perms = Rules::from_json(&json!({"goals": {"allow": {"view": "true"}}})).expect("rules");
    let created = api
        .create_app(&CreateApp {
            title: "plat".into(),
            schema: Some(schema),
            perms: Some(perms.clone()),
            org_id: None,
        })
        .await
        .expect("create");
    assert!(created.admin_token.is_some());
    let apps = api.list_apps(true, true).await.expect("list");
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].id, created.id);
    let renamed = api.rename_app(created.id, "plat2").await.expect("rename");
    assert_eq!(renamed.title, "plat2");
    assert_eq!(api.get_app(created.id).await.expect("get").title, "plat2");
    let pulled = api
        .pull_perms(created.id)
        .await
        .expect("perms")
        .expect("some");
    assert_eq!(pulled.to_json(), perms.to_json());
    let pulled_schema = api.pull_schema(created.id).await.expect("pull");
    assert!(pulled_schema.entities.contains_key("goals"));

    let next = Schema::from_json(&json!({
        "entities": {"goals": {"attrs": {
            "title": {"valueType": "string", "config": {"indexed": true, "unique": false}, "required": false},
            "done": {"valueType": "boolean", "config": {"indexed": false, "unique": false}, "required": false}
        }}},
        "links": {}
    }))
    .expect("schema");
    let plan = api.plan_schema_push(created.id, &next).await.expect("plan");
    assert!(!plan.steps.is_empty());
    let pushed = api
        .push_schema(created.id, &next, |_| {})
        .await
        .expect("push");
    assert!(pushed
        .jobs
        .iter()
        .all(|j| j.job_status.as_deref() == Some("completed")));
    let goals = &pushed.schema.entities["goals"];
    assert!(goals.attrs.contains_key("done"));
    assert!(goals.attrs["title"].indexed);

    api.delete_app(created.id).await.expect("delete");
    assert!(api.list_apps(false, false).await.expect("list").is_empty());
    let bad = PlatformApi::builder()
        .token("per_nope")
        .api_uri(server.url())
        .build()
        .expect("api");
    let err = bad
        .list_apps(false, false)
        .await
        .expect_err("unknown token");
    assert_eq!(api_kind(&err), Some(ErrorKind::RecordNotFound));
}
