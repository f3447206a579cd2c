//! Permission rules: lookup order, binds, fields, ruleParams, newData, refs,
//! validation messages and system-namespace defaults.
//!
//! Facts pinned here come from the official server (`instantdb/instant`):
//! `server/src/instant/model/rule.clj` (`get-program!`, `fallback-program`,
//! `with-binds`, `validation-errors`), `server/test/instant/model/rule_test.clj`,
//! `server/src/instant/db/cel.clj` (`CelMap`, `ref-impl`, `auth-ref-validator`)
//! and `server/src/instant/db/permissioned_transaction.clj` (which snapshot is
//! `data` / `newData` per action).

use std::cell::RefCell;

use instant_core::{Id, NamespaceRules, Rules};
use instant_local::perms::{Action, NoRefs, Permissions, RefResolver, RuleContext, RuleError};
use serde_json::{json, Value};

const TODO_ID: &str = "3c9e0b8a-1111-4111-8111-111111111111";
const USER_ID: &str = "6f1d2c3b-2222-4222-8222-222222222222";

fn perms(rules: Value) -> Permissions {
    Permissions::from_json(&rules).expect("rules compile")
}

fn issues(rules: Value) -> Vec<(String, Vec<String>)> {
    match Permissions::from_json(&rules) {
        Ok(_) => panic!("rules should be rejected: {rules}"),
        Err(e) => e
            .issues()
            .iter()
            .map(|i| (i.message.clone(), i.path.clone()))
            .collect(),
    }
}

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

fn check(p: &Permissions, ns: &str, action: Action, auth: Option<&Value>, data: &Value) -> bool {
    let ctx = RuleContext::new(ns, &action, &NoRefs).auth(auth).data(data);
    p.check(&ctx).expect("evaluates")
}

fn todo() -> Value {
    json!({"id": TODO_ID, "ownerId": USER_ID, "title": "t", "count": 3})
}

fn user() -> Value {
    json!({"id": USER_ID, "email": "a@b.c"})
}

#[test]
fn lookup_order_every_step() {
    // 1. ns.allow.<action>
    let p = perms(json!({
        "todos": {"allow": {"view": "true", "$default": "false"}},
        "$default": {"allow": {"view": "false", "$default": "false"}}
    }));
    assert!(check(&p, "todos", Action::View, None, &todo()));
    // 2. ns.allow.$default beats $default.allow.<action>
    assert!(!check(&p, "todos", Action::Update, None, &todo()));
    let p = perms(json!({
        "todos": {"allow": {"$default": "true"}},
        "$default": {"allow": {"update": "false"}}
    }));
    assert!(check(&p, "todos", Action::Update, None, &todo()));
    // 3. $default.allow.<action> beats $default.allow.$default
    let p = perms(json!({"$default": {"allow": {"delete": "true", "$default": "false"}}}));
    assert!(check(&p, "todos", Action::Delete, None, &todo()));
    assert!(!check(&p, "todos", Action::View, None, &todo()));
    // 4. $default.allow.$default
    let p = perms(json!({"$default": {"allow": {"$default": "false"}}}));
    assert!(!check(&p, "goals", Action::Create, None, &todo()));
    // 5. fallback: user namespaces allowed
    let p = perms(json!({}));
    for a in [Action::View, Action::Create, Action::Update, Action::Delete] {
        assert!(check(&p, "todos", a, None, &todo()));
    }
    assert_eq!(
        p.program_info("todos", &Action::View).unwrap(),
        None,
        "no rule at all for user namespaces"
    );
    let p = perms(json!({"todos": {"allow": {"$default": "false"}}}));
    assert_eq!(
        p.program_info("todos", &Action::View)
            .unwrap()
            .unwrap()
            .path,
        path(&["todos", "allow", "$default"])
    );
}

#[test]
fn system_namespace_defaults() {
    let p = perms(json!(null));
    let me = user();
    let other = json!({"id": "11111111-1111-4111-8111-111111111111"});
    // $users: view/update only yourself
    assert!(check(&p, "$users", Action::View, Some(&me), &me));
    assert!(check(&p, "$users", Action::Update, Some(&me), &me));
    assert!(!check(&p, "$users", Action::View, Some(&me), &other));
    assert!(!check(&p, "$users", Action::View, None, &me));
    // ...or the guest user linked to you as primary user
    let guest = json!({"id": "22222222-2222-4222-8222-222222222222", "linkedPrimaryUser": USER_ID});
    assert!(check(&p, "$users", Action::View, Some(&me), &guest));
    assert!(!check(&p, "$users", Action::Delete, Some(&me), &me));
    assert!(!check(&p, "$users", Action::Create, Some(&me), &me));
    // $files: everything false
    let file = json!({"id": TODO_ID, "path": "a.png"});
    for a in [Action::View, Action::Create, Action::Update, Action::Delete] {
        assert!(!check(&p, "$files", a, Some(&me), &file));
    }
    // other system namespaces disallowed
    assert!(!check(&p, "$magicCodes", Action::View, Some(&me), &file));
    assert_eq!(
        p.program_info("$streams", &Action::View)
            .unwrap()
            .unwrap()
            .path,
        path(&["$streams", "fallback", "view"])
    );
    // rules override the fallback, including through $default
    let p = perms(json!({"$files": {"allow": {"view": "true"}}}));
    assert!(check(&p, "$files", Action::View, None, &file));
    let p = perms(json!({"$default": {"allow": {"view": "true"}}}));
    assert!(check(&p, "$users", Action::View, None, &other));
}

#[test]
fn json_booleans_are_rules() {
    let p = perms(
        json!({"todos": {"allow": {"view": true, "create": false}, "fields": {"title": false}}}),
    );
    assert!(check(&p, "todos", Action::View, None, &todo()));
    assert!(!check(&p, "todos", Action::Create, None, &todo()));
    let view = Action::View;
    let t = todo();
    let ctx = RuleContext::new("todos", &view, &NoRefs).data(&t);
    assert!(!p.field_visible("title", &ctx).unwrap());
    assert_eq!(
        p.program_info("todos", &Action::View)
            .unwrap()
            .unwrap()
            .code,
        "true"
    );
}

#[test]
fn binds_array_and_object_forms() {
    let array = perms(json!({"todos": {
        "bind": ["isOwner", "auth.id != null && auth.id == data.ownerId"],
        "allow": {"view": "isOwner"}}}));
    let object = perms(json!({"todos": {
        "bind": {"isOwner": "auth.id != null && auth.id == data.ownerId"},
        "allow": {"view": "isOwner"}}}));
    for p in [&array, &object] {
        assert!(check(p, "todos", Action::View, Some(&user()), &todo()));
        assert!(!check(p, "todos", Action::View, None, &todo()));
    }
    assert_eq!(
        array
            .program_info("todos", &Action::View)
            .unwrap()
            .unwrap()
            .code,
        "cel.bind(isOwner, auth.id != null && auth.id == data.ownerId, isOwner)"
    );
}

#[test]
fn binds_can_reference_binds_and_unused_binds_are_dropped() {
    // rule_test.clj `binds-can-reference-other-binds` / `ignores-unused-binds`
    let p = perms(json!({"myetype": {
        "bind": ["parent", "true", "child", "parent || true"],
        "allow": {"view": "child", "update": "true", "delete": "parent"}}}));
    let info = |a| p.program_info("myetype", &a).unwrap().unwrap().code;
    assert_eq!(
        info(Action::View),
        "cel.bind(parent, true, cel.bind(child, parent || true, child))"
    );
    assert_eq!(info(Action::Update), "true");
    assert_eq!(info(Action::Delete), "cel.bind(parent, true, parent)");
    assert!(check(&p, "myetype", Action::View, None, &todo()));
}

#[test]
fn default_binds_are_visible_everywhere_and_namespace_binds_win() {
    let p = perms(json!({
        "$default": {"bind": ["isLoggedIn", "auth.id != null", "flag", "false"],
                     "allow": {"$default": "isLoggedIn"}},
        "todos": {"bind": ["flag", "true"], "allow": {"view": "flag && isLoggedIn"}}
    }));
    assert!(check(&p, "goals", Action::View, Some(&user()), &todo()));
    assert!(!check(&p, "goals", Action::View, None, &todo()));
    assert!(check(&p, "todos", Action::View, Some(&user()), &todo()));
}

#[test]
fn bind_validation() {
    assert_eq!(
        issues(json!({"myetype": {"bind": ["duplicate"], "allow": {"view": "true"}}})),
        vec![(
            "bind should have an even number of elements".to_string(),
            path(&["myetype", "bind"])
        )]
    );
    assert_eq!(
        issues(
            json!({"myetype": {"bind": ["duplicate", "true", "duplicate", "false"],
                                  "allow": {"view": "duplicate"}}})
        ),
        vec![(
            "bind should only contain a given variable name once".to_string(),
            path(&["myetype", "bind", "duplicate"])
        )]
    );
    // The programmatic form is checked too.
    let rules = Rules::new().namespace(
        "todos",
        NamespaceRules::new().bind("a", "true").bind("a", "false"),
    );
    assert!(matches!(
        Permissions::compile(&rules),
        Err(RuleError::Invalid(_))
    ));
    // rule_test.clj `does-not-allow-cyclic-dependencies`
    assert_eq!(
        issues(json!({"myetype": {"bind": ["a", "b", "b", "a"], "allow": {"view": "a"}}})),
        vec![(
            "The binds have a cyclic dependency a -> b -> a".to_string(),
            path(&["myetype", "allow", "view"])
        )]
    );
    // Instant starts the reported cycle wherever its hash set starts; we
    // start at the first bind the rule uses.
    assert_eq!(
        issues(
            json!({"myetype": {"bind": ["a", "b", "b", "c", "c", "d", "d", "e", "e", "a"],
                                  "allow": {"view": "e"}}})
        )[0]
        .0,
        "The binds have a cyclic dependency e -> a -> b -> c -> d -> e"
    );
}

#[test]
fn syntax_and_reference_errors_carry_cel_messages_and_paths() {
    let errs = issues(json!({"todos": {"allow": {"view": "data.title ==", "create": "true"}}}));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].1, path(&["todos", "allow", "view"]));
    assert!(!errs[0].0.is_empty());
    let errs = issues(json!({"todos": {"fields": {"email": "auth.id =="}}}));
    assert_eq!(errs[0].1, path(&["todos", "fields", "email"]));
    assert_eq!(
        issues(json!({"todos": {"allow": {"view": "isOwner"}}})),
        vec![(
            "undeclared reference to 'isOwner' (in container '')".to_string(),
            path(&["todos", "allow", "view"])
        )]
    );
    // newData only exists for create/update (cel.clj `action->compiler`)
    assert_eq!(
        issues(json!({"todos": {"allow": {"view": "newData.x == 1", "update": "newData.x == 1"}}}))
            .len(),
        1
    );
    // cel.clj `auth-ref-validator`, rule_test.clj `invalid-auth-ref-fails`
    assert_eq!(
        issues(json!({"myetype": {"allow": {"view": "1 in auth.ref('$users.id')"}}})),
        vec![(
            "auth.ref arg must start with `$user.`".to_string(),
            path(&["myetype", "allow", "view"])
        )]
    );
    // The whole error renders like Instant's validation-failed body.
    let err = Permissions::from_json(&json!({"todos": {"allow": {"view": "nope"}}})).unwrap_err();
    let api = err.to_api_error("rule", json!({}));
    let body = api.to_body();
    assert_eq!(body["type"], "validation-failed");
    assert_eq!(body["hint"]["data-type"], "rule");
    assert_eq!(
        body["hint"]["errors"][0]["in"],
        json!(["todos", "allow", "view"])
    );
}

#[test]
fn reserved_namespaces_and_users_restrictions() {
    // rule_test.clj `cant-write-rules-for-system-attrs`
    let errs = issues(json!({"$codes": {"allow": {"update": "true"}}}));
    let msg =
        "The $codes namespace is a reserved internal namespace that does not yet support rules.";
    assert_eq!(
        errs,
        ["view", "create", "update", "delete"]
            .iter()
            .map(|a| (msg.to_string(), path(&["$codes", "allow", a])))
            .collect::<Vec<_>>()
    );
    // rule_test.clj `can-only-create-view-update-rules-for-users`
    assert_eq!(
        issues(json!({"$users": {"allow": {"delete": "true"}}})),
        vec![(
            "The $users namespace doesn't support permissions for delete. Set `$users.allow.delete` to `\"false\"`.".to_string(),
            path(&["$users", "allow", "delete"])
        )]
    );
    assert!(Permissions::from_json(
        &json!({"$users": {"allow": {"delete": "false", "view": "true"}}})
    )
    .is_ok());
    assert!(
        Permissions::from_json(&json!({"$files": {"allow": {"view": "true"}},
        "$streams": {"allow": {"view": "true"}},
        "$rooms": {"chat": {"allow": {"join": "true"}}},
        "$rateLimits": {"perUser": {"limits": [{"capacity": 10}]}}}))
        .is_ok()
    );
    // rule_test.clj `fields-cannot-set-id`
    assert_eq!(
        issues(json!({"myetype": {"fields": {"id": "1 + 1"}}})),
        vec![(
            "You cannot set field rules for `id`. Use myetype -> allow -> view instead".to_string(),
            path(&["myetype", "fields"])
        )]
    );
}

#[test]
fn fields_rules() {
    let p = perms(
        json!({"$users": {"fields": {"email": "auth.id == data.id"}},
                          "todos": {"bind": ["me", "auth.id == data.ownerId"], "fields": {"title": "me"}}}),
    );
    let me = user();
    let other = json!({"id": "11111111-1111-4111-8111-111111111111", "email": "x@y.z"});
    let view = Action::View;
    let ctx = RuleContext::new("$users", &view, &NoRefs)
        .auth(Some(&me))
        .data(&me);
    assert!(p.field_visible("email", &ctx).unwrap());
    let ctx = RuleContext::new("$users", &view, &NoRefs)
        .auth(Some(&me))
        .data(&other);
    assert!(!p.field_visible("email", &ctx).unwrap());
    assert!(
        p.field_visible("imageURL", &ctx).unwrap(),
        "no rule → visible"
    );
    assert!(p.has_field_rules("$users"));
    assert!(!p.has_field_rules("goals"));
    let t = todo();
    let ctx = RuleContext::new("todos", &view, &NoRefs)
        .auth(Some(&me))
        .data(&t);
    assert!(
        p.field_visible("title", &ctx).unwrap(),
        "binds work in fields"
    );
    let ctx = RuleContext::new("todos", &view, &NoRefs).data(&t);
    assert!(!p.field_visible("title", &ctx).unwrap());
}

#[test]
fn rule_params() {
    let p = perms(
        json!({"docs": {"allow": {"view": "data.secret == ruleParams.secret",
                                             "delete": "ruleParams.knownDocId == data.id"}}}),
    );
    let doc = json!({"id": TODO_ID, "secret": "s3"});
    let view = Action::View;
    let good = json!({"secret": "s3"});
    let bad = json!({"secret": "nope"});
    let c = |params: Option<&Value>| {
        p.check(
            &RuleContext::new("docs", &view, &NoRefs)
                .data(&doc)
                .rule_params(params),
        )
        .unwrap()
    };
    assert!(c(Some(&good)));
    assert!(!c(Some(&bad)));
    assert!(!c(None), "missing params read as null");
    let del = Action::Delete;
    let known = json!({"knownDocId": TODO_ID});
    assert!(p
        .check(
            &RuleContext::new("docs", &del, &NoRefs)
                .data(&doc)
                .rule_params(Some(&known))
        )
        .unwrap());
}

#[test]
fn new_data_versus_data() {
    let p = perms(json!({"todos": {"allow": {
        "update": "data.ownerId == newData.ownerId && newData.count > data.count",
        "create": "data.title == newData.title && newData.count < 10 && request.modifiedFields == ['title', 'count']"}}}));
    let before = todo();
    let after = json!({"id": TODO_ID, "ownerId": USER_ID, "title": "t", "count": 4});
    let stolen = json!({"id": TODO_ID, "ownerId": "someone", "title": "t", "count": 4});
    let update = Action::Update;
    let c = |new: &Value| {
        p.check(
            &RuleContext::new("todos", &update, &NoRefs)
                .data(&before)
                .new_data(new),
        )
        .unwrap()
    };
    assert!(c(&after));
    assert!(!c(&stolen));
    // create: data == newData == the created entity
    let create = Action::Create;
    let fields = vec!["title".to_string(), "count".to_string()];
    let ctx = RuleContext::new("todos", &create, &NoRefs)
        .data(&after)
        .modified_fields(&fields);
    assert!(p.check(&ctx).unwrap());
    let big = json!({"id": TODO_ID, "title": "t", "count": 40});
    let ctx = RuleContext::new("todos", &create, &NoRefs)
        .data(&big)
        .modified_fields(&fields);
    assert!(!p.check(&ctx).unwrap());
}

#[test]
fn missing_keys_are_null_and_null_denies() {
    let p = perms(json!({"todos": {"allow": {
        "view": "data.nope == null && data.meta.deep.deeper == null",
        "update": "data.nope",
        "create": "'anything'"}}}));
    let t = json!({"id": TODO_ID, "meta": {"deep": {}}});
    assert!(check(&p, "todos", Action::View, None, &t));
    // a null result denies; any other non-false value allows (Instant's `(boolean result)`)
    assert!(!check(&p, "todos", Action::Update, None, &t));
    assert!(check(&p, "todos", Action::Create, None, &t));
}

#[test]
fn runtime_errors_are_evaluation_errors() {
    let p = perms(json!({"todos": {"allow": {"view": "data.title < {}"}}}));
    let view = Action::View;
    let t = todo();
    let err = p
        .check(&RuleContext::new("todos", &view, &NoRefs).data(&t))
        .unwrap_err();
    match &err {
        RuleError::Evaluation {
            namespace, action, ..
        } => {
            assert_eq!(namespace, "todos");
            assert_eq!(action, "view");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with("Could not evaluate permission rule for `todos.view`."));
    assert_eq!(
        err.to_api_error("rule", Value::Null).to_body()["type"],
        "permission-evaluation-failed"
    );
}

/// A fake store: records calls and answers from a table.
struct FakeRefs {
    calls: RefCell<Vec<(String, String, String)>>,
}

impl RefResolver for FakeRefs {
    fn resolve(&self, ns: &str, id: Id, path: &str) -> Vec<Value> {
        self.calls
            .borrow_mut()
            .push((ns.to_string(), id.to_string(), path.to_string()));
        match (ns, path) {
            ("todos", "owner.id") => vec![json!(USER_ID)],
            ("todos", "owner.email") => vec![json!("a@b.c"), json!("b@b.c")],
            ("$users", "teams.name") => vec![json!("admins")],
            ("goals", "todos.title") => vec![json!("t")],
            _ => vec![],
        }
    }
}

#[test]
fn data_ref_and_auth_ref_through_resolver() {
    let p = perms(json!({"todos": {
        "bind": ["isOwner", "auth.id in data.ref('owner.id')"],
        "allow": {"view": "isOwner",
                  "update": "'admins' in auth.ref('$user.teams.name') && size(data.ref('owner.email')) == 2",
                  "delete": "size(data.ref('nothing.here')) == 0"}}}));
    let refs = FakeRefs {
        calls: RefCell::new(Vec::new()),
    };
    let me = user();
    let t = todo();
    let view = Action::View;
    let ctx = RuleContext::new("todos", &view, &refs)
        .auth(Some(&me))
        .data(&t);
    assert!(p.check(&ctx).unwrap());
    assert_eq!(
        refs.calls.borrow().as_slice(),
        &[(
            "todos".to_string(),
            TODO_ID.to_string(),
            "owner.id".to_string()
        )]
    );
    let other = json!({"id": "11111111-1111-4111-8111-111111111111"});
    let ctx = RuleContext::new("todos", &view, &refs)
        .auth(Some(&other))
        .data(&t);
    assert!(!p.check(&ctx).unwrap());
    let update = Action::Update;
    let ctx = RuleContext::new("todos", &update, &refs)
        .auth(Some(&me))
        .data(&t)
        .new_data(&t);
    assert!(p.check(&ctx).unwrap());
    assert!(refs.calls.borrow().contains(&(
        "$users".to_string(),
        USER_ID.to_string(),
        "teams.name".to_string()
    )));
    // a guest's auth.ref is [] (cel.clj `ref-impl` with a null id)
    let ctx = RuleContext::new("todos", &update, &refs)
        .data(&t)
        .new_data(&t);
    assert!(!p.check(&ctx).unwrap());
    let delete = Action::Delete;
    let ctx = RuleContext::new("todos", &delete, &refs).data(&t);
    assert!(p.check(&ctx).unwrap());
    // non-literal ref arguments are rejected at compile time
    assert_eq!(
        issues(json!({"todos": {"allow": {"view": "auth.id in data.ref(ruleParams.p)"}}}))[0].0,
        "the argument of data.ref must be a string literal, e.g. data.ref('owner.id')"
    );
}

#[test]
fn link_rules_per_label() {
    let p = perms(json!({"goals": {"allow": {
        "link": {"todos": "linkedData.title == 't' && newData.id == data.id", "$default": "false"},
        "unlink": {"todos": "auth.id != null"}}}}));
    assert!(p.has_link_rule("goals", "todos", false));
    assert!(p.has_link_rule("goals", "owner", false), "$default label");
    assert!(!p.has_link_rule("goals", "owner", true));
    assert!(!p.has_link_rule("todos", "goals", false));
    let goal = json!({"id": TODO_ID});
    let t = todo();
    let link = Action::Link("todos".into());
    let ctx = RuleContext::new("goals", &link, &NoRefs)
        .data(&goal)
        .new_data(&goal)
        .linked_data("todos", &t);
    assert!(p.check(&ctx).unwrap());
    let owner = Action::Link("owner".into());
    let ctx = RuleContext::new("goals", &owner, &NoRefs)
        .data(&goal)
        .linked_data("todos", &t);
    assert!(!p.check(&ctx).unwrap());
    let unlink = Action::Unlink("todos".into());
    let ctx = RuleContext::new("goals", &unlink, &NoRefs)
        .data(&goal)
        .linked_data("todos", &t);
    assert!(!p.check(&ctx).unwrap());
    assert!(p.check(&ctx.auth(Some(&user()))).unwrap());
    // no link rule → allowed here; the caller checks update + view instead
    let ctx = RuleContext::new("todos", &link, &NoRefs).data(&t);
    assert!(p.check(&ctx).unwrap());
    assert_eq!(
        issues(json!({"goals": {"allow": {"link": {"todos": "data.x =="}}}}))[0].1,
        path(&["goals", "allow", "link", "todos"])
    );
}

#[test]
fn attrs_create_rule_and_standard_cel() {
    let p = perms(json!({"attrs": {"allow": {"create": "false"}},
                          "todos": {"allow": {"view": "data.title.startsWith('t') && data.title.upperAscii() == 'T' && [1, 2].exists(x, x == data.count - 1) && cel.bind(x, 2, x * 2 == 4) && math.greatest(1, 2) == 2"}}}));
    assert!(!check(
        &p,
        "attrs",
        Action::Create,
        None,
        &json!({"id": TODO_ID})
    ));
    let t = json!({"id": TODO_ID, "title": "t", "count": 3});
    assert!(check(&p, "todos", Action::View, None, &t));
}

#[test]
fn compiled_once_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Permissions>();
    let p = perms(json!({"todos": {"allow": {"view": "data.count > 1"}}}));
    let view = Action::View;
    let rows: Vec<Value> = (0..2000)
        .map(|i| json!({"id": TODO_ID, "count": i}))
        .collect();
    let visible = rows
        .iter()
        .filter(|r| {
            p.check(&RuleContext::new("todos", &view, &NoRefs).data(r))
                .unwrap()
        })
        .count();
    assert_eq!(visible, 1998);
}

#[test]
fn map_introspection_follows_instant_cel_map() {
    // Instant's CelMap answers every key-presence question with true
    // (`containsKey` is overridden in cel.clj), so `has` and `in` are true.
    let p = perms(json!({"todos": {"allow": {
        "view": "has(data.nope) && 'nope' in data && size(data) == 2 && type(data) == map",
        "update": "data.tags.exists(t, t == 'a') && 'b' in data.tags && size(data.tags) == 2 && data.meta == {'k': 1}"}}}));
    let t = json!({"id": TODO_ID, "tags": ["a", "b"]});
    assert!(check(&p, "todos", Action::View, None, &t));
    let t2 = json!({"id": TODO_ID, "tags": ["a", "b"], "meta": {"k": 1}});
    assert!(check(&p, "todos", Action::Update, None, &t2));
    assert_eq!(
        issues(json!({"todos": {"allow": {"create": "rateLimit.perUser.limit(auth.id)"}}}))[0].0,
        "rateLimit is not supported by instant-local: remove it from the rule"
    );
}

#[test]
fn default_rules_are_checked_when_compiled_and_when_used() {
    assert_eq!(
        issues(json!({"todos": {"allow": {"$default": "data.x =="}}}))[0].1,
        path(&["todos", "allow", "$default"])
    );
    // `newData` is fine for create/update through `$default`, but a view
    // through the same rule cannot compile: reported when used.
    let p = perms(json!({"$default": {"allow": {"$default": "newData.ok == true"}}}));
    let created = json!({"id": TODO_ID, "ok": true});
    assert!(check(&p, "todos", Action::Create, None, &created));
    let view = Action::View;
    let err = p
        .check(&RuleContext::new("todos", &view, &NoRefs).data(&created))
        .unwrap_err();
    assert_eq!(
        err.issues()[0].message,
        "undeclared reference to 'newData' (in container '')"
    );
    assert_eq!(
        err.issues()[0].path,
        path(&["$default", "allow", "$default"])
    );
}
