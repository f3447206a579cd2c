//! Golden fixtures: every JSON body in `/work/shared/spec/captured-requests.md`
//! (bytes the official `@instantdb/admin` 1.0.67 sent) that instant-core models,
//! produced by the Rust model and compared as JSON values (key order is free:
//! `serde_json::Map` equality ignores order). Client-only bodies (auth, storage)
//! belong to the client crate's tests.
//!
//! Each captured body is also decoded and re-encoded, so decoders and encoders
//! agree on the real wire shapes.

use instant_core::perms_check::{QueryPermsCheckRequest, TransactPermsCheckRequest};
use instant_core::{
    tx, Date, Id, Order, Query, QueryNode, QueryRequest, Step, TransactRequest, UpdateOpts, Where,
};
use serde_json::{json, Value};

const GOAL: &str = "33333333-3333-4333-8333-333333333333";
const TODO: &str = "44444444-4444-4444-8444-444444444444";

fn id(s: &str) -> Id {
    Id::parse(s).expect("fixture id")
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).expect("fixture JSON")
}

/// 1.1 query: `db.query({goals:{$:{where:{title:'Get fit'},limit:10,order:{serverCreatedAt:'desc'}}},todos:{}})`.
/// (In the SDK call `todos` is a second namespace, not a child of goals: see the body.)
const QUERY_1_1: &str = r#"{"query":{"goals":{"$":{"where":{"title":"Get fit"},"limit":10,"order":{"serverCreatedAt":"desc"}},"todos":{}}},"inference?":false}"#;

fn query_1_1() -> Query {
    Query::new().ns(
        "goals",
        QueryNode::new()
            .filter(Where::eq("title", "Get fit"))
            .limit(10)
            .order(Order::desc("serverCreatedAt"))
            .child("todos", QueryNode::new()),
    )
}

#[test]
fn query_body_1_1_matches_capture() {
    let body = QueryRequest::new(query_1_1());
    assert_eq!(body.to_json(), parse(QUERY_1_1));
    assert_eq!(serde_json::to_value(&body).unwrap(), parse(QUERY_1_1));
}

#[test]
fn query_body_1_1_decodes_to_the_same_model() {
    let decoded = QueryRequest::from_json(&parse(QUERY_1_1)).unwrap();
    assert_eq!(decoded, QueryRequest::new(query_1_1()));
    let via_serde: QueryRequest = serde_json::from_str(QUERY_1_1).unwrap();
    assert_eq!(via_serde, decoded);
}

#[test]
fn query_body_with_schema_sends_inference_true() {
    // "With `init({schema})` the body says `"inference?":true`."
    let body = QueryRequest::new(query_1_1()).with_inference(true);
    let mut expected = parse(QUERY_1_1);
    expected["inference?"] = json!(true);
    assert_eq!(body.to_json(), expected);
}

#[test]
fn rule_params_travel_as_top_level_query_key() {
    // "`ruleParams` would be merged into the query as a top-level `$$ruleParams` key".
    let q = Query::new()
        .ns("goals", QueryNode::new())
        .rule_params(json!({"k": "v"}).as_object().unwrap().clone());
    let body = QueryRequest::new(q.clone()).to_json();
    assert_eq!(
        body,
        json!({"query": {"$$ruleParams": {"k": "v"}, "goals": {}}, "inference?": false})
    );
    assert_eq!(QueryRequest::from_json(&body).unwrap().query, q);
}

/// 1.2 transact: every op kind (newlines of the capture removed).
const TRANSACT_1_2: &str = r#"{"steps":[
 ["update","goals","33333333-3333-4333-8333-333333333333",{"title":"Get fit","n":1,"at":"1970-01-01T00:00:00.000Z"}],
 ["merge","goals","33333333-3333-4333-8333-333333333333",{"meta":{"a":1}}],
 ["create","todos","44444444-4444-4444-8444-444444444444",{"title":"run"}],
 ["link","goals","33333333-3333-4333-8333-333333333333",{"todos":"44444444-4444-4444-8444-444444444444"}],
 ["unlink","goals","33333333-3333-4333-8333-333333333333",{"todos":["44444444-4444-4444-8444-444444444444"]}],
 ["update","goals",["title","Get fit"],{"done":true}],
 ["delete","todos","44444444-4444-4444-8444-444444444444",null],
 ["update","goals","33333333-3333-4333-8333-333333333333",{"title":"x"},{"upsert":false}]],
 "throw-on-missing-attrs?":false}"#;

fn transact_1_2_steps() -> Vec<Step> {
    let (g, t) = (id(GOAL), id(TODO));
    let epoch = Date::from_millis(0).unwrap();
    tx::steps([
        tx::entity("goals", g)
            .update(json!({"title": "Get fit", "n": 1, "at": epoch}))
            .merge(json!({"meta": {"a": 1}})),
        tx::entity("todos", t).create(json!({"title": "run"})),
        tx::entity("goals", g).link("todos", t).unlink("todos", [t]),
        tx::lookup("goals", "title", "Get fit").update(json!({"done": true})),
        tx::entity("todos", t).delete(),
        tx::entity("goals", g).update_with(json!({"title": "x"}), UpdateOpts::NO_UPSERT),
    ])
    .unwrap()
}

#[test]
fn transact_body_1_2_matches_capture() {
    let body = TransactRequest::new(transact_1_2_steps());
    assert_eq!(body.to_json(), parse(TRANSACT_1_2));
    assert_eq!(serde_json::to_value(&body).unwrap(), parse(TRANSACT_1_2));
}

#[test]
fn transact_body_1_2_decodes_to_the_same_steps() {
    let decoded = TransactRequest::from_json(&parse(TRANSACT_1_2)).unwrap();
    assert_eq!(decoded.steps, transact_1_2_steps());
    assert!(!decoded.throw_on_missing_attrs);
    let actions: Vec<&str> = decoded.steps.iter().map(Step::action).collect();
    assert_eq!(
        actions,
        ["update", "merge", "create", "link", "unlink", "update", "delete", "update"]
    );
}

#[test]
fn transact_encoder_notes_from_the_capture() {
    let steps = transact_1_2_steps();
    // Dates go out as ISO-8601 strings with milliseconds and Z.
    assert_eq!(steps[0].to_json()[3]["at"], "1970-01-01T00:00:00.000Z");
    // lookup('title','Get fit') is the 2-tuple in the eid slot.
    assert_eq!(steps[5].to_json()[2], json!(["title", "Get fit"]));
    // delete carries a trailing null as its 4th element.
    assert_eq!(steps[6].to_json().as_array().unwrap().len(), 4);
    assert_eq!(steps[6].to_json()[3], Value::Null);
    // Options are a 5th element, present only when given.
    assert_eq!(steps[7].to_json()[4], json!({"upsert": false}));
    assert_eq!(steps[0].to_json().as_array().unwrap().len(), 4);
    // A single link id stays a scalar; an array stays an array.
    assert_eq!(steps[3].to_json()[3]["todos"], json!(TODO));
    assert_eq!(steps[4].to_json()[3]["todos"], json!([TODO]));
}

#[test]
fn transact_with_schema_sends_throw_on_missing_attrs_true() {
    let body = TransactRequest::new(transact_1_2_steps()).with_throw_on_missing_attrs(true);
    let mut expected = parse(TRANSACT_1_2);
    expected["throw-on-missing-attrs?"] = json!(true);
    assert_eq!(body.to_json(), expected);
    assert!(
        TransactRequest::from_json(&expected)
            .unwrap()
            .throw_on_missing_attrs
    );
}

/// 1.5 debugQuery.
const QUERY_PERMS_CHECK_1_5: &str = r#"{"query":{"goals":{}},"inference?":false}"#;
/// 1.5 debugTransact (the capture abbreviates the id as `33333333-…`).
const TRANSACT_PERMS_CHECK_1_5: &str =
    r#"{"steps":[["update","goals","33333333-3333-4333-8333-333333333333",{"title":"y"}]]}"#;

#[test]
fn query_perms_check_body_matches_capture() {
    let body = QueryPermsCheckRequest::new(Query::new().ns("goals", QueryNode::new()));
    assert_eq!(body.to_json(), parse(QUERY_PERMS_CHECK_1_5));
    assert_eq!(
        QueryPermsCheckRequest::from_json(&parse(QUERY_PERMS_CHECK_1_5)).unwrap(),
        body
    );
}

#[test]
fn transact_perms_check_body_matches_capture() {
    let steps = tx::entity("goals", id(GOAL))
        .update(json!({"title": "y"}))
        .into_steps()
        .unwrap();
    let body = TransactPermsCheckRequest::new(steps);
    // No throw-on-missing-attrs? key in this body, unlike /admin/transact.
    assert_eq!(body.to_json(), parse(TRANSACT_PERMS_CHECK_1_5));
    assert_eq!(
        TransactPermsCheckRequest::from_json(&parse(TRANSACT_PERMS_CHECK_1_5)).unwrap(),
        body
    );
}

#[test]
fn perms_check_optional_keys_are_written_only_when_set() {
    let mut body = TransactPermsCheckRequest::new(vec![]);
    body.dangerously_commit_tx = Some(true);
    body.overrides.ip_override = Some("1.2.3.4".into());
    body.overrides.origin_override = Some("https://x.com".into());
    body.overrides.rules_override = Some(
        instant_core::Rules::from_json(&json!({"goals": {"allow": {"view": "auth.id != null"}}}))
            .unwrap(),
    );
    let expected = json!({
        "steps": [],
        "dangerously-commit-tx": true,
        "ip-override": "1.2.3.4",
        "origin-override": "https://x.com",
        "rules-override": {"goals": {"allow": {"view": "auth.id != null"}}}
    });
    assert_eq!(body.to_json(), expected);
    assert_eq!(
        TransactPermsCheckRequest::from_json(&expected).unwrap(),
        body
    );
}

/// 1.6 subscribeQuery body: `query` and `inference?` are the model's part;
/// `versions` is informational and written by the client crate.
const SUBSCRIBE_1_6: &str = r#"{"query":{"goals":{}},"inference?":false,"versions":{"@instantdb/admin":"v1.0.67","@instantdb/core":"v1.0.67"}}"#;

#[test]
fn subscribe_body_query_part_matches_capture() {
    let mut body = QueryRequest::new(Query::new().ns("goals", QueryNode::new())).to_json();
    body["versions"] = json!({"@instantdb/admin": "v1.0.67", "@instantdb/core": "v1.0.67"});
    assert_eq!(body, parse(SUBSCRIBE_1_6));
    // The server ignores `versions`; so does the decoder.
    let decoded = QueryRequest::from_json(&parse(SUBSCRIBE_1_6)).unwrap();
    assert_eq!(decoded.query, Query::new().ns("goals", QueryNode::new()));
}

/// `instaml-steps.md` §11 worked examples (JS builder call → wire tuples).
#[test]
fn worked_examples_of_instaml_steps() {
    let g = id(GOAL);
    let t = id(TODO);
    let cases: Vec<(Vec<Step>, Value)> = vec![
        (
            tx::entity("goals", g)
                .update(json!({"title": "Get fit"}))
                .link("todos", t)
                .into_steps()
                .unwrap(),
            json!([["update", "goals", GOAL, {"title": "Get fit"}], ["link", "goals", GOAL, {"todos": TODO}]]),
        ),
        (
            tx::lookup("users", "email", "eva@x.com")
                .update_with(json!({"name": "Eva"}), UpdateOpts::NO_UPSERT)
                .into_steps()
                .unwrap(),
            json!([["update", "users", ["email", "eva@x.com"], {"name": "Eva"}, {"upsert": false}]]),
        ),
        (
            tx::lookup("users", "email", "eva@x.com")
                .link("posts", instant_core::Lookup::new("number", 15).unwrap())
                .into_steps()
                .unwrap(),
            json!([["link", "users", ["email", "eva@x.com"], {"posts": "lookup__number__15"}]]),
        ),
        (
            tx::entity("docs", g)
                .rule_params(json!({"knownDocId": GOAL}))
                .delete()
                .into_steps()
                .unwrap(),
            json!([["ruleParams", "docs", GOAL, {"knownDocId": GOAL}], ["delete", "docs", GOAL, null]]),
        ),
        (
            tx::lookup("$files", "path", "photos/demo.png")
                .delete()
                .into_steps()
                .unwrap(),
            json!([["delete", "$files", ["path", "photos/demo.png"], null]]),
        ),
    ];
    for (steps, wire) in cases {
        let encoded = Value::Array(steps.iter().map(Step::to_json).collect());
        assert_eq!(encoded, wire);
        assert_eq!(Step::list_from_json(&wire).unwrap(), steps);
    }
}

/// `admin-http.md` §2.2 example body, and the schema-level steps of
/// `instaml-steps.md` §4.8.
#[test]
fn admin_http_transact_example_and_schema_steps() {
    let body = json!({"steps": [
        ["update", "goals", "8aa64e4c-64f9-472e-8a61-3fa28870e6cb", {"title": "moop"}],
        ["add-attr", {"id": GOAL, "forward-identity": [TODO, "floopy", "flip"], "value-type": "blob",
                      "cardinality": "one", "unique?": false, "index?": false}],
        ["delete-attr", GOAL]
    ], "throw-on-missing-attrs?": true});
    let req = TransactRequest::from_json(&body).unwrap();
    assert!(req.throw_on_missing_attrs);
    assert!(matches!(req.steps[1], Step::AddAttr(_)));
    assert_eq!(req.steps[2], Step::DeleteAttr(id(GOAL)));
    assert_eq!(req.to_json(), body);
}
