//! Transaction semantics through `POST /admin/transact`, checked by querying back:
//! create/update/merge/link/unlink/delete, lookups, cascades, constraints and the
//! exact error messages of spec `instaml-steps.md` / `semantics.md` §5.
mod common;
use common::env::*;
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn schema() -> Value {
    json!({
        "entities": {
            "users": {"attrs": {
                "email": {"valueType": "string", "config": {"unique": true, "indexed": true}, "required": false},
                "name": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": true},
                "age": {"valueType": "number", "config": {"unique": false, "indexed": true}, "required": false},
                "born": {"valueType": "date", "config": {"unique": false, "indexed": false}, "required": false},
                "meta": {"valueType": "json", "config": {"unique": false, "indexed": false}, "required": false}
            }},
            "posts": {"attrs": {
                "title": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false}
            }},
            "profiles": {"attrs": {
                "bio": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false}
            }}
        },
        "links": {
            "postsAuthor": {"forward": {"on": "posts", "has": "one", "label": "author", "onDelete": "cascade"},
                             "reverse": {"on": "users", "has": "many", "label": "posts"}},
            "usersProfile": {"forward": {"on": "users", "has": "one", "label": "profile"},
                              "reverse": {"on": "profiles", "has": "one", "label": "owner", "onDelete": "cascade"}}
        }
    })
}

#[tokio::test]
async fn create_update_and_modes() {
    let env = Env::new().await;
    let a = id();
    env.tx_ok(json!([["create", "goals", a, {"title": "x", "id": "ignored"}]]))
        .await;
    env.tx_err(
        json!([["create", "goals", a, {"title": "y"}]]),
        &format!("Validation failed for tx-step: Creating entities that exist: {a}"),
    )
    .await;
    let b = id();
    env.tx_err(
        json!([["update", "goals", b, {"title": "y"}, {"upsert": false}]]),
        &format!("Validation failed for tx-step: Updating entities that don't exist: {b}"),
    )
    .await;
    // Plain update is an upsert; update({}) creates an entity with only an id.
    env.tx_ok(json!([["update", "goals", b, {}]])).await;
    env.tx_ok(json!([["update", "goals", a, {"title": "z"}, {"upsert": false}]]))
        .await;
    let r = env.query(json!({"goals": {}})).await;
    assert_eq!(r, json!({"goals": [{"id": a, "title": "z"}, {"id": b}]}));
    // Writing null stores null.
    env.tx_ok(json!([["update", "goals", a, {"title": null}]]))
        .await;
    let r = env
        .query(json!({"goals": {"$": {"where": {"id": a}}}}))
        .await;
    assert_eq!(r["goals"][0], json!({"id": a, "title": null}));
}

#[tokio::test]
async fn invalid_ids_and_steps() {
    let env = Env::new().await;
    let b = env
        .tx_err(
            json!([["update", "goals", "not-a-uuid", {"a": 1}]]),
            "Validation failed for steps: Invalid entity ID 'not-a-uuid'. Entity IDs must be UUIDs or lookup references.",
        )
        .await;
    assert_eq!(b["type"], "validation-failed");
    assert_eq!(b["hint"]["errors"][0]["in"], json!([0, 2]));
    let (s, b) = env
        .transact(json!([["frobnicate", "goals", id(), {}]]))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["message"], "Validation failed for steps");
    let (s, b) = env.transact(json!([["update-attr", {"id": id()}]])).await;
    assert_eq!(s, 400);
    assert_eq!(
        b["message"],
        "Validation failed for action: Unsupported action update-attr"
    );
    let (s, b) = env
        .post("/admin/transact", json!({"steps": {"a": 1}}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], "param-malformed");
    assert_eq!(b["message"], "Malformed parameter: [\"body\" \"steps\"]");
    let (s, b) = env.post("/admin/transact", json!({})).await;
    assert_eq!(s, 400);
    assert_eq!(b["message"], "Missing parameter: [\"body\" \"steps\"]");
    // Empty steps are fine.
    env.tx_ok(json!([])).await;
}

#[tokio::test]
async fn tx_ids_increase() {
    let env = Env::new().await;
    let t1 = env.tx_ok(json!([["update", "a", id(), {"x": 1}]])).await;
    let t2 = env.tx_ok(json!([["update", "a", id(), {"x": 2}]])).await;
    assert!(t2 > t1, "{t1} then {t2}");
}

#[tokio::test]
async fn deep_merge() {
    let env = Env::new().await;
    let g = id();
    env.tx_ok(json!([["merge", "games", g, {"state": {"a": null, "b": {"c": 1}}}]]))
        .await;
    let r = env.query(json!({"games": {}})).await;
    // First merge onto a missing value keeps null keys verbatim.
    assert_eq!(r["games"][0]["state"], json!({"a": null, "b": {"c": 1}}));
    env.tx_ok(json!([
        ["merge", "games", g, {"state": {"a": 5, "b": {"d": 2}}}],
        ["merge", "games", g, {"state": {"b": {"c": null}, "e": [1, 2]}}]
    ]))
    .await;
    let r = env.query(json!({"games": {}})).await;
    assert_eq!(
        r["games"][0]["state"],
        json!({"a": 5, "b": {"d": 2}, "e": [1, 2]})
    );
    env.tx_ok(json!([["merge", "games", g, {"state": [3]}]]))
        .await;
    let r = env.query(json!({"games": {}})).await;
    assert_eq!(r["games"][0]["state"], json!([3]));
    // merge on a link label
    env.tx_ok(json!([["link", "games", g, {"players": id()}]]))
        .await;
    let (s, b) = env
        .transact(json!([["merge", "games", g, {"players": {"x": 1}}]]))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], "sql-raise");
    assert_eq!(
        b["message"],
        "Raised Exception: merge operation is not supported for links"
    );
}

#[tokio::test]
async fn links_both_directions_and_has_one() {
    let env = Env::with_schema(schema()).await;
    let (u1, u2, p1, p2, pr) = (id(), id(), id(), id(), id());
    env.tx_ok(json!([
        ["update", "users", u1, {"name": "a"}],
        ["update", "users", u2, {"name": "b"}],
        ["update", "posts", p1, {"title": "one"}],
        ["update", "posts", p2, {"title": "two"}],
        ["update", "profiles", pr, {"bio": "hi"}],
        // reverse label, array of targets
        ["link", "users", u1, {"posts": [p1, p2]}],
        ["link", "users", u1, {"profile": pr}]
    ]))
    .await;
    let r = env
        .query_inf(json!({"users": {"$": {"where": {"id": u1}}, "posts": {}, "profile": {}}}))
        .await;
    // Same created-at (one transaction): ties broken by id.
    let mut want = vec![p1.clone(), p2.clone()];
    want.sort();
    assert_eq!(ids(&r["users"][0]["posts"]), want);
    assert_eq!(r["users"][0]["profile"]["id"], pr);
    // Has-one forward link replaces its target.
    env.tx_ok(json!([["link", "posts", p1, {"author": u2}]]))
        .await;
    let r = env
        .query_inf(json!({"posts": {"$": {"where": {"id": p1}}, "author": {}}}))
        .await;
    assert_eq!(r["posts"][0]["author"]["id"], u2);
    // Without inference: arrays; the has-one ref shows as an id field when not expanded.
    let r = env
        .query(json!({"posts": {"$": {"where": {"id": p1}}}}))
        .await;
    assert_eq!(r["posts"][0]["author"], json!(u2));
    let r = env
        .query(json!({"posts": {"$": {"where": {"id": p1}}, "author": {}}}))
        .await;
    assert_eq!(ids(&r["posts"][0]["author"]), vec![u2.clone()]);
    // Reverse has-one (unique) conflict.
    let (s, b) = env
        .transact(json!([["link", "users", u2, {"profile": pr}]]))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["type"], "record-not-unique");
    // Unlink; missing singular child is null under inference.
    env.tx_ok(
        json!([["unlink", "users", u1, {"profile": pr}], ["unlink", "users", u1, {"profile": pr}]]),
    )
    .await;
    let r = env
        .query_inf(json!({"users": {"$": {"where": {"id": u1}}, "profile": {}}}))
        .await;
    assert_eq!(r["users"][0]["profile"], Value::Null);
    // Linking twice is idempotent.
    env.tx_ok(json!([["link", "users", u2, {"posts": p2}], ["link", "users", u2, {"posts": p2}]]))
        .await;
    let r = env
        .query(json!({"users": {"$": {"where": {"id": u2}}, "posts": {}}}))
        .await;
    assert_eq!(ids(&r["users"][0]["posts"]), want);
}

#[tokio::test]
async fn delete_with_cascades() {
    let env = Env::with_schema(schema()).await;
    let (u, p1, p2, pr, other) = (id(), id(), id(), id(), id());
    env.tx_ok(json!([
        ["update", "users", u, {"name": "a"}],
        ["update", "users", other, {"name": "o"}],
        ["update", "posts", p1, {"title": "one"}],
        ["update", "posts", p2, {"title": "two"}],
        ["update", "profiles", pr, {"bio": "hi"}],
        ["link", "posts", p1, {"author": u}],
        ["link", "posts", p2, {"author": other}],
        ["link", "users", u, {"profile": pr}]
    ]))
    .await;
    // Deleting the reverse-side user deletes posts whose author cascades (forward
    // onDelete) and the profile (reverse onDelete on the forward-side user).
    env.tx_ok(json!([["delete", "users", u, null]])).await;
    let r = env
        .query(json!({"posts": {}, "profiles": {}, "users": {}}))
        .await;
    assert_eq!(ids(&r["posts"]), vec![p2.clone()]);
    assert_eq!(r["profiles"], json!([]));
    assert_eq!(ids(&r["users"]), vec![other.clone()]);
    // Deleting a missing entity is a no-op.
    env.tx_ok(json!([["delete", "users", id()]])).await;
    // Plain link removal on delete (no cascade): deleting a post keeps the user.
    env.tx_ok(json!([["delete", "posts", p2]])).await;
    let r = env.query(json!({"users": {"posts": {}}})).await;
    assert_eq!(r["users"][0]["posts"], json!([]));
}

#[tokio::test]
async fn same_id_in_two_namespaces_is_two_entities() {
    let env = Env::new().await;
    let x = id();
    env.tx_ok(json!([["update", "a", x, {"n": 1}], ["update", "b", x, {"m": 2}]]))
        .await;
    env.tx_ok(json!([["delete", "a", x]])).await;
    let r = env.query(json!({"a": {}, "b": {}})).await;
    assert_eq!(r, json!({"a": [], "b": [{"id": x, "m": 2}]}));
}

#[tokio::test]
async fn ops_grouped_by_kind() {
    let env = Env::new().await;
    let x = id();
    env.tx_ok(json!([["update", "t", x, {"v": 1}]])).await;
    // update then delete: deleted.
    env.tx_ok(json!([["update", "t", x, {"v": 2}], ["delete", "t", x]]))
        .await;
    assert_eq!(env.query(json!({"t": {}})).await["t"], json!([]));
    // delete then update: recreated.
    env.tx_ok(json!([["update", "t", x, {"v": 1}]])).await;
    env.tx_ok(json!([["delete", "t", x], ["update", "t", x, {"v": 3}]]))
        .await;
    assert_eq!(
        env.query(json!({"t": {}})).await["t"],
        json!([{"id": x, "v": 3}])
    );
    // Last write wins within a batch.
    env.tx_ok(json!([["update", "t", x, {"v": 4}], ["update", "t", x, {"v": 5}]]))
        .await;
    assert_eq!(env.query(json!({"t": {}})).await["t"][0]["v"], 5);
}

#[tokio::test]
async fn unique_type_required_and_atomicity() {
    let env = Env::with_schema(schema()).await;
    let (a, b) = (id(), id());
    env.tx_ok(json!([["update", "users", a, {"name": "a", "email": "x@y.z"}]]))
        .await;
    let body = env
        .tx_err(
            json!([["update", "users", b, {"name": "b", "email": "x@y.z"}]]),
            "`email` is a unique attribute on `users` and an entity already exists with `users.email` = \"x@y.z\"",
        )
        .await;
    assert_eq!(body["type"], "record-not-unique");
    assert_eq!(body["hint"]["record-type"], "triple");
    // Re-writing one's own value is fine.
    env.tx_ok(json!([["update", "users", a, {"email": "x@y.z"}]]))
        .await;
    let body = env
        .tx_err(
            json!([["update", "users", a, {"age": "old"}]]),
            "Invalid value type for users.age. Value must be a number but the provided value type is string.",
        )
        .await;
    assert_eq!(body["hint"]["checked-data-type"], "number");
    assert_eq!(body["hint"]["entity-id"], a);
    env.tx_err(
        json!([["update", "users", a, {"born": "tomorrow-ish"}]]),
        "Invalid value type for users.born. Value must be a date but the provided value type is string.",
    )
    .await;
    env.tx_ok(json!([["update", "users", a, {"born": "2020-01-01T00:00:00Z", "age": null}]]))
        .await;
    env.tx_ok(json!([["update", "users", a, {"born": 1700000000000i64}]]))
        .await;
    // Required attr.
    let c = id();
    let body = env
        .tx_err(
            json!([["update", "users", c, {"email": "c@d.e"}]]),
            &format!("Missing required attribute `users/name`: {c}"),
        )
        .await;
    assert_eq!(body["type"], "validation-failed");
    // Atomic: the failing transaction wrote nothing, even its valid steps.
    let d = id();
    let (s, _) = env
        .transact(json!([
            ["update", "posts", d, {"title": "ok"}],
            ["update", "users", b, {"name": "b", "email": "x@y.z"}]
        ]))
        .await;
    assert_eq!(s, 400);
    let r = env
        .query(json!({"posts": {}, "users": {"$": {"where": {"email": "c@d.e"}}}}))
        .await;
    assert_eq!(r, json!({"posts": [], "users": []}));
    // Null bytes.
    let (s, b2) = env
        .transact(json!([["update", "posts", d, {"title": "a\u{0}b"}]]))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b2["message"],
        "A value in the transaction contains null bytes, which cannot be stored."
    );
}

#[tokio::test]
async fn indexed_attrs_get_null_on_create() {
    let env = Env::with_schema(schema()).await;
    let a = id();
    env.tx_ok(json!([["update", "users", a, {"name": "a"}]]))
        .await;
    let r = env.query(json!({"users": {}})).await;
    // email and age are indexed: explicit nulls; born/meta are not.
    assert_eq!(
        r["users"][0],
        json!({"id": a, "name": "a", "email": null, "age": null})
    );
    let r = env
        .query(json!({"users": {"$": {"where": {"age": {"$isNull": true}}}}}))
        .await;
    assert_eq!(ids(&r["users"]), vec![a]);
}

#[tokio::test]
async fn lookups() {
    let env = Env::with_schema(schema()).await;
    // Upsert by lookup creates a new entity holding the unique value.
    env.tx_ok(json!([["update", "users", ["email", "l@x.y"], {"name": "L"}]]))
        .await;
    let r = env.query(json!({"users": {}})).await;
    assert_eq!(r["users"][0]["email"], "l@x.y");
    let uid = r["users"][0]["id"].as_str().unwrap().to_string();
    // Object and encoded-string forms resolve to the same entity.
    env.tx_ok(json!([["update", "users", {"email": "l@x.y"}, {"age": 3}]]))
        .await;
    env.tx_ok(json!([["update", "users", "lookup__email__\"l@x.y\"", {"age": 4}]]))
        .await;
    let r = env.query(json!({"users": {}})).await;
    assert_eq!(r["users"].as_array().unwrap().len(), 1);
    assert_eq!(r["users"][0]["age"], 4);
    // Link targets by lookup (encoded string, pair inside an array, object).
    let p = id();
    env.tx_ok(json!([["update", "posts", p, {"title": "t"}], ["link", "posts", p, {"author": "lookup__email__\"l@x.y\""}]])).await;
    let r = env.query(json!({"posts": {"author": {}}})).await;
    assert_eq!(ids(&r["posts"][0]["author"]), vec![uid.clone()]);
    env.tx_ok(json!([["unlink", "posts", p, {"author": [["email", "l@x.y"]]}]]))
        .await;
    env.tx_ok(json!([["link", "posts", p, {"author": {"email": "l@x.y"}}]]))
        .await;
    let r = env.query(json!({"posts": {"author": {}}})).await;
    assert_eq!(ids(&r["posts"][0]["author"]), vec![uid.clone()]);
    // Missing link-target lookup.
    let body = env
        .tx_err(
            json!([["link", "posts", p, {"author": "lookup__email__\"nobody@x.y\""}]]),
            "Validation failed for lookup: The entity for the lookup does not exist.",
        )
        .await;
    assert_eq!(body["hint"]["data-type"], "lookup");
    // Non-unique lookup attr.
    env.tx_err(
        json!([["update", "users", ["name", "L"], {"age": 1}]]),
        "Validation failed for lookup: name is not a unique attribute on users",
    )
    .await;
    // Changing the lookup attr of a not-yet-existing entity.
    env.tx_err(
        json!([["update", "users", ["email", "new@x.y"], {"email": "other@x.y", "name": "n"}]]),
        "Validation failed for lookup: Updates with lookups can only update the lookup attribute if an entity with the unique attribute value already exists.",
    )
    .await;
    // Delete by unmatched lookup: no-op; by matched lookup: deletes.
    env.tx_ok(json!([["delete", "users", ["email", "nobody@x.y"]]]))
        .await;
    env.tx_ok(json!([["delete", "users", ["email", "l@x.y"]]]))
        .await;
    assert_eq!(env.query(json!({"users": {}})).await["users"], json!([]));
}

#[tokio::test]
async fn attribute_inference_and_throw_on_missing() {
    let env = Env::with_schema(schema()).await;
    let (s, b) = env
        .post(
            "/admin/transact",
            json!({"steps": [["update", "users", id(), {"name": "x", "favoriteColor": "red"}]], "throw-on-missing-attrs?": true}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["message"],
        "Validation failed for steps: Attributes are missing in your schema"
    );
    assert_eq!(
        b["hint"]["errors"][0]["hint"]["attributes"],
        json!(["users.favoriteColor"])
    );
    // Without the flag, attrs are created: blob attrs and a many-to-many link whose
    // reverse side is named after the source namespace.
    let (t, tag) = (id(), id());
    env.tx_ok(json!([["update", "todos", t, {"title": "x"}], ["update", "tags", tag, {"name": "n"}], ["link", "todos", t, {"tags": tag}]])).await;
    let r = env.query(json!({"tags": {"todos": {}}})).await;
    assert_eq!(ids(&r["tags"][0]["todos"]), vec![t]);
}

#[tokio::test]
async fn system_namespaces() {
    let env = Env::new().await;
    let (s, b) = env
        .transact(json!([["create", "$users", id(), {"email": "a@b.c"}]]))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["message"], "Validation failed for tx-step: $users is a system entity. You aren't allowed to create this directly.");
    // $users and $files are queryable (empty).
    let r = env.query(json!({"$users": {}, "$files": {}})).await;
    assert_eq!(r, json!({"$users": [], "$files": []}));
}

#[tokio::test]
async fn add_attr_step() {
    let env = Env::new().await;
    let attr_id = id();
    env.tx_ok(json!([["add-attr", {"id": attr_id, "forward-identity": [id(), "floopy", "flip"], "value-type": "blob", "cardinality": "one", "unique?": true, "index?": true, "checked-data-type": "number"}]])).await;
    env.tx_ok(json!([["update", "floopy", id(), {"flip": 1}]]))
        .await;
    let r = env
        .query(json!({"floopy": {"$": {"where": {"flip": {"$gt": 0}}}}}))
        .await;
    assert_eq!(r["floopy"].as_array().unwrap().len(), 1);
    env.tx_err(
        json!([["update", "floopy", id(), {"flip": "x"}]]),
        "Invalid value type for floopy.flip. Value must be a number but the provided value type is string.",
    )
    .await;
    // A write to an attr deleted earlier in the same transaction: a 400, no 500.
    let (s, b) = env
        .transact(json!([["delete-attr", attr_id], ["update", "floopy", id(), {"flip": 2}]]))
        .await;
    assert_eq!(s, 400, "{b}");
    env.tx_ok(json!([["delete-attr", attr_id]])).await;
    let r = env
        .query(json!({"floopy": {"$": {"where": {"flip": 1}}}}))
        .await;
    assert_eq!(r["floopy"], json!([]));
}

#[tokio::test]
async fn size_limits_system_columns_and_ref_lookups() {
    let env = Env::with_schema(schema()).await;
    let big = "x".repeat(2000);
    let (s, b) = env
        .transact(json!([["update", "users", id(), {"name": "a", "email": big}]]))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["message"], "Value is too large for an unique attribute.");
    let (s, b) = env
        .transact(json!([["update", "users", id(), {"name": "a", "age": null, "meta": big}]]))
        .await;
    assert_eq!(s, 200, "unindexed values may be large: {b}");
    // $files system columns are read-only.
    let (s, b) = env
        .transact(json!([["update", "$files", id(), {"size": 3}]]))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["message"],
        "Validation failed for tx-step: $files.size is a system column. You aren't allowed to change this directly."
    );
    // Ref lookup `profile.id`: the user whose has-one, reverse-unique link points at it.
    let (u, pr) = (id(), id());
    env.tx_ok(json!([["update", "users", u, {"name": "u"}], ["update", "profiles", pr, {"bio": "b"}], ["link", "users", u, {"profile": pr}]])).await;
    env.tx_ok(json!([["update", "users", {"profile.id": pr}, {"age": 41}]]))
        .await;
    let r = env
        .query(json!({"users": {"$": {"where": {"id": u}}}}))
        .await;
    assert_eq!(r["users"][0]["age"], 41);
}
