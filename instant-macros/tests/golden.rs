//! Golden JSON tests: every typed builder produces exactly the untyped JSON it
//! should (compared with instant-core's untyped builders and literal JSON).

#[path = "fixtures/model.rs"]
mod model;

use instant_core::typed::{Filter, OrderBy, Transaction, TypedQuery};
use instant_core::{
    tx as utx, Date, Id, IntoSteps, Order, OrderDirection, QueryNode, UpdateOpts, Where,
};
use model::*;
use serde_json::json;

fn steps(t: impl IntoSteps) -> serde_json::Value {
    serde_json::Value::Array(
        t.into_steps()
            .unwrap()
            .iter()
            .map(|s| s.to_json())
            .collect(),
    )
}

#[test]
fn create_update_merge_delete_match_untyped() {
    let id = Id::new();
    let typed = tx::todos(id)
        .create(|a| a.set(todos::title, "Run").set(todos::done, false))
        .update(|a| a.set(todos::title, String::from("Walk")).unset(todos::due))
        .update_with(|a| a.set(todos::done, true), UpdateOpts::NO_UPSERT)
        .delete();
    let untyped = utx::entity("todos", id)
        .create(json!({"title": "Run", "done": false}))
        .update(json!({"title": "Walk", "due": null}))
        .update_with(json!({"done": true}), UpdateOpts::NO_UPSERT)
        .delete();
    assert_eq!(steps(typed), steps(untyped));
    assert_eq!(
        steps(tx::todos(id).update_with(|a| a.set(todos::done, true), UpdateOpts::NO_UPSERT)),
        json!([["update", "todos", id.to_string(), {"done": true}, {"upsert": false}]])
    );
}

#[test]
fn renamed_and_dates_and_json() {
    let id = Id::new();
    let d = Date::from_millis(1_700_000_000_000).unwrap();
    let got = steps(tx::todos(id).update(|a| {
        a.set(todos::created_at, d)
            .set(todos::meta, json!({"a": 1}))
            .set(todos::due, d.0)
    }));
    assert_eq!(
        got,
        json!([["update", "todos", id.to_string(), {
            "createdAt": "2023-11-14T22:13:20.000Z",
            "extra": {"a": 1},
            "due": "2023-11-14T22:13:20.000Z"
        }]])
    );
    let g = Id::new();
    assert_eq!(
        steps(tx::goals(g).merge(|m| m.set(goals::metrics, Metrics { progress: 0.5 }))),
        json!([["merge", "goals", g.to_string(), {"metrics": {"progress": 0.5}}]])
    );
    assert_eq!(
        steps(tx::goals(g).update(|a| {
            a.set(goals::metrics, Metrics { progress: 1.0 })
                .set(goals::priority, 3)
        })),
        json!([["update", "goals", g.to_string(), {"metrics": {"progress": 1.0}, "priority": 3}]])
    );
}

#[test]
fn links_and_lookups() {
    let (g, t1, t2) = (Id::new(), Id::new(), Id::new());
    assert_eq!(
        steps(
            tx::goals(g)
                .link(goals::todos, t1)
                .link(goals::todos, [t1, t2])
                .unlink(goals::todos, vec![t2])
        ),
        steps(
            utx::entity("goals", g)
                .link("todos", t1)
                .link("todos", [t1, t2])
                .unlink("todos", vec![t2])
        )
    );
    // Lookup as a link target: the encoded `lookup__attr__json` string.
    assert_eq!(
        steps(tx::todos(t1).link(todos::owner, users::email.lookup("a@b.co"))),
        json!([["link", "todos", t1.to_string(), {"owner": "lookup__email__\"a@b.co\""}]])
    );
    // Lookup in the entity slot: the `[attr, value]` pair, in the `$users` namespace.
    assert_eq!(
        steps(tx::users(users::email.lookup("a@b.co")).update(|a| a.set(users::name, "Lyndon"))),
        steps(utx::lookup("$users", "email", "a@b.co").update(json!({"name": "Lyndon"})))
    );
    assert_eq!(
        steps(tx::todos(todos::slug.lookup("run")).delete()),
        json!([["delete", "todos", ["slug", "run"], null]])
    );
    assert_eq!(
        steps(tx::todos(t1).rule_params(json!({"k": "v"}))),
        json!([["ruleParams", "todos", t1.to_string(), {"k": "v"}]])
    );
}

#[test]
fn whole_struct_writes_and_transactions() {
    let t = Todo {
        id: Id::new(),
        title: "Run".into(),
        done: false,
        created_at: Date::from_millis(0).unwrap(),
        due: None,
        slug: "run".into(),
        meta: None,
    };
    let got = steps(tx::todos(t.id).create_from(&t));
    assert_eq!(
        got,
        json!([["create", "todos", t.id.to_string(), {
            "title": "Run", "done": false, "createdAt": "1970-01-01T00:00:00.000Z",
            "due": null, "slug": "run", "extra": null
        }]])
    );
    let g = Id::new();
    let txn = Transaction::new()
        .add(tx::goals(g).create(|a| a.set(goals::title, "Get fit")))
        .add(tx::todos(t.id).update_from(&t))
        .add(tx::goals(g).link(goals::todos, t.id));
    let arr = txn.to_json().unwrap();
    assert_eq!(arr.as_array().unwrap().len(), 3);
    assert_eq!(
        arr[0],
        json!(["create", "goals", g.to_string(), {"title": "Get fit"}])
    );
    assert_eq!(
        arr[2],
        json!(["link", "goals", g.to_string(), {"todos": t.id.to_string()}])
    );
    // Errors surface when the steps are built, never as panics.
    let bad = tx::goals(g).update(|a| a.set(goals::priority, 1).set(goals::title, "x"));
    assert!(bad.into_steps().is_ok());
    let nan = tx::goals(g).merge(|m| m.set(goals::metrics, Metrics { progress: f64::NAN }));
    let _ = nan.into_steps(); // serde_json maps NaN to null: no panic either way
    let bad_raw = Transaction::new().push_raw(json!(["nope"]));
    assert!(bad_raw.into_steps().is_err());
}

#[test]
fn filters_match_untyped_where() {
    let f = |f: Filter<Todo>| f.to_json();
    assert_eq!(
        f(todos::title.eq("Run")),
        Where::eq("title", "Run").to_json()
    );
    assert_eq!(f(todos::title.ne("Run")), json!({"title": {"$ne": "Run"}}));
    assert_eq!(
        f(todos::title.is_in(["a", "b"])),
        json!({"title": {"$in": ["a", "b"]}})
    );
    assert_eq!(
        f(todos::due.is_null(true)),
        json!({"due": {"$isNull": true}})
    );
    assert_eq!(
        f(todos::created_at.gt(Date::from_millis(0).unwrap())),
        json!({"createdAt": {"$gt": "1970-01-01T00:00:00.000Z"}})
    );
    assert_eq!(f(todos::title.gte("a")), json!({"title": {"$gte": "a"}}));
    assert_eq!(f(todos::title.lt("a")), json!({"title": {"$lt": "a"}}));
    assert_eq!(f(todos::title.lte("a")), json!({"title": {"$lte": "a"}}));
    assert_eq!(
        f(todos::title.like("%un")),
        json!({"title": {"$like": "%un"}})
    );
    assert_eq!(
        f(todos::title.ilike("%UN")),
        json!({"title": {"$ilike": "%UN"}})
    );
    let id = Id::new();
    assert_eq!(f(todos::id.eq(id)), json!({"id": id.to_string()}));
    // Flatten rule: distinct paths merge into one object; `&` with all() is neutral.
    assert_eq!(
        f(todos::done.eq(false) & todos::title.eq("Run") & Filter::all()),
        json!({"done": false, "title": "Run"})
    );
    // Repeated paths and `or`.
    assert_eq!(
        f(todos::title.eq("a") | todos::title.eq("b")),
        json!({"or": [{"title": "a"}, {"title": "b"}]})
    );
    assert_eq!(
        f(todos::title.gt("a") & todos::title.lt("m")),
        (Where::gt("title", "a") & Where::lt("title", "m")).to_json()
    );
    // Dotted paths across links.
    let g: Filter<Goal> = goals::todos.dot(todos::title).like("%fit%");
    assert_eq!(g.to_json(), json!({"todos.title": {"$like": "%fit%"}}));
    let g: Filter<Goal> = goals::todos
        .then(todos::owner)
        .dot(users::email)
        .eq("a@b.co");
    assert_eq!(g.to_json(), json!({"todos.owner.email": "a@b.co"}));
    let g: Filter<Goal> = goals::todos.has(id);
    assert_eq!(g.to_json(), json!({"todos": id.to_string()}));
    // Raw escape hatch.
    assert_eq!(
        f(Filter::raw(json!({"x": {"$gt": 1}}))),
        json!({"x": {"$gt": 1}})
    );
    assert_eq!(
        f(Filter::any([todos::done.eq(true), todos::done.eq(false)])),
        json!({"or": [{"done": true}, {"done": false}]})
    );
}

#[test]
fn entity_query_is_select_all() {
    let q = Todo::query()
        .filter(todos::done.eq(false))
        .order(todos::created_at.desc())
        .limit(20)
        .offset(5)
        .to_query()
        .unwrap();
    let untyped = instant_core::Query::new().ns(
        "todos",
        QueryNode::new()
            .filter(Where::eq("done", false))
            .order(Order::desc("createdAt"))
            .limit(20)
            .offset(5),
    );
    assert_eq!(q.to_json(), untyped.to_json());
    assert_eq!(
        User::query().to_query().unwrap().to_json(),
        json!({"$users": {}})
    );
}

#[test]
fn select_struct_is_the_query() {
    let q = GoalCard::query()
        .filter(goals::todos.dot(todos::title).like("%fit%"))
        .nested(goals::todos, |n| {
            n.filter(todos::done.eq(false))
                .nested(todos::owner, |o| o.filter(users::email.like("%@x.com")))
        })
        .rule_params(json!({"k": 1}));
    let got = q.to_query().unwrap().to_json();
    assert_eq!(
        got,
        json!({
            "$$ruleParams": {"k": 1},
            "goals": {
                "$": {"where": {"todos.title": {"$like": "%fit%"}}, "fields": ["id", "title"]},
                "todos": {
                    // The order attribute is fetched with the selection: the
                    // server sorts by its value in the result (`sort-entries`).
                    "$": {"where": {"done": false}, "order": {"createdAt": "desc"}, "fields": ["id", "title", "createdAt"]},
                    "owner": {"$": {"where": {"email": {"$like": "%@x.com"}}, "fields": ["email"]}}
                }
            }
        })
    );
    // Same tree through the untyped path.
    let untyped = instant_core::Query::from_json(&got).unwrap();
    assert_eq!(untyped.to_json(), got);
}

#[test]
fn several_namespaces_in_one_round_trip() {
    let q = (
        GoalCard::query().limit(5),
        TodoLine::query().filter(todos::done.eq(true)),
    );
    let got = q.to_query().unwrap().to_json();
    assert_eq!(got["goals"]["$"]["limit"], json!(5));
    assert_eq!(
        got["todos"]["$"],
        json!({"where": {"done": true}, "fields": ["id", "title", "done"]})
    );
    // A namespace twice is refused before sending.
    let dup = (TodoLine::query(), Todo::query());
    let err = dup.to_query().unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
}

#[test]
fn invalid_values_fail_when_built() {
    let q =
        Goal::query().filter(goals::priority.eq(1) & Filter::raw(json!({"p": {"$regex": "x"}})));
    assert!(q.to_query().is_err());
    let q = Goal::query().filter(Filter::any([]));
    assert!(q.to_query().is_err());
    let q = Goal::query().rule_params(json!([1]));
    assert!(q.to_query().is_err());
    let o: OrderBy<Todo> = OrderBy::server_created_at(OrderDirection::Desc);
    let q = TodoLine::query().order(o).to_query().unwrap();
    assert_eq!(
        q.to_json()["todos"]["$"]["order"],
        json!({"serverCreatedAt": "desc"})
    );
}
