//! Permission rules for impersonated requests (`as-email`, `as-guest`,
//! `as-token`): hidden rows and fields, blocked writes, admin bypass, rule
//! params (spec `admin-http.md` §1.5, `schema-and-platform.md` Part D).

mod common;

use serde_json::{json, Value};

use common::env::TempApp as P;

const ALICE: &str = "a0000000-0000-4000-8000-000000000001";
const BOB: &str = "b0000000-0000-4000-8000-000000000002";
const T1: &str = "c0000000-0000-4000-8000-000000000001";
const T2: &str = "c0000000-0000-4000-8000-000000000002";

fn schema() -> Value {
    json!({
        "entities": {
            "todos": {"attrs": {"title": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false}}},
            "owners": {"attrs": {"name": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false}}}
        },
        "links": {
            "todosOwner": {"forward": {"on": "todos", "has": "one", "label": "owner"},
                           "reverse": {"on": "owners", "has": "many", "label": "todos"}}
        }
    })
}

async fn setup(rules: Value) -> P {
    let p = P::new(json!({"title": "perms", "rules": {"code": rules}, "schema": schema()})).await;
    let (s, b) = p
        .call(
            "/admin/transact",
            &[],
            json!({"steps": [
                ["update", "$users", ALICE, {"email": "alice@x.com"}],
                ["update", "$users", BOB, {"email": "bob@x.com"}],
                ["update", "todos", T1, {"title": "alice's", "ownerId": ALICE, "secret": "s1"}],
                ["update", "todos", T2, {"title": "bob's", "ownerId": BOB, "secret": "s2"}],
                ["update", "owners", ALICE, {"name": "Alice"}],
                ["link", "todos", T1, {"owner": ALICE}],
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    p
}

impl P {
    /// Admin token unless impersonating with `as-guest` / `as-token`.
    async fn call(&self, path: &str, hdrs: &[(&str, &str)], body: Value) -> (u16, Value) {
        let admin = !hdrs
            .iter()
            .any(|(k, _)| *k == "as-guest" || *k == "as-token");
        self.post(path, admin, hdrs, body).await
    }
    async fn query(&self, hdrs: &[(&str, &str)], q: Value) -> Value {
        let (s, b) = self.call("/admin/query", hdrs, json!({"query": q})).await;
        assert_eq!(s, 200, "{b}");
        b
    }
    async fn tx(&self, hdrs: &[(&str, &str)], steps: Value) -> (u16, Value) {
        self.call("/admin/transact", hdrs, json!({"steps": steps}))
            .await
    }
}

fn titles(v: &Value, ns: &str) -> Vec<String> {
    let mut t: Vec<String> = v[ns]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["title"].as_str().unwrap_or("").to_string())
        .collect();
    t.sort();
    t
}

fn owner_rules() -> Value {
    json!({
        "todos": {
            "allow": {
                "view": "isOwner",
                "create": "auth.id != null && newData.ownerId == auth.id",
                "update": "isOwner && newData.ownerId == auth.id",
                "delete": "isOwner"
            },
            "bind": ["isOwner", "auth.id != null && auth.id == data.ownerId"],
            "fields": {"secret": "isOwner && auth.email == 'alice@x.com'"}
        },
        "owners": {"allow": {"view": "auth.id != null", "update": "false"}}
    })
}

const AS_ALICE: &[(&str, &str)] = &[("as-email", "alice@x.com")];
const AS_BOB: &[(&str, &str)] = &[("as-email", "bob@x.com")];
const AS_GUEST: &[(&str, &str)] = &[("as-guest", "true")];

#[tokio::test]
async fn view_rule_hides_rows_per_user() {
    let p = setup(owner_rules()).await;
    let q = json!({"todos": {}});
    assert_eq!(
        titles(&p.query(&[], q.clone()).await, "todos"),
        ["alice's", "bob's"]
    );
    assert_eq!(
        titles(&p.query(AS_ALICE, q.clone()).await, "todos"),
        ["alice's"]
    );
    assert_eq!(
        titles(&p.query(AS_BOB, q.clone()).await, "todos"),
        ["bob's"]
    );
    assert!(titles(&p.query(AS_GUEST, q).await, "todos").is_empty());
}

#[tokio::test]
async fn fields_rule_hides_attributes() {
    let p = setup(owner_rules()).await;
    let a = p.query(AS_ALICE, json!({"todos": {}})).await;
    assert_eq!(a["todos"][0]["secret"], "s1");
    let b = p.query(AS_BOB, json!({"todos": {}})).await;
    assert_eq!(b["todos"][0]["title"], "bob's");
    assert!(b["todos"][0].get("secret").is_none(), "{b}");
    let admin = p.query(&[], json!({"todos": {}})).await;
    assert!(admin["todos"][0].get("secret").is_some());
}

#[tokio::test]
async fn nested_links_are_filtered() {
    let p = setup(owner_rules()).await;
    let q = json!({"owners": {"todos": {}}});
    let a = p.query(AS_ALICE, q.clone()).await;
    assert_eq!(a["owners"][0]["todos"].as_array().unwrap().len(), 1, "{a}");
    let b = p.query(AS_BOB, q.clone()).await;
    assert_eq!(b["owners"][0]["todos"].as_array().unwrap().len(), 0, "{b}");
    let g = p.query(AS_GUEST, q).await;
    assert_eq!(g["owners"].as_array().unwrap().len(), 0, "{g}");
}

fn assert_denied(r: (u16, Value)) {
    assert_eq!(r.0, 400, "{}", r.1);
    assert_eq!(r.1["type"], "permission-denied", "{}", r.1);
    assert_eq!(r.1["message"], "Permission denied: not perms-pass?");
    assert_eq!(r.1["hint"]["expected"], "perms-pass?");
}

#[tokio::test]
async fn writes_are_checked_and_atomic() {
    let p = setup(owner_rules()).await;
    let new = "d0000000-0000-4000-8000-000000000009";
    // create for someone else: denied
    assert_denied(
        p.tx(
            AS_BOB,
            json!([["update", "todos", new, {"title": "x", "ownerId": ALICE}]]),
        )
        .await,
    );
    // guest create: denied
    assert_denied(
        p.tx(
            AS_GUEST,
            json!([["update", "todos", new, {"title": "x", "ownerId": ALICE}]]),
        )
        .await,
    );
    // update / delete someone else's
    assert_denied(
        p.tx(
            AS_BOB,
            json!([["update", "todos", T1, {"title": "hacked"}]]),
        )
        .await,
    );
    assert_denied(p.tx(AS_BOB, json!([["delete", "todos", T1]])).await);
    // link onto an owner: owners.update is false
    assert_denied(
        p.tx(AS_BOB, json!([["link", "owners", ALICE, {"todos": T2}]]))
            .await,
    );
    // atomic: an allowed step followed by a denied one writes nothing
    assert_denied(
        p.tx(
            AS_BOB,
            json!([
                ["update", "todos", T2, {"title": "bob edited"}],
                ["delete", "todos", T1]
            ]),
        )
        .await,
    );
    let all = p.query(&[], json!({"todos": {}})).await;
    assert_eq!(titles(&all, "todos"), ["alice's", "bob's"]);
    // allowed writes
    let (s, b) = p
        .tx(
            AS_BOB,
            json!([["update", "todos", new, {"title": "bob new", "ownerId": BOB}]]),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = p
        .tx(
            AS_BOB,
            json!([["update", "todos", T2, {"title": "bob edited"}]]),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = p.tx(AS_ALICE, json!([["delete", "todos", T1]])).await;
    assert_eq!(s, 200, "{b}");
    // admin bypasses everything
    let (s, b) = p
        .tx(&[], json!([["link", "owners", ALICE, {"todos": T2}]]))
        .await;
    assert_eq!(s, 200, "{b}");
    let all = p.query(&[], json!({"todos": {}})).await;
    assert_eq!(titles(&all, "todos"), ["bob edited", "bob new"]);
}

#[tokio::test]
async fn rule_params_in_queries_and_steps() {
    let p = setup(json!({
        "docs": {"allow": {
            "view": "data.secret == ruleParams.secret",
            "update": "ruleParams.knownSecret == data.secret"
        }}
    }))
    .await;
    let d = "e0000000-0000-4000-8000-000000000001";
    let (s, b) = p
        .tx(&[], json!([["update", "docs", d, {"secret": "k", "n": 1}]]))
        .await;
    assert_eq!(s, 200, "{b}");
    let none = p.query(AS_GUEST, json!({"docs": {}})).await;
    assert_eq!(none["docs"].as_array().unwrap().len(), 0);
    let wrong = p
        .query(
            AS_GUEST,
            json!({"docs": {}, "$$ruleParams": {"secret": "no"}}),
        )
        .await;
    assert_eq!(wrong["docs"].as_array().unwrap().len(), 0);
    let ok = p
        .query(
            AS_GUEST,
            json!({"docs": {}, "$$ruleParams": {"secret": "k"}}),
        )
        .await;
    assert_eq!(ok["docs"].as_array().unwrap().len(), 1, "{ok}");
    assert_denied(
        p.tx(AS_GUEST, json!([["update", "docs", d, {"n": 2}]]))
            .await,
    );
    let (s, b) = p
        .tx(
            AS_GUEST,
            json!([
                ["ruleParams", "docs", d, {"knownSecret": "k"}],
                ["update", "docs", d, {"n": 2}]
            ]),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn data_ref_follows_links() {
    let p = setup(json!({
        "todos": {"allow": {"view": "'Alice' in data.ref('owner.name')"}}
    }))
    .await;
    let g = p.query(AS_GUEST, json!({"todos": {}})).await;
    assert_eq!(titles(&g, "todos"), ["alice's"]);
}

#[tokio::test]
async fn unknown_email_is_record_not_found() {
    let p = setup(owner_rules()).await;
    let (s, b) = p
        .call(
            "/admin/query",
            &[("as-email", "nobody@x.com")],
            json!({"query": {"todos": {}}}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "record-not-found");
}

#[tokio::test]
async fn rules_pushed_through_the_platform_api_apply() {
    let p = setup(json!({})).await;
    let q = json!({"todos": {}});
    assert_eq!(
        titles(&p.query(AS_GUEST, q.clone()).await, "todos").len(),
        2
    );
    // perms push with the app's admin token (spec schema-and-platform.md Part E)
    let r = p
        .http
        .post(format!("{}/superadmin/apps/{}/perms", p.url, p.app_id))
        .header("authorization", format!("Bearer {}", p.token))
        .json(&json!({"code": {"todos": {"allow": {"view": "data.title == \"bob's\""}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(
        titles(&p.query(AS_GUEST, q.clone()).await, "todos"),
        ["bob's"]
    );
    assert_eq!(titles(&p.query(&[], q).await, "todos").len(), 2);
}
