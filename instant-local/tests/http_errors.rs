//! HTTP-level behaviour: auth errors (admin-http.md §1.5), the error envelope and
//! statuses (§1.6), malformed JSON, unmatched routes, body limits, temporary apps
//! (schema-and-platform.md E.14). Bad input never yields a 500.
mod common;
use common::env::*;
use serde_json::{json, Value};

async fn raw(
    env: &Env,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&str>,
) -> (u16, String, String) {
    let mut req = env.http.post(format!("{}{}", env.server.url(), path));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn auth_errors() {
    let env = Env::new().await;
    let app = env.app.app_id.to_string();
    let q = Some(r#"{"query": {"x": {}}}"#);
    // no authorization
    let (s, _, b) = raw(&env, "/admin/query", &[("app-id", app.clone())], q).await;
    assert_eq!(s, 400);
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(b["type"], "param-missing");
    assert_eq!(
        b["message"],
        "Missing parameter: [\"headers\" \"authorization\"]"
    );
    assert_eq!(b["hint"]["in"], json!(["headers", "authorization"]));
    // wrong token: 400 record-not-found
    let (s, _, b) = raw(
        &env,
        "/admin/query",
        &[
            ("app-id", app.clone()),
            ("authorization", format!("Bearer {}", uuid::Uuid::new_v4())),
        ],
        q,
    )
    .await;
    assert_eq!(s, 400);
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(b["type"], "record-not-found");
    assert_eq!(b["message"], "Record not found: app-admin-token");
    assert_eq!(b["hint"]["record-type"], "app-admin-token");
    assert!(!b.to_string().contains(&env.app.admin_token));
    // malformed token
    let (s, _, b) = raw(
        &env,
        "/admin/query",
        &[
            ("app-id", app.clone()),
            ("authorization", "Bearer nope".into()),
        ],
        q,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["type"],
        "param-malformed"
    );
    // missing app id
    let (s, _, b) = raw(
        &env,
        "/admin/query",
        &[("authorization", format!("Bearer {}", env.app.admin_token))],
        q,
    )
    .await;
    assert_eq!(s, 400);
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(b["message"], "Missing parameter: [\"headers\" \"app-id\"]");
    assert_eq!(
        b["hint"]["possible-ins"],
        json!([["query-params", "app_id"]])
    );
    // app id as query param works; raw token without "Bearer " works
    let (s, _, _) = raw(
        &env,
        &format!("/admin/query?app_id={app}"),
        &[("authorization", env.app.admin_token.clone())],
        q,
    )
    .await;
    assert_eq!(s, 200);
    // malformed app id
    let (s, _, b) = raw(
        &env,
        "/admin/query",
        &[
            ("app-id", "xyz".into()),
            ("authorization", format!("Bearer {}", env.app.admin_token)),
        ],
        q,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["type"],
        "param-malformed"
    );
    // impersonation headers are accepted (rules are a later layer)
    let (s, _, _) = raw(
        &env,
        "/admin/query",
        &[("app-id", app.clone()), ("as-guest", "true".into())],
        q,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, b) = raw(
        &env,
        "/admin/query",
        &[("app-id", app.clone()), ("as-token", "not-a-uuid".into())],
        q,
    )
    .await;
    assert_eq!(s, 400);
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(b["hint"]["in"], json!(["asUser", "token"]));
    let (s, _, _) = raw(
        &env,
        "/admin/query",
        &[
            ("app-id", app.clone()),
            ("authorization", format!("Bearer {}", env.app.admin_token)),
            ("as-email", "a@b.c".into()),
        ],
        q,
    )
    .await;
    // No such user → 400 record-not-found, record-type app-user (spec §1.5).
    assert_eq!(s, 400);
    // as-email still needs the admin token
    let (s, _, _) = raw(
        &env,
        "/admin/query",
        &[("app-id", app.clone()), ("as-email", "a@b.c".into())],
        q,
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn body_errors_and_routes() {
    let env = Env::new().await;
    let auth = vec![
        ("app-id", env.app.app_id.to_string()),
        ("authorization", format!("Bearer {}", env.app.admin_token)),
    ];
    let (s, ct, b) = raw(&env, "/admin/query", &auth, Some("{not json")).await;
    assert_eq!((s, b.as_str()), (400, "Malformed JSON in request body."));
    assert!(ct.starts_with("text/plain"));
    let (s, _, b) = raw(&env, "/admin/transact", &auth, Some("[1,")).await;
    assert_eq!((s, b.as_str()), (400, "Malformed JSON in request body."));
    let (s, _, b) = raw(&env, "/admin/query", &auth, Some(r#"{"query": [1]}"#)).await;
    assert_eq!(s, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["message"],
        "Malformed parameter: [\"body\" \"query\"]"
    );
    let (s, _, b) = raw(&env, "/admin/query", &auth, Some("{}")).await;
    assert_eq!(s, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["message"],
        "Missing parameter: [\"body\" \"query\"]"
    );
    let (s, _, b) = raw(&env, "/admin/nothing-here", &auth, Some("{}")).await;
    assert_eq!(s, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap(),
        json!({"message": "Oops! We couldn't match this route."})
    );
    // body too large: refused without a 500
    let big = format!(
        r#"{{"query": {{"x": {{}}}}, "pad": "{}"}}"#,
        "a".repeat(70 * 1024 * 1024)
    );
    let (s, _, _) = raw(&env, "/admin/query", &auth, Some(&big)).await;
    assert_eq!(s, 413);
}

#[tokio::test]
async fn fuzzed_bad_input_never_500s() {
    let env = Env::new().await;
    let bad_queries = [
        json!({"a": {"$": {"where": {"x": {"$in": "nope"}}}}}),
        json!({"a": {"$": {"where": {"x": {}}}}}),
        json!({"a": {"$": {"where": []}}}),
        json!({"a": {"$": {"order": []}}}),
        json!({"a": {"$": {"after": [1, 2, 3, 4]}}}),
        json!({"a": {"$": {"before": ["x", "y"]}}}),
        json!({"a": {"$": {"offset": -3}}}),
        json!({"a": {"b": {"c": {"$": {"where": {"d.e.f": {"$like": 1}}}}}}}),
        json!({"$$ruleParams": 5}),
        json!({"a": {"$": {"where": {"and": {"x": 1}}}}}),
        json!({"a": {"$": {"aggregate": "sum"}}}),
    ];
    for q in bad_queries {
        let (s, b) = env.post("/admin/query", json!({"query": q})).await;
        assert!(s == 200 || s == 400, "query {q} gave {s}: {b}");
    }
    let bad_steps = [
        json!([1]),
        json!([[]]),
        json!([["update"]]),
        json!([["update", 5, uuid::Uuid::new_v4().to_string(), {}]]),
        json!([["update", "a", uuid::Uuid::new_v4().to_string(), 7]]),
        json!([["link", "a", uuid::Uuid::new_v4().to_string(), {"b": 5}]]),
        json!([["link", "a", uuid::Uuid::new_v4().to_string(), {"b": [null]}]]),
        json!([["update", "a", ["x"], {}]]),
        json!([["update", "a", {"x": 1, "y": 2}, {}]]),
        json!([["update", "a", "lookup__x__{bad", {}]]),
        json!([["add-attr", {"id": "nope"}]]),
        json!([["delete-attr", "nope"]]),
        // Not here: `{"upsert": "yes"}` passes the server's spec, which decides
        // validity on string keys where `::upsert` is never consulted
        // (`admin/model.clj` `->tx-steps!`, lines 497-507).
    ];
    for st in bad_steps {
        let (s, b) = env.transact(st.clone()).await;
        assert_eq!(s, 400, "steps {st} gave {s}: {b}");
        assert!(b["type"].is_string(), "steps {st}: {b}");
    }
}

#[tokio::test]
async fn temporary_apps() {
    let env = Env::new().await;
    let r = env
        .http
        .post(format!("{}/dash/apps/ephemeral", env.server.url()))
        .json(&json!({
            "title": "tmp",
            "schema": {"entities": {"notes": {"attrs": {"body": {"valueType": "string", "config": {"unique": false, "indexed": true}, "required": true}}}}, "links": {}},
            "rules": {"code": {"notes": {"allow": {"view": "true"}}}}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    let app = &b["app"];
    assert_eq!(app["title"], "tmp");
    assert!(
        app["id"].is_string() && app["admin-token"].is_string() && app["created_at"].is_string()
    );
    assert!(app.as_object().unwrap().contains_key("org_id"));
    let expires = b["expires_ms"].as_i64().unwrap();
    assert!(expires > chrono_now_ms() + 13 * 24 * 3600 * 1000);
    // The schema was applied: typed, indexed, required.
    let tmp = Env {
        server: env.server,
        app: instant_local::AppCredentials {
            app_id: instant_core::Id::parse(app["id"].as_str().unwrap()).unwrap(),
            admin_token: app["admin-token"].as_str().unwrap().into(),
        },
        http: reqwest::Client::new(),
    };
    tmp.tx_err(
        json!([["update", "notes", uuid::Uuid::new_v4().to_string(), {"body": 1}]]),
        "Invalid value type for notes.body. Value must be a string but the provided value type is number.",
    )
    .await;
    tmp.tx_ok(json!([["update", "notes", uuid::Uuid::new_v4().to_string(), {"body": "hello"}]]))
        .await;
    let r = tmp
        .query(json!({"notes": {"$": {"where": {"body": {"$like": "hel%"}}}}}))
        .await;
    assert_eq!(r["notes"].as_array().unwrap().len(), 1);
    // GET it back
    let g: Value = tmp
        .http
        .get(format!(
            "{}/dash/apps/ephemeral/{}",
            tmp.server.url(),
            app["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(g["app"]["id"], app["id"]);
    assert_eq!(g["expires_ms"], b["expires_ms"]);
    let r = tmp
        .http
        .get(format!(
            "{}/dash/apps/ephemeral/{}",
            tmp.server.url(),
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["type"], "record-not-found");
    assert_eq!(e["hint"]["record-type"], "app");
    // Bad schema: validation error, not 500
    let r = tmp
        .http
        .post(format!("{}/dash/apps/ephemeral", tmp.server.url()))
        .json(&json!({"title": "x", "schema": {"entities": {"a": {"attrs": {"b": {"valueType": "weird"}}}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = tmp
        .http
        .post(format!("{}/dash/apps/ephemeral", tmp.server.url()))
        .json(&json!({"schema": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
