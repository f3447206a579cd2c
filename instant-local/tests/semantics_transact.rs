//! InstaML transaction semantics of the local server over HTTP
//! (`POST /admin/transact`, read back with `POST /admin/query`).
//!
//! Spec: /work/shared/spec/semantics.md §5, instaml-steps.md.
//!
//! Every test creates its own app. Tests about typed/unique/cascade behaviour push
//! the zeneca schema (data/zeneca/schema.json: `users.email` unique string,
//! `books.pageCount` number, `books.prequel` has-one with forward cascade,
//! `books.next` with reverse has-one cascade) through `POST /dash/apps/ephemeral`;
//! tests about plain upsert/merge/grouping use schema-less apps where attrs are
//! inferred, because that is what those rules are about; one test defines its
//! attribute with an `add-attr` step.

mod common;

use std::collections::BTreeSet;

use common::server::{id_set, result_ids, without_nulls, zeneca_schema, App};
use serde_json::{json, Map, Value};

fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The entity `ns`/`id` (nulls removed), or None.
async fn get(app: &App, ns: &str, id: &str) -> Option<Map<String, Value>> {
    let r = app
        .query_ok(json!({ ns: {"$": {"where": {"id": id}}}}))
        .await;
    r[ns].as_array().unwrap().first().map(without_nulls)
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

// ---- create / update / upsert ------------------------------------------------------------

#[tokio::test]
async fn update_is_an_upsert_and_upsert_false_needs_the_entity() {
    let app = App::plain("upsert").await;
    let (a, b, c) = (uid(), uid(), uid());
    app.tx_ok(json!([["update", "goals", a, {"title": "Get fit", "n": 1}]]))
        .await;
    assert_eq!(
        get(&app, "goals", &a).await,
        Some(obj(json!({"id": a, "title": "Get fit", "n": 1})))
    );
    // Untouched attrs stay; written ones are replaced.
    app.tx_ok(json!([["update", "goals", a, {"n": 2}]])).await;
    assert_eq!(
        get(&app, "goals", &a).await,
        Some(obj(json!({"id": a, "title": "Get fit", "n": 2})))
    );
    // update({}) creates an entity with only an id.
    app.tx_ok(json!([["update", "goals", b, {}]])).await;
    assert_eq!(get(&app, "goals", &b).await, Some(obj(json!({"id": b}))));
    // {upsert: false} on a missing entity.
    app.transact(
        json!([["update", "goals", c, {"title": "x"}, {"upsert": false}]]),
        false,
    )
    .await
    .assert_error(
        "validation-failed",
        &format!("Validation failed for tx-step: Updating entities that don't exist: {c}"),
    );
    assert_eq!(get(&app, "goals", &c).await, None);
    app.tx_ok(json!([["update", "goals", a, {"title": "Fitter"}, {"upsert": false}]]))
        .await;
    app.tx_ok(json!([["update", "goals", c, {"title": "y"}, {"upsert": true}]]))
        .await;
    assert_eq!(get(&app, "goals", &c).await.unwrap()["title"], "y");
    // merge honours the same option.
    let d = uid();
    app.transact(
        json!([["merge", "goals", d, {"m": {"a": 1}}, {"upsert": false}]]),
        false,
    )
    .await
    .assert_error(
        "validation-failed",
        &format!("Validation failed for tx-step: Updating entities that don't exist: {d}"),
    );
}

#[tokio::test]
async fn create_on_an_existing_entity_fails_and_rolls_back_everything() {
    let app = App::plain("create").await;
    let (a, other) = (uid(), uid());
    app.tx_ok(json!([["create", "goals", a, {"title": "one"}]]))
        .await;
    app.transact(
        json!([["update", "goals", other, {"title": "other"}], ["create", "goals", a, {"title": "two"}]]),
        false,
    )
    .await
    .assert_error(
        "validation-failed",
        &format!("Validation failed for tx-step: Creating entities that exist: {a}"),
    );
    assert_eq!(get(&app, "goals", &a).await.unwrap()["title"], "one");
    assert_eq!(
        get(&app, "goals", &other).await,
        None,
        "the whole transaction is rolled back"
    );
}

#[tokio::test]
async fn null_writes_id_key_last_write_wins_and_tx_ids() {
    let app = App::plain("misc").await;
    let a = uid();
    let t1 = app
        .tx_ok(json!([["update", "goals", a, {"title": "x", "note": "n"}]]))
        .await;
    let t2 = app
        .tx_ok(json!([["update", "goals", a, {"note": null, "id": uid()}], ["update", "goals", a, {"title": "y"}], ["update", "goals", a, {"title": "z"}]]))
        .await;
    assert!(
        t2["tx-id"].as_i64() > t1["tx-id"].as_i64(),
        "tx ids increase: {t1} {t2}"
    );
    let r = app.query_ok(json!({"goals": {}})).await;
    assert_eq!(
        result_ids(&r["goals"]),
        [a.as_str()],
        "the `id` key in args is ignored"
    );
    assert_eq!(
        r["goals"][0],
        json!({"id": a, "title": "z", "note": null}),
        "null is stored and read back"
    );
    let r = app
        .query_ok(json!({"goals": {"$": {"where": {"note": {"$isNull": true}}}}}))
        .await;
    assert_eq!(result_ids(&r["goals"]), [a]);
    let r = app.transact(json!([]), false).await;
    assert_eq!(
        r.status, 200,
        "empty steps are a transaction too: {}",
        r.body
    );
}

#[tokio::test]
async fn ops_are_grouped_by_kind() {
    let app = App::plain("grouping").await;
    let (x, y) = (uid(), uid());
    app.tx_ok(json!([["update", "goals", x, {"a": 1, "b": 1}], ["update", "goals", y, {"a": 1}]]))
        .await;
    // delete then update: the delete batch runs first, the update recreates X.
    app.tx_ok(json!([["delete", "goals", x], ["update", "goals", x, {"a": 2}]]))
        .await;
    assert_eq!(
        get(&app, "goals", &x).await,
        Some(obj(json!({"id": x, "a": 2})))
    );
    // update then delete: the update batch runs first, then the delete.
    app.tx_ok(json!([["update", "goals", y, {"a": 3}], ["delete", "goals", y, null]]))
        .await;
    assert_eq!(get(&app, "goals", &y).await, None);
    let z = uid();
    app.tx_ok(json!([["update", "goals", z, {"a": 1}], ["delete", "goals", z]]))
        .await;
    assert_eq!(
        get(&app, "goals", &z).await,
        None,
        "a new entity deleted in the same tx"
    );
}

#[tokio::test]
async fn same_uuid_in_two_namespaces_is_two_entities() {
    let app = App::plain("two-ns").await;
    let x = uid();
    app.tx_ok(json!([["update", "cats", x, {"name": "c"}], ["update", "dogs", x, {"name": "d"}]]))
        .await;
    app.tx_ok(json!([["delete", "cats", x]])).await;
    assert_eq!(get(&app, "cats", &x).await, None);
    assert_eq!(
        get(&app, "dogs", &x).await,
        Some(obj(json!({"id": x, "name": "d"})))
    );
    // Deleting what does not exist is a no-op.
    app.tx_ok(json!([["delete", "cats", uid()]])).await;
}

// ---- merge ----------------------------------------------------------------------------------

#[tokio::test]
async fn merge_is_a_deep_merge_where_null_deletes_keys() {
    let app = App::plain("merge").await;
    let g = uid();
    app.tx_ok(json!([["update", "games", g, {"state": {"a": 1, "b": {"c": 2, "d": 3}, "keep": true}, "tags": [1, 2], "x": {"a": 1}}]]))
        .await;
    app.tx_ok(json!([["merge", "games", g, {"state": {"b": {"c": null, "e": 4}, "f": [1]}, "tags": [3], "x": 5}]]))
        .await;
    assert_eq!(
        get(&app, "games", &g).await.unwrap(),
        obj(
            json!({"id": g, "state": {"a": 1, "b": {"d": 3, "e": 4}, "keep": true, "f": [1]}, "tags": [3], "x": 5})
        )
    );
    // First merge onto a missing value keeps null keys verbatim.
    let h = uid();
    app.tx_ok(json!([["merge", "games", h, {"meta": {"gone": null, "b": 1}}]]))
        .await;
    assert_eq!(
        get(&app, "games", &h).await.unwrap()["meta"],
        json!({"gone": null, "b": 1})
    );
    // Several merges in one transaction apply in order; {} changes nothing.
    app.tx_ok(json!([
        ["merge", "games", h, {"meta": {"c": {"d": 1}}}],
        ["merge", "games", h, {"meta": {"c": {"e": 2}, "b": null}}],
        ["merge", "games", h, {"meta": {}}]
    ]))
    .await;
    assert_eq!(
        get(&app, "games", &h).await.unwrap()["meta"],
        json!({"gone": null, "c": {"d": 1, "e": 2}})
    );
    // A top-level null sets the attr to null.
    app.tx_ok(json!([["merge", "games", h, {"meta": null}]]))
        .await;
    let r = app
        .query_ok(json!({"games": {"$": {"where": {"id": h}}}}))
        .await;
    assert_eq!(r["games"][0]["meta"], Value::Null);
    // Merging into a link is refused.
    let t = uid();
    app.tx_ok(json!([["link", "games", g, {"players": t}]]))
        .await;
    app.transact(json!([["merge", "games", g, {"players": {"a": 1}}]]), false)
        .await
        .assert_error(
            "sql-raise",
            "Raised Exception: merge operation is not supported for links",
        );
}

// ---- links, lookups -----------------------------------------------------------------------

/// A zeneca-schema app with user u1, shelves s1..s3, books b1..b3 (isbn13 unique).
struct Lib {
    app: App,
    u1: String,
    s: [String; 3],
    b: [String; 3],
}

async fn lib(title: &str) -> Lib {
    let app = App::with_schema(title, zeneca_schema()).await;
    let (u1, s, b) = (uid(), [uid(), uid(), uid()], [uid(), uid(), uid()]);
    let mut steps =
        vec![json!(["update", "users", u1, {"handle": "u1", "email": "u1@example.com"}])];
    for (i, x) in s.iter().enumerate() {
        steps.push(json!(["update", "bookshelves", x, {"name": format!("shelf{i}"), "order": i}]));
    }
    for (i, x) in b.iter().enumerate() {
        steps.push(json!(["update", "books", x, {"title": format!("book{i}"), "isbn13": format!("isbn{i}")}]));
    }
    let r = app.transact(Value::Array(steps), true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    Lib { app, u1, s, b }
}

async fn linked(app: &App, ns: &str, id: &str, label: &str) -> Vec<String> {
    let r = app
        .query_ok(json!({ ns: {"$": {"where": {"id": id}}, label: {}}}))
        .await;
    id_set(&r[ns][0][label])
}

fn sorted(v: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn link_and_unlink_forms() {
    let Lib { app, u1, s, b } = lib("links").await;
    // Single id, then an array; linking twice is a no-op.
    app.tx_ok(json!([["link", "users", u1, {"bookshelves": s[0]}]]))
        .await;
    app.tx_ok(json!([["link", "users", u1, {"bookshelves": [s[1], s[0]]}]]))
        .await;
    assert_eq!(
        linked(&app, "users", &u1, "bookshelves").await,
        sorted(&[&s[0], &s[1]])
    );
    // Reverse label: the link is stored once and seen from both sides.
    app.tx_ok(json!([["link", "books", b[0], {"bookshelves": s[2]}]]))
        .await;
    assert_eq!(
        linked(&app, "bookshelves", &s[2], "books").await,
        [b[0].clone()]
    );
    // Lookup forms as link targets: encoded string, array of pairs, object.
    app.tx_ok(json!([["link", "bookshelves", s[2], {"users": "lookup__handle__\"u1\""}]]))
        .await;
    assert_eq!(
        linked(&app, "users", &u1, "bookshelves").await,
        sorted(&[&s[0], &s[1], &s[2]])
    );
    app.tx_ok(json!([["link", "bookshelves", s[0], {"books": [["isbn13", "isbn1"], ["isbn13", "isbn2"]]}]])).await;
    assert_eq!(
        linked(&app, "bookshelves", &s[0], "books").await,
        sorted(&[&b[1], &b[2]])
    );
    app.tx_ok(json!([["link", "bookshelves", s[1], {"books": {"isbn13": "isbn0"}}]]))
        .await;
    assert_eq!(
        linked(&app, "bookshelves", &s[1], "books").await,
        [b[0].clone()]
    );
    // Unlink (forward and reverse), unlinking what is not linked is a no-op.
    app.tx_ok(json!([["unlink", "users", u1, {"bookshelves": [s[0], b[0]]}], ["unlink", "books", b[2], {"bookshelves": s[0]}]]))
        .await;
    assert_eq!(
        linked(&app, "users", &u1, "bookshelves").await,
        sorted(&[&s[1], &s[2]])
    );
    assert_eq!(
        linked(&app, "bookshelves", &s[0], "books").await,
        [b[1].clone()]
    );
    // A link-target lookup must resolve.
    app.transact(
        json!([["link", "bookshelves", s[0], {"books": "lookup__isbn13__\"nope\""}]]),
        false,
    )
    .await
    .assert_error(
        "validation-failed",
        "Validation failed for lookup: The entity for the lookup does not exist.",
    );
}

#[tokio::test]
async fn has_one_links_replace_and_reverse_has_one_is_unique() {
    let Lib { app, b, .. } = lib("has-one").await;
    app.tx_ok(json!([["link", "books", b[2], {"prequel": b[0]}]]))
        .await;
    app.tx_ok(json!([["link", "books", b[2], {"prequel": b[1]}]]))
        .await;
    assert_eq!(
        linked(&app, "books", &b[2], "prequel").await,
        [b[1].clone()],
        "forward has-one replaces"
    );
    // books.next: reverse `previous` is has-one, so a book can be `next` of one book only.
    app.tx_ok(json!([["link", "books", b[0], {"next": b[2]}]]))
        .await;
    let r = app
        .transact(json!([["link", "books", b[1], {"next": b[2]}]]), false)
        .await;
    assert_eq!(
        r.status, 400,
        "second source for a reverse has-one target: {}",
        r.body
    );
    assert_eq!(
        linked(&app, "books", &b[2], "previous").await,
        [b[0].clone()]
    );
}

#[tokio::test]
async fn lookups_in_entity_position_upsert_by_unique_value() {
    let Lib { app, u1, .. } = lib("lookups").await;
    app.tx_ok(json!([["update", "users", ["handle", "newbie"], {"fullName": "N"}]]))
        .await;
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"handle": "newbie"}}}}))
        .await;
    let ids = result_ids(&r["users"]);
    assert_eq!(ids.len(), 1, "created by the lookup: {}", r);
    assert_eq!(r["users"][0]["fullName"], "N");
    for (i, lk) in [
        json!({"handle": "newbie"}),
        json!("lookup__handle__\"newbie\""),
        json!(["handle", "newbie"]),
    ]
    .into_iter()
    .enumerate()
    {
        app.tx_ok(json!([["update", "users", lk, {"fullName": format!("M{i}")}]]))
            .await;
        let r = app
            .query_ok(json!({"users": {"$": {"where": {"handle": "newbie"}}}}))
            .await;
        assert_eq!(result_ids(&r["users"]), ids, "same entity via {lk}");
        assert_eq!(r["users"][0]["fullName"], format!("M{i}"));
    }
    app.tx_ok(json!([["update", "users", ["email", "u1@example.com"], {"fullName": "One"}]]))
        .await;
    assert_eq!(
        app.query_ok(json!({"users": {"$": {"where": {"id": u1}}}}))
            .await["users"][0]["fullName"],
        "One"
    );
    // Only unique attrs work as lookups.
    app.transact(
        json!([["update", "users", ["fullName", "One"], {"handle": "h"}]]),
        false,
    )
    .await
    .assert_error_contains(
        "validation-failed",
        "fullName is not a unique attribute on users",
    );
    // Deleting an unmatched lookup is a no-op; a matched one deletes.
    app.tx_ok(json!([["delete", "users", ["handle", "nobody"]]]))
        .await;
    app.tx_ok(json!([["delete", "users", ["handle", "newbie"]]]))
        .await;
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"handle": "newbie"}}}}))
        .await;
    assert_eq!(r["users"], json!([]));
    app.transact(json!([["update", "users", "not-a-uuid", {"handle": "h"}]]), false)
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for steps: Invalid entity ID 'not-a-uuid'. Entity IDs must be UUIDs or lookup references.",
        );
}

#[tokio::test]
async fn inferred_links_and_dangling_targets() {
    let app = App::plain("inferred-links").await;
    let (o, p, q) = (uid(), uid(), uid());
    app.tx_ok(
        json!([["update", "owners", o, {"name": "o"}], ["link", "owners", o, {"pets": [p, q]}]]),
    )
    .await;
    // Targets without an `id` triple in `pets` do not surface.
    assert_eq!(
        linked(&app, "owners", &o, "pets").await,
        Vec::<String>::new()
    );
    app.tx_ok(json!([["update", "pets", p, {"name": "p"}]]))
        .await;
    assert_eq!(linked(&app, "owners", &o, "pets").await, [p.as_str()]);
    // The inferred reverse label is the source namespace.
    assert_eq!(linked(&app, "pets", &p, "owners").await, [o.as_str()]);
}

// ---- delete, cascade -------------------------------------------------------------------

#[tokio::test]
async fn delete_removes_links_pointing_at_the_entity() {
    let Lib { app, s, b, .. } = lib("delete-links").await;
    app.tx_ok(json!([["link", "bookshelves", s[0], {"books": [b[0], b[1]]}]]))
        .await;
    app.tx_ok(json!([["delete", "books", b[0], null]])).await;
    assert_eq!(
        linked(&app, "bookshelves", &s[0], "books").await,
        [b[1].clone()]
    );
    assert!(
        get(&app, "bookshelves", &s[0]).await.is_some(),
        "linked entities survive"
    );
    let r = app
        .query_ok(json!({"bookshelves": {"$": {"where": {"books": b[0]}}}}))
        .await;
    assert_eq!(r["bookshelves"], json!([]));
}

#[tokio::test]
async fn cascade_delete_follows_on_delete_both_directions() {
    let app = App::with_schema("cascade", zeneca_schema()).await;
    let ids: Vec<String> = (0..9).map(|_| uid()).collect();
    let [p, s1, s2, u, a, b, c, d, lone]: [String; 9] = ids.try_into().unwrap();
    let mut steps: Vec<Value> = [&p, &s1, &s2, &u, &a, &b, &c, &d, &lone]
        .iter()
        .map(|i| json!(["update", "books", i, {"title": format!("t-{i}")}]))
        .collect();
    // books.prequel: has-one, forward onDelete cascade.
    steps.push(json!(["link", "books", s1, {"prequel": p}]));
    steps.push(json!(["link", "books", s2, {"prequel": s1}]));
    steps.push(json!(["link", "books", u, {"prequel": lone}]));
    // books.next → previous: reverse has-one with onDelete cascade.
    steps.push(json!(["link", "books", a, {"next": [b, c]}]));
    steps.push(json!(["link", "books", b, {"next": d}]));
    let r = app.transact(Value::Array(steps), true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let alive = |app: App| async move {
        let r = app.query_ok(json!({"books": {}})).await;
        r["books"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    // Deleting the forward side of prequel (u) does not touch its prequel.
    app.tx_ok(json!([["delete", "books", u]])).await;
    assert!(alive(app.clone()).await.contains(&lone));
    // Deleting the target P deletes the books whose prequel is P, recursively.
    app.tx_ok(json!([["delete", "books", p]])).await;
    let now = alive(app.clone()).await;
    for gone in [&p, &s1, &s2] {
        assert!(!now.contains(gone), "{gone} should be cascaded");
    }
    // Deleting a `next` target (reverse side) does not delete its source.
    app.tx_ok(json!([["delete", "books", d]])).await;
    assert!(alive(app.clone()).await.contains(&b));
    app.tx_ok(json!([["link", "books", b, {"next": d}]])).await;
    app.tx_ok(json!([["update", "books", d, {"title": "d again"}]]))
        .await;
    // Deleting the forward side A deletes its `next` books, recursively.
    app.tx_ok(json!([["delete", "books", a]])).await;
    let now = alive(app.clone()).await;
    for gone in [&a, &b, &c, &d] {
        assert!(!now.contains(gone), "{gone} should be cascaded");
    }
    assert_eq!(now, BTreeSet::from([lone]));
}

// ---- constraints --------------------------------------------------------------------------

#[tokio::test]
async fn unique_attrs_reject_a_second_holder() {
    let app = App::with_schema("unique", zeneca_schema()).await;
    let (a, b, c) = (uid(), uid(), uid());
    app.tx_ok(json!([["update", "users", a, {"email": "a@x.com", "handle": "a"}]]))
        .await;
    app.transact(json!([["update", "users", b, {"email": "a@x.com"}]]), false)
        .await
        .assert_error(
            "record-not-unique",
            "`email` is a unique attribute on `users` and an entity already exists with `users.email` = \"a@x.com\"",
        );
    assert_eq!(get(&app, "users", &b).await, None);
    // Re-writing one's own value is fine; nulls do not count.
    app.tx_ok(json!([["update", "users", a, {"email": "a@x.com"}]]))
        .await;
    app.tx_ok(
        json!([["update", "users", b, {"handle": null}], ["update", "users", c, {"handle": null}]]),
    )
    .await;
    // Uniqueness is per namespace.
    app.tx_ok(json!([["update", "authors", b, {"email": "a@x.com"}]]))
        .await;
}

#[tokio::test]
async fn checked_types_reject_other_json_types() {
    let app = App::with_schema("types", zeneca_schema()).await;
    let u = uid();
    app.transact(json!([["update", "users", u, {"email": 5}]]), false)
        .await
        .assert_error(
            "validation-failed",
            "Invalid value type for users.email. Value must be a string but the provided value type is number.",
        );
    app.transact(json!([["update", "books", u, {"pageCount": "many"}]]), false)
        .await
        .assert_error(
            "validation-failed",
            "Invalid value type for books.pageCount. Value must be a number but the provided value type is string.",
        );
    let r = app
        .transact(
            json!([["update", "users", u, {"createdAt": "not a date"}]]),
            false,
        )
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
    assert!(r.message().contains("users.createdAt"), "{}", r.body);
    // Accepted: date strings in several formats and epoch ms (stored verbatim),
    // null for typed attrs, anything for untyped ones.
    for (i, v) in [
        json!("2025-01-15 20:53:08"),
        json!("2025-01-01T00:00:00Z"),
        json!(1700000000000i64),
        Value::Null,
    ]
    .into_iter()
    .enumerate()
    {
        let id = uid();
        app.tx_ok(json!([["update", "users", id, {"createdAt": v, "handle": format!("h{i}")}]]))
            .await;
        let r = app
            .query_ok(json!({"users": {"$": {"where": {"id": id}}}}))
            .await;
        assert_eq!(r["users"][0]["createdAt"], v, "stored as written");
    }
    for v in [
        json!(1),
        json!("x"),
        json!(true),
        json!({"a": [1]}),
        json!([1, 2]),
    ] {
        app.tx_ok(json!([["update", "bookshelves", uid(), {"name": v}]]))
            .await;
    }
}

#[tokio::test]
async fn required_attrs_are_checked_after_the_writes() {
    let app = App::with_schema(
        "required",
        json!({"entities": {"todos": {"attrs": {
            "title": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": true},
            "done": {"valueType": "boolean", "config": {"unique": false, "indexed": false}, "required": false}}}},
          "links": {}}),
    )
    .await;
    let t = uid();
    app.transact(json!([["create", "todos", t, {"done": false}]]), true)
        .await
        .assert_error_contains(
            "validation-failed",
            &format!("Missing required attribute `todos/title`: {t}"),
        );
    assert_eq!(get(&app, "todos", &t).await, None);
    // Setting it in a later step of the same transaction is fine.
    let r = app.transact(json!([["create", "todos", t, {"done": false}], ["update", "todos", t, {"title": "x"}]]), true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.transact(json!([["update", "todos", t, {"title": null}]]), true)
        .await
        .assert_error_contains(
            "validation-failed",
            "Missing required attribute `todos/title`",
        );
    // Untouched entities are not re-checked; deleting is fine.
    app.tx_ok(json!([["delete", "todos", t]])).await;
}

#[tokio::test]
async fn throw_on_missing_attrs_lists_the_missing_attrs() {
    let app = App::with_schema("throw", zeneca_schema()).await;
    let b = uid();
    let r = app
        .transact(
            json!([["update", "books", b, {"title": "t", "color": "red"}]]),
            true,
        )
        .await;
    r.assert_error(
        "validation-failed",
        "Validation failed for steps: Attributes are missing in your schema",
    );
    assert_eq!(
        r.body["hint"]["errors"][0]["hint"]["attributes"],
        json!(["books.color"]),
        "{}",
        r.body
    );
    assert_eq!(get(&app, "books", &b).await, None);
    let r = app
        .transact(json!([["link", "books", b, {"fans": uid()}]]), true)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["hint"]["errors"][0]["hint"]["attributes"]
            .as_array()
            .unwrap()
            .contains(&json!("books.fans")),
        "{}",
        r.body
    );
    // Without the flag the attr is created on the fly.
    app.tx_ok(json!([["update", "books", b, {"title": "t", "color": "red"}]]))
        .await;
    assert_eq!(get(&app, "books", &b).await.unwrap()["color"], "red");
}

#[tokio::test]
async fn users_cannot_be_created_by_transact() {
    let app = App::plain("users").await;
    app.transact(
        json!([["create", "$users", uid(), {"email": "a@b.c"}]]),
        false,
    )
    .await
    .assert_error_contains(
        "validation-failed",
        "$users is a system entity. You aren't allowed to create this directly.",
    );
}

#[tokio::test]
async fn add_attr_step_defines_a_typed_indexed_attr() {
    // The schema here comes from an `add-attr` step (instaml-steps.md §4.8).
    let app = App::plain("add-attr").await;
    let attr = uid();
    app.tx_ok(json!([["add-attr", {
        "id": attr, "forward-identity": [uid(), "scores", "points"], "value-type": "blob",
        "cardinality": "one", "unique?": false, "index?": true, "required?": false,
        "checked-data-type": "number"}]]))
        .await;
    let ids: Vec<String> = (0..5).map(|_| uid()).collect();
    let steps: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, x)| json!(["update", "scores", x, {"points": i * 10}]))
        .collect();
    app.tx_ok(Value::Array(steps)).await;
    let r = app.query_ok(json!({"scores": {"$": {"where": {"points": {"$gte": 20}}, "order": {"points": "desc"}}}})).await;
    assert_eq!(
        result_ids(&r["scores"]),
        [ids[4].clone(), ids[3].clone(), ids[2].clone()]
    );
    app.transact(json!([["update", "scores", uid(), {"points": "ten"}]]), false)
        .await
        .assert_error(
            "validation-failed",
            "Invalid value type for scores.points. Value must be a number but the provided value type is string.",
        );
    // delete-attr removes it: the key is no longer returned.
    app.tx_ok(json!([["delete-attr", attr]])).await;
    let r = app.query_ok(json!({"scores": {}})).await;
    assert!(
        r["scores"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("points").is_none()),
        "{r}"
    );
}
