//! Platform API requests against a recording server (`schema-and-platform.md`
//! Part E): headers, paths, bodies, answer decoding, indexing-job polling.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use instant_client::{CreateApp, PlatformApi};
use instant_core::{AttrDef, EntityDef, Id, NamespaceRules, Rules, Schema};
use serde_json::json;

const PAT: &str = "per_abc123";

fn attr(ns: &str, label: &str) -> serde_json::Value {
    json!({"id": Id::new(), "forward-identity": [Id::new(), ns, label], "value-type": "blob",
           "cardinality": "one", "unique?": false, "index?": true, "required?": true,
           "checked-data-type": "string", "inferred-types": ["string"], "catalog": "user"})
}

fn app_row() -> serde_json::Value {
    json!({"id": APP_ID, "title": "my app", "creator_id": GOAL, "org_id": null,
           "created_at": "2024-11-26T15:25:00Z", "status": "active"})
}

fn assert_platform_headers(r: &Recorded, auth: bool) {
    let v = instant_client::VERSION;
    assert_eq!(r.header("instant-platform-version"), Some(v));
    assert_eq!(r.header("instant-core-version"), Some(v));
    assert_eq!(r.header("x-instant-source"), Some("platform-sdk"));
    assert_eq!(r.header("x-instant-version"), Some(v));
    if auth {
        assert_eq!(r.header("authorization"), Some(format!("Bearer {PAT}").as_str()));
    } else {
        assert!(r.header("authorization").is_none());
    }
    assert!(r.header("app-id").is_none());
}

#[tokio::test]
async fn temporary_app_needs_no_token() {
    let mut created = app_row();
    created["admin-token"] = json!(ADMIN_TOKEN);
    let rec = Recorder::json(json!({"app": created, "expires_ms": 1_700_000_000_000i64})).await;
    let p = PlatformApi::builder().api_uri(&rec.url).build().unwrap();
    let schema = Schema::new().entity("goals", EntityDef::new().attr("title", AttrDef::string()));
    let rules = Rules::new().namespace("goals", NamespaceRules::new().allow("view", "true"));
    let t = p
        .create_temporary_app("my-new-app", Some(&schema), Some(&rules))
        .await
        .unwrap();
    assert_eq!(t.app.admin_token.as_ref().unwrap().expose(), ADMIN_TOKEN);
    assert_eq!(t.expires_ms, Some(1_700_000_000_000));
    assert!(!format!("{t:?}").contains(ADMIN_TOKEN), "Debug hides the admin token");
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("POST", "/dash/apps/ephemeral".to_string()));
    assert_platform_headers(&r, false);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let b = r.json();
    assert_eq!(b["title"], "my-new-app");
    assert_eq!(b["schema"], schema.to_json());
    assert_eq!(b["rules"], json!({"code": rules.to_json()}), "perms nest under rules.code");
}

#[tokio::test]
async fn app_crud() {
    let rec = Recorder::start(|r| {
        let mut row = app_row();
        let body = match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/superadmin/apps") => json!({"apps": [row, row]}),
            ("POST", "/superadmin/apps") => {
                row["admin-token"] = json!(ADMIN_TOKEN);
                json!({"app": row})
            }
            (_, _) => json!({"app": row}),
        };
        json_response(200, &body)
    })
    .await;
    let p = PlatformApi::builder().api_uri(&rec.url).token(PAT).build().unwrap();
    assert!(!format!("{p:?}").contains(PAT));
    let app_id = Id::parse(APP_ID).unwrap();

    let a = p
        .create_app(&CreateApp {
            title: "my app".into(),
            org_id: Some(Id::parse(TODO).unwrap()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(a.admin_token.is_some());
    assert_eq!(a.extra["status"], "active");
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("POST", "/superadmin/apps".into()));
    assert_platform_headers(&r, true);
    assert_eq!(r.json(), json!({"title": "my app", "org_id": TODO}));

    assert_eq!(p.list_apps(false, false).await.unwrap().len(), 2);
    assert_eq!(rec.last().target(), "/superadmin/apps");
    p.list_apps(true, true).await.unwrap();
    assert_eq!(rec.last().target(), "/superadmin/apps?include=perms%2Cschema");

    let a = p.get_app(app_id).await.unwrap();
    assert_eq!(a.title, "my app");
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("GET", format!("/superadmin/apps/{APP_ID}")));
    assert!(r.header("content-type").is_none());

    p.rename_app(app_id, "new title").await.unwrap();
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("POST", format!("/superadmin/apps/{APP_ID}")));
    assert_eq!(r.json(), json!({"title": "new title"}));

    p.delete_app(app_id).await.unwrap();
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("DELETE", format!("/superadmin/apps/{APP_ID}")));
    assert_eq!(r.header("content-type"), Some("application/json"), "as the JS SDK, even on DELETE");

    // Calls that need a token fail locally without one.
    let anon = PlatformApi::builder().api_uri(&rec.url).build().unwrap();
    let n = rec.count();
    assert!(matches!(anon.get_app(app_id).await, Err(instant_client::Error::Config(_))));
    assert_eq!(rec.count(), n);
}

#[tokio::test]
async fn schema_pull_plan_push_with_job_polling() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let rec = Recorder::start(move |r| {
        let body = match (r.method.as_str(), r.path.as_str()) {
            (_, p) if p.ends_with("/schema") => json!({"schema": {
                "blobs": {"goals": {"id": attr("goals", "id"), "title": attr("goals", "title")}},
                "refs": {}}}),
            (_, p) if p.ends_with("/push/plan") => json!({"steps": [["add-attr", attr("goals", "title")]],
                "new-schema": {}, "current-schema": {}, "current-attrs": []}),
            (_, p) if p.ends_with("/push/apply") => json!({
                "steps": [["index", {"attr-id": Id::new(), "forward-identity": [Id::new(), "goals", "title"], "job-id": Id::new()}]],
                "transaction": {}, "indexing-jobs": {"group-id": "g-1", "jobs": []}}),
            (_, p) if p.contains("/indexing-jobs/group/") => {
                let n = p2.fetch_add(1, Ordering::SeqCst);
                let status = if n < 2 { "processing" } else { "completed" };
                json!({"jobs": [{"id": GOAL, "attr_name": "goals.title", "job_type": "index",
                    "job_status": status, "work_estimate": 10, "work_completed": n * 5,
                    "updated_at": format!("2024-01-01T00:00:0{n}Z")}]})
            }
            _ => json!({}),
        };
        json_response(200, &body)
    })
    .await;
    let p = PlatformApi::builder().api_uri(&rec.url).token(PAT).build().unwrap();
    let app_id = Id::parse(APP_ID).unwrap();

    let s = p.pull_schema(app_id).await.unwrap();
    assert!(s.entities["goals"].attrs.contains_key("title"));
    assert_eq!(rec.last().target(), format!("/superadmin/apps/{APP_ID}/schema"));
    let raw = p.pull_schema_raw(app_id).await.unwrap();
    assert!(raw.get("blobs").is_some(), "the schema key is unwrapped");

    let schema = Schema::new().entity("goals", EntityDef::new().attr("title", AttrDef::string().indexed()));
    let plan = p.plan_schema_push(app_id, &schema).await.unwrap();
    assert_eq!(plan.steps[0].op, "add-attr");
    let r = rec.last();
    assert_eq!(r.target(), format!("/superadmin/apps/{APP_ID}/schema/push/plan"));
    assert_eq!(
        r.json(),
        json!({"schema": schema.to_json(), "check_types": true, "supports_background_updates": true})
    );

    let mut progress = Vec::new();
    let pushed = p
        .push_schema(app_id, &schema, |jobs| progress.push(jobs[0].job_status.clone()))
        .await
        .unwrap();
    assert_eq!(pushed.steps[0].op, "index");
    assert_eq!(pushed.jobs.len(), 1);
    assert!(pushed.jobs[0].is_done());
    assert_eq!(pushed.failed_jobs().count(), 0);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
    assert_eq!(progress.len(), 3);
    let targets: Vec<String> = rec.requests().iter().map(|r| r.target()).collect();
    let n = targets.len();
    assert_eq!(targets[n - 5], format!("/superadmin/apps/{APP_ID}/schema/push/apply"));
    assert_eq!(targets[n - 4], format!("/dash/apps/{APP_ID}/indexing-jobs/group/g-1"));
    assert_eq!(targets[n - 1], format!("/superadmin/apps/{APP_ID}/schema"), "re-pulled");
}

#[tokio::test]
async fn perms_pull_and_push() {
    let rules = Rules::new().namespace("goals", NamespaceRules::new().allow("view", "auth.id != null"));
    let rj = rules.to_json();
    let rec = Recorder::start(move |r| {
        let body = if r.method == "GET" {
            json!({"perms": rj})
        } else {
            json!({"rules": {"app_id": APP_ID, "code": r.json()["code"], "version": 2}})
        };
        json_response(200, &body)
    })
    .await;
    // An app's admin token is accepted for its own perms.
    let db = rec.client();
    let p = db.platform().unwrap();
    let app_id = db.app_id();
    let got = p.pull_perms(app_id).await.unwrap().unwrap();
    assert_eq!(got, rules);
    let r = rec.last();
    assert_eq!(r.target(), format!("/superadmin/apps/{APP_ID}/perms"));
    assert_eq!(r.header("authorization"), Some(format!("Bearer {ADMIN_TOKEN}").as_str()));
    let pushed = p.push_perms(app_id, &rules).await.unwrap();
    assert_eq!(pushed, rules);
    assert_eq!(rec.last().json(), json!({"code": rules.to_json()}));

    // `rules: null` (unchanged rules) yields the pushed rules.
    let rec = Recorder::json(json!({"rules": null})).await;
    let p = rec.client().platform().unwrap();
    assert_eq!(p.push_perms(app_id, &rules).await.unwrap(), rules);
    let rec = Recorder::json(json!({"perms": null})).await;
    assert!(rec.client().platform().unwrap().pull_perms(app_id).await.unwrap().is_none());
}

#[tokio::test]
async fn platform_errors_are_api_errors() {
    let rec = Recorder::start(|_| {
        json_response(400, &json!({"type": "record-not-found", "message": "Record not found: instant-user",
            "hint": {"record-type": "instant-user"}}))
    })
    .await;
    let p = PlatformApi::builder().api_uri(&rec.url).token("per_bad").build().unwrap();
    let e = p.list_apps(false, false).await.unwrap_err();
    assert_eq!(e.kind(), Some(&instant_client::ErrorKind::RecordNotFound));
    assert_eq!(e.hint().unwrap()["record-type"], "instant-user");
}
