//! InstaQL semantics of the local server over HTTP (`POST /admin/query`,
//! `POST /admin/subscribe-query`), checked against expectations computed here
//! from the raw dataset files (/work/shared/data/zeneca, /movies) — never by
//! asking the server twice.
//!
//! Spec: /work/shared/spec/semantics.md (§2-§4, §7), instaql.md.
//!
//! Loading: zeneca and movies are loaded once per test binary into apps created
//! with `POST /dash/apps/ephemeral` + the dataset's schema.json (so the typed and
//! indexed attrs the comparison/order rules need exist, and cascade/has-one flags
//! are real), with `throw-on-missing-attrs?` true. The error-message tests for
//! untyped/unindexed attrs use a second zeneca copy loaded into a schema-less app
//! (every attr inferred: untyped, unindexed), as a user without a schema would.

mod common;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use common::data;
use common::server::{self, id_set, result_ids, without_nulls, App};
use serde_json::{json, Map, Value};

type Obj = Map<String, Value>;

/// zeneca as plain Rust data.
struct Zen {
    users: Vec<Obj>,
    shelves: Vec<Obj>,
    books: Vec<Obj>,
    user_shelf: BTreeSet<(String, String)>,
    shelf_book: BTreeSet<(String, String)>,
}

fn zen() -> Zen {
    Zen {
        users: data::entities("zeneca", "users"),
        shelves: data::entities("zeneca", "bookshelves"),
        books: data::entities("zeneca", "books"),
        user_shelf: data::link_pairs("zeneca", "usersBookshelves"),
        shelf_book: data::link_pairs("zeneca", "bookshelvesBooks"),
    }
}

fn id(o: &Obj) -> String {
    o["id"].as_str().unwrap().to_string()
}

impl Zen {
    fn by_id<'a>(rows: &'a [Obj], i: &str) -> &'a Obj {
        rows.iter().find(|r| r["id"] == i).unwrap()
    }
    fn shelves_of_user(&self, u: &str) -> Vec<&Obj> {
        self.user_shelf
            .iter()
            .filter(|(a, _)| a == u)
            .map(|(_, s)| Self::by_id(&self.shelves, s))
            .collect()
    }
    fn books_of_shelf(&self, s: &str) -> Vec<&Obj> {
        self.shelf_book
            .iter()
            .filter(|(a, _)| a == s)
            .map(|(_, b)| Self::by_id(&self.books, b))
            .collect()
    }
    fn shelves_of_book(&self, b: &str) -> Vec<&Obj> {
        self.shelf_book
            .iter()
            .filter(|(_, x)| x == b)
            .map(|(s, _)| Self::by_id(&self.shelves, s))
            .collect()
    }
    fn users_of_shelf(&self, s: &str) -> Vec<&Obj> {
        self.user_shelf
            .iter()
            .filter(|(_, x)| x == s)
            .map(|(u, _)| Self::by_id(&self.users, u))
            .collect()
    }
}

/// Sorted ids of the rows matching `pred`.
fn expect_ids<'a>(
    rows: impl IntoIterator<Item = &'a Obj>,
    pred: impl Fn(&Obj) -> bool,
) -> Vec<String> {
    let mut v: Vec<String> = rows.into_iter().filter(|r| pred(r)).map(id).collect();
    v.sort();
    v
}

/// Present and not null.
fn val<'a>(o: &'a Obj, k: &str) -> Option<&'a Value> {
    o.get(k).filter(|v| !v.is_null())
}

fn num(o: &Obj, k: &str) -> Option<f64> {
    val(o, k).and_then(Value::as_f64)
}

/// SQL LIKE: `%` any run, `_` one char, whole-value match.
fn like(pattern: &str, s: &str, ci: bool) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = if ci {
        (
            pattern.to_lowercase().chars().collect(),
            s.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), s.chars().collect())
    };
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| go(&p[1..], &s[i..])),
            Some('_') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    go(&p, &s)
}

fn date_ms(v: &Value) -> i64 {
    instant_core::Date::from_json(v).unwrap().millis()
}

/// Expected order of `rows` by `key` (typed compare), nulls first asc, ties by id
/// asc; `desc` is the exact reverse (nulls last, ties by id desc).
fn ordered(rows: &[Obj], key: &str, desc: bool) -> Vec<String> {
    let mut v: Vec<&Obj> = rows.iter().collect();
    v.sort_by(|a, b| {
        let c = match (val(a, key), val(b, key)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => match (x, y) {
                (Value::Number(_), Value::Number(_)) => {
                    x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap())
                }
                (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
                _ => panic!("mixed types"),
            },
        };
        c.then_with(|| id(a).cmp(&id(b)))
    });
    let mut ids: Vec<String> = v.into_iter().map(id).collect();
    if desc {
        ids.reverse();
    }
    ids
}

// ---- whole namespaces, shapes ------------------------------------------------

#[tokio::test]
async fn every_entity_comes_back_with_its_attrs() {
    let app = server::zeneca().await;
    let z = zen();
    let r = app
        .query_ok(json!({"users": {}, "bookshelves": {}, "books": {}}))
        .await;
    for (ns, rows) in [
        ("users", &z.users),
        ("bookshelves", &z.shelves),
        ("books", &z.books),
    ] {
        let got = r[ns]
            .as_array()
            .unwrap_or_else(|| panic!("{ns} not an array: {}", r[ns]));
        assert_eq!(got.len(), rows.len(), "{ns} count");
        let by_id: BTreeMap<String, Obj> = got
            .iter()
            .map(|o| (o["id"].as_str().unwrap().to_string(), without_nulls(o)))
            .collect();
        for row in rows.iter() {
            assert_eq!(
                by_id.get(&id(row)),
                Some(row),
                "{ns} {} attrs verbatim",
                id(row)
            );
        }
    }
    // Only the query's keys come back.
    assert_eq!(r.as_object().unwrap().len(), 3);
}

#[tokio::test]
async fn unknown_namespace_attr_and_child_label_give_empty_results() {
    let app = server::zeneca().await;
    let r = app
        .query_ok(json!({"authors": {}, "users": {"$": {"where": {"nickname": "joe"}}}}))
        .await;
    assert_eq!(r, json!({"authors": [], "users": []}));
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"bookshelves.nope.title": "x"}}}}))
        .await;
    assert_eq!(r["users"], json!([]));
    // Unknown child label: parents still come back, child is [].
    let r = app.query_ok(json!({"users": {"friends": {}}})).await;
    let users = r["users"].as_array().unwrap();
    assert_eq!(users.len(), 4);
    assert!(users.iter().all(|u| u["friends"] == json!([])), "{}", r);
    // A blob attr as a child label is an error.
    app.query(json!({"users": {"handle": {}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for attr: users.handle needs to be a link",
        );
}

#[tokio::test]
async fn system_namespaces_are_queryable_and_empty_in_a_new_app() {
    let app = App::plain("sys").await;
    let r = app.query_ok(json!({"$users": {}, "$files": {}})).await;
    assert_eq!(r, json!({"$users": [], "$files": []}));
}

// ---- equality, $in -------------------------------------------------------------

#[tokio::test]
async fn equality_is_json_equality_without_coercion() {
    let app = server::zeneca().await;
    let z = zen();
    for lit in [
        json!("Philosophy"),
        json!(2013),
        json!("2013"),
        json!("2021"),
        json!(2021),
    ] {
        let r = app
            .query_ok(json!({"bookshelves": {"$": {"where": {"name": lit}}}}))
            .await;
        let exp = expect_ids(&z.shelves, |s| s.get("name") == Some(&lit));
        assert_eq!(id_set(&r["bookshelves"]), exp, "name = {lit}");
    }
    // Two shelves are named "Philosophy"; 2013 (number) matches one, "2013" none.
    let r = app
        .query_ok(json!({"bookshelves": {"$": {"where": {"name": "Philosophy"}}}}))
        .await;
    assert_eq!(r["bookshelves"].as_array().unwrap().len(), 2);

    let b = &z.books[17];
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"title": b["title"]}}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), [id(b)]);
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"id": id(b)}}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), [id(b)]);
    // Two keys are AND-ed.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"title": b["title"], "pageCount": 1}}}}))
        .await;
    assert_eq!(r["books"], json!([]));
}

#[tokio::test]
async fn typed_attr_rejects_literals_of_another_type() {
    let app = server::zeneca().await;
    app.query(json!({"books": {"$": {"where": {"pageCount": "300"}}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for query: The data type of `books.pageCount` is `number`, but the query got the value `\"300\"` of type `string`.",
        );
    // null is no literal (use $isNull).
    let r = app
        .query(json!({"books": {"$": {"where": {"title": null}}}}))
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn indexed_date_equality_compares_instants() {
    let app = server::zeneca().await;
    let z = zen();
    let stopa = z.users.iter().find(|u| u["handle"] == "stopa").unwrap();
    assert_eq!(stopa["createdAt"], "2021-01-07 18:50:43.447955");
    for lit in [
        json!("2021-01-07 18:50:43.447955"),
        json!("2021-01-07T18:50:43.447955Z"),
    ] {
        let r = app
            .query_ok(json!({"users": {"$": {"where": {"createdAt": lit}}}}))
            .await;
        assert_eq!(result_ids(&r["users"]), [id(stopa)], "createdAt = {lit}");
    }
}

#[tokio::test]
async fn in_operator_and_alias() {
    let app = server::zeneca().await;
    let z = zen();
    let titles = [
        z.books[0]["title"].clone(),
        z.books[5]["title"].clone(),
        json!("no such book"),
    ];
    for op in ["$in", "in"] {
        let r = app
            .query_ok(json!({"books": {"$": {"where": {"title": {op: titles}}}}}))
            .await;
        assert_eq!(
            id_set(&r["books"]),
            expect_ids(&z.books, |b| titles.contains(&b["title"])),
            "{op}"
        );
    }
    let mixed = [json!(2013), json!("Philosophy"), json!("2014")];
    let r = app
        .query_ok(json!({"bookshelves": {"$": {"where": {"name": {"$in": mixed}}}}}))
        .await;
    assert_eq!(
        id_set(&r["bookshelves"]),
        expect_ids(&z.shelves, |s| mixed
            .iter()
            .any(|m| s.get("name") == Some(m)))
    );
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"title": {"$in": []}}}}}))
        .await;
    assert_eq!(r["books"], json!([]));
    // null in $in on an indexed attr matches missing values.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"pageCount": {"$in": [null, 128]}}}}}))
        .await;
    assert_eq!(
        id_set(&r["books"]),
        expect_ids(&z.books, |b| num(b, "pageCount").is_none_or(|n| n == 128.0))
    );
    // ... and is an error on an unindexed one.
    app.query(json!({"books": {"$": {"where": {"description": {"$in": [null]}}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "Only indexed attrs can check for `nil` in `$in`. books.description is not indexed.",
        );
}

// ---- $not / $ne / $isNull -----------------------------------------------------------

#[tokio::test]
async fn not_and_ne_include_missing_values() {
    let app = server::zeneca().await;
    let z = zen();
    for op in ["$not", "$ne"] {
        let r = app
            .query_ok(json!({"books": {"$": {"where": {"pageCount": {op: 128}}}}}))
            .await;
        let exp = expect_ids(&z.books, |b| num(b, "pageCount") != Some(128.0));
        assert_eq!(exp.len(), 392 - 5, "5 books have 128 pages");
        assert_eq!(id_set(&r["books"]), exp, "{op}");
        let r = app
            .query_ok(json!({"bookshelves": {"$": {"where": {"name": {op: 2013}}}}}))
            .await;
        assert_eq!(
            id_set(&r["bookshelves"]),
            expect_ids(&z.shelves, |s| s.get("name") != Some(&json!(2013)))
        );
    }
}

#[tokio::test]
async fn not_on_a_dotted_path_is_existential() {
    let app = server::zeneca().await;
    let z = zen();
    // users whose some shelf is not named "Comedy" (or who have no shelf, or a
    // shelf without a name) — NOT "no shelf is named Comedy".
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"bookshelves.name": {"$not": "Comedy"}}}}}))
        .await;
    let exp = expect_ids(&z.users, |u| {
        let shelves = z.shelves_of_user(&id(u));
        shelves.is_empty()
            || shelves
                .iter()
                .any(|s| s.get("name") != Some(&json!("Comedy")))
    });
    assert_eq!(id_set(&r["users"]), exp);
    // Two hops: some book on some shelf does not have 128 pages (missing counts).
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"bookshelves.books.pageCount": {"$ne": 128}}}}}))
        .await;
    let exp = expect_ids(&z.users, |u| {
        let shelves = z.shelves_of_user(&id(u));
        shelves.is_empty()
            || shelves.iter().any(|s| {
                let books = z.books_of_shelf(&id(s));
                books.is_empty() || books.iter().any(|b| num(b, "pageCount") != Some(128.0))
            })
    });
    assert_eq!(id_set(&r["users"]), exp);
}

#[tokio::test]
async fn is_null_on_attrs() {
    let app = server::zeneca().await;
    let z = zen();
    for (attr, n_missing) in [("pageCount", 205), ("description", 12), ("thumbnail", 2)] {
        let r = app
            .query_ok(json!({"books": {"$": {"where": {attr: {"$isNull": true}}}}}))
            .await;
        let exp = expect_ids(&z.books, |b| val(b, attr).is_none());
        assert_eq!(exp.len(), n_missing);
        assert_eq!(id_set(&r["books"]), exp, "{attr} isNull true");
        let r = app
            .query_ok(json!({"books": {"$": {"where": {attr: {"$isNull": false}}}}}))
            .await;
        assert_eq!(
            id_set(&r["books"]),
            expect_ids(&z.books, |b| val(b, attr).is_some()),
            "{attr} isNull false"
        );
    }
    // "" is a value, not null.
    let r = app
        .query_ok(json!({"bookshelves": {"$": {"where": {"desc": {"$isNull": false}}}}}))
        .await;
    assert_eq!(
        id_set(&r["bookshelves"]),
        expect_ids(&z.shelves, |s| val(s, "desc").is_some())
    );
    let r = app
        .query(json!({"books": {"$": {"where": {"title": {"$isNull": "a"}}}}}))
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn is_null_on_links_and_dotted_paths() {
    let app = server::zeneca().await;
    let z = zen();
    // Forward link without data: every book has no prequel.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"prequel": {"$isNull": true}}}}}))
        .await;
    assert_eq!(r["books"].as_array().unwrap().len(), 392);
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"prequel": {"$isNull": false}}}}}))
        .await;
    assert_eq!(r["books"], json!([]));
    // Reverse link: every book sits on a shelf.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"bookshelves": {"$isNull": true}}}}}))
        .await;
    assert_eq!(r["books"], json!([]));
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"bookshelves": {"$isNull": false}}}}}))
        .await;
    assert_eq!(r["books"].as_array().unwrap().len(), 392);
    // Dotted, true: some prefix of the chain is null.
    let r = app
        .query_ok(
            json!({"users": {"$": {"where": {"bookshelves.books.pageCount": {"$isNull": true}}}}}),
        )
        .await;
    let exp = expect_ids(&z.users, |u| {
        let shelves = z.shelves_of_user(&id(u));
        shelves.is_empty()
            || shelves.iter().any(|s| {
                let books = z.books_of_shelf(&id(s));
                books.is_empty() || books.iter().any(|b| num(b, "pageCount").is_none())
            })
    });
    assert_eq!(id_set(&r["users"]), exp);
    // Dotted, false: a chain ends in a non-null value. Shelves (reverse hop)
    // whose user has an email.
    let r = app
        .query_ok(json!({"bookshelves": {"$": {"where": {"users.email": {"$isNull": false}}}}}))
        .await;
    assert_eq!(
        id_set(&r["bookshelves"]),
        expect_ids(&z.shelves, |s| z
            .users_of_shelf(&id(s))
            .iter()
            .any(|u| val(u, "email").is_some()))
    );
}

// ---- paths -------------------------------------------------------------------------

#[tokio::test]
async fn dotted_paths_are_existential_in_both_directions() {
    let app = server::zeneca().await;
    let z = zen();
    let book = &z.books[40];
    let t = book["title"].clone();
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"bookshelves.books.title": t}}}}))
        .await;
    let exp = expect_ids(&z.users, |u| {
        z.shelves_of_user(&id(u))
            .iter()
            .any(|s| z.books_of_shelf(&id(s)).iter().any(|b| b["title"] == t))
    });
    assert!(!exp.is_empty());
    assert_eq!(id_set(&r["users"]), exp);
    // Reverse hops: books on a shelf of the user with handle "stopa".
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"bookshelves.users.handle": "stopa"}}}}))
        .await;
    let exp = expect_ids(&z.books, |b| {
        z.shelves_of_book(&id(b)).iter().any(|s| {
            z.users_of_shelf(&id(s))
                .iter()
                .any(|u| u["handle"] == "stopa")
        })
    });
    assert_eq!(id_set(&r["books"]), exp);
    // A link label as the last segment compares the linked id; `.id` is the same.
    let shelf = id(&z.shelves[3]);
    let exp = expect_ids(&z.books, |b| z.shelf_book.contains(&(shelf.clone(), id(b))));
    for key in ["bookshelves", "bookshelves.id"] {
        let r = app
            .query_ok(json!({"books": {"$": {"where": {key: shelf}}}}))
            .await;
        assert_eq!(id_set(&r["books"]), exp, "{key}");
    }
    // Comparison through a path.
    let r = app
        .query_ok(json!({"bookshelves": {"$": {"where": {"books.pageCount": {"$gt": 600}}}}}))
        .await;
    assert_eq!(
        id_set(&r["bookshelves"]),
        expect_ids(&z.shelves, |s| z
            .books_of_shelf(&id(s))
            .iter()
            .any(|b| num(b, "pageCount").is_some_and(|n| n > 600.0)))
    );
}

#[tokio::test]
async fn path_errors() {
    let app = server::zeneca().await;
    app.query(json!({"books": {"$": {"where": {"title.foo": "x"}}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for attr: books.title needs to be a link",
        );
    app.query(json!({"books": {"$": {"where": {"bookshelves": "hello"}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "Expected bookshelves to be a uuid, got \"hello\"",
        );
    app.query(json!({"books": {"$": {"where": {"bookshelves": {"$in": ["hello"]}}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "Expected bookshelves to match on a uuid, found \"hello\" in",
        );
    let r = app
        .query(json!({"books": {"$": {"where": {"title": {"$regex": "x"}}}}}))
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
}

// ---- and / or ----------------------------------------------------------------------

#[tokio::test]
async fn and_or_nest_and_bind_their_own_paths() {
    let app = server::zeneca().await;
    let z = zen();
    let (a, b) = (z.books[1]["title"].clone(), z.books[2]["title"].clone());
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"or": [{"title": a}, {"title": b}]}}}}))
        .await;
    assert_eq!(
        id_set(&r["books"]),
        expect_ids(&z.books, |x| x["title"] == a || x["title"] == b)
    );

    // Users that have a book A and a (possibly different) book B.
    let has = |u: &Obj, t: &Value| {
        z.shelves_of_user(&id(u))
            .iter()
            .any(|s| z.books_of_shelf(&id(s)).iter().any(|x| &x["title"] == t))
    };
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"and": [
            {"bookshelves.books.title": a}, {"bookshelves.books.title": b}]}}}}))
        .await;
    assert_eq!(
        id_set(&r["users"]),
        expect_ids(&z.users, |u| has(u, &a) && has(u, &b))
    );

    // or inside and, next to a plain key.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {
            "pageCount": {"$isNull": false},
            "and": [{"or": [{"pageCount": {"$lt": 150}}, {"pageCount": {"$gt": 800}}]}]}}}}))
        .await;
    assert_eq!(
        id_set(&r["books"]),
        expect_ids(&z.books, |x| num(x, "pageCount")
            .is_some_and(|n| !(150.0..=800.0).contains(&n)))
    );
    app.query(json!({"books": {"$": {"where": {"or": []}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "The list of `or` conditions can't be empty.",
        );
    app.query(json!({"books": {"$": {"where": {"and": []}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "The list of `and` conditions can't be empty.",
        );
}

// ---- comparisons, like ---------------------------------------------------------------

#[tokio::test]
async fn comparisons_on_indexed_typed_attrs() {
    let app = server::zeneca().await;
    let z = zen();
    type Cmp = fn(f64, f64) -> bool;
    let ops: [(&str, Cmp); 4] = [
        ("$gt", |a, b| a > b),
        ("$gte", |a, b| a >= b),
        ("$lt", |a, b| a < b),
        ("$lte", |a, b| a <= b),
    ];
    for (op, f) in ops {
        let r = app
            .query_ok(json!({"books": {"$": {"where": {"pageCount": {op: 128}}}}}))
            .await;
        assert_eq!(
            id_set(&r["books"]),
            expect_ids(&z.books, |b| num(b, "pageCount")
                .is_some_and(|n| f(n, 128.0))),
            "pageCount {op} 128 (missing never matches)"
        );
    }
    // Strings compare as text (byte order).
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"title": {"$gte": "T"}}}}}))
        .await;
    assert_eq!(
        id_set(&r["books"]),
        expect_ids(&z.books, |b| b["title"].as_str().unwrap().as_bytes()
            >= b"T".as_slice())
    );
    // Dates compare as instants; operands may be strings or epoch ms.
    let cut = "2021-01-08T00:00:00Z";
    let cut_ms = date_ms(&json!(cut));
    for operand in [json!(cut), json!(cut_ms), json!("2021-01-08")] {
        let r = app
            .query_ok(json!({"users": {"$": {"where": {"createdAt": {"$gt": operand}}}}}))
            .await;
        assert_eq!(
            id_set(&r["users"]),
            expect_ids(&z.users, |u| date_ms(&u["createdAt"]) > cut_ms),
            "createdAt > {operand}"
        );
    }
    app.query(json!({"users": {"$": {"where": {"createdAt": {"$gt": "tomorrow"}}}}}))
        .await
        .assert_error_contains("validation-failed", "`users.createdAt` is `date`");
    app.query(json!({"books": {"$": {"where": {"pageCount": {"$gt": "100"}}}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for query: The data type of `books.pageCount` is `number`, but the query got the value `\"100\"` of type `string`.",
        );
}

#[tokio::test]
async fn like_and_ilike() {
    let app = server::zeneca().await;
    let z = zen();
    for (op, pat, ci) in [
        ("$like", "The %", false),
        ("$like", "%the%", false),
        ("$like", "_h%", false),
        ("$like", "Sum", false),
        ("$ilike", "%THE%", true),
        ("$ilike", "sum", true),
        ("$ilike", "%a_e", true),
    ] {
        let r = app
            .query_ok(json!({"books": {"$": {"where": {"title": {op: pat}}}}}))
            .await;
        let exp = expect_ids(&z.books, |b| like(pat, b["title"].as_str().unwrap(), ci));
        assert!(!exp.is_empty(), "{op} {pat} should match something");
        assert_eq!(id_set(&r["books"]), exp, "{op} {pat}");
    }
    app.query(json!({"books": {"$": {"where": {"title": {"$like": 10}}}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for query: The $like value for `books.title` must be a string, but the query got the value `10` of type `number`.",
        );
}

#[tokio::test]
async fn comparisons_need_indexed_and_typed_attrs() {
    let app = server::zeneca().await;
    // Typed (string) but not indexed.
    for op in ["$gt", "$like", "$ilike"] {
        app.query(json!({"books": {"$": {"where": {"description": {op: "a"}}}}}))
            .await
            .assert_error(
                "validation-failed",
                "Validation failed for query: The `books.description` attribute must be indexed to use comparison operators.",
            );
    }
    // Neither indexed nor typed: the index message comes first.
    app.query(json!({"bookshelves": {"$": {"where": {"name": {"$lt": 5}}}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for query: The `bookshelves.name` attribute must be indexed to use comparison operators.",
        );
    // Inferred attrs (no schema) are neither.
    let inferred = server::zeneca_inferred().await;
    inferred
        .query(json!({"books": {"$": {"where": {"pageCount": {"$gt": 100}}}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for query: The `books.pageCount` attribute must be indexed to use comparison operators.",
        );
    // Indexed but untyped.
    let things = App::with_schema(
        "things",
        json!({"entities": {"things": {"attrs": {"blob": {"valueType": "json", "config": {"unique": false, "indexed": true}, "required": false}}}}, "links": {}}),
    )
    .await;
    things
        .query(json!({"things": {"$": {"where": {"blob": {"$gt": 1}}}}}))
        .await
        .assert_error(
            "validation-failed",
            "Validation failed for query: The `things.blob` attribute must have an enforced type to use comparison operators.",
        );
}

// ---- ordering ------------------------------------------------------------------------

#[tokio::test]
async fn order_by_typed_attr_nulls_first_asc_last_desc() {
    let app = server::zeneca().await;
    let z = zen();
    for (key, dir) in [
        ("pageCount", "asc"),
        ("pageCount", "desc"),
        ("title", "asc"),
        ("title", "desc"),
    ] {
        let r = app
            .query_ok(json!({"books": {"$": {"order": {key: dir}}}}))
            .await;
        assert_eq!(
            result_ids(&r["books"]),
            ordered(&z.books, key, dir == "desc"),
            "order {key} {dir}"
        );
    }
    let r = app
        .query_ok(json!({"bookshelves": {"$": {"order": {"order": "desc"}}}}))
        .await;
    assert_eq!(
        result_ids(&r["bookshelves"]),
        ordered(&z.shelves, "order", true)
    );
    // Order and where together.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"pageCount": {"$lt": 200}}, "order": {"pageCount": "desc"}}}}))
        .await;
    let small: Vec<Obj> = z
        .books
        .iter()
        .filter(|b| num(b, "pageCount").is_some_and(|n| n < 200.0))
        .cloned()
        .collect();
    assert_eq!(result_ids(&r["books"]), ordered(&small, "pageCount", true));
}

#[tokio::test]
async fn order_errors() {
    let app = server::zeneca().await;
    app.query(json!({"books": {"$": {"order": {"description": "asc"}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "The `books.description` attribute is not indexed. Only indexed and typed attributes can be used to order by.",
        );
    app.query(json!({"books": {"$": {"order": {"random-field": "asc"}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "There is no `random-field` attribute for books.",
        );
    app.query(json!({"books": {"$": {"order": {"title": "DESC"}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "We only support \"asc\" or \"desc\" in the `order` clause. Got \"DESC\".",
        );
    app.query(json!({"books": {"$": {"order": {"title": "asc", "pageCount": "asc"}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "We only support a single key in the `order` clause.",
        );
    let things = App::with_schema(
        "things-order",
        json!({"entities": {"things": {"attrs": {"blob": {"valueType": "json", "config": {"unique": false, "indexed": true}, "required": false}}}}, "links": {}}),
    )
    .await;
    things
        .query(json!({"things": {"$": {"order": {"blob": "asc"}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "The `things.blob` attribute is not typed. Only typed and indexed attributes can be used to order by.",
        );
}

#[tokio::test]
async fn default_order_is_server_created_at_then_id() {
    // Created here, one transaction at a time with pauses, so creation times are
    // known to be increasing; three entities share one transaction (same ms) and
    // must then be ordered by id.
    let app = App::plain("default-order").await;
    let mut expected: Vec<String> = Vec::new();
    for i in 0..4 {
        let id = uuid::Uuid::new_v4().to_string();
        app.tx_ok(json!([["update", "items", id, {"n": i}]])).await;
        expected.push(id);
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    let mut same_tx: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let steps: Vec<Value> = same_tx
        .iter()
        .rev()
        .map(|i| json!(["update", "items", i, {"n": 9}]))
        .collect();
    app.tx_ok(Value::Array(steps)).await;
    same_tx.sort();
    expected.extend(same_tx);
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    // Updating an old entity does not move it.
    app.tx_ok(json!([["update", "items", expected[0], {"n": 100}]]))
        .await;

    let r = app.query_ok(json!({"items": {}})).await;
    assert_eq!(result_ids(&r["items"]), expected);
    let r = app
        .query_ok(json!({"items": {"$": {"order": {"serverCreatedAt": "desc"}}}}))
        .await;
    let mut rev = expected.clone();
    rev.reverse();
    assert_eq!(result_ids(&r["items"]), rev);
    // The sort key never shows up as a field.
    assert!(
        r["items"][0].get("$serverCreatedAt").is_none()
            && r["items"][0].get("serverCreatedAt").is_none()
    );

    // Nested children default to the same order.
    let parent = uuid::Uuid::new_v4().to_string();
    app.tx_ok(json!([["update", "holders", parent, {}], ["link", "holders", parent, {"items": expected.clone()}]]))
        .await;
    let r = app.query_ok(json!({"holders": {"items": {}}})).await;
    assert_eq!(result_ids(&r["holders"][0]["items"]), expected);
}

// ---- pagination ----------------------------------------------------------------------

#[tokio::test]
async fn limit_first_last_offset() {
    let app = server::zeneca().await;
    let z = zen();
    let all = ordered(&z.books, "title", false);
    let q = |opts: Value| {
        let mut o = json!({"order": {"title": "asc"}});
        o.as_object_mut()
            .unwrap()
            .extend(opts.as_object().unwrap().clone());
        json!({"books": {"$": o}})
    };
    let r = app.query_ok(q(json!({"limit": 10}))).await;
    assert_eq!(result_ids(&r["books"]), all[..10]);
    let r = app.query_ok(q(json!({"first": 7}))).await;
    assert_eq!(result_ids(&r["books"]), all[..7]);
    let r = app.query_ok(q(json!({"limit": 10, "offset": 25}))).await;
    assert_eq!(result_ids(&r["books"]), all[25..35]);
    let r = app.query_ok(q(json!({"offset": 390}))).await;
    assert_eq!(result_ids(&r["books"]), all[390..]);
    let r = app.query_ok(q(json!({"last": 5}))).await;
    assert_eq!(
        result_ids(&r["books"]),
        all[all.len() - 5..],
        "last n in normal order"
    );
    // Limit without order: default order.
    let r = app
        .query_ok(json!({"books": {"$": {"limit": 3, "where": {"pageCount": {"$gt": 900}}}}}))
        .await;
    assert_eq!(r["books"].as_array().unwrap().len(), 3);
    // Nested limit is ignored by the server.
    let r = app.query_ok(json!({"bookshelves": {"$": {"where": {"id": id(&z.shelves[0])}}, "books": {"$": {"limit": 1}}}})).await;
    assert_eq!(
        r["bookshelves"][0]["books"].as_array().unwrap().len(),
        z.books_of_shelf(&id(&z.shelves[0])).len()
    );
}

#[tokio::test]
async fn pagination_option_errors() {
    let app = server::zeneca().await;
    let cases = [
        (
            json!({"limit": -1}),
            "The limit field must be a positive integer. Got -1.",
        ),
        (
            json!({"first": 0}),
            "The first field must be a positive integer. Got 0.",
        ),
        (
            json!({"offset": -1}),
            "The offset field must be a non-negative integer. Got -1.",
        ),
        (
            json!({"limit": 1, "first": 1}),
            "Only provide one of `limit` or `first`.",
        ),
        (
            json!({"bogus": 1}),
            "We only support `where`, `order`, `limit`, `offset`, `before`, and `after` clauses.",
        ),
        (
            json!({"fields": "title"}),
            "The `fields` property should be an array of field names.",
        ),
    ];
    for (opts, msg) in cases {
        app.query(json!({"books": {"$": opts}}))
            .await
            .assert_error_contains("validation-failed", msg);
    }
    app.query(json!({"bookshelves": {"books": {"$": {"offset": 1}}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "We currently only support `offset`, `before`, and `after` clauses on the top-level field.",
        );
    app.query(json!({"books": {"$": {"order": {"title": "asc"}, "after": 10}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "Expected a join row for the cursor, got 10.",
        );
}

#[tokio::test]
async fn cursors_from_subscribe_page_info() {
    let app = server::zeneca().await;
    let z = zen();
    let all = ordered(&z.books, "title", false);
    let ev = app
        .subscribe_first(
            json!({"books": {"$": {"order": {"title": "asc"}, "limit": 10}}}),
            false,
        )
        .await;
    assert_eq!(ev["op"], "add-query-ok", "{ev}");
    assert_eq!(result_ids(&ev["result"]["books"]), all[..10]);
    let pi = &ev["result-meta"]["page-info"]["books"];
    assert_eq!(pi["has-next-page?"], true, "{pi}");
    assert_eq!(pi["has-previous-page?"], false, "{pi}");
    let start = pi["start-cursor"].clone();
    let end = pi["end-cursor"].clone();
    // [entityId, attrId, value, createdAtMs]
    assert_eq!(end.as_array().map(Vec::len), Some(4), "{end}");
    assert_eq!(end[0], all[9].as_str());
    assert_eq!(end[2], Zen::by_id(&z.books, &all[9])["title"]);

    let r = app
        .query_ok(json!({"books": {"$": {"order": {"title": "asc"}, "first": 10, "after": end}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), all[10..20]);
    let r = app
        .query_ok(json!({"books": {"$": {"order": {"title": "asc"}, "first": 3, "after": end, "afterInclusive": true}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), all[9..12]);
    let r = app
        .query_ok(json!({"books": {"$": {"order": {"title": "asc"}, "last": 2, "before": end}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), all[7..9]);
    let r = app
        .query_ok(json!({"books": {"$": {"order": {"title": "asc"}, "before": end, "beforeInclusive": true, "after": start}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), all[1..10]);
    // Descending order: after = further down the reversed list.
    let desc = ordered(&z.books, "title", true);
    let pos = desc.iter().position(|i| i == &all[9]).unwrap();
    let r = app
        .query_ok(json!({"books": {"$": {"order": {"title": "desc"}, "first": 4, "after": end}}}))
        .await;
    assert_eq!(result_ids(&r["books"]), desc[pos + 1..pos + 5]);
    // A title cursor cannot page a pageCount order.
    app.query(json!({"books": {"$": {"order": {"pageCount": "asc"}, "after": end}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "Invalid after cursor. The query orders by `pageCount`, but the query that returned the cursor orders by `title`.",
        );

    // Default order: the cursor is the id row, its value the entity id.
    let ev = app
        .subscribe_first(json!({"users": {"$": {"limit": 2}}}), false)
        .await;
    let c = &ev["result-meta"]["page-info"]["users"]["end-cursor"];
    assert_eq!(
        c[0], c[2],
        "serverCreatedAt cursor value is the entity id: {c}"
    );
    assert!(c[3].is_i64(), "{c}");
    // No paging options → no page info for that key.
    let ev = app.subscribe_first(json!({"users": {}}), false).await;
    assert!(
        ev["result-meta"]["page-info"].get("users").is_none(),
        "{ev}"
    );
}

#[tokio::test]
async fn subscribe_reports_query_errors_as_events() {
    let app = server::zeneca().await;
    let ev = app
        .subscribe_first(json!({"books": {"$": {"limit": -1}}}), false)
        .await;
    assert_eq!(ev["op"], "error", "{ev}");
    assert_eq!(ev["status"], 400);
    assert_eq!(ev["type"], "validation-failed");
}

// ---- nesting, fields, inference ---------------------------------------------------------

#[tokio::test]
async fn nested_links_any_depth_both_directions() {
    let app = server::zeneca().await;
    let z = zen();
    let r = app
        .query_ok(json!({"users": {"bookshelves": {"books": {"bookshelves": {"users": {}}}}}}))
        .await;
    let users = r["users"].as_array().unwrap();
    assert_eq!(users.len(), 4);
    for u in users {
        let uid = u["id"].as_str().unwrap();
        let mut exp: Vec<String> = z.shelves_of_user(uid).iter().map(|s| id(s)).collect();
        exp.sort();
        assert_eq!(id_set(&u["bookshelves"]), exp, "shelves of {uid}");
        for s in u["bookshelves"].as_array().unwrap() {
            let sid = s["id"].as_str().unwrap();
            assert_eq!(
                without_nulls(s).get("name"),
                Zen::by_id(&z.shelves, sid).get("name")
            );
            let mut exp: Vec<String> = z.books_of_shelf(sid).iter().map(|b| id(b)).collect();
            exp.sort();
            assert_eq!(id_set(&s["books"]), exp, "books of {sid}");
            for b in s["books"].as_array().unwrap() {
                let bid = b["id"].as_str().unwrap();
                let mut exp: Vec<String> = z.shelves_of_book(bid).iter().map(|s| id(s)).collect();
                exp.sort();
                assert_eq!(id_set(&b["bookshelves"]), exp, "shelves of book {bid}");
                for s2 in b["bookshelves"].as_array().unwrap() {
                    let exp: Vec<String> = z
                        .users_of_shelf(s2["id"].as_str().unwrap())
                        .iter()
                        .map(|u| id(u))
                        .collect();
                    assert_eq!(id_set(&s2["users"]), exp);
                }
            }
        }
    }
}

#[tokio::test]
async fn nested_where_order_and_fields_apply_per_level() {
    let app = server::zeneca().await;
    let z = zen();
    let r = app
        .query_ok(json!({"users": {"bookshelves": {"$": {
            "where": {"order": {"$gte": 0}, "name": {"$ne": "Philosophy"}},
            "order": {"order": "desc"},
            "fields": ["name", "order"]}}}}))
        .await;
    let users = r["users"].as_array().unwrap();
    assert_eq!(users.len(), 4, "nested where never filters parents");
    for u in users {
        let shelves: Vec<Obj> = z
            .shelves_of_user(u["id"].as_str().unwrap())
            .into_iter()
            .filter(|s| s.get("name") != Some(&json!("Philosophy")))
            .cloned()
            .collect();
        assert_eq!(
            result_ids(&u["bookshelves"]),
            ordered(&shelves, "order", true)
        );
        for s in u["bookshelves"].as_array().unwrap() {
            let keys: BTreeSet<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
            assert!(
                keys.is_subset(&BTreeSet::from(["id", "name", "order"])),
                "{s}"
            );
            assert!(keys.contains("id"));
        }
    }
}

#[tokio::test]
async fn fields_projection() {
    let app = server::zeneca().await;
    let z = zen();
    let r = app
        .query_ok(json!({"books": {"$": {"fields": ["title", "nope"]}}}))
        .await;
    for b in r["books"].as_array().unwrap() {
        let bid = b["id"].as_str().unwrap();
        let exp = json!({"id": bid, "title": Zen::by_id(&z.books, bid)["title"]});
        assert_eq!(b, &exp);
    }
    let r = app.query_ok(json!({"users": {"$": {"fields": []}}})).await;
    for u in r["users"].as_array().unwrap() {
        assert_eq!(
            u.as_object().unwrap().len(),
            1,
            "fields [] gives just id: {u}"
        );
    }
    let r = app.query_ok(json!({"users": {"$": {"fields": ["id"]}, "bookshelves": {"$": {"fields": ["order"]}}}})).await;
    for u in r["users"].as_array().unwrap() {
        let keys: BTreeSet<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["id", "bookshelves"]),
            "children still expand: {u}"
        );
    }
}

#[tokio::test]
async fn has_one_links_are_objects_or_null_with_inference() {
    let app = server::movies().await;
    let movies = data::entities("movies", "movie");
    let director: BTreeMap<String, String> = data::link_pairs("movies", "movieDirector")
        .into_iter()
        .collect();
    let sequel: BTreeMap<String, String> = data::link_pairs("movies", "movieSequel")
        .into_iter()
        .collect();
    let prequel: BTreeMap<String, String> =
        sequel.iter().map(|(a, b)| (b.clone(), a.clone())).collect();

    let q = json!({"movie": {"director": {}, "sequel": {}, "prequel": {}, "cast": {}}});
    let r = app.query_inf(q.clone(), true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = r.body["movie"].as_array().unwrap();
    assert_eq!(got.len(), movies.len());
    for m in got {
        let mid = m["id"].as_str().unwrap();
        assert!(m["director"].is_object(), "director is has-one: {m}");
        assert_eq!(m["director"]["id"], director[mid].as_str());
        for (label, map) in [("sequel", &sequel), ("prequel", &prequel)] {
            match map.get(mid) {
                Some(t) => assert_eq!(m[label]["id"], t.as_str(), "{label} of {mid}"),
                None => assert_eq!(
                    m.get(label),
                    Some(&Value::Null),
                    "missing {label} is null: {m}"
                ),
            }
        }
        assert!(m["cast"].is_array(), "has-many stays an array");
    }
    // Reverse has-many stays an array under inference.
    let r = app
        .query_inf(json!({"person": {"directedMovies": {}}}), true)
        .await;
    assert!(
        r.body["person"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["directedMovies"].is_array()),
        "{}",
        r.body
    );

    // Without inference everything is an array.
    let r = app.query_inf(q, false).await;
    for m in r.body["movie"].as_array().unwrap() {
        let mid = m["id"].as_str().unwrap();
        assert_eq!(result_ids(&m["director"]), [director[mid].clone()]);
        assert_eq!(
            m["sequel"].as_array().unwrap().len(),
            usize::from(sequel.contains_key(mid))
        );
    }
}

#[tokio::test]
async fn forward_has_one_link_shows_as_an_id_field_when_not_expanded() {
    // semantics.md §2.1 [server ≠ client].
    let app = server::movies().await;
    let director: BTreeMap<String, String> = data::link_pairs("movies", "movieDirector")
        .into_iter()
        .collect();
    let r = app.query_ok(json!({"movie": {}})).await;
    for m in r["movie"].as_array().unwrap() {
        assert_eq!(
            m["director"],
            director[m["id"].as_str().unwrap()].as_str(),
            "{m}"
        );
    }
}

#[tokio::test]
async fn movies_values_and_typed_dates() {
    let app = server::movies().await;
    let people = data::entities("movies", "person");
    let r = app
        .query_ok(json!({"person": {"$": {"order": {"born": "asc"}}}}))
        .await;
    let mut exp: Vec<&Obj> = people.iter().collect();
    exp.sort_by(|a, b| {
        let d = |o: &Obj| val(o, "born").map(date_ms);
        d(a).cmp(&d(b)).then_with(|| id(a).cmp(&id(b)))
    });
    assert_eq!(
        result_ids(&r["person"]),
        exp.iter().map(|o| id(o)).collect::<Vec<_>>()
    );
    // Date values come back exactly as stored.
    for p in r["person"].as_array().unwrap() {
        let src = people.iter().find(|x| x["id"] == p["id"]).unwrap();
        assert_eq!(
            &without_nulls(p).get("born").cloned(),
            &src.get("born").cloned()
        );
    }
    let r = app
        .query_ok(json!({"person": {"$": {"where": {"death": {"$isNull": false}}}}}))
        .await;
    assert_eq!(
        id_set(&r["person"]),
        expect_ids(&people, |p| val(p, "death").is_some())
    );
    let r = app
        .query_ok(json!({"movie": {"$": {"where": {"director.name": "James Cameron"}}}}))
        .await;
    let movies = data::entities("movies", "movie");
    let dirs = data::link_pairs("movies", "movieDirector");
    let cameron: Vec<String> = people
        .iter()
        .filter(|p| p["name"] == "James Cameron")
        .map(id)
        .collect();
    assert_eq!(
        id_set(&r["movie"]),
        expect_ids(&movies, |m| dirs
            .iter()
            .any(|(a, b)| a == &id(m) && cameron.contains(b)))
    );
}

#[tokio::test]
async fn page_info_flags() {
    let app = server::zeneca().await;
    let z = zen();
    let all = ordered(&z.books, "title", false);
    let page = |opts: Value| {
        let app = app.clone();
        async move {
            let mut o = json!({"order": {"title": "asc"}});
            o.as_object_mut()
                .unwrap()
                .extend(opts.as_object().unwrap().clone());
            let ev = app.subscribe_first(json!({"books": {"$": o}}), false).await;
            assert_eq!(ev["op"], "add-query-ok", "{ev}");
            (
                result_ids(&ev["result"]["books"]),
                ev["result-meta"]["page-info"]["books"].clone(),
            )
        }
    };
    let (ids, first) = page(json!({"limit": 10})).await;
    assert_eq!(ids, all[..10]);
    assert_eq!(
        (
            first["has-next-page?"].clone(),
            first["has-previous-page?"].clone()
        ),
        (json!(true), json!(false))
    );
    assert_eq!(first["start-cursor"][0], all[0].as_str());

    let (ids, second) = page(json!({"first": 10, "after": first["end-cursor"]})).await;
    assert_eq!(ids, all[10..20]);
    assert_eq!(
        (
            second["has-next-page?"].clone(),
            second["has-previous-page?"].clone()
        ),
        (json!(true), json!(true))
    );

    let near_end = &all[all.len() - 4];
    let cursor = {
        let mut c = first["end-cursor"].clone();
        c[0] = json!(near_end);
        c[2] = Zen::by_id(&z.books, near_end)["title"].clone();
        c
    };
    let (ids, tail) = page(json!({"first": 10, "after": cursor})).await;
    assert_eq!(ids, all[all.len() - 3..]);
    assert_eq!(tail["has-next-page?"], false, "{tail}");
    assert_eq!(tail["has-previous-page?"], true, "{tail}");

    let (ids, last) = page(json!({"last": 5})).await;
    assert_eq!(ids, all[all.len() - 5..]);
    assert_eq!(
        (
            last["has-next-page?"].clone(),
            last["has-previous-page?"].clone()
        ),
        (json!(false), json!(true))
    );

    let (ids, empty) = page(json!({"limit": 10, "offset": 1000})).await;
    assert!(ids.is_empty());
    assert_eq!(
        empty["has-previous-page?"], true,
        "empty page after an offset: {empty}"
    );
    assert_eq!(empty["start-cursor"], Value::Null);
}

#[tokio::test]
async fn misc_query_validation_and_rule_params() {
    let app = server::zeneca().await;
    // $$ruleParams is stripped (admin mode ignores it).
    let r = app
        .query_ok(json!({"$$ruleParams": {"k": "v"}, "users": {"$": {"fields": ["handle"]}}}))
        .await;
    assert_eq!(r.as_object().unwrap().keys().collect::<Vec<_>>(), ["users"]);
    // Non-object forms are validation errors.
    for q in [json!({"users": 5}), json!({"users": {"$": {"where": 5}}})] {
        let r = app.query(q.clone()).await;
        assert_eq!(
            (r.status, r.kind().as_str()),
            (400, "validation-failed"),
            "{q}: {}",
            r.body
        );
    }
    // An unknown attr with an operator is no error, just nothing.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"nope": {"$gt": 1}}}}}))
        .await;
    assert_eq!(r["books"], json!([]));
    app.query(json!({"users": {"$": {"aggregate": "count"}, "bookshelves": {}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "You can not combine aggregates with child queries at this time.",
        );
    app.query(json!({"users": {"$": {"aggregate": "sum"}}}))
        .await
        .assert_error_contains(
            "validation-failed",
            "The aggregate field only accepts \"count\", got \"sum\".",
        );
    // Link value sets with $in.
    let z = zen();
    let (s0, s1) = (id(&z.shelves[0]), id(&z.shelves[1]));
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"bookshelves": {"$in": [s0, s1]}}}}}))
        .await;
    assert_eq!(
        id_set(&r["books"]),
        expect_ids(&z.books, |b| z.shelf_book.contains(&(s0.clone(), id(b)))
            || z.shelf_book.contains(&(s1.clone(), id(b))))
    );
}

#[tokio::test]
async fn live_query_refreshes_with_the_full_new_result() {
    let app = App::plain("live").await;
    let g = uuid::Uuid::new_v4().to_string();
    let mut sub = app.subscribe(json!({"goals": {}}), false).await;
    let first = loop {
        let ev = sub.next_event().await;
        if ev["op"] == "add-query-ok" {
            break ev;
        }
        assert_ne!(ev["op"], "error", "{ev}");
    };
    assert_eq!(first["result"], json!({"goals": []}));
    app.tx_ok(json!([["update", "goals", g, {"title": "a"}]]))
        .await;
    let ev = sub.next_event().await;
    assert_eq!(ev["op"], "refresh-ok", "{ev}");
    assert_eq!(
        ev["computations"][0]["instaql-result"],
        json!({"goals": [{"id": g, "title": "a"}]})
    );
    // A transaction that does not change the result sends nothing; the next event
    // is the one for the following real change.
    app.tx_ok(json!([["update", "other", uuid::Uuid::new_v4().to_string(), {"x": 1}]]))
        .await;
    app.tx_ok(json!([["update", "goals", g, {"title": "b"}]]))
        .await;
    let ev = sub.next_event().await;
    assert_eq!(ev["op"], "refresh-ok", "{ev}");
    assert_eq!(
        ev["computations"][0]["instaql-result"],
        json!({"goals": [{"id": g, "title": "b"}]})
    );
}

#[tokio::test]
async fn more_where_forms() {
    let app = server::zeneca().await;
    let z = zen();
    // `now` is refused like the other relative words.
    let r = app
        .query(json!({"users": {"$": {"where": {"createdAt": {"$lt": "now"}}}}}))
        .await;
    assert_eq!(
        (r.status, r.kind().as_str()),
        (400, "validation-failed"),
        "{}",
        r.body
    );
    // `id` with $in.
    let two = [id(&z.books[3]), id(&z.books[9])];
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"id": {"$in": two}}}}}))
        .await;
    assert_eq!(id_set(&r["books"]), sorted_vec(two.to_vec()));
    // `or` whose value is not an array is an attribute named "or": nothing matches.
    let r = app
        .query_ok(json!({"books": {"$": {"where": {"or": "x"}}}}))
        .await;
    assert_eq!(r["books"], json!([]));
    // A link label as the last segment after a hop.
    let b = id(&z.books[11]);
    let r = app
        .query_ok(json!({"users": {"$": {"where": {"bookshelves.books": b}}}}))
        .await;
    assert_eq!(
        id_set(&r["users"]),
        expect_ids(&z.users, |u| z
            .shelves_of_user(&id(u))
            .iter()
            .any(|s| z.shelf_book.contains(&(id(s), b.clone()))))
    );
    // A dotted where inside a nested form filters only that level.
    let t = z.books[11]["title"].clone();
    let r = app
        .query_ok(json!({"users": {"bookshelves": {"$": {"where": {"books.title": t}}}}}))
        .await;
    assert_eq!(r["users"].as_array().unwrap().len(), 4);
    for u in r["users"].as_array().unwrap() {
        let exp: Vec<String> = {
            let mut v: Vec<String> = z
                .shelves_of_user(u["id"].as_str().unwrap())
                .iter()
                .filter(|s| z.shelf_book.contains(&(id(s), b.clone())))
                .map(|s| id(s))
                .collect();
            v.sort();
            v
        };
        assert_eq!(id_set(&u["bookshelves"]), exp);
    }
    // The reverse of a has-one forward link with no data is an empty array.
    let r = app
        .query_inf(
            json!({"books": {"$": {"limit": 3}, "sequels": {}, "previous": {}}}),
            true,
        )
        .await;
    for bk in r.body["books"].as_array().unwrap() {
        assert_eq!(bk["sequels"], json!([]), "reverse has-many: {bk}");
        assert_eq!(
            bk["previous"],
            Value::Null,
            "reverse has-one without target: {bk}"
        );
    }
}

fn sorted_vec(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
