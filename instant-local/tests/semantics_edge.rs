//! Edge cases of query and transaction semantics on small hand-made data, with
//! expectations worked out by hand (comments give the reasoning).
//!
//! Spec: /work/shared/spec/semantics.md, instaql.md, instaml-steps.md.
//! Apps are created with `POST /dash/apps/ephemeral` and a schema written here,
//! because each case needs specific attr flags (typed, indexed or not, unique).

mod common;

use common::server::{id_set, result_ids, App};
use serde_json::{json, Value};

fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn attr(t: &str, indexed: bool, unique: bool) -> Value {
    json!({"valueType": t, "config": {"unique": unique, "indexed": indexed}, "required": false})
}

/// Fixed ids in ascending hex order, so id tie-breaks are known by hand.
fn ids(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn order_dates_as_instants_strings_by_code_unit_booleans_false_first() {
    let app = App::with_schema(
        "edge-order",
        json!({"entities": {"things": {"attrs": {
            "when": attr("date", true, false),
            "name": attr("string", true, false),
            "flag": attr("boolean", true, false)}}}, "links": {}}),
    )
    .await;
    let i = ids(5);
    app.tx_ok(json!([
        ["update", "things", i[0], {"when": "2025-01-01", "name": "apple", "flag": true}],
        ["update", "things", i[1], {"when": 1700000000000i64, "name": "Banana", "flag": false}],   // 2023-11-14
        ["update", "things", i[2], {"when": "2024-06-01T12:00:00Z", "name": "cherry", "flag": true}],
        ["update", "things", i[3], {"name": "\u{c4}pfel"}],                                        // no when, no flag
        ["update", "things", i[4], {"when": "2024-06-01 12:00:00", "name": "apple", "flag": false}] // same instant as i[2]
    ]))
    .await;
    let order = |k: &str, d: &str| {
        let app = app.clone();
        let q = json!({"things": {"$": {"order": {k: d}}}});
        async move { result_ids(&app.query_ok(q).await["things"]) }
    };
    // when asc: null first (3), 2023 (1), the 2024-06-01T12:00Z instant twice (2, 4; by id), 2025 (0).
    let when_asc = vec![
        i[3].clone(),
        i[1].clone(),
        i[2].clone(),
        i[4].clone(),
        i[0].clone(),
    ];
    assert_eq!(order("when", "asc").await, when_asc);
    let mut rev = when_asc.clone();
    rev.reverse();
    assert_eq!(
        order("when", "desc").await,
        rev,
        "nulls last desc, ties by id desc"
    );
    // name asc by UTF-16 code units: "Banana" < "apple"(0) = "apple"(4) < "cherry" < "Äpfel".
    assert_eq!(
        order("name", "asc").await,
        vec![
            i[1].clone(),
            i[0].clone(),
            i[4].clone(),
            i[2].clone(),
            i[3].clone()
        ]
    );
    // flag asc: null (3), false (1, 4), true (0, 2).
    assert_eq!(
        order("flag", "asc").await,
        vec![
            i[3].clone(),
            i[1].clone(),
            i[4].clone(),
            i[0].clone(),
            i[2].clone()
        ]
    );
    let r = app
        .query_ok(json!({"things": {"$": {"where": {"flag": {"$gt": false}}}}}))
        .await;
    assert_eq!(
        id_set(&r["things"]),
        sorted(vec![i[0].clone(), i[2].clone()])
    );
    // Indexed date equality compares instants: both spellings of 2024-06-01T12:00Z.
    let r = app
        .query_ok(json!({"things": {"$": {"where": {"when": "2024-06-01T12:00:00.000Z"}}}}))
        .await;
    assert_eq!(
        id_set(&r["things"]),
        sorted(vec![i[2].clone(), i[4].clone()])
    );
    let r = app
        .query_ok(json!({"things": {"$": {"where": {"when": {"$lt": "2024-01-01"}}}}}))
        .await;
    assert_eq!(result_ids(&r["things"]), [i[1].clone()]);
    // last + offset: offset counts from the end. name asc = [1, 0, 4, 2, 3];
    // last 2 with offset 1 → [4, 2].
    let r = app
        .query_ok(json!({"things": {"$": {"order": {"name": "asc"}, "last": 2, "offset": 1}}}))
        .await;
    assert_eq!(result_ids(&r["things"]), [i[4].clone(), i[2].clone()]);
}

#[tokio::test]
async fn unindexed_date_equality_compares_the_stored_json() {
    let app = App::with_schema(
        "edge-date",
        json!({"entities": {"events": {"attrs": {"at": attr("date", false, false)}}}, "links": {}}),
    )
    .await;
    let e = uid();
    app.tx_ok(json!([["update", "events", e, {"at": "2024-06-01T12:00:00Z"}]]))
        .await;
    let r = app
        .query_ok(json!({"events": {"$": {"where": {"at": "2024-06-01T12:00:00Z"}}}}))
        .await;
    assert_eq!(result_ids(&r["events"]), [e.as_str()]);
    let r = app
        .query_ok(json!({"events": {"$": {"where": {"at": "2024-06-01 12:00:00"}}}}))
        .await;
    assert_eq!(
        r["events"],
        json!([]),
        "another spelling of the instant does not match unindexed"
    );
}

#[tokio::test]
async fn like_matches_whole_values_and_newlines() {
    let app = App::with_schema(
        "edge-like",
        json!({"entities": {"notes": {"attrs": {"text": attr("string", true, false)}}}, "links": {}}),
    )
    .await;
    let i = ids(4);
    app.tx_ok(json!([
        ["update", "notes", i[0], {"text": "Get fit"}],
        ["update", "notes", i[1], {"text": "get\nfit"}],
        ["update", "notes", i[2], {"text": "Get fitter"}],
        ["update", "notes", i[3], {"text": "100%"}]
    ]))
    .await;
    let q = |op: &str, p: &str| json!({"notes": {"$": {"where": {"text": {op: p}}}}});
    // Whole-value match: "Get fit" only (not "Get fitter").
    assert_eq!(
        result_ids(&app.query_ok(q("$like", "Get fit")).await["notes"]),
        [i[0].clone()]
    );
    // Case-sensitive vs insensitive; % spans a newline.
    assert_eq!(
        result_ids(&app.query_ok(q("$like", "get%fit")).await["notes"]),
        [i[1].clone()]
    );
    assert_eq!(
        id_set(&app.query_ok(q("$ilike", "get%fit")).await["notes"]),
        sorted(vec![i[0].clone(), i[1].clone()])
    );
    // _ is exactly one character.
    assert_eq!(
        result_ids(&app.query_ok(q("$like", "Get_fit")).await["notes"]),
        [i[0].clone()]
    );
    assert_eq!(
        result_ids(&app.query_ok(q("$like", "Get fit___")).await["notes"]),
        [i[2].clone()]
    );
    assert_eq!(
        result_ids(&app.query_ok(q("$like", "100_")).await["notes"]),
        [i[3].clone()]
    );
}

#[tokio::test]
async fn not_and_is_null_through_missing_links() {
    let app = App::with_schema(
        "edge-paths",
        json!({"entities": {
            "owners": {"attrs": {"name": attr("string", true, false)}},
            "pets": {"attrs": {"kind": attr("string", true, false)}}},
          "links": {"ownersPets": {"forward": {"on": "owners", "has": "many", "label": "pets"},
                                   "reverse": {"on": "pets", "has": "one", "label": "owner"}}}}),
    )
    .await;
    let o = ids(3);
    let p = [uid(), uid(), uid()];
    app.tx_ok(json!([
        ["update", "owners", o[0], {"name": "has cat and dog"}],
        ["update", "owners", o[1], {"name": "has a kindless pet"}],
        ["update", "owners", o[2], {"name": "has none"}],
        ["update", "pets", p[0], {"kind": "cat"}],
        ["update", "pets", p[1], {"kind": "dog"}],
        ["update", "pets", p[2], {}],
        ["link", "owners", o[0], {"pets": [p[0], p[1]]}],
        ["link", "owners", o[1], {"pets": p[2]}]
    ]))
    .await;
    let q = |w: Value| json!({"owners": {"$": {"where": w}}});
    // $not "cat": o0 (its dog), o1 (kind missing), o2 (no pet) — all three.
    let r = app.query_ok(q(json!({"pets.kind": {"$not": "cat"}}))).await;
    assert_eq!(id_set(&r["owners"]), o.to_vec());
    // $isNull true: o1 (kind missing) and o2 (link missing).
    let r = app
        .query_ok(q(json!({"pets.kind": {"$isNull": true}})))
        .await;
    assert_eq!(id_set(&r["owners"]), vec![o[1].clone(), o[2].clone()]);
    // $isNull false: a chain ending in a value: o0 only.
    let r = app
        .query_ok(q(json!({"pets.kind": {"$isNull": false}})))
        .await;
    assert_eq!(result_ids(&r["owners"]), [o[0].clone()]);
    // Link label itself.
    let r = app.query_ok(q(json!({"pets": {"$isNull": true}}))).await;
    assert_eq!(result_ids(&r["owners"]), [o[2].clone()]);
    // Reverse has-one under inference: object or null.
    let r = app.query_inf(json!({"pets": {"owner": {}}}), true).await;
    let pets = r.body["pets"].as_array().unwrap();
    assert_eq!(pets.len(), 3);
    for pet in pets {
        let expect_owner = if pet["id"] == p[2].as_str() {
            &o[1]
        } else {
            &o[0]
        };
        assert_eq!(pet["owner"]["id"], expect_owner.as_str(), "{pet}");
    }
    // A pet linked to no owner gets null.
    let lone = uid();
    app.tx_ok(json!([["update", "pets", lone, {"kind": "fish"}]]))
        .await;
    let r = app
        .query_inf(
            json!({"pets": {"$": {"where": {"id": lone}}, "owner": {}}}),
            true,
        )
        .await;
    assert_eq!(r.body["pets"][0]["owner"], Value::Null, "{}", r.body);
    // Typed literal checks apply inside $in and $ne too.
    for w in [json!({"name": {"$in": [1]}}), json!({"name": {"$ne": 1}})] {
        let r = app.query(q(w.clone())).await;
        r.assert_error_contains(
            "validation-failed",
            "The data type of `owners.name` is `string`",
        );
    }
    // Ref lookup: the owner of pet p0 (reverse has-one makes the link unique).
    app.tx_ok(json!([["update", "owners", ["pets.id", p[0]], {"name": "renamed"}]]))
        .await;
    let r = app.query_ok(q(json!({"id": o[0]}))).await;
    assert_eq!(r["owners"][0]["name"], "renamed");
}

#[tokio::test]
async fn transaction_edge_errors() {
    let app = App::with_schema(
        "edge-tx",
        json!({"entities": {"users": {"attrs": {
            "handle": attr("string", true, true),
            "bio": attr("string", true, false),
            "note": attr("json", false, false)}}}, "links": {}}),
    )
    .await;
    // Changing the lookup attr of a lookup that does not resolve.
    app.transact(json!([["update", "users", ["handle", "ghost"], {"handle": "other"}]]), false)
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for lookup: Updates with lookups can only update the lookup attribute if an entity with the unique attribute value already exists.",
        );
    // ...is fine when it resolves.
    let u = uid();
    app.tx_ok(json!([["update", "users", u, {"handle": "real"}]]))
        .await;
    app.tx_ok(json!([["update", "users", ["handle", "real"], {"handle": "renamed"}]]))
        .await;
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"handle": "renamed"}}}}))
        .await;
    assert_eq!(result_ids(&r["users"]), [u.as_str()]);
    // Values of indexed attrs are limited to about 1 KB.
    let big = "x".repeat(4000);
    app.transact(json!([["update", "users", uid(), {"bio": big}]]), false)
        .await
        .assert_error_contains(
            "validation-failed",
            "Value is too large for an indexed attribute.",
        );
    app.tx_ok(json!([["update", "users", uid(), {"note": big}]]))
        .await;
    // Null bytes cannot be stored.
    app.transact(
        json!([["update", "users", uid(), {"note": "a\u{0}b"}]]),
        false,
    )
    .await
    .assert_error_contains(
        "validation-failed",
        "A value in the transaction contains null bytes, which cannot be stored.",
    );
    // Unsupported / unknown actions.
    app.transact(json!([["update-attr", {"id": uid()}]]), false)
        .await
        .assert_error_contains("validation-failed", "Unsupported action update-attr");
    let r = app
        .transact(json!([["explode", "users", uid(), {}]]), false)
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
    // Malformed body parts.
    let r = app.transact(json!({"not": "an array"}), false).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn lookup_subjects_create_sources_for_link_and_id_lookups() {
    let app = App::with_schema(
        "edge-lookup-link",
        json!({"entities": {
            "users": {"attrs": {"handle": attr("string", true, true)}},
            "posts": {"attrs": {"slug": attr("string", true, true)}}},
          "links": {"usersPosts": {"forward": {"on": "users", "has": "many", "label": "posts"},
                                   "reverse": {"on": "posts", "has": "one", "label": "author"}}}}),
    )
    .await;
    let p = uid();
    app.tx_ok(json!([["update", "posts", p, {"slug": "hello"}]]))
        .await;
    // link with a lookup subject creates the missing source (instaml-steps.md §3.4).
    app.tx_ok(json!([["link", "users", ["handle", "ann"], {"posts": p}]]))
        .await;
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"handle": "ann"}}, "posts": {}}}))
        .await;
    assert_eq!(r["users"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(result_ids(&r["users"][0]["posts"]), [p.as_str()]);
    // unlink with a lookup subject: also creates a missing source, removes nothing.
    app.tx_ok(json!([["unlink", "users", ["handle", "bob"], {"posts": p}]]))
        .await;
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"handle": "bob"}}, "posts": {}}}))
        .await;
    assert_eq!(r["users"][0]["posts"], json!([]), "{r}");
    // create through a lookup that resolves → "Creating entities that exist".
    let r = app
        .transact(json!([["create", "users", ["handle", "ann"], {}]]), false)
        .await;
    r.assert_error_contains(
        "validation-failed",
        "Validation failed for tx-step: Creating entities that exist:",
    );
    // ["id", uuid] lookup creates the entity with that very id.
    let fresh = uid();
    app.tx_ok(json!([["update", "users", ["id", fresh], {"handle": "cy"}]]))
        .await;
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"handle": "cy"}}}}))
        .await;
    assert_eq!(result_ids(&r["users"]), [fresh.as_str()]);
    app.transact(
        json!([["update", "users", ["id", "nope"], {"handle": "dd"}]]),
        false,
    )
    .await
    .assert_error_contains(
        "validation-failed",
        "The lookup attribute is 'users.id', but the lookup value is not a valid UUID.",
    );
    // Lookups resolve in delete too, and the delete removes the link.
    app.tx_ok(json!([["delete", "users", ["handle", "ann"]]]))
        .await;
    let r = app.query_inf(json!({"posts": {"author": {}}}), true).await;
    assert_eq!(r.body["posts"][0]["author"], Value::Null, "{}", r.body);
}

#[tokio::test]
async fn required_links_and_plural_required_messages() {
    let app = App::with_schema(
        "edge-required",
        json!({"entities": {
            "todos": {"attrs": {"title": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": true}}},
            "lists": {"attrs": {}}},
          "links": {"todosList": {"forward": {"on": "todos", "has": "one", "label": "list", "required": true},
                                  "reverse": {"on": "lists", "has": "many", "label": "todos"}}}}),
    )
    .await;
    let (l, t1, t2) = (uid(), uid(), uid());
    app.tx_ok(json!([["update", "lists", l, {}]])).await;
    // Two todos missing their title: plural form, both ids listed.
    let r = app
        .transact(json!([["create", "todos", t1, {}], ["create", "todos", t2, {}], ["link", "todos", t1, {"list": l}], ["link", "todos", t2, {"list": l}]]), false)
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
    let m = r.message();
    assert!(
        m.contains("Missing required attributes `todos/title`:"),
        "{m}"
    );
    assert!(m.contains(&t1) && m.contains(&t2), "{m}");
    // Title given, required link missing.
    let r = app
        .transact(json!([["create", "todos", t1, {"title": "x"}]]), false)
        .await;
    r.assert_error_contains(
        "validation-failed",
        &format!("Missing required attribute `todos/list`: {t1}"),
    );
    let r = app
        .transact(
            json!([["create", "todos", t1, {"title": "x"}], ["link", "todos", t1, {"list": l}]]),
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn ordering_by_server_created_at_with_cursors_and_offset() {
    let app = App::plain("edge-created").await;
    let mut order = Vec::new();
    for n in 0..6 {
        let i = uid();
        app.tx_ok(json!([["update", "items", i, {"n": n}]])).await;
        order.push(i);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let ev = app
        .subscribe_first(
            json!({"items": {"$": {"order": {"serverCreatedAt": "desc"}, "limit": 2}}}),
            false,
        )
        .await;
    assert_eq!(ev["op"], "add-query-ok", "{ev}");
    let desc: Vec<String> = order.iter().rev().cloned().collect();
    assert_eq!(result_ids(&ev["result"]["items"]), desc[..2]);
    let end = ev["result-meta"]["page-info"]["items"]["end-cursor"].clone();
    let r = app
        .query_ok(json!({"items": {"$": {"order": {"serverCreatedAt": "desc"}, "first": 2, "after": end}}}))
        .await;
    assert_eq!(result_ids(&r["items"]), desc[2..4]);
    // offset applies after cursor filtering.
    let r = app
        .query_ok(json!({"items": {"$": {"order": {"serverCreatedAt": "desc"}, "after": end, "offset": 1, "limit": 2}}}))
        .await;
    assert_eq!(result_ids(&r["items"]), desc[3..5]);
    // Nested serverCreatedAt order.
    let h = uid();
    app.tx_ok(
        json!([["update", "holders", h, {}], ["link", "holders", h, {"items": order.clone()}]]),
    )
    .await;
    let r = app
        .query_ok(json!({"holders": {"items": {"$": {"order": {"serverCreatedAt": "desc"}}}}}))
        .await;
    assert_eq!(result_ids(&r["holders"][0]["items"]), desc);
}

#[tokio::test]
async fn date_operands_in_the_formats_the_server_parses() {
    // Upstream `server/src/instant/db/model/triple.clj` `date-parsers`: ISO zoned
    // (offset may be `-08`), ISO local (UTC), ISO date, RFC-1123,
    // `yyyy-MM-dd HH:mm:ss`, `yyyy-MM-dd HH:mm:ss.n`, `EEE MMM dd yyyy`; a string
    // holding a JSON-quoted date is tried too (its `comment` block lists exactly
    // these examples). semantics.md §3.3: "many common formats (…, RFC-1123, ...)".
    let app = App::with_schema(
        "edge-date-formats",
        json!({"entities": {"events": {"attrs": {"at": attr("date", true, false)}}}, "links": {}}),
    )
    .await;
    // (operand text, the same instant as epoch ms, worked out by hand)
    let cases = [
        ("Sat, 05 Apr 2025 18:00:31 GMT", 1743876031000i64), // 2025-04-05T18:00:31Z
        ("Wed Jul 09 2025", 1752019200000),                  // 2025-07-09T00:00:00Z
        ("2025-01-02T00:00:00-08", 1735804800000),           // 2025-01-02T08:00:00Z
        ("\"2025-01-15 20:53:08\"", 1736974388000),          // 2025-01-15T20:53:08Z
        ("2025-01-15 20:53:09.5", 1736974389500),
    ];
    let mut steps = Vec::new();
    let mut ids = Vec::new();
    for (_, ms) in cases {
        let id = uid();
        steps.push(json!(["update", "events", id, {"at": ms}]));
        ids.push(id);
    }
    app.tx_ok(Value::Array(steps)).await;
    let mut failures = Vec::new();
    for ((text, _), id) in cases.iter().zip(&ids) {
        let r = app
            .query(json!({"events": {"$": {"where": {"at": text}}}}))
            .await;
        if r.status != 200 || result_ids(&r.body["events"]) != [id.as_str()] {
            failures.push(format!("{text}: {} {}", r.status, r.body));
        }
    }
    assert!(
        failures.is_empty(),
        "date operands not handled like upstream:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn unique_conflicts_inside_one_transaction_and_bad_opts() {
    let app = App::with_schema(
        "edge-unique-tx",
        json!({"entities": {"users": {"attrs": {"email": attr("string", true, true)}}}, "links": {}}),
    )
    .await;
    let (a, b) = (uid(), uid());
    // Two new entities taking the same unique value in one transaction.
    let r = app
        .transact(json!([["update", "users", a, {"email": "x@y.z"}], ["update", "users", b, {"email": "x@y.z"}]]), false)
        .await;
    r.assert_error(
        "record-not-unique",
        "`email` is a unique attribute on `users` and an entity already exists with `users.email` = \"x@y.z\"",
    );
    let r = app.query_ok(json!({"users": {}})).await;
    assert_eq!(r["users"], json!([]), "rolled back");
    // Swapping a value inside one transaction: a gives it up, b takes it.
    app.tx_ok(json!([["update", "users", a, {"email": "x@y.z"}]]))
        .await;
    app.tx_ok(json!([["update", "users", a, {"email": "other@y.z"}], ["update", "users", b, {"email": "x@y.z"}]])).await;
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"email": "x@y.z"}}}}))
        .await;
    assert_eq!(result_ids(&r["users"]), [b.as_str()]);
    // opts must be an object; a non-boolean `upsert` passes the server's spec,
    // which decides validity on string keys where `::upsert` is never
    // consulted (`admin/model.clj` `->tx-steps!`, lines 497-507), and is read
    // as truthy (`(if (get opts "upsert") :upsert :update)`, line 167).
    let r = app
        .transact(
            json!([["update", "users", a, {"email": "q@y.z"}, {"upsert": "yes"}]]),
            false,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .transact(
            json!([["update", "users", a, {"email": "q@y.z"}, "not-an-object"]]),
            false,
        )
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
    let r = app
        .transact(
            json!([["update", "users", a, {"email": "q@y.z"}, {"upsert": null}]]),
            false,
        )
        .await;
    assert_eq!(r.status, 200, "upsert: null is plain upsert: {}", r.body);
}
