//! `POST /admin/query_perms_check` and `POST /admin/transact_perms_check`
//! (spec `admin-http.md` §2.3, §2.4).

mod common;

use serde_json::json;

use common::env::TempApp as E;

async fn setup() -> E {
    let rules = json!({"items": {"allow": {
        "view": "data.public == true",
        "create": "newData.public == true",
        "delete": "false"
    }}});
    let e = E::new(json!({"title": "pc", "rules": {"code": rules}})).await;
    let (s, b) = e
        .post("/admin/transact", true, &[], json!({"steps": [
            ["update", "items", "10000000-0000-4000-8000-000000000001", {"public": true, "n": 1}],
            ["update", "items", "10000000-0000-4000-8000-000000000002", {"public": false, "n": 2}]
        ]}))
        .await;
    assert_eq!(s, 200, "{b}");
    e
}

impl E {
    async fn count(&self) -> usize {
        let (_, b) = self
            .post("/admin/query", true, &[], json!({"query": {"items": {}}}))
            .await;
        b["items"].as_array().unwrap().len()
    }
}

const GUEST: &[(&str, &str)] = &[("as-guest", "true")];

#[tokio::test]
async fn query_perms_check_reports_each_view_check() {
    let e = setup().await;
    let (s, b) = e
        .post(
            "/admin/query_perms_check",
            true,
            GUEST,
            json!({"query": {"items": {}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["result"]["items"].as_array().unwrap().len(), 1);
    let checks = b["check-results"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    let mut passed: Vec<bool> = checks
        .iter()
        .map(|c| c["check"].as_bool().unwrap())
        .collect();
    passed.sort();
    assert_eq!(passed, [false, true]);
    assert_eq!(checks[0]["entity"], "items");
    assert_eq!(checks[0]["program"]["display-code"], "data.public == true");
    assert!(checks[0]["record"]["n"].is_number());

    // rules-override replaces the app's rules
    let (s, b) = e
        .post(
            "/admin/query_perms_check",
            true,
            GUEST,
            json!({
                "query": {"items": {}},
                "rules-override": {"items": {"allow": {"view": "true"}}}
            }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["result"]["items"].as_array().unwrap().len(), 2);
    // invalid override
    let (s, b) = e
        .post(
            "/admin/query_perms_check",
            true,
            GUEST,
            json!({
                "query": {"items": {}},
                "rules-override": {"items": {"allow": {"view": "(("}}}
            }),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "validation-failed");
}

#[tokio::test]
async fn perms_check_needs_admin_token_and_impersonation() {
    let e = setup().await;
    let (s, b) = e
        .post(
            "/admin/query_perms_check",
            true,
            &[],
            json!({"query": {"items": {}}}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["message"],
        "Validation failed for non-admin: Cannot test perms as admin"
    );
    let (s, b) = e
        .post(
            "/admin/query_perms_check",
            false,
            GUEST,
            json!({"query": {"items": {}}}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "param-missing");
    let (s, _) = e
        .post(
            "/admin/transact_perms_check",
            false,
            GUEST,
            json!({"steps": []}),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn transact_perms_check_dry_run_and_commit() {
    let e = setup().await;
    let ok_step =
        json!([["update", "items", "10000000-0000-4000-8000-000000000003", {"public": true}]]);
    let bad_step = json!([["delete", "items", "10000000-0000-4000-8000-000000000001"]]);
    // dry run: passes, nothing written
    let (s, b) = e
        .post(
            "/admin/transact_perms_check",
            true,
            GUEST,
            json!({"steps": ok_step}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["all-checks-ok?"], true);
    assert_eq!(b["committed?"], false);
    assert!(b["tx-id"].is_null());
    assert_eq!(b["check-results"][0]["check-pass?"], true);
    assert_eq!(b["check-results"][0]["program"]["action"], "create");
    assert_eq!(e.count().await, 2);
    // failing checks are reported, not raised; not committed even when asked
    let (s, b) = e
        .post(
            "/admin/transact_perms_check",
            true,
            GUEST,
            json!({"steps": bad_step, "dangerously-commit-tx": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["all-checks-ok?"], false);
    assert_eq!(b["committed?"], false);
    assert_eq!(b["check-results"][0]["check-pass?"], false);
    assert_eq!(e.count().await, 2);
    // commit
    let (s, b) = e
        .post(
            "/admin/transact_perms_check",
            true,
            GUEST,
            json!({"steps": ok_step, "dangerously-commit-tx": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["committed?"], true);
    assert!(b["tx-id"].is_number());
    assert_eq!(e.count().await, 3);
}
