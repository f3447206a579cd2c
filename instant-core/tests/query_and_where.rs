//! InstaQL: every `$` option and every where operator encodes to the spelling of
//! `instaql.md` §2–§3 and decodes back; the server's validation messages come out
//! as typed errors.

use instant_core::{Cursor, Error, Op, Order, Query, QueryNode, QueryOptions, Where};
use serde_json::{json, Value};

const E: &str = "33333333-3333-4333-8333-333333333333";
const A: &str = "44444444-4444-4444-8444-444444444444";

fn roundtrip(q: &Query) -> Value {
    let j = q.to_json();
    let back = Query::from_json(&j).unwrap_or_else(|e| panic!("{j} did not decode: {e}"));
    assert_eq!(&back, q, "decode(encode(q)) != q for {j}");
    q.validate().unwrap();
    j
}

#[test]
fn json_comparison_ignores_key_order() {
    // The golden tests compare `Value`s; pin that this is key-order free even
    // with serde_json's `preserve_order`.
    assert_eq!(json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1}));
}

#[test]
fn every_dollar_option_has_its_wire_name() {
    let cursor = Cursor(json!([E, A, E, 1700000000000_i64]));
    let q = Query::new().ns(
        "goals",
        QueryNode::new()
            .filter(Where::eq("title", "Get fit"))
            .order(Order::asc("serverCreatedAt"))
            .first(5)
            .offset(2)
            .after(cursor.clone(), true)
            .before(cursor.clone(), true)
            .fields(["title", "status"]),
    );
    let j = roundtrip(&q);
    assert_eq!(
        j,
        json!({"goals": {"$": {
            "where": {"title": "Get fit"},
            "order": {"serverCreatedAt": "asc"},
            "first": 5, "offset": 2,
            "after": [E, A, E, 1700000000000_i64], "afterInclusive": true,
            "before": [E, A, E, 1700000000000_i64], "beforeInclusive": true,
            "fields": ["title", "status"]}}})
    );
    let last = Query::new().ns("goals", QueryNode::new().last(3).before(cursor, false));
    assert_eq!(
        roundtrip(&last)["goals"]["$"],
        json!({"last": 3, "before": [E, A, E, 1700000000000_i64]})
    );
    let count = Query::new().ns("goals", QueryNode::new().count());
    assert_eq!(
        roundtrip(&count)["goals"]["$"],
        json!({"aggregate": "count"})
    );
}

#[test]
fn nested_levels_and_empty_nodes() {
    let q = Query::new()
        .ns(
            "goals",
            QueryNode::new().child(
                "todos",
                QueryNode::new()
                    .filter(Where::eq("done", false))
                    .order(Order::desc("title"))
                    .limit(1)
                    .child("owner", QueryNode::new()),
            ),
        )
        .ns("$users", QueryNode::new());
    assert_eq!(
        roundtrip(&q),
        json!({"goals": {"todos": {"$": {"where": {"done": false}, "order": {"title": "desc"}, "limit": 1},
                                  "owner": {}}},
               "$users": {}})
    );
}

#[test]
fn every_where_operator_spelling() {
    let cases: Vec<(Where, Value)> = vec![
        (Where::eq("title", "A"), json!({"title": "A"})),
        (Where::eq("n", 2.5), json!({"n": 2.5})),
        (Where::eq("done", true), json!({"done": true})),
        (
            Where::eq("id", instant_core::Id::parse(E).unwrap()),
            json!({"id": E}),
        ),
        (
            Where::is_in("title", ["a", "b"]),
            json!({"title": {"$in": ["a", "b"]}}),
        ),
        (
            Where::ne("location", "work"),
            json!({"location": {"$ne": "work"}}),
        ),
        (
            Where::is_null("location", true),
            json!({"location": {"$isNull": true}}),
        ),
        (
            Where::is_null("owner", false),
            json!({"owner": {"$isNull": false}}),
        ),
        (Where::gt("n", 1), json!({"n": {"$gt": 1}})),
        (Where::gte("n", 1), json!({"n": {"$gte": 1}})),
        (
            Where::lt("due", "2024-11-26T15:25:00.054Z"),
            json!({"due": {"$lt": "2024-11-26T15:25:00.054Z"}}),
        ),
        (Where::lte("n", -3), json!({"n": {"$lte": -3}})),
        (
            Where::like("title", "Get%"),
            json!({"title": {"$like": "Get%"}}),
        ),
        (
            Where::ilike("todos.title", "%stand%"),
            json!({"todos.title": {"$ilike": "%stand%"}}),
        ),
        (
            Where::eq("goals.title", "Get promoted!"),
            json!({"goals.title": "Get promoted!"}),
        ),
        (
            Where::eq("title", "Code") | Where::eq("title", "Review"),
            json!({"or": [{"title": "Code"}, {"title": "Review"}]}),
        ),
        (
            Where::eq("completed", true) & Where::eq("goals.title", "Get promoted!"),
            json!({"completed": true, "goals.title": "Get promoted!"}),
        ),
    ];
    for (w, wire) in cases {
        assert_eq!(w.to_json(), wire);
        w.validate().unwrap();
        let back = Where::from_json(&wire).unwrap();
        assert_eq!(back.to_json(), wire, "re-encoding {wire}");
    }
}

#[test]
fn two_conditions_on_one_path_are_wrapped_in_and() {
    // instaql.md §3.2: the server honours one operator per object, so a range
    // must be written as `and`.
    let w = Where::gt("n", 1) & Where::lt("n", 5);
    assert_eq!(
        w.to_json(),
        json!({"n": {"$gt": 1}, "and": [{"n": {"$lt": 5}}]})
    );
    let three = Where::gt("n", 1) & Where::lt("n", 5) & Where::ne("n", 3);
    assert_eq!(
        three.to_json(),
        json!({"n": {"$gt": 1}, "and": [{"n": {"$lt": 5}}, {"n": {"$ne": 3}}]})
    );
    // Two `or`s cannot share one object either.
    let ors = (Where::eq("a", 1) | Where::eq("b", 2)) & (Where::eq("c", 3) | Where::eq("d", 4));
    assert_eq!(
        ors.to_json(),
        json!({"or": [{"a": 1}, {"b": 2}], "and": [{"or": [{"c": 3}, {"d": 4}]}]})
    );
    // Decoding the wrapped form keeps both conditions.
    let back = Where::from_json(&w.to_json()).unwrap();
    let Where::And(items) = back else {
        panic!("expected and")
    };
    assert_eq!(items.len(), 2);
}

#[test]
fn same_path_twice_in_or_branches_stays_separate() {
    // instaql.md §3.1: `and` of two conditions on a dotted path means "has a todo
    // titled A and a (possibly different) todo titled B".
    let w = Where::all([Where::eq("todos.title", "A"), Where::eq("todos.title", "B")]);
    assert_eq!(
        w.to_json(),
        json!({"todos.title": "A", "and": [{"todos.title": "B"}]})
    );
}

#[test]
fn paths_named_and_or_are_attributes_unless_arrays() {
    // instaql.md §3.1: a key `or`/`and` whose value is not an array is a path.
    let w = Where::from_json(&json!({"or": "x"})).unwrap();
    assert_eq!(
        w,
        Where::Cond(instant_core::Cond {
            path: "or".into(),
            op: Op::Eq(json!("x"))
        })
    );
    // The encoder never lets such a path collide with the combinator.
    let built = Where::eq("or", "x") & Where::eq("and", 1);
    let j = built.to_json();
    assert_eq!(j, json!({"and": [{"or": "x"}, {"and": 1}]}));
    assert_eq!(Where::from_json(&j).unwrap().to_json(), j);
}

#[test]
fn operator_aliases_decode_to_canonical_operators() {
    // `in` is the legacy alias of `$in`; `$not` is the same operator as `$ne`.
    let w = Where::from_json(&json!({"t": {"in": ["a"]}})).unwrap();
    assert_eq!(w.to_json(), json!({"t": {"$in": ["a"]}}));
    let w = Where::from_json(&json!({"t": {"$not": "a"}})).unwrap();
    assert_eq!(w.to_json(), json!({"t": {"$ne": "a"}}));
    // `$in` may hold null (allowed by the server on indexed attributes).
    let w = Where::from_json(&json!({"t": {"$in": ["a", null]}})).unwrap();
    w.validate().unwrap();
}

#[test]
fn multi_operator_objects_read_like_the_server() {
    // One operator per object is honoured: `$isNull`, then `$ne`/`$not`, anywhere;
    // otherwise the first key.
    let w = Where::from_json(&json!({"n": {"$gt": 1, "$isNull": false}})).unwrap();
    assert_eq!(w.to_json(), json!({"n": {"$isNull": false}}));
    let w = Where::from_json(&json!({"n": {"$gt": 1, "$ne": 3}})).unwrap();
    assert_eq!(w.to_json(), json!({"n": {"$ne": 3}}));
    let w = Where::from_json(&json!({"n": {"$gt": 1, "$lt": 5}})).unwrap();
    assert_eq!(w.to_json(), json!({"n": {"$gt": 1}}));
}

#[test]
fn rule_params_decode_and_must_be_an_object() {
    let q = Query::from_json(&json!({"$$ruleParams": {"knownDocId": E}, "docs": {}})).unwrap();
    assert_eq!(q.rule_params.as_ref().unwrap()["knownDocId"], E);
    assert_eq!(q.namespaces.len(), 1);
    assert!(matches!(
        Query::from_json(&json!({"$$ruleParams": [1]})),
        Err(Error::InvalidQuery { .. })
    ));
}

fn query_err(v: Value) -> (Vec<String>, String) {
    match Query::from_json(&v) {
        Err(Error::InvalidQuery { path, message }) => (path, message),
        other => panic!("{v}: expected InvalidQuery, got {other:?}"),
    }
}

#[test]
fn server_validation_messages() {
    // Messages from instaql.md §2 and server/src/instant/db/instaql.clj.
    let cases: Vec<(Value, &[&str], &str)> = vec![
        (json!({"users": {"$": {"limit": -1}}}), &["users", "$", "limit"],
         "The limit field must be a positive integer. Got -1."),
        (json!({"users": {"$": {"first": 0}}}), &["users", "$", "first"],
         "The first field must be a positive integer. Got 0."),
        (json!({"users": {"$": {"limit": 10.0}}}), &["users", "$", "limit"],
         "The limit field must be a positive integer. Got 10.0."),
        (json!({"users": {"$": {"offset": -1}}}), &["users", "$", "offset"],
         "The offset field must be a non-negative integer. Got -1."),
        (json!({"users": {"$": {"limit": 1, "first": 2}}}), &["users", "$"],
         "Only provide one of `limit` or `first`."),
        (json!({"users": {"$": {"forgot-where": ["foo"]}}}), &["users", "$", "forgot-where"],
         "We only support `where`, `order`, `limit`, `offset`, `before`, and `after` clauses."),
        (json!({"users": {"$": {"before": 10}}}), &["users", "$", "before"],
         "Expected a join row for the cursor, got 10."),
        (json!({"users": {"$": {"after": [E, A]}}}), &["users", "$", "after"],
         "Expected a join row with 4 items for the cursor, got [\"33333333-3333-4333-8333-333333333333\",\"44444444-4444-4444-8444-444444444444\"]."),
        (json!({"users": {"$": {"after": [E, "x", 1, 2]}}}), &["users", "$", "after"],
         "Expected a join row with a uuid attribute id in the second position, got \"x\"."),
        (json!({"users": {"$": {"after": [E, A, 1, "t"]}}}), &["users", "$", "after"],
         "Expected a join row with an integer created_at in the last position, got \"t\"."),
        (json!({"users": {"$": {"order": {"a": "asc", "b": "desc"}}}}), &["users", "$", "order"],
         "We only support a single key in the `order` clause. Got a,b."),
        (json!({"users": {"$": {"order": {"serverCreatedAt": "DESC"}}}}), &["users", "$", "order"],
         "We only support \"asc\" or \"desc\" in the `order` clause. Got \"DESC\"."),
        (json!({"users": {"posts": {"$": {"offset": 1}}}}), &["users", "posts", "$"],
         "We currently only support `offset`, `before`, and `after` clauses on the top-level field. Limit fields will be ignored"),
        (json!({"users": {"$": {"fields": "title"}}}), &["users", "$", "fields"],
         "The `fields` property should be an array of field names."),
        (json!({"users": {"$": {"aggregate": "sum"}}}), &["users", "$", "aggregate"],
         "The aggregate field only accepts \"count\", got \"sum\"."),
        (json!({"users": {"$": {"aggregate": "count"}, "posts": {}}}), &["users"],
         "You can not combine aggregates with child queries at this time."),
        (json!({"users": {"$": {"where": {"or": []}}}}), &["users", "$", "where", "or"],
         "The list of `or` conditions can't be empty."),
        (json!({"users": {"$": {"where": {"and": []}}}}), &["users", "$", "where", "and"],
         "The list of `and` conditions can't be empty."),
        (json!({"users": {"$": {"where": ["foo"]}}}), &["users", "$", "where"], "expected map?"),
        (json!({"users": {"posts": 2}}), &["users", "posts"], "expected map?"),
        (json!(1), &[], "expected map?"),
    ];
    for (q, path, message) in cases {
        let (p, m) = query_err(q.clone());
        assert_eq!(p, path, "path for {q}");
        assert_eq!(m, message, "message for {q}");
    }
}

#[test]
fn unknown_where_operators_are_typed_errors() {
    for bad in [
        json!({"handle": {"is": "stopa"}}),
        json!({"handle": {"$regex": "x"}}),
        json!({"handle": {"$gt": 1, "$regex": "x"}}),
        json!({"bookshelves": {"books.title": "x"}}),
        json!({"id": {"$entityIdStartsWith": "abc"}}),
    ] {
        assert!(
            matches!(Where::from_json(&bad), Err(Error::UnknownOperator { .. })),
            "{bad}"
        );
        let q = json!({"users": {"$": {"where": bad}}});
        assert!(matches!(
            Query::from_json(&q),
            Err(Error::UnknownOperator { .. })
        ));
    }
}

#[test]
fn bad_where_operands_are_typed_errors() {
    for bad in [
        json!({"t": null}),
        json!({"t": [1, 2]}),
        json!({"t": {}}),
        json!({"t": {"$in": {}}}),
        json!({"t": {"$in": "a"}}),
        json!({"t": {"$in": [[1]]}}),
        json!({"t": {"$isNull": "a"}}),
        json!({"t": {"$ne": null}}),
        json!({"t": {"$gt": [1]}}),
        json!({"t": {"$like": 10}}),
        json!({"or": [1]}),
    ] {
        assert!(
            matches!(Where::from_json(&bad), Err(Error::InvalidQuery { .. })),
            "{bad}"
        );
    }
}

#[test]
fn builders_refuse_non_finite_numbers_and_non_scalars() {
    for w in [
        Where::eq("n", f64::NAN),
        Where::gt("n", f64::INFINITY),
        Where::is_in("n", [1.0, f64::NEG_INFINITY]),
    ] {
        assert!(matches!(w.validate(), Err(Error::NonFiniteNumber(_))));
        let q = Query::new().ns("goals", QueryNode::new().filter(w));
        assert!(q.validate().is_err());
    }
    for w in [
        Where::eq("meta", json!({"a": 1})),
        Where::eq("t", None::<String>),
        Where::lt("t", json!([1])),
    ] {
        assert!(
            matches!(w.validate(), Err(Error::InvalidQuery { .. })),
            "{w:?}"
        );
    }
    assert!(Where::any([]).validate().is_err());
    // An empty `and` matches everything and encodes as `{}`.
    assert_eq!(Where::all([]).to_json(), json!({}));
    Where::all([]).validate().unwrap();
}

#[test]
fn query_validate_reports_what_the_server_would_refuse() {
    let bad = [
        Query::new().ns("g", QueryNode::new().limit(0)),
        Query::new().ns("g", QueryNode::new().limit(1).first(1)),
        Query::new().ns("g", QueryNode::new().child("t", QueryNode::new().offset(1))),
        Query::new().ns("g", QueryNode::new().after(Cursor(json!(10)), false)),
        Query::new().ns("g", QueryNode::new().count().child("t", QueryNode::new())),
    ];
    for q in bad {
        assert!(q.validate().is_err(), "{}", q.to_json());
    }
}

#[test]
fn options_is_paginated_follows_page_info_rule() {
    // instaql.md §6: page info whenever limit/first/last/offset/before/after/order.
    assert!(!QueryOptions::default().is_paginated());
    let o = QueryNode::new()
        .order(Order::asc("serverCreatedAt"))
        .options;
    assert!(o.is_paginated());
    let o = QueryNode::new()
        .fields(["a"])
        .filter(Where::eq("a", 1))
        .options;
    assert!(!o.is_paginated());
}

#[test]
fn page_info_decodes_kebab_keys() {
    let info: instant_core::PageInfo = serde_json::from_value(json!({
        "start-cursor": [E, A, E, 1], "end-cursor": null,
        "has-next-page?": true, "has-previous-page?": false
    }))
    .unwrap();
    assert!(info.has_next_page && !info.has_previous_page);
    assert_eq!(info.start_cursor, Some(Cursor(json!([E, A, E, 1]))));
    assert_eq!(info.end_cursor, None);
}

#[test]
fn instaql_doc_examples_decode_and_reencode() {
    // instaql.md §3.4.
    for q in [
        json!({"todos": {"$": {"where": {"completed": true, "goals.title": "Get promoted!"}}}}),
        json!({"todos": {"$": {"where": {"or": [{"title": "Code a bunch"}, {"title": "Review PRs"}]}}}}),
        json!({"todos": {"$": {"where": {"title": {"$in": ["Code a bunch", "Review PRs"]}}}}}),
        json!({"todos": {"$": {"where": {"dueDate": {"$lte": "2024-11-26T15:25:00.054Z"}}}}}),
        json!({"todos": {"$": {"where": {"location": {"$ne": "work"}}}}}),
        json!({"todos": {"$": {"where": {"location": {"$isNull": true}}}}}),
        json!({"goals": {"$": {"where": {"todos.title": {"$ilike": "%stand%"}}}}}),
        json!({"todos": {"$": {"where": {"owner": E}}}}),
        json!({"goals": {"$": {"where": {"id": E}}, "todos": {}}}),
        json!({"goals": {"todos": {"$": {"where": {"title": "Run"}}}}}),
    ] {
        let parsed = Query::from_json(&q).unwrap();
        assert_eq!(parsed.to_json(), q);
    }
    // An explicit `and` whose members fit one object is re-encoded in the
    // shortest form that keeps one operator per path.
    let q = json!({"goals": {"$": {"where": {"and": [{"n": {"$gt": 1}}, {"n": {"$lt": 5}}]}}}});
    let once = Query::from_json(&q).unwrap().to_json();
    assert_eq!(
        once,
        json!({"goals": {"$": {"where": {"n": {"$gt": 1}, "and": [{"n": {"$lt": 5}}]}}}})
    );
    assert_eq!(Query::from_json(&once).unwrap().to_json(), once);
}
