//! Platform API (spec `schema-and-platform.md` Part E): apps, schema pull, perms.

use instant_local::LocalServer;
use reqwest::Method;
use serde_json::{json, Value};

const PAT: &str = "per_local_test_token";

struct Env {
    server: LocalServer,
    http: reqwest::Client,
}

impl Env {
    async fn new() -> Env {
        let server = LocalServer::builder()
            .platform_token(PAT)
            .start()
            .await
            .expect("start");
        Env {
            server,
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        m: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .http
            .request(m, format!("{}{}", self.server.url(), path));
        if let Some(t) = token {
            rb = rb.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("send");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn create_list_get_rename_delete() {
    let env = Env::new().await;
    let schema = json!({
        "entities": {"goals": {"attrs": {"title": {"valueType": "string", "config": {"indexed": true, "unique": false}, "required": true}}}},
        "links": {}
    });
    let perms = json!({"goals": {"allow": {"view": "true", "create": "auth.id != null"}}});
    let (s, b) = env
        .call(
            Method::POST,
            "/superadmin/apps",
            Some(PAT),
            Some(json!({"title": "p1", "schema": schema, "perms": perms})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let app = &b["app"];
    let id = app["id"].as_str().expect("id").to_string();
    let admin = app["admin-token"].as_str().expect("token").to_string();
    assert_eq!(app["title"], json!("p1"));
    assert_eq!(app["perms"], perms);
    assert!(
        app["schema"]["blobs"]["goals"]["title"].is_object(),
        "{app}"
    );
    assert_eq!(
        app["schema"]["blobs"]["goals"]["title"]["index?"],
        json!(true)
    );
    assert!(app["schema"]["blobs"]["$users"]["email"].is_object());

    // The new app's admin token works on the admin API.
    let r = env
        .http
        .post(format!("{}/admin/query?app_id={id}", env.server.url()))
        .bearer_auth(&admin)
        .json(&json!({"query": {"goals": {}}}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);

    let (s, b) = env
        .call(
            Method::GET,
            "/superadmin/apps?include=perms,schema",
            Some(PAT),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let apps = b["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["perms"], perms);
    assert!(apps[0]["schema"]["blobs"]["goals"].is_object());
    let (_, b) = env
        .call(Method::GET, "/superadmin/apps", Some(PAT), None)
        .await;
    assert!(b["apps"][0].get("perms").is_none());

    for t in [PAT, admin.as_str()] {
        let (s, b) = env
            .call(
                Method::GET,
                &format!("/superadmin/apps/{id}"),
                Some(t),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["app"]["id"], json!(id));
    }
    let (s, b) = env
        .call(
            Method::POST,
            &format!("/superadmin/apps/{id}"),
            Some(&admin),
            Some(json!({"title": "renamed"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["app"]["title"], json!("renamed"));
    let (_, b) = env
        .call(
            Method::GET,
            &format!("/superadmin/apps/{id}"),
            Some(PAT),
            None,
        )
        .await;
    assert_eq!(b["app"]["title"], json!("renamed"));

    // The admin token cannot delete; the personal token can.
    let (s, b) = env
        .call(
            Method::DELETE,
            &format!("/superadmin/apps/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["hint"]["record-type"], json!("instant-user"));
    let (s, b) = env
        .call(
            Method::DELETE,
            &format!("/superadmin/apps/{id}"),
            Some(PAT),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["app"]["id"], json!(id));
    let (s, b) = env
        .call(
            Method::GET,
            &format!("/superadmin/apps/{id}"),
            Some(PAT),
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("record-not-found"));
    let (_, b) = env
        .call(Method::GET, "/superadmin/apps", Some(PAT), None)
        .await;
    assert_eq!(b["apps"], json!([]));
}

#[tokio::test]
async fn auth_errors() {
    let env = Env::new().await;
    let a = env.server.create_app("a").await.expect("a");
    let b_app = env.server.create_app("b").await.expect("b");
    // Unknown personal token.
    let (s, b) = env
        .call(Method::GET, "/superadmin/apps", Some("per_wrong"), None)
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("record-not-found"));
    assert_eq!(b["hint"]["record-type"], json!("instant-user"));
    // No token.
    let (s, b) = env.call(Method::GET, "/superadmin/apps", None, None).await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("param-missing"));
    // Admin token: not for list/create.
    let (s, _) = env
        .call(Method::GET, "/superadmin/apps", Some(&a.admin_token), None)
        .await;
    assert_eq!(s, 400);
    let (s, _) = env
        .call(
            Method::POST,
            "/superadmin/apps",
            Some(&a.admin_token),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(s, 400);
    // Admin token of another app.
    for path in ["", "/schema", "/perms"] {
        let (s, b) = env
            .call(
                Method::GET,
                &format!("/superadmin/apps/{}{path}", b_app.app_id),
                Some(&a.admin_token),
                None,
            )
            .await;
        assert_eq!(s, 400, "{path}");
        assert_eq!(b["type"], json!("validation-failed"));
        assert_eq!(b["hint"]["reason"], json!("admin-token-mismatch"));
    }
    // Bad bodies.
    let (s, b) = env
        .call(Method::POST, "/superadmin/apps", Some(PAT), Some(json!({})))
        .await;
    assert_eq!((s, b["type"].clone()), (400, json!("param-missing")));
    let (s, b) = env
        .call(
            Method::POST,
            "/superadmin/apps",
            Some(PAT),
            Some(json!({"title": "x", "perms": {"goals": {"allow": {"view": "1 +"}}}})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("validation-failed"));
    assert_eq!(b["hint"]["data-type"], json!("perms"));
    // The failed create left no app behind.
    let (_, l) = env
        .call(Method::GET, "/superadmin/apps", Some(PAT), None)
        .await;
    assert_eq!(l["apps"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn perms_pull_and_push() {
    let env = Env::new().await;
    let a = env.server.create_app("a").await.expect("a");
    let base = format!("/superadmin/apps/{}/perms", a.app_id);
    let (s, b) = env
        .call(Method::GET, &base, Some(&a.admin_token), None)
        .await;
    assert_eq!((s, b), (200, json!({"perms": null})));
    let rules = json!({"todos": {"allow": {"view": "auth.id == data.owner"}}});
    let (s, b) = env
        .call(
            Method::POST,
            &base,
            Some(PAT),
            Some(json!({ "code": rules })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["rules"]["code"], rules);
    assert_eq!(b["rules"]["app_id"], json!(a.app_id.to_string()));
    let (_, b) = env.call(Method::GET, &base, Some(PAT), None).await;
    assert_eq!(b["perms"], rules);
    // Invalid rules are refused and the stored ones stay.
    let (s, b) = env
        .call(
            Method::POST,
            &base,
            Some(&a.admin_token),
            Some(json!({"code": {"todos": {"allow": {"view": "data.("}}}})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], json!("validation-failed"));
    let (_, b) = env.call(Method::GET, &base, Some(PAT), None).await;
    assert_eq!(b["perms"], rules);
    let (s, b) = env
        .call(Method::POST, &base, Some(PAT), Some(json!({})))
        .await;
    assert_eq!((s, b["type"].clone()), (400, json!("param-missing")));
}

#[tokio::test]
async fn schema_pull_reflects_data() {
    let env = Env::new().await;
    let a = env.server.create_app("a").await.expect("a");
    let r = env
        .http
        .post(format!("{}/admin/transact?app_id={}", env.server.url(), a.app_id))
        .bearer_auth(&a.admin_token)
        .json(&json!({"steps": [
            ["add-attr", {"id": uuid::Uuid::new_v4().to_string(), "forward-identity": [uuid::Uuid::new_v4().to_string(), "posts", "author"], "reverse-identity": [uuid::Uuid::new_v4().to_string(), "profiles", "posts"], "value-type": "ref", "cardinality": "one", "unique?": false, "index?": false}],
            ["update", "posts", uuid::Uuid::new_v4().to_string(), {"title": "hi"}]
        ]}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (s, b) = env
        .call(
            Method::GET,
            &format!("/superadmin/apps/{}/schema", a.app_id),
            Some(PAT),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let blobs = &b["schema"]["blobs"];
    assert!(blobs["posts"]["title"].is_object(), "{b}");
    assert!(blobs["posts"]["id"].is_object());
    assert!(blobs["$files"].get("size").is_none());
    assert_eq!(blobs["$files"]["url"]["required?"], json!(true));
    let refs = b["schema"]["refs"].as_object().expect("refs");
    let link = refs
        .get(r#"["posts" "author" "profiles" "posts"]"#)
        .expect("ref key");
    assert_eq!(link["value-type"], json!("ref"));
}

fn goals_schema(title_cfg: Value, required: bool, extra: Value) -> Value {
    let mut attrs =
        json!({"title": {"valueType": "string", "config": title_cfg, "required": required}});
    if let (Some(a), Value::Object(x)) = (attrs.as_object_mut(), extra) {
        a.extend(x);
    }
    json!({"entities": {"goals": {"attrs": attrs}}, "links": {}})
}

#[tokio::test]
async fn schema_push_plan_apply_and_jobs() {
    let env = Env::new().await;
    let (s, b) = env
        .call(
            Method::POST,
            "/superadmin/apps",
            Some(PAT),
            Some(json!({"title": "sp", "schema": goals_schema(json!({"indexed": false, "unique": false}), false, json!({}))})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let id = b["app"]["id"].as_str().expect("id").to_string();
    let admin = b["app"]["admin-token"].as_str().expect("t").to_string();
    let tx = |steps: Value| {
        let env = &env;
        let id = id.clone();
        let admin = admin.clone();
        async move {
            let r = env
                .http
                .post(format!("{}/admin/transact?app_id={id}", env.server.url()))
                .bearer_auth(&admin)
                .json(&json!({ "steps": steps }))
                .send()
                .await
                .expect("send");
            r.status().as_u16()
        }
    };
    let (g1, g2, g3) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    assert_eq!(
        tx(json!([
            ["update", "goals", g1.to_string(), {"title": "same", "n": 1}],
            ["update", "goals", g2.to_string(), {"title": "same", "n": "two"}],
            ["update", "goals", g3.to_string(), {"n": 3}]
        ]))
        .await,
        200
    );
    let new_schema = goals_schema(
        json!({"indexed": true, "unique": true}),
        true,
        json!({"n": {"valueType": "number", "config": {"indexed": false, "unique": false}, "required": false},
               "done": {"valueType": "boolean", "config": {"indexed": false, "unique": false}, "required": false}}),
    );
    let body =
        json!({"schema": new_schema, "check_types": true, "supports_background_updates": true});
    let (s, plan) = env
        .call(
            Method::POST,
            &format!("/superadmin/apps/{id}/schema/push/plan"),
            Some(&admin),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 200, "{plan}");
    let ops: Vec<&str> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s[0].as_str())
        .collect();
    for op in ["add-attr", "index", "unique", "required", "check-data-type"] {
        assert!(ops.contains(&op), "{op} in {ops:?}");
    }
    assert!(plan["current-schema"]["blobs"]["goals"]["done"].is_null());
    assert!(plan["new-schema"]["blobs"]["goals"]["done"].is_object());
    // Plan changed nothing.
    let (_, pulled) = env
        .call(
            Method::GET,
            &format!("/superadmin/apps/{id}/schema"),
            Some(PAT),
            None,
        )
        .await;
    assert!(pulled["schema"]["blobs"]["goals"]["done"].is_null());

    let (s, applied) = env
        .call(
            Method::POST,
            &format!("/superadmin/apps/{id}/schema/push/apply"),
            Some(PAT),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 200, "{applied}");
    assert!(applied["transaction"]["id"].is_number(), "{applied}");
    let group = applied["indexing-jobs"]["group-id"]
        .as_str()
        .expect("group")
        .to_string();
    let (s, jobs) = env
        .call(
            Method::GET,
            &format!("/dash/apps/{id}/indexing-jobs/group/{group}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{jobs}");
    let by_type = |t: &str| -> Value {
        jobs["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|j| j["job_type"] == json!(t))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_type("index")["job_status"], json!("completed"));
    assert_eq!(by_type("unique")["job_status"], json!("errored"));
    assert_eq!(by_type("unique")["error"], json!("triple-not-unique-error"));
    assert_eq!(by_type("unique")["invalid_unique_value"], json!("same"));
    assert_eq!(
        by_type("required")["error"],
        json!("missing-required-error")
    );
    assert_eq!(
        by_type("check-data-type")["error"],
        json!("invalid-triple-error")
    );
    assert_eq!(by_type("check-data-type")["attr_name"], json!("goals.n"));
    // Every step that became a job carries its job id.
    for step in applied["steps"].as_array().expect("steps") {
        if step[0] != json!("add-attr") {
            assert!(step[1]["job-id"].is_string(), "{step}");
        }
    }
    let (_, pulled) = env
        .call(
            Method::GET,
            &format!("/superadmin/apps/{id}/schema"),
            Some(PAT),
            None,
        )
        .await;
    let title = &pulled["schema"]["blobs"]["goals"]["title"];
    assert_eq!(title["index?"], json!(true));
    assert_eq!(title["unique?"], json!(false));
    assert_eq!(title["required?"], json!(false));
    assert!(pulled["schema"]["blobs"]["goals"]["done"].is_object());

    // Fix the data; the unique job then completes and is enforced.
    assert_eq!(
        tx(json!([
            ["update", "goals", g2.to_string(), {"title": "other", "n": 2}],
            ["update", "goals", g3.to_string(), {"title": "third"}]
        ]))
        .await,
        200
    );
    let (s, applied) = env
        .call(
            Method::POST,
            &format!("/superadmin/apps/{id}/schema/push/apply"),
            Some(PAT),
            Some(body),
        )
        .await;
    assert_eq!(s, 200, "{applied}");
    let jobs = applied["indexing-jobs"]["jobs"].as_array().expect("jobs");
    assert!(!jobs.is_empty());
    assert!(
        jobs.iter().all(|j| j["job_status"] == json!("completed")),
        "{applied}"
    );
    assert_eq!(
        tx(json!([["update", "goals", uuid::Uuid::new_v4().to_string(), {"title": "other"}]]))
            .await,
        400
    );
    // Bad schema → validation-failed.
    let (s, b) = env
        .call(
            Method::POST,
            &format!("/superadmin/apps/{id}/schema/push/plan"),
            Some(PAT),
            Some(json!({})),
        )
        .await;
    assert_eq!((s, b["type"].clone()), (400, json!("param-missing")));
}

#[tokio::test]
async fn admin_schema_uses_dash_joined_ref_keys() {
    let env = Env::new().await;
    let a = env.server.create_app("a").await.expect("a");
    let r = env
        .http
        .post(format!("{}/admin/transact?app_id={}", env.server.url(), a.app_id))
        .bearer_auth(&a.admin_token)
        .json(&json!({"steps": [
            ["add-attr", {"id": uuid::Uuid::new_v4().to_string(), "forward-identity": [uuid::Uuid::new_v4().to_string(), "posts", "author"], "reverse-identity": [uuid::Uuid::new_v4().to_string(), "profiles", "posts"], "value-type": "ref", "cardinality": "one", "unique?": false, "index?": false}],
            ["update", "posts", uuid::Uuid::new_v4().to_string(), {"title": "hi"}]
        ]}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let path = format!("/admin/schema?app_id={}", a.app_id);
    let (s, b) = env
        .call(Method::GET, &path, Some(&a.admin_token), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["schema"]["refs"]["posts-author-profiles-posts"].is_object(),
        "{b}"
    );
    assert!(b["schema"]["blobs"]["posts"]["title"].is_object());
    let (s, b) = env.call(Method::GET, &path, None, None).await;
    assert_eq!((s, b["type"].clone()), (400, json!("param-missing")));
    // A personal access token works too; a wrong token does not.
    let (s, b) = env.call(Method::GET, &path, Some(PAT), None).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = env.call(Method::GET, &path, Some("per_nope"), None).await;
    assert_eq!(s, 400);
}
