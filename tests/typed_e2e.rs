//! End to end against `instant-local` (in-process, loopback): the Rust schema is
//! created on the server (as `add-attr` steps), typed writes go
//! through `Client::transact_strict`, typed reads (nested links, filters, has-one
//! inference) through `Client::query_typed`, and the typed results equal the
//! untyped path (the same query sent raw, then decoded).

#[path = "fixtures/model_e2e.rs"]
mod model;

use instant_client::Client;
use instant_core::typed::{add_attr_steps, decode_value, Filter, Rows, Transaction, TypedQuery};
use instant_core::{Date, Id, UpdateOpts};
use instant_local::LocalServer;
use model::*;
use serde_json::json;

#[tokio::test]
async fn typed_schema_writes_and_reads() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("typed-e2e").await.unwrap();

    let db = Client::builder()
        .app_id(app.app_id.to_string())
        .admin_token(app.admin_token.as_str())
        .api_uri(server.url())
        .build()
        .unwrap();

    // 1. Create the Rust schema's attributes and links. instant-local has no
    // Platform schema-push route, so the schema goes in as the `add-attr` steps
    // the server derives from a pushed schema.
    let ours = Schema::instant_schema();
    db.transact(add_attr_steps(&ours)).await.unwrap();
    // With `throw-on-missing-attrs?` an attribute outside the schema is refused.
    let stray = instant_core::tx::entity("goals", Id::new()).update(json!({"nope": 1}));
    assert!(db.transact_strict(stray).await.is_err());

    // 2. Typed writes.
    let (g1, g2, t1, t2, t3) = (Id::new(), Id::new(), Id::new(), Id::new(), Id::new());
    let d = |ms| Date::from_millis(ms).unwrap();
    let todo = |id, title: &str, done, ms, slug: &str| Todo {
        id,
        title: title.into(),
        done,
        created_at: d(ms),
        due: None,
        slug: slug.into(),
        meta: None,
    };
    db.transact_strict(tx::users(Id::new()).create(|a| a.set(users::email, "eva@x.com")))
        .await
        .unwrap();
    db.transact_strict(
        Transaction::new()
            .add(tx::users(users::email.lookup("eva@x.com")).update(|a| a.set(users::name, "Eva")))
            .add(tx::goals(g1).create(|a| a.set(goals::title, "Get fit").set(goals::priority, 1)))
            .add(tx::goals(g2).create(|a| a.set(goals::title, "Read more")))
            .add(tx::goals(g1).merge(|m| m.set(goals::metrics, Metrics { progress: 0.25 })))
            .add(tx::todos(t1).create_from(&todo(t1, "Run", false, 1000, "run")))
            .add(tx::todos(t2).create_from(&todo(t2, "Swim", true, 2000, "swim")))
            .add(tx::todos(t3).create_from(&todo(t3, "Read", false, 3000, "read")))
            .add(tx::goals(g1).link(goals::todos, [t1, t2]))
            .add(tx::goals(g2).link(goals::todos, t3)),
    )
    .await
    .unwrap();
    // Lookups resolve against stored entities: in the entity slot and as a link target.
    db.transact_strict(
        tx::todos(todos::slug.lookup("run")).link(todos::owner, users::email.lookup("eva@x.com")),
    )
    .await
    .unwrap();
    // `upsert: false` updates an existing entity and refuses a missing one.
    db.transact_strict(
        tx::todos(t2).update_with(|a| a.set(todos::title, "Swim far"), UpdateOpts::NO_UPSERT),
    )
    .await
    .unwrap();
    let missing =
        tx::todos(Id::new()).update_with(|a| a.set(todos::title, "x"), UpdateOpts::NO_UPSERT);
    assert!(db.transact_strict(missing).await.is_err());

    // 3. Typed reads: nested links with static order, a dotted filter, nested
    // runtime filter, has-one owner.
    let q = GoalCard::query()
        .filter(goals::todos.dot(todos::title).like("%Swim%"))
        .nested(goals::todos, |n| {
            n.filter(todos::done.eq(true) | todos::title.eq("Run"))
        });
    let cards = db.query_typed(&q).await.unwrap().into_vec();
    assert_eq!(cards.len(), 1);
    assert_eq!((cards[0].id, cards[0].title.as_str()), (g1, "Get fit"));
    let titles: Vec<&str> = cards[0].todos.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["Swim far", "Run"], "ordered by createdAt desc");
    assert_eq!(
        cards[0].todos[1].owner,
        Some(OwnerName {
            email: "eva@x.com".into()
        })
    );
    assert_eq!(cards[0].todos[0].owner, None);

    // The untyped path: same query JSON sent raw (with inference), decoded after.
    let raw = db.query_raw(q.to_query().unwrap().to_json()).await;
    let raw = match raw {
        Ok(v) => v,
        Err(e) => panic!("{e:?}"),
    };
    let via_untyped: Rows<GoalCard> = decode_value(&raw).unwrap_or_else(|_| {
        // Without `inference?` has-one links come back as arrays; the decoder
        // accepts both, so this only fails on a real mismatch.
        panic!("untyped result does not decode: {raw}")
    });
    assert_eq!(via_untyped.into_vec(), cards);

    // Entity structs as selections, typed filters, order and pagination.
    let open = db
        .query_typed(
            &Todo::query()
                .filter(todos::done.eq(false) & todos::created_at.gte(d(1000)))
                .order(todos::created_at.desc())
                .limit(5),
        )
        .await
        .unwrap();
    let slugs: Vec<&str> = open.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["read", "run"]);
    assert_eq!(open[1], todo(t1, "Run", false, 1000, "run"));

    // Several namespaces in one round trip; JSON attribute read back typed.
    let mut f = Filter::<Goal>::all();
    f = f & goals::priority.eq(1);
    let multi = db
        .query_typed(&(Goal::query().filter(f), User::query()))
        .await
        .unwrap();
    let (goals_, users_) = multi.into_inner();
    assert_eq!(goals_.len(), 1);
    assert_eq!(goals_[0].metrics.as_ref().map(|m| m.progress), Some(0.25));
    assert_eq!(
        users_.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        ["eva@x.com"]
    );

    // Delete with cascade: deleting the owner deletes the todo linked with
    // `todos.owner (one, cascade)`.
    db.transact_strict(tx::users(users::email.lookup("eva@x.com")).delete())
        .await
        .unwrap();
    let left = db.query_typed(&TodoLine::query()).await.unwrap();
    let mut left: Vec<&str> = left.iter().map(|t| t.title.as_str()).collect();
    left.sort();
    assert_eq!(left, ["Read", "Swim far"]);
    server.shutdown().await;
}
