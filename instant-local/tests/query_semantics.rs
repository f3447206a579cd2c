//! InstaQL evaluation through `POST /admin/query`: where operators (including `$not`
//! / `$isNull` on missing values and links), dotted paths, and/or, comparison and
//! `$like` requirements with exact messages, ordering, pagination, fields, result
//! shapes (spec `instaql.md`, `semantics.md` §2–§4, §7).
mod common;
use common::env::*;
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn schema() -> Value {
    json!({
        "entities": {
            "items": {"attrs": {
                "name": {"valueType": "string", "config": {"unique": false, "indexed": true}, "required": false},
                "n": {"valueType": "number", "config": {"unique": false, "indexed": true}, "required": false},
                "plain": {"valueType": "number", "config": {"unique": false, "indexed": false}, "required": false},
                "any": {"valueType": "json", "config": {"unique": false, "indexed": true}, "required": false},
                "when": {"valueType": "date", "config": {"unique": false, "indexed": true}, "required": false},
                "flag": {"valueType": "boolean", "config": {"unique": false, "indexed": false}, "required": false},
                "tag": {"valueType": "json", "config": {"unique": false, "indexed": false}, "required": false}
            }},
            "groups": {"attrs": {
                "title": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false}
            }}
        },
        "links": {
            "itemsGroup": {"forward": {"on": "items", "has": "one", "label": "group"},
                            "reverse": {"on": "groups", "has": "many", "label": "items"}},
            "groupsOwner": {"forward": {"on": "groups", "has": "many", "label": "owners"},
                             "reverse": {"on": "people", "has": "many", "label": "groups"}}
        }
    })
}

struct Fixture {
    env: Env,
    items: Vec<String>,
    g1: String,
    g2: String,
}

/// items (created in order, one tx each):
/// 0: name "apple",  n 3,    tag "x",  when "2024-01-01", flag true,  group g1
/// 1: name "Banana", n 1,    tag 2013,                                 group g1
/// 2: name "cherry", n null,                                            group g2
/// 3: name "date",   n 10,   tag "2013", when 1704153600000 (2024-01-02)
/// 4: (nothing but id)
async fn fixture() -> Fixture {
    let env = Env::with_schema(schema()).await;
    let items: Vec<String> = (0..5).map(|_| id()).collect();
    let (g1, g2) = (id(), id());
    env.tx_ok(json!([["update", "groups", g1, {"title": "G1"}]]))
        .await;
    std::thread::sleep(std::time::Duration::from_millis(3));
    env.tx_ok(json!([["update", "groups", g2, {"title": "G2"}]]))
        .await;
    let attrs = [
        json!({"name": "apple", "n": 3, "tag": "x", "when": "2024-01-01T00:00:00Z", "flag": true}),
        json!({"name": "Banana", "n": 1, "tag": 2013}),
        json!({"name": "cherry", "n": null}),
        json!({"name": "date", "n": 10, "tag": "2013", "when": 1704153600000i64}),
        json!({}),
    ];
    for (i, a) in attrs.iter().enumerate() {
        std::thread::sleep(std::time::Duration::from_millis(3));
        env.tx_ok(json!([["update", "items", items[i], a]])).await;
    }
    env.tx_ok(json!([
        ["link", "items", items[0], {"group": g1}],
        ["link", "items", items[1], {"group": g1}],
        ["link", "items", items[2], {"group": g2}]
    ]))
    .await;
    Fixture { env, items, g1, g2 }
}

impl Fixture {
    async fn w(&self, w: Value) -> Vec<usize> {
        let r = self.env.query(json!({"items": {"$": {"where": w}}})).await;
        ids(&r["items"])
            .iter()
            .map(|i| self.items.iter().position(|x| x == i).expect("known id"))
            .collect()
    }
    async fn w_err(&self, w: Value) -> Value {
        self.env
            .query_err(json!({"items": {"$": {"where": w}}}))
            .await
    }
}

#[tokio::test]
async fn equality_and_in() {
    let f = fixture().await;
    assert_eq!(f.w(json!({"name": "apple"})).await, vec![0]);
    assert_eq!(f.w(json!({"tag": 2013})).await, vec![1]);
    assert_eq!(f.w(json!({"tag": "2013"})).await, vec![3]);
    assert_eq!(
        f.w(json!({"name": {"$in": ["apple", "date", "zzz"]}}))
            .await,
        vec![0, 3]
    );
    assert_eq!(f.w(json!({"name": {"$in": []}})).await, Vec::<usize>::new());
    assert_eq!(f.w(json!({"n": {"$in": [1, null]}})).await, vec![1, 2, 4]);
    assert_eq!(f.w(json!({"id": f.items[2]})).await, vec![2]);
    // indexed date: equality by instant
    assert_eq!(f.w(json!({"when": "2024-01-02"})).await, vec![3]);
    assert_eq!(f.w(json!({"when": 1704067200000i64})).await, vec![0]);
    // typed literal mismatch
    let b = f.w_err(json!({"n": "hello"})).await;
    assert_eq!(
        b["message"],
        "Validation failed for query: The data type of `items.n` is `number`, but the query got the value `\"hello\"` of type `string`."
    );
    let b = f.w_err(json!({"plain": {"$in": [1, null]}})).await;
    assert_eq!(
        b["message"],
        "Validation failed for query: Only indexed attrs can check for `nil` in `$in`. items.plain is not indexed."
    );
    // null literal is rejected
    let b = f.w_err(json!({"name": null})).await;
    assert_eq!(b["type"], "validation-failed");
}

#[tokio::test]
async fn not_and_is_null_include_missing() {
    let f = fixture().await;
    assert_eq!(
        f.w(json!({"name": {"$not": "apple"}})).await,
        vec![1, 2, 3, 4]
    );
    assert_eq!(f.w(json!({"n": {"$ne": 3}})).await, vec![1, 2, 3, 4]);
    assert_eq!(f.w(json!({"tag": {"$isNull": true}})).await, vec![2, 4]);
    assert_eq!(f.w(json!({"n": {"$isNull": true}})).await, vec![2, 4]);
    assert_eq!(f.w(json!({"n": {"$isNull": false}})).await, vec![0, 1, 3]);
    // links
    assert_eq!(f.w(json!({"group": {"$isNull": true}})).await, vec![3, 4]);
    assert_eq!(
        f.w(json!({"group": {"$isNull": false}})).await,
        vec![0, 1, 2]
    );
    assert_eq!(f.w(json!({"group": f.g1})).await, vec![0, 1]);
    assert_eq!(f.w(json!({"group.id": f.g2})).await, vec![2]);
    // dotted $not: missing link counts
    assert_eq!(
        f.w(json!({"group.title": {"$not": "G1"}})).await,
        vec![2, 3, 4]
    );
    assert_eq!(
        f.w(json!({"group.title": {"$isNull": true}})).await,
        vec![3, 4]
    );
    let b = f.w_err(json!({"group": "hello"})).await;
    assert_eq!(
        b["message"],
        "Validation failed for query: Expected group to be a uuid, got \"hello\""
    );
    let b = f.w_err(json!({"name.title": "x"})).await;
    assert_eq!(
        b["message"],
        "Validation failed for attr: items.name needs to be a link"
    );
}

#[tokio::test]
async fn comparisons_and_like() {
    let f = fixture().await;
    assert_eq!(f.w(json!({"n": {"$gt": 1}})).await, vec![0, 3]);
    assert_eq!(f.w(json!({"n": {"$gte": 1}})).await, vec![0, 1, 3]);
    assert_eq!(f.w(json!({"n": {"$lt": 10}})).await, vec![0, 1]);
    assert_eq!(f.w(json!({"n": {"$lte": 10}})).await, vec![0, 1, 3]);
    assert_eq!(f.w(json!({"name": {"$gt": "b"}})).await, vec![2, 3]);
    assert_eq!(
        f.w(json!({"when": {"$gt": "2024-01-01T12:00:00Z"}})).await,
        vec![3]
    );
    assert_eq!(
        f.w(json!({"and": [{"n": {"$gt": 1}}, {"n": {"$lt": 5}}]}))
            .await,
        vec![0]
    );
    assert_eq!(f.w(json!({"name": {"$like": "%an%"}})).await, vec![1]);
    assert_eq!(
        f.w(json!({"name": {"$like": "b%"}})).await,
        Vec::<usize>::new()
    );
    assert_eq!(f.w(json!({"name": {"$ilike": "b%"}})).await, vec![1]);
    assert_eq!(f.w(json!({"name": {"$like": "_pple"}})).await, vec![0]);
    let b = f.w_err(json!({"plain": {"$gt": 1}})).await;
    assert_eq!(b["message"], "Validation failed for query: The `items.plain` attribute must be indexed to use comparison operators.");
    let b = f.w_err(json!({"any": {"$gt": 1}})).await;
    assert_eq!(b["message"], "Validation failed for query: The `items.any` attribute must have an enforced type to use comparison operators.");
    let b = f.w_err(json!({"name": {"$like": 10}})).await;
    assert_eq!(b["message"], "Validation failed for query: The $like value for `items.name` must be a string, but the query got the value `10` of type `number`.");
    let b = f.w_err(json!({"n": {"$gt": "x"}})).await;
    assert_eq!(b["message"], "Validation failed for query: The data type of `items.n` is `number`, but the query got the value `\"x\"` of type `string`.");
    let b = f.w_err(json!({"name": {"$regex": "x"}})).await;
    assert_eq!(b["message"], "Validation failed for coerced-query");
}

#[tokio::test]
async fn and_or_and_unknowns() {
    let f = fixture().await;
    assert_eq!(
        f.w(json!({"or": [{"name": "apple"}, {"n": 10}]})).await,
        vec![0, 3]
    );
    assert_eq!(
        f.w(json!({"or": [{"name": "apple"}, {"n": 10}], "tag": "x"}))
            .await,
        vec![0]
    );
    assert_eq!(
        f.w(json!({"and": [{"group.title": "G1"}, {"n": {"$gt": 2}}]}))
            .await,
        vec![0]
    );
    // groups having an item named apple and an item named Banana (separate chains)
    let r = f.env.query(json!({"groups": {"$": {"where": {"and": [{"items.name": "apple"}, {"items.name": "Banana"}]}}}})).await;
    assert_eq!(ids(&r["groups"]), vec![f.g1.clone()]);
    let b = f.w_err(json!({"or": []})).await;
    assert_eq!(
        b["message"],
        "Validation failed for query: The list of `or` conditions can't be empty."
    );
    // unknown attr / namespace / child label: empty, not errors
    assert_eq!(f.w(json!({"nope": 1})).await, Vec::<usize>::new());
    assert_eq!(f.w(json!({"nope.x": 1})).await, Vec::<usize>::new());
    let r = f
        .env
        .query(json!({"nothing": {}, "groups": {"$": {"where": {"id": f.g2}}, "nolink": {}}}))
        .await;
    assert_eq!(
        r,
        json!({"nothing": [], "groups": [{"id": f.g2, "title": "G2", "nolink": []}]})
    );
}

#[tokio::test]
async fn ordering_and_pagination() {
    let f = fixture().await;
    let q = |o: Value| json!({"items": {"$": o}});
    // default order: serverCreatedAt asc
    let r = f.env.query(json!({"items": {}})).await;
    assert_eq!(ids(&r["items"]), f.items);
    let r = f
        .env
        .query(q(json!({"order": {"serverCreatedAt": "desc"}})))
        .await;
    let mut rev = f.items.clone();
    rev.reverse();
    assert_eq!(ids(&r["items"]), rev);
    // nulls first ascending (cherry: null, item 4: null written on create)
    let r = f.env.query(q(json!({"order": {"n": "asc"}}))).await;
    let got = field(&r["items"], "n");
    assert_eq!(got[..2], [Value::Null, Value::Null]);
    assert_eq!(got[2..], [json!(1), json!(3), json!(10)]);
    let r = f.env.query(q(json!({"order": {"n": "desc"}}))).await;
    assert_eq!(
        field(&r["items"], "n")[..3],
        [json!(10), json!(3), json!(1)]
    );
    let r = f
        .env
        .query(q(json!({"order": {"name": "asc"}, "limit": 2})))
        .await;
    // code-unit order: null (item 4) first, then "Banana" before "apple"
    assert_eq!(
        field(&r["items"], "name"),
        vec![Value::Null, json!("Banana")]
    );
    let r = f.env.query(q(json!({"limit": 2, "offset": 1}))).await;
    assert_eq!(ids(&r["items"]), f.items[1..3].to_vec());
    let r = f.env.query(q(json!({"last": 2}))).await;
    assert_eq!(ids(&r["items"]), f.items[3..5].to_vec());
    let b = f.env.query_err(q(json!({"order": {"plain": "asc"}}))).await;
    assert_eq!(b["message"], "Validation failed for query: The `items.plain` attribute is not indexed. Only indexed and typed attributes can be used to order by.");
    let b = f.env.query_err(q(json!({"order": {"any": "asc"}}))).await;
    assert_eq!(b["message"], "Validation failed for query: The `items.any` attribute is not typed. Only typed and indexed attributes can be used to order by.");
    let b = f.env.query_err(q(json!({"order": {"zzz": "asc"}}))).await;
    assert_eq!(
        b["message"],
        "Validation failed for query: There is no `zzz` attribute for items."
    );
    let b = f.env.query_err(q(json!({"order": {"n": "DESC"}}))).await;
    assert_eq!(b["message"], "Validation failed for query: We only support \"asc\" or \"desc\" in the `order` clause. Got \"DESC\".");
    let b = f.env.query_err(q(json!({"limit": -1}))).await;
    assert_eq!(
        b["message"],
        "Validation failed for query: The limit field must be a positive integer. Got -1."
    );
    let b = f.env.query_err(q(json!({"limit": 1, "first": 1}))).await;
    assert_eq!(
        b["message"],
        "Validation failed for query: Only provide one of `limit` or `first`."
    );
    let b = f
        .env
        .query_err(json!({"groups": {"items": {"$": {"offset": 1}}}}))
        .await;
    assert_eq!(b["message"], "Validation failed for query: We currently only support `offset`, `before`, and `after` clauses on the top-level field. Limit fields will be ignored");
    let b = f.env.query_err(q(json!({"bogus": 1}))).await;
    assert_eq!(b["message"], "Validation failed for query: We only support `where`, `order`, `limit`, `offset`, `before`, and `after` clauses.");
    // nested limit ignored; nested order applied
    let r = f.env.query(json!({"groups": {"$": {"where": {"id": f.g1}}, "items": {"$": {"limit": 1, "order": {"n": "desc"}}}}})).await;
    assert_eq!(
        ids(&r["groups"][0]["items"]),
        vec![f.items[0].clone(), f.items[1].clone()]
    );
}

#[tokio::test]
async fn cursors_via_subscription_page_info() {
    // Cursors come from page info; build them as the server does.
    let f = fixture().await;
    let r = f.env.query(json!({"items": {"$": {"limit": 2}}})).await;
    assert_eq!(ids(&r["items"]), f.items[..2].to_vec());
    let b = f
        .env
        .query_err(json!({"items": {"$": {"after": 10}}}))
        .await;
    assert_eq!(
        b["message"],
        "Validation failed for query: Expected a join row for the cursor, got 10."
    );
}

#[tokio::test]
async fn fields_and_shapes() {
    let f = fixture().await;
    let r = f.env.query(json!({"items": {"$": {"where": {"id": f.items[0]}, "fields": ["name"]}, "group": {"$": {"fields": []}}}})).await;
    assert_eq!(
        r,
        json!({"items": [{"id": f.items[0], "name": "apple", "group": [{"id": f.g1}]}]})
    );
    let r = f
        .env
        .query_inf(
            json!({"items": {"$": {"where": {"id": f.items[3]}, "fields": ["name"]}, "group": {}}}),
        )
        .await;
    assert_eq!(
        r,
        json!({"items": [{"id": f.items[3], "name": "date", "group": null}]})
    );
    let r = f.env.query_inf(json!({"groups": {"$": {"where": {"id": f.g2}, "fields": ["title"]}, "items": {"$": {"fields": ["n"]}}}})).await;
    assert_eq!(
        r,
        json!({"groups": [{"id": f.g2, "title": "G2", "items": [{"id": f.items[2], "n": null}]}]})
    );
    let b = f
        .env
        .query_err(json!({"items": {"$": {"fields": "name"}}}))
        .await;
    assert_eq!(
        b["message"],
        "Validation failed for query: The `fields` property should be an array of field names."
    );
    let b = f.env.query_err(json!({"items": {"name": {}}})).await;
    assert_eq!(
        b["message"],
        "Validation failed for attr: items.name needs to be a link"
    );
    let b = f.env.query_err(json!({"items": 5})).await;
    assert_eq!(b["type"], "validation-failed");
}

#[tokio::test]
async fn keys_of_one_where_object_share_their_chain() {
    let f = fixture().await;
    // Same where object: `items` at depth 1 is one join variable → the same item
    // must be named apple AND have n = 1 (none does).
    let r = f
        .env
        .query(json!({"groups": {"$": {"where": {"items.name": "apple", "items.n": 1}}}}))
        .await;
    assert_eq!(r["groups"], json!([]));
    let r = f
        .env
        .query(json!({"groups": {"$": {"where": {"items.name": "apple", "items.n": 3}}}}))
        .await;
    assert_eq!(ids(&r["groups"]), vec![f.g1.clone()]);
    // An explicit `and` binds each branch separately.
    let r = f
        .env
        .query(
            json!({"groups": {"$": {"where": {"and": [{"items.name": "apple"}, {"items.n": 1}]}}}}),
        )
        .await;
    assert_eq!(ids(&r["groups"]), vec![f.g1.clone()]);
    // A link compared with a constant id does not bind the variable.
    let r = f
        .env
        .query(json!({"groups": {"$": {"where": {"items": f.items[1], "items.name": "apple"}}}}))
        .await;
    assert_eq!(ids(&r["groups"]), vec![f.g1.clone()]);
}

#[tokio::test]
async fn first_pages_walk_indexes_in_order() {
    let f = fixture().await;
    let q = |o: Value| json!({"items": {"$": o}});
    let r = f
        .env
        .query(q(
            json!({"where": {"n": {"$gt": 1}}, "order": {"n": "asc"}, "limit": 2}),
        ))
        .await;
    assert_eq!(field(&r["items"], "n"), vec![json!(3), json!(10)]);
    let r = f
        .env
        .query(q(
            json!({"where": {"n": {"$gte": 1, }}, "order": {"n": "desc"}, "limit": 2, "offset": 1}),
        ))
        .await;
    assert_eq!(field(&r["items"], "n"), vec![json!(3), json!(1)]);
    let r = f
        .env
        .query(q(
            json!({"where": {"n": {"$lt": 10}}, "order": {"n": "asc"}, "limit": 5}),
        ))
        .await;
    assert_eq!(field(&r["items"], "n"), vec![json!(1), json!(3)]);
    let r = f.env.query(q(json!({"where": {"and": [{"n": {"$gt": 5}}, {"n": {"$lt": 2}}]}, "order": {"n": "asc"}, "limit": 5}))).await;
    assert_eq!(r["items"], json!([]));
    let r = f
        .env
        .query(q(json!({"order": {"n": "asc"}, "limit": 3})))
        .await;
    assert_eq!(
        field(&r["items"], "n"),
        vec![Value::Null, Value::Null, json!(1)]
    );
    let r = f
        .env
        .query(q(json!({"order": {"serverCreatedAt": "desc"}, "limit": 2})))
        .await;
    assert_eq!(
        ids(&r["items"]),
        vec![f.items[4].clone(), f.items[3].clone()]
    );
    let r = f
        .env
        .query(q(
            json!({"where": {"name": {"$ilike": "%a%"}}, "limit": 2, "offset": 1}),
        ))
        .await;
    assert_eq!(
        ids(&r["items"]),
        vec![f.items[1].clone(), f.items[3].clone()]
    );
}
