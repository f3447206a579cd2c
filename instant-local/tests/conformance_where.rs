//! InstaQL `where`/`order` behaviour pinned to the official server's source
//! (`server/src/instant/db/instaql.clj`, `datalog.clj`, `util/instaql.clj`),
//! where instant-local used to follow the client engine or its own reading.
//! Each test cites the server lines it mirrors.

mod common;

use common::server::{id_set, result_ids, App};
use instant_local::LocalServer;
use serde_json::{json, Value};

fn attr(t: &str, indexed: bool) -> Value {
    json!({"valueType": t, "config": {"unique": false, "indexed": indexed}, "required": false})
}

/// Fixed ids, so id orders are known by hand: `id(1) < id(2) < ...`.
fn id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

const B1: usize = 14;
const B2: usize = 13;
const B3: usize = 12;
const B4: usize = 11;
const A1: usize = 1;
const A2: usize = 2;

/// books b1 "Sum" (n 1, by a1), b2 "Zed" (n 2, by a2), b3 (no title, n 3, no
/// author), b4 "Ark" (n 4, by a1); authors a1 (email ann@x), a2 (no email).
/// Book ids descend: b4 < b3 < b2 < b1.
async fn library() -> App {
    let app = App::with_schema(
        "conformance-where",
        json!({"entities": {
            "books": {"attrs": {"title": attr("string", true), "n": attr("number", true),
                                "published": attr("date", true), "code": attr("string", true)}},
            "authors": {"attrs": {"name": attr("string", true), "email": attr("string", true)}}},
          "links": {"bookAuthor": {
            "forward": {"on": "books", "has": "one", "label": "author"},
            "reverse": {"on": "authors", "has": "many", "label": "books"}}}}),
    )
    .await;
    app.tx_ok(json!([
        ["update", "authors", id(A1), {"name": "Ann", "email": "ann@x"}],
        ["update", "authors", id(A2), {"name": "Bob"}],
        ["update", "books", id(B1), {"title": "Sum", "n": 1}],
        ["update", "books", id(B2), {"title": "Zed", "n": 2}],
        ["update", "books", id(B3), {"n": 3}],
        ["update", "books", id(B4), {"title": "Ark", "n": 4}],
        ["link", "books", id(B1), {"author": id(A1)}],
        ["link", "books", id(B2), {"author": id(A2)}],
        ["link", "books", id(B4), {"author": id(A1)}],
    ]))
    .await;
    app
}

async fn ids_where(app: &App, ns: &str, w: Value) -> Vec<String> {
    let r = app.query_ok(json!({ ns: {"$": {"where": w}}})).await;
    id_set(&r[ns])
}

fn set(v: &[usize]) -> Vec<String> {
    let mut s: Vec<String> = v.iter().map(|i| id(*i)).collect();
    s.sort();
    s
}

/// An unknown attribute or link anywhere in the where (any `or`/`and` branch,
/// any depth) makes the whole where match nothing: `->ref-attr-pat` and the
/// attr lookups throw `record-not-found` (`server/src/instant/db/model/attr_pat.clj:103-108`),
/// which `guarded-where-query` turns into an empty form
/// (`server/src/instant/db/instaql.clj:890-902`); server test `missing-attrs`
/// (`server/test/instant/db/instaql_test.clj:3672-3686`).
#[tokio::test]
async fn unknown_attr_in_any_branch_empties_the_whole_where() {
    let app = library().await;
    for w in [
        json!({"or": [{"moopy": true}, {"title": "Sum"}]}),
        json!({"and": [{"title": "Sum"}, {"or": [{"n": 1}, {"moopy": 1}]}]}),
        json!({"or": [{"nolink.x": 1}, {"title": "Sum"}]}),
        json!({"or": [{"author.moopy": 1}, {"title": "Sum"}]}),
        json!({"title": "Sum", "moopy": {"$ne": 1}}),
    ] {
        assert_eq!(ids_where(&app, "books", w.clone()).await, set(&[]), "{w}");
    }
    // The same in a nested form: the child form is empty, the parents stay.
    let r = app
        .query_ok(json!({"authors": {"$": {"where": {"id": id(A1)}},
            "books": {"$": {"where": {"or": [{"moopy": true}, {"title": "Sum"}]}}}}}))
        .await;
    assert_eq!(r["authors"][0]["books"], json!([]), "{r}");
    // Without the unknown branch the `or` matches as before.
    assert_eq!(
        ids_where(&app, "books", json!({"or": [{"n": 1}, {"title": "Sum"}]})).await,
        set(&[B1])
    );
}

/// Inside `and`/`or` every condition gets its own path variables: the
/// element's keys are coerced into one list (`coerce-where-cond`,
/// `collapse-coerced-conds`, `server/src/instant/db/instaql.clj:147-177,250-278`)
/// and each gets `level-sym-gen`'s suffix (`instaql.clj:645-652,798-842`);
/// only the keys of the top-level where object share `?etype-level`.
#[tokio::test]
async fn conditions_inside_and_or_get_their_own_path_variables() {
    let app = library().await;
    // a1 has "Sum" (n 1) and "Ark" (n 4): no single book is both.
    let top = json!({"books.title": "Sum", "books.n": 4});
    assert_eq!(ids_where(&app, "authors", top).await, set(&[]));
    for w in [
        json!({"or": [{"books.title": "Sum", "books.n": 4}]}),
        json!({"and": [{"books.title": "Sum", "books.n": 4}]}),
        json!({"or": [{"books.title": "Nope"}, {"books.title": "Sum", "books.n": 4}]}),
        json!({"and": [{"books.title": "Sum"}, {"books.n": 4}]}),
    ] {
        assert_eq!(
            ids_where(&app, "authors", w.clone()).await,
            set(&[A1]),
            "{w}"
        );
    }
}

/// `$lt`/`$lte` on an indexed string attribute compare `jsonb` values
/// (`extract-value-fn` has no string extractor for them,
/// `server/src/instant/db/datalog.clj:594-601`, so `data-type-comparison`
/// compares the raw `value`, `datalog.clj:624-627`), and JSON `null` sorts below
/// every string; the server stores a `null` triple for every indexed attribute
/// an entity lacks. So entities without the attribute match `$lt`/`$lte`,
/// never `$gt`/`$gte`.
#[tokio::test]
async fn string_lt_matches_entities_lacking_the_indexed_attr() {
    let app = library().await;
    let q = |op: &str, v: &str| json!({"title": { op: v }});
    assert_eq!(
        ids_where(&app, "books", q("$lt", "T")).await,
        set(&[B1, B3, B4])
    );
    assert_eq!(
        ids_where(&app, "books", q("$lte", "Sum")).await,
        set(&[B1, B3, B4])
    );
    assert_eq!(
        ids_where(&app, "books", q("$gt", "A")).await,
        set(&[B1, B2, B4])
    );
    assert_eq!(
        ids_where(&app, "books", q("$gte", "Sum")).await,
        set(&[B1, B2])
    );
    // Numbers go through `triples_extract_number_value`: null never matches.
    let r = ids_where(&app, "authors", json!({"email": {"$lt": "zzz"}})).await;
    assert_eq!(r, set(&[A1, A2]));
    // Ordered walk with a limit agrees (the sorted-index fast path).
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"title": {"$lt": "T"}},
                                          "order": {"title": "asc"}, "limit": 2}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), vec![id(B3), id(B4)], "{r}");
}

/// An `or` element that is a single `$isNull: true` on an indexed attribute is
/// folded into `{path: {"in": [null]}}` by `combine-or-where-conds`
/// (`server/src/instant/db/instaql.clj:207-235`, `indexed-attr?` at 192-205), so
/// a dotted path then needs the linked entity to exist (its value null) —
/// unlike a top-level `$isNull: true`, which also counts a missing link
/// (`instaql.clj:300-309`).
#[tokio::test]
async fn or_element_with_dotted_is_null_is_in_null() {
    let app = library().await;
    let top = json!({"author.email": {"$isNull": true}});
    assert_eq!(ids_where(&app, "books", top).await, set(&[B2, B3]));
    let in_or = json!({"or": [{"author.email": {"$isNull": true}}]});
    assert_eq!(ids_where(&app, "books", in_or).await, set(&[B2]));
    let two = json!({"or": [{"author.email": {"$isNull": true}}, {"n": 4}]});
    assert_eq!(ids_where(&app, "books", two).await, set(&[B2, B4]));
}

/// The result tree is sorted in memory on the fetched entity maps
/// (`sort-entries`, `server/src/instant/util/instaql.clj:64-82`): when
/// `fields` leaves the order attribute out, every key is `nil` and entities
/// come back in id order (ascending, or descending for `desc`,
/// `make-sort-key-compare` at 41-54); the page itself is still chosen by the
/// order.
#[tokio::test]
async fn order_on_an_attr_not_in_fields_sorts_the_page_by_id() {
    let app = library().await;
    let q = |dir: &str, fields: Value| json!({"books": {"$": {"order": {"n": dir}, "limit": 2, "fields": fields}}});
    let r = app.query_ok(q("asc", json!(["title", "n"]))).await;
    assert_eq!(result_ids(&r["books"]), vec![id(B1), id(B2)]);
    let r = app.query_ok(q("asc", json!(["title"]))).await;
    assert_eq!(result_ids(&r["books"]), vec![id(B2), id(B1)], "{r}");
    let r = app.query_ok(q("desc", json!(["title"]))).await;
    assert_eq!(result_ids(&r["books"]), vec![id(B3), id(B4)], "{r}");
    // Nested forms are sorted the same way.
    let r = app
        .query_ok(json!({"authors": {"$": {"where": {"id": id(A1)}},
            "books": {"$": {"order": {"n": "asc"}, "fields": ["title"]}}}}))
        .await;
    assert_eq!(
        result_ids(&r["authors"][0]["books"]),
        vec![id(B4), id(B1)],
        "{r}"
    );
}

/// Dates compare as `timestamptz` (`triples_extract_date_value`,
/// `server/src/instant/db/datalog.clj:596`), i.e. at microsecond precision,
/// not milliseconds.
#[tokio::test]
async fn date_comparisons_keep_microseconds() {
    let app = library().await;
    app.tx_ok(json!([
        ["update", "books", id(B1), {"published": "2024-01-01T00:00:00.000500Z"}],
        ["update", "books", id(B2), {"published": "2024-01-01T00:00:00.000Z"}],
    ]))
    .await;
    let w = |v: Value| json!({"published": v});
    let ms = "2024-01-01T00:00:00.000Z";
    assert_eq!(
        ids_where(&app, "books", w(json!({"$gt": ms}))).await,
        set(&[B1])
    );
    assert_eq!(ids_where(&app, "books", w(json!(ms))).await, set(&[B2]));
    assert_eq!(
        ids_where(
            &app,
            "books",
            w(json!({"$lte": "2024-01-01T00:00:00.000499Z"}))
        )
        .await,
        set(&[B2])
    );
    let r = app
        .query_ok(
            json!({"books": {"$": {"where": {"published": {"$isNull": false}},
                                          "order": {"published": "desc"}}}}),
        )
        .await;
    assert_eq!(result_ids(&r["books"]), vec![id(B1), id(B2)], "{r}");
}

/// `$like`/`$ilike` are SQL `LIKE`/`ILIKE` (`datalog.clj:744-750`) with
/// Postgres' default escape character `\`: `\%`, `\_` and `\\` match the
/// character itself.
#[tokio::test]
async fn like_backslash_escapes() {
    let app = library().await;
    app.tx_ok(json!([
        ["update", "books", id(B1), {"code": "50%"}],
        ["update", "books", id(B2), {"code": "50x"}],
        ["update", "books", id(B3), {"code": "a_b"}],
        ["update", "books", id(B4), {"code": "back\\slash"}],
    ]))
    .await;
    let like = |p: &str| json!({"code": {"$like": p}});
    assert_eq!(ids_where(&app, "books", like("50\\%")).await, set(&[B1]));
    assert_eq!(ids_where(&app, "books", like("50%")).await, set(&[B1, B2]));
    assert_eq!(ids_where(&app, "books", like("a\\_b")).await, set(&[B3]));
    assert_eq!(ids_where(&app, "books", like("%\\\\%")).await, set(&[B4]));
    let ilike = json!({"code": {"$ilike": "BACK\\\\%"}});
    assert_eq!(ids_where(&app, "books", ilike).await, set(&[B4]));
}

async fn post(url: &str, app_id: &str, token: &str, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("app-id", app_id)
        .header("authorization", format!("Bearer {token}"))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// Default order is `serverCreatedAt` ascending (`default-order`,
/// `server/src/instant/db/instaql.clj:909`); successive transactions sort in
/// commit order (the server's route tests expect creation order), including
/// within one millisecond, after a restart and through cursors.
#[tokio::test]
async fn successive_transactions_sort_in_commit_order() {
    // In memory, transactions are answered before they are written: many
    // commit within one millisecond.
    let server = LocalServer::builder().start().await.expect("start");
    let creds = server.create_app("commit-order").await.expect("app");
    let (app_id, token) = (creds.app_id.to_string(), creds.admin_token.clone());
    let url = server.url();
    let created = create_items(&url, &app_id, &token, 300).await;
    assert_eq!(items(&url, &app_id, &token, json!({})).await, created);
    let desc = json!({"order": {"serverCreatedAt": "desc"}, "limit": 5});
    let mut last5: Vec<String> = created[created.len() - 5..].to_vec();
    last5.reverse();
    assert_eq!(items(&url, &app_id, &token, desc).await, last5);
    // Pages of the subscription protocol walk the same order (cursors).
    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut opts = json!({"first": 70});
        if let Some(c) = &after {
            opts["after"] = c.clone();
        }
        let out = page(&url, &app_id, &token, json!({"items": {"$": opts}})).await;
        let ids = result_ids(&out["result"]["items"]);
        if ids.is_empty() {
            break;
        }
        seen.extend(ids);
        after = Some(out["result-meta"]["page-info"]["items"]["end-cursor"].clone());
        assert!(seen.len() <= created.len(), "pages never end");
    }
    assert_eq!(seen, created);
    server.shutdown().await;
}

#[tokio::test]
async fn commit_order_survives_a_restart_with_a_database_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("order.db");
    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("start");
    let creds = server.create_app("commit-order-file").await.expect("app");
    let (app_id, token) = (creds.app_id.to_string(), creds.admin_token.clone());
    let mut created = create_items(&server.url(), &app_id, &token, 40).await;
    server.shutdown().await;

    let server = LocalServer::builder()
        .db_path(&db)
        .start()
        .await
        .expect("restart");
    let url = server.url();
    assert_eq!(items(&url, &app_id, &token, json!({})).await, created);
    // Transactions after the restart still sort after the earlier ones.
    created.extend(create_items(&url, &app_id, &token, 20).await);
    assert_eq!(items(&url, &app_id, &token, json!({})).await, created);
    server.shutdown().await;
}

/// `n` transactions, each creating one `items` entity with a random id, sent
/// 8 at a time (so that many commit within one millisecond); returns the ids
/// in commit order (by the `tx-id` each answer carries).
async fn create_items(url: &str, app_id: &str, token: &str, n: usize) -> Vec<String> {
    use futures::StreamExt;
    let mut done: Vec<(i64, String)> = futures::stream::iter(0..n)
        .map(|i| async move {
            let e = uuid::Uuid::new_v4().to_string();
            let steps = json!([["update", "items", e, {"i": i}]]);
            let r = post(
                url,
                app_id,
                token,
                "/admin/transact",
                json!({ "steps": steps }),
            )
            .await;
            (r["tx-id"].as_i64().expect("tx-id"), e)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    done.sort();
    done.into_iter().map(|(_, e)| e).collect()
}

/// The ids of `items` with options `opts`.
async fn items(url: &str, app_id: &str, token: &str, opts: Value) -> Vec<String> {
    let q = json!({"query": {"items": {"$": opts}}});
    let r = post(url, app_id, token, "/admin/query", q).await;
    result_ids(&r["items"])
}

/// The first result event of `POST /admin/subscribe-query` (`{"result",
/// "result-meta": {"page-info"}}`).
async fn page(url: &str, app_id: &str, token: &str, q: Value) -> Value {
    use futures::StreamExt;
    let r = reqwest::Client::new()
        .post(format!("{url}/admin/subscribe-query"))
        .header("app-id", app_id)
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({"query": q}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    while let Some(chunk) = body.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        for line in buf.lines() {
            if let Some(data) = line.strip_prefix("data:") {
                if let Ok(v) = serde_json::from_str::<Value>(data.trim_start()) {
                    if v.get("result").is_some() {
                        return v;
                    }
                }
            }
        }
    }
    panic!("no result event: {buf}");
}
